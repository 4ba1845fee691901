//! The [`Usage`] port: per-service limits and counted usage.

use crate::prelude::*;

#[async_trait]
impl Usage for SqlStore {
    async fn service_limits(&self, id: &ServiceId) -> StoreResult<LimitOverrides> {
        let row = sqlx::query("SELECT * FROM service_limits WHERE service_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map_or(Ok(LimitOverrides::default()), |r| limits(&r))
    }

    async fn set_service_limits(
        &self,
        id: &ServiceId,
        l: &LimitOverrides,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO service_limits (service_id, rate_per_second, burst, daily_quota, \
             monthly_quota) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (service_id) DO UPDATE SET \
             rate_per_second = excluded.rate_per_second, burst = excluded.burst, \
             daily_quota = excluded.daily_quota, monthly_quota = excluded.monthly_quota",
        )
        .bind(id.to_string())
        .bind(l.rate_per_second.map(i64::from))
        .bind(l.burst.map(i64::from))
        .bind(l.daily_quota.map(|v| v as i64))
        .bind(l.monthly_quota.map(|v| v as i64))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn usage_in_period(&self, period_key: &str) -> StoreResult<Vec<(ServiceId, u64)>> {
        sqlx::query(
            "SELECT service_id, CAST(SUM(messages) AS BIGINT) AS messages FROM service_usage \
             WHERE period = $1 GROUP BY service_id ORDER BY service_id",
        )
        .bind(period_key.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            let id = ServiceId::parse(&text(r, "service_id")?)
                .map_err(|_| StoreError::Backend("stored service id".into()))?;
            Ok((id, int(r, "messages")?.max(0) as u64))
        })
        .collect()
    }

    async fn service_usage(&self, id: &ServiceId, at: DateTime<Utc>) -> StoreResult<(u64, u64)> {
        let mut used = [0u64; 2];
        for (i, period) in [QuotaPeriod::Daily, QuotaPeriod::Monthly]
            .iter()
            .enumerate()
        {
            let n: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) FROM service_usage \
                 WHERE service_id = $1 AND period = $2",
            )
            .bind(id.to_string())
            .bind(period.key(at))
            .fetch_one(&self.read)
            .await
            .map_err(backend)?;
            used[i] = n.max(0) as u64;
        }
        Ok((used[0], used[1]))
    }
}
