-- gis-push and gis-pull (internal/gissync): what the CMS and the DOT GIS
-- layer last agreed on for each streetlight, so that neither direction sends
-- back what the other wrote, and the edits that were not propagated.
--   SELECT * FROM gis_sync_reports WHERE asset_id = 'X' ORDER BY id;

-- +goose Up

-- gis_sync: one row per asset either direction has seen. base holds, per
-- field, the value both sides last agreed on: a side whose value differs
-- from it has changed the field since. cms_hash and dot_hash are content
-- hashes of the record last read from or written to each side; a record
-- whose hash matches is the sync's own write (or unchanged) and is skipped
-- without further reads. object_id is the DOT feature, looked up once.
CREATE TABLE gis_sync (
    asset_id   text        PRIMARY KEY,
    object_id  bigint,
    device_id  text,
    cms_hash   text,
    dot_hash   text,
    base       jsonb       NOT NULL DEFAULT '{}',
    pushed_at  timestamptz,
    pulled_at  timestamptz,
    updated_at timestamptz NOT NULL
);

CREATE INDEX gis_sync_object ON gis_sync (object_id) WHERE object_id IS NOT NULL;

-- gis_sync_reports: an edit to a field the other side owns (not_owned: not
-- propagated), and conflicts (both sides changed a field nobody owns since
-- they last agreed), with the rule's resolution.
CREATE TABLE gis_sync_reports (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    workflow   text        NOT NULL,
    asset_id   text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('not_owned', 'conflict')),
    field      text        NOT NULL,
    cms_value  text,
    dot_value  text,
    base_value text,
    resolution text        NOT NULL
);

CREATE INDEX gis_sync_reports_asset ON gis_sync_reports (asset_id, id);
CREATE INDEX gis_sync_reports_at ON gis_sync_reports (at DESC);

-- +goose Down
DROP TABLE gis_sync_reports;
DROP TABLE gis_sync;
