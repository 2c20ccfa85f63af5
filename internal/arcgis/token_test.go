package arcgis_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"

	"github.com/citylink/citylink/internal/arcgis"
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
