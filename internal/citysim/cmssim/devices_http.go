package cmssim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// deviceIdx finds a device index by id; the caller holds the lock.
func (c *Server) deviceIdx(id string) (int32, bool) {
	return parseID(id, "dev-", 7, len(c.devices))
}

func (c *Server) deviceStamp(i int32) int64 { return c.devices[i].stamp }

func (c *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ext := q.Get("externalId"); ext != "" {
		out := []device{}
		c.mu.RLock()
		if i, ok := c.byExt[ext]; ok {
			out = append(out, *c.devices[i])
		}
		c.mu.RUnlock()
		writeJSON(w, http.StatusOK, map[string]any{"devices": out})
		return
	}
	p, ok := parseList(w, q)
	if !ok {
		return
	}
	var states []string
	if s := q.Get("state"); s != "" {
		states = strings.Split(s, ",")
		for _, st := range states {
			switch st {
			case StatePlanned, StateProvisioned, StateCommissioned, StateDecommissioned:
			default:
				problem(w, http.StatusBadRequest, "parameterValueNotValid", "unknown state "+st, []fieldError{{Field: "state", Message: "unknown state"}})
				return
			}
		}
	}
	c.mu.RLock()
	after, ok := cursorFor(w, p, "dev-", 7, len(c.devices))
	if !ok {
		c.mu.RUnlock()
		return
	}
	var keep func(int32) bool
	if states != nil {
		keep = func(i int32) bool { return slices.Contains(states, c.devices[i].State) }
	}
	idxs, more := c.devLog.page(p.since, after, p.limit, c.deviceStamp, keep)
	out, next := pageOf(c.devices, idxs, p.after, func(x *device) (int64, string) { return x.stamp, x.ID })
	c.mu.RUnlock()
	resp := struct {
		Devices    []device `json:"devices"`
		NextCursor string   `json:"nextCursor,omitempty"`
		More       bool     `json:"more"`
	}{Devices: out, NextCursor: next, More: more}
	writeJSON(w, http.StatusOK, resp)
}

func (c *Server) getDevice(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	i, ok := c.deviceIdx(r.PathValue("id"))
	var d device
	if ok {
		d = *c.devices[i]
	}
	c.mu.RUnlock()
	if !ok {
		problem(w, http.StatusNotFound, "resourceNotFound", "no device "+r.PathValue("id"), nil)
		return
	}
	w.Header().Set("ETag", eTag(d.Version))
	writeJSON(w, http.StatusOK, d)
}

func (c *Server) createDevice(w http.ResponseWriter, r *http.Request) {
	var in deviceInput
	if !decode(w, r, &in) {
		return
	}
	c.mu.Lock()
	d, status, prob := c.upsertLocked(&in, true, nil, 0)
	if status == "created" {
		c.devLog.add(d.stamp, c.byExt[d.ExternalID])
	}
	c.mu.Unlock()
	if prob != nil {
		if prob.Existing != nil {
			w.Header().Set("Location", "/api/v1/devices/"+prob.Existing.ID)
		}
		writeProblem(w, prob)
		return
	}
	if c.loseReply() {
		lostReply(w)
		return
	}
	w.Header().Set("Location", "/api/v1/devices/"+d.ID)
	w.Header().Set("ETag", eTag(d.Version))
	writeJSON(w, http.StatusCreated, d)
}

func (c *Server) patchDevice(w http.ResponseWriter, r *http.Request) {
	var in deviceInput
	if !decode(w, r, &in) {
		return
	}
	c.mu.Lock()
	i, ok := c.deviceIdx(r.PathValue("id"))
	if !ok {
		c.mu.Unlock()
		problem(w, http.StatusNotFound, "resourceNotFound", "no device "+r.PathValue("id"), nil)
		return
	}
	cur := c.devices[i]
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != eTag(cur.Version) {
		c.mu.Unlock()
		w.Header().Set("ETag", eTag(cur.Version))
		problem(w, http.StatusPreconditionFailed, "preconditionFailed", "device changed since version "+m, nil)
		return
	}
	if in.ExternalID == nil {
		in.ExternalID = &cur.ExternalID
	}
	d, status, prob := c.upsertLocked(&in, false, cur, 0)
	if status == "updated" {
		c.devLog.add(d.stamp, i)
		c.devLog.compact(len(c.devices), c.deviceStamp)
		c.retireAlarmsLocked([]int32{i})
	}
	c.mu.Unlock()
	if prob != nil {
		writeProblem(w, prob)
		return
	}
	if status == "updated" && c.loseReply() {
		lostReply(w)
		return
	}
	w.Header().Set("ETag", eTag(d.Version))
	writeJSON(w, http.StatusOK, d)
}

// bulkResult is one item's outcome in a bulk upsert.
type bulkResult struct {
	Index      int          `json:"index"`
	ExternalID string       `json:"externalId,omitempty"`
	Status     string       `json:"status"`
	Device     *device      `json:"device,omitempty"`
	Error      *problemBody `json:"error,omitempty"`
}

func (c *Server) bulkUpsert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Devices []deviceInput `json:"devices"`
	}
	if !decode(w, r, &req) {
		return
	}
	if n := len(req.Devices); n == 0 || n > maxBulk {
		problem(w, http.StatusBadRequest, "payloadError", "devices must hold 1 to 500 items", []fieldError{{Field: "devices", Message: "wrong number of items"}})
		return
	}
	results := make([]bulkResult, len(req.Devices))
	seen := make(map[string]int, len(req.Devices))
	c.mu.Lock()
	var touched []int32
	var stamp int64
	for k := range req.Devices {
		in := &req.Devices[k]
		res := &results[k]
		res.Index = k
		if in.ExternalID != nil {
			res.ExternalID = *in.ExternalID
			if first, dup := seen[*in.ExternalID]; dup {
				res.Status = "failed"
				res.Error = newProblem(http.StatusConflict, "resourceConflict", "externalId repeats item "+strconv.Itoa(first)+" of this request", nil)
				continue
			}
			seen[*in.ExternalID] = k
		}
		d, status, prob := c.upsertLocked(in, false, nil, stamp)
		res.Status = status
		if prob != nil {
			res.Status, res.Error = "failed", prob
			continue
		}
		res.Device = &d
		if status != "unchanged" {
			stamp = d.stamp
			touched = append(touched, c.byExt[d.ExternalID])
		}
	}
	if len(touched) > 0 {
		slices.Sort(touched)
		c.devLog.add(stamp, touched...)
		c.devLog.compact(len(c.devices), c.deviceStamp)
		c.retireAlarmsLocked(touched)
	}
	c.mu.Unlock()
	if len(touched) > 0 && c.loseReply() {
		lostReply(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}
