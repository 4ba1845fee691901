//! `POST /messages`, `POST /messages/{fiscal_code}`, `GET /messages/{fiscal_code}/{id}`.

use crate::request::Body;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::FieldErrors;
use kernel::values::{FiscalCode, MessageId};
use messaging::content::{
    FeatureLevel, Forbidden, MessageContent, NewMessageError, format_timestamp, parse_new_message,
};
use messaging::model::{
    AcceptOutcome, Idempotency, MessageStatus, NewMessageRecord, SealedContent,
};

use crate::auth::ServiceCaller;
use crate::messaging::wire::{
    CreatedMessage, ExternalCreatedMessageWithContent, ExternalMessageResponseWithContent,
};
use crate::problem::{ApiError, ApiResult};
use crate::request::json_body;
use crate::state::AppState;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

pub async fn submit_in_body(
    State(state): State<AppState>,
    caller: ServiceCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    submit(state, caller, None, headers, body).await
}

pub async fn submit_in_path(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path(fiscal_code): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    submit(state, caller, Some(fiscal_code), headers, body).await
}

/// The `Idempotency-Key` header, if any; more than one is refused rather than picking one.
pub(crate) fn single_idempotency_header(headers: &HeaderMap) -> ApiResult<Option<&HeaderValue>> {
    let mut all = headers.get_all(IDEMPOTENCY_HEADER).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(ApiError::bad_request(
            "Invalid Idempotency-Key",
            "Idempotency-Key is given more than once; send exactly one.",
        ));
    }
    Ok(first)
}

fn idempotency(
    headers: &HeaderMap,
    path: Option<&str>,
    body: &[u8],
) -> ApiResult<Option<Idempotency>> {
    let Some(raw) = single_idempotency_header(headers)? else {
        return Ok(None);
    };
    let key = raw.to_str().ok().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ApiError::bad_request(
            "Invalid Idempotency-Key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.",
        ));
    }
    Ok(Some(Idempotency {
        key: key.to_owned(),
        request_hash: seal::sha256_hex(&[path.unwrap_or("").as_bytes(), body]),
    }))
}

