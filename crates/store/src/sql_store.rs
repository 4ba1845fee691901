//! [`SqlStore`]: every storage port over an `sqlx` Any pool, with the SQL helpers the port
//! files under `kernel/` and `messaging/` share. On SQLite every write goes through
//! a single-connection pool (one writer, as SQLite allows) and reads through a small pool of
//! their own; on PostgreSQL both are the same pool.

use std::sync::Once;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::prelude::*;
use crate::{OpenError, migrate};

/// Rows per multi-row INSERT, well under both engines' parameter limits.
pub(crate) const INSERT_CHUNK: usize = 256;

/// The messaging store on SQLite or PostgreSQL.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) backend: Backend,
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish()
    }
}

/// Round-robin choice of the usage-counter shard an intake transaction adds to: concurrent
/// writers of one service then mostly add to different rows. Any shard is correct; the count
/// is the sum of all of them.
pub(crate) static NEXT_USAGE_SHARD: std::sync::atomic::AtomicI64 =
    std::sync::atomic::AtomicI64::new(0);

/// Shards per usage counter: one on SQLite, which has a single writer; on PostgreSQL more than
/// its intake writers (4) plus the batch worker.
pub(crate) fn usage_shards(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 8,
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || d.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// `Ok` when a write touched a row, `NotFound(what)` when it touched none.
pub(crate) fn found(rows: u64, what: &str) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound(what.into()))
    } else {
        Ok(())
    }
}

/// Maps a unique-constraint violation to `Conflict(message)`, anything else to `Backend`.
pub(crate) fn conflict_if_unique(message: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(message.into())
        } else {
            backend(e)
        }
    }
}

pub(crate) fn is_fk_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_foreign_key_violation() || d.message().contains("FOREIGN KEY constraint failed")
        }
        _ => false,
    }
}

