package open311_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/testclock"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
	"golang.org/x/time/rate"
)

var simEpoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// simClient starts the Open311 simulator behind httptest and returns a
// client for it with patient, fast retries.
func simClient(t testing.TB, opts open311sim.Options, cfg open311.Config) (*open311.Client, *open311sim.Server, *testclock.Clock, *atomic.Int64) {
	t.Helper()
	clock := testclock.NewStepping(simEpoch, time.Second)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := open311sim.NewServer(opts)
	hits := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	if cfg.APIKey == "" {
		cfg.APIKey = open311sim.DefaultAPIKey
	}
	if cfg.Retry.MaxAttempts == 0 {
		cfg.Retry = httpretry.Policy{MaxAttempts: 12, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
	}
	cfg.TokenPollInterval = time.Millisecond
	c, err := open311.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim, clock, hits
}

func lightOut(asset string) open311.NewRequest {
	return open311.NewRequest{
		ServiceCode: open311sim.ServiceLightOut, Lat: 41.88, Long: -87.63, HasLocation: true,
		Description: "lampFailure reported by the CMS",
		Attributes:  map[string][]string{open311sim.AttrAssetID: {asset}, open311sim.AttrLampType: {"LED"}},
	}
}

// faulty is the fault mix the simulator tests run under: a third of calls
// fail with a 5xx or a 429, all answered at once.
var faulty = simcity.Faults{Seed: 42, ErrorRate: 0.2, ThrottleRate: 0.15, RetryAfter: 0}

func TestServicesUnderFaults(t *testing.T) {
	t.Parallel()
	c, _, _, _ := simClient(t, open311sim.Options{Seed: 1, Faults: faulty}, open311.Config{})
	ctx := context.Background()
	svcs, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(svcs, func(s open311.Service) bool { return s.Code == open311sim.ServiceKnockdown })
	if len(svcs) < 5 || i < 0 || !svcs[i].Metadata || svcs[i].Type != "realtime" {
		t.Fatalf("services: %+v", svcs)
	}
	def, err := c.ServiceDefinition(ctx, open311sim.ServiceKnockdown)
	if err != nil {
		t.Fatal(err)
	}
	j := slices.IndexFunc(def.Attributes, func(a open311.Attribute) bool { return a.Code == open311sim.AttrHazard })
	if j < 0 || def.Attributes[j].Datatype != "multivaluelist" || len(def.Attributes[j].Values) == 0 {
		t.Errorf("definition: %+v", def)
	}
	if _, err := c.ServiceDefinition(ctx, "NOPE"); !open311.IsNotFound(err) {
		t.Errorf("unknown service: %v", err)
	}
}

func TestCreateAndReadBackUnderThrottling(t *testing.T) {
	t.Parallel()
	// Only 429s: a POST turned away with Retry-After is sent again, and no
	// request is filed twice.
	throttled := simcity.Faults{Seed: 9, ThrottleRate: 0.4}
	c, sim, _, _ := simClient(t, open311sim.Options{Seed: 2, Faults: throttled}, open311.Config{IDsPerCall: 2})
	ctx := context.Background()
	var ids []string
	for _, a := range []string{"SL-1", "SL-2", "SL-3", "SL-4", "SL-5"} {
		r := lightOut(a)
		if a == "SL-5" {
			r.ServiceCode = open311sim.ServiceKnockdown
			r.Attributes[open311sim.AttrHazard] = []string{"wires", "traffic"}
		}
		got, err := c.Create(ctx, r)
		if err != nil || got.ID == "" || got.ServiceNotice == "" {
			t.Fatalf("create %s: %+v %v", a, got, err)
		}
		ids = append(ids, got.ID)
	}
	filed := sim.Requests()
	if len(filed) != 5 {
		t.Fatalf("simulator holds %d requests, want 5 (a throttled POST was filed twice?)", len(filed))
	}
	if hz := filed[4].Attributes[open311sim.AttrHazard]; !slices.Equal(hz, []string{"wires", "traffic"}) {
		t.Errorf("multivalue attribute arrived as %v", hz)
	}
	got, err := c.RequestsByID(ctx, append(ids, "999"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("by id: %d requests", len(got))
	}
	one, err := c.Request(ctx, ids[2])
	if err != nil || one.ID != ids[2] || one.Status != open311.StatusOpen || !one.HasLocation ||
		one.ServiceCode != open311sim.ServiceLightOut || one.Requested.IsZero() || one.Expected.IsZero() {
		t.Errorf("request %s: %+v %v", ids[2], one, err)
	}
}

func TestCreateErrorsAreTyped(t *testing.T) {
	t.Parallel()
	c, _, _, _ := simClient(t, open311sim.Options{Seed: 3}, open311.Config{})
	ctx := context.Background()
	bad := lightOut("SL-1")
	delete(bad.Attributes, open311sim.AttrAssetID)
	_, err := c.Create(ctx, bad)
	var ae *open311.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || len(ae.Errors) != 1 || ae.Errors[0].Code != "400" || !ae.Mentions("ASSET_ID") {
		t.Errorf("missing attribute: %v", err)
	}
	nokey, _, _, _ := simClient(t, open311sim.Options{}, open311.Config{APIKey: "wrong"})
	if _, err := nokey.Create(ctx, lightOut("SL-1")); !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("bad key: %v", err)
	}
}

func TestCreateNeverRepeatsAnAmbiguousPost(t *testing.T) {
	t.Parallel()
	// Every call answers 500: the POST may have been processed, so it is
	// sent exactly once and reported as ErrMaybeCreated.
	c, _, _, hits := simClient(t, open311sim.Options{Faults: simcity.Faults{Seed: 1, ErrorRate: 1}}, open311.Config{})
	_, err := c.Create(context.Background(), lightOut("SL-1"))
	if !errors.Is(err, open311.ErrMaybeCreated) {
		t.Errorf("500 on POST: %v, want ErrMaybeCreated", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
}

func TestCreateRetriesRefusedConnections(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial is refused
	c, err := open311.New(open311.Config{
		BaseURL: "http://" + addr, APIKey: "k",
		Retry: httpretry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), lightOut("SL-1"))
	if err == nil || errors.Is(err, open311.ErrMaybeCreated) {
		t.Errorf("refused connection: %v, want an error that is not ErrMaybeCreated", err)
	}
}

func TestDuplicateAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rej, _, _, _ := simClient(t, open311sim.Options{Duplicates: open311sim.DuplicatesReject}, open311.Config{})
	first, err := rej.Create(ctx, lightOut("SL-1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rej.Create(ctx, lightOut("SL-1"))
	var ae *open311.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !ae.Mentions("duplicate") || !ae.Mentions(first.ID) {
		t.Errorf("reject mode: %v", err)
	}
	if !errors.Is(err, open311.ErrDuplicate) || errors.Is(err, open311.ErrMaybeCreated) {
		t.Errorf("reject mode: %v is not ErrDuplicate (and only that)", err)
	}
	other, err := rej.Create(ctx, lightOut("SL-2"))
	if err != nil || errors.Is(err, open311.ErrDuplicate) || other.ID == "" {
		t.Errorf("a request for another light: %+v %v", other, err)
	}
	ret, _, _, _ := simClient(t, open311sim.Options{Duplicates: open311sim.DuplicatesReturnExisting}, open311.Config{})
	first, _ = ret.Create(ctx, lightOut("SL-1"))
	again, err := ret.Create(ctx, lightOut("SL-1"))
	if err != nil || again.ID != first.ID {
		t.Errorf("return-existing mode: %+v %v, want id %s", again, err, first.ID)
	}
}

func TestBlackboxServiceAnswersNoID(t *testing.T) {
	t.Parallel()
	c, sim, _, _ := simClient(t, open311sim.Options{BlackboxServices: []string{open311sim.ServiceWiring}}, open311.Config{})
	r := lightOut("SL-0000003")
	r.ServiceCode = open311sim.ServiceWiring
	got, err := c.Create(context.Background(), r)
	if err != nil || got.ID != "" || got.Token != "" || got.ServiceNotice == "" {
		t.Errorf("blackbox create: %+v %v", got, err)
	}
	if n := len(sim.Requests()); n != 1 {
		t.Errorf("simulator filed %d requests, want 1", n)
	}
}

func TestCreateHeldByRateLimitIsNotAmbiguous(t *testing.T) {
	t.Parallel()
	// One request an hour: the second Create cannot get a token before its
	// deadline, so it never leaves and says so.
	lim := rate.NewLimiter(rate.Every(time.Hour), 1)
	c, sim, _, hits := simClient(t, open311sim.Options{}, open311.Config{
		Retry: httpretry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Limiter: lim},
	})
	if _, err := c.Create(context.Background(), lightOut("SL-0000001")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Create(ctx, lightOut("SL-0000002"))
	if err == nil || errors.Is(err, open311.ErrMaybeCreated) {
		t.Errorf("rate-limited create: %v, want an error that is not ErrMaybeCreated", err)
	}
	if hits.Load() != 1 || len(sim.Requests()) != 1 {
		t.Errorf("server saw %d calls and holds %d requests, want 1 and 1", hits.Load(), len(sim.Requests()))
	}
}

func TestResourceNamesAreEscapedOnce(t *testing.T) {
	t.Parallel()
	// Service codes, request ids and tokens are the server's own strings;
	// one with a space or a slash must reach the server as itself.
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		_, _ = w.Write([]byte(`[{"service_request_id":"SR 1/2","token":"t+1/2","service_code":"street light"}]`))
	}))
	t.Cleanup(srv.Close)
	c, err := open311.New(open311.Config{BaseURL: srv.URL + "/open311/v2", Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = c.ServiceDefinition(ctx, "street light")
	if _, err := c.Request(ctx, "SR 1/2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(ctx, "t+1/2"); err != nil {
		t.Fatal(err)
	}
	want := []string{"/open311/v2/services/street light.json", "/open311/v2/requests/SR 1/2.json", "/open311/v2/tokens/t+1/2.json"}
	if !slices.Equal(paths, want) {
		t.Errorf("server saw paths %q, want %q", paths, want)
	}
}
