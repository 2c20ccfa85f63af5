package arcgissim

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// Service is one feature service: a name and its layers.
type Service struct {
	Name        string
	Description string
	Layers      []*Layer
	// NoChangeTracking serves the layers without the ChangeTracking
	// capability, as many enterprise geodatabases do: no server
	// generations, and extractChanges is refused.
	NoChangeTracking bool
}

// Options configures a simulated ArcGIS server.
type Options struct {
	Services []Service
	// Auth turns on token security; the zero value serves publicly.
	Auth Auth
	// Faults injects latency, 5xx, 429 and hangs in front of every request.
	Faults simcity.Faults
	// BodyErrorRate is the share of query, applyEdits and extractChanges
	// requests answered HTTP 200 with {"error":{"code":500,...}}, the way
	// ArcGIS reports a failed database call; nothing is applied. The draw
	// uses Seed, so the sequence repeats.
	BodyErrorRate float64
	// Seed makes issued tokens reproducible.
	Seed uint64
	// Clock is the server's time; time.Now when nil.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Server simulates ArcGIS Enterprise feature services. It is an
// http.Handler serving:
//
//	GET      /arcgis/rest/info                                  authInfo (token service URL)
//	POST     /arcgis/tokens/generateToken, /sharing/rest/generateToken
//	GET      /arcgis/rest/services                              catalog
//	GET      /arcgis/rest/services/<name>/FeatureServer         service, changeTrackingInfo
//	GET      /arcgis/rest/services/<name>/FeatureServer/<id>    layer: fields, maxRecordCount, editingInfo, serverGens
//	GET|POST .../FeatureServer/<id>/query                       where, objectIds, outFields, returnGeometry, orderByFields,
//	                                                            resultOffset, resultRecordCount, returnIdsOnly, returnCountOnly
//	POST     .../FeatureServer/<id>/applyEdits                  adds, updates, deletes, rollbackOnFailure, returnEditMoment
//	POST     .../FeatureServer/extractChanges                   layers, layerServerGens or serverGens, returnIdsOnly
//
// Errors are answered, as ArcGIS does, with HTTP 200 and an
// {"error":{code,message,details}} body: 499 without a token, 498 for an
// invalid or expired one, 400 for bad parameters. Every answer is JSON
// whatever f says. Try it with:
//
//	curl 'http://HOST/arcgis/rest/services/StreetlightAudit/FeatureServer/0/query?where=1%3D1&outFields=*&resultRecordCount=2&f=json'
//
// (with Auth set, POST username and password to generateToken first and add
// &token=... to the query).
type Server struct {
	opts     Options
	services map[string]*Service // lower-cased name
	tokens   *tokens
	handler  http.Handler

	faultMu  sync.Mutex
	faultRng *rand.Rand
}

// NewServer builds a server over the given services.
func NewServer(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, services: map[string]*Service{}}
	for i := range opts.Services {
		s.services[strings.ToLower(opts.Services[i].Name)] = &opts.Services[i]
	}
	s.tokens = newArcGISTokens(opts.Auth, opts.Seed, opts.Clock)
	s.faultRng = rand.New(rand.NewPCG(opts.Seed, opts.Seed^0xbad))
	s.handler = opts.Faults.Wrap(http.HandlerFunc(s.route))
	return s
}

// ServeHTTP serves the REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// TokensIssued reports how many tokens generateToken has handed out.
func (s *Server) TokensIssued() int { return s.tokens.count() }

// Layer returns a layer of a service, for tests and the simulated city.
func (s *Server) Layer(service string, id int) (*Layer, bool) {
	svc, ok := s.services[strings.ToLower(service)]
	if !ok {
		return nil, false
	}
	for _, l := range svc.Layers {
		if l.cfg.ID == id {
			return l, true
		}
	}
	return nil, false
}

