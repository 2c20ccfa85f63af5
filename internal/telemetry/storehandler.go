package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// StoreHandler is the telemetry-store Lambda: Kinesis records in, readings
// in DynamoDB out. Bad records are logged with their reason and skipped (the
// archive quarantines them); records whose write failed are reported as
// batch item failures so Lambda retries from the lowest of them, and a
// failure never takes the good records of its batch with it.
//
// Each batch writes one EMF line (namespace Citylink/Telemetry, dimension
// Function) with the counts RecordsReceived, RecordsProcessed (stored),
// RecordsRejected (bad records), RecordsDuplicate (same key as a later
// record of the batch), RecordsFailed (reported for retry),
// RecordsUnwritable (refused by the table, dropped) and WriteRetries
// (BatchWriteItem calls repeated for UnprocessedItems).
type StoreHandler struct {
	decoder Decoder
	store   *Store
	metrics *Metrics
	logger  *slog.Logger
}

// NewStoreHandler returns a StoreHandler. The event source mapping must
// have FunctionResponseTypes ReportBatchItemFailures.
func NewStoreHandler(d Decoder, s *Store, m *Metrics, logger *slog.Logger) *StoreHandler {
	return &StoreHandler{decoder: d, store: s, metrics: m, logger: logger}
}

// Handle processes one Kinesis batch.
func (h *StoreHandler) Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	ctx, cancel := WithReserve(ctx)
	defer cancel()
	readings := make([]Reading, 0, len(ev.Records))
	seqsByKey := make(map[Key][]string, len(ev.Records))
	rejected := 0
	for _, rec := range ev.Records {
		r, err := h.decoder.Decode(rec.Kinesis.Data)
		if err != nil {
			rejected++
			h.logger.WarnContext(ctx, "rejected record",
				"shard", ShardOf(rec), "sequence_number", rec.Kinesis.SequenceNumber,
				"partition_key", rec.Kinesis.PartitionKey, "reason", RejectReason(err), "error", err)
			continue
		}
		readings = append(readings, r)
		k := r.Key()
		seqsByKey[k] = append(seqsByKey[k], rec.Kinesis.SequenceNumber)
	}

	res, err := h.store.Put(ctx, readings)
	if err != nil {
		return events.KinesisEventResponse{}, err
	}
	var failed []string
	unwritable := 0
	var refused error
	for k, werr := range res.Failed {
		if errors.Is(werr, ErrRejectedByTable) {
			// A retry cannot help: drop it, loudly, rather than block the shard.
			unwritable += len(seqsByKey[k])
			refused = werr
			h.logger.ErrorContext(ctx, "reading dropped: the table refused it",
				"sensor_id", k.SensorID, "ts", k.Millis, "sequence_numbers", seqsByKey[k], "error", werr)
			continue
		}
		failed = append(failed, seqsByKey[k]...)
		h.logger.ErrorContext(ctx, "reading not stored",
			"sensor_id", k.SensorID, "ts", k.Millis, "sequence_numbers", seqsByKey[k], "error", werr)
	}
	if err := h.metrics.Emit(
		Metric{Name: "RecordsReceived", Value: float64(len(ev.Records)), Unit: "Count"},
		Metric{Name: "RecordsProcessed", Value: float64(len(readings) - countSeqs(res.Failed, seqsByKey)), Unit: "Count"},
		Metric{Name: "RecordsRejected", Value: float64(rejected), Unit: "Count"},
		Metric{Name: "RecordsDuplicate", Value: float64(res.Duplicates), Unit: "Count"},
		Metric{Name: "RecordsFailed", Value: float64(len(failed)), Unit: "Count"},
		Metric{Name: "RecordsUnwritable", Value: float64(unwritable), Unit: "Count"},
		Metric{Name: "WriteRetries", Value: float64(res.Retries), Unit: "Count"},
	); err != nil {
		h.logger.WarnContext(ctx, "metrics not written", "error", err)
	}
	if unwritable > 1 && unwritable == len(readings) {
		// Not one reading fits the table: that is the table's fault (a
		// wrong key schema, say), not the data's. Dropping them all would
		// lose the stream quietly, so the whole batch fails and is retried.
		return events.KinesisEventResponse{}, fmt.Errorf("the table refused all %d readings of the batch: %w", unwritable, refused)
	}
	return BatchFailures(failed), nil
}

func countSeqs(failed map[Key]error, seqsByKey map[Key][]string) int {
	n := 0
	for k := range failed {
		n += len(seqsByKey[k])
	}
	return n
}
