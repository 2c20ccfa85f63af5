package arcgissim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testLayer builds a small layer of n features: NAME "f<i>", RANK i%5,
// WHEN = base + i minutes.
func testLayer(t testing.TB, n int, cfg LayerConfig) *Layer {
	t.Helper()
	cfg.Name = "Things"
	cfg.GeometryType = "esriGeometryPoint"
	cfg.EditTracking = true
	cfg.Fields = []Field{
		str("NAME", 16, false),
		typed("RANK", FieldInteger, true),
		typed("WHEN", FieldDate, true),
		typed("SCORE", FieldDouble, true),
	}
	l := NewLayer(cfg)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fs := make([]Feature, n)
	for i := range fs {
		fs[i] = Feature{
			Attributes: map[string]any{"NAME": fmt.Sprintf("f%d", i+1), "RANK": int64(i % 5), "WHEN": base.Add(time.Duration(i) * time.Minute), "SCORE": float64(i) / 2},
			Geometry:   &Point{X: -87.6 + float64(i)/1e4, Y: 41.8},
		}
	}
	if err := l.Load(fs...); err != nil {
		t.Fatal(err)
	}
	return l
}

// call sends form to path with method and decodes the JSON answer,
// failing the test unless the HTTP status is 200.
func call(t *testing.T, srv *httptest.Server, method, path string, form url.Values) map[string]any {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("f", "json")
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequest(method, srv.URL+path+"?"+form.Encode(), nil)
	} else {
		req, err = http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return out
}

func errCode(m map[string]any) int {
	e, ok := m["error"].(map[string]any)
	if !ok {
		return 0
	}
	return int(e["code"].(float64))
}

const testLayerPath = "/arcgis/rest/services/Things/FeatureServer/0"

func testServer(t *testing.T, l *Layer, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	opts.Services = []Service{{Name: "Things", Layers: []*Layer{l}}}
	s := NewServer(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 3, LayerConfig{MaxRecordCount: 50})
	_, srv := testServer(t, l, Options{})
	svc := call(t, srv, http.MethodGet, "/arcgis/rest/services/Things/FeatureServer", nil)
	if !strings.Contains(svc["capabilities"].(string), "ChangeTracking") || svc["supportsApplyEditsWithGlobalIds"] != false || svc["hasStaticData"] != false {
		t.Errorf("service metadata: %v", svc)
	}
	gens := svc["changeTrackingInfo"].(map[string]any)["layerServerGens"].([]any)
	if len(gens) != 1 || gens[0].(map[string]any)["serverGen"].(float64) != 1 {
		t.Errorf("layerServerGens = %v", gens)
	}
	lyr := call(t, srv, http.MethodGet, testLayerPath, nil)
	if lyr["maxRecordCount"].(float64) != 50 || lyr["objectIdField"] != "OBJECTID" {
		t.Errorf("layer metadata: %v", lyr)
	}
	if lyr["advancedQueryCapabilities"].(map[string]any)["supportsPagination"] != true {
		t.Errorf("supportsPagination missing: %v", lyr["advancedQueryCapabilities"])
	}
	if lyr["editFieldsInfo"].(map[string]any)["editDateField"] != "EditDate" {
		t.Errorf("editFieldsInfo = %v", lyr["editFieldsInfo"])
	}
	names := []string{}
	for _, f := range lyr["fields"].([]any) {
		names = append(names, f.(map[string]any)["name"].(string))
	}
	if got := strings.Join(names, ","); got != "OBJECTID,NAME,RANK,WHEN,SCORE,CreationDate,Creator,EditDate,Editor" {
		t.Errorf("fields = %s", got)
	}
	if m := call(t, srv, http.MethodGet, "/arcgis/rest/services/Nope/FeatureServer", nil); errCode(m) != 404 {
		t.Errorf("unknown service: %v", m)
	}
	if m := call(t, srv, http.MethodGet, "/arcgis/rest/services/Things/FeatureServer/7", nil); errCode(m) != 400 {
		t.Errorf("unknown layer: %v", m)
	}
}

