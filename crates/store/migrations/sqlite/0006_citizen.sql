-- Version 6 (sqlite): the citizen side: profile fields, sessions, e-mail validation, an inbox
-- that lists without opening contents, notifications, and status callbacks to enti.
-- Keep in step with the other backend.
ALTER TABLE citizens ADD COLUMN accepted_tos_version BIGINT;
ALTER TABLE citizens ADD COLUMN reminders_enabled BIGINT NOT NULL DEFAULT 1;
ALTER TABLE citizens ADD COLUMN push_anonymous BIGINT NOT NULL DEFAULT 0;

-- The sealed subject (bound to the message id), the payment reference, the creation time and
-- the time to live,
-- so that a page of the inbox is one indexed read.
ALTER TABLE inbox ADD COLUMN title_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN title BLOB;
ALTER TABLE inbox ADD COLUMN rpt_id TEXT;
ALTER TABLE inbox ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN time_to_live BIGINT NOT NULL DEFAULT 0;
CREATE INDEX inbox_listing ON inbox (fiscal_code, is_archived, message_id);
CREATE INDEX inbox_by_service ON inbox (fiscal_code, service_id, message_id);
CREATE INDEX messages_by_citizen ON messages (fiscal_code, id);

-- The callback secret is sealed with the content keys.
ALTER TABLE services ADD COLUMN callback_url TEXT;
ALTER TABLE services ADD COLUMN callback_key_id TEXT;
ALTER TABLE services ADD COLUMN callback_secret BLOB;

-- Bearer tokens are stored as SHA-256 hashes only.
CREATE TABLE citizen_sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    fiscal_code TEXT NOT NULL,
    method TEXT NOT NULL,
    client_ip TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX citizen_sessions_by_citizen ON citizen_sessions (fiscal_code, created_at);

CREATE TABLE email_validations (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    fiscal_code TEXT NOT NULL,
    email TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX email_validations_by_citizen ON email_validations (fiscal_code);

-- One row per (subject, channel, purpose): a message processed twice never notifies twice.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    subject_id TEXT NOT NULL,
    fiscal_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    send_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    payload_key_id TEXT,
    payload BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (subject_id, channel, purpose)
);
CREATE INDEX notifications_by_citizen ON notifications (fiscal_code);

-- One row per (message, event): retries and reprocessing never deliver an event twice.
CREATE TABLE callback_deliveries (
    id INTEGER PRIMARY KEY,
    service_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (message_id, event)
);
CREATE INDEX callback_deliveries_by_service ON callback_deliveries (service_id, id);
