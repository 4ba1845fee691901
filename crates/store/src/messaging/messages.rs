//! The [`Messages`] port: intake, with quotas and idempotency, in one transaction per group.

use crate::prelude::*;

#[async_trait]
impl Messages for SqlStore {
    async fn accept_messages(&self, batch: &[NewMessageRecord]) -> StoreResult<Vec<AcceptOutcome>> {
        let mut outcomes: Vec<Option<AcceptOutcome>> = vec![None; batch.len()];
        let mut tx = self.write.begin().await.map_err(backend)?;
        const COLS: usize = 12;
        for (chunk_no, chunk) in batch.chunks(INSERT_CHUNK).enumerate() {
            let sql = format!(
                "INSERT INTO messages (id, service_id, fiscal_code, created_at, time_to_live, \
                 feature_level, content_key_id, content, status, idempotency_key, request_hash, \
                 updated_at) VALUES {} ON CONFLICT DO NOTHING RETURNING id",
                values_list(self.backend, chunk.len(), COLS)
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                let created = ms(&m.created_at);
                q = q
                    .bind(m.id.to_string())
                    .bind(m.service_id.to_string())
                    .bind(m.fiscal_code.as_str().to_owned())
                    .bind(created)
                    .bind(m.time_to_live)
                    .bind(m.feature_level.as_str())
                    .bind(m.content.key_id.clone())
                    .bind(m.content.bytes.clone())
                    .bind(MessageStatus::Accepted.as_str())
                    .bind(m.idempotency.as_ref().map(|i| i.key.clone()))
                    .bind(m.idempotency.as_ref().map(|i| i.request_hash.clone()))
                    .bind(created);
            }
            let inserted: std::collections::HashSet<String> = q
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?
                .iter()
                .map(|r| text(r, "id"))
                .collect::<StoreResult<_>>()?;
            for (i, m) in chunk.iter().enumerate() {
                let slot = chunk_no * INSERT_CHUNK + i;
                if inserted.contains(&m.id.to_string()) {
                    outcomes[slot] = Some(AcceptOutcome::Created(m.id));
                    continue;
                }
                // Not inserted: the idempotency key was used before (maybe earlier in this
                // very batch). Same request → the earlier id; different request → refused.
                let Some(idem) = &m.idempotency else {
                    return Err(StoreError::Backend(
                        "message insert ignored without an idempotency key".into(),
                    ));
                };
                let row = sqlx::query(
                    "SELECT id, request_hash FROM messages WHERE service_id = $1 \
                     AND idempotency_key = $2",
                )
                .bind(m.service_id.to_string())
                .bind(idem.key.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                let existing = MessageId::parse(&text(&row, "id")?)
                    .map_err(|_| StoreError::Backend("stored message id".into()))?;
                outcomes[slot] = Some(
                    if opt_text(&row, "request_hash")?.as_deref()
                        == Some(idem.request_hash.as_str())
                    {
                        AcceptOutcome::Replayed(existing)
                    } else {
                        AcceptOutcome::KeyReused
                    },
                );
            }
        }
        self.enforce_quotas(&mut tx, batch, &mut outcomes).await?;
        let created: Vec<&NewMessageRecord> = batch
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Some(AcceptOutcome::Created(_))))
            .map(|(m, _)| m)
            .collect();
        for chunk in created.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO jobs (kind, subject_id, status, attempts, run_at, created_at) \
                 VALUES {}",
                values_list(self.backend, chunk.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                let at = ms(&m.created_at);
                q = q
                    .bind(JobKind::ProcessMessage.as_str())
                    .bind(m.id.to_string())
                    .bind(JobStatus::Queued.as_str())
                    .bind(0_i64)
                    .bind(at)
                    .bind(at);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(AcceptOutcome::KeyReused))
            .collect())
    }

    async fn get_message(&self, id: &MessageId) -> StoreResult<Option<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE id = $1",
            rows::MESSAGE_COLUMNS
        );
        self.one(&sql, id.to_string(), rows::message).await
    }

    async fn get_messages(&self, ids: &[MessageId]) -> StoreResult<Vec<MessageRecord>> {
        let select = format!("SELECT {} FROM messages", rows::MESSAGE_COLUMNS);
        let keys = ids.iter().map(ToString::to_string).collect();
        self.select_in(&select, "id", keys, rows::message).await
    }

    async fn mark_message_paid(&self, id: &MessageId, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let service: Option<String> = sqlx::query_scalar(
            "UPDATE messages SET paid_at = $1, updated_at = $2 WHERE id = $3 AND paid_at IS NULL \
             RETURNING service_id",
        )
        .bind(ms(&now))
        .bind(ms(&now))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(service) = service else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM messages WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
            return match exists {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound("message".into())),
            };
        };
        let delivery: Option<i64> = sqlx::query_scalar(
            "INSERT INTO callback_deliveries (service_id, message_id, event, reason, at, \
             status, attempts, created_at, updated_at) \
             SELECT id, $1, 'paid', NULL, $2, 'PENDING', 0, $3, $4 FROM services \
             WHERE id = $5 AND callback_url IS NOT NULL \
             ON CONFLICT (message_id, event) DO NOTHING RETURNING id",
        )
        .bind(id.to_string())
        .bind(ms(&now))
        .bind(ms(&now))
        .bind(ms(&now))
        .bind(service)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if let Some(d) = delivery {
            insert_job(&mut tx, JobKind::Callback, &d.to_string(), now, now).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }
}
