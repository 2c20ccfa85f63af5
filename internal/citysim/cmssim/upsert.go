package cmssim

import (
	"net/http"
	"time"
)

// upsertLocked creates or updates the device named by in.ExternalID (or
// updates cur, when given) and answers the stored result with its status:
// created, updated, unchanged or failed with a problem. createOnly turns an
// existing device into a 409 carrying it. stamp is the write's stamp when the
// caller already holds one (a bulk request stamps all its items alike); 0
// takes a new one. The caller holds the lock and logs created and updated
// devices.
func (c *Server) upsertLocked(in *deviceInput, createOnly bool, cur *device, stamp int64) (device, string, *problemBody) {
	if in.ExternalID == nil || *in.ExternalID == "" {
		return device{}, "failed", newProblem(http.StatusBadRequest, "payloadError", "externalId is required",
			[]fieldError{{Field: "externalId", Message: "required"}})
	}
	if cur == nil {
		if i, ok := c.byExt[*in.ExternalID]; ok {
			cur = c.devices[i]
		}
	} else if *in.ExternalID != cur.ExternalID {
		return device{}, "failed", newProblem(http.StatusBadRequest, "payloadError", "externalId cannot change",
			[]fieldError{{Field: "externalId", Message: "immutable"}})
	}
	if cur != nil && createOnly {
		existing := *cur
		p := newProblem(http.StatusConflict, "resourceConflict", "a device with externalId "+cur.ExternalID+" exists: "+cur.ID, nil)
		p.Existing = &existing
		return existing, "failed", p
	}
	next := device{ExternalID: *in.ExternalID, State: StatePlanned}
	if cur != nil {
		next = *cur
	}
	changed := apply(&next, in)
	if errs := validate(&next); errs != nil {
		return device{}, "failed", newProblem(http.StatusBadRequest, "payloadError", "invalid device", errs)
	}
	if cur != nil && !changed {
		return *cur, "unchanged", nil
	}
	if stamp == 0 {
		stamp, _ = c.stampLocked()
	}
	t := time.UnixMicro(stamp).UTC()
	next.stamp, next.UpdatedAt = stamp, t
	next.Version++
	if cur != nil {
		if next.Circuit != cur.Circuit && next.Circuit != "" {
			i := c.byExt[cur.ExternalID]
			c.circuits[next.Circuit] = append(c.circuits[next.Circuit], i)
		}
		*cur = next
		return next, "updated", nil
	}
	next.CreatedAt = t
	idx := c.insertLocked(&next)
	return *c.devices[idx], "created", nil
}
