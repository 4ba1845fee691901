//! Admin API of services (`/api/admin/v1`, bearer admin token): the review queue, featured
//! services and per-service limits.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use ops::lifecycle;
use serde_json::Value;

use crate::auth::AdminCaller;
use crate::problem::{ApiError, ApiResult};
use crate::request::{Body, fields, invalid, json_body};
use crate::state::AppState;

/// A service waiting for review, with what the operator needs to decide.
#[derive(Debug, serde::Serialize)]
pub struct PendingReview {
    pub service: super::wire::CmsServiceLifecycle,
    pub auto_publish: bool,
    pub submitted_at: String,
}

pub async fn list_reviews(
    State(state): State<AppState>,
    _admin: AdminCaller,
) -> ApiResult<Json<Vec<PendingReview>>> {
    let pending = state.store.pending_reviews().await?;
    Ok(Json(
        pending
            .iter()
            .map(|s| PendingReview {
                service: super::wire::CmsServiceLifecycle::from(s),
                auto_publish: s.auto_publish,
                submitted_at: messaging::content::format_timestamp(&s.updated_at),
            })
            .collect(),
    ))
}

pub async fn approve_review(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<super::wire::CmsServiceLifecycle>> {
    let s = lifecycle::approve(state.ops(), &id, "operator").await?;
    Ok(Json(super::wire::CmsServiceLifecycle::from(&s)))
}

pub async fn reject_review(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<super::wire::CmsServiceLifecycle>> {
    let (req, _, _) = fields(&headers, &body, &["reason"], &[])?;
    let s = lifecycle::reject(state.ops(), &id, &req[0], "operator").await?;
    Ok(Json(super::wire::CmsServiceLifecycle::from(&s)))
}

pub async fn set_featured(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let value = json_body(&headers, &body)?;
    let featured = value
        .get("featured")
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            ApiError::bad_request("Invalid payload", "featured (boolean) is required.")
        })?;
    let id = kernel::values::ServiceId::parse(&id)
        .map_err(|_| ApiError::not_found("Not found", "No service with this ID."))?;
    state.store.set_featured(&id, featured).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /services/{id}/limits`: the service's overrides and the limits in force.
pub async fn get_limits(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = kernel::values::ServiceId::parse(&id)
        .map_err(|_| ApiError::not_found("Not found", "No service with this ID."))?;
    let overrides = state.store.service_limits(&id).await?;
    let effective = state.settings.default_limits.with(&overrides);
    Ok(Json(
        serde_json::json!({"overrides": overrides, "effective": effective}),
    ))
}

/// `PUT /services/{id}/limits {rate_per_second?, burst?, daily_quota?, monthly_quota?}`: a
/// missing or null field takes the platform default.
pub async fn set_limits(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let sid = kernel::values::ServiceId::parse(&id)
        .map_err(|_| ApiError::not_found("Not found", "No service with this ID."))?;
    if state.store.get_service(&sid).await?.is_none() {
        return Err(ApiError::not_found("Not found", "No service with this ID."));
    }
    let value = json_body(&headers, &body)?;
    let mut errors = FieldErrors::default();
    let Some(o) = ObjectReader::new(&value, "", &mut errors) else {
        return Err(invalid(errors));
    };
    let small = |name: &str, errors: &mut FieldErrors| {
        o.integer(name, false, 0..=1_000_000, errors)
            .map(|v| v as u32)
    };
    let big = |name: &str, errors: &mut FieldErrors| {
        o.integer(name, false, 0..=i64::MAX, errors)
            .map(|v| v as u64)
    };
    let overrides = messaging::quota::LimitOverrides {
        rate_per_second: small("rate_per_second", &mut errors),
        burst: small("burst", &mut errors),
        daily_quota: big("daily_quota", &mut errors),
        monthly_quota: big("monthly_quota", &mut errors),
    };
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    ops::services::set_limits(state.ops(), &sid, &overrides, "operator").await?;
    let effective = state.settings.default_limits.with(&overrides);
    Ok(Json(
        serde_json::json!({"overrides": overrides, "effective": effective}),
    ))
}
