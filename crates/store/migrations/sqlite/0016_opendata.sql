-- Version 16 (sqlite): open data. Datasets with their DCAT-AP_IT metadata (as the API's JSON, checked
-- on the way in), resources with their schema, quality report and personal-data findings; the
-- rows of each resource's published version live in a table of their own (od_t_<id>_v<n>,
-- created by the store at load time). Roles per organization, use counters (visitor hashes of
-- the current day only, then summed per day), and the catalogue generation that tells every node
-- its search index and SPARQL store are stale.
-- Keep in step with ../postgres/0016_opendata.sql.
CREATE TABLE od_datasets (
    id TEXT PRIMARY KEY,
    organization TEXT NOT NULL,
    identifier TEXT NOT NULL UNIQUE,
    publisher_name TEXT NOT NULL,
    meta TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL,
    published_ms BIGINT
);
CREATE INDEX od_datasets_by_org ON od_datasets (organization, created_ms);
CREATE INDEX od_datasets_by_modified ON od_datasets (modified_ms);

CREATE TABLE od_resources (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES od_datasets (id),
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    media_type TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    version BIGINT NOT NULL,
    table_schema TEXT NOT NULL,
    quality TEXT NOT NULL,
    findings TEXT NOT NULL,
    resolutions TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);
CREATE INDEX od_resources_by_dataset ON od_resources (dataset_id, created_ms);

CREATE TABLE od_members (
    organization TEXT NOT NULL,
    delegate_id TEXT NOT NULL,
    role TEXT NOT NULL,
    granted_ms BIGINT NOT NULL,
    PRIMARY KEY (organization, delegate_id)
);

CREATE TABLE od_visits (
    dataset_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    visitor TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (dataset_id, kind, visitor, day)
);
CREATE INDEX od_visits_by_day ON od_visits (day);

CREATE TABLE od_use_days (
    dataset_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    day TEXT NOT NULL,
    visitors BIGINT NOT NULL,
    PRIMARY KEY (dataset_id, kind, day)
);

-- visitor_salt: a random secret of the installation, hashed with the day, the address and the
-- user agent into the opaque visitor keys (so they cannot be reversed by trying addresses).
CREATE TABLE od_generation (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL,
    visitor_salt TEXT NOT NULL
);
INSERT INTO od_generation (id, generation, visitor_salt) VALUES (1, 0, lower(hex(randomblob(16))));
