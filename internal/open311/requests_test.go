package open311_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
)

func TestWaitTokenResolvesBatchRequest(t *testing.T) {
	t.Parallel()
	// Each simulator call reads the step clock, so simulated time moves on
	// with every poll and the token resolves after a deterministic number.
	c, sim, _, _ := simClient(t, open311sim.Options{Seed: 4, TokenDelay: 20 * time.Second, Faults: faulty}, open311.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := lightOut("SL-7")
	r.ServiceCode = open311sim.ServiceAreaOutage
	var got open311.Created
	var err error
	for { // under 500s a POST may be ambiguous; this test wants a token
		if got, err = c.Create(ctx, r); !errors.Is(err, open311.ErrMaybeCreated) || len(sim.Requests()) > 0 {
			break
		}
	}
	if err != nil || got.Token == "" || got.ID != "" {
		t.Fatalf("batch create: %+v %v", got, err)
	}
	id, err := c.WaitToken(ctx, got.Token)
	if err != nil || id == "" {
		t.Fatalf("wait token: %q %v", id, err)
	}
	req, err := c.Request(ctx, id)
	if err != nil || req.ServiceCode != open311sim.ServiceAreaOutage {
		t.Errorf("resolved request: %+v %v", req, err)
	}
}

func TestRequestsFollowCrewsAndBetweenPages(t *testing.T) {
	t.Parallel()
	// A server that caps answers at 4 requests; 15 requests spread over 200
	// days, so Between must split windows and narrow full pages.
	c, sim, clock, _ := simClient(t, open311sim.Options{Seed: 5, MaxResults: 4, Faults: faulty}, open311.Config{})
	ctx := context.Background()
	start := simEpoch
	for i := range 15 {
		if _, err := c.Create(ctx, lightOut("SL-"+string(rune('A'+i)))); err != nil && !errors.Is(err, open311.ErrMaybeCreated) {
			t.Fatal(err)
		}
		clock.Advance(13 * 24 * time.Hour)
	}
	end := clock.Now()
	all, err := c.Between(ctx, open311.Query{}, start, end, 4)
	if err != nil {
		t.Fatal(err)
	}
	recent, err := c.Requests(ctx, open311.Query{Statuses: []string{open311.StatusClosed}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) == 0 || len(recent) > 4 {
		t.Errorf("recent closed requests: %d, want 1..4 (server cap)", len(recent))
	}
	ids := make(map[string]bool)
	for _, r := range all {
		ids[r.ID] = true
		if r.Closed() && (r.StatusNotes == "" || !r.Updated.After(r.Requested)) {
			t.Errorf("closed request without notes or update: %+v", r)
		}
	}
	// POSTs answered 500 were never filed (the fault answers before the
	// simulator sees them), so count what the server holds.
	want := len(sim.Requests())
	if len(all) != want || len(ids) != want || want <= 4 {
		t.Errorf("Between returned %d requests (%d distinct), server holds %d", len(all), len(ids), want)
	}
}

func TestReadsSurviveHungRequests(t *testing.T) {
	t.Parallel()
	// A third of calls hang until the client gives up on them; the
	// per-attempt timeout abandons those and the retry gets an answer.
	hung := simcity.Faults{Seed: 8, HangRate: 0.35}
	c, _, _, _ := simClient(t, open311sim.Options{Seed: 6, Faults: hung}, open311.Config{
		Retry: httpretry.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, AttemptTimeout: 300 * time.Millisecond},
	})
	ctx := context.Background()
	for range 5 {
		if _, err := c.Services(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Request(ctx, "26000001"); !open311.IsNotFound(err) {
		t.Errorf("unknown id under hangs: %v", err)
	}
}

// cappedServer answers GET requests.json the way some GeoReport v2 servers
// do: the spec fixes no order, and this one lists the oldest requests of
// the window first and stops at limit, however many more the window holds.
func cappedServer(t *testing.T, n, limit int, start time.Time) *httptest.Server {
	srv, _ := countedCappedServer(t, n, limit, start)
	return srv
}

// countedCappedServer is cappedServer counting the GETs it answers.
func countedCappedServer(t *testing.T, n, limit int, start time.Time) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	calls := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		from, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("start_date"))
		to, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("end_date"))
		if err1 != nil || err2 != nil || to.Sub(from) > open311.MaxWindow {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`[{"code":400,"description":"start_date and end_date are required and may not span more than 90 days"}]`))
			return
		}
		list := []map[string]any{}
		for i := range n { // oldest first
			at := start.Add(time.Duration(i) * 7 * time.Hour)
			if at.Before(from) || at.After(to) || len(list) == limit {
				continue
			}
			list = append(list, map[string]any{
				"service_request_id": 900000 + i, "status": "open", "service_code": "STLT",
				"requested_datetime": at.Format(time.RFC3339), "updated_datetime": at.Format(time.RFC3339),
			})
		}
		_ = json.NewEncoder(w).Encode(list)
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

