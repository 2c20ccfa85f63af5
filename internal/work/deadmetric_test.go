package work

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/deploy"
)

// deadAlarm is what a <W>DeadItemsAlarm in template.yaml watches.
type deadAlarm struct {
	namespace, metric, dimension, workflow, statistic, unit, comparison string
	threshold                                                           float64
}

// deadItemsAlarms reads every alarm on the DeadItems metric from the
// repository's template.yaml.
func deadItemsAlarms(t *testing.T) map[string]deadAlarm {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	tpl, err := deploy.ParseFile(filepath.Join(filepath.Dir(file), "..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]deadAlarm{}
	for name, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" || r.Properties["MetricName"] != DeadItemsMetric {
			continue
		}
		p := r.Properties
		dims, _ := p["Dimensions"].([]any)
		if len(dims) != 1 {
			t.Fatalf("%s has dimensions %v, want one", name, p["Dimensions"])
		}
		dim, _ := dims[0].(map[string]any)
		a := deadAlarm{metric: DeadItemsMetric}
		a.namespace, _ = p["Namespace"].(string)
		a.dimension, _ = dim["Name"].(string)
		a.workflow, _ = dim["Value"].(string)
		a.statistic, _ = p["Statistic"].(string)
		a.unit, _ = p["Unit"].(string)
		a.comparison, _ = p["ComparisonOperator"].(string)
		switch v := p["Threshold"].(type) {
		case int64:
			a.threshold = float64(v)
		case float64:
			a.threshold = v
		default:
			t.Fatalf("%s: threshold %v", name, p["Threshold"])
		}
		out[a.workflow] = a
	}
	return out
}

// TestDeadItemsMetricIsWhatTheAlarmWatches kills items through the engine
// and parses the Embedded Metric Format line it writes: namespace, metric,
// dimension, unit and value are what template.yaml's DeadItems alarm for the
// workflow watches, and the value (the number of items that went dead)
// breaks the alarm's threshold.
func TestDeadItemsMetricIsWhatTheAlarmWatches(t *testing.T) {
	t.Parallel()
	alarms := deadItemsAlarms(t)
	for _, wf := range []string{"arcgis-import", "billing-export", "alarm-311", "gis-push", "gis-pull"} {
		if _, ok := alarms[wf]; !ok {
			t.Errorf("template.yaml has no DeadItems alarm for %s", wf)
		}
	}
	const workflow = "arcgis-import"
	alarm, ok := alarms[workflow]
	if !ok {
		t.Fatalf("no DeadItems alarm for %s in template.yaml", workflow)
	}

	var out bytes.Buffer
	items := makeItems("pole", 30)
	h := newHarness(t, &pageSource{items: items, pageSize: 30}, func(c *Config) {
		c.Workflow, c.BatchSize, c.Metrics = workflow, 10, &out
	})
	// pole-1x are refused: ten dead items, in one batch.
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if strings.HasPrefix(key, "pole-1") && len(key) == 7 {
			o := Permanent(errors.New("400 invalid wattage"))
			return &o
		}
		return nil
	}
	if _, err := h.engine.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wait(t)

	var total float64
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		var meta struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		raw, _ := json.Marshal(m["_aws"])
		if err := json.Unmarshal(raw, &meta); err != nil || meta.Timestamp == 0 || len(meta.CloudWatchMetrics) != 1 {
			t.Fatalf("metric line %q has no EMF metadata (%v)", line, err)
		}
		d := meta.CloudWatchMetrics[0]
		if d.Namespace != alarm.namespace || fmt.Sprint(d.Dimensions) != fmt.Sprint([][]string{{alarm.dimension}}) ||
			len(d.Metrics) != 1 || d.Metrics[0].Name != alarm.metric {
			t.Errorf("metric line %q does not define what the alarm watches: %+v", line, alarm)
		}
		if d.Metrics[0].Unit != "Count" || (alarm.unit != "" && alarm.unit != d.Metrics[0].Unit) {
			t.Errorf("metric unit %q, alarm unit %q", d.Metrics[0].Unit, alarm.unit)
		}
		if m[alarm.dimension] != alarm.workflow {
			t.Errorf("metric line %q: dimension %s = %v, want %s", line, alarm.dimension, m[alarm.dimension], alarm.workflow)
		}
		v, ok := m[alarm.metric].(float64)
		if !ok {
			t.Fatalf("metric line %q has no %s value", line, alarm.metric)
		}
		total += v
	}
	if total != 10 {
		t.Errorf("DeadItems summed to %v over %d lines, want 10", total, len(lines))
	}
	if alarm.statistic != "Sum" || alarm.comparison != "GreaterThanThreshold" || !(total > alarm.threshold) {
		t.Errorf("alarm %+v would not fire on a sum of %v", alarm, total)
	}
}

// TestNoDeadItemsNoMetric writes no metric line for a run in which nothing
// went dead.
func TestNoDeadItemsNoMetric(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	h := newHarness(t, &pageSource{items: makeItems("pole", 20), pageSize: 20}, func(c *Config) { c.Metrics = &out })
	if _, err := h.engine.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wait(t)
	if out.Len() != 0 {
		t.Errorf("a run with no dead items wrote metrics: %s", out.String())
	}
}
