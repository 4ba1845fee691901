//! Wire types of the messaging domain: the JSON shapes of IO's Services API (names as in
//! `reference/io/services-api-openapi.yaml`).

use std::collections::BTreeMap;

use messaging::content::format_timestamp;
use messaging::model::{Service, ServiceMetadata};
use messaging::topics::topic_name;
use serde::Serialize;
use utoipa::ToSchema;

use crate::messaging::openapi::schemas;

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedMessage {
    #[schema(required = false)]
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LimitedProfile {
    pub sender_allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::messaging::openapi::preferred_languages)]
    pub preferred_languages: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalCreatedMessageWithContent {
    pub id: String,
    #[schema(value_type = schemas::FiscalCode)]
    pub fiscal_code: String,
    #[schema(value_type = schemas::TimeToLiveSeconds, required = false)]
    pub time_to_live: i64,
    #[schema(value_type = schemas::Timestamp)]
    pub created_at: String,
    /// The content; `{}` once the recipient deleted their account (the content is erased and
    /// the message kept as a status record).
    #[schema(value_type = schemas::NewMessageContent)]
    pub content: serde_json::Value,
    #[schema(value_type = schemas::ServiceId)]
    pub sender_service_id: String,
    #[schema(value_type = schemas::FeatureLevelType)]
    pub feature_level_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalMessageResponseWithContent {
    pub message: ExternalCreatedMessageWithContent,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub notification: Option<MessageResponseNotificationStatus>,
    #[schema(value_type = schemas::MessageStatusValue, required = false)]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schemas::ReadStatus, required = false)]
    pub read_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schemas::PaymentStatus, required = false)]
    pub payment_status: Option<&'static str>,
}

/// The status of each channel that notified the recipient (a channel that was not used for
/// this message is absent).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct MessageResponseNotificationStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schemas::NotificationChannelStatusValue, required = false)]
    pub email: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = schemas::NotificationChannelStatusValue, required = false)]
    pub webhook: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceLifecycleStatus {
    #[schema(value_type = schemas::CmsServiceLifecycleStatusType)]
    pub value: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsOrganization {
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(value_type = schemas::OrganizationFiscalCode)]
    pub fiscal_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, nullable = false)]
    pub department_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceTopic {
    #[schema(schema_with = crate::messaging::openapi::number, example = 3)]
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceTopicList {
    #[schema(required = false)]
    pub topics: Vec<CmsServiceTopic>,
}

/// Card metadata as returned: the stored optional fields, plus the topic by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceMetadata {
    #[serde(flatten)]
    #[schema(value_type = schemas::CmsServiceBaseMetadata)]
    pub fields: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub topic: Option<CmsServiceTopic>,
}

/// Service basic data (IO `CmsServiceData`), shared by the payload and the lifecycle,
/// publication and history views. Sportello also limits `name` and `organization.name` and
/// `organization.department_name` to 200 characters and `description` to 10000.
#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceData {
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(min_length = 1)]
    pub description: String,
    pub organization: CmsOrganization,
    #[schema(required = false)]
    pub require_secure_channel: bool,
    #[schema(value_type = Vec<schemas::FiscalCode>, required = false)]
    pub authorized_recipients: Vec<String>,
    #[schema(value_type = Vec<schemas::CIDR>, required = false)]
    pub authorized_cidrs: Vec<String>,
    #[schema(
        minimum = 0,
        maximum = 9_999_999_999_u64,
        default = 0,
        required = false
    )]
    pub max_allowed_payment_amount: u64,
}

