//! The citizen side: sessions, the inbox as the citizen sees it, notifications (e-mail and
//! push) with their channel statuses, and the status callbacks enti receive. Records and rules
//! only; storage and sending live in the adapters.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{
    BlockedChannel, CitizenProfile, PreferenceMode, SealedContent, ServicePreference,
};
use kernel::values::{FiscalCode, MessageId, ServiceId};

/// A citizen session (issued by the development login today, by SPID/CIE later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenSession {
    /// Public id (ULID), used to list and revoke; the bearer token itself is only stored hashed.
    pub id: String,
    #[serde(skip)]
    pub fiscal_code: FiscalCode,
    /// How the citizen logged in: `admin` (CLI or admin API), later `spid`, `cie`.
    pub method: String,
    /// The client address at login, when known.
    pub client_ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl CitizenSession {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// Which part of the inbox to list (`GET /api/citizen/v1/messages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// `Some(true)`: archived only; `Some(false)`: not archived only; `None`: both.
    pub archived: Option<bool>,
    pub service: Option<ServiceId>,
    /// Only messages older than this id (exclusive).
    pub maximum_id: Option<MessageId>,
    /// Only messages newer than this id (exclusive). Without `maximum_id`, the page is the one
    /// just above it (for paging back towards the newest).
    pub minimum_id: Option<MessageId>,
    pub limit: i64,
}

/// An inbox entry with what the citizen's list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub message_id: MessageId,
    pub service_id: ServiceId,
    pub service_name: String,
    pub organization_name: String,
    pub organization_fiscal_code: String,
    pub created_at: DateTime<Utc>,
    pub title: SealedContent,
    pub has_payment: bool,
    pub rpt_id: Option<String>,
    pub due_date: Option<DateTime<Utc>>,
    pub is_read: bool,
    pub is_archived: bool,
    pub time_to_live: i64,
}

/// A change of an inbox message's flags (IO `MessageStatusChange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    /// Only `Some(true)`: a message cannot be marked unread.
    pub read: Option<bool>,
    pub archived: Option<bool>,
}

/// A notification channel (IO calls push `webhook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Webhook => "WEBHOOK",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "EMAIL" => Some(Self::Email),
            "WEBHOOK" => Some(Self::Webhook),
            _ => None,
        }
    }
}

/// What a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A new message in the inbox.
    Message,
    /// The due date of a message is near.
    Reminder,
    /// The link that validates the citizen's e-mail address (subject: the validation id).
    EmailValidation,
    /// A message to the sandbox code, copied to the organization's delegates.
    Sandbox,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Reminder => "reminder",
            Self::EmailValidation => "email_validation",
            Self::Sandbox => "sandbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Message,
            Self::Reminder,
            Self::EmailValidation,
            Self::Sandbox,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// IO's `NotificationChannelStatusValue`, plus `PENDING` before the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NotificationStatus {
    Pending,
    Sent,
    /// A temporary failure; retried with back-off until the message expires.
    Throttled,
    /// The message's time to live ran out before the notification could be sent.
    Expired,
    Failed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Throttled => "THROTTLED",
            Self::Expired => "EXPIRED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Sent,
            Self::Throttled,
            Self::Expired,
            Self::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// No more attempts follow.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Expired | Self::Failed)
    }
}

/// A notification to create (with its job) when a message is processed or an address changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// The message id, or the e-mail validation id for [`Purpose::EmailValidation`].
    pub subject_id: String,
    pub fiscal_code: FiscalCode,
    pub channel: Channel,
    pub purpose: Purpose,
    /// When to send (reminders are sent before the due date).
    pub send_at: DateTime<Utc>,
    /// After this the notification is EXPIRED instead of sent.
    pub expires_at: DateTime<Utc>,
    /// Data the sender needs and may not read elsewhere (the sealed validation token).
    pub payload: Option<SealedContent>,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub subject_id: String,
    pub fiscal_code: FiscalCode,
    pub channel: Channel,
    pub purpose: Purpose,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub send_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub payload: Option<SealedContent>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pending e-mail validation: the token is only stored hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailValidation {
    pub id: String,
    pub token_hash: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    /// The e-mail carrying the link (its payload is the sealed token).
    pub notification: NewNotification,
}

