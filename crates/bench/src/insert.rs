//! Ceiling B, the raw batched insert: the rows Sportello writes for each accepted message (one
//! `messages` row with its sealed content, one `jobs` row), written straight through the store's
//! write pool in transactions of [`BATCH`] rows, one multi-row INSERT per table, with the store's
//! own durability settings (SQLite WAL + `synchronous = FULL`; PostgreSQL as configured).
//!
//! On SQLite the placeholders matter: the store writes `$1, $2, …`, and sqlx binds each one by
//! asking SQLite its name, which SQLite finds by walking the list of named parameters — so a
//! statement with n numbered parameters costs O(n²) to bind. Anonymous `?` placeholders have no
//! names and bind in O(n). The ceiling uses `?`; the `$n` variant is measured beside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kernel::values::MessageId;
use sqlx::AnyPool;
use tokio::task::JoinSet;

/// Rows per transaction.
pub const BATCH: usize = 512;

/// The values every inserted message shares (ids and times are per row or per batch).
#[derive(Debug, Clone)]
pub struct RowTemplate {
    pub service_id: String,
    pub fiscal_code: String,
    pub content_key_id: String,
    /// A sealed content blob of the size Sportello stores for the benchmark's message.
    pub content: Vec<u8>,
}

/// What the insert phase measured.
#[derive(Debug, Default)]
pub struct InsertOutcome {
    /// Messages written (each with its job row).
    pub rows: u64,
    pub transactions: u64,
    pub elapsed: Duration,
    pub errors: Vec<String>,
}

impl InsertOutcome {
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How the statement's parameters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2, …` as the store writes them (PostgreSQL needs these).
    Numbered,
    /// `?, ?, …` (SQLite only).
    Anonymous,
}

/// `($1, $2, …), ($n+1, …)` (or `(?, ?, …), …`) for `rows` rows of `cols` columns.
fn values_list(rows: usize, cols: usize, placeholders: Placeholders) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match placeholders {
                Placeholders::Numbered => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
                Placeholders::Anonymous => s.push('?'),
            }
        }
        s.push(')');
    }
    s
}

struct Statements {
    messages: String,
    jobs: String,
}

/// Runs `writers` concurrent writers for `duration` or until `max_rows` rows are written.
pub async fn run(
    pool: &AnyPool,
    writers: usize,
    duration: Duration,
    max_rows: u64,
    placeholders: Placeholders,
    row: RowTemplate,
) -> InsertOutcome {
    let statements = Arc::new(Statements {
        messages: format!(
            "INSERT INTO messages (id, service_id, fiscal_code, created_at, time_to_live, \
             feature_level, content_key_id, content, status, idempotency_key, request_hash, \
             updated_at) VALUES {}",
            values_list(BATCH, 12, placeholders)
        ),
        jobs: format!(
            "INSERT INTO jobs (kind, subject_id, status, attempts, run_at, created_at) VALUES {}",
            values_list(BATCH, 6, placeholders)
        ),
    });
    let row = Arc::new(row);
    let budget = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..writers.max(1) {
        let (pool, statements, row, budget) = (
            pool.clone(),
            statements.clone(),
            row.clone(),
            budget.clone(),
        );
        tasks.spawn(async move {
            let mut out = InsertOutcome::default();
            while Instant::now() < deadline
                && budget.fetch_add(BATCH as u64, Ordering::Relaxed) + BATCH as u64 <= max_rows
            {
                match write_batch(&pool, &statements, &row).await {
                    Ok(()) => {
                        out.rows += BATCH as u64;
                        out.transactions += 1;
                    }
                    Err(e) => {
                        out.errors.push(e.to_string());
                        break;
                    }
                }
            }
            out
        });
    }
    let mut total = InsertOutcome::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(o) => {
                total.rows += o.rows;
                total.transactions += o.transactions;
                total.errors.extend(o.errors);
            }
            Err(e) => total.errors.push(format!("writer task failed: {e}")),
        }
    }
    total.elapsed = started.elapsed();
    total
}

async fn write_batch(
    pool: &AnyPool,
    statements: &Statements,
    row: &RowTemplate,
) -> Result<(), sqlx::Error> {
    let now = chrono::Utc::now().timestamp_millis();
    let ids: Vec<String> = (0..BATCH).map(|_| MessageId::new().to_string()).collect();
    let mut tx = pool.begin().await?;
    let mut q = sqlx::query(&statements.messages);
    for id in &ids {
        q = q
            .bind(id.clone())
            .bind(row.service_id.clone())
            .bind(row.fiscal_code.clone())
            .bind(now)
            .bind(3600_i64)
            .bind("STANDARD")
            .bind(row.content_key_id.clone())
            .bind(row.content.clone())
            .bind("ACCEPTED")
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(now);
    }
    q.execute(&mut *tx).await?;
    let mut q = sqlx::query(&statements.jobs);
    for id in &ids {
        q = q
            .bind("process_message")
            .bind(id.clone())
            .bind("queued")
            .bind(0_i64)
            .bind(now)
            .bind(now);
    }
    q.execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_list_numbers_placeholders_row_by_row() {
        assert_eq!(
            values_list(2, 3, Placeholders::Numbered),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values_list(2, 2, Placeholders::Anonymous), "(?, ?), (?, ?)");
    }
}
