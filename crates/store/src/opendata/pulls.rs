//! [`opendata::ports::OpenDataPulls`]: resources kept up to date from a URL.

use opendata::model::InputFormat;
use opendata::ports::{OpenDataPulls, Pull};

use crate::prelude::*;

const COLUMNS: &str = "id, dataset_id, resource_id, name, url, format, every_hours, next_ms, \
                       last_ms, last_status, last_error, last_sha256, created_by, created_ms";

fn pull(row: &AnyRow) -> StoreResult<Pull> {
    let format = match opt_text(row, "format")? {
        Some(code) => Some(InputFormat::from_code(&code).ok_or_else(|| corrupt("format"))?),
        None => None,
    };
    Ok(Pull {
        id: text(row, "id")?,
        dataset_id: text(row, "dataset_id")?,
        resource_id: opt_text(row, "resource_id")?,
        name: text(row, "name")?,
        url: text(row, "url")?,
        format,
        every_hours: u32::try_from(int(row, "every_hours")?).map_err(|_| corrupt("every_hours"))?,
        next_at: at(row, "next_ms")?,
        last_at: opt_at(row, "last_ms")?,
        last_status: opt_text(row, "last_status")?,
        last_error: opt_text(row, "last_error")?,
        last_sha256: opt_text(row, "last_sha256")?,
        created_by: text(row, "created_by")?,
        created_at: at(row, "created_ms")?,
    })
}

#[async_trait]
impl OpenDataPulls for SqlStore {
    async fn create_pull(&self, p: &Pull, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(&format!(
            "INSERT INTO od_pulls ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(p.id.clone())
        .bind(p.dataset_id.clone())
        .bind(p.resource_id.clone())
        .bind(p.name.clone())
        .bind(p.url.clone())
        .bind(p.format.map(|f| f.code().to_owned()))
        .bind(i64::from(p.every_hours))
        .bind(ms(&p.next_at))
        .bind(p.last_at.as_ref().map(ms))
        .bind(p.last_status.clone())
        .bind(p.last_error.clone())
        .bind(p.last_sha256.clone())
        .bind(p.created_by.clone())
        .bind(ms(&p.created_at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn get_pull(&self, id: &str) -> StoreResult<Option<Pull>> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM od_pulls WHERE id = $1"))
            .bind(id.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(pull)
            .transpose()
    }

    async fn pulls_of(&self, dataset_id: &str) -> StoreResult<Vec<Pull>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM od_pulls WHERE dataset_id = $1 ORDER BY created_ms, id"
        ))
        .bind(dataset_id.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(pull)
        .collect()
    }

    async fn delete_pull(&self, id: &str, audit: &NewAuditEntry) -> StoreResult<bool> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let gone = sqlx::query("DELETE FROM od_pulls WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected()
            == 1;
        if gone {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(gone)
    }

    async fn due_pulls(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Pull>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM od_pulls WHERE next_ms <= $1 ORDER BY next_ms, id LIMIT $2"
        ))
        .bind(ms(&now))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(pull)
        .collect()
    }

    async fn claim_pull(
        &self,
        id: &str,
        seen: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(
            sqlx::query("UPDATE od_pulls SET next_ms = $3 WHERE id = $1 AND next_ms = $2")
                .bind(id.to_owned())
                .bind(ms(&seen))
                .bind(ms(&until))
                .execute(&self.write)
                .await
                .map_err(backend)?
                .rows_affected()
                == 1,
        )
    }

    async fn save_pull_run(&self, p: &Pull) -> StoreResult<()> {
        sqlx::query(
            "UPDATE od_pulls SET resource_id = $2, next_ms = $3, last_ms = $4, last_status = $5, \
             last_error = $6, last_sha256 = $7 WHERE id = $1",
        )
        .bind(p.id.clone())
        .bind(p.resource_id.clone())
        .bind(ms(&p.next_at))
        .bind(p.last_at.as_ref().map(ms))
        .bind(p.last_status.clone())
        .bind(p.last_error.clone())
        .bind(p.last_sha256.clone())
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
