package telemetrydev

import (
	"bytes"
	"context"
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

// ReasonConflictingDuplicate rejects a reading that has the key (sensor,
// metric, millisecond) of one earlier in the same submission but another
// value or unit: one of the two would silently replace the other.
const ReasonConflictingDuplicate telemetry.Reason = "conflicting_duplicate"

// ReasonNoReadings is why a submission of null or of an empty array is
// refused: it holds nothing to store.
const ReasonNoReadings telemetry.Reason = "no_readings"

// SubmitHandler accepts readings over HTTP (POST, a JSON reading or array of
// readings, in citylink's or the seed's format) and puts the valid ones to
// the stream. It plays the device gateway for `citylink dev` and the test
// page, which so never hold AWS keys, unlike the seed's page.
//
// Submitting is idempotent: a reading identical to one already stored, or
// to one earlier in the body, is counted as a duplicate and not put again.
// The answer (202) counts what was new, what changed a stored reading
// (same key, another value: the new one wins, as a device's correction
// does), the duplicates, and lists the rejected readings with reasons. The
// table is read when the reading is submitted, so a reading still on its
// way through the stream counts as new a second time; storing it twice is
// harmless.
type SubmitHandler struct {
	decoder  telemetry.Decoder
	producer *Producer
	reader   *telemetry.Reader
	logger   *slog.Logger
}

// NewSubmitHandler returns a SubmitHandler putting through producer and
// telling new readings from stored ones through reader.
func NewSubmitHandler(d telemetry.Decoder, producer *Producer, reader *telemetry.Reader, logger *slog.Logger) *SubmitHandler {
	return &SubmitHandler{decoder: d, producer: producer, reader: reader, logger: logger}
}

// SubmitRejection is one reading of a submission that was not accepted.
type SubmitRejection struct {
	// Index is the reading's position in the submitted array (0 for a
	// single object).
	Index  int              `json:"index"`
	Reason telemetry.Reason `json:"reason"`
	Detail string           `json:"detail"`
}

// SubmitResult is the answer to a submission, also inside its problem
// answers.
type SubmitResult struct {
	// Received counts the readings in the body.
	Received int `json:"received"`
	// New counts readings put to the stream that the table did not hold.
	New int `json:"new"`
	// Changed counts readings put to the stream that replace a stored
	// reading of the same key with another value or unit.
	Changed int `json:"changed"`
	// Duplicates counts readings identical to a stored one or to one
	// earlier in the body: they are not put again.
	Duplicates int               `json:"duplicates"`
	Rejected   []SubmitRejection `json:"rejected"`
}

func (h *SubmitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		MethodNotAllowed(w, r, http.MethodPost)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSubmit*int64(telemetry.DefaultMaxRecordBytes)))
	if err != nil {
		telemetry.WriteProblem(w, r, http.StatusRequestEntityTooLarge, "the body is too large")
		return
	}
	res := SubmitResult{Rejected: []SubmitRejection{}}
	items, rej := splitBody(body)
	if rej != nil {
		res.Rejected = append(res.Rejected, *rej)
		h.refuse(w, r, res, rej.Detail)
		return
	}
	res.Received = len(items)
	if len(items) > maxSubmit {
		telemetry.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("at most %d readings at once", maxSubmit))
		return
	}

	// Decode, and drop or reject repeats within the body.
	var readings []telemetry.Reading
	byKey := map[telemetry.Key]int{}
	for i, raw := range items {
		rd, err := h.decoder.Decode(raw)
		var rej *telemetry.RejectError
		if errors.As(err, &rej) {
			res.Rejected = append(res.Rejected, SubmitRejection{Index: i, Reason: rej.Reason, Detail: rej.Detail})
			continue
		}
		if j, ok := byKey[rd.Key()]; ok {
			if readings[j] == rd {
				res.Duplicates++
			} else {
				res.Rejected = append(res.Rejected, SubmitRejection{Index: i, Reason: ReasonConflictingDuplicate,
					Detail: "an earlier reading of this body has the same sensor, metric and millisecond with another value or unit"})
			}
			continue
		}
		byKey[rd.Key()] = len(readings)
		readings = append(readings, rd)
	}
	if len(readings) == 0 {
		h.refuse(w, r, res, "no valid reading")
		return
	}

	// Drop what the table already holds as it is.
	keys := make([]telemetry.Key, len(readings))
	for i, rd := range readings {
		keys[i] = rd.Key()
	}
	stored, err := h.reader.Lookup(r.Context(), keys)
	if err != nil {
		h.unavailable(w, r, "the readings table did not answer, so whether these readings are new is unknown; nothing was put to the stream, and sending the same body again is safe", "looking up submitted readings", err)
		return
	}
	var put []telemetry.Reading
	changed := 0
	for _, rd := range readings {
		if old, ok := stored[rd.Key()]; ok {
			if old == rd {
				res.Duplicates++
				continue
			}
			changed++
		}
		put = append(put, rd)
	}
	if len(put) > 0 {
		if _, err := h.producer.Put(r.Context(), put); err != nil {
			h.putFailed(w, r, res, len(put), err)
			return
		}
	}
	res.Changed = changed
	res.New = len(put) - changed
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(res)
}

