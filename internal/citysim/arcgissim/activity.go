package arcgissim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// AuditFeed simulates the third-party auditor's field crews: each Sync
// audits lights that had no audit record yet and reviews (approves or
// rejects) records still waiting, through applyEdits, so edit dates and
// server generations move as they do on the real layer. It is deterministic
// for a seed and safe for concurrent use.
type AuditFeed struct {
	layer    *Layer
	city     *simcity.City
	auditors []string

	mu      sync.Mutex
	rng     *rand.Rand
	pending []int // indexes into simcity.Lights not yet audited, in audit order
}

// NewAuditFeed prepares a feed over a layer built by NewAuditLayer.
func NewAuditFeed(layer *Layer, c *simcity.City, seed uint64) *AuditFeed {
	f := &AuditFeed{layer: layer, city: c, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	audited := make(map[string]bool, len(c.Audits))
	seen := map[string]bool{}
	for _, a := range c.Audits {
		audited[a.AssetID] = true
		if !seen[a.Auditor] {
			seen[a.Auditor] = true
			f.auditors = append(f.auditors, a.Auditor)
		}
	}
	if len(f.auditors) == 0 {
		f.auditors = []string{"Field Crew"}
	}
	slices.Sort(f.auditors)
	for i, lt := range c.Lights {
		if !audited[lt.AssetID] {
			f.pending = append(f.pending, i)
		}
	}
	f.rng.Shuffle(len(f.pending), func(i, j int) { f.pending[i], f.pending[j] = f.pending[j], f.pending[i] })
	return f
}

// Sync records one crew sync at now: up to n new audits and up to n/2
// reviews of records in status audited. It returns how many of each it made.
func (f *AuditFeed) Sync(now time.Time, n int) (added, reviewed int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms := now.UnixMilli()
	var e Edits
	take := min(n, len(f.pending))
	for _, i := range f.pending[:take] {
		lt := f.city.Lights[i]
		e.Adds = append(e.Adds, Feature{
			Attributes: map[string]any{
				AuditFieldAssetID: lt.AssetID, AuditFieldPoleID: lt.PoleID, AuditFieldStatus: simcity.AuditAudited,
				AuditFieldAuditor: f.auditors[f.rng.IntN(len(f.auditors))], AuditFieldAuditDate: ms,
				AuditFieldLampType: lt.LampType, AuditFieldNominalWatts: int64(lt.NominalWatts),
				AuditFieldInputWatts: int64(lt.InputWatts), AuditFieldRate: lt.RateSchedule,
				AuditFieldInService: lt.InService.UnixMilli(), AuditFieldController: nullIfEmpty(lt.ControllerID),
				AuditFieldCircuit: lt.Circuit, AuditFieldAddress: lt.Address,
			},
			Geometry: &Point{X: lt.Lon, Y: lt.Lat},
		})
	}
	f.pending = f.pending[take:]
	statusIdx, _ := f.layer.field(AuditFieldStatus)
	f.layer.mu.RLock()
	var waiting []int64
	for _, r := range f.layer.recs {
		if !r.deleted && r.vals[statusIdx] == simcity.AuditAudited {
			waiting = append(waiting, r.oid)
		}
	}
	f.layer.mu.RUnlock()
	for range min(n/2, len(waiting)) {
		j := f.rng.IntN(len(waiting))
		oid := waiting[j]
		waiting[j] = waiting[len(waiting)-1]
		waiting = waiting[:len(waiting)-1]
		status := simcity.AuditApproved
		if f.rng.IntN(100) < 15 {
			status = simcity.AuditRejected
		}
		e.Updates = append(e.Updates, Feature{Attributes: map[string]any{f.layer.cfg.ObjectIDField: oid, AuditFieldStatus: status, AuditFieldAuditDate: ms}})
	}
	e.Editor = "audit_sync"
	res := f.layer.ApplyEdits(e, now)
	for _, rs := range [][]EditResult{res.AddResults, res.UpdateResults} {
		for _, r := range rs {
			if !r.Success {
				return 0, 0, fmt.Errorf("audit sync edit %d: %s", r.ObjectID, r.Error.Description)
			}
		}
	}
	return len(e.Adds), len(e.Updates), nil
}

// DOTCrew simulates DOT GIS technicians correcting pole records: each
// Edit changes the status, circuit or address of some poles through
// applyEdits, for the gis-pull workflow to find. It is deterministic for a
// seed and safe for concurrent use.
type DOTCrew struct {
	layer *Layer
	mu    sync.Mutex
	rng   *rand.Rand
}

// NewDOTCrew prepares a crew over a layer built by NewDOTLayer.
func NewDOTCrew(layer *Layer, seed uint64) *DOTCrew {
	return &DOTCrew{layer: layer, rng: rand.New(rand.NewPCG(seed, seed^0xd07))}
}

// Edit updates up to n random poles at now and returns the object ids it
// changed.
func (c *DOTCrew) Edit(now time.Time, n int) ([]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.layer.mu.RLock()
	total := len(c.layer.recs)
	c.layer.mu.RUnlock()
	if total == 0 {
		return nil, nil
	}
	var e Edits
	var oids []int64
	picked := map[int64]bool{}
	for range n {
		oid := int64(c.rng.IntN(total)) + 1
		f, ok := c.layer.Get(oid)
		if !ok || picked[oid] {
			continue
		}
		picked[oid] = true
		attrs := map[string]any{c.layer.cfg.ObjectIDField: oid}
		switch c.rng.IntN(3) {
		case 0:
			attrs[DOTFieldStatus] = []string{"ACTIVE", "INACTIVE", "REMOVED", "ACTIVE"}[c.rng.IntN(4)]
		case 1:
			if cur, ok := f.Attributes[DOTFieldCircuit].(string); ok {
				attrs[DOTFieldCircuit] = toggleSuffix(cur, "-R")
			}
		default:
			if cur, ok := f.Attributes[DOTFieldAddress].(string); ok {
				attrs[DOTFieldAddress] = toggleSuffix(cur, " (verified)")
			}
		}
		e.Updates = append(e.Updates, Feature{Attributes: attrs})
		oids = append(oids, oid)
	}
	e.Editor = "dot_gis_tech"
	res := c.layer.ApplyEdits(e, now)
	for _, r := range res.UpdateResults {
		if !r.Success {
			return nil, fmt.Errorf("dot edit %d: %s", r.ObjectID, r.Error.Description)
		}
	}
	return oids, nil
}

// toggleSuffix adds suffix to s, or removes it when present, so
// repeated edits never grow a value past its field's length.
func toggleSuffix(s, suffix string) string {
	if trimmed, ok := strings.CutSuffix(s, suffix); ok {
		return trimmed
	}
	return s + suffix
}
