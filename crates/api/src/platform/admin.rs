//! Admin API of the platform (`/api/admin/v1`, bearer admin token): the job queue and its
//! dead letters, and the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kernel::jobs::{Job, JobStatus};
use serde::Deserialize;

use crate::auth::AdminCaller;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

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
