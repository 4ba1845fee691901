//! Who calls the open-data API: a delegate by its manage key (`Ocp-Apim-Subscription-Key`),
//! required for changes and optional for reads (a member sees its organization's drafts).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use kernel::organization::Delegate;

use crate::auth::ManageCaller;
use crate::problem::ApiError;
use crate::state::AppState;

/// The delegate behind the manage key, when the request carries one.
#[derive(Debug, Clone)]
pub struct MaybeDelegate(pub Option<Delegate>);

impl<S> FromRequestParts<S> for MaybeDelegate
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(crate::auth::KEY_HEADER) {
            return Ok(Self(None));
        }
        let caller = ManageCaller::from_request_parts(parts, state).await?;
        Ok(Self(Some(caller.delegate)))
    }
}
