//! The [`Imports`] port: bulk imports of positions, their sealed lines, and chunks whose
//! positions and line outcomes commit in one transaction (so a crash leaves neither a
//! position without its line's outcome nor an outcome without its position).

use payments::import::{
    Import, ImportFormat, ImportId, ImportLine, ImportStatus, LineOutcome, LineResult, outcome_of,
};
use payments::ports::Imports;

use crate::prelude::*;

fn import(row: &AnyRow) -> StoreResult<Import> {
    Ok(Import {
        id: parsed(row, "id", ImportId::parse)?,
        organization: parsed(row, "organization", OrganizationFiscalCode::parse)?,
        format: parsed_with(row, "format", ImportFormat::parse)?,
        header: opt_text(row, "header")?,
        to_publish: boolean(row, "to_publish")?,
        status: parsed_with(row, "status", ImportStatus::parse)?,
        total: int(row, "total")?,
        created: int(row, "created")?,
        duplicates: int(row, "duplicates")?,
        rejected: int(row, "rejected")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

impl SqlStore {
    /// The ente's complete import with this idempotency key.
    async fn import_with_key(
        &self,
        organization: &str,
        key: &str,
    ) -> StoreResult<Option<ImportId>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM payment_imports WHERE organization = $1 AND idempotency_key = $2 \
             AND status <> 'RECEIVING'",
        )
        .bind(organization.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.write)
        .await
        .map_err(backend)?;
        id.map(|id| ImportId::parse(&id).map_err(|_| corrupt("id")))
            .transpose()
    }

    /// Records the outcomes of lines still pending, in multi-row updates, and returns how
    /// many lines of each outcome got theirs (created, duplicates, rejected).
    async fn record_import_lines(
        &self,
        tx: &mut Tx<'_>,
        id: &ImportId,
        outcomes: &[LineResult],
    ) -> StoreResult<[i64; 3]> {
        let mut counts = [0i64; 3];
        for (slot, kind) in [
            LineOutcome::Created,
            LineOutcome::Duplicate,
            LineOutcome::Rejected,
        ]
        .into_iter()
        .enumerate()
        {
            let of_kind: Vec<&LineResult> = outcomes.iter().filter(|o| o.outcome == kind).collect();
            for chunk in of_kind.chunks(INSERT_CHUNK) {
                // VALUES columns are `column1…` on both engines.
                let sql = format!(
                    "UPDATE payment_import_lines SET outcome = {}, iupd = v.column2, \
                     reason = v.column3, body = NULL FROM (VALUES {}) AS v \
                     WHERE payment_import_lines.import_id = {} \
                     AND payment_import_lines.line = v.column1 \
                     AND payment_import_lines.outcome IS NULL",
                    in_list_from(self.backend, 1, 1),
                    values_list_from(self.backend, 2, chunk.len(), 3),
                    in_list_from(self.backend, 2 + chunk.len() * 3, 1),
                );
                let mut q = sqlx::query(&sql).bind(kind.as_str());
                for o in chunk {
                    q = q.bind(o.line).bind(o.iupd.clone()).bind(o.reason.clone());
                }
                counts[slot] += q
                    .bind(id.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?
                    .rows_affected() as i64;
            }
        }
        Ok(counts)
    }
}

/// Like `values_list`, numbering PostgreSQL's parameters from `$first`.
fn values_list_from(backend: Backend, first: usize, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        s.push_str(&in_list_from(backend, first + r * cols, cols));
        s.push(')');
    }
    s
}

#[async_trait]
impl Imports for SqlStore {
    async fn create_import(
        &self,
        i: &Import,
        idempotency_key: Option<&str>,
    ) -> StoreResult<(ImportId, bool)> {
        if let Some(key) = idempotency_key
            && let Some(id) = self.import_with_key(i.organization.as_str(), key).await?
        {
            return Ok((id, false));
        }
        sqlx::query(
            "INSERT INTO payment_imports (id, organization, format, header, to_publish, status, \
             total, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'RECEIVING', 0, $6, $7)",
        )
        .bind(i.id.to_string())
        .bind(i.organization.as_str().to_owned())
        .bind(i.format.as_str())
        .bind(i.header.clone())
        .bind(flag(i.to_publish))
        .bind(ms(&i.created_at))
        .bind(ms(&i.updated_at))
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok((i.id, true))
    }

    async fn add_import_lines(
        &self,
        id: &ImportId,
        lines: &[ImportLine],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        // Also locks the import against the stale-upload sweep until this commits.
        let alive = sqlx::query(
            "UPDATE payment_imports SET updated_at = $1 WHERE id = $2 AND status = 'RECEIVING'",
        )
        .bind(ms(&now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        found(alive, "the upload was abandoned and removed")?;
        for chunk in lines.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO payment_import_lines (import_id, line, key_id, body) VALUES {}",
                values_list(self.backend, chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for l in chunk {
                q = q
                    .bind(id.to_string())
                    .bind(l.line)
                    .bind(l.key_id.clone())
                    .bind(l.body.clone());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn seal_import(
        &self,
        id: &ImportId,
        total: i64,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(ImportId, bool)> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sealed = sqlx::query(
            "UPDATE payment_imports SET total = $1, idempotency_key = $2, status = 'RUNNING', \
             updated_at = $3 WHERE id = $4 AND status = 'RECEIVING'",
        )
        .bind(total)
        .bind(idempotency_key.map(str::to_owned))
        .bind(ms(&now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await;
        let sealed = match sealed {
            Ok(r) => r.rows_affected(),
            Err(e) if is_unique_violation(&e) => {
                // A concurrent upload with the same key completed first: it answers.
                drop(tx);
                let org: String =
                    sqlx::query_scalar("SELECT organization FROM payment_imports WHERE id = $1")
                        .bind(id.to_string())
                        .fetch_one(&self.read)
                        .await
                        .map_err(backend)?;
                self.discard_import(id).await?;
                let holder = self
                    .import_with_key(&org, idempotency_key.unwrap_or_default())
                    .await?
                    .ok_or_else(|| StoreError::Conflict("the idempotency key is in use".into()))?;
                return Ok((holder, false));
            }
            Err(e) => return Err(backend(e)),
        };
        found(sealed, "the upload was abandoned and removed")?;
        if self.backend == Backend::Postgres {
            // Fresh statistics for the lines just stored: without them PostgreSQL plans the
            // per-chunk `UPDATE … FROM (VALUES …)` as a scan of the whole table (an import of
            // 200,000 lines ran at 140 lines/s); with them, as index look-ups.
            sqlx::query("ANALYZE payment_import_lines")
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        // Lines rejected while uploading (too long, unclosed quote) may be all of them.
        let done = sqlx::query(
            "UPDATE payment_imports SET status = 'DONE' WHERE id = $1 \
             AND created + duplicates + rejected >= total",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if done == 0 {
            insert_job(&mut tx, JobKind::ImportPositions, &id.to_string(), now, now).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok((*id, true))
    }

    async fn discard_import(&self, id: &ImportId) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        for sql in [
            "DELETE FROM payment_import_lines WHERE import_id = $1",
            "DELETE FROM payment_imports WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn discard_stale_imports(&self, idle_since: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let ids: Vec<String> = sqlx::query_scalar(
            "DELETE FROM payment_imports WHERE status = 'RECEIVING' AND updated_at < $1 \
             RETURNING id",
        )
        .bind(ms(&idle_since))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for id in &ids {
            sqlx::query("DELETE FROM payment_import_lines WHERE import_id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids.len() as u64)
    }

    async fn get_import(&self, id: &ImportId) -> StoreResult<Option<Import>> {
        self.one(
            "SELECT * FROM payment_imports WHERE id = $1",
            id.to_string(),
            import,
        )
        .await
    }

    async fn pending_import_lines(
        &self,
        id: &ImportId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<ImportLine>> {
        sqlx::query(
            "SELECT line, key_id, body FROM payment_import_lines WHERE import_id = $1 \
             AND line > $2 AND outcome IS NULL ORDER BY line LIMIT $3",
        )
        .bind(id.to_string())
        .bind(after_line)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(ImportLine {
                line: int(r, "line")?,
                key_id: text(r, "key_id")?,
                body: r
                    .try_get::<Option<Vec<u8>>, _>("body")
                    .map_err(backend)?
                    .unwrap_or_default(),
            })
        })
        .collect()
    }

    async fn import_chunk(
        &self,
        id: &ImportId,
        writes: &[PositionWrite],
        lines: &[i64],
        outcomes: &[LineResult],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CreateOutcome>> {
        if writes.len() != lines.len() {
            return Err(StoreError::Backend(
                "import_chunk: one line per write is needed".into(),
            ));
        }
        let docs = super::positions::docs_of(writes)?;
        let mut tx = self.begin_write().await?;
        let created = if writes.is_empty() {
            Vec::new()
        } else {
            self.create_in(&mut tx, writes, docs).await?
        };
        let mut all: Vec<LineResult> = outcomes.to_vec();
        for ((w, line), c) in writes.iter().zip(lines).zip(&created) {
            all.push(outcome_of(*line, w.position.iupd.as_str(), c));
        }
        let [c, d, r] = self.record_import_lines(&mut tx, id, &all).await?;
        sqlx::query(
            "UPDATE payment_imports SET created = created + $1, duplicates = duplicates + $2, \
             rejected = rejected + $3, updated_at = $4, status = CASE \
             WHEN status = 'RUNNING' AND created + duplicates + rejected + $5 >= total \
             THEN 'DONE' ELSE status END WHERE id = $6",
        )
        .bind(c)
        .bind(d)
        .bind(r)
        .bind(ms(&now))
        .bind(c + d + r)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn import_report(
        &self,
        id: &ImportId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<LineResult>> {
        sqlx::query(
            "SELECT line, outcome, iupd, reason FROM payment_import_lines \
             WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT $3",
        )
        .bind(id.to_string())
        .bind(after_line)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(LineResult {
                line: int(r, "line")?,
                outcome: match opt_text(r, "outcome")? {
                    None => LineOutcome::Pending,
                    Some(o) => LineOutcome::parse(&o).ok_or_else(|| corrupt("outcome"))?,
                },
                iupd: opt_text(r, "iupd")?,
                reason: opt_text(r, "reason")?,
            })
        })
        .collect()
    }
}
