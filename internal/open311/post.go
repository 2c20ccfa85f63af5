package open311

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/httpretry"
)

// Form encodes r as the application/x-www-form-urlencoded body of POST
// requests, with the api_key and jurisdiction_id given. One attribute value
// is sent as attribute[code]=v, several as attribute[code][]=v each.
func (r NewRequest) Form(apiKey, jurisdiction string) url.Values {
	f := url.Values{}
	set := func(k, v string) {
		if v != "" {
			f.Set(k, v)
		}
	}
	set("api_key", apiKey)
	set("jurisdiction_id", jurisdiction)
	set("service_code", r.ServiceCode)
	if r.HasLocation {
		f.Set("lat", strconv.FormatFloat(r.Lat, 'f', -1, 64))
		f.Set("long", strconv.FormatFloat(r.Long, 'f', -1, 64))
	}
	set("address_string", r.AddressString)
	set("address_id", r.AddressID)
	set("email", r.Email)
	set("device_id", r.DeviceID)
	set("account_id", r.AccountID)
	set("first_name", r.FirstName)
	set("last_name", r.LastName)
	set("phone", r.Phone)
	set("description", r.Description)
	set("media_url", r.MediaURL)
	for code, vs := range r.Attributes {
		switch len(vs) {
		case 0:
		case 1:
			f.Set("attribute["+code+"]", vs[0])
		default:
			f["attribute["+code+"][]"] = slices.Clone(vs)
		}
	}
	return f
}

// validate checks what the spec requires before anything is sent.
func (r NewRequest) validate() error {
	if r.ServiceCode == "" {
		return errors.New("open311: service code is required")
	}
	if !r.HasLocation && r.AddressString == "" && r.AddressID == "" {
		return errors.New("open311: a location is required: lat/long, address string or address id")
	}
	for code := range r.Attributes {
		if code == "" || strings.ContainsAny(code, "[]") {
			return fmt.Errorf("open311: attribute code %q is not usable in a form field", code)
		}
	}
	return nil
}

// Create files a service request (POST requests.json). A realtime service
// answers its ID, a batch service a Token (see WaitToken), a blackbox service
// neither. The POST is sent
// again only when the server provably did not take it; an outcome that is
// unknown is returned wrapping ErrMaybeCreated, and error arrays as *APIError.
func (c *Client) Create(ctx context.Context, r NewRequest) (Created, error) {
	if err := r.validate(); err != nil {
		return Created{}, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	body := r.Form(c.cfg.APIKey, c.cfg.JurisdictionID).Encode()
	var last error
	for attempt := 1; attempt <= c.cfg.Retry.MaxAttempts; attempt++ {
		created, wait, err := c.postOnce(ctx, body)
		if err == nil {
			return created, nil
		}
		last = err
		if wait < 0 {
			return Created{}, err
		}
		if attempt == c.cfg.Retry.MaxAttempts {
			break
		}
		if wait == 0 {
			wait = c.cfg.Retry.Backoff().Delay(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break
		}
		target, _ := url.Parse(c.resourceURL("requests."+string(c.cfg.Format), nil))
		c.cfg.Retry.LogRetry(ctx, http.MethodPost, httpretry.Target(target), attempt, 0, err, wait)
		if err := backoff.Sleep(ctx, wait); err != nil {
			return Created{}, fmt.Errorf("filing request: %w", err)
		}
	}
	return Created{}, last
}

// postOnce sends the POST once. wait is negative when the error is final,
// and otherwise the delay before the POST may be sent again (0: backoff).
func (c *Client) postOnce(ctx context.Context, body string) (Created, time.Duration, error) {
	// jurisdiction_id travels in the form body, with every other POST
	// parameter, and not in the query string as well.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.resourceURL("requests."+string(c.cfg.Format), nil), strings.NewReader(body))
	if err != nil {
		return Created{}, -1, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Accept", c.cfg.Format.accept())
	if lim := c.cfg.Retry.Limiter; lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return Created{}, -1, fmt.Errorf("filing request: waiting for rate limit: %w", err)
		}
	}
	resp, err := c.post.Do(req)
	if err != nil {
		if notSent(err) && ctx.Err() == nil {
			return Created{}, 0, fmt.Errorf("filing request: %w", err)
		}
		return Created{}, -1, fmt.Errorf("filing request: %w: %w", ErrMaybeCreated, err)
	}
	defer resp.Body.Close()
	answer, err := readAnswer(resp)
	var ae *APIError
	switch {
	case errors.As(err, &ae) && notProcessed(ae):
		return Created{}, ae.RetryAfter(), fmt.Errorf("filing request: %w", ae)
	case errors.As(err, &ae) && ae.Status >= 500:
		return Created{}, -1, fmt.Errorf("filing request: %w: %w", ErrMaybeCreated, ae)
	case errors.As(err, &ae):
		return Created{}, -1, fmt.Errorf("filing request: %w", ae)
	case err != nil:
		// A 2xx we could not read may still have filed the request.
		return Created{}, -1, fmt.Errorf("filing request: %w: %w", ErrMaybeCreated, err)
	}
	wire, err := decodeList[wireRequest](c.cfg.Format, answer, "request")
	if err != nil {
		return Created{}, -1, fmt.Errorf("filing request: %w: %w", ErrMaybeCreated, err)
	}
	if len(wire) == 0 {
		return Created{}, -1, fmt.Errorf("filing request: %w: answer lists no request", ErrMaybeCreated)
	}
	w := wire[0]
	return Created{
		ID: string(w.ServiceRequestID), Token: string(w.Token),
		ServiceNotice: w.ServiceNotice, AccountID: string(w.AccountID),
	}, 0, nil
}

// notProcessed reports whether an error answer says the server turned the
// request away unprocessed: 429, or 503 with Retry-After.
func notProcessed(ae *APIError) bool {
	return ae.Status == http.StatusTooManyRequests ||
		(ae.Status == http.StatusServiceUnavailable && ae.hasRetryAfter)
}

// notSent reports whether a transport error happened before the request
// could reach the server: the connection was never made.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
