//! The [`Batches`] port: uploads, line outcomes, reports.

use crate::prelude::*;

#[async_trait]
impl Batches for SqlStore {
    async fn create_batch(
        &self,
        b: &Batch,
        idempotency_key: Option<&str>,
    ) -> StoreResult<(BatchId, bool)> {
        if let Some(key) = idempotency_key
            && let Some(id) = self.sealed_batch_with_key(&b.service_id, key).await?
        {
            return Ok((id, false));
        }
        // The key is taken only when the upload completes (`seal_batch`): an upload cut short
        // must not answer for the retry.
        sqlx::query(
            "INSERT INTO batches (id, service_id, format, header, status, total, key_hash, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)",
        )
        .bind(b.id.to_string())
        .bind(b.service_id.to_string())
        .bind(b.format.as_str())
        .bind(b.header.clone())
        .bind(b.status.as_str())
        .bind(b.key_hash.clone())
        .bind(ms(&b.created_at))
        .bind(ms(&b.updated_at))
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok((b.id, true))
    }

    async fn add_batch_rows(
        &self,
        batch_id: &BatchId,
        rows: &[PendingRow],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        // Also locks the batch against the stale-upload sweep until this commits.
        let alive =
            sqlx::query("UPDATE batches SET updated_at = $1 WHERE id = $2 AND sealed_at IS NULL")
                .bind(ms(&now))
                .bind(batch_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        found(alive, "the upload was abandoned and removed")?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO batch_rows (batch_id, line, key_id, body) VALUES {}",
                values_list(self.backend, chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(batch_id.to_string())
                    .bind(r.line)
                    .bind(r.body.key_id.clone())
                    .bind(r.body.bytes.clone());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn seal_batch(
        &self,
        batch_id: &BatchId,
        total: i64,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(BatchId, bool)> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sealed = sqlx::query(
            "UPDATE batches SET total = $1, idempotency_key = $2, sealed_at = $3, \
             updated_at = $4 WHERE id = $5 AND sealed_at IS NULL",
        )
        .bind(total)
        .bind(idempotency_key.map(str::to_owned))
        .bind(ms(&now))
        .bind(ms(&now))
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await;
        let sealed = match sealed {
            Ok(r) => r.rows_affected(),
            Err(e) if is_unique_violation(&e) => {
                // A concurrent upload with the same key completed first: it answers.
                drop(tx);
                let service: String =
                    sqlx::query_scalar("SELECT service_id FROM batches WHERE id = $1")
                        .bind(batch_id.to_string())
                        .fetch_one(&self.read)
                        .await
                        .map_err(backend)?;
                self.discard_batch(batch_id).await?;
                let service = ServiceId::parse(&service)
                    .map_err(|_| StoreError::Backend("corrupt batches.service_id".into()))?;
                let key = idempotency_key.unwrap_or_default();
                let id = self
                    .sealed_batch_with_key(&service, key)
                    .await?
                    .ok_or_else(|| StoreError::Conflict("the idempotency key is in use".into()))?;
                return Ok((id, false));
            }
            Err(e) => return Err(backend(e)),
        };
        found(sealed, "the upload was abandoned and removed")?;
        // Lines rejected while uploading (too long, unclosed quote) may be all of them.
        let completed = sqlx::query(
            "UPDATE batches SET status = 'COMPLETED' WHERE id = $1 AND status = 'RUNNING' \
             AND accepted + rejected >= total",
        )
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if completed == 0 {
            sqlx::query(
                "INSERT INTO jobs (kind, subject_id, status, attempts, run_at, created_at) \
                 VALUES ($1, $2, 'queued', 0, $3, $4)",
            )
            .bind(JobKind::ProcessBatch.as_str())
            .bind(batch_id.to_string())
            .bind(ms(&now))
            .bind(ms(&now))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok((*batch_id, true))
    }

    async fn discard_batch(&self, batch_id: &BatchId) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        for sql in [
            "DELETE FROM batch_rows WHERE batch_id = $1",
            "DELETE FROM batches WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(batch_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn discard_stale_uploads(&self, idle_since: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        // Deleting the batch first locks it: an upload adding lines at this moment either
        // committed before (and is no longer idle) or finds its batch gone.
        let ids: Vec<String> = sqlx::query_scalar(
            "DELETE FROM batches WHERE sealed_at IS NULL AND updated_at < $1 RETURNING id",
        )
        .bind(ms(&idle_since))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for id in &ids {
            sqlx::query("DELETE FROM batch_rows WHERE batch_id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids.len() as u64)
    }

    async fn get_batch(&self, batch_id: &BatchId) -> StoreResult<Option<Batch>> {
        self.one(
            "SELECT * FROM batches WHERE id = $1",
            batch_id.to_string(),
            rows::batch,
        )
        .await
    }

    async fn pending_rows(
        &self,
        batch_id: &BatchId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<PendingRow>> {
        sqlx::query(
            "SELECT line, key_id, body FROM batch_rows WHERE batch_id = $1 AND line > $2 \
             AND outcome IS NULL ORDER BY line LIMIT $3",
        )
        .bind(batch_id.to_string())
        .bind(after_line)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(PendingRow {
                line: int(r, "line")?,
                body: SealedContent {
                    key_id: text(r, "key_id")?,
                    bytes: r
                        .try_get::<Option<Vec<u8>>, _>("body")
                        .map_err(backend)?
                        .unwrap_or_default(),
                },
            })
        })
        .collect()
    }

    async fn record_rows(
        &self,
        batch_id: &BatchId,
        outcomes: &[RowOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let (mut accepted, mut rejected) = (0i64, 0i64);
        for o in outcomes {
            let n = sqlx::query(
                "UPDATE batch_rows SET outcome = $1, message_id = $2, reason = $3, body = NULL \
                 WHERE batch_id = $4 AND line = $5 AND outcome IS NULL",
            )
            .bind(o.outcome.as_str())
            .bind(o.message_id.clone())
            .bind(o.reason.clone())
            .bind(batch_id.to_string())
            .bind(o.line)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected() as i64;
            if o.outcome == RowStatus::Accepted {
                accepted += n;
            } else {
                rejected += n;
            }
        }
        sqlx::query(
            "UPDATE batches SET accepted = accepted + $1, rejected = rejected + $2, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(accepted)
        .bind(rejected)
        .bind(ms(&now))
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // Only a sealed batch has its final total.
        sqlx::query(
            "UPDATE batches SET status = 'COMPLETED' WHERE id = $1 AND status = 'RUNNING' \
             AND sealed_at IS NOT NULL AND accepted + rejected >= total",
        )
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn reject_pending_rows(
        &self,
        batch_id: &BatchId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let n = sqlx::query(
            "UPDATE batch_rows SET outcome = 'rejected', reason = $1, body = NULL \
             WHERE batch_id = $2 AND outcome IS NULL",
        )
        .bind(reason.to_owned())
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        sqlx::query(
            "UPDATE batches SET rejected = rejected + $1, updated_at = $2, status = CASE \
             WHEN status = 'RUNNING' AND sealed_at IS NOT NULL THEN 'COMPLETED' ELSE status END \
             WHERE id = $3",
        )
        .bind(n as i64)
        .bind(ms(&now))
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }

    async fn cancel_batch(&self, batch_id: &BatchId, now: DateTime<Utc>) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE batches SET status = 'CANCELLED', updated_at = $1 \
             WHERE id = $2 AND status = 'RUNNING'",
        )
        .bind(ms(&now))
        .bind(batch_id.to_string())
        .execute(&self.write)
        .await
        .map_err(backend)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn batch_report(
        &self,
        batch_id: &BatchId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<RowOutcome>> {
        sqlx::query(
            "SELECT line, outcome, message_id, reason FROM batch_rows \
             WHERE batch_id = $1 AND line > $2 ORDER BY line LIMIT $3",
        )
        .bind(batch_id.to_string())
        .bind(after_line)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(RowOutcome {
                line: int(r, "line")?,
                outcome: match opt_text(r, "outcome")? {
                    None => RowStatus::Pending,
                    Some(o) => RowStatus::parse(&o).ok_or_else(|| corrupt("outcome"))?,
                },
                message_id: opt_text(r, "message_id")?,
                reason: opt_text(r, "reason")?,
            })
        })
        .collect()
    }

    async fn batch_processed(&self, batch_id: &BatchId) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM batch_rows r JOIN messages m ON m.id = r.message_id \
             WHERE r.batch_id = $1 AND m.status = 'PROCESSED'",
        )
        .bind(batch_id.to_string())
        .fetch_one(&self.read)
        .await
        .map_err(backend)
    }
}
