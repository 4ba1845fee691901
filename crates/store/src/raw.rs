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

/// Drops the PostgreSQL `schema` (with everything in it) on the server at `base_url`, from
/// synchronous code such as a test fixture's `Drop`, which may run inside an async runtime and
/// even while a test panics: the work runs on a thread of its own with its own runtime. Errors
/// are returned, not raised, so that a failing clean-up never hides the test's own failure.
pub fn drop_schema_blocking(base_url: &str, schema: &str) -> Result<(), String> {
    // A lock timeout, so that a server still running on the schema cannot hang the clean-up.
    let sql = format!("SET lock_timeout = 10000; DROP SCHEMA IF EXISTS {schema} CASCADE");
    let url = base_url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let admin = SqlStore::connect(&url, 1)
                .await
                .map_err(|e| e.to_string())?;
            let done = execute(&admin, &sql).await.map_err(|e| e.to_string());
            admin.close().await;
            done.map(|_| ())
        })
    })
    .join()
    .map_err(|_| "the clean-up thread panicked".to_owned())?
}
