package alarm311

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/work"
)

// Sink files, follows and closes the service requests of alarm episodes.
type Sink struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	types map[string]string // service code -> realtime, batch or blackbox
}

// NewSink returns the workflow's sink.
func NewSink(cfg Config) (*Sink, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.ReadOnly {
		return nil, errors.New("alarm311: a read-only config has no sink: the sink files requests and records episodes")
	}
	return &Sink{cfg: cfg, log: cfg.Logger.With("workflow", Workflow)}, nil
}

// Apply implements work.Sink. Poll items' requests are read in one GET per
// fifty ids first; then each item is handled under its (asset, alarm type)
// lock.
func (s *Sink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	outs := make([]work.Outcome, len(items))
	changes := make([]change, len(items))
	for i, it := range items {
		c, err := work.Decode[change](it)
		if err == nil && c.Alarm == nil && c.Episode == 0 {
			err = fmt.Errorf("alarm311: payload of %s is neither an alarm nor an episode: %s", it.Key, it.Payload)
		}
		if err != nil {
			outs[i] = work.Permanent(err)
		}
		changes[i] = c
	}
	polled, err := s.prefetch(ctx, changes)
	if err != nil {
		// The polls read their requests one by one instead.
		s.log.WarnContext(ctx, "reading polled requests in bulk", "error", err)
	}
	for i, c := range changes {
		if outs[i].Status() != "" {
			continue
		}
		if ctx.Err() != nil {
			break // the engine gives the rest back undone
		}
		if c.Alarm != nil {
			outs[i] = s.alarm(ctx, *c.Alarm)
		} else {
			outs[i] = s.poll(ctx, c.Episode, polled)
		}
	}
	return outs, nil
}

// prefetch reads the requests of the batch's poll items with ids.
func (s *Sink) prefetch(ctx context.Context, changes []change) (map[string]open311.ServiceRequest, error) {
	var eps []int64
	for _, c := range changes {
		if c.Episode != 0 {
			eps = append(eps, c.Episode)
		}
	}
	if len(eps) == 0 {
		return nil, nil
	}
	rows, err := s.cfg.DB.Query(ctx, `SELECT request_id FROM alarm_episodes
WHERE id = ANY($1) AND state = 'open' AND request_id IS NOT NULL`, eps)
	if err != nil {
		return nil, fmt.Errorf("reading polled episodes: %w", err)
	}
	var ids []string
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading polled episodes: %w", err)
	}
	reqs, err := s.cfg.Open311.RequestsByID(ctx, ids)
	out := make(map[string]open311.ServiceRequest, len(reqs))
	for _, r := range reqs {
		out[r.ID] = r
	}
	return out, err
}

// alarm handles one alarm from the CMS.
func (s *Sink) alarm(ctx context.Context, a cms.Alarm) work.Outcome {
	now := s.cfg.Clock.Now()
	st, release, err := lock(ctx, s.cfg.DB, a.ExternalID, a.Type)
	if err != nil {
		return work.Retry(err, 0)
	}
	defer release()

	seen, err := st.seen(ctx, a.ID)
	if err != nil {
		return work.Retry(err, 0)
	}
	if seen != nil {
		// Seen before: record a clear, and finish a filing left undone.
		if err := st.record(ctx, st.conn, a, seen.Episode, seen.Note, now); err != nil {
			return work.Retry(err, 0)
		}
		if seen.Episode == nil {
			return work.Skip(seen.Note)
		}
		ep, err := st.byID(ctx, *seen.Episode)
		if err != nil {
			return work.Retry(err, 0)
		}
		if ep.State == stateFiling {
			return s.file(ctx, st, ep)
		}
		return work.Success(ep.ref())
	}

	code, wanted := s.cfg.Services[a.Type]
	if !wanted {
		note := "alarm type " + a.Type + " is not reported to 311"
		if err := st.record(ctx, st.conn, a, nil, note, now); err != nil {
			return work.Retry(err, 0)
		}
		return work.Skip(note)
	}
	ep, err := st.live(ctx, a.ExternalID, a.Type)
	if err != nil {
		return work.Retry(err, 0)
	}
	if ep != nil && a.Active() && ep.State == stateOpen {
		// A new alarm: make sure the request is still open, or it starts
		// an episode of its own.
		if ep, err = s.refresh(ctx, st, ep, nil); err != nil {
			return work.FromError(err)
		}
	}
	if ep == nil && !a.Active() {
		note := "cleared before a request was filed"
		if err := st.record(ctx, st.conn, a, nil, note, now); err != nil {
			return work.Retry(err, 0)
		}
		return work.Skip(note)
	}
	if ep == nil {
		d, err := s.cfg.CMS.Get(ctx, a.DeviceID)
		if err != nil {
			return work.FromError(fmt.Errorf("reading device of alarm %s: %w", a.ID, err))
		}
		if ep, err = st.open(ctx, a, d, code, now); err != nil {
			return work.Retry(err, 0)
		}
	} else if err := st.record(ctx, st.conn, a, &ep.ID, "", now); err != nil {
		return work.Retry(err, 0)
	}
	if ep.State == stateFiling {
		return s.file(ctx, st, ep)
	}
	return work.Success(ep.ref())
}

