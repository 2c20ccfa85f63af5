package cms_test

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

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/httpretry"
)

// TestOptionsLoggerLogsRetries sends a call the CMS first answers 503: the
// retry is logged through Options.Logger, with the path and status, and
// without the API key.
func TestOptionsLoggerLogsRetries(t *testing.T) {
	t.Parallel()
	const key = "cms-K3Y-s3cr3t"
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"dev-1","externalId":"SL-1","state":"commissioned","version":1}`))
	}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	c, err := cms.New(cms.Options{BaseURL: srv.URL, APIKey: key, Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
		Retry: httpretry.Policy{BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "dev-1"); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{`"msg":"retrying"`, `"method":"GET"`, `/api/v1/devices/dev-1"`, `"attempt":1`, `"status":503`, `"delay":`} {
		if !strings.Contains(log, want) {
			t.Errorf("retry log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, key) {
		t.Errorf("retry log carries the API key:\n%s", log)
	}
}
