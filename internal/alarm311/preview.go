package alarm311

import (
	"context"
	"fmt"
	"io"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/work"
)

// Preview writes what applying items (as the source plans them) would do,
// and writes nothing anywhere: the requests it would open in Open311 with
// their service code, asset, location and description; the alarms it would
// record against requests already open; the episodes it would close because
// their request was closed, and those it would only poll; and the alarms it
// would record without filing. It reads the episode tables inside a
// read-only transaction (Postgres refuses any write there), the CMS for the
// devices of new requests, and Open311 with GETs only for the status of
// open requests. The marker of a request yet to be opened names no episode
// id, since none is taken.
func Preview(ctx context.Context, cfg Config, items []work.Item, w io.Writer) error {
	cfg.ReadOnly = true
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	return cfg.read(ctx, func(q dbConn) error {
		p := &preview{cfg: cfg, st: store{conn: q}, w: w, opening: map[string]bool{}, closed: map[int64]bool{}, requests: map[string]open311.ServiceRequest{}}
		return p.run(ctx, items)
	})
}

// preview is one Preview: what it has decided so far, so that a second
// alarm of an (asset, alarm type) in the same items is recorded against the
// request the first would open, as the sink would.
type preview struct {
	cfg      Config
	st       store
	w        io.Writer
	opening  map[string]bool // asset/type whose request the preview opens
	closed   map[int64]bool  // episodes the preview closes
	requests map[string]open311.ServiceRequest

	open, record, closing, polls, finish, unfiled int
}

