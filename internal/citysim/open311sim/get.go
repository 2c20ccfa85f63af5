package open311sim

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// window is the longest start_date..end_date span GET requests serves,
// and the default look-back when no dates are given.
const window = 90 * 24 * time.Hour

// list serves GET requests.{fmt}. service_request_id (a comma list)
// overrides every other filter; otherwise service_code and status (comma
// lists) and start_date/end_date on requested_datetime filter the requests,
// the window defaults to the last 90 days and may not span more, and the most
// recent MaxResults are returned, newest first.
func (s *Server) list(w http.ResponseWriter, r *http.Request, f format) {
	views, msg := s.selectRequests(r.URL.Query())
	if msg != "" {
		writeError(w, f, http.StatusBadRequest, msg)
		return
	}
	writeRequests(w, f, views)
}

// select runs a GET requests query under the lock, so the answer is
// written without holding it. It returns an error description or "".
func (s *Server) selectRequests(q url.Values) ([]requestView, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advanceLocked(now)

	var views []requestView
	if ids := q.Get("service_request_id"); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			if req, ok := s.byID[strings.TrimSpace(id)]; ok {
				views = append(views, viewOf(req))
			}
		}
		return views, ""
	}
	codes := setOf(q.Get("service_code")) // unknown codes simply match nothing
	statuses := setOf(q.Get("status"))
	for st := range statuses {
		if st != "open" && st != "closed" {
			return nil, "status must be open or closed"
		}
	}
	start, end, msg := parseRange(q.Get("start_date"), q.Get("end_date"), now)
	if msg != "" {
		return nil, msg
	}
	for i := len(s.reqs) - 1; i >= 0 && len(views) < s.opts.MaxResults; i-- {
		req := s.reqs[i]
		switch {
		case req.ID == "":
		case codes != nil && !codes[req.ServiceCode]:
		case statuses != nil && !statuses[req.Status]:
		// Compared at the second it is published to: a request filed at
		// 09:00:00.250 reads as 09:00:00Z and is in a window ending there.
		case req.Requested.Truncate(time.Second).Before(start) || req.Requested.Truncate(time.Second).After(end):
		default:
			views = append(views, viewOf(req))
		}
	}
	return views, ""
}

// parseRange resolves start_date and end_date against the 90-day rule.
func parseRange(startS, endS string, now time.Time) (time.Time, time.Time, string) {
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
		start = now.Add(-window)
	case startS == "":
		start = end.Add(-window)
	case endS == "":
		end = start.Add(window)
	}
	if end.Before(start) {
		return start, end, "end_date is before start_date"
	}
	if end.Sub(start) > window {
		return start, end, "start_date and end_date may not span more than 90 days"
	}
	return start, end, ""
}

// getOne serves GET requests/{service_request_id}.{fmt}.
func (s *Server) getOne(w http.ResponseWriter, r *http.Request) {
	id, f, ok := splitFormat(r.PathValue("file"))
	if !ok {
		writeError(w, formatJSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.jurisdiction(w, r, f) {
		return
	}
	s.mu.Lock()
	s.advanceLocked(s.opts.Now())
	req, ok := s.byID[id]
	var view requestView
	if ok {
		view = viewOf(req)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, f, http.StatusNotFound, "service_request_id "+id+" not found")
		return
	}
	writeRequests(w, f, []requestView{view})
}

// token serves GET tokens/{token}.{fmt}: the token with its
// service_request_id once the batch request has been processed, and the
// token alone before.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	token, f, ok := splitFormat(r.PathValue("file"))
	if !ok {
		writeError(w, formatJSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.jurisdiction(w, r, f) {
		return
	}
	s.mu.Lock()
	s.advanceLocked(s.opts.Now())
	req, ok := s.byToken[token]
	var view []postView
	if ok {
		view = []postView{{ServiceRequestID: req.ID, Token: req.Token}}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, f, http.StatusNotFound, "token "+token+" not found")
		return
	}
	write(w, f, view, requestsXML{Requests: view})
}

func writeRequests(w http.ResponseWriter, f format, views []requestView) {
	if views == nil {
		views = []requestView{}
	}
	write(w, f, views, requestsXML{Requests: views})
}

// viewOf renders req the way GET requests shows it.
func viewOf(req *Request) requestView {
	v := requestView{
		ServiceRequestID: req.ID, Status: req.Status, StatusNotes: req.StatusNotes,
		ServiceName: req.ServiceName, ServiceCode: req.ServiceCode, Description: req.Description,
		AgencyResponsible: req.AgencyResponsible, ServiceNotice: req.ServiceNotice,
		RequestedDatetime: formatTime(req.Requested), UpdatedDatetime: formatTime(req.Updated),
		ExpectedDatetime: formatTime(req.Expected), Address: req.Address, AddressID: req.AddressID,
		MediaURL: req.MediaURL,
	}
	if req.HasLocation {
		lat, long := req.Lat, req.Long
		v.Lat, v.Long = &lat, &long
	}
	return v
}

// setOf parses a comma list into a set; nil for an empty list.
func setOf(list string) map[string]bool {
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
