//! What the `notify` and `callback` jobs share: the outbound channels, the failure kinds, the
//! retry schedule and running a group of them with bounded concurrency.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use kernel::jobs::{Job, JobKind};
use messaging::outbound::{HttpPoster, Mailer, SendError};

use crate::Worker;

/// The outbound channels, as configured. A channel that is `None` is off: its notifications
/// are recorded FAILED with the reason, never silently dropped.
pub struct Channels {
    pub mailer: Option<Arc<dyn Mailer>>,
    /// For the push gateway (the operator's endpoint).
    pub http: Arc<dyn HttpPoster>,
    /// For enti's callback URLs: behind the outbound policy, which refuses internal
    /// destinations when connecting.
    pub callbacks: Arc<dyn HttpPoster>,
    /// The push gateway notifications are POSTed to.
    pub push_url: Option<String>,
    /// Absolute base URL for links in e-mails, without a trailing slash.
    pub public_url: String,
}

/// Why a notification was not handed to its channel.
pub(crate) enum Failure {
    /// The message's time to live ran out first.
    Expired,
    /// Nothing to retry: the channel is off, the address is gone, the data was erased.
    Skip(String),
    Send(SendError),
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

/// Runs notification and callback jobs, a bounded number at a time.
pub(crate) async fn run_all(worker: &Worker, jobs: Vec<Job>) {
    let limit = worker.config.send_concurrency.max(1);
    futures_util::stream::iter(jobs)
        .for_each_concurrent(limit, |job| async move {
            let result = match job.kind {
                JobKind::Notify => crate::notify::run_notification(worker, &job).await,
                JobKind::Callback => crate::callback::run_callback(worker, &job).await,
                other => Err(format!("a `{other}` job is not an outbound job")),
            };
            if let Err(error) = result {
                worker.record_failure(&job, &error).await;
            }
        })
        .await;
}

pub(crate) fn subject_id(job: &Job) -> Result<i64, String> {
    job.subject_id
        .parse()
        .map_err(|_| format!("job subject `{}` is not a row id", job.subject_id))
}

/// The next attempt after a temporary failure, or `None` when retrying would pass `deadline`.
pub(crate) fn retry_at(
    worker: &Worker,
    attempts: i64,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let at = now + chrono::Duration::milliseconds(worker.config.backoff_ms(attempts));
    match deadline {
        Some(d) if now >= d => None,
        Some(d) => Some(at.min(d)),
        None => Some(at),
    }
}
