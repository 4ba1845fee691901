//! The inbox (`reference/io.md` §3.1): `GET /messages` (newest first, ULID cursors, filters),
//! `GET /messages/{id}` with the content, and `PUT /messages/{id}/status` (read, archive).
//!
//! Subjects are stored sealed, so the text filter (`search`) opens the titles of the citizen's
//! own inbox chunk by chunk and keeps those that contain the text: a linear scan, bounded by
//! the size of one citizen's inbox.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::jobs::JobKind;
use kernel::values::{FiscalCode, MessageId, ServiceId};
use messaging::citizen::{InboxItem, InboxQuery, StatusChange};
use messaging::model::PreferenceMode;

use super::wire::{CitizenMessage, InboxItemView, InboxPage, MessageStatusView};
use super::{invalid, message_not_found, open_title, query_pairs, refuse_unknown};
use crate::citizen_auth::CitizenCaller;
use crate::problem::ApiResult;
use crate::request::{Body, json_body};
use crate::state::AppState;

/// Items read per query while filtering by text.
const SEARCH_CHUNK: i64 = 500;
/// The longest text filter accepted, in characters.
const SEARCH_MAX: usize = 100;

/// The parameters of `GET /messages`, parsed.
#[derive(Debug)]
struct ListQuery {
    page_size: usize,
    maximum_id: Option<MessageId>,
    minimum_id: Option<MessageId>,
    archived: bool,
    service: Option<ServiceId>,
    /// Lower-cased.
    search: Option<String>,
}

fn parse_list_query(uri: &Uri) -> ApiResult<ListQuery> {
    let mut errors = FieldErrors::default();
    let pairs = query_pairs(
        uri,
        &[
            "page_size",
            "maximum_id",
            "minimum_id",
            "archived",
            "service_id",
            "search",
            "enrich_result_data",
        ],
        &mut errors,
    )?;
    let mut q = ListQuery {
        page_size: 100,
        maximum_id: None,
        minimum_id: None,
        archived: false,
        service: None,
        search: None,
    };
    let boolean = |v: &str, name: &str, errors: &mut FieldErrors| match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            errors.push(name, "must be true or false");
            None
        }
    };
    for (k, v) in &pairs {
        match k.as_str() {
            "page_size" => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => q.page_size = n,
                _ => errors.push("page_size", "must be an integer from 1 to 100"),
            },
            "maximum_id" => match MessageId::parse(v) {
                Ok(id) => q.maximum_id = Some(id),
                Err(e) => errors.push("maximum_id", e.reason),
            },
            "minimum_id" => match MessageId::parse(v) {
                Ok(id) => q.minimum_id = Some(id),
                Err(e) => errors.push("minimum_id", e.reason),
            },
            "archived" => {
                if let Some(b) = boolean(v, "archived", &mut errors) {
                    q.archived = b;
                }
            }
            "service_id" => match ServiceId::parse(v) {
                Ok(id) => q.service = Some(id),
                Err(e) => errors.push("service_id", e.reason),
            },
            "search" => {
                let text = v.trim();
                let n = text.chars().count();
                if (1..=SEARCH_MAX).contains(&n) {
                    q.search = Some(text.to_lowercase());
                } else {
                    errors.push(
                        "search",
                        format!(
                            "must be 1 to {SEARCH_MAX} characters (not counting spaces around)"
                        ),
                    );
                }
            }
            // IO's switch: Sportello always enriches the items.
            "enrich_result_data" => {
                boolean(v, "enrich_result_data", &mut errors);
            }
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (q.minimum_id, q.maximum_id)
        && min >= max
    {
        errors.push("minimum_id", "must be lower than maximum_id");
    }
    errors.finish(q).map_err(|e| invalid("Invalid request", e))
}

