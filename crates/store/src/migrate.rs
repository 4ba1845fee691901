//! Explicit, versioned migrations embedded in the binary; one folder per backend with the same
//! version numbers. PostgreSQL runs them under an advisory lock so that nodes starting together
//! do not race.

use sqlx::AnyPool;

use crate::{Backend, OpenError};

/// `(version, name, sql)` for SQLite.
pub const MIGRATIONS_SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "lifecycle",
        include_str!("../migrations/sqlite/0002_lifecycle.sql"),
    ),
    (
        3,
        "organizations",
        include_str!("../migrations/sqlite/0003_organizations.sql"),
    ),
    (
        4,
        "limits",
        include_str!("../migrations/sqlite/0004_limits.sql"),
    ),
    (
        5,
        "batches",
        include_str!("../migrations/sqlite/0005_batches.sql"),
    ),
    (
        6,
        "citizen",
        include_str!("../migrations/sqlite/0006_citizen.sql"),
    ),
    (
        7,
        "batch_uploads",
        include_str!("../migrations/sqlite/0007_batch_uploads.sql"),
    ),
    (
        8,
        "usage_shards",
        include_str!("../migrations/sqlite/0008_usage_shards.sql"),
    ),
    (
        9,
        "typed_jobs",
        include_str!("../migrations/sqlite/0009_typed_jobs.sql"),
    ),
    (
        10,
        "payments",
        include_str!("../migrations/sqlite/0010_payments.sql"),
    ),
    (
        11,
        "message_paid",
        include_str!("../migrations/sqlite/0011_message_paid.sql"),
    ),
    (
        12,
        "payment_imports",
        include_str!("../migrations/sqlite/0012_payment_imports.sql"),
    ),
    (
        13,
        "notice_archives",
        include_str!("../migrations/sqlite/0013_notice_archives.sql"),
    ),
    (
        14,
        "node_receipts",
        include_str!("../migrations/sqlite/0014_node_receipts.sql"),
    ),
    (
        15,
        "reconciliation",
        include_str!("../migrations/sqlite/0015_reconciliation.sql"),
    ),
    (
        16,
        "opendata",
        include_str!("../migrations/sqlite/0016_opendata.sql"),
    ),
    (
        17,
        "opendata_statistics",
        include_str!("../migrations/sqlite/0017_opendata_statistics.sql"),
    ),
    (
        18,
        "opendata_pulls",
        include_str!("../migrations/sqlite/0018_opendata_pulls.sql"),
    ),
];

/// `(version, name, sql)` for PostgreSQL.
pub const MIGRATIONS_POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "lifecycle",
        include_str!("../migrations/postgres/0002_lifecycle.sql"),
    ),
    (
        3,
        "organizations",
        include_str!("../migrations/postgres/0003_organizations.sql"),
    ),
    (
        4,
        "limits",
        include_str!("../migrations/postgres/0004_limits.sql"),
    ),
    (
        5,
        "batches",
        include_str!("../migrations/postgres/0005_batches.sql"),
    ),
    (
        6,
        "citizen",
        include_str!("../migrations/postgres/0006_citizen.sql"),
    ),
    (
        7,
        "batch_uploads",
        include_str!("../migrations/postgres/0007_batch_uploads.sql"),
    ),
    (
        8,
        "usage_shards",
        include_str!("../migrations/postgres/0008_usage_shards.sql"),
    ),
    (
        9,
        "typed_jobs",
        include_str!("../migrations/postgres/0009_typed_jobs.sql"),
    ),
    (
        10,
        "payments",
        include_str!("../migrations/postgres/0010_payments.sql"),
    ),
    (
        11,
        "message_paid",
        include_str!("../migrations/postgres/0011_message_paid.sql"),
    ),
    (
        12,
        "payment_imports",
        include_str!("../migrations/postgres/0012_payment_imports.sql"),
    ),
    (
        13,
        "notice_archives",
        include_str!("../migrations/postgres/0013_notice_archives.sql"),
    ),
    (
        14,
        "node_receipts",
        include_str!("../migrations/postgres/0014_node_receipts.sql"),
    ),
    (
        15,
        "reconciliation",
        include_str!("../migrations/postgres/0015_reconciliation.sql"),
    ),
    (
        16,
        "opendata",
        include_str!("../migrations/postgres/0016_opendata.sql"),
    ),
    (
        17,
        "opendata_statistics",
        include_str!("../migrations/postgres/0017_opendata_statistics.sql"),
    ),
    (
        18,
        "opendata_pulls",
        include_str!("../migrations/postgres/0018_opendata_pulls.sql"),
    ),
];

fn migrations(backend: Backend) -> &'static [(i64, &'static str, &'static str)] {
    match backend {
        Backend::Sqlite => MIGRATIONS_SQLITE,
        Backend::Postgres => MIGRATIONS_POSTGRES,
    }
}

pub(crate) fn latest(backend: Backend) -> i64 {
    migrations(backend).last().map_or(0, |m| m.0)
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
    (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// The schema version the database is at (0 when empty).
pub(crate) async fn current_version(pool: &AnyPool) -> Result<i64, OpenError> {
    sqlx::query(CREATE_TABLE).execute(pool).await?;
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

/// Applies every pending migration, each in its own transaction. Returns the versions applied.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<Vec<i64>, OpenError> {
    sqlx::query(CREATE_TABLE).execute(pool).await?;
    let mut applied = Vec::new();
    for (version, name, sql) in migrations(backend) {
        let mut tx = pool.begin().await?;
        if backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7428153)")
                .execute(&mut *tx)
                .await?;
        }
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|source| OpenError::Migration {
                version: *version,
                source,
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(*version)
        .bind(*name)
        // When the schema changed, for operators: the system's time, not a use case's.
        .bind(kernel::Clock::now(&kernel::SystemClock).timestamp_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            migration.version = version,
            migration.name = name,
            "migration applied"
        );
        applied.push(*version);
    }
    let found = current_version(pool).await?;
    let known = latest(backend);
    if found > known {
        return Err(OpenError::SchemaTooNew { found, known });
    }
    Ok(applied)
}
