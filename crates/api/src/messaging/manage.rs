//! `/manage/services…`: services of the delegate's organization, their cards and keys
//! (IO services CMS API). The review/publication lifecycle is not here yet: a new service is a
//! draft that reaches only its authorized recipients and the sandbox code.

use crate::request::Body;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use kernel::values::ServiceId;
use messaging::model::{KeyType, Service};
use messaging::service_payload::{ServiceDraft, parse_service_payload};
use messaging::topics::TOPICS;
use ops::services::apply_draft;
use serde::Deserialize;

use crate::auth::{ManageCaller, ServiceCaller};
use crate::messaging::wire::{
    CmsPaginationResultSet, CmsServiceLifecycle, CmsServicePagination, CmsServiceTopic,
    CmsServiceTopicList, CmsSubscriptionKeys,
};
use crate::problem::{ApiError, ApiResult};
use crate::request::json_body;
use crate::state::AppState;

async fn draft(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    caller: &ManageCaller,
) -> ApiResult<ServiceDraft> {
    let value = json_body(headers, body)?;
    let draft = parse_service_payload(&value).map_err(|errors| ApiError::Validation {
        title: "Invalid payload",
        errors,
    })?;
    let org = &draft.organization.fiscal_code;
    if *org != caller.delegate.organization_fiscal_code
        && !mandated(state, caller, org, None).await?
    {
        return Err(ApiError::forbidden(
            "Forbidden",
            "organization.fiscal_code is neither the organization of this manage key nor one \
             it holds a mandate for (all services) as an aggregator.",
        ));
    }
    Ok(draft)
}

/// Whether the caller's organization, as an aggregator, holds a mandate over `organization`:
/// for every service, or (with `service`) for that one.
async fn mandated(
    state: &AppState,
    caller: &ManageCaller,
    organization: &kernel::values::OrganizationFiscalCode,
    service: Option<&ServiceId>,
) -> ApiResult<bool> {
    let mandates = state
        .store
        .mandates_of(&caller.delegate.organization_fiscal_code)
        .await?;
    Ok(mandates.iter().any(|m| {
        m.organization == *organization
            && (m.service_id.is_none() || (service.is_some() && m.service_id.as_ref() == service))
    }))
}

/// Loads a service the caller's organization owns; deleted services do not exist.
pub(crate) async fn owned(state: &AppState, caller: &ManageCaller, id: &str) -> ApiResult<Service> {
    let not_found = || ApiError::not_found("Not found", "No service with this ID.");
    let id = ServiceId::parse(id).map_err(|_| not_found())?;
    let service = state
        .store
        .get_service(&id)
        .await?
        .filter(Service::is_active)
        .ok_or_else(not_found)?;
    if service.organization_fiscal_code != caller.delegate.organization_fiscal_code
        && !mandated(
            state,
            caller,
            &service.organization_fiscal_code,
            Some(&service.id),
        )
        .await?
    {
        return Err(ApiError::forbidden(
            "Forbidden",
            "This service belongs to another organization, and this manage key's organization \
             holds no mandate for it.",
        ));
    }
    Ok(service)
}

pub async fn create_service(
    State(state): State<AppState>,
    caller: ManageCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<CmsServiceLifecycle>)> {
    let d = draft(&state, &headers, &body, &caller).await?;
    let actor = format!("delegate:{}", caller.delegate.id);
    let (service, _) =
        ops::services::create_from_draft(state.ops(), &state.keyring, d, &actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(CmsServiceLifecycle::from(&service)),
    ))
}

#[derive(Debug, Deserialize)]
pub struct Paging {
    limit: Option<String>,
    offset: Option<String>,
    /// An aggregated organization (the caller's own by default).
    organization: Option<String>,
}

