//! `/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports`: Sportello's bulk
//! import of debt positions (NDJSON of GPD's `PaymentPositionModel`, or the documented CSV),
//! streamed into stored lines and processed in the background; its progress (counters, read
//! in O(1)) and the outcome of every line. See `docs/PAYMENTS-IMPORT.md`.

use std::collections::HashMap;

use ::payments::import::{Import, ImportFormat, ImportId, ImportStatus, LineOutcome};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use messaging::content::format_timestamp;
use serde_json::{Value, json};

use super::auth::PaymentsCaller;
use super::gpd::{cx, flag};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Report lines read per page.
const REPORT_PAGE: i64 = 5_000;

fn format_of(q: &HashMap<String, String>, headers: &HeaderMap) -> ApiResult<ImportFormat> {
    let invalid = || {
        ApiError::bad_request(
            "Invalid import",
            "format must be `ndjson` (one PaymentPositionModel per line) or `csv` (the \
             documented columns).",
        )
    };
    match q.get("format") {
        Some(f) => ImportFormat::parse(f).ok_or_else(invalid),
        None => match crate::request::content_type(headers)
            .unwrap_or_default()
            .as_str()
        {
            "text/csv" => Ok(ImportFormat::Csv),
            _ => Ok(ImportFormat::Ndjson),
        },
    }
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    crate::messaging::messages::single_idempotency_header(headers)?
        .map(|v| {
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Invalid Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                    )
                })
        })
        .transpose()
}

/// `POST …/debtpositions/imports?format=ndjson|csv&toPublish=true`: 202 `{id}` once every
/// line is stored.
pub async fn create(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let format = format_of(&q, &headers)?;
    let to_publish = flag(&q, "toPublish")?;
    let key = idempotency_key(&headers)?;
    let mut upload = ops::imports::Upload::new(
        cx(&state),
        &state.keyring,
        &caller.profile,
        format,
        to_publish,
        key,
    )
    .with_max_bytes(MAX_UPLOAD_BYTES);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let step = match chunk {
            Err(_) => Err(ApiError::bad_request(
                "Invalid import",
                "The upload was interrupted.",
            )),
            Ok(chunk) => upload.push(&chunk).await.map_err(ApiError::from),
        };
        if let Err(e) = step {
            upload.abort().await;
            return Err(e);
        }
    }
    let (id, _) = upload.finish().await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string() }))).into_response())
}

async fn owned(state: &AppState, caller: &PaymentsCaller, id: &str) -> ApiResult<Import> {
    let not_found = || ApiError::not_found("Import not found", "No import with this ID.");
    let id = ImportId::parse(id).map_err(|_| not_found())?;
    state
        .payments
        .get_import(&id)
        .await?
        // An upload still in progress (or cut short) is not an import yet for the client.
        .filter(|i| i.status != ImportStatus::Receiving)
        .filter(|i| i.organization == caller.profile.organization)
        .ok_or_else(not_found)
}

fn view(i: &Import) -> Value {
    let pending = i.pending();
    json!({
        "id": i.id.to_string(),
        "status": i.status.as_str(),
        "format": i.format.as_str(),
        "toPublish": i.to_publish,
        "total": i.total,
        "created": i.created,
        "duplicates": i.duplicates,
        "rejected": i.rejected,
        "pending": pending,
        "progress": if i.total == 0 { 1.0 } else { (i.total - pending) as f64 / i.total as f64 },
        "createdAt": format_timestamp(&i.created_at),
        "updatedAt": format_timestamp(&i.updated_at),
    })
}

/// `GET …/imports/{importid}`: status and counters (stored with every chunk: nothing counted).
pub async fn get(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_org, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(view(&owned(&state, &caller, &id).await?)))
}

/// `GET …/imports/{importid}/report`: one NDJSON line `{line, outcome, iupd, reason}` per
/// upload line, streamed page by page.
pub async fn report(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let import = owned(&state, &caller, &id).await?;
    let store = state.payments.clone();
    let import_id = import.id;
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        async move {
            let after = after?;
            let rows = match store.import_report(&import_id, after, REPORT_PAGE).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error.cause = %e, "import report page failed");
                    return Some((Err(std::io::Error::other("report failed")), None));
                }
            };
            let next = rows.last().map(|r| r.line)?;
            let mut text = String::new();
            for r in rows {
                debug_assert!(r.outcome != LineOutcome::Pending || r.reason.is_none());
                text.push_str(&serde_json::to_string(&r).unwrap_or_default());
                text.push('\n');
            }
            Some((Ok::<_, std::io::Error>(text), Some(next)))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(pages),
    )
        .into_response())
}
