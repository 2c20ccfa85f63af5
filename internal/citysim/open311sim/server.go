package citysim

import (
	"cmp"
	"container/heap"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Open311Duplicates says how the simulated Open311 server answers a request
// for an asset that already has an open request of the same service code.
type Open311Duplicates int

const (
	// Open311DuplicatesAllow files a second request, as many 311 systems do.
	Open311DuplicatesAllow Open311Duplicates = iota
	// Open311DuplicatesReject answers 400 with an error array naming the open
	// request.
	Open311DuplicatesReject
	// Open311DuplicatesReturnExisting answers 200 with the open request's
	// service_request_id (or token) and a service_notice saying so.
	Open311DuplicatesReturnExisting
)

// Open311Options configures the simulated Open311 GeoReport v2 server. The
// zero value is a working server with the default API key, no faults and the
// wall clock.
type Open311Options struct {
	// Seed makes request ids, tokens and the crews' work deterministic.
	Seed uint64
	// Faults wraps the whole server (latency, 5xx, 429, hangs).
	Faults Faults
	// Now is the server's clock; time.Now when nil. Every call advances the
	// simulated crews to Now before it answers.
	Now func() time.Time
	// APIKeys are the accepted api_key values; DefaultOpen311APIKey when empty.
	APIKeys []string
	// Jurisdiction is the jurisdiction_id served; a request naming another
	// one is answered 404. Defaults to DefaultOpen311Jurisdiction.
	Jurisdiction string
	// BatchServices are service codes answered with a token instead of an id,
	// besides SLPWR, which always is.
	BatchServices []string
	// BlackboxServices are service codes whose POST answer carries neither
	// an id nor a token; the request is filed all the same.
	BlackboxServices []string
	// TokenDelay is how long a batch request waits before it gets its id
	// (default 30s; negative means at once).
	TokenDelay time.Duration
	// Duplicates selects the duplicate-detection answer.
	Duplicates Open311Duplicates
	// Speed divides how long crews take (default 1, real time).
	Speed float64
	// MaxResults caps GET requests.json (default 1000, as the spec suggests).
	MaxResults int
	// City, when set, is the asset register requests are checked against:
	// an ASSET_ID that names no light is refused with 400, and a request
	// without an address or position gets the light's.
	City *City
	// PublicRequests, with City, is how many requests residents filed for
	// the city's lights over the 30 days before the server starts; some are
	// still open, so citylink's requests can meet duplicates.
	PublicRequests int
	// Logger receives one line per accepted request; discarded when nil.
	Logger *slog.Logger
}

// Defaults of the simulated Open311 server.
const (
	DefaultOpen311APIKey       = "citylink-open311-dev-key"
	DefaultOpen311Jurisdiction = "citylink.example.gov"
	open311FirstID             = 26000001
)

// Open311 is a simulated Open311 GeoReport v2 server for streetlight service
// requests (wiki.open311.org/GeoReport_v2). It is an http.Handler serving,
// in JSON (.json) or XML (.xml):
//
//	GET  /discovery.json             service discovery
//	GET  /services.json              the streetlight services (SLOUT, SLDAY, SLCYC, SLKNK, SLWIR, SLPWR)
//	GET  /services/{code}.json       a service definition: ASSET_ID (required), POLE_ID, LAMP_TYPE, OBSERVED_AT, HAZARD
//	POST /requests.json              file a request: form-encoded, api_key required (403), errors as [{code, description}]
//	GET  /requests.json              service_request_id, service_code, status, start_date, end_date; 90 days, 1,000 max
//	GET  /requests/{id}.json         one request
//	GET  /tokens/{token}.json        a batch request's id once it has one
//
// Its crews acknowledge, work and close requests over simulated time, each
// request's history decided by the seed, and it can answer duplicates and
// inject faults. For example:
//
//	curl -d api_key=citylink-open311-dev-key -d service_code=SLOUT -d address_string='100 N State St' \
//	     -d 'attribute[ASSET_ID]=SL-0000001' http://127.0.0.1:PORT/requests.json
type Open311 struct {
	opts     Open311Options
	handler  http.Handler
	services []open311Service
	byCode   map[string]*open311Service
	keys     map[string]bool

	mu      sync.Mutex
	seq     int // requests accepted, for the per-request random stream
	nextNum int // next service_request_id
	reqs    []*Open311Request
	byID    map[string]*Open311Request
	byToken map[string]*Open311Request
	open    map[string]*Open311Request // service code + asset id -> open request
	pending open311Queue               // not yet closed, by next transition
	last    time.Time
}

// NewOpen311 returns a simulated Open311 server configured by opts.
func NewOpen311(opts Open311Options) *Open311 {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.APIKeys) == 0 {
		opts.APIKeys = []string{DefaultOpen311APIKey}
	}
	opts.Jurisdiction = cmp.Or(opts.Jurisdiction, DefaultOpen311Jurisdiction)
	opts.TokenDelay = cmp.Or(opts.TokenDelay, 30*time.Second)
	opts.TokenDelay = max(opts.TokenDelay, 0)
	opts.Speed = cmp.Or(opts.Speed, 1)
	opts.MaxResults = cmp.Or(opts.MaxResults, 1000)
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))

	batch, blackbox := make(map[string]bool), make(map[string]bool)
	for _, c := range opts.BatchServices {
		batch[c] = true
	}
	for _, c := range opts.BlackboxServices {
		blackbox[c] = true
	}
	s := &Open311{
		opts:     opts,
		services: open311Catalog(batch, blackbox),
		byCode:   make(map[string]*open311Service),
		keys:     make(map[string]bool),
		nextNum:  open311FirstID,
		byID:     make(map[string]*Open311Request),
		byToken:  make(map[string]*Open311Request),
		open:     make(map[string]*Open311Request),
	}
	for i := range s.services {
		s.byCode[s.services[i].Code] = &s.services[i]
	}
	for _, k := range opts.APIKeys {
		s.keys[k] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /discovery.json", s.open311Discovery)
	mux.HandleFunc("GET /{resource}", s.open311Root)
	mux.HandleFunc("POST /{resource}", s.open311Post)
	mux.HandleFunc("GET /services/{file}", s.open311Definition)
	mux.HandleFunc("GET /requests/{file}", s.open311GetOne)
	mux.HandleFunc("GET /tokens/{file}", s.open311Token)
	s.handler = opts.Faults.Wrap(mux)
	s.open311SeedPublic(opts.City, opts.PublicRequests, opts.Now())
	return s
}

