-- Version 12 (sqlite): bulk imports of debt positions. An import holds its counters (progress
-- is read, never counted); its lines are stored sealed (they hold the debtors' data) until
-- their outcome is recorded, in the transaction that writes their positions.
-- Keep in step with ../postgres/0012_payment_imports.sql.
CREATE TABLE payment_imports (
    id TEXT PRIMARY KEY,
    organization TEXT NOT NULL,
    -- 'ndjson' or 'csv'.
    format TEXT NOT NULL,
    -- The CSV header record (column names, no personal data); NULL for NDJSON.
    header TEXT,
    to_publish BIGINT NOT NULL,
    -- RECEIVING (upload in progress, invisible), RUNNING, DONE.
    status TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    -- Taken when the upload completes, so an upload cut short answers for nothing.
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_imports_idempotency ON payment_imports (organization, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX payment_imports_receiving ON payment_imports (updated_at) WHERE status = 'RECEIVING';

-- One row per line of the upload; outcome NULL = pending, then CREATED, DUPLICATE or
-- REJECTED (with reason), and the body is dropped.
CREATE TABLE payment_import_lines (
    import_id TEXT NOT NULL,
    line BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    body BLOB,
    outcome TEXT,
    iupd TEXT,
    reason TEXT,
    PRIMARY KEY (import_id, line)
);
