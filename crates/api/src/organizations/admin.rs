//! Admin API of organizations (`/api/admin/v1`, bearer admin token): organizations, their
//! delegates (and the audited variations of them), and mandates.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use kernel::values::OrganizationFiscalCode;
use serde::Deserialize;

use super::wire::{CreatedDelegate, DelegateView, OrganizationView};
use crate::auth::AdminCaller;
use crate::problem::{ApiError, ApiResult};
use crate::request::{Body, fields, json_body};
use crate::state::AppState;
use ops::organizations;

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
