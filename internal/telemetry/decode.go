package telemetry

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on a record and its fields. A reading is a few hundred bytes; the
// record limit stops a misbehaving device from filling the archive.
const (
	DefaultMaxRecordBytes = 4 << 10
	MaxSensorIDLen        = 128
	MaxLabelLen           = 64
	DefaultMaxFutureSkew  = 5 * time.Minute
)

// earliest is the oldest timestamp accepted: streetlight sensors did not
// report before 2000, and older values are clock faults or unit mistakes.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Decoder decodes and validates Kinesis record data into readings. The zero
// value is ready to use with the default limits and the wall clock.
type Decoder struct {
	// MaxRecordBytes bounds a record's size; zero means DefaultMaxRecordBytes.
	MaxRecordBytes int
	// MaxFutureSkew is how far past Now a timestamp may be; zero means
	// DefaultMaxFutureSkew.
	MaxFutureSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// wireReading accepts both citylink's JSON (sensor_id, numeric value) and the
// seed test page's (sensorid, string value). encoding/json matches keys
// case-insensitively, so "SensorId" is accepted as well.
type wireReading struct {
	SensorID     *json.RawMessage `json:"sensor_id"`
	SeedSensorID *json.RawMessage `json:"sensorid"`
	Timestamp    *json.RawMessage `json:"timestamp"`
	Value        *json.RawMessage `json:"value"`
	Unit         *json.RawMessage `json:"unit"`
	Metric       *json.RawMessage `json:"metric"`
}

// Decode returns the reading in data, or a *RejectError saying why data is
// not one. It never panics, whatever data holds.
func (d Decoder) Decode(data []byte) (Reading, error) {
	maxBytes := cmp.Or(d.MaxRecordBytes, DefaultMaxRecordBytes)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return Reading{}, reject(ReasonEmpty, "record has no data")
	case len(data) > maxBytes:
		return Reading{}, reject(ReasonOversized, "%d bytes, limit %d", len(data), maxBytes)
	case !utf8.Valid(data):
		return Reading{}, reject(ReasonNotUTF8, "record is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if trimmed[0] != '{' {
		if json.Valid(data) {
			return Reading{}, reject(ReasonNotObject, "record is JSON but not an object")
		}
		return Reading{}, reject(ReasonNotJSON, "record is not JSON")
	}
	var w wireReading
	// Unmarshal validates the whole input, so data after the object is a
	// syntax error too.
	if err := json.Unmarshal(data, &w); err != nil {
		return Reading{}, reject(ReasonNotJSON, "%s", jsonDetail(err))
	}

	var r Reading
	var err error
	if r.SensorID, err = sensorID(w); err != nil {
		return Reading{}, err
	}
	if r.Time, err = d.timestamp(w.Timestamp); err != nil {
		return Reading{}, err
	}
	if r.Value, err = value(w.Value); err != nil {
		return Reading{}, err
	}
	if r.Unit, err = label("unit", w.Unit); err != nil {
		return Reading{}, err
	}
	if r.Metric, err = label("metric", w.Metric); err != nil {
		return Reading{}, err
	}
	return r, nil
}

func sensorID(w wireReading) (string, error) {
	raw := w.SensorID
	if isNull(raw) {
		raw = w.SeedSensorID
	}
	if isNull(raw) {
		return "", reject(ReasonMissingSensorID, "no sensor_id or sensorid")
	}
	id, ok := jsonString(*raw)
	if !ok {
		// The seed's page sent whatever was typed; a bare number is an id too.
		if id, ok = jsonNumber(*raw); !ok {
			return "", reject(ReasonBadSensorID, "sensor id must be a string")
		}
	}
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return "", reject(ReasonMissingSensorID, "sensor id is empty")
	case len(id) > MaxSensorIDLen:
		return "", reject(ReasonBadSensorID, "sensor id is %d bytes, limit %d", len(id), MaxSensorIDLen)
	case strings.IndexFunc(id, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0:
		return "", reject(ReasonBadSensorID, "sensor id has control characters")
	}
	return id, nil
}

// timestamp accepts an RFC 3339 string, or epoch milliseconds as a number or
// a numeric string (what JavaScript's Date.now() gives a test page).
func (d Decoder) timestamp(raw *json.RawMessage) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, reject(ReasonMissingTimestamp, "no timestamp")
	}
	var t time.Time
	if s, ok := jsonString(*raw); ok {
		s = strings.TrimSpace(s)
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			t = time.UnixMilli(ms)
		} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, reject(ReasonBadTimestamp, "timestamp %q is neither RFC 3339 nor epoch milliseconds", truncate(s, 40))
		}
	} else {
		n, ok := jsonNumber(*raw)
		if !ok {
			return time.Time{}, reject(ReasonBadTimestamp, "timestamp must be a string or a number")
		}
		ms, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return time.Time{}, reject(ReasonBadTimestamp, "numeric timestamp must be whole epoch milliseconds")
		}
		t = time.UnixMilli(ms)
	}
	t = t.UTC().Truncate(time.Millisecond)
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	latest := now().Add(cmp.Or(d.MaxFutureSkew, DefaultMaxFutureSkew))
	if t.Before(earliest) || t.After(latest) {
		return time.Time{}, reject(ReasonTimeOutOfRange, "timestamp %s is before 2000 or in the future", t.Format(TimeLayout))
	}
	return t, nil
}

// value accepts a JSON number, or a string holding one (the seed's format).
func value(raw *json.RawMessage) (float64, error) {
	if isNull(raw) {
		return 0, reject(ReasonMissingValue, "no value")
	}
	text, ok := jsonString(*raw)
	if ok {
		text = strings.TrimSpace(text)
	} else if text, ok = jsonNumber(*raw); !ok {
		return 0, reject(ReasonBadValue, "value must be a number or a numeric string")
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, reject(ReasonBadValue, "value %q is not a finite number", truncate(text, 40))
	}
	// DynamoDB numbers span 1e-130 to 1e126 in magnitude. One reading
	// outside would fail its whole BatchWriteItem, so it is rejected here.
	if a := math.Abs(v); a >= 1e125 || (a != 0 && a < 1e-125) {
		return 0, reject(ReasonBadValue, "value %q is outside the storable range", truncate(text, 40))
	}
	return v, nil
}

func label(name string, raw *json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	s, ok := jsonString(*raw)
	if !ok {
		return "", reject(ReasonBadField, "%s must be a string", name)
	}
	s = strings.TrimSpace(s)
	if len(s) > MaxLabelLen {
		return "", reject(ReasonBadField, "%s is %d bytes, limit %d", name, len(s), MaxLabelLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", reject(ReasonBadField, "%s has control characters", name)
	}
	return s, nil
}

// jsonString returns the string a raw JSON value holds, if it is a string.
// json.Unmarshal has already validated raw, so a string without escapes is
// its bytes between the quotes.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonNumber returns the literal of a raw JSON value, if it is a number.
func jsonNumber(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return "", false
	}
	return string(raw), true
}

func isNull(raw *json.RawMessage) bool {
	return raw == nil || string(*raw) == "null"
}

func jsonDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "wrong type at " + te.Field
	}
	return "malformed JSON"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
