package cmssim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/testclock"
)

var testStart = time.Date(2026, time.March, 2, 8, 0, 0, 0, time.UTC)

func testServer(t *testing.T, lights int, opts Options) (*Server, *httptest.Server, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(testStart)
	opts.City = simcity.New(11, lights)
	opts.Seed = 11
	opts.Clock = clock.Now
	c := NewServer(opts)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv, clock
}

// call sends one request with the API key and decodes a JSON answer into
// out when out is not nil.
func call(t *testing.T, srv *httptest.Server, method, path string, body any, hdr http.Header, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", DefaultAPIKey)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp
}

type testPage struct {
	Devices    []device `json:"devices"`
	Alarms     []alarm  `json:"alarms"`
	NextCursor string   `json:"nextCursor"`
	More       bool     `json:"more"`
}

func TestRejectsMissingOrWrongKey(t *testing.T) {
	t.Parallel()
	_, srv, _ := testServer(t, 200, Options{})
	for _, key := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/devices", nil)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p problemBody
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusUnauthorized || p.Key != "unauthorized" ||
			resp.Header.Get("WWW-Authenticate") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("key %q: status %d, problem %+v, err %v", key, resp.StatusCode, p, err)
		}
	}
}

func TestListDevicesPagesEveryDeviceOnceInOrder(t *testing.T) {
	t.Parallel()
	c, srv, _ := testServer(t, 6000, Options{})
	seen := map[string]bool{}
	var prev *device
	ties := 0
	cursor := ""
	for pages := 0; ; pages++ {
		var p testPage
		resp := call(t, srv, http.MethodGet, "/api/v1/devices?limit=137&after="+url.QueryEscape(cursor), nil, nil, &p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for i := range p.Devices {
			d := p.Devices[i]
			if seen[d.ID] {
				t.Fatalf("device %s listed twice", d.ID)
			}
			seen[d.ID] = true
			if prev != nil {
				if d.UpdatedAt.Before(prev.UpdatedAt) || (d.UpdatedAt.Equal(prev.UpdatedAt) && d.ID <= prev.ID) {
					t.Fatalf("%s (%v) listed after %s (%v)", d.ID, d.UpdatedAt, prev.ID, prev.UpdatedAt)
				}
				if d.UpdatedAt.Equal(prev.UpdatedAt) {
					ties++
				}
			}
			prev = &d
		}
		if !p.More {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != len(c.devices) || len(seen) < 3000 {
		t.Fatalf("listed %d devices, the CMS holds %d", len(seen), len(c.devices))
	}
	if ties == 0 {
		t.Error("no two devices share updatedAt, so the tie-break went untested")
	}
}

func TestListingSeesDevicesWrittenWhileItPages(t *testing.T) {
	t.Parallel()
	_, srv, clock := testServer(t, 3000, Options{})
	var first testPage
	call(t, srv, http.MethodGet, "/api/v1/devices?limit=50", nil, nil, &first)
	if !first.More {
		t.Fatal("expected more than one page")
	}
	// Write a device the listing already passed; it must come round again.
	passed := first.Devices[3]
	clock.Set(testStart.Add(time.Minute))
	watts := passed.NominalWatts + 10
	var patched device
	if resp := call(t, srv, http.MethodPatch, "/api/v1/devices/"+passed.ID, map[string]any{"nominalWatts": watts, "inputWatts": watts + 5}, nil, &patched); resp.StatusCode != http.StatusOK {
		t.Fatalf("patch: status %d", resp.StatusCode)
	}
	found := false
	cursor := first.NextCursor
	for more := true; more; {
		var p testPage
		call(t, srv, http.MethodGet, "/api/v1/devices?limit=500&after="+url.QueryEscape(cursor), nil, nil, &p)
		for _, d := range p.Devices {
			if d.ID == passed.ID {
				found = d.NominalWatts == watts && d.Version == passed.Version+1
			}
		}
		cursor, more = p.NextCursor, p.More
	}
	if !found {
		t.Fatalf("device %s written mid-listing never came round with its new version", passed.ID)
	}
	// The last page's cursor resumes with only the writes made after it.
	var none testPage
	call(t, srv, http.MethodGet, "/api/v1/devices?after="+url.QueryEscape(cursor), nil, nil, &none)
	if len(none.Devices) != 0 || none.More || none.NextCursor != cursor {
		t.Fatalf("nothing written since the end: %+v", none)
	}
	other := first.Devices[7]
	clock.Set(testStart) // a clock that steps back still stamps later writes later
	if resp := call(t, srv, http.MethodPatch, "/api/v1/devices/"+other.ID, map[string]any{"address": "2 N State St"}, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("patch: status %d", resp.StatusCode)
	}
	var resumed testPage
	call(t, srv, http.MethodGet, "/api/v1/devices?after="+url.QueryEscape(cursor), nil, nil, &resumed)
	if len(resumed.Devices) != 1 || resumed.Devices[0].ID != other.ID || resumed.More {
		t.Fatalf("resumed after the end: %+v", resumed)
	}
	// since excludes everything stamped before it.
	var recent testPage
	call(t, srv, http.MethodGet, "/api/v1/devices?since="+url.QueryEscape(patched.UpdatedAt.Format(time.RFC3339Nano)), nil, nil, &recent)
	if len(recent.Devices) != 2 || recent.Devices[0].ID != passed.ID || recent.Devices[1].ID != other.ID || recent.More {
		t.Fatalf("since %v listed %+v", patched.UpdatedAt, recent)
	}
}

func TestRejectsBadListParameters(t *testing.T) {
	t.Parallel()
	_, srv, _ := testServer(t, 100, Options{})
	for _, q := range []string{"since=yesterday", "limit=0", "limit=1001", "after=%21%21", "state=lost", "after=" + encodeCursor(1, "dev-9999999")} {
		var p problemBody
		resp := call(t, srv, http.MethodGet, "/api/v1/devices?"+q, nil, nil, &p)
		if resp.StatusCode != http.StatusBadRequest || p.Key != "parameterValueNotValid" {
			t.Errorf("%s: status %d, problem %+v", q, resp.StatusCode, p)
		}
	}
	var p problemBody
	if resp := call(t, srv, http.MethodGet, "/api/v1/alarms?type=meteorStrike", nil, nil, &p); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown alarm type: status %d", resp.StatusCode)
	}
}

func TestGetDevice(t *testing.T) {
	t.Parallel()
	c, srv, _ := testServer(t, 100, Options{})
	want := c.devices[7]
	var got device
	resp := call(t, srv, http.MethodGet, "/api/v1/devices/"+want.ID, nil, nil, &got)
	if resp.StatusCode != http.StatusOK || got.ExternalID != want.ExternalID || resp.Header.Get("ETag") != eTag(want.Version) {
		t.Fatalf("status %d, got %+v, etag %s", resp.StatusCode, got, resp.Header.Get("ETag"))
	}
	light, _ := c.city.LightByAssetID(got.ExternalID)
	if got.Location.Latitude != light.Lat || got.NominalWatts != light.NominalWatts || got.Address != light.Address {
		t.Errorf("device %+v does not match its light %+v", got, light)
	}
	var p problemBody
	if resp := call(t, srv, http.MethodGet, "/api/v1/devices/dev-9999999", nil, nil, &p); resp.StatusCode != http.StatusNotFound || p.Key != "resourceNotFound" {
		t.Errorf("unknown device: status %d, %+v", resp.StatusCode, p)
	}
	var byExt testPage
	call(t, srv, http.MethodGet, "/api/v1/devices?externalId="+want.ExternalID, nil, nil, &byExt)
	if len(byExt.Devices) != 1 || byExt.Devices[0].ID != want.ID {
		t.Errorf("lookup by externalId: %+v", byExt)
	}
}

// testNewAsset finds a city light that is not yet in the CMS.
func testNewAsset(t *testing.T, c *Server, skip int) simcity.Light {
	t.Helper()
	for _, l := range c.city.Lights {
		if _, in := c.byExt[l.AssetID]; !in {
			if skip == 0 {
				return l
			}
			skip--
		}
	}
	t.Fatal("every light is in the CMS")
	return simcity.Light{}
}

func TestCreateIsIdempotentByExternalID(t *testing.T) {
	t.Parallel()
	c, srv, _ := testServer(t, 500, Options{})
	l := testNewAsset(t, c, 0)
	in := map[string]any{"externalId": l.AssetID, "poleId": l.PoleID, "lampType": l.LampType,
		"nominalWatts": l.NominalWatts, "inputWatts": l.InputWatts, "location": map[string]float64{"latitude": l.Lat, "longitude": l.Lon}}
	var created device
	resp := call(t, srv, http.MethodPost, "/api/v1/devices", in, nil, &created)
	if resp.StatusCode != http.StatusCreated || created.State != StatePlanned || created.Version != 1 ||
		resp.Header.Get("Location") != "/api/v1/devices/"+created.ID {
		t.Fatalf("create: status %d, %+v, location %q", resp.StatusCode, created, resp.Header.Get("Location"))
	}
	var conflict problemBody
	resp = call(t, srv, http.MethodPost, "/api/v1/devices", in, nil, &conflict)
	if resp.StatusCode != http.StatusConflict || conflict.Key != "resourceConflict" || conflict.Existing == nil ||
		conflict.Existing.ID != created.ID || resp.Header.Get("Location") != "/api/v1/devices/"+created.ID {
		t.Fatalf("second create: status %d, %+v", resp.StatusCode, conflict)
	}
	var bad problemBody
	resp = call(t, srv, http.MethodPost, "/api/v1/devices",
		map[string]any{"externalId": "SL-NEW-1", "state": "commissioned", "nominalWatts": 90, "inputWatts": 80}, nil, &bad)
	if resp.StatusCode != http.StatusBadRequest || bad.Key != "payloadError" || len(bad.Errors) != 2 {
		t.Fatalf("invalid create: status %d, %+v", resp.StatusCode, bad)
	}
	resp = call(t, srv, http.MethodPost, "/api/v1/devices", map[string]any{"externalId": "SL-NEW-2", "colour": "red"}, nil, &bad)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(bad.Detail, "colour") {
		t.Fatalf("unknown field: status %d, %+v", resp.StatusCode, bad)
	}
}

func TestLostReplyStillAppliesTheWrite(t *testing.T) {
	t.Parallel()
	c, srv, _ := testServer(t, 300, Options{LostReplyRate: 1})
	l := testNewAsset(t, c, 0)
	in := map[string]any{"externalId": l.AssetID}
	if resp := call(t, srv, http.MethodPost, "/api/v1/devices", in, nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want the lost reply's 503", resp.StatusCode)
	}
	var p problemBody
	if resp := call(t, srv, http.MethodPost, "/api/v1/devices", in, nil, &p); resp.StatusCode != http.StatusConflict || p.Existing == nil {
		t.Fatalf("retry: status %d, %+v; the first create should have gone through", resp.StatusCode, p)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	_, srv, _ := testServer(t, 100, Options{})
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodDelete, "/api/v1/devices/dev-0000001", http.StatusMethodNotAllowed, "GET, PATCH"},
		{http.MethodPut, "/api/v1/devices", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodGet, "/api/v1/devices/bulk", http.StatusNotFound, ""},
		{http.MethodPost, "/api/v1/alarms", http.StatusMethodNotAllowed, "GET"},
		{http.MethodGet, "/api/v2/devices", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		var p problemBody
		resp := call(t, srv, tt.method, tt.path, nil, nil, &p)
		if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow || p.Status != tt.status {
			t.Errorf("%s %s: status %d, allow %q, problem %+v", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), p)
		}
	}
}
