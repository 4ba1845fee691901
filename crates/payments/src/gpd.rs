//! GPD's wire model (v1 `gpd.json`, v3 `gpd_v3.json`): parsing a request body into a
//! checked [`Draft`] with every fault listed by field, and rendering a [`Position`] in GPD's
//! response shapes.
//!
//! Parsing follows GPD's OpenAPI `required` lists and validation, stricter where GPD stores
//! junk. Where GPD sets no limit these are ours:
//! - debtor address parts (`streetName`, `civicNumber`, `postalCode`, `city`, `province`,
//!   `region`) at most 140 characters, as GPD's other free texts; `country` two upper-case
//!   letters; `phone` at most 20 digits, `+` and spaces; `email` a valid address;
//! - an empty string in an optional text field (`officeName`, address parts, `postalIban`,
//!   a transfer's `companyName`, a v3 option's `description`) counts as absent: GPD's clients
//!   send `""` for "none";
//! - required texts (`fullName`, `companyName`, `description`, `remittanceInformation`,
//!   metadata keys) must not be empty (GPD allows `""`); metadata values may be;
//! - amounts, fees and notification fees at most 99 999 999 999 cents;
//! - a v3 position holds at most [`OPTIONS_MAX`] installments in all, as a v1 one holds
//!   options;
//! - a v3 position's `switch_to_expired` is true when every option's is (expiry needs all).
//!
//! Reasons never echo the input: it may be personal data.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use kernel::values::{Email, FiscalCode, NoticeNumber, OrganizationFiscalCode};
use serde_json::{Map, Value, json};

use crate::model::{
    Debtor, DebtorCode, Destination, OPTIONS_MAX, OptionStatus, PaymentOption, Position,
    PositionId, PositionStatus, TRANSFERS_MAX, Transfer, TransferStatus,
};
use crate::rules::{DateCheck, check_dates};
use crate::values::{Iban, Iupd, METADATA_MAX, Metadata, SegregationCode, Stamp, TaxonomyCode};

/// A parsed position whose options may still lack a notice number: `missing` lists the
/// indexes of the options the client sent without `iuv`/`nav` (they hold a placeholder
/// notice number until [`Draft::assign`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub position: Position,
    pub missing: Vec<usize>,
}

impl Draft {
    /// Gives the options without a notice number theirs, in order of `missing`.
    pub fn assign(mut self, navs: Vec<NoticeNumber>) -> Position {
        for (i, nav) in self.missing.iter().zip(navs) {
            let o = &mut self.position.options[*i];
            o.iuv = nav.as_str()[1..].to_owned();
            o.nav = nav;
        }
        self.position
    }

    /// The notice numbers the client brought must carry one of the ente's segregation
    /// codes.
    pub fn check_segregation(&self, codes: &[SegregationCode]) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        for (i, o) in self.position.options.iter().enumerate() {
            if self.missing.contains(&i) {
                continue;
            }
            match SegregationCode::of_notice(&o.nav) {
                Some(c) if codes.contains(&c) => {}
                _ => errors.push(
                    format!("paymentOption[{i}].iuv"),
                    "the notice number's segregation code (its 2nd and 3rd digits) is not one of the organization's",
                ),
            }
        }
        errors.finish(())
    }
}

/// Which GPD version a body or answer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V3,
}

/// Largest amount, fee or notification fee accepted, in cents (just under a billion euro).
pub const AMOUNT_MAX: i64 = 99_999_999_999;

/// Longest free text GPD keeps (its column sizes for descriptions and names).
const TEXT_MAX: usize = 140;

/// Parses a v1 `PaymentPositionModel` body for `organization` at `now`, as on create.
pub fn parse_v1(
    body: &Value,
    organization: &OrganizationFiscalCode,
    now: DateTime<Utc>,
) -> Result<Draft, FieldErrors> {
    parse_v1_with(body, organization, now, DateCheck::Create)
}

/// Parses a v3 `PaymentPositionModelV3` body, as on create.
pub fn parse_v3(
    body: &Value,
    organization: &OrganizationFiscalCode,
    now: DateTime<Utc>,
) -> Result<Draft, FieldErrors> {
    parse_v3_with(body, organization, now, DateCheck::Create)
}

