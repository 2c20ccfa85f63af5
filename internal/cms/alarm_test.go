package cms_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/cmssim"

	"github.com/citylink/citylink/internal/cms"
)

func TestListAlarmsSinceFollowsRaisesAndClears(t *testing.T) {
	t.Parallel()
	sim, srv, clock := newSim(t, 5000, cmssim.Options{Faults: faulty, AlarmsPerDay: 300, ChangesPerDay: -1})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 50)
	ctx := context.Background()

	advance := func(to time.Time) {
		clock.Set(to)
		sim.Advance(to)
	}
	advance(testStart.Add(12 * time.Hour))
	first := map[string]cms.Alarm{}
	err := c.ListAlarmsSince(ctx, testStart, func(p cms.AlarmPage) error {
		for _, a := range p.Alarms {
			first[a.ID] = a
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 100 {
		t.Fatalf("%d alarms after half a day at 300 a day", len(first))
	}
	// The second listing starts where the first left off and sees the clears
	// of alarms it saw raised.
	mark := clock.Now()
	advance(testStart.Add(72 * time.Hour))
	var later []cms.Alarm
	for a, err := range c.Alarms(ctx, cms.AlarmQuery{Since: mark.Add(time.Microsecond)}) {
		if err != nil {
			t.Fatal(err)
		}
		later = append(later, a)
	}
	clearedSeen := 0
	for _, a := range later {
		if !a.UpdatedAt.After(mark) {
			t.Fatalf("alarm %s written %v, before since", a.ID, a.UpdatedAt)
		}
		if prev, ok := first[a.ID]; ok {
			if !prev.Active() || a.Active() || a.ClearedAt == nil || !a.RaisedAt.Equal(prev.RaisedAt) {
				t.Fatalf("alarm %s went from %+v to %+v", a.ID, prev, a)
			}
			clearedSeen++
		}
	}
	if clearedSeen == 0 {
		t.Fatal("no alarm raised in the first listing was seen cleared in the second")
	}

	var lamp []cms.Alarm
	for a, err := range c.Alarms(ctx, cms.AlarmQuery{Type: cms.AlarmLampFailure, State: cms.AlarmActive}) {
		if err != nil {
			t.Fatal(err)
		}
		lamp = append(lamp, a)
	}
	if len(lamp) == 0 || slices.ContainsFunc(lamp, func(a cms.Alarm) bool { return a.Type != cms.AlarmLampFailure || !a.Active() }) {
		t.Fatalf("filtered listing: %d alarms, some of another type or state", len(lamp))
	}
	got, err := c.GetAlarm(ctx, lamp[0].ID)
	if err != nil || got.ID != lamp[0].ID || got.ExternalID == "" || got.DeviceID == "" {
		t.Fatalf("get alarm: %+v, %v", got, err)
	}
}

func TestRaisedAlarmReachesTheClient(t *testing.T) {
	t.Parallel()
	sim, srv, clock := newSim(t, 300, cmssim.Options{Faults: faulty})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	ctx := context.Background()
	d, err := c.Get(ctx, "dev-0000005")
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(testStart.Add(time.Hour))
	id, err := sim.RaiseAlarm(d.ExternalID, cmssim.AlarmLampUnexpectedOn, testStart.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var seen []cms.Alarm
	for a, err := range c.Alarms(ctx, cms.AlarmQuery{Since: testStart.Add(time.Hour)}) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, a)
	}
	if len(seen) != 1 || seen[0].ID != id || seen[0].Type != cms.AlarmLampUnexpectedOn || seen[0].DeviceID != d.ID {
		t.Fatalf("alarms since the raise: %+v", seen)
	}
}