impl From<&Service> for CmsServiceData {
    fn from(s: &Service) -> Self {
        Self {
            name: s.name.clone(),
            description: s.description.clone(),
            organization: CmsOrganization {
                name: s.organization_name.clone(),
                fiscal_code: s.organization_fiscal_code.to_string(),
                department_name: s.department_name.clone(),
            },
            require_secure_channel: s.require_secure_channels,
            authorized_recipients: s
                .authorized_recipients
                .iter()
                .map(ToString::to_string)
                .collect(),
            authorized_cidrs: s.authorized_cidrs.iter().map(ToString::to_string).collect(),
            max_allowed_payment_amount: s.max_allowed_payment_amount,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceLifecycle {
    pub id: String,
    pub status: CmsServiceLifecycleStatus,
    /// Whether citizens see the service now (`published`, the card as last approved) or not
    /// (`unpublished`): separate from `status`, which stays `approved` once published.
    #[schema(value_type = schemas::CmsServicePublicationState)]
    pub publication: &'static str,
    #[schema(value_type = schemas::Timestamp)]
    pub last_update: String,
    #[schema(required = false)]
    pub metadata: CmsServiceMetadata,
    #[serde(flatten)]
    pub data: CmsServiceData,
}

fn metadata(m: &ServiceMetadata) -> CmsServiceMetadata {
    let mut fields = BTreeMap::new();
    if let Some(scope) = m.scope {
        fields.insert(
            "scope",
            match scope {
                messaging::model::Scope::Local => "LOCAL",
                messaging::model::Scope::National => "NATIONAL",
            }
            .to_owned(),
        );
    }
    let optional = [
        ("web_url", &m.web_url),
        ("app_ios", &m.app_ios),
        ("app_android", &m.app_android),
        ("tos_url", &m.tos_url),
        ("privacy_url", &m.privacy_url),
        ("address", &m.address),
        ("phone", &m.phone),
        ("email", &m.email),
        ("pec", &m.pec),
        ("cta", &m.cta),
        ("token_name", &m.token_name),
        ("support_url", &m.support_url),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            fields.insert(name, v.clone());
        }
    }
    CmsServiceMetadata {
        fields,
        topic: m.topic_id.and_then(|id| {
            topic_name(id).map(|name| CmsServiceTopic {
                id,
                name: name.to_owned(),
            })
        }),
    }
}

impl From<&Service> for CmsServiceLifecycle {
    fn from(s: &Service) -> Self {
        Self {
            id: s.id.to_string(),
            status: CmsServiceLifecycleStatus {
                value: s.lifecycle.as_str(),
                reason: s.lifecycle_reason.clone(),
            },
            publication: s.publication.as_str(),
            last_update: format_timestamp(&s.updated_at),
            metadata: metadata(&s.metadata),
            data: CmsServiceData::from(s),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsPaginationResultSet {
    #[schema(schema_with = crate::messaging::openapi::number, required = false)]
    pub offset: i64,
    #[schema(schema_with = crate::messaging::openapi::number, required = false)]
    pub limit: i64,
    #[schema(schema_with = crate::messaging::openapi::number, required = false)]
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServicePagination {
    #[schema(required = false)]
    pub value: Vec<CmsServiceLifecycle>,
    #[schema(required = false)]
    pub pagination: CmsPaginationResultSet,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CmsSubscriptionKeys {
    pub primary_key: String,
    pub secondary_key: String,
}

impl From<ops::services::ServiceKeys> for CmsSubscriptionKeys {
    fn from(k: ops::services::ServiceKeys) -> Self {
        Self {
            primary_key: k.primary_key,
            secondary_key: k.secondary_key,
        }
    }
}

/// One history item (IO `CmsServiceHistoryItem`-like).
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    description = "One change of the service's lifecycle or publication state, with the \
                   service card at that moment; `actor` is Sportello's addition."
)]
pub struct CmsServiceHistoryItem {
    pub id: String,
    pub status: CmsServiceHistoryItemStatus,
    #[schema(value_type = schemas::Timestamp)]
    pub last_update: String,
    /// Who made the change (`delegate:<id>`, `operator`, `quality-checks`, `auto-approval`).
    pub actor: String,
    pub metadata: CmsServiceMetadata,
    #[serde(flatten)]
    pub data: CmsServiceData,
}

/// A history status: which state machine, the state reached and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceHistoryItemStatus {
    #[schema(value_type = schemas::CmsServiceHistoryStatusKind, required = false)]
    pub kind: &'static str,
    #[schema(value_type = schemas::CmsServiceHistoryStatusType)]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

/// A page of history with the token of the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServiceHistory {
    #[schema(required = false)]
    pub items: Vec<CmsServiceHistoryItem>,
    #[serde(rename = "continuationToken", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub continuation_token: Option<String>,
}

/// The published view of a service (IO `CmsServicePublication`).
/// The published version of a service (IO `CmsServicePublication`): the card as last
/// approved, with the publication status.
#[derive(Debug, Serialize, ToSchema)]
pub struct CmsServicePublication {
    pub id: String,
    #[schema(value_type = schemas::CmsServicePublicationStatusType)]
    pub status: &'static str,
    #[schema(value_type = schemas::Timestamp)]
    pub last_update: String,
    #[schema(required = false)]
    pub metadata: CmsServiceMetadata,
    #[serde(flatten)]
    pub data: CmsServiceData,
}

impl From<&Service> for CmsServicePublication {
    fn from(s: &Service) -> Self {
        let l = CmsServiceLifecycle::from(s);
        Self {
            id: l.id,
            status: s.publication.as_str(),
            last_update: l.last_update,
            metadata: l.metadata,
            data: l.data,
        }
    }
}
