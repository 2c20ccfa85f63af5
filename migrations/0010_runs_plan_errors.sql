-- A plan that keeps failing is visible (internal/work/plan.go). A source
-- that fails on every call (bad credentials, a layer gone) leaves its run
-- in 'planning', retried every tick; these columns say why: the last
-- error of a plan attempt, when it happened, and how many attempts in a
-- row failed. A recorded page clears them. The engine alerts once, when
-- plan_failures reaches Config.PlanAlertAfter.
--   SELECT id, workflow, plan_failures, plan_error_at, plan_error
--   FROM runs WHERE state = 'planning' AND plan_failures > 0;

-- +goose Up
ALTER TABLE runs
    ADD COLUMN plan_error    text,
    ADD COLUMN plan_error_at timestamptz,
    ADD COLUMN plan_failures integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE runs
    DROP COLUMN plan_failures,
    DROP COLUMN plan_error_at,
    DROP COLUMN plan_error;
