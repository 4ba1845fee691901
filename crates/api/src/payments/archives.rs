//! Massive payment notices (Sportello's addition to GPD): `POST …/notices/archives` asks for
//! the notices of a filter's positions in one ZIP (202 with the archive id; a worker builds
//! it), `GET …/notices/archives/{id}` shows its state and counters, and `GET …/{id}/zip`
//! streams the ZIP once DONE (409 before).
//!
//! The ZIP is a file on the node whose worker built it: with several nodes on one PostgreSQL
//! database, a download reaching another node answers 404 unless the data directories are
//! shared (see `docs/notice-archives.md`).

use ::payments::model::PositionStatus;
use ::payments::ports::{ArchiveFilter, ArchiveStatus, NoticeArchive};
use ::payments::values::SegregationCode;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use kernel::FieldErrors;
use serde_json::{Value, json};

use super::auth::PaymentsCaller;
use crate::problem::ApiError;
use crate::request::{Body, json_body};
use crate::state::AppState;

type ApiResult<T> = Result<T, ApiError>;

const ACTOR: &str = "payments-key";

fn cx(state: &AppState) -> ops::payments::PayContext<'_> {
    ops::payments::PayContext {
        store: state.payments.as_ref(),
        clock: state.clock.as_ref(),
        jobs_ready: state.jobs_ready.as_ref(),
        notices: &state.notices,
    }
}

/// A date (`2027-01-31`, the whole UTC day: its start for `from`, its end for `to`) or an
/// RFC 3339 date-time.
fn instant(v: &Value, end_of_day: bool) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = if end_of_day {
            d.and_hms_milli_opt(23, 59, 59, 999)?
        } else {
            d.and_hms_opt(0, 0, 0)?
        };
        return Some(t.and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses `{status?: [...], dueDateFrom?, dueDateTo?, segregationCodes?: [...], language?}`,
/// naming every field at fault.
fn parse_request(body: &Value) -> ApiResult<(ArchiveFilter, String)> {
    let mut errors = FieldErrors::default();
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request(
            "Invalid archive request",
            "The body must be a JSON object.",
        ));
    };
    const KNOWN: [&str; 5] = [
        "status",
        "dueDateFrom",
        "dueDateTo",
        "segregationCodes",
        "language",
    ];
    for k in obj.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        errors.push(k.clone(), "unknown field");
    }
    let mut filter = ArchiveFilter::default();
    let list = |name: &str, errors: &mut FieldErrors| -> Vec<String> {
        match obj.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                errors.push(name, "must be an array of strings");
                Vec::new()
            }
        }
    };
    for s in list("status", &mut errors) {
        match PositionStatus::parse(&s) {
            Some(st) => filter.statuses.push(st),
            None => errors.push("status", format!("unknown status {s:?}")),
        }
    }
    for c in list("segregationCodes", &mut errors) {
        match SegregationCode::parse(&c) {
            Ok(code) => filter.segregation_codes.push(code),
            Err(_) => errors.push("segregationCodes", format!("{c:?} is not two digits")),
        }
    }
    for (name, end, slot) in [
        ("dueDateFrom", false, &mut filter.due_from),
        ("dueDateTo", true, &mut filter.due_to),
    ] {
        if let Some(v) = obj.get(name).filter(|v| !v.is_null()) {
            match instant(v, end) {
                Some(t) => *slot = Some(t),
                None => errors.push(name, "must be a date (YYYY-MM-DD) or an RFC 3339 date-time"),
            }
        }
    }
    if let (Some(a), Some(b)) = (filter.due_from, filter.due_to)
        && b < a
    {
        errors.push("dueDateTo", "must not be before dueDateFrom");
    }
    let language = match obj.get("language") {
        None | Some(Value::Null) => "it".to_owned(),
        Some(Value::String(l)) if ops::notice_archives::LANGUAGES.contains(&l.as_str()) => {
            l.clone()
        }
        Some(_) => {
            errors.push("language", "must be it, de or en");
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation {
            title: "Invalid archive request",
            errors,
        });
    }
    Ok((filter, language))
}

fn render(a: &NoticeArchive) -> Value {
    let mut v = json!({
        "id": a.id,
        "organizationFiscalCode": a.organization.as_str(),
        "status": a.status.as_str(),
        "language": a.language,
        "filter": {
            "status": a.filter.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "dueDateFrom": a.filter.due_from.map(|t| t.to_rfc3339()),
            "dueDateTo": a.filter.due_to.map(|t| t.to_rfc3339()),
            "segregationCodes": a.filter.segregation_codes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
        "total": a.total,
        "done": a.done,
        "failed": a.failed,
        "createdAt": a.created_at.to_rfc3339(),
        "updatedAt": a.updated_at.to_rfc3339(),
    });
    if let Some(e) = &a.error {
        v["error"] = json!(e);
    }
    v
}

/// `POST …/notices/archives`: 202 with the new archive's id and state.
pub async fn create(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let value = if body.0.is_empty() {
        json!({})
    } else {
        json_body(&headers, &body.0)?
    };
    let (filter, language) = parse_request(&value)?;
    let a = ops::notice_archives::request(
        cx(&state),
        &caller.profile.organization,
        filter,
        &language,
        ACTOR,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(render(&a))))
}

/// `GET …/notices/archives/{id}`: state and counters.
pub async fn get(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let a = ops::notice_archives::get(cx(&state), &caller.profile.organization, &id).await?;
    Ok(Json(render(&a)))
}

/// Reads the file in a blocking thread, 256 KiB at a time, into the response body.
fn file_body(file: std::fs::File) -> axum::body::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = file;
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            let chunk = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(bytes::Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            // A client gone: the receiver is dropped, and reading stops.
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// `GET …/notices/archives/{id}/zip`: the ZIP, streamed, once the archive is DONE.
pub async fn zip(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let a = ops::notice_archives::get(cx(&state), &caller.profile.organization, &id).await?;
    let path = match (a.status, &a.path) {
        (ArchiveStatus::Done, Some(path)) => path.clone(),
        (ArchiveStatus::Failed, _) => {
            return Err(ApiError::Conflict(
                "the archive failed; request a new one".into(),
            ));
        }
        _ => {
            return Err(ApiError::Conflict(format!(
                "the archive is not ready yet ({} of {} notices)",
                a.done + a.failed,
                a.total
            )));
        }
    };
    let opened = std::fs::File::open(&path).and_then(|f| f.metadata().map(|m| (f, m.len())));
    let (file, len) = match opened {
        Ok(found) => found,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found(
                "Archive file not found",
                "The archive's file is not on this node (it is kept where it was built).",
            ));
        }
        Err(e) => return Err(ApiError::Internal(format!("archive file: {e}"))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"avvisi-{}.zip\"", a.id),
            ),
        ],
        file_body(file),
    )
        .into_response())
}
