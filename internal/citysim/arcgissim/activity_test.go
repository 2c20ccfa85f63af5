package arcgissim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

func TestAuditFeed(t *testing.T) {
	t.Parallel()
	c := simcity.New(5, 3000)
	layer := NewAuditLayer(c, LayerConfig{})
	before, gen := layer.Count(), layer.ServerGen()
	feed := NewAuditFeed(layer, c, 1)
	now := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	added, reviewed, err := feed.Sync(now, 40)
	if err != nil {
		t.Fatal(err)
	}
	if added != 40 || reviewed != 20 || layer.Count() != before+40 || layer.ServerGen() != gen+1 {
		t.Fatalf("added %d reviewed %d; count %d (was %d), gen %d (was %d)", added, reviewed, layer.Count(), before, layer.ServerGen(), gen)
	}
	layer.mu.RLock()
	recs, err := layer.selectRecords(context.Background(), query{where: fmt.Sprintf("EditDate = %d", now.UnixMilli())}, now)
	layer.mu.RUnlock()
	if err != nil || len(recs) != 60 {
		t.Fatalf("records edited at the sync: %d, %v; want 60", len(recs), err)
	}
	assets := map[string]bool{}
	layer.mu.RLock()
	idx, _ := layer.field(AuditFieldAssetID)
	for _, r := range layer.recs {
		if a := r.vals[idx].(string); assets[a] {
			t.Errorf("asset %s audited twice", a)
		} else {
			assets[a] = true
		}
	}
	layer.mu.RUnlock()
	for range 100 {
		if _, _, err := feed.Sync(now.Add(time.Hour), 100); err != nil {
			t.Fatal(err)
		}
	}
	if layer.Count() != len(c.Lights) {
		t.Errorf("after auditing everything: %d features for %d lights", layer.Count(), len(c.Lights))
	}
}

func TestDOTCrew(t *testing.T) {
	t.Parallel()
	c := simcity.New(5, 2000)
	layer := NewDOTLayer(c, LayerConfig{})
	crew := NewDOTCrew(layer, 3)
	now := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	for round := range 50 {
		oids, err := crew.Edit(now.Add(time.Duration(round)*time.Minute), 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(oids) == 0 {
			t.Fatal("a round edited nothing")
		}
		for _, oid := range oids {
			f, _ := layer.Get(oid)
			if f.Attributes["Editor"] != "dot_gis_tech" || f.Attributes["EditDate"] != now.Add(time.Duration(round)*time.Minute).UnixMilli() {
				t.Fatalf("pole %d not stamped by the crew: %v", oid, f.Attributes)
			}
		}
	}
}
