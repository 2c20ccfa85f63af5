package arcgis_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/arcgis"
)

// TestCityAuditWatermark reads newly audited lights the way the arcgis-import
// plan does: a composite (edit date, object id) watermark, ordered paging,
// against the city's audit server with token expiry and faults on.
func TestCityAuditWatermark(t *testing.T) {
	t.Parallel()
	town := simcity.New(3, 20000)
	sim := arcgissim.NewServers(town,
		arcgissim.Options{Auth: arcgissim.Auth{Users: secured.Users, ExpireAfterUses: 4}, Faults: simcity.Faults{Seed: 11, ErrorRate: 0.2, ThrottleRate: 0.1}},
		arcgissim.Options{})
	srv := httptest.NewServer(sim.Audit)
	t.Cleanup(srv.Close)
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
		Username: testUser, Password: testPassword, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	mark := town.Audits[len(town.Audits)/3]
	markOID := int64(len(town.Audits)/3 + 1) // the layer is seeded in audit order
	ts := mark.AuditedAt.UTC().Format("2006-01-02 15:04:05")
	where := fmt.Sprintf("EditDate > timestamp '%s' OR (EditDate = timestamp '%s' AND OBJECTID > %d)", ts, ts, markOID)
	want := 0
	for i, a := range town.Audits {
		if a.AuditedAt.After(mark.AuditedAt) || (a.AuditedAt.Equal(mark.AuditedAt) && int64(i+1) > markOID) {
			want++
		}
	}
	var last time.Time
	var lastOID int64
	got := 0
	err = c.QueryPages(ctx, 0, arcgis.Query{Where: where, OrderBy: []string{"EditDate", "OBJECTID"}, Count: 500}, func(fs *arcgis.FeatureSet) error {
		for _, f := range fs.Features {
			at, _ := f.Time("EditDate")
			oid, _ := f.ObjectID("OBJECTID")
			if at.Before(last) || (at.Equal(last) && oid <= lastOID) {
				return fmt.Errorf("feature %d at %v arrived after %d at %v", oid, at, lastOID, last)
			}
			last, lastOID = at, oid
			got++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want || want == 0 {
		t.Fatalf("read %d audits past the watermark, want %d", got, want)
	}

	svc, err := c.Service(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := svc.ServerGen(0)
	added, reviewed, err := sim.AuditFeed.Sync(time.Date(2026, 2, 2, 10, 0, 0, 0, time.UTC), 30)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.ExtractChanges(ctx, arcgis.ChangesRequest{Since: map[int]int64{0: gen}, IDsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	lc, _ := ch.Layer(0)
	if len(lc.ObjectIDs.Adds) != added || len(lc.ObjectIDs.Updates) != reviewed {
		t.Errorf("changes after a sync: %d adds, %d updates; the feed made %d and %d", len(lc.ObjectIDs.Adds), len(lc.ObjectIDs.Updates), added, reviewed)
	}
}
