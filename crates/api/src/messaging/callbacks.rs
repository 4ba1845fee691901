//! Status callbacks to enti (beyond IO): a service registers a URL and a secret with
//! `PUT /manage/services/{id}/callback`; Sportello then POSTs signed `processed`, `rejected`
//! and `read` events there. The delivery log is readable by the service's delegates and, for
//! every service, through the admin API.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use kernel::fields::{FieldErrors, ObjectReader};
use kernel::values::ServiceId;
use messaging::citizen::{CallbackConfig, CallbackDelivery};
use messaging::model::SealedContent;
use serde::Deserialize;

use crate::auth::{AdminCaller, ManageCaller};
use crate::messaging::manage::owned;
use crate::problem::{ApiError, ApiResult};
use crate::request::{Body, json_body};
use crate::state::AppState;

/// Context the callback secret is sealed with (the worker opens it with the same).
pub fn secret_context(service: &ServiceId) -> String {
    format!("callback:{service}")
}

/// Parses `{url, secret}`: an absolute http(s) URL without credentials or fragment whose
/// literal host the outbound `policy` allows, and a secret of 16 to 256 printable ASCII
/// characters. The URL is kept in its normalised form (`http://2130706433/` is
/// `http://127.0.0.1/`), the one that was checked.
fn parse_config(
    value: &serde_json::Value,
    policy: &notify::OutboundPolicy,
) -> Result<(String, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(obj) = ObjectReader::new(value, "", &mut errors) else {
        return Err(errors);
    };
    for key in obj.obj.keys() {
        if key != "url" && key != "secret" {
            errors.push(key.clone(), "is not a field of a callback configuration");
        }
    }
    let url = obj.string("url", true, 1..=2048, &mut errors);
    let url = crate::request::outbound_url(url.as_deref(), "url", "callbacks", policy, &mut errors);
    let secret = obj.string("secret", true, 16..=256, &mut errors);
    if secret
        .as_ref()
        .is_some_and(|s| !s.chars().all(|c| c.is_ascii_graphic()))
    {
        errors.push("secret", "must be printable ASCII without spaces");
    }
    match (url, secret) {
        (Some(url), Some(secret)) if errors.is_empty() => Ok((url, secret)),
        _ => Err(errors),
    }
}

/// `PUT /manage/services/{id}/callback`: sets the callback URL and secret.
pub async fn put(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<serde_json::Value>> {
    let service = owned(&state, &caller, &id).await?;
    let value = json_body(&headers, &body)?;
    let (url, secret) =
        parse_config(&value, &state.settings.outbound).map_err(|errors| ApiError::Validation {
            title: "Invalid callback configuration",
            errors,
        })?;
    let (key_id, bytes) = state
        .keyring
        .seal(secret.as_bytes(), secret_context(&service.id).as_bytes());
    let config = CallbackConfig {
        url: url.clone(),
        secret: SealedContent { key_id, bytes },
    };
    state.store.set_callback(&service.id, Some(&config)).await?;
    tracing::info!(service.id = %service.id, "callback configured");
    Ok(Json(view(Some(&url))))
}

fn view(url: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "url": url,
        "configured": url.is_some(),
        "events": ["processed", "rejected", "read"],
        "signature_header": notify::SIGNATURE_HEADER,
        "replay_window_seconds": notify::REPLAY_WINDOW_SECS,
    })
}

/// `GET /manage/services/{id}/callback`: the URL (never the secret).
pub async fn get(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let service = owned(&state, &caller, &id).await?;
    let config = state.store.get_callback(&service.id).await?;
    Ok(Json(view(config.as_ref().map(|c| c.url.as_str()))))
}

/// `DELETE /manage/services/{id}/callback`: no more events (queued ones fail).
pub async fn delete(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let service = owned(&state, &caller, &id).await?;
    state.store.set_callback(&service.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// Entries older than this delivery id.
    before: Option<i64>,
    limit: Option<i64>,
    service_id: Option<String>,
}

fn page(list: Vec<CallbackDelivery>, limit: i64) -> serde_json::Value {
    let next = (list.len() as i64 == limit)
        .then(|| list.last().map(|d| d.id))
        .flatten();
    serde_json::json!({ "items": list, "next_before": next })
}

fn limit_of(q: &LogQuery) -> ApiResult<i64> {
    match q.limit {
        None => Ok(100),
        Some(l) if (1..=1000).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::bad_request(
            "Invalid request",
            "limit must be between 1 and 1000",
        )),
    }
}

/// `GET /manage/services/{id}/callback/deliveries`: the service's delivery log, newest first.
pub async fn service_log(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let service = owned(&state, &caller, &id).await?;
    let limit = limit_of(&q)?;
    let list = state
        .store
        .callback_deliveries(Some(&service.id), q.before, limit)
        .await?;
    Ok(Json(page(list, limit)))
}

/// `GET /api/admin/v1/callbacks?service_id=&before=&limit=`: the delivery log of every service.
pub async fn admin_log(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let limit = limit_of(&q)?;
    let service = match &q.service_id {
        Some(s) => Some(ServiceId::parse(s).map_err(|e| {
            ApiError::bad_request("Invalid request", format!("service_id: {}", e.reason))
        })?),
        None => None,
    };
    let list = state
        .store
        .callback_deliveries(service.as_ref(), q.before, limit)
        .await?;
    Ok(Json(page(list, limit)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> notify::OutboundPolicy {
        notify::OutboundPolicy::restricted(Vec::new())
    }

    #[test]
    fn a_valid_configuration_is_accepted() {
        let (url, secret) = parse_config(
            &json!({
                "url": "https://ente.example.it/hooks/sportello",
                "secret": "0123456789abcdef"
            }),
            &policy(),
        )
        .unwrap();
        assert_eq!(url, "https://ente.example.it/hooks/sportello");
        assert_eq!(secret, "0123456789abcdef");
    }

    #[test]
    fn every_fault_of_a_configuration_is_listed() {
        let errors = parse_config(
            &json!({
                "url": "ftp://user:pw@example.it/x",
                "secret": "short",
                "extra": 1
            }),
            &policy(),
        )
        .unwrap_err();
        let text = errors.summary();
        assert!(text.contains("url"), "{text}");
        assert!(text.contains("secret"), "{text}");
        assert!(text.contains("extra"), "{text}");
    }
}
