package cms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/cms"
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
		status    int
		header    string
		retryable bool
		after     time.Duration
		sentinel  error
	}{
		{status: http.StatusTooManyRequests, header: "7", retryable: true, after: 7 * time.Second},
		{status: http.StatusServiceUnavailable, retryable: true},
		{status: http.StatusNotFound, sentinel: cms.ErrNotFound},
		{status: http.StatusConflict, sentinel: cms.ErrConflict},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(`{"title":"refused","key":"k"}`))
		}))
		t.Cleanup(srv.Close)
		c, err := cms.New(cms.Options{BaseURL: srv.URL, APIKey: "k", Retry: httpretry.Policy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(context.Background(), "d1")
		rc, ok := errors.AsType[retryContract](err)
		if !ok {
			t.Fatalf("HTTP %d: %T (%v) does not meet the retry contract", tc.status, err, err)
		}
		if rc.Retryable() != tc.retryable || rc.RetryAfter() != tc.after {
			t.Errorf("HTTP %d: retryable %v after %v, want %v and %v", tc.status, rc.Retryable(), rc.RetryAfter(), tc.retryable, tc.after)
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("HTTP %d: %v is not %v", tc.status, err, tc.sentinel)
		}
	}
}
