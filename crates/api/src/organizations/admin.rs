//! Admin API (`/api/admin/v1`, bearer admin token): organizations, delegates, citizen
//! profiles for testing, and the dead-letter queue.

use crate::routes::Body;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::jobs::{Job, JobStatus};
use kernel::values::OrganizationFiscalCode;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::AdminCaller;
use crate::problem::{ApiError, ApiResult};
use crate::routes::json_body;
use crate::state::AppState;
use crate::wire::{CitizenView, CreatedDelegate, DelegateView, OrganizationView};
use ops::{citizens, lifecycle, organizations};

fn invalid(errors: FieldErrors) -> ApiError {
    ApiError::Validation {
        title: "Invalid payload",
        errors,
    }
}

/// Reads the named string fields of a JSON object body (`required` ones must be present).
fn fields(
    headers: &HeaderMap,
    body: &[u8],
    required: &[&str],
    optional: &[&str],
) -> ApiResult<(Vec<String>, Vec<Option<String>>, Value)> {
    let value = json_body(headers, body)?;
    let mut errors = FieldErrors::default();
    let Some(obj) = ObjectReader::new(&value, "", &mut errors) else {
        return Err(invalid(errors));
    };
    let req: Vec<Option<String>> = required
        .iter()
        .map(|f| obj.string(f, true, 1..=usize::MAX, &mut errors))
        .collect();
    let opt: Vec<Option<String>> = optional
        .iter()
        .map(|f| obj.string(f, false, 1..=usize::MAX, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    Ok((req.into_iter().flatten().collect(), opt, value))
}

pub async fn create_organization(
    State(state): State<AppState>,
    _admin: AdminCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<OrganizationView>)> {
    let (req, opt, _) = fields(
        &headers,
        &body,
        &["fiscal_code", "name"],
        &["kind", "ipa_code"],
    )?;
    let org = organizations::create_organization_with_ipa(
        state.ops(),
        &req[0],
        &req[1],
        opt[0].as_deref(),
        opt[1].as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(OrganizationView::from(&org))))
}

pub async fn list_organizations(
    State(state): State<AppState>,
    _admin: AdminCaller,
) -> ApiResult<Json<Vec<OrganizationView>>> {
    let orgs = state.store.list_organizations().await?;
    Ok(Json(orgs.iter().map(OrganizationView::from).collect()))
}

pub async fn disable_organization(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(fc): Path<String>,
) -> ApiResult<StatusCode> {
    organizations::set_organization_disabled(state.ops(), &fc, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enable_organization(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(fc): Path<String>,
) -> ApiResult<StatusCode> {
    organizations::set_organization_disabled(state.ops(), &fc, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_delegate(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(fc): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<CreatedDelegate>)> {
    let (req, opt, _) = fields(
        &headers,
        &body,
        &["email"],
        &["name", "fiscal_code", "role"],
    )?;
    let input = organizations::DelegateInput {
        email: req[0].clone(),
        name: opt[0].clone(),
        fiscal_code: opt[1].clone(),
        role: opt[2].clone(),
    };
    let created = organizations::add_delegate(state.ops(), &fc, input, "operator").await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize)]
pub struct DelegateFilter {
    organization: Option<String>,
}

pub async fn list_delegates(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(filter): Query<DelegateFilter>,
) -> ApiResult<Json<Vec<DelegateView>>> {
    let org = filter
        .organization
        .as_deref()
        .map(OrganizationFiscalCode::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("Invalid request", format!("organization: {e}")))?;
    let delegates = state.store.list_delegates(org.as_ref()).await?;
    Ok(Json(delegates.iter().map(DelegateView::from).collect()))
}

pub async fn disable_delegate(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let delegates = state.store.list_delegates(None).await?;
    let d = delegates
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::not_found("Delegate not found", "No delegate with this ID."))?;
    organizations::variation(
        state.ops(),
        d.organization_fiscal_code.as_str(),
        &[],
        std::slice::from_ref(&id),
        "operator",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enable_delegate(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    organizations::enable_delegate(state.ops(), &id, "operator").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_citizen(
    State(state): State<AppState>,
    _admin: AdminCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<CitizenView>)> {
    let (req, opt, value) = fields(
        &headers,
        &body,
        &["fiscal_code"],
        &["email", "preference_mode"],
    )?;
    let inbox = value
        .get("is_inbox_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let profile = citizens::create_citizen(
        state.ops(),
        &req[0],
        opt[0].as_deref(),
        inbox,
        opt[1].as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CitizenView::from(&profile))))
}

/// A job as the admin API shows it.
#[derive(Debug, serde::Serialize)]
pub struct JobView {
    #[serde(flatten)]
    job: Job,
    /// The old name of `subject_id`, kept so that existing operator scripts keep working.
    message_id: String,
}

#[derive(Debug, Deserialize)]
pub struct JobFilter {
    status: Option<String>,
}

pub async fn list_jobs(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(filter): Query<JobFilter>,
) -> ApiResult<Json<Vec<JobView>>> {
    let status = match filter.status.as_deref() {
        None => None,
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "Invalid request",
                "status must be one of queued, running, dead.",
            )
        })?),
    };
    let jobs = state.store.list_jobs(status).await?;
    Ok(Json(
        jobs.into_iter()
            .map(|job| JobView {
                message_id: job.subject_id.clone(),
                job,
            })
            .collect(),
    ))
}

