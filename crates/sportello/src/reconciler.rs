//! The reconciler of `serve`: a loop that, every `SPORTELLO_RECON_INTERVAL_SECONDS` and right
//! after a document is ingested through the API, takes what waits in the drop folder, fetches
//! reporting flows from the node when their period came, and runs the incremental three-way
//! match of every ente with reconciliation documents, then applies its effects on the debt
//! positions. Every step is idempotent and durable: what was ingested is queued in the
//! database, so a crash between ingestion and the match only delays the match to the next
//! round.
//!
//! The drop folder: `<dir>/<organization fiscal code>/flows/` for reporting flows (XML or FdR 3
//! JSON) and `<dir>/<organization fiscal code>/treasury/` for statements (OPI, camt.053, CSV).
//! A file is taken when it is a regular file (not a symbolic link) whose name does not start
//! with `.` and does not end in `.tmp` or `.part` (write it under such a name, then rename).
//! It then moves to `done/` beside it, or to `failed/` with `<name>.error.txt` saying why.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kernel::values::OrganizationFiscalCode;
use ops::recon::{ReconContext, Source};
use tokio::sync::watch;

use crate::config::NodeFetchConfig;

/// What the loop needs.
pub struct Reconciler {
    pub state: api::AppState,
    pub interval: Option<Duration>,
    pub drop_dir: Option<PathBuf>,
    pub fetch: Option<NodeFetchConfig>,
}

/// Position effects applied per ente and round (the rest wait for the next round).
const EFFECTS_PER_ROUND: i64 = 20_000;

impl Reconciler {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let wake = self.state.recon_wake.clone();
        let mut last_fetch: Option<Instant> = None;
        loop {
            let wait = self
                .interval
                .unwrap_or(Duration::from_secs(3_600 * 24 * 365));
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = wake.notified() => {
                    // Let a burst of uploads land before matching.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ = tokio::time::sleep(wait) => {}
            }
            if *shutdown.borrow_and_update() {
                return;
            }
            if let Some(dir) = &self.drop_dir {
                scan_drop_dir(&self.state, dir).await;
            }
            if let Some(cfg) = &self.fetch
                && last_fetch.is_none_or(|t| t.elapsed() >= cfg.interval)
            {
                last_fetch = Some(Instant::now());
                let report = crate::node_fetch::fetch_flows(cfg, &self.state).await;
                tracing::info!(
                    organizations = report.organizations,
                    listed = report.listed,
                    fetched = report.fetched,
                    failed = report.failed.len(),
                    "reporting flows fetched from the node"
                );
            }
            round(&self.state).await;
        }
    }
}

/// One incremental match of every ente holding documents, and its position effects.
pub async fn round(state: &api::AppState) {
    let cx = ReconContext {
        store: state.payments.as_ref(),
        clock: state.clock.as_ref(),
    };
    let orgs = match state.payments.recon_organizations().await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error.cause = %e, "reconciliation: cannot list organizations");
            return;
        }
    };
    for org in orgs {
        match ops::recon::reconcile(cx, &org, false).await {
            Ok((run, _)) if run.changed > 0 => tracing::info!(
                organization = %org,
                items = run.items,
                changed = run.changed,
                new_anomalies = run.new_anomalies,
                "reconciled"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(organization = %org, error.cause = %e, "reconciliation failed");
                continue;
            }
        }
        if let Err(e) = ops::recon::apply_effects(state.pay(), &org, EFFECTS_PER_ROUND).await {
            tracing::warn!(organization = %org, error.cause = %e, "position effects failed");
        }
    }
}

fn takeable(name: &str) -> bool {
    !name.starts_with('.') && !name.ends_with(".tmp") && !name.ends_with(".part")
}

/// Ingests every waiting file of the drop folder.
pub async fn scan_drop_dir(state: &api::AppState, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Ok(org) = OrganizationFiscalCode::parse(&name) else {
            continue;
        };
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        for (kind, flows) in [("flows", true), ("treasury", false)] {
            let sub = entry.path().join(kind);
            let Ok(files) = std::fs::read_dir(&sub) else {
                continue;
            };
            let mut files: Vec<_> = files.flatten().collect();
            files.sort_by_key(|f| f.file_name());
            for f in files {
                let Some(fname) = f.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                // `file_type` does not follow symbolic links.
                if !takeable(&fname) || !f.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                take_file(state, &org, &sub, &fname, flows).await;
            }
        }
    }
}

async fn take_file(
    state: &api::AppState,
    org: &OrganizationFiscalCode,
    sub: &Path,
    name: &str,
    flow: bool,
) {
    let path = sub.join(name);
    let bytes = match std::fs::metadata(&path) {
        Ok(m) if m.len() as usize > ops::recon::MAX_DOCUMENT => {
            Err(format!("larger than {} bytes", ops::recon::MAX_DOCUMENT))
        }
        Ok(_) => std::fs::read(&path).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let cx = ReconContext {
        store: state.payments.as_ref(),
        clock: state.clock.as_ref(),
    };
    let outcome = match bytes {
        Err(e) => Err(e),
        Ok(bytes) if flow => ops::recon::ingest_flow(cx, org, &bytes, Source::Folder)
            .await
            .map(|d| format!("flow {} revision {}", d.flow_id, d.revision))
            .map_err(|e| e.to_string()),
        Ok(bytes) => ops::recon::ingest_statement(cx, org, &bytes, Source::Folder)
            .await
            .map(|d| format!("statement {} ({} movements)", d.document_id, d.movements))
            .map_err(|e| e.to_string()),
    };
    let (target, error) = match &outcome {
        Ok(what) => {
            tracing::info!(organization = %org, file = name, what = %what, "drop folder: ingested");
            ("done", None)
        }
        Err(e) => {
            tracing::warn!(organization = %org, file = name, "drop folder: refused");
            ("failed", Some(e.clone()))
        }
    };
    let dest = sub.join(target);
    if let Err(e) = std::fs::create_dir_all(&dest) {
        tracing::warn!(error.cause = %e, "drop folder: cannot create {target}/");
        return;
    }
    if let Some(error) = error {
        let _ = std::fs::write(dest.join(format!("{name}.error.txt")), format!("{error}\n"));
    }
    if let Err(e) = std::fs::rename(&path, dest.join(name)) {
        tracing::warn!(error.cause = %e, file = name, "drop folder: cannot move the file");
    }
}

/// Starts the reconciler on the current runtime.
pub fn spawn(r: Reconciler, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(r.run(shutdown))
}
