package open311sim

import (
	"cmp"
	"container/heap"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// Duplicates says how the simulated Open311 server answers a request
// for an asset that already has an open request of the same service code.
type Duplicates int

const (
	// DuplicatesAllow files a second request, as many 311 systems do.
	DuplicatesAllow Duplicates = iota
	// DuplicatesReject answers 400 with an error array naming the open
	// request.
	DuplicatesReject
	// DuplicatesReturnExisting answers 200 with the open request's
	// service_request_id (or token) and a service_notice saying so.
	DuplicatesReturnExisting
)

// Options configures the simulated Open311 GeoReport v2 server. The
// zero value is a working server with the default API key, no faults and the
// wall clock.
type Options struct {
	// Seed makes request ids, tokens and the crews' work deterministic.
	Seed uint64
	// Faults wraps the whole server (latency, 5xx, 429, hangs).
	Faults simcity.Faults
	// Now is the server's clock; time.Now when nil. Every call advances the
	// simulated crews to Now before it answers.
	Now func() time.Time
	// APIKeys are the accepted api_key values; DefaultAPIKey when empty.
	APIKeys []string
	// Jurisdiction is the jurisdiction_id served; a request naming another
	// one is answered 404. Defaults to DefaultJurisdiction.
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
	Duplicates Duplicates
	// Speed divides how long crews take (default 1, real time).
	Speed float64
	// MaxResults caps GET requests.json (default 1000, as the spec suggests).
	MaxResults int
	// City, when set, is the asset register requests are checked against:
	// an ASSET_ID that names no light is refused with 400, and a request
	// without an address or position gets the light's.
	City *simcity.City
	// PublicRequests, with City, is how many requests residents filed for
	// the city's lights over the 30 days before the server starts; some are
	// still open, so citylink's requests can meet duplicates.
	PublicRequests int
	// Logger receives one line per accepted request; discarded when nil.
	Logger *slog.Logger
}

// Defaults of the simulated Open311 server.
const (
	DefaultAPIKey       = "citylink-open311-dev-key"
	DefaultJurisdiction = "citylink.example.gov"
	firstID             = 26000001
)

// Open311 is a simulated Open311 GeoReport v2 server for streetlight service
// requests (wiki.open311.org/GeoReport_v2). It is an http.Handler serving,
// in JSON (.json) or XML (.xml):
//
//	GET  /discovery.json|xml         service discovery
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
type Server struct {
	opts     Options
	handler  http.Handler
	services []service
	byCode   map[string]*service
	keys     map[string]bool

	mu      sync.Mutex
	seq     int // requests accepted, for the per-request random stream
	nextNum int // next service_request_id
	reqs    []*Request
	byID    map[string]*Request
	byToken map[string]*Request
	open    map[string]*Request // service code + asset id -> open request
	pending queue               // not yet closed, by next transition
	last    time.Time
}

// NewServer returns a simulated Open311 server configured by opts.
func NewServer(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.APIKeys) == 0 {
		opts.APIKeys = []string{DefaultAPIKey}
	}
	opts.Jurisdiction = cmp.Or(opts.Jurisdiction, DefaultJurisdiction)
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
	s := &Server{
		opts:     opts,
		services: catalog(batch, blackbox),
		byCode:   make(map[string]*service),
		keys:     make(map[string]bool),
		nextNum:  firstID,
		byID:     make(map[string]*Request),
		byToken:  make(map[string]*Request),
		open:     make(map[string]*Request),
	}
	for i := range s.services {
		s.byCode[s.services[i].Code] = &s.services[i]
	}
	for _, k := range opts.APIKeys {
		s.keys[k] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /discovery.json", s.discovery)
	mux.HandleFunc("GET /discovery.xml", s.discovery)
	mux.HandleFunc("GET /{resource}", s.root)
	mux.HandleFunc("POST /{resource}", s.post)
	mux.HandleFunc("GET /services/{file}", s.definition)
	mux.HandleFunc("GET /requests/{file}", s.getOne)
	mux.HandleFunc("GET /tokens/{file}", s.token)
	s.handler = opts.Faults.Wrap(mux)
	s.seedPublic(opts.City, opts.PublicRequests, opts.Now())
	return s
}

// ServeHTTP serves the GeoReport v2 API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Advance moves the simulated crews to now: batch requests due get their ids,
// requests are acknowledged and closed. Earlier times than the last are
// ignored. Every API call advances to the clock first.
func (s *Server) Advance(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(now)
}

func (s *Server) advanceLocked(now time.Time) {
	if now.Before(s.last) {
		return
	}
	s.last = now
	// Pop requests in the order their next transition falls due, so batch
	// ids are handed out in readiness order and only due requests are seen.
	for s.pending.Len() > 0 && !s.pending[0].due().After(now) {
		r := heap.Pop(&s.pending).(*Request)
		if advance(r, now, s.nextID, s.byCode[r.ServiceCode], s.opts.Speed) && r.ID != "" {
			s.byID[r.ID] = r
		}
		if r.Status == "closed" {
			if key := dupKey(r.ServiceCode, r.assetID); s.open[key] == r {
				delete(s.open, key)
			}
			continue
		}
		heap.Push(&s.pending, r)
	}
}

// queue is a min-heap of open requests by their next transition.
type queue []*Request

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due().Before(q[j].due()) }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)        { *q = append(*q, x.(*Request)) }
func (q *queue) Pop() any {
	old := *q
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return r
}

func (s *Server) nextID() string {
	id := strconv.Itoa(s.nextNum)
	s.nextNum++
	return id
}

// Requests returns a copy of every request received, in arrival order, as of
// the clock's current time.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.opts.Now())
	out := make([]Request, 0, len(s.reqs))
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

func dupKey(code, asset string) string { return code + "\x00" + asset }
