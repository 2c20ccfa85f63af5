// Package arcgis is a client for ArcGIS REST feature services: layer and
// service metadata, query with full paging, applyEdits with per-feature
// results, extractChanges by server generation, and token security.
//
// It follows the ArcGIS REST API rather than any one server: errors arrive
// inside HTTP 200 bodies and become *APIError; expired (498) or missing (499)
// tokens are refreshed once, transparently, and the call retried; reads are
// POSTed as forms (no URL length limit) and marked safe for the retrying
// transport, while applyEdits with adds is never resent blindly. The client
// knows nothing of runs or batches.
package arcgis

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/httpretry"
)

// Options configures a Client.
type Options struct {
	// ServiceURL is the feature service, ending in /FeatureServer.
	ServiceURL string
	// Username and Password enable token security. Without them requests
	// carry no token.
	Username, Password string
	// TokenURL is the generateToken endpoint. When empty it is discovered
	// from the server's /rest/info authInfo.tokenServicesUrl.
	TokenURL string
	// Referer, when set, binds tokens to it (client=referer) instead of to
	// the caller's IP (client=requestip), and is sent as the Referer header
	// of every request, without which ArcGIS rejects such a token.
	Referer string
	// TokenExpiration is the lifetime asked for; the server may grant less.
	// It defaults to 60 minutes.
	TokenExpiration time.Duration
	// HTTPClient sends requests. When nil the client builds one on the
	// retrying transport with Retry.
	HTTPClient *http.Client
	// Retry is the retry policy of the default transport. Its
	// AttemptTimeout defaults to 30s, so a hung request is abandoned and
	// tried again rather than eating the whole call's timeout. Its
	// MaxAttempts, BaseDelay and MaxDelay also pace the client's own
	// retries of server failures reported inside 200 bodies, which no
	// transport can see.
	Retry httpretry.Policy
	// RequestsPerSecond, when positive and Retry.Limiter is nil, limits the
	// default transport's requests to this target, retries included.
	RequestsPerSecond float64
	// Timeout bounds each call, paging calls per page; 60s when zero.
	Timeout time.Duration
	// Logger receives the retry log (every retry, every give-up; see
	// httpretry.Policy.Logger) unless Retry.Logger is set; slog.Default()
	// when nil. It is the same field in every client's options.
	Logger *slog.Logger
	// Now is the clock used for token lifetimes; time.Now when nil.
	Now func() time.Time
}

// Client talks to one feature service. It is safe for concurrent use.
type Client struct {
	service *url.URL
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	tokens  *tokenSource // nil without credentials
	retry   httpretry.Policy
	// referer is sent as the Referer header of every request: a token
	// generated with client=referer is only honoured alongside it.
	referer string

	mu     sync.Mutex
	layers map[int]*LayerInfo
}

// New checks the options and returns a client; it does not touch the network.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.ServiceURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("arcgis: invalid service url %q", o.ServiceURL)
	}
	if !strings.HasSuffix(strings.ToLower(u.Path), "/featureserver") {
		return nil, fmt.Errorf("arcgis: service url %q does not end in /FeatureServer", o.ServiceURL)
	}
	o.Retry.Logger = cmp.Or(o.Retry.Logger, o.Logger)
	hc := o.HTTPClient
	if hc == nil {
		o.Retry.AttemptTimeout = cmp.Or(o.Retry.AttemptTimeout, 30*time.Second)
		if o.Retry.Limiter == nil && o.RequestsPerSecond > 0 {
			o.Retry.Limiter = rate.NewLimiter(rate.Limit(o.RequestsPerSecond), max(1, int(o.RequestsPerSecond)))
		}
		hc = &http.Client{Transport: httpretry.New(nil, o.Retry)}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{
		service: u,
		hc:      hc,
		timeout: cmp.Or(o.Timeout, 60*time.Second),
		log:     cmp.Or(o.Logger, slog.New(slog.DiscardHandler)),
		layers:  map[int]*LayerInfo{},
		referer: o.Referer,
		retry: httpretry.Policy{
			MaxAttempts: cmp.Or(o.Retry.MaxAttempts, 4),
			BaseDelay:   cmp.Or(o.Retry.BaseDelay, 100*time.Millisecond),
			MaxDelay:    cmp.Or(o.Retry.MaxDelay, 5*time.Second),
			Logger:      o.Retry.Logger,
		},
	}
	if o.Username != "" {
		c.tokens = &tokenSource{c: c, opts: o, sem: make(chan struct{}, 1)}
	}
	return c, nil
}

