package billingexport

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/utility"
)

// Mapping is how CMS devices become inventory rows: configuration, not
// code. ParseMapping reads a JSON override of DefaultMapping.
type Mapping struct {
	// Sender names the city in file names (utility.FileName).
	Sender string `json:"sender"`
	// Accounts maps a rate schedule to the utility account its lights are
	// billed to; DefaultAccount takes the rest.
	Accounts       map[string]string `json:"accounts"`
	DefaultAccount string            `json:"defaultAccount"`
	// DimmingProfile is the profile reported for lights with a controller;
	// lights without one report none.
	DimmingProfile string `json:"dimmingProfile"`
	// Billed lists the CMS states in which a light is billed.
	Billed []string `json:"billed"`
}

// DefaultMapping returns the defaults:
//
//	sender:         "citylink"
//	accounts:       LS-1 → CITY-LS1, LS-2 → CITY-LS2, LS-3 → CITY-LS3
//	defaultAccount: "CITY-STREETLIGHTS"
//	dimmingProfile: "DIM-50-MIDNIGHT" (half output from midnight to 5 am)
//	billed:         provisioned, commissioned (powered on the street)
func DefaultMapping() Mapping {
	return Mapping{
		Sender:         "citylink",
		Accounts:       map[string]string{"LS-1": "CITY-LS1", "LS-2": "CITY-LS2", "LS-3": "CITY-LS3"},
		DefaultAccount: "CITY-STREETLIGHTS",
		DimmingProfile: "DIM-50-MIDNIGHT",
		Billed:         []string{cms.StateProvisioned, cms.StateCommissioned},
	}
}

// ParseMapping reads a JSON mapping over the defaults: members it names
// replace the default's. An empty string is the default mapping.
func ParseMapping(s string) (Mapping, error) {
	m := DefaultMapping()
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, fmt.Errorf("reading billing mapping: %w", err)
	}
	if m.Sender == "" || m.DefaultAccount == "" || len(m.Billed) == 0 {
		return Mapping{}, errors.New("billing mapping: sender, defaultAccount and billed must not be empty")
	}
	return m, nil
}

func (m Mapping) billed(state string) bool {
	for _, s := range m.Billed {
		if s == state {
			return true
		}
	}
	return false
}

// row is the inventory row of a device of the given type; the caller sets
// Type. The effective day is the day the CMS wrote the change.
func (m Mapping) row(d cms.Device, typ utility.ChangeType) utility.Change {
	c := utility.Change{
		Type: typ, Effective: day(d.UpdatedAt),
		AccountID: m.DefaultAccount, AssetID: d.ExternalID, PoleID: d.PoleID, Address: d.Address,
		Lat: d.Location.Latitude, Lon: d.Location.Longitude, LampType: d.LampType,
		NominalWatts: d.NominalWatts, InputWatts: d.InputWatts, RateSchedule: d.RateSchedule,
		Controller: d.ControllerID != "",
	}
	if a, ok := m.Accounts[d.RateSchedule]; ok {
		c.AccountID = a
	}
	if c.Controller {
		c.DimmingProfile = m.DimmingProfile
	}
	if t, err := time.Parse(time.DateOnly, d.InServiceDate); err == nil {
		c.InService = t
	}
	if typ == utility.Removed {
		c.Removal = c.Effective
	}
	return c
}

func day(t time.Time) time.Time {
	y, mo, d := t.UTC().Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// billingEqual reports whether two rows bill the same: every column but the
// change type and the dates of the change.
func billingEqual(a, b utility.Change) bool {
	a.Type, a.Effective, a.Removal = "", time.Time{}, time.Time{}
	b.Type, b.Effective, b.Removal = "", time.Time{}, time.Time{}
	return a == b
}

// decide returns the row a device calls for, given the asset's last row in
// an earlier run (nil when the utility has never billed it), or the reason
// it calls for none.
func (m Mapping) decide(d cms.Device, prev *utility.Change) (utility.Change, string) {
	live := prev != nil && prev.Type != utility.Removed
	if !m.billed(d.State) {
		if !live {
			return utility.Change{}, fmt.Sprintf("not billed in state %s", d.State)
		}
		r := m.row(d, utility.Removed)
		// A removed light is billed to the end on the row the utility has.
		r.AccountID, r.RateSchedule, r.InputWatts = prev.AccountID, prev.RateSchedule, prev.InputWatts
		return r, ""
	}
	if !live {
		return m.row(d, utility.Added), ""
	}
	r := m.row(d, utility.Changed)
	if billingEqual(r, *prev) {
		return utility.Change{}, "no billing change"
	}
	return r, ""
}
