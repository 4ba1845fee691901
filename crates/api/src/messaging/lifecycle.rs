//! `/manage/services/{id}/review`, `/release` and `/history`: the publication workflow as a
//! delegate drives it, and `PUT /organizations/{fiscal_code}/logo`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::values::OrganizationFiscalCode;
use messaging::content::format_timestamp;
use messaging::lifecycle::PublicationAction;
use messaging::model::PublicationStatus;
use serde::Deserialize;

use crate::auth::{ManageCaller, ServiceCaller};
use crate::messaging::manage::owned;
use crate::messaging::wire::{
    CmsServiceHistory, CmsServiceHistoryItem, CmsServiceHistoryItemStatus, CmsServiceLifecycle,
    CmsServicePublication,
};
use crate::problem::{ApiError, ApiResult};
use crate::request::{Body, json_body};
use crate::state::AppState;
use ops::lifecycle;

/// Largest logo accepted, decoded from base64.
const MAX_LOGO_BYTES: usize = 512 * 1024;

fn actor(caller: &ManageCaller) -> String {
    format!("delegate:{}", caller.delegate.id)
}

pub async fn review(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let value = json_body(&headers, &body)?;
    let mut errors = FieldErrors::default();
    let auto_publish = ObjectReader::new(&value, "", &mut errors).and_then(|o| {
        if o.optional("auto_publish").is_none() {
            errors.push("auto_publish", "is required");
        }
        o.boolean("auto_publish", &mut errors)
    });
    let Some(auto_publish) = auto_publish else {
        return Err(ApiError::Validation {
            title: "Invalid payload",
            errors,
        });
    };
    let service = owned(&state, &caller, &id).await?;
    lifecycle::submit(state.ops(), service, auto_publish, &actor(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn release(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    set_publication(&state, &caller, &id, PublicationAction::Release).await
}

pub async fn unpublish(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    set_publication(&state, &caller, &id, PublicationAction::Unpublish).await
}

async fn set_publication(
    state: &AppState,
    caller: &ManageCaller,
    id: &str,
    action: PublicationAction,
) -> ApiResult<StatusCode> {
    let service = owned(state, caller, id).await?;
    lifecycle::publication(state.ops(), service, action, &actor(caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn published(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<CmsServicePublication>> {
    let service = owned(&state, &caller, &id).await?;
    if service.publication != PublicationStatus::Published {
        return Err(ApiError::not_found(
            "Not found",
            "The service is not published.",
        ));
    }
    let view = lifecycle::published_view(state.ops(), &service).await?;
    Ok(Json(CmsServicePublication::from(&view)))
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    order: Option<String>,
    limit: Option<String>,
    #[serde(rename = "continuationToken")]
    continuation_token: Option<String>,
}

pub async fn history(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<CmsServiceHistory>> {
    let service = owned(&state, &caller, &id).await?;
    let ascending = match q.order.as_deref() {
        None | Some("DESC") => false,
        Some("ASC") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid request",
                "order must be ASC or DESC.",
            ));
        }
    };
    let limit = match q.limit.as_deref() {
        None => 10,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request("Invalid request", "limit must be an integer from 1 to 100.")
            })?,
    };
    let after = match q.continuation_token.as_deref() {
        None => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::bad_request("Invalid request", "continuationToken is not one we issued.")
        })?),
    };
    let entries = state
        .store
        .service_history(&service.id, ascending, after, limit + 1)
        .await?;
    let more = entries.len() as i64 > limit;
    let mut items: Vec<CmsServiceHistoryItem> = Vec::with_capacity(entries.len());
    for e in entries.iter().take(limit as usize) {
        let card: messaging::lifecycle::ServiceCard = serde_json::from_str(&e.card)
            .map_err(|err| ApiError::internal(format!("stored history card: {err}")))?;
        let mut at_that_time = service.clone();
        lifecycle::apply_card(&mut at_that_time, card);
        let view = CmsServiceLifecycle::from(&at_that_time);
        items.push(CmsServiceHistoryItem {
            id: e.id.to_string(),
            status: CmsServiceHistoryItemStatus {
                kind: e.kind,
                value: e.status.clone(),
                reason: e.reason.clone(),
            },
            last_update: format_timestamp(&e.at),
            actor: e.actor.clone(),
            metadata: view.metadata,
            data: view.data,
        });
    }
    let continuation_token = if more {
        items.last().map(|i| i.id.clone())
    } else {
        None
    };
    Ok(Json(CmsServiceHistory {
        items,
        continuation_token,
    }))
}

/// `PUT /organizations/{organization_fiscal_code}/logo` `{logo: base64 PNG}` with a key of one
/// of the organization's services (as IO's `uploadOrganizationLogo`).
pub async fn organization_logo(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path(fiscal_code): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let code = OrganizationFiscalCode::parse(&fiscal_code).map_err(|e| {
        ApiError::bad_request("Invalid request", format!("organization_fiscal_code: {e}"))
    })?;
    if code != caller.service.organization_fiscal_code {
        return Err(ApiError::forbidden(
            "Forbidden",
            "This key's service belongs to another organization.",
        ));
    }
    let (bytes, facts) = png_body(&headers, &body)?;
    state.store.set_organization_logo(&code, &bytes).await?;
    state
        .store
        .append_audit(&kernel::audit::NewAuditEntry {
            at: state.clock.now(),
            actor: format!("service:{}", caller.service.id),
            action: "organization.logo".into(),
            subject: format!("organization:{code}"),
            detail: serde_json::json!({"width": facts.width, "height": facts.height}),
        })
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Reads a `{logo: base64 PNG}` body: the bytes and what decoding them showed.
fn png_body(
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(Vec<u8>, messaging::quality::LogoFacts)> {
    let value = json_body(headers, body)?;
    let mut errors = FieldErrors::default();
    let logo = ObjectReader::new(&value, "", &mut errors)
        .and_then(|o| o.string("logo", true, 1..=usize::MAX, &mut errors));
    let Some(logo) = logo else {
        return Err(ApiError::Validation {
            title: "Invalid payload",
            errors,
        });
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(logo.trim())
        .map_err(|_| ApiError::bad_request("Invalid payload", "logo is not valid base64."))?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(ApiError::bad_request(
            "Invalid payload",
            format!("The logo is larger than {MAX_LOGO_BYTES} bytes."),
        ));
    }
    let facts = lifecycle::logo_facts(&bytes);
    if !facts.is_png {
        return Err(ApiError::bad_request(
            "Invalid payload",
            "The logo is not a PNG image that decodes.",
        ));
    }
    Ok((bytes, facts))
}

/// `PUT /manage/services/{id}/logo` `{logo: base64 PNG}`: the service's own logo (the
/// organization's logo is shown when a service has none).
pub async fn service_logo(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let service = owned(&state, &caller, &id).await?;
    let (bytes, facts) = png_body(&headers, &body)?;
    if facts.width != messaging::quality::LOGO_SIZE_PX
        || facts.height != messaging::quality::LOGO_SIZE_PX
    {
        return Err(ApiError::bad_request(
            "Invalid payload",
            format!(
                "The logo is {}x{} pixels; it must be {size}x{size}.",
                facts.width,
                facts.height,
                size = messaging::quality::LOGO_SIZE_PX
            ),
        ));
    }
    state.store.set_service_logo(&service.id, &bytes).await?;
    state
        .store
        .append_audit(&kernel::audit::NewAuditEntry {
            at: state.clock.now(),
            actor: actor(&caller),
            action: "service.logo".into(),
            subject: format!("service:{}", service.id),
            detail: serde_json::json!({"width": facts.width, "height": facts.height}),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
