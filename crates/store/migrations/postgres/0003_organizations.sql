-- Version 3 (PostgreSQL): IPA code, delegates as natural persons, aggregator mandates, published
-- card snapshots and featured services. Keep in step with ../sqlite/0003_organizations.sql.
ALTER TABLE organizations ADD COLUMN ipa_code TEXT;
ALTER TABLE delegates ADD COLUMN name TEXT;
ALTER TABLE delegates ADD COLUMN fiscal_code TEXT;
ALTER TABLE delegates ADD COLUMN role TEXT NOT NULL DEFAULT 'technical';
ALTER TABLE services ADD COLUMN published_card TEXT;
ALTER TABLE services ADD COLUMN featured BIGINT NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN logo BYTEA;

-- An aggregator may manage an aggregated organization's services: all of them when
-- service_id is '*', otherwise the listed ones.
CREATE TABLE mandates (
    aggregator TEXT NOT NULL REFERENCES organizations (fiscal_code),
    organization TEXT NOT NULL REFERENCES organizations (fiscal_code),
    service_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (aggregator, organization, service_id)
);
