package simcity

import (
	"cmp"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults describes the trouble a simulator makes on purpose: added latency,
// server errors, throttling with Retry-After, and requests that hang until the
// client gives up. The same seed gives the same sequence of decisions, so a
// test that sends its requests in order sees the same faults every run. The
// zero value injects nothing.
type Faults struct {
	Seed uint64
	// Latency is added to every request, plus a uniform share of Jitter.
	Latency, Jitter time.Duration
	// ErrorRate is the share of requests answered 500 or 503.
	ErrorRate float64
	// ThrottleRate is the share answered 429 with a Retry-After header.
	ThrottleRate float64
	// RetryAfter is the delay the 429s ask for, rounded down to whole
	// seconds as the header carries them; 0 is a valid value.
	RetryAfter time.Duration
	// HangRate is the share of requests that never answer: they hang until
	// the client's request context ends.
	HangRate float64
}

// Active reports whether f injects anything at all.
func (f Faults) Active() bool {
	return f.Latency > 0 || f.Jitter > 0 || f.ErrorRate > 0 || f.ThrottleRate > 0 || f.HangRate > 0
}

// Wrap returns next behind the faults. Each call to Wrap starts its own
// decision sequence from the seed.
func (f Faults) Wrap(next http.Handler) http.Handler {
	if !f.Active() {
		return next
	}
	inj := &faultInjector{f: f, next: next, rng: rand.New(rand.NewPCG(f.Seed, cmp.Or(f.Seed, 1)^0x9e3779b97f4a7c15))}
	return inj
}

type faultInjector struct {
	f    Faults
	next http.Handler
	mu   sync.Mutex
	rng  *rand.Rand
}

type faultKind int

const (
	faultNone faultKind = iota
	faultHang
	faultThrottle
	faultError
)

// decide draws one request's fate: its extra latency, what goes wrong, and
// which 5xx it gets.
func (fi *faultInjector) decide() (time.Duration, faultKind, int) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	delay := fi.f.Latency
	if fi.f.Jitter > 0 {
		delay += time.Duration(fi.rng.Int64N(int64(fi.f.Jitter) + 1))
	}
	p := fi.rng.Float64()
	status := http.StatusServiceUnavailable
	if fi.rng.IntN(2) == 0 {
		status = http.StatusInternalServerError
	}
	switch {
	case p < fi.f.HangRate:
		return delay, faultHang, 0
	case p < fi.f.HangRate+fi.f.ThrottleRate:
		return delay, faultThrottle, 0
	case p < fi.f.HangRate+fi.f.ThrottleRate+fi.f.ErrorRate:
		return delay, faultError, status
	}
	return delay, faultNone, 0
}

func (fi *faultInjector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	delay, kind, status := fi.decide()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch kind {
	case faultHang:
		<-r.Context().Done()
	case faultThrottle:
		w.Header().Set("Retry-After", strconv.Itoa(int(fi.f.RetryAfter/time.Second)))
		http.Error(w, "slow down: simulated throttling", http.StatusTooManyRequests)
	case faultError:
		http.Error(w, "simulated server error", status)
	default:
		fi.next.ServeHTTP(w, r)
	}
}
