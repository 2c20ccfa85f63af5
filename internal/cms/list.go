package cms

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DeviceQuery selects devices written since a time.
type DeviceQuery struct {
	// Since lists devices created or changed at or after it; the zero time
	// lists every device.
	Since time.Time
	// After resumes a listing from a page's NextCursor (with the same Since,
	// or none).
	After string
	// States keeps only devices in these states; all when empty.
	States []string
}

// DevicePage is one page of a device listing. NextCursor is the position
// after its last device: the next page's After while More is true, and, kept
// after the last page, the After that later lists only newer writes.
type DevicePage struct {
	Devices    []Device `json:"devices"`
	NextCursor string   `json:"nextCursor"`
	More       bool     `json:"more"`
}

// AlarmQuery selects alarms raised or cleared since a time.
type AlarmQuery struct {
	Since time.Time
	After string
	Type  string // one alarm type, or all when empty
	State string // AlarmActive, AlarmCleared, or both when empty
}

// AlarmPage is one page of an alarm listing.
type AlarmPage struct {
	Alarms     []Alarm `json:"alarms"`
	NextCursor string  `json:"nextCursor"`
	More       bool    `json:"more"`
}

// errStop ends an iterator's listing early without an error.
var errStop = errors.New("stop")

// DevicesPage reads the one page of devices matching q that follows q.After
// (the first page when After is empty). Its NextCursor is an exact resume
// point: a Source stores it and passes it back as After, in this invocation
// or a later one, and reads on with nothing missed or repeated.
func (c *Client) DevicesPage(ctx context.Context, q DeviceQuery) (DevicePage, error) {
	var p DevicePage
	if err := c.listPage(ctx, "/devices", deviceQuery(q, c.page), q.After, &p); err != nil {
		return DevicePage{}, err
	}
	return p, nil
}

// ListDevices calls fn with each page of devices matching q, oldest write
// first, following the cursor to the last page. It stops at fn's first error
// and returns it.
func (c *Client) ListDevices(ctx context.Context, q DeviceQuery, fn func(DevicePage) error) error {
	return followCursor(q.After, "devices", func(after string) (string, bool, error) {
		q.After = after
		p, err := c.DevicesPage(ctx, q)
		if err != nil {
			return "", false, err
		}
		return p.NextCursor, p.More, fn(p)
	})
}

func deviceQuery(q DeviceQuery, limit int) url.Values {
	v := listQuery(q.Since, limit)
	if len(q.States) > 0 {
		v.Set("state", strings.Join(q.States, ","))
	}
	return v
}

// ListDevicesSince calls fn with each page of devices written at or after
// since.
func (c *Client) ListDevicesSince(ctx context.Context, since time.Time, fn func(DevicePage) error) error {
	return c.ListDevices(ctx, DeviceQuery{Since: since}, fn)
}

// Devices iterates over the devices matching q. A failed request ends the
// iteration with its error.
func (c *Client) Devices(ctx context.Context, q DeviceQuery) iter.Seq2[Device, error] {
	return func(yield func(Device, error) bool) {
		err := c.ListDevices(ctx, q, func(p DevicePage) error {
			for _, d := range p.Devices {
				if !yield(d, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(Device{}, err)
		}
	}
}

// AlarmsPage reads the one page of alarms matching q that follows q.After,
// like DevicesPage.
func (c *Client) AlarmsPage(ctx context.Context, q AlarmQuery) (AlarmPage, error) {
	v := listQuery(q.Since, c.page)
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.State != "" {
		v.Set("state", q.State)
	}
	var p AlarmPage
	if err := c.listPage(ctx, "/alarms", v, q.After, &p); err != nil {
		return AlarmPage{}, err
	}
	return p, nil
}

// ListAlarms calls fn with each page of alarms matching q, oldest write
// first, following the cursor to the last page.
func (c *Client) ListAlarms(ctx context.Context, q AlarmQuery, fn func(AlarmPage) error) error {
	return followCursor(q.After, "alarms", func(after string) (string, bool, error) {
		q.After = after
		p, err := c.AlarmsPage(ctx, q)
		if err != nil {
			return "", false, err
		}
		return p.NextCursor, p.More, fn(p)
	})
}

// ListAlarmsSince calls fn with each page of alarms raised or cleared at or
// after since.
func (c *Client) ListAlarmsSince(ctx context.Context, since time.Time, fn func(AlarmPage) error) error {
	return c.ListAlarms(ctx, AlarmQuery{Since: since}, fn)
}

// Alarms iterates over the alarms matching q.
func (c *Client) Alarms(ctx context.Context, q AlarmQuery) iter.Seq2[Alarm, error] {
	return func(yield func(Alarm, error) bool) {
		err := c.ListAlarms(ctx, q, func(p AlarmPage) error {
			for _, a := range p.Alarms {
				if !yield(a, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(Alarm{}, err)
		}
	}
}

func listQuery(since time.Time, limit int) url.Values {
	v := url.Values{"limit": {strconv.Itoa(limit)}}
	if !since.IsZero() {
		v.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	return v
}

// listPage reads one page of a cursor-paged listing into page.
func (c *Client) listPage(ctx context.Context, path string, q url.Values, after string, page any) error {
	if after != "" {
		q.Set("after", after)
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q}, page); err != nil {
		return fmt.Errorf("listing %s: %w", strings.TrimPrefix(path, "/"), err)
	}
	return nil
}

// followCursor walks a cursor-paged listing from after: page reads the page
// after a cursor and returns the next cursor, whether more follow, and the
// caller's verdict on the page.
func followCursor(after, what string, page func(after string) (string, bool, error)) error {
	for {
		next, more, err := page(after)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if next == "" || next == after {
			return fmt.Errorf("listing %s: cursor did not advance", what)
		}
		after = next
	}
}
