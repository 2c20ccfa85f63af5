package cms

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// Sentinel errors an *APIError matches with errors.Is, by HTTP status.
var (
	ErrUnauthorized       = errors.New("cms: unauthorized")
	ErrNotFound           = errors.New("cms: not found")
	ErrConflict           = errors.New("cms: conflict")
	ErrPreconditionFailed = errors.New("cms: precondition failed")
)

// FieldError is the CMS's complaint about one field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem body as the CMS sends it, with the TALQ
// error key. It is the body of an *APIError and the error of a failed bulk
// item.
type Problem struct {
	Type   string       `json:"type,omitempty"`
	Title  string       `json:"title,omitempty"`
	Status int          `json:"status,omitempty"`
	Detail string       `json:"detail,omitempty"`
	Key    string       `json:"key,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
	// Existing is the device already holding the asset id, on a create
	// conflict.
	Existing *Device `json:"existing,omitempty"`
}

// APIError is a non-2xx answer from the CMS. Callers decide on StatusCode,
// Key and Retryable; errors.Is matches it against ErrNotFound and friends.
type APIError struct {
	Method, URL string
	StatusCode  int
	Problem
	// Body is the raw answer when it was not a problem document.
	Body string

	retryAfter time.Duration
}

func newAPIError(req *http.Request, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Method: req.Method, URL: req.URL.Redacted(), StatusCode: resp.StatusCode}
	if err := json.Unmarshal(raw, &e.Problem); err != nil || (e.Key == "" && e.Title == "" && e.Detail == "") {
		e.Problem = Problem{}
		e.Body = strings.TrimSpace(string(raw))
		if len(e.Body) > 512 {
			e.Body = e.Body[:512]
		}
	}
	if d, ok := httpretry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.retryAfter = d
	}
	return e
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cms: %s %s: %d", e.Method, e.URL, e.StatusCode)
	if e.Key != "" {
		b.WriteString(" " + e.Key)
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case e.Title != "":
		b.WriteString(": " + e.Title)
	case e.Body != "":
		b.WriteString(": " + e.Body)
	}
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	return b.String()
}

// Is matches the sentinel for the answer's status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrPreconditionFailed:
		return e.StatusCode == http.StatusPreconditionFailed
	}
	return false
}

// Retryable reports whether the same request may succeed later: the CMS was
// overloaded, throttling or failing, rather than refusing the request.
func (e *APIError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout ||
		(e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented)
}

// RetryAfter is the delay the CMS asked for with Retry-After, or zero.
func (e *APIError) RetryAfter() time.Duration { return e.retryAfter }