func TestQueryPaging(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 25, LayerConfig{MaxRecordCount: 10})
	_, srv := testServer(t, l, Options{})
	seen := map[string]bool{}
	for offset, method := 0, http.MethodGet; ; offset += 10 {
		page := call(t, srv, method, testLayerPath+"/query", url.Values{
			"where": {"RANK >= 0"}, "outFields": {"NAME,RANK"}, "orderByFields": {"OBJECTID"},
			"resultOffset": {fmt.Sprint(offset)}, "resultRecordCount": {"1000"},
		})
		fs := page["features"].([]any)
		for _, f := range fs {
			attrs := f.(map[string]any)["attributes"].(map[string]any)
			if len(attrs) != 3 {
				t.Fatalf("attributes %v, want OBJECTID, NAME and RANK", attrs)
			}
			seen[attrs["NAME"].(string)] = true
		}
		more, _ := page["exceededTransferLimit"].(bool)
		if wantMore := offset+10 < 25; more != wantMore || len(fs) != min(10, 25-offset) {
			t.Fatalf("offset %d: %d features, exceeded %v", offset, len(fs), more)
		}
		if !more {
			break
		}
		method = http.MethodPost
	}
	if len(seen) != 25 {
		t.Fatalf("paged through %d distinct features, want 25", len(seen))
	}

	page := call(t, srv, http.MethodPost, testLayerPath+"/query", url.Values{
		"where": {"RANK = 4 AND WHEN >= timestamp '2025-01-01 00:10:00'"}, "outFields": {"*"},
		"orderByFields": {"SCORE DESC"}, "returnGeometry": {"false"},
	})
	fs := page["features"].([]any)
	var got []string
	for _, f := range fs {
		if _, ok := f.(map[string]any)["geometry"]; ok {
			t.Errorf("geometry returned with returnGeometry=false")
		}
		got = append(got, f.(map[string]any)["attributes"].(map[string]any)["NAME"].(string))
	}
	if strings.Join(got, ",") != "f25,f20,f15" {
		t.Errorf("ordered names = %v, want f25,f20,f15", got)
	}

	ids := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"RANK = 0"}, "returnIdsOnly": {"true"}})
	if fmt.Sprint(ids["objectIds"]) != "[1 6 11 16 21]" || ids["objectIdFieldName"] != "OBJECTID" {
		t.Errorf("ids = %v", ids)
	}
	count := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"NAME LIKE 'f1%'"}, "returnCountOnly": {"true"}})
	if count["count"].(float64) != 11 {
		t.Errorf("count = %v, want 11", count)
	}
	byID := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"objectIds": {"3,2,99"}, "outFields": {"NAME"}})
	if n := len(byID["features"].([]any)); n != 2 {
		t.Errorf("objectIds query returned %d features, want 2", n)
	}
	if m := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"1=1"}, "geometry": {"-88,41,-87,42"}}); errCode(m) != 400 {
		t.Errorf("a spatial filter the simulator cannot apply was ignored: %v", m)
	}
	bad := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"NOPE = 1"}})
	if errCode(bad) != 400 {
		t.Errorf("bad where answered %v, want error 400 in the body", bad)
	}
}

func TestQueryWithoutPagination(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 12, LayerConfig{MaxRecordCount: 5, NoPagination: true})
	_, srv := testServer(t, l, Options{})
	page := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"1=1"}})
	if len(page["features"].([]any)) != 5 || page["exceededTransferLimit"] != true {
		t.Errorf("capped page: %d features, exceeded %v", len(page["features"].([]any)), page["exceededTransferLimit"])
	}
	if m := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"1=1"}, "resultOffset": {"5"}}); errCode(m) != 400 {
		t.Errorf("resultOffset on a layer without pagination: %v", m)
	}
	ids := call(t, srv, http.MethodGet, testLayerPath+"/query", url.Values{"where": {"1=1"}, "returnIdsOnly": {"true"}})
	if len(ids["objectIds"].([]any)) != 12 {
		t.Errorf("returnIdsOnly is not capped by maxRecordCount: %v", ids)
	}
}
