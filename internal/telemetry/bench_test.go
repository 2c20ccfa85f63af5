package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

// BenchmarkQueryLatency measures the history API's handler (DynamoDB query
// through dynalite, JSON response) for a sensor with a day of minute
// readings, reporting p50 and p99 per request type.
func BenchmarkQueryLatency(b *testing.B) {
	s := telemetrytest.StandIns(b)
	table := telemetrytest.NewTable(b, s)
	seedDay(b, s, table, "SL-000001")
	h := telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, table), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, bc := range []struct{ name, path, query string }{
		{"latest", "/sensors/SL-000001/latest", ""},
		{"newest-100", "/sensors/SL-000001/readings", "limit=100"},
		{"hour-asc", "/sensors/SL-000001/readings", "order=asc&from=2026-11-22T12:00:00Z&to=2026-11-22T13:00:00Z"},
		{"day-1000", "/sensors/SL-000001/readings", "limit=1000"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := events.APIGatewayV2HTTPRequest{
				Version: "2.0", RawPath: bc.path, RawQueryString: bc.query,
				PathParameters: map[string]string{"id": "SL-000001"},
			}
			req.RequestContext.HTTP.Method = "GET"
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				resp, err := h.Handle(context.Background(), req)
				lat = append(lat, time.Since(start))
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("%d %v: %s", resp.StatusCode, err, resp.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)*50/100]), "p50-ms")
			b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
