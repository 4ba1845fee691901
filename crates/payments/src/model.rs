//! The debt position aggregate: position → payment options → transfers. Built only through
//! [`crate::gpd`] (parsing) and changed only through [`crate::rules`], so what is stored has
//! passed every check. The serde form is the storage form, not a wire format.

use chrono::{DateTime, Utc};
use kernel::values::{FiscalCode, NoticeNumber, OrganizationFiscalCode, ValueError};
use serde::{Deserialize, Serialize};

use crate::values::{Iban, Iupd, Metadata, SegregationCode, Stamp, TaxonomyCode};

/// A debt position's internal id, a ULID (time ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PositionId(ulid::Ulid);

impl PositionId {
    pub fn new_at(now: DateTime<Utc>) -> Self {
        let ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        Self(ulid::Ulid::from_parts(ms, rand_bits()))
    }

    pub fn parse(input: &str) -> Result<Self, ValueError> {
        ulid::Ulid::from_string(input)
            .map(Self)
            .map_err(|_| ValueError::new("a position id is a 26-character ULID"))
    }
}

fn rand_bits() -> u128 {
    ulid::Ulid::new().random()
}

impl std::fmt::Display for PositionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for PositionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PositionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A debtor is a natural (`F`) or legal (`G`) person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DebtorType {
    F,
    G,
}

impl DebtorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F => "F",
            Self::G => "G",
        }
    }
}

/// The debtor's identifier: a personal fiscal code for `F`, an 11-digit VAT/fiscal code
/// for `G`, both with their check characters verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DebtorCode {
    Person(FiscalCode),
    Company(OrganizationFiscalCode),
}

impl DebtorCode {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Person(f) => f.as_str(),
            Self::Company(c) => c.as_str(),
        }
    }

    pub fn kind(&self) -> DebtorType {
        match self {
            Self::Person(_) => DebtorType::F,
            Self::Company(_) => DebtorType::G,
        }
    }

    /// The citizen this debtor is, when a natural person.
    pub fn person(&self) -> Option<&FiscalCode> {
        match self {
            Self::Person(f) => Some(f),
            Self::Company(_) => None,
        }
    }
}

/// Who owes: identity, name and (optional) address and contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debtor {
    pub code: DebtorCode,
    pub full_name: String,
    pub street_name: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Debtor {
    /// The postal address on one line, for the notice.
    pub fn address_line(&self) -> Option<String> {
        let street = [self.street_name.as_deref(), self.civic_number.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let city = [
            self.postal_code.as_deref(),
            self.city.as_deref(),
            self.province.as_deref().map(|p| p.trim()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let line = [street, city]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        (!line.is_empty()).then_some(line)
    }
}

/// GPD's position states (v1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PositionStatus {
    Draft,
    Published,
    Valid,
    Invalid,
    Expired,
    PartiallyPaid,
    Paid,
    Reported,
}

impl PositionStatus {
    pub const ALL: [Self; 8] = [
        Self::Draft,
        Self::Published,
        Self::Valid,
        Self::Invalid,
        Self::Expired,
        Self::PartiallyPaid,
        Self::Paid,
        Self::Reported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Published => "PUBLISHED",
            Self::Valid => "VALID",
            Self::Invalid => "INVALID",
            Self::Expired => "EXPIRED",
            Self::PartiallyPaid => "PARTIALLY_PAID",
            Self::Paid => "PAID",
            Self::Reported => "REPORTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// v3's collapsed status: INVALID and EXPIRED are UNPAYABLE, REPORTED is PAID.
    pub fn v3(self) -> &'static str {
        match self {
            Self::Invalid | Self::Expired => "UNPAYABLE",
            Self::Reported => "PAID",
            other => other.as_str(),
        }
    }

    /// The v1 statuses a v3 status filter means.
    pub fn from_v3(s: &str) -> Option<Vec<Self>> {
        Some(match s {
            "UNPAYABLE" => vec![Self::Invalid, Self::Expired],
            "PAID" => vec![Self::Paid, Self::Reported],
            "DRAFT" => vec![Self::Draft],
            "PUBLISHED" => vec![Self::Published],
            "VALID" => vec![Self::Valid],
            "PARTIALLY_PAID" => vec![Self::PartiallyPaid],
            _ => return None,
        })
    }

    /// GPD's not-updatable set (EXPIRED was made updatable, PAGOPA-2459).
    pub fn updatable(self) -> bool {
        !matches!(
            self,
            Self::Invalid | Self::PartiallyPaid | Self::Paid | Self::Reported
        )
    }

    /// GPD's invalidable states: the complement of its not-invalidable set.
    pub fn invalidable(self) -> bool {
        matches!(self, Self::Published | Self::Valid)
    }

    /// A payment may be taken.
    pub fn payable(self) -> bool {
        matches!(self, Self::Valid | Self::PartiallyPaid)
    }
}

/// A payment option's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OptionStatus {
    PoUnpaid,
    PoPaid,
    PoPartiallyReported,
    PoReported,
}

impl OptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PoUnpaid => "PO_UNPAID",
            Self::PoPaid => "PO_PAID",
            Self::PoPartiallyReported => "PO_PARTIALLY_REPORTED",
            Self::PoReported => "PO_REPORTED",
        }
    }

    pub fn is_paid(self) -> bool {
        !matches!(self, Self::PoUnpaid)
    }
}

