package simcity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func faultStatuses(f Faults, n int) []int {
	h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	out := make([]int, n)
	for i := range out {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		out[i] = rec.Code
	}
	return out
}

func TestFaultsAreDeterministicPerSeed(t *testing.T) {
	t.Parallel()
	f := Faults{Seed: 42, ErrorRate: 0.2, ThrottleRate: 0.1}
	a, b := faultStatuses(f, 2000), faultStatuses(f, 2000)
	counts := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %d then %d for the same seed", i, a[i], b[i])
		}
		counts[a[i]]++
	}
	if got := counts[500] + counts[503]; got < 300 || got > 500 {
		t.Errorf("%d server errors in 2000 at rate 0.2", got)
	}
	if got := counts[429]; got < 130 || got > 270 {
		t.Errorf("%d throttles in 2000 at rate 0.1", got)
	}
	other := faultStatuses(Faults{Seed: 43, ErrorRate: 0.2, ThrottleRate: 0.1}, 2000)
	same := 0
	for i := range a {
		if a[i] == other[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
}

func TestThrottleCarriesRetryAfter(t *testing.T) {
	t.Parallel()
	h := Faults{ThrottleRate: 1, RetryAfter: 3 * time.Second}.Wrap(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3" {
		t.Fatalf("got %d with Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestHangEndsWithTheClient(t *testing.T) {
	t.Parallel()
	reached := false
	h := Faults{HangRate: 1}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		close(done)
	}()
	cancel()
	<-done
	if reached {
		t.Fatal("a hung request reached the handler")
	}
}

func TestZeroFaultsPassThrough(t *testing.T) {
	t.Parallel()
	for _, code := range faultStatuses(Faults{}, 100) {
		if code != 200 {
			t.Fatalf("zero Faults answered %d", code)
		}
	}
}
