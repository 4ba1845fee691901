-- Version 9: typed jobs. The column that named "what the job works on" held four kinds of id
-- under the name message_id; it is now subject_id, indexed with the kind so that a job is
-- found from its subject without a cast, and claiming filters on the kind.
-- Keep in step with the other backend.
ALTER TABLE jobs RENAME COLUMN message_id TO subject_id;
CREATE INDEX jobs_subject ON jobs (kind, subject_id);
CREATE INDEX jobs_kind_due ON jobs (kind, status, run_at);
