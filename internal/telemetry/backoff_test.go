package telemetry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
)

func TestBackoffDelayStaysInItsWindow(t *testing.T) {
	t.Parallel()
	b := telemetry.Backoff{Base: 10 * time.Millisecond, Max: 300 * time.Millisecond}
	for n := range 40 {
		ceil := min(10*time.Millisecond<<min(n, 30), 300*time.Millisecond)
		for range 50 {
			if d := b.Delay(n); d < 0 || d >= ceil {
				t.Fatalf("Delay(%d) = %v, want in [0, %v)", n, d, ceil)
			}
		}
	}
	if d := (telemetry.Backoff{}).Delay(3); d != 0 {
		t.Errorf("zero Backoff Delay = %v, want 0", d)
	}
	if d := (telemetry.Backoff{Base: time.Millisecond}).Delay(100); d < 0 || d >= time.Millisecond<<30 {
		t.Errorf("uncapped Delay(100) = %v", d)
	}
}

func TestBackoffWaitStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := telemetry.Backoff{Base: time.Hour, Max: time.Hour}.Wait(ctx, 5)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context = %v, want context.Canceled", err)
	}
}
