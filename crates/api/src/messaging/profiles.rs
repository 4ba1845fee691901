//! `GET /profiles/{fiscal_code}` and `POST /profiles`: the limited profile a service may see.

use crate::request::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::values::FiscalCode;
use messaging::delivery::sender_allowed;

use crate::auth::ServiceCaller;
use crate::messaging::wire::LimitedProfile;
use crate::problem::{ApiError, ApiResult};
use crate::request::json_body;
use crate::state::AppState;

pub async fn get_profile(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path(fiscal_code): Path<String>,
) -> ApiResult<Json<LimitedProfile>> {
    let fc = FiscalCode::parse(&fiscal_code).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.push("fiscal_code", e.reason);
        ApiError::Validation {
            title: "Invalid request",
            errors,
        }
    })?;
    limited_profile(&state, &caller, fc).await
}

pub async fn get_profile_by_post(
    State(state): State<AppState>,
    caller: ServiceCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<LimitedProfile>> {
    let value = json_body(&headers, &body)?;
    let mut errors = FieldErrors::default();
    let fc = ObjectReader::new(&value, "", &mut errors)
        .and_then(|o| o.parsed("fiscal_code", true, FiscalCode::parse, &mut errors));
    let Some(fc) = fc else {
        return Err(ApiError::Validation {
            title: "Invalid payload",
            errors,
        });
    };
    limited_profile(&state, &caller, fc).await
}

async fn limited_profile(
    state: &AppState,
    caller: &ServiceCaller,
    fc: FiscalCode,
) -> ApiResult<Json<LimitedProfile>> {
    let service = &caller.service;
    if !service.may_address(&fc) {
        return Err(ApiError::forbidden(
            "Recipient forbidden",
            "You are not allowed to issue requests for the recipient.",
        ));
    }
    if fc.is_sandbox() {
        return Ok(Json(LimitedProfile {
            sender_allowed: true,
            preferred_languages: Some(vec!["it_IT".to_owned()]),
        }));
    }
    let not_found = || {
        ApiError::not_found(
            "Profile not found",
            "The profile you requested was not found in the system.",
        )
    };
    let profile = state
        .store
        .get_citizen(&fc)
        .await?
        .filter(|p| p.is_inbox_enabled)
        .ok_or_else(not_found)?;
    let preference = state
        .store
        .get_service_preference(&fc, &service.id, profile.settings_version)
        .await?;
    Ok(Json(LimitedProfile {
        sender_allowed: sender_allowed(&profile, &service.id, preference.as_ref()),
        preferred_languages: Some(profile.preferred_languages.clone()),
    }))
}
