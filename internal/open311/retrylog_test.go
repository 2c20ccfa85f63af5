package open311_test

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

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
)

// TestOptionsLoggerLogsRetries reads the service list from a server that
// first answers 429: the retry is logged through Options.Logger with the
// path and status, and neither the API key nor the query appears.
func TestOptionsLoggerLogsRetries(t *testing.T) {
	t.Parallel()
	const key, jurisdiction = "o311-K3Y-s3cr3t", "city-j-s3cr3t"
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	c, err := open311.New(open311.Options{BaseURL: srv.URL + "/v2", APIKey: key, JurisdictionID: jurisdiction,
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Retry: httpretry.Policy{BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Services(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{`"msg":"retrying"`, `"method":"GET"`, `/v2/services.json"`, `"status":429`, `"delay":`} {
		if !strings.Contains(log, want) {
			t.Errorf("retry log lacks %s:\n%s", want, log)
		}
	}
	for _, secret := range []string{key, jurisdiction} {
		if strings.Contains(log, secret) {
			t.Errorf("retry log carries %q:\n%s", secret, log)
		}
	}
}
