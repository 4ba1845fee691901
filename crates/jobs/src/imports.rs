//! `import_positions`: a bulk upload of debt positions, line by line (filled in next).

use kernel::jobs::Job;

use crate::Worker;

impl Worker {
    pub(crate) async fn run_import(&self, job: &Job) {
        self.record_failure(job, "position imports are not available yet")
            .await;
    }
}