/// Parses a v1 `PaymentPositionModel` body with the date rules of `mode` (`Update` for PUT).
pub fn parse_v1_with(
    body: &Value,
    organization: &OrganizationFiscalCode,
    now: DateTime<Utc>,
    mode: DateCheck,
) -> Result<Draft, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(r) = ObjectReader::new(body, "", &mut errors) else {
        return Err(errors);
    };
    let e = &mut errors;
    let iupd = r.parsed("iupd", true, Iupd::parse, e);
    let debtor = debtor(&r, e);
    let head = head(&r, e);
    let switch = required_bool(&r, "switchToExpired", e);
    let validity = date(&r, "validityDate", false, e);

    let mut ctx = Ctx::new(organization, now, validity);
    let mut options = Vec::new();
    for (i, item) in list(&r, "paymentOption", OPTIONS_MAX, "payment options", e)
        .iter()
        .enumerate()
    {
        let path = format!("paymentOption[{i}]");
        let Some(o) = ObjectReader::new(item, &path, e) else {
            options.push(None);
            continue;
        };
        let partial = required_bool(&o, "isPartialPayment", e);
        let due = date(&o, "dueDate", true, e);
        let retention = date(&o, "retentionDate", false, e);
        if let Some(due) = due {
            ctx.dates.push(DateSlot {
                validity: None,
                due,
                retention,
                switch_to_expired: switch.unwrap_or(true),
                due_path: o.path("dueDate"),
                validity_path: o.path("validityDate"),
                retention_path: o.path("retentionDate"),
            });
        }
        let core = core(&o, "paymentOptionMetadata", true, &mut ctx, e);
        options.push(match (core, partial, due) {
            (Some(c), Some(p), Some(d)) => Some((c, p, d, retention)),
            _ => None,
        });
    }
    ctx.check_dates(mode, e);

    let (Some(iupd), Some(debtor), Some(head), Some(switch)) = (iupd, debtor, head, switch) else {
        return Err(errors);
    };
    let Some(options) = options.into_iter().collect::<Option<Vec<_>>>() else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let plan = format!("{}-plan", iupd.as_str());
    let mut missing = Vec::new();
    let options = options
        .into_iter()
        .enumerate()
        .map(|(i, (core, partial, due, retention))| {
            if core.nav.is_none() {
                missing.push(i);
            }
            core.into_option(OptionShape {
                partial,
                plan_id: partial.then(|| plan.clone()),
                option_description: None,
                validity_date: None,
                due_date: due,
                retention_date: retention,
                switch_to_expired: switch,
                debtor: None,
                now,
            })
        })
        .collect();
    let position = head.into_position(PositionShape {
        organization,
        iupd,
        debtor,
        switch_to_expired: switch,
        validity_date: validity,
        options,
        now,
    });
    Ok(Draft { position, missing })
}

/// Parses a v3 `PaymentPositionModelV3` body with the date rules of `mode`.
pub fn parse_v3_with(
    body: &Value,
    organization: &OrganizationFiscalCode,
    now: DateTime<Utc>,
    mode: DateCheck,
) -> Result<Draft, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(r) = ObjectReader::new(body, "", &mut errors) else {
        return Err(errors);
    };
    let e = &mut errors;
    let iupd = r.parsed("iupd", true, Iupd::parse, e);
    let head = head(&r, e);

    let mut ctx = Ctx::new(organization, now, None);
    let mut groups = Vec::new();
    let mut installments_total = 0usize;
    let items = list(&r, "paymentOption", OPTIONS_MAX, "payment options", e);
    for (k, item) in items.iter().enumerate() {
        let path = format!("paymentOption[{k}]");
        let Some(o) = ObjectReader::new(item, &path, e) else {
            groups.push(None);
            continue;
        };
        let description = optional_text(&o, "description", TEXT_MAX, e);
        let validity = date(&o, "validityDate", false, e);
        let retention = date(&o, "retentionDate", false, e);
        let switch = required_bool(&o, "switchToExpired", e);
        let debtor = o.object("debtor", true, e).and_then(|d| debtor(&d, e));
        let mut installments = Vec::new();
        let list = list(&o, "installments", OPTIONS_MAX, "installments", e);
        installments_total += list.len();
        for (j, inst) in list.iter().enumerate() {
            let ipath = format!("{path}.installments[{j}]");
            let Some(ir) = ObjectReader::new(inst, &ipath, e) else {
                installments.push(None);
                continue;
            };
            let due = date(&ir, "dueDate", true, e);
            if let Some(due) = due {
                ctx.dates.push(DateSlot {
                    validity,
                    due,
                    retention,
                    switch_to_expired: switch.unwrap_or(true),
                    due_path: ir.path("dueDate"),
                    validity_path: o.path("validityDate"),
                    retention_path: o.path("retentionDate"),
                });
            }
            let core = core(&ir, "installmentMetadata", false, &mut ctx, e);
            installments.push(core.zip(due));
        }
        let installments = installments.into_iter().collect::<Option<Vec<_>>>();
        groups.push(match (installments, switch, debtor) {
            (Some(i), Some(s), Some(d)) => Some((i, description, validity, retention, s, d)),
            _ => None,
        });
    }
    if installments_total > OPTIONS_MAX {
        e.push(
            "paymentOption",
            format!(
                "must hold at most {OPTIONS_MAX} installments in all (got {installments_total})"
            ),
        );
    }
    ctx.check_dates(mode, e);

    let (Some(iupd), Some(head)) = (iupd, head) else {
        return Err(errors);
    };
    let Some(groups) = groups.into_iter().collect::<Option<Vec<_>>>() else {
        return Err(errors);
    };
    let Some(position_debtor) = groups.first().map(|g| g.5.clone()) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut missing = Vec::new();
    let mut options = Vec::new();
    for (k, (installments, description, validity, retention, switch, debtor)) in
        groups.into_iter().enumerate()
    {
        let plan = installments.len() > 1;
        let own_debtor = (debtor != position_debtor).then_some(debtor);
        for (core, due) in installments {
            if core.nav.is_none() {
                missing.push(options.len());
            }
            options.push(core.into_option(OptionShape {
                partial: plan,
                plan_id: plan.then(|| format!("{}-plan-{k}", iupd.as_str())),
                option_description: description.clone(),
                validity_date: validity,
                due_date: due,
                retention_date: retention,
                switch_to_expired: switch,
                debtor: own_debtor.clone(),
                now,
            }));
        }
    }
    let switch_to_expired = options.iter().all(|o| o.switch_to_expired);
    let position = head.into_position(PositionShape {
        organization,
        iupd,
        debtor: position_debtor,
        switch_to_expired,
        validity_date: None,
        options,
        now,
    });
    Ok(Draft { position, missing })
}

