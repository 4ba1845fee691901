//! `import_positions`: a bulk upload of debt positions, processed chunk by chunk through
//! `ops::imports::process` (each chunk's positions and line outcomes commit together, so a
//! job taken over after a crash resumes at the first line without an outcome).

use kernel::jobs::Job;
use payments::import::ImportId;

use crate::Worker;

impl Worker {
    pub(crate) async fn run_import(&self, job: &Job) {
        let result = match ImportId::parse(&job.subject_id) {
            Ok(id) => ops::imports::process(
                self.pay_context(),
                &self.keyring,
                &id,
                ops::imports::Run {
                    lease: Some(ops::imports::Lease {
                        job_id: job.id,
                        lease_ms: self.config.lease_ms,
                    }),
                    ..ops::imports::Run::default()
                },
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(format!("job import id: {e}")),
        };
        match result {
            Ok(n) => {
                tracing::info!(job.id = job.id, positions = n, "import processed");
                if let Err(e) = self.store.delete_job(job.id).await {
                    tracing::warn!(job.id = job.id, error.cause = %e, "cannot remove the import job");
                }
            }
            Err(error) => self.record_failure(job, &error).await,
        }
    }

    /// Removes import uploads abandoned mid-way (client or process gone).
    pub(crate) async fn sweep_abandoned_imports(&self, idle_since: chrono::DateTime<chrono::Utc>) {
        match self.payments.discard_stale_imports(idle_since).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(imports = n, "abandoned import uploads removed"),
            Err(e) => tracing::warn!(error.cause = %e, "cannot remove abandoned import uploads"),
        }
    }
}
