//! Background work. Jobs are outbox rows written in the transaction that calls for them; a
//! worker claims them under a lease, in three lanes that run side by side so that one kind of
//! work cannot hold up another: messages (`process_message`), outbound sends (`notify`,
//! `callback`) and batches (`process_batch`). One file per job kind holds what that job does.
//! Failed attempts are retried with exponential back-off; after the last one the job is dead
//! (visible and retryable through the admin API) and what it worked on FAILED.

pub mod archives;
pub mod batch;
pub mod callback;
mod imports;
mod message;
pub mod notify;
pub mod outbound;
mod payments;

use std::sync::Arc;
use std::time::Duration;

use kernel::Clock;
use kernel::jobs::{Job, JobKind, JobsReady};
use messaging::model::ProcessingOutcome;
use messaging::ports::{Store, StoreError};
use seal::Keyring;
use tokio::sync::{Notify, watch};

/// The groups of job kinds a worker claims separately, each in its own loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Messages,
    Outbound,
    Batches,
    Payments,
}

impl Lane {
    pub const ALL: [Self; 4] = [
        Self::Messages,
        Self::Outbound,
        Self::Batches,
        Self::Payments,
    ];

    /// The job kinds the lane claims.
    pub fn kinds(self) -> &'static [JobKind] {
        match self {
            Self::Messages => &[JobKind::ProcessMessage],
            Self::Outbound => &[JobKind::Notify, JobKind::Callback],
            Self::Batches => &[
                JobKind::ProcessBatch,
                JobKind::ImportPositions,
                JobKind::NoticeArchive,
            ],
            Self::Payments => &[
                JobKind::PositionTick,
                JobKind::PreNotice,
                JobKind::OptionPaid,
            ],
        }
    }

    /// The lane that claims `kind`.
    pub fn of(kind: JobKind) -> Self {
        match kind {
            JobKind::ProcessMessage => Self::Messages,
            JobKind::Notify | JobKind::Callback => Self::Outbound,
            JobKind::ProcessBatch | JobKind::ImportPositions | JobKind::NoticeArchive => {
                Self::Batches
            }
            JobKind::PositionTick | JobKind::PreNotice | JobKind::OptionPaid => Self::Payments,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Messages => 0,
            Self::Outbound => 1,
            Self::Batches => 2,
            Self::Payments => 3,
        }
    }
}

/// Wakes the lanes of every worker of this process when jobs of their kinds are queued.
#[derive(Debug, Default)]
pub struct Wakeups {
    lanes: [Notify; 4],
}

impl Wakeups {
    /// The signal a lane waits on.
    pub fn lane(&self, lane: Lane) -> &Notify {
        &self.lanes[lane.index()]
    }
}

impl JobsReady for Wakeups {
    fn ready(&self, kind: JobKind) {
        // Wakes the lanes waiting now; a lane busy in a round claims the new jobs in its next
        // round anyway, because it only waits after a round that found nothing.
        self.lane(Lane::of(kind)).notify_waiters();
    }
}

/// How workers behave.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs claimed per round.
    pub batch: i64,
    /// How long a claimed job stays reserved; after that another worker may take it over
    /// (a worker that crashed loses its claim when the lease runs out).
    pub lease_ms: i64,
    /// Attempts before a job is dead.
    pub max_attempts: i64,
    /// First retry delay; doubles with every attempt.
    pub backoff_base_ms: i64,
    /// Longest retry delay.
    pub backoff_max_ms: i64,
    /// How often an idle worker looks for jobs written elsewhere (other nodes, the CLI).
    pub poll_interval_ms: u64,
    /// Platform default limits (batches apply the services' quotas).
    pub default_limits: messaging::quota::Limits,
    /// How long before a due date the reminder goes out (`None`: no reminders).
    pub reminder_lead_ms: Option<i64>,
    /// Notifications and callbacks sent at once by one worker.
    pub send_concurrency: usize,
    /// A batch upload that stored nothing for this long without completing is abandoned
    /// (client gone, process killed) and removed.
    pub upload_idle_ms: i64,
    /// Where `notice_archive` jobs write their ZIPs (`<data_dir>/archives`).
    pub archive_dir: std::path::PathBuf,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch: 128,
            lease_ms: 30_000,
            max_attempts: 5,
            backoff_base_ms: 1_000,
            backoff_max_ms: 300_000,
            poll_interval_ms: 500,
            default_limits: messaging::quota::Limits {
                rate_per_second: 0,
                burst: 0,
                daily_quota: None,
                monthly_quota: None,
            },
            reminder_lead_ms: Some(72 * 3_600_000),
            send_concurrency: 16,
            upload_idle_ms: 3_600_000,
            archive_dir: std::path::PathBuf::from("./sportello-data/archives"),
        }
    }
}

