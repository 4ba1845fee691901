-- Version 13 (postgres): massive notice archives. One row per requested archive: the filter it
-- was asked for (JSON), its state and counters (progress is one read of this row), and once
-- DONE the path of the ZIP on the node whose worker built it. Its job is a `notice_archive`
-- row of `jobs` with the archive id as subject. Keep in step with ../sqlite/0013_notice_archives.sql.
CREATE TABLE notice_archives (
    id TEXT PRIMARY KEY,
    organization TEXT NOT NULL,
    filter TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
    total BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    path TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX notice_archives_by_organization ON notice_archives (organization, created_at);
