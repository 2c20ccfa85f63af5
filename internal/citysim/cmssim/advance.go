package cmssim

import (
	"math"
	"slices"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// Advance moves the simulated CMS forward to now: alarms whose fault has
// passed clear, new alarms are raised (a supply loss on every live device of
// its circuit at once), and the device fleet changes a little (planned
// conversions get a controller, provisioned devices are commissioned, lamps
// are re-rated, a few devices are removed). Everything one Advance writes
// shares one stamp. Given the same seed and the same sequence of Advance times
// and API writes, the CMS ends in the same state. A time at or before the last
// Advance (or the CMS's construction) does nothing. The lead's dev loop calls
// it from a ticker; tests call it directly.
func (c *Server) Advance(now time.Time) {
	now = now.UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	from := c.anchor
	if !now.After(from) {
		return
	}
	c.anchor = now
	days := now.Sub(from).Hours() / 24

	live := 0
	for _, d := range c.devices {
		if d.State == StateCommissioned {
			live++
		}
	}
	alarmRate := c.opts.AlarmsPerDay
	if alarmRate == 0 {
		alarmRate = 0.005 * float64(live)
	}
	changeRate := c.opts.ChangesPerDay
	if changeRate == 0 {
		changeRate = 0.0005 * float64(len(c.devices))
	}
	nAlarms := draw(&c.carry.alarms, alarmRate*days)
	nChanges := draw(&c.carry.changes, changeRate*days)

	var alarms, devices []int32
	for _, idx := range c.active {
		if a := c.alarms[idx]; !a.clearAt.After(now) {
			c.clearLocked(idx, a.clearAt)
			alarms = append(alarms, idx)
		}
	}
	span := now.Sub(from)
	for range nAlarms {
		dev, ok := c.pickLocked(func(d *device) bool { return d.State == StateCommissioned })
		if !ok {
			break
		}
		k := drawKind(c.rng)
		raisedAt := from.Add(time.Duration(c.rng.Int64N(int64(span)))).Truncate(time.Second)
		if raisedAt.Before(from) {
			raisedAt = from
		}
		clearAt := raisedAt.Add(time.Duration(k.minH)*time.Hour + time.Duration(c.rng.Int64N(int64(k.maxH-k.minH)*int64(time.Hour)+1)))
		victims := []int32{dev}
		if k.typ == AlarmSupplyLoss {
			victims = c.circuitLocked(c.devices[dev].Circuit)
		}
		for _, v := range victims {
			idx, ok := c.raiseLocked(v, k, raisedAt, clearAt)
			if !ok {
				continue
			}
			alarms = append(alarms, idx)
			if !clearAt.After(now) {
				c.clearLocked(idx, clearAt)
			}
		}
	}
	for range nChanges {
		dev, ok := c.pickLocked(func(d *device) bool { return d.State != StateDecommissioned })
		if !ok {
			break
		}
		alarms = append(alarms, c.changeLocked(dev, now)...)
		devices = append(devices, dev)
	}
	if len(alarms)+len(devices) == 0 {
		return
	}
	at, t := c.stampLocked()
	slices.Sort(alarms)
	alarms = slices.Compact(alarms)
	for _, i := range alarms {
		c.alarms[i].stamp, c.alarms[i].UpdatedAt = at, t
	}
	c.alarmLog.add(at, alarms...)
	slices.Sort(devices)
	devices = slices.Compact(devices)
	for _, i := range devices {
		d := c.devices[i]
		d.stamp, d.UpdatedAt = at, t
		d.Version++
	}
	c.devLog.add(at, devices...)
	c.devLog.compact(len(c.devices), c.deviceStamp)
	c.alarmLog.compact(len(c.alarms), func(i int32) int64 { return c.alarms[i].stamp })
	c.log.Info("cms advanced", "to", now, "alarms_written", len(alarms), "devices_changed", len(devices), "alarms_open", len(c.active))
}

// draw turns an expected count into a whole one, carrying the fraction to
// the next Advance so the long-run rate is exact and deterministic.
func draw(carry *float64, expected float64) int {
	if expected <= 0 {
		return 0
	}
	total := *carry + expected
	n := math.Floor(total)
	*carry = total - n
	return int(n)
}

// pickLocked draws a random device that satisfies ok, giving up after a
// bounded number of tries.
func (c *Server) pickLocked(ok func(*device) bool) (int32, bool) {
	if len(c.devices) == 0 {
		return 0, false
	}
	for range 64 {
		i := int32(c.rng.IntN(len(c.devices)))
		if ok(c.devices[i]) {
			return i, true
		}
	}
	return 0, false
}

// circuitLocked lists the commissioned devices now on circuit.
func (c *Server) circuitLocked(circuit string) []int32 {
	var out []int32
	for _, i := range c.circuits[circuit] {
		if d := c.devices[i]; d.Circuit == circuit && d.State == StateCommissioned && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// changeLocked makes one field change to device dev, the way the
// streetlight crews' work shows up in a CMS, and returns the alarms it
// cleared. The caller stamps the device.
func (c *Server) changeLocked(dev int32, now time.Time) []int32 {
	d := c.devices[dev]
	switch d.State {
	case StatePlanned:
		// An LED conversion: new lamp, new node, paired but not yet live.
		d.State = StateProvisioned
		d.ControllerID = simcity.ControllerID(nil, c.opts.Seed^0x51ed270b27d8b3a1, len(c.city.Lights)+int(dev))
		d.LampType = simcity.LampLED
		d.NominalWatts = simcity.RandomLEDWatts(c.rng)
		d.InputWatts = (d.NominalWatts*(103+c.rng.IntN(8)) + 50) / 100
		d.InServiceDate = now.Format(time.DateOnly)
		if d.Ownership == simcity.OwnerCity {
			d.RateSchedule = simcity.RateLS2
		}
	case StateProvisioned:
		d.State = StateCommissioned
	default:
		if c.rng.IntN(100) < 15 {
			d.State = StateDecommissioned
			var cleared []int32
			for key, idx := range c.active {
				if key.dev == dev {
					c.clearLocked(idx, now)
					cleared = append(cleared, idx)
				}
			}
			return cleared
		}
		// Re-rated: the driver is reprogrammed to another output.
		d.NominalWatts = simcity.RandomLEDWatts(c.rng)
		d.InputWatts = (d.NominalWatts*(103+c.rng.IntN(8)) + 50) / 100
	}
	return nil
}
