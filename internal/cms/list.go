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

// ListDevices calls fn with each page of devices matching q, oldest write
// first, following the cursor to the last page. It stops at fn's first error
// and returns it.
func (c *Client) ListDevices(ctx context.Context, q DeviceQuery, fn func(DevicePage) error) error {
	v := listQuery(q.Since, c.page)
	if len(q.States) > 0 {
		v.Set("state", strings.Join(q.States, ","))
	}
	return listPages(ctx, c, "/devices", v, q.After, func(p DevicePage) (string, bool, error) { return p.NextCursor, p.More, fn(p) })
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

// ListAlarms calls fn with each page of alarms matching q, oldest write
// first, following the cursor to the last page.
func (c *Client) ListAlarms(ctx context.Context, q AlarmQuery, fn func(AlarmPage) error) error {
	v := listQuery(q.Since, c.page)
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.State != "" {
		v.Set("state", q.State)
	}
	return listPages(ctx, c, "/alarms", v, q.After, func(p AlarmPage) (string, bool, error) { return p.NextCursor, p.More, fn(p) })
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

// listPages walks a cursor-paged listing: handle gets each page and returns
// its next cursor and whether more follow, along with fn's verdict.
func listPages[P any](ctx context.Context, c *Client, path string, q url.Values, after string, handle func(P) (string, bool, error)) error {
	for {
		if after != "" {
			q.Set("after", after)
		}
		var page P
		if _, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q}, &page); err != nil {
			return fmt.Errorf("listing %s: %w", strings.TrimPrefix(path, "/"), err)
		}
		next, more, err := handle(page)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if next == "" || next == after {
			return fmt.Errorf("listing %s: cursor did not advance", strings.TrimPrefix(path, "/"))
		}
		after = next
	}
}
