package citysim

import (
	"cmp"
	"container/heap"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// open311MaxForm bounds a POST body; service requests are small.
const open311MaxForm = 1 << 20

// open311Post serves POST requests.{fmt}: it validates the form the way the
// spec describes and files a realtime request (answering its id) or a batch
// one (answering a token).
func (s *Open311) open311Post(w http.ResponseWriter, r *http.Request) {
	name, f, ok := open311SplitFormat(r.PathValue("resource"))
	if !ok || name != "requests" {
		open311WriteError(w, open311FormatOr(f), http.StatusNotFound, "POST is served on requests.json and requests.xml only")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, open311MaxForm)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	case "multipart/form-data":
		err = r.ParseMultipartForm(open311MaxForm)
	default:
		open311WriteError(w, f, http.StatusBadRequest, "POST body must be application/x-www-form-urlencoded")
		return
	}
	if err != nil {
		open311WriteError(w, f, http.StatusBadRequest, "unreadable form: "+err.Error())
		return
	}
	form := r.PostForm
	if !s.keys[form.Get("api_key")] {
		open311WriteError(w, f, http.StatusForbidden, "api_key was not provided or is invalid")
		return
	}
	if j := form.Get("jurisdiction_id"); j != "" && j != s.opts.Jurisdiction {
		open311WriteError(w, f, http.StatusNotFound, "jurisdiction_id "+j+" not found")
		return
	}
	code := form.Get("service_code")
	if code == "" {
		open311WriteError(w, f, http.StatusBadRequest, "service_code was not provided")
		return
	}
	svc, ok := s.byCode[code]
	if !ok {
		// The spec answers 404 for resources that do not exist.
		open311WriteError(w, f, http.StatusNotFound, "service_code "+code+" was not found")
		return
	}
	req := &Open311Request{
		ServiceCode: code, ServiceName: svc.Name, Status: "open",
		Description: form.Get("description"), AgencyResponsible: "Streetlight Maintenance",
		Address: form.Get("address_string"), AddressID: form.Get("address_id"),
		MediaURL: form.Get("media_url"), AccountID: form.Get("account_id"),
	}
	if msg := open311Location(form.Get("lat"), form.Get("long"), req); msg != "" {
		open311WriteError(w, f, http.StatusBadRequest, msg)
		return
	}
	attrs, msg := open311Attributes(svc, form)
	if msg != "" {
		open311WriteError(w, f, http.StatusBadRequest, msg)
		return
	}
	req.Attributes = attrs
	req.assetID = strings.Join(attrs[Open311AttrAssetID], ",")
	if s.opts.City != nil {
		light, ok := s.opts.City.LightByAssetID(req.assetID)
		if !ok {
			open311WriteError(w, f, http.StatusBadRequest, "attribute ASSET_ID: no streetlight "+req.assetID+" in the asset register")
			return
		}
		req.Address = cmp.Or(req.Address, light.Address)
		if !req.HasLocation {
			req.Lat, req.Long, req.HasLocation = light.Lat, light.Lon, true
		}
	}

	view, dup := s.open311File(svc, req)
	if dup != "" {
		open311WriteError(w, f, http.StatusBadRequest, dup)
		return
	}
	s.opts.Logger.Info("open311 request filed", "service_code", code, "asset_id", req.assetID,
		"service_request_id", view.ServiceRequestID, "token", view.Token)
	open311Write(w, f, []open311PostView{view}, open311RequestsXML{Requests: []open311PostView{view}})
}

// open311File stores req (or finds its duplicate) and returns the answer, or
// the description of a rejected duplicate.
func (s *Open311) open311File(svc *open311Service, req *Open311Request) (open311PostView, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.open311AdvanceLocked(now)
	key := open311DupKey(req.ServiceCode, req.assetID)
	if prev, ok := s.open[key]; ok && s.opts.Duplicates != Open311DuplicatesAllow {
		ref := prev.ID
		if ref == "" {
			ref = "token " + prev.Token
		}
		if s.opts.Duplicates == Open311DuplicatesReject {
			return open311PostView{}, fmt.Sprintf(
				"duplicate request: service request %s is already open for asset %s", ref, req.assetID)
		}
		return open311PostView{
			ServiceRequestID: prev.ID, Token: prev.Token, AccountID: req.AccountID,
			ServiceNotice: "Duplicate of open service request " + ref + "; tracking that request.",
		}, ""
	}
	s.open311Insert(svc, req, now)
	view := open311PostView{
		ServiceRequestID: req.ID, Token: req.Token, ServiceNotice: req.ServiceNotice, AccountID: req.AccountID,
	}
	if svc.Type == "blackbox" {
		view.ServiceRequestID = ""
	}
	return view, ""
}

// open311Insert files req at now; the caller holds the lock.
func (s *Open311) open311Insert(svc *open311Service, req *Open311Request, now time.Time) {
	s.seq++
	req.Requested, req.Updated = now, now
	req.ServiceNotice = svc.Notice
	if svc.Type == "batch" {
		rng := rand.New(rand.NewPCG(s.opts.Seed, uint64(s.seq)))
		req.Token = fmt.Sprintf("%08x-%04x-%04x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff)
		s.byToken[req.Token] = req
	} else {
		req.ID = s.open311NextID()
		req.Expected = now.Add(time.Duration(float64(svc.Target) / s.opts.Speed))
		s.byID[req.ID] = req
	}
	open311Plan(s.opts.Seed, s.seq, svc, req, s.opts.TokenDelay, s.opts.Speed)
	s.reqs = append(s.reqs, req)
	heap.Push(&s.pending, req)
	s.open[open311DupKey(req.ServiceCode, req.assetID)] = req
	s.open311AdvanceLocked(now) // a zero token delay resolves at once
}

// open311Location reads lat/long into req; the spec requires lat and long,
// address_string or address_id. It returns an error description or "".
func open311Location(lat, long string, req *Open311Request) string {
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
	if err1 != nil || err2 != nil || la < -90 || la > 90 || lo < -180 || lo > 180 {
		return "lat and long must be WGS84 decimal degrees"
	}
	req.Lat, req.Long, req.HasLocation = la, lo, true
	return ""
}

// open311Attributes collects attribute[CODE] and attribute[CODE][] fields and
// checks them against the service definition.
func open311Attributes(svc *open311Service, form map[string][]string) (map[string][]string, string) {
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
		a, ok := svc.open311Attr(code)
		if !ok {
			return nil, "attribute " + code + " is not defined for service_code " + svc.Code
		}
		if msg := open311CheckAttr(a, vs, multi[code]); msg != "" {
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

// open311CheckAttr validates one attribute's values against its datatype.
func open311CheckAttr(a open311Attribute, vs []string, multi bool) string {
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

// open311FormatOr picks JSON for errors on resources without a known format.
func open311FormatOr(f open311Format) open311Format {
	if f == "" {
		return open311JSON
	}
	return f
}