const version = 11.3

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		writeError(w, 400, "Unable to complete operation.", "Invalid request body.")
		return
	}
	if strings.EqualFold(r.Form.Get("f"), "pjson") {
		pw := &prettyWriter{ResponseWriter: w, status: http.StatusOK}
		defer pw.flush()
		w = pw
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	lower := strings.ToLower(path)
	switch lower {
	case "/arcgis/tokens/generatetoken", "/arcgis/tokens", "/sharing/rest/generatetoken", "/arcgis/sharing/rest/generatetoken":
		s.tokens.generate(w, r)
		return
	case "/arcgis/rest/info":
		s.info(w, r)
		return
	case "/arcgis/rest/services":
		if _, apiErr := s.tokens.check(r); apiErr != nil {
			writeJSON(w, map[string]any{"error": apiErr})
			return
		}
		s.catalog(w)
		return
	}
	rest, ok := strings.CutPrefix(path, "/arcgis/rest/services/")
	if !ok {
		writeError(w, 404, "Requested URL not found.")
		return
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || !strings.EqualFold(parts[1], "FeatureServer") {
		writeError(w, 404, "Service not found.")
		return
	}
	svc, ok := s.services[strings.ToLower(parts[0])]
	if !ok {
		writeError(w, 404, "Service not found.", "Service "+parts[0]+"/FeatureServer not found.")
		return
	}
	user, apiErr := s.tokens.check(r)
	if apiErr != nil {
		writeJSON(w, map[string]any{"error": apiErr})
		return
	}
	parts = parts[2:]
	if len(parts) == 0 {
		s.serviceInfo(w, r, svc)
		return
	}
	if strings.EqualFold(parts[0], "extractChanges") && len(parts) == 1 {
		if svc.NoChangeTracking {
			writeError(w, 400, "Unable to complete operation.", "Extract changes is not supported: the service does not have the ChangeTracking capability.")
			return
		}
		s.extractChanges(w, r, svc)
		return
	}
	if len(parts) == 2 || strings.EqualFold(parts[0], "extractChanges") {
		if s.bodyError() {
			writeError(w, 500, "Unable to complete operation.", "Simulated database failure.")
			return
		}
	}
	id, err := strconv.Atoi(parts[0])
	var layer *Layer
	for _, l := range svc.Layers {
		if err == nil && l.cfg.ID == id {
			layer = l
		}
	}
	if layer == nil {
		writeError(w, 400, "Invalid or missing input parameters.", "Layer "+parts[0]+" does not exist.")
		return
	}
	switch {
	case len(parts) == 1:
		s.layerInfo(w, svc, layer)
	case len(parts) == 2 && strings.EqualFold(parts[1], "query"):
		s.query(w, r, layer)
	case len(parts) == 2 && strings.EqualFold(parts[1], "applyEdits"):
		s.applyEdits(w, r, layer, user)
	default:
		writeError(w, 400, "Unable to complete operation.", "Operation "+strings.Join(parts[1:], "/")+" is not supported.")
	}
}

// bodyError draws whether an operation fails inside a 200 body.
func (s *Server) bodyError() bool {
	if s.opts.BodyErrorRate <= 0 {
		return false
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faultRng.Float64() < s.opts.BodyErrorRate
}

// parseForm reads query-string and form parameters, URL-encoded or
// multipart, as ArcGIS accepts both.
func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(32 << 20)
	}
	return r.ParseForm()
}

// prettyWriter answers f=pjson: the JSON answer, indented for people.
type prettyWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (p *prettyWriter) WriteHeader(status int) { p.status = status }

func (p *prettyWriter) Write(b []byte) (int, error) { return p.buf.Write(b) }

// flush indents what was written and sends it; an answer that is not JSON
// goes as it is.
func (p *prettyWriter) flush() {
	body := p.buf.Bytes()
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") == nil {
		body = out.Bytes()
	}
	p.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(len(body)))
	p.ResponseWriter.WriteHeader(p.status)
	_, _ = p.ResponseWriter.Write(body)
}
