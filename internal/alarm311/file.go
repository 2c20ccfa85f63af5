package alarm311

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/work"
)

// Attribute codes of the city's streetlight service definitions.
const (
	attrAssetID  = "ASSET_ID"
	attrPoleID   = "POLE_ID"
	attrObserved = "OBSERVED_AT"
)

// file gets a filing episode its request: it searches for the marker when an
// earlier POST may have filed it, and posts only when the search comes back
// empty, recording each POST before it is sent.
func (s *Sink) file(ctx context.Context, st store, ep *episode) work.Outcome {
	batch, err := s.batchService(ctx, ep.ServiceCode)
	if err != nil {
		return work.FromError(err)
	}
	var last error
	for range s.cfg.Posts {
		now := s.cfg.Clock.Now()
		if ep.PostAttempts > 0 {
			r, err := s.search(ctx, ep)
			if err != nil {
				return work.FromError(err)
			}
			if r != nil {
				if err := s.setRequest(ctx, st, ep, r.ID, now); err != nil {
					return work.Retry(err, 0)
				}
				s.log.InfoContext(ctx, "request found by its marker", "asset_id", ep.AssetID,
					"alarm_type", ep.AlarmType, "service_request_id", r.ID)
				return work.Success(r.ID)
			}
			if wait := s.cfg.TokenGrace - now.Sub(*ep.LastPostAt); batch && wait > 0 {
				return work.Retry(fmt.Errorf("episode %d: a batch request lists only once it has an id; searching again later", ep.ID), wait)
			}
		}
		// The POST is recorded before it is sent: whatever happens to its
		// answer, the next try searches first.
		_, err := st.conn.Exec(ctx, `UPDATE alarm_episodes
SET post_attempts = post_attempts + 1, last_post_at = $2, updated_at = $2 WHERE id = $1`, ep.ID, now)
		if err != nil {
			return work.Retry(fmt.Errorf("recording POST of episode %d: %w", ep.ID, err), 0)
		}
		ep.PostAttempts++
		ep.LastPostAt = &now
		created, err := s.cfg.Open311.Create(ctx, requestOf(ep))
		if err == nil {
			return s.filed(ctx, st, ep, created)
		}
		last = err
		if errors.Is(err, open311.ErrMaybeCreated) {
			s.log.WarnContext(ctx, "POST answer lost; searching before posting again", "asset_id", ep.AssetID,
				"alarm_type", ep.AlarmType, "episode", ep.ID, "error", err)
			continue
		}
		var ae *open311.APIError
		if errors.Is(err, open311.ErrDuplicate) && errors.As(err, &ae) {
			// The server keeps one open request per problem and has one
			// for this light already (a resident's, say): that request is
			// the episode's, tracked and polled like one it filed.
			if out, ok := s.adopt(ctx, st, ep, ae); ok {
				return out
			}
		}
		if errors.As(err, &ae) && !ae.Retryable() && ae.Status != 404 {
			// Turned down: nothing was filed, and posting the same again
			// would be turned down too.
			_, uerr := st.conn.Exec(ctx, `UPDATE alarm_episodes SET state = 'refused', error = $2, updated_at = $3
WHERE id = $1`, ep.ID, err.Error(), now)
			if uerr != nil {
				return work.Retry(fmt.Errorf("recording refusal of episode %d: %w", ep.ID, uerr), 0)
			}
			return work.Permanent(err)
		}
		return work.FromError(err)
	}
	return work.Retry(last, 0)
}

