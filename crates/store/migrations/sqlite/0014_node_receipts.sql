-- Version 14 (sqlite): the pagoPA node interface. Which station serves an ente (the node calls
-- with its broker and station ids), and the receipts of paSendRT/paSendRTV2, one row per
-- (ente, receipt id) — the unique key that makes a repeated receipt a no-op. The receipt itself
-- holds the debtor's and payer's data and is sealed; the columns beside it are what lists and
-- reconciliation read. Keep in step with ../postgres/0014_node_receipts.sql.
CREATE TABLE payment_stations (
    organization TEXT PRIMARY KEY REFERENCES payment_profiles (organization),
    broker_id TEXT NOT NULL,
    station_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE payment_receipts (
    organization TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    notice_number TEXT NOT NULL,
    iuv TEXT NOT NULL,
    position_id TEXT,
    effect TEXT NOT NULL CHECK (effect IN ('APPLIED', 'BENEFICIARY', 'DOUBLE_PAYMENT', 'FAILED')),
    amount BIGINT NOT NULL,
    own_amount BIGINT NOT NULL,
    psp_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    fee BIGINT,
    payment_method TEXT,
    payment_ms BIGINT,
    received_ms BIGINT NOT NULL,
    v2 BIGINT NOT NULL,
    -- The debtor's fiscal code when a natural person; NULL once unlinked (account deletion).
    citizen TEXT,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (organization, receipt_id)
);
CREATE INDEX payment_receipts_by_iuv ON payment_receipts (organization, iuv);
CREATE INDEX payment_receipts_by_received ON payment_receipts (organization, received_ms);
CREATE INDEX payment_receipts_by_citizen ON payment_receipts (citizen) WHERE citizen IS NOT NULL;
