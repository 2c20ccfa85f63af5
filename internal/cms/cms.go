// Package cms is the client of the streetlight central management system: the
// REST JSON API whose vocabulary follows TALQ, the smart city protocol that
// streetlight CMSs and outdoor device networks share (devices with a lamp
// actuator, lamp monitor and controller; provisioning states; lamp-monitor
// alarms with a start and an end). It knows nothing of citylink's runs and
// batches.
//
// The API (base URL plus /api/v1):
//
//	GET   /devices?since=T&after=C&limit=N&state=S[,S]   devices created or
//	      changed at or after since, in (updatedAt, id) order, paged:
//	      {"devices":[…],"nextCursor":"…","more":true}. nextCursor is the
//	      position after the page's last device; while more is true it is
//	      passed back as after for the next page, and kept after the last page
//	      it resumes the listing later with just the writes made since. Every
//	      write stamps its devices after all earlier stamps (one bulk write
//	      shares one stamp, ties break by id), so a listing misses nothing, and
//	      a device written while the listing runs shows up again later in it.
//	GET   /devices?externalId=A        the device for one asset id, if any.
//	GET   /devices/{id}                one device; ETag "v<version>".
//	POST  /devices                     create; 201. externalId (the city's
//	      asset id) is unique: a second create answers 409 resourceConflict
//	      with the existing device in the problem's "existing" member, which
//	      Create turns into that device, so creating is safe to retry.
//	PATCH /devices/{id}                JSON merge patch; If-Match optional,
//	      412 when stale; a patch that changes nothing changes no version.
//	POST  /devices/bulk                upsert up to 500 by externalId, with a
//	      result per item (created, updated, unchanged or failed with a problem).
//	GET   /alarms?since=T&after=C&limit=N&type=X&state=active|cleared
//	      alarms raised or cleared at or after since, paged like devices.
//	GET   /alarms/{id}                 one alarm.
//
// Requests carry the API key in X-API-Key. Errors are RFC 9457
// application/problem+json bodies with the TALQ error key ("payloadError",
// "resourceNotFound", "resourceConflict", …) and per-field errors; the client
// returns them as *APIError. Calls go through the shared retrying transport
// (internal/httpretry): reads are retried, and so are the writes, each of
// which is safe to repeat: create and bulk upsert are idempotent by asset id,
// a plain patch sets the same values again, and a conditional patch cannot
// land twice.
package cms

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// Options configures a Client.
type Options struct {
	// BaseURL is the CMS's address, such as https://cms.example.city; the
	// client adds /api/v1.
	BaseURL string
	// APIKey is sent in the X-API-Key header.
	APIKey string
	// Transport carries the requests under the retrying transport;
	// http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Retry is the retry and rate-limit policy for this CMS.
	Retry httpretry.Policy
	// Timeout bounds each call, retries included, within the context's own
	// deadline; 30s when zero.
	Timeout time.Duration
	// PageSize is the listing page size, 1 to 1000; 500 when zero.
	PageSize int
	// Logger receives the retry log (every retry, every give-up; see
	// httpretry.Policy.Logger) unless Retry.Logger is set; slog.Default()
	// when nil. It is the same field in every client's options.
	Logger *slog.Logger
}

// Client talks to one CMS. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	key     string
	http    *http.Client
	timeout time.Duration
	page    int
}

// MaxBulk is the most devices the CMS takes in one bulk request; BulkUpsert
// splits longer lists.
const MaxBulk = 500

// New returns a client for the CMS at opts.BaseURL.
func New(opts Options) (*Client, error) {
	opts.Retry.Logger = cmp.Or(opts.Retry.Logger, opts.Logger)
	u, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cms: base url %q is not an http(s) url", opts.BaseURL)
	}
	if opts.APIKey == "" {
		return nil, errors.New("cms: api key is required")
	}
	if opts.PageSize < 0 || opts.PageSize > 1000 {
		return nil, fmt.Errorf("cms: page size %d is not within 1 to 1000", opts.PageSize)
	}
	u.Path += "/api/v1"
	return &Client{
		base:    u,
		key:     opts.APIKey,
		http:    &http.Client{Transport: httpretry.New(opts.Transport, opts.Retry)},
		timeout: cmp.Or(opts.Timeout, 30*time.Second),
		page:    cmp.Or(opts.PageSize, 500),
	}, nil
}

// call is one API request: its method, escaped path under /api/v1, query, JSON body,
// extra headers, and whether it may be sent again after a lost answer.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	header http.Header
	safe   bool
}

// do sends a call and decodes a 2xx answer into out (when not nil). Other
// answers become *APIError.
func (c *Client) do(ctx context.Context, cl call, out any) (http.Header, error) {
	// Within the caller's deadline, not instead of it: a Lambda's context
	// always has one, minutes away.
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if cl.safe {
		ctx = httpretry.Safe(ctx)
	}
	u := *c.base
	u.RawPath = c.base.EscapedPath() + cl.path // cl.path is escaped already
	path, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("building request path: %w", err)
	}
	u.Path = path
	u.RawQuery = cl.query.Encode()
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if cl.body != nil {
		ct := "application/json"
		if cl.method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, newAPIError(req, resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("decoding answer to %s %s: %w", cl.method, cl.path, err)
		}
	}
	return resp.Header, nil
}
