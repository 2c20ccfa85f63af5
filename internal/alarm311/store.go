package alarm311

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/cms"
)

// Episode states, as alarm_episodes.state holds them.
const (
	stateFiling  = "filing"
	stateOpen    = "open"
	stateClosed  = "closed"
	stateRefused = "refused"
)

// episode is one row of alarm_episodes.
type episode struct {
	ID                  int64
	AssetID, AlarmType  string
	PoleID, DeviceID    string
	ServiceCode, State  string
	Reason, Address     string
	Lat, Long           *float64
	OpenedAt, CreatedAt time.Time
	Marker              string
	PostAttempts        int
	LastPostAt          *time.Time
	Token, RequestID    string
	RequestStatus       string
	CheckedAt           *time.Time
}

// ref is what the engine records as the item's target reference.
func (e *episode) ref() string {
	switch {
	case e.RequestID != "":
		return e.RequestID
	case e.Token != "":
		return "token:" + e.Token
	}
	return fmt.Sprintf("episode:%d", e.ID)
}

const episodeCols = `id, asset_id, alarm_type, coalesce(pole_id, ''), device_id, service_code, state, reason,
coalesce(address, ''), lat, long, opened_at, created_at, marker, post_attempts, last_post_at,
coalesce(token, ''), coalesce(request_id, ''), coalesce(request_status, ''), checked_at`

func scanEpisode(row pgx.Row) (*episode, error) {
	var e episode
	err := row.Scan(&e.ID, &e.AssetID, &e.AlarmType, &e.PoleID, &e.DeviceID, &e.ServiceCode, &e.State, &e.Reason,
		&e.Address, &e.Lat, &e.Long, &e.OpenedAt, &e.CreatedAt, &e.Marker, &e.PostAttempts, &e.LastPostAt,
		&e.Token, &e.RequestID, &e.RequestStatus, &e.CheckedAt)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// store is the sink's view of the episode tables over one connection that
// holds the (asset, alarm type) lock, or Preview's over a read-only
// transaction.
type store struct {
	conn dbConn
}

// dbConn is a pooled connection or a transaction.
type dbConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// live returns the filing or open episode of an (asset, alarm type), or nil.
func (s store) live(ctx context.Context, asset, typ string) (*episode, error) {
	e, err := scanEpisode(s.conn.QueryRow(ctx, `SELECT `+episodeCols+` FROM alarm_episodes
WHERE asset_id = $1 AND alarm_type = $2 AND state IN ('filing', 'open')`, asset, typ))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading live episode of %s/%s: %w", asset, typ, err)
	}
	return e, nil
}

// byID returns an episode.
func (s store) byID(ctx context.Context, id int64) (*episode, error) {
	e, err := scanEpisode(s.conn.QueryRow(ctx, `SELECT `+episodeCols+` FROM alarm_episodes WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("reading episode %d: %w", id, err)
	}
	return e, nil
}

// event is what alarm_events holds of an alarm already seen.
type event struct {
	Episode *int64
	Cleared bool
	Note    string
}

// seen returns the recorded alarm, or nil.
func (s store) seen(ctx context.Context, alarmID string) (*event, error) {
	var ev event
	err := s.conn.QueryRow(ctx, `SELECT episode_id, cleared_at IS NOT NULL, coalesce(note, '') FROM alarm_events WHERE alarm_id = $1`,
		alarmID).Scan(&ev.Episode, &ev.Cleared, &ev.Note)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading alarm %s: %w", alarmID, err)
	}
	return &ev, nil
}

const recordEventSQL = `
INSERT INTO alarm_events (alarm_id, episode_id, asset_id, alarm_type, severity, message, raised_at, cleared_at, note, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (alarm_id) DO UPDATE SET cleared_at = coalesce(alarm_events.cleared_at, excluded.cleared_at)`

// record writes an alarm against an episode (or none, with a note).
func (s store) record(ctx context.Context, q querier, a cms.Alarm, episode *int64, note string, now time.Time) error {
	_, err := q.Exec(ctx, recordEventSQL, a.ID, episode, a.ExternalID, a.Type, a.Severity, a.Message,
		a.RaisedAt, a.ClearedAt, nullString(note), now)
	if err != nil {
		return fmt.Errorf("recording alarm %s: %w", a.ID, err)
	}
	return nil
}

// querier is a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const newEpisodeSQL = `
INSERT INTO alarm_episodes (id, asset_id, alarm_type, pole_id, device_id, service_code, reason, address, lat, long,
    opened_at, created_at, marker, updated_at)
OVERRIDING SYSTEM VALUE
SELECT n, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[citylink alarm-311 episode ' || n || ']', $11
FROM (SELECT nextval(pg_get_serial_sequence('alarm_episodes', 'id')) AS n) s
RETURNING id`

// open starts an episode for alarm a on device d and records a against it,
// in one transaction. The marker names the episode id, so it is unique
// and known before anything is posted.
func (s store) open(ctx context.Context, a cms.Alarm, d cms.Device, code string, now time.Time) (*episode, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.conn, func(tx pgx.Tx) error {
		var lat, long *float64
		if d.Location != (cms.Location{}) {
			lat, long = &d.Location.Latitude, &d.Location.Longitude
		}
		err := tx.QueryRow(ctx, newEpisodeSQL, a.ExternalID, a.Type, nullString(d.PoleID), a.DeviceID, code,
			reasonOf(a), nullString(d.Address), lat, long, a.RaisedAt, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("opening episode: %w", err)
		}
		return s.record(ctx, tx, a, &id, "", now)
	})
	if err != nil {
		return nil, fmt.Errorf("episode of %s/%s: %w", a.ExternalID, a.Type, err)
	}
	return s.byID(ctx, id)
}

// reasonOf says why the episode was opened, for the operator's query.
func reasonOf(a cms.Alarm) string {
	return fmt.Sprintf("%s (%s) alarm %s raised %s: %s", a.Type, a.Severity, a.ID,
		a.RaisedAt.UTC().Format(time.RFC3339), a.Message)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// lock takes the session advisory lock of an (asset, alarm type) on a
// connection of its own, and returns the store over it and the release.
// A worker that dies loses its connection, and with it the lock.
func lock(ctx context.Context, db *pgxpool.Pool, asset, typ string) (store, func(), error) {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return store{}, nil, fmt.Errorf("acquiring a connection: %w", err)
	}
	key := "citylink.alarm311:" + asset + "/" + typ
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		conn.Release()
		return store{}, nil, fmt.Errorf("locking %s/%s: %w", asset, typ, err)
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
			// Closing the session is what frees the lock now.
			_ = conn.Hijack().Close(ctx)
			return
		}
		conn.Release()
	}
	return store{conn: conn}, release, nil
}

// read runs fn over the pool, or inside a read-only transaction when the
// configuration is ReadOnly, where Postgres refuses every write.
func (c Config) read(ctx context.Context, fn func(q dbConn) error) error {
	if !c.ReadOnly {
		conn, err := c.DB.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquiring a connection: %w", err)
		}
		defer conn.Release()
		return fn(conn)
	}
	return pgx.BeginTxFunc(ctx, c.DB, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error { return fn(tx) })
}
