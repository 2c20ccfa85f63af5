package simcity

import (
	"math/rand/v2"
	"time"
)

// lamp is one lamp size of a lamp type: rated watts and the input watts a
// typical ballast draws for it (HID lamps), or the driver-less rated figure
// (LED, whose driver losses are drawn per light).
type lamp struct{ nominal, input int }

// Lamp sizes by type, from the ANSI ballast tables utilities publish with their
// street lighting tariffs. The first half of each list is residential, the
// second half arterial.
var (
	ledLamps = [...]lamp{{40, 0}, {50, 0}, {70, 0}, {90, 0}, {110, 0}, {130, 0}, {150, 0}}
	hpsLamps = [...]lamp{{100, 130}, {150, 188}, {250, 295}, {310, 365}, {400, 465}}
	lpsLamps = [...]lamp{{35, 60}, {55, 80}, {90, 125}, {135, 178}, {180, 220}}
	mhLamps  = [...]lamp{{100, 128}, {175, 210}, {250, 295}, {400, 458}}
	auditors = [...]string{
		"M. Kowalski", "J. Okafor", "L. Nguyen", "R. Delgado", "S. Patel", "T. Brennan",
		"A. Lindqvist", "D. Washington", "K. Murphy", "E. Rossi", "H. Yamamoto", "C. Novak",
	}
)

// gen carries the generator's state across lights: the random stream and
// the previous light, which a twin-arm pole shares.
type gen struct {
	rng     *rand.Rand
	ctrlKey uint64
	poles   int
	prev    *Light
	buf     []byte
	streets map[int]string // street names by grid line, built once each
}

// street names the grid line, from the cache when it can.
func (g *gen) street(nsStreet bool, line int) string {
	key := line * 2
	if nsStreet {
		key++
	}
	if s, ok := g.streets[key]; ok {
		return s
	}
	s := streetName(nsStreet, line)
	g.streets[key] = s
	return s
}

// light fills l, the light at index i.
func (g *gen) light(l *Light, i int) {
	r := g.rng
	g.buf = g.buf[:0]
	l.AssetID = string(Padded(g.buf[:0], "SL-", i+1, 7))
	if g.prev != nil && r.IntN(100) < 6 {
		// A twin-arm pole: the second light shares the pole, its place and its circuit.
		p := g.prev
		l.PoleID, l.Lat, l.Lon, l.Address, l.Street, l.Circuit = p.PoleID, p.Lat, p.Lon, p.Address, p.Street, p.Circuit
		g.lamp(l, i, false)
		g.prev = nil
		return
	}
	g.poles++
	l.PoleID = string(Padded(g.buf, "P-", g.poles, 6))
	arterial := g.place(l)
	g.lamp(l, i, arterial)
	g.prev = l
}

// place puts l on a random grid line inside the city and derives its
// coordinates, street, address and circuit. It reports whether the street is
// an arterial (a half-mile line of the grid), which gets the bigger lamps.
func (g *gen) place(l *Light) bool {
	r := g.rng
	const south, north, west, east = -13800, 7600, -7200, 4000
	for {
		n := r.IntN(north-south+1) + south
		e := r.IntN(east-west+1) + west
		nsStreet := r.IntN(2) == 0
		var line, along int
		var dir byte
		if nsStreet {
			line, along = round(e), n
			e, dir = line, 'N'
			if n < 0 {
				dir = 'S'
			}
		} else {
			line, along = round(n), e
			n, dir = line, 'E'
			if e < 0 {
				dir = 'W'
			}
		}
		if !inside(n, e) {
			continue
		}
		l.Street = g.street(nsStreet, line)
		num := max(1, abs(along)&^1|r.IntN(2)) // one side of the street is odd, the other even
		l.Address = string(address(g.buf[:0], num, dir, l.Street))
		lat, lon := latLon(n, e)
		// Poles stand a few metres off the centreline.
		off := (r.Float64() - 0.5) * 0.00016
		if nsStreet {
			lon += off
		} else {
			lat += off
		}
		l.Lat, l.Lon = lat, lon
		cabinet := (n-south)/400*40 + (e-west)/400
		leg := byte('A' + (abs(along)/100)%3)
		b := Padded(g.buf[:0], "CK-", cabinet, 4)
		l.Circuit = string(append(b, '-', leg))
		return line%400 == 0
	}
}