func (p *preview) run(ctx context.Context, items []work.Item) error {
	changes := make([]change, len(items))
	var polled []int64
	for i, it := range items {
		c, err := work.Decode[change](it)
		if err != nil {
			return err
		}
		if c.Alarm == nil && c.Episode == 0 {
			return fmt.Errorf("alarm311: payload of %s is neither an alarm nor an episode: %s", it.Key, it.Payload)
		}
		changes[i] = c
		if c.Episode != 0 {
			polled = append(polled, c.Episode)
		}
	}
	if err := p.prefetch(ctx, polled); err != nil {
		return err
	}
	for _, c := range changes {
		var err error
		if c.Alarm != nil {
			err = p.alarm(ctx, *c.Alarm)
		} else {
			err = p.poll(ctx, c.Episode)
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(p.w, "  %d requests to open, %d alarms to record against open requests, %d episodes to close, %d to poll, %d filings to finish, %d alarms not filed\n",
		p.open, p.record, p.closing, p.polls, p.finish, p.unfiled)
	return nil
}

// prefetch reads the requests of the polled episodes in bulk.
func (p *preview) prefetch(ctx context.Context, episodes []int64) error {
	if len(episodes) == 0 {
		return nil
	}
	rows, err := p.st.conn.Query(ctx, `SELECT request_id FROM alarm_episodes
WHERE id = ANY($1) AND state = 'open' AND request_id IS NOT NULL`, episodes)
	if err != nil {
		return fmt.Errorf("reading polled episodes: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("reading polled episodes: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading polled episodes: %w", err)
	}
	reqs, err := p.cfg.Open311.RequestsByID(ctx, ids)
	if err != nil {
		return fmt.Errorf("reading polled requests: %w", err)
	}
	for _, r := range reqs {
		p.requests[r.ID] = r
	}
	return nil
}

// request returns an open request's status as the server has it.
func (p *preview) request(ctx context.Context, id string) (open311.ServiceRequest, error) {
	if r, ok := p.requests[id]; ok {
		return r, nil
	}
	r, err := p.cfg.Open311.Request(ctx, id)
	if err != nil {
		return r, fmt.Errorf("reading request %s: %w", id, err)
	}
	p.requests[id] = r
	return r, nil
}

// alarm previews one alarm item, along the sink's alarm path.
func (p *preview) alarm(ctx context.Context, a cms.Alarm) error {
	key := a.ExternalID + "/" + a.Type
	seen, err := p.st.seen(ctx, a.ID)
	if err != nil {
		return err
	}
	if seen != nil {
		switch {
		case seen.Episode == nil:
			p.unfiled++
			fmt.Fprintf(p.w, "  seen     %s %s alarm %s: recorded before, not filed (%s)\n", a.ExternalID, a.Type, a.ID, seen.Note)
		case a.ClearedAt != nil && !seen.Cleared:
			p.record++
			fmt.Fprintf(p.w, "  clear    %s %s alarm %s: clear recorded against episode %d\n", a.ExternalID, a.Type, a.ID, *seen.Episode)
		}
		return nil
	}
	code, wanted := p.cfg.Services[a.Type]
	if !wanted {
		p.unfiled++
		fmt.Fprintf(p.w, "  unfiled  %s %s alarm %s: alarm type %s is not reported to 311\n", a.ExternalID, a.Type, a.ID, a.Type)
		return nil
	}
	if p.opening[key] {
		p.record++
		fmt.Fprintf(p.w, "  record   %s %s alarm %s: against the request opened above\n", a.ExternalID, a.Type, a.ID)
		return nil
	}
	ep, err := p.st.live(ctx, a.ExternalID, a.Type)
	if err != nil {
		return err
	}
	if ep != nil && a.Active() && ep.State == stateOpen && ep.RequestID != "" {
		r, err := p.request(ctx, ep.RequestID)
		if err != nil {
			return err
		}
		if r.Closed() {
			p.close(ep, r)
			ep = nil
		}
	}
	switch {
	case ep == nil && !a.Active():
		p.unfiled++
		fmt.Fprintf(p.w, "  unfiled  %s %s alarm %s: cleared before a request was filed\n", a.ExternalID, a.Type, a.ID)
	case ep == nil:
		d, err := p.cfg.CMS.Get(ctx, a.DeviceID)
		if err != nil {
			return fmt.Errorf("reading device of alarm %s: %w", a.ID, err)
		}
		p.opening[key] = true
		p.open++
		p.newRequest(a, d, code)
	case ep.State == stateFiling:
		p.finish++
		fmt.Fprintf(p.w, "  finish   episode %d %s %s: alarm %s recorded; filing unfinished (%d POSTs sent): search for %q, then POST %s if not found\n",
			ep.ID, ep.AssetID, ep.AlarmType, a.ID, ep.PostAttempts, ep.Marker, ep.ServiceCode)
	default:
		p.record++
		fmt.Fprintf(p.w, "  record   %s %s alarm %s: against episode %d, request %s\n", a.ExternalID, a.Type, a.ID, ep.ID, ep.ref())
	}
	return nil
}

// newRequest writes the request an alarm would open, as requestOf builds it.
func (p *preview) newRequest(a cms.Alarm, d cms.Device, code string) {
	ep := &episode{AssetID: a.ExternalID, AlarmType: a.Type, PoleID: d.PoleID, ServiceCode: code,
		Reason: reasonOf(a), Address: d.Address, OpenedAt: a.RaisedAt, Marker: "[citylink alarm-311 episode (new)]"}
	if d.Location != (cms.Location{}) {
		ep.Lat, ep.Long = &d.Location.Latitude, &d.Location.Longitude
	}
	r := requestOf(ep)
	loc := "no location"
	if r.HasLocation {
		loc = fmt.Sprintf("%.6f,%.6f", r.Lat, r.Long)
	}
	fmt.Fprintf(p.w, "  open     %s %s (%s): service %s at %s, %q\n           description: %s\n",
		a.ExternalID, a.Type, a.ID, code, loc, r.AddressString, r.Description)
}

// poll previews one live episode's poll, along the sink's poll path.
func (p *preview) poll(ctx context.Context, id int64) error {
	ep, err := p.st.byID(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case p.closed[ep.ID]:
		// Closed above, by a new alarm that found its request closed.
	case ep.State == stateClosed || ep.State == stateRefused:
		fmt.Fprintf(p.w, "  skip     episode %d %s %s: already %s\n", ep.ID, ep.AssetID, ep.AlarmType, ep.State)
	case ep.State == stateFiling:
		p.finish++
		fmt.Fprintf(p.w, "  finish   episode %d %s %s: filing unfinished (%d POSTs sent): search for %q, then POST %s if not found\n",
			ep.ID, ep.AssetID, ep.AlarmType, ep.PostAttempts, ep.Marker, ep.ServiceCode)
	case ep.RequestID == "" && ep.Token != "":
		p.polls++
		fmt.Fprintf(p.w, "  poll     episode %d %s %s: resolve token %s to a request id\n", ep.ID, ep.AssetID, ep.AlarmType, ep.Token)
	case ep.RequestID == "":
		p.polls++
		fmt.Fprintf(p.w, "  poll     episode %d %s %s: search for %q\n", ep.ID, ep.AssetID, ep.AlarmType, ep.Marker)
	default:
		r, err := p.request(ctx, ep.RequestID)
		if err != nil {
			return err
		}
		if r.Closed() {
			p.close(ep, r)
			return nil
		}
		p.polls++
		fmt.Fprintf(p.w, "  poll     episode %d %s %s: request %s still %s\n", ep.ID, ep.AssetID, ep.AlarmType, ep.RequestID, r.Status)
	}
	return nil
}

// close writes an episode the run would close, once.
func (p *preview) close(ep *episode, r open311.ServiceRequest) {
	if p.closed[ep.ID] {
		return
	}
	p.closed[ep.ID] = true
	p.closing++
	fmt.Fprintf(p.w, "  close    episode %d %s %s: request %s was closed (%s)\n", ep.ID, ep.AssetID, ep.AlarmType, ep.RequestID, r.StatusNotes)
}
