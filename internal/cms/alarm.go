package cms

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Alarm types, as TALQ's lamp and electrical monitor functions name them.
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

// Alarm is one fault a device reported: raised at RaisedAt, and cleared at
// ClearedAt once the fault went away or was repaired. UpdatedAt is when the
// CMS last wrote it, the key the listings page by.
type Alarm struct {
	ID         string     `json:"id"`
	DeviceID   string     `json:"deviceId"`
	ExternalID string     `json:"externalId"` // the device's asset id
	Type       string     `json:"type"`
	Severity   string     `json:"severity"` // critical, major or minor
	State      string     `json:"state"`
	RaisedAt   time.Time  `json:"raisedAt"`
	ClearedAt  *time.Time `json:"clearedAt,omitempty"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	Message    string     `json:"message,omitempty"`
}

// Active reports whether the alarm is still open.
func (a Alarm) Active() bool { return a.State == AlarmActive }

// GetAlarm fetches one alarm by id.
func (c *Client) GetAlarm(ctx context.Context, id string) (Alarm, error) {
	var a Alarm
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/alarms/" + url.PathEscape(id)}, &a); err != nil {
		return Alarm{}, fmt.Errorf("getting alarm %s: %w", id, err)
	}
	return a, nil
}
