package open311_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
)

func TestWaitTokenResolvesBatchRequest(t *testing.T) {
	t.Parallel()
	// Each simulator call reads the step clock, so simulated time moves on
	// with every poll and the token resolves after a deterministic number.
	c, sim, _, _ := simClient(t, citysim.Open311Options{Seed: 4, TokenDelay: 20 * time.Second, Faults: faulty}, open311.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := lightOut("SL-7")
	r.ServiceCode = citysim.Open311ServiceAreaOutage
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
	if err != nil || req.ServiceCode != citysim.Open311ServiceAreaOutage {
		t.Errorf("resolved request: %+v %v", req, err)
	}
}

func TestRequestsFollowCrewsAndBetweenPages(t *testing.T) {
	t.Parallel()
	// A server that caps answers at 4 requests; 15 requests spread over 200
	// days, so Between must split windows and narrow full pages.
	c, sim, clock, _ := simClient(t, citysim.Open311Options{Seed: 5, MaxResults: 4, Faults: faulty}, open311.Config{})
	ctx := context.Background()
	start := simEpoch
	for i := range 15 {
		if _, err := c.Create(ctx, lightOut("SL-"+string(rune('A'+i)))); err != nil && !errors.Is(err, open311.ErrMaybeCreated) {
			t.Fatal(err)
		}
		clock.Jump(13 * 24 * time.Hour)
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
	hung := citysim.Faults{Seed: 8, HangRate: 0.35}
	c, _, _, _ := simClient(t, citysim.Open311Options{Seed: 6, Faults: hung}, open311.Config{
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
