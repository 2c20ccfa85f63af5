package citysim

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

// cmsProblemBody is an RFC 9457 problem with the TALQ error key.
type cmsProblemBody struct {
	Type     string          `json:"type"`
	Title    string          `json:"title"`
	Status   int             `json:"status"`
	Detail   string          `json:"detail,omitempty"`
	Key      string          `json:"key"`
	Errors   []cmsFieldError `json:"errors,omitempty"`
	Existing *cmsDevice      `json:"existing,omitempty"`
}

func cmsNewProblem(status int, key, detail string, errs []cmsFieldError) *cmsProblemBody {
	return &cmsProblemBody{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Key: key, Errors: errs}
}

// cmsProblem answers a problem.
func cmsProblem(w http.ResponseWriter, status int, key, detail string, errs []cmsFieldError) {
	cmsWriteProblem(w, cmsNewProblem(status, key, detail, errs))
}

func cmsWriteProblem(w http.ResponseWriter, p *cmsProblemBody) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// cmsLostReply answers as a gateway that gave up after the write went through.
func cmsLostReply(w http.ResponseWriter) {
	cmsProblem(w, http.StatusServiceUnavailable, "genericError", "upstream timed out", nil)
}

// cmsMaxBody bounds request bodies; a full bulk request is well under it.
const cmsMaxBody = 8 << 20

// cmsDecode reads a JSON request body into v, rejecting unknown fields and
// trailing data.
func cmsDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, cmsMaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil {
		cmsProblem(w, http.StatusBadRequest, "payloadError", "invalid JSON body: "+err.Error(), nil)
		return false
	}
	return true
}

// cmsListParams are the paging parameters shared by the listings.
type cmsListParams struct {
	since int64 // Unix microseconds
	after string
	limit int
}

// Page sizes of the listings.
const (
	cmsDefaultLimit = 500
	cmsMaxLimit     = 1000
	cmsMaxBulk      = 500
)

// cmsParseList reads since, after and limit, answering 400 itself when one is
// malformed.
func cmsParseList(w http.ResponseWriter, q url.Values) (cmsListParams, bool) {
	p := cmsListParams{since: -1 << 62, after: q.Get("after"), limit: cmsDefaultLimit}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			cmsProblem(w, http.StatusBadRequest, "parameterValueNotValid", "since must be an RFC 3339 time", []cmsFieldError{{Field: "since", Message: err.Error()}})
			return p, false
		}
		p.since = t.UnixMicro()
		if t.Sub(time.UnixMicro(p.since)) > 0 {
			p.since++ // a sub-microsecond since excludes the microsecond it falls in
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > cmsMaxLimit {
			cmsProblem(w, http.StatusBadRequest, "parameterValueNotValid", fmt.Sprintf("limit must be 1 to %d", cmsMaxLimit), []cmsFieldError{{Field: "limit", Message: "out of range"}})
			return p, false
		}
		p.limit = n
	}
	return p, true
}

// cmsCursorFor decodes the after cursor against ids made with prefix and
// width, answering 400 itself when it is malformed.
func cmsCursorFor(w http.ResponseWriter, p cmsListParams, prefix string, width, count int) (*cmsLogEntry, bool) {
	if p.after == "" {
		return nil, true
	}
	e, err := cmsDecodeCursor(p.after, func(id string) (int32, bool) { return cmsParseID(id, prefix, width, count) })
	if err != nil {
		cmsProblem(w, http.StatusBadRequest, "parameterValueNotValid", "after is not a cursor this server issued", []cmsFieldError{{Field: "after", Message: err.Error()}})
		return nil, false
	}
	return &e, true
}

// cmsETag is the entity tag of a device version.
func cmsETag(version int) string { return `"v` + strconv.Itoa(version) + `"` }
