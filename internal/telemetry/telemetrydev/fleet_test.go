package telemetrydev_test

import (
	"context"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
)

func TestFleetReadingsFollowDayAndNight(t *testing.T) {
	t.Parallel()
	f := telemetrydev.Fleet{Sensors: []string{"SL-1", "SL-2", "SL-3"}}
	night := f.Readings(time.Date(2026, 11, 23, 23, 30, 10, 0, time.UTC))
	noon := f.Readings(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	for i := range f.Sensors {
		n, d := night[i], noon[i]
		if n.SensorID != f.Sensors[i] || n.Unit != "W" || n.Metric != "power" || n.Time.Second() != 0 {
			t.Errorf("night reading = %+v", n)
		}
		if n.Value < 39 || n.Value > 120 {
			t.Errorf("%s at night draws %v W, want 40..119 ± 1", n.SensorID, n.Value)
		}
		if d.Value != 0 {
			t.Errorf("%s at noon draws %v W, want 0", d.SensorID, d.Value)
		}
	}
	if again := f.Readings(time.Date(2026, 11, 23, 23, 30, 50, 0, time.UTC)); again[0] != night[0] {
		t.Errorf("same minute gave %+v then %+v; want repeatable values", night[0], again[0])
	}
}

func TestFleetTickReachesTheAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := awstest.New(t)
	d, err := telemetrydev.Start(ctx, s, telemetrydev.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	f := telemetrydev.Fleet{Producer: d.Producer(), Sensors: []string{"SL-1", "SL-2"}}
	at := time.Now().UTC().Add(-2 * time.Minute)
	if err := f.Tick(ctx, at); err != nil {
		t.Fatal(err)
	}
	reader := telemetry.NewReader(s.DynamoDB, d.Table)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := reader.Latest(ctx, "SL-2")
		if err == nil {
			if !r.Time.Equal(at.Truncate(time.Minute)) || r.Value != f.Readings(at)[1].Value {
				t.Fatalf("latest = %+v, want the tick's reading", r)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading not stored within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
