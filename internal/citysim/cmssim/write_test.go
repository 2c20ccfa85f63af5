package cmssim

import (
	"net/http"
	"testing"
	"time"
)

func TestPatchDevice(t *testing.T) {
	t.Parallel()
	c, srv, clock := testServer(t, 300, Options{})
	d := *c.devices[4]
	path := "/api/v1/devices/" + d.ID

	var same device
	resp := call(t, srv, http.MethodPatch, path, map[string]any{"address": d.Address}, nil, &same)
	if resp.StatusCode != http.StatusOK || same.Version != d.Version || !same.UpdatedAt.Equal(d.UpdatedAt) {
		t.Fatalf("no-op patch: status %d, version %d -> %d, updatedAt %v -> %v", resp.StatusCode, d.Version, same.Version, d.UpdatedAt, same.UpdatedAt)
	}

	clock.Set(testStart.Add(time.Hour))
	var moved device
	resp = call(t, srv, http.MethodPatch, path, map[string]any{"address": "1 N State St", "circuit": "CK-0001-A"},
		http.Header{"If-Match": {eTag(d.Version)}}, &moved)
	if resp.StatusCode != http.StatusOK || moved.Version != d.Version+1 || moved.Address != "1 N State St" ||
		!moved.UpdatedAt.Equal(testStart.Add(time.Hour)) || moved.PoleID != d.PoleID {
		t.Fatalf("patch: status %d, %+v", resp.StatusCode, moved)
	}

	var stale problemBody
	resp = call(t, srv, http.MethodPatch, path, map[string]any{"address": "2 N State St"}, http.Header{"If-Match": {eTag(d.Version)}}, &stale)
	if resp.StatusCode != http.StatusPreconditionFailed || stale.Key != "preconditionFailed" || resp.Header.Get("ETag") != eTag(moved.Version) {
		t.Fatalf("stale If-Match: status %d, %+v", resp.StatusCode, stale)
	}

	for _, body := range []map[string]any{
		{"externalId": "SL-OTHER"},
		{"state": "lost"},
		{"location": map[string]float64{"latitude": 91, "longitude": 0}},
		{"inServiceDate": "March 2019"},
	} {
		var p problemBody
		if resp := call(t, srv, http.MethodPatch, path, body, nil, &p); resp.StatusCode != http.StatusBadRequest || len(p.Errors) == 0 {
			t.Errorf("patch %v: status %d, %+v", body, resp.StatusCode, p)
		}
	}
	if got := *c.devices[4]; got.Address != "1 N State St" || got.Version != moved.Version {
		t.Errorf("rejected patches changed the device: %+v", got)
	}
}

func TestBulkUpsertReportsEachItem(t *testing.T) {
	t.Parallel()
	c, srv, clock := testServer(t, 500, Options{})
	clock.Set(testStart.Add(2 * time.Hour))
	existing := *c.devices[0]
	fresh := testNewAsset(t, c, 0)
	items := []map[string]any{
		{"externalId": fresh.AssetID, "lampType": fresh.LampType, "nominalWatts": fresh.NominalWatts, "inputWatts": fresh.InputWatts},
		{"externalId": existing.ExternalID, "rateSchedule": "LS-3"},
		{"externalId": c.devices[1].ExternalID, "address": c.devices[1].Address},
		{"externalId": "SL-BAD", "state": "commissioned"},
		{"externalId": fresh.AssetID},
		{"poleId": "P-000001"},
	}
	var out struct {
		Results []bulkResult `json:"results"`
	}
	resp := call(t, srv, http.MethodPost, "/api/v1/devices/bulk", map[string]any{"devices": items}, nil, &out)
	if resp.StatusCode != http.StatusOK || len(out.Results) != len(items) {
		t.Fatalf("status %d, %d results", resp.StatusCode, len(out.Results))
	}
	want := []string{"created", "updated", "unchanged", "failed", "failed", "failed"}
	for i, r := range out.Results {
		if r.Index != i || r.Status != want[i] || (r.Status == "failed") != (r.Error != nil) || (r.Status != "failed") != (r.Device != nil) {
			t.Errorf("item %d: %+v, want status %s", i, r, want[i])
		}
	}
	created, updated := out.Results[0].Device, out.Results[1].Device
	if created == nil || updated == nil {
		t.FailNow()
	}
	if !created.UpdatedAt.Equal(updated.UpdatedAt) || !created.UpdatedAt.Equal(testStart.Add(2*time.Hour)) {
		t.Errorf("one bulk write stamped %v and %v", created.UpdatedAt, updated.UpdatedAt)
	}
	if out.Results[4].Error.Key != "resourceConflict" || out.Results[3].Error.Status != http.StatusBadRequest {
		t.Errorf("errors: %+v, %+v", out.Results[3].Error, out.Results[4].Error)
	}
	// Sending the same request again changes nothing: bulk upsert is idempotent.
	resp = call(t, srv, http.MethodPost, "/api/v1/devices/bulk", map[string]any{"devices": items[:3]}, nil, &out)
	for i, r := range out.Results {
		if resp.StatusCode != http.StatusOK || r.Status != "unchanged" {
			t.Errorf("repeat item %d: %+v", i, r)
		}
	}
	var p problemBody
	if resp := call(t, srv, http.MethodPost, "/api/v1/devices/bulk", map[string]any{"devices": []any{}}, nil, &p); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty bulk: status %d", resp.StatusCode)
	}
}