/// `GET /messages`: a page of the inbox, newest first. `prev` is the newest item (pass it as
/// `minimum_id` for newer messages); `next` is the oldest item when older ones exist (pass it
/// as `maximum_id`). With only `minimum_id`, the page is the one just above it and `next` is
/// always given (the client came from below).
pub async fn list_messages(
    State(state): State<AppState>,
    caller: CitizenCaller,
    uri: Uri,
) -> ApiResult<Json<InboxPage>> {
    let q = parse_list_query(&uri)?;
    let fc = &caller.fiscal_code;
    let want = q.page_size + 1;
    let upward = q.minimum_id.is_some() && q.maximum_id.is_none();
    let chunk = if q.search.is_some() {
        SEARCH_CHUNK
    } else {
        want as i64
    };
    let (mut max, mut min) = (q.maximum_id, q.minimum_id);
    let mut found: Vec<(InboxItem, String)> = Vec::with_capacity(want);
    'scan: loop {
        let query = InboxQuery {
            archived: Some(q.archived),
            service: q.service,
            maximum_id: max,
            minimum_id: min,
            limit: chunk,
        };
        let mut items = state.store.inbox_page(fc, &query).await?;
        let exhausted = (items.len() as i64) < chunk;
        // Scan order: downwards (newest first), or upwards from `minimum_id`.
        items.sort_by_key(|i| std::cmp::Reverse(i.message_id));
        if upward {
            items.reverse();
        }
        match items.last() {
            Some(last) if upward => min = Some(last.message_id),
            Some(last) => max = Some(last.message_id),
            None => break,
        }
        for item in items {
            let title = open_title(&state, &item)?;
            let keep = q
                .search
                .as_ref()
                .is_none_or(|needle| title.to_lowercase().contains(needle.as_str()));
            if keep {
                found.push((item, title));
                if found.len() == want {
                    break 'scan;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    let more = found.len() > q.page_size;
    found.truncate(q.page_size);
    if upward {
        found.reverse();
    }
    let fiscal_code = fc.as_str();
    let items: Vec<InboxItemView> = found
        .into_iter()
        .map(|(item, title)| InboxItemView::new(fiscal_code, &item, title))
        .collect();
    let prev = items.first().map(|i| i.id.clone());
    let next = if upward || more {
        items.last().map(|i| i.id.clone())
    } else {
        None
    };
    Ok(Json(InboxPage { items, prev, next }))
}

fn parse_id(raw: &str) -> ApiResult<MessageId> {
    MessageId::parse(raw).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.push("id", e.reason);
        invalid("Invalid request", errors)
    })
}

/// The citizen's inbox entry for `id`; someone else's message is as unknown as a missing one.
async fn own_item(state: &AppState, fc: &FiscalCode, id: &MessageId) -> ApiResult<InboxItem> {
    state
        .store
        .inbox_item(fc, id)
        .await?
        .ok_or_else(message_not_found)
}

/// `GET /messages/{id}`: the inbox item and the message content.
pub async fn get_message(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CitizenMessage>> {
    let id = parse_id(&id)?;
    let fc = &caller.fiscal_code;
    let item = own_item(&state, fc, &id).await?;
    let record = state
        .store
        .get_message(&id)
        .await?
        .filter(|r| &r.fiscal_code == fc)
        .ok_or_else(message_not_found)?;
    let content: serde_json::Value =
        crate::request::open_content(&state.keyring, &record)?.ok_or_else(message_not_found)?;
    let title = open_title(&state, &item)?;
    Ok(Json(CitizenMessage {
        item: InboxItemView::new(fc.as_str(), &item, title),
        content,
    }))
}

/// IO `MessageStatusChange`, parsed.
fn parse_status_change(value: &serde_json::Value) -> Result<StatusChange, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(o) = ObjectReader::new(value, "", &mut errors) else {
        return Err(errors);
    };
    let kind = if o.required("change_type", &mut errors).is_some() {
        o.one_of(
            "change_type",
            &["reading", "archiving", "bulk"],
            &mut errors,
        )
    } else {
        None
    };
    let Some(kind) = kind else {
        return Err(errors);
    };
    let allowed: &[&str] = match kind {
        "reading" => &["change_type", "is_read"],
        "archiving" => &["change_type", "is_archived"],
        _ => &["change_type", "is_read", "is_archived"],
    };
    refuse_unknown(&o, allowed, &mut errors);
    let flag = |name: &str, errors: &mut FieldErrors| {
        if allowed.contains(&name) && o.required(name, errors).is_some() {
            o.boolean(name, errors)
        } else {
            None
        }
    };
    let read = flag("is_read", &mut errors);
    let archived = flag("is_archived", &mut errors);
    if read == Some(false) {
        errors.push(
            "is_read",
            "a message cannot be marked unread: only true is accepted",
        );
    }
    errors.finish(StatusChange {
        read: read.filter(|r| *r),
        archived,
    })
}

/// `PUT /messages/{id}/status`: marks the message read and/or (un)archives it; 200 with the
/// flags. The first reading queues a `read` event for the sender's callback, unless the
/// citizen denied the service access to the read status.
pub async fn change_status(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<MessageStatusView>> {
    let id = parse_id(&id)?;
    let value = json_body(&headers, &body)?;
    let change =
        parse_status_change(&value).map_err(|errors| invalid("Invalid payload", errors))?;
    let fc = &caller.fiscal_code;
    let item = own_item(&state, fc, &id).await?;
    let mut read_callback = true;
    if change.read.is_some()
        && !item.is_read
        && let Some(profile) = state.store.get_citizen(fc).await?
        && profile.preference_mode != PreferenceMode::Legacy
        && let Some(p) = state
            .store
            .get_service_preference(fc, &item.service_id, profile.settings_version)
            .await?
    {
        read_callback = p.can_access_message_read_status;
    }
    let (is_read, is_archived) = state
        .store
        .change_message_status(fc, &id, change, read_callback, state.clock.now())
        .await?
        .ok_or_else(message_not_found)?;
    if change.read.is_some() && !item.is_read {
        state.jobs_ready.ready(JobKind::Callback);
    }
    Ok(Json(MessageStatusView {
        is_read,
        is_archived,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(errors: &FieldErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn the_three_kinds_of_status_change_parse() {
        let r = parse_status_change(&json!({"change_type": "reading", "is_read": true})).unwrap();
        assert_eq!((r.read, r.archived), (Some(true), None));
        let a = parse_status_change(&json!({"change_type": "archiving", "is_archived": false}))
            .unwrap();
        assert_eq!((a.read, a.archived), (None, Some(false)));
        let b = parse_status_change(
            &json!({"change_type": "bulk", "is_archived": true, "is_read": true}),
        )
        .unwrap();
        assert_eq!((b.read, b.archived), (Some(true), Some(true)));
    }

    #[test]
    fn marking_unread_and_mixed_changes_are_refused() {
        let e =
            parse_status_change(&json!({"change_type": "reading", "is_read": false})).unwrap_err();
        assert_eq!(names(&e), ["is_read"]);
        let e = parse_status_change(&json!({"change_type": "reading", "is_archived": true}))
            .unwrap_err();
        assert_eq!(names(&e), ["is_archived", "is_read"]);
        let e = parse_status_change(&json!({"change_type": "bulk", "is_read": "yes"})).unwrap_err();
        assert_eq!(names(&e), ["is_read", "is_archived"]);
        let e = parse_status_change(&json!({"change_type": "deleting"})).unwrap_err();
        assert_eq!(names(&e), ["change_type"]);
    }
}
