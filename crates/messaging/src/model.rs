//! The records of the messaging domain: services, citizen profiles, messages and their
//! statuses, batches. Organizations and jobs are the kernel's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::content::FeatureLevel;
use kernel::values::{
    BatchId, Cidr, Email, FiscalCode, MessageId, OrganizationFiscalCode, ServiceId,
};

/// Lifecycle of a service card (IO services CMS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStatus {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Deleted,
}

impl LifecycleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Draft,
            Self::Submitted,
            Self::Approved,
            Self::Rejected,
            Self::Deleted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Whether the service is visible to (and can reach) every citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicationStatus {
    Unpublished,
    Published,
}

impl PublicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpublished => "unpublished",
            Self::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unpublished" => Some(Self::Unpublished),
            "published" => Some(Self::Published),
            _ => None,
        }
    }
}

/// `LOCAL` for bodies serving a bounded territory, `NATIONAL` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Scope {
    Local,
    National,
}

/// The optional card fields of a service (IO `CmsServiceBaseMetadata` + topic).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceMetadata {
    pub scope: Option<Scope>,
    pub topic_id: Option<i64>,
    pub web_url: Option<String>,
    pub app_ios: Option<String>,
    pub app_android: Option<String>,
    pub tos_url: Option<String>,
    pub privacy_url: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub cta: Option<String>,
    pub token_name: Option<String>,
    pub support_url: Option<String>,
}

/// A service of an organization: what citizens subscribe to and enti send from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: ServiceId,
    pub organization_fiscal_code: OrganizationFiscalCode,
    pub organization_name: String,
    pub department_name: Option<String>,
    pub name: String,
    pub description: String,
    pub require_secure_channels: bool,
    pub authorized_recipients: Vec<FiscalCode>,
    pub authorized_cidrs: Vec<Cidr>,
    pub max_allowed_payment_amount: u64,
    pub metadata: ServiceMetadata,
    pub lifecycle: LifecycleStatus,
    pub lifecycle_reason: Option<String>,
    pub publication: PublicationStatus,
    /// Approved at least once (publishing needs it).
    pub ever_approved: bool,
    /// Publish as soon as the pending review approves it.
    pub auto_publish: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Service {
    /// Only published services reach every citizen; others reach only their authorized
    /// recipients and the sandbox fiscal code.
    pub fn may_address(&self, recipient: &FiscalCode) -> bool {
        self.publication == PublicationStatus::Published
            || recipient.is_sandbox()
            || self.authorized_recipients.contains(recipient)
    }

    pub fn is_active(&self) -> bool {
        self.lifecycle != LifecycleStatus::Deleted
    }
}

/// Which of a service's two keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Primary,
    Secondary,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "primary" => Some(Self::Primary),
            "secondary" => Some(Self::Secondary),
            _ => None,
        }
    }
}

/// IO's preference modes (`reference/io.md` §3.2–3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PreferenceMode {
    Legacy,
    Auto,
    Manual,
}

impl PreferenceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "LEGACY",
            Self::Auto => "AUTO",
            Self::Manual => "MANUAL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LEGACY" => Some(Self::Legacy),
            "AUTO" => Some(Self::Auto),
            "MANUAL" => Some(Self::Manual),
            _ => None,
        }
    }
}

/// A channel a citizen may block per service in LEGACY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BlockedChannel {
    Email,
    Inbox,
    Webhook,
}

/// A citizen's profile, as far as the sending side needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenProfile {
    pub fiscal_code: FiscalCode,
    pub email: Option<Email>,
    pub is_email_validated: bool,
    pub is_inbox_enabled: bool,
    pub is_email_enabled: bool,
    pub is_webhook_enabled: bool,
    pub preferred_languages: Vec<String>,
    pub preference_mode: PreferenceMode,
    pub settings_version: i64,
    /// LEGACY-mode blocks: service id → blocked channels.
    pub blocked_channels: std::collections::BTreeMap<String, Vec<BlockedChannel>>,
    /// The version of the terms of service the citizen accepted, if any.
    pub accepted_tos_version: Option<i64>,
    /// Whether due-date reminders are sent (IO `reminder_status` ENABLED).
    pub reminders_enabled: bool,
    /// Whether push notifications carry no content (IO `push_notifications_content_type`
    /// ANONYMOUS).
    pub push_anonymous: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CitizenProfile {
    /// The profile a citizen starts with (`docs/API.md`): no address, inbox off until turned
    /// on, e-mail notifications on, push off, Italian, AUTO mode, reminders on, full push.
    pub fn new(fiscal_code: FiscalCode, now: DateTime<Utc>) -> Self {
        Self {
            fiscal_code,
            email: None,
            is_email_validated: false,
            is_inbox_enabled: false,
            is_email_enabled: true,
            is_webhook_enabled: false,
            preferred_languages: vec!["it_IT".to_owned()],
            preference_mode: PreferenceMode::Auto,
            settings_version: 0,
            blocked_channels: Default::default(),
            accepted_tos_version: None,
            reminders_enabled: true,
            push_anonymous: false,
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A citizen's choice for one service (AUTO/MANUAL modes), valid for one settings version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePreference {
    pub service_id: ServiceId,
    pub settings_version: i64,
    pub is_inbox_enabled: bool,
    pub is_email_enabled: bool,
    pub is_webhook_enabled: bool,
    pub can_access_message_read_status: bool,
}

/// Processing status of a message (IO `MessageStatusValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MessageStatus {
    Accepted,
    Throttled,
    Processed,
    Rejected,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::Throttled => "THROTTLED",
            Self::Processed => "PROCESSED",
            Self::Rejected => "REJECTED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Accepted,
            Self::Throttled,
            Self::Processed,
            Self::Rejected,
            Self::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Why a message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectionReason {
    UserNotFound,
    ServiceNotAllowed,
}

impl RejectionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::ServiceNotAllowed => "SERVICE_NOT_ALLOWED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "USER_NOT_FOUND" => Some(Self::UserNotFound),
            "SERVICE_NOT_ALLOWED" => Some(Self::ServiceNotAllowed),
            _ => None,
        }
    }
}

