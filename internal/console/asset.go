package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/citylink/citylink/internal/work"
)

// episode is an open 311 episode of an asset: the service request
// alarm-311 keeps open while its alarm is raised.
type episode struct {
	ID          int64      `json:"id"`
	AlarmType   string     `json:"alarm_type"`
	State       string     `json:"state"`
	ServiceCode string     `json:"service_code"`
	RequestID   string     `json:"request_id,omitempty"`
	Status      string     `json:"request_status,omitempty"`
	Reason      string     `json:"reason"`
	Opened      time.Time  `json:"opened"`
	Filed       *time.Time `json:"filed,omitempty"`
}

// openEpisodesSQL reads alarm-311's table (migration 0005).
const openEpisodesSQL = `
SELECT id, alarm_type, state, service_code, coalesce(request_id, ''), coalesce(request_status, ''),
       reason, opened_at, filed_at
FROM alarm_episodes
WHERE (asset_id = $1 OR pole_id = $1) AND state IN ('filing', 'open')
ORDER BY opened_at`

func openEpisodes(ctx context.Context, db work.DB, asset string) ([]episode, error) {
	rows, err := db.Query(ctx, openEpisodesSQL, asset)
	if err != nil {
		return nil, fmt.Errorf("reading 311 episodes of %s: %w", asset, err)
	}
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (episode, error) {
		var e episode
		err := r.Scan(&e.ID, &e.AlarmType, &e.State, &e.ServiceCode, &e.RequestID, &e.Status, &e.Reason, &e.Opened, &e.Filed)
		return e, err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		// A database migrated before alarm-311 existed has no episodes.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading 311 episodes of %s: %w", asset, err)
	}
	return eps, nil
}

// historyShown is the most items of one asset the console lists.
const historyShown = 500

func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.PathValue("id"))
	if id == "" || len(id) > 200 {
		problem(w, http.StatusBadRequest, "an asset id is 1 to 200 characters")
		return
	}
	items, err := work.AssetHistory(r.Context(), c.cfg.DB, id, historyShown)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	eps, err := openEpisodes(r.Context(), c.cfg.DB, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset": id, "items": orEmpty(items), "open_311": orEmpty(eps)})
}
