// Package testclock is the one settable clock every test drives time with.
//
// Code under test takes a clock (a func() time.Time, or an interface with
// Now) instead of calling time.Now, so a test can move time on by hand
// rather than sleep: leases expire, alarms age and schedules come due the
// moment the test says so, and the same test gives the same result on a
// loaded machine. It imports nothing of package testing, so a helper
// package outside _test.go files may hand one out too.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock that only moves when told to, safe for concurrent use.
// Its zero value reads the zero time.
type Clock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

// New returns a clock that reads start until it is moved.
func New(start time.Time) *Clock { return &Clock{now: start} }

// NewStepping returns a clock that moves on by step each time it is read,
// for code that measures time passing between its own readings (a client
// that paces itself, a server that stamps each request) where the test has
// no natural point to move the clock by hand. The first reading is
// start+step.
func NewStepping(start time.Time, step time.Duration) *Clock {
	return &Clock{now: start, step: step}
}

// Now reads the clock (and, for a stepping clock, moves it on by its step
// first). It has the shape of time.Now, so clock.Now can be passed where a
// func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
