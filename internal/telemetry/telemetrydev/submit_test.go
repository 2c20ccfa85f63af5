package telemetrydev_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestSubmitHandler(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	stream := telemetrytest.NewStream(t, s, 1)
	ok := telemetrydev.NewSubmitHandler(telemetrytest.Decoder(), telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: stream}), telemetrytest.Logger(t))
	broken := telemetrydev.NewSubmitHandler(telemetrytest.Decoder(), telemetrydev.NewProducer(s.Kinesis, telemetrydev.ProducerConfig{Stream: "no-such-stream", MaxAttempts: 1}), telemetrytest.Logger(t))
	reading := `{"sensor_id":"SL-1","timestamp":"2026-11-23T11:00:00Z","value":1}`
	many := "[" + strings.TrimSuffix(strings.Repeat(reading+",", 501), ",") + "]"

	tests := []struct {
		name        string
		h           http.Handler
		method      string
		body        string
		status      int
		contentType string
	}{
		{"one reading", ok, "POST", reading, 202, "application/json"},
		{"seed format in an array", ok, "POST", `[{"sensorid":"s1","value":"2","timestamp":"1795435170123"}]`, 202, "application/json"},
		{"nothing valid", ok, "POST", `{"value":1}`, 400, "application/problem+json"},
		{"not JSON", ok, "POST", `hello`, 400, "application/problem+json"},
		{"too many", ok, "POST", many, 413, "application/problem+json"},
		{"GET", ok, "GET", "", 405, "application/problem+json"},
		{"stream down", broken, "POST", reading, 503, "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/readings", strings.NewReader(tt.body)))
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType {
				t.Fatalf("%s = %d %s: %s", tt.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}

	// What was accepted is on the stream.
	var c collector
	p := telemetrydev.NewPoller(s.Kinesis, c.handle, telemetrydev.PollerConfig{Stream: stream}, telemetrytest.Logger(t))
	if _, err := p.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c.records != 2 {
		t.Fatalf("stream has %d records, want the 2 accepted", c.records)
	}
}
