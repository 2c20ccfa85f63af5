package telemetrydev

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
)

// Fleet simulates streetlight sensors reporting through a device gateway,
// so `citylink dev` has telemetry to chart: each tick, every sensor reports
// its lamp's power draw, on from dusk to dawn (19:00 to 07:00 UTC, the
// simulation's clock) with a per-sensor wattage and a little noise. Values
// are a pure function of sensor and minute, so a run can be repeated.
//
// A minute the fleet did not report (a tick that failed, or ticks that
// came late) is not made up later: it is said, in a warning that names the
// minutes and in Status, so that a gap in the chart is explained.
type Fleet struct {
	Producer *Producer
	Sensors  []string
	// Interval is the time between ticks (default one minute).
	Interval time.Duration
	Logger   *slog.Logger

	mu     sync.Mutex
	status FleetStatus
}

// FleetStatus is what the fleet has done, for the console.
type FleetStatus struct {
	Sensors int `json:"sensors"`
	// Reported counts the minutes reported; Skipped those between them
	// that were not.
	Reported int `json:"minutes_reported"`
	Skipped  int `json:"minutes_skipped"`
	// LastReported is the last minute reported.
	LastReported time.Time `json:"last_reported,omitzero"`
	// LastSkipped describes the latest gap, "from … to … (n minutes)".
	LastSkipped string `json:"last_skipped,omitempty"`
	// LastError is why the latest tick failed, cleared by a success.
	LastError string `json:"last_error,omitempty"`
}

// Status returns what the fleet has done so far.
func (f *Fleet) Status() FleetStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status
	st.Sensors = len(f.Sensors)
	return st
}

// Readings returns the fleet's readings for the minute containing at.
func (f *Fleet) Readings(at time.Time) []telemetry.Reading {
	at = at.UTC().Truncate(time.Minute)
	h := at.Hour()
	lit := h >= 19 || h < 7
	rs := make([]telemetry.Reading, len(f.Sensors))
	for i, id := range f.Sensors {
		watts := 0.0
		if lit {
			base := 40 + float64(hash(id, 0)%80)                        // 40..119 W LED heads
			noise := (float64(hash(id, at.Unix())%1000)/1000 - 0.5) * 2 // ±1 W
			watts = math.Round((base+noise)*10) / 10
		}
		rs[i] = telemetry.Reading{SensorID: id, Time: at, Value: watts, Unit: "W", Metric: "power"}
	}
	return rs
}

// Tick puts one round of readings for the minute containing at, and
// reports the minutes skipped since the last round it put.
func (f *Fleet) Tick(ctx context.Context, at time.Time) error {
	minute := at.UTC().Truncate(time.Minute)
	if _, err := f.Producer.Put(ctx, f.Readings(minute)); err != nil {
		f.mu.Lock()
		f.status.LastError = err.Error()
		f.mu.Unlock()
		return fmt.Errorf("fleet tick for %s: %w", minute.Format(time.RFC3339), err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.status.LastReported
	f.status.LastError = ""
	if !minute.After(last) {
		return nil // this minute, or a later one, is already reported
	}
	if !last.IsZero() {
		if gap := int(minute.Sub(last)/time.Minute) - 1; gap > 0 {
			from, to := last.Add(time.Minute), minute.Add(-time.Minute)
			f.status.Skipped += gap
			f.status.LastSkipped = fmt.Sprintf("from %s to %s (%d minutes)", from.Format(time.RFC3339), to.Format(time.RFC3339), gap)
			if f.Logger != nil {
				f.Logger.WarnContext(ctx, "simulated fleet skipped minutes: no readings for them",
					"from", from, "to", to, "minutes", gap, "sensors", len(f.Sensors))
			}
		}
	}
	f.status.Reported++
	f.status.LastReported = minute
	return nil
}

// Run ticks every Interval until ctx is done. A failed tick is logged and
// the next one tried, as a gateway would.
func (f *Fleet) Run(ctx context.Context) {
	interval := f.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Tick(ctx, time.Now()); err != nil && ctx.Err() == nil && f.Logger != nil {
			f.Logger.WarnContext(ctx, "simulated fleet tick failed: its minute is not reported", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func hash(id string, salt int64) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", id, salt)
	return h.Sum64()
}
