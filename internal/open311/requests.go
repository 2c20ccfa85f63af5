package open311

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/backoff"
)

// MaxWindow is the longest start..end span GeoReport v2 servers accept in
// one GET requests; Between splits longer spans.
const MaxWindow = 90 * 24 * time.Hour

// Request returns one service request (GET requests/{id}.json). An unknown
// id is an *APIError for which IsNotFound is true.
func (c *Client) Request(ctx context.Context, id string) (ServiceRequest, error) {
	wire, err := c.requestList(ctx, "requests/"+url.PathEscape(id), nil)
	if err != nil {
		return ServiceRequest{}, fmt.Errorf("getting request %s: %w", id, err)
	}
	for _, w := range wire {
		if string(w.ServiceRequestID) == id {
			return w.request(), nil
		}
	}
	if len(wire) == 1 {
		return wire[0].request(), nil
	}
	return ServiceRequest{}, fmt.Errorf("getting request %s: answer has %d requests and not this one", id, len(wire))
}

// RequestsByID returns the requests with the given ids, asking for at most
// IDsPerCall per GET. Ids the server does not know are absent from the
// result; the order is the server's. Requests the server adds that were not
// asked for (one that ignores service_request_id answers its default list)
// are left out, and so is a second copy of one.
func (c *Client) RequestsByID(ctx context.Context, ids []string) ([]ServiceRequest, error) {
	var out []ServiceRequest
	for start := 0; start < len(ids); start += c.cfg.IDsPerCall {
		chunk := ids[start:min(start+c.cfg.IDsPerCall, len(ids))]
		asked := make(map[string]bool, len(chunk))
		for _, id := range chunk {
			asked[id] = true
		}
		q := url.Values{"service_request_id": {strings.Join(chunk, ",")}}
		wire, err := c.requestList(ctx, "requests", q)
		if err != nil {
			return out, fmt.Errorf("getting %d requests by id: %w", len(chunk), err)
		}
		for _, w := range wire {
			if id := string(w.ServiceRequestID); asked[id] {
				delete(asked, id)
				out = append(out, w.request())
			}
		}
	}
	return out, nil
}

// Requests runs one GET requests with q. The server caps the answer (the
// spec suggests 1,000 requests) and, without dates, looks back 90 days; use
// Between to read a whole span.
func (c *Client) Requests(ctx context.Context, q Query) ([]ServiceRequest, error) {
	wire, err := c.requestList(ctx, "requests", q.values())
	if err != nil {
		return nil, fmt.Errorf("getting requests: %w", err)
	}
	out := make([]ServiceRequest, 0, len(wire))
	for _, w := range wire {
		out = append(out, w.request())
	}
	return out, nil
}

