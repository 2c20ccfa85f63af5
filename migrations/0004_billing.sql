-- billing-export's state. billing_rows holds the inventory change rows each
-- run's items recorded: the file of a run is these rows in asset id order,
-- so sending it again renders the same bytes, and the last row of an asset
-- in an earlier run is what the utility already bills, from which the next
-- change's type (ADD, CHANGE or REMOVE) follows. billing_files records each
-- run's file once it was delivered, with its name and digest.

-- +goose Up
CREATE TABLE billing_rows (
    run_id   bigint NOT NULL REFERENCES runs (id),
    asset_id text   NOT NULL,
    change   jsonb  NOT NULL,
    PRIMARY KEY (run_id, asset_id)
);

CREATE INDEX billing_rows_asset ON billing_rows (asset_id, run_id DESC);

CREATE TABLE billing_files (
    run_id       bigint      PRIMARY KEY REFERENCES runs (id),
    name         text        NOT NULL UNIQUE,
    rows         integer     NOT NULL,
    sha256       text        NOT NULL,
    via          text        NOT NULL,
    delivered_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE billing_files;
DROP TABLE billing_rows;
