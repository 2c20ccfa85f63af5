package cmssim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// Alarm types the simulated CMS raises, named as TALQ's lamp and electrical
// monitor functions name them.
const (
	AlarmLampFailure          = "lampFailure"
	AlarmLampUnexpectedOn     = "lampUnexpectedOn" // day burning
	AlarmCyclingFailure       = "cyclingFailure"
	AlarmSupplyLoss           = "supplyLoss"
	AlarmCommunicationFailure = "communicationFailure"
	AlarmPowerTooHigh         = "powerTooHigh"
	AlarmPowerTooLow          = "powerTooLow"
	AlarmVoltageTooHigh       = "voltageTooHigh"
	AlarmVoltageTooLow        = "voltageTooLow"
	AlarmRelayFailure         = "relayFailure"
	AlarmHighTemperature      = "highTemperature"
)

// Alarm states.
const (
	AlarmActive  = "active"
	AlarmCleared = "cleared"
)

// alarmKind describes one alarm type: how often it is drawn, how bad it
// is, how long it lasts before it clears, and what the CMS says about it.
type alarmKind struct {
	typ, severity string
	weight        int
	minH, maxH    int
	message       string
}

var alarmKinds = [...]alarmKind{
	{AlarmLampFailure, "major", 30, 24, 480, "lamp switched on but draws no current"},
	{AlarmCommunicationFailure, "minor", 20, 1, 48, "controller has not reported within its reporting interval"},
	{AlarmLampUnexpectedOn, "major", 10, 12, 96, "lamp is on during daylight hours"},
	{AlarmCyclingFailure, "major", 8, 24, 240, "lamp cycles on and off"},
	{AlarmSupplyLoss, "critical", 5, 2, 36, "mains supply lost"},
	{AlarmPowerTooLow, "minor", 6, 6, 120, "active power below the lower threshold"},
	{AlarmPowerTooHigh, "minor", 4, 6, 120, "active power above the upper threshold"},
	{AlarmVoltageTooLow, "minor", 5, 1, 12, "supply voltage below the lower threshold"},
	{AlarmVoltageTooHigh, "minor", 4, 1, 12, "supply voltage above the upper threshold"},
	{AlarmRelayFailure, "major", 4, 48, 480, "relay does not switch the lamp"},
	{AlarmHighTemperature, "minor", 3, 2, 10, "controller temperature above its limit"},
}

// alarm is one alarm as the CMS stores it, and its wire form.
type alarm struct {
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

type alarmKey struct {
	dev int32
	typ string
}

func alarmIDOf(i int) string { return string(simcity.Padded(nil, "alm-", i+1, 8)) }

func alarmKindOf(typ string) (alarmKind, bool) {
	for _, k := range alarmKinds {
		if k.typ == typ {
			return k, true
		}
	}
	return alarmKind{}, false
}

// drawKind picks an alarm type by weight.
func drawKind(r *rand.Rand) alarmKind {
	total := 0
	for _, k := range alarmKinds {
		total += k.weight
	}
	n := r.IntN(total)
	for _, k := range alarmKinds {
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	return alarmKinds[0]
}

// raiseLocked opens an alarm of kind k on device dev unless one of that
// type is already open there, and returns its index.
func (c *Server) raiseLocked(dev int32, k alarmKind, raisedAt, clearAt time.Time) (int32, bool) {
	key := alarmKey{dev: dev, typ: k.typ}
	if _, open := c.active[key]; open {
		return 0, false
	}
	d := c.devices[dev]
	idx := int32(len(c.alarms))
	c.alarms = append(c.alarms, &alarm{
		ID: alarmIDOf(int(idx)), DeviceID: d.ID, ExternalID: d.ExternalID,
		Type: k.typ, Severity: k.severity, State: AlarmActive,
		RaisedAt: raisedAt, Message: k.message, dev: dev, clearAt: clearAt,
	})
	c.active[key] = idx
	return idx, true
}

// clearLocked clears an open alarm at the given time.
func (c *Server) clearLocked(idx int32, at time.Time) {
	a := c.alarms[idx]
	a.State, a.ClearedAt = AlarmCleared, &at
	delete(c.active, alarmKey{dev: a.dev, typ: a.Type})
}

// RaiseAlarm opens an alarm of alarmType on the device for assetID, raised at
// at, as a controller in the field would report it. It returns the alarm id.
// Tests and the operations console use it to make a fault on purpose.
func (c *Server) RaiseAlarm(assetID, alarmType string, at time.Time) (string, error) {
	k, ok := alarmKindOf(alarmType)
	if !ok {
		return "", fmt.Errorf("unknown alarm type %q", alarmType)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dev, ok := c.byExt[assetID]
	if !ok {
		return "", fmt.Errorf("no device for asset %s", assetID)
	}
	idx, ok := c.raiseLocked(dev, k, at.UTC(), at.UTC().Add(time.Duration(k.maxH)*time.Hour))
	if !ok {
		return "", fmt.Errorf("asset %s already has an open %s alarm", assetID, alarmType)
	}
	c.stampAlarmsLocked(idx)
	return c.alarms[idx].ID, nil
}

// ClearAlarm clears an open alarm at at, as a repair crew's visit would.
func (c *Server) ClearAlarm(alarmID string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx, ok := parseID(alarmID, "alm-", 8, len(c.alarms))
	if !ok {
		return fmt.Errorf("no alarm %s", alarmID)
	}
	if c.alarms[idx].State != AlarmActive {
		return fmt.Errorf("alarm %s is not active", alarmID)
	}
	c.clearLocked(idx, at.UTC())
	c.stampAlarmsLocked(idx)
	return nil
}

// stampAlarmsLocked stamps one write's alarms (in ascending index order)
// and logs them.
func (c *Server) stampAlarmsLocked(idxs ...int32) {
	at, t := c.stampLocked()
	for _, i := range idxs {
		c.alarms[i].stamp, c.alarms[i].UpdatedAt = at, t
	}
	c.alarmLog.add(at, idxs...)
	c.alarmLog.compact(len(c.alarms), func(i int32) int64 { return c.alarms[i].stamp })
}

// retireAlarmsLocked clears the open alarms of those of devs that were
// just decommissioned: a device taken off the street reports nothing more.
// It runs after the devices' own write is logged, so the clears get a stamp
// of their own.
func (c *Server) retireAlarmsLocked(devs []int32) {
	var gone []int32
	for _, i := range devs {
		if c.devices[i].State == StateDecommissioned {
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
		c.clearLocked(idx, at)
	}
	c.stampAlarmsLocked(cleared...)
}