/// The position-level fields v1 and v3 share.
struct Head {
    company_name: String,
    office_name: Option<String>,
    pay_stand_in: bool,
}

fn head(r: &ObjectReader<'_>, e: &mut FieldErrors) -> Option<Head> {
    let company_name = r.string("companyName", true, 1..=TEXT_MAX, e);
    let office_name = optional_text(r, "officeName", TEXT_MAX, e);
    let pay_stand_in = match r.optional("payStandIn") {
        None => Some(true),
        Some(_) => r.boolean("payStandIn", e),
    };
    Some(Head {
        company_name: company_name?,
        office_name,
        pay_stand_in: pay_stand_in?,
    })
}

struct PositionShape<'a> {
    organization: &'a OrganizationFiscalCode,
    iupd: Iupd,
    debtor: Debtor,
    switch_to_expired: bool,
    validity_date: Option<DateTime<Utc>>,
    options: Vec<PaymentOption>,
    now: DateTime<Utc>,
}

impl Head {
    fn into_position(self, s: PositionShape<'_>) -> Position {
        Position {
            id: PositionId::new_at(s.now),
            organization: s.organization.clone(),
            iupd: s.iupd,
            status: PositionStatus::Draft,
            version: 0,
            debtor: s.debtor,
            company_name: self.company_name,
            office_name: self.office_name,
            switch_to_expired: s.switch_to_expired,
            pay_stand_in: self.pay_stand_in,
            validity_date: s.validity_date,
            publish_date: None,
            payment_date: None,
            inserted_date: s.now,
            last_updated_date: s.now,
            options: s.options,
            reissue_of: None,
            reissued_as: None,
        }
    }
}

/// The fields a v1 payment option and a v3 installment share.
struct Core {
    /// `None` when the client sent neither `iuv` nor `nav`.
    nav: Option<NoticeNumber>,
    amount: i64,
    description: String,
    fee: i64,
    notification_fee: i64,
    metadata: Vec<Metadata>,
    transfers: Vec<Transfer>,
}

/// What the caller knows about an option beyond [`Core`].
struct OptionShape {
    partial: bool,
    plan_id: Option<String>,
    option_description: Option<String>,
    validity_date: Option<DateTime<Utc>>,
    due_date: DateTime<Utc>,
    retention_date: Option<DateTime<Utc>>,
    switch_to_expired: bool,
    debtor: Option<Debtor>,
    now: DateTime<Utc>,
}

impl Core {
    fn into_option(self, s: OptionShape) -> PaymentOption {
        let nav = self.nav.unwrap_or_else(placeholder_notice);
        PaymentOption {
            iuv: nav.as_str()[1..].to_owned(),
            nav,
            amount: self.amount,
            description: self.description,
            is_partial_payment: s.partial,
            plan_id: s.plan_id,
            option_description: s.option_description,
            validity_date: s.validity_date,
            due_date: s.due_date,
            retention_date: s.retention_date,
            switch_to_expired: s.switch_to_expired,
            fee: self.fee,
            notification_fee: self.notification_fee,
            debtor: s.debtor,
            status: OptionStatus::PoUnpaid,
            payment: None,
            reporting_date: None,
            flow_reporting_id: None,
            metadata: self.metadata,
            transfers: self.transfers,
            pre_notice: None,
            inserted_date: s.now,
            last_updated_date: s.now,
        }
    }
}

/// The notice number an option holds until [`Draft::assign`] gives it its own.
fn placeholder_notice() -> NoticeNumber {
    #[expect(
        clippy::expect_used,
        reason = "segregation 0 and base 0 are within build_aux3's ranges"
    )]
    NoticeNumber::build_aux3(0, 0).expect("0 and 0 are in range")
}

/// State shared across one body: the owner, the clock, the notice numbers seen so far and
/// the dates to check once every option is read.
struct Ctx<'a> {
    organization: &'a OrganizationFiscalCode,
    now: DateTime<Utc>,
    validity: Option<DateTime<Utc>>,
    notices: Vec<(String, String)>,
    dates: Vec<DateSlot>,
}

/// The dates of one option (v1) or installment (v3), and where each sits in the body.
struct DateSlot {
    validity: Option<DateTime<Utc>>,
    due: DateTime<Utc>,
    retention: Option<DateTime<Utc>>,
    switch_to_expired: bool,
    due_path: String,
    validity_path: String,
    retention_path: String,
}

