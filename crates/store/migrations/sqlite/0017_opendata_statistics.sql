-- Version 17 (sqlite): the monthly statistics of the platform's own data, released with
-- differential privacy. A series is an ente's dataset of one kind (messages, payments) with its
-- policy (JSON: epsilon, budget, threshold, cap); a release is one month's noisy figures (JSON),
-- stored once so that a retry re-publishes the same numbers and never spends the budget again.
-- Keep in step with ../postgres/0017_opendata_statistics.sql.
CREATE TABLE od_stat_series (
    organization TEXT NOT NULL,
    kind TEXT NOT NULL,
    dataset_id TEXT NOT NULL UNIQUE,
    resource_id TEXT,
    policy TEXT NOT NULL,
    PRIMARY KEY (organization, kind)
);

CREATE TABLE od_stat_releases (
    dataset_id TEXT NOT NULL,
    period TEXT NOT NULL,
    body TEXT NOT NULL,
    loaded BIGINT NOT NULL DEFAULT 0,
    released_ms BIGINT NOT NULL,
    PRIMARY KEY (dataset_id, period)
);
