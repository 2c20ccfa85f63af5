package httpretry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// script answers the n-th request (from 1) with statuses[n-1], and 200 after.
func script(t *testing.T, calls *atomic.Int32, bodies *[]string, statuses ...int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if bodies != nil {
			b, _ := io.ReadAll(r.Body)
			*bodies = append(*bodies, string(b))
		}
		if n <= len(statuses) {
			if statuses[n-1] == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "0")
			}
			w.WriteHeader(statuses[n-1])
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func client(p httpretry.Policy) *http.Client {
	p.BaseDelay, p.MaxDelay = time.Millisecond, 2*time.Millisecond
	return &http.Client{Transport: httpretry.New(nil, p)}
}

func TestRetriesServerErrorsAndThrottling(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := script(t, &calls, nil, 503, 429, 500)
	resp, err := client(httpretry.Policy{MaxAttempts: 5}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || calls.Load() != 4 {
		t.Fatalf("status %d after %d calls, want 200 after 4", resp.StatusCode, calls.Load())
	}
}

func TestGivesBackLastAnswerWhenAttemptsRunOut(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := script(t, &calls, nil, 503, 503, 503, 503)
	resp, err := client(httpretry.Policy{MaxAttempts: 3}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || calls.Load() != 3 {
		t.Fatalf("status %d after %d calls, want 503 after 3", resp.StatusCode, calls.Load())
	}
}

func TestDoesNotRetryClientErrorsOrNotImplemented(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 404, 501} {
		var calls atomic.Int32
		srv := script(t, &calls, nil, status)
		resp, err := client(httpretry.Policy{}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if calls.Load() != 1 {
			t.Errorf("status %d was sent %d times, want once", status, calls.Load())
		}
	}
}

func TestPostRetriedOnlyWhenSafe(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var bodies []string
	srv := script(t, &calls, &bodies, 503)
	c := client(httpretry.Policy{})

	resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("create"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || calls.Load() != 1 {
		t.Fatalf("unsafe POST: status %d after %d calls, want 503 after 1", resp.StatusCode, calls.Load())
	}

	calls.Store(0)
	bodies = nil
	srv2 := script(t, &calls, &bodies, 503)
	req, _ := http.NewRequestWithContext(httpretry.Safe(context.Background()), http.MethodPost, srv2.URL, strings.NewReader("query"))
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || calls.Load() != 2 {
		t.Fatalf("safe POST: status %d after %d calls, want 200 after 2", resp.StatusCode, calls.Load())
	}
	if len(bodies) != 2 || bodies[0] != "query" || bodies[1] != "query" {
		t.Fatalf("bodies sent = %q, want the body twice", bodies)
	}
}

func TestRetryAfterBeyondDeadlineReturnsAtOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := client(httpretry.Policy{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || calls.Load() != 1 {
		t.Fatalf("status %d after %d calls, want the 429 after 1 call", resp.StatusCode, calls.Load())
	}
}

func TestHungAttemptIsAbandonedAndRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	resp, err := client(httpretry.Policy{AttemptTimeout: 50 * time.Millisecond}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" || calls.Load() != 2 {
		t.Fatalf("body %q after %d calls, want ok after 2", body, calls.Load())
	}
}

func TestAttemptTimeoutSparesASlowBody(t *testing.T) {
	t.Parallel()
	// The answer's headers arrive at once; a large body (a page of
	// features with geometry) then streams for longer than the attempt
	// timeout. The timeout is for hung requests, so the body must be read
	// whole within the caller's own deadline.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for range 6 {
			io.WriteString(w, "chunk;")
			w.(http.Flusher).Flush()
			time.Sleep(25 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	resp, err := client(httpretry.Policy{AttemptTimeout: 50 * time.Millisecond}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != strings.Repeat("chunk;", 6) {
		t.Fatalf("body %q, %v; want it whole", body, err)
	}
}

func TestConnectionRefusedIsExhausted(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := client(httpretry.Policy{MaxAttempts: 3}).Get(url)
	var ex *httpretry.ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 3 {
		t.Fatalf("err = %v, want ExhaustedError after 3 attempts", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{"Mon, 23 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		got, ok := httpretry.ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestLongRetryAfterWithoutDeadlineIsHandedBack(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "7200")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	// No deadline on the request: only the policy's cap stops a two-hour wait.
	resp, err := client(httpretry.Policy{MaxRetryAfter: time.Minute}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || calls.Load() != 1 || resp.Header.Get("Retry-After") != "7200" {
		t.Fatalf("status %d after %d calls, want the 503 with its Retry-After after 1 call", resp.StatusCode, calls.Load())
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// logLines decodes a JSON log.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestLogsEachRetryWithoutSecrets retries a throttled and failing call whose
// URL carries an API key, a token and a password, and a call whose
// transport quotes the URL in its error: each retry is logged with method,
// host and path, attempt, status or error and delay, the give-up at warn,
// and no secret appears anywhere in the log.
func TestLogsEachRetryWithoutSecrets(t *testing.T) {
	t.Parallel()
	const key, token, password = "K3Y-s3cr3t", "T0K3N-s3cr3t", "PW-s3cr3t"
	var calls atomic.Int32
	srv := script(t, &calls, nil, 429, 503)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	u := strings.Replace(srv.URL, "http://", "http://citylink:"+password+"@", 1) + "/rest/query?api_key=" + key + "&token=" + token
	resp, err := client(httpretry.Policy{MaxAttempts: 4, Logger: logger}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	lines := logLines(t, &buf)
	if len(lines) != 2 {
		t.Fatalf("logged %d lines for two retries:\n%s", len(lines), buf.String())
	}
	for i, status := range []float64{429, 503} {
		l := lines[i]
		if l["level"] != "INFO" || l["msg"] != "retrying" || l["method"] != "GET" || l["target"] != host+"/rest/query" ||
			l["attempt"] != float64(i+1) || l["status"] != status || l["delay"] == nil {
			t.Errorf("retry %d logged as %v", i+1, l)
		}
	}

	noSecrets := func() {
		t.Helper()
		for _, secret := range []string{key, token, password} {
			if strings.Contains(buf.String(), secret) {
				t.Errorf("the log carries the secret %q:\n%s", secret, buf.String())
			}
		}
	}
	noSecrets()

	// A transport that quotes the whole URL in its error, and never answers.
	buf.Reset()
	failing := &http.Client{Transport: httpretry.New(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy refused %s", r.URL)
	}), httpretry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Logger: logger})}
	if _, err := failing.Get(u); err == nil {
		t.Fatal("a call that never got an answer succeeded")
	}
	lines = logLines(t, &buf)
	if len(lines) != 3 || lines[2]["level"] != "WARN" || lines[2]["attempts"] != float64(3) {
		t.Fatalf("want two retries and a warning:\n%s", buf.String())
	}
	if e, _ := lines[0]["error"].(string); !strings.Contains(e, "proxy refused") || !strings.Contains(e, "/rest/query") {
		t.Errorf("retry error logged as %q", e)
	}
	noSecrets()
}
