package arcgis_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
)

// replay is an httptest server answering recorded ArcGIS payloads from
// testdata by request path, and remembering what it was sent.
type replay struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms map[string][]url.Values // path -> parameters of each request
}

const replayService = "/arcgis/rest/services/Audits/FeatureServer"

func newReplay(t *testing.T, files map[string]string) *replay {
	t.Helper()
	rp := &replay{forms: map[string][]url.Values{}}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rp.mu.Lock()
		rp.forms[r.URL.Path] = append(rp.forms[r.URL.Path], r.Form)
		rp.mu.Unlock()
		name, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body = []byte(strings.ReplaceAll(string(body), "https://www.arcgis.com", rp.srv.URL))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *replay) requests(path string) []url.Values {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.forms[path]
}

func (rp *replay) client(t *testing.T, o arcgis.Options) *arcgis.Client {
	t.Helper()
	o.ServiceURL = rp.srv.URL + replayService
	o.HTTPClient = rp.srv.Client()
	c, err := arcgis.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseLayerMetadata(t *testing.T) {
	t.Parallel()
	rp := newReplay(t, map[string]string{replayService + "/0": "layer_agol.json", replayService + "/2": "layer_server_103.json"})
	c := rp.client(t, arcgis.Options{})
	ctx := context.Background()
	agol, err := c.Layer(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !agol.SupportsPagination() || agol.MaxRecordCount != 2000 || agol.ObjectIDField != "OBJECTID" || !agol.Can("changetracking") {
		t.Errorf("hosted layer: %+v", agol)
	}
	if agol.EditFieldsInfo == nil || agol.EditFieldsInfo.EditDateField != "EditDate" || agol.ServerGens == nil || agol.ServerGens.ServerGen != 4183207 {
		t.Errorf("hosted layer edit tracking: %+v %+v", agol.EditFieldsInfo, agol.ServerGens)
	}
	if !agol.LastEditDate().Equal(time.UnixMilli(1763901305120)) || agol.SupportsApplyEditsWithGlobalIds || agol.HasStaticData {
		t.Errorf("hosted layer last edit %v", agol.LastEditDate())
	}
	if f, ok := agol.Field("ASSET_ID"); !ok || f.Length != 20 || f.Type != "esriFieldTypeString" {
		t.Errorf("field asset_id = %+v, %v", f, ok)
	}
	old, err := c.Layer(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if old.SupportsPagination() || old.MaxRecordCount != 1000 || old.EditFieldsInfo != nil || !old.LastEditDate().IsZero() || old.Can("ChangeTracking") {
		t.Errorf("10.3 layer: %+v", old)
	}
}

func TestParseQueryPage(t *testing.T) {
	t.Parallel()
	rp := newReplay(t, map[string]string{replayService + "/0/query": "query_page.json"})
	c := rp.client(t, arcgis.Options{})
	fs, err := c.Query(context.Background(), 0, arcgis.Query{Where: "audit_date > timestamp '2025-11-01 00:00:00'", OutFields: []string{"asset_id", "audit_date"}, Geometry: true, Offset: 2000, Count: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if !fs.ExceededTransferLimit || len(fs.Features) != 2 || fs.ObjectIDFieldName != "OBJECTID" || fs.SpatialReference.WKID != 4326 {
		t.Fatalf("feature set = %+v", fs)
	}
	first, second := fs.Features[0], fs.Features[1]
	if id, ok := first.ObjectID("OBJECTID"); !ok || id != 9007199254740993 {
		t.Errorf("object id = %d: ids beyond 2^53 must stay exact", id)
	}
	if at, ok := first.Time("audit_date"); !ok || !at.Equal(time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("audit_date = %v", at)
	}
	if p, ok := first.Point(); !ok || p.X != -87.66318 || p.Y != 41.90357 {
		t.Errorf("point = %+v", p)
	}
	if _, ok := second.Time("audit_date"); ok {
		t.Errorf("null audit_date read as a time")
	}
	if _, ok := second.Int("nominal_watts"); ok {
		t.Errorf("null nominal_watts read as a number")
	}
	if _, ok := second.Point(); ok {
		t.Errorf("null geometry read as a point")
	}
	sent := rp.requests(replayService + "/0/query")[0]
	if sent.Get("resultOffset") != "2000" || sent.Get("resultRecordCount") != "2000" || sent.Get("outFields") != "asset_id,audit_date" ||
		sent.Get("returnGeometry") != "true" || sent.Get("f") != "json" || !strings.Contains(sent.Get("where"), "timestamp '2025-11-01") {
		t.Errorf("query parameters sent = %v", sent)
	}
}

func TestParseApplyEdits(t *testing.T) {
	t.Parallel()
	rp := newReplay(t, map[string]string{replayService + "/0/applyEdits": "applyedits_mixed.json"})
	c := rp.client(t, arcgis.Options{})
	at := time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC)
	res, err := c.ApplyEdits(context.Background(), 0, arcgis.Edits{
		Adds:    []arcgis.Feature{{Attributes: map[string]any{"asset_id": "SL-1", "audit_date": at}}, {Attributes: map[string]any{"asset_id": strings.Repeat("x", 40)}}},
		Updates: []arcgis.Feature{{Attributes: map[string]any{"OBJECTID": 50, "audit_status": "approved"}}},
		Deletes: []int64{19},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.AddResults[0].Success || res.AddResults[0].ObjectID != 618 || res.EditMoment != 1763901305120 {
		t.Errorf("add results %+v", res.AddResults)
	}
	var e *arcgis.EditError
	if !errors.As(res.AddResults[1].Err(), &e) || e.Code != 1000 || !strings.HasPrefix(e.Description, "String or binary data") {
		t.Errorf("failed add = %+v", res.AddResults[1])
	}
	if !errors.As(res.DeleteResults[0].Err(), &e) || e.Code != arcgis.EditErrObjectMissing {
		t.Errorf("failed delete = %+v", res.DeleteResults[0])
	}
	sent := rp.requests(replayService + "/0/applyEdits")[0]
	if sent.Get("rollbackOnFailure") != "false" || sent.Get("deletes") != "19" || !strings.Contains(sent.Get("adds"), `"audit_date":1763899200000`) {
		t.Errorf("applyEdits parameters sent = %v", sent)
	}
}

func TestParseExtractChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file    string
		idsOnly bool
	}{{"extractchanges.json", false}, {"extractchanges_ids.json", true}} {
		rp := newReplay(t, map[string]string{replayService + "/extractChanges": tc.file})
		c := rp.client(t, arcgis.Options{})
		ch, err := c.ExtractChanges(context.Background(), arcgis.ChangesRequest{Since: map[int]int64{0: 4183207}, IDsOnly: tc.idsOnly})
		if err != nil {
			t.Fatal(err)
		}
		gen, _ := ch.ServerGen(0)
		lc, ok := ch.Layer(0)
		if gen != 4183311 || !ok {
			t.Fatalf("%s: %+v", tc.file, ch)
		}
		if tc.idsOnly {
			if len(lc.ObjectIDs.Adds) != 1 || lc.ObjectIDs.Updates[0] != 7 || len(lc.ObjectIDs.Deletes) != 2 {
				t.Errorf("%s: ids %+v", tc.file, lc.ObjectIDs)
			}
		} else {
			if s, _ := lc.Features.Updates[0].String("audit_status"); s != "approved" || len(lc.Features.Adds) != 1 || len(lc.Features.DeleteIDs) != 2 {
				t.Errorf("%s: features %+v", tc.file, lc.Features)
			}
		}
		sent := rp.requests(replayService + "/extractChanges")[0]
		if sent.Get("layerServerGens") != `[{"id":0,"serverGen":4183207}]` || sent.Get("layers") != "[0]" || sent.Get("returnDeletes") != "true" || sent.Get("dataFormat") != "json" {
			t.Errorf("extractChanges parameters sent = %v", sent)
		}
	}
	rp := newReplay(t, map[string]string{replayService + "/extractChanges": "extractchanges_async.json"})
	if _, err := rp.client(t, arcgis.Options{}).ExtractChanges(context.Background(), arcgis.ChangesRequest{Since: map[int]int64{0: 1}}); err == nil || !strings.Contains(err.Error(), "asynchronously") {
		t.Errorf("async answer: %v", err)
	}
}

func TestParseErrorsAndTokens(t *testing.T) {
	t.Parallel()
	rp := newReplay(t, map[string]string{
		"/arcgis/rest/info":               "info_agol.json",
		"/sharing/rest/generateToken":     "generatetoken.json",
		replayService + "/0/query":        "error_400_where.json",
		replayService + "/0":              "error_498.json",
		replayService + "/1":              "error_499.json",
		"/bad/sharing/rest/generateToken": "error_generatetoken.json",
	})
	now := time.UnixMilli(1764070919000).Add(-time.Hour)
	c := rp.client(t, arcgis.Options{Username: "svc_citylink", Password: "pw", Now: func() time.Time { return now }})
	ctx := context.Background()

	_, err := c.Query(ctx, 0, arcgis.Query{Where: "nope"})
	var apiErr *arcgis.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Details[0] != "'where' parameter is invalid" {
		t.Fatalf("query error = %v", err)
	}
	tokenReqs := rp.requests("/sharing/rest/generateToken")
	if len(tokenReqs) != 1 || tokenReqs[0].Get("username") != "svc_citylink" || tokenReqs[0].Get("client") != "requestip" || tokenReqs[0].Get("expiration") != "60" {
		t.Fatalf("token requests = %v (discovered from /rest/info)", tokenReqs)
	}
	if q := rp.requests(replayService + "/0/query")[0]; !strings.HasPrefix(q.Get("token"), "3NKHt6") {
		t.Errorf("query sent token %q", q.Get("token"))
	}

	_, err = c.Layer(ctx, 0)
	if !errors.As(err, &apiErr) || apiErr.Code != 498 || !apiErr.TokenError() {
		t.Fatalf("layer behind a dead token: %v", err)
	}
	if n := len(rp.requests(replayService + "/0")); n != 2 {
		t.Errorf("requests after a 498 = %d, want 2: one refresh and one retry, never a loop", n)
	}
	if n := len(rp.requests("/sharing/rest/generateToken")); n != 2 {
		t.Errorf("token generations = %d, want 2", n)
	}
	_, err = c.Layer(ctx, 1)
	if !errors.As(err, &apiErr) || apiErr.Code != 499 {
		t.Fatalf("layer 1: %v", err)
	}

	bad := rp.client(t, arcgis.Options{Username: "u", Password: "p", TokenURL: rp.srv.URL + "/bad/sharing/rest/generateToken", Referer: "https://citylink.example"})
	_, err = bad.Layer(ctx, 0)
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Message != "Unable to generate token." {
		t.Fatalf("bad credentials: %v", err)
	}
	if r := rp.requests("/bad/sharing/rest/generateToken")[0]; r.Get("client") != "referer" || r.Get("referer") != "https://citylink.example" {
		t.Errorf("referer token request = %v", r)
	}
}

func TestHTTPErrorCarriesBodyError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":403,"message":"You do not have permissions to access this resource or perform this operation.","details":[]}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + replayService, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Service(context.Background())
	var httpErr *arcgis.HTTPError
	var apiErr *arcgis.APIError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != 403 || httpErr.Retryable() || !errors.As(err, &apiErr) || apiErr.Code != 403 {
		t.Fatalf("err = %v, want HTTP 403 carrying ArcGIS error 403", err)
	}
}

func TestLayerRejectsAnotherLayersAnswer(t *testing.T) {
	t.Parallel()
	// A proxy or a misrouted URL may answer /3 with layer 0's resource;
	// its fields and paging limits are not layer 3's.
	rp := newReplay(t, map[string]string{replayService + "/3": "layer_agol.json"})
	c := rp.client(t, arcgis.Options{})
	if info, err := c.Layer(context.Background(), 3); err == nil || !strings.Contains(err.Error(), "layer 0") {
		t.Fatalf("layer 3 answered with layer 0's resource: %+v, %v", info, err)
	}
	if _, err := c.QueryCount(context.Background(), 3, arcgis.Query{}); err == nil {
		t.Errorf("the wrong answer was remembered for layer 3")
	}
}

func TestQueryAsksForWGS84(t *testing.T) {
	t.Parallel()
	// Point reads x and y as WGS84 longitude and latitude: a layer stored
	// in a projected system would answer in its own units unless asked.
	rp := newReplay(t, map[string]string{replayService + "/0/query": "query_page.json"})
	c := rp.client(t, arcgis.Options{})
	if _, err := c.Query(context.Background(), 0, arcgis.Query{Geometry: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(context.Background(), 0, arcgis.Query{Geometry: true, OutSR: 3857}); err != nil {
		t.Fatal(err)
	}
	sent := rp.requests(replayService + "/0/query")
	if sent[0].Get("outSR") != "4326" || sent[1].Get("outSR") != "3857" {
		t.Errorf("outSR sent: %q then %q, want 4326 unless asked otherwise", sent[0].Get("outSR"), sent[1].Get("outSR"))
	}
}
