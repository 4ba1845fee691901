//! The kernel's [`AuditLog`] port.

use crate::prelude::*;

#[async_trait]
impl AuditLog for SqlStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await.map_err(backend)
    }

    async fn audit_log(&self, before_id: Option<i64>, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query("SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2")
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::audit)
            .collect()
    }
}
