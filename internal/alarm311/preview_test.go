package alarm311_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

// plannedItems reads what the next run would plan, from the stored
// watermark, with src, as `citylink run --dry-run` does.
func plannedItems(t *testing.T, c *city, src work.Source) []work.Item {
	t.Helper()
	ctx := context.Background()
	var wm []byte
	err := c.pool.QueryRow(ctx, `SELECT value FROM watermarks WHERE workflow = $1`, c.h.Workflow()).Scan(&wm)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	var items []work.Item
	after := work.Watermark(wm)
	for {
		p, err := src.Changes(ctx, after)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, p.Items...)
		if !p.More {
			return items
		}
		after = p.Next
	}
}

// TestPreviewWritesNothing previews a run with every kind of item: a new
// alarm that opens a request, an alarm 311 does not take, a repeat alarm on
// an open request and the clear of the alarm before it, an episode whose request the crew closed, and one still
// open. The output names each with its service code, asset, location and
// description; nothing changes in Postgres, the CMS or Open311; and a real
// run afterwards does what the preview said.
func TestPreviewWritesNothing(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 500, alarmsPerDay: -1})
	ctx := context.Background()
	var assets []string
	for d, err := range c.cmsC.Devices(ctx, cms.DeviceQuery{States: []string{cms.StateCommissioned}}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Location != (cms.Location{}) && d.Address != "" {
			assets = append(assets, d.ExternalID)
		}
		if len(assets) == 4 {
			break
		}
	}
	if len(assets) < 4 {
		t.Fatalf("the city has %d commissioned lights with a location, want 4", len(assets))
	}
	a, d, b, comm := assets[0], assets[1], assets[2], assets[3]

	// Two requests are filed; the crews work until one of them is closed.
	first := map[string]string{}
	for _, asset := range []string{a, d} {
		id, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, c.now())
		if err != nil {
			t.Fatal(err)
		}
		first[asset] = id
	}
	c.run()
	closedOf := func() map[string]bool {
		out := map[string]bool{}
		for _, r := range c.o311.Requests() {
			out[r.AssetID()] = r.Status == "closed"
		}
		return out
	}
	for i := 0; ; i++ {
		st := closedOf()
		if st[a] != st[d] {
			if st[a] {
				a, d = d, a // a is the light whose request stays open
			}
			break
		}
		if st[a] || i > 24*60 {
			t.Fatalf("no hour in which exactly one of two requests was closed: %v", st)
		}
		c.advance(time.Hour)
	}
	if err := c.cms.ClearAlarm(first[a], c.now()); err != nil {
		t.Fatal(err)
	}
	repeat, err := c.cms.RaiseAlarm(a, cms.AlarmLampFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := c.cms.RaiseAlarm(b, cms.AlarmLampFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.cms.RaiseAlarm(comm, cms.AlarmCommunicationFailure, c.now()); err != nil {
		t.Fatal(err)
	}
	dev, err := c.cmsC.FindByExternalID(ctx, b)
	if err != nil {
		t.Fatal(err)
	}

	ro := c.cfg
	ro.ReadOnly = true
	if _, err := alarm311.NewSink(ro); err == nil {
		t.Fatal("NewSink took a read-only config")
	}
	src, err := alarm311.NewSource(ro)
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.Fingerprint(t, c.pool)
	reqs := c.o311.Requests()
	posts, cmsWrites := c.lossy.posts.Load(), c.cmsWrites.Load()

	items := plannedItems(t, c, src)
	var out bytes.Buffer
	if err := alarm311.Preview(ctx, ro, items, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Logf("preview:\n%s", got)

	pgtest.SameFingerprint(t, db, pgtest.Fingerprint(t, c.pool))
	if n := c.lossy.posts.Load() - posts; n != 0 {
		t.Errorf("the preview sent %d POSTs to Open311", n)
	}
	if n := c.cmsWrites.Load() - cmsWrites; n != 0 {
		t.Errorf("the preview sent %d writes to the CMS", n)
	}
	if after := c.o311.Requests(); len(after) != len(reqs) {
		t.Errorf("Open311 has %d requests after the preview, %d before", len(after), len(reqs))
	}

	for _, want := range []string{
		"  open     " + b + " lampFailure (" + fresh + "): service SLOUT at ",
		dev.Address, "alarm " + fresh,
		"[citylink alarm-311 episode (new)]",
		"  clear    " + a + " lampFailure alarm " + first[a] + ": clear recorded against episode ",
		"  record   " + a + " lampFailure alarm " + repeat + ": against episode ",
		"  unfiled  " + comm + " communicationFailure",
		"  close    episode ", " " + d + " lampFailure: request ",
		"  poll     episode ",
		"1 requests to open, 2 alarms to record against open requests, 1 episodes to close, 1 to poll, 0 filings to finish, 1 alarms not filed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if loc := fmt.Sprintf("service SLOUT at %.6f,%.6f, %q", dev.Location.Latitude, dev.Location.Longitude, dev.Address); !strings.Contains(got, loc) {
		t.Errorf("preview lacks the device's location: %q", loc)
	}

	// The run does what the preview said: one new request, for b.
	c.run()
	after := c.o311.Requests()
	if len(after) != len(reqs)+1 || after[len(after)-1].AssetID() != b {
		t.Fatalf("after the run Open311 has %d requests (was %d), last for %s; want one more, for %s",
			len(after), len(reqs), after[len(after)-1].AssetID(), b)
	}
	var closed int
	if err := c.pool.QueryRow(ctx, `SELECT count(*) FROM alarm_episodes WHERE asset_id = $1 AND state = 'closed'`, d).Scan(&closed); err != nil || closed != 1 {
		t.Errorf("episodes of %s closed: %d (%v), want 1", d, closed, err)
	}
}
