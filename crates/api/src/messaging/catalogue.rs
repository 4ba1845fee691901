//! The citizen catalogue (`/api/citizen/v1`): organizations with published services, their
//! services, service details and featured services. Only published, not deleted services of
//! enabled organizations appear. Public data: no session is needed.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kernel::values::{OrganizationFiscalCode, ServiceId};
use messaging::model::{Scope, Service};
use messaging::topics::topic_name;
use serde::{Deserialize, Serialize};

use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct CatalogueOrganization {
    pub fiscal_code: String,
    pub name: String,
    pub kind: &'static str,
    pub logo_url: String,
}

#[derive(Debug, Serialize)]
pub struct OrganizationPage {
    pub items: Vec<CatalogueOrganization>,
    pub offset: i64,
    pub limit: i64,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct ServiceSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub organization_fiscal_code: String,
    pub organization_name: String,
    pub scope: Option<&'static str>,
    pub topic: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct ServiceList {
    pub items: Vec<ServiceSummary>,
}

#[derive(Debug, Serialize)]
pub struct ServiceDetails {
    #[serde(flatten)]
    pub summary: ServiceSummary,
    pub department_name: Option<String>,
    pub contacts: Contacts,
    pub privacy_url: Option<String>,
    pub tos_url: Option<String>,
    pub web_url: Option<String>,
    pub app_ios: Option<String>,
    pub app_android: Option<String>,
    pub logo_url: String,
}

#[derive(Debug, Serialize)]
pub struct Contacts {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub support_url: Option<String>,
    pub address: Option<String>,
}

fn logo_url(org: &str) -> String {
    format!("/api/citizen/v1/organizations/{org}/logo")
}

fn summary(s: &Service) -> ServiceSummary {
    ServiceSummary {
        id: s.id.to_string(),
        name: s.name.clone(),
        description: s.description.clone(),
        organization_fiscal_code: s.organization_fiscal_code.to_string(),
        organization_name: s.organization_name.clone(),
        scope: s.metadata.scope.map(|sc| match sc {
            Scope::Local => "LOCAL",
            Scope::National => "NATIONAL",
        }),
        topic: s.metadata.topic_id.and_then(topic_name),
    }
}

/// The published versions of these services.
async fn views(state: &AppState, services: &[Service]) -> ApiResult<Vec<Service>> {
    let mut out = Vec::with_capacity(services.len());
    for s in services {
        out.push(ops::lifecycle::published_view(state.ops(), s).await?);
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub struct OrganizationQuery {
    search: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

fn int_param(raw: Option<&str>, name: &str, default: i64, max: i64) -> ApiResult<i64> {
    match raw {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Invalid request",
                    format!("{name} must be an integer from 0 to {max}."),
                )
            }),
    }
}

pub async fn organizations(
    State(state): State<AppState>,
    Query(q): Query<OrganizationQuery>,
) -> ApiResult<Json<OrganizationPage>> {
    let limit = int_param(q.limit.as_deref(), "limit", 20, 100)?.max(1);
    let offset = int_param(q.offset.as_deref(), "offset", 0, i64::MAX)?;
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "Invalid request",
            "search must be at most 100 characters.",
        ));
    }
    let (orgs, count) = state
        .store
        .catalogue_organizations(search, limit, offset)
        .await?;
    Ok(Json(OrganizationPage {
        items: orgs
            .iter()
            .map(|o| CatalogueOrganization {
                fiscal_code: o.fiscal_code.to_string(),
                name: o.name.clone(),
                kind: o.kind.as_str(),
                logo_url: logo_url(o.fiscal_code.as_str()),
            })
            .collect(),
        offset,
        limit,
        count,
    }))
}

fn org_code(raw: &str) -> ApiResult<OrganizationFiscalCode> {
    OrganizationFiscalCode::parse(raw)
        .map_err(|e| ApiError::bad_request("Invalid request", format!("fiscal_code: {e}")))
}

pub async fn organization_services(
    State(state): State<AppState>,
    Path(fc): Path<String>,
) -> ApiResult<Json<ServiceList>> {
    let code = org_code(&fc)?;
    let org = state
        .store
        .get_organization(&code)
        .await?
        .filter(|o| !o.disabled)
        .ok_or_else(|| ApiError::not_found("Not found", "No such organization."))?;
    let services = state
        .store
        .published_services(Some(&org.fiscal_code))
        .await?;
    Ok(Json(ServiceList {
        items: services.iter().map(summary).collect(),
    }))
}

pub async fn organization_logo(
    State(state): State<AppState>,
    Path(fc): Path<String>,
) -> ApiResult<Response> {
    let code = org_code(&fc)?;
    let logo = state
        .store
        .organization_logo(&code)
        .await?
        .ok_or_else(|| ApiError::not_found("Not found", "This organization has no logo."))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], logo).into_response())
}

pub async fn featured(State(state): State<AppState>) -> ApiResult<Json<ServiceList>> {
    let services = state.store.published_services(None).await?;
    Ok(Json(ServiceList {
        items: views(&state, &services)
            .await?
            .iter()
            .map(summary)
            .collect(),
    }))
}

pub async fn service(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ServiceDetails>> {
    let not_found = || ApiError::not_found("Not found", "No published service with this ID.");
    let id = ServiceId::parse(&id).map_err(|_| not_found())?;
    let s = state
        .store
        .get_service(&id)
        .await?
        .filter(|s| {
            s.is_active() && s.publication == messaging::model::PublicationStatus::Published
        })
        .ok_or_else(not_found)?;
    let org = state
        .store
        .get_organization(&s.organization_fiscal_code)
        .await?;
    if org.is_none_or(|o| o.disabled) {
        return Err(not_found());
    }
    let s = ops::lifecycle::published_view(state.ops(), &s).await?;
    let m = &s.metadata;
    Ok(Json(ServiceDetails {
        summary: summary(&s),
        department_name: s.department_name.clone(),
        contacts: Contacts {
            phone: m.phone.clone(),
            email: m.email.clone(),
            pec: m.pec.clone(),
            support_url: m.support_url.clone(),
            address: m.address.clone(),
        },
        privacy_url: m.privacy_url.clone(),
        tos_url: m.tos_url.clone(),
        web_url: m.web_url.clone(),
        app_ios: m.app_ios.clone(),
        app_android: m.app_android.clone(),
        logo_url: format!("/api/citizen/v1/services/{}/logo", s.id),
    }))
}

/// The service's logo, or its organization's when it has none.
pub async fn service_logo(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("Not found", "No logo for this service.");
    let id = ServiceId::parse(&id).map_err(|_| not_found())?;
    let s = state
        .store
        .get_service(&id)
        .await?
        .filter(|s| {
            s.is_active() && s.publication == messaging::model::PublicationStatus::Published
        })
        .ok_or_else(not_found)?;
    let logo = match state.store.service_logo(&id).await? {
        Some(l) => l,
        None => state
            .store
            .organization_logo(&s.organization_fiscal_code)
            .await?
            .ok_or_else(not_found)?,
    };
    Ok(([(header::CONTENT_TYPE, "image/png")], logo).into_response())
}
