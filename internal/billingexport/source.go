package billingexport

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// watermark is the CMS listing cursor after the last device read: an exact
// resume point, so the next run lists exactly the writes made since.
type watermark struct {
	Cursor string `json:"cursor"`
}

// Source reads the CMS devices written since the watermark, one listing
// page per call. The first run, with no watermark, reads every device: the
// utility's first file is the whole inventory.
type Source struct {
	Client *cms.Client
}

// Light is the payload of one planned item: the device as the CMS showed it
// when the run was planned.
type Light struct {
	Device cms.Device `json:"device"`
}

// Changes returns the page of devices that follows after.
func (s *Source) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	var wm watermark
	if len(after) > 0 {
		if err := json.Unmarshal(after, &wm); err != nil {
			return work.Page{}, fmt.Errorf("reading watermark %s: %w", after, err)
		}
	}
	p, err := s.Client.DevicesPage(ctx, cms.DeviceQuery{After: wm.Cursor})
	if err != nil {
		return work.Page{}, err
	}
	items := make([]work.Item, 0, len(p.Devices))
	for _, d := range p.Devices {
		key := d.ExternalID
		if key == "" {
			key = "cms:" + d.ID // planned all the same, and skipped by the sink with the reason
		}
		it, err := work.NewItem(key, Light{Device: d})
		if err != nil {
			return work.Page{}, err
		}
		items = append(items, it)
	}
	if p.NextCursor != "" {
		wm.Cursor = p.NextCursor
	}
	next, err := json.Marshal(wm)
	if err != nil {
		return work.Page{}, err
	}
	return work.Page{Items: items, Next: next, More: p.More}, nil
}
