package utility_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/utility"
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
		body      string
		retryable bool
		after     time.Duration
		sentinel  error
	}{
		{status: http.StatusTooManyRequests, header: "7", retryable: true, after: 7 * time.Second},
		{status: http.StatusServiceUnavailable, retryable: true},
		{status: http.StatusUnauthorized},
		{status: http.StatusConflict, sentinel: utility.ErrConflict},
		{status: http.StatusUnprocessableEntity, body: `{"name":"f.csv","status":"rejected","error":"bad row"}`},
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
		h, err := utility.NewHTTPS(utility.HTTPSConfig{BaseURL: srv.URL, Retry: httpretry.Policy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Deliver(context.Background(), "f.csv", []byte("a,b\n"))
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
	if _, ok := errors.AsType[retryContract](utility.ErrUnauthorized); !ok || utility.ErrUnauthorized.(retryContract).Retryable() {
		t.Error("ErrUnauthorized must be a permanent error of the contract")
	}
}
