package citysim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func arcgisToken(t *testing.T, m map[string]any) string {
	t.Helper()
	tok, ok := m["token"].(string)
	if !ok || tok == "" {
		t.Fatalf("generateToken answered %v", m)
	}
	return tok
}

func TestArcGISTokens(t *testing.T) {
	t.Parallel()
	l := arcgisTestLayer(t, 2, ArcGISLayerConfig{})
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, srv := arcgisTestServer(t, l, ArcGISOptions{Clock: clock.Now, Auth: ArcGISAuth{Users: map[string]string{"citylink": "s3cret"}, TokenTTL: 30 * time.Minute}})

	info := arcgisCall(t, srv, http.MethodGet, "/arcgis/rest/info", nil)
	auth := info["authInfo"].(map[string]any)
	if auth["isTokenBasedSecurity"] != true || auth["tokenServicesUrl"] != srv.URL+"/arcgis/tokens/generateToken" {
		t.Errorf("authInfo = %v", auth)
	}
	if m := arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath, nil); arcgisErrCode(m) != 499 {
		t.Errorf("no token answered %v, want 499 in a 200 body", m)
	}
	if m := arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath, url.Values{"token": {"forged"}}); arcgisErrCode(m) != 498 {
		t.Errorf("unknown token answered %v, want 498", m)
	}
	if m := arcgisCall(t, srv, http.MethodPost, "/arcgis/tokens/generateToken", url.Values{"username": {"citylink"}, "password": {"wrong"}}); arcgisErrCode(m) != 400 {
		t.Errorf("bad password answered %v", m)
	}
	if m := arcgisCall(t, srv, http.MethodGet, "/arcgis/tokens/generateToken", url.Values{"username": {"citylink"}, "password": {"s3cret"}}); arcgisErrCode(m) != 405 {
		t.Errorf("generateToken over GET answered %v", m)
	}
	gen := arcgisCall(t, srv, http.MethodPost, "/sharing/rest/generateToken", url.Values{"username": {"citylink"}, "password": {"s3cret"}, "client": {"requestip"}, "expiration": {"10"}})
	tok := arcgisToken(t, gen)
	if gen["expires"].(float64) != float64(clock.Now().Add(10*time.Minute).UnixMilli()) {
		t.Errorf("expires = %v, want now + 10 minutes", gen["expires"])
	}
	if m := arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath, url.Values{"token": {tok}}); arcgisErrCode(m) != 0 {
		t.Errorf("valid token answered %v", m)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+arcgisTestLayerPath+"/query?f=json&where=1%3D1&returnCountOnly=true", nil)
	req.Header.Set("X-Esri-Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := arcgisCall(t, srv, http.MethodPost, arcgisTestLayerPath+"/applyEdits", url.Values{"token": {tok}, "adds": {`[{"attributes":{"NAME":"mine"}}]`}})
	if arcgisErrCode(res) != 0 {
		t.Fatalf("applyEdits with a token: %v", res)
	}
	f, _ := l.Get(3)
	if f.Attributes["Creator"] != "citylink" || f.Attributes["Editor"] != "citylink" {
		t.Errorf("edit tracking names %v, want the token's user", f.Attributes)
	}
	clock.Advance(10 * time.Minute)
	if m := arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath, url.Values{"token": {tok}}); arcgisErrCode(m) != 498 {
		t.Errorf("expired token answered %v, want 498", m)
	}
	if s.TokensIssued() != 1 {
		t.Errorf("TokensIssued = %d, want 1", s.TokensIssued())
	}
}

func TestArcGISTokensExpireAfterUses(t *testing.T) {
	t.Parallel()
	l := arcgisTestLayer(t, 2, ArcGISLayerConfig{})
	_, srv := arcgisTestServer(t, l, ArcGISOptions{Auth: ArcGISAuth{Users: map[string]string{"u": "p"}, ExpireAfterUses: 2}})
	tok := arcgisToken(t, arcgisCall(t, srv, http.MethodPost, "/arcgis/tokens/generateToken", url.Values{"username": {"u"}, "password": {"p"}}))
	for i, want := range []int{0, 0, 498, 498} {
		if got := arcgisErrCode(arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath, url.Values{"token": {tok}})); got != want {
			t.Errorf("use %d: error code %d, want %d", i+1, got, want)
		}
	}
}

func TestArcGISFaults(t *testing.T) {
	t.Parallel()
	l := arcgisTestLayer(t, 2, ArcGISLayerConfig{})
	_, srv := arcgisTestServer(t, l, ArcGISOptions{Faults: Faults{Seed: 7, ErrorRate: 0.5}})
	statuses := map[int]int{}
	for range 40 {
		resp, err := srv.Client().Get(srv.URL + arcgisTestLayerPath + "?f=json")
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

func TestArcGISBodyErrors(t *testing.T) {
	t.Parallel()
	l := arcgisTestLayer(t, 2, ArcGISLayerConfig{})
	_, srv := arcgisTestServer(t, l, ArcGISOptions{Seed: 3, BodyErrorRate: 0.5})
	codes := map[int]int{}
	for range 40 {
		codes[arcgisErrCode(arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath+"/query", url.Values{"where": {"1=1"}, "returnCountOnly": {"true"}}))]++
	}
	if codes[500] == 0 || codes[0] == 0 || len(codes) != 2 {
		t.Errorf("answers with BodyErrorRate 0.5: %v", codes)
	}
	if m := arcgisCall(t, srv, http.MethodGet, arcgisTestLayerPath, nil); arcgisErrCode(m) != 0 {
		t.Errorf("metadata is not an operation and never fails in the body: %v", m)
	}
}