/// The key id of message content erased with its recipient's account (the bytes are empty).
pub const ERASED_KEY_ID: &str = "erased";

/// Message content sealed for storage: the ciphertext and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedContent {
    pub key_id: String,
    /// nonce ‖ ciphertext ‖ tag.
    pub bytes: Vec<u8>,
}

impl SealedContent {
    /// Whether this is content erased with its recipient's account ([`ERASED_KEY_ID`], no
    /// bytes: real sealed content always carries a nonce and a tag).
    pub fn is_erased(&self) -> bool {
        self.key_id == ERASED_KEY_ID || self.bytes.is_empty()
    }
}

/// A message to write at intake, with its idempotency data.
#[derive(Debug, Clone)]
pub struct NewMessageRecord {
    pub id: MessageId,
    pub service_id: ServiceId,
    pub fiscal_code: FiscalCode,
    pub created_at: DateTime<Utc>,
    pub time_to_live: i64,
    pub feature_level: FeatureLevel,
    pub content: SealedContent,
    pub idempotency: Option<Idempotency>,
    /// The quotas of the sending service, checked when the message is written.
    pub quotas: crate::quota::Quotas,
}

/// The idempotency key a client sent and the hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// What intake did with one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// Written now.
    Created(MessageId),
    /// Same key and same request as an earlier one: nothing written, the earlier id.
    Replayed(MessageId),
    /// Same key, different request.
    KeyReused,
    /// Accepting it would exceed the service's quota for the period.
    QuotaExceeded {
        period: crate::quota::QuotaPeriod,
        limit: u64,
        resets_at: DateTime<Utc>,
    },
}

/// A stored message with its current state.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub id: MessageId,
    pub service_id: ServiceId,
    pub fiscal_code: FiscalCode,
    pub created_at: DateTime<Utc>,
    pub time_to_live: i64,
    pub feature_level: FeatureLevel,
    pub content: SealedContent,
    pub status: MessageStatus,
    pub rejection_reason: Option<RejectionReason>,
    pub is_read: bool,
    pub updated_at: DateTime<Utc>,
    /// When the notice of its `payment_data` was paid, once it is.
    pub paid_at: Option<DateTime<Utc>>,
}

/// What processing decided for a message, written with the job's completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessingOutcome {
    /// Stored in the citizen's inbox (no inbox entry for the sandbox code).
    Processed {
        inbox: Option<InboxEntry>,
        /// E-mail and push notifications (and due-date reminders) to send, decided by the
        /// citizen's preferences at processing time.
        notifications: Vec<crate::citizen::NewNotification>,
    },
    Rejected(RejectionReason),
}

/// The citizen-facing summary of a processed message, kept to list the inbox fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub fiscal_code: FiscalCode,
    pub message_id: MessageId,
    pub service_id: ServiceId,
    pub has_payment: bool,
    pub due_date: Option<DateTime<Utc>>,
    /// The message subject, sealed (bound to the message id), so that the inbox lists titles
    /// without opening whole contents.
    pub title: SealedContent,
    /// `<organization fiscal code><notice number>` for payment messages.
    pub rpt_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub time_to_live: i64,
}

/// One step in a service's history (`GET /manage/services/{id}/history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub service_id: ServiceId,
    /// `lifecycle` or `publication`.
    pub kind: &'static str,
    pub status: String,
    pub reason: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
    /// The service card at that moment, as JSON of [`crate::lifecycle::ServiceCard`].
    pub card: String,
}

/// A batch of messages uploaded at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch {
    pub id: BatchId,
    pub service_id: ServiceId,
    pub format: crate::batch::Format,
    /// The CSV header (column names), for CSV batches.
    pub header: Option<String>,
    pub status: BatchStatus,
    pub total: i64,
    pub accepted: i64,
    pub rejected: i64,
    /// SHA-256 look-up hash of the API key that uploaded it (`None`: uploaded with the CLI);
    /// processing stops when that key is revoked.
    pub key_hash: Option<String>,
    /// When its upload completed; `None` while uploading (such a batch is not shown to
    /// clients, owns no idempotency key and is removed when abandoned).
    pub sealed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BatchStatus {
    Running,
    Completed,
    Cancelled,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RUNNING" => Some(Self::Running),
            "COMPLETED" => Some(Self::Completed),
            "CANCELLED" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// A line of a batch waiting to be processed: sealed raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub line: i64,
    pub body: SealedContent,
}

/// Where one line of a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Not processed yet (only in reports).
    Pending,
    Accepted,
    Rejected,
    /// The batch was cancelled before the line was processed (only in reports).
    Cancelled,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Rejected,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// What became of one line of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowOutcome {
    pub line: i64,
    pub outcome: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
