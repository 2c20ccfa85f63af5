package telemetry_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestMetricsEmitsEMF(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := telemetry.NewMetrics(&buf, "telemetry-store", func() time.Time { return telemetrytest.FixedNow })
	if err := m.Emit(
		telemetry.Metric{Name: "RecordsProcessed", Value: 7, Unit: "Count"},
		telemetry.Metric{Name: "RecordsRejected", Value: 2, Unit: "Count"},
	); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1: %s", len(lines), buf.Bytes())
	}
	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function         string
		RecordsProcessed float64
		RecordsRejected  float64
	}
	if err := json.Unmarshal(lines[0], &got); err != nil {
		t.Fatalf("line is not JSON: %v", err)
	}
	if got.AWS.Timestamp != telemetrytest.FixedNow.UnixMilli() || len(got.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("_aws = %+v", got.AWS)
	}
	d := got.AWS.CloudWatchMetrics[0]
	if d.Namespace != telemetry.MetricsNamespace || len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 1 || d.Dimensions[0][0] != "Function" {
		t.Errorf("directive = %+v, want one Function dimension", d)
	}
	if len(d.Metrics) != 2 || d.Metrics[0].Name != "RecordsProcessed" || d.Metrics[1].Unit != "Count" {
		t.Errorf("metrics = %+v", d.Metrics)
	}
	if got.Function != "telemetry-store" || got.RecordsProcessed != 7 || got.RecordsRejected != 2 {
		t.Errorf("values = %+v", got)
	}
}
