//! What every domain's handlers share to read a request: media types, JSON bodies and
//! their fields, the raw body, a stored message's content.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use serde_json::Value;

use kernel::FieldErrors;
use kernel::fields::ObjectReader;

use crate::problem::{ApiError, ApiResult};

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

/// 400 with every field of an invalid body at fault.
pub(crate) fn invalid(errors: FieldErrors) -> ApiError {
    ApiError::Validation {
        title: "Invalid payload",
        errors,
    }
}

/// Reads the named string fields of a JSON object body (`required` ones must be present).
pub(crate) fn fields(
    headers: &HeaderMap,
    body: &[u8],
    required: &[&str],
    optional: &[&str],
) -> ApiResult<(Vec<String>, Vec<Option<String>>, Value)> {
    let value = json_body(headers, body)?;
    let mut errors = FieldErrors::default();
    let Some(obj) = ObjectReader::new(&value, "", &mut errors) else {
        return Err(invalid(errors));
    };
    let req: Vec<Option<String>> = required
        .iter()
        .map(|f| obj.string(f, true, 1..=usize::MAX, &mut errors))
        .collect();
    let opt: Vec<Option<String>> = optional
        .iter()
        .map(|f| obj.string(f, false, 1..=usize::MAX, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    Ok((req.into_iter().flatten().collect(), opt, value))
}

/// The raw request body, with a problem+json answer when it is too large or unreadable.
pub struct Body(pub Bytes);

/// A stored message's content, opened and parsed; `None` once it was erased with its
/// recipient's account.
pub(crate) fn open_content<T: serde::de::DeserializeOwned>(
    keyring: &seal::Keyring,
    record: &messaging::model::MessageRecord,
) -> ApiResult<Option<T>> {
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

/// An outbound URL an ente chose (a callback, a pull), read from `raw`: absolute http or
/// https, no credentials or fragment, and allowed by `policy` (internal destinations are
/// refused unless the operator allowed their network). Faults go to `errors` under `field`;
/// reasons name the kind of address, never the address. `what` names the use in the reason.
pub fn outbound_url(
    raw: Option<&str>,
    field: &str,
    what: &str,
    policy: &notify::OutboundPolicy,
    errors: &mut FieldErrors,
) -> Option<String> {
    match raw.map(url::Url::parse) {
        Some(Ok(parsed))
            if matches!(parsed.scheme(), "http" | "https")
                && parsed.host().is_some()
                && parsed.username().is_empty()
                && parsed.password().is_none()
                && parsed.fragment().is_none() =>
        {
            match policy.check_url(&parsed) {
                Ok(()) => Some(parsed.to_string()),
                Err(refused) => {
                    errors.push(
                        field,
                        format!(
                            "points to {} address, which {what} may not reach; an operator can \
                             allow an on-premises network with SPORTELLO_OUTBOUND_ALLOW_CIDRS",
                            refused.category.as_str()
                        ),
                    );
                    None
                }
            }
        }
        Some(Ok(_)) => {
            errors.push(
                field,
                "must be an absolute http or https URL without credentials or fragment",
            );
            None
        }
        Some(Err(e)) => {
            errors.push(field, format!("is not a URL: {e}"));
            None
        }
        None => None,
    }
}
