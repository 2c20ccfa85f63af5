package citysim

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// open311Window is the longest start_date..end_date span GET requests serves,
// and the default look-back when no dates are given.
const open311Window = 90 * 24 * time.Hour

// open311List serves GET requests.{fmt}. service_request_id (a comma list)
// overrides every other filter; otherwise service_code and status (comma
// lists) and start_date/end_date on requested_datetime filter the requests,
// the window defaults to the last 90 days and may not span more, and the most
// recent MaxResults are returned, newest first.
func (s *Open311) open311List(w http.ResponseWriter, r *http.Request, f open311Format) {
	views, msg := s.open311Select(r.URL.Query())
	if msg != "" {
		open311WriteError(w, f, http.StatusBadRequest, msg)
		return
	}
	open311WriteRequests(w, f, views)
}

// open311Select runs a GET requests query under the lock, so the answer is
// written without holding it. It returns an error description or "".
func (s *Open311) open311Select(q url.Values) ([]open311RequestView, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.open311AdvanceLocked(now)

	var views []open311RequestView
	if ids := q.Get("service_request_id"); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			if req, ok := s.byID[strings.TrimSpace(id)]; ok {
				views = append(views, open311ViewOf(req))
			}
		}
		return views, ""
	}
	codes := open311Set(q.Get("service_code")) // unknown codes simply match nothing
	statuses := open311Set(q.Get("status"))
	for st := range statuses {
		if st != "open" && st != "closed" {
			return nil, "status must be open or closed"
		}
	}
	start, end, msg := open311Range(q.Get("start_date"), q.Get("end_date"), now)
	if msg != "" {
		return nil, msg
	}
	for i := len(s.reqs) - 1; i >= 0 && len(views) < s.opts.MaxResults; i-- {
		req := s.reqs[i]
		switch {
		case req.ID == "":
		case codes != nil && !codes[req.ServiceCode]:
		case statuses != nil && !statuses[req.Status]:
		case req.Requested.Before(start) || req.Requested.After(end):
		default:
			views = append(views, open311ViewOf(req))
		}
	}
	return views, ""
}

// open311Range resolves start_date and end_date against the 90-day rule.
func open311Range(startS, endS string, now time.Time) (time.Time, time.Time, string) {
	var start, end time.Time
	var err error
	if startS != "" {
		if start, err = time.Parse(time.RFC3339, startS); err != nil {
			return start, end, "start_date must be an ISO 8601 datetime with a time zone"
		}
	}
	if endS != "" {
		if end, err = time.Parse(time.RFC3339, endS); err != nil {
			return start, end, "end_date must be an ISO 8601 datetime with a time zone"
		}
	}
	switch {
	case startS == "" && endS == "":
		end = now
		start = now.Add(-open311Window)
	case startS == "":
		start = end.Add(-open311Window)
	case endS == "":
		end = start.Add(open311Window)
	}
	if end.Before(start) {
		return start, end, "end_date is before start_date"
	}
	if end.Sub(start) > open311Window {
		return start, end, "start_date and end_date may not span more than 90 days"
	}
	return start, end, ""
}

// open311GetOne serves GET requests/{service_request_id}.{fmt}.
func (s *Open311) open311GetOne(w http.ResponseWriter, r *http.Request) {
	id, f, ok := open311SplitFormat(r.PathValue("file"))
	if !ok {
		open311WriteError(w, open311JSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.open311Jurisdiction(w, r, f) {
		return
	}
	s.mu.Lock()
	s.open311AdvanceLocked(s.opts.Now())
	req, ok := s.byID[id]
	var view open311RequestView
	if ok {
		view = open311ViewOf(req)
	}
	s.mu.Unlock()
	if !ok {
		open311WriteError(w, f, http.StatusNotFound, "service_request_id "+id+" not found")
		return
	}
	open311WriteRequests(w, f, []open311RequestView{view})
}

// open311Token serves GET tokens/{token}.{fmt}: the token with its
// service_request_id once the batch request has been processed, and the
// token alone before.
func (s *Open311) open311Token(w http.ResponseWriter, r *http.Request) {
	token, f, ok := open311SplitFormat(r.PathValue("file"))
	if !ok {
		open311WriteError(w, open311JSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.open311Jurisdiction(w, r, f) {
		return
	}
	s.mu.Lock()
	s.open311AdvanceLocked(s.opts.Now())
	req, ok := s.byToken[token]
	var view []open311PostView
	if ok {
		view = []open311PostView{{ServiceRequestID: req.ID, Token: req.Token}}
	}
	s.mu.Unlock()
	if !ok {
		open311WriteError(w, f, http.StatusNotFound, "token "+token+" not found")
		return
	}
	open311Write(w, f, view, open311RequestsXML{Requests: view})
}

func open311WriteRequests(w http.ResponseWriter, f open311Format, views []open311RequestView) {
	if views == nil {
		views = []open311RequestView{}
	}
	open311Write(w, f, views, open311RequestsXML{Requests: views})
}

// open311ViewOf renders req the way GET requests shows it.
func open311ViewOf(req *Open311Request) open311RequestView {
	v := open311RequestView{
		ServiceRequestID: req.ID, Status: req.Status, StatusNotes: req.StatusNotes,
		ServiceName: req.ServiceName, ServiceCode: req.ServiceCode, Description: req.Description,
		AgencyResponsible: req.AgencyResponsible, ServiceNotice: req.ServiceNotice,
		RequestedDatetime: open311Time(req.Requested), UpdatedDatetime: open311Time(req.Updated),
		ExpectedDatetime: open311Time(req.Expected), Address: req.Address, AddressID: req.AddressID,
		MediaURL: req.MediaURL,
	}
	if req.HasLocation {
		lat, long := req.Lat, req.Long
		v.Lat, v.Long = &lat, &long
	}
	return v
}

// open311Set parses a comma list into a set; nil for an empty list.
func open311Set(list string) map[string]bool {
	if list == "" {
		return nil
	}
	set := make(map[string]bool)
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v != "" {
			set[v] = true
		}
	}
	return set
}
