package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/citylink/citylink/internal/console"
)

// TestGateSwitchesFaults passes requests to a server until its faults are
// switched on, then answers them with errors, and counts both.
func TestGateSwitchesFaults(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("lamp")) }))
	t.Cleanup(backend.Close)
	g, err := startGate("cms", backend.URL, console.Faults{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	get := func() int {
		resp, err := http.Get(g.URL() + "/api/v1/devices")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("through a quiet gate: %d", code)
	}
	if err := g.SetFaults(console.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if code := get(); code < 500 {
			t.Fatalf("with every request failing: %d", code)
		}
	}
	if err := g.SetFaults(console.Faults{ThrottleRate: 1}); err != nil {
		t.Fatal(err)
	}
	if code := get(); code != http.StatusTooManyRequests {
		t.Fatalf("with every request throttled: %d", code)
	}
	if err := g.SetFaults(console.Faults{ErrorRate: 2}); err == nil || g.Faults().ThrottleRate != 1 {
		t.Fatalf("a rate of 2 was taken: %v, faults %+v", err, g.Faults())
	}
	var req, errs, thr int
	for _, c := range g.counts {
		req, errs, thr = req+c.req, errs+c.errs, thr+c.throttle
	}
	if req != 7 || errs != 5 || thr != 1 {
		t.Fatalf("counted %d requests, %d errors, %d throttled; want 7, 5, 1", req, errs, thr)
	}
}
