-- Version 8 (postgres): usage counters split into shards, so that concurrent intake writers of one
-- service each add to their own row instead of queueing on one; the count is the sum of the
-- shards. Keep in step with the other backend.
ALTER TABLE service_usage ADD COLUMN shard BIGINT NOT NULL DEFAULT 0;
ALTER TABLE service_usage DROP CONSTRAINT service_usage_pkey;
ALTER TABLE service_usage ADD PRIMARY KEY (service_id, period, shard);