// ServeHTTP serves the GeoReport v2 API.
func (s *Open311) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Advance moves the simulated crews to now: batch requests due get their ids,
// requests are acknowledged and closed. Earlier times than the last are
// ignored. Every API call advances to the clock first.
func (s *Open311) Advance(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open311AdvanceLocked(now)
}

func (s *Open311) open311AdvanceLocked(now time.Time) {
	if now.Before(s.last) {
		return
	}
	s.last = now
	// Pop requests in the order their next transition falls due, so batch
	// ids are handed out in readiness order and only due requests are seen.
	for s.pending.Len() > 0 && !s.pending[0].open311Due().After(now) {
		r := heap.Pop(&s.pending).(*Open311Request)
		if open311Advance(r, now, s.open311NextID, s.byCode[r.ServiceCode], s.opts.Speed) && r.ID != "" {
			s.byID[r.ID] = r
		}
		if r.Status == "closed" {
			if key := open311DupKey(r.ServiceCode, r.assetID); s.open[key] == r {
				delete(s.open, key)
			}
			continue
		}
		heap.Push(&s.pending, r)
	}
}

// open311Queue is a min-heap of open requests by their next transition.
type open311Queue []*Open311Request

func (q open311Queue) Len() int           { return len(q) }
func (q open311Queue) Less(i, j int) bool { return q[i].open311Due().Before(q[j].open311Due()) }
func (q open311Queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *open311Queue) Push(x any)        { *q = append(*q, x.(*Open311Request)) }
func (q *open311Queue) Pop() any {
	old := *q
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return r
}

func (s *Open311) open311NextID() string {
	id := strconv.Itoa(s.nextNum)
	s.nextNum++
	return id
}

// Requests returns a copy of every request received, in arrival order, as of
// the clock's current time.
func (s *Open311) Requests() []Open311Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open311AdvanceLocked(s.opts.Now())
	out := make([]Open311Request, 0, len(s.reqs))
	for _, r := range s.reqs {
		c := *r
		c.Attributes = make(map[string][]string, len(r.Attributes))
		for k, v := range r.Attributes {
			c.Attributes[k] = slices.Clone(v)
		}
		out = append(out, c)
	}
	return out
}

func open311DupKey(code, asset string) string { return code + "\x00" + asset }
