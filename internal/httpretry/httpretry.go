// Package httpretry is the one retrying http.RoundTripper every citylink
// client sits on. It retries what is safe to retry—network errors, timeouts,
// 5xx answers and 429s—with full-jitter exponential backoff, honours
// Retry-After, waits on a per-target rate limiter before every attempt, and
// never sleeps past the request context's deadline.
//
// Only idempotent methods are retried unless the caller marks the request's
// context with Safe: a POST that creates something must not be sent twice
// because an answer was lost, but a POST that only reads (an ArcGIS query) or
// that the target de-duplicates may be.
package httpretry

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/citylink/citylink/internal/backoff"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	// MaxAttempts counts the first try; 4 when zero.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt, doubled for each
	// one after, up to MaxDelay; 100ms and 5s when zero.
	BaseDelay, MaxDelay time.Duration
	// Limiter, when set, is waited on before every attempt, so retries count
	// against the target's rate limit too.
	Limiter *rate.Limiter
	// AttemptTimeout, when set, bounds each attempt until its answer's
	// headers arrive, so a hung request is abandoned and tried again while
	// the caller's deadline still allows.
	AttemptTimeout time.Duration
	// MaxRetryAfter is the longest Retry-After the transport waits out
	// itself (1 minute when zero); a server asking for longer gets its
	// answer handed back at once, for the caller to schedule, rather than a
	// goroutine asleep for an hour.
	MaxRetryAfter time.Duration
	// Logger records every retry (info) and every give-up after retries
	// (warn), so throttling and flaky targets show in the logs: method,
	// target host and path (never the query, where keys and tokens travel,
	// nor user info), attempt, status or error, and the delay. Every
	// client's Options carry a Logger that lands here; slog.Default() when
	// nil.
	Logger *slog.Logger
}

// LogRetry records that attempt of a call to target failed with status
// (when an answer came) or err, and that the next follows after delay. The
// transport logs its own retries; clients that retry above it (an error
// inside a 200 answer, a reconnect) log theirs here, in the same shape.
// target must already be free of secrets: see Target.
func (p Policy) LogRetry(ctx context.Context, method, target string, attempt, status int, err error, delay time.Duration) {
	attrs := []slog.Attr{slog.String("method", method), slog.String("target", target), slog.Int("attempt", attempt)}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	attrs = append(attrs, slog.Duration("delay", delay))
	p.logger().LogAttrs(ctx, slog.LevelInfo, "retrying", attrs...)
}

// logGiveUp records that a call is handed back failed after attempts.
func (p Policy) logGiveUp(ctx context.Context, method, target string, attempts, status int, err error, why string) {
	attrs := []slog.Attr{slog.String("method", method), slog.String("target", target), slog.Int("attempts", attempts), slog.String("reason", why)}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	p.logger().LogAttrs(ctx, slog.LevelWarn, "giving up retrying", attrs...)
}

func (p Policy) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// Target is how a request's URL appears in logs: host and path only. The
// query (API keys, ArcGIS tokens) and user info (passwords) are left out.
func Target(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host + u.EscapedPath()
}

// redact removes a URL's query and user info from an error's text, for
// transports that quote the URL they failed on.
func redact(err error, u *url.URL) error {
	if err == nil || u == nil {
		return err
	}
	s := err.Error()
	clean := s
	if u.RawQuery != "" {
		clean = strings.ReplaceAll(clean, u.RawQuery, "[query]")
		if q := u.Query().Encode(); q != "" {
			clean = strings.ReplaceAll(clean, q, "[query]")
		}
	}
	if u.User != nil {
		clean = strings.ReplaceAll(clean, u.User.String(), "[user]")
		if pw, ok := u.User.Password(); ok && pw != "" {
			clean = strings.ReplaceAll(clean, pw, "[password]")
		}
	}
	if clean == s {
		return err
	}
	return errors.New(clean)
}

// Backoff is the full-jitter exponential backoff between attempts, for
// clients that retry above the transport (an error inside a 200 answer, a
// POST the transport must not repeat) as the transport itself does.
func (p Policy) Backoff() backoff.Policy {
	return backoff.Policy{Base: p.BaseDelay, Max: p.MaxDelay}
}

// Transport is a retrying http.RoundTripper.
type Transport struct {
	next   http.RoundTripper
	policy Policy
}

// New returns a Transport that sends through next (http.DefaultTransport
// when nil).
func New(next http.RoundTripper, p Policy) *Transport {
	p.MaxAttempts = cmp.Or(p.MaxAttempts, 4)
	p.BaseDelay = cmp.Or(p.BaseDelay, 100*time.Millisecond)
	p.MaxDelay = cmp.Or(p.MaxDelay, 5*time.Second)
	p.MaxRetryAfter = cmp.Or(p.MaxRetryAfter, time.Minute)
	return &Transport{next: cmp.Or[http.RoundTripper](next, http.DefaultTransport), policy: p}
}

type safeKey struct{}

