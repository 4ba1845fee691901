-- Version 2 (PostgreSQL): service lifecycle, history, audit log, organization kind and logo.
-- Keep in step with ../sqlite/0002_lifecycle.sql.
ALTER TABLE organizations ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
ALTER TABLE organizations ADD COLUMN logo BYTEA;
ALTER TABLE services ADD COLUMN ever_approved BIGINT NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN auto_publish BIGINT NOT NULL DEFAULT 0;

CREATE TABLE service_history (
    id BIGSERIAL PRIMARY KEY,
    service_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    -- The service card at that moment (JSON), as IO's history items carry it.
    card TEXT NOT NULL
);
CREATE INDEX service_history_by_service ON service_history (service_id, id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
