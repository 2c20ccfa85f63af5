package arcgis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/arcgis"
)

func TestExtractChanges(t *testing.T) {
	t.Parallel()
	s := newSim(t, 20, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured, Faults: simcity.Faults{Seed: 5, ErrorRate: 0.3}})
	c := newClient(t, s, arcgis.Options{Username: testUser, Password: testPassword, Retry: fastRetry})
	ctx := context.Background()
	svc, err := c.Service(ctx)
	if err != nil {
		t.Fatal(err)
	}
	since, ok := svc.ServerGen(0)
	if !ok || !svc.Can("ChangeTracking") {
		t.Fatalf("service info lacks change tracking: %+v", svc)
	}
	s.layer.ApplyEdits(arcgissim.Edits{
		Adds:    []arcgissim.Feature{{Attributes: map[string]any{"ASSET_ID": "SL-NEW"}}},
		Updates: []arcgissim.Feature{{Attributes: map[string]any{"OBJECTID": int64(7), "WATTS": int64(10)}}},
		Deletes: []int64{8},
	}, time.Now())

	ch, err := c.ExtractChanges(ctx, arcgis.ChangesRequest{Since: map[int]int64{0: since}})
	if err != nil {
		t.Fatal(err)
	}
	next, _ := ch.ServerGen(0)
	lc, ok := ch.Layer(0)
	if !ok || next != s.layer.ServerGen() {
		t.Fatalf("changes = %+v", ch)
	}
	if len(lc.Features.Adds) != 1 || len(lc.Features.Updates) != 1 || fmt.Sprint(lc.Features.DeleteIDs) != "[8]" {
		t.Fatalf("features = %+v", lc.Features)
	}
	if a, _ := lc.Features.Adds[0].String("ASSET_ID"); a != "SL-NEW" {
		t.Errorf("added asset = %q", a)
	}
	if w, _ := lc.Features.Updates[0].Int("WATTS"); w != 10 {
		t.Errorf("updated watts = %d", w)
	}
	ids, err := c.ExtractChanges(ctx, arcgis.ChangesRequest{Since: map[int]int64{0: since}, IDsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	lc, _ = ids.Layer(0)
	if fmt.Sprint(lc.ObjectIDs.Adds, lc.ObjectIDs.Updates, lc.ObjectIDs.Deletes) != "[21] [7] [8]" {
		t.Errorf("ids-only changes = %+v", lc.ObjectIDs)
	}
	again, err := c.ExtractChanges(ctx, arcgis.ChangesRequest{Since: map[int]int64{0: next}})
	if err != nil {
		t.Fatal(err)
	}
	if lc, _ := again.Layer(0); len(lc.Features.Adds)+len(lc.Features.Updates)+len(lc.Features.DeleteIDs) != 0 {
		t.Errorf("changes after the newest generation: %+v", lc.Features)
	}
}

func TestExtractChangesRejectsAnswerWithoutGenerations(t *testing.T) {
	t.Parallel()
	// A server without change tracking may answer extractChanges with
	// something other than changes (here its layer description, as one
	// that routes unknown operations to the resource does). Taken as "no
	// changes", that would be a silently empty sync forever.
	for _, tc := range []struct{ name, body string }{
		{"layer description", `{"currentVersion":11.3,"id":0,"name":"Poles","type":"Feature Layer","objectIdField":"OBJECTID"}`},
		{"empty object", `{}`},
		{"generations without edits", `{"layerServerGens":[{"id":0,"serverGen":12}]}`},
		{"another layer only", `{"layerServerGens":[{"id":1,"serverGen":12}],"edits":[{"id":1,"features":{"adds":[],"updates":[],"deleteIds":[]}}]}`},
		{"edits without this layer", `{"layerServerGens":[{"id":0,"serverGen":12}],"edits":[]}`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(tc.body))
		}))
		c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/X/FeatureServer", HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := c.ExtractChanges(context.Background(), arcgis.ChangesRequest{Since: map[int]int64{0: 5}})
		if err == nil || !strings.Contains(err.Error(), "layer 0") {
			t.Errorf("%s: changes %+v, err %v; want an error naming layer 0", tc.name, ch, err)
		}
		srv.Close()
	}
}