impl<'a> Ctx<'a> {
    fn new(
        organization: &'a OrganizationFiscalCode,
        now: DateTime<Utc>,
        validity: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            organization,
            now,
            validity,
            notices: Vec::new(),
            dates: Vec::new(),
        }
    }

    /// Runs [`check_dates`] over the dates that parsed (even when other fields did not, so
    /// every fault is listed at once) and renames its fields to where they sit in the body.
    fn check_dates(&self, mode: DateCheck, e: &mut FieldErrors) {
        let Ok(iupd) = Iupd::parse("dates") else {
            return;
        };
        let debtor = Debtor {
            code: DebtorCode::Company(self.organization.clone()),
            full_name: String::new(),
            street_name: None,
            civic_number: None,
            postal_code: None,
            city: None,
            province: None,
            region: None,
            country: None,
            email: None,
            phone: None,
        };
        let options = self
            .dates
            .iter()
            .map(|d| {
                Core {
                    nav: None,
                    amount: 0,
                    description: String::new(),
                    fee: 0,
                    notification_fee: 0,
                    metadata: Vec::new(),
                    transfers: Vec::new(),
                }
                .into_option(OptionShape {
                    partial: false,
                    plan_id: None,
                    option_description: None,
                    validity_date: d.validity,
                    due_date: d.due,
                    retention_date: d.retention,
                    switch_to_expired: d.switch_to_expired,
                    debtor: None,
                    now: self.now,
                })
            })
            .collect();
        let probe = Head {
            company_name: String::new(),
            office_name: None,
            pay_stand_in: true,
        }
        .into_position(PositionShape {
            organization: self.organization,
            iupd,
            debtor,
            switch_to_expired: false,
            validity_date: self.validity,
            options,
            now: self.now,
        });
        let Err(found) = check_dates(&probe, self.now, mode) else {
            return;
        };
        let mut seen: Vec<(String, String)> = Vec::new();
        for f in found.0 {
            let name = self.body_path(&f.name).unwrap_or(f.name);
            if !seen.iter().any(|(n, r)| *n == name && *r == f.reason) {
                seen.push((name.clone(), f.reason.clone()));
                e.push(name, f.reason);
            }
        }
    }

    /// `paymentOption[i].field` of the probe → the field's path in the body.
    fn body_path(&self, probe_name: &str) -> Option<String> {
        let rest = probe_name.strip_prefix("paymentOption[")?;
        let (index, field) = rest.split_once("].")?;
        let slot = self.dates.get(index.parse::<usize>().ok()?)?;
        Some(match field {
            "dueDate" => slot.due_path.clone(),
            "validityDate" => slot.validity_path.clone(),
            "retentionDate" => slot.retention_path.clone(),
            _ => return None,
        })
    }

    /// Reads `iuv` and `nav`: `Some(None)` when both are absent, `None` on a fault.
    fn notice(
        &mut self,
        r: &ObjectReader<'_>,
        e: &mut FieldErrors,
    ) -> Option<Option<NoticeNumber>> {
        let iuv = match r.optional("iuv") {
            None => Some(None),
            Some(v) => match v.as_str() {
                None => {
                    e.push(r.path("iuv"), "must be a string");
                    None
                }
                Some(s) if s.len() != 17 || !s.bytes().all(|b| b.is_ascii_digit()) => {
                    e.push(r.path("iuv"), "must be exactly 17 digits");
                    None
                }
                Some(s) => match NoticeNumber::parse(&format!("3{s}")) {
                    Ok(n) => Some(Some(n)),
                    Err(_) => {
                        e.push(
                            r.path("iuv"),
                            "is not a valid IUV for aux digit 3: its last 2 digits must be \
                             \"3\" followed by its first 15 digits, modulo 93",
                        );
                        None
                    }
                },
            },
        };
        let nav = match r.optional("nav") {
            None => Some(None),
            Some(_) => match r.parsed("nav", false, NoticeNumber::parse, e) {
                None => None,
                Some(n) if n.aux_digit() != 3 => {
                    e.push(
                        r.path("nav"),
                        "must have aux digit 3 (SACI 3.2.1 allows no other)",
                    );
                    None
                }
                Some(n) => Some(Some(n)),
            },
        };
        let (iuv, nav) = (iuv?, nav?);
        let (found, field) = match (iuv, nav) {
            (Some(i), Some(n)) if i != n => {
                e.push(r.path("nav"), "must be the aux digit 3 followed by the iuv");
                return None;
            }
            (Some(i), _) => (i, "iuv"),
            (None, Some(n)) => (n, "nav"),
            (None, None) => return Some(None),
        };
        let iuv = found.as_str()[1..].to_owned();
        if let Some((_, other)) = self.notices.iter().find(|(i, _)| *i == iuv) {
            e.push(
                r.path(field),
                format!(
                    "repeats the notice number of {other}: each must be unique in the position"
                ),
            );
            return None;
        }
        self.notices.push((iuv, r.path.clone()));
        Some(Some(found))
    }
}

/// Reads what a v1 option and a v3 installment share: notice number, amount, description,
/// fees, metadata and transfers, with the sum check.
fn core(
    r: &ObjectReader<'_>,
    metadata_name: &str,
    metadata_value_required: bool,
    ctx: &mut Ctx<'_>,
    e: &mut FieldErrors,
) -> Option<Core> {
    let nav = ctx.notice(r, e);
    let amount = r.integer("amount", true, 1..=AMOUNT_MAX, e);
    let description = r.string("description", true, 1..=TEXT_MAX, e);
    let fee = r.integer("fee", false, 0..=AMOUNT_MAX, e);
    let notification_fee = r.integer("notificationFee", false, 0..=AMOUNT_MAX, e);
    let metadata = metadata(r, metadata_name, metadata_value_required, e);

    let items = list(r, "transfer", TRANSFERS_MAX, "transfers", e);
    let mut transfers = Vec::new();
    let mut amounts = Vec::new();
    let mut ids: Vec<(u8, usize)> = Vec::new();
    for (t, item) in items.iter().enumerate() {
        let path = format!("{}[{t}]", r.path("transfer"));
        let read = transfer(item, &path, ctx.organization, ctx.now, e);
        amounts.push(read.amount);
        if let Some(id) = read.id {
            match ids.iter().find(|(i, _)| *i == id) {
                // With more than five transfers a repeated id is certain; the count says it.
                Some((_, other)) if items.len() <= TRANSFERS_MAX => e.push(
                    format!("{path}.idTransfer"),
                    format!("repeats the idTransfer of transfer[{other}]"),
                ),
                Some(_) => {}
                None => ids.push((id, t)),
            }
        }
        transfers.push(read.transfer);
    }
    let amounts: Option<Vec<i64>> = amounts.into_iter().collect();
    if let (Some(total), Some(parts)) = (amount, amounts)
        && !parts.is_empty()
    {
        let sum: i64 = parts.iter().sum();
        if sum != total {
            e.push(
                r.path("amount"),
                format!(
                    "must equal the sum of its transfers' amounts: the amount is {total} \
                     cents, the transfers add up to {sum}"
                ),
            );
        }
    }
    let transfers: Option<Vec<Transfer>> = transfers.into_iter().collect();
    Some(Core {
        nav: nav?,
        amount: amount?,
        description: description?,
        fee: fee.unwrap_or(0),
        notification_fee: notification_fee.unwrap_or(0),
        metadata: metadata?,
        transfers: transfers?,
    })
}

