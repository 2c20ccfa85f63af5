package cms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/httpretry"
)

// replay serves recorded CMS answers from testdata, checking what the client
// sends on the way.
func replay(t *testing.T) *httptest.Server {
	t.Helper()
	file := func(w http.ResponseWriter, status int, ct, name string) {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		w.Write(b)
	}
	const js, problem = "application/json", "application/problem+json"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "recorded-key" {
			t.Errorf("%s %s without the API key", r.Method, r.URL)
		}
		q := r.URL.Query()
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/devices":
			if q.Get("since") != "2025-11-30T02:00:00Z" || q.Get("limit") != "2" {
				t.Errorf("device listing query %s", r.URL.RawQuery)
			}
			switch q.Get("after") {
			case "":
				file(w, 200, js, "devices_page1.json")
			case "MTc2NDQ2ODAwMDAwMDAwMDpkZXYtMDAwMDQxMw":
				file(w, 200, js, "devices_page2.json")
			default:
				t.Errorf("unexpected cursor %q", q.Get("after"))
			}
		case "GET /api/v1/alarms":
			file(w, 200, js, "alarms_page.json")
		case "POST /api/v1/devices/bulk":
			file(w, 200, js, "bulk_results.json")
		case "POST /api/v1/devices":
			file(w, 409, problem, "problem_409.json")
		case "PATCH /api/v1/devices/dev-0000412":
			if ct := r.Header.Get("Content-Type"); ct != "application/merge-patch+json" {
				t.Errorf("patch sent as %q", ct)
			}
			file(w, 400, problem, "problem_400.json")
		case "GET /api/v1/devices/dev-0000001":
			file(w, 502, "text/html", "gateway_502.html")
		case "GET /api/v1/devices/odd/id":
			if r.URL.EscapedPath() != "/api/v1/devices/odd%2Fid" {
				t.Errorf("id with a slash sent as %s", r.URL.EscapedPath())
			}
			file(w, 404, problem, "problem_404.json")
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func replayClient(t *testing.T) *cms.Client {
	t.Helper()
	srv := replay(t)
	c, err := cms.New(cms.Options{BaseURL: srv.URL + "/", APIKey: "recorded-key", PageSize: 2,
		Retry: httpretry.Policy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseRecordedDevicePages(t *testing.T) {
	t.Parallel()
	c := replayClient(t)
	var got []cms.Device
	for d, err := range c.Devices(context.Background(), cms.DeviceQuery{Since: time.Date(2025, 11, 30, 3, 0, 0, 0, time.FixedZone("CET", 3600))}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if len(got) != 3 {
		t.Fatalf("%d devices across the recorded pages, want 3", len(got))
	}
	d := got[0]
	want := cms.Device{ID: "dev-0000412", ExternalID: "SL-0000687", State: cms.StateCommissioned, ControllerID: "LC-3F9A0C11D2E7",
		PoleID: "P-000651", Location: cms.Location{Latitude: 41.910427, Longitude: -87.668912}, Address: "1530 N Ashland Ave",
		Circuit: "CK-1213-B", LampType: "LED", NominalWatts: 90, InputWatts: 95, RateSchedule: "LS-3", Ownership: "city",
		InServiceDate: "2019-05-04", Version: 3, CreatedAt: time.Date(2019, 5, 4, 0, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2025, 11, 30, 2, 0, 0, 0, time.UTC)}
	if !d.CreatedAt.Equal(want.CreatedAt) || !d.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("times %v %v", d.CreatedAt, d.UpdatedAt)
	}
	d.CreatedAt, d.UpdatedAt = want.CreatedAt, want.UpdatedAt
	if d != want {
		t.Fatalf("device\n got %+v\nwant %+v", d, want)
	}
	if !got[1].UpdatedAt.Equal(got[0].UpdatedAt) || got[1].ControllerID != "" || got[1].Ownership != "utility" {
		t.Errorf("second device %+v", got[1])
	}
	if got[2].State != cms.StateDecommissioned || got[2].UpdatedAt.Nanosecond() != 123456000 {
		t.Errorf("third device %+v", got[2])
	}
	var last cms.DevicePage
	err := c.ListDevicesSince(context.Background(), time.Date(2025, 11, 30, 2, 0, 0, 0, time.UTC), func(p cms.DevicePage) error {
		last = p
		return nil
	})
	if err != nil || last.More || last.NextCursor != "MTc3NTQ4NTM1MTEyMzQ1NjpkZXYtMDAwMDAwOQ" {
		t.Errorf("last page %+v, err %v: its cursor is the resume point", last, err)
	}
}

func TestParseRecordedAlarms(t *testing.T) {
	t.Parallel()
	c := replayClient(t)
	var got []cms.Alarm
	err := c.ListAlarmsSince(context.Background(), time.Time{}, func(p cms.AlarmPage) error {
		got = append(got, p.Alarms...)
		return nil
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("%d alarms, err %v", len(got), err)
	}
	if a := got[0]; !a.Active() || a.Type != cms.AlarmLampFailure || a.ClearedAt != nil || a.Severity != "major" {
		t.Errorf("active alarm %+v", a)
	}
	if a := got[1]; a.Active() || a.ClearedAt == nil || !a.ClearedAt.Equal(time.Date(2026, 4, 5, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("cleared alarm %+v", a)
	}
	if a := got[2]; a.Type != cms.AlarmSupplyLoss || a.ClearedAt != nil {
		t.Errorf("alarm with a null clearedAt %+v", a)
	}
}

func TestParseRecordedBulkResults(t *testing.T) {
	t.Parallel()
	c := replayClient(t)
	items := []cms.DeviceUpsert{{ExternalID: "SL-0270001"}, {ExternalID: "SL-0000688"}, {ExternalID: "SL-BAD"}}
	res, err := c.BulkUpsert(context.Background(), items)
	if err != nil || len(res) != 3 {
		t.Fatalf("%d results, err %v", len(res), err)
	}
	for i, r := range res {
		if r.Index != i || r.ExternalID != items[i].ExternalID {
			t.Errorf("result %d is %+v; results must come back in item order", i, r)
		}
	}
	if res[0].Status != cms.BulkCreated || res[0].Device.ID != "dev-0165002" || res[1].Status != cms.BulkUpdated {
		t.Errorf("results %+v %+v", res[0], res[1])
	}
	if p := res[2].Error; res[2].Status != cms.BulkFailed || p == nil || p.Key != "payloadError" || p.Errors[0].Field != "controllerId" {
		t.Errorf("failed item %+v", res[2])
	}
}

func TestParseRecordedProblems(t *testing.T) {
	t.Parallel()
	c := replayClient(t)
	ctx := context.Background()

	d, created, err := c.Create(ctx, cms.DeviceUpsert{ExternalID: "SL-0000687"})
	if err != nil || created || d.ID != "dev-0000412" || d.Version != 3 {
		t.Fatalf("create answered 409: %+v, created %v, err %v", d, created, err)
	}

	_, err = c.Update(ctx, "dev-0000412", cms.DevicePatch{NominalWatts: new(5000), InputWatts: new(1)}, 0)
	var apiErr *cms.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Key != "payloadError" || len(apiErr.Errors) != 2 {
		t.Fatalf("validation error: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "nominalWatts: must be between 0 and 2000") {
		t.Errorf("message %q does not name the field", msg)
	}

	if _, err := c.Get(ctx, "odd/id"); !errors.Is(err, cms.ErrNotFound) {
		t.Fatalf("get of an id with a slash: %v", err)
	}

	_, err = c.Get(ctx, "dev-0000001")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || !apiErr.Retryable() || !strings.Contains(apiErr.Body, "502 Bad Gateway") || apiErr.Key != "" {
		t.Fatalf("gateway error: %#v", err)
	}
}
