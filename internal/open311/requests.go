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
// result; the order is the server's.
func (c *Client) RequestsByID(ctx context.Context, ids []string) ([]ServiceRequest, error) {
	var out []ServiceRequest
	for start := 0; start < len(ids); start += c.cfg.IDsPerCall {
		chunk := ids[start:min(start+c.cfg.IDsPerCall, len(ids))]
		q := url.Values{"service_request_id": {strings.Join(chunk, ",")}}
		wire, err := c.requestList(ctx, "requests", q)
		if err != nil {
			return out, fmt.Errorf("getting %d requests by id: %w", len(chunk), err)
		}
		for _, w := range wire {
			out = append(out, w.request())
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
// requests (1,000 when 0, the cap the spec suggests) or as many as the
// largest answer seen, because a server may cap lower than the caller knows.
// A full answer for a single second cannot be split, and is taken as it is.
func (c *Client) Between(ctx context.Context, q Query, start, end time.Time, limit int) ([]ServiceRequest, error) {
	b := between{c: c, q: q, limit: cmp.Or(max(limit, 0), 1000), seen: make(map[string]bool)}
	for winEnd := end; winEnd.After(start) || winEnd.Equal(start); {
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

// between is the state of one Between call.
type between struct {
	c       *Client
	q       Query
	limit   int
	largest int // the largest answer seen: the server's cap, once reached
	seen    map[string]bool
	out     []ServiceRequest
}

// read reads the window [from, to], halving it while answers are full.
func (b *between) read(ctx context.Context, from, to time.Time) error {
	wq := b.q
	wq.Start, wq.End = from, to
	page, err := b.c.Requests(ctx, wq)
	if err != nil {
		return err
	}
	honoured, dated, fresh := true, false, 0
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
	b.largest = max(b.largest, len(page))
	if len(page) == 0 || len(page) < min(b.limit, b.largest) || !honoured || (!dated && fresh == 0) {
		// Not full, or a server that ignores the dates (or gives none and
		// repeats itself): halving cannot help.
		return nil
	}
	mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
	if !mid.After(from) || !mid.Before(to) {
		return nil
	}
	if err := b.read(ctx, from, mid); err != nil {
		return err
	}
	return b.read(ctx, mid, to)
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
		end := q.End.UTC()
		if t := end.Truncate(time.Second); !t.Equal(end) {
			end = t.Add(time.Second)
		}
		v.Set("end_date", end.Format(time.RFC3339))
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
	return ServiceRequest{
		ID: string(w.ServiceRequestID), Status: strings.ToLower(w.Status), StatusNotes: w.StatusNotes,
		ServiceName: w.ServiceName, ServiceCode: string(w.ServiceCode), Description: w.Description,
		AgencyResponsible: w.AgencyResponsible, ServiceNotice: w.ServiceNotice,
		Requested: time.Time(w.RequestedDatetime), Updated: time.Time(w.UpdatedDatetime),
		Expected: time.Time(w.ExpectedDatetime), Address: w.Address, AddressID: string(w.AddressID),
		Zipcode: string(w.Zipcode), Lat: w.Lat.v, Long: w.Long.v, HasLocation: w.Lat.ok && w.Long.ok,
		MediaURL: w.MediaURL,
	}
}

// requestList GETs a resource answering a list of requests.
func (c *Client) requestList(ctx context.Context, resource string, q url.Values) ([]wireRequest, error) {
	body, err := c.get(ctx, resource, q)
	if err != nil {
		return nil, err
	}
	return decodeList[wireRequest](c.cfg.Format, body, "request")
}
