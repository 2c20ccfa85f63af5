package open311sim

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Request is a service request as the simulated city holds it; tests
// and the operations console inspect them through Open311.Requests.
type Request struct {
	ID, Token           string // ID is empty until a batch request is processed
	ServiceCode         string
	ServiceName         string
	Status, StatusNotes string // status is open or closed
	Description         string
	AgencyResponsible   string
	ServiceNotice       string
	Requested, Updated  time.Time
	Expected            time.Time
	Address, AddressID  string
	Lat, Long           float64
	HasLocation         bool
	MediaURL            string
	AccountID           string
	Attributes          map[string][]string

	assetID                  string
	readyAt, ackAt, closeAt  time.Time
	ackNote, closeNote, crew string
}

// AssetID returns the ASSET_ID attribute the request was filed with.
func (r *Request) AssetID() string { return r.assetID }

// plan decides, deterministically from the simulator's seed and the
// request's sequence number, when a crew acknowledges and closes a request and
// what it writes. speed divides every duration.
func plan(seed uint64, seq int, svc *service, r *Request, tokenDelay time.Duration, speed float64) {
	rng := rand.New(rand.NewPCG(seed, uint64(seq)^0x311))
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / speed) }
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	start := r.Requested
	if r.Token != "" {
		r.readyAt = start.Add(tokenDelay)
		start = r.readyAt
	}
	crew := 1 + rng.IntN(24)
	r.crew = "Street Lights crew " + strconv.Itoa(crew)
	r.ackAt = start.Add(scale(between(10*time.Minute, 6*time.Hour)))
	r.ackNote = "Assigned to " + r.crew + "."
	// Most requests close inside their service level; one in five runs late.
	work := between(svc.Target/6, svc.Target)
	if rng.IntN(5) == 0 {
		work = between(svc.Target, 3*svc.Target)
	}
	r.closeAt = r.ackAt.Add(scale(work))
	switch n := rng.IntN(20); {
	case n == 0:
		r.closeNote = "Inspected; no problem found, light working."
	default:
		r.closeNote = svc.CloseNotes[n%len(svc.CloseNotes)]
	}
}

// advance applies every transition of r due by now and reports whether
// r changed. A batch request gets its id (from nextID) once it is ready.
func advance(r *Request, now time.Time, nextID func() string, svc *service, speed float64) bool {
	changed := false
	if r.ID == "" {
		if now.Before(r.readyAt) {
			return false
		}
		r.ID = nextID()
		r.Updated = r.readyAt
		r.Expected = r.readyAt.Add(time.Duration(float64(svc.Target) / speed))
		changed = true
	}
	if r.Status == "open" && r.StatusNotes == "" && !now.Before(r.ackAt) {
		r.StatusNotes = r.ackNote
		r.Updated = r.ackAt
		changed = true
	}
	if r.Status == "open" && !now.Before(r.closeAt) {
		if r.StatusNotes == "" {
			r.StatusNotes = r.ackNote
		}
		r.Status = "closed"
		r.StatusNotes = r.closeNote
		r.Updated = r.closeAt
		changed = true
	}
	return changed
}

// due is when r's next transition falls due: its id for a batch
// request, then acknowledgement, then closing.
func (r *Request) due() time.Time {
	switch {
	case r.ID == "":
		return r.readyAt
	case r.StatusNotes == "":
		return r.ackAt
	}
	return r.closeAt
}