// lamp draws l's lamp type, size, dates, controller, ownership and rate.
func (g *gen) lamp(l *Light, i int, arterial bool) {
	r := g.rng
	var sizes []lamp
	var fromYear, toYear int
	switch p := r.IntN(100); {
	case p < 62:
		l.LampType, sizes, fromYear, toYear = LampLED, ledLamps[:], 2014, 2025
	case p < 93:
		l.LampType, sizes, fromYear, toYear = LampHPS, hpsLamps[:], 1978, 2013
	case p < 97:
		l.LampType, sizes, fromYear, toYear = LampMH, mhLamps[:], 1992, 2015
	default:
		l.LampType, sizes, fromYear, toYear = LampLPS, lpsLamps[:], 1972, 1992
	}
	half := len(sizes) / 2
	var s lamp
	if arterial {
		s = sizes[half+r.IntN(len(sizes)-half)]
	} else {
		s = sizes[r.IntN(half+1)]
	}
	l.NominalWatts, l.InputWatts = s.nominal, s.input
	if l.LampType == LampLED {
		// LED drivers run at 90-97% efficiency.
		l.InputWatts = (s.nominal*(103+r.IntN(8)) + 50) / 100
	}
	start := time.Date(fromYear, time.January, 1, 0, 0, 0, 0, time.UTC)
	days := time.Date(toYear, time.December, 31, 0, 0, 0, 0, time.UTC).Sub(start) / (24 * time.Hour)
	l.InService = start.AddDate(0, 0, r.IntN(int(days)+1))

	l.Ownership = OwnerCity
	if r.IntN(100) < 15 {
		l.Ownership = OwnerUtility
	}
	l.ControllerID = ""
	if l.LampType == LampLED && r.IntN(100) < 92 {
		l.ControllerID = ControllerID(g.buf[:0], g.ctrlKey, i)
	}
	switch {
	case l.Ownership == OwnerUtility:
		l.RateSchedule = RateLS1
	case l.ControllerID != "" && r.IntN(100) < 40:
		l.RateSchedule = RateLS3
	default:
		l.RateSchedule = RateLS2
	}
}

// audit draws whether l has a third-party audit record, and the record.
func (g *gen) audit(l *Light) (Audit, bool) {
	r := g.rng
	if r.IntN(100) >= 38 {
		return Audit{}, false
	}
	a := Audit{AssetID: l.AssetID, Auditor: auditors[r.IntN(len(auditors))]}
	switch p := r.IntN(100); {
	case p < 45:
		a.Status = AuditAudited
	case p < 85:
		a.Status = AuditApproved
	default:
		a.Status = AuditRejected
	}
	// Field tablets sync on the quarter hour during a working day in 2025.
	day := time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(300))
	a.AuditedAt = day.Add(time.Duration(8*4+r.IntN(9*4)) * 15 * time.Minute)
	return a, true
}

// RandomLEDWatts draws the rated watts of an LED lamp from the sizes
// the city installs, for a system that retrofits or adds a light.
func RandomLEDWatts(r *rand.Rand) int {
	return ledLamps[r.IntN(len(ledLamps))].nominal
}

// ControllerID formats the controller id of the light at index i as 48
// bits of hex, as a controller is usually named for its radio's EUI-48. The
// bits are a bijection of i (an odd multiplier and a key, modulo 2^48), so
// ids look random yet never collide.
func ControllerID(buf []byte, key uint64, i int) string {
	const mask = 1<<48 - 1
	v := (uint64(i+1)*0x5DEECE66D ^ key) & mask
	buf = append(buf, "LC-"...)
	const hex = "0123456789ABCDEF"
	for shift := 44; shift >= 0; shift -= 4 {
		buf = append(buf, hex[(v>>uint(shift))&0xf])
	}
	return string(buf)
}

// round rounds a grid number to the nearest grid line (a multiple of 100).
func round(v int) int {
	if v < 0 {
		return -round(-v)
	}
	return (v + 50) / 100 * 100
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
