//! The pull loop of `serve`: every minute, and at once when a pull is created, runs the
//! scheduled pulls that are due (see `ops::opendata_pull`; a node claims each one, so several
//! nodes share the work without running a pull twice).

use std::time::Duration;

use tokio::sync::watch;

/// How often the loop looks for due pulls.
const EVERY: Duration = Duration::from_secs(60);

/// Runs until shutdown.
pub async fn run(state: api::AppState, mut shutdown: watch::Receiver<bool>) {
    let wake = state.od_pull_wake.clone();
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(EVERY) => {}
        }
        if *shutdown.borrow_and_update() {
            return;
        }
        match ops::opendata_pull::run_due(&state.od(), state.od_fetcher.as_ref()).await {
            Ok(done) => {
                for p in &done {
                    tracing::info!(
                        pull = %p.id, dataset = %p.dataset_id,
                        status = p.last_status.as_deref().unwrap_or(""),
                        "open data: pull run"
                    );
                }
            }
            Err(e) => tracing::warn!(error.cause = %e, "open data: pulls failed"),
        }
    }
}
