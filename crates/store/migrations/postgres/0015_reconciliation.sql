-- Version 15 (postgres): reconciliation. Each receipt keeps this ente's transfers (no personal
-- data); reporting flows and treasury statements are kept as received (one row per document,
-- keyed by the digest of its bytes, so the same file again changes nothing) with their lines
-- and movements; the queue says what the next incremental run must look at; the items are the
-- result, one per payment (IUV + transfer index) and one per unmatched movement.
-- Keep in step with ../sqlite/0015_reconciliation.sql.
ALTER TABLE payment_receipts ADD COLUMN transfers TEXT NOT NULL DEFAULT '[]';

CREATE TABLE recon_flows (
    organization TEXT NOT NULL,
    digest TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    psp_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    regulation_id TEXT NOT NULL,
    regulation_date TEXT NOT NULL,
    flow_time TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    receiver_id TEXT NOT NULL,
    declared_count BIGINT NOT NULL,
    declared_total BIGINT NOT NULL,
    lines_count BIGINT NOT NULL,
    lines_total BIGINT NOT NULL,
    foreign_lines BIGINT NOT NULL,
    checks TEXT NOT NULL,
    conflict BIGINT NOT NULL,
    superseded BIGINT NOT NULL,
    document BYTEA NOT NULL,
    ingested_ms BIGINT NOT NULL,
    PRIMARY KEY (organization, digest)
);
CREATE INDEX recon_flows_by_id ON recon_flows (organization, flow_id, psp_id, revision);
CREATE INDEX recon_flows_by_ingested ON recon_flows (organization, ingested_ms);

CREATE TABLE recon_lines (
    organization TEXT NOT NULL,
    digest TEXT NOT NULL,
    seq BIGINT NOT NULL,
    iuv TEXT NOT NULL,
    iur TEXT NOT NULL,
    transfer_index BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    outcome BIGINT NOT NULL,
    line_date TEXT NOT NULL,
    foreign_iuv BIGINT NOT NULL,
    PRIMARY KEY (organization, digest, seq)
);
CREATE INDEX recon_lines_by_iuv ON recon_lines (organization, iuv);

CREATE TABLE recon_statements (
    organization TEXT NOT NULL,
    digest TEXT NOT NULL,
    document_id TEXT NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    statement_date TEXT,
    signature TEXT,
    movements BIGINT NOT NULL,
    document BYTEA NOT NULL,
    ingested_ms BIGINT NOT NULL,
    PRIMARY KEY (organization, digest)
);

CREATE TABLE recon_movements (
    organization TEXT NOT NULL,
    movement_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    account TEXT NOT NULL,
    incoming BIGINT NOT NULL,
    reversal BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    booking_date TEXT NOT NULL,
    value_date TEXT,
    ref_kind TEXT NOT NULL CHECK (ref_kind IN ('FLOW', 'IUV', 'NONE')),
    ref_flow TEXT,
    ref_iuv TEXT,
    ref_amount BIGINT,
    end_to_end_id TEXT,
    bank_reference TEXT,
    PRIMARY KEY (organization, movement_id)
);
CREATE INDEX recon_movements_by_flow ON recon_movements (organization, ref_flow) WHERE ref_flow IS NOT NULL;
CREATE INDEX recon_movements_by_iuv ON recon_movements (organization, ref_iuv) WHERE ref_iuv IS NOT NULL;
CREATE INDEX recon_movements_by_date ON recon_movements (organization, booking_date);

CREATE TABLE recon_queue (
    seq BIGSERIAL PRIMARY KEY,
    organization TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('IUV', 'FLOW', 'MOVEMENT')),
    ref TEXT NOT NULL
);
CREATE INDEX recon_queue_by_org ON recon_queue (organization, seq);

CREATE TABLE recon_items (
    organization TEXT NOT NULL,
    item_key TEXT NOT NULL,
    class TEXT NOT NULL,
    iuv TEXT,
    transfer_index BIGINT,
    amount BIGINT NOT NULL,
    item_date TEXT NOT NULL,
    psp_id TEXT,
    receipt_id TEXT,
    flow_id TEXT,
    movement_id TEXT,
    explanation_it TEXT NOT NULL,
    explanation_en TEXT NOT NULL,
    due_date TEXT,
    -- 1 while the item's effect on its debt position (transfer REPORTED, payment recorded
    -- without receipt) is still to apply.
    effects BIGINT NOT NULL,
    -- A digest of the item's content: a run rewrites only the items whose digest changed.
    fingerprint TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    note TEXT,
    closed_ms BIGINT,
    closed_by TEXT,
    PRIMARY KEY (organization, item_key)
);
CREATE INDEX recon_items_by_date ON recon_items (organization, item_date, item_key);
CREATE INDEX recon_items_by_class ON recon_items (organization, class, item_date, item_key);
CREATE INDEX recon_items_pending ON recon_items (organization, due_date) WHERE class = 'PENDING';

CREATE INDEX recon_items_effects ON recon_items (organization) WHERE effects = 1;

-- The last run of each ente; `generation` counts the runs, so a run whose facts were read
-- before another run saved cannot overwrite that run's newer items.
CREATE TABLE recon_runs (
    organization TEXT PRIMARY KEY,
    ran_ms BIGINT NOT NULL,
    generation BIGINT NOT NULL
);
