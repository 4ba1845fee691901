//! Wire types of the HTTP API: the JSON shapes of IO's Services API (names as in
//! `reference/io/services-api-openapi.yaml`) and of Sportello's admin API.

use std::collections::BTreeMap;

use messaging::content::{MessageContent, format_timestamp};
use messaging::model::{Service, ServiceMetadata};
use messaging::topics::topic_name;
use serde::{Deserialize, Serialize};

/// RFC 7807 problem, with `invalid_params` listing every field at fault on validation errors.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProblemJson {
    #[serde(rename = "type")]
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_params: Option<Vec<InvalidParam>>,
}

/// One field at fault.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvalidParam {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct CreatedMessage {
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct LimitedProfile {
    pub sender_allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_languages: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct ExternalCreatedMessageWithContent {
    pub id: String,
    pub fiscal_code: String,
    pub time_to_live: i64,
    pub created_at: String,
    pub content: MessageContent,
    pub sender_service_id: String,
    pub feature_level_type: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ExternalMessageResponseWithContent {
    pub message: ExternalCreatedMessageWithContent,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct CmsServiceLifecycleStatus {
    pub value: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CmsOrganization {
    pub name: String,
    pub fiscal_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CmsServiceTopic {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct CmsServiceTopicList {
    pub topics: Vec<CmsServiceTopic>,
}

/// Card metadata as returned: the stored optional fields, plus the topic by name.
#[derive(Debug, Serialize)]
pub struct CmsServiceMetadata {
    #[serde(flatten)]
    pub fields: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<CmsServiceTopic>,
}

#[derive(Debug, Serialize)]
pub struct CmsServiceLifecycle {
    pub id: String,
    pub status: CmsServiceLifecycleStatus,
    pub last_update: String,
    pub metadata: CmsServiceMetadata,
    pub name: String,
    pub description: String,
    pub organization: CmsOrganization,
    pub require_secure_channel: bool,
    pub authorized_recipients: Vec<String>,
    pub authorized_cidrs: Vec<String>,
    pub max_allowed_payment_amount: u64,
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
            last_update: format_timestamp(&s.updated_at),
            metadata: metadata(&s.metadata),
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

#[derive(Debug, Serialize)]
pub struct CmsPaginationResultSet {
    pub offset: i64,
    pub limit: i64,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct CmsServicePagination {
    pub value: Vec<CmsServiceLifecycle>,
    pub pagination: CmsPaginationResultSet,
}

#[derive(Debug, Serialize)]
pub struct CmsSubscriptionKeys {
    pub primary_key: String,
    pub secondary_key: String,
}

// ----- Admin API (Sportello's own) -----

#[derive(Debug, Serialize, Deserialize)]
pub struct OrganizationView {
    pub fiscal_code: String,
    pub name: String,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DelegateView {
    pub id: String,
    pub organization_fiscal_code: String,
    pub email: String,
    pub disabled: bool,
    pub created_at: String,
}

/// A delegate just created: the only time its manage key is shown.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedDelegate {
    pub id: String,
    pub organization_fiscal_code: String,
    pub email: String,
    pub manage_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CitizenView {
    pub fiscal_code: String,
    pub email: Option<String>,
    pub is_inbox_enabled: bool,
    pub preference_mode: String,
    pub preferred_languages: Vec<String>,
}

impl From<&messaging::model::Organization> for OrganizationView {
    fn from(o: &messaging::model::Organization) -> Self {
        Self {
            fiscal_code: o.fiscal_code.to_string(),
            name: o.name.clone(),
            disabled: o.disabled,
            created_at: format_timestamp(&o.created_at),
        }
    }
}

impl From<&messaging::model::Delegate> for DelegateView {
    fn from(d: &messaging::model::Delegate) -> Self {
        Self {
            id: d.id.clone(),
            organization_fiscal_code: d.organization_fiscal_code.to_string(),
            email: d.email.to_string(),
            disabled: d.disabled,
            created_at: format_timestamp(&d.created_at),
        }
    }
}

impl From<&messaging::model::CitizenProfile> for CitizenView {
    fn from(p: &messaging::model::CitizenProfile) -> Self {
        Self {
            fiscal_code: p.fiscal_code.to_string(),
            email: p.email.as_ref().map(ToString::to_string),
            is_inbox_enabled: p.is_inbox_enabled,
            preference_mode: p.preference_mode.as_str().to_owned(),
            preferred_languages: p.preferred_languages.clone(),
        }
    }
}
