-- Plans that outlast one invocation (internal/work/plan.go). A run is now
-- created in state 'planning' and stays there while its plan reads the
-- source page by page, each page in its own short transaction; no
-- transaction stays open across a call to the source. plan_cursor is the
-- source's watermark after the last page recorded, so a plan cut off by its
-- Lambda's deadline continues from there in the next invocation.
-- plan_owner and plan_expires_at are the planning lease: the invocation
-- that holds it is the only one that writes pages of the run; a lease that
-- expired (the invocation died) lets the next tick or the rescuer take the
-- run over. Once the source says no more pages, one transaction cuts the
-- items into batches and chains, moves the run to 'running' and advances the
-- workflow's watermark.
--   SELECT id, state, item_count, plan_pages, plan_cursor, plan_owner, plan_expires_at
--   FROM runs WHERE state = 'planning';

-- +goose Up
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs ADD CONSTRAINT runs_state_check
    CHECK (state IN ('planning', 'running', 'succeeded', 'partial', 'failed'));
ALTER TABLE runs ALTER COLUMN state SET DEFAULT 'planning';

ALTER TABLE runs
    ADD COLUMN plan_cursor     jsonb,
    ADD COLUMN plan_pages      integer NOT NULL DEFAULT 0,
    ADD COLUMN plan_repeated   integer NOT NULL DEFAULT 0,
    ADD COLUMN plan_owner      text,
    ADD COLUMN plan_expires_at timestamptz,
    ADD CONSTRAINT runs_plan_lease CHECK (plan_owner IS NULL OR state = 'planning');

-- At most one run of a workflow is open, planning or running: a tick that
-- finds one planning continues it instead of opening a second.
DROP INDEX runs_one_open;
CREATE UNIQUE INDEX runs_one_open ON runs (workflow) WHERE state IN ('planning', 'running');

-- One item per key and run: a key a later page repeats updates its item.
-- It also serves the lookup of a page's keys among the run's items.
CREATE UNIQUE INDEX items_run_key ON items (run_id, source_key);

-- +goose Down
DROP INDEX items_run_key;
DROP INDEX runs_one_open;
DELETE FROM items WHERE run_id IN (SELECT id FROM runs WHERE state = 'planning');
DELETE FROM runs WHERE state = 'planning';
CREATE UNIQUE INDEX runs_one_open ON runs (workflow) WHERE state = 'running';
ALTER TABLE runs
    DROP CONSTRAINT runs_plan_lease,
    DROP COLUMN plan_expires_at,
    DROP COLUMN plan_owner,
    DROP COLUMN plan_repeated,
    DROP COLUMN plan_pages,
    DROP COLUMN plan_cursor;
ALTER TABLE runs ALTER COLUMN state SET DEFAULT 'running';
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs ADD CONSTRAINT runs_state_check
    CHECK (state IN ('running', 'succeeded', 'partial', 'failed'));
