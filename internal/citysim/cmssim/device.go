package cmssim

import (
	"math/rand/v2"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// Device provisioning states in the CMS.
const (
	StatePlanned        = "planned"
	StateProvisioned    = "provisioned"
	StateCommissioned   = "commissioned"
	StateDecommissioned = "decommissioned"
)

// device is one device as the CMS stores it, and its wire form.
type device struct {
	ID            string    `json:"id"`
	ExternalID    string    `json:"externalId"`
	State         string    `json:"state"`
	ControllerID  string    `json:"controllerId,omitempty"`
	PoleID        string    `json:"poleId,omitempty"`
	Location      location  `json:"location"`
	Address       string    `json:"address,omitempty"`
	Circuit       string    `json:"circuit,omitempty"`
	LampType      string    `json:"lampType,omitempty"`
	NominalWatts  int       `json:"nominalWatts,omitempty"`
	InputWatts    int       `json:"inputWatts,omitempty"`
	RateSchedule  string    `json:"rateSchedule,omitempty"`
	Ownership     string    `json:"ownership,omitempty"`
	InServiceDate string    `json:"inServiceDate,omitempty"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`

	stamp int64 // UpdatedAt in Unix microseconds, the listing key
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// deviceInput is a create, merge patch or bulk item: absent fields are nil.
type deviceInput struct {
	ExternalID    *string   `json:"externalId"`
	State         *string   `json:"state"`
	ControllerID  *string   `json:"controllerId"`
	PoleID        *string   `json:"poleId"`
	Location      *location `json:"location"`
	Address       *string   `json:"address"`
	Circuit       *string   `json:"circuit"`
	LampType      *string   `json:"lampType"`
	NominalWatts  *int      `json:"nominalWatts"`
	InputWatts    *int      `json:"inputWatts"`
	RateSchedule  *string   `json:"rateSchedule"`
	Ownership     *string   `json:"ownership"`
	InServiceDate *string   `json:"inServiceDate"`
}

// fieldError names one invalid field of a request.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apply merges in into d and reports whether anything changed.
func apply(d *device, in *deviceInput) bool {
	changed := false
	setS := func(dst *string, src *string) {
		if src != nil && *dst != *src {
			*dst, changed = *src, true
		}
	}
	setI := func(dst *int, src *int) {
		if src != nil && *dst != *src {
			*dst, changed = *src, true
		}
	}
	setS(&d.State, in.State)
	setS(&d.ControllerID, in.ControllerID)
	setS(&d.PoleID, in.PoleID)
	if in.Location != nil && d.Location != *in.Location {
		d.Location, changed = *in.Location, true
	}
	setS(&d.Address, in.Address)
	setS(&d.Circuit, in.Circuit)
	setS(&d.LampType, in.LampType)
	setI(&d.NominalWatts, in.NominalWatts)
	setI(&d.InputWatts, in.InputWatts)
	setS(&d.RateSchedule, in.RateSchedule)
	setS(&d.Ownership, in.Ownership)
	setS(&d.InServiceDate, in.InServiceDate)
	return changed
}

// validate checks a device as it would be stored.
func validate(d *device) []fieldError {
	var errs []fieldError
	bad := func(field, msg string) { errs = append(errs, fieldError{Field: field, Message: msg}) }
	if d.ExternalID == "" || len(d.ExternalID) > 64 {
		bad("externalId", "required, at most 64 characters")
	}
	switch d.State {
	case StatePlanned, StateDecommissioned:
	case StateProvisioned, StateCommissioned:
		if d.ControllerID == "" {
			bad("controllerId", "required when the device is "+d.State)
		}
	default:
		bad("state", "must be planned, provisioned, commissioned or decommissioned")
	}
	switch d.LampType {
	case "", simcity.LampLED, simcity.LampHPS, simcity.LampLPS, simcity.LampMH:
	default:
		bad("lampType", "must be LED, HPS, LPS or MH")
	}
	if d.NominalWatts < 0 || d.NominalWatts > 2000 {
		bad("nominalWatts", "must be between 0 and 2000")
	}
	if d.InputWatts < 0 || d.InputWatts > 2500 {
		bad("inputWatts", "must be between 0 and 2500")
	} else if d.InputWatts > 0 && d.InputWatts < d.NominalWatts {
		bad("inputWatts", "cannot be below nominalWatts")
	}
	if d.Location.Latitude < -90 || d.Location.Latitude > 90 || d.Location.Longitude < -180 || d.Location.Longitude > 180 {
		bad("location", "latitude must be within ±90 and longitude within ±180")
	}
	switch d.Ownership {
	case "", simcity.OwnerCity, simcity.OwnerUtility:
	default:
		bad("ownership", "must be city or utility")
	}
	if d.InServiceDate != "" {
		if _, err := time.Parse(time.DateOnly, d.InServiceDate); err != nil {
			bad("inServiceDate", "must be a date, YYYY-MM-DD")
		}
	}
	return errs
}

// deviceFromLight makes the CMS record of a city light.
func deviceFromLight(l *simcity.Light, state string) device {
	return device{
		ExternalID:    l.AssetID,
		State:         state,
		ControllerID:  l.ControllerID,
		PoleID:        l.PoleID,
		Location:      location{Latitude: l.Lat, Longitude: l.Lon},
		Address:       l.Address,
		Circuit:       l.Circuit,
		LampType:      l.LampType,
		NominalWatts:  l.NominalWatts,
		InputWatts:    l.InputWatts,
		RateSchedule:  l.RateSchedule,
		Ownership:     l.Ownership,
		InServiceDate: l.InService.Format(time.DateOnly),
	}
}

// deviceID formats the id of the device at index i.
func deviceID(i int) string { return string(simcity.Padded(nil, "dev-", i+1, 7)) }

// load fills the CMS with its starting share of the city. Devices were
// provisioned on their in-service date and some edited since by a nightly
// sync at 02:00, so many share a timestamp, as after real bulk imports.
func (c *Server) load() {
	r := rand.New(rand.NewPCG(c.opts.Seed, 0x2545f4914f6cdd1d))
	epoch := simcity.Epoch()
	n := len(c.city.Lights) * 3 / 5
	c.devices = make([]*device, 0, n)
	c.byExt = make(map[string]int32, n)
	c.devLog.entries = make([]logEntry, 0, n)
	store := make([]device, 0, n) // one allocation backs the starting devices
	for i := range c.city.Lights {
		l := &c.city.Lights[i]
		var state string
		switch p := r.IntN(100); {
		case l.ControllerID != "" && p < 87:
			state = StateCommissioned
		case l.ControllerID != "" && p < 95:
			state = StateProvisioned
		case l.ControllerID == "" && p < 20:
			state = StatePlanned
		default:
			continue
		}
		d := deviceFromLight(l, state)
		d.CreatedAt = l.InService
		d.UpdatedAt = l.InService
		if r.IntN(5) == 0 {
			days := int(epoch.Sub(l.InService).Hours() / 24)
			d.UpdatedAt = l.InService.AddDate(0, 0, 1+r.IntN(max(days, 1))).Add(2 * time.Hour)
			if !d.UpdatedAt.Before(epoch) {
				d.UpdatedAt = l.InService
			}
			d.Version = 1
		}
		d.Version++
		if len(store) == cap(store) {
			store = make([]device, 0, n/8+1)
		}
		store = append(store, d)
		idx := c.insertLocked(&store[len(store)-1])
		c.devLog.add(c.devices[idx].stamp, idx)
	}
	c.devLog.sortAll()
	for _, e := range c.devLog.entries {
		c.lastAt = max(c.lastAt, e.at)
	}
}

// insertLocked stores a new device, giving it the next id. The caller
// logs it, keeping the log in order.
func (c *Server) insertLocked(d *device) int32 {
	idx := int32(len(c.devices))
	d.ID = deviceID(int(idx))
	d.stamp = d.UpdatedAt.UnixMicro()
	c.devices = append(c.devices, d)
	c.byExt[d.ExternalID] = idx
	if d.Circuit != "" {
		c.circuits[d.Circuit] = append(c.circuits[d.Circuit], idx)
	}
	return idx
}

// stampLocked hands out the stamp for one write: now, but never at or
// before an earlier write's stamp.
func (c *Server) stampLocked() (int64, time.Time) {
	at := c.opts.Clock().UTC().UnixMicro()
	if at <= c.lastAt {
		at = c.lastAt + 1
	}
	c.lastAt = at
	return at, time.UnixMicro(at).UTC()
}
