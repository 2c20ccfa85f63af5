package arcgis_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/httpretry"
)

// TestOptionsLoggerLogsRetries reads a service that first fails with a 503
// status and then with a 503 inside a 200 body, as ArcGIS reports a failed
// database call: both retries are logged through Options.Logger, the
// transport's and the client's own, in one shape.
func TestOptionsLoggerLogsRetries(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Write([]byte(`{"error":{"code":503,"message":"Unable to complete operation.","details":[]}}`))
		default:
			w.Write([]byte(`{"capabilities":"Query","layers":[]}`))
		}
	}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/DOT/FeatureServer",
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Retry: httpretry.Policy{BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Service(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two retries logged:\n%s", buf.String())
	}
	for i, want := range []string{`"status":503`, `"status":503`} {
		for _, w := range []string{`"msg":"retrying"`, `"method":"POST"`, `/arcgis/rest/services/DOT/FeatureServer"`, want, `"delay":`} {
			if !strings.Contains(lines[i], w) {
				t.Errorf("retry %d lacks %s: %s", i+1, w, lines[i])
			}
		}
	}
	if !strings.Contains(lines[1], "Unable to complete operation") {
		t.Errorf("the body error's retry does not say why: %s", lines[1])
	}
}
