// Package telemetry ingests streetlight sensor readings: it decodes and
// validates Kinesis records, stores readings in DynamoDB and serves a
// sensor's history over API Gateway. It is what the store and query Lambdas
// link, so it holds nothing else: the S3 archive is package archive, and
// the device-side producer, the local Kinesis poller, the submit endpoint
// and table creation, which only `citylink dev` and tests need, are package
// telemetrydev.
package telemetry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Reading is one measurement from one streetlight sensor.
type Reading struct {
	// SensorID identifies the sensor; it is the DynamoDB partition key and
	// the Kinesis partition key.
	SensorID string
	// Time is when the sensor took the reading, UTC, millisecond precision.
	Time time.Time
	// Value is the measured value.
	Value float64
	// Unit is the value's unit, such as "lx" or "W"; it may be empty.
	Unit string
	// Metric names what was measured, such as "illuminance"; it may be empty.
	Metric string
}

// Key identifies a reading in the table: a sensor reports one value per
// millisecond, and a second report of the same key overwrites the first.
type Key struct {
	SensorID string
	Millis   int64
}

// Key returns the reading's table key.
func (r Reading) Key() Key { return Key{SensorID: r.SensorID, Millis: r.Time.UnixMilli()} }

// TimeLayout is the fixed-width form every timestamp is written in, so that
// strings sort as times do.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// ReadingJSON is citylink's own wire and archive form of a reading: what
// the API answers, the archive's lines hold and Decode reads.
type ReadingJSON struct {
	SensorID  string  `json:"sensor_id"`
	Timestamp string  `json:"timestamp"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit,omitempty"`
	Metric    string  `json:"metric,omitempty"`
}

// JSON returns the reading in its wire form.
func (r Reading) JSON() ReadingJSON {
	return ReadingJSON{
		SensorID:  r.SensorID,
		Timestamp: r.Time.UTC().Format(TimeLayout),
		Value:     r.Value,
		Unit:      r.Unit,
		Metric:    r.Metric,
	}
}

// MarshalJSON encodes the reading in citylink's JSON form, which Decode reads.
func (r Reading) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.JSON())
	if err != nil {
		return nil, fmt.Errorf("encoding reading: %w", err)
	}
	return b, nil
}
