//! The citizen API (`/api/citizen/v1`, session bearer token): profile and e-mail validation,
//! per-service preferences, the inbox, sessions, and the GDPR export. Every handler reads and
//! changes only the calling citizen's data: an id that belongs to someone else gets the same
//! answer as an unknown one. Also the operator's routes for citizens under `/api/admin/v1`
//! (test profiles, the development login). Its wire types are in `wire`, its part of the
//! OpenAPI document in `openapi`.

pub mod admin;
pub mod export;
pub mod inbox;
pub mod openapi;
pub mod preferences;
pub mod profile;
pub mod sessions;
pub mod wire;

use axum::extract::Query;
use axum::http::Uri;
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use messaging::citizen::InboxItem;

use crate::problem::{ApiError, ApiResult};
use crate::route_table::Routes;
use crate::state::AppState;

/// Every route of the citizen domain.
pub fn routes() -> Routes {
    Routes::new()
        // The citizen's own data (session bearer token), and the public e-mail validation link.
        .get("/api/citizen/v1/profile", profile::get_profile)
        .put("/api/citizen/v1/profile", profile::put_profile)
        .delete("/api/citizen/v1/profile", profile::delete_profile)
        .get("/api/citizen/v1/email-validation", profile::validate_email)
        .get(
            "/api/citizen/v1/services/{service_id}/preferences",
            preferences::get_preference,
        )
        .put(
            "/api/citizen/v1/services/{service_id}/preferences",
            preferences::put_preference,
        )
        .get("/api/citizen/v1/messages", inbox::list_messages)
        .get("/api/citizen/v1/messages/{id}", inbox::get_message)
        .put("/api/citizen/v1/messages/{id}/status", inbox::change_status)
        .get("/api/citizen/v1/sessions", sessions::list_sessions)
        .delete("/api/citizen/v1/sessions", sessions::revoke_all)
        .get("/api/citizen/v1/sessions/history", sessions::history)
        .delete("/api/citizen/v1/sessions/{id}", sessions::revoke_session)
        .get("/api/citizen/v1/export", export::export)
        // The operator's.
        .post("/api/admin/v1/citizens", admin::create_citizen)
        .post(
            "/api/admin/v1/citizens/{fiscal_code}/sessions",
            sessions::issue,
        )
}

fn invalid(title: &'static str, errors: FieldErrors) -> ApiError {
    ApiError::Validation { title, errors }
}

fn profile_not_found() -> ApiError {
    ApiError::not_found(
        "Profile not found",
        "You have no profile yet: create it with PUT /api/citizen/v1/profile (version 0).",
    )
}

fn message_not_found() -> ApiError {
    ApiError::not_found(
        "Message not found",
        "No message with this ID is in your inbox.",
    )
}

/// A field name from the client, shortened so that an answer never grows with the input.
fn echo(name: &str) -> String {
    name.chars().take(40).collect()
}

/// Records every member of `o` that is not in `allowed` (bodies are strict: a misspelt field
/// is an error, not a silent no-op).
fn refuse_unknown(o: &ObjectReader<'_>, allowed: &[&str], errors: &mut FieldErrors) {
    for key in o.obj.keys() {
        if !allowed.contains(&key.as_str()) {
            errors.push(o.path(&echo(key)), "is not a known field");
        }
    }
}

/// The query string's pairs, in order. Parameters the route does not take (`allowed`) and
/// repeated ones are recorded in `errors`; only a query string that does not parse fails here.
fn query_pairs(
    uri: &Uri,
    allowed: &[&str],
    errors: &mut FieldErrors,
) -> ApiResult<Vec<(String, String)>> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|_| {
        ApiError::bad_request("Invalid request", "The query string is not well formed.")
    })?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&k.as_str()) {
            errors.push(echo(k), "is not a parameter of this operation");
        } else if pairs[..i].iter().any(|(seen, _)| seen == k) {
            errors.push(echo(k), "is given more than once");
        }
    }
    Ok(pairs)
}

/// The subject of an inbox item, opened.
fn open_title(state: &AppState, item: &InboxItem) -> ApiResult<String> {
    let plain = state
        .keyring
        .open(
            &item.title.key_id,
            &item.title.bytes,
            format!("title:{}", item.message_id).as_bytes(),
        )
        .map_err(ApiError::internal)?;
    String::from_utf8(plain).map_err(ApiError::internal)
}
