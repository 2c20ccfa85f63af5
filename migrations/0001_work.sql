-- The work engine (internal/work): runs, their batches and items, the chains
-- that work them, each workflow's watermark and the critical error log.
-- Operators answer "what happened to pole X" with
--   SELECT * FROM items WHERE workflow = 'arcgis-import' AND source_key = 'X' ORDER BY id;

-- +goose Up

-- runs: one per plan. At most one run of a workflow is open ('running') at a
-- time; the partial unique index below is what enforces it.
CREATE TABLE runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow       text        NOT NULL,
    state          text        NOT NULL DEFAULT 'running'
                   CHECK (state IN ('running', 'succeeded', 'partial', 'failed')),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    watermark_from jsonb,
    watermark_to   jsonb,
    batch_count    integer     NOT NULL DEFAULT 0,
    item_count     integer     NOT NULL DEFAULT 0,
    carried_count  integer     NOT NULL DEFAULT 0,
    chain_count    integer     NOT NULL DEFAULT 0,
    succeeded      integer     NOT NULL DEFAULT 0,
    skipped        integer     NOT NULL DEFAULT 0,
    failed         integer     NOT NULL DEFAULT 0,
    dead           integer     NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX runs_one_open ON runs (workflow) WHERE state = 'running';
CREATE INDEX runs_workflow_started ON runs (workflow, started_at DESC);

-- batches: a run's items in groups of (by default) 100; the unit a chain link
-- claims under a lease.
CREATE TABLE batches (
    run_id           bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq              integer     NOT NULL,
    state            text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'running', 'done')),
    item_count       integer     NOT NULL,
    attempt          integer     NOT NULL DEFAULT 0,
    chain            integer,
    lease_owner      text,
    lease_expires_at timestamptz,
    claimed_at       timestamptz,
    finished_at      timestamptz,
    PRIMARY KEY (run_id, seq),
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- Claim takes the lowest pending batch of a run; close and the rescuer look
-- for pending batches of a run.
CREATE INDEX batches_pending ON batches (run_id, seq) WHERE state = 'pending';
-- The rescuer finds expired leases; close looks for running batches.
CREATE INDEX batches_leased ON batches (lease_expires_at, run_id) WHERE state = 'running';

-- chains: each run has up to ten. seq counts the chain's links; a link
-- carries the seq it expects, so a link delivered twice steps the chain once.
CREATE TABLE chains (
    run_id     bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    chain      integer     NOT NULL,
    seq        bigint      NOT NULL DEFAULT 0,
    stepped_at timestamptz,
    PRIMARY KEY (run_id, chain)
);

-- items: one change from the source, as planned into a run. Written with COPY,
-- so there are no foreign keys to check per row; batch_seq names the batch
-- within the run.
CREATE TABLE items (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow     text        NOT NULL,
    run_id       bigint      NOT NULL,
    batch_seq    integer     NOT NULL,
    source_key   text        NOT NULL,
    payload      jsonb       NOT NULL,
    state        text        NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'succeeded', 'failed', 'skipped', 'dead')),
    attempts     integer     NOT NULL DEFAULT 0,
    target_ref   text,
    error        text,
    skip_reason  text,
    carried_from bigint,
    carried_into bigint,
    finished_at  timestamptz
);

CREATE INDEX items_batch ON items (run_id, batch_seq);
CREATE INDEX items_source_key ON items (workflow, source_key, id);
CREATE INDEX items_carry ON items (workflow, id) WHERE state = 'failed' AND carried_into IS NULL;

-- watermarks: how far each workflow has read its source, advanced in the
-- transaction that commits the run's items.
CREATE TABLE watermarks (
    workflow   text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    run_id     bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- critical_errors: dead items and crashed sinks only, with the error and, for
-- a panic, its stack. Routine logs go to slog JSON.
CREATE TABLE critical_errors (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    workflow   text        NOT NULL,
    run_id     bigint,
    batch_seq  integer,
    item_id    bigint,
    source_key text,
    error      text        NOT NULL,
    stack      text
);

CREATE INDEX critical_errors_workflow_at ON critical_errors (workflow, at DESC);

-- +goose Down
DROP TABLE critical_errors;
DROP TABLE watermarks;
DROP TABLE items;
DROP TABLE chains;
DROP TABLE batches;
DROP TABLE runs;
