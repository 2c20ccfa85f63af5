package telemetrydev_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestFleetReadingsFollowDayAndNight(t *testing.T) {
	t.Parallel()
	f := &telemetrydev.Fleet{Sensors: []string{"SL-1", "SL-2", "SL-3"}}
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
	f := &telemetrydev.Fleet{Producer: d.Producer(), Sensors: []string{"SL-1", "SL-2"}}
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

// TestFleetSaysWhichMinutesItSkipped: a minute not reported (a failed tick,
// or ticks that came late) is named in a warning and counted in Status.
func TestFleetSaysWhichMinutesItSkipped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := telemetrytest.StandIns(t)
	var logs telemetrytest.SyncBuffer
	f := &telemetrydev.Fleet{
		Producer: telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: telemetrytest.NewStream(t, s, 1)}),
		Sensors:  []string{"SL-1"}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	at := time.Date(2026, 11, 23, 3, 5, 0, 0, time.UTC)
	for _, m := range []int{0, 1, 1, 4} { // minutes 2 and 3 never come
		if err := f.Tick(ctx, at.Add(time.Duration(m)*time.Minute+10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	st := f.Status()
	if st.Reported != 3 || st.Skipped != 2 || !st.LastReported.Equal(at.Add(4*time.Minute)) ||
		!strings.Contains(st.LastSkipped, "03:07:00Z to 2026-11-23T03:08:00Z (2 minutes)") {
		t.Fatalf("status = %+v, want 3 reported and 03:07-03:08 skipped", st)
	}
	if !strings.Contains(logs.String(), "skipped minutes") || !strings.Contains(logs.String(), "minutes=2") {
		t.Fatalf("log = %s, want a warning naming the skipped minutes", logs.String())
	}

	broken := &telemetrydev.Fleet{
		Producer: telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: "no-such-stream", MaxAttempts: 1}),
		Sensors:  []string{"SL-1"},
	}
	if err := broken.Tick(ctx, at); err == nil || broken.Status().LastError == "" {
		t.Fatalf("a failed tick = %v, status %+v; want the error said", err, broken.Status())
	}
}
