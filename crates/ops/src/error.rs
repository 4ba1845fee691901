//! The one error type of the use cases. Each variant says what happened and carries the title
//! and detail the adapters show (the HTTP API as problem+json, the CLI as a line on stderr).

use kernel::FieldErrors;
use kernel::ports::StoreError;

/// Why a use case refused or failed. `Display` is the one-line form the CLI prints.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed: every field at fault.
    #[error("{title}: {}", errors.summary())]
    Invalid {
        title: &'static str,
        errors: FieldErrors,
    },
    /// The input breaks a rule, explained in one sentence.
    #[error("{title}: {detail}")]
    BadRequest { title: &'static str, detail: String },
    /// The thing acted on does not exist (or is not visible to the actor).
    #[error("{title}: {detail}")]
    NotFound { title: &'static str, detail: String },
    /// The actor may not do this.
    #[error("{title}: {detail}")]
    Forbidden { title: &'static str, detail: String },
    /// The current state does not allow it (an illegal transition, a concurrent change).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is well formed but cannot apply to what it names (HTTP 422).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// The input is larger than the adapter accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Something failed inside; the cause is for the log, not for the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(errors: FieldErrors) -> Self {
        Self::Invalid {
            title: "Invalid payload",
            errors,
        }
    }

    /// One field at fault.
    pub fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.push(field, reason);
        Self::invalid(errors)
    }

    pub fn bad_request(title: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
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

    pub fn forbidden(title: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            title,
            detail: detail.into(),
        }
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::Unprocessable(detail.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<StoreError> for Error {
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
