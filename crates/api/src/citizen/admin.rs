//! Admin API of citizens (`/api/admin/v1`, bearer admin token): citizen profiles for testing.
//! The admin route that issues a session is in `sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ops::citizens;
use serde_json::Value;

use super::wire::CitizenView;
use crate::auth::AdminCaller;
use crate::problem::ApiResult;
use crate::request::{Body, fields};
use crate::state::AppState;

pub async fn create_citizen(
    State(state): State<AppState>,
    _admin: AdminCaller,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<CitizenView>)> {
    let (req, opt, value) = fields(
        &headers,
        &body,
        &["fiscal_code"],
        &["email", "preference_mode"],
    )?;
    let inbox = value
        .get("is_inbox_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let profile = citizens::create_citizen(
        state.ops(),
        &req[0],
        opt[0].as_deref(),
        inbox,
        opt[1].as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CitizenView::from(&profile))))
}
