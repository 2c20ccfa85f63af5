package open311_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/open311sim"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
)

// replay serves testdata files: routes maps "METHOD /path" to a file and a
// status. It records the form of every POST.
type replay struct {
	mu     sync.Mutex
	routes map[string]replayAnswer
	forms  []url.Values
}

type replayAnswer struct {
	file   string
	status int
}

func (rp *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	a, ok := rp.routes[r.Method+" "+r.URL.Path]
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		rp.forms = append(rp.forms, r.PostForm)
	}
	rp.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := os.ReadFile(filepath.Join("testdata", a.file))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(b)
}

func replayClient(t *testing.T, routes map[string]replayAnswer) (*open311.Client, *replay) {
	t.Helper()
	rp := &replay{routes: routes}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	c, err := open311.New(open311.Config{
		BaseURL: srv.URL + "/open311/v2", APIKey: "k",
		Retry: httpretry.Policy{MaxAttempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, rp
}

func TestParseRecordedServices(t *testing.T) {
	t.Parallel()
	c, _ := replayClient(t, map[string]replayAnswer{
		"GET /open311/v2/services.json":      {"services.json", 200},
		"GET /open311/v2/services/1021.json": {"service_definition.json", 200},
	})
	ctx := context.Background()
	svcs, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 3 || svcs[0].Code != "1021" || !svcs[0].Metadata || svcs[1].Type != "batch" ||
		!svcs[1].Metadata || svcs[2].Metadata || svcs[2].Description != "" {
		t.Errorf("services: %+v", svcs)
	}
	def, err := c.ServiceDefinition(ctx, "1021")
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Attributes) != 3 || !def.Attributes[0].Required || def.Attributes[1].Order != 2 ||
		def.Attributes[1].Values[1].Key != "2" || def.Attributes[2].Variable {
		t.Errorf("definition: %+v", def)
	}
}

func TestParseRecordedRequests(t *testing.T) {
	t.Parallel()
	c, _ := replayClient(t, map[string]replayAnswer{
		"GET /open311/v2/requests.json": {"requests.json", 200},
	})
	reqs, err := c.Requests(context.Background(), open311.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("got %d requests", len(reqs))
	}
	a, b, d := reqs[0], reqs[1], reqs[2]
	if a.ID != "638344" || !a.Closed() || a.AddressID != "545483" || a.Zipcode != "94122" || !a.HasLocation ||
		a.Lat != 37.762221815 || !a.Expected.Equal(time.Date(2026, 10, 7, 14, 37, 38, 0, time.UTC)) {
		t.Errorf("numeric-typed request: %+v", a)
	}
	if b.ID != "SR-26-00042" || b.Status != open311.StatusOpen || b.Lat != 41.88162 || !b.HasLocation ||
		!b.Expected.IsZero() || b.Requested.Nanosecond() != 250_000_000 {
		t.Errorf("string-typed request: %+v", b)
	}
	if d.HasLocation || !d.Updated.IsZero() || !d.Requested.Equal(time.Date(2026, 11, 2, 8, 15, 30, 0, time.UTC)) {
		t.Errorf("sparse request: %+v", d)
	}
}

func TestParseRecordedPostAnswersAndTokens(t *testing.T) {
	t.Parallel()
	c, rp := replayClient(t, map[string]replayAnswer{
		"POST /open311/v2/requests.json":     {"post_realtime.json", 200},
		"GET /open311/v2/tokens/12345.json":  {"token_ready.json", 200},
		"GET /open311/v2/tokens/99999.json":  {"token_pending.json", 200},
		"GET /open311/v2/requests/404.json":  {"error_403.json", 404},
		"GET /open311/v2/services/GRAF.json": {"error_502.html", 502},
	})
	ctx := context.Background()
	got, err := c.Create(ctx, open311.NewRequest{
		ServiceCode: "1021", Lat: 41.5, Long: -87.25, HasLocation: true, Description: "out",
		Attributes: map[string][]string{"ASSET_ID": {"SL-1"}, "HAZARD": {"wires", "traffic"}, "EMPTY": nil},
	})
	if err != nil || got.ID != "293944" || got.AccountID != "" || !strings.Contains(got.ServiceNotice, "24 hours") {
		t.Fatalf("create: %+v %v", got, err)
	}
	f := rp.forms[0]
	if f.Get("api_key") != "k" || f.Get("lat") != "41.5" || f.Get("long") != "-87.25" ||
		f.Get("attribute[ASSET_ID]") != "SL-1" || strings.Join(f["attribute[HAZARD][]"], ",") != "wires,traffic" {
		t.Errorf("posted form: %v", f)
	}
	if _, ok := f["attribute[EMPTY]"]; ok {
		t.Errorf("attribute without values was sent: %v", f)
	}
	if id, err := c.Token(ctx, "12345"); err != nil || id != "638349" {
		t.Errorf("ready token: %q %v", id, err)
	}
	if id, err := c.Token(ctx, "99999"); err != nil || id != "" {
		t.Errorf("pending token: %q %v", id, err)
	}
	if _, err := c.Request(ctx, "404"); !open311.IsNotFound(err) {
		t.Errorf("404: %v", err)
	}
	_, err = c.ServiceDefinition(ctx, "GRAF")
	var ae *open311.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || !strings.Contains(ae.Body, "Bad Gateway") || !ae.Retryable() {
		t.Errorf("HTML 502: %v", err)
	}
}

func TestParseRecordedErrorArrays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file   string
		status int
		codes  []string
	}{
		{"error_400.json", 400, []string{"400", "400"}},
		{"error_403.json", 403, []string{"403"}},
		{"error_duplicate.json", 400, []string{"duplicate"}},
		{"error_400.json", 200, []string{"400", "400"}}, // some servers answer 200 with errors
	} {
		c, _ := replayClient(t, map[string]replayAnswer{"POST /open311/v2/requests.json": {tc.file, tc.status}})
		_, err := c.Create(context.Background(), open311.NewRequest{ServiceCode: "1021", AddressString: "1 Main St"})
		var ae *open311.APIError
		if !errors.As(err, &ae) || ae.Status != tc.status || len(ae.Errors) != len(tc.codes) {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		for i, code := range tc.codes {
			if ae.Errors[i].Code != code || ae.Errors[i].Description == "" {
				t.Errorf("%s: entry %d = %+v, want code %s", tc.file, i, ae.Errors[i], code)
			}
		}
		if errors.Is(err, open311.ErrMaybeCreated) {
			t.Errorf("%s: a %d error array is not an unknown outcome", tc.file, tc.status)
		}
	}
}

func TestCreateValidatesBeforeSending(t *testing.T) {
	t.Parallel()
	c, rp := replayClient(t, nil)
	for _, r := range []open311.NewRequest{
		{AddressString: "1 Main St"},
		{ServiceCode: "1021"},
		{ServiceCode: "1021", AddressID: "7", Attributes: map[string][]string{"A]": {"x"}}},
	} {
		if _, err := c.Create(context.Background(), r); err == nil {
			t.Errorf("%+v: accepted", r)
		}
	}
	if len(rp.forms) != 0 {
		t.Errorf("invalid requests reached the server: %v", rp.forms)
	}
}

func TestParseRecordedDiscovery(t *testing.T) {
	t.Parallel()
	rp := &replay{routes: map[string]replayAnswer{"GET /discovery.json": {"discovery.json", 200}}}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	d, err := open311.Discover(context.Background(), srv.Client(), srv.URL+"/discovery.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Endpoints) != 3 || d.Changeset != "2026-03-01 00:00" {
		t.Fatalf("discovery: %+v", d)
	}
	prod, ok := d.GeoReportV2("production")
	if !ok || prod.URL != "https://open311.city.example.gov/v2" {
		t.Errorf("production endpoint: %+v %v", prod, ok)
	}
	if test, ok := d.GeoReportV2("test"); !ok || test.URL != "https://dev.open311.city.example.gov/v2" {
		t.Errorf("test endpoint: %+v %v", test, ok)
	}
}

func TestDiscoverTheSimulator(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(open311sim.NewServer(open311sim.Options{}))
	defer srv.Close()
	d, err := open311.Discover(context.Background(), nil, srv.URL+"/discovery.json")
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := d.GeoReportV2("test")
	if !ok {
		t.Fatalf("no GeoReport v2 endpoint in %+v", d)
	}
	c, err := open311.New(open311.Config{BaseURL: ep.URL})
	if err != nil {
		t.Fatal(err)
	}
	if svcs, err := c.Services(context.Background()); err != nil || len(svcs) == 0 {
		t.Errorf("services from the discovered endpoint: %v %v", svcs, err)
	}
}

func TestParseW3CDatetimes(t *testing.T) {
	t.Parallel()
	// GeoReport v2 dates are W3C datetimes (a profile of ISO 8601): minute
	// precision and date-only forms are valid, and servers also send
	// basic-format offsets (+0100). An optional date that cannot be read
	// must not lose the request, nor the others in the list.
	utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	json, _ := replayClient(t, map[string]replayAnswer{"GET /open311/v2/requests.json": {"requests_datetimes.json", 200}})
	xml := xmlReplayClient(t, map[string]replayAnswer{"GET /requests.xml": {"requests_datetimes.xml", 200}})
	for name, c := range map[string]*open311.Client{"json": json, "xml": xml} {
		reqs, err := c.Requests(context.Background(), open311.Query{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(reqs) != 4 {
			t.Fatalf("%s: %d requests, want 4", name, len(reqs))
		}
		for i, want := range []struct{ requested, updated string }{
			{"2026-11-02T09:00:00Z", "2026-11-02T08:05:30Z"},
			{"2026-11-02T00:00:00Z", "2026-11-02T14:00:00.5Z"},
			{"2026-11-02T09:00:00Z", ""},
			{"2026-11-02T09:15:00Z", ""},
		} {
			r := reqs[i]
			if !r.Requested.Equal(utc(want.requested)) || (want.updated == "" && !r.Updated.IsZero()) || (want.updated != "" && !r.Updated.Equal(utc(want.updated))) {
				t.Errorf("%s: request %s: requested %v updated %v, want %s and %q", name, r.ID, r.Requested, r.Updated, want.requested, want.updated)
			}
		}
		bad := reqs[2]
		if bad.Unreadable["updated_datetime"] != "last Tuesday" || !bad.Expected.Equal(utc("2026-11-01T00:00:00Z")) {
			t.Errorf("%s: request 3: unreadable %v, expected %v", name, bad.Unreadable, bad.Expected)
		}
	}
}

func TestDiscoveryKeepsXMLOnlyEndpoints(t *testing.T) {
	t.Parallel()
	// XML is the format GeoReport v2 makes mandatory and the client speaks
	// it: an endpoint that serves only XML is usable, and the spec's own
	// example discovery document (XML, every endpoint text/xml only) must
	// yield its production endpoint.
	rp := &replay{routes: map[string]replayAnswer{
		"GET /discovery.json": {"discovery.json", 200},
		"GET /discovery.xml":  {"discovery_spec.xml", 200},
	}}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	d, err := open311.Discover(context.Background(), srv.Client(), srv.URL+"/discovery.xml")
	if err != nil {
		t.Fatal(err)
	}
	prod, ok := d.GeoReportV2("production")
	if !ok || prod.URL != "http://open311.sfgov.org/v2" || prod.Format() != open311.XML || d.Changeset != "2011-04-05T17:48:34Z" || len(d.Endpoints) != 3 {
		t.Errorf("spec example: production endpoint %+v %v, discovery %+v", prod, ok, d)
	}
	if test, ok := d.GeoReportV2("test"); !ok || test.URL != "http://open311.sfgov.org/dev/v2" {
		t.Errorf("spec example: test endpoint %+v %v (the v1 endpoint is not GeoReport v2)", test, ok)
	}
	d, err = open311.Discover(context.Background(), srv.Client(), srv.URL+"/discovery.json")
	if err != nil {
		t.Fatal(err)
	}
	// https is preferred over JSON; among https endpoints JSON over XML.
	if prod, ok := d.GeoReportV2("production"); !ok || prod.URL != "https://open311.city.example.gov/v2" || prod.Format() != open311.JSON {
		t.Errorf("json discovery: production endpoint %+v %v", prod, ok)
	}
}

func TestPostSendsJurisdictionOnlyInBody(t *testing.T) {
	t.Parallel()
	// The spec puts every POST parameter in the form body; the same
	// parameter in the query string too is ambiguous to a server.
	var query, body url.Values
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		query, body = r.URL.Query(), r.PostForm
		mu.Unlock()
		_, _ = w.Write([]byte(`[{"service_request_id":"7"}]`))
	}))
	defer srv.Close()
	c, err := open311.New(open311.Config{BaseURL: srv.URL, APIKey: "k", JurisdictionID: "city.example.gov", Retry: httpretry.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), open311.NewRequest{ServiceCode: "STLT", AddressString: "1 Main St"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if query.Has("jurisdiction_id") || body.Get("jurisdiction_id") != "city.example.gov" {
		t.Errorf("jurisdiction_id in query %v, in body %v; want it in the body only", query, body)
	}
}

func TestRequestsByIDKeepsOnlyTheIDsAsked(t *testing.T) {
	t.Parallel()
	// A server that ignores service_request_id answers its default list;
	// those are not the requests asked for.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"service_request_id":"1","status":"open"},{"service_request_id":"2","status":"open"},{"service_request_id":"3","status":"closed"}]`))
	}))
	defer srv.Close()
	c, err := open311.New(open311.Config{BaseURL: srv.URL, Retry: httpretry.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RequestsByID(context.Background(), []string{"3", "9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "3" {
		t.Errorf("RequestsByID(3, 9) = %+v, want request 3 only", got)
	}
}

// deadlineRecorder is a RoundTripper noting whether each request's context
// had a deadline, and how far off.
type deadlineRecorder struct {
	mu   sync.Mutex
	left []time.Duration // -1 for none
	next http.RoundTripper
}

func (d *deadlineRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	left := time.Duration(-1)
	if dl, ok := r.Context().Deadline(); ok {
		left = time.Until(dl)
	}
	d.mu.Lock()
	d.left = append(d.left, left)
	d.mu.Unlock()
	return d.next.RoundTrip(r)
}

func TestDiscoverHasItsOwnTimeout(t *testing.T) {
	t.Parallel()
	// Discovery is a call to another server, often another host: a caller
	// without a deadline must not hang on it for ever.
	rp := &replay{routes: map[string]replayAnswer{"GET /discovery.json": {"discovery.json", 200}}}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	rec := &deadlineRecorder{next: srv.Client().Transport}
	if _, err := open311.Discover(context.Background(), &http.Client{Transport: rec}, srv.URL+"/discovery.json"); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.left) != 1 || rec.left[0] < 0 || rec.left[0] > open311.DiscoverTimeout {
		t.Errorf("discovery request deadlines: %v, want one within %v", rec.left, open311.DiscoverTimeout)
	}
}
