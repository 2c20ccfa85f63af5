package cmssim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// BenchmarkNewCMS builds the CMS over the default city, as `citylink dev`
// does at start-up (the city itself is generated outside the timer).
func BenchmarkNewCMS(b *testing.B) {
	town := simcity.New(1, simcity.DefaultLights)
	b.ReportAllocs()
	for b.Loop() {
		c := NewServer(Options{City: town, Seed: 1, Clock: func() time.Time { return testStart }})
		if len(c.devices) < simcity.DefaultLights/2 {
			b.Fatalf("%d devices", len(c.devices))
		}
	}
}

// BenchmarkListDevicesPage serves one 1,000-device page from the middle
// of the default city's listing, JSON encoding included, without a network.
func BenchmarkListDevicesPage(b *testing.B) {
	c := NewServer(Options{City: simcity.New(1, simcity.DefaultLights), Seed: 1, Clock: func() time.Time { return testStart }})
	mid := c.devLog.entries[len(c.devLog.entries)/2]
	path := "/api/v1/devices?limit=1000&after=" + encodeCursor(mid.at, c.devices[mid.idx].ID)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-API-Key", DefaultAPIKey)
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkAdvanceHour advances the default city's CMS by one simulated
// hour at a time, as the dev loop's ticker does.
func BenchmarkAdvanceHour(b *testing.B) {
	c := NewServer(Options{City: simcity.New(1, simcity.DefaultLights), Seed: 1, Clock: func() time.Time { return testStart }})
	now := testStart
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Hour)
		c.Advance(now)
	}
}
