//! `POST /api/admin/v1/opendata/statistics?month=YYYY-MM` (admin bearer): releases the
//! monthly statistics of the platform's own data for a finished month (the previous one when
//! `month` is absent). `serve` runs the same every day for the previous month, so this route
//! is for a first run, a catch-up or a retry; a month already released is published again with
//! the same figures, never drawn twice.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use opendata::stats::Period;
use serde_json::{Value, json};

use crate::auth::AdminCaller;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn release(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    if let Some(other) = q.keys().find(|k| k.as_str() != "month") {
        return Err(ApiError::bad_request(
            "Unknown parameter",
            format!("`{other}` is not a parameter of this route; only `month` (YYYY-MM) is."),
        ));
    }
    let period = match q.get("month") {
        Some(m) => Period::parse(m).ok_or_else(|| {
            ApiError::bad_request(
                "Invalid month",
                "`month` must be a calendar month as YYYY-MM (for example 2026-11).",
            )
        })?,
        None => Period::of(state.clock.now()).previous(),
    };
    let mut uniform = ops::opendata_stats::system_uniform();
    let results = ops::opendata_stats::release_month(&state.od(), period, &mut uniform).await?;
    Ok(Json(
        json!({"month": period.to_string(), "results": results}),
    ))
}
