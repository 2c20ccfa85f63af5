package open311sim

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxForm bounds a POST body; service requests are small.
const maxForm = 1 << 20

// Bounds of free-text fields: the spec limits description to 4,000
// characters; it names no limit for address_string, and a street address
// fits in the 255 a database column commonly holds.
const (
	maxDescription = 4000
	maxAddress     = 255
)

// post serves POST requests.{fmt}: it validates the form the way the
// spec describes and files a realtime request (answering its id) or a batch
// one (answering a token).
func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	name, f, ok := splitFormat(r.PathValue("resource"))
	if !ok || name != "requests" {
		writeError(w, formatOr(f), http.StatusNotFound, "POST is served on requests.json and requests.xml only")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	case "multipart/form-data":
		err = r.ParseMultipartForm(maxForm)
	default:
		writeError(w, f, http.StatusBadRequest, "POST body must be application/x-www-form-urlencoded")
		return
	}
	if err != nil {
		writeError(w, f, http.StatusBadRequest, "unreadable form: "+err.Error())
		return
	}
	form := r.PostForm
	if !s.keys[form.Get("api_key")] {
		writeError(w, f, http.StatusForbidden, "api_key was not provided or is invalid")
		return
	}
	if j := form.Get("jurisdiction_id"); j != "" && j != s.opts.Jurisdiction {
		writeError(w, f, http.StatusNotFound, "jurisdiction_id "+j+" not found")
		return
	}
	for _, b := range []struct {
		field string
		max   int
	}{{"address_string", maxAddress}, {"description", maxDescription}} {
		if n := utf8.RuneCountInString(form.Get(b.field)); n > b.max {
			writeError(w, f, http.StatusBadRequest, fmt.Sprintf("%s of %d characters is longer than %d", b.field, n, b.max))
			return
		}
	}
	code := form.Get("service_code")
	if code == "" {
		writeError(w, f, http.StatusBadRequest, "service_code was not provided")
		return
	}
	svc, ok := s.byCode[code]
	if !ok {
		// The spec answers 404 for resources that do not exist.
		writeError(w, f, http.StatusNotFound, "service_code "+code+" was not found")
		return
	}
	req := &Request{
		ServiceCode: code, ServiceName: svc.Name, Status: "open",
		Description: form.Get("description"), AgencyResponsible: "Streetlight Maintenance",
		Address: form.Get("address_string"), AddressID: form.Get("address_id"),
		MediaURL: form.Get("media_url"), AccountID: form.Get("account_id"),
	}
	if msg := location(form.Get("lat"), form.Get("long"), req); msg != "" {
		writeError(w, f, http.StatusBadRequest, msg)
		return
	}
	attrs, msg := attributes(svc, form)
	if msg != "" {
		writeError(w, f, http.StatusBadRequest, msg)
		return
	}
	req.Attributes = attrs
	req.assetID = strings.Join(attrs[AttrAssetID], ",")
	if s.opts.City != nil {
		light, ok := s.opts.City.LightByAssetID(req.assetID)
		if !ok {
			writeError(w, f, http.StatusBadRequest, "attribute ASSET_ID: no streetlight "+req.assetID+" in the asset register")
			return
		}
		req.Address = cmp.Or(req.Address, light.Address)
		if !req.HasLocation {
			req.Lat, req.Long, req.HasLocation = light.Lat, light.Lon, true
		}
	}

	view, dup := s.file(svc, req)
	if dup != "" {
		writeError(w, f, http.StatusBadRequest, dup)
		return
	}
	s.opts.Logger.Info("open311 request filed", "service_code", code, "asset_id", req.assetID,
		"service_request_id", view.ServiceRequestID, "token", view.Token)
	write(w, f, []postView{view}, requestsXML{Requests: []postView{view}})
}

// file stores req (or finds its duplicate) and returns the answer, or
// the description of a rejected duplicate.
func (s *Server) file(svc *service, req *Request) (postView, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advanceLocked(now)
	key := dupKey(req.ServiceCode, req.assetID)
	if prev, ok := s.open[key]; ok && s.opts.Duplicates != DuplicatesAllow {
		ref := prev.ID
		if ref == "" {
			ref = "token " + prev.Token
		}
		if s.opts.Duplicates == DuplicatesReject {
			return postView{}, fmt.Sprintf(
				"duplicate request: service request %s is already open for asset %s", ref, req.assetID)
		}
		return postView{
			ServiceRequestID: prev.ID, Token: prev.Token, AccountID: req.AccountID,
			ServiceNotice: "Duplicate of open service request " + ref + "; tracking that request.",
		}, ""
	}
	s.insert(svc, req, now)
	view := postView{
		ServiceRequestID: req.ID, Token: req.Token, ServiceNotice: req.ServiceNotice, AccountID: req.AccountID,
	}
	if svc.Type == "blackbox" {
		view.ServiceRequestID = ""
	}
	return view, ""
}