// poll follows one live episode's request.
func (s *Sink) poll(ctx context.Context, id int64, polled map[string]open311.ServiceRequest) work.Outcome {
	var asset, typ string
	err := s.cfg.DB.QueryRow(ctx, `SELECT asset_id, alarm_type FROM alarm_episodes WHERE id = $1`, id).Scan(&asset, &typ)
	if err != nil {
		return work.Retry(fmt.Errorf("reading episode %d: %w", id, err), 0)
	}
	st, release, err := lock(ctx, s.cfg.DB, asset, typ)
	if err != nil {
		return work.Retry(err, 0)
	}
	defer release()
	ep, err := st.byID(ctx, id)
	if err != nil {
		return work.Retry(err, 0)
	}
	switch ep.State {
	case stateClosed, stateRefused:
		return work.Skip("episode already " + ep.State)
	case stateFiling:
		return s.file(ctx, st, ep)
	}
	before := *ep
	var known *open311.ServiceRequest
	if r, ok := polled[ep.RequestID]; ok && ep.RequestID != "" {
		known = &r
	}
	now, err := s.refresh(ctx, st, ep, known)
	if err != nil {
		return work.FromError(err)
	}
	switch {
	case now == nil:
		return work.Success(before.ref()) // closed
	case now.RequestID != before.RequestID:
		return work.Success(now.ref()) // token resolved, or marker found
	case now.RequestID == "" && now.Token != "":
		return work.Skip("token " + now.Token + " has no request id yet")
	case now.RequestID == "":
		return work.Skip("request filed without an id; marker not found yet")
	}
	return work.Skip("request " + now.RequestID + " still open")
}

// refresh brings an open episode up to date with the server: it resolves a
// token, finds a blackbox request by its marker and reads the request's
// status (known, when the caller already has it). It returns nil when the
// request is closed, which ends the episode.
func (s *Sink) refresh(ctx context.Context, st store, ep *episode, known *open311.ServiceRequest) (*episode, error) {
	now := s.cfg.Clock.Now()
	if ep.RequestID == "" && ep.Token != "" {
		id, err := s.cfg.Open311.Token(ctx, ep.Token)
		if err != nil {
			return ep, fmt.Errorf("resolving token of episode %d: %w", ep.ID, err)
		}
		if id == "" {
			return ep, nil
		}
		if err := s.setRequest(ctx, st, ep, id, now); err != nil {
			return ep, err
		}
	}
	if ep.RequestID == "" {
		r, err := s.search(ctx, ep)
		if err != nil || r == nil {
			return ep, err
		}
		if err := s.setRequest(ctx, st, ep, r.ID, now); err != nil {
			return ep, err
		}
		known = r
	}
	if known == nil || known.ID != ep.RequestID {
		r, err := s.cfg.Open311.Request(ctx, ep.RequestID)
		if err != nil {
			return ep, fmt.Errorf("polling request %s: %w", ep.RequestID, err)
		}
		known = &r
	}
	if !known.Closed() {
		_, err := st.conn.Exec(ctx, `UPDATE alarm_episodes SET request_status = $2, status_notes = $3, checked_at = $4
WHERE id = $1`, ep.ID, known.Status, nullString(known.StatusNotes), now)
		if err != nil {
			return ep, fmt.Errorf("recording status of episode %d: %w", ep.ID, err)
		}
		return ep, nil
	}
	closed := known.Updated
	if closed.IsZero() {
		closed = now
	}
	_, err := st.conn.Exec(ctx, `UPDATE alarm_episodes
SET state = 'closed', request_status = $2, status_notes = $3, checked_at = $4, closed_at = $5, updated_at = $4
WHERE id = $1`, ep.ID, known.Status, nullString(known.StatusNotes), now, closed)
	if err != nil {
		return ep, fmt.Errorf("closing episode %d: %w", ep.ID, err)
	}
	s.log.InfoContext(ctx, "request closed", "asset_id", ep.AssetID, "alarm_type", ep.AlarmType,
		"service_request_id", ep.RequestID, "status_notes", known.StatusNotes)
	return nil, nil
}

// setRequest records the request id an episode's request got.
func (s *Sink) setRequest(ctx context.Context, st store, ep *episode, id string, now time.Time) error {
	_, err := st.conn.Exec(ctx, `UPDATE alarm_episodes
SET state = 'open', request_id = $2, filed_at = coalesce(filed_at, $3), updated_at = $3 WHERE id = $1`, ep.ID, id, now)
	if err != nil {
		return fmt.Errorf("recording request %s of episode %d: %w", id, ep.ID, err)
	}
	ep.State, ep.RequestID = stateOpen, id
	return nil
}

// search looks for the episode's request among the service's requests since
// the episode began, by the marker in its description.
func (s *Sink) search(ctx context.Context, ep *episode) (*open311.ServiceRequest, error) {
	now := s.cfg.Clock.Now()
	from := ep.CreatedAt.Add(-s.cfg.SearchSlack)
	reqs, err := s.cfg.Open311.Between(ctx, open311.Query{ServiceCodes: []string{ep.ServiceCode}},
		from, now.Add(s.cfg.SearchSlack), 0)
	if err != nil {
		return nil, fmt.Errorf("searching requests for the marker of episode %d: %w", ep.ID, err)
	}
	for i := range reqs {
		if strings.Contains(reqs[i].Description, ep.Marker) {
			return &reqs[i], nil
		}
	}
	return nil, nil
}
