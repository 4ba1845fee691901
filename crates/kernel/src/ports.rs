//! The ports every domain shares: the organizations and their delegates, the audit log and
//! the job queue. Storage adapters implement each trait; domain crates add their own small
//! ports, one per aggregate, beside these.

use chrono::{DateTime, Utc};

use crate::audit::{AuditEntry, NewAuditEntry};
use crate::jobs::{Job, JobCounts, JobKind, JobStatus};
use crate::organization::{Delegate, DelegateAuth, Mandate, Organization};
use crate::values::OrganizationFiscalCode;

/// A storage failure. `Conflict` and `NotFound` are expected outcomes callers map to answers;
/// `Backend` is an internal fault (its text is for the log only).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether the storage answers.
#[async_trait::async_trait]
pub trait Health: Send + Sync + 'static {
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// Organizations, their delegates and the aggregators' mandates.
#[async_trait::async_trait]
pub trait Organizations: Send + Sync + 'static {
    async fn create_organization(&self, org: &Organization) -> StoreResult<()>;
    async fn get_organization(
        &self,
        fiscal_code: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Organization>>;
    async fn list_organizations(&self) -> StoreResult<Vec<Organization>>;
    async fn set_organization_disabled(
        &self,
        fiscal_code: &OrganizationFiscalCode,
        disabled: bool,
    ) -> StoreResult<()>;
    async fn set_organization_logo(
        &self,
        fiscal_code: &OrganizationFiscalCode,
        png: &[u8],
    ) -> StoreResult<()>;
    async fn organization_logo(
        &self,
        fiscal_code: &OrganizationFiscalCode,
    ) -> StoreResult<Option<Vec<u8>>>;
    async fn create_delegate(&self, delegate: &Delegate, key_hash: &str) -> StoreResult<()>;
    async fn list_delegates(
        &self,
        organization: Option<&OrganizationFiscalCode>,
    ) -> StoreResult<Vec<Delegate>>;
    async fn set_delegate_disabled(&self, id: &str, disabled: bool) -> StoreResult<()>;
    async fn delegate_by_key_hash(&self, hash: &str) -> StoreResult<Option<DelegateAuth>>;
    /// Applies a delegate variation of one organization in one transaction: adds `add` (each
    /// with its manage-key hash), disables `remove`, and appends `audit`.
    async fn apply_variation(
        &self,
        add: &[(Delegate, String)],
        remove: &[String],
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    /// Replaces a delegate's manage key.
    async fn rotate_delegate_key(
        &self,
        id: &str,
        hash: &str,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    async fn add_mandate(&self, mandate: &Mandate, audit: &NewAuditEntry) -> StoreResult<()>;
    async fn mandates_of(&self, aggregator: &OrganizationFiscalCode) -> StoreResult<Vec<Mandate>>;
}

/// The append-only audit log.
#[async_trait::async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Appends to the audit log.
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<()>;
    /// The audit log, newest first, entries older than `before_id` (exclusive) if given.
    async fn audit_log(&self, before_id: Option<i64>, limit: i64) -> StoreResult<Vec<AuditEntry>>;
}

/// The job queue. Jobs are written by the domain ports in the transaction that calls for
/// them; this port claims, fails, retries and removes them.
#[async_trait::async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Claims up to `limit` due jobs of the given kinds for `lease_ms`; jobs whose lease
    /// expired are claimable again. Two claimers never receive the same job while its lease
    /// runs.
    async fn claim_jobs(
        &self,
        kinds: &[JobKind],
        limit: i64,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> StoreResult<Vec<Job>>;
    /// Records a failed attempt: retried at `retry_at`, or dead (and what it worked on
    /// FAILED) when `retry_at` is `None`.
    async fn fail_job(
        &self,
        job_id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Up to 1,000 jobs, oldest first, optionally in one status.
    async fn list_jobs(&self, status: Option<JobStatus>) -> StoreResult<Vec<Job>>;
    /// Puts a dead job back in the queue and what it worked on back to its waiting state.
    async fn retry_job(&self, job_id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    async fn job_counts(&self) -> StoreResult<JobCounts>;
    /// Keeps a long job claimed until `until`.
    async fn extend_job(&self, job_id: i64, until: DateTime<Utc>) -> StoreResult<()>;
    /// Removes a finished job.
    async fn delete_job(&self, job_id: i64) -> StoreResult<()>;
}