/// What reading one transfer gave: its amount and id on their own (for the sum and
/// uniqueness checks, which run even when another field is at fault), and the transfer.
struct TransferRead {
    amount: Option<i64>,
    id: Option<u8>,
    transfer: Option<Transfer>,
}

const TRANSFER_IDS: [&str; TRANSFERS_MAX] = ["1", "2", "3", "4", "5"];

fn transfer(
    item: &Value,
    path: &str,
    owner: &OrganizationFiscalCode,
    now: DateTime<Utc>,
    e: &mut FieldErrors,
) -> TransferRead {
    let Some(r) = ObjectReader::new(item, path, e) else {
        return TransferRead {
            amount: None,
            id: None,
            transfer: None,
        };
    };
    let id = r
        .required("idTransfer", e)
        .and_then(|_| r.one_of("idTransfer", &TRANSFER_IDS, e))
        .and_then(|s| s.parse::<u8>().ok());
    let amount = r.integer("amount", true, 1..=AMOUNT_MAX, e);
    let organization = match r.optional("organizationFiscalCode") {
        None => Some(owner.clone()),
        Some(_) => r.parsed(
            "organizationFiscalCode",
            false,
            OrganizationFiscalCode::parse,
            e,
        ),
    };
    let company_name = optional_text(&r, "companyName", TEXT_MAX, e);
    let remittance = r.string("remittanceInformation", true, 1..=TEXT_MAX, e);
    let category = r.parsed("category", true, TaxonomyCode::parse, e);
    let metadata = metadata(&r, "transferMetadata", true, e);

    let iban_given = r.optional("iban").is_some();
    let postal_given = r
        .optional("postalIban")
        .is_some_and(|v| v.as_str() != Some(""));
    let stamp_given = r.optional("stamp").is_some();
    let iban = r.parsed("iban", false, Iban::parse, e);
    let postal_iban = if postal_given {
        r.parsed("postalIban", false, Iban::parse, e)
    } else {
        None
    };
    let stamp = r.object("stamp", false, e).and_then(|s| stamp(&s, e));
    let destination = match (iban_given || postal_given, stamp_given) {
        (true, true) => {
            e.push(
                path,
                "must carry either an account (iban and/or postalIban) or a stamp, not both",
            );
            None
        }
        (false, false) => {
            e.push(
                path,
                "must carry an account (iban and/or postalIban) or a stamp",
            );
            None
        }
        (true, false) => {
            let iban_ok = !iban_given || iban.is_some();
            let postal_ok = !postal_given || postal_iban.is_some();
            (iban_ok && postal_ok).then_some(Destination::Account { iban, postal_iban })
        }
        (false, true) => stamp.map(Destination::Stamp),
    };
    let transfer = (|| {
        Some(Transfer {
            id: id?,
            organization: organization?,
            company_name,
            amount: amount?,
            remittance_information: remittance?,
            category: category?,
            destination: destination?,
            metadata: metadata?,
            status: TransferStatus::TUnreported,
            inserted_date: now,
            last_updated_date: now,
        })
    })();
    TransferRead {
        amount,
        id,
        transfer,
    }
}

fn stamp(r: &ObjectReader<'_>, e: &mut FieldErrors) -> Option<Stamp> {
    let hash = r.string("hashDocument", true, 1..=72, e);
    let hash = hash.filter(|h| {
        let ok = h
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        if !ok {
            e.push(
                r.path("hashDocument"),
                "must be base64 (letters, digits, '+', '/' and '=' padding)",
            );
        }
        ok
    });
    let kind = r
        .required("stampType", e)
        .and_then(|_| r.one_of("stampType", &["01"], e));
    let province = r.required("provincialResidence", e).and_then(|_| {
        let p = r.string("provincialResidence", true, 2..=2, e)?;
        if p.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(p)
        } else {
            e.push(
                r.path("provincialResidence"),
                "must be two upper-case letters (a province code such as RM)",
            );
            None
        }
    });
    Some(Stamp {
        hash_document: hash?,
        stamp_type: kind?.to_owned(),
        provincial_residence: province?,
    })
}

