//! A message as an ente submits it (`NewMessage` of the IO Services API) and the rules its
//! content must satisfy, checked field by field so that every fault is reported at once.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use kernel::fields::{FieldErrors, ObjectReader};
use kernel::values::{AmountCents, Email, FiscalCode, NoticeNumber, OrganizationFiscalCode};

pub const SUBJECT_LEN: std::ops::RangeInclusive<usize> = 10..=120;
pub const MARKDOWN_LEN: std::ops::RangeInclusive<usize> = 80..=10_000;
pub const TTL_SECONDS: std::ops::RangeInclusive<i64> = 3_600..=604_800;
pub const DEFAULT_TTL_SECONDS: i64 = 3_600;

/// `STANDARD` or `ADVANCED` ("premium": read and payment status are reported back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeatureLevel {
    #[default]
    Standard,
    Advanced,
}

impl FeatureLevel {
    pub const ALL: [&'static str; 2] = ["STANDARD", "ADVANCED"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "STANDARD",
            Self::Advanced => "ADVANCED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "STANDARD" => Some(Self::Standard),
            "ADVANCED" => Some(Self::Advanced),
            _ => None,
        }
    }
}

/// pagoPA payment notice attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentData {
    pub amount: AmountCents,
    pub notice_number: NoticeNumber,
    #[serde(default)]
    pub invalid_after_due_date: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee: Option<Payee>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payee {
    pub fiscal_code: OrganizationFiscalCode,
}

/// Electronic medical prescription references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrescriptionData {
    pub nre: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescriber_fiscal_code: Option<FiscalCode>,
}

/// Legacy PEC "legal message" metadata (kept for wire compatibility).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalData {
    pub sender_mail_from: String,
    pub has_attachment: bool,
    pub message_unique_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_message_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pec_server_service_id: Option<String>,
}

/// The content of a message, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    pub subject: String,
    pub markdown: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_secure_channels: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp_opt"
    )]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_data: Option<PaymentData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescription_data: Option<PrescriptionData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_data: Option<LegalData>,
}

/// A validated submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub fiscal_code: FiscalCode,
    pub time_to_live: i64,
    pub content: MessageContent,
    pub feature_level: FeatureLevel,
}

/// Why a submission is refused before any field rule: these map to 403 in IO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// `third_party_data` needs a remote-content configuration, which this service has none of.
    RemoteContentNotConfigured,
    /// `eu_covid_cert` messages were a national, dedicated service.
    EuCovidCertNotAllowed,
}

/// Outcome of parsing a submission body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewMessageError {
    Invalid(FieldErrors),
    Forbidden(Forbidden),
}

/// Parses a `NewMessage` body. `path_fiscal_code` is the fiscal code from the URL, if the
/// route has one; the body's `fiscal_code` must then be absent (and present otherwise).
pub fn parse_new_message(
    body: &Value,
    path_fiscal_code: Option<&str>,
) -> Result<NewMessage, NewMessageError> {
    let mut errors = FieldErrors::default();
    let Some(root) = ObjectReader::new(body, "", &mut errors) else {
        return Err(NewMessageError::Invalid(errors));
    };

    let fiscal_code = match (path_fiscal_code, root.optional("fiscal_code")) {
        (Some(_), Some(_)) => {
            errors.push(
                "fiscal_code",
                "must be specified in the path or in the payload but not in both",
            );
            None
        }
        (None, None) => {
            errors.push(
                "fiscal_code",
                "is required (in the payload, or use POST /messages/{fiscal_code})",
            );
            None
        }
        (Some(p), None) => match FiscalCode::parse(p) {
            Ok(fc) => Some(fc),
            Err(e) => {
                errors.push("fiscal_code (path)", e.reason);
                None
            }
        },
        (None, Some(_)) => root.parsed("fiscal_code", true, FiscalCode::parse, &mut errors),
    };

    let time_to_live = root
        .integer("time_to_live", false, TTL_SECONDS, &mut errors)
        .unwrap_or(DEFAULT_TTL_SECONDS);

    let feature_level = root
        .one_of("feature_level_type", &FeatureLevel::ALL, &mut errors)
        .and_then(FeatureLevel::parse)
        .unwrap_or_default();

    if let Some(addresses) = root.object("default_addresses", false, &mut errors) {
        // Accepted and checked for wire compatibility; IO ignores it and so do we.
        addresses.parsed("email", false, Email::parse, &mut errors);
    }

    let content = match root.object("content", true, &mut errors) {
        Some(c) => {
            if c.optional("third_party_data").is_some() {
                return Err(NewMessageError::Forbidden(
                    Forbidden::RemoteContentNotConfigured,
                ));
            }
            if c.optional("eu_covid_cert").is_some() {
                return Err(NewMessageError::Forbidden(Forbidden::EuCovidCertNotAllowed));
            }
            parse_content(&c, &mut errors)
        }
        None => None,
    };

    match (fiscal_code, content) {
        (Some(fiscal_code), Some(content)) if errors.is_empty() => Ok(NewMessage {
            fiscal_code,
            time_to_live,
            content,
            feature_level,
        }),
        _ => Err(NewMessageError::Invalid(errors)),
    }
}

