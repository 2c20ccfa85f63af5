package citysim

import (
	"net/http"
	"time"
)

// cmsUpsertLocked creates or updates the device named by in.ExternalID (or
// updates cur, when given) and answers the stored result with its status:
// created, updated, unchanged or failed with a problem. createOnly turns an
// existing device into a 409 carrying it. stamp is the write's stamp when the
// caller already holds one (a bulk request stamps all its items alike); 0
// takes a new one. The caller holds the lock and logs created and updated
// devices.
func (c *CMS) cmsUpsertLocked(in *cmsDeviceInput, createOnly bool, cur *cmsDevice, stamp int64) (cmsDevice, string, *cmsProblemBody) {
	if in.ExternalID == nil || *in.ExternalID == "" {
		return cmsDevice{}, "failed", cmsNewProblem(http.StatusBadRequest, "payloadError", "externalId is required",
			[]cmsFieldError{{Field: "externalId", Message: "required"}})
	}
	if cur == nil {
		if i, ok := c.byExt[*in.ExternalID]; ok {
			cur = c.devices[i]
		}
	} else if *in.ExternalID != cur.ExternalID {
		return cmsDevice{}, "failed", cmsNewProblem(http.StatusBadRequest, "payloadError", "externalId cannot change",
			[]cmsFieldError{{Field: "externalId", Message: "immutable"}})
	}
	if cur != nil && createOnly {
		existing := *cur
		p := cmsNewProblem(http.StatusConflict, "resourceConflict", "a device with externalId "+cur.ExternalID+" exists: "+cur.ID, nil)
		p.Existing = &existing
		return existing, "failed", p
	}
	next := cmsDevice{ExternalID: *in.ExternalID, State: CMSStatePlanned}
	if cur != nil {
		next = *cur
	}
	changed := cmsApply(&next, in)
	if errs := cmsValidate(&next); errs != nil {
		return cmsDevice{}, "failed", cmsNewProblem(http.StatusBadRequest, "payloadError", "invalid device", errs)
	}
	if cur != nil && !changed {
		return *cur, "unchanged", nil
	}
	if stamp == 0 {
		stamp, _ = c.cmsStampLocked()
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
	idx := c.cmsInsertLocked(&next)
	return *c.devices[idx], "created", nil
}