// Between returns every request matching q whose requested_datetime falls in
// [start, end], however many: it walks the span in windows the server
// accepts, and when a window's answer is full it halves the window and reads
// both halves, since the spec fixes neither the order of the answer nor which
// requests a capped answer keeps. An answer is full when it holds limit
// requests (1,000 when 0, the cap the spec suggests) or, once the server has
// been seen to cap lower than that, as many as its cap. The first answer
// larger than any before is tested once: if reading its two halves brings
// requests it did not hold, the server caps at its size; if not, answers of
// that size are complete. A full answer for a single second cannot be
// split, and is taken as it is.
//
// Dates travel in whole seconds, so the span is widened to whole seconds
// first and every window is at most MaxWindow once sent.
func (c *Client) Between(ctx context.Context, q Query, start, end time.Time, limit int) ([]ServiceRequest, error) {
	b := between{c: c, q: q, limit: cmp.Or(max(limit, 0), 1000), seen: make(map[string]bool)}
	start, end = start.Truncate(time.Second), ceilSecond(end)
	for winEnd := end; !winEnd.Before(start); {
		winStart := winEnd.Add(-MaxWindow)
		if winStart.Before(start) {
			winStart = start
		}
		if err := b.read(ctx, winStart, winEnd); err != nil {
			return b.out, err
		}
		if !winStart.After(start) {
			break
		}
		winEnd = winStart // the boundary second is read twice; seen drops repeats
	}
	return b.out, nil
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// between is the state of one Between call.
type between struct {
	c     *Client
	q     Query
	limit int
	// capped is the server's cap once an answer of that size was shown to
	// be cut short; 0 while none was. complete is the largest answer size
	// shown not to be cut short.
	capped, complete int
	seen             map[string]bool
	out              []ServiceRequest
}

// read reads the window [from, to] and, while its answers are full, its halves.
func (b *between) read(ctx context.Context, from, to time.Time) error {
	n, _, splittable, err := b.fetch(ctx, from, to)
	if err != nil {
		return err
	}
	return b.split(ctx, from, to, n, splittable)
}

// split reads the halves of [from, to], whose answer held n requests, when
// that answer may have been cut short.
func (b *between) split(ctx context.Context, from, to time.Time, n int, splittable bool) error {
	if !splittable || n == 0 {
		return nil
	}
	known := n >= b.limit || (b.capped > 0 && n >= b.capped)
	if !known && (b.capped > 0 || n <= b.complete) {
		return nil // smaller than the cap, or a size shown complete
	}
	mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
	if !mid.After(from) || !mid.Before(to) {
		return nil
	}
	n1, fresh1, ok1, err := b.fetch(ctx, from, mid)
	if err != nil {
		return err
	}
	n2, fresh2, ok2, err := b.fetch(ctx, mid, to)
	if err != nil {
		return err
	}
	if !known {
		// The test of a size never seen before: requests the answer did
		// not hold prove the server cut it short.
		if fresh1+fresh2 == 0 {
			b.complete = n
			return nil
		}
		b.capped = n
	}
	if err := b.split(ctx, from, mid, n1, ok1); err != nil {
		return err
	}
	return b.split(ctx, mid, to, n2, ok2)
}

// fetch runs one GET for [from, to] and keeps the requests not seen yet. It
// returns the answer's size, how many were new, and whether halving the
// window could tell more: not for a server that ignores the dates (or
// gives none and repeats itself).
func (b *between) fetch(ctx context.Context, from, to time.Time) (n, fresh int, splittable bool, err error) {
	wq := b.q
	wq.Start, wq.End = from, to
	page, err := b.c.Requests(ctx, wq)
	if err != nil {
		return 0, 0, false, err
	}
	honoured, dated := true, false
	for _, r := range page {
		if !r.Requested.IsZero() {
			dated = true
			// Dates travel in whole seconds: allow the rounding.
			if r.Requested.Before(from.Add(-time.Second)) || r.Requested.After(to.Add(time.Second)) {
				honoured = false
			}
		}
		if r.ID == "" || b.seen[r.ID] {
			continue
		}
		b.seen[r.ID] = true
		fresh++
		b.out = append(b.out, r)
	}
	return len(page), fresh, honoured && (dated || fresh > 0), nil
}

// values encodes q as GET requests parameters.
func (q Query) values() url.Values {
	v := url.Values{}
	if len(q.ServiceCodes) > 0 {
		v.Set("service_code", strings.Join(q.ServiceCodes, ","))
	}
	if len(q.Statuses) > 0 {
		v.Set("status", strings.Join(q.Statuses, ","))
	}
	if !q.Start.IsZero() {
		v.Set("start_date", q.Start.UTC().Format(time.RFC3339))
	}
	if !q.End.IsZero() {
		// The format keeps whole seconds; round the end up so requests in
		// its last second are not lost.
		v.Set("end_date", ceilSecond(q.End.UTC()).Format(time.RFC3339))
	}
	return v
}

// Token looks a batch token up once (GET tokens/{token}.json) and returns
// its service request id, or "" while the server has not created it yet.
func (c *Client) Token(ctx context.Context, token string) (string, error) {
	wire, err := c.requestList(ctx, "tokens/"+url.PathEscape(token), nil)
	if err != nil {
		return "", fmt.Errorf("looking up token %s: %w", token, err)
	}
	for _, w := range wire {
		if w.ServiceRequestID != "" {
			return string(w.ServiceRequestID), nil
		}
	}
	return "", nil
}

// WaitToken polls a batch token every TokenPollInterval until the server has
// created its request, and returns the id. It gives up when ctx ends.
func (c *Client) WaitToken(ctx context.Context, token string) (string, error) {
	for {
		id, err := c.Token(ctx, token)
		if err != nil || id != "" {
			return id, err
		}
		if err := backoff.Sleep(ctx, c.cfg.TokenPollInterval); err != nil {
			return "", fmt.Errorf("waiting for token %s: %w", token, err)
		}
	}
}

// request converts the wire form.
func (w wireRequest) request() ServiceRequest {
	r := ServiceRequest{
		ID: string(w.ServiceRequestID), Status: strings.ToLower(w.Status), StatusNotes: w.StatusNotes,
		ServiceName: w.ServiceName, ServiceCode: string(w.ServiceCode), Description: w.Description,
		AgencyResponsible: w.AgencyResponsible, ServiceNotice: w.ServiceNotice,
		Requested: w.RequestedDatetime.t, Updated: w.UpdatedDatetime.t,
		Expected: w.ExpectedDatetime.t, Address: w.Address, AddressID: string(w.AddressID),
		Zipcode: string(w.Zipcode), Lat: w.Lat.v, Long: w.Long.v, HasLocation: w.Lat.ok && w.Long.ok,
		MediaURL: w.MediaURL,
	}
	for name, t := range map[string]flexTime{
		"requested_datetime": w.RequestedDatetime, "updated_datetime": w.UpdatedDatetime, "expected_datetime": w.ExpectedDatetime,
	} {
		if t.bad != "" {
			if r.Unreadable == nil {
				r.Unreadable = map[string]string{}
			}
			r.Unreadable[name] = t.bad
		}
	}
	return r
}

// requestList GETs a resource answering a list of requests.
func (c *Client) requestList(ctx context.Context, resource string, q url.Values) ([]wireRequest, error) {
	body, err := c.get(ctx, resource, q)
	if err != nil {
		return nil, err
	}
	return decodeList[wireRequest](c.cfg.Format, body, "request")
}
