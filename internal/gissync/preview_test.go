package gissync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

// planned reads what the next run of workflow would plan, from the stored
// watermark, as `citylink run --dry-run` does.
func (c *city) planned(workflow string, src work.Source) []work.Item {
	c.t.Helper()
	ctx := context.Background()
	var wm []byte
	err := c.pool.QueryRow(ctx, `SELECT value FROM watermarks WHERE workflow = $1`, workflow).Scan(&wm)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		c.t.Fatal(err)
	}
	var items []work.Item
	after := work.Watermark(wm)
	for {
		p, err := src.Changes(ctx, after)
		if err != nil {
			c.t.Fatal(err)
		}
		items = append(items, p.Items...)
		if !p.More {
			return items
		}
		after = p.Next
	}
}

// dotState is what shows that the DOT layer was not written: its size, its
// server generation and its last edit.
func (c *city) dotState() string {
	return fmt.Sprintf("%d features, generation %d, last edit %s", c.layer.Count(), c.layer.ServerGen(), c.layer.LastEditDate())
}

// TestPreviewsWriteNothing makes edits on both sides of a synced city (a new
// CMS light, CMS edits of an owned and a shared field, DOT edits of an
// owned and a shared field, a DOT edit of a field the CMS owns, and a
// conflict), previews gis-push and gis-pull, and checks that each preview
// names every edit with its fields and the reports, that nothing was
// written to Postgres, the CMS or the DOT layer, and that the runs then do
// what the previews said.
func TestPreviewsWriteNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCity(t, cityOptions{lights: 600})
	assets := c.devices()
	c.run(c.push)
	c.run(c.pull)

	wattsA, addrB, addrC, poleD, lampE, addrF := assets[10], assets[20], assets[30], assets[40], assets[50], assets[60]
	c.editCMS(wattsA, cms.DevicePatch{NominalWatts: ptr(77)})
	c.editCMS(addrB, cms.DevicePatch{Address: ptr("1 CMS Plaza")})
	c.editDOT(addrC, "ADDRESS", "2 DOT Way")
	c.editDOT(poleD, "POLE_ID", "P-DOT-4")
	c.editDOT(lampE, "LAMP_TYPE", "XX")
	c.editCMS(addrF, cms.DevicePatch{Address: ptr("3 CMS Side")})
	c.editDOT(addrF, "ADDRESS", "3 DOT Side")
	if _, _, err := c.cmsC.Create(ctx, cms.DeviceUpsert{ExternalID: "SL-NEW-0001", DevicePatch: cms.DevicePatch{
		PoleID: ptr("P-NEW-1"), LampType: ptr("LED"), NominalWatts: ptr(40), Address: ptr("9 New St"),
		Location: &cms.Location{Latitude: 41.9, Longitude: -87.7},
	}}); err != nil {
		t.Fatal(err)
	}
	oldWatts, _ := c.feature(wattsA).Int("WATTAGE")
	oldPole := c.device(poleD).PoleID

	pushSrc, err := gissync.NewPushSource(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	pullSrc, err := gissync.NewPullSource(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, dot, cmsWrites := pgtest.Fingerprint(t, c.pool), c.dotState(), c.cmsWrites.Load()

	var push, pull bytes.Buffer
	if err := gissync.PreviewPush(ctx, c.cfg, c.planned(gissync.PushWorkflow, pushSrc), &push); err != nil {
		t.Fatal(err)
	}
	if err := gissync.PreviewPull(ctx, c.cfg, c.planned(gissync.PullWorkflow, pullSrc), &pull); err != nil {
		t.Fatal(err)
	}
	t.Logf("push preview:\n%s\npull preview:\n%s", push.String(), pull.String())

	pgtest.SameFingerprint(t, db, pgtest.Fingerprint(t, c.pool))
	if now := c.dotState(); now != dot {
		t.Errorf("the DOT layer changed under the previews")
	}
	if n := c.cmsWrites.Load() - cmsWrites; n != 0 {
		t.Errorf("the previews sent %d writes to the CMS", n)
	}

	for _, want := range []string{
		"  add     SL-NEW-0001: pole_id=P-NEW-1, lamp_type=LED, watts=40, address=9 New St; point -87.700000,41.900000",
		"  update  " + wattsA + " (object id ", `: watts: "` + fmt.Sprint(oldWatts) + `" → "77"`,
		"  update  " + addrB + " (object id ", `: address: "`, `" → "1 CMS Plaza"`,
		"  1 to add, 2 to update, 0 unchanged since the last sync, 1 already in the DOT layer, 0 edits to report, 0 deleted in the DOT layer (not added back), 0 not devices",
	} {
		if !strings.Contains(push.String(), want) {
			t.Errorf("push preview lacks %q", want)
		}
	}
	for _, want := range []string{
		"  patch   " + addrC + " (device ", `): address: "`, `" → "2 DOT Way"`,
		"  patch   " + poleD + " (device ", `): pole_id: "` + oldPole + `" → "P-DOT-4"`,
		"  patch   " + addrF + " (device ", `): address: "3 CMS Side" → "3 DOT Side"`,
		"  report  " + lampE + " not_owned lamp_type: ", `dot "XX"`,
		"  report  " + addrF + " conflict address: cms \"3 CMS Side\", dot \"3 DOT Side\"",
		"  3 CMS patches, 0 unchanged since the last sync, 1 already in the CMS, 2 edits to report, 0 deleted in the DOT layer, 0 not in the CMS",
	} {
		if !strings.Contains(pull.String(), want) {
			t.Errorf("pull preview lacks %q", want)
		}
	}

	// The runs do what the previews said.
	if n := c.run(c.push); n.succeeded != 3 {
		t.Errorf("push wrote %d features, the preview said 3: %+v", n.succeeded, n)
	}
	if n := c.run(c.pull); n.succeeded != 3 {
		t.Errorf("pull wrote %d devices, the preview said 3: %+v", n.succeeded, n)
	}
}