// Safe marks ctx so that requests made with it are retried whatever their
// method: the caller knows that sending the request twice does no harm.
func Safe(ctx context.Context) context.Context {
	return context.WithValue(ctx, safeKey{}, true)
}

// ExhaustedError is returned, wrapping the last network error, when every
// attempt failed without an answer.
type ExhaustedError struct {
	Attempts int
	Err      error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Err)
}

func (e *ExhaustedError) Unwrap() error { return e.Err }

// Retryable is true: every attempt failed without an answer, which a later
// try may get. It makes ExhaustedError meet the clients' error contract.
func (e *ExhaustedError) Retryable() bool { return true }

// RetryAfter is zero: no answer named a delay.
func (e *ExhaustedError) RetryAfter() time.Duration { return 0 }

// RoundTrip sends req, retrying as the policy allows. When attempts run out
// on an answer (a 503, say), that last answer is returned, so the client can
// read the server's own error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retryable := idempotent(req.Method) || ctx.Value(safeKey{}) != nil
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		retryable = false // the body cannot be sent again
	}
	for attempt := 1; ; attempt++ {
		if t.policy.Limiter != nil {
			if err := t.policy.Limiter.Wait(ctx); err != nil {
				return nil, fmt.Errorf("waiting for rate limit: %w", err)
			}
		}
		r := req
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("rewinding request body: %w", err)
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.attempt(r)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if !retryable || attempt >= t.policy.MaxAttempts || !shouldRetry(ctx, resp, err) {
			if attempt > 1 && (err != nil || shouldRetry(ctx, resp, err)) {
				t.policy.logGiveUp(ctx, req.Method, Target(req.URL), attempt, status, redact(err, req.URL), "attempts used up")
			}
			if err != nil && attempt > 1 {
				return nil, &ExhaustedError{Attempts: attempt, Err: err}
			}
			return resp, err
		}
		wait := t.policy.Backoff().Delay(attempt)
		ra, hasRA := retryAfter(resp)
		if hasRA {
			wait = ra
		}
		dl, hasDL := ctx.Deadline()
		if (hasDL && time.Until(dl) < wait) || (hasRA && ra > t.policy.MaxRetryAfter) {
			// Waiting would outlive the caller, or be longer than we wait
			// for anyone: hand back what we have.
			why := "the next attempt would outlive the deadline"
			if hasRA && ra > t.policy.MaxRetryAfter {
				why = "Retry-After " + ra.String() + " is longer than the transport waits"
			}
			t.policy.logGiveUp(ctx, req.Method, Target(req.URL), attempt, status, redact(err, req.URL), why)
			if err != nil {
				return nil, &ExhaustedError{Attempts: attempt, Err: err}
			}
			return resp, nil
		}
		t.policy.LogRetry(ctx, req.Method, Target(req.URL), attempt, status, redact(err, req.URL), wait)
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attempt sends one request, bounded by the policy's AttemptTimeout until
// the answer's headers arrive; reading the body is bounded only by the
// caller's context, so a large answer that streams slowly is not cut off.
// The attempt's context lives on until the answer's body is closed.
func (t *Transport) attempt(r *http.Request) (*http.Response, error) {
	if t.policy.AttemptTimeout <= 0 {
		return t.next.RoundTrip(r)
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	timer := time.AfterFunc(t.policy.AttemptTimeout, func() { cancel(errAttemptTimeout) })
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if !timer.Stop() && err == nil {
		// The timeout fired as the headers arrived: the body is cancelled.
		resp.Body.Close()
		cancel(nil)
		return nil, errAttemptTimeout
	}
	if err != nil {
		if errors.Is(context.Cause(ctx), errAttemptTimeout) {
			// Not %w: a cancelled transfer must read as a timeout, which is
			// retried, and never as the caller's cancellation, which is not.
			err = fmt.Errorf("%w (%v)", errAttemptTimeout, err)
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// errAttemptTimeout is the cause of an attempt abandoned by AttemptTimeout.
// It is a deadline, not a cancellation, so the attempt is retried.
var errAttemptTimeout = fmt.Errorf("attempt timed out waiting for an answer: %w", context.DeadlineExceeded)

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, "":
		return true
	}
	return false
}

func shouldRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		// Any transport error with the caller's context still alive: refused
		// or reset connections, a per-attempt timeout, a handshake cut off
		// midway. Not a TLS protocol or certificate error: the same server
		// gives the same answer every time.
		return !errors.Is(err, context.Canceled) && !TLSPermanent(err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true
	case resp.StatusCode == http.StatusNotImplemented:
		return false
	case resp.StatusCode >= 500:
		return true
	}
	return false
}

// TLSPermanent reports whether err is a TLS failure that no retry mends:
// the server does not speak TLS at all (an https URL for a plain-HTTP port),
// or its certificate does not verify.
func TLSPermanent(err error) bool {
	var rec tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &rec) || errors.As(err, &verify) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// retryAfter reads a Retry-After header of delay-seconds or an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	return ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
}

// ParseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP-date, relative to now. Clients use it too, to report a server's
// requested delay on errors they return.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
