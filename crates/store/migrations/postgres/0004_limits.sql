-- Version 4 (postgres): per-service limits and usage counters. Keep in step with the other backend.
CREATE TABLE service_limits (
    service_id TEXT PRIMARY KEY,
    rate_per_second BIGINT,
    burst BIGINT,
    daily_quota BIGINT,
    monthly_quota BIGINT
);

-- Messages accepted per service and period ('d2026-11-25', 'm2026-11'), written in the same
-- transaction as the messages.
CREATE TABLE service_usage (
    service_id TEXT NOT NULL,
    period TEXT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (service_id, period)
);
