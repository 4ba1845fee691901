//! Raw SQL for tests, benchmarks and maintenance: one statement, no domain mapping.

use sqlx::Executor as _;

use crate::SqlStore;

/// Executes one statement on the write pool.
pub async fn execute(store: &SqlStore, sql: &str) -> Result<u64, sqlx::Error> {
    Ok(store.write_pool().execute(sql).await?.rows_affected())
}

/// Runs a query returning one integer (e.g. a `COUNT(*)`).
pub async fn scalar_i64(store: &SqlStore, sql: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.write_pool())
        .await
}