// serviceURL joins path elements onto the service URL.
func (c *Client) serviceURL(elem ...string) string {
	return c.service.JoinPath(elem...).String()
}

// call sends one request and decodes its JSON answer into out. Parameters
// go in the query string for GET and as a form body for POST. Token errors
// inside the body trigger one token refresh and a second attempt. Server
// failures inside a 200 body (codes 500-504), which the transport cannot
// see, are retried with backoff when the call is safe to repeat.
func (c *Client) call(ctx context.Context, method, endpoint string, params url.Values, safe bool, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if safe {
		ctx = httpretry.Safe(ctx)
	}
	refreshed, failures := false, 0
	for {
		form := url.Values{}
		for k, v := range params {
			form[k] = v
		}
		form.Set("f", "json")
		var tok string
		if c.tokens != nil {
			var err error
			if tok, err = c.tokens.get(ctx); err != nil {
				return err
			}
			if tok != "" {
				form.Set("token", tok)
			}
		}
		body, err := c.send(ctx, method, endpoint, form)
		if err == nil {
			err = decodeBody(body, out)
		}
		if tokenRejected(err) && c.tokens != nil && !refreshed {
			c.log.DebugContext(ctx, "arcgis token rejected, refreshing", slog.String("error", err.Error()))
			c.tokens.invalidate(tok)
			refreshed = true
			continue
		}
		var apiErr *APIError
		var httpErr *HTTPError
		if !errors.As(err, &apiErr) || errors.As(err, &httpErr) {
			return err
		}
		switch {
		case apiErr.Code >= 500 && apiErr.Code <= 504 && safe && failures+1 < c.retry.MaxAttempts:
			failures++
			wait := c.retry.Backoff().Delay(failures)
			target, _ := url.Parse(endpoint)
			c.retry.LogRetry(ctx, method, httpretry.Target(target), failures, apiErr.Code, err, wait)
			if werr := backoff.Sleep(ctx, wait); werr != nil {
				return err
			}
			continue
		}
		return err
	}
}

// tokenRejected reports whether err says the token is invalid, expired
// (498) or missing (499), whether inside a 200 body, as ArcGIS does, or in
// the HTTP status line, as some servers and proxies in front of them do.
func tokenRejected(err error) bool {
	var httpErr *HTTPError
	if errors.As(err, &httpErr) && (httpErr.StatusCode == 498 || httpErr.StatusCode == 499) {
		return true
	}
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.TokenError()
}

// send performs the HTTP exchange and returns the body of a 200 answer.
func (c *Client) send(ctx context.Context, method, endpoint string, form url.Values) ([]byte, error) {
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, method, endpoint+"?"+form.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, endpoint, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.referer != "" {
		req.Header.Set("Referer", c.referer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var rec tls.RecordHeaderError
		if errors.As(err, &rec) || errors.Is(err, http.ErrSchemeMismatch) {
			return nil, fmt.Errorf("%s does not speak TLS (an https URL for a plain-HTTP port?): %w", req.URL.Host, err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		httpErr := &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: string(body[:min(len(body), 512)])}
		if d, ok := httpretry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			httpErr.retryAfter = d
		}
		var apiErr *APIError
		if errors.As(decodeBody(body, nil), &apiErr) {
			httpErr.API = apiErr
		}
		return nil, httpErr
	}
	return body, nil
}

// decodeBody reads an ArcGIS JSON answer: an {"error":...} envelope becomes
// an *APIError, anything else is decoded into out with numbers kept exact.
func decodeBody(body []byte, out any) error {
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte(`{"error"`)) || bytes.Contains(trimmed[:min(len(trimmed), 64)], []byte(`"error"`)) {
		var env struct {
			Error *APIError `json:"error"`
		}
		if err := json.Unmarshal(trimmed, &env); err == nil && env.Error != nil {
			if env.Error.Details == nil {
				env.Error.Details = []string{}
			}
			return env.Error
		}
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}