impl WorkerConfig {
    /// Delay before attempt `attempts + 1`.
    pub fn backoff_ms(&self, attempts: i64) -> i64 {
        let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.backoff_base_ms
            .saturating_mul(1_i64 << exp)
            .min(self.backoff_max_ms)
    }
}

/// What workers report, for metrics.
pub trait JobEvents: Send + Sync + 'static {
    fn processed(&self, rejected: bool);
    fn failed(&self, dead: bool);
    /// A job was claimed while an earlier claim still held it: that claim's lease ran out
    /// (its worker died or stalled) and this worker takes the job over.
    fn taken_over(&self) {}
    /// A notification (`EMAIL`, `WEBHOOK`) or callback (`CALLBACK`) attempt ended for good:
    /// handed over (`true`) or given up (`false`).
    fn sent(&self, _channel: &str, _ok: bool) {}
}

/// A worker: three lanes (messages, outbound sends, batches) claiming their own job kinds.
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub keyring: Arc<Keyring>,
    pub config: WorkerConfig,
    pub events: Arc<dyn JobEvents>,
    pub wake: Arc<Wakeups>,
    /// The outbound channels notifications and callbacks go through.
    pub channels: Arc<outbound::Channels>,
    pub clock: Arc<dyn Clock>,
    /// The payments domain's storage (the same database).
    pub payments: Arc<dyn ::payments::ports::PaymentsStore>,
    /// Notice numbers for the payments use cases the jobs run.
    pub notices: Arc<ops::payments::NoticeAllocator>,
}

