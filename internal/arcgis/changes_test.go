package arcgis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/city"

	"github.com/citylink/citylink/internal/arcgis"
)

func TestExtractChanges(t *testing.T) {
	t.Parallel()
	s := newSim(t, 20, arcgissim.LayerConfig{}, arcgissim.Options{Auth: secured, Faults: city.Faults{Seed: 5, ErrorRate: 0.3}})
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
