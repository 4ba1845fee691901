//! JSON shapes of the citizen API (`/api/citizen/v1`), named as in IO's app back end
//! (`reference/io.md` §3) where IO has the field.

use std::collections::BTreeMap;

use messaging::citizen::{CitizenSession, InboxItem};
use messaging::content::format_timestamp;
use messaging::model::{BlockedChannel, CitizenProfile, ServicePreference};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `service_preferences_settings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePreferencesSettings {
    /// `LEGACY` (per-service blocks in `blocked_inbox_or_channels`), `AUTO` (every service
    /// allowed unless a preference says otherwise) or `MANUAL` (every service blocked unless
    /// a preference allows it).
    #[schema(value_type = String, example = "AUTO")]
    pub mode: &'static str,
}

/// The citizen's profile (IO `InitializedProfile`, without the identity fields).
#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenProfileView {
    #[schema(example = "RSSMRA85T10A562S")]
    pub fiscal_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = "email")]
    pub email: Option<String>,
    pub is_email_validated: bool,
    pub is_email_enabled: bool,
    pub is_inbox_enabled: bool,
    /// Push notifications (IO calls them `webhook`).
    pub is_webhook_enabled: bool,
    #[schema(example = json!(["it_IT"]))]
    pub preferred_languages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    pub accepted_tos_version: Option<i64>,
    pub service_preferences_settings: ServicePreferencesSettings,
    /// LEGACY mode: service id → blocked channels (`EMAIL`, `INBOX`, `WEBHOOK`).
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub blocked_inbox_or_channels: BTreeMap<String, Vec<&'static str>>,
    /// Due-date reminders: `ENABLED` or `DISABLED`.
    #[schema(value_type = String, example = "ENABLED")]
    pub reminder_status: &'static str,
    /// `FULL`, or `ANONYMOUS` (push notifications carry no content).
    #[schema(value_type = String, example = "FULL")]
    pub push_notifications_content_type: &'static str,
    /// Optimistic version: send it back on update.
    pub version: i64,
}

pub fn blocked_name(c: BlockedChannel) -> &'static str {
    match c {
        BlockedChannel::Email => "EMAIL",
        BlockedChannel::Inbox => "INBOX",
        BlockedChannel::Webhook => "WEBHOOK",
    }
}

impl From<&CitizenProfile> for CitizenProfileView {
    fn from(p: &CitizenProfile) -> Self {
        Self {
            fiscal_code: p.fiscal_code.to_string(),
            email: p.email.as_ref().map(ToString::to_string),
            is_email_validated: p.is_email_validated,
            is_email_enabled: p.is_email_enabled,
            is_inbox_enabled: p.is_inbox_enabled,
            is_webhook_enabled: p.is_webhook_enabled,
            preferred_languages: p.preferred_languages.clone(),
            accepted_tos_version: p.accepted_tos_version,
            service_preferences_settings: ServicePreferencesSettings {
                mode: p.preference_mode.as_str(),
            },
            blocked_inbox_or_channels: p
                .blocked_channels
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().copied().map(blocked_name).collect()))
                .collect(),
            reminder_status: if p.reminders_enabled {
                "ENABLED"
            } else {
                "DISABLED"
            },
            push_notifications_content_type: if p.push_anonymous {
                "ANONYMOUS"
            } else {
                "FULL"
            },
            version: p.version,
        }
    }
}

/// A citizen's preference for one service (IO `ServicePreference`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePreferenceView {
    pub is_inbox_enabled: bool,
    pub is_email_enabled: bool,
    pub is_webhook_enabled: bool,
    /// Whether the service may learn that the citizen read its messages.
    pub can_access_message_read_status: bool,
    /// The profile's settings version this preference belongs to.
    #[schema(minimum = 0)]
    pub settings_version: i64,
}

impl From<&ServicePreference> for ServicePreferenceView {
    fn from(p: &ServicePreference) -> Self {
        Self {
            is_inbox_enabled: p.is_inbox_enabled,
            is_email_enabled: p.is_email_enabled,
            is_webhook_enabled: p.is_webhook_enabled,
            can_access_message_read_status: p.can_access_message_read_status,
            settings_version: p.settings_version,
        }
    }
}

/// `category` of an inbox item: `{"tag": "GENERIC"}` or `{"tag": "PAYMENT", "rptId": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageCategory {
    /// `GENERIC` or `PAYMENT`.
    #[schema(value_type = String, example = "PAYMENT")]
    pub tag: &'static str,
    /// Payment messages: the payee's fiscal code followed by the notice number.
    #[serde(rename = "rptId", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "00441340122301000000000000144")]
    pub rpt_id: Option<String>,
}

/// An enriched inbox item (IO `EnrichedMessage`).
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItemView {
    pub id: String,
    pub fiscal_code: String,
    pub created_at: String,
    pub sender_service_id: String,
    pub time_to_live: i64,
    pub service_name: String,
    pub organization_name: String,
    pub organization_fiscal_code: String,
    /// The message subject.
    pub message_title: String,
    pub category: MessageCategory,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub due_date: Option<String>,
    /// Always `false`: Sportello messages carry no attachments.
    pub has_attachments: bool,
    /// Always `false`: Sportello messages have no preconditions.
    pub has_precondition: bool,
    pub is_read: bool,
    pub is_archived: bool,
}

impl InboxItemView {
    /// The view of `item` whose title, opened, is `title`.
    pub fn new(fiscal_code: &str, item: &InboxItem, title: String) -> Self {
        Self {
            id: item.message_id.to_string(),
            fiscal_code: fiscal_code.to_owned(),
            created_at: format_timestamp(&item.created_at),
            sender_service_id: item.service_id.to_string(),
            time_to_live: item.time_to_live,
            service_name: item.service_name.clone(),
            organization_name: item.organization_name.clone(),
            organization_fiscal_code: item.organization_fiscal_code.clone(),
            message_title: title,
            category: match (&item.rpt_id, item.has_payment) {
                (Some(rpt), true) => MessageCategory {
                    tag: "PAYMENT",
                    rpt_id: Some(rpt.clone()),
                },
                _ => MessageCategory {
                    tag: "GENERIC",
                    rpt_id: None,
                },
            },
            due_date: item.due_date.as_ref().map(format_timestamp),
            has_attachments: false,
            has_precondition: false,
            is_read: item.is_read,
            is_archived: item.is_archived,
        }
    }
}

/// A page of the inbox (IO `PaginatedPublicMessagesCollection`).
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<InboxItemView>,
    /// The newest item's id: pass it as `minimum_id` for newer messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub prev: Option<String>,
    /// The oldest item's id, when older messages exist: pass it as `maximum_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next: Option<String>,
}

