-- items_source_key_pattern serves "what happened to pole X" across every
-- workflow (work.AssetHistory, `citylink items --asset`, the console's
-- search): items_source_key leads with the workflow, so a question that
-- names no workflow would read every item. text_pattern_ops lets the same
-- index answer keys that start with the asset, such as "SL-1:lamp_out".

-- +goose Up
CREATE INDEX items_source_key_pattern ON items (source_key text_pattern_ops, id);

-- +goose Down
DROP INDEX items_source_key_pattern;
