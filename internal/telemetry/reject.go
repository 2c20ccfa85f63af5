package telemetry

import (
	"errors"
	"fmt"
)

// Reason says why a record was rejected. Reasons are stable strings: they
// are written to the quarantine prefix and logged, and operators search by them.
type Reason string

// The reasons a record can be rejected.
const (
	ReasonEmpty            Reason = "empty"
	ReasonOversized        Reason = "oversized"
	ReasonNotUTF8          Reason = "not_utf8"
	ReasonNotJSON          Reason = "not_json"
	ReasonNotObject        Reason = "not_object"
	ReasonMissingSensorID  Reason = "missing_sensor_id"
	ReasonBadSensorID      Reason = "bad_sensor_id"
	ReasonMissingTimestamp Reason = "missing_timestamp"
	ReasonBadTimestamp     Reason = "bad_timestamp"
	ReasonTimeOutOfRange   Reason = "timestamp_out_of_range"
	ReasonMissingValue     Reason = "missing_value"
	ReasonBadValue         Reason = "bad_value"
	ReasonBadField         Reason = "bad_field"
)

// RejectError is returned by Decode for a record that is not a valid
// reading. Callers quarantine the record with its Reason and move on: a bad
// record never blocks a shard.
type RejectError struct {
	Reason Reason
	Detail string
}

func (e *RejectError) Error() string {
	if e.Detail == "" {
		return "rejected: " + string(e.Reason)
	}
	return fmt.Sprintf("rejected: %s: %s", e.Reason, e.Detail)
}

func reject(r Reason, format string, args ...any) *RejectError {
	return &RejectError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// RejectReason returns the Reason of a *RejectError in err's chain, or
// "unknown" for any other error.
func RejectReason(err error) Reason {
	var rej *RejectError
	if errors.As(err, &rej) {
		return rej.Reason
	}
	return "unknown"
}
