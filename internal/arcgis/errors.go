package arcgis

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is an error ArcGIS reported inside a response body. ArcGIS
// answers most errors with HTTP 200 and {"error":{code,message,details}}, so
// the status line says nothing; this is where the truth is.
type APIError struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
}

// Error reads like "arcgis error 400: Unable to complete operation. ('where' parameter is invalid)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arcgis error %d: %s", e.Code, e.Message)
	if len(e.Details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(e.Details, "; "))
	}
	return b.String()
}

// TokenError reports whether the error is about the token: 498 (invalid or
// expired) or 499 (required).
func (e *APIError) TokenError() bool { return e.Code == 498 || e.Code == 499 }

// Retryable reports whether sending the same request later may succeed: an
// expired token (the client refreshes it once on its own, so seeing one here
// means the refresh did not help yet), or a server-side failure reported in
// the body.
func (e *APIError) Retryable() bool {
	switch e.Code {
	case 498, 500, 502, 503, 504:
		return true
	}
	return false
}

// RetryAfter is zero: an error inside a 200 body comes with no Retry-After.
func (e *APIError) RetryAfter() time.Duration { return 0 }

// HTTPError is a response whose HTTP status was not 200, after the retrying
// transport gave up.
type HTTPError struct {
	StatusCode int
	Status     string
	Body       string // the first bytes of the body, for the error log
	// API is the ArcGIS error the body carried, if it carried one.
	API *APIError

	retryAfter time.Duration
}

// Unwrap exposes the ArcGIS error in the body, if any, to errors.As.
func (e *HTTPError) Unwrap() error {
	if e.API == nil {
		return nil
	}
	return e.API
}

func (e *HTTPError) Error() string {
	if e.Body == "" {
		return "arcgis http " + e.Status
	}
	return fmt.Sprintf("arcgis http %s: %s", e.Status, e.Body)
}

// Retryable reports whether the status is one that may clear up: 429 and
// 5xx other than 501.
func (e *HTTPError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || (e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented)
}

// RetryAfter is the delay the server asked for with Retry-After, or zero.
func (e *HTTPError) RetryAfter() time.Duration { return e.retryAfter }

// EditError is the error of one failed add, update or delete.
type EditError struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

func (e *EditError) Error() string {
	return fmt.Sprintf("arcgis edit error %d: %s", e.Code, e.Description)
}

// Retryable reports whether applying the same edit again may succeed: an
// edit rolled back because another edit of its call failed, or one the
// server failed on internally (1017-1019, which are not missing objects).
func (e *EditError) Retryable() bool {
	switch e.Code {
	case EditErrRolledBack, EditErrInternalInsert, EditErrInternalDelete, EditErrInternalUpdate:
		return true
	}
	return false
}

// RetryAfter is zero: an edit result carries no delay.
func (e *EditError) RetryAfter() time.Duration { return 0 }

// ObjectMissing reports whether the edit failed only because the layer has
// no such object (1011), which a delete that is repeated, or an update of a
// feature deleted meanwhile, may meet harmlessly. 1013 (missing, or denied by
// ownership-based access control) is not: it may be a refusal. Nor is 1019,
// an internal error during the update.
func (e *EditError) ObjectMissing() bool { return e.Code == EditErrObjectMissing }

// Edit error codes a caller may act on, from Esri's feature service error
// table ("Feature service error codes", ArcGIS REST API reference).
const (
	// EditErrObjectMissing (1011, "Object is missing.") is answered for an
	// update or delete of an object id the layer does not have.
	EditErrObjectMissing = 1011
	// EditErrObjectMissingOrDenied (1013) is answered where ownership-based
	// access control hides whether the object is there.
	EditErrObjectMissingOrDenied = 1013
	// EditErrInternalInsert, EditErrInternalDelete and EditErrInternalUpdate
	// (1017-1019, "Internal error during object insert/delete/update.") are
	// server failures, not missing objects.
	EditErrInternalInsert = 1017
	EditErrInternalDelete = 1018
	EditErrInternalUpdate = 1019
	// EditErrRolledBack marks an edit that was valid but undone because
	// another edit in the same call failed with rollbackOnFailure.
	EditErrRolledBack = 1003
)
