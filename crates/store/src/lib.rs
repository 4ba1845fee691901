//! Storage adapter: every port of the kernel and the domains on SQLite (the embedded default)
//! and PostgreSQL, through one code path. `SqlStore` implements each port in its own file,
//! under a folder per domain (`kernel/`, `messaging/`, `payments/`; a new domain adds its folder). Most SQL
//! is written once with `$n` placeholders; SQLite's driver rewrites them to `?n`, and the few
//! dialect differences (locking, upserts) are branched on [`Backend`]. Each backend has its
//! own migration folder with matching version numbers.

mod kernel;
mod messaging;
mod migrate;
mod opendata;
mod payments;
mod prelude;
pub mod raw;
mod rows;
mod sql_store;

pub use messaging::support::inbox_select;

pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};
pub use sql_store::SqlStore;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a database URL (`sqlite:…` or `postgres://…`).
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Failure to open or migrate a database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL: expected sqlite:PATH or postgres://…")]
    UnsupportedUrl,
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        source: sqlx::Error,
    },
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error(
        "the database schema is at version {found}, newer than this binary knows ({known}); upgrade Sportello"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the database schema is at version {found}; run `sportello migrate` first")]
    NotMigrated { found: i64 },
    #[error("{0}")]
    Other(#[from] sqlx::Error),
}
