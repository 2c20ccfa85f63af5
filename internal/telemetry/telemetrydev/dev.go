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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
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
	// Deadline bounds every request to Handler (default DefaultDeadline):
	// a stand-in that stopped answering costs a caller that long, and the
	// answer says what is unknown.
	Deadline time.Duration
}

// DefaultDeadline is how long a dev telemetry request may take.
const DefaultDeadline = 5 * time.Second

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
	cfg.Deadline = cmp.Or(cfg.Deadline, DefaultDeadline)
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
		telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: cfg.Table, TTL: telemetry.DefaultRetention}),
		telemetry.NewMetrics(cfg.Metrics, "telemetry-store", nil), cfg.Logger.With("function", "telemetry-store"))
	archive := archive.NewHandler(dec, s.S3, cfg.Bucket,
		telemetry.NewMetrics(cfg.Metrics, "telemetry-archive", nil), cfg.Logger.With("function", "telemetry-archive"))

	// The producer retries by itself and must see each attempt to tell
	// readings not put from readings maybe put, so the SDK's retries are off.
	kin := kinesis.New(s.Kinesis.Options(), func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} })
	d := &Dev{Config: cfg, producer: NewProducer(kin, ProducerConfig{Stream: cfg.Stream})}
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for name, h := range map[string]KinesisHandler{"telemetry-store": store.Handle, "telemetry-archive": archive.Handle} {
		p := NewPoller(s.Kinesis, h, PollerConfig{Stream: cfg.Stream}, cfg.Logger.With("poller", name))
		d.wg.Go(func() { d.poll(runCtx, name, p) })
	}

	reader := telemetry.NewReader(s.DynamoDB, cfg.Table)
	api := telemetry.NewAPIHandler(reader, cfg.Logger.With("function", "telemetry-api"))
	page := http.FileServerFS(telemetryweb.FS())
	mux := http.NewServeMux()
	mux.Handle("/sensors/", api)
	mux.Handle("/readings", NewSubmitHandler(dec, d.producer, reader, cfg.Logger))
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			MethodNotAllowed(w, r, http.MethodGet, http.MethodHead)
			return
		}
		page.ServeHTTP(w, r)
	})
	mux.Handle("/{$}", static)
	mux.Handle("/page.js", static)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		telemetry.WriteProblem(w, r, http.StatusNotFound, "no such resource")
	})
	d.handler = WithDeadline(mux, cfg.Deadline)
	return d, nil
}

// WithDeadline gives every request to h a context that ends after d, so
// that a call to a stand-in that stopped answering ends with the request
// and its handler can say what is unknown.
func WithDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
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
