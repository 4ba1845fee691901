//! `/api/v1/batches`: upload a batch (NDJSON or CSV, streamed), read its progress, cancel it,
//! and download the outcome of every line.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use kernel::values::BatchId;
use messaging::batch::Format;
use messaging::content::format_timestamp;
use messaging::model::{Batch, BatchStatus, RowStatus};
use serde::{Deserialize, Serialize};

use crate::auth::ServiceCaller;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use ops::batches::Ingest;

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// A batch taken in charge: every line is stored, processing goes on in the background.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedBatch {
    /// The ID of the batch (a ULID): see getBatch.
    #[schema(example = "01J9ZQ3V5T8K2M4N6P8R0S2T4V")]
    pub id: String,
}

/// The progress of a batch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    /// The ID of the batch (a ULID).
    #[schema(example = "01J9ZQ3V5T8K2M4N6P8R0S2T4V")]
    pub id: String,
    #[schema(schema_with = crate::messaging::openapi::batch_status)]
    pub status: &'static str,
    #[schema(schema_with = crate::messaging::openapi::batch_format)]
    pub format: String,
    /// The lines of the upload that stand for a message (a CSV header and blank lines
    /// excluded).
    #[schema(minimum = 0, example = 1000)]
    pub total: i64,
    /// Lines whose message was accepted (and created).
    #[schema(minimum = 0, example = 990)]
    pub accepted: i64,
    /// Lines refused: see getBatchReport for the reason of each.
    #[schema(minimum = 0, example = 5)]
    pub rejected: i64,
    /// Lines with no outcome yet (`total - accepted - rejected`; 0 once cancelled).
    #[schema(minimum = 0, example = 5)]
    pub pending: i64,
    /// Lines that will not be sent because the batch was cancelled before their turn (the
    /// report's `cancelled` lines).
    #[schema(minimum = 0, example = 0)]
    pub cancelled: i64,
    /// Accepted messages already PROCESSED (in the citizens' inboxes).
    #[schema(minimum = 0, example = 900)]
    pub processed: i64,
    /// Share of lines with an outcome, 0 to 1.
    #[schema(minimum = 0, maximum = 1, example = 0.995)]
    pub progress: f64,
    /// When the batch was uploaded (UTC).
    #[schema(format = DateTime, example = "2018-10-13T00:00:00.000Z")]
    pub created_at: String,
    /// When the batch last changed (UTC).
    #[schema(format = DateTime, example = "2018-10-13T00:00:00.000Z")]
    pub updated_at: String,
}

fn view(b: &Batch, processed: i64) -> BatchView {
    let unsent = (b.total - b.accepted - b.rejected).max(0);
    // The report calls the lines a cancelled batch never reached `cancelled`: so do the
    // counters.
    let (pending, cancelled) = if b.status == BatchStatus::Cancelled {
        (0, unsent)
    } else {
        (unsent, 0)
    };
    BatchView {
        id: b.id.to_string(),
        status: b.status.as_str(),
        format: b.format.as_str().to_owned(),
        total: b.total,
        accepted: b.accepted,
        rejected: b.rejected,
        pending,
        cancelled,
        processed,
        // A batch is shown only once sealed, with at least one line; a running batch is
        // never reported complete.
        progress: match (b.status, b.total) {
            (BatchStatus::Running, 0) => 0.0,
            (_, 0) => 1.0,
            (_, total) => (total - pending) as f64 / total as f64,
        },
        created_at: format_timestamp(&b.created_at),
        updated_at: format_timestamp(&b.updated_at),
    }
}

fn format_of(headers: &HeaderMap) -> ApiResult<Format> {
    let ct = crate::request::content_type(headers).unwrap_or_default();
    if ct == "application/x-ndjson" || ct == "application/ndjson" {
        Ok(Format::Ndjson)
    } else if ct == "text/csv" {
        Ok(Format::Csv)
    } else {
        Err(ApiError::bad_request(
            "Invalid batch",
            "Content-Type must be application/x-ndjson (one NewMessage per line) or text/csv \
             (see the documented columns).",
        ))
    }
}