fn query_int(
    raw: Option<&str>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> ApiResult<i64> {
    match raw {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Invalid request",
                    format!(
                        "Query parameter `{name}` must be an integer from {} to {}.",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

pub async fn list_services(
    State(state): State<AppState>,
    caller: ManageCaller,
    Query(paging): Query<Paging>,
) -> ApiResult<Json<CmsServicePagination>> {
    let limit = query_int(paging.limit.as_deref(), "limit", 20, 1..=100)?;
    let offset = query_int(paging.offset.as_deref(), "offset", 0, 0..=i64::MAX)?;
    let own = &caller.delegate.organization_fiscal_code;
    let org = match paging.organization.as_deref() {
        None => own.clone(),
        Some(raw) => kernel::values::OrganizationFiscalCode::parse(raw)
            .map_err(|e| ApiError::bad_request("Invalid request", format!("organization: {e}")))?,
    };
    if org != *own && !mandated(&state, &caller, &org, None).await? {
        return Err(ApiError::forbidden(
            "Forbidden",
            "This manage key's organization holds no mandate for all the services of that \
             organization.",
        ));
    }
    let (items, count) = state.store.list_services(&org, limit, offset).await?;
    Ok(Json(CmsServicePagination {
        value: items.iter().map(CmsServiceLifecycle::from).collect(),
        pagination: CmsPaginationResultSet {
            offset,
            limit,
            count,
        },
    }))
}

pub async fn get_service(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CmsServiceLifecycle>> {
    let service = owned(&state, &caller, &id).await?;
    Ok(Json(CmsServiceLifecycle::from(&service)))
}

pub async fn update_service(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<CmsServiceLifecycle>> {
    let before = owned(&state, &caller, &id).await?;
    let d = draft(&state, &headers, &body, &caller).await?;
    let mut service = before.clone();
    apply_draft(&mut service, d);
    let changed = ops::lifecycle::changed_fields(&before, &service);
    let service = ops::lifecycle::edit_or_delete(
        state.ops(),
        service,
        messaging::lifecycle::LifecycleAction::Edit,
        &format!("delegate:{}", caller.delegate.id),
        serde_json::json!({ "changed": changed }),
    )
    .await?;
    Ok(Json(CmsServiceLifecycle::from(&service)))
}

pub async fn delete_service(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let service = owned(&state, &caller, &id).await?;
    ops::lifecycle::edit_or_delete(
        state.ops(),
        service,
        messaging::lifecycle::LifecycleAction::Delete,
        &format!("delegate:{}", caller.delegate.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_keys(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CmsSubscriptionKeys>> {
    let service = owned(&state, &caller, &id).await?;
    let keys = ops::services::keys(state.ops(), &state.keyring, &service.id).await?;
    Ok(Json(keys.into()))
}

pub async fn regenerate_key(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path((id, key_type)): Path<(String, String)>,
) -> ApiResult<Json<CmsSubscriptionKeys>> {
    let key_type = KeyType::parse(&key_type).ok_or_else(|| {
        ApiError::bad_request(
            "Invalid payload",
            "keyType must be `primary` or `secondary`.",
        )
    })?;
    let service = owned(&state, &caller, &id).await?;
    let keys = ops::services::regenerate_key(
        state.ops(),
        &state.keyring,
        &service.id,
        key_type,
        &format!("delegate:{}", caller.delegate.id),
    )
    .await?;
    Ok(Json(keys.into()))
}

pub async fn topics(_caller: ServiceCaller) -> Json<CmsServiceTopicList> {
    Json(CmsServiceTopicList {
        topics: TOPICS
            .iter()
            .map(|(id, name)| CmsServiceTopic {
                id: *id,
                name: (*name).to_owned(),
            })
            .collect(),
    })
}

/// `GET /manage/services/{id}/usage`: messages accepted today and this month against the
/// service's quotas, and its rate limit.
pub async fn usage(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    use messaging::quota::QuotaPeriod;
    let service = owned(&state, &caller, &id).await?;
    let overrides = state.store.service_limits(&service.id).await?;
    let limits = state.settings.default_limits.with(&overrides);
    let now = state.clock.now();
    let (daily, monthly) = state.store.service_usage(&service.id, now).await?;
    let period = |p: QuotaPeriod, used: u64, limit: Option<u64>| {
        serde_json::json!({
            "used": used,
            "limit": limit,
            "remaining": limit.map(|l| l.saturating_sub(used)),
            "resets_at": messaging::content::format_timestamp(&p.resets_at(now)),
        })
    };
    Ok(Json(serde_json::json!({
        "daily": period(QuotaPeriod::Daily, daily, limits.daily_quota),
        "monthly": period(QuotaPeriod::Monthly, monthly, limits.monthly_quota),
        "rate": {"per_second": limits.rate_per_second, "burst": limits.burst},
    })))
}
