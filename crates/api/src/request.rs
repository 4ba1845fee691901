//! Handlers, one family per file.

pub mod admin;
pub mod batches;
pub mod callbacks;
pub mod catalogue;
pub mod citizen;
pub mod lifecycle;
pub mod manage;
pub mod messages;
pub mod ops;
pub mod profiles;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use serde_json::Value;

use crate::problem::ApiError;

/// The media type of a `Content-Type` or `Accept`-like value without its parameters, in lower
/// case: media types are case-insensitive (RFC 9110 §8.3.1), so `APPLICATION/JSON;
/// Charset=UTF-8` is `application/json`.
pub(crate) fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The media type of the request's `Content-Type` ([`essence`]); `None` without one.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| essence(v.to_str().unwrap_or("")))
}

/// Whether `Accept` lists `media_type` (compared without regard to case or parameters).
pub(crate) fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| essence(item) == media_type)
}

/// Parses a JSON request body, refusing anything that is not `application/json` JSON with a
/// precise reason (line and column of the syntax error).
pub(crate) fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    if content_type(headers).is_some_and(|ct| ct != "application/json" && !ct.ends_with("+json")) {
        return Err(ApiError::bad_request(
            "Invalid payload",
            "The body must be JSON (Content-Type: application/json).",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid payload",
            "The request body is empty; a JSON object is expected.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "Invalid payload",
            format!(
                "The body is not valid JSON: {} at line {}, column {}.",
                match e.classify() {
                    serde_json::error::Category::Eof => "unexpected end of input",
                    serde_json::error::Category::Syntax => "syntax error",
                    _ => "invalid data",
                },
                e.line(),
                e.column()
            ),
        )
    })
}

/// The raw request body, with a problem+json answer when it is too large or unreadable.
pub struct Body(pub Bytes);

/// A stored message's content, opened and parsed; `None` once it was erased with its
/// recipient's account.
pub(crate) fn open_content<T: serde::de::DeserializeOwned>(
    keyring: &seal::Keyring,
    record: &messaging::model::MessageRecord,
) -> crate::problem::ApiResult<Option<T>> {
    if record.content.is_erased() {
        return Ok(None);
    }
    let plain = keyring
        .open(
            &record.content.key_id,
            &record.content.bytes,
            record.id.to_string().as_bytes(),
        )
        .map_err(ApiError::internal)?;
    Ok(Some(
        serde_json::from_slice(&plain).map_err(ApiError::internal)?,
    ))
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request("Invalid payload", "The request body could not be read.")
                }
            })
    }
}
