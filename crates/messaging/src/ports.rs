//! The ports the messaging domain needs from the outside world: one small trait per aggregate
//! (services, catalogue, usage, messages, processing, citizens, sessions, inbox, outbound,
//! batches), beside the kernel's shared ones. Storage adapters implement each; [`Store`] is
//! all of them together. One contract test file per port runs against every implementation.

use chrono::{DateTime, Utc};

pub use kernel::ports::{AuditLog, Health, JobQueue, Organizations, StoreError, StoreResult};

use kernel::audit::NewAuditEntry;
use kernel::organization::Organization;
use kernel::values::{BatchId, FiscalCode, MessageId, OrganizationFiscalCode, ServiceId};

use crate::model::{
    AcceptOutcome, Batch, CitizenProfile, HistoryEntry, KeyType, MessageRecord, NewMessageRecord,
    PendingRow, ProcessingOutcome, RowOutcome, Service, ServicePreference,
};

/// One API key as stored: a SHA-256 hash for look-up and the sealed key so that it can be shown
/// again to its owner through `GET /manage/services/{id}/keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub key_type: KeyType,
    pub hash: String,
    pub sealed: crate::model::SealedContent,
}

/// A history entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistoryEntry {
    /// `lifecycle` or `publication`.
    pub kind: &'static str,
    pub status: String,
    pub reason: Option<String>,
    pub actor: String,
}

/// A message job whose processing decided an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedJob {
    pub job_id: i64,
    pub message_id: MessageId,
    pub outcome: ProcessingOutcome,
}

/// The owner of a service key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAuth {
    pub service: Service,
    pub organization_disabled: bool,
    /// The service's own limits (defaults apply where unset).
    pub limits: crate::quota::LimitOverrides,
}

/// Every port of the messaging domain and the kernel's, as one object the adapters hand to
/// the use cases and workers. Implemented for anything that implements them all.
pub trait Store:
    Health
    + Organizations
    + AuditLog
    + JobQueue
    + Services
    + Catalogue
    + Usage
    + Messages
    + Processing
    + Citizens
    + Sessions
    + Inbox
    + OutboundLog
    + Batches
{
}

impl<T> Store for T where
    T: Health
        + Organizations
        + AuditLog
        + JobQueue
        + Services
        + Catalogue
        + Usage
        + Messages
        + Processing
        + Citizens
        + Sessions
        + Inbox
        + OutboundLog
        + Batches
{
}

/// Services, their keys and their history.
#[async_trait::async_trait]
pub trait Services: Send + Sync + 'static {
    async fn create_service(&self, service: &Service, keys: &[StoredKey]) -> StoreResult<()>;
    async fn get_service(&self, id: &ServiceId) -> StoreResult<Option<Service>>;
    /// Services of an organization (deleted ones excluded), newest first, and the total count.
    async fn list_services(
        &self,
        organization: &OrganizationFiscalCode,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Service>, i64)>;
    /// Writes `service` if the stored version is `service.version - 1`; `Conflict` otherwise.
    async fn update_service(&self, service: &Service) -> StoreResult<()>;
    /// Writes a lifecycle or publication change like [`Self::update_service`], with its history
    /// entries and an audit entry, in one transaction.
    async fn transition_service(
        &self,
        service: &Service,
        history: &[NewHistoryEntry],
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    /// A page of a service's history: entries after `after_id` (exclusive) in the given order.
    async fn service_history(
        &self,
        id: &ServiceId,
        ascending: bool,
        after_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<HistoryEntry>>;
    /// Services waiting for an operator's review, oldest first.
    async fn pending_reviews(&self) -> StoreResult<Vec<Service>>;
    /// Names of the organization's other services that are not deleted.
    async fn sibling_service_names(
        &self,
        organization: &OrganizationFiscalCode,
        except: &ServiceId,
    ) -> StoreResult<Vec<String>>;
    async fn service_by_key_hash(&self, hash: &str) -> StoreResult<Option<ServiceAuth>>;
    async fn service_keys(&self, id: &ServiceId) -> StoreResult<Vec<StoredKey>>;
    async fn replace_service_key(&self, id: &ServiceId, key: &StoredKey) -> StoreResult<()>;
    async fn set_service_logo(&self, id: &ServiceId, png: &[u8]) -> StoreResult<()>;
    async fn service_logo(&self, id: &ServiceId) -> StoreResult<Option<Vec<u8>>>;
}

/// The public catalogue of published services and the cards as approved.
#[async_trait::async_trait]
pub trait Catalogue: Send + Sync + 'static {
    /// Organizations with at least one published service, by name, filtered by a
    /// case-insensitive substring of the name; and the total count.
    async fn catalogue_organizations(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Organization>, i64)>;
    /// Published services, of one organization or (with `None`) featured ones.
    async fn published_services(
        &self,
        organization: Option<&OrganizationFiscalCode>,
    ) -> StoreResult<Vec<Service>>;
    /// The card as last approved (JSON), kept to decide auto-approval of later edits.
    async fn save_published_card(&self, id: &ServiceId, card_json: &str) -> StoreResult<()>;
    async fn published_card(&self, id: &ServiceId) -> StoreResult<Option<String>>;
    async fn set_featured(&self, id: &ServiceId, featured: bool) -> StoreResult<()>;
}

