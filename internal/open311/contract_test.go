package open311_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
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
		status    int
		header    string
		retryable bool
		after     time.Duration
	}{
		{status: http.StatusTooManyRequests, header: "7", retryable: true, after: 7 * time.Second},
		{status: http.StatusBadGateway, retryable: true},
		{status: http.StatusNotFound},
		{status: http.StatusBadRequest},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(`[{"code":"x","description":"refused"}]`))
		}))
		t.Cleanup(srv.Close)
		c, err := open311.New(open311.Config{BaseURL: srv.URL, Retry: httpretry.Policy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Request(context.Background(), "r1")
		rc, ok := errors.AsType[retryContract](err)
		if !ok {
			t.Fatalf("HTTP %d: %T (%v) does not meet the retry contract", tc.status, err, err)
		}
		if rc.Retryable() != tc.retryable || rc.RetryAfter() != tc.after {
			t.Errorf("HTTP %d: retryable %v after %v, want %v and %v", tc.status, rc.Retryable(), rc.RetryAfter(), tc.retryable, tc.after)
		}
		if open311.IsNotFound(err) != (tc.status == http.StatusNotFound) {
			t.Errorf("HTTP %d: IsNotFound is %v", tc.status, open311.IsNotFound(err))
		}
	}
}
