package open311_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/citylink/citylink/internal/citysim/open311sim"

	"github.com/citylink/citylink/internal/open311"
)

// BenchmarkCreate files service requests one after another against the
// simulator over loopback HTTP, as one alarm-311 chain does.
func BenchmarkCreate(b *testing.B) {
	c, _, _, _ := simClient(b, open311sim.Options{Seed: 1}, open311.Config{})
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := c.Create(ctx, lightOut(fmt.Sprintf("SL-%07d", i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkRequestsByID polls the status of 1,000 open requests, 50 ids per
// GET, as the alarm-311 status poll does each run.
func BenchmarkRequestsByID(b *testing.B) {
	c, _, _, _ := simClient(b, open311sim.Options{Seed: 1}, open311.Config{})
	ctx := context.Background()
	ids := make([]string, 0, 1000)
	for i := range 1000 {
		got, err := c.Create(ctx, lightOut(fmt.Sprintf("SL-%07d", i+1)))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, got.ID)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := c.RequestsByID(ctx, ids)
		if err != nil || len(got) != len(ids) {
			b.Fatalf("got %d: %v", len(got), err)
		}
	}
	b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
