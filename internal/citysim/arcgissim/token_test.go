package arcgissim

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/testclock"
)

func token(t *testing.T, m map[string]any) string {
	t.Helper()
	tok, ok := m["token"].(string)
	if !ok || tok == "" {
		t.Fatalf("generateToken answered %v", m)
	}
	return tok
}

func TestTokens(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 2, LayerConfig{})
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s, srv := testServer(t, l, Options{Clock: clock.Now, Auth: Auth{Users: map[string]string{"citylink": "s3cret"}, TokenTTL: 30 * time.Minute}})

	info := call(t, srv, http.MethodGet, "/arcgis/rest/info", nil)
	auth := info["authInfo"].(map[string]any)
	if auth["isTokenBasedSecurity"] != true || auth["tokenServicesUrl"] != srv.URL+"/arcgis/tokens/generateToken" {
		t.Errorf("authInfo = %v", auth)
	}
	if m := call(t, srv, http.MethodGet, testLayerPath, nil); errCode(m) != 499 {
		t.Errorf("no token answered %v, want 499 in a 200 body", m)
	}
	if m := call(t, srv, http.MethodGet, testLayerPath, url.Values{"token": {"forged"}}); errCode(m) != 498 {
		t.Errorf("unknown token answered %v, want 498", m)
	}
	if m := call(t, srv, http.MethodPost, "/arcgis/tokens/generateToken", url.Values{"username": {"citylink"}, "password": {"wrong"}}); errCode(m) != 400 {
		t.Errorf("bad password answered %v", m)
	}
	if m := call(t, srv, http.MethodGet, "/arcgis/tokens/generateToken", url.Values{"username": {"citylink"}, "password": {"s3cret"}}); errCode(m) != 405 {
		t.Errorf("generateToken over GET answered %v", m)
	}
	gen := call(t, srv, http.MethodPost, "/sharing/rest/generateToken", url.Values{"username": {"citylink"}, "password": {"s3cret"}, "client": {"requestip"}, "expiration": {"10"}})
	tok := token(t, gen)
	if gen["expires"].(float64) != float64(clock.Now().Add(10*time.Minute).UnixMilli()) {
		t.Errorf("expires = %v, want now + 10 minutes", gen["expires"])
	}
	if m := call(t, srv, http.MethodGet, testLayerPath, url.Values{"token": {tok}}); errCode(m) != 0 {
		t.Errorf("valid token answered %v", m)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+testLayerPath+"/query?f=json&where=1%3D1&returnCountOnly=true", nil)
	req.Header.Set("X-Esri-Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := call(t, srv, http.MethodPost, testLayerPath+"/applyEdits", url.Values{"token": {tok}, "adds": {`[{"attributes":{"NAME":"mine"}}]`}})
	if errCode(res) != 0 {
		t.Fatalf("applyEdits with a token: %v", res)
	}
	f, _ := l.Get(3)
	if f.Attributes["Creator"] != "citylink" || f.Attributes["Editor"] != "citylink" {
		t.Errorf("edit tracking names %v, want the token's user", f.Attributes)
	}
	clock.Advance(10 * time.Minute)
	if m := call(t, srv, http.MethodGet, testLayerPath, url.Values{"token": {tok}}); errCode(m) != 498 {
		t.Errorf("expired token answered %v, want 498", m)
	}
	if s.TokensIssued() != 1 {
		t.Errorf("TokensIssued = %d, want 1", s.TokensIssued())
	}
}

func TestTokensExpireAfterUses(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 2, LayerConfig{})
	_, srv := testServer(t, l, Options{Auth: Auth{Users: map[string]string{"u": "p"}, ExpireAfterUses: 2}})
	tok := token(t, call(t, srv, http.MethodPost, "/arcgis/tokens/generateToken", url.Values{"username": {"u"}, "password": {"p"}}))
	for i, want := range []int{0, 0, 498, 498} {
		if got := errCode(call(t, srv, http.MethodGet, testLayerPath, url.Values{"token": {tok}})); got != want {
			t.Errorf("use %d: error code %d, want %d", i+1, got, want)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 2, LayerConfig{})
	_, srv := testServer(t, l, Options{Faults: simcity.Faults{Seed: 7, ErrorRate: 0.5}})
	statuses := map[int]int{}
	for range 40 {
		resp, err := srv.Client().Get(srv.URL + testLayerPath + "?f=json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses[resp.StatusCode]++
	}
	if statuses[http.StatusOK] == 0 || statuses[http.StatusOK] == 40 {
		t.Errorf("statuses with ErrorRate 0.5: %v", statuses)
	}
}

func TestBodyErrors(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 2, LayerConfig{})
	_, srv := testServer(t, l, Options{Seed: 3, BodyErrorRate: 0.5})
	codes := map[int]int{}
	for range 40 {
		codes[errCode(call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"1=1"}, "returnCountOnly": {"true"}}))]++
	}
	if codes[500] == 0 || codes[0] == 0 || len(codes) != 2 {
		t.Errorf("answers with BodyErrorRate 0.5: %v", codes)
	}
	if m := call(t, srv, http.MethodGet, testLayerPath, nil); errCode(m) != 0 {
		t.Errorf("metadata is not an operation and never fails in the body: %v", m)
	}
}
