package citysim

import (
	"net/http"
)

func (c *CMS) cmsAlarmStamp(i int32) int64 { return c.alarms[i].stamp }

func (c *CMS) cmsListAlarms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := cmsParseList(w, q)
	if !ok {
		return
	}
	typ, state := q.Get("type"), q.Get("state")
	if _, known := cmsAlarmKindOf(typ); typ != "" && !known {
		cmsProblem(w, http.StatusBadRequest, "parameterValueNotValid", "unknown alarm type "+typ, []cmsFieldError{{Field: "type", Message: "unknown alarm type"}})
		return
	}
	if state != "" && state != CMSAlarmActive && state != CMSAlarmCleared {
		cmsProblem(w, http.StatusBadRequest, "parameterValueNotValid", "state must be active or cleared", []cmsFieldError{{Field: "state", Message: "unknown state"}})
		return
	}
	c.mu.RLock()
	after, ok := cmsCursorFor(w, p, "alm-", 8, len(c.alarms))
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
	idxs, more := c.alarmLog.page(p.since, after, p.limit, c.cmsAlarmStamp, keep)
	out, next := cmsPageOf(c.alarms, idxs, p.after, func(x *cmsAlarm) (int64, string) { return x.stamp, x.ID })
	c.mu.RUnlock()
	resp := struct {
		Alarms     []cmsAlarm `json:"alarms"`
		NextCursor string     `json:"nextCursor,omitempty"`
		More       bool       `json:"more"`
	}{Alarms: out, NextCursor: next, More: more}
	cmsWriteJSON(w, http.StatusOK, resp)
}

func (c *CMS) cmsGetAlarm(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	i, ok := cmsParseID(r.PathValue("id"), "alm-", 8, len(c.alarms))
	var a cmsAlarm
	if ok {
		a = *c.alarms[i]
	}
	c.mu.RUnlock()
	if !ok {
		cmsProblem(w, http.StatusNotFound, "resourceNotFound", "no alarm "+r.PathValue("id"), nil)
		return
	}
	cmsWriteJSON(w, http.StatusOK, a)
}