// splitBody returns the raw readings of a body: the elements of an array,
// or the body itself. A body of null or [] holds none, and says so.
func splitBody(body []byte) ([]json.RawMessage, *SubmitRejection) {
	trimmed := bytes.TrimSpace(body)
	if string(trimmed) == "null" {
		return nil, &SubmitRejection{Index: 0, Reason: ReasonNoReadings, Detail: "the body is null: send a reading or an array of readings"}
	}
	var items []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' && json.Unmarshal(trimmed, &items) == nil {
		if len(items) == 0 {
			return nil, &SubmitRejection{Index: 0, Reason: ReasonNoReadings, Detail: "the array is empty: it holds no reading"}
		}
		return items, nil
	}
	return []json.RawMessage{body}, nil
}

// refuse answers 400 with the result, when not one reading is valid.
func (h *SubmitHandler) refuse(w http.ResponseWriter, r *http.Request, res SubmitResult, detail string) {
	writeProblemWith(w, r, http.StatusBadRequest, detail, res)
}

// putFailed answers a producer failure with what is known: readings Kinesis
// refused or never got were not put (503); readings a timed-out or broken
// call carried may have been (504). Neither the log nor the answer claims a
// loss that is not known.
func (h *SubmitHandler) putFailed(w http.ResponseWriter, r *http.Request, res SubmitResult, n int, err error) {
	var pe *PutError
	notPut, unknown := n, 0
	if errors.As(err, &pe) {
		unknown = len(pe.Unknown)
		notPut = len(pe.Failed) - unknown
	} else {
		notPut, unknown = 0, n
	}
	extra := map[string]any{"received": res.Received, "rejected": res.Rejected, "duplicates": res.Duplicates,
		"put": n - notPut - unknown, "not_put": notPut, "unknown": unknown}
	if unknown > 0 {
		h.logger.WarnContext(r.Context(), "stream did not answer: readings may or may not have been put",
			"readings", n, "outcome_unknown", unknown, "not_put", notPut, "error", err)
		writeProblemWith(w, r, http.StatusGatewayTimeout, fmt.Sprintf(
			"the stream did not answer in time: whether %d of %d readings were put is unknown (%d were not put); sending the same body again is safe, duplicates are not stored twice",
			unknown, n, notPut), extra)
		return
	}
	h.logger.ErrorContext(r.Context(), "readings not put: the stream refused them",
		"readings", n, "not_put", notPut, "error", err)
	writeProblemWith(w, r, http.StatusServiceUnavailable, fmt.Sprintf(
		"the stream did not take %d of %d readings; they were not put, send them again", notPut, n), extra)
}

// unavailable answers 503, or 504 when the deadline ran out, for a
// dependency that did not answer, and logs it.
func (h *SubmitHandler) unavailable(w http.ResponseWriter, r *http.Request, detail, what string, err error) {
	status := http.StatusServiceUnavailable
	if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	h.logger.WarnContext(r.Context(), what+" failed", "error", err)
	writeProblemWith(w, r, status, detail, nil)
}
