// Package archive is the telemetry-archive Lambda: each Kinesis batch of
// readings becomes gzip'd NDJSON objects in S3. It lives apart from package
// telemetry so that the Lambdas that do not archive (the store, the query
// API) do not link the S3 client.
package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/telemetry"
)

// objectPutter is the one S3 call the archive makes.
type objectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Archive key prefixes: readings for good records, quarantine for records
// Decode rejected, each line with its reason.
const (
	ReadingsPrefix   = "readings"
	QuarantinePrefix = "quarantine"
)

// Handler is the telemetry-archive Lambda: each Kinesis batch becomes
// one gzip'd NDJSON object of readings and, if any record was bad, one of
// quarantined records. Keys come from the batch's first arrival time, shard
// and first and last sequence numbers, so a retried batch overwrites its
// object instead of writing a second one.
type Handler struct {
	decoder telemetry.Decoder
	s3      objectPutter
	bucket  string
	metrics *telemetry.Metrics
	logger  *slog.Logger
	now     func() time.Time
}

// NewHandler returns a Handler writing to bucket through
// client, a *s3.Client.
func NewHandler(d telemetry.Decoder, client objectPutter, bucket string, m *telemetry.Metrics, logger *slog.Logger) *Handler {
	return &Handler{decoder: d, s3: client, bucket: bucket, metrics: m, logger: logger, now: time.Now}
}

// archivedReading is one line of a readings object: the reading in
// citylink's JSON plus sequence_number and arrival, so readers can drop the
// duplicates a redelivered batch may leave across objects.
type archivedReading struct {
	telemetry.ReadingJSON
	SequenceNumber string `json:"sequence_number"`
	Arrival        string `json:"arrival"`
}

// QuarantinedRecord is one line of a quarantine object: the record's raw
// data (base64, as it may not be text) and why it was rejected.
type QuarantinedRecord struct {
	SequenceNumber string           `json:"sequence_number"`
	PartitionKey   string           `json:"partition_key"`
	Arrival        string           `json:"arrival"`
	Reason         telemetry.Reason `json:"reason"`
	Detail         string           `json:"detail"`
	Data           []byte           `json:"data"`
}

// Key returns the object key of a batch: prefix/dt=YYYY-MM-DD/hour=HH/
// shard=<id>/<firstSeq>-<lastSeq>.ndjson.gz, dated by arrival in UTC.
func Key(prefix string, arrival time.Time, shard, firstSeq, lastSeq string) string {
	a := arrival.UTC()
	return fmt.Sprintf("%s/dt=%s/hour=%02d/shard=%s/%s-%s.ndjson.gz",
		prefix, a.Format("2006-01-02"), a.Hour(), shard, firstSeq, lastSeq)
}

// Handle archives one Kinesis batch. If an object cannot be written, the
// whole batch is reported failed from its first record, and the retry
// writes the same keys.
func (h *Handler) Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	ctx, cancel := telemetry.WithReserve(ctx)
	defer cancel()
	if len(ev.Records) == 0 {
		return telemetry.BatchFailures(nil), nil
	}
	first, last := ev.Records[0], ev.Records[0]
	for _, rec := range ev.Records[1:] {
		if telemetry.SeqLess(rec.Kinesis.SequenceNumber, first.Kinesis.SequenceNumber) {
			first = rec
		}
		if telemetry.SeqLess(last.Kinesis.SequenceNumber, rec.Kinesis.SequenceNumber) {
			last = rec
		}
	}
	arrival := first.Kinesis.ApproximateArrivalTimestamp.UTC()
	if arrival.IsZero() || arrival.Unix() <= 0 {
		arrival = h.now().UTC()
	}
	shard := telemetry.ShardOf(first)

	var good, bad ndjsonGzip
	for _, rec := range ev.Records {
		at := rec.Kinesis.ApproximateArrivalTimestamp.UTC().Format(telemetry.TimeLayout)
		r, err := h.decoder.Decode(rec.Kinesis.Data)
		if err != nil {
			q := QuarantinedRecord{
				SequenceNumber: rec.Kinesis.SequenceNumber, PartitionKey: rec.Kinesis.PartitionKey,
				Arrival: at, Reason: telemetry.RejectReason(err), Detail: err.Error(), Data: rec.Kinesis.Data,
			}
			if rej, ok := err.(*telemetry.RejectError); ok {
				q.Detail = rej.Detail
			}
			if err := bad.add(q); err != nil {
				return events.KinesisEventResponse{}, err
			}
			continue
		}
		if err := good.add(archivedReading{ReadingJSON: r.JSON(), SequenceNumber: rec.Kinesis.SequenceNumber, Arrival: at}); err != nil {
			return events.KinesisEventResponse{}, err
		}
	}

	for _, obj := range []struct {
		prefix string
		body   *ndjsonGzip
	}{{ReadingsPrefix, &good}, {QuarantinePrefix, &bad}} {
		if obj.body.n == 0 {
			continue
		}
		key := Key(obj.prefix, arrival, shard, first.Kinesis.SequenceNumber, last.Kinesis.SequenceNumber)
		if err := h.put(ctx, key, obj.body); err != nil {
			h.logger.ErrorContext(ctx, "archive object not written", "bucket", h.bucket, "key", key, "error", err)
			return telemetry.BatchFailures([]string{first.Kinesis.SequenceNumber}), nil
		}
	}
	if err := h.metrics.Emit(
		telemetry.Metric{Name: "RecordsArchived", Value: float64(good.n), Unit: "Count"},
		telemetry.Metric{Name: "RecordsQuarantined", Value: float64(bad.n), Unit: "Count"},
	); err != nil {
		h.logger.WarnContext(ctx, "metrics not written", "error", err)
	}
	if bad.n > 0 {
		h.logger.WarnContext(ctx, "records quarantined", "shard", shard, "count", bad.n,
			"key", Key(QuarantinePrefix, arrival, shard, first.Kinesis.SequenceNumber, last.Kinesis.SequenceNumber))
	}
	return telemetry.BatchFailures(nil), nil
}

func (h *Handler) put(ctx context.Context, key string, body *ndjsonGzip) error {
	b, err := body.bytes()
	if err != nil {
		return err
	}
	_, err = h.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:          aws.String(h.bucket),
		Key:             aws.String(key),
		Body:            bytes.NewReader(b),
		ContentLength:   aws.Int64(int64(len(b))),
		ContentType:     aws.String("application/x-ndjson"),
		ContentEncoding: aws.String("gzip"),
	})
	if err != nil {
		return fmt.Errorf("putting %s: %w", key, err)
	}
	return nil
}

// ndjsonGzip builds a gzip'd NDJSON body one value at a time.
type ndjsonGzip struct {
	buf bytes.Buffer
	zw  *gzip.Writer
	enc *json.Encoder
	n   int
}

func (g *ndjsonGzip) add(v any) error {
	if g.zw == nil {
		g.zw = gzip.NewWriter(&g.buf)
		g.enc = json.NewEncoder(g.zw)
		g.enc.SetEscapeHTML(false)
	}
	if err := g.enc.Encode(v); err != nil {
		return fmt.Errorf("encoding archive line: %w", err)
	}
	g.n++
	return nil
}

func (g *ndjsonGzip) bytes() ([]byte, error) {
	if err := g.zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing archive: %w", err)
	}
	return g.buf.Bytes(), nil
}
