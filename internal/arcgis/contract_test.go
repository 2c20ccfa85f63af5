package arcgis_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/httpretry"
)

// retryContract is the error contract the work engine reads from every
// client (work.RetryableError and work.RetryAfterError).
type retryContract interface {
	error
	Retryable() bool
	RetryAfter() time.Duration
}

func TestErrorsMeetTheRetryContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		status    int
		header    string
		body      string
		retryable bool
		after     time.Duration
	}{
		{name: "throttled", status: http.StatusTooManyRequests, header: "7", retryable: true, after: 7 * time.Second},
		{name: "gateway", status: http.StatusBadGateway, retryable: true},
		{name: "error in body", status: http.StatusOK, body: `{"error":{"code":400,"message":"Invalid query","details":[]}}`},
		{name: "server error in body", status: http.StatusOK, body: `{"error":{"code":503,"message":"busy","details":[]}}`, retryable: true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		t.Cleanup(srv.Close)
		c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/Lights/FeatureServer", Retry: httpretry.Policy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Layer(context.Background(), 0)
		rc, ok := errors.AsType[retryContract](err)
		if !ok {
			t.Fatalf("%s: %T (%v) does not meet the retry contract", tc.name, err, err)
		}
		if rc.Retryable() != tc.retryable || rc.RetryAfter() != tc.after {
			t.Errorf("%s: retryable %v after %v, want %v and %v", tc.name, rc.Retryable(), rc.RetryAfter(), tc.retryable, tc.after)
		}
	}
	var rolledBack, missing retryContract = &arcgis.EditError{Code: arcgis.EditErrRolledBack}, &arcgis.EditError{Code: arcgis.EditErrObjectMissing}
	if !rolledBack.Retryable() || missing.Retryable() {
		t.Error("only a rolled-back edit may be retried")
	}
}
