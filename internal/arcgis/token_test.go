package arcgis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/httpretry"
)

func TestTokenSharedAcrossConcurrentCalls(t *testing.T) {
	t.Parallel()
	s := newSim(t, 10, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := c.QueryCount(context.Background(), 0, arcgis.Query{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.server.TokensIssued(); n != 1 {
		t.Errorf("tokens issued = %d, want 1 shared by all calls", n)
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	s := newSim(t, 10, arcgissim.LayerConfig{}, arcgissim.Options{Auth: arcgissim.Auth{Users: secured.Users, TokenTTL: 30 * time.Minute}})
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword, TokenExpiration: 2 * time.Hour, Now: now})
	ctx := context.Background()
	if _, err := c.QueryCount(ctx, 0, arcgis.Query{}); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(20 * time.Minute))
	if _, err := c.QueryCount(ctx, 0, arcgis.Query{}); err != nil {
		t.Fatal(err)
	}
	if n := s.server.TokensIssued(); n != 1 {
		t.Fatalf("tokens issued at 20 minutes = %d, want 1", n)
	}
	offset.Store(int64(29*time.Minute + 30*time.Second)) // inside the renewal margin of the granted 30 minutes
	if _, err := c.QueryCount(ctx, 0, arcgis.Query{}); err != nil {
		t.Fatal(err)
	}
	if n := s.server.TokensIssued(); n != 2 {
		t.Fatalf("tokens issued near expiry = %d, want a renewal", n)
	}
}

func TestPublicServiceNeedsNoToken(t *testing.T) {
	t.Parallel()
	s := newSim(t, 10, arcgissim.LayerConfig{}, arcgissim.Options{})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword})
	n, err := c.QueryCount(context.Background(), 0, arcgis.Query{})
	if err != nil || n != 10 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if s.server.TokensIssued() != 0 {
		t.Errorf("a token was generated for a public service")
	}
}

func TestTokenWaitHonoursContext(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/tokens":
			close(entered)
			<-release
			_, _ = w.Write([]byte(`{"token":"t","expires":4102444800000}`))
		default:
			_, _ = w.Write([]byte(`{"count":1}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/X/FeatureServer", TokenURL: srv.URL + "/tokens",
		Username: "u", Password: "p", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := c.QueryCount(context.Background(), 0, arcgis.Query{})
		first <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.QueryCount(ctx, 0, arcgis.Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("second caller while a token is being generated: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first caller: %v", err)
	}
}

func TestRefererTokenSentWithRefererHeader(t *testing.T) {
	t.Parallel()
	// ArcGIS binds a client=referer token to that referer: every request
	// that carries the token must also carry the same HTTP Referer header,
	// or the server answers 498 inside a 200, however often the token is
	// regenerated.
	const referer = "https://citylink.example.gov"
	var generated atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch r.URL.Path {
		case "/tokens":
			if r.Form.Get("client") != "referer" || r.Form.Get("referer") != referer {
				_, _ = w.Write([]byte(`{"error":{"code":400,"message":"Unable to generate token.","details":["Invalid client type."]}}`))
				return
			}
			generated.Add(1)
			_, _ = w.Write([]byte(`{"token":"ref-token","expires":4102444800000,"ssl":true}`))
		default:
			if r.Form.Get("token") != "ref-token" || r.Header.Get("Referer") != referer {
				_, _ = w.Write([]byte(`{"error":{"code":498,"message":"Invalid token.","details":[]}}`))
				return
			}
			_, _ = w.Write([]byte(`{"count":7}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/X/FeatureServer", TokenURL: srv.URL + "/tokens",
		Username: "u", Password: "p", Referer: referer, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.QueryCount(context.Background(), 0, arcgis.Query{})
	if err != nil || n != 7 {
		t.Fatalf("count with a referer-bound token = %d, %v", n, err)
	}
	if g := generated.Load(); g != 1 {
		t.Errorf("tokens generated = %d, want 1", g)
	}
}

func TestTokenRejectedInStatusLineIsRefreshed(t *testing.T) {
	t.Parallel()
	// Some servers and proxies put 498/499 in the HTTP status line rather
	// than in a 200 body. Either way the token is dead: get a fresh one and
	// try once more, instead of failing every call until it expires.
	for _, status := range []int{498, 499} {
		var generated atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			if r.URL.Path == "/tokens" {
				n := generated.Add(1)
				_, _ = fmt.Fprintf(w, `{"token":"t%d","expires":4102444800000}`, n)
				return
			}
			if r.Form.Get("token") == "t1" {
				w.WriteHeader(status)
				_, _ = fmt.Fprintf(w, `{"error":{"code":%d,"message":"Invalid token.","details":[]}}`, status)
				return
			}
			_, _ = w.Write([]byte(`{"count":3}`))
		}))
		c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/X/FeatureServer", TokenURL: srv.URL + "/tokens",
			Username: "u", Password: "p", HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		for call := range 2 {
			if n, err := c.QueryCount(context.Background(), 0, arcgis.Query{}); err != nil || n != 3 {
				t.Errorf("HTTP %d, call %d: count %d, %v", status, call, n, err)
			}
		}
		if g := generated.Load(); g != 2 {
			t.Errorf("HTTP %d: tokens generated = %d, want 2", status, g)
		}
		srv.Close()
	}
}

func TestTokenDiscoveryFailsAtOnceOnTLSProtocolError(t *testing.T) {
	t.Parallel()
	// An https URL pointing at a plain-HTTP port: no retry can mend that,
	// so the first failure must be the last, with a message that says what
	// is wrong rather than "retries exhausted".
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{
		ServiceURL: strings.Replace(srv.URL, "http://", "https://", 1) + "/arcgis/rest/services/X/FeatureServer",
		Username:   "u", Password: "p",
		Retry: httpretry.Policy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.QueryCount(context.Background(), 0, arcgis.Query{})
	if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("err = %v, want one saying the server does not speak TLS", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("connections = %d, want 1: a TLS protocol error is not retried", n)
	}
}

func TestMetadataIsPostedWithoutTokenInURL(t *testing.T) {
	t.Parallel()
	// Reads are POSTed as forms, metadata included: a token in a URL ends
	// up in proxy and server logs.
	s := newSim(t, 3, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured})
	type seen struct{ method, query string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.RawQuery})
		mu.Unlock()
		s.server.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/DOT/FeatureServer", Username: testUser, Password: testPassword, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Service(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Layer(ctx, 0); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		if strings.Contains(r.query, "token=") {
			t.Errorf("%s with the token in the URL: %s", r.method, r.query)
		}
	}
	if n := len(got); n < 3 || got[n-1].method != http.MethodPost || got[n-2].method != http.MethodPost {
		t.Errorf("requests = %+v, want service and layer metadata POSTed", got)
	}
}