pub async fn retry_job(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("Invalid request", "The job id must be an integer."))?;
    ops::jobs::retry(state.ops(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A service waiting for review, with what the operator needs to decide.
#[derive(Debug, serde::Serialize)]
pub struct PendingReview {
    pub service: crate::wire::CmsServiceLifecycle,
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
                service: crate::wire::CmsServiceLifecycle::from(s),
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
) -> ApiResult<Json<crate::wire::CmsServiceLifecycle>> {
    let s = lifecycle::approve(state.ops(), &id, "operator").await?;
    Ok(Json(crate::wire::CmsServiceLifecycle::from(&s)))
}

pub async fn reject_review(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<crate::wire::CmsServiceLifecycle>> {
    let (req, _, _) = fields(&headers, &body, &["reason"], &[])?;
    let s = lifecycle::reject(state.ops(), &id, &req[0], "operator").await?;
    Ok(Json(crate::wire::CmsServiceLifecycle::from(&s)))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

pub async fn audit_log(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<kernel::audit::AuditEntry>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(state.store.audit_log(q.before, limit).await?))
}

#[derive(Debug, Deserialize)]
pub struct VariationBody {
    #[serde(default)]
    add: Vec<organizations::DelegateInput>,
    #[serde(default)]
    remove: Vec<String>,
}

/// `POST /organizations/{fc}/variations {add: [...], remove: [ids]}`: the audited change of
/// an organization's delegates. 201 with the added delegates and their manage keys.
pub async fn variation(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(fc): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Vec<CreatedDelegate>>)> {
    let value = json_body(&headers, &body)?;
    let v: VariationBody = serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(
            "Invalid payload",
            format!("The variation does not parse: {e}."),
        )
    })?;
    let created = organizations::variation(state.ops(), &fc, &v.add, &v.remove, "operator").await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, serde::Serialize)]
pub struct RotatedKey {
    pub manage_key: String,
}

pub async fn rotate_delegate_key(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<RotatedKey>> {
    let manage_key = organizations::rotate_manage_key(state.ops(), &id, "operator").await?;
    Ok(Json(RotatedKey { manage_key }))
}

pub async fn add_mandate(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(fc): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<kernel::organization::Mandate>)> {
    let (req, opt, _) = fields(&headers, &body, &["organization"], &["service_id"])?;
    let m = organizations::add_mandate(state.ops(), &fc, &req[0], opt[0].as_deref(), "operator")
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

pub async fn list_mandates(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(fc): Path<String>,
) -> ApiResult<Json<Vec<kernel::organization::Mandate>>> {
    let code = OrganizationFiscalCode::parse(&fc)
        .map_err(|e| ApiError::bad_request("Invalid request", format!("fiscal_code: {e}")))?;
    Ok(Json(state.store.mandates_of(&code).await?))
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
