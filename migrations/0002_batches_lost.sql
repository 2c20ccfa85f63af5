-- batches.lost counts the workers lost on a batch: claims whose lease expired
-- and that the rescuer took back. batches.attempt counts every claim, those
-- handed back undone at a deadline included, so it cannot tell the rescuer
-- when a batch has killed MaxClaims workers.

-- +goose Up
ALTER TABLE batches ADD COLUMN lost integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE batches DROP COLUMN lost;
