package alarm311

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// change is an item's payload: a CMS alarm, or a live episode to poll.
type change struct {
	Alarm   *cms.Alarm `json:"alarm,omitempty"`
	Episode int64      `json:"episode,omitempty"`
}

// watermark is the source's position: the CMS alarm cursor, stored between
// runs, and within a plan the phase and the last episode polled.
type watermark struct {
	Cursor string `json:"cursor"`
	Phase  string `json:"phase,omitempty"` // "" (alarms) or "poll"
	Poll   int64  `json:"poll,omitempty"`
}

// Source reads the CMS alarms written since the stored cursor, a page at a
// time, and then lists every live episode for its request to be polled.
type Source struct {
	cfg Config
}

// NewSource returns the workflow's source.
func NewSource(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Source{cfg: cfg}, nil
}

// Changes implements work.Source.
func (s *Source) Changes(ctx context.Context, after work.Watermark) (work.Page, error) {
	var wm watermark
	if len(after) > 0 {
		if err := json.Unmarshal(after, &wm); err != nil {
			return work.Page{}, fmt.Errorf("alarm311: watermark %s: %w", after, err)
		}
	}
	if wm.Phase == "poll" {
		return s.pollPage(ctx, wm)
	}
	page, err := s.cfg.CMS.AlarmsPage(ctx, cms.AlarmQuery{After: wm.Cursor})
	if err != nil {
		return work.Page{}, fmt.Errorf("reading alarms: %w", err)
	}
	out := work.Page{More: true}
	for i := range page.Alarms {
		a := page.Alarms[i]
		it, err := work.NewItem(a.ExternalID+":"+a.Type+":"+a.ID, change{Alarm: &a})
		if err != nil {
			return work.Page{}, err
		}
		out.Items = append(out.Items, it)
	}
	next := watermark{Cursor: wm.Cursor}
	if page.NextCursor != "" {
		next.Cursor = page.NextCursor
	}
	if !page.More {
		next.Phase = "poll"
	}
	out.Next, err = json.Marshal(next)
	return out, err
}

const livePageSQL = `
SELECT id, asset_id, alarm_type FROM alarm_episodes
WHERE state IN ('filing', 'open') AND id > $1
ORDER BY id LIMIT $2`

// pollPage lists a page of live episodes; the last page hands back the
// cursor alone, which is what the engine stores.
func (s *Source) pollPage(ctx context.Context, wm watermark) (work.Page, error) {
	var out work.Page
	var last int64
	err := s.cfg.read(ctx, func(q dbConn) error {
		rows, err := q.Query(ctx, livePageSQL, wm.Poll, s.cfg.PollPage)
		if err != nil {
			return err
		}
		var id int64
		var asset, typ string
		_, err = pgx.ForEachRow(rows, []any{&id, &asset, &typ}, func() error {
			it, err := work.NewItem(fmt.Sprintf("%s:%s:episode-%d", asset, typ, id), change{Episode: id})
			if err != nil {
				return err
			}
			out.Items = append(out.Items, it)
			last = id
			return nil
		})
		return err
	})
	if err != nil {
		return work.Page{}, fmt.Errorf("listing live episodes: %w", err)
	}
	next := watermark{Cursor: wm.Cursor}
	if len(out.Items) == s.cfg.PollPage {
		next.Phase, next.Poll, out.More = "poll", last, true
	}
	out.Next, err = json.Marshal(next)
	return out, err
}
