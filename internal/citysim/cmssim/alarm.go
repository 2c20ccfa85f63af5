package citysim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Alarm types the simulated CMS raises, named as TALQ's lamp and electrical
// monitor functions name them.
const (
	CMSAlarmLampFailure          = "lampFailure"
	CMSAlarmLampUnexpectedOn     = "lampUnexpectedOn" // day burning
	CMSAlarmCyclingFailure       = "cyclingFailure"
	CMSAlarmSupplyLoss           = "supplyLoss"
	CMSAlarmCommunicationFailure = "communicationFailure"
	CMSAlarmPowerTooHigh         = "powerTooHigh"
	CMSAlarmPowerTooLow          = "powerTooLow"
	CMSAlarmVoltageTooHigh       = "voltageTooHigh"
	CMSAlarmVoltageTooLow        = "voltageTooLow"
	CMSAlarmRelayFailure         = "relayFailure"
	CMSAlarmHighTemperature      = "highTemperature"
)

// Alarm states.
const (
	CMSAlarmActive  = "active"
	CMSAlarmCleared = "cleared"
)

// cmsAlarmKind describes one alarm type: how often it is drawn, how bad it
// is, how long it lasts before it clears, and what the CMS says about it.
type cmsAlarmKind struct {
	typ, severity string
	weight        int
	minH, maxH    int
	message       string
}

var cmsAlarmKinds = [...]cmsAlarmKind{
	{CMSAlarmLampFailure, "major", 30, 24, 480, "lamp switched on but draws no current"},
	{CMSAlarmCommunicationFailure, "minor", 20, 1, 48, "controller has not reported within its reporting interval"},
	{CMSAlarmLampUnexpectedOn, "major", 10, 12, 96, "lamp is on during daylight hours"},
	{CMSAlarmCyclingFailure, "major", 8, 24, 240, "lamp cycles on and off"},
	{CMSAlarmSupplyLoss, "critical", 5, 2, 36, "mains supply lost"},
	{CMSAlarmPowerTooLow, "minor", 6, 6, 120, "active power below the lower threshold"},
	{CMSAlarmPowerTooHigh, "minor", 4, 6, 120, "active power above the upper threshold"},
	{CMSAlarmVoltageTooLow, "minor", 5, 1, 12, "supply voltage below the lower threshold"},
	{CMSAlarmVoltageTooHigh, "minor", 4, 1, 12, "supply voltage above the upper threshold"},
	{CMSAlarmRelayFailure, "major", 4, 48, 480, "relay does not switch the lamp"},
	{CMSAlarmHighTemperature, "minor", 3, 2, 10, "controller temperature above its limit"},
}

