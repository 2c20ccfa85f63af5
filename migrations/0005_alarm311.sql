-- alarm-311 (internal/alarm311): the episodes in which a CMS alarm kept a
-- GeoReport v2 service request open, and every alarm recorded against them.
-- "Which 311 request is open for pole X, since when, and why" is one query:
--   SELECT request_id, token, service_code, alarm_type, opened_at, filed_at, reason, status_notes
--   FROM alarm_episodes
--   WHERE (asset_id = 'X' OR pole_id = 'X') AND state IN ('filing', 'open')
--   ORDER BY opened_at;

-- +goose Up

-- alarm_episodes: one per (asset, alarm type) and open request. state is
-- filing (a request is wanted; the marker is written before any POST, so a
-- POST whose answer was lost is found again by it), open (the server gave an
-- id, or a token still to resolve), closed (the request was closed: a new
-- alarm starts a new episode) or refused (the server turned the POST down).
-- At most one episode of an (asset, alarm type) is filing or open: the
-- partial unique index is what enforces "never a second request".
CREATE TABLE alarm_episodes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id       text        NOT NULL,
    alarm_type     text        NOT NULL,
    pole_id        text,
    device_id      text        NOT NULL,
    service_code   text        NOT NULL,
    state          text        NOT NULL DEFAULT 'filing'
                   CHECK (state IN ('filing', 'open', 'closed', 'refused')),
    reason         text        NOT NULL,
    address        text,
    lat            double precision,
    long           double precision,
    opened_at      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    marker         text        NOT NULL UNIQUE,
    post_attempts  integer     NOT NULL DEFAULT 0,
    last_post_at   timestamptz,
    token          text,
    request_id     text,
    filed_at       timestamptz,
    request_status text,
    status_notes   text,
    checked_at     timestamptz,
    closed_at      timestamptz,
    error          text,
    updated_at     timestamptz NOT NULL
);

CREATE UNIQUE INDEX alarm_episodes_one_open ON alarm_episodes (asset_id, alarm_type)
    WHERE state IN ('filing', 'open');
CREATE INDEX alarm_episodes_asset ON alarm_episodes (asset_id, opened_at DESC);
CREATE INDEX alarm_episodes_pole ON alarm_episodes (pole_id, opened_at DESC) WHERE pole_id IS NOT NULL;
CREATE INDEX alarm_episodes_request ON alarm_episodes (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX alarm_episodes_live ON alarm_episodes (id) WHERE state IN ('filing', 'open');

-- alarm_events: every CMS alarm alarm-311 saw, with the episode (and so the
-- request) it was recorded against; NULL when no request was wanted (a type
-- 311 does not take, or an alarm cleared before it could be filed).
CREATE TABLE alarm_events (
    alarm_id    text        PRIMARY KEY,
    episode_id  bigint      REFERENCES alarm_episodes (id),
    asset_id    text        NOT NULL,
    alarm_type  text        NOT NULL,
    severity    text        NOT NULL,
    message     text        NOT NULL,
    raised_at   timestamptz NOT NULL,
    cleared_at  timestamptz,
    note        text,
    recorded_at timestamptz NOT NULL
);

CREATE INDEX alarm_events_episode ON alarm_events (episode_id) WHERE episode_id IS NOT NULL;
CREATE INDEX alarm_events_asset ON alarm_events (asset_id, raised_at DESC);

-- +goose Down
DROP TABLE alarm_events;
DROP TABLE alarm_episodes;
