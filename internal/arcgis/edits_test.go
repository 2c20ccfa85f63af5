package arcgis_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/httpretry"
)

func TestApplyEdits(t *testing.T) {
	t.Parallel()
	s := newSim(t, 10, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword})
	ctx := context.Background()
	installed := time.Date(2025, 9, 1, 6, 0, 0, 0, time.UTC)
	add := arcgis.Feature{Attributes: map[string]any{"ASSET_ID": "SL-NEW", "WATTS": 40, "INSTALLED": installed}}
	add.SetPoint(-87.65, 41.85)
	res, err := c.ApplyEdits(ctx, 0, arcgis.Edits{
		Adds:    []arcgis.Feature{add, {Attributes: map[string]any{"WATTS": 1}}}, // the second lacks its required ASSET_ID
		Updates: []arcgis.Feature{{Attributes: map[string]any{"OBJECTID": 3, "WATTS": 75}}, {Attributes: map[string]any{"OBJECTID": 999, "WATTS": 1}}},
		Deletes: []int64{4, 4000},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.AddResults[0].Success || res.AddResults[0].ObjectID != 11 || res.AddResults[1].Err() == nil {
		t.Errorf("add results = %+v", res.AddResults)
	}
	var editErr *arcgis.EditError
	if !res.UpdateResults[0].Success || !errors.As(res.UpdateResults[1].Err(), &editErr) || editErr.Code != arcgis.EditErrObjectMissing {
		t.Errorf("update results = %+v", res.UpdateResults)
	}
	if !res.DeleteResults[0].Success || res.DeleteResults[1].Success || res.DeleteResults[1].ObjectID != 4000 {
		t.Errorf("delete results = %+v", res.DeleteResults)
	}
	f, ok := s.layer.Get(11)
	if !ok || f.Attributes["INSTALLED"] != installed.UnixMilli() || f.Geometry == nil || f.Geometry.X != -87.65 || f.Attributes["Creator"] != testUser {
		t.Errorf("added feature = %+v", f)
	}
	if f, _ := s.layer.Get(3); f.Attributes["WATTS"] != int64(75) {
		t.Errorf("updated feature = %+v", f)
	}
	info, err := c.Layer(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.LastEditDate().UnixMilli() != res.EditMoment || info.EditFieldsInfo.EditDateField != "EditDate" || !info.Can("ChangeTracking") {
		t.Errorf("layer after edits: last edit %v, edit moment %d, %+v", info.LastEditDate(), res.EditMoment, info.EditFieldsInfo)
	}
}

func TestApplyEditsRollbackOnFailure(t *testing.T) {
	t.Parallel()
	s := newSim(t, 3, arcgissim.LayerConfig{}, arcgissim.Options{})
	c := newClient(t, s, arcgis.Options{})
	res, err := c.ApplyEdits(context.Background(), 0, arcgis.Edits{
		Updates:           []arcgis.Feature{{Attributes: map[string]any{"OBJECTID": 1, "WATTS": 5}}, {Attributes: map[string]any{"OBJECTID": 1, "WATTS": "five"}}},
		RollbackOnFailure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var first *arcgis.EditError
	if !errors.As(res.UpdateResults[0].Err(), &first) || first.Code != arcgis.EditErrRolledBack || res.UpdateResults[1].Success {
		t.Errorf("results = %+v", res.UpdateResults)
	}
	if f, _ := s.layer.Get(1); f.Attributes["WATTS"] != int64(50) {
		t.Errorf("rolled-back update applied: %v", f.Attributes)
	}
}

func TestApplyEditsRetriesOnlyWithoutAdds(t *testing.T) {
	t.Parallel()
	s := newSim(t, 3, arcgissim.LayerConfig{}, arcgissim.Options{Faults: simcity.Faults{Seed: 3, ErrorRate: 1}})
	c := newClient(t, s, arcgis.Options{Retry: httpretry.Policy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	ctx := context.Background()
	_, err := c.ApplyEdits(ctx, 0, arcgis.Edits{Adds: []arcgis.Feature{{Attributes: map[string]any{"ASSET_ID": "X"}}}})
	var httpErr *arcgis.HTTPError
	if !errors.As(err, &httpErr) || s.requests.Load() != 1 {
		t.Fatalf("adds: err %v after %d requests; an add must not be resent", err, s.requests.Load())
	}
	_, err = c.ApplyEdits(ctx, 0, arcgis.Edits{Updates: []arcgis.Feature{{Attributes: map[string]any{"OBJECTID": 1, "WATTS": 1}}}})
	if !errors.As(err, &httpErr) || s.requests.Load() != 5 {
		t.Fatalf("updates: err %v after %d requests; updates are idempotent and retried", err, s.requests.Load()-1)
	}
}

func TestApplyEditsUnderFaultsConverges(t *testing.T) {
	t.Parallel()
	s := newSim(t, 200, arcgissim.LayerConfig{}, arcgissim.Options{
		Auth:   arcgissim.Auth{Users: secured.Users, ExpireAfterUses: 3},
		Faults: simcity.Faults{Seed: 9, ErrorRate: 0.3, ThrottleRate: 0.1},
	})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword, Retry: fastRetry})
	ctx := context.Background()
	for start := int64(1); start <= 200; start += 50 {
		var ups []arcgis.Feature
		for id := start; id < start+50; id++ {
			ups = append(ups, arcgis.Feature{Attributes: map[string]any{"OBJECTID": id, "WATTS": 999}})
		}
		res, err := c.ApplyEdits(ctx, 0, arcgis.Edits{Updates: ups})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.UpdateResults {
			if !r.Success {
				t.Fatalf("update %d failed: %v", r.ObjectID, r.Err())
			}
		}
	}
	n, err := c.QueryCount(ctx, 0, arcgis.Query{Where: "WATTS = 999"})
	if err != nil || n != 200 {
		t.Fatalf("updated features = %d, %v; want 200", n, err)
	}
}

func TestBodyErrorsRetriedOnlyWhenSafe(t *testing.T) {
	t.Parallel()
	s := newSim(t, 3, arcgissim.LayerConfig{}, arcgissim.Options{BodyErrorRate: 1})
	c := newClient(t, s, arcgis.Options{Retry: httpretry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	ctx := context.Background()
	var apiErr *arcgis.APIError
	_, err := c.ApplyEdits(ctx, 0, arcgis.Edits{Adds: []arcgis.Feature{{Attributes: map[string]any{"ASSET_ID": "X"}}}})
	if !errors.As(err, &apiErr) || apiErr.Code != 500 || !apiErr.Retryable() || s.requests.Load() != 1 {
		t.Fatalf("adds: err %v after %d requests; want one attempt and a retryable *APIError 500", err, s.requests.Load())
	}
	_, err = c.QueryCount(ctx, 0, arcgis.Query{})
	if !errors.As(err, &apiErr) || apiErr.Code != 500 || s.requests.Load() != 4 {
		t.Fatalf("query: err %v after %d requests; want three attempts", err, s.requests.Load()-1)
	}
	if s.layer.Count() != 3 {
		t.Errorf("a failed applyEdits changed the layer")
	}
}

func TestEditErrorCodesFollowEsriTable(t *testing.T) {
	t.Parallel()
	// Esri's feature service error table: 1011 "Object is missing.", 1013
	// "Object is missing or edit denied due to ownership-based access
	// control.", 1019 "Internal error during object update.". Only the first
	// is a harmless miss; a denied edit or an internal error must never be
	// taken for one.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"updateResults":[` +
			`{"objectId":5,"success":false,"error":{"code":1019,"description":"Internal error during object update."}},` +
			`{"objectId":6,"success":false,"error":{"code":1013,"description":"Object is missing or edit denied due to ownership-based access control."}}],` +
			`"deleteResults":[{"objectId":7,"success":false,"error":{"code":1011,"description":"Object is missing."}}]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/X/FeatureServer", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.ApplyEdits(context.Background(), 0, arcgis.Edits{
		Updates: []arcgis.Feature{{Attributes: map[string]any{"OBJECTID": 5}}, {Attributes: map[string]any{"OBJECTID": 6}}},
		Deletes: []int64{7},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false} {
		var e *arcgis.EditError
		if !errors.As(res.UpdateResults[i].Err(), &e) || e.ObjectMissing() != want {
			t.Errorf("update %d: %+v read as missing, want %v", i, res.UpdateResults[i].Error, want)
		}
	}
	var e *arcgis.EditError
	if !errors.As(res.DeleteResults[0].Err(), &e) || !e.ObjectMissing() || e.Code != arcgis.EditErrObjectMissing {
		t.Errorf("delete of a missing object: %+v, want code 1011 read as missing", res.DeleteResults[0].Error)
	}
	if arcgis.EditErrObjectMissing != 1011 || arcgis.EditErrObjectMissingOrDenied != 1013 || arcgis.EditErrInternalUpdate != 1019 {
		t.Errorf("edit error codes differ from Esri's table")
	}
}
