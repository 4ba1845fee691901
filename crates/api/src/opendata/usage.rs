//! Counting use without storing who: the visitor key is a hash of the installation's secret,
//! the day, the client address and its user agent; the store keeps it for that day only, to
//! count each visitor once per dataset, kind and day. No cookie is set.

use axum::http::{HeaderMap, header};
use opendata::ports::UseKind;

use crate::state::AppState;

/// Counts one use; failures are logged, never shown (counting must not break a read).
pub async fn count(
    state: &AppState,
    dataset_id: &str,
    kind: UseKind,
    client: Option<(std::net::IpAddr, &HeaderMap)>,
) {
    let salt = match state.od_salt.get() {
        Some(s) => s.clone(),
        None => match state.opendata.visitor_salt().await {
            Ok(s) => state.od_salt.get_or_init(|| s).clone(),
            Err(e) => {
                tracing::warn!(error = %e, "visitor salt unavailable; use not counted");
                return;
            }
        },
    };
    let today = state.clock.now().date_naive();
    let (ip, ua) = match client {
        Some((ip, headers)) => (
            ip.to_string(),
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        ),
        None => (String::new(), String::new()),
    };
    let day = today.to_string();
    let visitor = seal::sha256_hex(&[
        salt.as_bytes(),
        day.as_bytes(),
        ip.as_bytes(),
        ua.as_bytes(),
    ]);
    if let Err(e) =
        ops::opendata::record_use(&state.od(), dataset_id, kind, &visitor[..32], today).await
    {
        tracing::warn!(error = %e, dataset.id = %dataset_id, "use not counted");
    }
}