/// One message with its content.
#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenMessage {
    #[serde(flatten)]
    pub item: InboxItemView,
    /// The message content as the service sent it (`subject`, `markdown`, `due_date`,
    /// `payment_data`, `prescription_data`, …).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// The flags of a message after a status change.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageStatusView {
    pub is_read: bool,
    pub is_archived: bool,
}

/// A session, as its citizen sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    /// How the citizen logged in: `admin` (development login), later `spid`, `cie`.
    pub method: String,
    pub created_at: String,
    pub expires_at: String,
    /// Whether this is the session making the request.
    pub current: bool,
}

impl SessionView {
    pub fn new(s: &CitizenSession, current: &str) -> Self {
        Self {
            id: s.id.clone(),
            method: s.method.clone(),
            created_at: format_timestamp(&s.created_at),
            expires_at: format_timestamp(&s.expires_at),
            current: s.id == current,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

/// A login in the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginView {
    #[serde(flatten)]
    pub session: SessionView,
    /// The client address at login, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub revoked_at: Option<String>,
    /// `ACTIVE`, `REVOKED` or `EXPIRED`.
    #[schema(value_type = String, example = "ACTIVE")]
    pub status: &'static str,
}

impl LoginView {
    pub fn new(s: &CitizenSession, current: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            session: SessionView::new(s, current),
            client_ip: s.client_ip.clone(),
            revoked_at: s.revoked_at.as_ref().map(format_timestamp),
            status: if s.revoked_at.is_some() {
                "REVOKED"
            } else if s.expires_at <= now {
                "EXPIRED"
            } else {
                "ACTIVE"
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginHistory {
    /// Newest first.
    pub items: Vec<LoginView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedSessions {
    /// How many sessions were revoked (the current one included).
    pub revoked: u64,
}

/// A session issued by the admin API or CLI.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedSession {
    /// The bearer token, shown only now.
    pub token: String,
    pub session_id: String,
    pub expires_at: String,
}

/// A citizen profile as the admin API shows it (Sportello's own, not in the OpenAPI document).
#[derive(Debug, Serialize, Deserialize)]
pub struct CitizenView {
    pub fiscal_code: String,
    pub email: Option<String>,
    pub is_inbox_enabled: bool,
    pub preference_mode: String,
    pub preferred_languages: Vec<String>,
}

impl From<&CitizenProfile> for CitizenView {
    fn from(p: &CitizenProfile) -> Self {
        Self {
            fiscal_code: p.fiscal_code.to_string(),
            email: p.email.as_ref().map(ToString::to_string),
            is_inbox_enabled: p.is_inbox_enabled,
            preference_mode: p.preference_mode.as_str().to_owned(),
            preferred_languages: p.preferred_languages.clone(),
        }
    }
}
