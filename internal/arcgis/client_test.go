package arcgis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/httpretry"
)

// sim is a simulated feature service with one point layer of n features.
type sim struct {
	layer    *arcgissim.Layer
	server   *arcgissim.Server
	http     *httptest.Server
	requests atomic.Int64 // requests that reached the server, faults included
}

const testUser, testPassword = "citylink", "pw"

func newSim(t *testing.T, n int, cfg arcgissim.LayerConfig, opts arcgissim.Options) *sim {
	t.Helper()
	cfg.Name, cfg.GeometryType, cfg.EditTracking = "Poles", "esriGeometryPoint", true
	cfg.Fields = []arcgissim.Field{
		{Name: "ASSET_ID", Type: arcgissim.FieldString, Length: 20, Editable: true},
		{Name: "WATTS", Type: arcgissim.FieldInteger, Nullable: true, Editable: true},
		{Name: "INSTALLED", Type: arcgissim.FieldDate, Nullable: true, Editable: true},
	}
	s := &sim{layer: arcgissim.NewLayer(cfg)}
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	fs := make([]arcgissim.Feature, n)
	for i := range fs {
		fs[i] = arcgissim.Feature{
			Attributes: map[string]any{"ASSET_ID": fmt.Sprintf("SL-%07d", i+1), "WATTS": int64(50 + i%4*25), "INSTALLED": base.Add(time.Duration(i) * time.Hour)},
			Geometry:   &arcgissim.Point{X: -87.6 - float64(i)/1e5, Y: 41.8 + float64(i)/1e5},
		}
	}
	if err := s.layer.Load(fs...); err != nil {
		t.Fatal(err)
	}
	opts.Services = []arcgissim.Service{{Name: "DOT", Layers: []*arcgissim.Layer{s.layer}}}
	s.server = arcgissim.NewServer(opts)
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.server.ServeHTTP(w, r)
	}))
	t.Cleanup(s.http.Close)
	return s
}

func (s *sim) serviceURL() string { return s.http.URL + "/arcgis/rest/services/DOT/FeatureServer" }

// fastRetry retries often and without real waiting, so fault tests pass on
// the deterministic fault sequence rather than on timing.
var fastRetry = httpretry.Policy{MaxAttempts: 12, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, AttemptTimeout: 2 * time.Second}

func newClient(t *testing.T, s *sim, o arcgis.Options) *arcgis.Client {
	t.Helper()
	o.ServiceURL = s.serviceURL()
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: httpretry.New(s.http.Client().Transport, o.Retry)}
	}
	c, err := arcgis.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var secured = arcgissim.Auth{Users: map[string]string{testUser: testPassword}}

func TestNewRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "not a url", "http://host/arcgis/rest/services/X/MapServer"} {
		if _, err := arcgis.New(arcgis.Options{ServiceURL: u}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}

func TestQueryPagesByOffsetWithFaults(t *testing.T) {
	t.Parallel()
	s := newSim(t, 2345, arcgissim.LayerConfig{MaxRecordCount: 200}, arcgissim.Options{
		Auth:          arcgissim.Auth{Users: secured.Users, ExpireAfterUses: 5},
		Faults:        simcity.Faults{Seed: 42, ErrorRate: 0.25, ThrottleRate: 0.1, RetryAfter: 0, HangRate: 0.02},
		BodyErrorRate: 0.2, Seed: 42,
	})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword, Retry: fastRetry})
	ctx := context.Background()
	seen := map[int64]bool{}
	pages := 0
	err := c.QueryPages(ctx, 0, arcgis.Query{Where: "WATTS >= 50", OutFields: []string{"OBJECTID", "ASSET_ID", "INSTALLED"}, Geometry: true}, func(fs *arcgis.FeatureSet) error {
		pages++
		for _, f := range fs.Features {
			id, ok := f.ObjectID("OBJECTID")
			if !ok || seen[id] {
				return fmt.Errorf("object id %d missing or repeated", id)
			}
			seen[id] = true
			if _, ok := f.Point(); !ok {
				return fmt.Errorf("feature %d has no point", id)
			}
			if asset, _ := f.String("asset_id"); asset != fmt.Sprintf("SL-%07d", id) {
				return fmt.Errorf("feature %d has asset %q", id, asset)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2345 || pages != 12 {
		t.Fatalf("read %d features in %d pages, want 2345 in 12", len(seen), pages)
	}
	if s.server.TokensIssued() < 2 {
		t.Errorf("tokens issued = %d; expiring tokens should have forced refreshes", s.server.TokensIssued())
	}
}

func TestQueryPagesByObjectIDs(t *testing.T) {
	t.Parallel()
	s := newSim(t, 1030, arcgissim.LayerConfig{MaxRecordCount: 100, NoPagination: true}, arcgissim.Options{})
	c := newClient(t, s, arcgis.Options{})
	var ids []int64
	sizes := map[int]int{}
	err := c.QueryPages(context.Background(), 0, arcgis.Query{Where: "WATTS = 100"}, func(fs *arcgis.FeatureSet) error {
		sizes[len(fs.Features)]++
		for _, f := range fs.Features {
			id, _ := f.ObjectID("OBJECTID")
			ids = append(ids, id)
			if w, _ := f.Int("WATTS"); w != 100 {
				return fmt.Errorf("feature %d has WATTS %d", id, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 257 || sizes[100] != 2 || sizes[57] != 1 {
		t.Fatalf("read %d features, page sizes %v; want 257 in pages of 100, 100, 57", len(ids), sizes)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids out of order at %d: %d after %d", i, ids[i], ids[i-1])
		}
	}
}

func TestQueryPagesStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	s := newSim(t, 50, arcgissim.LayerConfig{MaxRecordCount: 10}, arcgissim.Options{})
	c := newClient(t, s, arcgis.Options{})
	stop := errors.New("stop")
	calls := 0
	err := c.QueryPages(context.Background(), 0, arcgis.Query{}, func(*arcgis.FeatureSet) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls, want stop after 1", err, calls)
	}
	// Layer info, the first page and at most one page fetched ahead: the
	// producer is stopped and waited for before QueryPages returns.
	if n := s.requests.Load(); n < 2 || n > 3 {
		t.Errorf("requests = %d, want 2 or 3", n)
	}
}

func TestQueryIDsCountAndDates(t *testing.T) {
	t.Parallel()
	s := newSim(t, 100, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword})
	ctx := context.Background()
	q := arcgis.Query{Where: "INSTALLED >= timestamp '2024-05-02 00:00:00' AND INSTALLED < timestamp '2024-05-03 00:00:00'"}
	n, err := c.QueryCount(ctx, 0, q)
	if err != nil || n != 24 {
		t.Fatalf("count = %d, %v; want 24", n, err)
	}
	ids, err := c.QueryIDs(ctx, 0, q)
	if err != nil || len(ids) != 24 || ids[0] != 25 || ids[23] != 48 {
		t.Fatalf("ids = %v, %v", ids, err)
	}
	fs, err := c.Query(ctx, 0, arcgis.Query{ObjectIDs: []int64{25}, OutFields: []string{"INSTALLED"}})
	if err != nil || len(fs.Features) != 1 {
		t.Fatalf("query by id: %v, %v", fs, err)
	}
	if at, ok := fs.Features[0].Time("INSTALLED"); !ok || !at.Equal(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("INSTALLED = %v", at)
	}
}

func TestAPIErrorsFromOKBodies(t *testing.T) {
	t.Parallel()
	s := newSim(t, 5, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword})
	_, err := c.Query(context.Background(), 0, arcgis.Query{Where: "NO_SUCH_FIELD = 1"})
	var apiErr *arcgis.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Retryable() {
		t.Fatalf("bad where: %v, want a non-retryable *APIError 400", err)
	}
	bad := newClient(t, s, arcgis.Options{Username: testUser, Password: "wrong"})
	_, err = bad.Layer(context.Background(), 0)
	if !errors.As(err, &apiErr) || apiErr.Code != 400 {
		t.Fatalf("bad password: %v, want *APIError 400 from generateToken", err)
	}
	anon := newClient(t, s, arcgis.Options{})
	_, err = anon.Layer(context.Background(), 0)
	if !errors.As(err, &apiErr) || apiErr.Code != 499 || !apiErr.TokenError() {
		t.Fatalf("no credentials: %v, want *APIError 499", err)
	}
}

func TestHTTPErrorAfterRetriesRunOut(t *testing.T) {
	t.Parallel()
	s := newSim(t, 5, arcgissim.LayerConfig{}, arcgissim.Options{Faults: simcity.Faults{Seed: 1, ErrorRate: 1}})
	c := newClient(t, s, arcgis.Options{Retry: httpretry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	_, err := c.Query(context.Background(), 0, arcgis.Query{})
	var httpErr *arcgis.HTTPError
	if !errors.As(err, &httpErr) || !httpErr.Retryable() {
		t.Fatalf("err = %v, want a retryable *HTTPError", err)
	}
	if got := s.requests.Load(); got != 3 {
		t.Errorf("requests = %d, want 3 (a query is a safe POST, retried)", got)
	}
}
