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

/// Parses a JSON request body, refusing anything that is not `application/json` JSON with a
/// precise reason (line and column of the syntax error).
pub(crate) fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    if let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct.starts_with("application/json") && !ct.contains("+json") {
            return Err(ApiError::bad_request(
                "Invalid payload",
                "The body must be JSON (Content-Type: application/json).",
            ));
        }
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
