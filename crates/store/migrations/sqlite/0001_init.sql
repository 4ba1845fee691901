-- Sportello schema, version 1 (SQLite). Keep in step with ../postgres/0001_init.sql.
-- Times are Unix milliseconds; booleans are 0/1 integers; JSON is TEXT.
CREATE TABLE organizations (
    fiscal_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE delegates (
    id TEXT PRIMARY KEY,
    organization_fiscal_code TEXT NOT NULL REFERENCES organizations (fiscal_code),
    email TEXT NOT NULL,
    manage_key_hash TEXT NOT NULL UNIQUE,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_fiscal_code, email)
);

CREATE TABLE services (
    id TEXT PRIMARY KEY,
    organization_fiscal_code TEXT NOT NULL REFERENCES organizations (fiscal_code),
    organization_name TEXT NOT NULL,
    department_name TEXT,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    require_secure_channels BIGINT NOT NULL,
    authorized_recipients TEXT NOT NULL,
    authorized_cidrs TEXT NOT NULL,
    max_allowed_payment_amount BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    lifecycle TEXT NOT NULL,
    lifecycle_reason TEXT,
    publication TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX services_by_organization ON services (organization_fiscal_code, id);

CREATE TABLE service_keys (
    service_id TEXT NOT NULL REFERENCES services (id),
    key_type TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (service_id, key_type)
);

CREATE TABLE citizens (
    fiscal_code TEXT PRIMARY KEY,
    email TEXT,
    is_email_validated BIGINT NOT NULL,
    is_inbox_enabled BIGINT NOT NULL,
    is_email_enabled BIGINT NOT NULL,
    is_webhook_enabled BIGINT NOT NULL,
    preferred_languages TEXT NOT NULL,
    preference_mode TEXT NOT NULL,
    settings_version BIGINT NOT NULL,
    blocked_channels TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE service_preferences (
    fiscal_code TEXT NOT NULL,
    service_id TEXT NOT NULL,
    settings_version BIGINT NOT NULL,
    is_inbox_enabled BIGINT NOT NULL,
    is_email_enabled BIGINT NOT NULL,
    is_webhook_enabled BIGINT NOT NULL,
    can_access_message_read_status BIGINT NOT NULL,
    PRIMARY KEY (fiscal_code, service_id, settings_version)
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    fiscal_code TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    time_to_live BIGINT NOT NULL,
    feature_level TEXT NOT NULL,
    content_key_id TEXT NOT NULL,
    content BLOB NOT NULL,
    status TEXT NOT NULL,
    rejection_reason TEXT,
    is_read BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    request_hash TEXT,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_idempotency ON messages (service_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE inbox (
    fiscal_code TEXT NOT NULL,
    message_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    has_payment BIGINT NOT NULL,
    due_date BIGINT,
    is_read BIGINT NOT NULL DEFAULT 0,
    is_archived BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (fiscal_code, message_id)
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