func TestRaiseAndClearAlarm(t *testing.T) {
	t.Parallel()
	c, srv, clock := testServer(t, 300, Options{})
	asset := c.devices[2].ExternalID
	raised := testStart.Add(-30 * time.Minute)
	id, err := c.RaiseAlarm(asset, AlarmLampFailure, raised)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RaiseAlarm(asset, AlarmLampFailure, raised); err == nil {
		t.Error("a second open lampFailure on one device was accepted")
	}
	if _, err := c.RaiseAlarm(asset, "meteorStrike", raised); err == nil {
		t.Error("an unknown alarm type was accepted")
	}
	var a alarm
	if resp := call(t, srv, http.MethodGet, "/api/v1/alarms/"+id, nil, nil, &a); resp.StatusCode != http.StatusOK ||
		a.State != AlarmActive || a.ExternalID != asset || !a.RaisedAt.Equal(raised) || a.ClearedAt != nil {
		t.Fatalf("alarm: status %d, %+v", resp.StatusCode, a)
	}
	clock.Set(testStart.Add(time.Hour))
	cleared := testStart.Add(50 * time.Minute)
	if err := c.ClearAlarm(id, cleared); err != nil {
		t.Fatal(err)
	}
	var p testPage
	call(t, srv, http.MethodGet, "/api/v1/alarms?state=cleared&since="+testStart.Add(time.Hour).Format(time.RFC3339), nil, nil, &p)
	if len(p.Alarms) != 1 || p.Alarms[0].ID != id || p.Alarms[0].ClearedAt == nil || !p.Alarms[0].ClearedAt.Equal(cleared) {
		t.Fatalf("cleared alarms since the clear: %+v", p.Alarms)
	}
	if err := c.ClearAlarm(id, cleared); err == nil {
		t.Error("clearing a cleared alarm was accepted")
	}
}

func TestDecommissioningClearsOpenAlarms(t *testing.T) {
	t.Parallel()
	c, srv, clock := testServer(t, 300, Options{})
	d := *c.devices[6]
	id, err := c.RaiseAlarm(d.ExternalID, AlarmCommunicationFailure, testStart)
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(testStart.Add(time.Hour))
	if resp := call(t, srv, http.MethodPatch, "/api/v1/devices/"+d.ID, map[string]any{"state": StateDecommissioned}, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("decommission: status %d", resp.StatusCode)
	}
	var a alarm
	call(t, srv, http.MethodGet, "/api/v1/alarms/"+id, nil, nil, &a)
	if a.State != AlarmCleared || a.ClearedAt == nil || !a.ClearedAt.Equal(testStart.Add(time.Hour)) || !a.UpdatedAt.After(*a.ClearedAt) {
		t.Fatalf("alarm of a decommissioned device: %+v", a)
	}
}
