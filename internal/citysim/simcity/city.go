package simcity

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// DefaultLights is the number of streetlights in the default simulated city,
// about the size of a large American city's inventory.
const DefaultLights = 270000

// Epoch returns the simulated city's "now" at generation time: every
// in-service date and audit happened before it. It is fixed so a seed always
// yields the same city.
func Epoch() time.Time { return time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC) }

// Lamp types, as the city's asset register names them.
const (
	LampLED = "LED" // light-emitting diode, usually with a smart controller
	LampHPS = "HPS" // high-pressure sodium
	LampLPS = "LPS" // low-pressure sodium
	LampMH  = "MH"  // metal halide
)

// Ownership of a light, which decides its utility rate schedule.
const (
	OwnerCity    = "city"
	OwnerUtility = "utility"
)

// Utility rate schedules for unmetered street lighting. LS-1: the utility owns
// and maintains the fixture and bills a flat monthly rate per lamp size. LS-2:
// the city owns the fixture and the utility bills energy only, on rated input
// watts times dusk-to-dawn burn hours. LS-3: city-owned lights with a metering
// grade controller, billed on the energy the controller reports.
const (
	RateLS1 = "LS-1"
	RateLS2 = "LS-2"
	RateLS3 = "LS-3"
)

// Audit statuses in the third-party audit layer.
const (
	AuditAudited  = "audited"
	AuditApproved = "approved"
	AuditRejected = "rejected"
)

// City is a deterministic simulated city: its streetlights and the audit
// records a third-party auditor holds for a share of them.
type City struct {
	Seed   uint64
	Lights []Light // in asset-id order: Lights[i].AssetID names index i
	Audits []Audit // one per audited light, in asset-id order
}

// Light is one streetlight in the city's asset register.
type Light struct {
	AssetID      string // "SL-0000001", unique and stable for a seed
	PoleID       string // "P-000001"; a twin-arm pole carries two lights
	Lat, Lon     float64
	LampType     string // LampLED, LampHPS, LampLPS or LampMH
	NominalWatts int    // rated lamp watts
	InputWatts   int    // watts drawn at the supply, driver or ballast losses included
	RateSchedule string // RateLS1, RateLS2 or RateLS3
	InService    time.Time
	ControllerID string // smart node on the light, empty when it has none
	Circuit      string // the lighting circuit (contactor cabinet and leg) feeding the pole
	Address      string // nearest street address, "1530 N Ashland Ave"

	Street    string // the street the pole stands on, "Ashland Ave"
	Ownership string // OwnerCity or OwnerUtility
}

// Audit is a third-party audit record for one light.
type Audit struct {
	AssetID   string
	Status    string // AuditAudited, AuditApproved or AuditRejected
	Auditor   string
	AuditedAt time.Time // auditors sync in batches, so many records share a timestamp
}

// New generates a city of n streetlights (DefaultLights if n <= 0) from
// seed. The same seed and n always produce the same city.
func New(seed uint64, n int) *City {
	if n <= 0 {
		n = DefaultLights
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := &City{Seed: seed, Lights: make([]Light, n), Audits: make([]Audit, 0, n*2/5)}
	g := gen{rng: rng, ctrlKey: rng.Uint64(), buf: make([]byte, 0, 96), streets: make(map[int]string)}
	for i := range c.Lights {
		g.light(&c.Lights[i], i)
	}
	for i := range c.Lights {
		if a, ok := g.audit(&c.Lights[i]); ok {
			c.Audits = append(c.Audits, a)
		}
	}
	return c
}

// AssetID formats the asset id of the light at index i.
func AssetID(i int) string {
	return string(Padded(make([]byte, 0, 10), "SL-", i+1, 7))
}

// LightByAssetID finds a light by asset id without a search: asset ids encode
// their index.
func (c *City) LightByAssetID(assetID string) (Light, bool) {
	if len(assetID) < 4 || assetID[:3] != "SL-" {
		return Light{}, false
	}
	i, err := strconv.Atoi(assetID[3:])
	if err != nil || i < 1 || i > len(c.Lights) || c.Lights[i-1].AssetID != assetID {
		return Light{}, false
	}
	return c.Lights[i-1], true
}

// Padded appends prefix and v zero-padded to width digits.
func Padded(buf []byte, prefix string, v, width int) []byte {
	buf = append(buf, prefix...)
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(v), 10)
	for range width - len(s) {
		buf = append(buf, '0')
	}
	return append(buf, s...)
}
