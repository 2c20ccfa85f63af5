package cms_test

import (
	"context"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/cms"
)

// TestPageReadsResumeAcrossClients reads the device listing one page at a
// time, each page from a fresh client given only the previous cursor, as a
// Source does across Lambda invocations, and checks that the pages join into
// the same listing a single ListDevices gives, with nothing repeated. A
// write made after the last page turns up, alone, on the page after the kept
// cursor.
func TestPageReadsResumeAcrossClients(t *testing.T) {
	t.Parallel()
	_, srv, clock := newSim(t, 1200, cmssim.Options{Faults: faulty})
	ctx := context.Background()
	want := allDevices(t, newClient(t, srv, cmssim.DefaultAPIKey, 0), time.Time{})

	var got []cms.Device
	cursor, pages := "", 0
	for {
		p, err := newClient(t, srv, cmssim.DefaultAPIKey, 83).DevicesPage(ctx, cms.DeviceQuery{After: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, p.Devices...)
		if p.NextCursor == "" {
			t.Fatalf("page %d has no cursor", pages)
		}
		cursor = p.NextCursor
		if !p.More {
			break
		}
	}
	if pages < 5 || len(got) != len(want) {
		t.Fatalf("%d pages gave %d devices, want %d", pages, len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Version != want[i].Version {
			t.Fatalf("device %d: paged %s v%d, listed %s v%d", i, got[i].ID, got[i].Version, want[i].ID, want[i].Version)
		}
	}

	c := newClient(t, srv, cmssim.DefaultAPIKey, 83)
	clock.Set(testStart.Add(time.Hour))
	changed, err := c.Update(ctx, want[7].ID, cms.DevicePatch{Circuit: new("CK-9999-Z")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.DevicesPage(ctx, cms.DeviceQuery{After: cursor})
	if err != nil {
		t.Fatal(err)
	}
	if p.More || len(p.Devices) != 1 || p.Devices[0].ID != changed.ID || p.Devices[0].Version != changed.Version {
		t.Fatalf("page after the kept cursor: %+v, want just %s v%d", p, changed.ID, changed.Version)
	}
	again, err := c.DevicesPage(ctx, cms.DeviceQuery{After: p.NextCursor})
	if err != nil || len(again.Devices) != 0 || again.More {
		t.Fatalf("page after the newest cursor: %d devices, more %v, err %v", len(again.Devices), again.More, err)
	}
}

// TestAlarmsPageMatchesListing checks that AlarmsPage walked by hand gives
// what ListAlarms gives.
func TestAlarmsPageMatchesListing(t *testing.T) {
	t.Parallel()
	sim, srv, clock := newSim(t, 3000, cmssim.Options{Faults: faulty, AlarmsPerDay: 400, ChangesPerDay: -1})
	clock.Set(testStart.Add(24 * time.Hour))
	sim.Advance(testStart.Add(24 * time.Hour))
	c := newClient(t, srv, cmssim.DefaultAPIKey, 40)
	ctx := context.Background()
	var want []string
	if err := c.ListAlarms(ctx, cms.AlarmQuery{}, func(p cms.AlarmPage) error {
		for _, a := range p.Alarms {
			want = append(want, a.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for q := (cms.AlarmQuery{}); ; {
		p, err := c.AlarmsPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alarms {
			got = append(got, a.ID)
		}
		if !p.More {
			break
		}
		q.After = p.NextCursor
	}
	if len(want) < 100 || len(got) != len(want) {
		t.Fatalf("paged %d alarms, listed %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("alarm %d: paged %s, listed %s", i, got[i], want[i])
		}
	}
}