/// `POST /batches`: 202 `{id}` once every line is stored; processing goes on in the background.
pub async fn create(
    State(state): State<AppState>,
    caller: ServiceCaller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let format = format_of(&headers)?;
    let key = crate::messaging::messages::single_idempotency_header(&headers)?
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
        .transpose()?;
    let mut ingest = Ingest::new(state.ops(), &state.keyring, &caller.service, format, key)
        .with_key_hash(caller.key_hash.clone())
        .with_max_bytes(MAX_UPLOAD_BYTES);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let step = match chunk {
            Err(_) => Err(ApiError::bad_request(
                "Invalid batch",
                "The upload was interrupted.",
            )),
            Ok(chunk) => ingest.push(&chunk).await.map_err(ApiError::from),
        };
        if let Err(e) = step {
            ingest.abort().await;
            return Err(e);
        }
    }
    let (id, _) = ingest.finish().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CreatedBatch { id: id.to_string() }),
    )
        .into_response())
}

async fn owned(state: &AppState, caller: &ServiceCaller, id: &str) -> ApiResult<Batch> {
    let not_found = || ApiError::not_found("Batch not found", "No batch with this ID.");
    let id = BatchId::parse(id).map_err(|_| not_found())?;
    let batch = state
        .store
        .get_batch(&id)
        .await?
        // An upload still in progress (or cut short) has no batch yet for the client.
        .filter(|b| b.sealed_at.is_some())
        .ok_or_else(not_found)?;
    if batch.service_id != caller.service.id {
        return Err(ApiError::forbidden(
            "You are not allowed here",
            "A service may only read its own batches.",
        ));
    }
    Ok(batch)
}

pub async fn get(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<BatchView>> {
    let batch = owned(&state, &caller, &id).await?;
    let processed = state.store.batch_processed(&batch.id).await?;
    Ok(Json(view(&batch, processed)))
}

pub async fn cancel(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<BatchView>> {
    let batch = owned(&state, &caller, &id).await?;
    if !state
        .store
        .cancel_batch(&batch.id, state.clock.now())
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "The batch is {} and can no longer be cancelled.",
            batch.status.as_str()
        )));
    }
    let batch = owned(&state, &caller, &id).await?;
    let processed = state.store.batch_processed(&batch.id).await?;
    Ok(Json(view(&batch, processed)))
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    format: Option<String>,
}

/// `GET /batches/{id}/report`: one line per upload line, streamed page by page.
pub async fn report(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let wants_csv = match q.format.as_deref() {
        Some("csv") => true,
        Some("ndjson") => false,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid report format",
                "format must be `ndjson` (the default) or `csv`.",
            ));
        }
        None => crate::request::accepts(&headers, "text/csv"),
    };
    let batch = owned(&state, &caller, &id).await?;
    let cancelled = batch.status == BatchStatus::Cancelled;
    let store = state.store.clone();
    let batch_id = batch.id;
    let head = wants_csv.then(|| "line,outcome,message_id,reason\n".to_owned());
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        async move {
            let after = after?;
            let rows = match store.batch_report(&batch_id, after, 5_000).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error.cause = %e, "batch report page failed");
                    return Some((Err(std::io::Error::other("report failed")), None));
                }
            };
            if rows.is_empty() {
                return None;
            }
            let next = rows.last().map(|r| r.line);
            let mut text = String::new();
            for mut r in rows {
                if cancelled && r.outcome == RowStatus::Pending {
                    r.outcome = RowStatus::Cancelled;
                }
                if wants_csv {
                    text.push_str(&format!(
                        "{},{},{},",
                        r.line,
                        r.outcome.as_str(),
                        r.message_id.unwrap_or_default()
                    ));
                    crate::csv::cell(&mut text, r.reason.as_deref().unwrap_or_default());
                    text.push('\n');
                } else {
                    text.push_str(&serde_json::to_string(&r).unwrap_or_default());
                    text.push('\n');
                }
            }
            Some((Ok::<_, std::io::Error>(text), next))
        }
    });
    let body = futures_util::stream::iter(head.map(Ok)).chain(pages);
    let content_type = if wants_csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response())
}
