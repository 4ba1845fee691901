//! The [`OutboundLog`] port: notifications and callback deliveries with every attempt.

use crate::prelude::*;

#[async_trait]
impl OutboundLog for SqlStore {
    async fn get_notification(&self, id: i64) -> StoreResult<Option<Notification>> {
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(backend)?
            .as_ref()
            .map(notification)
            .transpose()
    }

    async fn notifications_of_message(
        &self,
        message_id: &MessageId,
    ) -> StoreResult<Vec<Notification>> {
        self.notifications_where("subject_id", message_id.to_string())
            .await
    }

    async fn notifications_of_citizen(
        &self,
        fiscal_code: &FiscalCode,
    ) -> StoreResult<Vec<Notification>> {
        self.notifications_where("fiscal_code", fiscal_code.as_str().to_owned())
            .await
    }

    async fn record_notification_attempt(
        &self,
        id: i64,
        job_id: i64,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sql = if attempt.retry_at.is_none() {
            "UPDATE notifications SET status = $1, attempts = attempts + 1, last_error = $2, \
             updated_at = $3, payload = NULL, payload_key_id = NULL WHERE id = $4"
        } else {
            "UPDATE notifications SET status = $1, attempts = attempts + 1, last_error = $2, \
             updated_at = $3 WHERE id = $4"
        };
        sqlx::query(sql)
            .bind(attempt.status.clone())
            .bind(attempt.error.clone())
            .bind(ms(&now))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        reschedule_job(&mut tx, job_id, attempt.retry_at, attempt.error.as_deref()).await?;
        tx.commit().await.map_err(backend)
    }

    async fn set_callback(
        &self,
        service: &ServiceId,
        config: Option<&CallbackConfig>,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE services SET callback_url = $1, callback_key_id = $2, callback_secret = $3 \
             WHERE id = $4",
        )
        .bind(config.map(|c| c.url.clone()))
        .bind(config.map(|c| c.secret.key_id.clone()))
        .bind(config.map(|c| c.secret.bytes.clone()))
        .bind(service.to_string())
        .execute(&self.write)
        .await
        .map_err(backend)?
        .rows_affected();
        found(done, "service")
    }

    async fn get_callback(&self, service: &ServiceId) -> StoreResult<Option<CallbackConfig>> {
        let row = sqlx::query(
            "SELECT callback_url, callback_key_id, callback_secret FROM services WHERE id = $1",
        )
        .bind(service.to_string())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let url = opt_text(&row, "callback_url")?;
        let secret = opt_sealed(&row, "callback_key_id", "callback_secret")?;
        Ok(match (url, secret) {
            (Some(url), Some(secret)) => Some(CallbackConfig { url, secret }),
            _ => None,
        })
    }

    async fn get_callback_delivery(&self, id: i64) -> StoreResult<Option<CallbackDelivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(backend)?
            .as_ref()
            .map(delivery)
            .transpose()
    }

    async fn record_callback_attempt(
        &self,
        id: i64,
        job_id: i64,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE callback_deliveries SET status = $1, attempts = attempts + 1, \
             last_status_code = $2, last_error = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(attempt.status.clone())
        .bind(attempt.status_code)
        .bind(attempt.error.clone())
        .bind(ms(&now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        reschedule_job(&mut tx, job_id, attempt.retry_at, attempt.error.as_deref()).await?;
        tx.commit().await.map_err(backend)
    }

    async fn callback_deliveries(
        &self,
        service: Option<&ServiceId>,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<CallbackDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE ($1 = '' OR service_id = $2) \
             AND id < $3 ORDER BY id DESC LIMIT $4"
        );
        let s = service.map(ToString::to_string).unwrap_or_default();
        sqlx::query(&sql)
            .bind(s.clone())
            .bind(s)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(delivery)
            .collect()
    }
}
