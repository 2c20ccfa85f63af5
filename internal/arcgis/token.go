package arcgis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// tokenSource holds the current token and gets a new one from generateToken
// when it is missing, about to expire, or was rejected.
type tokenSource struct {
	c    *Client
	opts Options

	// sem serialises token work; unlike a mutex, waiting on it honours
	// the caller's context while another caller is generating a token.
	sem      chan struct{}
	mu       sync.Mutex // guards token and expires for invalidate
	tokenURL string
	token    string
	expires  time.Time
	public   bool // the server said it does not use token security
}

// tokenSkew is how long before its expiry a token is replaced, so a request
// never leaves with a token that dies on the way.
const tokenSkew = time.Minute

// get returns a valid token, generating one if needed. Concurrent callers
// wait for one generateToken call rather than each making their own.
func (ts *tokenSource) get(ctx context.Context) (string, error) {
	select {
	case ts.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for token: %w", ctx.Err())
	}
	defer func() { <-ts.sem }()
	if ts.public {
		return "", nil
	}
	ts.mu.Lock()
	tok, exp := ts.token, ts.expires
	ts.mu.Unlock()
	if tok != "" && ts.opts.Now().Add(tokenSkew).Before(exp) {
		return tok, nil
	}
	if ts.tokenURL == "" {
		u, public, err := ts.discover(ctx)
		if err != nil {
			return "", fmt.Errorf("discovering token service: %w", err)
		}
		if public {
			ts.public = true
			return "", nil
		}
		ts.tokenURL = u
	}
	tok, exp, err := ts.generate(ctx)
	if err != nil {
		return "", fmt.Errorf("generating token: %w", err)
	}
	ts.mu.Lock()
	ts.token, ts.expires = tok, exp
	ts.mu.Unlock()
	return tok, nil
}

// invalidate forgets tok if it is still the current token; a token that
// another caller already replaced is left alone.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token == tok {
		ts.token = ""
	}
}

// discover reads <root>/rest/info, where ArcGIS Server and ArcGIS Online
// publish whether tokens are needed and where to get them.
func (ts *tokenSource) discover(ctx context.Context) (string, bool, error) {
	if ts.opts.TokenURL != "" {
		return ts.opts.TokenURL, false, nil
	}
	u := *ts.c.service
	i := strings.Index(strings.ToLower(u.Path), "/rest/services")
	if i < 0 {
		return "", false, errors.New("service url has no /rest/services segment")
	}
	u.Path = u.Path[:i] + "/rest/info"
	u.RawPath = ""
	body, err := ts.c.send(httpretry.Safe(ctx), http.MethodGet, u.String(), url.Values{"f": {"json"}})
	if err != nil {
		return "", false, err
	}
	var info struct {
		AuthInfo struct {
			IsTokenBasedSecurity bool   `json:"isTokenBasedSecurity"`
			TokenServicesURL     string `json:"tokenServicesUrl"`
		} `json:"authInfo"`
	}
	if err := decodeBody(body, &info); err != nil {
		return "", false, err
	}
	if !info.AuthInfo.IsTokenBasedSecurity {
		return "", true, nil
	}
	if info.AuthInfo.TokenServicesURL == "" {
		return "", false, errors.New("server uses tokens but names no token service")
	}
	return info.AuthInfo.TokenServicesURL, false, nil
}

// generate POSTs the credentials to generateToken.
func (ts *tokenSource) generate(ctx context.Context) (string, time.Time, error) {
	minutes := int(ts.opts.TokenExpiration / time.Minute)
	if minutes <= 0 {
		minutes = 60
	}
	form := url.Values{
		"username":   {ts.opts.Username},
		"password":   {ts.opts.Password},
		"expiration": {strconv.Itoa(minutes)},
		"f":          {"json"},
	}
	if ts.opts.Referer != "" {
		form.Set("client", "referer")
		form.Set("referer", ts.opts.Referer)
	} else {
		form.Set("client", "requestip")
	}
	ctx, cancel := context.WithTimeout(ctx, ts.c.timeout)
	defer cancel()
	body, err := ts.c.send(httpretry.Safe(ctx), http.MethodPost, ts.tokenURL, form)
	if err != nil {
		return "", time.Time{}, err
	}
	var res struct {
		Token   string `json:"token"`
		Expires int64  `json:"expires"`
	}
	if err := decodeBody(body, &res); err != nil {
		return "", time.Time{}, err
	}
	if res.Token == "" {
		return "", time.Time{}, errors.New("no token in the answer")
	}
	exp := time.UnixMilli(res.Expires)
	if res.Expires == 0 {
		exp = ts.opts.Now().Add(time.Duration(minutes) * time.Minute)
	}
	return res.Token, exp, nil
}