// insert files req at now; the caller holds the lock.
func (s *Server) insert(svc *service, req *Request, now time.Time) {
	s.seq++
	req.Requested, req.Updated = now, now
	req.ServiceNotice = svc.Notice
	if svc.Type == "batch" {
		rng := rand.New(rand.NewPCG(s.opts.Seed, uint64(s.seq)))
		req.Token = fmt.Sprintf("%08x-%04x-%04x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff)
		s.byToken[req.Token] = req
	} else {
		req.ID = s.nextID()
		req.Expected = now.Add(time.Duration(float64(svc.Target) / s.opts.Speed))
		s.byID[req.ID] = req
	}
	plan(s.opts.Seed, s.seq, svc, req, s.opts.TokenDelay, s.opts.Speed)
	s.reqs = append(s.reqs, req)
	heap.Push(&s.pending, req)
	s.open[dupKey(req.ServiceCode, req.assetID)] = req
	s.advanceLocked(now) // a zero token delay resolves at once
}

// location reads lat/long into req; the spec requires lat and long,
// address_string or address_id. It returns an error description or "".
func location(lat, long string, req *Request) string {
	if lat == "" && long == "" {
		if req.Address == "" && req.AddressID == "" {
			return "a location is required: lat and long, address_string or address_id"
		}
		return ""
	}
	if lat == "" || long == "" {
		return "lat and long must be given together"
	}
	la, err1 := strconv.ParseFloat(lat, 64)
	lo, err2 := strconv.ParseFloat(long, 64)
	// NaN passes every range check (all its comparisons are false) and no
	// encoder can write it back: refuse non-finite values by name.
	if err1 != nil || err2 != nil || math.IsNaN(la) || math.IsNaN(lo) || math.IsInf(la, 0) || math.IsInf(lo, 0) ||
		la < -90 || la > 90 || lo < -180 || lo > 180 {
		return "lat and long must be WGS84 decimal degrees"
	}
	req.Lat, req.Long, req.HasLocation = la, lo, true
	return ""
}

// attributes collects attribute[CODE] and attribute[CODE][] fields and
// checks them against the service definition.
func attributes(svc *service, form map[string][]string) (map[string][]string, string) {
	attrs := make(map[string][]string)
	multi := make(map[string]bool)
	for k, vs := range form {
		rest, ok := strings.CutPrefix(k, "attribute[")
		if !ok {
			continue
		}
		code, tail, ok := strings.Cut(rest, "]")
		if !ok || code == "" || (tail != "" && tail != "[]") {
			return nil, "malformed attribute field " + k
		}
		multi[code] = multi[code] || tail == "[]"
		attrs[code] = append(attrs[code], vs...)
	}
	for code, vs := range attrs {
		a, ok := svc.attr(code)
		if !ok {
			return nil, "attribute " + code + " is not defined for service_code " + svc.Code
		}
		if msg := checkAttr(a, vs, multi[code]); msg != "" {
			return nil, msg
		}
	}
	for _, a := range svc.Attributes {
		if a.Required && a.Variable && len(slices.DeleteFunc(slices.Clone(attrs[a.Code]), func(v string) bool { return v == "" })) == 0 {
			return nil, "attribute " + a.Code + " is required: " + a.Description
		}
	}
	return attrs, ""
}

// checkAttr validates one attribute's values against its datatype.
func checkAttr(a attribute, vs []string, multi bool) string {
	if a.Datatype != "multivaluelist" && (multi || len(vs) > 1) {
		return "attribute " + a.Code + " takes a single value"
	}
	for _, v := range vs {
		switch a.Datatype {
		case "number":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return "attribute " + a.Code + " must be a number"
			}
		case "datetime":
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return "attribute " + a.Code + " must be an ISO 8601 datetime with a time zone"
			}
		case "singlevaluelist", "multivaluelist":
			if !a.hasKey(v) {
				return "attribute " + a.Code + " has no value " + strconv.Quote(v)
			}
		}
	}
	return ""
}

// formatOr picks JSON for errors on resources without a known format.
func formatOr(f format) format {
	if f == "" {
		return formatJSON
	}
	return f
}