impl Worker {
    /// Runs every lane until `shutdown` turns true; each finishes the round in progress first.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        tokio::join!(
            self.run_lane(Lane::Messages, shutdown.clone()),
            self.run_lane(Lane::Outbound, shutdown.clone()),
            self.run_lane(Lane::Batches, shutdown.clone()),
            self.run_lane(Lane::Payments, shutdown),
        );
    }

    async fn run_lane(&self, lane: Lane, mut shutdown: watch::Receiver<bool>) {
        // The batch lane also sweeps abandoned uploads, a few times per idle period (at most
        // once a minute).
        let sweep_every =
            Duration::from_millis((self.config.upload_idle_ms / 4).clamp(50, 60_000) as u64);
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if lane == Lane::Batches && last_sweep.is_none_or(|t| t.elapsed() >= sweep_every) {
                last_sweep = Some(std::time::Instant::now());
                self.sweep_abandoned_uploads().await;
            }
            let notified = self.wake.lane(lane).notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let worked = match self.round_of(lane).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error.cause = %e, lane = ?lane, "job round failed");
                    false
                }
            };
            if worked {
                continue;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(Duration::from_millis(self.config.poll_interval_ms)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Claims one group of due jobs of the lane's kinds and runs them; returns how many were
    /// claimed.
    pub async fn round_of(&self, lane: Lane) -> Result<usize, StoreError> {
        let jobs = self
            .store
            .claim_jobs(
                lane.kinds(),
                self.config.batch,
                self.clock.now(),
                self.config.lease_ms,
            )
            .await?;
        let claimed = jobs.len();
        if claimed == 0 {
            return Ok(0);
        }
        self.report_takeovers(&jobs);
        match lane {
            Lane::Messages => self.run_messages(jobs).await,
            Lane::Outbound => outbound::run_all(self, jobs).await,
            Lane::Batches => {
                for job in &jobs {
                    match job.kind {
                        JobKind::ImportPositions => self.run_import(job).await,
                        JobKind::NoticeArchive => self.run_archive(job).await,
                        _ => self.run_batch(job).await,
                    }
                }
            }
            Lane::Payments => self.run_payments(jobs).await,
        }
        Ok(claimed)
    }

    async fn run_messages(&self, jobs: Vec<Job>) {
        let decided = message::decide_batch(
            self.store.as_ref(),
            &self.keyring,
            &jobs,
            self.config.reminder_lead_ms,
            self.clock.now(),
        )
        .await;
        let (done, failed) = match decided {
            Ok(split) => split,
            Err(e) => {
                let error = format!("reading the batch failed: {e}");
                let failed = jobs.iter().map(|j| (j.clone(), error.clone())).collect();
                (Vec::new(), failed)
            }
        };
        match self
            .store
            .complete_message_jobs(&done, self.clock.now())
            .await
        {
            Ok(()) => {
                for d in &done {
                    self.events
                        .processed(matches!(d.outcome, ProcessingOutcome::Rejected(_)));
                }
                let notified = done.iter().any(|d| match &d.outcome {
                    ProcessingOutcome::Processed { notifications, .. } => !notifications.is_empty(),
                    ProcessingOutcome::Rejected(_) => false,
                });
                if notified {
                    // Notifications were queued. (Callbacks queued with the outcomes are
                    // claimed at the outbound lane's next poll: waking it after every round
                    // cost an empty claim per round and slowed intake on PostgreSQL.)
                    self.wake.ready(JobKind::Notify);
                }
            }
            Err(e) => {
                // Nothing was recorded: the claims expire and the jobs run again.
                tracing::warn!(jobs = done.len(), error.cause = %e, "recording job outcomes failed");
            }
        }
        for (job, error) in failed {
            self.record_failure(&job, &error).await;
        }
    }

    /// Logs and counts the claimed jobs that an earlier claim still held. Every path that
    /// gives a job back without completing it (a failed attempt, a throttled notification)
    /// records `last_error`, and a dead job retried starts again at attempt 0; so a job claimed
    /// for the second time or later with no `last_error` was still held by a claim whose lease
    /// ran out. (A job taken over after an earlier failed attempt has a `last_error` and is
    /// not counted: the count is a lower bound, exact for jobs that never failed.)
    fn report_takeovers(&self, jobs: &[Job]) {
        for job in jobs
            .iter()
            .filter(|j| j.attempts > 1 && j.last_error.is_none())
        {
            tracing::info!(
                job.id = job.id,
                job.kind = %job.kind,
                job.attempts = job.attempts,
                "job lease taken over"
            );
            self.events.taken_over();
        }
    }

    async fn sweep_abandoned_uploads(&self) {
        let idle_since =
            self.clock.now() - chrono::Duration::milliseconds(self.config.upload_idle_ms);
        match self.store.discard_stale_uploads(idle_since).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(batches = n, "abandoned batch uploads removed"),
            Err(e) => tracing::warn!(error.cause = %e, "cannot remove abandoned batch uploads"),
        }
        self.sweep_abandoned_imports(idle_since).await;
    }

    async fn run_batch(&self, job: &Job) {
        let store = self.store.as_ref();
        let result = match kernel::values::BatchId::parse(&job.subject_id) {
            Ok(id) => {
                batch::process(
                    store,
                    &self.keyring,
                    self.clock.as_ref(),
                    &id,
                    &self.config.default_limits,
                    Some(batch::Lease {
                        job_id: job.id,
                        lease_ms: self.config.lease_ms,
                        wake: self.wake.as_ref(),
                    }),
                )
                .await
            }
            Err(e) => Err(format!("job batch id: {e}")),
        };
        match result {
            Ok(n) => {
                tracing::info!(job.id = job.id, messages = n, "batch processed");
                if let Err(e) = store.delete_job(job.id).await {
                    tracing::warn!(job.id = job.id, error.cause = %e, "cannot remove the batch job");
                }
            }
            Err(error) => self.record_failure(job, &error).await,
        }
    }

    pub(crate) async fn record_failure(&self, job: &Job, error: &str) {
        let now = self.clock.now();
        let dead = job.attempts >= self.config.max_attempts;
        let retry_at = (!dead)
            .then(|| now + chrono::Duration::milliseconds(self.config.backoff_ms(job.attempts)));
        tracing::warn!(
            job.id = job.id,
            job.kind = %job.kind,
            job.attempts = job.attempts,
            job.dead = dead,
            error.cause = %error,
            "job attempt failed"
        );
        if let Err(e) = self.store.fail_job(job.id, error, retry_at, now).await {
            tracing::error!(job.id = job.id, error.cause = %e, "could not record job failure");
        }
        self.events.failed(dead);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let c = WorkerConfig {
            backoff_base_ms: 100,
            backoff_max_ms: 1_000,
            ..WorkerConfig::default()
        };
        assert_eq!(c.backoff_ms(1), 100);
        assert_eq!(c.backoff_ms(2), 200);
        assert_eq!(c.backoff_ms(4), 800);
        assert_eq!(c.backoff_ms(5), 1_000);
        assert_eq!(c.backoff_ms(60), 1_000);
    }
}
