//! SQL shared by the messaging ports: row readers for sessions, inbox items, notifications and
//! callback deliveries, and the outbox writers that queue notifications and callbacks with
//! their jobs inside the caller's transaction.

use crate::prelude::*;

pub(crate) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Numbered placeholders for a statement built piece by piece (ascending, each used once).
pub(crate) struct Params(pub(crate) usize);

impl Params {
    pub(crate) fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

pub(crate) const SESSION_COLUMNS: &str =
    "id, fiscal_code, method, client_ip, created_at, expires_at, revoked_at";

pub(crate) fn session(row: &AnyRow) -> StoreResult<CitizenSession> {
    Ok(CitizenSession {
        id: text(row, "id")?,
        fiscal_code: parsed(row, "fiscal_code", FiscalCode::parse)?,
        method: text(row, "method")?,
        client_ip: opt_text(row, "client_ip")?,
        created_at: at(row, "created_at")?,
        expires_at: at(row, "expires_at")?,
        revoked_at: opt_at(row, "revoked_at")?,
    })
}

pub(crate) fn opt_int(row: &AnyRow, col: &str) -> StoreResult<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(backend)
}

pub(crate) fn opt_sealed(
    row: &AnyRow,
    key_col: &str,
    col: &str,
) -> StoreResult<Option<SealedContent>> {
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

pub(crate) const INBOX_COLUMNS: &str = "i.message_id, i.service_id, s.name AS service_name, \
    s.organization_name, s.organization_fiscal_code, i.created_at, i.title_key_id, i.title, \
    i.has_payment, i.rpt_id, i.due_date, i.is_read, i.is_archived, i.time_to_live";

pub(crate) const INBOX_FROM: &str = "FROM inbox i JOIN services s ON s.id = i.service_id";

pub(crate) fn inbox_item(row: &AnyRow) -> StoreResult<InboxItem> {
    Ok(InboxItem {
        message_id: parsed(row, "message_id", MessageId::parse)?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        service_name: text(row, "service_name")?,
        organization_name: text(row, "organization_name")?,
        organization_fiscal_code: text(row, "organization_fiscal_code")?,
        created_at: at(row, "created_at")?,
        title: opt_sealed(row, "title_key_id", "title")?.ok_or_else(|| corrupt("title"))?,
        has_payment: boolean(row, "has_payment")?,
        rpt_id: opt_text(row, "rpt_id")?,
        due_date: opt_at(row, "due_date")?,
        is_read: boolean(row, "is_read")?,
        is_archived: boolean(row, "is_archived")?,
        time_to_live: int(row, "time_to_live")?,
    })
}

pub(crate) const NOTIFICATION_COLUMNS: &str = "id, subject_id, fiscal_code, channel, purpose, status, \
    attempts, last_error, send_at, expires_at, payload_key_id, payload, created_at, updated_at";

pub(crate) fn notification(row: &AnyRow) -> StoreResult<Notification> {
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
        send_at: at(row, "send_at")?,
        expires_at: at(row, "expires_at")?,
        payload: opt_sealed(row, "payload_key_id", "payload")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

pub(crate) const DELIVERY_COLUMNS: &str = "id, service_id, message_id, event, reason, at, status, \
    attempts, last_status_code, last_error, created_at, updated_at";

pub(crate) fn delivery(row: &AnyRow) -> StoreResult<CallbackDelivery> {
    Ok(CallbackDelivery {
        id: int(row, "id")?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        message_id: parsed(row, "message_id", MessageId::parse)?,
        event: CallbackEvent::parse(&text(row, "event")?).ok_or_else(|| corrupt("event"))?,
        reason: opt_text(row, "reason")?,
        at: at(row, "at")?,
        status: DeliveryStatus::parse(&text(row, "status")?).ok_or_else(|| corrupt("status"))?,
        attempts: int(row, "attempts")?,
        last_status_code: opt_int(row, "last_status_code")?,
        last_error: opt_text(row, "last_error")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
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
            insert_job(tx, JobKind::Notify, &id.to_string(), n.send_at, now).await?;
            created += 1;
        }
    }
    Ok(created)
}

/// Queues `processed`/`rejected` deliveries (with their jobs) for these messages whose service
/// has a callback, from their current status. Within the caller's transaction.
pub(crate) async fn queue_outcome_callbacks(
    store: &SqlStore,
    tx: &mut Tx<'_>,
    message_ids: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for chunk in message_ids.chunks(INSERT_CHUNK) {
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
        insert_jobs(store.backend, tx, JobKind::Callback, &ids, now).await?;
    }
    Ok(())
}

impl SqlStore {
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
}