// adopt makes the open request a duplicate answer names the episode's. The
// answer is free text, so each word of it that could be a request id or a
// batch token is looked up, and a request is taken only when the server
// confirms it: the episode's service code, and open. ok is false when no
// word names such a request; the caller then records the refusal. A lookup
// that fails for a reason worth retrying ends the try with that error.
func (s *Sink) adopt(ctx context.Context, st store, ep *episode, ae *open311.APIError) (work.Outcome, bool) {
	seen := map[string]bool{}
	for _, e := range ae.Errors {
		for _, w := range strings.FieldsFunc(e.Description, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			if seen[w] || !strings.ContainsAny(w, "0123456789") || w == ep.AssetID || w == ep.PoleID || len(seen) >= 8 {
				continue
			}
			seen[w] = true
			id := w
			r, err := s.cfg.Open311.Request(ctx, id)
			if open311.IsNotFound(err) {
				// Not a request id; a batch service names its open request
				// by its token until the request has an id.
				if id, err = s.cfg.Open311.Token(ctx, w); open311.IsNotFound(err) || (err == nil && id == "") {
					continue
				}
				if err == nil {
					r, err = s.cfg.Open311.Request(ctx, id)
				}
			}
			if err != nil {
				if out := work.FromError(err); out.Status() == work.Failed {
					return out, true // worth trying again: so is the whole try
				}
				continue
			}
			if r.ServiceCode != ep.ServiceCode || !strings.EqualFold(r.Status, "open") {
				continue
			}
			now := s.cfg.Clock.Now()
			if err := s.setRequest(ctx, st, ep, r.ID, now); err != nil {
				return work.Retry(err, 0), true
			}
			s.log.InfoContext(ctx, "server has an open request for this light; tracking it", "asset_id", ep.AssetID,
				"alarm_type", ep.AlarmType, "service_code", ep.ServiceCode, "service_request_id", r.ID)
			return work.Success(ep.ref()), true
		}
	}
	return work.Outcome{}, false
}

// filed records the server's answer to a POST.
func (s *Sink) filed(ctx context.Context, st store, ep *episode, c open311.Created) work.Outcome {
	now := s.cfg.Clock.Now()
	_, err := st.conn.Exec(ctx, `UPDATE alarm_episodes
SET state = 'open', request_id = $2, token = $3, filed_at = $4, request_status = 'open', checked_at = $4, updated_at = $4
WHERE id = $1`, ep.ID, nullString(c.ID), nullString(c.Token), now)
	if err != nil {
		// The request exists; the next try finds it by its marker.
		return work.Retry(fmt.Errorf("recording request of episode %d: %w", ep.ID, err), 0)
	}
	ep.State, ep.RequestID, ep.Token = stateOpen, c.ID, c.Token
	s.log.InfoContext(ctx, "request filed", "asset_id", ep.AssetID, "alarm_type", ep.AlarmType,
		"service_code", ep.ServiceCode, "service_request_id", c.ID, "token", c.Token)
	return work.Success(ep.ref())
}

// requestOf is the POST of an episode: the light's position and address,
// its asset and pole ids as attributes, and all of it again in the
// description, since GET does not return attributes, with the marker at
// the end.
func requestOf(ep *episode) open311.NewRequest {
	r := open311.NewRequest{
		ServiceCode:   ep.ServiceCode,
		AddressString: ep.Address,
		Attributes: map[string][]string{
			attrAssetID:  {ep.AssetID},
			attrObserved: {ep.OpenedAt.UTC().Format(time.RFC3339)},
		},
	}
	if ep.Lat != nil && ep.Long != nil {
		r.Lat, r.Long, r.HasLocation = *ep.Lat, *ep.Long, true
	}
	if ep.PoleID != "" {
		r.Attributes[attrPoleID] = []string{ep.PoleID}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Streetlight %s", ep.AssetID)
	if ep.PoleID != "" {
		fmt.Fprintf(&b, " (pole %s)", ep.PoleID)
	}
	if ep.Address != "" {
		fmt.Fprintf(&b, " at %s", ep.Address)
	}
	if r.HasLocation {
		fmt.Fprintf(&b, " [%.6f, %.6f]", r.Lat, r.Long)
	}
	fmt.Fprintf(&b, ": CMS alarm %s. %s", ep.Reason, ep.Marker)
	r.Description = b.String()
	return r
}

// batchService reports whether the server answers POSTs for code with a
// token; the service list is read once and kept.
func (s *Sink) batchService(ctx context.Context, code string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.types == nil {
		list, err := s.cfg.Open311.Services(ctx)
		if err != nil {
			return false, fmt.Errorf("reading the service list: %w", err)
		}
		s.types = make(map[string]string, len(list))
		for _, sv := range list {
			s.types[sv.Code] = sv.Type
		}
	}
	t, ok := s.types[code]
	if !ok {
		return false, errNoService{code}
	}
	return t == "batch", nil
}

// errNoService is a service code the server does not list: posting it
// cannot succeed until the configuration changes.
type errNoService struct{ code string }

func (e errNoService) Error() string {
	return "service code " + e.code + " is not on the server's service list"
}

// Retryable reports false: the item is dead at once.
func (errNoService) Retryable() bool { return false }
