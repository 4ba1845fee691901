//! The service card an ente sends to create or update a service (IO `CmsServicePayload`),
//! validated field by field.

use serde_json::Value;

use crate::model::{Scope, ServiceMetadata};
use crate::topics::topic_name;
use kernel::fields::{FieldErrors, ObjectReader};
use kernel::values::{Cidr, FiscalCode, OrganizationFiscalCode};

pub const MAX_PAYMENT_AMOUNT: i64 = 9_999_999_999;

/// The organization block of a service payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadOrganization {
    pub name: String,
    pub fiscal_code: OrganizationFiscalCode,
    pub department_name: Option<String>,
}

/// A validated `CmsServicePayload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDraft {
    pub name: String,
    pub description: String,
    pub organization: PayloadOrganization,
    pub require_secure_channels: bool,
    pub authorized_recipients: Vec<FiscalCode>,
    pub authorized_cidrs: Vec<Cidr>,
    pub max_allowed_payment_amount: u64,
    pub metadata: ServiceMetadata,
}

const OPTIONAL_TEXT: [&str; 12] = [
    "web_url",
    "app_ios",
    "app_android",
    "tos_url",
    "privacy_url",
    "address",
    "phone",
    "email",
    "pec",
    "cta",
    "token_name",
    "support_url",
];

/// Parses a service payload, reporting every field at fault.
pub fn parse_service_payload(body: &Value) -> Result<ServiceDraft, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(root) = ObjectReader::new(body, "", &mut errors) else {
        return Err(errors);
    };
    let any = 1..=usize::MAX;
    let name = root.string("name", true, 1..=200, &mut errors);
    let description = root.string("description", true, 1..=10_000, &mut errors);
    let organization = root
        .object("organization", true, &mut errors)
        .and_then(|o| {
            let name = o.string("name", true, 1..=200, &mut errors);
            let fiscal_code = o.parsed(
                "fiscal_code",
                true,
                OrganizationFiscalCode::parse,
                &mut errors,
            );
            let department_name = o.string("department_name", false, 1..=200, &mut errors);
            Some(PayloadOrganization {
                name: name?,
                fiscal_code: fiscal_code?,
                department_name,
            })
        });
    let require_secure_channels = root
        .boolean("require_secure_channel", &mut errors)
        .unwrap_or(false);
    let authorized_recipients = root
        .parsed_list("authorized_recipients", FiscalCode::parse, &mut errors)
        .unwrap_or_default();
    let authorized_cidrs = root
        .parsed_list("authorized_cidrs", Cidr::parse, &mut errors)
        .unwrap_or_default();
    let max_allowed_payment_amount = root
        .integer(
            "max_allowed_payment_amount",
            false,
            0..=MAX_PAYMENT_AMOUNT,
            &mut errors,
        )
        .unwrap_or(0);

    let metadata = root.object("metadata", true, &mut errors).map(|m| {
        let scope = match m.required("scope", &mut errors) {
            Some(_) => match m.one_of("scope", &["LOCAL", "NATIONAL"], &mut errors) {
                Some("LOCAL") => Some(Scope::Local),
                Some(_) => Some(Scope::National),
                None => None,
            },
            None => None,
        };
        let topic_id = match m.required("topic_id", &mut errors) {
            Some(v) => match v.as_i64() {
                Some(id) if topic_name(id).is_some() => Some(id),
                Some(_) => {
                    errors.push(
                        m.path("topic_id"),
                        "is not a known topic (see GET /api/v1/manage/services/topics)",
                    );
                    None
                }
                None => {
                    errors.push(m.path("topic_id"), "must be an integer");
                    None
                }
            },
            None => None,
        };
        let mut text = OPTIONAL_TEXT.map(|f| m.string(f, false, any.clone(), &mut errors));
        let mut take = |i: usize| text[i].take();
        ServiceMetadata {
            scope,
            topic_id,
            web_url: take(0),
            app_ios: take(1),
            app_android: take(2),
            tos_url: take(3),
            privacy_url: take(4),
            address: take(5),
            phone: take(6),
            email: take(7),
            pec: take(8),
            cta: take(9),
            token_name: take(10),
            support_url: take(11),
        }
    });

    match (name, description, organization, metadata) {
        (Some(name), Some(description), Some(organization), Some(metadata))
            if errors.is_empty() =>
        {
            Ok(ServiceDraft {
                name,
                description,
                organization,
                require_secure_channels,
                authorized_recipients,
                authorized_cidrs,
                max_allowed_payment_amount: max_allowed_payment_amount as u64,
                metadata,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_complete_payload_is_accepted() {
        let d = parse_service_payload(&json!({
            "name": "Tributi", "description": "Pagamento dei tributi comunali",
            "organization": {"name": "Comune di Varese", "fiscal_code": "00441340122"},
            "authorized_cidrs": ["10.0.0.0/8", "2001:db8::1"],
            "max_allowed_payment_amount": 100000,
            "metadata": {"scope": "LOCAL", "topic_id": 11, "email": "tributi@comune.varese.it"}
        }))
        .unwrap();
        assert_eq!(d.authorized_cidrs.len(), 2);
        assert_eq!(d.metadata.scope, Some(Scope::Local));
        assert_eq!(d.max_allowed_payment_amount, 100_000);
    }

    #[test]
    fn every_fault_of_a_payload_is_listed() {
        let e = parse_service_payload(&json!({
            "name": "", "organization": {"name": "Comune", "fiscal_code": "123"},
            "authorized_cidrs": ["10.0.0.0/40"],
            "max_allowed_payment_amount": -1,
            "metadata": {"scope": "GLOBAL", "topic_id": 999}
        }))
        .unwrap_err();
        let names: Vec<_> = e.0.iter().map(|e| e.name.as_str()).collect();
        for expected in [
            "name",
            "description",
            "organization.fiscal_code",
            "authorized_cidrs[0]",
            "max_allowed_payment_amount",
            "metadata.scope",
            "metadata.topic_id",
        ] {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
    }
}
