//! Fresh databases, one per measured phase: a temporary directory for SQLite; for PostgreSQL a
//! new schema `bench_<ulid>` chosen through the connection URL's `options=-c search_path=…`
//! (checked with `current_schema()` once connected) and dropped at the end.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use clap::ValueEnum;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AnyPool, Connection};

/// Which backend a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

impl BackendArg {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Refuses a PostgreSQL URL whose host is not this machine: the benchmark talks to 127.0.0.1 only.
pub fn check_loopback(pg_url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(pg_url).context("--pg-url is not a PostgreSQL URL")?;
    match options.get_host() {
        "127.0.0.1" | "localhost" | "::1" | "[::1]" => Ok(()),
        host if host.starts_with('/') => Ok(()), // a Unix socket directory
        host => bail!("--pg-url must point at this machine (127.0.0.1), not {host}"),
    }
}

/// A database nobody has used yet.
pub struct FreshDb {
    /// The URL Sportello or the store connects with.
    pub url: String,
    /// Data directory (SQLite's files, Sportello's generated key file).
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    /// `(admin URL, schema)` on PostgreSQL.
    schema: Option<(String, String)>,
}

impl FreshDb {
    /// A new empty database; `file` names the SQLite file inside the temporary directory.
    pub async fn create(backend: BackendArg, pg_url: &str, file: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("sportello-bench-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let data_dir = dir.path().to_path_buf();
        match backend {
            BackendArg::Sqlite => Ok(Self {
                url: sqlite_url(&data_dir.join(file)),
                data_dir,
                _dir: dir,
                schema: None,
            }),
            BackendArg::Postgres => {
                let schema = format!("bench_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut conn = PgConnection::connect(pg_url)
                    .await
                    .with_context(|| "cannot connect to PostgreSQL at --pg-url")?;
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("cannot create schema {schema}"))?;
                conn.close().await?;
                let sep = if pg_url.contains('?') { '&' } else { '?' };
                Ok(Self {
                    url: format!("{pg_url}{sep}options=-c%20search_path%3D{schema}"),
                    data_dir,
                    _dir: dir,
                    schema: Some((pg_url.to_owned(), schema)),
                })
            }
        }
    }

    /// Fails unless connections made with [`FreshDb::url`] really work in the fresh schema.
    pub async fn verify(&self, pool: &AnyPool) -> anyhow::Result<()> {
        let Some((_, schema)) = &self.schema else {
            return Ok(());
        };
        let current: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(pool)
            .await?;
        if &current != schema {
            bail!(
                "the search_path option was not applied: current schema is {current}, not {schema}"
            );
        }
        Ok(())
    }

    /// Removes the database (the temporary directory goes with `self`).
    pub async fn drop_schema(self) -> anyhow::Result<()> {
        if let Some((pg_url, schema)) = &self.schema {
            let mut conn = PgConnection::connect(pg_url).await?;
            // One DROP of a schema with tens of thousands of tables (the open-data bench's)
            // needs more locks than max_locks_per_transaction allows: drop the tables in
            // batches first.
            loop {
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 LIMIT 500",
                )
                .bind(schema.clone())
                .fetch_all(&mut conn)
                .await?;
                if tables.is_empty() {
                    break;
                }
                let list = tables
                    .iter()
                    .map(|(t,)| format!("{schema}.\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                sqlx::query(&format!("DROP TABLE IF EXISTS {list} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("cannot drop the tables of schema {schema}"))?;
            }
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await
                .with_context(|| format!("cannot drop schema {schema}"))?;
            conn.close().await?;
        }
        Ok(())
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_accepted_as_postgres_host() {
        check_loopback("postgres://postgres@127.0.0.1:5432/postgres").unwrap();
        check_loopback("postgres://postgres@localhost/postgres").unwrap();
        assert!(check_loopback("postgres://postgres@db.example.org/postgres").is_err());
    }
}