fn parse_content(c: &ObjectReader<'_>, errors: &mut FieldErrors) -> Option<MessageContent> {
    let subject = c.string("subject", true, SUBJECT_LEN, errors);
    let markdown = c.string("markdown", true, MARKDOWN_LEN, errors);
    let require_secure_channels = c.boolean("require_secure_channels", errors);
    let due_date = c.parsed("due_date", false, parse_timestamp, errors);

    let payment_data = c.object("payment_data", false, errors).and_then(|p| {
        let amount = p.integer("amount", true, 1..=9_999_999_999, errors);
        let notice_number = p.parsed("notice_number", true, NoticeNumber::parse, errors);
        let invalid_after_due_date = p.boolean("invalid_after_due_date", errors);
        let payee = match p.object("payee", false, errors) {
            Some(payee) => Some(
                payee
                    .parsed("fiscal_code", true, OrganizationFiscalCode::parse, errors)
                    .map(|fiscal_code| Payee { fiscal_code })?,
            ),
            None => None,
        };
        Some(PaymentData {
            amount: AmountCents::new(u64::try_from(amount?).ok()?).ok()?,
            notice_number: notice_number?,
            invalid_after_due_date: invalid_after_due_date.unwrap_or(false),
            payee,
        })
    });

    let prescription_data = c.object("prescription_data", false, errors).and_then(|p| {
        let nre = p.string("nre", true, 15..=15, errors);
        let iup = p.string("iup", false, 1..=16, errors);
        let prescriber_fiscal_code =
            p.parsed("prescriber_fiscal_code", false, FiscalCode::parse, errors);
        Some(PrescriptionData {
            nre: nre?,
            iup,
            prescriber_fiscal_code,
        })
    });

    let legal_data = c.object("legal_data", false, errors).and_then(|l| {
        let sender_mail_from = l.string("sender_mail_from", true, 1..=usize::MAX, errors);
        let has_attachment = l.boolean("has_attachment", errors);
        if l.optional("has_attachment").is_none() {
            errors.push(l.path("has_attachment"), "is required");
        }
        let message_unique_id = l.string("message_unique_id", true, 1..=usize::MAX, errors);
        let original_message_url = l.string("original_message_url", false, 1..=usize::MAX, errors);
        let pec_server_service_id =
            l.string("pec_server_service_id", false, 1..=usize::MAX, errors);
        Some(LegalData {
            sender_mail_from: sender_mail_from?,
            has_attachment: has_attachment?,
            message_unique_id: message_unique_id?,
            original_message_url,
            pec_server_service_id,
        })
    });

    Some(MessageContent {
        subject: subject?,
        markdown: markdown?,
        require_secure_channels,
        due_date,
        payment_data,
        prescription_data,
        legal_data,
    })
}

/// ISO-8601 timestamp in UTC (`2018-10-13T00:00:00.000Z`); an explicit offset is accepted and
/// converted to UTC.
///
/// The value is normalised to what is stored and shown everywhere: whole milliseconds (finer
/// digits are cut), and a leap second (`…:60`, which RFC 3339 allows) is the next second
/// (`…T00:00:60Z` is `…T00:01:00.000Z`). Without this, the ente would see `…:60.000Z` in the
/// content it sent while the citizen's inbox, stored in milliseconds, showed `…:01:00.000Z`.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, kernel::values::ValueError> {
    let invalid = || {
        kernel::values::ValueError::new(
            "must be an ISO-8601 date-time with time zone, e.g. 2018-10-13T00:00:00.000Z",
        )
    };
    let parsed = DateTime::parse_from_rfc3339(s).map_err(|_| invalid())?;
    // `timestamp_millis` counts a leap second's extra nanoseconds as the following second.
    DateTime::from_timestamp_millis(parsed.timestamp_millis()).ok_or_else(invalid)
}

/// Formats a timestamp the way IO does (`…T00:00:00.000Z`).
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

