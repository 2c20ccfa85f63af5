package cmssim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/testclock"
)

// testAllAlarms lists every alarm written since since, following cursors.
func testAllAlarms(t *testing.T, c *Server, since time.Time) []alarm {
	t.Helper()
	var all []alarm
	cursor := ""
	for {
		var p testPage
		q := url.Values{"since": {since.Format(time.RFC3339Nano)}, "limit": {"97"}, "after": {cursor}}
		rec := record(t, c, "/api/v1/alarms?"+q.Encode())
		if err := json.Unmarshal(rec, &p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Alarms...)
		if !p.More {
			return all
		}
		cursor = p.NextCursor
	}
}

func TestAdvanceRaisesAndClearsAlarmsDeterministically(t *testing.T) {
	t.Parallel()
	run := func() ([]alarm, []device) {
		clock := testclock.New(testStart)
		c := NewServer(Options{City: simcity.New(21, 8000), Seed: 21, Clock: clock.Now, AlarmsPerDay: 400, ChangesPerDay: 50})
		for h := 1; h <= 72; h += 6 {
			now := testStart.Add(time.Duration(h) * time.Hour)
			clock.Set(now)
			c.Advance(now)
		}
		c.Advance(testStart) // going back in time does nothing
		var devices testPage
		if err := json.Unmarshal(record(t, c, "/api/v1/devices?limit=1000&since="+testStart.Format(time.RFC3339)), &devices); err != nil {
			t.Fatal(err)
		}
		return testAllAlarms(t, c, testStart), devices.Devices
	}
	alarms, devices := run()
	again, devicesAgain := run()
	if !reflect.DeepEqual(alarms, again) || !reflect.DeepEqual(devices, devicesAgain) {
		t.Fatal("the same seed and Advance times gave different alarms or device changes")
	}
	if len(alarms) < 500 {
		t.Fatalf("only %d alarms after three days at 400 a day", len(alarms))
	}
	types := map[string]int{}
	cleared, supply := 0, map[time.Time]int{}
	ids := map[string]bool{}
	for _, a := range alarms {
		if ids[a.ID] {
			t.Fatalf("alarm %s listed twice", a.ID)
		}
		ids[a.ID] = true
		types[a.Type]++
		if a.RaisedAt.Before(testStart) || a.UpdatedAt.Before(a.RaisedAt) {
			t.Fatalf("alarm %+v raised outside the simulated span", a)
		}
		if a.State == AlarmCleared {
			cleared++
			if a.ClearedAt == nil || !a.ClearedAt.After(a.RaisedAt) {
				t.Fatalf("cleared alarm %+v", a)
			}
		} else if a.ClearedAt != nil {
			t.Fatalf("active alarm with a clear time: %+v", a)
		}
		if a.Type == AlarmSupplyLoss {
			supply[a.RaisedAt]++
		}
	}
	if len(types) < 8 || cleared == 0 || cleared == len(alarms) {
		t.Errorf("types %v, %d of %d cleared", types, cleared, len(alarms))
	}
	wide := false
	for _, n := range supply {
		wide = wide || n > 1
	}
	if !wide {
		t.Error("no supply loss took out more than one device of its circuit")
	}
	if len(devices) == 0 {
		t.Error("Advance changed no devices")
	}
	for _, d := range devices {
		if d.UpdatedAt.Before(testStart) || d.Version < 2 {
			t.Errorf("changed device %+v", d)
		}
	}
}

func TestDefaultRatesFitTheCity(t *testing.T) {
	t.Parallel()
	clock := testclock.New(testStart)
	c := NewServer(Options{City: simcity.New(5, 20000), Seed: 5, Clock: clock.Now})
	day := testStart.Add(24 * time.Hour)
	clock.Set(day)
	c.Advance(day)
	live := 0
	for _, d := range c.devices {
		if d.State == StateCommissioned {
			live++
		}
	}
	if share := float64(len(c.devices)) / float64(len(c.city.Lights)); share < 0.5 || share > 0.75 {
		t.Errorf("the CMS starts with %.2f of the city", share)
	}
	// 0.5% of live devices a day, plus the rest of the circuit for supply losses.
	if n := len(c.alarms); n < live/400 || n > live/50 {
		t.Errorf("%d alarms in a day for %d live devices", n, live)
	}
}

// record serves one authenticated GET in process and returns the body.
func record(t *testing.T, c *Server, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", c.APIKey())
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}
