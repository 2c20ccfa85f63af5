package telemetry

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// MetricsNamespace is the CloudWatch namespace of every telemetry metric.
const MetricsNamespace = "Citylink/Telemetry"

// Metric is one count in an Embedded Metric Format line.
type Metric struct {
	Name  string
	Value float64
	// Unit is a CloudWatch unit such as "Count" or "Milliseconds".
	Unit string
}

// Metrics writes CloudWatch Embedded Metric Format (EMF) lines. In Lambda,
// a JSON line on stdout with an "_aws" member becomes metrics without a
// PutMetricData call. The only dimension is the function, never the sensor:
// 270,000 sensors as a dimension would be 270,000 custom metrics.
type Metrics struct {
	w        io.Writer
	function string
	now      func() time.Time
	mu       sync.Mutex
}

// NewMetrics returns a Metrics writing to w (os.Stdout in Lambda) with the
// dimension Function=function. now may be nil for time.Now.
func NewMetrics(w io.Writer, function string, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	return &Metrics{w: w, function: function, now: now}
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Emit writes one EMF line holding every metric in ms.
func (m *Metrics) Emit(ms ...Metric) error {
	line := map[string]any{"Function": m.function}
	dir := emfDirective{Namespace: MetricsNamespace, Dimensions: [][]string{{"Function"}}}
	for _, x := range ms {
		dir.Metrics = append(dir.Metrics, emfMetric{Name: x.Name, Unit: x.Unit})
		line[x.Name] = x.Value
	}
	line["_aws"] = emfMeta{Timestamp: m.now().UnixMilli(), CloudWatchMetrics: []emfDirective{dir}}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encoding metrics: %w", err)
	}
	b = append(b, '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.w.Write(b); err != nil {
		return fmt.Errorf("writing metrics: %w", err)
	}
	return nil
}
