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

	"github.com/citylink/citylink/internal/citysim"
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
	srv := httptest.NewServer(citysim.NewOpen311(citysim.Open311Options{}))
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
