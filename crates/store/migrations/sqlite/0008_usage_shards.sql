-- Version 8 (sqlite): usage counters split into shards, so that concurrent intake writers of one
-- service each add to their own row instead of queueing on one; the count is the sum of the
-- shards. Keep in step with the other backend.
CREATE TABLE service_usage_sharded (
    service_id TEXT NOT NULL,
    period TEXT NOT NULL,
    shard BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (service_id, period, shard)
);
INSERT INTO service_usage_sharded (service_id, period, shard, messages)
    SELECT service_id, period, 0, messages FROM service_usage;
DROP TABLE service_usage;
ALTER TABLE service_usage_sharded RENAME TO service_usage;
