package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/testclock"
)

var start = time.Date(2026, 4, 6, 9, 0, 0, 0, time.UTC)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	c := testclock.New(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("a second reading moved the clock: %v", got)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: %v, want %v", got, want)
	}
	back := start.Add(-time.Hour)
	c.Set(back)
	if got := c.Now(); !got.Equal(back) {
		t.Fatalf("after Set: %v, want %v", got, back)
	}
}

func TestSteppingClockMovesOnEachReading(t *testing.T) {
	c := testclock.NewStepping(start, time.Second)
	for i := 1; i <= 3; i++ {
		if got, want := c.Now(), start.Add(time.Duration(i)*time.Second); !got.Equal(want) {
			t.Fatalf("reading %d: %v, want %v", i, got, want)
		}
	}
	c.Advance(time.Minute)
	if got, want := c.Now(), start.Add(time.Minute+4*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: %v, want %v", got, want)
	}
}

func TestClockIsSafeForConcurrentUse(t *testing.T) {
	c := testclock.NewStepping(start, time.Millisecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Now()
				c.Advance(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(1601*time.Millisecond); !got.Equal(want) {
		t.Fatalf("after 800 readings and 800 advances of 1ms: %v, want %v", got, want)
	}
}
