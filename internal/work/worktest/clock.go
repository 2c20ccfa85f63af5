package worktest

import (
	"time"

	"github.com/citylink/citylink/internal/testclock"
)

// Clock is a work.Clock that stands still until moved, so that tests expire
// leases without sleeping. It is the one settable test clock, testclock.Clock,
// so a harness's clock can drive the simulators too.
type Clock = testclock.Clock

// NewClock returns a Clock showing now.
func NewClock(now time.Time) *Clock { return testclock.New(now) }
