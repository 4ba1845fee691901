//! The citizen side of the store: profile writes with e-mail validation, sessions, the inbox as
//! the citizen reads it, account deletion, notifications and callback deliveries. The
//! [`messaging::ports::Store`] implementation in `sql_store.rs` delegates here.

use chrono::{DateTime, Utc};
use messaging::citizen::{
    Attempt, CallbackConfig, CallbackDelivery, CallbackEvent, Channel, CitizenSession,
    DeliveryStatus, InboxItem, InboxQuery, NewEmailValidation, NewNotification, Notification,
    NotificationStatus, Purpose, StatusChange,
};
use messaging::model::{CitizenProfile, MessageRecord, SealedContent};
use messaging::ports::{StoreError, StoreResult};
use messaging::values::{FiscalCode, MessageId, ServiceId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::rows::{
    self, backend, boolean, corrupt, flag, int, ms, opt_text, parsed, text, time, to_json,
};
use crate::sql_store::{SqlStore, conflict_if_unique, in_list_from, values_list};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Numbered placeholders for a statement built piece by piece (ascending, each used once).
struct Params(usize);

impl Params {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

const SESSION_COLUMNS: &str =
    "id, fiscal_code, method, client_ip, created_at, expires_at, revoked_at";

fn session(row: &AnyRow) -> StoreResult<CitizenSession> {
    Ok(CitizenSession {
        id: text(row, "id")?,
        fiscal_code: parsed(row, "fiscal_code", FiscalCode::parse)?,
        method: text(row, "method")?,
        client_ip: opt_text(row, "client_ip")?,
        created_at: time(int(row, "created_at")?),
        expires_at: time(int(row, "expires_at")?),
        revoked_at: opt_int(row, "revoked_at")?.map(time),
    })
}

fn opt_int(row: &AnyRow, col: &str) -> StoreResult<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(backend)
}

fn opt_sealed(row: &AnyRow, key_col: &str, col: &str) -> StoreResult<Option<SealedContent>> {
    let key_id = opt_text(row, key_col)?;
    let bytes = row.try_get::<Option<Vec<u8>>, _>(col).map_err(backend)?;
    Ok(match (key_id, bytes) {
        (Some(key_id), Some(bytes)) if !key_id.is_empty() => Some(SealedContent { key_id, bytes }),
        _ => None,
    })
}

/// The start of the SELECT of an inbox page, up to the citizen's condition (`$1`); public so
/// that the benchmark's raw-SQL ceiling runs exactly the store's statement.
pub fn inbox_select() -> String {
    format!("SELECT {INBOX_COLUMNS} {INBOX_FROM} WHERE i.fiscal_code = $1")
}

const INBOX_COLUMNS: &str = "i.message_id, i.service_id, s.name AS service_name, \
    s.organization_name, s.organization_fiscal_code, i.created_at, i.title_key_id, i.title, \
    i.has_payment, i.rpt_id, i.due_date, i.is_read, i.is_archived, i.time_to_live";

const INBOX_FROM: &str = "FROM inbox i JOIN services s ON s.id = i.service_id";

fn inbox_item(row: &AnyRow) -> StoreResult<InboxItem> {
    Ok(InboxItem {
        message_id: parsed(row, "message_id", MessageId::parse)?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        service_name: text(row, "service_name")?,
        organization_name: text(row, "organization_name")?,
        organization_fiscal_code: text(row, "organization_fiscal_code")?,
        created_at: time(int(row, "created_at")?),
        title: opt_sealed(row, "title_key_id", "title")?.ok_or_else(|| corrupt("title"))?,
        has_payment: boolean(row, "has_payment")?,
        rpt_id: opt_text(row, "rpt_id")?,
        due_date: opt_int(row, "due_date")?.map(time),
        is_read: boolean(row, "is_read")?,
        is_archived: boolean(row, "is_archived")?,
        time_to_live: int(row, "time_to_live")?,
    })
}

const NOTIFICATION_COLUMNS: &str = "id, subject_id, fiscal_code, channel, purpose, status, \
    attempts, last_error, send_at, expires_at, payload_key_id, payload, created_at, updated_at";

fn notification(row: &AnyRow) -> StoreResult<Notification> {
    Ok(Notification {
        id: int(row, "id")?,
        subject_id: text(row, "subject_id")?,
        fiscal_code: parsed(row, "fiscal_code", FiscalCode::parse)?,
        channel: Channel::parse(&text(row, "channel")?).ok_or_else(|| corrupt("channel"))?,
        purpose: Purpose::parse(&text(row, "purpose")?).ok_or_else(|| corrupt("purpose"))?,
        status: NotificationStatus::parse(&text(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        attempts: int(row, "attempts")?,
        last_error: opt_text(row, "last_error")?,
        send_at: time(int(row, "send_at")?),
        expires_at: time(int(row, "expires_at")?),
        payload: opt_sealed(row, "payload_key_id", "payload")?,
        created_at: time(int(row, "created_at")?),
        updated_at: time(int(row, "updated_at")?),
    })
}

const DELIVERY_COLUMNS: &str = "id, service_id, message_id, event, reason, at, status, \
    attempts, last_status_code, last_error, created_at, updated_at";

fn delivery(row: &AnyRow) -> StoreResult<CallbackDelivery> {
    Ok(CallbackDelivery {
        id: int(row, "id")?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        message_id: parsed(row, "message_id", MessageId::parse)?,
        event: CallbackEvent::parse(&text(row, "event")?).ok_or_else(|| corrupt("event"))?,
        reason: opt_text(row, "reason")?,
        at: time(int(row, "at")?),
        status: DeliveryStatus::parse(&text(row, "status")?).ok_or_else(|| corrupt("status"))?,
        attempts: int(row, "attempts")?,
        last_status_code: opt_int(row, "last_status_code")?,
        last_error: opt_text(row, "last_error")?,
        created_at: time(int(row, "created_at")?),
        updated_at: time(int(row, "updated_at")?),
    })
}

/// Writes notifications and a job for each one that is new (a notification already written for
/// the same subject, channel and purpose is left alone). Within the caller's transaction.
pub(crate) async fn insert_notifications(
    tx: &mut Tx<'_>,
    list: &[NewNotification],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut created = 0;
    for n in list {
        let (key_id, payload) = match &n.payload {
            Some(p) => (Some(p.key_id.clone()), Some(p.bytes.clone())),
            None => (None, None),
        };
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notifications (subject_id, fiscal_code, channel, purpose, status, \
             attempts, send_at, expires_at, payload_key_id, payload, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'PENDING', 0, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (subject_id, channel, purpose) DO NOTHING RETURNING id",
        )
        .bind(n.subject_id.clone())
        .bind(n.fiscal_code.as_str().to_owned())
        .bind(n.channel.as_str())
        .bind(n.purpose.as_str())
        .bind(ms(&n.send_at))
        .bind(ms(&n.expires_at))
        .bind(key_id)
        .bind(payload)
        .bind(ms(&now))
        .bind(ms(&now))
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?;
        if let Some(id) = id {
            insert_job(tx, "notify", &id.to_string(), n.send_at, now).await?;
            created += 1;
        }
    }
    Ok(created)
}

async fn insert_job(
    tx: &mut Tx<'_>,
    kind: &str,
    subject: &str,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, message_id, status, attempts, run_at, created_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4)",
    )
    .bind(kind.to_owned())
    .bind(subject.to_owned())
    .bind(ms(&run_at))
    .bind(ms(&now))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Queues `processed`/`rejected` deliveries (with their jobs) for these messages whose service
/// has a callback, from their current status. Within the caller's transaction.
pub(crate) async fn queue_outcome_callbacks(
    store: &SqlStore,
    tx: &mut Tx<'_>,
    message_ids: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for chunk in message_ids.chunks(crate::sql_store::INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO callback_deliveries (service_id, message_id, event, reason, at, status, \
             attempts, created_at, updated_at) \
             SELECT m.service_id, m.id, CASE WHEN m.status = 'PROCESSED' THEN 'processed' \
             ELSE 'rejected' END, m.rejection_reason, {}, 'PENDING', 0, {}, {} \
             FROM messages m JOIN services s ON s.id = m.service_id \
             WHERE s.callback_url IS NOT NULL AND m.status IN ('PROCESSED', 'REJECTED') \
             AND m.id IN ({}) ON CONFLICT (message_id, event) DO NOTHING RETURNING id",
            in_list_from(store.backend, 1, 1),
            in_list_from(store.backend, 2, 1),
            in_list_from(store.backend, 3, 1),
            in_list_from(store.backend, 4, chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql)
            .bind(ms(&now))
            .bind(ms(&now))
            .bind(ms(&now));
        for id in chunk {
            q = q.bind(id.clone());
        }
        let ids = q.fetch_all(&mut **tx).await.map_err(backend)?;
        insert_jobs(store, tx, "callback", &ids, now).await?;
    }
    Ok(())
}

async fn insert_jobs(
    store: &SqlStore,
    tx: &mut Tx<'_>,
    kind: &'static str,
    ids: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for chunk in ids.chunks(crate::sql_store::INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO jobs (kind, message_id, status, attempts, run_at, created_at) VALUES {}",
            values_list(store.backend, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q
                .bind(kind)
                .bind(id.to_string())
                .bind("queued")
                .bind(0_i64)
                .bind(ms(&now))
                .bind(ms(&now));
        }
        q.execute(&mut **tx).await.map_err(backend)?;
    }
    Ok(())
}

/// Requeues a job at `retry_at` or removes it.
async fn reschedule_job(
    tx: &mut Tx<'_>,
    job_id: i64,
    retry_at: Option<DateTime<Utc>>,
    error: Option<&str>,
) -> StoreResult<()> {
    match retry_at {
        Some(at) => {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', run_at = $1, last_error = $2 WHERE id = $3",
            )
            .bind(ms(&at))
            .bind(error.map(str::to_owned))
            .bind(job_id)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        }
        None => {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(job_id)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}

impl SqlStore {
    pub(crate) async fn save_citizen_impl(
        &self,
        p: &CitizenProfile,
        expected_version: Option<i64>,
        validation: Option<&NewEmailValidation>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let email = p.email.as_ref().map(|e| e.as_str().to_owned());
        match expected_version {
            None => {
                let sql = format!(
                    "INSERT INTO citizens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $15, $16)",
                    rows::CITIZEN_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(p.fiscal_code.as_str().to_owned())
                    .bind(email)
                    .bind(flag(p.is_email_validated))
                    .bind(flag(p.is_inbox_enabled))
                    .bind(flag(p.is_email_enabled))
                    .bind(flag(p.is_webhook_enabled))
                    .bind(to_json(&p.preferred_languages))
                    .bind(p.preference_mode.as_str())
                    .bind(p.settings_version)
                    .bind(to_json(&p.blocked_channels))
                    .bind(p.version)
                    .bind(ms(&p.created_at))
                    .bind(ms(&p.updated_at))
                    .bind(p.accepted_tos_version)
                    .bind(flag(p.reminders_enabled))
                    .bind(flag(p.push_anonymous))
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_if_unique("a profile for this citizen exists"))?;
            }
            Some(expected) => {
                let done = sqlx::query(
                    "UPDATE citizens SET email = $1, is_email_validated = $2, \
                     is_inbox_enabled = $3, is_email_enabled = $4, is_webhook_enabled = $5, \
                     preferred_languages = $6, preference_mode = $7, settings_version = $8, \
                     blocked_channels = $9, version = $10, updated_at = $11, \
                     accepted_tos_version = $12, reminders_enabled = $13, push_anonymous = $14 \
                     WHERE fiscal_code = $15 AND version = $16",
                )
                .bind(email)
                .bind(flag(p.is_email_validated))
                .bind(flag(p.is_inbox_enabled))
                .bind(flag(p.is_email_enabled))
                .bind(flag(p.is_webhook_enabled))
                .bind(to_json(&p.preferred_languages))
                .bind(p.preference_mode.as_str())
                .bind(p.settings_version)
                .bind(to_json(&p.blocked_channels))
                .bind(p.version)
                .bind(ms(&p.updated_at))
                .bind(p.accepted_tos_version)
                .bind(flag(p.reminders_enabled))
                .bind(flag(p.push_anonymous))
                .bind(p.fiscal_code.as_str().to_owned())
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
                if done == 0 {
                    let stored: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM citizens WHERE fiscal_code = $1")
                            .bind(p.fiscal_code.as_str().to_owned())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(backend)?;
                    return Err(match stored {
                        Some(v) => StoreError::Conflict(format!("stale version: stored {v}")),
                        None => StoreError::NotFound("citizen profile".into()),
                    });
                }
            }
        }
        if let Some(v) = validation {
            sqlx::query("DELETE FROM email_validations WHERE fiscal_code = $1")
                .bind(p.fiscal_code.as_str().to_owned())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query(
                "INSERT INTO email_validations (id, token_hash, fiscal_code, email, expires_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(v.id.clone())
            .bind(v.token_hash.clone())
            .bind(p.fiscal_code.as_str().to_owned())
            .bind(v.email.clone())
            .bind(ms(&v.expires_at))
            .bind(ms(&p.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            insert_notifications(&mut tx, std::slice::from_ref(&v.notification), p.updated_at)
                .await?;
        }
        tx.commit().await.map_err(backend)
    }

    pub(crate) async fn validate_email_impl(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<FiscalCode>> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "SELECT fiscal_code, email, expires_at FROM email_validations WHERE token_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let fiscal_code = parsed(&row, "fiscal_code", FiscalCode::parse)?;
        let email = text(&row, "email")?;
        let live = int(&row, "expires_at")? > ms(&now);
        let validated = if live {
            sqlx::query(
                "UPDATE citizens SET is_email_validated = 1, updated_at = $1 \
                 WHERE fiscal_code = $2 AND email = $3",
            )
            .bind(ms(&now))
            .bind(fiscal_code.as_str().to_owned())
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected()
                > 0
        } else {
            false
        };
        // A used or expired token is gone; a used one takes the citizen's others with it.
        let sql = if validated {
            "DELETE FROM email_validations WHERE fiscal_code = $1"
        } else {
            "DELETE FROM email_validations WHERE token_hash = $1"
        };
        let key = if validated {
            fiscal_code.as_str().to_owned()
        } else {
            token_hash.to_owned()
        };
        sqlx::query(sql)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(validated.then_some(fiscal_code))
    }

    pub(crate) async fn delete_citizen_impl(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let fc = fiscal_code.as_str().to_owned();
        let mut tx = self.write.begin().await.map_err(backend)?;
        let mut held = 0;
        sqlx::query(
            "DELETE FROM jobs WHERE kind = 'notify' AND message_id IN \
             (SELECT CAST(id AS TEXT) FROM notifications WHERE fiscal_code = $1)",
        )
        .bind(fc.clone())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for table in [
            "citizens",
            "service_preferences",
            "inbox",
            "citizen_sessions",
            "email_validations",
            "notifications",
        ] {
            held += sqlx::query(&format!("DELETE FROM {table} WHERE fiscal_code = $1"))
                .bind(fc.clone())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        // The enti keep a status record of what they sent, without the content.
        held += sqlx::query(
            "UPDATE messages SET content = $1, content_key_id = $2, updated_at = $3 \
             WHERE fiscal_code = $4 AND content_key_id <> $5",
        )
        .bind(Vec::<u8>::new())
        .bind(messaging::model::ERASED_KEY_ID)
        .bind(ms(&now))
        .bind(fc)
        .bind(messaging::model::ERASED_KEY_ID)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(held > 0)
    }

    pub(crate) async fn create_session_impl(
        &self,
        s: &CitizenSession,
        token_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO citizen_sessions (id, token_hash, fiscal_code, method, client_ip, \
             created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id.clone())
        .bind(token_hash.to_owned())
        .bind(s.fiscal_code.as_str().to_owned())
        .bind(s.method.clone())
        .bind(s.client_ip.clone())
        .bind(ms(&s.created_at))
        .bind(ms(&s.expires_at))
        .bind(s.revoked_at.as_ref().map(ms))
        .execute(&self.write)
        .await
        .map_err(conflict_if_unique("a session with this id or token exists"))?;
        Ok(())
    }

    pub(crate) async fn session_by_token_hash_impl(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CitizenSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM citizen_sessions WHERE token_hash = $1 \
             AND revoked_at IS NULL AND expires_at > $2"
        );
        sqlx::query(&sql)
            .bind(token_hash.to_owned())
            .bind(ms(&now))
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(session)
            .transpose()
    }

    pub(crate) async fn sessions_of_impl(
        &self,
        fiscal_code: &FiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<CitizenSession>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM citizen_sessions WHERE fiscal_code = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(fiscal_code.as_str().to_owned())
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(session)
            .collect()
    }

    pub(crate) async fn revoke_sessions_where(
        &self,
        fiscal_code: &FiscalCode,
        id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let q = match id {
            Some(id) => sqlx::query(
                "UPDATE citizen_sessions SET revoked_at = $1 WHERE fiscal_code = $2 \
                 AND revoked_at IS NULL AND expires_at > $3 AND id = $4",
            )
            .bind(ms(&now))
            .bind(fiscal_code.as_str().to_owned())
            .bind(ms(&now))
            .bind(id.to_owned()),
            None => sqlx::query(
                "UPDATE citizen_sessions SET revoked_at = $1 WHERE fiscal_code = $2 \
                 AND revoked_at IS NULL AND expires_at > $3",
            )
            .bind(ms(&now))
            .bind(fiscal_code.as_str().to_owned())
            .bind(ms(&now)),
        };
        Ok(q.execute(&self.write)
            .await
            .map_err(backend)?
            .rows_affected())
    }

    pub(crate) async fn inbox_page_impl(
        &self,
        fiscal_code: &FiscalCode,
        query: &InboxQuery,
    ) -> StoreResult<Vec<InboxItem>> {
        let mut p = Params(0);
        let mut sql = format!(
            "SELECT {INBOX_COLUMNS} {INBOX_FROM} WHERE i.fiscal_code = {}",
            p.next(),
        );
        if query.archived.is_some() {
            sql.push_str(&format!(" AND i.is_archived = {}", p.next()));
        }
        if query.service.is_some() {
            sql.push_str(&format!(" AND i.service_id = {}", p.next()));
        }
        if query.maximum_id.is_some() {
            sql.push_str(&format!(" AND i.message_id < {}", p.next()));
        }
        if query.minimum_id.is_some() {
            sql.push_str(&format!(" AND i.message_id > {}", p.next()));
        }
        // Paging back from `minimum_id` alone takes the items just above it.
        let ascending = query.minimum_id.is_some() && query.maximum_id.is_none();
        sql.push_str(&format!(
            " ORDER BY i.message_id {} LIMIT {}",
            if ascending { "ASC" } else { "DESC" },
            p.next()
        ));
        let mut q = sqlx::query(&sql).bind(fiscal_code.as_str().to_owned());
        if let Some(a) = query.archived {
            q = q.bind(flag(a));
        }
        if let Some(s) = &query.service {
            q = q.bind(s.to_string());
        }
        if let Some(id) = &query.maximum_id {
            q = q.bind(id.to_string());
        }
        if let Some(id) = &query.minimum_id {
            q = q.bind(id.to_string());
        }
        let mut items = q
            .bind(query.limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(inbox_item)
            .collect::<StoreResult<Vec<_>>>()?;
        if ascending {
            items.reverse();
        }
        Ok(items)
    }

    pub(crate) async fn inbox_item_impl(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
    ) -> StoreResult<Option<InboxItem>> {
        let sql = format!(
            "SELECT {INBOX_COLUMNS} {INBOX_FROM} WHERE i.fiscal_code = $1 AND i.message_id = $2"
        );
        sqlx::query(&sql)
            .bind(fiscal_code.as_str().to_owned())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?
            .as_ref()
            .map(inbox_item)
            .transpose()
    }

    pub(crate) async fn change_message_status_impl(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
        change: StatusChange,
        read_callback: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(bool, bool)>> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let row = sqlx::query(
            "SELECT is_read, is_archived, service_id FROM inbox \
             WHERE fiscal_code = $1 AND message_id = $2",
        )
        .bind(fiscal_code.as_str().to_owned())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let was_read = boolean(&row, "is_read")?;
        let service = text(&row, "service_id")?;
        let is_read = was_read || change.read == Some(true);
        let is_archived = change.archived.unwrap_or(boolean(&row, "is_archived")?);
        sqlx::query(
            "UPDATE inbox SET is_read = $1, is_archived = $2 \
             WHERE fiscal_code = $3 AND message_id = $4",
        )
        .bind(flag(is_read))
        .bind(flag(is_archived))
        .bind(fiscal_code.as_str().to_owned())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if is_read && !was_read {
            sqlx::query("UPDATE messages SET is_read = 1, updated_at = $1 WHERE id = $2")
                .bind(ms(&now))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            if read_callback {
                let delivery: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO callback_deliveries (service_id, message_id, event, reason, at, \
                     status, attempts, created_at, updated_at) \
                     SELECT id, $1, 'read', NULL, $2, 'PENDING', 0, $3, $4 FROM services \
                     WHERE id = $5 AND callback_url IS NOT NULL \
                     ON CONFLICT (message_id, event) DO NOTHING RETURNING id",
                )
                .bind(id.to_string())
                .bind(ms(&now))
                .bind(ms(&now))
                .bind(ms(&now))
                .bind(service)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
                if let Some(d) = delivery {
                    insert_job(&mut tx, "callback", &d.to_string(), now, now).await?;
                }
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(Some((is_read, is_archived)))
    }

    pub(crate) async fn messages_to_impl(
        &self,
        fiscal_code: &FiscalCode,
    ) -> StoreResult<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE fiscal_code = $1 ORDER BY id",
            rows::MESSAGE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(fiscal_code.as_str().to_owned())
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(rows::message)
            .collect()
    }

    pub(crate) async fn notifications_where(
        &self,
        column: &str,
        key: String,
    ) -> StoreResult<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE {column} = $1 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(key)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(notification)
            .collect()
    }

    pub(crate) async fn get_notification_impl(&self, id: i64) -> StoreResult<Option<Notification>> {
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(backend)?
            .as_ref()
            .map(notification)
            .transpose()
    }

    pub(crate) async fn record_notification_attempt_impl(
        &self,
        id: i64,
        job_id: i64,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        let sql = if attempt.retry_at.is_none() {
            "UPDATE notifications SET status = $1, attempts = attempts + 1, last_error = $2, \
             updated_at = $3, payload = NULL, payload_key_id = NULL WHERE id = $4"
        } else {
            "UPDATE notifications SET status = $1, attempts = attempts + 1, last_error = $2, \
             updated_at = $3 WHERE id = $4"
        };
        sqlx::query(sql)
            .bind(attempt.status.clone())
            .bind(attempt.error.clone())
            .bind(ms(&now))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        reschedule_job(&mut tx, job_id, attempt.retry_at, attempt.error.as_deref()).await?;
        tx.commit().await.map_err(backend)
    }

    pub(crate) async fn set_callback_impl(
        &self,
        service: &ServiceId,
        config: Option<&CallbackConfig>,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE services SET callback_url = $1, callback_key_id = $2, callback_secret = $3 \
             WHERE id = $4",
        )
        .bind(config.map(|c| c.url.clone()))
        .bind(config.map(|c| c.secret.key_id.clone()))
        .bind(config.map(|c| c.secret.bytes.clone()))
        .bind(service.to_string())
        .execute(&self.write)
        .await
        .map_err(backend)?
        .rows_affected();
        crate::sql_store::found(done, "service")
    }

    pub(crate) async fn get_callback_impl(
        &self,
        service: &ServiceId,
    ) -> StoreResult<Option<CallbackConfig>> {
        let row = sqlx::query(
            "SELECT callback_url, callback_key_id, callback_secret FROM services WHERE id = $1",
        )
        .bind(service.to_string())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let url = opt_text(&row, "callback_url")?;
        let secret = opt_sealed(&row, "callback_key_id", "callback_secret")?;
        Ok(match (url, secret) {
            (Some(url), Some(secret)) => Some(CallbackConfig { url, secret }),
            _ => None,
        })
    }

    pub(crate) async fn get_callback_delivery_impl(
        &self,
        id: i64,
    ) -> StoreResult<Option<CallbackDelivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(backend)?
            .as_ref()
            .map(delivery)
            .transpose()
    }

    pub(crate) async fn record_callback_attempt_impl(
        &self,
        id: i64,
        job_id: i64,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE callback_deliveries SET status = $1, attempts = attempts + 1, \
             last_status_code = $2, last_error = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(attempt.status.clone())
        .bind(attempt.status_code)
        .bind(attempt.error.clone())
        .bind(ms(&now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        reschedule_job(&mut tx, job_id, attempt.retry_at, attempt.error.as_deref()).await?;
        tx.commit().await.map_err(backend)
    }

    pub(crate) async fn callback_deliveries_impl(
        &self,
        service: Option<&ServiceId>,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<CallbackDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE ($1 = '' OR service_id = $2) \
             AND id < $3 ORDER BY id DESC LIMIT $4"
        );
        let s = service.map(ToString::to_string).unwrap_or_default();
        sqlx::query(&sql)
            .bind(s.clone())
            .bind(s)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?
            .iter()
            .map(delivery)
            .collect()
    }
}
