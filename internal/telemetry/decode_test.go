package telemetry_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestDecodeAcceptsBothFormats(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 23, 11, 59, 30, 123_000_000, time.UTC)
	tests := []struct {
		name string
		data string
		want telemetry.Reading
	}{
		{"citylink", `{"sensor_id":"SL-000123","timestamp":"2026-11-23T11:59:30.123Z","value":12.5,"unit":"lx","metric":"illuminance"}`,
			telemetry.Reading{SensorID: "SL-000123", Time: ts, Value: 12.5, Unit: "lx", Metric: "illuminance"}},
		{"seed test page", `{"sensorid":"sensor1","value":"42","timestamp":"1795435170123"}`,
			telemetry.Reading{SensorID: "sensor1", Time: ts, Value: 42}},
		{"seed numeric id and ms number", `{"sensorid":17,"value":"-3.25","timestamp":1795435170123}`,
			telemetry.Reading{SensorID: "17", Time: ts, Value: -3.25}},
		{"offset timestamp normalised to UTC", `{"sensor_id":"a","timestamp":"2026-11-23T05:59:30.123456-06:00","value":0}`,
			telemetry.Reading{SensorID: "a", Time: ts, Value: 0}},
		{"utf-8 id and unit, not ascii", `{"sensor_id":"Straße-7","timestamp":"2026-11-23T11:59:30.123Z","value":1e3,"unit":"µW"}`,
			telemetry.Reading{SensorID: "Straße-7", Time: ts, Value: 1000, Unit: "µW"}},
		{"whitespace around", " \n{\"sensor_id\":\" b \",\"timestamp\":\"2026-11-23T11:59:30.123Z\",\"value\":2}\n ",
			telemetry.Reading{SensorID: "b", Time: ts, Value: 2}},
		{"citylink key wins over seed key", `{"sensor_id":"x","sensorid":"y","timestamp":"2026-11-23T11:59:30.123Z","value":2}`,
			telemetry.Reading{SensorID: "x", Time: ts, Value: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := telemetrytest.Decoder().Decode([]byte(tt.data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !got.Time.Equal(tt.want.Time) || got.Time.Location() != time.UTC {
				t.Errorf("time = %v, want %v UTC", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("reading = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRejectsWithReason(t *testing.T) {
	t.Parallel()
	ok := `"timestamp":"2026-11-23T11:00:00Z"`
	tests := []struct {
		name string
		data string
		want telemetry.Reason
	}{
		{"empty", ``, telemetry.ReasonEmpty},
		{"blank", "  \n", telemetry.ReasonEmpty},
		{"oversized", `{"sensor_id":"a","value":1,` + ok + `,"unit":"` + strings.Repeat("x", 5000) + `"}`, telemetry.ReasonOversized},
		{"latin-1 not utf-8", "{\"sensor_id\":\"Stra\xdfe\",\"value\":1," + ok + "}", telemetry.ReasonNotUTF8},
		{"not json", `sensor=a value=1`, telemetry.ReasonNotJSON},
		{"truncated", `{"sensor_id":"a","value":1,`, telemetry.ReasonNotJSON},
		{"trailing data", `{"sensor_id":"a","value":1,` + ok + `} {}`, telemetry.ReasonNotJSON},
		{"array", `[1,2]`, telemetry.ReasonNotObject},
		{"string", `"hello"`, telemetry.ReasonNotObject},
		{"no sensor", `{"value":1,` + ok + `}`, telemetry.ReasonMissingSensorID},
		{"null sensor", `{"sensor_id":null,"value":1,` + ok + `}`, telemetry.ReasonMissingSensorID},
		{"blank sensor", `{"sensor_id":"  ","value":1,` + ok + `}`, telemetry.ReasonMissingSensorID},
		{"object sensor", `{"sensor_id":{},"value":1,` + ok + `}`, telemetry.ReasonBadSensorID},
		{"long sensor", `{"sensor_id":"` + strings.Repeat("s", 129) + `","value":1,` + ok + `}`, telemetry.ReasonBadSensorID},
		{"control in sensor", `{"sensor_id":"a\u0000b","value":1,` + ok + `}`, telemetry.ReasonBadSensorID},
		{"no timestamp", `{"sensor_id":"a","value":1}`, telemetry.ReasonMissingTimestamp},
		{"bad timestamp", `{"sensor_id":"a","value":1,"timestamp":"yesterday"}`, telemetry.ReasonBadTimestamp},
		{"fractional ms", `{"sensor_id":"a","value":1,"timestamp":1795435170123.5}`, telemetry.ReasonBadTimestamp},
		{"bool timestamp", `{"sensor_id":"a","value":1,"timestamp":true}`, telemetry.ReasonBadTimestamp},
		{"future", `{"sensor_id":"a","value":1,"timestamp":"2026-11-23T12:06:00Z"}`, telemetry.ReasonTimeOutOfRange},
		{"epoch seconds read as ms is 1970", `{"sensor_id":"a","value":1,"timestamp":1795435170}`, telemetry.ReasonTimeOutOfRange},
		{"no value", `{"sensor_id":"a",` + ok + `}`, telemetry.ReasonMissingValue},
		{"word value", `{"sensor_id":"a","value":"bright",` + ok + `}`, telemetry.ReasonBadValue},
		{"NaN value", `{"sensor_id":"a","value":"NaN",` + ok + `}`, telemetry.ReasonBadValue},
		{"Inf value", `{"sensor_id":"a","value":"-Inf",` + ok + `}`, telemetry.ReasonBadValue},
		{"huge value", `{"sensor_id":"a","value":1e400,` + ok + `}`, telemetry.ReasonBadValue},
		{"beyond DynamoDB's range", `{"sensor_id":"a","value":1e200,` + ok + `}`, telemetry.ReasonBadValue},
		{"below DynamoDB's precision", `{"sensor_id":"a","value":"-1e-200",` + ok + `}`, telemetry.ReasonBadValue},
		{"bool value", `{"sensor_id":"a","value":true,` + ok + `}`, telemetry.ReasonBadValue},
		{"numeric unit", `{"sensor_id":"a","value":1,"unit":5,` + ok + `}`, telemetry.ReasonBadField},
		{"long metric", `{"sensor_id":"a","value":1,"metric":"` + strings.Repeat("m", 65) + `",` + ok + `}`, telemetry.ReasonBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := telemetrytest.Decoder().Decode([]byte(tt.data))
			var rej *telemetry.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("Decode error = %v, want *RejectError", err)
			}
			if rej.Reason != tt.want {
				t.Errorf("reason = %s (%s), want %s", rej.Reason, rej.Detail, tt.want)
			}
		})
	}
}

func TestDecodeRoundTripsMarshal(t *testing.T) {
	t.Parallel()
	in := telemetry.Reading{SensorID: "SL-1", Time: telemetrytest.FixedNow.Add(-time.Hour), Value: math.Pi, Unit: "W", Metric: "power"}
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	out, err := telemetrytest.Decoder().Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", b, err)
	}
	if out != in {
		t.Fatalf("round trip = %+v, want %+v", out, in)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"sensor_id":"SL-000123","timestamp":"2026-11-23T11:59:30.123Z","value":12.5,"unit":"lx","metric":"illuminance"}`,
		`{"sensorid":"sensor1","value":"42","timestamp":"1795435170123"}`,
		`{"sensorid":17,"value":"-3.25","timestamp":1795435170123}`,
		`{"sensor_id":null}`, `[]`, `"x"`, `{`, "\xff\xfe", ``, `{"value":1e400}`,
		`{"sensor_id":"a","value":1,"timestamp":"2026-11-23T11:00:00Z"} x`,
	} {
		f.Add([]byte(s))
	}
	d := telemetrytest.Decoder()
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := d.Decode(data)
		if err != nil {
			var rej *telemetry.RejectError
			if !errors.As(err, &rej) || rej.Reason == "" {
				t.Fatalf("Decode(%q) error %v is not a reasoned rejection", data, err)
			}
			return
		}
		if r.SensorID == "" || len(r.SensorID) > telemetry.MaxSensorIDLen || !utf8.ValidString(r.SensorID) {
			t.Fatalf("accepted bad sensor id %q", r.SensorID)
		}
		if a := math.Abs(r.Value); math.IsNaN(r.Value) || a >= 1e125 || (a != 0 && a < 1e-125) {
			t.Fatalf("accepted non-finite value %v", r.Value)
		}
		if r.Time.IsZero() || r.Time.After(telemetrytest.FixedNow.Add(telemetry.DefaultMaxFutureSkew)) {
			t.Fatalf("accepted time %v", r.Time)
		}
		// What Decode accepts, it must read back identically after encoding.
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON(%+v): %v", r, err)
		}
		again, err := d.Decode(b)
		if err != nil || again != r {
			t.Fatalf("re-decode of %s = %+v, %v; want %+v", b, again, err, r)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(`{"sensor_id":"SL-000123","timestamp":"2026-11-23T11:59:30.123Z","value":12.5,"unit":"lx","metric":"illuminance"}`)
	seed := []byte(`{"sensorid":"sensor1","value":"42","timestamp":"1795435170123"}`)
	d := telemetrytest.Decoder()
	b.Run("citylink", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("seed", func(b *testing.B) {
		b.SetBytes(int64(len(seed)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decode(seed); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