/// `($1, $2, …), ($n+1, …)` for `rows` rows of `cols` columns; plain `?` on SQLite, which binds
/// anonymous parameters directly (numbered ones are looked up by name, which grows quadratic in
/// a large multi-row statement).
pub(crate) fn values_list(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// `$1, $2, …` (or `?, ?, …` on SQLite) for an `IN (…)` list of `n` parameters.
pub(crate) fn in_list(backend: Backend, n: usize) -> String {
    in_list_from(backend, 1, n)
}

/// Like [`in_list`], numbering from `$first` (after other parameters of the statement).
pub(crate) fn in_list_from(backend: Backend, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| match backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqlStore {
    /// The id of the service's completed upload with this idempotency key.
    pub(crate) async fn sealed_batch_with_key(
        &self,
        service: &ServiceId,
        key: &str,
    ) -> StoreResult<Option<BatchId>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM batches WHERE service_id = $1 AND idempotency_key = $2 \
             AND sealed_at IS NOT NULL",
        )
        .bind(service.to_string())
        .bind(key.to_owned())
        .fetch_optional(&self.write)
        .await
        .map_err(backend)?;
        id.map(|id| BatchId::parse(&id).map_err(|_| corrupt("id")))
            .transpose()
    }

    /// Connects to `url` (`sqlite:PATH?mode=rwc` or `postgres://…`). Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, OpenError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::of_url(url).ok_or(OpenError::UnsupportedUrl)?;
        let connect_err = |source| OpenError::Connect {
            backend: backend.name(),
            source,
        };
        match backend {
            Backend::Sqlite => {
                let options = || {
                    AnyPoolOptions::new().after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL makes every commit
                            // durable (group commit pays one fsync for many messages).
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = FULL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 10000",
                            ] {
                                sqlx::Executor::execute(&mut *conn, pragma).await?;
                            }
                            Ok(())
                        })
                    })
                };
                let write = options()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .map_err(connect_err)?;
                let read = options()
                    .max_connections(max_connections.max(1))
                    .connect(url)
                    .await
                    .map_err(connect_err)?;
                Ok(Self {
                    backend,
                    read,
                    write,
                })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .connect(url)
                    .await
                    .map_err(connect_err)?;
                Ok(Self {
                    backend,
                    read: pool.clone(),
                    write: pool,
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool writes go through (benchmarks use it to measure the raw insert ceiling).
    pub fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, OpenError> {
        migrate::run(&self.write, self.backend).await
    }

    /// Fails unless the schema is exactly at the version this binary expects.
    pub async fn check_schema(&self) -> Result<(), OpenError> {
        let found = migrate::current_version(&self.write).await?;
        let known = migrate::latest(self.backend);
        if found < known {
            Err(OpenError::NotMigrated { found })
        } else if found > known {
            Err(OpenError::SchemaTooNew { found, known })
        } else {
            Ok(())
        }
    }

    /// The row of `sql` (one text parameter) mapped by `map`, if there is one.
    pub(crate) async fn one<T>(
        &self,
        sql: &str,
        key: String,
        map: fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(map)
            .transpose()
    }

    /// Within the intake transaction: counts the messages just created against each service's
    /// daily and monthly quotas, deletes (in arrival order) those that do not fit, marking them
    /// `QuotaExceeded`, and adds the rest to the usage counters.
    pub(crate) async fn enforce_quotas(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        batch: &[NewMessageRecord],
        outcomes: &mut [Option<AcceptOutcome>],
    ) -> StoreResult<()> {
        use std::collections::BTreeMap;
        /// A counter of this group: (service, period key).
        #[derive(Default)]
        struct Counter {
            /// Some message of the group is under a quota for this counter.
            limited: bool,
            /// Messages counted before this group (read only when `limited`).
            before: u64,
            /// Messages of this group counted.
            added: u64,
        }
        let shards = usage_shards(self.backend);
        let own = NEXT_USAGE_SHARD
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .rem_euclid(shards);
        // A BTreeMap so that every writer locks counter rows in one order, (service, period,
        // shard): concurrent PostgreSQL writers locking rows in opposite orders deadlock.
        let mut counters: BTreeMap<(String, String), Counter> = BTreeMap::new();
        for (m, outcome) in batch.iter().zip(outcomes.iter()) {
            if matches!(outcome, Some(AcceptOutcome::Created(_))) {
                for (period, limit) in [
                    (QuotaPeriod::Daily, m.quotas.daily),
                    (QuotaPeriod::Monthly, m.quotas.monthly),
                ] {
                    let key = (m.service_id.to_string(), period.key(m.created_at));
                    counters.entry(key).or_default().limited |= limit.is_some();
                }
            }
        }
        // Lock the rows this group will add to (a no-op upsert, which creates a missing row and
        // holds its lock until commit). Under a quota, lock and read every shard of the counter,
        // so that a concurrent writer waits here until this group commits and then sees its
        // messages: the quota holds exactly across writers and nodes. Without a quota only this
        // writer's own shard is locked, and writers of one service do not queue on each other.
        for ((service, period), counter) in counters.iter_mut() {
            let locked = if counter.limited {
                0..shards
            } else {
                own..own + 1
            };
            for shard in locked {
                let n: i64 = sqlx::query_scalar(
                    "INSERT INTO service_usage (service_id, period, shard, messages) \
                     VALUES ($1, $2, $3, 0) ON CONFLICT (service_id, period, shard) DO UPDATE \
                     SET messages = service_usage.messages RETURNING messages",
                )
                .bind(service.clone())
                .bind(period.clone())
                .bind(shard)
                .fetch_one(&mut **tx)
                .await
                .map_err(backend)?;
                counter.before += n.max(0) as u64;
            }
        }
        for (m, outcome) in batch.iter().zip(outcomes.iter_mut()) {
            if !matches!(outcome, Some(AcceptOutcome::Created(_))) {
                continue;
            }
            let service = m.service_id.to_string();
            let periods = [
                (QuotaPeriod::Daily, m.quotas.daily),
                (QuotaPeriod::Monthly, m.quotas.monthly),
            ];
            let refused = periods.into_iter().find_map(|(period, limit)| {
                let counter = &counters[&(service.clone(), period.key(m.created_at))];
                limit
                    .filter(|limit| counter.before + counter.added >= *limit)
                    .map(|limit| AcceptOutcome::QuotaExceeded {
                        period,
                        limit,
                        resets_at: period.resets_at(m.created_at),
                    })
            });
            match refused {
                Some(r) => {
                    sqlx::query("DELETE FROM messages WHERE id = $1")
                        .bind(m.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(backend)?;
                    *outcome = Some(r);
                }
                None => {
                    for period in [QuotaPeriod::Daily, QuotaPeriod::Monthly] {
                        if let Some(c) =
                            counters.get_mut(&(service.clone(), period.key(m.created_at)))
                        {
                            c.added += 1;
                        }
                    }
                }
            }
        }
        for ((service, period), counter) in counters {
            if counter.added == 0 {
                continue;
            }
            sqlx::query(
                "UPDATE service_usage SET messages = messages + $4 \
                 WHERE service_id = $1 AND period = $2 AND shard = $3",
            )
            .bind(service)
            .bind(period)
            .bind(own)
            .bind(counter.added as i64)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        }
        Ok(())
    }

    /// Rows of `select … WHERE <column> IN (keys)`, queried in chunks and mapped by `map`.
    pub(crate) async fn select_in<T>(
        &self,
        select: &str,
        column: &str,
        keys: Vec<String>,
        map: impl Fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(INSERT_CHUNK) {
            let sql = format!(
                "{select} WHERE {column} IN ({})",
                in_list(self.backend, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(k.clone());
            }
            for row in q.fetch_all(&self.read).await.map_err(backend)? {
                out.push(map(&row)?);
            }
        }
        Ok(out)
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

pub(crate) fn service_binds<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    s: &Service,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let recipients: Vec<&str> = s.authorized_recipients.iter().map(|f| f.as_str()).collect();
    let cidrs: Vec<String> = s.authorized_cidrs.iter().map(|c| c.to_string()).collect();
    q.bind(s.organization_fiscal_code.as_str().to_owned())
        .bind(s.organization_name.clone())
        .bind(s.department_name.clone())
        .bind(s.name.clone())
        .bind(s.description.clone())
        .bind(flag(s.require_secure_channels))
        .bind(to_json(&recipients))
        .bind(to_json(&cidrs))
        .bind(s.max_allowed_payment_amount as i64)
        .bind(to_json(&s.metadata))
        .bind(s.lifecycle.as_str())
        .bind(s.lifecycle_reason.clone())
        .bind(s.publication.as_str())
        .bind(flag(s.ever_approved))
        .bind(flag(s.auto_publish))
        .bind(s.version)
        .bind(ms(&s.created_at))
        .bind(ms(&s.updated_at))
}

pub(crate) fn preference(r: &AnyRow) -> StoreResult<ServicePreference> {
    Ok(ServicePreference {
        service_id: ServiceId::parse(&text(r, "service_id")?)
            .map_err(|_| StoreError::Backend("stored service id".into()))?,
        settings_version: int(r, "settings_version")?,
        is_inbox_enabled: int(r, "is_inbox_enabled")? != 0,
        is_email_enabled: int(r, "is_email_enabled")? != 0,
        is_webhook_enabled: int(r, "is_webhook_enabled")? != 0,
        can_access_message_read_status: int(r, "can_access_message_read_status")? != 0,
    })
}

/// Writes `s` if the stored version is `s.version - 1`; `Conflict` otherwise.
pub(crate) async fn write_service(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    s: &Service,
) -> StoreResult<()> {
    let q = sqlx::query(
        "UPDATE services SET organization_fiscal_code = $1, organization_name = $2, \
         department_name = $3, name = $4, description = $5, require_secure_channels = $6, \
         authorized_recipients = $7, authorized_cidrs = $8, max_allowed_payment_amount = $9, \
         metadata = $10, lifecycle = $11, lifecycle_reason = $12, publication = $13, \
         ever_approved = $14, auto_publish = $15, version = $16, created_at = $17, \
         updated_at = $18 WHERE id = $19 AND version = $20",
    );
    let r = service_binds(q, s)
        .bind(s.id.to_string())
        .bind(s.version - 1)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(
            "the service was changed by someone else; read it again and retry".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn insert_delegate(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    d: &Delegate,
    key_hash: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO delegates (id, organization_fiscal_code, email, manage_key_hash, \
         disabled, created_at, name, fiscal_code, role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(d.id.clone())
    .bind(d.organization_fiscal_code.as_str().to_owned())
    .bind(d.email.as_str().to_owned())
    .bind(key_hash.to_owned())
    .bind(flag(d.disabled))
    .bind(ms(&d.created_at))
    .bind(d.name.clone())
    .bind(d.fiscal_code.as_ref().map(|f| f.as_str().to_owned()))
    .bind(d.role.as_str())
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict("this organization already has a delegate with this e-mail".into())
        } else if is_fk_violation(&e) {
            StoreError::NotFound("organization".into())
        } else {
            backend(e)
        }
    })?;
    Ok(())
}

pub(crate) async fn insert_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &NewAuditEntry,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ms(&e.at))
    .bind(e.actor.clone())
    .bind(e.action.clone())
    .bind(e.subject.clone())
    .bind(to_json(&e.detail))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn limits(r: &AnyRow) -> StoreResult<LimitOverrides> {
    let get = |c: &str| r.try_get::<Option<i64>, _>(c).map_err(backend);
    Ok(LimitOverrides {
        rate_per_second: get("rate_per_second")?.and_then(|v| u32::try_from(v).ok()),
        burst: get("burst")?.and_then(|v| u32::try_from(v).ok()),
        daily_quota: get("daily_quota")?.and_then(|v| u64::try_from(v).ok()),
        monthly_quota: get("monthly_quota")?.and_then(|v| u64::try_from(v).ok()),
    })
}

pub(crate) fn stored_key(row: &AnyRow) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        key_type: KeyType::parse(&text(row, "key_type")?)
            .ok_or_else(|| StoreError::Backend("bad key_type".into()))?,
        hash: text(row, "key_hash")?,
        sealed: SealedContent {
            key_id: text(row, "key_id")?,
            bytes: row.try_get::<Vec<u8>, _>("sealed").map_err(backend)?,
        },
    })
}
