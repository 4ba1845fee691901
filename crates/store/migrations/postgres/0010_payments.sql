-- Version 10 (postgres): the payments domain. An ente's payments set-up and keys, its debt
-- positions (the serde form of the aggregate in `doc`, with the columns lists and filters
-- need beside it), their notice numbers (unique per ente), their history (which outlives a
-- deleted position) and the counter IUV bases are reserved from.
-- Keep in step with ../sqlite/0010_payments.sql.
CREATE TABLE payment_profiles (
    organization TEXT PRIMARY KEY REFERENCES organizations (fiscal_code),
    -- "01,02": the segregation codes, the first for new notice numbers.
    segregation_codes TEXT NOT NULL,
    io_service TEXT,
    -- JSON array of networks in canonical form.
    cidrs TEXT NOT NULL,
    -- JSON of the notice template.
    template TEXT NOT NULL,
    primary_key_hash TEXT NOT NULL UNIQUE,
    secondary_key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE payment_positions (
    id TEXT PRIMARY KEY,
    organization TEXT NOT NULL,
    iupd TEXT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- The debtor's fiscal code when a natural person; NULL for a company or once unlinked.
    citizen TEXT,
    -- 1 once unlink_citizen dropped the link: later saves do not restore it.
    citizen_unlinked BIGINT NOT NULL DEFAULT 0,
    company_name TEXT NOT NULL,
    min_due_ms BIGINT,
    max_due_ms BIGINT,
    payment_ms BIGINT,
    inserted_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    -- ",01,02,": the segregation codes of its notice numbers, for the list filter.
    segregation TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (organization, iupd)
);
CREATE INDEX payment_positions_listing ON payment_positions (organization, inserted_ms, id);
CREATE INDEX payment_positions_by_citizen ON payment_positions (citizen, inserted_ms)
    WHERE citizen IS NOT NULL;

CREATE TABLE payment_notices (
    organization TEXT NOT NULL,
    iuv TEXT NOT NULL,
    nav TEXT NOT NULL,
    position_id TEXT NOT NULL,
    UNIQUE (organization, iuv),
    UNIQUE (organization, nav)
);
CREATE INDEX payment_notices_by_position ON payment_notices (position_id);

CREATE TABLE payment_history (
    id BIGSERIAL PRIMARY KEY,
    position_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    actor TEXT NOT NULL
);
CREATE INDEX payment_history_by_position ON payment_history (position_id, id);

-- One row: the next free 13-digit IUV base. A block of n is reserved by adding n in one
-- UPDATE ... RETURNING.
CREATE TABLE payment_iuv_counter (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    next BIGINT NOT NULL
);
INSERT INTO payment_iuv_counter (id, next) VALUES (1, 1);
