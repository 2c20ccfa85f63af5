package alarm311_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// TestCloseEndsEpisode follows one light: an alarm files a request, a second
// alarm of the type while it is open is recorded against it, the clear is
// recorded, the crew closes the request, and an alarm after the close files
// a new one. The operator's query answers which request is open, since when
// and why, at each step.
func TestCloseEndsEpisode(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 500, alarmsPerDay: -1})
	ctx := context.Background()
	asset := firstCommissioned(t, c)

	openFor := func() (ids []string, since []time.Time, why []string) {
		t.Helper()
		rows, err := c.pool.Query(ctx, alarm311.OpenRequestsSQL, asset)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, token, notes *string
			var code, typ, reason string
			var opened time.Time
			var filed *time.Time
			if err := rows.Scan(&id, &token, &code, &typ, &opened, &filed, &reason, &notes); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, deref(id))
			since = append(since, opened)
			why = append(why, reason)
		}
		return ids, since, why
	}

	raised := c.now().Add(-time.Hour).Truncate(time.Second)
	first, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, raised)
	if err != nil {
		t.Fatal(err)
	}
	c.run()
	ids, since, why := openFor()
	if len(ids) != 1 || ids[0] == "" || !since[0].Equal(raised) {
		t.Fatalf("open requests = %v since %v, want one since %v", ids, since, raised)
	}
	if want := "lampFailure (major) alarm " + first; len(why[0]) < len(want) || why[0][:len(want)] != want {
		t.Errorf("why = %q, want it to start %q", why[0], want)
	}
	reqs := c.o311.Requests()
	if len(reqs) != 1 || reqs[0].AssetID() != asset || reqs[0].ServiceCode != "SLOUT" {
		t.Fatalf("server has %+v, want one SLOUT request for %s", reqs, asset)
	}
	for _, want := range []string{asset, first, "lampFailure", "[citylink alarm-311 episode "} {
		if !contains(reqs[0].Description, want) {
			t.Errorf("description %q does not carry %q", reqs[0].Description, want)
		}
	}
	if !reqs[0].HasLocation || reqs[0].Attributes["ASSET_ID"][0] != asset {
		t.Errorf("request lacks location or ASSET_ID: %+v", reqs[0])
	}

	// The alarm clears, and the same fault comes back while the request is
	// still open: both are recorded against it, nothing is filed.
	c.h.Clock.Advance(time.Hour)
	if err := c.cms.ClearAlarm(first, c.now()); err != nil {
		t.Fatal(err)
	}
	second, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	c.run()
	if n := len(c.o311.Requests()); n != 1 {
		t.Fatalf("server has %d requests after a repeat alarm, want 1", n)
	}
	var cleared *time.Time
	var sameEpisode bool
	err = c.pool.QueryRow(ctx, `SELECT a.cleared_at, a.episode_id = b.episode_id FROM alarm_events a, alarm_events b
WHERE a.alarm_id = $1 AND b.alarm_id = $2`, first, second).Scan(&cleared, &sameEpisode)
	if err != nil || cleared == nil || !sameEpisode {
		t.Fatalf("first alarm cleared at %v, same episode as the second: %v (%v)", cleared, sameEpisode, err)
	}

	// Three weeks on, the crew has closed the request; polling closes the
	// episode, and the open alarm that follows files a new request.
	c.advance(21 * 24 * time.Hour)
	c.run()
	if ids, _, _ := openFor(); len(ids) != 0 {
		t.Fatalf("open requests after the close = %v", ids)
	}
	// The CMS may have cleared the alarm by itself in three weeks.
	_ = c.cms.ClearAlarm(second, c.now())
	third, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	c.run()
	ids, _, why = openFor()
	reqs = c.o311.Requests()
	if len(reqs) != 2 || len(ids) != 1 || ids[0] != reqs[1].ID || !contains(why[0], third) {
		t.Fatalf("after a new alarm: open %v (%v), server has %d requests", ids, why, len(reqs))
	}
	var episodes, closed int
	if err := c.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'closed') FROM alarm_episodes`).Scan(&episodes, &closed); err != nil {
		t.Fatal(err)
	}
	if episodes != 2 || closed != 1 {
		t.Errorf("episodes = %d, closed = %d; want 2 and 1", episodes, closed)
	}
	// The engine's history of the light lists the alarms and the polls.
	hist, err := work.AssetHistory(ctx, c.pool, asset, 100)
	if err != nil || len(hist) < 4 {
		t.Errorf("asset history of %s: %d items (%v), want the three alarms and the polls", asset, len(hist), err)
	}
}

// TestUnfiledAlarms records alarms 311 does not take, and alarms that clear
// before a run sees them, without filing anything.
func TestUnfiledAlarms(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 500, alarmsPerDay: -1})
	ctx := context.Background()
	asset := firstCommissioned(t, c)
	comm, err := c.cms.RaiseAlarm(asset, cms.AlarmCommunicationFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	brief, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cms.ClearAlarm(brief, c.now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.run()
	if n := len(c.o311.Requests()); n != 0 {
		t.Fatalf("server has %d requests, want none", n)
	}
	for _, id := range []string{comm, brief} {
		var note string
		if err := c.pool.QueryRow(ctx, `SELECT note FROM alarm_events WHERE alarm_id = $1 AND episode_id IS NULL`, id).Scan(&note); err != nil || note == "" {
			t.Errorf("alarm %s: note %q (%v)", id, note, err)
		}
	}
}

func firstCommissioned(t *testing.T, c *city) string {
	t.Helper()
	for d, err := range c.cmsC.Devices(context.Background(), cms.DeviceQuery{States: []string{cms.StateCommissioned}}) {
		if err != nil {
			t.Fatal(err)
		}
		return d.ExternalID
	}
	t.Fatal("no commissioned device")
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
