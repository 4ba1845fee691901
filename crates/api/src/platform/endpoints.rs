//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let on = |b: bool| if b { "on" } else { "off" };
    let channels = json!({
        "email": on(state.settings.email_enabled),
        "push": on(state.settings.push_enabled),
    });
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "channels": channels})),
        ),
        Err(e) => {
            tracing::warn!(error.cause = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "database not answering"})),
            )
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let jobs = state.store.job_counts().await.ok();
    let mut text = state.metrics.render(jobs);
    text.push_str(
        "# HELP sportello_channel_enabled Whether an outbound channel is configured (1) or off (0).\n\
         # TYPE sportello_channel_enabled gauge\n",
    );
    for (channel, on) in [
        ("email", state.settings.email_enabled),
        ("push", state.settings.push_enabled),
    ] {
        text.push_str(&format!(
            "sportello_channel_enabled{{channel=\"{channel}\"}} {}\n",
            u8::from(on)
        ));
    }
    if let Ok(open) = state.payments.open_anomalies().await {
        text.push_str(
            "# HELP sportello_reconciliation_open_anomalies Reconciliation anomalies not closed, \
             by class, over every organization.\n\
             # TYPE sportello_reconciliation_open_anomalies gauge\n",
        );
        for class in payments::recon::Class::ALL
            .into_iter()
            .filter(|c| c.is_anomaly())
        {
            let n = open
                .iter()
                .find(|(c, _)| *c == class)
                .map_or(0, |(_, n)| *n);
            text.push_str(&format!(
                "sportello_reconciliation_open_anomalies{{class=\"{class}\"}} {n}\n"
            ));
        }
    }
    let now = state.clock.now();
    for (period, name) in [
        (
            messaging::quota::QuotaPeriod::Daily,
            "sportello_service_messages_today",
        ),
        (
            messaging::quota::QuotaPeriod::Monthly,
            "sportello_service_messages_this_month",
        ),
    ] {
        if let Ok(usage) = state.store.usage_in_period(&period.key(now)).await {
            text.push_str(&format!(
                "# HELP {name} Messages accepted per service in the current UTC {} (quota usage).\n# TYPE {name} gauge\n",
                if period == messaging::quota::QuotaPeriod::Daily { "day" } else { "month" }
            ));
            for (service, n) in usage {
                text.push_str(&format!("{name}{{service_id=\"{service}\"}} {n}\n"));
            }
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

pub async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}
