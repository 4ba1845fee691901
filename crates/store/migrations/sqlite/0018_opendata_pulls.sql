-- Version 18 (sqlite): resources kept up to date from a URL. A pull is fetched when next_ms comes
-- (a node claims it by moving next_ms to a lease), loaded as a new version of its resource
-- when the content's SHA-256 changed, and rescheduled every_hours later.
-- Keep in step with ../postgres/0018_opendata_pulls.sql.
CREATE TABLE od_pulls (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES od_datasets (id),
    resource_id TEXT,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    format TEXT,
    every_hours BIGINT NOT NULL,
    next_ms BIGINT NOT NULL,
    last_ms BIGINT,
    last_status TEXT,
    last_error TEXT,
    last_sha256 TEXT,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX od_pulls_by_next ON od_pulls (next_ms);
CREATE INDEX od_pulls_by_dataset ON od_pulls (dataset_id, created_ms);