async fn submit(
    state: AppState,
    caller: ServiceCaller,
    path_fiscal_code: Option<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let idempotency = idempotency(&headers, path_fiscal_code.as_deref(), &body)?;
    let value = json_body(&headers, &body)?;
    let message = parse_new_message(&value, path_fiscal_code.as_deref()).map_err(|e| match e {
        NewMessageError::Invalid(errors) => ApiError::Validation {
            title: "Invalid message structure",
            errors,
        },
        NewMessageError::Forbidden(Forbidden::RemoteContentNotConfigured) => ApiError::forbidden(
            "No configuration id for remote content",
            "third_party_data needs a remote-content configuration owned by this service; \
             none is configured.",
        ),
        NewMessageError::Forbidden(Forbidden::EuCovidCertNotAllowed) => ApiError::forbidden(
            "You are not allowed here",
            "This service may not send EU Covid certificate messages.",
        ),
    })?;
    let service = &caller.service;
    let content = messaging::batch::for_service(service, &message).map_err(|r| match r {
        messaging::batch::ServiceRefusal::RecipientForbidden => ApiError::forbidden(
            "Recipient forbidden",
            "You are not allowed to issue requests for the recipient: the service is not \
             published and the recipient is not among its authorized recipients.",
        ),
        refusal @ messaging::batch::ServiceRefusal::AmountTooHigh(..) => {
            let mut errors = FieldErrors::default();
            errors.push("content.payment_data.amount", refusal.to_string());
            ApiError::Validation {
                title: "Invalid message structure",
                errors,
            }
        }
    })?;
    let id = MessageId::new_at(state.clock.now());
    let plain = serde_json::to_vec(&content).map_err(ApiError::internal)?;
    let (key_id, bytes) = state.keyring.seal(&plain, id.to_string().as_bytes());
    let fiscal_code = message.fiscal_code;
    let record = NewMessageRecord {
        id,
        service_id: service.id,
        fiscal_code: fiscal_code.clone(),
        created_at: state.clock.now(),
        time_to_live: message.time_to_live,
        feature_level: message.feature_level,
        content: SealedContent { key_id, bytes },
        idempotency,
        quotas: messaging::quota::Quotas {
            daily: caller.limits.daily_quota,
            monthly: caller.limits.monthly_quota,
        },
    };
    let id = match state.intake.submit(record).await? {
        AcceptOutcome::Created(id) | AcceptOutcome::Replayed(id) => id,
        AcceptOutcome::QuotaExceeded {
            period,
            limit,
            resets_at,
        } => {
            state.metrics.quota_exceeded();
            let wait = (resets_at - state.clock.now()).num_seconds().max(1) as u64;
            return Err(ApiError::TooManyRequests {
                detail: format!(
                    "The {} quota of this service ({limit} messages) is used up; it resets at {}.",
                    period.as_str(),
                    format_timestamp(&resets_at)
                ),
                retry_after_secs: wait,
                limit: None,
            });
        }
        AcceptOutcome::KeyReused => {
            return Err(ApiError::Unprocessable {
                title: "Idempotency key reused",
                detail: "This Idempotency-Key was already used by this service for a different \
                         request; use a new key for a new message."
                    .to_owned(),
            });
        }
    };
    let location = format!("/api/v1/messages/{fiscal_code}/{id}");
    let mut res = (
        StatusCode::CREATED,
        Json(CreatedMessage { id: id.to_string() }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

pub async fn get_message(
    State(state): State<AppState>,
    caller: ServiceCaller,
    Path((fiscal_code, id)): Path<(String, String)>,
) -> ApiResult<Json<ExternalMessageResponseWithContent>> {
    let mut errors = FieldErrors::default();
    let fc = FiscalCode::parse(&fiscal_code)
        .map_err(|e| errors.push("fiscal_code", e.reason))
        .ok();
    let id = MessageId::parse(&id)
        .map_err(|e| errors.push("id", e.reason))
        .ok();
    let (Some(fc), Some(id)) = (fc, id) else {
        return Err(ApiError::Validation {
            title: "Invalid request",
            errors,
        });
    };
    let not_found = || {
        ApiError::not_found(
            "Message not found",
            "No message with this ID exists for this recipient.",
        )
    };
    let record = state.store.get_message(&id).await?.ok_or_else(not_found)?;
    if record.fiscal_code != fc {
        return Err(not_found());
    }
    if record.service_id != caller.service.id {
        return Err(ApiError::forbidden(
            "You are not allowed here",
            "A service may only read the messages it sent.",
        ));
    }
    // The content of a message whose recipient deleted their account is erased: the service
    // still reads the status, with an empty content object.
    let content: Option<MessageContent> = crate::request::open_content(&state.keyring, &record)?;
    let advanced = record.feature_level == FeatureLevel::Advanced;
    let read_status = advanced.then_some(if record.is_read { "READ" } else { "UNREAD" });
    let payment_status = (advanced
        && record.status == MessageStatus::Processed
        && content.as_ref().is_some_and(|c| c.payment_data.is_some()))
    .then_some(if record.paid_at.is_some() {
        "PAID"
    } else {
        "NOT_PAID"
    });
    let notification = notification_status(&state.store.notifications_of_message(&id).await?);
    Ok(Json(ExternalMessageResponseWithContent {
        notification,
        message: ExternalCreatedMessageWithContent {
            id: id.to_string(),
            fiscal_code: record.fiscal_code.to_string(),
            time_to_live: record.time_to_live,
            created_at: format_timestamp(&record.created_at),
            content: content.map_or_else(
                || serde_json::json!({}),
                |c| serde_json::to_value(c).unwrap_or_default(),
            ),
            sender_service_id: record.service_id.to_string(),
            feature_level_type: record.feature_level.as_str(),
        },
        status: record.status.as_str(),
        read_status,
        payment_status,
    }))
}

/// The per-channel status of a message's notification (the sandbox copy counts as e-mail); a
/// channel shows once its first attempt is made, IO having no value for "not yet attempted".
fn notification_status(
    list: &[messaging::citizen::Notification],
) -> Option<crate::messaging::wire::MessageResponseNotificationStatus> {
    use messaging::citizen::{Channel, NotificationStatus, Purpose};
    let mut status = crate::messaging::wire::MessageResponseNotificationStatus::default();
    for n in list
        .iter()
        .filter(|n| matches!(n.purpose, Purpose::Message | Purpose::Sandbox))
    {
        if n.status == NotificationStatus::Pending {
            continue;
        }
        let value = n.status.as_str();
        match n.channel {
            Channel::Email => status.email = Some(value),
            Channel::Webhook => status.webhook = Some(value),
        }
    }
    (status.email.is_some() || status.webhook.is_some()).then_some(status)
}
