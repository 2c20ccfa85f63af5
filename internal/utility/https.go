package utility

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// HTTPSOptions configures delivery over HTTPS, in the shape every citylink
// client's options share.
type HTTPSOptions struct {
	// BaseURL is the drop's collection, e.g. https://drop.utility.example/inbox;
	// a file is PUT to BaseURL/name.
	BaseURL string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// Transport is the base RoundTripper (http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Retry is the retry and rate-limit policy; a PUT by name is idempotent,
	// so 5xx, 429 and network errors are retried.
	Retry httpretry.Policy
	// Timeout bounds one delivery whose context has no earlier deadline
	// (default 5 minutes).
	Timeout time.Duration
	// Logger receives the retry log (every retry, every give-up; see
	// httpretry.Policy.Logger) unless Retry.Logger is set; slog.Default()
	// when nil. It is the same field in every client's options.
	Logger *slog.Logger
}

// HTTPSConfig is the former name of HTTPSOptions, kept while callers move.
type HTTPSConfig = HTTPSOptions

// HTTPS delivers inventory files to an HTTPS drop by PUT, with Content-MD5
// and a sha-256 Content-Digest so the server can refuse a damaged body, and
// checks the receipt's checksum against what was sent.
type HTTPS struct {
	base *url.URL
	cfg  HTTPSOptions
	http *http.Client
}

// HTTPError is a non-2xx answer from the drop.
type HTTPError struct {
	Status  int
	Message string

	retryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("utility drop: HTTP %d: %s", e.Status, e.Message)
}

// Retryable reports whether delivering again later may succeed.
func (e *HTTPError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || (e.Status >= 500 && e.Status != http.StatusNotImplemented)
}

// RetryAfter is the delay the drop asked for with Retry-After, or zero.
func (e *HTTPError) RetryAfter() time.Duration { return e.retryAfter }

// ErrConflict means the drop already holds a different file of that name.
// It is permanent: delivering the same bytes again meets the same file.
var ErrConflict error = permanentError("utility drop: a different file of that name was already delivered")

// RejectedError means the utility received the file but its import refused
// the content; delivering it again will not help.
type RejectedError struct {
	Receipt Receipt
	Reason  string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("utility drop rejected %s: %s", e.Receipt.Name, e.Reason)
}

// Retryable is false: the utility refused the content itself.
func (e *RejectedError) Retryable() bool { return false }

// RetryAfter is zero.
func (e *RejectedError) RetryAfter() time.Duration { return 0 }

// permanentError is a sentinel that retrying cannot cure. It meets the
// clients' error contract, so a workflow that does not test for it by
// errors.Is still gives up at once rather than retrying it.
type permanentError string

func (e permanentError) Error() string             { return string(e) }
func (e permanentError) Retryable() bool           { return false }
func (e permanentError) RetryAfter() time.Duration { return 0 }

// NewHTTPS returns an HTTPS deliverer for cfg.
func NewHTTPS(cfg HTTPSOptions) (*HTTPS, error) {
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("utility: drop URL %q is not an absolute URL", cfg.BaseURL)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Minute)
	cfg.Retry.Logger = cmp.Or(cfg.Retry.Logger, cfg.Logger)
	return &HTTPS{base: base, cfg: cfg, http: &http.Client{Transport: httpretry.New(cfg.Transport, cfg.Retry)}}, nil
}

// receiptJSON is the drop's receipt.
type receiptJSON struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Status string `json:"status"`
	Rows   int    `json:"rows"`
	Error  string `json:"error"`
}

// Deliver PUTs data as name and returns the drop's receipt once its size and
// checksum match what was sent. Delivering the same file again is harmless.
func (h *HTTPS) Deliver(ctx context.Context, name string, data []byte) (Receipt, error) {
	if err := checkName(name); err != nil {
		return Receipt{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	u := *h.base
	u.Path += "/" + name
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(data))
	if err != nil {
		return Receipt{}, fmt.Errorf("building request: %w", err)
	}
	md := md5.Sum(data)
	sum := sha256.Sum256(data)
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md[:]))
	req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	req.Header.Set("Accept", "application/json")
	if h.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.cfg.Token)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return Receipt{}, fmt.Errorf("delivering %s: %w", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Receipt{}, fmt.Errorf("delivering %s: reading receipt: %w", name, err)
	}
	var rj receiptJSON
	jsonErr := json.Unmarshal(body, &rj)
	rc := Receipt{Name: rj.Name, Size: rj.Size, SHA256: strings.ToLower(rj.SHA256), Via: "https", Status: rj.Status, Rows: rj.Rows}
	switch {
	case resp.StatusCode == http.StatusConflict:
		return Receipt{}, fmt.Errorf("delivering %s: %w", name, ErrConflict)
	case resp.StatusCode == http.StatusUnprocessableEntity && jsonErr == nil:
		return rc, &RejectedError{Receipt: rc, Reason: rj.Error}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return Receipt{}, fmt.Errorf("delivering %s: %w", name, newHTTPError(resp, body))
	case jsonErr != nil:
		return Receipt{}, fmt.Errorf("delivering %s: reading receipt: %w", name, jsonErr)
	}
	if want := hex.EncodeToString(sum[:]); rc.SHA256 != want || rc.Size != int64(len(data)) {
		return rc, fmt.Errorf("delivering %s: receipt says %d bytes sha256 %s, sent %d bytes sha256 %s", name, rc.Size, rc.SHA256, len(data), want)
	}
	return rc, nil
}

// errorMessage reads {"error": "..."} or falls back to the body's start.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(body[:min(len(body), 256)]))
}

// newHTTPError builds the HTTPError of a non-2xx answer.
func newHTTPError(resp *http.Response, body []byte) *HTTPError {
	e := &HTTPError{Status: resp.StatusCode, Message: errorMessage(body)}
	if d, ok := httpretry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.retryAfter = d
	}
	return e
}
