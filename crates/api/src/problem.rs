//! The one application error type of the HTTP adapter and its RFC 7807
//! `application/problem+json` form. Internal causes go to the log, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::FieldErrors;
use messaging::ports::StoreError;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug)]
pub enum ApiError {
    /// 400 with every field at fault.
    Validation {
        title: &'static str,
        errors: FieldErrors,
    },
    /// 400 with a single explanation.
    BadRequest {
        title: &'static str,
        detail: String,
    },
    /// 401: no key, or a key nobody holds.
    Unauthorized(&'static str),
    /// 403 with IO's title and a detail.
    Forbidden {
        title: &'static str,
        detail: String,
    },
    NotFound {
        title: &'static str,
        detail: String,
    },
    Conflict(String),
    /// 422: an idempotency key reused with a different request.
    Unprocessable {
        title: &'static str,
        detail: String,
    },
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 429: a rate limit or a quota; `retry_after_secs` goes to `Retry-After`.
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
        limit: Option<u64>,
    },
    /// 413: the body is larger than the API accepts.
    PayloadTooLarge,
    /// 503: the service cannot take the request now (shutting down).
    Unavailable(&'static str),
    /// 500; the cause is logged, the client sees a generic problem.
    Internal(String),
}

impl ApiError {
    pub fn forbidden(title: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            title,
            detail: detail.into(),
        }
    }

    pub fn not_found(title: &'static str, detail: impl Into<String>) -> Self {
        Self::NotFound {
            title,
            detail: detail.into(),
        }
    }

    pub fn bad_request(title: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            title,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(d) => Self::Conflict(d),
            StoreError::NotFound(what) => {
                Self::not_found("Not found", format!("The {what} does not exist."))
            }
            StoreError::Backend(cause) => Self::Internal(cause),
        }
    }
}

/// The one mapping of the use cases' errors to HTTP answers.
impl From<ops::Error> for ApiError {
    fn from(e: ops::Error) -> Self {
        match e {
            ops::Error::Invalid { title, errors } => Self::Validation { title, errors },
            ops::Error::BadRequest { title, detail } => Self::BadRequest { title, detail },
            ops::Error::NotFound { title, detail } => Self::NotFound { title, detail },
            ops::Error::Forbidden { title, detail } => Self::Forbidden { title, detail },
            ops::Error::Conflict(detail) => Self::Conflict(detail),
            ops::Error::PayloadTooLarge => Self::PayloadTooLarge,
            ops::Error::Unprocessable(detail) => Self::Unprocessable {
                title: "Unprocessable request",
                detail,
            },
            ops::Error::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let throttle = match &self {
            Self::TooManyRequests {
                retry_after_secs,
                limit,
                ..
            } => Some((*retry_after_secs, *limit)),
            _ => None,
        };
        let (title, detail, invalid_params) = match self {
            Self::Validation { title, errors } => {
                let detail = errors.summary();
                let params = errors
                    .0
                    .into_iter()
                    .map(|e| InvalidParam {
                        name: e.name,
                        reason: e.reason,
                    })
                    .collect();
                (title.to_owned(), detail, Some(params))
            }
            Self::BadRequest { title, detail }
            | Self::Forbidden { title, detail }
            | Self::NotFound { title, detail }
            | Self::Unprocessable { title, detail } => (title.to_owned(), detail, None),
            Self::Unauthorized(detail) => ("Unauthorized".to_owned(), detail.to_owned(), None),
            Self::Conflict(detail) => ("Conflict".to_owned(), detail, None),
            Self::TooManyRequests { detail, .. } => ("Too many requests".to_owned(), detail, None),
            Self::MethodNotAllowed => (
                "Method not allowed".to_owned(),
                "This route does not accept this HTTP method.".to_owned(),
                None,
            ),
            Self::PayloadTooLarge => (
                "Payload too large".to_owned(),
                format!(
                    "The request body is larger than {} bytes.",
                    crate::router::MAX_BODY_BYTES
                ),
                None,
            ),
            Self::Unavailable(detail) => {
                ("Service unavailable".to_owned(), detail.to_owned(), None)
            }
            Self::Internal(cause) => {
                tracing::error!(error.cause = %cause, "internal error");
                (
                    "Internal server error".to_owned(),
                    "An internal error occurred; it has been logged.".to_owned(),
                    None,
                )
            }
        };
        let body = ProblemJson {
            r#type: "about:blank".to_owned(),
            title,
            status: status.as_u16(),
            detail,
            instance: None,
            invalid_params,
        };
        let mut res = (status, axum::Json(body)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some((retry, limit)) = throttle {
            let h = res.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry));
            h.insert("x-rate-limit-retry-after", HeaderValue::from(retry));
            h.insert("x-rate-limit-remaining", HeaderValue::from(0u64));
            if let Some(limit) = limit {
                h.insert("x-rate-limit-limit", HeaderValue::from(limit));
            }
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// RFC 7807 problem, with `invalid_params` listing every field at fault on validation errors.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemJson {
    #[serde(rename = "type")]
    #[schema(format = "uri", default = "about:blank", required = false)]
    pub r#type: String,
    #[schema(required = false)]
    pub title: String,
    #[schema(format = Int32, minimum = 100, exclusive_maximum = 600, required = false)]
    pub status: u16,
    #[schema(required = false)]
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri", nullable = false)]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub invalid_params: Option<Vec<InvalidParam>>,
}

/// One field at fault.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvalidParam {
    pub name: String,
    pub reason: String,
}
