//! `GET/PUT /services/{service_id}/preferences`: the citizen's choice for one service (IO
//! `reference/io.md` §3.3). In LEGACY mode the preference is derived from the profile's
//! blocked channels and cannot be written; in AUTO and MANUAL modes it is stored per settings
//! version, and a missing one means "everything on" (AUTO) or "everything off" (MANUAL).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::values::ServiceId;
use messaging::model::{BlockedChannel, PreferenceMode, ServicePreference};

use super::wire::ServicePreferenceView;
use super::{invalid, profile_not_found, refuse_unknown};
use crate::citizen_auth::CitizenCaller;
use crate::problem::{ApiError, ApiResult};
use crate::request::{Body, json_body};
use crate::state::AppState;

/// The service, parsed and known (deleted services are unknown).
async fn known_service(state: &AppState, raw: &str) -> ApiResult<ServiceId> {
    let id = ServiceId::parse(raw).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.push("service_id", e.reason);
        invalid("Invalid request", errors)
    })?;
    match state.store.get_service(&id).await? {
        Some(s) if s.is_active() => Ok(id),
        _ => Err(ApiError::not_found(
            "Service not found",
            "No service has this ID.",
        )),
    }
}

pub async fn get_preference(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path(service_id): Path<String>,
) -> ApiResult<Json<ServicePreferenceView>> {
    let service = known_service(&state, &service_id).await?;
    let fc = &caller.fiscal_code;
    let profile = state
        .store
        .get_citizen(fc)
        .await?
        .ok_or_else(profile_not_found)?;
    let version = profile.settings_version;
    let view = match profile.preference_mode {
        PreferenceMode::Legacy => {
            let blocked = profile.blocked_channels.get(&service.to_string());
            let open = |c: BlockedChannel| !blocked.is_some_and(|list| list.contains(&c));
            ServicePreferenceView {
                is_inbox_enabled: open(BlockedChannel::Inbox),
                is_email_enabled: open(BlockedChannel::Email),
                is_webhook_enabled: open(BlockedChannel::Webhook),
                can_access_message_read_status: true,
                settings_version: version,
            }
        }
        mode => match state
            .store
            .get_service_preference(fc, &service, version)
            .await?
        {
            Some(p) => ServicePreferenceView::from(&p),
            None => {
                let on = mode == PreferenceMode::Auto;
                ServicePreferenceView {
                    is_inbox_enabled: on,
                    is_email_enabled: on,
                    is_webhook_enabled: on,
                    can_access_message_read_status: true,
                    settings_version: version,
                }
            }
        },
    };
    Ok(Json(view))
}

const FIELDS: &[&str] = &[
    "is_inbox_enabled",
    "is_email_enabled",
    "is_webhook_enabled",
    "can_access_message_read_status",
    "settings_version",
];

/// `PUT`: stores the preference for the profile's current settings version; 200 with it.
pub async fn put_preference(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path(service_id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<ServicePreferenceView>> {
    let service = known_service(&state, &service_id).await?;
    let value = json_body(&headers, &body)?;
    let mut errors = FieldErrors::default();
    let Some(o) = ObjectReader::new(&value, "", &mut errors) else {
        return Err(invalid("Invalid payload", errors));
    };
    refuse_unknown(&o, FIELDS, &mut errors);
    let flag = |name: &str, required: bool, errors: &mut FieldErrors| {
        if required && o.required(name, errors).is_none() {
            return None;
        }
        o.boolean(name, errors)
    };
    let inbox = flag("is_inbox_enabled", true, &mut errors);
    let email = flag("is_email_enabled", true, &mut errors);
    let push = flag("is_webhook_enabled", true, &mut errors);
    let read_status = flag("can_access_message_read_status", false, &mut errors);
    let version = o.integer("settings_version", true, 0..=i64::MAX, &mut errors);
    let (Some(inbox), Some(email), Some(push), Some(version), true) =
        (inbox, email, push, version, errors.is_empty())
    else {
        return Err(invalid("Invalid payload", errors));
    };
    let profile = state
        .store
        .get_citizen(&caller.fiscal_code)
        .await?
        .ok_or_else(profile_not_found)?;
    if profile.preference_mode == PreferenceMode::Legacy {
        return Err(ApiError::Conflict(
            "the profile is in LEGACY mode: per-service preferences need AUTO or MANUAL mode \
             (block channels in the profile's blocked_inbox_or_channels instead)"
                .to_owned(),
        ));
    }
    if version != profile.settings_version {
        return Err(ApiError::Conflict(format!(
            "stale settings_version: the profile's is {}",
            profile.settings_version
        )));
    }
    let preference = ServicePreference {
        service_id: service,
        settings_version: version,
        is_inbox_enabled: inbox,
        is_email_enabled: email,
        is_webhook_enabled: push,
        can_access_message_read_status: read_status.unwrap_or(true),
    };
    state
        .store
        .upsert_service_preference(&caller.fiscal_code, &preference)
        .await?;
    Ok(Json(ServicePreferenceView::from(&preference)))
}
