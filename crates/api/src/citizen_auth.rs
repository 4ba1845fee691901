//! Citizen sessions: the bearer tokens of `/api/citizen/v1` and the extractor that turns one
//! into the calling citizen. Tokens carry 256 random bits and are stored only as their SHA-256
//! look-up hash, like API keys.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::values::FiscalCode;

use crate::problem::ApiError;
use crate::state::AppState;

/// The one answer to a missing, unknown, revoked or expired token: nothing tells them apart.
const UNAUTHORIZED: &str = "A valid citizen session is required: send `Authorization: Bearer \
                            <session token>`. The token may be missing, unknown, revoked or \
                            expired.";

pub use ops::citizens::new_token;

/// Whether `token` could be a token of [`new_token`]'s shape (or a longer one of the same
/// alphabet); anything else is refused before any look-up.
pub fn plausible_token(token: &str) -> bool {
    (32..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The citizen whose session token authenticated the request.
#[derive(Debug, Clone)]
pub struct CitizenCaller {
    pub fiscal_code: FiscalCode,
    /// The id of the session in use (so that it can be marked `current`).
    pub session_id: String,
}

/// Why a citizen request was refused before reaching its handler: 401 answers carry
/// `WWW-Authenticate: Bearer`.
#[derive(Debug)]
pub struct CitizenRejection(pub ApiError);

impl From<ApiError> for CitizenRejection {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for CitizenRejection {
    fn into_response(self) -> Response {
        let mut res = self.0.into_response();
        if res.status() == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"citizen\""),
            );
        }
        res
    }
}

impl<S> FromRequestParts<S> for CitizenCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = CitizenRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = crate::auth::bearer_token(&parts.headers)
            .filter(|t| plausible_token(t))
            .ok_or(ApiError::Unauthorized(UNAUTHORIZED))?;
        let hash = seal::key_hash(token);
        let now = state.clock.now();
        let session = match state.citizen_sessions.get(&hash) {
            Some(s) if s.is_active(now) => s,
            _ => {
                let s = state
                    .store
                    .session_by_token_hash(&hash, now)
                    .await
                    .map_err(ApiError::from)?
                    .ok_or(ApiError::Unauthorized(UNAUTHORIZED))?;
                state.citizen_sessions.put(hash, s.clone());
                s
            }
        };
        Ok(Self {
            fiscal_code: session.fiscal_code,
            session_id: session.id,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 43);
        assert!(plausible_token(&a));
        assert_ne!(a, b);
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&a)
            .unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn implausible_tokens_are_refused_before_any_look_up() {
        assert!(!plausible_token(""));
        assert!(!plausible_token("short"));
        assert!(!plausible_token(&"a".repeat(129)));
        assert!(!plausible_token(&format!("{}+/", "a".repeat(40))));
        assert!(!plausible_token(&format!("{}<script>", "a".repeat(40))));
    }
}
