//! The [`Archives`] port: massive notice archives, one row of `notice_archives` each (the
//! filter as JSON, the state and the counters), and the cursor-ordered reads of the
//! positions an archive holds. An archive is created with its job in one transaction.

use payments::model::Position;
use payments::ports::{ArchiveCursor, ArchiveFilter, ArchiveStatus, Archives, NoticeArchive};

use super::positions::{Value, bind_values, list_condition};
use crate::prelude::*;

const COLUMNS: &str = "id, organization, filter, language, status, total, done, failed, path, \
                       created_at, updated_at, error";

fn archive(row: &AnyRow) -> StoreResult<NoticeArchive> {
    Ok(NoticeArchive {
        id: text(row, "id")?,
        organization: parsed(row, "organization", OrganizationFiscalCode::parse)?,
        filter: serde_json::from_str(&text(row, "filter")?).map_err(|_| corrupt("filter"))?,
        language: text(row, "language")?,
        status: ArchiveStatus::parse(&text(row, "status")?).ok_or_else(|| corrupt("status"))?,
        total: int(row, "total")?,
        done: int(row, "done")?,
        failed: int(row, "failed")?,
        path: opt_text(row, "path")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
        error: opt_text(row, "error")?,
    })
}

/// The archive's condition on `payment_positions`: the list filter's, and inserted up to
/// `until` (positions created after the request are not in it).
fn condition(
    engine: Backend,
    organization: &OrganizationFiscalCode,
    filter: &ArchiveFilter,
    until: DateTime<Utc>,
) -> (super::positions::Placeholders, String, Vec<Value>) {
    let (mut ph, mut cond, mut values) =
        list_condition(engine, organization, &filter.to_list_filter());
    cond.push_str(&format!(" AND inserted_ms <= {}", ph.next()));
    values.push(Value::Int(ms(&until)));
    (ph, cond, values)
}

#[async_trait]
impl Archives for SqlStore {
    async fn create_archive(
        &self,
        archive: &NoticeArchive,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(&format!(
            "INSERT INTO notice_archives ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(archive.id.clone())
        .bind(archive.organization.as_str().to_owned())
        .bind(to_json(&archive.filter))
        .bind(archive.language.clone())
        .bind(archive.status.as_str())
        .bind(archive.total)
        .bind(archive.done)
        .bind(archive.failed)
        .bind(archive.path.clone())
        .bind(ms(&archive.created_at))
        .bind(ms(&archive.updated_at))
        .bind(archive.error.clone())
        .execute(&mut *tx)
        .await
        .map_err(conflict_if_unique("an archive with this id exists"))?;
        insert_job(
            &mut tx,
            JobKind::NoticeArchive,
            &archive.id,
            archive.created_at,
            archive.created_at,
        )
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn get_archive(
        &self,
        organization: &OrganizationFiscalCode,
        id: &str,
    ) -> StoreResult<Option<NoticeArchive>> {
        Ok(self
            .get_archive_by_id(id)
            .await?
            .filter(|a| &a.organization == organization))
    }

    async fn get_archive_by_id(&self, id: &str) -> StoreResult<Option<NoticeArchive>> {
        let sql = format!("SELECT {COLUMNS} FROM notice_archives WHERE id = $1");
        self.one(&sql, id.to_owned(), archive).await
    }

    async fn start_archive(&self, id: &str, total: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE notice_archives SET status = 'RUNNING', total = $1, done = 0, failed = 0, \
             path = NULL, error = NULL, updated_at = $2 WHERE id = $3",
        )
        .bind(total)
        .bind(ms(&now))
        .bind(id.to_owned())
        .execute(&self.write)
        .await
        .map_err(backend)?;
        found(r.rows_affected(), "notice archive")
    }

    async fn archive_progress(
        &self,
        id: &str,
        done: i64,
        failed: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE notice_archives SET done = $1, failed = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(done)
        .bind(failed)
        .bind(ms(&now))
        .bind(id.to_owned())
        .execute(&self.write)
        .await
        .map_err(backend)?;
        found(r.rows_affected(), "notice archive")
    }

    async fn finish_archive(
        &self,
        id: &str,
        outcome: Result<(&str, i64, i64), &str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let q = match outcome {
            Ok((path, done, failed)) => sqlx::query(
                "UPDATE notice_archives SET status = 'DONE', path = $1, done = $2, \
                 failed = $3, total = $4, error = NULL, updated_at = $5 WHERE id = $6",
            )
            .bind(path.to_owned())
            .bind(done)
            .bind(failed)
            .bind(done + failed),
            Err(error) => sqlx::query(
                "UPDATE notice_archives SET status = 'FAILED', path = NULL, error = $1, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(error.to_owned()),
        };
        let r = q
            .bind(ms(&now))
            .bind(id.to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "notice archive")
    }

    async fn count_archive_positions(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ArchiveFilter,
        until: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let (_, cond, values) = condition(self.backend, organization, filter, until);
        bind_values(
            sqlx::query(&format!(
                "SELECT COUNT(*) AS n FROM payment_positions WHERE {cond}"
            )),
            &values,
        )
        .fetch_one(&self.read)
        .await
        .map_err(backend)
        .and_then(|r| int(&r, "n"))
    }

    /// Keyset paging on `(inserted_ms, id)`, which the listing index covers: every page is
    /// one index range, whatever its depth.
    async fn archive_positions(
        &self,
        organization: &OrganizationFiscalCode,
        filter: &ArchiveFilter,
        until: DateTime<Utc>,
        after: Option<&ArchiveCursor>,
        limit: i64,
    ) -> StoreResult<Vec<Position>> {
        let (mut ph, mut cond, mut values) = condition(self.backend, organization, filter, until);
        if let Some(c) = after {
            // Taken, and bound, in the order they appear (SQLite's `?` are positional).
            let (a, a2, b) = (ph.next(), ph.next(), ph.next());
            cond.push_str(&format!(
                " AND (inserted_ms > {a} OR (inserted_ms = {a2} AND id > {b}))"
            ));
            values.push(Value::Int(ms(&c.inserted)));
            values.push(Value::Int(ms(&c.inserted)));
            values.push(Value::Text(c.id.to_string()));
        }
        let sql = format!(
            "SELECT id, version, doc FROM payment_positions WHERE {cond} \
             ORDER BY inserted_ms, id LIMIT {}",
            ph.next()
        );
        values.push(Value::Int(limit.max(0)));
        self.positions_where(&sql, &values).await
    }
}
