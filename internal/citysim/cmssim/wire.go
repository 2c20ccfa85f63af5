package cmssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// problemBody is an RFC 9457 problem with the TALQ error key.
type problemBody struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Key      string       `json:"key"`
	Errors   []fieldError `json:"errors,omitempty"`
	Existing *device      `json:"existing,omitempty"`
}

func newProblem(status int, key, detail string, errs []fieldError) *problemBody {
	return &problemBody{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Key: key, Errors: errs}
}

// problem answers a problem.
func problem(w http.ResponseWriter, status int, key, detail string, errs []fieldError) {
	writeProblem(w, newProblem(status, key, detail, errs))
}

func writeProblem(w http.ResponseWriter, p *problemBody) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// lostReply answers as a gateway that gave up after the write went through.
func lostReply(w http.ResponseWriter) {
	problem(w, http.StatusServiceUnavailable, "genericError", "upstream timed out", nil)
}

// maxBody bounds request bodies; a full bulk request is well under it.
const maxBody = 8 << 20

// decode reads a JSON request body into v, rejecting unknown fields and
// trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "payloadError", "invalid JSON body: "+err.Error(), nil)
		return false
	}
	return true
}

// listParams are the paging parameters shared by the listings.
type listParams struct {
	since int64 // Unix microseconds
	after string
	limit int
}

// Page sizes of the listings.
const (
	defaultLimit = 500
	maxLimit     = 1000
	maxBulk      = 500
)

// parseList reads since, after and limit, answering 400 itself when one is
// malformed.
func parseList(w http.ResponseWriter, q url.Values) (listParams, bool) {
	p := listParams{since: -1 << 62, after: q.Get("after"), limit: defaultLimit}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			problem(w, http.StatusBadRequest, "parameterValueNotValid", "since must be an RFC 3339 time", []fieldError{{Field: "since", Message: err.Error()}})
			return p, false
		}
		p.since = t.UnixMicro()
		if t.Sub(time.UnixMicro(p.since)) > 0 {
			p.since++ // a sub-microsecond since excludes the microsecond it falls in
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			problem(w, http.StatusBadRequest, "parameterValueNotValid", fmt.Sprintf("limit must be 1 to %d", maxLimit), []fieldError{{Field: "limit", Message: "out of range"}})
			return p, false
		}
		p.limit = n
	}
	return p, true
}

// cursorFor decodes the after cursor against ids made with prefix and
// width, answering 400 itself when it is malformed.
func cursorFor(w http.ResponseWriter, p listParams, prefix string, width, count int) (*logEntry, bool) {
	if p.after == "" {
		return nil, true
	}
	e, err := decodeCursor(p.after, func(id string) (int32, bool) { return parseID(id, prefix, width, count) })
	if err != nil {
		problem(w, http.StatusBadRequest, "parameterValueNotValid", "after is not a cursor this server issued", []fieldError{{Field: "after", Message: err.Error()}})
		return nil, false
	}
	return &e, true
}

// eTag is the entity tag of a device version.
func eTag(version int) string { return `"v` + strconv.Itoa(version) + `"` }
