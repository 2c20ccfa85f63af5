package simcity

import (
	"reflect"
	"strings"
	"testing"
)

func TestNewCityDeterministic(t *testing.T) {
	t.Parallel()
	a, b := New(7, 5000), New(7, 5000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed produced different cities")
	}
	c := New(8, 5000)
	if reflect.DeepEqual(a.Lights, c.Lights) {
		t.Fatal("different seeds produced the same lights")
	}
}

func TestNewCityDefaultSize(t *testing.T) {
	t.Parallel()
	c := New(1, 0)
	if len(c.Lights) != DefaultLights {
		t.Fatalf("lights = %d, want %d", len(c.Lights), DefaultLights)
	}
	share := float64(len(c.Audits)) / float64(len(c.Lights))
	if share < 0.30 || share > 0.46 {
		t.Errorf("audited share = %.3f, want about 0.38", share)
	}
}

func TestNewCityLightsArePlausible(t *testing.T) {
	t.Parallel()
	c := New(42, 50000)
	assets := make(map[string]bool, len(c.Lights))
	controllers := make(map[string]bool)
	types := make(map[string]int)
	rates := make(map[string]int)
	poles := make(map[string]int)
	epoch := Epoch()
	for i, l := range c.Lights {
		if l.AssetID != AssetID(i) || assets[l.AssetID] {
			t.Fatalf("light %d: asset id %q out of order or duplicated", i, l.AssetID)
		}
		assets[l.AssetID] = true
		if l.Lat < MinLat || l.Lat > MaxLat || l.Lon < MinLon || l.Lon > MaxLon {
			t.Fatalf("%s at (%f, %f) is outside the city", l.AssetID, l.Lat, l.Lon)
		}
		types[l.LampType]++
		rates[l.RateSchedule]++
		poles[l.PoleID]++
		switch l.LampType {
		case LampLED:
			if l.NominalWatts < 40 || l.NominalWatts > 150 {
				t.Fatalf("%s: LED of %d W", l.AssetID, l.NominalWatts)
			}
			if l.InputWatts <= l.NominalWatts || l.InputWatts > l.NominalWatts*112/100 {
				t.Fatalf("%s: LED %d W drawing %d W", l.AssetID, l.NominalWatts, l.InputWatts)
			}
		case LampHPS:
			if l.NominalWatts < 100 || l.NominalWatts > 400 || l.InputWatts <= l.NominalWatts {
				t.Fatalf("%s: HPS %d W drawing %d W", l.AssetID, l.NominalWatts, l.InputWatts)
			}
		case LampLPS, LampMH:
			if l.InputWatts <= l.NominalWatts {
				t.Fatalf("%s: %s %d W drawing %d W", l.AssetID, l.LampType, l.NominalWatts, l.InputWatts)
			}
		default:
			t.Fatalf("%s: lamp type %q", l.AssetID, l.LampType)
		}
		if !l.InService.Before(epoch) || l.InService.Year() < 1970 {
			t.Fatalf("%s: in service %v", l.AssetID, l.InService)
		}
		if l.ControllerID != "" {
			if controllers[l.ControllerID] {
				t.Fatalf("%s: controller %s used twice", l.AssetID, l.ControllerID)
			}
			controllers[l.ControllerID] = true
			if l.LampType != LampLED {
				t.Fatalf("%s: %s lamp with a smart controller", l.AssetID, l.LampType)
			}
		}
		if l.Ownership == OwnerUtility && l.RateSchedule != RateLS1 {
			t.Fatalf("%s: utility-owned on %s", l.AssetID, l.RateSchedule)
		}
		if l.RateSchedule == RateLS3 && l.ControllerID == "" {
			t.Fatalf("%s: metered rate without a controller", l.AssetID)
		}
		if !strings.HasPrefix(l.Circuit, "CK-") || l.Street == "" || !strings.HasSuffix(l.Address, l.Street) {
			t.Fatalf("%s: circuit %q, street %q, address %q", l.AssetID, l.Circuit, l.Street, l.Address)
		}
	}
	for _, lt := range []string{LampLED, LampHPS, LampLPS, LampMH} {
		if types[lt] == 0 {
			t.Errorf("no %s lamps in %d lights", lt, len(c.Lights))
		}
	}
	for _, r := range []string{RateLS1, RateLS2, RateLS3} {
		if rates[r] == 0 {
			t.Errorf("no lights on %s", r)
		}
	}
	twins := 0
	for _, n := range poles {
		if n > 2 {
			t.Fatalf("a pole carries %d lights", n)
		}
		if n == 2 {
			twins++
		}
	}
	if twins == 0 {
		t.Error("no twin-arm poles")
	}
}

func TestNewCityAudits(t *testing.T) {
	t.Parallel()
	c := New(3, 20000)
	statuses := make(map[string]int)
	stamps := make(map[int64]int)
	prev := ""
	for _, a := range c.Audits {
		if a.AssetID <= prev {
			t.Fatalf("audits out of asset order: %s after %s", a.AssetID, prev)
		}
		prev = a.AssetID
		if _, ok := c.LightByAssetID(a.AssetID); !ok {
			t.Fatalf("audit for unknown light %s", a.AssetID)
		}
		if a.Auditor == "" || !a.AuditedAt.Before(Epoch()) {
			t.Fatalf("audit %+v", a)
		}
		statuses[a.Status]++
		stamps[a.AuditedAt.Unix()]++
	}
	for _, s := range []string{AuditAudited, AuditApproved, AuditRejected} {
		if statuses[s] == 0 {
			t.Errorf("no %s audits", s)
		}
	}
	shared := false
	for _, n := range stamps {
		if n > 1 {
			shared = true
		}
	}
	if !shared {
		t.Error("no two audits share a timestamp; watermark tie-breaks go untested downstream")
	}
}

func TestLightByAssetID(t *testing.T) {
	t.Parallel()
	c := New(5, 100)
	l, ok := c.LightByAssetID("SL-0000042")
	if !ok || l.AssetID != "SL-0000042" || l != c.Lights[41] {
		t.Fatalf("LightByAssetID(SL-0000042) = %+v, %v", l, ok)
	}
	for _, id := range []string{"", "SL-", "SL-0000000", "SL-0000101", "XX-0000001", "SL-abc"} {
		if _, ok := c.LightByAssetID(id); ok {
			t.Errorf("LightByAssetID(%q) found a light", id)
		}
	}
}

func TestStreetNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ns   bool
		line int
		want string
	}{
		{true, 0, "State St"},
		{true, -1600, "Ashland Ave"},
		{true, 1600, "Stony Island Ave"},
		{false, 2400, "Fullerton Ave"},
		{false, -4700, "47th St"},
		{false, -2200, "Cermak Rd"},
		{false, -10300, "103rd St"},
		{false, -11100, "111th St"},
	}
	for _, tt := range tests {
		if got := streetName(tt.ns, tt.line); got != tt.want {
			t.Errorf("cityStreetName(%v, %d) = %q, want %q", tt.ns, tt.line, got, tt.want)
		}
	}
}

func BenchmarkNewCity(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c := New(uint64(b.N), DefaultLights)
		if len(c.Lights) != DefaultLights {
			b.Fatal("short city")
		}
	}
}