/// A transfer's reporting state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    TUnreported,
    TReported,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TUnreported => "T_UNREPORTED",
            Self::TReported => "T_REPORTED",
        }
    }
}

/// Where a transfer's money goes: an account (bank IBAN, postal IBAN or both) or a stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    Account {
        iban: Option<Iban>,
        postal_iban: Option<Iban>,
    },
    Stamp(Stamp),
}

/// One of 1–5 parts of a payment option, to one beneficiary ente.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// "1" to "5".
    pub id: u8,
    /// The beneficiary; another ente than the owner makes the payment multi-beneficiary.
    pub organization: OrganizationFiscalCode,
    pub company_name: Option<String>,
    pub amount: i64,
    pub remittance_information: String,
    pub category: TaxonomyCode,
    pub destination: Destination,
    pub metadata: Vec<Metadata>,
    pub status: TransferStatus,
    pub inserted_date: DateTime<Utc>,
    pub last_updated_date: DateTime<Utc>,
}

/// What the payment of an option recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub payment_date: DateTime<Utc>,
    pub payment_method: Option<String>,
    pub psp_code: Option<String>,
    pub psp_tax_code: Option<String>,
    pub psp_company: Option<String>,
    pub receipt_id: Option<String>,
    pub fee: Option<i64>,
    /// True when the ente marked it paid outside pagoPA.
    pub outside_pagopa: bool,
}

/// How the pre-notice (the IO payment message) of an option went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreNotice {
    /// `PENDING`, `SENT` (accepted by intake), `PROCESSED`, `REJECTED` or `SKIPPED`.
    pub status: String,
    pub message_id: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A single payment or one installment of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOption {
    pub iuv: String,
    pub nav: NoticeNumber,
    pub amount: i64,
    pub description: String,
    pub is_partial_payment: bool,
    /// Groups the installments of one plan; `None` for a single payment.
    pub plan_id: Option<String>,
    /// v3's description of the whole option (plan).
    pub option_description: Option<String>,
    pub validity_date: Option<DateTime<Utc>>,
    pub due_date: DateTime<Utc>,
    pub retention_date: Option<DateTime<Utc>>,
    pub switch_to_expired: bool,
    pub fee: i64,
    pub notification_fee: i64,
    /// A debtor other than the position's (v3 allows one per option).
    pub debtor: Option<Debtor>,
    pub status: OptionStatus,
    pub payment: Option<PaymentRecord>,
    pub reporting_date: Option<DateTime<Utc>>,
    pub flow_reporting_id: Option<String>,
    pub metadata: Vec<Metadata>,
    pub transfers: Vec<Transfer>,
    pub pre_notice: Option<PreNotice>,
    pub inserted_date: DateTime<Utc>,
    pub last_updated_date: DateTime<Utc>,
}

