package open311

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// ErrorEntry is one {code, description} entry of a GeoReport error array.
// Code is kept as text: servers send numbers ("403") and names alike.
type ErrorEntry struct {
	Code        string
	Description string
}

// APIError is a GeoReport v2 error answer: the HTTP status and the server's
// error array (empty when the body was not one).
type APIError struct {
	Status int
	Errors []ErrorEntry
	// Body is the start of an answer that was not an error array.
	Body string

	retryAfter    time.Duration
	hasRetryAfter bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "open311: HTTP %d", e.Status)
	for i, en := range e.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %s", sep, en.Code, en.Description)
	}
	if len(e.Errors) == 0 && e.Body != "" {
		fmt.Fprintf(&b, ": %s", e.Body)
	}
	return b.String()
}

// Retryable reports whether trying the same call later may succeed: 429 and
// 5xx answers other than 501. A POST that failed so may still have filed its
// request: callers check ErrMaybeCreated first.
func (e *APIError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || (e.Status >= 500 && e.Status != http.StatusNotImplemented)
}

// RetryAfter is the delay the server asked for with Retry-After, or zero.
func (e *APIError) RetryAfter() time.Duration { return e.retryAfter }

// Is makes errors.Is(err, ErrDuplicate) true for a server's refusal of a
// request because one for the same problem is open already.
func (e *APIError) Is(target error) bool {
	if target != ErrDuplicate {
		return false
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
		return e.Mentions("duplicate") || e.Mentions("already open")
	}
	return false
}

// ErrDuplicate marks a POST the server turned down because it has an open
// request for the same problem (a resident reported the lamp first).
// GeoReport v2 leaves that answer to the server; the ones seen answer 400
// (or 409, 422) with a description that says "duplicate" or "already
// open", and often name the open request, whose id the caller can look up.
var ErrDuplicate = errors.New("open311: a request for this problem is open already")

// Mentions reports whether any entry's description contains s, ignoring
// case.
func (e *APIError) Mentions(s string) bool {
	for _, en := range e.Errors {
		if strings.Contains(strings.ToLower(en.Description), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is a 404 answer (unknown request id, token,
// service code or jurisdiction).
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// ErrMaybeCreated marks a POST whose outcome is unknown: it may have reached
// the server and filed a request even though no answer came back (a timeout,
// a reset connection, a 5xx). Callers reconcile, for example by looking for
// the request among the asset's recent requests, before filing again.
var ErrMaybeCreated = errors.New("open311: request may have been created")

// readAPIError builds the APIError for a non-2xx answer from its body.
func readAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	if ra, ok := httpretry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.retryAfter, e.hasRetryAfter = ra, true
	}
	if entries, ok := parseErrorArray(body); ok {
		e.Errors = entries
		return e
	}
	e.Body = strings.TrimSpace(string(body[:min(len(body), 512)]))
	return e
}

// parseErrorArray reads a JSON error array, a single error object, an
// {"errors": [...]} wrapper, which servers in the wild all send, or the XML
// <errors> document.
func parseErrorArray(body []byte) ([]ErrorEntry, bool) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '<' {
		return parseXMLErrors(body)
	}
	var list []wireError
	switch {
	case len(body) > 0 && body[0] == '[':
		if json.Unmarshal(body, &list) != nil {
			return nil, false
		}
	case len(body) > 0 && body[0] == '{':
		var obj struct {
			wireError
			Errors []wireError `json:"errors"`
		}
		if json.Unmarshal(body, &obj) != nil {
			return nil, false
		}
		list = obj.Errors
		if len(list) == 0 && obj.Description != "" {
			list = []wireError{obj.wireError}
		}
	}
	var out []ErrorEntry
	for _, w := range list {
		if w.Description == "" && w.Code == "" {
			continue
		}
		out = append(out, ErrorEntry{Code: string(w.Code), Description: w.Description})
	}
	return out, len(out) > 0
}
