package cmssim

import (
	"cmp"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// DefaultAPIKey is the key the simulated CMS accepts when Options.APIKey
// is empty.
const DefaultAPIKey = "sim-cms-key"

// Options configures the simulated CMS.
type Options struct {
	// City supplies the lights; New(Seed, DefaultLights) when nil.
	City *simcity.City
	// Seed drives which lights start in the CMS and every alarm it raises.
	Seed uint64
	// APIKey is the accepted X-API-Key; DefaultAPIKey when empty.
	APIKey string
	// Clock stamps writes; time.Now when nil.
	Clock func() time.Time
	// Faults are the generic HTTP faults wrapped around the API.
	Faults simcity.Faults
	// LostReplyRate is the share of successful writes whose answer is lost:
	// the write is applied, then the client is told 503, as when a gateway
	// times out after the database committed. Retried creates must not
	// duplicate.
	LostReplyRate float64
	// AlarmsPerDay is how many device alarms Advance raises per simulated day;
	// 0.5% of the commissioned devices when zero, negative for none.
	AlarmsPerDay float64
	// ChangesPerDay is how many device changes (commissioning, conversions,
	// re-lamping, removals) Advance makes per simulated day; 0.05% of the
	// devices when zero, negative for none.
	ChangesPerDay float64
	// Logger receives one line per Advance; discarded when nil.
	Logger *slog.Logger
}

// CMS is the simulated streetlight central management system. It is an
// http.Handler; Advance moves its devices and alarms forward in time.
//
// The streetlight CMS simulator speaks a REST JSON API whose vocabulary follows
// TALQ (the smart city protocol streetlight central management systems and
// outdoor device networks share): devices carrying a lamp actuator/monitor and
// a controller, provisioning states, and the TALQ lamp-monitor alarms. The
// internal/cms client is written against the same contract, repeated in its
// package doc.
//
// Authentication: every request carries the API key in the X-API-Key header;
// a missing or wrong key is 401 with WWW-Authenticate: ApiKey.
//
// Errors are application/problem+json (RFC 9457) with the TALQ error key as an
// extension: {"type":"about:blank","title":"Bad Request","status":400,
// "detail":"...","key":"payloadError","errors":[{"field":"...","message":"..."}]}.
// Keys: parameterValueNotValid, payloadError, resourceNotFound,
// resourceConflict, preconditionFailed, unauthorized.
//
//	GET   /api/v1/devices?since=T&after=C&limit=N&state=S[,S]&externalId=A
//	      Devices created or changed at or after since (RFC 3339), oldest first
//	      in (updatedAt, id) order: {"devices":[...],"nextCursor":"...",
//	      "more":true}. nextCursor is the position after the page's last
//	      device (or the after given, on an empty page); while more is true,
//	      pass it back as after for the next page. Kept after the last page,
//	      it resumes the listing later with exactly the writes made since. The
//	      order is stable and every write stamps its devices after all earlier
//	      stamps, so a device written during the listing turns up on a later
//	      page rather than being missed; a bulk write stamps all its devices
//	      with one time, and ties are broken by id. limit defaults to 500, at
//	      most 1000.
//	GET   /api/v1/devices/{id}        one device, with ETag "v<version>".
//	POST  /api/v1/devices             create; 201 with Location. externalId
//	      (the city's asset id) is unique: creating it again answers 409
//	      resourceConflict with the existing device in "existing" and its URL in
//	      Location, so a retried create never makes a second device.
//	PATCH /api/v1/devices/{id}        JSON merge patch of the writable fields;
//	      If-Match "v<version>" optional (412 when stale). A patch that changes
//	      nothing leaves version and updatedAt alone.
//	POST  /api/v1/devices/bulk        {"devices":[...]} upsert by externalId, at
//	      most 500: 200 with {"results":[{"index":0,"externalId":"SL-…",
//	      "status":"created|updated|unchanged|failed","device":{…},
//	      "error":{problem}}]}; one bad item never fails the others.
//	GET   /api/v1/alarms?since=T&after=C&limit=N&type=X&state=active|cleared
//	      Alarms raised or cleared at or after since, paged like devices.
//	GET   /api/v1/alarms/{id}         one alarm.
//
// A device: {"id":"dev-0000001","externalId":"SL-0000001","state":"commissioned",
// "controllerId":"LC-…","poleId":"P-000001","location":{"latitude":41.9,
// "longitude":-87.6},"address":"1530 N Ashland Ave","circuit":"CK-1234-A",
// "lampType":"LED","nominalWatts":90,"inputWatts":95,"rateSchedule":"LS-2",
// "ownership":"city","inServiceDate":"2019-05-04","version":3,
// "createdAt":"…","updatedAt":"…"}. States: planned (in the register, no
// node), provisioned (node paired, not yet switching), commissioned (live),
// decommissioned (removed from the street). commissioned needs a controllerId.
//
// An alarm: {"id":"alm-00000001","deviceId":"dev-…","externalId":"SL-…",
// "type":"lampFailure","severity":"major","state":"active",
// "raisedAt":"…","clearedAt":"…","updatedAt":"…","message":"…"}.
type Server struct {
	opts    Options
	city    *simcity.City
	handler http.Handler
	log     *slog.Logger

	mu       sync.RWMutex
	devices  []*device
	byExt    map[string]int32
	devLog   log
	alarms   []*alarm
	alarmLog log
	active   map[alarmKey]int32 // open alarm per (device, type)
	circuits map[string][]int32 // devices per circuit, for supply loss
	lastAt   int64              // last stamp handed out, Unix microseconds
	rng      *rand.Rand         // Advance's decisions
	lostRng  *rand.Rand         // LostReplyRate's decisions
	anchor   time.Time          // the time Advance last reached
	carry    struct{ alarms, changes float64 }
}

// NewServer builds the simulated CMS over opts.City. A share of the city's
// lights are already in it: nearly all with a smart controller (commissioned
// or provisioned) and a fifth of the others as planned conversions.
func NewServer(opts Options) *Server {
	opts.APIKey = cmp.Or(opts.APIKey, DefaultAPIKey)
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	town := opts.City
	if town == nil {
		town = simcity.New(opts.Seed, simcity.DefaultLights)
	}
	c := &Server{
		opts:     opts,
		city:     town,
		log:      cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		byExt:    make(map[string]int32),
		active:   make(map[alarmKey]int32),
		circuits: make(map[string][]int32),
		rng:      rand.New(rand.NewPCG(opts.Seed, 0xc3a5c85c97cb3127)),
		lostRng:  rand.New(rand.NewPCG(opts.Seed, 0xb492b66fbe98f273)),
	}
	c.load()
	c.anchor = opts.Clock().UTC()
	c.handler = opts.Faults.Wrap(c.routes())
	return c
}

// ServeHTTP serves the CMS API.
func (c *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// APIKey returns the key clients must send in X-API-Key.
func (c *Server) APIKey() string { return c.opts.APIKey }

// routes wires the API behind API-key authentication.
func (c *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/devices", c.listDevices)
	mux.HandleFunc("POST /api/v1/devices", c.createDevice)
	mux.HandleFunc("POST /api/v1/devices/bulk", c.bulkUpsert)
	mux.HandleFunc("GET /api/v1/devices/{id}", c.getDevice)
	mux.HandleFunc("PATCH /api/v1/devices/{id}", c.patchDevice)
	mux.HandleFunc("GET /api/v1/alarms", c.listAlarms)
	mux.HandleFunc("GET /api/v1/alarms/{id}", c.getAlarm)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(r.URL.Path); allow != "" {
			w.Header().Set("Allow", allow)
			problem(w, http.StatusMethodNotAllowed, "genericError", r.Method+" is not allowed on "+r.URL.Path, nil)
			return
		}
		problem(w, http.StatusNotFound, "resourceNotFound", "no such resource: "+r.Method+" "+r.URL.Path, nil)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != c.opts.APIKey {
			w.Header().Set("WWW-Authenticate", `ApiKey header="X-API-Key"`)
			problem(w, http.StatusUnauthorized, "unauthorized", "missing or invalid X-API-Key", nil)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// allowed names the methods a known resource path takes, or "" for an
// unknown path.
func allowed(path string) string {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		return ""
	}
	switch parts := strings.Split(rest, "/"); {
	case len(parts) == 1 && parts[0] == "devices":
		return "GET, POST"
	case len(parts) == 2 && parts[0] == "devices" && parts[1] == "bulk":
		return "POST"
	case len(parts) == 2 && parts[0] == "devices" && parts[1] != "":
		return "GET, PATCH"
	case len(parts) == 1 && parts[0] == "alarms", len(parts) == 2 && parts[0] == "alarms" && parts[1] != "":
		return "GET"
	}
	return ""
}

// loseReply reports whether this successful write's answer is to be lost.
func (c *Server) loseReply() bool {
	if c.opts.LostReplyRate <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lostRng.Float64() < c.opts.LostReplyRate
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
