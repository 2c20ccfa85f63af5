package telemetrydev

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/citylink/citylink/internal/telemetry"
)

// maxSubmit bounds the readings one submission may carry: one PutRecords.
const maxSubmit = maxPutRecords

// SubmitHandler accepts readings over HTTP (POST, a JSON reading or array of
// readings, in citylink's or the seed's format) and puts the valid ones to
// the stream. It plays the device gateway for `citylink dev` and the test
// page, which so never hold AWS keys, unlike the seed's page.
type SubmitHandler struct {
	decoder  telemetry.Decoder
	producer *Producer
	logger   *slog.Logger
}

// NewSubmitHandler returns a SubmitHandler putting through producer.
func NewSubmitHandler(d telemetry.Decoder, producer *Producer, logger *slog.Logger) *SubmitHandler {
	return &SubmitHandler{decoder: d, producer: producer, logger: logger}
}

type submitRejection struct {
	Index  int              `json:"index"`
	Reason telemetry.Reason `json:"reason"`
	Detail string           `json:"detail"`
}

type submitResult struct {
	Accepted int               `json:"accepted"`
	Rejected []submitRejection `json:"rejected"`
}

func (h *SubmitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		telemetry.WriteProblem(w, r, http.StatusMethodNotAllowed, "only POST is supported")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSubmit*int64(telemetry.DefaultMaxRecordBytes)))
	if err != nil {
		telemetry.WriteProblem(w, r, http.StatusRequestEntityTooLarge, "the body is too large")
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		items = []json.RawMessage{body}
	}
	if len(items) > maxSubmit {
		telemetry.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("at most %d readings at once", maxSubmit))
		return
	}
	res := submitResult{Rejected: []submitRejection{}}
	var readings []telemetry.Reading
	for i, raw := range items {
		rd, err := h.decoder.Decode(raw)
		var rej *telemetry.RejectError
		if errors.As(err, &rej) {
			res.Rejected = append(res.Rejected, submitRejection{Index: i, Reason: rej.Reason, Detail: rej.Detail})
			continue
		}
		readings = append(readings, rd)
	}
	if len(readings) == 0 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "about:blank", "title": "Bad Request", "status": http.StatusBadRequest,
			"detail": "no valid reading", "instance": r.URL.Path, "rejected": res.Rejected,
		})
		return
	}
	if _, err := h.producer.Put(r.Context(), readings); err != nil {
		h.logger.ErrorContext(r.Context(), "readings not put", "count", len(readings), "error", err)
		telemetry.WriteProblem(w, r, http.StatusServiceUnavailable, "the stream did not take the readings")
		return
	}
	res.Accepted = len(readings)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(res)
}
