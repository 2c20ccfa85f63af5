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

	"github.com/citylink/citylink/internal/testclock"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func results(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, r := range m[key].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func TestApplyEdits(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 5, LayerConfig{})
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	_, srv := testServer(t, l, Options{Clock: clock.Now})
	gen0 := l.ServerGen()

	res := call(t, srv, http.MethodPost, testLayerPath+"/applyEdits", url.Values{
		"adds":              {mustJSON(t, []any{map[string]any{"attributes": map[string]any{"NAME": "new", "RANK": 9}, "geometry": map[string]any{"x": -87.7, "y": 41.9}}})},
		"updates":           {mustJSON(t, []any{map[string]any{"attributes": map[string]any{"OBJECTID": 2, "RANK": 42}}, map[string]any{"attributes": map[string]any{"OBJECTID": 99, "RANK": 1}}})},
		"deletes":           {"3,98"},
		"rollbackOnFailure": {"false"},
		"returnEditMoment":  {"true"},
	})
	adds, updates, deletes := results(res, "addResults"), results(res, "updateResults"), results(res, "deleteResults")
	if len(adds) != 1 || adds[0]["success"] != true || adds[0]["objectId"].(float64) != 6 {
		t.Errorf("addResults = %v", adds)
	}
	if len(updates) != 2 || updates[0]["success"] != true || updates[1]["success"] != false {
		t.Fatalf("updateResults = %v", updates)
	}
	if e := updates[1]["error"].(map[string]any); e["code"].(float64) != 1011 || e["description"] != "Object is missing." {
		t.Errorf("missing object error = %v", e)
	}
	if deletes[0]["success"] != true || deletes[1]["success"] != false || deletes[1]["objectId"].(float64) != 98 {
		t.Errorf("deleteResults = %v", deletes)
	}
	if res["editMoment"].(float64) != float64(clock.Now().UnixMilli()) {
		t.Errorf("editMoment = %v", res["editMoment"])
	}
	if l.ServerGen() != gen0+1 || !l.LastEditDate().Equal(clock.Now()) || l.Count() != 5 {
		t.Errorf("after edits: gen %d (was %d), last edit %v, count %d", l.ServerGen(), gen0, l.LastEditDate(), l.Count())
	}
	f, ok := l.Get(2)
	if !ok || f.Attributes["RANK"] != int64(42) || f.Attributes["NAME"] != "f2" || f.Attributes["EditDate"] != clock.Now().UnixMilli() {
		t.Errorf("updated feature = %v", f)
	}
	if _, ok := l.Get(3); ok {
		t.Errorf("feature 3 survived its delete")
	}
	lyr := call(t, srv, http.MethodGet, testLayerPath, nil)
	if lyr["editingInfo"].(map[string]any)["lastEditDate"].(float64) != float64(clock.Now().UnixMilli()) {
		t.Errorf("editingInfo = %v", lyr["editingInfo"])
	}
}

func TestApplyEditsRollback(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 3, LayerConfig{})
	_, srv := testServer(t, l, Options{})
	gen0 := l.ServerGen()
	res := call(t, srv, http.MethodPost, testLayerPath+"/applyEdits", url.Values{
		"adds": {mustJSON(t, []any{
			map[string]any{"attributes": map[string]any{"NAME": "ok"}},
			map[string]any{"attributes": map[string]any{"NAME": "this name is far too long for the field"}},
			map[string]any{"attributes": map[string]any{"RANK": 1}},
			map[string]any{"attributes": map[string]any{"NAME": "x", "NOPE": 1}},
			map[string]any{"attributes": map[string]any{"NAME": "x", "RANK": 1.5}},
		})},
		"updates": {mustJSON(t, []any{map[string]any{"attributes": map[string]any{"OBJECTID": 1, "NAME": "renamed"}}})},
	})
	adds, updates := results(res, "addResults"), results(res, "updateResults")
	codes := []float64{}
	for _, r := range append(adds, updates...) {
		if r["success"] != false {
			t.Fatalf("an edit succeeded under a rolled-back applyEdits: %v", r)
		}
		codes = append(codes, r["error"].(map[string]any)["code"].(float64))
	}
	if fmt.Sprint(codes) != "[1003 1000 1000 1000 1000 1003]" {
		t.Errorf("error codes = %v, want rolled-back (1003) beside the failures (1000)", codes)
	}
	if f, _ := l.Get(1); f.Attributes["NAME"] != "f1" || l.Count() != 3 || l.ServerGen() != gen0 {
		t.Errorf("rollback left changes behind: %v, count %d, gen %d", f.Attributes, l.Count(), l.ServerGen())
	}
	if m := call(t, srv, http.MethodGet, testLayerPath+"/applyEdits", url.Values{"deletes": {"1"}}); errCode(m) != 405 {
		t.Errorf("applyEdits over GET answered %v", m)
	}
	if m := call(t, srv, http.MethodPost, testLayerPath+"/applyEdits", url.Values{"adds": {"not json"}}); errCode(m) != 400 {
		t.Errorf("malformed adds answered %v", m)
	}
}

