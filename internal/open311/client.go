// Package open311 is a client for Open311 GeoReport v2 servers
// (wiki.open311.org/GeoReport_v2): the service list and definitions, filing
// service requests with form-encoded POSTs (attribute[code] answers
// included), resolving batch tokens, and reading requests back by id or by
// filter. It speaks JSON or XML; error arrays come back as *APIError.
//
// Reads are retried by the httpretry transport. Filing a request is not
// idempotent, so a POST is only sent again when the server provably did not
// take it (the connection was refused, or it answered 429, or 503 with
// Retry-After); any other failure is reported as ErrMaybeCreated for the
// caller to reconcile.
package open311

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// Options configures a Client. Its shape is the one every citylink client's
// options share: the endpoint and credentials, Transport under the retrying
// transport, Retry (an httpretry.Policy) and Timeout.
type Options struct {
	// BaseURL is the endpoint URL from the server's discovery document,
	// e.g. https://311.example.gov/open311/v2. Resources are appended to it.
	BaseURL string
	// APIKey is sent with every POST, as the spec requires.
	APIKey string
	// JurisdictionID is sent with every call when set; servers that host
	// several jurisdictions require it.
	JurisdictionID string
	// Format is JSON (the default) or XML, for servers that serve only the
	// format the spec makes mandatory.
	Format Format
	// Transport is the base RoundTripper under the retrying transport
	// (http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Retry is the retry and rate-limit policy of every call.
	Retry httpretry.Policy
	// Timeout bounds each call whose context has no earlier deadline
	// (default 30s).
	Timeout time.Duration
	// TokenPollInterval is the pause between token lookups in WaitToken
	// (default 2s).
	TokenPollInterval time.Duration
	// IDsPerCall is how many service_request_ids one GET requests names
	// (default 50, which keeps URLs short).
	IDsPerCall int
	// Logger receives the retry log (every retry, every give-up; see
	// httpretry.Policy.Logger) unless Retry.Logger is set; slog.Default()
	// when nil. It is the same field in every client's options.
	Logger *slog.Logger
}

// Config is the former name of Options, kept while callers move.
type Config = Options

// Client talks to one Open311 GeoReport v2 endpoint. It is safe for
// concurrent use.
type Client struct {
	base *url.URL
	cfg  Options
	http *http.Client
	// post sends POST requests.json: one attempt per call, the rate limit
	// waited by Create itself, so a request that never left is known.
	post *http.Client
}

// New returns a Client for cfg.
func New(cfg Options) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("open311: base URL %q is not an absolute URL", cfg.BaseURL)
	}
	switch cfg.Format {
	case "":
		cfg.Format = JSON
	case JSON, XML:
	default:
		return nil, fmt.Errorf("open311: format %q is neither json nor xml", cfg.Format)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, 30*time.Second)
	cfg.TokenPollInterval = cmp.Or(cfg.TokenPollInterval, 2*time.Second)
	cfg.IDsPerCall = cmp.Or(cfg.IDsPerCall, 50)
	cfg.Retry.MaxAttempts = cmp.Or(cfg.Retry.MaxAttempts, 4)
	cfg.Retry.BaseDelay = cmp.Or(cfg.Retry.BaseDelay, 100*time.Millisecond)
	cfg.Retry.MaxDelay = cmp.Or(cfg.Retry.MaxDelay, 5*time.Second)
	cfg.Retry.Logger = cmp.Or(cfg.Retry.Logger, cfg.Logger)
	return &Client{
		base: base,
		cfg:  cfg,
		http: &http.Client{Transport: httpretry.New(cfg.Transport, cfg.Retry)},
		post: &http.Client{Transport: httpretry.New(cfg.Transport, httpretry.Policy{
			MaxAttempts: 1, AttemptTimeout: cfg.Retry.AttemptTimeout, Logger: cfg.Retry.Logger,
		})},
	}, nil
}

// resource returns the URL of name (e.g. "services.json"), whose path
// segments are already escaped, with query q and the jurisdiction added.
func (c *Client) resource(name string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if c.cfg.JurisdictionID != "" {
		q.Set("jurisdiction_id", c.cfg.JurisdictionID)
	}
	return c.resourceURL(name, q)
}

// resourceURL returns the URL of name with exactly the query q.
func (c *Client) resourceURL(name string, q url.Values) string {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + "/" + name
	if p, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = p
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// withTimeout applies the configured per-call timeout.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// Services returns the server's service list.
func (c *Client) Services(ctx context.Context) ([]Service, error) {
	body, err := c.get(ctx, "services", nil)
	if err != nil {
		return nil, fmt.Errorf("getting services: %w", err)
	}
	wire, err := decodeList[wireService](c.cfg.Format, body, "service")
	if err != nil {
		return nil, fmt.Errorf("getting services: %w", err)
	}
	out := make([]Service, 0, len(wire))
	for _, w := range wire {
		out = append(out, Service{
			Code: string(w.ServiceCode), Name: w.ServiceName, Description: w.Description,
			Metadata: bool(w.Metadata), Type: w.Type, Keywords: w.Keywords, Group: w.Group,
		})
	}
	return out, nil
}

// ServiceDefinition returns the attributes of one service.
func (c *Client) ServiceDefinition(ctx context.Context, code string) (ServiceDefinition, error) {
	body, err := c.get(ctx, "services/"+url.PathEscape(code), nil)
	if err != nil {
		return ServiceDefinition{}, fmt.Errorf("getting service definition %s: %w", code, err)
	}
	w, err := decodeOne[wireDefinition](c.cfg.Format, body)
	if err != nil {
		return ServiceDefinition{}, fmt.Errorf("getting service definition %s: %w", code, err)
	}
	d := ServiceDefinition{ServiceCode: cmp.Or(string(w.ServiceCode), code)}
	for _, a := range w.Attributes {
		attr := Attribute{
			Variable: bool(a.Variable), Code: string(a.Code), Datatype: a.Datatype,
			Required: bool(a.Required), DatatypeDescription: a.DatatypeDescription,
			Order: int(a.Order.v), Description: a.Description,
		}
		for _, v := range a.Values {
			attr.Values = append(attr.Values, AttributeValue{Key: string(v.Key), Name: v.Name})
		}
		d.Attributes = append(d.Attributes, attr)
	}
	return d, nil
}
