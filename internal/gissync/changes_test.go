package gissync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
)

// TestPullFindsEditsAndDeletes runs gis-pull against a DOT service that
// tracks changes (extractChanges by server generation) and one that does
// not (edit date and object id): in both, a DOT edit reaches the CMS once,
// a feature deleted in the layer is reported once and not added back by
// gis-push, and a run with no changes plans nothing.
func TestPullFindsEditsAndDeletes(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name    string
		tracked bool
	}{{"server generations", true}, {"edit date keyset", false}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := newCity(t, cityOptions{lights: 600, noChangeTracking: !mode.tracked})
			assets := c.devices()
			c.run(c.push)
			first := c.run(c.pull)
			if first.items == 0 || first.succeeded != 0 {
				t.Fatalf("first pull: %+v, want every feature read and nothing written", first)
			}
			var wm struct {
				Tracked bool  `json:"tracked"`
				Gen     int64 `json:"gen"`
			}
			var raw []byte
			if err := c.pool.QueryRow(ctx, `SELECT value FROM watermarks WHERE workflow = $1`, gissync.PullWorkflow).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &wm); err != nil {
				t.Fatal(err)
			}
			if wm.Tracked != mode.tracked {
				t.Fatalf("watermark after the first read = %s, tracked want %v", raw, mode.tracked)
			}

			edited, gone := assets[30], assets[70]
			goneOID, _ := c.feature(gone).ObjectID("OBJECTID")
			c.editDOT(edited, "ADDRESS", "5 DOT Way")
			res, err := c.dot.ApplyEdits(ctx, 0, arcgis.Edits{Deletes: []int64{goneOID}})
			if err != nil || res.DeleteResults[0].Err() != nil {
				t.Fatalf("deleting the feature of %s: %v %v", gone, err, res)
			}
			count := c.layer.Count()

			pullSrc, err := gissync.NewPullSource(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var preview bytes.Buffer
			if err := gissync.PreviewPull(ctx, c.cfg, c.planned(gissync.PullWorkflow, pullSrc), &preview); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"  patch   " + edited + " (device ", `" → "5 DOT Way"`,
				"  deleted " + gone + " (object id " + strconv.FormatInt(goneOID, 10) + ")",
				"1 CMS patches", "1 deleted in the DOT layer",
			} {
				if !strings.Contains(preview.String(), want) {
					t.Errorf("pull preview lacks %q:\n%s", want, preview.String())
				}
			}

			extracts := c.extracts.Load()
			pull := c.run(c.pull)
			if pull.items != 2 || pull.succeeded != 1 || pull.skipped != 1 {
				t.Errorf("pull: %+v, want the edit written and the delete reported", pull)
			}
			if used := c.extracts.Load() > extracts; used != mode.tracked {
				t.Errorf("extractChanges used: %v, want %v", used, mode.tracked)
			}
			if d := c.device(edited); d.Address != "5 DOT Way" {
				t.Errorf("CMS address of %s = %q", edited, d.Address)
			}
			var reports int
			var oid string
			err = c.pool.QueryRow(ctx, `SELECT count(*), max(dot_value) FROM gis_sync_reports WHERE kind = 'deleted' AND asset_id = $1`, gone).Scan(&reports, &oid)
			if err != nil || reports != 1 || oid != strconv.FormatInt(goneOID, 10) {
				t.Errorf("deletion reports of %s: %d, object id %q (%v)", gone, reports, oid, err)
			}
			if _, err := c.cmsC.FindByExternalID(ctx, gone); err != nil {
				t.Errorf("the CMS device of the deleted feature: %v, want it kept", err)
			}

			if again := c.run(c.pull); again.items != 0 {
				t.Errorf("pull with no changes: %+v, want nothing planned", again)
			}
			// A CMS edit of the deleted light does not bring its feature back.
			c.editCMS(gone, cms.DevicePatch{Address: ptr("7 Gone St")})
			push := c.run(c.push)
			if push.succeeded != 0 || push.skipped != push.items || c.layer.Count() != count {
				t.Errorf("push after the delete: %+v, layer %d features (was %d)", push, c.layer.Count(), count)
			}
			if err := c.pool.QueryRow(ctx, `SELECT count(*) FROM gis_sync_reports WHERE kind = 'deleted'`).Scan(&reports); err != nil || reports != 1 {
				t.Errorf("deletion reports after more runs: %d (%v), want 1", reports, err)
			}
		})
	}
}