/// Which channels notify a citizen of a message from `service`, given the profile and the
/// preference for that service at the profile's settings version (IO's rules, `reference/io.md`
/// §1.4): e-mail needs a validated address, e-mail enabled globally, and the channel not blocked
/// for the service (LEGACY) or enabled in the preference (AUTO: absent means enabled; MANUAL:
/// absent means disabled); push needs `is_webhook_enabled` and the same per-service rule.
pub fn notification_channels(
    profile: &CitizenProfile,
    service: &ServiceId,
    preference: Option<&ServicePreference>,
) -> Vec<Channel> {
    let preference = preference
        .filter(|p| p.service_id == *service && p.settings_version == profile.settings_version);
    let per_service = |channel: Channel| match profile.preference_mode {
        PreferenceMode::Legacy => {
            let blocked = match channel {
                Channel::Email => BlockedChannel::Email,
                Channel::Webhook => BlockedChannel::Webhook,
            };
            !profile
                .blocked_channels
                .get(&service.to_string())
                .is_some_and(|list| list.contains(&blocked))
        }
        PreferenceMode::Auto | PreferenceMode::Manual => {
            let default = profile.preference_mode == PreferenceMode::Auto;
            preference.map_or(default, |p| match channel {
                Channel::Email => p.is_email_enabled,
                Channel::Webhook => p.is_webhook_enabled,
            })
        }
    };
    let mut channels = Vec::with_capacity(2);
    if profile.is_email_enabled
        && profile.is_email_validated
        && profile.email.is_some()
        && per_service(Channel::Email)
    {
        channels.push(Channel::Email);
    }
    if profile.is_webhook_enabled && per_service(Channel::Webhook) {
        channels.push(Channel::Webhook);
    }
    channels
}

/// A service's callback endpoint; the secret is sealed at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackConfig {
    pub url: String,
    pub secret: SealedContent,
}

/// What happened to a message, as told to the ente.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackEvent {
    Processed,
    Rejected,
    Read,
    Paid,
}

impl CallbackEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Rejected => "rejected",
            Self::Read => "read",
            Self::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Processed, Self::Rejected, Self::Read, Self::Paid]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// Where a callback delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Retries ran out, or the endpoint refused the event for good.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One event for an ente's callback URL and its delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackDelivery {
    pub id: i64,
    pub service_id: ServiceId,
    pub message_id: MessageId,
    pub event: CallbackEvent,
    /// The rejection reason, for `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the event happened.
    pub at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The result of one attempt at a notification or a callback delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The status to record.
    pub status: String,
    /// For callbacks: the HTTP status the endpoint answered.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// When to try again (the job stays queued); `None` ends the job.
    pub retry_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kernel::values::Email;

    fn profile(mode: PreferenceMode) -> CitizenProfile {
        CitizenProfile {
            fiscal_code: FiscalCode::parse("RSSMRA85T10A562S").unwrap(),
            email: Some(Email::parse("mario@example.it").unwrap()),
            is_email_validated: true,
            is_inbox_enabled: true,
            is_email_enabled: true,
            is_webhook_enabled: true,
            preferred_languages: vec![],
            preference_mode: mode,
            settings_version: 1,
            blocked_channels: Default::default(),
            accepted_tos_version: None,
            reminders_enabled: true,
            push_anonymous: false,
            version: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn preference(service: ServiceId, email: bool, push: bool) -> ServicePreference {
        ServicePreference {
            service_id: service,
            settings_version: 1,
            is_inbox_enabled: true,
            is_email_enabled: email,
            is_webhook_enabled: push,
            can_access_message_read_status: true,
        }
    }

    #[test]
    fn an_unvalidated_address_gets_no_email_but_push_still_goes() {
        let mut p = profile(PreferenceMode::Auto);
        p.is_email_validated = false;
        let s = ServiceId::new();
        assert_eq!(notification_channels(&p, &s, None), vec![Channel::Webhook]);
    }

    #[test]
    fn legacy_blocks_apply_per_channel_and_per_service() {
        let mut p = profile(PreferenceMode::Legacy);
        let s = ServiceId::new();
        p.blocked_channels
            .insert(s.to_string(), vec![BlockedChannel::Email]);
        assert_eq!(notification_channels(&p, &s, None), vec![Channel::Webhook]);
        let other = ServiceId::new();
        assert_eq!(notification_channels(&p, &other, None).len(), 2);
    }

    #[test]
    fn auto_defaults_to_both_channels_and_manual_to_none() {
        let s = ServiceId::new();
        assert_eq!(
            notification_channels(&profile(PreferenceMode::Auto), &s, None).len(),
            2
        );
        assert!(notification_channels(&profile(PreferenceMode::Manual), &s, None).is_empty());
        let pref = preference(s, false, true);
        assert_eq!(
            notification_channels(&profile(PreferenceMode::Manual), &s, Some(&pref)),
            vec![Channel::Webhook]
        );
    }

    #[test]
    fn a_preference_of_an_older_settings_version_is_ignored() {
        let s = ServiceId::new();
        let mut pref = preference(s, false, false);
        pref.settings_version = 0;
        assert_eq!(
            notification_channels(&profile(PreferenceMode::Auto), &s, Some(&pref)).len(),
            2
        );
    }

    #[test]
    fn global_switches_turn_channels_off() {
        let s = ServiceId::new();
        let mut p = profile(PreferenceMode::Auto);
        p.is_email_enabled = false;
        p.is_webhook_enabled = false;
        assert!(notification_channels(&p, &s, None).is_empty());
    }
}
