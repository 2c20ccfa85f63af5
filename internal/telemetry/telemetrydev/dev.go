// Package telemetrydev runs the telemetry half on one machine for `citylink
// dev`: on the AWS stand-ins it creates the stream, table and bucket, runs
// the store and archive handlers behind local event source mappings, and
// serves the history API, a submit endpoint and the test page over HTTP.
package telemetrydev

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/archive"
	telemetryweb "github.com/citylink/citylink/web/telemetry"
)

// Config names the resources Start creates. Zero fields take the defaults.
type Config struct {
	Stream string // default "citylink-telemetry"
	Shards int32  // default 2
	Table  string // default "SensorData"
	Bucket string // default "citylink-telemetry-archive"
	// Metrics receives the handlers' EMF lines (default discarded).
	Metrics io.Writer
	// Logger receives the handlers' and pollers' logs.
	Logger *slog.Logger
}

// Dev is a running local telemetry pipeline.
type Dev struct {
	Config
	producer *Producer
	handler  http.Handler
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Start creates the stream, table and bucket on the stand-ins in s and
// starts polling the stream into the store and the archive until Close.
func Start(ctx context.Context, s *localaws.Stack, cfg Config) (*Dev, error) {
	cfg.Stream = cmp.Or(cfg.Stream, "citylink-telemetry")
	cfg.Shards = cmp.Or(cfg.Shards, 2)
	cfg.Table = cmp.Or(cfg.Table, "SensorData")
	cfg.Bucket = cmp.Or(cfg.Bucket, "citylink-telemetry-archive")
	if cfg.Metrics == nil {
		cfg.Metrics = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := localaws.CreateStream(ctx, s.Kinesis, cfg.Stream, cfg.Shards); err != nil {
		return nil, err
	}
	if err := CreateTable(ctx, s.DynamoDB, cfg.Table); err != nil {
		return nil, err
	}
	if err := localaws.CreateBucket(ctx, s.S3, cfg.Bucket); err != nil {
		return nil, err
	}

	var dec telemetry.Decoder
	store := telemetry.NewStoreHandler(dec,
		telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: cfg.Table, TTL: 90 * 24 * time.Hour}),
		telemetry.NewMetrics(cfg.Metrics, "telemetry-store", nil), cfg.Logger.With("function", "telemetry-store"))
	archive := archive.NewHandler(dec, s.S3, cfg.Bucket,
		telemetry.NewMetrics(cfg.Metrics, "telemetry-archive", nil), cfg.Logger.With("function", "telemetry-archive"))

	d := &Dev{Config: cfg, producer: NewProducer(s.Kinesis, ProducerConfig{Stream: cfg.Stream})}
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for name, h := range map[string]KinesisHandler{"telemetry-store": store.Handle, "telemetry-archive": archive.Handle} {
		p := NewPoller(s.Kinesis, h, PollerConfig{Stream: cfg.Stream}, cfg.Logger.With("poller", name))
		d.wg.Go(func() { d.poll(runCtx, name, p) })
	}

	api := telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, cfg.Table), cfg.Logger.With("function", "telemetry-api"))
	mux := http.NewServeMux()
	mux.Handle("GET /sensors/", api)
	mux.Handle("/readings", NewSubmitHandler(dec, d.producer, cfg.Logger))
	mux.Handle("GET /{$}", http.FileServerFS(telemetryweb.FS()))
	d.handler = mux
	return d, nil
}

// poll runs p until ctx is done, starting it again after a pause if
// Kinesis fails, as Lambda's mapping keeps going.
func (d *Dev) poll(ctx context.Context, name string, p *Poller) {
	for {
		err := p.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		d.Logger.Error("poller stopped; restarting", "poller", name, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Handler serves, relative to where it is mounted: GET / the test page,
// POST /readings readings to the stream, GET /sensors/{id}/readings and
// /sensors/{id}/latest the history API.
func (d *Dev) Handler() http.Handler { return d.handler }

// Producer returns the producer that writes to the dev stream, for
// simulated devices.
func (d *Dev) Producer() *Producer { return d.producer }

// Close stops the pollers and waits for them.
func (d *Dev) Close() {
	d.cancel()
	d.wg.Wait()
}
