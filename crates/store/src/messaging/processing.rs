//! The [`Processing`] port: recording what processing decided.

use crate::prelude::*;

#[async_trait]
impl Processing for SqlStore {
    async fn complete_message_jobs(
        &self,
        done: &[CompletedJob],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await.map_err(backend)?;
        // One UPDATE per resulting status; only messages still ACCEPTED change, so a job run
        // twice (after a lease takeover) has one effect.
        let mut processed_now = std::collections::HashSet::new();
        let mut changed_now = Vec::new();
        let groups: [(MessageStatus, Option<RejectionReason>); 3] = [
            (MessageStatus::Processed, None),
            (MessageStatus::Rejected, Some(RejectionReason::UserNotFound)),
            (
                MessageStatus::Rejected,
                Some(RejectionReason::ServiceNotAllowed),
            ),
        ];
        for (status, reason) in groups {
            let ids: Vec<String> = done
                .iter()
                .filter(|d| match &d.outcome {
                    ProcessingOutcome::Processed { .. } => reason.is_none(),
                    ProcessingOutcome::Rejected(r) => Some(*r) == reason,
                })
                .map(|d| d.message_id.to_string())
                .collect();
            for chunk in ids.chunks(INSERT_CHUNK) {
                let sql = format!(
                    "UPDATE messages SET status = {}, rejection_reason = {}, updated_at = {} \
                     WHERE status = 'ACCEPTED' AND id IN ({}) RETURNING id",
                    in_list_from(self.backend, 1, 1),
                    in_list_from(self.backend, 2, 1),
                    in_list_from(self.backend, 3, 1),
                    in_list_from(self.backend, 4, chunk.len())
                );
                let mut q = sqlx::query(&sql)
                    .bind(status.as_str())
                    .bind(reason.map(RejectionReason::as_str))
                    .bind(ms(&now));
                for id in chunk {
                    q = q.bind(id.clone());
                }
                for row in q.fetch_all(&mut *tx).await.map_err(backend)? {
                    let id = text(&row, "id")?;
                    if status == MessageStatus::Processed {
                        processed_now.insert(id.clone());
                    }
                    changed_now.push(id);
                }
            }
        }
        let inbox: Vec<&InboxEntry> = done
            .iter()
            .filter_map(|d| match &d.outcome {
                ProcessingOutcome::Processed { inbox: Some(e), .. }
                    if processed_now.contains(&d.message_id.to_string()) =>
                {
                    Some(e)
                }
                _ => None,
            })
            .collect();
        for chunk in inbox.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO inbox (fiscal_code, message_id, service_id, has_payment, due_date, \
                 title_key_id, title, rpt_id, created_at, time_to_live) VALUES {} \
                 ON CONFLICT DO NOTHING",
                values_list(self.backend, chunk.len(), 10)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.fiscal_code.as_str().to_owned())
                    .bind(e.message_id.to_string())
                    .bind(e.service_id.to_string())
                    .bind(flag(e.has_payment))
                    .bind(e.due_date.as_ref().map(ms))
                    .bind(e.title.key_id.clone())
                    .bind(e.title.bytes.clone())
                    .bind(e.rpt_id.clone())
                    .bind(ms(&e.created_at))
                    .bind(e.time_to_live);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        let notifications: Vec<NewNotification> = done
            .iter()
            .filter(|d| processed_now.contains(&d.message_id.to_string()))
            .flat_map(|d| match &d.outcome {
                ProcessingOutcome::Processed { notifications, .. } => notifications.clone(),
                ProcessingOutcome::Rejected(_) => Vec::new(),
            })
            .collect();
        insert_notifications(&mut tx, &notifications, now).await?;
        queue_outcome_callbacks(self, &mut tx, &changed_now, now).await?;
        let job_ids: Vec<i64> = done.iter().map(|d| d.job_id).collect();
        for chunk in job_ids.chunks(INSERT_CHUNK) {
            let sql = format!(
                "DELETE FROM jobs WHERE id IN ({})",
                in_list(self.backend, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }
}