func TestBetweenReadsEverythingWhateverTheServersOrderAndCap(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 700 // 7 hours apart: about 204 days
	end := start.Add(n * 7 * time.Hour)
	for _, tc := range []struct {
		name        string
		serverLimit int
		limitPassed int
	}{
		{"oldest first, limit known", 50, 50},
		{"oldest first, cap below the limit passed", 50, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := cappedServer(t, n, tc.serverLimit, start)
			c, err := open311.New(open311.Config{BaseURL: srv.URL, Transport: srv.Client().Transport})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Between(context.Background(), open311.Query{}, start, end, tc.limitPassed)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, r := range got {
				ids[r.ID] = true
			}
			if len(got) != n || len(ids) != n {
				t.Errorf("Between read %d requests (%d distinct), the server holds %d", len(got), len(ids), n)
			}
		})
	}
}

func TestBetweenStopsOnAServerThatIgnoresDates(t *testing.T) {
	t.Parallel()
	// A server that ignores start_date and end_date and gives no
	// requested_datetime answers every window with the same full page;
	// halving the window can never help, so Between must not keep trying.
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`[{"service_request_id":1,"status":"open"},{"service_request_id":2,"status":"open"}]`))
	}))
	t.Cleanup(srv.Close)
	c, err := open311.New(open311.Config{BaseURL: srv.URL, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := c.Between(context.Background(), open311.Query{}, start, start.Add(30*24*time.Hour), 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("Between: %d requests, %v", len(got), err)
	}
	if n := calls.Load(); n > 5 {
		t.Errorf("Between asked %d times", n)
	}
}

func TestBetweenWindowsStayWithin90DaysWithFractionalEnd(t *testing.T) {
	t.Parallel()
	// Clocks have fractions of a second; dates travel in whole seconds. A
	// window of exactly 90 days that starts or ends inside a second must
	// not become 90 days and a second once rounded outwards: the server
	// refuses it with 400.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 700
	srv := cappedServer(t, n, 1000, start)
	c, err := open311.New(open311.Config{BaseURL: srv.URL, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	for _, span := range []struct{ from, to time.Time }{
		{start, start.Add(n*7*time.Hour + 250*time.Millisecond)},
		{start.Add(-300 * time.Millisecond), start.Add(n*7*time.Hour + 250*time.Millisecond)},
		{start.Add(-300 * time.Millisecond), start.Add(open311.MaxWindow - 300*time.Millisecond)},
	} {
		got, err := c.Between(context.Background(), open311.Query{}, span.from, span.to, 0)
		if err != nil {
			t.Fatalf("Between(%v, %v): %v", span.from, span.to, err)
		}
		if len(got) == 0 {
			t.Errorf("Between(%v, %v) read nothing", span.from, span.to)
		}
	}
}

func TestBetweenRequestCount(t *testing.T) {
	t.Parallel()
	// Three requests in one window, a server that caps nothing: a small
	// answer must not be taken for a full one and the window halved down
	// to single seconds. One GET, and at most one split to test whether
	// the server caps at the size it answered, is enough.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv, calls := countedCappedServer(t, 3, 1000, start)
	c, err := open311.New(open311.Config{BaseURL: srv.URL, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Between(context.Background(), open311.Query{}, start, start.Add(60*24*time.Hour), 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("Between: %d requests, %v", len(got), err)
	}
	if n := calls.Load(); n > 3 {
		t.Errorf("Between sent %d GETs to read 3 requests, want at most 3", n)
	}
}
