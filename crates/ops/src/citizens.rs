//! Citizens: profiles created by operators, sessions (the development login until SPID/CIE),
//! their revocation and the deletion of an account. Revoking a session or deleting an account
//! makes the adapters forget the cached sessions of that citizen at once.

use base64::Engine as _;
use kernel::FieldErrors;
use kernel::values::{Email, FiscalCode};
use messaging::model::{CitizenProfile, PreferenceMode};

use crate::{Context, Error, Result};

/// A fresh secret token: 32 random bytes, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = Vec::with_capacity(32);
    // Two API keys are 2 × 128 random bits, as hex.
    for key in [seal::new_api_key(), seal::new_api_key()] {
        bytes.extend(
            key.as_bytes()
                .chunks(2)
                .filter_map(|pair| std::str::from_utf8(pair).ok())
                .filter_map(|pair| u8::from_str_radix(pair, 16).ok()),
        );
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates a citizen profile (normally the citizen's own doing; here for operators and tests).
pub async fn create_citizen(
    ctx: Context<'_>,
    fiscal_code: &str,
    email: Option<&str>,
    inbox_enabled: bool,
    mode: Option<&str>,
) -> Result<CitizenProfile> {
    let mut errors = FieldErrors::default();
    let code = FiscalCode::parse(fiscal_code)
        .map_err(|e| errors.push("fiscal_code", e.reason))
        .ok();
    let email = match email {
        Some(e) => Email::parse(e)
            .map_err(|err| errors.push("email", err.reason))
            .ok(),
        None => None,
    };
    let mode = match mode {
        None => Some(PreferenceMode::Auto),
        Some(m) => {
            let parsed = PreferenceMode::parse(m);
            if parsed.is_none() {
                errors.push("preference_mode", "must be one of LEGACY, AUTO, MANUAL");
            }
            parsed
        }
    };
    let (Some(fiscal_code), Some(mode), true) = (code, mode, errors.is_empty()) else {
        return Err(Error::invalid(errors));
    };
    if fiscal_code.is_sandbox() {
        return Err(Error::bad_request(
            "Invalid payload",
            "The sandbox fiscal code cannot have a citizen profile.",
        ));
    }
    let now = ctx.clock.now();
    let profile = CitizenProfile {
        email,
        is_inbox_enabled: inbox_enabled,
        preference_mode: mode,
        ..CitizenProfile::new(fiscal_code, now)
    };
    ctx.store.create_citizen(&profile).await?;
    Ok(profile)
}

/// Issues a citizen session (the development login, until SPID/CIE): returns the bearer token,
/// shown only now (only its hash is stored), and the session. The profile is not created.
pub async fn issue_citizen_session(
    ctx: Context<'_>,
    fiscal_code: &str,
    session_ttl: std::time::Duration,
    client_ip: Option<String>,
) -> Result<(String, messaging::citizen::CitizenSession)> {
    let fiscal_code = FiscalCode::parse(fiscal_code)
        .map_err(|e| Error::invalid_field("fiscal_code", e.reason))?;
    if fiscal_code.is_sandbox() {
        return Err(Error::bad_request(
            "Invalid payload",
            "The sandbox fiscal code cannot have citizen sessions.",
        ));
    }
    let ttl = chrono::Duration::from_std(session_ttl)
        .map_err(|_| Error::internal("session lifetime out of range"))?;
    let now = ctx.clock.now();
    let token = new_token();
    let session = messaging::citizen::CitizenSession {
        id: ulid::Ulid::from_datetime(now.into()).to_string(),
        fiscal_code,
        method: "admin".to_owned(),
        client_ip,
        created_at: now,
        expires_at: now + ttl,
        revoked_at: None,
    };
    ctx.store
        .create_session(&session, &seal::key_hash(&token))
        .await?;
    Ok((token, session))
}

/// Revokes one of the citizen's active sessions (`id`, a ULID in either case); false if the
/// citizen has no active session with this id.
pub async fn revoke_session(ctx: Context<'_>, fiscal_code: &FiscalCode, id: &str) -> Result<bool> {
    if ulid::Ulid::from_string(id).is_err() {
        let mut errors = FieldErrors::default();
        errors.push("id", "must be a session ID (26 characters, a ULID)");
        return Err(Error::Invalid {
            title: "Invalid request",
            errors,
        });
    }
    let revoked = ctx
        .store
        .revoke_session(fiscal_code, &id.to_ascii_uppercase(), ctx.clock.now())
        .await?;
    if revoked {
        ctx.auth_cache.forget_citizen(fiscal_code);
    }
    Ok(revoked)
}

/// Revokes every session of the citizen; returns how many were active.
pub async fn revoke_all_sessions(ctx: Context<'_>, fiscal_code: &FiscalCode) -> Result<u64> {
    let revoked = ctx
        .store
        .revoke_sessions(fiscal_code, ctx.clock.now())
        .await?;
    ctx.auth_cache.forget_citizen(fiscal_code);
    Ok(revoked)
}

/// Removes everything held about the citizen, sessions included; their messages stay, without
/// content, as status records for the enti that sent them. False if there was no profile.
pub async fn delete_account(ctx: Context<'_>, fiscal_code: &FiscalCode) -> Result<bool> {
    let deleted = ctx
        .store
        .delete_citizen(fiscal_code, ctx.clock.now())
        .await?;
    if deleted {
        ctx.auth_cache.forget_citizen(fiscal_code);
    }
    Ok(deleted)
}