/// Per-service limits and the usage counted against them.
#[async_trait::async_trait]
pub trait Usage: Send + Sync + 'static {
    async fn service_limits(&self, id: &ServiceId) -> StoreResult<crate::quota::LimitOverrides>;
    async fn set_service_limits(
        &self,
        id: &ServiceId,
        limits: &crate::quota::LimitOverrides,
        audit: &NewAuditEntry,
    ) -> StoreResult<()>;
    /// Messages accepted per service in one period (`QuotaPeriod::key`), for metrics.
    async fn usage_in_period(&self, period_key: &str) -> StoreResult<Vec<(ServiceId, u64)>>;
    /// Messages accepted for the service in the day and the month containing `at`.
    async fn service_usage(&self, id: &ServiceId, at: DateTime<Utc>) -> StoreResult<(u64, u64)>;
}

/// Intake: messages written with their processing jobs.
#[async_trait::async_trait]
pub trait Messages: Send + Sync + 'static {
    /// Writes a group of messages and their processing jobs in one transaction (group commit).
    /// Returns one outcome per input, in order.
    async fn accept_messages(&self, batch: &[NewMessageRecord]) -> StoreResult<Vec<AcceptOutcome>>;
    async fn get_message(&self, id: &MessageId) -> StoreResult<Option<MessageRecord>>;
    /// These messages (absent ones are simply missing).
    async fn get_messages(&self, ids: &[MessageId]) -> StoreResult<Vec<MessageRecord>>;
    /// Records that the notice of a payment message was paid: sets `paid_at` once and, when
    /// the service has a callback, queues its `paid` event in the same transaction. `false`
    /// when it was already paid (nothing changes) ; `NotFound` when there is no such message.
    async fn mark_message_paid(&self, id: &MessageId, now: DateTime<Utc>) -> StoreResult<bool>;
}

/// Recording what processing decided for messages.
#[async_trait::async_trait]
pub trait Processing: Send + Sync + 'static {
    /// Records the outcomes of message jobs and removes the jobs, all in one transaction: the
    /// statuses, the inbox entries, the notifications with their jobs, and a `processed` or
    /// `rejected` delivery (with its job) for every message whose service has a callback. A
    /// message no longer ACCEPTED is left as it is (processing is idempotent).
    async fn complete_message_jobs(
        &self,
        done: &[CompletedJob],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// [`Self::complete_message_jobs`] for one job.
    async fn complete_message_job(
        &self,
        job_id: i64,
        message_id: &MessageId,
        outcome: &ProcessingOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let done = [CompletedJob {
            job_id,
            message_id: *message_id,
            outcome: outcome.clone(),
        }];
        self.complete_message_jobs(&done, now).await
    }
}

