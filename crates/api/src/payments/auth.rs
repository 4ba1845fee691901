//! The organization behind a payments key (`Ocp-Apim-Subscription-Key`), for the routes
//! under `/api/gpd/…/organizations/{organizationfiscalcode}`: the key must be the
//! organization's own, its organization enabled, and the client inside its CIDRs.

use ::payments::ports::Profile;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use kernel::values::OrganizationFiscalCode;

use crate::auth::ClientIp;
use crate::problem::ApiError;
use crate::state::AppState;

/// The payments profile of the organization whose key authenticated the request.
#[derive(Debug, Clone)]
pub struct PaymentsCaller {
    pub profile: Profile,
}

impl<S> FromRequestParts<S> for PaymentsCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = crate::auth::subscription_key(parts)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let state = AppState::from_ref(state);
        let hash = seal::key_hash(&key);
        let found = match state.payments_keys.get(&hash) {
            Some(found) => Some(found),
            None => {
                let found = match state.payments.payments_profile_by_key(&hash).await? {
                    Some(p) => {
                        let disabled = state
                            .payments
                            .get_organization(&p.organization)
                            .await?
                            .is_none_or(|o| o.disabled);
                        Some((p, disabled))
                    }
                    None => None,
                };
                if let Some(f) = &found {
                    state.payments_keys.put(hash.clone(), f.clone());
                }
                found
            }
        };
        let (profile, disabled) = found.ok_or(ApiError::Unauthorized(
            "Access denied due to invalid subscription key. Make sure to provide a valid \
             key for an active subscription.",
        ))?;
        if disabled {
            return Err(ApiError::forbidden(
                "Forbidden",
                "The organization behind this key is disabled.",
            ));
        }
        if !profile.cidrs.is_empty() && !profile.cidrs.iter().any(|c| c.contains(ip)) {
            return Err(ApiError::forbidden(
                "You are not allowed here",
                "The client address is not in the organization's authorized CIDRs for payments.",
            ));
        }
        // The organization in the path must be the key's own.
        let path = parts.uri.path();
        if let Some(rest) = path
            .split("/organizations/")
            .nth(1)
            .map(|r| r.split('/').next().unwrap_or(""))
            && OrganizationFiscalCode::parse(rest).ok().as_ref() != Some(&profile.organization)
        {
            return Err(ApiError::forbidden(
                "Forbidden",
                "This payments key belongs to another organization.",
            ));
        }
        Ok(Self { profile })
    }
}
