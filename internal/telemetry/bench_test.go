package telemetry_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/telemetry"
)

var (
	benchReadings = flag.Int("telemetry.readings", 0, "readings in the pipeline benchmark (default 100,000, or 10,000 with -short)")
	benchSensors  = flag.Int("telemetry.sensors", 1_000, "sensors the end-to-end benchmark readings come from")
)

func benchSize() (readings, sensors int) {
	readings, sensors = *benchReadings, *benchSensors
	switch {
	case readings > 0:
	case testing.Short():
		readings = 10_000
	default:
		// About 80 s on two shared cores: the stand-ins are single node
		// processes, dynalite the slowest.
		readings = 100_000
	}
	return readings, min(sensors, readings)
}

// BenchmarkPipeline measures the stages against the stand-ins: the producer
// putting to a 4-shard kinesalite stream, then the store (dynalite) and the
// archive (gofakes3) each reading the whole stream through the local event
// source mapping in batches of 100, as Lambda's default.
func BenchmarkPipeline(b *testing.B) {
	s := standIns(b)
	readings, sensors := benchSize()
	rs := readingsFor(sensors, readings/sensors, fixedNow.Add(-time.Duration(readings/sensors)*time.Minute))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	put := func(b *testing.B, stream string) {
		p := telemetry.NewProducer(s.Kinesis, telemetry.ProducerConfig{Stream: stream})
		if _, err := p.Put(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}

	var stream string
	b.Run("put", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			stream = newStream(b, s, 4)
			b.StartTimer()
			put(b, stream)
		}
		b.ReportMetric(float64(len(rs)*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	if stream == "" {
		stream = newStream(b, s, 4)
		put(b, stream)
	}

	poll := func(b *testing.B, h telemetry.KinesisHandler) {
		p := telemetry.NewPoller(s.Kinesis, h, telemetry.PollerConfig{Stream: stream, BatchSize: 100}, quiet)
		n, err := p.Poll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n != len(rs) {
			b.Fatalf("handled %d records, want %d", n, len(rs))
		}
	}
	b.Run("store", func(b *testing.B) {
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			table := newTable(b, s)
			h := telemetry.NewStoreHandler(telemetry.Decoder{}, telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: table, TTL: 90 * 24 * time.Hour}),
				telemetry.NewMetrics(io.Discard, "telemetry-store", nil), quiet)
			start := time.Now()
			poll(b, h.Handle)
			elapsed += time.Since(start)
		}
		b.ReportMetric(float64(len(rs)*b.N)/elapsed.Seconds(), "records/s")
	})
	b.Run("archive", func(b *testing.B) {
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			bucket := newBucket(b, s)
			h := telemetry.NewArchiveHandler(telemetry.Decoder{}, s.S3, bucket, telemetry.NewMetrics(io.Discard, "telemetry-archive", nil), quiet)
			start := time.Now()
			poll(b, h.Handle)
			elapsed += time.Since(start)
		}
		b.ReportMetric(float64(len(rs)*b.N)/elapsed.Seconds(), "records/s")
	})
}

// BenchmarkQueryLatency measures the history API's handler (DynamoDB query
// through dynalite, JSON response) for a sensor with a day of minute
// readings, reporting p50 and p99 per request type.
func BenchmarkQueryLatency(b *testing.B) {
	s := standIns(b)
	table := newTable(b, s)
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
