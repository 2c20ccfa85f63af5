package telemetrydev_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/archive"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
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
	s := telemetrytest.StandIns(b)
	readings, sensors := benchSize()
	rs := telemetrytest.Readings(sensors, readings/sensors, telemetrytest.FixedNow.Add(-time.Duration(readings/sensors)*time.Minute))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	put := func(b *testing.B, stream string) {
		p := telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: stream})
		if _, err := p.Put(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}

	var stream string
	b.Run("put", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			stream = telemetrytest.NewStream(b, s, 4)
			b.StartTimer()
			put(b, stream)
		}
		b.ReportMetric(float64(len(rs)*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	if stream == "" {
		stream = telemetrytest.NewStream(b, s, 4)
		put(b, stream)
	}

	poll := func(b *testing.B, h telemetrydev.KinesisHandler) {
		p := telemetrydev.NewPoller(s.Kinesis, h, telemetrydev.PollerConfig{Stream: stream, BatchSize: 100}, quiet)
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
			table := telemetrytest.NewTable(b, s)
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
			bucket := telemetrytest.NewBucket(b, s)
			h := archive.NewHandler(telemetry.Decoder{}, s.S3, bucket, telemetry.NewMetrics(io.Discard, "telemetry-archive", nil), quiet)
			start := time.Now()
			poll(b, h.Handle)
			elapsed += time.Since(start)
		}
		b.ReportMetric(float64(len(rs)*b.N)/elapsed.Seconds(), "records/s")
	})
}
