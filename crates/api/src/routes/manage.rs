//! `/manage/services…`: services of the delegate's organization, their cards and keys
//! (IO services CMS API). The review/publication lifecycle is not here yet: a new service is a
//! draft that reaches only its authorized recipients and the sandbox code.

use crate::routes::Body;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use kernel::values::ServiceId;
use messaging::model::{KeyType, LifecycleStatus, PublicationStatus, SealedContent, Service};
use messaging::ports::StoredKey;
use messaging::service_payload::{ServiceDraft, parse_service_payload};
use messaging::topics::TOPICS;
use serde::Deserialize;

use crate::auth::{ManageCaller, ServiceCaller};
use crate::problem::{ApiError, ApiResult};
use crate::routes::json_body;
use crate::state::AppState;
use crate::wire::{
    CmsPaginationResultSet, CmsServiceLifecycle, CmsServicePagination, CmsServiceTopic,
    CmsServiceTopicList, CmsSubscriptionKeys,
};

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

fn apply(service: &mut Service, d: ServiceDraft) {
    service.name = d.name;
    service.description = d.description;
    service.organization_name = d.organization.name;
    service.department_name = d.organization.department_name;
    service.require_secure_channels = d.require_secure_channels;
    service.authorized_recipients = d.authorized_recipients;
    service.authorized_cidrs = d.authorized_cidrs;
    service.max_allowed_payment_amount = d.max_allowed_payment_amount;
    service.metadata = d.metadata;
}

fn new_key(keyring: &seal::Keyring, service: &ServiceId, key_type: KeyType) -> (String, StoredKey) {
    let key = seal::new_api_key();
    let (key_id, bytes) = keyring.seal(key.as_bytes(), key_context(service, key_type).as_bytes());
    let stored = StoredKey {
        key_type,
        hash: seal::key_hash(&key),
        sealed: SealedContent { key_id, bytes },
    };
    (key, stored)
}

fn key_context(service: &ServiceId, key_type: KeyType) -> String {
    format!("service-key:{service}:{}", key_type.as_str())
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
    let (service, _) = create_service_from_draft(&state.store, &state.keyring, d, &actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(CmsServiceLifecycle::from(&service)),
    ))
}

/// Creates a draft service with two fresh keys; shared by the manage API and the CLI.
pub async fn create_service_from_draft(
    store: &std::sync::Arc<dyn messaging::ports::Store>,
    keyring: &seal::Keyring,
    d: ServiceDraft,
    actor: &str,
) -> ApiResult<(Service, CmsSubscriptionKeys)> {
    let now = Utc::now();
    let mut service = Service {
        id: ServiceId::new(),
        organization_fiscal_code: d.organization.fiscal_code.clone(),
        organization_name: String::new(),
        department_name: None,
        name: String::new(),
        description: String::new(),
        require_secure_channels: false,
        authorized_recipients: vec![],
        authorized_cidrs: vec![],
        max_allowed_payment_amount: 0,
        metadata: Default::default(),
        lifecycle: LifecycleStatus::Draft,
        lifecycle_reason: None,
        publication: PublicationStatus::Unpublished,
        ever_approved: false,
        auto_publish: false,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    apply(&mut service, d);
    let (primary_key, primary) = new_key(keyring, &service.id, KeyType::Primary);
    let (secondary_key, secondary) = new_key(keyring, &service.id, KeyType::Secondary);
    store
        .create_service(&service, &[primary, secondary])
        .await?;
    store
        .append_audit(&kernel::audit::NewAuditEntry {
            actor: actor.to_owned(),
            action: "service.create".into(),
            subject: format!("service:{}", service.id),
            detail: serde_json::json!({"name": service.name}),
        })
        .await?;
    tracing::info!(service.id = %service.id, "service created");
    Ok((
        service,
        CmsSubscriptionKeys {
            primary_key,
            secondary_key,
        },
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
    apply(&mut service, d);
    let changed = crate::lifecycle_ops::changed_fields(&before, &service);
    let service = crate::lifecycle_ops::edit_or_delete(
        state.store.as_ref(),
        service,
        messaging::lifecycle::LifecycleAction::Edit,
        &format!("delegate:{}", caller.delegate.id),
        serde_json::json!({ "changed": changed }),
    )
    .await?;
    state.service_keys.clear();
    Ok(Json(CmsServiceLifecycle::from(&service)))
}

pub async fn delete_service(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let service = owned(&state, &caller, &id).await?;
    crate::lifecycle_ops::edit_or_delete(
        state.store.as_ref(),
        service,
        messaging::lifecycle::LifecycleAction::Delete,
        &format!("delegate:{}", caller.delegate.id),
        serde_json::json!({}),
    )
    .await?;
    state.service_keys.clear();
    Ok(StatusCode::NO_CONTENT)
}

async fn keys_of(state: &AppState, service: &ServiceId) -> ApiResult<CmsSubscriptionKeys> {
    let mut primary = None;
    let mut secondary = None;
    for k in state.store.service_keys(service).await? {
        let plain = state
            .keyring
            .open(
                &k.sealed.key_id,
                &k.sealed.bytes,
                key_context(service, k.key_type).as_bytes(),
            )
            .map_err(ApiError::internal)?;
        let key = String::from_utf8(plain).map_err(ApiError::internal)?;
        match k.key_type {
            KeyType::Primary => primary = Some(key),
            KeyType::Secondary => secondary = Some(key),
        }
    }
    match (primary, secondary) {
        (Some(primary_key), Some(secondary_key)) => Ok(CmsSubscriptionKeys {
            primary_key,
            secondary_key,
        }),
        _ => Err(ApiError::internal("service without both keys")),
    }
}

pub async fn get_keys(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CmsSubscriptionKeys>> {
    let service = owned(&state, &caller, &id).await?;
    Ok(Json(keys_of(&state, &service.id).await?))
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
    let (_, stored) = new_key(&state.keyring, &service.id, key_type);
    state
        .store
        .replace_service_key(&service.id, &stored)
        .await?;
    state.service_keys.clear();
    state
        .store
        .append_audit(&kernel::audit::NewAuditEntry {
            actor: format!("delegate:{}", caller.delegate.id),
            action: "service.regenerate_key".into(),
            subject: format!("service:{}", service.id),
            detail: serde_json::json!({"key_type": key_type.as_str()}),
        })
        .await?;
    tracing::info!(service.id = %service.id, key.r#type = key_type.as_str(), "service key regenerated");
    Ok(Json(keys_of(&state, &service.id).await?))
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
    let now = Utc::now();
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
