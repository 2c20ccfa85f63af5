package backoff_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/backoff"
)

func TestDelayStaysInItsWindow(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	full := backoff.Policy{Base: 100 * ms, Max: 5 * time.Second}
	equal := backoff.Policy{Base: 100 * ms, Max: time.Second, Jitter: backoff.Equal}
	uncapped := backoff.Policy{Base: ms}
	for _, c := range []struct {
		name     string
		p        backoff.Policy
		attempt  int
		min, max time.Duration
	}{
		{"full first", full, 1, 0, 100 * ms},
		{"full doubles", full, 2, 0, 200 * ms},
		{"full fourth", full, 4, 0, 800 * ms},
		{"full capped", full, 7, 0, 5 * time.Second},
		{"full attempt zero is the first", full, 0, 0, 100 * ms},
		{"full negative attempt is the first", full, -3, 0, 100 * ms},
		{"full shift past 63", full, 64, 0, 5 * time.Second},
		{"full huge attempt", full, math.MaxInt, 0, 5 * time.Second},
		{"equal first", equal, 1, 50 * ms, 100 * ms},
		{"equal third", equal, 3, 200 * ms, 400 * ms},
		{"equal capped", equal, 60, 500 * ms, time.Second},
		{"uncapped grows", uncapped, 11, 0, 1024 * ms},
		{"uncapped overflow saturates", uncapped, 200, 0, math.MaxInt64},
		{"uncapped huge attempt", uncapped, math.MaxInt, 0, math.MaxInt64},
		{"largest base", backoff.Policy{Base: math.MaxInt64}, 2, 0, math.MaxInt64},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			seen := map[time.Duration]bool{}
			for range 500 {
				d := c.p.Delay(c.attempt)
				if d < c.min || d > c.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", c.attempt, d, c.min, c.max)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Fatalf("Delay(%d) has no jitter: %v", c.attempt, seen)
			}
		})
	}
}

func TestDelayReachesTheCeiling(t *testing.T) {
	t.Parallel()
	// A ceiling of 3ns has four possible delays; 1000 draws see them all,
	// so the window is closed at the top and the cap is where it says.
	for _, c := range []struct {
		name    string
		p       backoff.Policy
		attempt int
		want    []time.Duration
	}{
		{"full", backoff.Policy{Base: 3}, 1, []time.Duration{0, 1, 2, 3}},
		{"full capped", backoff.Policy{Base: 1, Max: 3}, 40, []time.Duration{0, 1, 2, 3}},
		{"equal", backoff.Policy{Base: 4, Jitter: backoff.Equal}, 1, []time.Duration{2, 3, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			seen := map[time.Duration]bool{}
			for range 1000 {
				seen[c.p.Delay(c.attempt)] = true
			}
			if len(seen) != len(c.want) {
				t.Fatalf("Delay(%d) drew %v, want exactly %v", c.attempt, seen, c.want)
			}
			for _, d := range c.want {
				if !seen[d] {
					t.Fatalf("Delay(%d) drew %v, never %v", c.attempt, seen, d)
				}
			}
		})
	}
}

func TestZeroBaseNeverWaits(t *testing.T) {
	t.Parallel()
	for _, p := range []backoff.Policy{{}, {Max: time.Hour}, {Base: -time.Second, Max: time.Hour}, {Jitter: backoff.Equal, Max: time.Hour}} {
		for _, attempt := range []int{0, 1, 5, math.MaxInt} {
			if d := p.Delay(attempt); d != 0 {
				t.Errorf("%+v.Delay(%d) = %v, want 0", p, attempt, d)
			}
		}
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	soon, cancelSoon := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelSoon()
	hour := backoff.Policy{Base: time.Hour, Max: time.Hour, Jitter: backoff.Equal}
	for _, c := range []struct {
		name string
		wait func() error
		want error
	}{
		{"sleep elapses", func() error { return backoff.Sleep(context.Background(), time.Millisecond) }, nil},
		{"zero sleep", func() error { return backoff.Sleep(context.Background(), 0) }, nil},
		{"negative sleep", func() error { return backoff.Sleep(context.Background(), -time.Second) }, nil},
		{"sleep on cancelled context", func() error { return backoff.Sleep(cancelled, time.Hour) }, context.Canceled},
		{"zero sleep on cancelled context", func() error { return backoff.Sleep(cancelled, 0) }, context.Canceled},
		{"wait on cancelled context", func() error { return hour.Wait(cancelled, 5) }, context.Canceled},
		{"wait outlived by its context", func() error { return hour.Wait(soon, 1) }, context.DeadlineExceeded},
		{"zero policy waits not", func() error { return backoff.Policy{}.Wait(context.Background(), 3) }, nil},
	} {
		if err := c.wait(); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