impl PaymentOption {
    pub fn segregation_code(&self) -> Option<SegregationCode> {
        SegregationCode::of_notice(&self.nav)
    }

    /// The key of the plan this option belongs to: its plan id, or its own IUV.
    pub fn plan_key(&self) -> &str {
        self.plan_id.as_deref().unwrap_or(&self.iuv)
    }
}

/// Most payment options of one position.
pub const OPTIONS_MAX: usize = 100;
/// Most transfers of one option.
pub const TRANSFERS_MAX: usize = 5;

/// A debt position: what one debtor owes one ente, and how it may be paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub id: PositionId,
    pub organization: OrganizationFiscalCode,
    pub iupd: Iupd,
    pub status: PositionStatus,
    /// Optimistic lock: every saved change adds one.
    pub version: i64,
    pub debtor: Debtor,
    pub company_name: String,
    pub office_name: Option<String>,
    pub switch_to_expired: bool,
    pub pay_stand_in: bool,
    pub validity_date: Option<DateTime<Utc>>,
    pub publish_date: Option<DateTime<Utc>>,
    pub payment_date: Option<DateTime<Utc>>,
    pub inserted_date: DateTime<Utc>,
    pub last_updated_date: DateTime<Utc>,
    pub options: Vec<PaymentOption>,
    /// The position this one reissues (an EXPIRED or INVALID one never paid).
    pub reissue_of: Option<Iupd>,
    /// The position that reissued this one.
    pub reissued_as: Option<Iupd>,
}

impl Position {
    pub fn min_due_date(&self) -> Option<DateTime<Utc>> {
        self.options.iter().map(|o| o.due_date).min()
    }

    pub fn max_due_date(&self) -> Option<DateTime<Utc>> {
        self.options.iter().map(|o| o.due_date).max()
    }

    /// The option with this IUV or notice number.
    pub fn option_index(&self, iuv_or_nav: &str) -> Option<usize> {
        self.options
            .iter()
            .position(|o| o.iuv == iuv_or_nav || o.nav.as_str() == iuv_or_nav)
    }

    /// The debtor of an option (its own, or the position's).
    pub fn debtor_of<'a>(&'a self, option: &'a PaymentOption) -> &'a Debtor {
        option.debtor.as_ref().unwrap_or(&self.debtor)
    }

    /// The options a pre-notice goes out for once the position is payable: every unpaid
    /// single payment, and the first unpaid installment (earliest due date) of each plan.
    pub fn pre_notice_targets(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut plans_seen: Vec<&str> = Vec::new();
        let mut order: Vec<usize> = (0..self.options.len()).collect();
        order.sort_by_key(|i| (self.options[*i].due_date, *i));
        for i in order {
            let o = &self.options[i];
            if o.status.is_paid() {
                continue;
            }
            match &o.plan_id {
                None => out.push(i),
                Some(plan) if o.is_partial_payment => {
                    if !plans_seen.contains(&plan.as_str()) {
                        plans_seen.push(plan);
                        out.push(i);
                    }
                }
                Some(_) => out.push(i),
            }
        }
        out.sort_unstable();
        out
    }
}

/// One line of a position's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionEvent {
    pub at: DateTime<Utc>,
    /// The version the change produced.
    pub version: i64,
    /// `created`, `published`, `validated`, `updated`, `invalidated`, `expired`, `paid`,
    /// `reported`, `reissued`, `pre_notice`…
    pub action: String,
    pub status: PositionStatus,
    /// What changed, for people (never personal data).
    pub detail: Option<String>,
    /// Who did it: `payments-key`, `system`, `cli`…
    pub actor: String,
}
