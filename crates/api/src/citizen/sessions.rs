//! The citizen's sessions: `GET /sessions` (active ones), `DELETE /sessions/{id}`,
//! `DELETE /sessions` (all, the current one included) and `GET /sessions/history` (every
//! login, revoked and expired ones too). Also the admin route that issues a session.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use kernel::FieldErrors;
use messaging::content::format_timestamp;

use super::wire::{
    IssuedSession, LoginHistory, LoginView, RevokedSessions, SessionList, SessionView,
};
use super::{invalid, query_pairs};
use crate::auth::{AdminCaller, ClientIp};
use crate::citizen_auth::CitizenCaller;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Sessions read for the list of active ones.
const ACTIVE_MAX: i64 = 1_000;

pub async fn list_sessions(
    State(state): State<AppState>,
    caller: CitizenCaller,
) -> ApiResult<Json<SessionList>> {
    let now = state.clock.now();
    let sessions = state
        .store
        .sessions_of(&caller.fiscal_code, ACTIVE_MAX)
        .await?;
    Ok(Json(SessionList {
        items: sessions
            .iter()
            .filter(|s| s.is_active(now))
            .map(|s| SessionView::new(s, &caller.session_id))
            .collect(),
    }))
}

/// `GET /sessions/history?limit=1..1000` (default 100), newest first.
pub async fn history(
    State(state): State<AppState>,
    caller: CitizenCaller,
    uri: Uri,
) -> ApiResult<Json<LoginHistory>> {
    let mut errors = FieldErrors::default();
    let pairs = query_pairs(&uri, &["limit"], &mut errors)?;
    let mut limit = 100;
    if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "limit") {
        match v.parse::<i64>() {
            Ok(n) if (1..=1_000).contains(&n) => limit = n,
            _ => errors.push("limit", "must be an integer from 1 to 1000"),
        }
    }
    if !errors.is_empty() {
        return Err(invalid("Invalid request", errors));
    }
    let now = state.clock.now();
    let sessions = state.store.sessions_of(&caller.fiscal_code, limit).await?;
    Ok(Json(LoginHistory {
        items: sessions
            .iter()
            .map(|s| LoginView::new(s, &caller.session_id, now))
            .collect(),
    }))
}

/// `DELETE /sessions/{id}`: revokes one of the caller's active sessions; 204.
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if ops::citizens::revoke_session(state.ops(), &caller.fiscal_code, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "Session not found",
            "You have no active session with this ID.",
        ))
    }
}

/// `DELETE /sessions`: revokes every session of the caller, the current one included.
pub async fn revoke_all(
    State(state): State<AppState>,
    caller: CitizenCaller,
) -> ApiResult<Json<RevokedSessions>> {
    let revoked = ops::citizens::revoke_all_sessions(state.ops(), &caller.fiscal_code).await?;
    Ok(Json(RevokedSessions { revoked }))
}

/// Admin API: `POST /citizens/{fiscal_code}/sessions` issues a session for the citizen (the
/// development login); 201 with the token, shown only now.
pub async fn issue(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ClientIp(ip): ClientIp,
    Path(fiscal_code): Path<String>,
) -> ApiResult<(StatusCode, Json<IssuedSession>)> {
    let (token, session) = ops::citizens::issue_citizen_session(
        state.ops(),
        &fiscal_code,
        state.settings.session_ttl,
        Some(ip.to_string()),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedSession {
            token,
            session_id: session.id,
            expires_at: format_timestamp(&session.expires_at),
        }),
    ))
}
