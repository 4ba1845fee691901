//! Scheduled pulls of resources from URLs: `POST /api/opendata/v1/datasets/{id}/pulls` (an
//! editor names the URL, the period, optionally the name and the format), `GET` the same path
//! (the pulls with their last outcome), `DELETE /api/opendata/v1/pulls/{id}`; and the
//! operator's `POST /api/admin/v1/opendata/pulls/run` (runs the due pulls now). `serve` runs
//! them in the background (`sportello::pulls`). The URL is checked against the outbound policy
//! when set, and again at connection time (a name that later resolves inside is refused then).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::fields::{FieldErrors, ObjectReader};
use opendata::model::InputFormat;
use opendata::ports::{Fetched, Pull, UrlFetcher};
use ops::opendata_pull::PullSpec;
use serde_json::{Value, json};

use crate::auth::{AdminCaller, ManageCaller};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The fetcher of pulls: the outbound HTTP client with the installation's policy for URLs an
/// ente chose.
pub struct OdFetcher(pub notify::HttpClient);

#[async_trait::async_trait]
impl UrlFetcher for OdFetcher {
    async fn fetch(
        &self,
        url: &str,
        max_bytes: u64,
        into: &std::path::Path,
    ) -> Result<Fetched, String> {
        let d = self.0.download(url, max_bytes, into).await?;
        Ok(Fetched {
            bytes: d.bytes,
            media_type: d.media_type,
        })
    }
}

fn view(p: &Pull) -> Value {
    json!({
        "id": p.id, "dataset_id": p.dataset_id, "resource_id": p.resource_id, "name": p.name,
        "url": p.url, "format": p.format.map(InputFormat::code), "every_hours": p.every_hours,
        "next_at": p.next_at, "last_at": p.last_at, "last_status": p.last_status,
        "last_error": p.last_error, "created_at": p.created_at,
    })
}

fn parse_spec(body: &Value, policy: &notify::OutboundPolicy) -> Result<PullSpec, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(obj) = ObjectReader::new(body, "", &mut errors) else {
        return Err(errors);
    };
    for key in obj.obj.keys() {
        if !["url", "name", "format", "every_hours"].contains(&key.as_str()) {
            errors.push(key.clone(), "is not a field of a pull");
        }
    }
    let url = obj.string("url", true, 1..=2048, &mut errors);
    let url = crate::request::outbound_url(url.as_deref(), "url", "pulls", policy, &mut errors);
    let name = obj
        .string("name", false, 1..=200, &mut errors)
        .unwrap_or_else(|| "dati".to_owned());
    let format = match obj.string("format", false, 1..=20, &mut errors) {
        Some(code) => match InputFormat::from_code(&code.to_ascii_uppercase()) {
            Some(f) => Some(f),
            None => {
                errors.push("format", "must be one of CSV, JSON, GEOJSON, XLSX, ODS");
                None
            }
        },
        None => None,
    };
    let every_hours = match obj.obj.get("every_hours") {
        None => Some(24),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (1..=8_760).contains(&n) => Some(n),
            _ => {
                errors.push("every_hours", "must be a whole number from 1 to 8760");
                None
            }
        },
    };
    match (url, every_hours) {
        (Some(url), Some(every_hours)) if errors.is_empty() => Ok(PullSpec {
            url,
            name,
            format,
            every_hours,
        }),
        _ => Err(errors),
    }
}

/// `POST /api/opendata/v1/datasets/{id}/pulls` → 201 with the pull (due at once).
pub async fn create(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("Invalid JSON", format!("The body is not JSON: {e}")))?;
    let spec = parse_spec(&body, &state.settings.outbound).map_err(ops::Error::invalid)?;
    let p = ops::opendata_pull::create_pull(&state.od(), &caller.delegate, &id, spec).await?;
    state.od_pull_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view(&p))).into_response())
}

/// `GET /api/opendata/v1/datasets/{id}/pulls` → the dataset's pulls (editors).
pub async fn list(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let pulls = ops::opendata_pull::pulls_of(&state.od(), &caller.delegate, &id).await?;
    Ok(Json(
        json!({"items": pulls.iter().map(view).collect::<Vec<_>>()}),
    ))
}

/// `DELETE /api/opendata/v1/pulls/{id}` → 204.
pub async fn delete(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    ops::opendata_pull::delete_pull(&state.od(), &caller.delegate, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/admin/v1/opendata/pulls/run` → the pulls that were due, with their outcome.
pub async fn run(State(state): State<AppState>, _admin: AdminCaller) -> ApiResult<Json<Value>> {
    let done = ops::opendata_pull::run_due(&state.od(), state.od_fetcher.as_ref()).await?;
    Ok(Json(
        json!({"results": done.iter().map(view).collect::<Vec<_>>()}),
    ))
}
