//! [`SqlStore`]: the [`Store`] port over an `sqlx` Any pool. On SQLite every write goes through
//! a single-connection pool (one writer, as SQLite allows) and reads through a small pool of
//! their own; on PostgreSQL both are the same pool.

use std::sync::Once;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use messaging::model::{
    AcceptOutcome, AuditEntry, CitizenProfile, Delegate, HistoryEntry, InboxEntry, Job, JobCounts,
    JobStatus, Mandate, MessageRecord, MessageStatus, NewMessageRecord, Organization,
    ProcessingOutcome, RejectionReason, Service, ServicePreference,
};
use messaging::model::{Batch, KeyType, PendingRow, RowOutcome, SealedContent};
use messaging::ports::{
    CompletedJob, DelegateAuth, NewAuditEntry, NewHistoryEntry, ServiceAuth, Store, StoreError,
    StoreResult, StoredKey,
};
use messaging::quota::{LimitOverrides, QuotaPeriod};
use messaging::values::{FiscalCode, MessageId, OrganizationFiscalCode, ServiceId};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::rows::{self, backend, flag, int, ms, text, to_json};
use crate::{Backend, OpenError, migrate};

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
static NEXT_USAGE_SHARD: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Shards per usage counter: one on SQLite, which has a single writer; on PostgreSQL more than
/// its intake writers (4) plus the batch worker.
fn usage_shards(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 8,
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
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

fn is_fk_violation(e: &sqlx::Error) -> bool {
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
    async fn sealed_batch_with_key(
        &self,
        service: &ServiceId,
        key: &str,
    ) -> StoreResult<Option<String>> {
        sqlx::query_scalar(
            "SELECT id FROM batches WHERE service_id = $1 AND idempotency_key = $2 \
             AND sealed_at IS NOT NULL",
        )
        .bind(service.to_string())
        .bind(key.to_owned())
        .fetch_optional(&self.write)
        .await
        .map_err(backend)
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
    async fn enforce_quotas(
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

fn service_binds<'q>(
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

fn preference(r: &AnyRow) -> StoreResult<ServicePreference> {
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
async fn write_service(tx: &mut sqlx::Transaction<'_, sqlx::Any>, s: &Service) -> StoreResult<()> {
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

async fn insert_delegate(
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

async fn insert_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &NewAuditEntry,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Utc::now().timestamp_millis())
    .bind(e.actor.clone())
    .bind(e.action.clone())
    .bind(e.subject.clone())
    .bind(to_json(&e.detail))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

fn limits(r: &AnyRow) -> StoreResult<LimitOverrides> {
    let get = |c: &str| r.try_get::<Option<i64>, _>(c).map_err(backend);
    Ok(LimitOverrides {
        rate_per_second: get("rate_per_second")?.and_then(|v| u32::try_from(v).ok()),
        burst: get("burst")?.and_then(|v| u32::try_from(v).ok()),
        daily_quota: get("daily_quota")?.and_then(|v| u64::try_from(v).ok()),
        monthly_quota: get("monthly_quota")?.and_then(|v| u64::try_from(v).ok()),
    })
}

fn stored_key(row: &AnyRow) -> StoreResult<StoredKey> {
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

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn create_organization(&self, org: &Organization) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO organizations (fiscal_code, name, kind, ipa_code, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.fiscal_code.as_str().to_owned())
        .bind(org.name.clone())
        .bind(org.kind.as_str())
        .bind(org.ipa_code.clone())
        .bind(flag(org.disabled))
        .bind(ms(&org.created_at))
        .execute(&self.write)
        .await
        .map_err(conflict_if_unique(
            "an organization with this fiscal code exists",
        ))?;
        Ok(())
    }

    async fn get_organization(
        &self,
        fiscal_code: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Organization>> {
        self.one(
            "SELECT fiscal_code, name, kind, ipa_code, disabled, created_at FROM organizations \
                 WHERE fiscal_code = $1",
            fiscal_code.as_str().to_owned(),
            rows::organization,
        )
        .await
    }

    async fn list_organizations(&self) -> StoreResult<Vec<Organization>> {
        sqlx::query(
            "SELECT fiscal_code, name, kind, ipa_code, disabled, created_at FROM organizations \
             ORDER BY fiscal_code",
        )
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::organization)
        .collect()
    }

    async fn set_organization_disabled(
        &self,
        fiscal_code: &OrganizationFiscalCode,
        disabled: bool,
    ) -> StoreResult<()> {
        let r = sqlx::query("UPDATE organizations SET disabled = $1 WHERE fiscal_code = $2")
            .bind(flag(disabled))
            .bind(fiscal_code.as_str().to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "organization")
    }

    async fn create_delegate(&self, d: &Delegate, key_hash: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        insert_delegate(&mut tx, d, key_hash).await?;
        tx.commit().await.map_err(backend)
    }

    async fn apply_variation(
        &self,
        add: &[(Delegate, String)],
        remove: &[String],
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        for (d, hash) in add {
            insert_delegate(&mut tx, d, hash).await?;
        }
        for id in remove {
            let r = sqlx::query("UPDATE delegates SET disabled = 1 WHERE id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("delegate {id}")));
            }
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn rotate_delegate_key(
        &self,
        id: &str,
        hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let r = sqlx::query("UPDATE delegates SET manage_key_hash = $1 WHERE id = $2")
            .bind(hash.to_owned())
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("delegate".into()));
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn add_mandate(&self, m: &Mandate, audit: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO mandates (aggregator, organization, service_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(m.aggregator.as_str().to_owned())
        .bind(m.organization.as_str().to_owned())
        .bind(
            m.service_id
                .map_or_else(|| "*".to_owned(), |s| s.to_string()),
        )
        .bind(ms(&m.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_fk_violation(&e) {
                StoreError::NotFound("organization".into())
            } else {
                backend(e)
            }
        })?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn mandates_of(&self, aggregator: &OrganizationFiscalCode) -> StoreResult<Vec<Mandate>> {
        sqlx::query(
            "SELECT * FROM mandates WHERE aggregator = $1 ORDER BY organization, service_id",
        )
        .bind(aggregator.as_str().to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::mandate)
        .collect()
    }

    async fn save_published_card(&self, id: &ServiceId, card_json: &str) -> StoreResult<()> {
        sqlx::query("UPDATE services SET published_card = $1 WHERE id = $2")
            .bind(card_json.to_owned())
            .bind(id.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn published_card(&self, id: &ServiceId) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT published_card FROM services WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        Ok(match row {
            Some(r) => rows::opt_text(&r, "published_card")?,
            None => None,
        })
    }

    async fn set_featured(&self, id: &ServiceId, featured: bool) -> StoreResult<()> {
        let r = sqlx::query("UPDATE services SET featured = $1 WHERE id = $2")
            .bind(flag(featured))
            .bind(id.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "service")
    }

    async fn service_limits(&self, id: &ServiceId) -> StoreResult<LimitOverrides> {
        let row = sqlx::query("SELECT * FROM service_limits WHERE service_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map_or(Ok(LimitOverrides::default()), |r| limits(&r))
    }

    async fn set_service_limits(
        &self,
        id: &ServiceId,
        l: &LimitOverrides,
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO service_limits (service_id, rate_per_second, burst, daily_quota, \
             monthly_quota) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (service_id) DO UPDATE SET \
             rate_per_second = excluded.rate_per_second, burst = excluded.burst, \
             daily_quota = excluded.daily_quota, monthly_quota = excluded.monthly_quota",
        )
        .bind(id.to_string())
        .bind(l.rate_per_second.map(i64::from))
        .bind(l.burst.map(i64::from))
        .bind(l.daily_quota.map(|v| v as i64))
        .bind(l.monthly_quota.map(|v| v as i64))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn usage_in_period(&self, period_key: &str) -> StoreResult<Vec<(ServiceId, u64)>> {
        sqlx::query(
            "SELECT service_id, CAST(SUM(messages) AS BIGINT) AS messages FROM service_usage \
             WHERE period = $1 GROUP BY service_id ORDER BY service_id",
        )
        .bind(period_key.to_owned())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            let id = ServiceId::parse(&text(r, "service_id")?)
                .map_err(|_| StoreError::Backend("stored service id".into()))?;
            Ok((id, int(r, "messages")?.max(0) as u64))
        })
        .collect()
    }

    async fn service_usage(&self, id: &ServiceId, at: DateTime<Utc>) -> StoreResult<(u64, u64)> {
        let mut used = [0u64; 2];
        for (i, period) in [QuotaPeriod::Daily, QuotaPeriod::Monthly]
            .iter()
            .enumerate()
        {
            let n: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) FROM service_usage \
                 WHERE service_id = $1 AND period = $2",
            )
            .bind(id.to_string())
            .bind(period.key(at))
            .fetch_one(&self.read)
            .await
            .map_err(backend)?;
            used[i] = n.max(0) as u64;
        }
        Ok((used[0], used[1]))
    }

    async fn set_service_logo(&self, id: &ServiceId, png: &[u8]) -> StoreResult<()> {
        let r = sqlx::query("UPDATE services SET logo = $1 WHERE id = $2")
            .bind(png.to_vec())
            .bind(id.to_string())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "service")
    }

    async fn service_logo(&self, id: &ServiceId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT logo FROM services WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("logo").map_err(backend),
            None => Ok(None),
        }
    }

    async fn catalogue_organizations(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Organization>, i64)> {
        let pattern = format!(
            "%{}%",
            search
                .unwrap_or("")
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let filter = "disabled = 0 AND LOWER(name) LIKE $1 ESCAPE '\\' AND fiscal_code IN \
             (SELECT organization_fiscal_code FROM services WHERE publication = 'published' \
             AND lifecycle <> 'deleted')";
        let sql = format!(
            "SELECT {} FROM organizations WHERE {filter} ORDER BY name, fiscal_code \
             LIMIT $2 OFFSET $3",
            rows::ORGANIZATION_COLUMNS
        );
        let items = sqlx::query(&sql)
            .bind(pattern.clone())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::organization)
            .collect::<StoreResult<Vec<_>>>()?;
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM organizations WHERE {filter}"
        ))
        .bind(pattern)
        .fetch_one(&self.read)
        .await
        .map_err(backend)?;
        Ok((items, count))
    }

    async fn published_services(
        &self,
        organization: Option<&OrganizationFiscalCode>,
    ) -> StoreResult<Vec<Service>> {
        let base = format!(
            "SELECT {} FROM services WHERE publication = 'published' AND lifecycle <> 'deleted'",
            rows::SERVICE_COLUMNS
        );
        let rows = match organization {
            Some(org) => {
                sqlx::query(&format!(
                    "{base} AND organization_fiscal_code = $1 ORDER BY name, id"
                ))
                .bind(org.as_str().to_owned())
                .fetch_all(&self.read)
                .await
            }
            None => {
                sqlx::query(&format!("{base} AND featured = 1 ORDER BY name, id"))
                    .fetch_all(&self.read)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::service).collect()
    }

    async fn list_delegates(
        &self,
        organization: Option<&OrganizationFiscalCode>,
    ) -> StoreResult<Vec<Delegate>> {
        let rows = match organization {
            Some(org) => {
                sqlx::query(
                    "SELECT * FROM delegates WHERE organization_fiscal_code = $1 ORDER BY id",
                )
                .bind(org.as_str().to_owned())
                .fetch_all(&self.read)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM delegates ORDER BY id")
                    .fetch_all(&self.read)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::delegate).collect()
    }

    async fn set_delegate_disabled(&self, id: &str, disabled: bool) -> StoreResult<()> {
        let r = sqlx::query("UPDATE delegates SET disabled = $1 WHERE id = $2")
            .bind(flag(disabled))
            .bind(id.to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "delegate")
    }

    async fn delegate_by_key_hash(&self, hash: &str) -> StoreResult<Option<DelegateAuth>> {
        let row = sqlx::query(
            "SELECT d.*, o.disabled AS organization_disabled FROM delegates d \
             JOIN organizations o ON o.fiscal_code = d.organization_fiscal_code \
             WHERE d.manage_key_hash = $1",
        )
        .bind(hash.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(DelegateAuth {
                delegate: rows::delegate(&r)?,
                organization_disabled: int(&r, "organization_disabled")? != 0,
            })
        })
        .transpose()
    }

    async fn create_service(&self, s: &Service, keys: &[StoredKey]) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sql = format!(
            "INSERT INTO services ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18, $19)",
            rows::SERVICE_COLUMNS
        );
        service_binds(sqlx::query(&sql).bind(s.id.to_string()), s)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_fk_violation(&e) {
                    StoreError::NotFound("organization".into())
                } else {
                    backend(e)
                }
            })?;
        for k in keys {
            sqlx::query(
                "INSERT INTO service_keys (service_id, key_type, key_hash, key_id, sealed) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(s.id.to_string())
            .bind(k.key_type.as_str())
            .bind(k.hash.clone())
            .bind(k.sealed.key_id.clone())
            .bind(k.sealed.bytes.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_service(&self, id: &ServiceId) -> StoreResult<Option<Service>> {
        let sql = format!(
            "SELECT {} FROM services WHERE id = $1",
            rows::SERVICE_COLUMNS
        );
        self.one(&sql, id.to_string(), rows::service).await
    }

    async fn list_services(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Service>, i64)> {
        let sql = format!(
            "SELECT {} FROM services WHERE organization_fiscal_code = $1 \
             AND lifecycle <> 'deleted' ORDER BY id DESC LIMIT $2 OFFSET $3",
            rows::SERVICE_COLUMNS
        );
        let items = sqlx::query(&sql)
            .bind(organization.as_str().to_owned())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::service)
            .collect::<StoreResult<Vec<_>>>()?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM services WHERE organization_fiscal_code = $1 \
             AND lifecycle <> 'deleted'",
        )
        .bind(organization.as_str().to_owned())
        .fetch_one(&self.read)
        .await
        .map_err(backend)?;
        Ok((items, count))
    }

    async fn update_service(&self, s: &Service) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        write_service(&mut tx, s).await?;
        tx.commit().await.map_err(backend)
    }

    async fn transition_service(
        &self,
        s: &Service,
        history: &[NewHistoryEntry],
        audit: &NewAuditEntry,
    ) -> StoreResult<()> {
        let card = to_json(&messaging::lifecycle::ServiceCard::from(s));
        let mut tx = self.write.begin().await.map_err(backend)?;
        write_service(&mut tx, s).await?;
        for h in history {
            sqlx::query(
                "INSERT INTO service_history (service_id, kind, status, reason, actor, at, card) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(s.id.to_string())
            .bind(h.kind)
            .bind(h.status.clone())
            .bind(h.reason.clone())
            .bind(h.actor.clone())
            .bind(ms(&s.updated_at))
            .bind(card.clone())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn service_history(
        &self,
        id: &ServiceId,
        ascending: bool,
        after_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<HistoryEntry>> {
        let sql = if ascending {
            "SELECT * FROM service_history WHERE service_id = $1 AND id > $2 \
             ORDER BY id ASC LIMIT $3"
        } else {
            "SELECT * FROM service_history WHERE service_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        };
        let cursor = after_id.unwrap_or(if ascending { 0 } else { i64::MAX });
        sqlx::query(sql)
            .bind(id.to_string())
            .bind(cursor)
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::history)
            .collect()
    }

    async fn pending_reviews(&self) -> StoreResult<Vec<Service>> {
        let sql = format!(
            "SELECT {} FROM services WHERE lifecycle = 'submitted' ORDER BY updated_at, id",
            rows::SERVICE_COLUMNS
        );
        sqlx::query(&sql)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::service)
            .collect()
    }

    async fn sibling_service_names(
        &self,
        organization: &OrganizationFiscalCode,
        except: &ServiceId,
    ) -> StoreResult<Vec<String>> {
        sqlx::query(
            "SELECT name FROM services WHERE organization_fiscal_code = $1 AND id <> $2 \
             AND lifecycle <> 'deleted'",
        )
        .bind(organization.as_str().to_owned())
        .bind(except.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| text(r, "name"))
        .collect()
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        insert_audit(&mut tx, entry).await?;
        tx.commit().await.map_err(backend)
    }

    async fn audit_log(&self, before_id: Option<i64>, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query("SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2")
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::audit)
            .collect()
    }

    async fn set_organization_logo(
        &self,
        fiscal_code: &OrganizationFiscalCode,
        png: &[u8],
    ) -> StoreResult<()> {
        let r = sqlx::query("UPDATE organizations SET logo = $1 WHERE fiscal_code = $2")
            .bind(png.to_vec())
            .bind(fiscal_code.as_str().to_owned())
            .execute(&self.write)
            .await
            .map_err(backend)?;
        found(r.rows_affected(), "organization")
    }

    async fn organization_logo(
        &self,
        fiscal_code: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT logo FROM organizations WHERE fiscal_code = $1")
            .bind(fiscal_code.as_str().to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("logo").map_err(backend),
            None => Ok(None),
        }
    }

    async fn service_by_key_hash(&self, hash: &str) -> StoreResult<Option<ServiceAuth>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {}, o.disabled AS organization_disabled, l.rate_per_second, l.burst, \
                 l.daily_quota, l.monthly_quota FROM service_keys k \
                 JOIN services s ON s.id = k.service_id \
                 JOIN organizations o ON o.fiscal_code = s.organization_fiscal_code \
                 LEFT JOIN service_limits l ON l.service_id = s.id \
                 WHERE k.key_hash = $1",
                rows::SERVICE_COLUMNS
                    .split(", ")
                    .map(|c| format!("s.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let sql: &str = &SQL;
        let row = sqlx::query(sql)
            .bind(hash.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(ServiceAuth {
                service: rows::service(&r)?,
                organization_disabled: int(&r, "organization_disabled")? != 0,
                limits: limits(&r)?,
            })
        })
        .transpose()
    }

    async fn service_keys(&self, id: &ServiceId) -> StoreResult<Vec<StoredKey>> {
        sqlx::query("SELECT * FROM service_keys WHERE service_id = $1 ORDER BY key_type")
            .bind(id.to_string())
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(stored_key)
            .collect()
    }

    async fn replace_service_key(&self, id: &ServiceId, key: &StoredKey) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE service_keys SET key_hash = $1, key_id = $2, sealed = $3 \
             WHERE service_id = $4 AND key_type = $5",
        )
        .bind(key.hash.clone())
        .bind(key.sealed.key_id.clone())
        .bind(key.sealed.bytes.clone())
        .bind(id.to_string())
        .bind(key.key_type.as_str())
        .execute(&self.write)
        .await
        .map_err(backend)?;
        found(r.rows_affected(), "service key")
    }

    async fn create_citizen(&self, p: &CitizenProfile) -> StoreResult<()> {
        self.save_citizen_impl(p, None, None).await
    }

    async fn get_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<Option<CitizenProfile>> {
        let sql = format!(
            "SELECT {} FROM citizens WHERE fiscal_code = $1",
            rows::CITIZEN_COLUMNS
        );
        self.one(&sql, fiscal_code.as_str().to_owned(), rows::citizen)
            .await
    }

    async fn get_service_preference(
        &self,
        fiscal_code: &FiscalCode,
        service: &ServiceId,
        settings_version: i64,
    ) -> StoreResult<Option<ServicePreference>> {
        let row = sqlx::query(
            "SELECT * FROM service_preferences WHERE fiscal_code = $1 AND service_id = $2 \
             AND settings_version = $3",
        )
        .bind(fiscal_code.as_str().to_owned())
        .bind(service.to_string())
        .bind(settings_version)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.as_ref().map(preference).transpose()
    }

    async fn get_citizens(&self, fiscal_codes: &[FiscalCode]) -> StoreResult<Vec<CitizenProfile>> {
        let select = format!("SELECT {} FROM citizens", rows::CITIZEN_COLUMNS);
        let keys = fiscal_codes.iter().map(|f| f.as_str().to_owned()).collect();
        self.select_in(&select, "fiscal_code", keys, rows::citizen)
            .await
    }

    async fn get_preferences_of(
        &self,
        fiscal_codes: &[FiscalCode],
    ) -> StoreResult<Vec<(FiscalCode, ServicePreference)>> {
        let keys = fiscal_codes.iter().map(|f| f.as_str().to_owned()).collect();
        self.select_in(
            "SELECT * FROM service_preferences",
            "fiscal_code",
            keys,
            |r| {
                let fc = FiscalCode::parse(&text(r, "fiscal_code")?)
                    .map_err(|_| StoreError::Backend("stored fiscal code".into()))?;
                Ok((fc, preference(r)?))
            },
        )
        .await
    }

    async fn upsert_service_preference(
        &self,
        fiscal_code: &FiscalCode,
        p: &ServicePreference,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO service_preferences (fiscal_code, service_id, settings_version, \
             is_inbox_enabled, is_email_enabled, is_webhook_enabled, \
             can_access_message_read_status) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (fiscal_code, service_id, settings_version) DO UPDATE SET \
             is_inbox_enabled = excluded.is_inbox_enabled, \
             is_email_enabled = excluded.is_email_enabled, \
             is_webhook_enabled = excluded.is_webhook_enabled, \
             can_access_message_read_status = excluded.can_access_message_read_status",
        )
        .bind(fiscal_code.as_str().to_owned())
        .bind(p.service_id.to_string())
        .bind(p.settings_version)
        .bind(flag(p.is_inbox_enabled))
        .bind(flag(p.is_email_enabled))
        .bind(flag(p.is_webhook_enabled))
        .bind(flag(p.can_access_message_read_status))
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn save_citizen(
        &self,
        profile: &CitizenProfile,
        expected_version: Option<i64>,
        validation: Option<&messaging::citizen::NewEmailValidation>,
    ) -> StoreResult<()> {
        self.save_citizen_impl(profile, expected_version, validation)
            .await
    }

    async fn validate_email(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<FiscalCode>> {
        self.validate_email_impl(token_hash, now).await
    }

    async fn delete_citizen(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.delete_citizen_impl(fiscal_code, now).await
    }

    async fn create_session(
        &self,
        session: &messaging::citizen::CitizenSession,
        token_hash: &str,
    ) -> StoreResult<()> {
        self.create_session_impl(session, token_hash).await
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<messaging::citizen::CitizenSession>> {
        self.session_by_token_hash_impl(token_hash, now).await
    }

    async fn sessions_of(
        &self,
        fiscal_code: &FiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<messaging::citizen::CitizenSession>> {
        self.sessions_of_impl(fiscal_code, limit).await
    }

    async fn revoke_session(
        &self,
        fiscal_code: &FiscalCode,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(self
            .revoke_sessions_where(fiscal_code, Some(id), now)
            .await?
            > 0)
    }

    async fn revoke_sessions(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.revoke_sessions_where(fiscal_code, None, now).await
    }

    async fn inbox_page(
        &self,
        fiscal_code: &FiscalCode,
        query: &messaging::citizen::InboxQuery,
    ) -> StoreResult<Vec<messaging::citizen::InboxItem>> {
        self.inbox_page_impl(fiscal_code, query).await
    }

    async fn inbox_item(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
    ) -> StoreResult<Option<messaging::citizen::InboxItem>> {
        self.inbox_item_impl(fiscal_code, id).await
    }

    async fn change_message_status(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
        change: messaging::citizen::StatusChange,
        read_callback: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(bool, bool)>> {
        self.change_message_status_impl(fiscal_code, id, change, read_callback, now)
            .await
    }

    async fn messages_to(&self, fiscal_code: &FiscalCode) -> StoreResult<Vec<MessageRecord>> {
        self.messages_to_impl(fiscal_code).await
    }

    async fn get_notification(
        &self,
        id: i64,
    ) -> StoreResult<Option<messaging::citizen::Notification>> {
        self.get_notification_impl(id).await
    }

    async fn notifications_of_message(
        &self,
        message_id: &MessageId,
    ) -> StoreResult<Vec<messaging::citizen::Notification>> {
        self.notifications_where("subject_id", message_id.to_string())
            .await
    }

    async fn notifications_of_citizen(
        &self,
        fiscal_code: &FiscalCode,
    ) -> StoreResult<Vec<messaging::citizen::Notification>> {
        self.notifications_where("fiscal_code", fiscal_code.as_str().to_owned())
            .await
    }

    async fn record_notification_attempt(
        &self,
        id: i64,
        job_id: i64,
        attempt: &messaging::citizen::Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.record_notification_attempt_impl(id, job_id, attempt, now)
            .await
    }

    async fn set_callback(
        &self,
        service: &ServiceId,
        config: Option<&messaging::citizen::CallbackConfig>,
    ) -> StoreResult<()> {
        self.set_callback_impl(service, config).await
    }

    async fn get_callback(
        &self,
        service: &ServiceId,
    ) -> StoreResult<Option<messaging::citizen::CallbackConfig>> {
        self.get_callback_impl(service).await
    }

    async fn get_callback_delivery(
        &self,
        id: i64,
    ) -> StoreResult<Option<messaging::citizen::CallbackDelivery>> {
        self.get_callback_delivery_impl(id).await
    }

    async fn record_callback_attempt(
        &self,
        id: i64,
        job_id: i64,
        attempt: &messaging::citizen::Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.record_callback_attempt_impl(id, job_id, attempt, now)
            .await
    }

    async fn callback_deliveries(
        &self,
        service: Option<&ServiceId>,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<messaging::citizen::CallbackDelivery>> {
        self.callback_deliveries_impl(service, before_id, limit)
            .await
    }

    async fn accept_messages(&self, batch: &[NewMessageRecord]) -> StoreResult<Vec<AcceptOutcome>> {
        let mut outcomes: Vec<Option<AcceptOutcome>> = vec![None; batch.len()];
        let mut tx = self.write.begin().await.map_err(backend)?;
        const COLS: usize = 12;
        for (chunk_no, chunk) in batch.chunks(INSERT_CHUNK).enumerate() {
            let sql = format!(
                "INSERT INTO messages (id, service_id, fiscal_code, created_at, time_to_live, \
                 feature_level, content_key_id, content, status, idempotency_key, request_hash, \
                 updated_at) VALUES {} ON CONFLICT DO NOTHING RETURNING id",
                values_list(self.backend, chunk.len(), COLS)
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                let created = ms(&m.created_at);
                q = q
                    .bind(m.id.to_string())
                    .bind(m.service_id.to_string())
                    .bind(m.fiscal_code.as_str().to_owned())
                    .bind(created)
                    .bind(m.time_to_live)
                    .bind(m.feature_level.as_str())
                    .bind(m.content.key_id.clone())
                    .bind(m.content.bytes.clone())
                    .bind(MessageStatus::Accepted.as_str())
                    .bind(m.idempotency.as_ref().map(|i| i.key.clone()))
                    .bind(m.idempotency.as_ref().map(|i| i.request_hash.clone()))
                    .bind(created);
            }
            let inserted: std::collections::HashSet<String> = q
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?
                .iter()
                .map(|r| text(r, "id"))
                .collect::<StoreResult<_>>()?;
            for (i, m) in chunk.iter().enumerate() {
                let slot = chunk_no * INSERT_CHUNK + i;
                if inserted.contains(&m.id.to_string()) {
                    outcomes[slot] = Some(AcceptOutcome::Created(m.id));
                    continue;
                }
                // Not inserted: the idempotency key was used before (maybe earlier in this
                // very batch). Same request → the earlier id; different request → refused.
                let Some(idem) = &m.idempotency else {
                    return Err(StoreError::Backend(
                        "message insert ignored without an idempotency key".into(),
                    ));
                };
                let row = sqlx::query(
                    "SELECT id, request_hash FROM messages WHERE service_id = $1 \
                     AND idempotency_key = $2",
                )
                .bind(m.service_id.to_string())
                .bind(idem.key.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                let existing = MessageId::parse(&text(&row, "id")?)
                    .map_err(|_| StoreError::Backend("stored message id".into()))?;
                outcomes[slot] = Some(
                    if rows::opt_text(&row, "request_hash")?.as_deref()
                        == Some(idem.request_hash.as_str())
                    {
                        AcceptOutcome::Replayed(existing)
                    } else {
                        AcceptOutcome::KeyReused
                    },
                );
            }
        }
        self.enforce_quotas(&mut tx, batch, &mut outcomes).await?;
        let created: Vec<&NewMessageRecord> = batch
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Some(AcceptOutcome::Created(_))))
            .map(|(m, _)| m)
            .collect();
        for chunk in created.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO jobs (kind, message_id, status, attempts, run_at, created_at) \
                 VALUES {}",
                values_list(self.backend, chunk.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                let at = ms(&m.created_at);
                q = q
                    .bind("process_message")
                    .bind(m.id.to_string())
                    .bind(JobStatus::Queued.as_str())
                    .bind(0_i64)
                    .bind(at)
                    .bind(at);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(AcceptOutcome::KeyReused))
            .collect())
    }

    async fn get_message(&self, id: &MessageId) -> StoreResult<Option<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE id = $1",
            rows::MESSAGE_COLUMNS
        );
        self.one(&sql, id.to_string(), rows::message).await
    }

    async fn get_messages(&self, ids: &[MessageId]) -> StoreResult<Vec<MessageRecord>> {
        let select = format!("SELECT {} FROM messages", rows::MESSAGE_COLUMNS);
        let keys = ids.iter().map(ToString::to_string).collect();
        self.select_in(&select, "id", keys, rows::message).await
    }

    async fn claim_jobs(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> StoreResult<Vec<Job>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', run_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE status IN ('queued', 'running') \
             AND run_at <= $2 ORDER BY run_at, id LIMIT $3{lock}) RETURNING {}",
            rows::JOB_COLUMNS
        );
        let now_ms = ms(&now);
        sqlx::query(&sql)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.write)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn complete_message_jobs(
        &self,
        done: &[CompletedJob],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await.map_err(backend)?;
        // One UPDATE per resulting status; only messages still ACCEPTED change, so a job run
        // twice (after a lease takeover) has one effect.
        let mut processed_now = std::collections::HashSet::new();
        let mut changed_now = Vec::new();
        let groups: [(MessageStatus, Option<RejectionReason>); 3] = [
            (MessageStatus::Processed, None),
            (MessageStatus::Rejected, Some(RejectionReason::UserNotFound)),
            (
                MessageStatus::Rejected,
                Some(RejectionReason::ServiceNotAllowed),
            ),
        ];
        for (status, reason) in groups {
            let ids: Vec<String> = done
                .iter()
                .filter(|d| match &d.outcome {
                    ProcessingOutcome::Processed { .. } => reason.is_none(),
                    ProcessingOutcome::Rejected(r) => Some(*r) == reason,
                })
                .map(|d| d.message_id.to_string())
                .collect();
            for chunk in ids.chunks(INSERT_CHUNK) {
                let sql = format!(
                    "UPDATE messages SET status = {}, rejection_reason = {}, updated_at = {} \
                     WHERE status = 'ACCEPTED' AND id IN ({}) RETURNING id",
                    in_list_from(self.backend, 1, 1),
                    in_list_from(self.backend, 2, 1),
                    in_list_from(self.backend, 3, 1),
                    in_list_from(self.backend, 4, chunk.len())
                );
                let mut q = sqlx::query(&sql)
                    .bind(status.as_str())
                    .bind(reason.map(RejectionReason::as_str))
                    .bind(ms(&now));
                for id in chunk {
                    q = q.bind(id.clone());
                }
                for row in q.fetch_all(&mut *tx).await.map_err(backend)? {
                    let id = text(&row, "id")?;
                    if status == MessageStatus::Processed {
                        processed_now.insert(id.clone());
                    }
                    changed_now.push(id);
                }
            }
        }
        let inbox: Vec<&InboxEntry> = done
            .iter()
            .filter_map(|d| match &d.outcome {
                ProcessingOutcome::Processed { inbox: Some(e), .. }
                    if processed_now.contains(&d.message_id.to_string()) =>
                {
                    Some(e)
                }
                _ => None,
            })
            .collect();
        for chunk in inbox.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO inbox (fiscal_code, message_id, service_id, has_payment, due_date, \
                 title_key_id, title, rpt_id, created_at, time_to_live) VALUES {} \
                 ON CONFLICT DO NOTHING",
                values_list(self.backend, chunk.len(), 10)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.fiscal_code.as_str().to_owned())
                    .bind(e.message_id.to_string())
                    .bind(e.service_id.to_string())
                    .bind(flag(e.has_payment))
                    .bind(e.due_date.as_ref().map(ms))
                    .bind(e.title.key_id.clone())
                    .bind(e.title.bytes.clone())
                    .bind(e.rpt_id.clone())
                    .bind(ms(&e.created_at))
                    .bind(e.time_to_live);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        let notifications: Vec<messaging::citizen::NewNotification> = done
            .iter()
            .filter(|d| processed_now.contains(&d.message_id.to_string()))
            .flat_map(|d| match &d.outcome {
                ProcessingOutcome::Processed { notifications, .. } => notifications.clone(),
                ProcessingOutcome::Rejected(_) => Vec::new(),
            })
            .collect();
        crate::citizen::insert_notifications(&mut tx, &notifications, now).await?;
        crate::citizen::queue_outcome_callbacks(self, &mut tx, &changed_now, now).await?;
        let job_ids: Vec<i64> = done.iter().map(|d| d.job_id).collect();
        for chunk in job_ids.chunks(INSERT_CHUNK) {
            let sql = format!(
                "DELETE FROM jobs WHERE id IN ({})",
                in_list(self.backend, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn fail_job(
        &self,
        job_id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let (status, run_at) = match retry_at {
            Some(at) => (JobStatus::Queued, ms(&at)),
            None => (JobStatus::Dead, ms(&now)),
        };
        let row = sqlx::query(
            "UPDATE jobs SET status = $1, run_at = $2, last_error = $3 WHERE id = $4 \
             RETURNING kind, message_id",
        )
        .bind(status.as_str())
        .bind(run_at)
        .bind(error.to_owned())
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if let (Some(row), None) = (row, retry_at) {
            // A dead job fails what it was working on.
            let sql = match text(&row, "kind")?.as_str() {
                "process_message" => Some(
                    "UPDATE messages SET status = 'FAILED', updated_at = $1 WHERE id = $2 \
                     AND status = 'ACCEPTED'",
                ),
                "notify" => Some(
                    "UPDATE notifications SET status = 'FAILED', updated_at = $1 \
                     WHERE CAST(id AS TEXT) = $2",
                ),
                "callback" => Some(
                    "UPDATE callback_deliveries SET status = 'FAILED', updated_at = $1 \
                     WHERE CAST(id AS TEXT) = $2",
                ),
                _ => None,
            };
            if let Some(sql) = sql {
                sqlx::query(sql)
                    .bind(ms(&now))
                    .bind(text(&row, "message_id")?)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn list_jobs(&self, status: Option<JobStatus>) -> StoreResult<Vec<Job>> {
        let sql = format!(
            "SELECT {} FROM jobs WHERE ($1 = '' OR status = $2) ORDER BY id LIMIT 1000",
            rows::JOB_COLUMNS
        );
        let s = status.map_or("", JobStatus::as_str);
        sqlx::query(&sql)
            .bind(s)
            .bind(s)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn retry_job(&self, job_id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_at = $1, attempts = 0 \
             WHERE id = $2 AND status = 'dead' RETURNING kind, message_id",
        )
        .bind(ms(&now))
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound("dead job".into()));
        };
        let sql = match text(&row, "kind")?.as_str() {
            "notify" => {
                "UPDATE notifications SET status = 'PENDING', updated_at = $1 \
                 WHERE CAST(id AS TEXT) = $2 AND status = 'FAILED'"
            }
            "callback" => {
                "UPDATE callback_deliveries SET status = 'PENDING', updated_at = $1 \
                 WHERE CAST(id AS TEXT) = $2 AND status = 'FAILED'"
            }
            _ => {
                "UPDATE messages SET status = 'ACCEPTED', updated_at = $1 WHERE id = $2 \
                 AND status = 'FAILED'"
            }
        };
        sqlx::query(sql)
            .bind(ms(&now))
            .bind(text(&row, "message_id")?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn extend_job(&self, job_id: i64, until: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2 AND status = 'running'")
            .bind(ms(&until))
            .bind(job_id)
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_job(&self, job_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(job_id)
            .execute(&self.write)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn create_batch(
        &self,
        b: &Batch,
        idempotency_key: Option<&str>,
    ) -> StoreResult<(String, bool)> {
        if let Some(key) = idempotency_key
            && let Some(id) = self.sealed_batch_with_key(&b.service_id, key).await?
        {
            return Ok((id, false));
        }
        // The key is taken only when the upload completes (`seal_batch`): an upload cut short
        // must not answer for the retry.
        sqlx::query(
            "INSERT INTO batches (id, service_id, format, header, status, total, key_hash, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)",
        )
        .bind(b.id.clone())
        .bind(b.service_id.to_string())
        .bind(b.format.clone())
        .bind(b.header.clone())
        .bind(b.status.as_str())
        .bind(b.key_hash.clone())
        .bind(ms(&b.created_at))
        .bind(ms(&b.updated_at))
        .execute(&self.write)
        .await
        .map_err(backend)?;
        Ok((b.id.clone(), true))
    }

    async fn add_batch_rows(
        &self,
        batch_id: &str,
        rows: &[PendingRow],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        // Also locks the batch against the stale-upload sweep until this commits.
        let alive =
            sqlx::query("UPDATE batches SET updated_at = $1 WHERE id = $2 AND sealed_at IS NULL")
                .bind(ms(&now))
                .bind(batch_id.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        found(alive, "the upload was abandoned and removed")?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let sql = format!(
                "INSERT INTO batch_rows (batch_id, line, key_id, body) VALUES {}",
                values_list(self.backend, chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(batch_id.to_owned())
                    .bind(r.line)
                    .bind(r.body.key_id.clone())
                    .bind(r.body.bytes.clone());
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn seal_batch(
        &self,
        batch_id: &str,
        total: i64,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(String, bool)> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sealed = sqlx::query(
            "UPDATE batches SET total = $1, idempotency_key = $2, sealed_at = $3, \
             updated_at = $4 WHERE id = $5 AND sealed_at IS NULL",
        )
        .bind(total)
        .bind(idempotency_key.map(str::to_owned))
        .bind(ms(&now))
        .bind(ms(&now))
        .bind(batch_id.to_owned())
        .execute(&mut *tx)
        .await;
        let sealed = match sealed {
            Ok(r) => r.rows_affected(),
            Err(e) if is_unique_violation(&e) => {
                // A concurrent upload with the same key completed first: it answers.
                drop(tx);
                let service: String =
                    sqlx::query_scalar("SELECT service_id FROM batches WHERE id = $1")
                        .bind(batch_id.to_owned())
                        .fetch_one(&self.read)
                        .await
                        .map_err(backend)?;
                self.discard_batch(batch_id).await?;
                let service = ServiceId::parse(&service)
                    .map_err(|_| StoreError::Backend("corrupt batches.service_id".into()))?;
                let key = idempotency_key.unwrap_or_default();
                let id = self
                    .sealed_batch_with_key(&service, key)
                    .await?
                    .ok_or_else(|| StoreError::Conflict("the idempotency key is in use".into()))?;
                return Ok((id, false));
            }
            Err(e) => return Err(backend(e)),
        };
        found(sealed, "the upload was abandoned and removed")?;
        // Lines rejected while uploading (too long, unclosed quote) may be all of them.
        let completed = sqlx::query(
            "UPDATE batches SET status = 'COMPLETED' WHERE id = $1 AND status = 'RUNNING' \
             AND accepted + rejected >= total",
        )
        .bind(batch_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if completed == 0 {
            sqlx::query(
                "INSERT INTO jobs (kind, message_id, status, attempts, run_at, created_at) \
                 VALUES ('process_batch', $1, 'queued', 0, $2, $3)",
            )
            .bind(batch_id.to_owned())
            .bind(ms(&now))
            .bind(ms(&now))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok((batch_id.to_owned(), true))
    }

    async fn discard_batch(&self, batch_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        for sql in [
            "DELETE FROM batch_rows WHERE batch_id = $1",
            "DELETE FROM batches WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(batch_id.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn discard_stale_uploads(&self, idle_since: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        // Deleting the batch first locks it: an upload adding lines at this moment either
        // committed before (and is no longer idle) or finds its batch gone.
        let ids: Vec<String> = sqlx::query_scalar(
            "DELETE FROM batches WHERE sealed_at IS NULL AND updated_at < $1 RETURNING id",
        )
        .bind(ms(&idle_since))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for id in &ids {
            sqlx::query("DELETE FROM batch_rows WHERE batch_id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids.len() as u64)
    }

    async fn get_batch(&self, batch_id: &str) -> StoreResult<Option<Batch>> {
        self.one(
            "SELECT * FROM batches WHERE id = $1",
            batch_id.to_owned(),
            rows::batch,
        )
        .await
    }

    async fn pending_rows(
        &self,
        batch_id: &str,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<PendingRow>> {
        sqlx::query(
            "SELECT line, key_id, body FROM batch_rows WHERE batch_id = $1 AND line > $2 \
             AND outcome IS NULL ORDER BY line LIMIT $3",
        )
        .bind(batch_id.to_owned())
        .bind(after_line)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(PendingRow {
                line: int(r, "line")?,
                body: SealedContent {
                    key_id: text(r, "key_id")?,
                    bytes: r
                        .try_get::<Option<Vec<u8>>, _>("body")
                        .map_err(backend)?
                        .unwrap_or_default(),
                },
            })
        })
        .collect()
    }

    async fn record_rows(
        &self,
        batch_id: &str,
        outcomes: &[RowOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let (mut accepted, mut rejected) = (0i64, 0i64);
        for o in outcomes {
            let n = sqlx::query(
                "UPDATE batch_rows SET outcome = $1, message_id = $2, reason = $3, body = NULL \
                 WHERE batch_id = $4 AND line = $5 AND outcome IS NULL",
            )
            .bind(o.outcome.clone())
            .bind(o.message_id.clone())
            .bind(o.reason.clone())
            .bind(batch_id.to_owned())
            .bind(o.line)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected() as i64;
            if o.outcome == "accepted" {
                accepted += n;
            } else {
                rejected += n;
            }
        }
        sqlx::query(
            "UPDATE batches SET accepted = accepted + $1, rejected = rejected + $2, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(accepted)
        .bind(rejected)
        .bind(ms(&now))
        .bind(batch_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // Only a sealed batch has its final total.
        sqlx::query(
            "UPDATE batches SET status = 'COMPLETED' WHERE id = $1 AND status = 'RUNNING' \
             AND sealed_at IS NOT NULL AND accepted + rejected >= total",
        )
        .bind(batch_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn reject_pending_rows(
        &self,
        batch_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let n = sqlx::query(
            "UPDATE batch_rows SET outcome = 'rejected', reason = $1, body = NULL \
             WHERE batch_id = $2 AND outcome IS NULL",
        )
        .bind(reason.to_owned())
        .bind(batch_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        sqlx::query(
            "UPDATE batches SET rejected = rejected + $1, updated_at = $2, status = CASE \
             WHEN status = 'RUNNING' AND sealed_at IS NOT NULL THEN 'COMPLETED' ELSE status END \
             WHERE id = $3",
        )
        .bind(n as i64)
        .bind(ms(&now))
        .bind(batch_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }

    async fn cancel_batch(&self, batch_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE batches SET status = 'CANCELLED', updated_at = $1 \
             WHERE id = $2 AND status = 'RUNNING'",
        )
        .bind(ms(&now))
        .bind(batch_id.to_owned())
        .execute(&self.write)
        .await
        .map_err(backend)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn batch_report(
        &self,
        batch_id: &str,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<RowOutcome>> {
        sqlx::query(
            "SELECT line, outcome, message_id, reason FROM batch_rows \
             WHERE batch_id = $1 AND line > $2 ORDER BY line LIMIT $3",
        )
        .bind(batch_id.to_owned())
        .bind(after_line)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(RowOutcome {
                line: int(r, "line")?,
                outcome: rows::opt_text(r, "outcome")?.unwrap_or_else(|| "pending".to_owned()),
                message_id: rows::opt_text(r, "message_id")?,
                reason: rows::opt_text(r, "reason")?,
            })
        })
        .collect()
    }

    async fn batch_processed(&self, batch_id: &str) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM batch_rows r JOIN messages m ON m.id = r.message_id \
             WHERE r.batch_id = $1 AND m.status = 'PROCESSED'",
        )
        .bind(batch_id.to_owned())
        .fetch_one(&self.read)
        .await
        .map_err(backend)
    }

    async fn job_counts(&self) -> StoreResult<JobCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        let mut c = JobCounts::default();
        for r in &rows {
            let n = int(r, "n")?;
            match JobStatus::parse(&text(r, "status")?) {
                Some(JobStatus::Queued) => c.queued = n,
                Some(JobStatus::Running) => c.running = n,
                Some(JobStatus::Dead) => c.dead = n,
                None => {}
            }
        }
        Ok(c)
    }
}