func TestExtractChanges(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 4, LayerConfig{})
	_, srv := testServer(t, l, Options{})
	since := l.ServerGen()
	l.ApplyEdits(Edits{Adds: []Feature{{Attributes: map[string]any{"NAME": "born"}}}, Updates: []Feature{{Attributes: map[string]any{"OBJECTID": int64(1), "RANK": int64(7)}}}, Deletes: []int64{2}}, time.Now())
	l.ApplyEdits(Edits{Adds: []Feature{{Attributes: map[string]any{"NAME": "ephemeral"}}}}, time.Now())
	l.ApplyEdits(Edits{Deletes: []int64{6}}, time.Now())
	extract := func(form url.Values) map[string]any {
		form.Set("layers", "[0]")
		form.Set("returnInserts", "true")
		form.Set("returnUpdates", "true")
		form.Set("returnDeletes", "true")
		form.Set("dataFormat", "json")
		return call(t, srv, http.MethodPost, "/arcgis/rest/services/Things/FeatureServer/extractChanges", form)
	}
	res := extract(url.Values{"layerServerGens": {fmt.Sprintf(`[{"id":0,"serverGen":%d}]`, since)}})
	gens := res["layerServerGens"].([]any)[0].(map[string]any)
	if gens["serverGen"].(float64) != float64(l.ServerGen()) {
		t.Errorf("layerServerGens = %v, want serverGen %d", gens, l.ServerGen())
	}
	edits := res["edits"].([]any)[0].(map[string]any)["features"].(map[string]any)
	adds, updates := edits["adds"].([]any), edits["updates"].([]any)
	if len(adds) != 1 || adds[0].(map[string]any)["attributes"].(map[string]any)["NAME"] != "born" {
		t.Errorf("adds = %v", adds)
	}
	if len(updates) != 1 || updates[0].(map[string]any)["attributes"].(map[string]any)["RANK"].(float64) != 7 {
		t.Errorf("updates = %v", updates)
	}
	if fmt.Sprint(edits["deleteIds"]) != "[2]" {
		t.Errorf("deleteIds = %v, want [2] (feature 6 was born and died inside the window)", edits["deleteIds"])
	}
	ids := extract(url.Values{"serverGens": {fmt.Sprintf("[%d,%d]", since, since+1)}, "returnIdsOnly": {"true"}})
	oids := ids["edits"].([]any)[0].(map[string]any)["objectIds"].(map[string]any)
	if fmt.Sprint(oids["adds"], oids["updates"], oids["deletes"]) != "[5] [1] [2]" || ids["responseType"] != "esriDataChangesResponseTypeEditsIdsOnly" {
		t.Errorf("ids-only changes = %v", ids)
	}
	none := extract(url.Values{"layerServerGens": {fmt.Sprintf(`[{"id":0,"serverGen":%d}]`, l.ServerGen())}})
	if f := none["edits"].([]any)[0].(map[string]any)["features"].(map[string]any); len(f["adds"].([]any))+len(f["updates"].([]any))+len(f["deleteIds"].([]any)) != 0 {
		t.Errorf("changes since the current generation: %v", f)
	}
	if m := extract(url.Values{}); errCode(m) != 400 {
		t.Errorf("extractChanges without generations answered %v", m)
	}
}

func TestWithoutChangeTracking(t *testing.T) {
	t.Parallel()
	l := testLayer(t, 2, LayerConfig{})
	s := NewServer(Options{Services: []Service{{Name: "Things", Layers: []*Layer{l}, NoChangeTracking: true}}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	svc := call(t, srv, http.MethodGet, "/arcgis/rest/services/Things/FeatureServer", nil)
	if strings.Contains(svc["capabilities"].(string), "ChangeTracking") || svc["changeTrackingInfo"] != nil {
		t.Errorf("service without change tracking advertises it: %v", svc)
	}
	if lyr := call(t, srv, http.MethodGet, testLayerPath, nil); lyr["serverGens"] != nil {
		t.Errorf("layer without change tracking has serverGens: %v", lyr["serverGens"])
	}
	m := call(t, srv, http.MethodPost, "/arcgis/rest/services/Things/FeatureServer/extractChanges", url.Values{"layerServerGens": {`[{"id":0,"serverGen":1}]`}})
	if errCode(m) != 400 {
		t.Errorf("extractChanges without change tracking answered %v", m)
	}
}
