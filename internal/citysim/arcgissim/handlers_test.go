package arcgissim

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// raw sends a query form and returns the HTTP answer's body and type.
func raw(t *testing.T, url string, form url.Values) (string, string) {
	t.Helper()
	resp, err := http.PostForm(url, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, %v", resp.StatusCode, err)
	}
	return string(body), resp.Header.Get("Content-Type")
}

func TestQueryOutSR(t *testing.T) {
	t.Parallel()
	// Geometries come back in the spatial reference asked for: WGS84
	// degrees (4326) or Web Mercator metres (3857, alias 102100); others
	// are a clear error, never degrees labelled as something else.
	l := testLayer(t, 1, LayerConfig{})
	_, srv := testServer(t, l, Options{})
	point := func(sr string) (x, y float64, wkid float64, code int) {
		got := call(t, srv, http.MethodPost, testLayerPath+"/query", url.Values{"where": {"1=1"}, "outSR": {sr}, "returnGeometry": {"true"}})
		if c := errCode(got); c != 0 {
			return 0, 0, 0, c
		}
		g := got["features"].([]any)[0].(map[string]any)["geometry"].(map[string]any)
		return g["x"].(float64), g["y"].(float64), got["spatialReference"].(map[string]any)["wkid"].(float64), 0
	}
	if x, y, wkid, code := point("4326"); code != 0 || x != -87.6 || y != 41.8 || wkid != 4326 {
		t.Errorf("outSR 4326: %v %v wkid %v code %d", x, y, wkid, code)
	}
	for _, sr := range []string{"3857", "102100", `{"wkid":3857}`, `{"wkid":102100,"latestWkid":3857}`} {
		x, y, wkid, code := point(sr)
		// -87.6°, 41.8° in Web Mercator: x = R·λ, y = R·ln(tan(π/4 + φ/2)).
		if code != 0 || math.Abs(x-(-9751587.39)) > 1 || math.Abs(y-5131067.34) > 1 || (wkid != 102100 && wkid != 3857) {
			t.Errorf("outSR %s: %v %v wkid %v code %d", sr, x, y, wkid, code)
		}
	}
	for _, sr := range []string{"2263", "banana", `{"wkt":"PROJCS[...]"}`} {
		if _, _, _, code := point(sr); code != 400 {
			t.Errorf("outSR %s: code %d, want 400", sr, code)
		}
	}
}

func TestQueryFormats(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 2, LayerConfig{})
	_, srv := testServer(t, l, Options{})
	u := srv.URL + testLayerPath + "/query"
	plain, _ := raw(t, u, url.Values{"where": {"1=1"}, "outFields": {"NAME"}, "f": {"json"}})
	pretty, _ := raw(t, u, url.Values{"where": {"1=1"}, "outFields": {"NAME"}, "f": {"pjson"}})
	var a, b any
	if json.Unmarshal([]byte(plain), &a) != nil || json.Unmarshal([]byte(pretty), &b) != nil {
		t.Fatalf("json %q / pjson %q", plain, pretty)
	}
	if !strings.Contains(pretty, "\n  ") || strings.Contains(plain, "\n") {
		t.Errorf("pjson is not indented, or json is: %q", pretty)
	}
	if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b); return string(jb) }() {
		t.Errorf("pjson says something else than json")
	}
	geo, ctype := raw(t, u, url.Values{"where": {"1=1"}, "outFields": {"NAME,RANK"}, "f": {"geojson"}})
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type     string         `json:"type"`
			ID       float64        `json:"id"`
			Geometry map[string]any `json:"geometry"`
			Props    map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(geo), &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 2 {
		t.Fatalf("geojson %q: %v", geo, err)
	}
	f := fc.Features[0]
	coords, _ := f.Geometry["coordinates"].([]any)
	if f.Type != "Feature" || f.ID != 1 || f.Geometry["type"] != "Point" || len(coords) != 2 || coords[0] != -87.6 || coords[1] != 41.8 || f.Props["NAME"] != "f1" {
		t.Errorf("geojson feature %+v", f)
	}
	if !strings.HasPrefix(ctype, "application/geo+json") {
		t.Errorf("geojson content type %q", ctype)
	}
	bad, _ := raw(t, u, url.Values{"where": {"1=1"}, "f": {"kmz"}})
	if !strings.Contains(bad, `"code":400`) {
		t.Errorf("f=kmz answered %q, want an ArcGIS 400", bad)
	}
}
