//! `notice_archive`: the payment notices of a filter rendered into one ZIP (filled in next).

use kernel::jobs::Job;

use crate::Worker;

impl Worker {
    pub(crate) async fn run_archive(&self, job: &Job) {
        self.record_failure(job, "notice archives are not available yet")
            .await;
    }
}
