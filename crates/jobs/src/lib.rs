//! Background work: workers claim message jobs (outbox rows written with the message), decide
//! PROCESSED or REJECTED by the domain rules, and record the outcome and the job's removal in
//! one transaction. Failed attempts are retried with exponential back-off; after the last one
//! the job is dead (visible and retryable through the admin API) and its message FAILED.

pub mod batch;
pub mod outbound;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use messaging::citizen::{Channel, NewNotification, Purpose, notification_channels};
use messaging::content::MessageContent;
use messaging::delivery::{Decision, decide};
use messaging::model::{
    CitizenProfile, InboxEntry, Job, MessageRecord, ProcessingOutcome, SealedContent, Service,
    ServicePreference,
};
use messaging::ports::{CompletedJob, Store};
use messaging::values::FiscalCode;
use messaging::values::{MessageId, ServiceId};
use seal::Keyring;
use tokio::sync::{Notify, watch};

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

/// A message-processing worker.
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub keyring: Arc<Keyring>,
    pub config: WorkerConfig,
    pub events: Arc<dyn JobEvents>,
    pub wake: Arc<Notify>,
    /// The outbound channels notifications and callbacks go through.
    pub channels: Arc<outbound::Channels>,
}

impl Worker {
    /// Runs until `shutdown` turns true; finishes the round in progress first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        // Sweep abandoned uploads a few times per idle period (at most once a minute).
        let sweep_every =
            Duration::from_millis((self.config.upload_idle_ms / 4).clamp(50, 60_000) as u64);
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if last_sweep.is_none_or(|t| t.elapsed() >= sweep_every) {
                last_sweep = Some(std::time::Instant::now());
                self.sweep_abandoned_uploads().await;
            }
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let worked = match self.round().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error.cause = %e, "job round failed");
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

    /// Claims one batch of due jobs, reads what they need with one query per kind of record,
    /// decides each, and records every outcome in one transaction; returns how many were claimed.
    pub async fn round(&self) -> Result<usize, messaging::ports::StoreError> {
        let jobs = self
            .store
            .claim_jobs(self.config.batch, Utc::now(), self.config.lease_ms)
            .await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        self.report_takeovers(&jobs);
        let (batches, jobs): (Vec<Job>, Vec<Job>) =
            jobs.into_iter().partition(|j| j.kind == "process_batch");
        let (sends, jobs): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|j| j.kind == "notify" || j.kind == "callback");
        for job in &batches {
            self.run_batch(job).await;
        }
        let claimed = batches.len() + sends.len() + jobs.len();
        if !sends.is_empty() {
            outbound::run_all(self, sends).await;
        }
        if jobs.is_empty() {
            return Ok(claimed);
        }
        let decided = decide_batch(
            self.store.as_ref(),
            &self.keyring,
            &jobs,
            self.config.reminder_lead_ms,
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
        match self.store.complete_message_jobs(&done, Utc::now()).await {
            Ok(()) => {
                for d in &done {
                    self.events
                        .processed(matches!(d.outcome, ProcessingOutcome::Rejected(_)));
                }
            }
            Err(e) => {
                // Nothing was recorded: the claims expire and the jobs run again.
                tracing::warn!(jobs = done.len(), error.cause = %e, "recording job outcomes failed");
            }
        }
        let notified = done.iter().any(|d| match &d.outcome {
            ProcessingOutcome::Processed { notifications, .. } => !notifications.is_empty(),
            ProcessingOutcome::Rejected(_) => false,
        });
        if notified {
            self.wake.notify_one();
        }
        for (job, error) in failed {
            self.record_failure(&job, &error).await;
        }
        Ok(claimed)
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
        let idle_since = Utc::now() - chrono::Duration::milliseconds(self.config.upload_idle_ms);
        match self.store.discard_stale_uploads(idle_since).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(batches = n, "abandoned batch uploads removed"),
            Err(e) => tracing::warn!(error.cause = %e, "cannot remove abandoned batch uploads"),
        }
    }

    async fn run_batch(&self, job: &Job) {
        let store = self.store.as_ref();
        match batch::process(
            store,
            &self.keyring,
            &job.message_id,
            &self.config.default_limits,
            Some(batch::Lease {
                job_id: job.id,
                lease_ms: self.config.lease_ms,
                wake: &self.wake,
            }),
        )
        .await
        {
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
        let now = Utc::now();
        let dead = job.attempts >= self.config.max_attempts;
        let retry_at = (!dead)
            .then(|| now + chrono::Duration::milliseconds(self.config.backoff_ms(job.attempts)));
        tracing::warn!(
            job.id = job.id,
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

type Failed = Vec<(Job, String)>;

/// Decides the outcome of every job of a batch; writes nothing. Returns the decided jobs and
/// the jobs that failed with their reason.
async fn decide_batch(
    store: &dyn Store,
    keyring: &Keyring,
    jobs: &[Job],
    reminder_lead_ms: Option<i64>,
) -> Result<(Vec<CompletedJob>, Failed), messaging::ports::StoreError> {
    let mut failed = Vec::new();
    let mut ids = Vec::with_capacity(jobs.len());
    for job in jobs {
        if job.kind != "process_message" {
            failed.push((job.clone(), format!("unknown job kind `{}`", job.kind)));
            continue;
        }
        match MessageId::parse(&job.message_id) {
            Ok(id) => ids.push((job, id)),
            Err(e) => failed.push((job.clone(), format!("job message id: {e}"))),
        }
    }
    let ids_only: Vec<MessageId> = ids.iter().map(|(_, id)| *id).collect();
    let messages: HashMap<MessageId, MessageRecord> = store
        .get_messages(&ids_only)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut codes: Vec<FiscalCode> = messages
        .values()
        .filter(|m| !m.fiscal_code.is_sandbox())
        .map(|m| m.fiscal_code.clone())
        .collect();
    codes.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    codes.dedup();
    let profiles: HashMap<String, CitizenProfile> = store
        .get_citizens(&codes)
        .await?
        .into_iter()
        .map(|p| (p.fiscal_code.to_string(), p))
        .collect();
    let with_profile: Vec<FiscalCode> = codes
        .into_iter()
        .filter(|c| profiles.contains_key(c.as_str()))
        .collect();
    let mut preferences: HashMap<String, Vec<ServicePreference>> = HashMap::new();
    for (fc, p) in store.get_preferences_of(&with_profile).await? {
        preferences.entry(fc.to_string()).or_default().push(p);
    }

    let mut services: HashMap<ServiceId, Option<Service>> = HashMap::new();
    for m in messages.values() {
        if let std::collections::hash_map::Entry::Vacant(e) = services.entry(m.service_id) {
            e.insert(store.get_service(&m.service_id).await?);
        }
    }
    let context = Context {
        keyring,
        profiles: &profiles,
        preferences: &preferences,
        services: &services,
        reminder_lead_ms,
        now: Utc::now(),
    };
    let mut done = Vec::with_capacity(ids.len());
    for (job, id) in ids {
        let Some(message) = messages.get(&id) else {
            failed.push((
                job.clone(),
                "the message of this job does not exist".to_owned(),
            ));
            continue;
        };
        match decide_one(&context, message) {
            Ok(outcome) => done.push(CompletedJob {
                job_id: job.id,
                message_id: id,
                outcome,
            }),
            Err(e) => failed.push((job.clone(), e)),
        }
    }
    Ok((done, failed))
}

/// What one round read for deciding its messages.
struct Context<'a> {
    keyring: &'a Keyring,
    profiles: &'a HashMap<String, CitizenProfile>,
    preferences: &'a HashMap<String, Vec<ServicePreference>>,
    services: &'a HashMap<ServiceId, Option<Service>>,
    reminder_lead_ms: Option<i64>,
    now: DateTime<Utc>,
}

/// The outcome for one message given the round's profiles, preferences and services: the
/// decision, the inbox entry, and the notifications the citizen's preferences ask for.
fn decide_one(cx: &Context<'_>, message: &MessageRecord) -> Result<ProcessingOutcome, String> {
    if message.content.is_erased() {
        // The citizen deleted their account after the message was accepted.
        return Ok(ProcessingOutcome::Rejected(
            messaging::model::RejectionReason::UserNotFound,
        ));
    }
    let content = open_content(cx.keyring, message)?;
    let expires_at = message.created_at + chrono::Duration::seconds(message.time_to_live);
    if message.fiscal_code.is_sandbox() {
        // The sandbox code has no inbox: the organization's delegates get a copy by e-mail.
        return Ok(ProcessingOutcome::Processed {
            inbox: None,
            notifications: vec![NewNotification {
                subject_id: message.id.to_string(),
                fiscal_code: message.fiscal_code.clone(),
                channel: Channel::Email,
                purpose: Purpose::Sandbox,
                send_at: cx.now,
                expires_at,
                payload: None,
            }],
        });
    }
    let profile = cx.profiles.get(message.fiscal_code.as_str());
    let preference = profile.and_then(|p| {
        cx.preferences.get(p.fiscal_code.as_str()).and_then(|list| {
            list.iter().find(|pref| {
                pref.service_id == message.service_id && pref.settings_version == p.settings_version
            })
        })
    });
    let profile = match (decide(profile, &message.service_id, preference), profile) {
        (Decision::Deliver, Some(p)) => p,
        (Decision::Reject(reason), _) => return Ok(ProcessingOutcome::Rejected(reason)),
        (Decision::Deliver, None) => {
            return Ok(ProcessingOutcome::Rejected(
                messaging::model::RejectionReason::UserNotFound,
            ));
        }
    };
    let service = cx
        .services
        .get(&message.service_id)
        .and_then(Option::as_ref)
        .ok_or_else(|| "the sending service does not exist".to_owned())?;
    let rpt_id = content.payment_data.as_ref().map(|p| {
        let payee = p
            .payee
            .as_ref()
            .map_or(service.organization_fiscal_code.as_str(), |payee| {
                payee.fiscal_code.as_str()
            });
        format!("{payee}{}", p.notice_number.as_str())
    });
    let (title_key, title) = cx.keyring.seal(
        content.subject.as_bytes(),
        format!("title:{}", message.id).as_bytes(),
    );
    let channels = notification_channels(profile, &message.service_id, preference);
    let mut notifications = Vec::new();
    if expires_at > cx.now {
        for &channel in &channels {
            notifications.push(NewNotification {
                subject_id: message.id.to_string(),
                fiscal_code: message.fiscal_code.clone(),
                channel,
                purpose: Purpose::Message,
                send_at: cx.now,
                expires_at,
                payload: None,
            });
        }
    }
    if let (Some(due), Some(lead)) = (content.due_date, cx.reminder_lead_ms)
        && profile.reminders_enabled
    {
        let send_at = due - chrono::Duration::milliseconds(lead);
        if send_at > cx.now && send_at < expires_at {
            for &channel in &channels {
                notifications.push(NewNotification {
                    subject_id: message.id.to_string(),
                    fiscal_code: message.fiscal_code.clone(),
                    channel,
                    purpose: Purpose::Reminder,
                    send_at,
                    expires_at: due.min(expires_at),
                    payload: None,
                });
            }
        }
    }
    Ok(ProcessingOutcome::Processed {
        inbox: Some(InboxEntry {
            fiscal_code: message.fiscal_code.clone(),
            message_id: message.id,
            service_id: message.service_id,
            has_payment: content.payment_data.is_some(),
            due_date: content.due_date,
            title: SealedContent {
                key_id: title_key,
                bytes: title,
            },
            rpt_id,
            created_at: message.created_at,
            time_to_live: message.time_to_live,
        }),
        notifications,
    })
}

/// A message's content, opened and parsed (the caller has checked it is not erased).
pub(crate) fn open_content(
    keyring: &Keyring,
    message: &MessageRecord,
) -> Result<MessageContent, String> {
    let plain = keyring
        .open(
            &message.content.key_id,
            &message.content.bytes,
            message.id.to_string().as_bytes(),
        )
        .map_err(|e| format!("cannot open message content: {e}"))?;
    serde_json::from_slice(&plain)
        .map_err(|e| format!("stored message content does not parse: {e}"))
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