/// A metadata array: at most [`METADATA_MAX`] pairs, keys unique, key 1..=140 and value
/// 0..=140 characters. v3's `installmentMetadata` makes the value optional (`""` when absent).
fn metadata(
    r: &ObjectReader<'_>,
    name: &str,
    value_required: bool,
    e: &mut FieldErrors,
) -> Option<Vec<Metadata>> {
    let Some(v) = r.optional(name) else {
        return Some(Vec::new());
    };
    let path = r.path(name);
    let Some(items) = v.as_array() else {
        e.push(path, "must be an array");
        return None;
    };
    let mut ok = true;
    if items.len() > METADATA_MAX {
        e.push(
            path.clone(),
            format!(
                "must hold at most {METADATA_MAX} key/value pairs (got {})",
                items.len()
            ),
        );
        ok = false;
    }
    let mut out: Vec<Metadata> = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let Some(m) = ObjectReader::new(item, &format!("{path}[{j}]"), e) else {
            ok = false;
            continue;
        };
        let key = m.string("key", true, 1..=TEXT_MAX, e);
        let value = if value_required {
            m.string("value", true, 0..=TEXT_MAX, e)
        } else {
            match m.optional("value") {
                None => Some(String::new()),
                Some(_) => m.string("value", false, 0..=TEXT_MAX, e),
            }
        };
        match (key, value) {
            (Some(key), Some(value)) => {
                if let Some(k) = out.iter().position(|x| x.key == key) {
                    e.push(m.path("key"), format!("repeats the key of {path}[{k}]"));
                    ok = false;
                } else {
                    out.push(Metadata { key, value });
                }
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// The debtor fields: top level in v1, the `debtor` object of an option in v3.
fn debtor(r: &ObjectReader<'_>, e: &mut FieldErrors) -> Option<Debtor> {
    let kind = r
        .required("type", e)
        .and_then(|_| r.one_of("type", &["F", "G"], e));
    let code = match (kind, r.required("fiscalCode", e)) {
        (_, None) => None,
        (_, Some(v)) if !v.is_string() => {
            e.push(r.path("fiscalCode"), "must be a string");
            None
        }
        (None, Some(_)) => None,
        (Some("F"), Some(v)) => match FiscalCode::parse(v.as_str().unwrap_or_default()) {
            Ok(f) => Some(DebtorCode::Person(f)),
            Err(err) => {
                e.push(
                    r.path("fiscalCode"),
                    format!(
                        "a natural person (type F) needs a personal fiscal code: {}",
                        err.reason
                    ),
                );
                None
            }
        },
        (Some(_), Some(v)) => match OrganizationFiscalCode::parse(v.as_str().unwrap_or_default()) {
            Ok(c) => Some(DebtorCode::Company(c)),
            Err(err) => {
                e.push(
                    r.path("fiscalCode"),
                    format!(
                        "a legal person (type G) needs an organization fiscal code: {}",
                        err.reason
                    ),
                );
                None
            }
        },
    };
    let full_name = r.string("fullName", true, 1..=TEXT_MAX, e);
    let street_name = optional_text(r, "streetName", TEXT_MAX, e);
    let civic_number = optional_text(r, "civicNumber", TEXT_MAX, e);
    let postal_code = optional_text(r, "postalCode", TEXT_MAX, e);
    let city = optional_text(r, "city", TEXT_MAX, e);
    let province = optional_text(r, "province", TEXT_MAX, e);
    let region = optional_text(r, "region", TEXT_MAX, e);
    let country = checked_text(r, "country", e, |s| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()))
            .then_some(())
            .ok_or("must be two upper-case letters (ISO 3166-1 alpha-2, such as IT)")
    });
    let email = checked_text(r, "email", e, |s| {
        Email::parse(s)
            .map(|_| ())
            .map_err(|_| "must be a valid e-mail address")
    })
    .and_then(|s| Email::parse(&s).ok().map(|m| m.as_str().to_owned()));
    let phone = checked_text(r, "phone", e, |s| {
        let ok = s.chars().count() <= 20
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b' ')
            && s.bytes().any(|b| b.is_ascii_digit());
        ok.then_some(())
            .ok_or("must be at most 20 characters of digits, '+' and spaces")
    });
    Some(Debtor {
        code: code?,
        full_name: full_name?,
        street_name,
        civic_number,
        postal_code,
        city,
        province,
        region,
        country,
        email,
        phone,
    })
}

// Optional fields come back `None` both when absent and when at fault: a fault is in the
// errors, and nothing is built while there are any.

/// An optional text of 1..=`max` characters; `""` counts as absent.
fn optional_text(
    r: &ObjectReader<'_>,
    name: &str,
    max: usize,
    e: &mut FieldErrors,
) -> Option<String> {
    if r.optional(name)?.as_str() == Some("") {
        return None;
    }
    r.string(name, false, 1..=max, e)
}

/// An optional text (`""` counts as absent) that must pass `check`.
fn checked_text(
    r: &ObjectReader<'_>,
    name: &str,
    e: &mut FieldErrors,
    check: impl Fn(&str) -> Result<(), &'static str>,
) -> Option<String> {
    let s = optional_text(r, name, usize::MAX, e)?;
    match check(&s) {
        Ok(()) => Some(s),
        Err(reason) => {
            e.push(r.path(name), reason);
            None
        }
    }
}

/// A required boolean.
fn required_bool(r: &ObjectReader<'_>, name: &str, e: &mut FieldErrors) -> Option<bool> {
    r.required(name, e)?;
    r.boolean(name, e)
}

