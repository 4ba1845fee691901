//! `GET /export`: everything held about the calling citizen (GDPR art. 15 and 20), as one JSON
//! document, or (`?format=csv`) their messages as CSV. Works without a profile.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use kernel::FieldErrors;
use kernel::values::{FiscalCode, MessageId, ServiceId};
use messaging::citizen::InboxQuery;
use messaging::content::format_timestamp;
use messaging::model::MessageRecord;
use serde::Serialize;
use serde_json::Value;

use super::wire::{CitizenProfileView, LoginView, ServicePreferenceView};
use super::{invalid, query_pairs};
use crate::citizen_auth::CitizenCaller;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Inbox entries read per query while collecting the archive flags.
const INBOX_CHUNK: i64 = 1_000;
/// Logins included.
const SESSIONS_MAX: i64 = 10_000;

#[derive(Debug, Serialize)]
struct ExportedPreference {
    service_id: String,
    #[serde(flatten)]
    preference: ServicePreferenceView,
}

#[derive(Debug, Serialize)]
struct ExportedMessage {
    id: String,
    sender_service_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    created_at: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejection_reason: Option<&'static str>,
    is_read: bool,
    /// Whether it is in the inbox's archive (`null` when it never reached the inbox).
    is_archived: Option<bool>,
    /// The content as sent; `null` once erased (account deleted).
    content: Option<Value>,
}

#[derive(Debug, Serialize)]
struct ExportedNotification {
    subject_id: String,
    channel: &'static str,
    purpose: &'static str,
    status: &'static str,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Serialize)]
struct Export {
    exported_at: String,
    fiscal_code: String,
    profile: Option<CitizenProfileView>,
    service_preferences: Vec<ExportedPreference>,
    sessions: Vec<LoginView>,
    messages: Vec<ExportedMessage>,
    notifications: Vec<ExportedNotification>,
    /// The debt positions the citizen owes or paid (payments domain).
    payments: Vec<Value>,
}

/// A message of the citizen, with what the export shows of it.
struct Held {
    record: MessageRecord,
    service_name: Option<String>,
    is_archived: Option<bool>,
    content: Option<Value>,
}

pub async fn export(
    State(state): State<AppState>,
    caller: CitizenCaller,
    uri: Uri,
) -> ApiResult<Response> {
    let mut errors = FieldErrors::default();
    let pairs = query_pairs(&uri, &["format"], &mut errors)?;
    let format = pairs.iter().find(|(k, _)| k == "format");
    let csv = match format.map(|(_, v)| v.as_str()) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            errors.push("format", "must be json or csv");
            false
        }
    };
    if !errors.is_empty() {
        return Err(invalid("Invalid request", errors));
    }
    let now = state.clock.now();
    let fc = &caller.fiscal_code;
    let messages = held_messages(&state, fc).await?;
    let date = now.format("%Y-%m-%d");
    if csv {
        let body = messages_csv(&messages);
        return Ok(attachment(
            body,
            "text/csv; charset=utf-8",
            &format!("sportello-export-{date}.csv"),
        ));
    }
    let profile = state.store.get_citizen(fc).await?;
    let preferences = state
        .store
        .get_preferences_of(std::slice::from_ref(fc))
        .await?;
    let sessions = state.store.sessions_of(fc, SESSIONS_MAX).await?;
    let notifications = state.store.notifications_of_citizen(fc).await?;
    let doc = Export {
        exported_at: format_timestamp(&now),
        fiscal_code: fc.to_string(),
        profile: profile.as_ref().map(CitizenProfileView::from),
        service_preferences: preferences
            .iter()
            .filter(|(owner, _)| owner == fc)
            .map(|(_, p)| ExportedPreference {
                service_id: p.service_id.to_string(),
                preference: ServicePreferenceView::from(p),
            })
            .collect(),
        sessions: sessions
            .iter()
            .map(|s| LoginView::new(s, &caller.session_id, now))
            .collect(),
        messages: messages
            .into_iter()
            .map(|m| ExportedMessage {
                id: m.record.id.to_string(),
                sender_service_id: m.record.service_id.to_string(),
                service_name: m.service_name,
                created_at: format_timestamp(&m.record.created_at),
                status: m.record.status.as_str(),
                rejection_reason: m.record.rejection_reason.map(|r| r.as_str()),
                is_read: m.record.is_read,
                is_archived: m.is_archived,
                content: m.content,
            })
            .collect(),
        notifications: notifications
            .iter()
            .map(|n| ExportedNotification {
                subject_id: n.subject_id.clone(),
                channel: n.channel.as_str(),
                purpose: n.purpose.as_str(),
                status: n.status.as_str(),
                created_at: format_timestamp(&n.created_at),
                updated_at: format_timestamp(&n.updated_at),
            })
            .collect(),
        payments: crate::payments::citizen::owed(&state, fc).await?,
    };
    let body = serde_json::to_string_pretty(&doc).map_err(ApiError::internal)?;
    Ok(attachment(
        body,
        "application/json",
        &format!("sportello-export-{date}.json"),
    ))
}

fn attachment(body: String, content_type: &'static str, filename: &str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Every message addressed to the citizen, oldest first, with its content opened.
async fn held_messages(state: &AppState, fc: &FiscalCode) -> ApiResult<Vec<Held>> {
    let records = state.store.messages_to(fc).await?;
    // Archive flags and service names from the inbox, read in chunks.
    let mut inbox: HashMap<MessageId, (bool, String)> = HashMap::new();
    let mut before = None;
    loop {
        let query = InboxQuery {
            archived: None,
            service: None,
            maximum_id: before,
            minimum_id: None,
            limit: INBOX_CHUNK,
        };
        let page = state.store.inbox_page(fc, &query).await?;
        let exhausted = (page.len() as i64) < INBOX_CHUNK;
        before = page.iter().map(|i| i.message_id).min();
        for i in page {
            inbox.insert(i.message_id, (i.is_archived, i.service_name));
        }
        if exhausted || before.is_none() {
            break;
        }
    }
    let mut names: HashMap<ServiceId, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let (is_archived, service_name) = match inbox.remove(&record.id) {
            Some((archived, name)) => (Some(archived), Some(name)),
            None => {
                let name = match names.get(&record.service_id) {
                    Some(n) => n.clone(),
                    None => {
                        let n = state
                            .store
                            .get_service(&record.service_id)
                            .await?
                            .map(|s| s.name);
                        names.insert(record.service_id, n.clone());
                        n
                    }
                };
                (None, name)
            }
        };
        let content = crate::request::open_content(&state.keyring, &record)?;
        out.push(Held {
            record,
            service_name,
            is_archived,
            content,
        });
    }
    Ok(out)
}

fn messages_csv(messages: &[Held]) -> String {
    let mut out = String::from(
        "id,created_at,sender_service_id,service_name,status,is_read,subject,markdown\r\n",
    );
    for m in messages {
        let text = |key: &str| {
            m.content
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let fields = [
            m.record.id.to_string(),
            format_timestamp(&m.record.created_at),
            m.record.service_id.to_string(),
            m.service_name.clone().unwrap_or_default(),
            m.record.status.as_str().to_owned(),
            m.record.is_read.to_string(),
            text("subject"),
            text("markdown"),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::csv::cell(&mut out, f);
        }
        out.push_str("\r\n");
    }
    out
}
