//! The kernel's [`JobQueue`] port: claiming under a lease, failures, retries; and the outbox
//! writers every port uses to queue a job inside its own transaction.

use crate::prelude::*;

/// What a job's failure or retry does to the record it works on, by kind: the statement and
/// whether the subject id is bound as an integer (notifications, deliveries) or as text.
fn subject_update(kind: JobKind, dead: bool) -> Option<(&'static str, bool)> {
    match (kind, dead) {
        (JobKind::ProcessMessage, true) => Some((
            "UPDATE messages SET status = 'FAILED', updated_at = $1 WHERE id = $2 \
             AND status = 'ACCEPTED'",
            false,
        )),
        (JobKind::ProcessMessage, false) => Some((
            "UPDATE messages SET status = 'ACCEPTED', updated_at = $1 WHERE id = $2 \
             AND status = 'FAILED'",
            false,
        )),
        (JobKind::Notify, true) => Some((
            "UPDATE notifications SET status = 'FAILED', updated_at = $1 WHERE id = $2",
            true,
        )),
        (JobKind::Notify, false) => Some((
            "UPDATE notifications SET status = 'PENDING', updated_at = $1 WHERE id = $2 \
             AND status = 'FAILED'",
            true,
        )),
        (JobKind::Callback, true) => Some((
            "UPDATE callback_deliveries SET status = 'FAILED', updated_at = $1 WHERE id = $2",
            true,
        )),
        (JobKind::Callback, false) => Some((
            "UPDATE callback_deliveries SET status = 'PENDING', updated_at = $1 WHERE id = $2 \
             AND status = 'FAILED'",
            true,
        )),
        // A batch stays RUNNING while its job is dead and resumes where it stopped.
        (JobKind::ProcessBatch, _) => None,
        // The payments jobs work on a position's document; a dead one leaves it as it is.
        (JobKind::PreNotice | JobKind::PositionTick | JobKind::OptionPaid, _) => None,
        // Like a batch, an import or an archive resumes where it stopped.
        (JobKind::ImportPositions | JobKind::NoticeArchive, _) => None,
    }
}

/// Applies [`subject_update`] for the job in `row` (its `kind` and `subject_id`).
async fn update_subject(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    row: &AnyRow,
    dead: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let kind = parsed_with(row, "kind", JobKind::parse)?;
    let subject = text(row, "subject_id")?;
    let Some((sql, integer)) = subject_update(kind, dead) else {
        return Ok(());
    };
    let q = sqlx::query(sql).bind(ms(&now));
    let q = if integer {
        q.bind(subject.parse::<i64>().map_err(|_| corrupt("subject_id"))?)
    } else {
        q.bind(subject)
    };
    q.execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

#[async_trait]
impl JobQueue for SqlStore {
    async fn claim_jobs(
        &self,
        kinds: &[JobKind],
        limit: i64,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> StoreResult<Vec<Job>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // Placeholders in ascending order, numbered for PostgreSQL, plain `?` for SQLite.
        let n = kinds.len();
        let sql = format!(
            "UPDATE jobs SET status = 'running', run_at = {}, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE kind IN ({}) \
             AND status IN ('queued', 'running') \
             AND run_at <= {} ORDER BY run_at, id LIMIT {}{lock}) RETURNING {}",
            in_list_from(self.backend, 1, 1),
            in_list_from(self.backend, 2, n),
            in_list_from(self.backend, n + 2, 1),
            in_list_from(self.backend, n + 3, 1),
            rows::JOB_COLUMNS
        );
        let now_ms = ms(&now);
        let mut q = sqlx::query(&sql).bind(now_ms + lease_ms);
        for kind in kinds {
            q = q.bind(kind.as_str());
        }
        q.bind(now_ms)
            .bind(limit)
            .fetch_all(&self.write)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn fail_job(
        &self,
        job_id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let (status, run_at) = match retry_at {
            Some(at) => (JobStatus::Queued, ms(&at)),
            None => (JobStatus::Dead, ms(&now)),
        };
        let row = sqlx::query(
            "UPDATE jobs SET status = $1, run_at = $2, last_error = $3 WHERE id = $4 \
             RETURNING kind, subject_id",
        )
        .bind(status.as_str())
        .bind(run_at)
        .bind(error.to_owned())
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if let (Some(row), None) = (row, retry_at) {
            // A dead job fails what it was working on.
            update_subject(&mut tx, &row, true, now).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn list_jobs(&self, status: Option<JobStatus>) -> StoreResult<Vec<Job>> {
        let sql = format!(
            "SELECT {} FROM jobs WHERE ($1 = '' OR status = $2) ORDER BY id LIMIT 1000",
            rows::JOB_COLUMNS
        );
        let s = status.map_or("", JobStatus::as_str);
        sqlx::query(&sql)
            .bind(s)
            .bind(s)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn retry_job(&self, job_id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_at = $1, attempts = 0 \
             WHERE id = $2 AND status = 'dead' RETURNING kind, subject_id",
        )
        .bind(ms(&now))
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound("dead job".into()));
        };
        update_subject(&mut tx, &row, false, now).await?;
        tx.commit().await.map_err(backend)
    }

    async fn job_counts(&self) -> StoreResult<JobCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        let mut c = JobCounts::default();
        for r in &rows {
            let n = int(r, "n")?;
            match JobStatus::parse(&text(r, "status")?) {
                Some(JobStatus::Queued) => c.queued = n,
                Some(JobStatus::Running) => c.running = n,
                Some(JobStatus::Dead) => c.dead = n,
                None => {}
            }
        }
        Ok(c)
    }

    async fn extend_job(&self, job_id: i64, until: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2 AND status = 'running'")
            .bind(ms(&until))
            .bind(job_id)
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_job(&self, job_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(job_id)
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Queues one job in the caller's transaction.
pub(crate) async fn insert_job(
    tx: &mut Tx<'_>,
    kind: JobKind,
    subject: &str,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, subject_id, status, attempts, run_at, created_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4)",
    )
    .bind(kind.as_str())
    .bind(subject.to_owned())
    .bind(ms(&run_at))
    .bind(ms(&now))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Queues one job per subject id in the caller's transaction.
pub(crate) async fn insert_jobs(
    engine: Backend,
    tx: &mut Tx<'_>,
    kind: JobKind,
    ids: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for chunk in ids.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO jobs (kind, subject_id, status, attempts, run_at, created_at) VALUES {}",
            values_list(engine, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q
                .bind(kind.as_str())
                .bind(id.to_string())
                .bind("queued")
                .bind(0_i64)
                .bind(ms(&now))
                .bind(ms(&now));
        }
        q.execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}

/// Requeues a job at `retry_at` or removes it.
pub(crate) async fn reschedule_job(
    tx: &mut Tx<'_>,
    job_id: i64,
    retry_at: Option<DateTime<Utc>>,
    error: Option<&str>,
) -> StoreResult<()> {
    match retry_at {
        Some(at) => {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', run_at = $1, last_error = $2 WHERE id = $3",
            )
            .bind(ms(&at))
            .bind(error.map(str::to_owned))
            .bind(job_id)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        }
        None => {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(job_id)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}