/// A list of 1..=`max` items: absent, not an array or empty is one fault, too long another;
/// the items are returned to be read either way.
fn list<'a>(
    r: &ObjectReader<'a>,
    name: &str,
    max: usize,
    what: &str,
    e: &mut FieldErrors,
) -> &'a [Value] {
    let items = match r.optional(name) {
        None => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => {
            e.push(r.path(name), "must be an array");
            return &[];
        }
    };
    if items.is_empty() {
        let why = if name == "paymentOption" {
            ": a position without one can never be paid"
        } else {
            ""
        };
        e.push(r.path(name), format!("must list 1 to {max} {what}{why}"));
    } else if items.len() > max {
        e.push(
            r.path(name),
            format!("must list at most {max} {what} (got {})", items.len()),
        );
    }
    items
}

/// A date-time: RFC 3339 with an offset, or GPD's zone-less form read as UTC.
fn date(
    r: &ObjectReader<'_>,
    name: &str,
    required: bool,
    e: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let v = if required {
        r.required(name, e)?
    } else {
        r.optional(name)?
    };
    let parsed = v.as_str().and_then(parse_date);
    if parsed.is_none() {
        e.push(
            r.path(name),
            "must be a date-time such as 2026-12-31T23:59:59Z",
        );
    }
    parsed
}

/// Parses `2026-12-31T23:59:59Z`, `…+01:00`, with or without fractional seconds, and GPD's
/// LocalDateTime form `2026-12-31T23:59:59[.SSS]` (as UTC).
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|d| d.and_utc())
}

/// A date as GPD's responses carry it: RFC 3339, UTC, milliseconds.
fn stamp_time(d: DateTime<Utc>) -> Value {
    Value::String(d.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Inserts `value` under `key` when there is one (responses omit absent fields).
fn put<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), v.into());
    }
}

fn put_date(m: &mut Map<String, Value>, key: &str, value: Option<DateTime<Utc>>) {
    put(m, key, value.map(stamp_time));
}

/// The debtor fields, flat: v1 puts them on the position, v3 in each option's `debtor`.
fn debtor_fields(m: &mut Map<String, Value>, d: &Debtor) {
    m.insert("type".into(), d.code.kind().as_str().into());
    m.insert("fiscalCode".into(), d.code.as_str().into());
    m.insert("fullName".into(), d.full_name.as_str().into());
    put(m, "streetName", d.street_name.clone());
    put(m, "civicNumber", d.civic_number.clone());
    put(m, "postalCode", d.postal_code.clone());
    put(m, "city", d.city.clone());
    put(m, "province", d.province.clone());
    put(m, "region", d.region.clone());
    put(m, "country", d.country.clone());
    put(m, "email", d.email.clone());
    put(m, "phone", d.phone.clone());
}

fn metadata_list(list: &[Metadata]) -> Value {
    list.iter()
        .map(|m| json!({ "key": m.key, "value": m.value }))
        .collect()
}

/// A `TransferModelResponse` (the same in v1 and v3).
fn render_transfer(t: &Transfer) -> Value {
    let mut m = Map::new();
    m.insert(
        "organizationFiscalCode".into(),
        t.organization.as_str().into(),
    );
    put(&mut m, "companyName", t.company_name.clone());
    m.insert("idTransfer".into(), t.id.to_string().into());
    m.insert("amount".into(), t.amount.into());
    m.insert(
        "remittanceInformation".into(),
        t.remittance_information.as_str().into(),
    );
    m.insert("category".into(), t.category.as_str().into());
    match &t.destination {
        Destination::Account { iban, postal_iban } => {
            put(&mut m, "iban", iban.as_ref().map(|i| i.as_str().to_owned()));
            put(
                &mut m,
                "postalIban",
                postal_iban.as_ref().map(|i| i.as_str().to_owned()),
            );
        }
        Destination::Stamp(s) => {
            m.insert(
                "stamp".into(),
                json!({
                    "hashDocument": s.hash_document,
                    "stampType": s.stamp_type,
                    "provincialResidence": s.provincial_residence,
                }),
            );
        }
    }
    m.insert("insertedDate".into(), stamp_time(t.inserted_date));
    m.insert("status".into(), t.status.as_str().into());
    m.insert("lastUpdatedDate".into(), stamp_time(t.last_updated_date));
    m.insert("transferMetadata".into(), metadata_list(&t.metadata));
    Value::Object(m)
}

/// What v1 options and v3 installments share in a response: notice, amount, description,
/// due date, what the payment and the reporting recorded, status, metadata and transfers.
fn option_common(
    m: &mut Map<String, Value>,
    p: &Position,
    o: &PaymentOption,
    status: &str,
    metadata_key: &str,
) {
    m.insert("nav".into(), o.nav.as_str().into());
    m.insert("iuv".into(), o.iuv.as_str().into());
    m.insert(
        "organizationFiscalCode".into(),
        p.organization.as_str().into(),
    );
    m.insert("amount".into(), o.amount.into());
    m.insert("description".into(), o.description.as_str().into());
    m.insert("dueDate".into(), stamp_time(o.due_date));
    if let Some(pay) = &o.payment {
        m.insert("paymentDate".into(), stamp_time(pay.payment_date));
        put(m, "paymentMethod", pay.payment_method.clone());
        put(m, "pspCompany", pay.psp_company.clone());
        put(m, "idReceipt", pay.receipt_id.clone());
    }
    let fee = o.payment.as_ref().and_then(|pay| pay.fee).unwrap_or(o.fee);
    m.insert("fee".into(), fee.into());
    m.insert("notificationFee".into(), o.notification_fee.into());
    put_date(m, "reportingDate", o.reporting_date);
    put(m, "idFlowReporting", o.flow_reporting_id.clone());
    m.insert("status".into(), status.into());
    m.insert("lastUpdatedDate".into(), stamp_time(o.last_updated_date));
    m.insert(metadata_key.into(), metadata_list(&o.metadata));
    m.insert(
        "transfer".into(),
        o.transfers.iter().map(render_transfer).collect(),
    );
}

