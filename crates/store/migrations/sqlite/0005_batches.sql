-- Version 5 (sqlite): batches of messages. Keep in step with the other backend.
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    format TEXT NOT NULL,
    -- The CSV header line (column names, no personal data); NULL for NDJSON.
    header TEXT,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    accepted BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX batches_idempotency ON batches (service_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- One row per line of the upload, sealed (it holds fiscal codes and contents) until processed;
-- outcome NULL = pending, then 'accepted' (with message_id) or 'rejected' (with reason).
CREATE TABLE batch_rows (
    batch_id TEXT NOT NULL,
    line BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    body BLOB,
    outcome TEXT,
    message_id TEXT,
    reason TEXT,
    PRIMARY KEY (batch_id, line)
);