// cmsAlarm is one alarm as the CMS stores it, and its wire form.
type cmsAlarm struct {
	ID         string     `json:"id"`
	DeviceID   string     `json:"deviceId"`
	ExternalID string     `json:"externalId"`
	Type       string     `json:"type"`
	Severity   string     `json:"severity"`
	State      string     `json:"state"`
	RaisedAt   time.Time  `json:"raisedAt"`
	ClearedAt  *time.Time `json:"clearedAt,omitempty"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	Message    string     `json:"message"`

	stamp   int64
	dev     int32
	clearAt time.Time // when the fault goes away by itself or is repaired
}

type cmsAlarmKey struct {
	dev int32
	typ string
}

func cmsAlarmID(i int) string { return string(cityPadded(nil, "alm-", i+1, 8)) }

func cmsAlarmKindOf(typ string) (cmsAlarmKind, bool) {
	for _, k := range cmsAlarmKinds {
		if k.typ == typ {
			return k, true
		}
	}
	return cmsAlarmKind{}, false
}

// cmsDrawKind picks an alarm type by weight.
func cmsDrawKind(r *rand.Rand) cmsAlarmKind {
	total := 0
	for _, k := range cmsAlarmKinds {
		total += k.weight
	}
	n := r.IntN(total)
	for _, k := range cmsAlarmKinds {
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	return cmsAlarmKinds[0]
}

// cmsRaiseLocked opens an alarm of kind k on device dev unless one of that
// type is already open there, and returns its index.
func (c *CMS) cmsRaiseLocked(dev int32, k cmsAlarmKind, raisedAt, clearAt time.Time) (int32, bool) {
	key := cmsAlarmKey{dev: dev, typ: k.typ}
	if _, open := c.active[key]; open {
		return 0, false
	}
	d := c.devices[dev]
	idx := int32(len(c.alarms))
	c.alarms = append(c.alarms, &cmsAlarm{
		ID: cmsAlarmID(int(idx)), DeviceID: d.ID, ExternalID: d.ExternalID,
		Type: k.typ, Severity: k.severity, State: CMSAlarmActive,
		RaisedAt: raisedAt, Message: k.message, dev: dev, clearAt: clearAt,
	})
	c.active[key] = idx
	return idx, true
}

// cmsClearLocked clears an open alarm at the given time.
func (c *CMS) cmsClearLocked(idx int32, at time.Time) {
	a := c.alarms[idx]
	a.State, a.ClearedAt = CMSAlarmCleared, &at
	delete(c.active, cmsAlarmKey{dev: a.dev, typ: a.Type})
}

// RaiseAlarm opens an alarm of alarmType on the device for assetID, raised at
// at, as a controller in the field would report it. It returns the alarm id.
// Tests and the operations console use it to make a fault on purpose.
func (c *CMS) RaiseAlarm(assetID, alarmType string, at time.Time) (string, error) {
	k, ok := cmsAlarmKindOf(alarmType)
	if !ok {
		return "", fmt.Errorf("unknown alarm type %q", alarmType)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dev, ok := c.byExt[assetID]
	if !ok {
		return "", fmt.Errorf("no device for asset %s", assetID)
	}
	idx, ok := c.cmsRaiseLocked(dev, k, at.UTC(), at.UTC().Add(time.Duration(k.maxH)*time.Hour))
	if !ok {
		return "", fmt.Errorf("asset %s already has an open %s alarm", assetID, alarmType)
	}
	c.cmsStampAlarmsLocked(idx)
	return c.alarms[idx].ID, nil
}

// ClearAlarm clears an open alarm at at, as a repair crew's visit would.
func (c *CMS) ClearAlarm(alarmID string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx, ok := cmsParseID(alarmID, "alm-", 8, len(c.alarms))
	if !ok {
		return fmt.Errorf("no alarm %s", alarmID)
	}
	if c.alarms[idx].State != CMSAlarmActive {
		return fmt.Errorf("alarm %s is not active", alarmID)
	}
	c.cmsClearLocked(idx, at.UTC())
	c.cmsStampAlarmsLocked(idx)
	return nil
}

// cmsStampAlarmsLocked stamps one write's alarms (in ascending index order)
// and logs them.
func (c *CMS) cmsStampAlarmsLocked(idxs ...int32) {
	at, t := c.cmsStampLocked()
	for _, i := range idxs {
		c.alarms[i].stamp, c.alarms[i].UpdatedAt = at, t
	}
	c.alarmLog.add(at, idxs...)
	c.alarmLog.compact(len(c.alarms), func(i int32) int64 { return c.alarms[i].stamp })
}

// cmsRetireAlarmsLocked clears the open alarms of those of devs that were
// just decommissioned: a device taken off the street reports nothing more.
// It runs after the devices' own write is logged, so the clears get a stamp
// of their own.
func (c *CMS) cmsRetireAlarmsLocked(devs []int32) {
	var gone []int32
	for _, i := range devs {
		if c.devices[i].State == CMSStateDecommissioned {
			gone = append(gone, i)
		}
	}
	if len(gone) == 0 {
		return
	}
	var cleared []int32
	for key, idx := range c.active {
		if slices.Contains(gone, key.dev) {
			cleared = append(cleared, idx)
		}
	}
	if len(cleared) == 0 {
		return
	}
	at := c.devices[gone[0]].UpdatedAt
	slices.Sort(cleared)
	for _, idx := range cleared {
		c.cmsClearLocked(idx, at)
	}
	c.cmsStampAlarmsLocked(cleared...)
}
