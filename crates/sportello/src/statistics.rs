//! The monthly private statistics of `serve`: a loop that, a minute after start and then every
//! `SPORTELLO_OPENDATA_STATISTICS_HOURS` (default 6), makes sure the previous month's
//! statistics of the platform's own data are released and published (see
//! `ops::opendata_stats`). A month already released is only checked again (its stored figures
//! are re-published if a crash stopped the load), so running it often costs little.

use std::time::Duration;

use opendata::stats::Period;
use tokio::sync::watch;

/// Runs until shutdown.
pub async fn run(state: api::AppState, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut done: Option<Period> = None;
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if *shutdown.borrow_and_update() {
            return;
        }
        wait = every;
        let period = Period::of(state.clock.now()).previous();
        if done == Some(period) {
            continue;
        }
        let mut uniform = ops::opendata_stats::system_uniform();
        match ops::opendata_stats::release_month(&state.od(), period, &mut uniform).await {
            Ok(results) => {
                let released = results.iter().filter(|r| r.status == "released").count();
                let blocked = results.iter().filter(|r| r.status == "blocked").count();
                let exhausted = results
                    .iter()
                    .filter(|r| r.status == "budget-exhausted")
                    .count();
                tracing::info!(
                    month = %period, released, blocked, budget_exhausted = exhausted,
                    "open data: monthly statistics checked"
                );
                if blocked == 0 {
                    done = Some(period);
                }
            }
            Err(e) => {
                tracing::warn!(month = %period, error.cause = %e, "open data: monthly statistics failed");
            }
        }
    }
}