/// Citizen profiles, preferences, e-mail validation and erasure.
#[async_trait::async_trait]
pub trait Citizens: Send + Sync + 'static {
    async fn create_citizen(&self, profile: &CitizenProfile) -> StoreResult<()>;
    async fn get_citizen(&self, fiscal_code: &FiscalCode) -> StoreResult<Option<CitizenProfile>>;
    async fn get_service_preference(
        &self,
        fiscal_code: &FiscalCode,
        service: &ServiceId,
        settings_version: i64,
    ) -> StoreResult<Option<ServicePreference>>;
    /// The profiles of these citizens (absent ones are simply missing).
    async fn get_citizens(&self, fiscal_codes: &[FiscalCode]) -> StoreResult<Vec<CitizenProfile>>;
    /// Every per-service preference of these citizens, with the citizen it belongs to.
    async fn get_preferences_of(
        &self,
        fiscal_codes: &[FiscalCode],
    ) -> StoreResult<Vec<(FiscalCode, ServicePreference)>>;
    async fn upsert_service_preference(
        &self,
        fiscal_code: &FiscalCode,
        preference: &ServicePreference,
    ) -> StoreResult<()>;
    /// Writes `profile`: creates it when `expected_version` is `None` (`Conflict` if it
    /// exists), otherwise replaces it if the stored version is `expected_version` (`Conflict`
    /// if not, `NotFound` if there is no profile). With `validation`, also stores the pending
    /// e-mail validation and its e-mail notification (with its job), in the same transaction.
    async fn save_citizen(
        &self,
        profile: &CitizenProfile,
        expected_version: Option<i64>,
        validation: Option<&crate::citizen::NewEmailValidation>,
    ) -> StoreResult<()>;
    /// Marks the address validated if the token is known, unexpired, and the profile still has
    /// that address; removes the citizen's pending validations. Returns the citizen.
    async fn validate_email(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<FiscalCode>>;
    /// Removes everything held about the citizen (profile, preferences, inbox, sessions,
    /// validations, notifications) and erases the content of their messages, which stay as
    /// status records for the enti that sent them. One transaction; `false` if nothing was held.
    async fn delete_citizen(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Citizen sessions.
#[async_trait::async_trait]
pub trait Sessions: Send + Sync + 'static {
    async fn create_session(
        &self,
        session: &crate::citizen::CitizenSession,
        token_hash: &str,
    ) -> StoreResult<()>;
    /// The active (unrevoked, unexpired) session with this token hash.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<crate::citizen::CitizenSession>>;
    /// The citizen's sessions, newest first, revoked and expired ones included (login history).
    async fn sessions_of(
        &self,
        fiscal_code: &FiscalCode,
        limit: i64,
    ) -> StoreResult<Vec<crate::citizen::CitizenSession>>;
    /// Revokes one active session of the citizen; `false` if there is none with that id.
    async fn revoke_session(
        &self,
        fiscal_code: &FiscalCode,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Revokes every active session of the citizen; returns how many.
    async fn revoke_sessions(
        &self,
        fiscal_code: &FiscalCode,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// A citizen's inbox and the statuses of their messages.
#[async_trait::async_trait]
pub trait Inbox: Send + Sync + 'static {
    /// A page of the citizen's inbox, newest first.
    async fn inbox_page(
        &self,
        fiscal_code: &FiscalCode,
        query: &crate::citizen::InboxQuery,
    ) -> StoreResult<Vec<crate::citizen::InboxItem>>;
    /// One message of the citizen's inbox (`None` for a message of anyone else).
    async fn inbox_item(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
    ) -> StoreResult<Option<crate::citizen::InboxItem>>;
    /// Applies a status change to one of the citizen's messages; the first time it is read and
    /// `read_callback` is set, a `read` event for the sending service's callback is queued in
    /// the same transaction. Returns the new `(is_read, is_archived)`, `None` if the citizen has
    /// no such message.
    async fn change_message_status(
        &self,
        fiscal_code: &FiscalCode,
        id: &MessageId,
        change: crate::citizen::StatusChange,
        read_callback: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(bool, bool)>>;
    /// Every message addressed to the citizen (any status), oldest first, for the export.
    async fn messages_to(&self, fiscal_code: &FiscalCode) -> StoreResult<Vec<MessageRecord>>;
}

/// Notifications to citizens and callbacks to enti: what to send and every attempt.
#[async_trait::async_trait]
pub trait OutboundLog: Send + Sync + 'static {
    async fn get_notification(&self, id: i64) -> StoreResult<Option<crate::citizen::Notification>>;
    /// Notifications of a message, or of a citizen's messages (for the export).
    async fn notifications_of_message(
        &self,
        message_id: &MessageId,
    ) -> StoreResult<Vec<crate::citizen::Notification>>;
    async fn notifications_of_citizen(
        &self,
        fiscal_code: &FiscalCode,
    ) -> StoreResult<Vec<crate::citizen::Notification>>;
    /// Records an attempt at a notification and, in the same transaction, requeues its job at
    /// `attempt.retry_at` or removes it. A validation e-mail that was sent loses its payload.
    async fn record_notification_attempt(
        &self,
        id: i64,
        job_id: i64,
        attempt: &crate::citizen::Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn set_callback(
        &self,
        service: &ServiceId,
        config: Option<&crate::citizen::CallbackConfig>,
    ) -> StoreResult<()>;
    async fn get_callback(
        &self,
        service: &ServiceId,
    ) -> StoreResult<Option<crate::citizen::CallbackConfig>>;
    async fn get_callback_delivery(
        &self,
        id: i64,
    ) -> StoreResult<Option<crate::citizen::CallbackDelivery>>;
    /// Records an attempt at a delivery like [`Self::record_notification_attempt`].
    async fn record_callback_attempt(
        &self,
        id: i64,
        job_id: i64,
        attempt: &crate::citizen::Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The delivery log, newest first, optionally of one service, entries older than
    /// `before_id` (exclusive) if given.
    async fn callback_deliveries(
        &self,
        service: Option<&ServiceId>,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<crate::citizen::CallbackDelivery>>;
}

/// Batches of messages uploaded at once.
#[async_trait::async_trait]
pub trait Batches: Send + Sync + 'static {
    /// Returns the service's completed upload with this idempotency key (its id, `false`), or
    /// creates a new batch (status RUNNING, total 0, not sealed, owning no key yet: `true`).
    async fn create_batch(
        &self,
        batch: &Batch,
        idempotency_key: Option<&str>,
    ) -> StoreResult<(BatchId, bool)>;
    /// Appends uploaded lines to a batch still uploading and marks it alive at `now` (one
    /// transaction); `NotFound` when the upload was removed as abandoned.
    async fn add_batch_rows(
        &self,
        batch_id: &BatchId,
        rows: &[PendingRow],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends an upload in one transaction: records the total, takes the idempotency key, and
    /// enqueues the processing job (or completes the batch when every line already has an
    /// outcome). If another upload took the key first, this one is removed and that one's id
    /// is returned with `false`.
    async fn seal_batch(
        &self,
        batch_id: &BatchId,
        total: i64,
        idempotency_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<(BatchId, bool)>;
    /// Removes a batch whose upload was refused.
    async fn discard_batch(&self, batch_id: &BatchId) -> StoreResult<()>;
    /// Removes the uploads that never completed and received nothing since `idle_since`
    /// (the client went away, or the process died); returns how many.
    async fn discard_stale_uploads(&self, idle_since: DateTime<Utc>) -> StoreResult<u64>;
    async fn get_batch(&self, batch_id: &BatchId) -> StoreResult<Option<Batch>>;
    /// Up to `limit` pending lines after `after_line`, in order (a cursor, so a large batch is
    /// read in linear time).
    async fn pending_rows(
        &self,
        batch_id: &BatchId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<PendingRow>>;
    /// Records line outcomes (only for lines still pending), updates the counters, clears the
    /// sealed bodies, and completes the batch when nothing is pending; one transaction.
    async fn record_rows(
        &self,
        batch_id: &BatchId,
        outcomes: &[RowOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Rejects every line still pending with `reason` and completes the batch; one
    /// transaction. Returns how many lines it rejected.
    async fn reject_pending_rows(
        &self,
        batch_id: &BatchId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    async fn cancel_batch(&self, batch_id: &BatchId, now: DateTime<Utc>) -> StoreResult<bool>;
    /// A page of outcomes after `after_line`.
    async fn batch_report(
        &self,
        batch_id: &BatchId,
        after_line: i64,
        limit: i64,
    ) -> StoreResult<Vec<RowOutcome>>;
    /// How many of the batch's accepted messages are PROCESSED.
    async fn batch_processed(&self, batch_id: &BatchId) -> StoreResult<i64>;
}

/// Every port trait in scope at once (`use messaging::ports::prelude::*`), for code that calls
/// port methods on a concrete store rather than through `dyn Store`.
pub mod prelude {
    pub use super::{
        AuditLog as _, Batches as _, Catalogue as _, Citizens as _, Health as _, Inbox as _,
        JobQueue as _, Messages as _, Organizations as _, OutboundLog as _, Processing as _,
        Services as _, Sessions as _, Usage as _,
    };
}
