-- Version 7 (sqlite): a batch is visible and owns its idempotency key only once its upload is
-- complete (sealed_at); the hash of the key that uploaded it, so that revoking the key stops it.
-- Keep in step with the other backend.
ALTER TABLE batches ADD COLUMN sealed_at BIGINT;
ALTER TABLE batches ADD COLUMN key_hash TEXT;
-- Uploads written before this version: a batch with lines counted, or no longer running, was
-- sealed; a RUNNING one with total 0 is an upload that never completed (or an empty CSV): it
-- gives up its key and is removed as stale.
UPDATE batches SET sealed_at = updated_at WHERE total > 0 OR status <> 'RUNNING';
UPDATE batches SET idempotency_key = NULL WHERE sealed_at IS NULL;
CREATE INDEX batches_unsealed ON batches (updated_at) WHERE sealed_at IS NULL;
