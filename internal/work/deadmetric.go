package work

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// The dead-item metric, as template.yaml's <W>DeadItemsAlarm watches it:
// the Sum of DeadItems in namespace Citylink/Work for dimension Workflow.
const (
	MetricsNamespace = "Citylink/Work"
	DeadItemsMetric  = "DeadItems"
	WorkflowDim      = "Workflow"
	// DeadItemsUnit is the CloudWatch unit of DeadItems.
	DeadItemsUnit = "Count"
)

// metricsWriter is where the engine writes its Embedded Metric Format
// lines, one Write per line so that concurrent chains never interleave.
type metricsWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// newMetricsWriter returns the writer of Config.Metrics: w, or in Lambda
// (AWS_LAMBDA_FUNCTION_NAME set) the function's stdout, which CloudWatch
// Logs reads EMF from; elsewhere (tests, `citylink dev`) none.
func newMetricsWriter(w io.Writer) *metricsWriter {
	if w == nil && os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		w = os.Stdout
	}
	if w == nil {
		return nil
	}
	return &metricsWriter{w: w}
}

// emfLine is one CloudWatch Embedded Metric Format line: the metric's
// definition under _aws, its value and its dimension as members.
type emfLine struct {
	AWS      emfMeta `json:"_aws"`
	Workflow string  `json:"Workflow"`
	Dead     int     `json:"DeadItems"`
	Run      int64   `json:"run,omitempty"`
	FirstKey string  `json:"first_key,omitempty"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// deadItems writes the DeadItems metric for items that went dead.
func (m *metricsWriter) deadItems(e *Engine, dead []DeadItem) error {
	if m == nil || len(dead) == 0 {
		return nil
	}
	line := emfLine{
		AWS: emfMeta{Timestamp: e.clock.Now().UnixMilli(), CloudWatchMetrics: []emfDirective{{
			Namespace: MetricsNamespace, Dimensions: [][]string{{WorkflowDim}},
			Metrics: []emfMetric{{Name: DeadItemsMetric, Unit: DeadItemsUnit}},
		}}},
		Workflow: e.cfg.Workflow, Dead: len(dead), Run: dead[0].Run, FirstKey: dead[0].Key,
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encoding the dead-item metric: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the dead-item metric: %w", err)
	}
	return nil
}

// announceDead tells operators about items that went dead: the DeadItems
// metric the template's alarm watches, then the Alerter. The items are in
// the critical error log already, so a failure here is logged, not
// returned: it must not undo the recorded outcomes.
func (e *Engine) announceDead(ctx context.Context, log *slog.Logger, dead []DeadItem) {
	if len(dead) == 0 {
		return
	}
	if err := e.metrics.deadItems(e, dead); err != nil {
		log.ErrorContext(ctx, "emitting the dead-item metric", "error", err)
	}
	if e.cfg.Alerter != nil {
		if err := e.cfg.Alerter.Alert(ctx, dead); err != nil {
			log.ErrorContext(ctx, "alerting dead items", "error", err)
		}
	}
}
