package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/cms"
)

// raiseLampFailures raises a lamp-failure alarm, the kind alarm-311 files,
// on n commissioned lights of the simulated CMS (listed through the CMS
// client, as the workflow reads them), as field controllers would report
// them: the seeded city raises too few alarms in an hour to count on one.
// It returns the lights' asset ids.
func raiseLampFailures(t *testing.T, sys *citysim.Systems, n int) []string {
	t.Helper()
	c, err := cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: sys.CMS.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	var assets []string
	for d, err := range c.Devices(context.Background(), cms.DeviceQuery{States: []string{cms.StateCommissioned}}) {
		if err != nil {
			t.Fatal(err)
		}
		// A light with a lamp failure open already is skipped.
		if _, err := sys.CMS.RaiseAlarm(d.ExternalID, cms.AlarmLampFailure, time.Now()); err == nil {
			assets = append(assets, d.ExternalID)
		}
		if len(assets) == n {
			return assets
		}
	}
	t.Fatalf("raised lamp failures on %d lights, want %d", len(assets), n)
	return nil
}

// requestsFor counts the requests the simulated Open311 holds for each of
// assets.
func requestsFor(sys *citysim.Systems, assets []string) map[string]int {
	got := map[string]int{}
	for _, r := range sys.Open311.Requests() {
		for _, a := range assets {
			if r.AssetID() == a {
				got[a]++
			}
		}
	}
	return got
}

// checkAlarmDryRun holds the dry run of alarm-311 to opening one request
// per raised lamp failure, and the simulated Open311 to having received
// none.
func checkAlarmDryRun(t *testing.T, sys *citysim.Systems, assets []string, dry string) {
	t.Helper()
	for _, a := range assets {
		if !strings.Contains(dry, "  open     "+a+" "+cms.AlarmLampFailure+" ") {
			t.Errorf("the dry run of alarm-311 does not open a request for %s", a)
		}
	}
	if got := requestsFor(sys, assets); len(got) != 0 {
		t.Errorf("the dry run of alarm-311 filed requests: %v", got)
	}
}

// checkAlarmRun holds the simulated Open311 to one request per raised lamp
// failure after the run.
func checkAlarmRun(t *testing.T, sys *citysim.Systems, assets []string) {
	t.Helper()
	got := requestsFor(sys, assets)
	for _, a := range assets {
		if got[a] != 1 {
			t.Errorf("Open311 has %d requests for %s after the run, want 1", got[a], a)
		}
	}
}

// nothingLeft is what the dry run of the workflow says after a run: no
// items, except for alarm-311, whose open requests are polled by every run
// until they close, so it has nothing to open.
func nothingLeft(workflow string) string {
	if workflow == "alarm-311" {
		return "  0 requests to open, "
	}
	return "0 items since the watermark"
}
