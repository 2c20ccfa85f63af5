package cmssim

import (
	"net/http"
)

func (c *Server) alarmStamp(i int32) int64 { return c.alarms[i].stamp }

func (c *Server) listAlarms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := parseList(w, q)
	if !ok {
		return
	}
	typ, state := q.Get("type"), q.Get("state")
	if _, known := alarmKindOf(typ); typ != "" && !known {
		problem(w, http.StatusBadRequest, "parameterValueNotValid", "unknown alarm type "+typ, []fieldError{{Field: "type", Message: "unknown alarm type"}})
		return
	}
	if state != "" && state != AlarmActive && state != AlarmCleared {
		problem(w, http.StatusBadRequest, "parameterValueNotValid", "state must be active or cleared", []fieldError{{Field: "state", Message: "unknown state"}})
		return
	}
	c.mu.RLock()
	after, ok := cursorFor(w, p, "alm-", 8, len(c.alarms))
	if !ok {
		c.mu.RUnlock()
		return
	}
	var keep func(int32) bool
	if typ != "" || state != "" {
		keep = func(i int32) bool {
			a := c.alarms[i]
			return (typ == "" || a.Type == typ) && (state == "" || a.State == state)
		}
	}
	idxs, more := c.alarmLog.page(p.since, after, p.limit, c.alarmStamp, keep)
	out, next := pageOf(c.alarms, idxs, p.after, func(x *alarm) (int64, string) { return x.stamp, x.ID })
	c.mu.RUnlock()
	resp := struct {
		Alarms     []alarm `json:"alarms"`
		NextCursor string  `json:"nextCursor,omitempty"`
		More       bool    `json:"more"`
	}{Alarms: out, NextCursor: next, More: more}
	writeJSON(w, http.StatusOK, resp)
}

func (c *Server) getAlarm(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	i, ok := parseID(r.PathValue("id"), "alm-", 8, len(c.alarms))
	var a alarm
	if ok {
		a = *c.alarms[i]
	}
	c.mu.RUnlock()
	if !ok {
		problem(w, http.StatusNotFound, "resourceNotFound", "no alarm "+r.PathValue("id"), nil)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
