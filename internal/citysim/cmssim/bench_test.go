package citysim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkNewCMS builds the CMS over the default city, as `citylink dev`
// does at start-up (the city itself is generated outside the timer).
func BenchmarkNewCMS(b *testing.B) {
	city := NewCity(1, DefaultLights)
	b.ReportAllocs()
	for b.Loop() {
		c := NewCMS(CMSOptions{City: city, Seed: 1, Clock: func() time.Time { return cmsTestStart }})
		if len(c.devices) < DefaultLights/2 {
			b.Fatalf("%d devices", len(c.devices))
		}
	}
}

// BenchmarkCMSListDevicesPage serves one 1,000-device page from the middle
// of the default city's listing, JSON encoding included, without a network.
func BenchmarkCMSListDevicesPage(b *testing.B) {
	c := NewCMS(CMSOptions{City: NewCity(1, DefaultLights), Seed: 1, Clock: func() time.Time { return cmsTestStart }})
	mid := c.devLog.entries[len(c.devLog.entries)/2]
	path := "/api/v1/devices?limit=1000&after=" + cmsEncodeCursor(mid.at, c.devices[mid.idx].ID)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-API-Key", CMSDefaultAPIKey)
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkCMSAdvanceHour advances the default city's CMS by one simulated
// hour at a time, as the dev loop's ticker does.
func BenchmarkCMSAdvanceHour(b *testing.B) {
	c := NewCMS(CMSOptions{City: NewCity(1, DefaultLights), Seed: 1, Clock: func() time.Time { return cmsTestStart }})
	now := cmsTestStart
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Hour)
		c.Advance(now)
	}
}