/// One option as GPD v1 returns it (`PaymentOptionModelResponse`), as the "get payment
/// option by IUV/NAV" answer; `Null` when there is no option at `index`.
pub fn render_option_v1(p: &Position, index: usize) -> Value {
    let Some(o) = p.options.get(index) else {
        return Value::Null;
    };
    let mut m = Map::new();
    option_common(&mut m, p, o, o.status.as_str(), "paymentOptionMetadata");
    m.insert("isPartialPayment".into(), o.is_partial_payment.into());
    put_date(&mut m, "retentionDate", o.retention_date);
    m.insert("insertedDate".into(), stamp_time(o.inserted_date));
    Value::Object(m)
}

/// A position as GPD v1 returns it (`PaymentPositionModel` on create/update,
/// `PaymentPositionModelBaseResponse` in lists and reads): the union of the two.
pub fn render_v1(p: &Position) -> Value {
    let mut m = Map::new();
    m.insert("iupd".into(), p.iupd.as_str().into());
    m.insert(
        "organizationFiscalCode".into(),
        p.organization.as_str().into(),
    );
    debtor_fields(&mut m, &p.debtor);
    m.insert("companyName".into(), p.company_name.as_str().into());
    put(&mut m, "officeName", p.office_name.clone());
    m.insert("switchToExpired".into(), p.switch_to_expired.into());
    m.insert("payStandIn".into(), p.pay_stand_in.into());
    m.insert("insertedDate".into(), stamp_time(p.inserted_date));
    put_date(&mut m, "publishDate", p.publish_date);
    put_date(&mut m, "validityDate", p.validity_date);
    put_date(&mut m, "paymentDate", p.payment_date);
    m.insert("status".into(), p.status.as_str().into());
    m.insert("lastUpdatedDate".into(), stamp_time(p.last_updated_date));
    m.insert(
        "paymentOption".into(),
        (0..p.options.len())
            .map(|i| render_option_v1(p, i))
            .collect(),
    );
    Value::Object(m)
}

/// v3's installment status: an unpaid installment of an INVALID or EXPIRED position is
/// UNPAYABLE.
fn installment_status(p: &Position, o: &PaymentOption) -> &'static str {
    match o.status {
        OptionStatus::PoUnpaid
            if matches!(p.status, PositionStatus::Invalid | PositionStatus::Expired) =>
        {
            "UNPAYABLE"
        }
        OptionStatus::PoUnpaid => "UNPAID",
        OptionStatus::PoPaid => "PAID",
        OptionStatus::PoPartiallyReported => "PARTIALLY_REPORTED",
        OptionStatus::PoReported => "REPORTED",
    }
}

/// A position as GPD v3 returns it (`PaymentPositionModelResponseV3`, and the
/// `PaymentPositionModelV3` create/update answer): options grouped back into v3 payment
/// options by plan, installments in due-date order.
pub fn render_v3(p: &Position) -> Value {
    let mut groups: Vec<(&str, Vec<&PaymentOption>)> = Vec::new();
    for o in &p.options {
        match groups.iter_mut().find(|(k, _)| *k == o.plan_key()) {
            Some((_, g)) => g.push(o),
            None => groups.push((o.plan_key(), vec![o])),
        }
    }
    let options: Vec<Value> = groups
        .into_iter()
        .map(|(_, mut g)| {
            // A stable sort keeps the stored order of installments due the same day.
            g.sort_by_key(|o| o.due_date);
            let first = g[0];
            let mut m = Map::new();
            put(&mut m, "description", first.option_description.clone());
            put_date(&mut m, "validityDate", first.validity_date);
            put_date(&mut m, "retentionDate", first.retention_date);
            m.insert("switchToExpired".into(), first.switch_to_expired.into());
            m.insert("insertedDate".into(), stamp_time(first.inserted_date));
            let mut d = Map::new();
            debtor_fields(&mut d, p.debtor_of(first));
            m.insert("debtor".into(), Value::Object(d));
            let installments = g
                .iter()
                .map(|o| {
                    let mut i = Map::new();
                    option_common(
                        &mut i,
                        p,
                        o,
                        installment_status(p, o),
                        "installmentMetadata",
                    );
                    Value::Object(i)
                })
                .collect();
            m.insert("installments".into(), installments);
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("iupd".into(), p.iupd.as_str().into());
    m.insert(
        "organizationFiscalCode".into(),
        p.organization.as_str().into(),
    );
    m.insert("companyName".into(), p.company_name.as_str().into());
    put(&mut m, "officeName", p.office_name.clone());
    m.insert("payStandIn".into(), p.pay_stand_in.into());
    m.insert("insertedDate".into(), stamp_time(p.inserted_date));
    put_date(&mut m, "publishDate", p.publish_date);
    put_date(&mut m, "paymentDate", p.payment_date);
    m.insert("status".into(), p.status.v3().into());
    m.insert("lastUpdatedDate".into(), stamp_time(p.last_updated_date));
    m.insert("paymentOption".into(), Value::Array(options));
    Value::Object(m)
}
