package arcgis_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"
)

// auditClient serves a city's audit layer with token expiry and faults, and
// returns a function that makes a fresh client for it, as each Lambda
// invocation does.
func auditClient(t *testing.T, city *simcity.City) (*arcgissim.Servers, func() *arcgis.Client) {
	t.Helper()
	sim := arcgissim.NewServers(city,
		arcgissim.Options{Auth: arcgissim.Auth{Users: secured.Users, ExpireAfterUses: 5}, Faults: simcity.Faults{Seed: 17, ErrorRate: 0.2, ThrottleRate: 0.1}},
		arcgissim.Options{})
	srv := httptest.NewServer(sim.Audit)
	t.Cleanup(srv.Close)
	return sim, func() *arcgis.Client {
		c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
			Username: testUser, Password: testPassword, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// TestQueryAfterByEditDateResumes reads the audit layer one (edit date,
// object id) page at a time, each page with a fresh client that knows only
// the previous page's Last, across many features that share one edit date,
// and checks every feature arrives once and in order. After the auditors
// sync, the page after the kept Last holds exactly the features they added
// or reviewed.
func TestQueryAfterByEditDateResumes(t *testing.T) {
	t.Parallel()
	city := simcity.New(5, 6000)
	sim, client := auditClient(t, city)
	ctx := context.Background()
	q := arcgis.KeysetQuery{Query: arcgis.Query{OutFields: []string{"asset_id"}, Count: 170}, EditField: "EditDate"}
	seen := map[int64]bool{}
	pages := 0
	for {
		p, err := client().QueryAfter(ctx, 0, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range p.Features {
			oid, _ := f.ObjectID("OBJECTID")
			if seen[oid] {
				t.Fatalf("feature %d read twice", oid)
			}
			seen[oid] = true
		}
		if len(p.Features) > 0 && p.Last == q.After {
			t.Fatalf("page %d did not move the key past %+v", pages, q.After)
		}
		q.After = p.Last
		if !p.More {
			break
		}
	}
	if len(seen) != len(city.Audits) || pages < len(city.Audits)/170 {
		t.Fatalf("%d pages read %d features, the layer has %d", pages, len(seen), len(city.Audits))
	}

	added, reviewed, err := sim.AuditFeed.Sync(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), 40)
	if err != nil {
		t.Fatal(err)
	}
	p, err := client().QueryAfter(ctx, 0, q)
	if err != nil {
		t.Fatal(err)
	}
	if p.More || len(p.Features) != added+reviewed || added == 0 || reviewed == 0 {
		t.Fatalf("after a sync that added %d and reviewed %d: %d features, more %v", added, reviewed, len(p.Features), p.More)
	}
	empty, err := client().QueryAfter(ctx, 0, arcgis.KeysetQuery{Query: q.Query, EditField: q.EditField, After: p.Last})
	if err != nil || len(empty.Features) != 0 || empty.Last != p.Last {
		t.Fatalf("page after the newest key: %d features, last %+v (want %+v), err %v", len(empty.Features), empty.Last, p.Last, err)
	}
}

// TestQueryAfterByObjectIDFilters pages by object id under a where clause
// and checks the pages hold exactly the features the clause selects.
func TestQueryAfterByObjectIDFilters(t *testing.T) {
	t.Parallel()
	city := simcity.New(6, 5000)
	_, client := auditClient(t, city)
	ctx := context.Background()
	want := 0
	for _, a := range city.Audits {
		if a.Status == simcity.AuditApproved {
			want++
		}
	}
	q := arcgis.KeysetQuery{Query: arcgis.Query{Where: "audit_status = 'approved'", OutFields: []string{"audit_status"}, Count: 90}}
	got := 0
	for {
		p, err := client().QueryAfter(ctx, 0, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Features {
			if s, _ := f.String("audit_status"); s != simcity.AuditApproved {
				t.Fatalf("feature with status %q selected", s)
			}
			got++
		}
		if !p.Last.Edited.IsZero() {
			t.Fatalf("object id keyset carries an edit date: %+v", p.Last)
		}
		q.After = p.Last
		if !p.More {
			break
		}
	}
	if want == 0 || got != want {
		t.Fatalf("read %d approved audits, the city has %d", got, want)
	}
}
