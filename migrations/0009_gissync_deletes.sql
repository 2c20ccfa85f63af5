-- gis-pull reports features deleted in the DOT layer (internal/gissync):
-- the light's sync state remembers the deletion, so gis-push does not
-- silently add the feature back, and the report says what happened.
--   SELECT * FROM gis_sync_reports WHERE kind = 'deleted' ORDER BY id;

-- +goose Up
ALTER TABLE gis_sync ADD COLUMN dot_deleted_at timestamptz;
ALTER TABLE gis_sync_reports DROP CONSTRAINT gis_sync_reports_kind_check;
ALTER TABLE gis_sync_reports ADD CONSTRAINT gis_sync_reports_kind_check
    CHECK (kind IN ('not_owned', 'conflict', 'deleted'));

-- +goose Down
DELETE FROM gis_sync_reports WHERE kind = 'deleted';
ALTER TABLE gis_sync_reports DROP CONSTRAINT gis_sync_reports_kind_check;
ALTER TABLE gis_sync_reports ADD CONSTRAINT gis_sync_reports_kind_check
    CHECK (kind IN ('not_owned', 'conflict'));
ALTER TABLE gis_sync DROP COLUMN dot_deleted_at;
