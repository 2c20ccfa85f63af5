package telemetrydev

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
)

// Fleet simulates streetlight sensors reporting through a device gateway,
// so `citylink dev` has telemetry to chart: each tick, every sensor reports
// its lamp's power draw, on from dusk to dawn (19:00 to 07:00 UTC, the
// simulation's clock) with a per-sensor wattage and a little noise. Values
// are a pure function of sensor and minute, so a run can be repeated.
type Fleet struct {
	Producer *Producer
	Sensors  []string
	// Interval is the time between ticks (default one minute).
	Interval time.Duration
	Logger   *slog.Logger
}

// Readings returns the fleet's readings for the minute containing at.
func (f Fleet) Readings(at time.Time) []telemetry.Reading {
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

// Tick puts one round of readings for the minute containing at.
func (f Fleet) Tick(ctx context.Context, at time.Time) error {
	if _, err := f.Producer.Put(ctx, f.Readings(at)); err != nil {
		return fmt.Errorf("fleet tick: %w", err)
	}
	return nil
}

// Run ticks every Interval until ctx is done. A failed tick is logged and
// the next one tried, as a gateway would.
func (f Fleet) Run(ctx context.Context) {
	interval := f.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Tick(ctx, time.Now()); err != nil && ctx.Err() == nil && f.Logger != nil {
			f.Logger.WarnContext(ctx, "fleet tick failed", "error", err)
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