mod timestamp_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_timestamp(t)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| super::parse_timestamp(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn markdown() -> String {
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Maecenas et mollis felis, \
         vivamus orci nisl."
            .to_owned()
    }

    fn invalid(r: Result<NewMessage, NewMessageError>) -> Vec<String> {
        match r {
            Err(NewMessageError::Invalid(e)) => e.0.into_iter().map(|e| e.name).collect(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_message_with_the_code_in_the_path_is_valid() {
        let m = parse_new_message(
            &json!({"content": {"subject": "Hello citizen", "markdown": markdown()}}),
            Some("AAAAAA00A00A000A"),
        )
        .unwrap();
        assert_eq!(m.time_to_live, 3600);
        assert_eq!(m.feature_level, FeatureLevel::Standard);
        assert!(m.content.payment_data.is_none());
    }

    #[test]
    fn every_field_at_fault_is_reported_at_once() {
        let names = invalid(parse_new_message(
            &json!({
                "time_to_live": 10,
                "feature_level_type": "GOLD",
                "content": {"subject": "short", "markdown": "too short",
                    "due_date": "tomorrow",
                    "payment_data": {"amount": 0, "notice_number": "12"}}
            }),
            Some("AAAAAA00A00A000A"),
        ));
        for expected in [
            "time_to_live",
            "feature_level_type",
            "content.subject",
            "content.markdown",
            "content.due_date",
            "content.payment_data.amount",
            "content.payment_data.notice_number",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
    }

    #[test]
    fn the_fiscal_code_in_both_path_and_body_is_refused() {
        let names = invalid(parse_new_message(
            &json!({"fiscal_code": "AAAAAA00A00A000A",
                "content": {"subject": "Hello citizen", "markdown": markdown()}}),
            Some("AAAAAA00A00A000A"),
        ));
        assert_eq!(names, vec!["fiscal_code"]);
    }

    #[test]
    fn a_missing_fiscal_code_is_refused() {
        let names = invalid(parse_new_message(
            &json!({"content": {"subject": "Hello citizen", "markdown": markdown()}}),
            None,
        ));
        assert_eq!(names, vec!["fiscal_code"]);
    }

    #[test]
    fn content_round_trips_through_json() {
        let m = parse_new_message(
            &json!({"fiscal_code": "AAAAAA00A00A000A", "content": {
                "subject": "Pagamento TARI 2026", "markdown": markdown(),
                "due_date": "2026-12-31T00:00:00.000Z",
                "payment_data": {"amount": 12345, "notice_number": "301000000000000144"}}}),
            None,
        )
        .unwrap();
        let text = serde_json::to_string(&m.content).unwrap();
        let back: MessageContent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m.content);
        assert!(text.contains("\"due_date\":\"2026-12-31T00:00:00.000Z\""));
    }

    #[test]
    fn timestamps_are_normalised_to_whole_milliseconds_and_no_leap_second() {
        for (input, expected) in [
            ("2026-12-31T00:00:60Z", "2026-12-31T00:01:00.000Z"),
            ("2026-12-31T23:59:60.500Z", "2027-01-01T00:00:00.500Z"),
            (
                "2026-06-30T10:00:00.123999+02:00",
                "2026-06-30T08:00:00.123Z",
            ),
            ("2026-06-30T10:00:00Z", "2026-06-30T10:00:00.000Z"),
        ] {
            let t = parse_timestamp(input).unwrap();
            assert_eq!(format_timestamp(&t), expected, "{input}");
            // What is shown parses back to the same instant.
            assert_eq!(parse_timestamp(expected).unwrap(), t, "{input}");
            assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0, "{input}");
        }
        for bad in ["2026-12-31T00:00:61Z", "2026-12-31", "tomorrow"] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn remote_content_is_forbidden_without_configuration() {
        let r = parse_new_message(
            &json!({"content": {"subject": "Hello citizen", "markdown": markdown(),
                "third_party_data": {"id": "x"}}}),
            Some("AAAAAA00A00A000A"),
        );
        assert_eq!(
            r,
            Err(NewMessageError::Forbidden(
                Forbidden::RemoteContentNotConfigured
            ))
        );
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "[ -~]{0,130}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let keys = prop_oneof![
                Just("content".to_owned()),
                Just("subject".to_owned()),
                Just("markdown".to_owned()),
                Just("payment_data".to_owned()),
                Just("amount".to_owned()),
                Just("notice_number".to_owned()),
                Just("due_date".to_owned()),
                Just("fiscal_code".to_owned()),
                Just("time_to_live".to_owned()),
                Just("payee".to_owned()),
                "[a-z_]{1,12}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(keys, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_json_is_either_a_message_or_a_precise_refusal(body in arbitrary_json()) {
            match parse_new_message(&body, Some("AAAAAA00A00A000A")) {
                Ok(m) => proptest::prop_assert!(SUBJECT_LEN.contains(&m.content.subject.chars().count())),
                Err(NewMessageError::Invalid(errors)) => {
                    proptest::prop_assert!(!errors.is_empty());
                    for e in &errors.0 {
                        proptest::prop_assert!(!e.name.is_empty() && !e.reason.is_empty());
                    }
                }
                Err(NewMessageError::Forbidden(_)) => {}
            }
        }
    }
}
