package citysim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// cmsDeviceIdx finds a device index by id; the caller holds the lock.
func (c *CMS) cmsDeviceIdx(id string) (int32, bool) {
	return cmsParseID(id, "dev-", 7, len(c.devices))
}

func (c *CMS) cmsDeviceStamp(i int32) int64 { return c.devices[i].stamp }

func (c *CMS) cmsListDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ext := q.Get("externalId"); ext != "" {
		out := []cmsDevice{}
		c.mu.RLock()
		if i, ok := c.byExt[ext]; ok {
			out = append(out, *c.devices[i])
		}
		c.mu.RUnlock()
		cmsWriteJSON(w, http.StatusOK, map[string]any{"devices": out})
		return
	}
	p, ok := cmsParseList(w, q)
	if !ok {
		return
	}
	var states []string
	if s := q.Get("state"); s != "" {
		states = strings.Split(s, ",")
		for _, st := range states {
			switch st {
			case CMSStatePlanned, CMSStateProvisioned, CMSStateCommissioned, CMSStateDecommissioned:
			default:
				cmsProblem(w, http.StatusBadRequest, "parameterValueNotValid", "unknown state "+st, []cmsFieldError{{Field: "state", Message: "unknown state"}})
				return
			}
		}
	}
	c.mu.RLock()
	after, ok := cmsCursorFor(w, p, "dev-", 7, len(c.devices))
	if !ok {
		c.mu.RUnlock()
		return
	}
	var keep func(int32) bool
	if states != nil {
		keep = func(i int32) bool { return slices.Contains(states, c.devices[i].State) }
	}
	idxs, more := c.devLog.page(p.since, after, p.limit, c.cmsDeviceStamp, keep)
	out, next := cmsPageOf(c.devices, idxs, p.after, func(x *cmsDevice) (int64, string) { return x.stamp, x.ID })
	c.mu.RUnlock()
	resp := struct {
		Devices    []cmsDevice `json:"devices"`
		NextCursor string      `json:"nextCursor,omitempty"`
		More       bool        `json:"more"`
	}{Devices: out, NextCursor: next, More: more}
	cmsWriteJSON(w, http.StatusOK, resp)
}

func (c *CMS) cmsGetDevice(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	i, ok := c.cmsDeviceIdx(r.PathValue("id"))
	var d cmsDevice
	if ok {
		d = *c.devices[i]
	}
	c.mu.RUnlock()
	if !ok {
		cmsProblem(w, http.StatusNotFound, "resourceNotFound", "no device "+r.PathValue("id"), nil)
		return
	}
	w.Header().Set("ETag", cmsETag(d.Version))
	cmsWriteJSON(w, http.StatusOK, d)
}

func (c *CMS) cmsCreateDevice(w http.ResponseWriter, r *http.Request) {
	var in cmsDeviceInput
	if !cmsDecode(w, r, &in) {
		return
	}
	c.mu.Lock()
	d, status, prob := c.cmsUpsertLocked(&in, true, nil, 0)
	if status == "created" {
		c.devLog.add(d.stamp, c.byExt[d.ExternalID])
	}
	c.mu.Unlock()
	if prob != nil {
		if prob.Existing != nil {
			w.Header().Set("Location", "/api/v1/devices/"+prob.Existing.ID)
		}
		cmsWriteProblem(w, prob)
		return
	}
	if c.cmsLoseReply() {
		cmsLostReply(w)
		return
	}
	w.Header().Set("Location", "/api/v1/devices/"+d.ID)
	w.Header().Set("ETag", cmsETag(d.Version))
	cmsWriteJSON(w, http.StatusCreated, d)
}

func (c *CMS) cmsPatchDevice(w http.ResponseWriter, r *http.Request) {
	var in cmsDeviceInput
	if !cmsDecode(w, r, &in) {
		return
	}
	c.mu.Lock()
	i, ok := c.cmsDeviceIdx(r.PathValue("id"))
	if !ok {
		c.mu.Unlock()
		cmsProblem(w, http.StatusNotFound, "resourceNotFound", "no device "+r.PathValue("id"), nil)
		return
	}
	cur := c.devices[i]
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != cmsETag(cur.Version) {
		c.mu.Unlock()
		w.Header().Set("ETag", cmsETag(cur.Version))
		cmsProblem(w, http.StatusPreconditionFailed, "preconditionFailed", "device changed since version "+m, nil)
		return
	}
	if in.ExternalID == nil {
		in.ExternalID = &cur.ExternalID
	}
	d, status, prob := c.cmsUpsertLocked(&in, false, cur, 0)
	if status == "updated" {
		c.devLog.add(d.stamp, i)
		c.devLog.compact(len(c.devices), c.cmsDeviceStamp)
		c.cmsRetireAlarmsLocked([]int32{i})
	}
	c.mu.Unlock()
	if prob != nil {
		cmsWriteProblem(w, prob)
		return
	}
	if status == "updated" && c.cmsLoseReply() {
		cmsLostReply(w)
		return
	}
	w.Header().Set("ETag", cmsETag(d.Version))
	cmsWriteJSON(w, http.StatusOK, d)
}

// cmsBulkResult is one item's outcome in a bulk upsert.
type cmsBulkResult struct {
	Index      int             `json:"index"`
	ExternalID string          `json:"externalId,omitempty"`
	Status     string          `json:"status"`
	Device     *cmsDevice      `json:"device,omitempty"`
	Error      *cmsProblemBody `json:"error,omitempty"`
}

func (c *CMS) cmsBulkUpsert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Devices []cmsDeviceInput `json:"devices"`
	}
	if !cmsDecode(w, r, &req) {
		return
	}
	if n := len(req.Devices); n == 0 || n > cmsMaxBulk {
		cmsProblem(w, http.StatusBadRequest, "payloadError", "devices must hold 1 to 500 items", []cmsFieldError{{Field: "devices", Message: "wrong number of items"}})
		return
	}
	results := make([]cmsBulkResult, len(req.Devices))
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
				res.Error = cmsNewProblem(http.StatusConflict, "resourceConflict", "externalId repeats item "+strconv.Itoa(first)+" of this request", nil)
				continue
			}
			seen[*in.ExternalID] = k
		}
		d, status, prob := c.cmsUpsertLocked(in, false, nil, stamp)
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
		c.devLog.compact(len(c.devices), c.cmsDeviceStamp)
		c.cmsRetireAlarmsLocked(touched)
	}
	c.mu.Unlock()
	if len(touched) > 0 && c.cmsLoseReply() {
		cmsLostReply(w)
		return
	}
	cmsWriteJSON(w, http.StatusOK, map[string]any{"results": results})
}
