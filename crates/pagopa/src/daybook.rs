//! Planning of one simulated day of the pagoPA node: from the receipts paid that day, the
//! reporting flows the PSPs publish, the treasury journals that show their cumulative credit
//! transfers, and a chosen set of anomalies injected into them. Pure and deterministic: the
//! same input and seed give the same output; randomness comes from an internal SplitMix64.
//!
//! Rules:
//! - **Flows**: one per (beneficiary ente, PSP, IBAN) of the transfers: each transfer's line
//!   goes to the flow of its own beneficiary and IBAN, whose receiver is that beneficiary (not
//!   the payment's `ente`). Lines are ordered by payment time, IUV and transfer index; the
//!   line date is the payment's date in Italy (CET/CEST).
//! - **Settlement**: the PSP pays each flow with one SEPA credit transfer executed on the
//!   next TARGET2 business day after the node day ([`regulation_date`]: not Saturday,
//!   Sunday, 1 January, Good Friday, Easter Monday, 1 May, 25 or 26 December). That date is
//!   `dataRegolamento`, the date in the flow id, and the journal's date.
//! - **Flow ids**: [`fdr::flow_id`]`(regulation date, PSP id, n)` with
//!   `n = <node day YYMMDD><sequence 3 digits>`, so node days that settle on the same date
//!   (Friday to Sunday) never collide; PSP ids longer than 15 characters do not fit in 35.
//! - **Sender**: type `B` with the PSP's BIC when it has one, else `G` with the PSP id.
//! - **Journals**: an OPI giornale di cassa is the document of one ente at one treasury bank,
//!   so there is one per (beneficiary ente, ABI of the IBAN), with one `conto_evidenza` per
//!   IBAN (its BBAN; the IBAN in the description), for every IBAN that received a transfer
//!   that day even when no movement lands there. Each credit is a `SOSPESO ENTRATA` by SEPA
//!   credit transfer from the PSP, for the flow total, with the cumulative remittance
//!   `/PUR/LGPE-RIVERSAMENTO/URI/<flow id>` wrapped in bank noise. File names:
//!   [`flow_file_name`] and [`journal_file_name`].
//! - **Anomalies** (at most one of each, each on a distinct target, recorded in
//!   [`DayOutput::injected`]); headers stay consistent with their lines:
//!   `code9` adds a line with outcome 9 for an IUV without a receipt (the first
//!   [`Payable`] whose ente has a flow, else an invented IUV in a random flow); `revoked` turns
//!   one paid line into outcome 3; `duplicate` repeats one paid line right after itself;
//!   `unreported` leaves one receipt (all its transfers) out of every flow; `no-movement`
//!   credits one flow nowhere; `amount` credits another flow a total that differs from its
//!   header; `stray` adds a credit that names no flow.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::fdr::text::euro;
use crate::fdr::{self, Flow, FlowError, FlowLine, OutcomeCode, Receiver, Sender, SenderKind};
use crate::opi::{
    self, Account, DocumentType, ExecutionType, Header, Journal, JournalError, Movement,
    MovementKind, OperationType, Party, StampDuty,
};

/// The PSP that collected a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Psp {
    /// The PSP id of the Catalogo Dati Informativi, `[A-Za-z0-9_-]{1,15}` here.
    pub id: String,
    pub name: String,
    pub bic: Option<String>,
}

/// One transfer of a paid receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidTransfer {
    /// 1..5.
    pub index: u8,
    pub amount_cents: i64,
    /// Fiscal code of the beneficiary ente, `[A-Z0-9]{11,16}`.
    pub beneficiary: String,
    /// IBAN of accredit, upper-case letters and digits.
    pub iban: String,
}

/// A receipt the node delivered that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paid {
    pub iuv: String,
    /// The receipt id, which the flow reports as the IUR.
    pub receipt_id: String,
    /// Fiscal code of the ente the payment was made to (the transfers may go elsewhere).
    pub ente: String,
    pub transfers: Vec<PaidTransfer>,
    pub psp: Psp,
    pub paid_at: DateTime<Utc>,
}

/// A debt position that could be paid but has no receipt: the `code9` line's candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payable {
    pub iuv: String,
    /// Fiscal code of the ente the position belongs to.
    pub ente: String,
    /// The amount to report; a random one when absent.
    pub amount_cents: Option<i64>,
}

/// What the treasury knows of an ente (the journal's header). [`EnteProfile::derived`]
/// invents stable, well-formed values from the fiscal code for enti not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnteProfile {
    pub fiscal_code: String,
    pub name: String,
    /// `[A-Z0-9]{6}`.
    pub ipa_code: String,
    /// `[0-9]{9,15}`.
    pub istat_code: String,
    /// `A2A-[0-9]{8}`.
    pub a2a_code: String,
    /// The treasury's code for the ente.
    pub bank_code: String,
}

impl EnteProfile {
    pub fn derived(fiscal_code: &str) -> Self {
        let h = fnv1a(fiscal_code.as_bytes());
        const B36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let ipa_code = (0..6)
            .map(|i| char::from(B36[((h >> (i * 6)) % 36) as usize]))
            .collect();
        let h2 = fnv1a(&h.to_le_bytes());
        Self {
            fiscal_code: fiscal_code.to_owned(),
            name: format!("Ente {fiscal_code}"),
            ipa_code,
            istat_code: format!("{:09}", h2 % 1_000_000_000),
            a2a_code: format!("A2A-{:08}", (h2 >> 32) % 100_000_000),
            bank_code: format!("{:07}", (h >> 40) % 10_000_000),
        }
    }
}

/// The anomalies to inject; see the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomalies {
    pub code9: bool,
    pub amount: bool,
    pub duplicate: bool,
    pub unreported: bool,
    pub no_movement: bool,
    pub stray: bool,
    pub revoked: bool,
}

impl Anomalies {
    pub fn all() -> Self {
        let mut a = Self::default();
        for class in AnomalyClass::ALL {
            a.set(class);
        }
        a
    }

    pub fn only(class: AnomalyClass) -> Self {
        let mut a = Self::default();
        a.set(class);
        a
    }

    pub fn set(&mut self, class: AnomalyClass) {
        *self.slot(class) = true;
    }

    pub fn has(&self, class: AnomalyClass) -> bool {
        let mut copy = *self;
        *copy.slot(class)
    }

    /// The classes switched on, in [`AnomalyClass::ALL`] order.
    pub fn classes(&self) -> Vec<AnomalyClass> {
        AnomalyClass::ALL
            .into_iter()
            .filter(|&c| self.has(c))
            .collect()
    }

    fn slot(&mut self, class: AnomalyClass) -> &mut bool {
        match class {
            AnomalyClass::Code9 => &mut self.code9,
            AnomalyClass::Amount => &mut self.amount,
            AnomalyClass::Duplicate => &mut self.duplicate,
            AnomalyClass::Unreported => &mut self.unreported,
            AnomalyClass::NoMovement => &mut self.no_movement,
            AnomalyClass::Stray => &mut self.stray,
            AnomalyClass::Revoked => &mut self.revoked,
        }
    }
}

/// The seven anomaly classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AnomalyClass {
    Code9,
    Amount,
    Duplicate,
    Unreported,
    NoMovement,
    Stray,
    Revoked,
}

impl AnomalyClass {
    pub const ALL: [AnomalyClass; 7] = [
        Self::Code9,
        Self::Amount,
        Self::Duplicate,
        Self::Unreported,
        Self::NoMovement,
        Self::Stray,
        Self::Revoked,
    ];

    /// The name [`parse_anomalies`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Code9 => "code9",
            Self::Amount => "amount",
            Self::Duplicate => "duplicate",
            Self::Unreported => "unreported",
            Self::NoMovement => "no-movement",
            Self::Stray => "stray",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for AnomalyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads a comma-separated list of anomaly names (`code9,amount,duplicate,unreported,
/// no-movement,stray,revoked`; spaces around names are ignored, an empty string is none).
pub fn parse_anomalies(list: &str) -> Result<Anomalies, String> {
    let mut anomalies = Anomalies::default();
    if list.trim().is_empty() {
        return Ok(anomalies);
    }
    for item in list.split(',') {
        let name = item.trim();
        let class = AnomalyClass::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = AnomalyClass::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown anomaly {name:?}; expected a comma-separated list of {}",
                    known.join(", ")
                )
            })?;
        anomalies.set(class);
    }
    Ok(anomalies)
}

/// One injected anomaly, as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedAnomaly {
    pub class: AnomalyClass,
    /// What was done, for people.
    pub detail: String,
    /// The flow concerned, if any.
    pub flow_id: Option<String>,
    /// The IUV concerned, if any.
    pub iuv: Option<String>,
}

/// Everything the plan of a day depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayInput {
    /// The node's operating day.
    pub day: NaiveDate,
    pub payments: Vec<Paid>,
    pub anomalies: Anomalies,
    pub seed: u64,
    /// Candidates for the `code9` line.
    pub payable: Vec<Payable>,
    /// Treasury headers of the enti; [`EnteProfile::derived`] for the others.
    pub enti: Vec<EnteProfile>,
    pub opi_version: opi::Version,
}

impl DayInput {
    /// A day without anomalies, payable positions or ente profiles, journals in OPI 1.8.
    pub fn new(day: NaiveDate, payments: Vec<Paid>, seed: u64) -> Self {
        Self {
            day,
            payments,
            anomalies: Anomalies::default(),
            seed,
            payable: Vec::new(),
            enti: Vec::new(),
            opi_version: opi::Version::V1_8,
        }
    }
}

/// One treasury journal and the name of its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnteJournal {
    /// Fiscal code of the ente.
    pub ente: String,
    pub file_name: String,
    pub journal: Journal,
}

/// The plan of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOutput {
    pub day: NaiveDate,
    pub regulation_date: NaiveDate,
    pub flows: Vec<Flow>,
    /// The IBAN each flow was paid to (or, for `no-movement`, should have been), by flow id.
    pub flow_ibans: BTreeMap<String, String>,
    /// One per (ente, treasury bank), ordered by ente and ABI.
    pub journals: Vec<EnteJournal>,
    pub injected: Vec<InjectedAnomaly>,
}

/// Why a day could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DaybookError {
    #[error("payment {iuv}: {problem}")]
    InvalidPayment { iuv: String, problem: String },
    #[error("cannot inject {class}: {reason}")]
    CannotInject {
        class: AnomalyClass,
        reason: &'static str,
    },
    #[error("too many flows in a day (at most 999)")]
    TooManyFlows,
    #[error("planned flow is invalid: {0}")]
    Flow(#[from] FlowError),
    #[error("planned journal is invalid: {0}")]
    Journal(#[from] JournalError),
}

/// The file of a flow: `<flow id>.xml`.
pub fn flow_file_name(flow: &Flow) -> String {
    format!("{}.xml", flow.flow_id)
}

/// The file of a journal: `opi-<node day>-<ente fiscal code>-<ABI>.xml`.
pub fn journal_file_name(day: NaiveDate, ente: &str, abi: &str) -> String {
    format!("opi-{day}-{ente}-{abi}.xml")
}

/// Whether TARGET2 (and so SEPA settlement) is closed that day.
pub fn is_target_closing_day(date: NaiveDate) -> bool {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return true;
    }
    if matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (12, 25) | (12, 26)
    ) {
        return true;
    }
    let easter = easter_sunday(date.year());
    date == easter - Duration::days(2) || date == easter + Duration::days(1)
}

/// The settlement date of a node day: the next TARGET2 business day after it.
pub fn regulation_date(day: NaiveDate) -> NaiveDate {
    let mut d = day + Duration::days(1);
    while is_target_closing_day(d) {
        d += Duration::days(1);
    }
    d
}

/// Gregorian Easter Sunday (anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// The civil date in Italy of an instant.
pub fn italian_date(at: DateTime<Utc>) -> NaiveDate {
    crate::soap::rome_local(at).date()
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1).max(1) as u64) as i64
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

fn invalid(p: &Paid, problem: impl Into<String>) -> DaybookError {
    DaybookError::InvalidPayment {
        iuv: p.iuv.clone(),
        problem: problem.into(),
    }
}

fn check_payment(p: &Paid) -> Result<(), DaybookError> {
    let short = |s: &str| (1..=35).contains(&s.chars().count());
    if !short(&p.iuv) || !short(&p.receipt_id) {
        return Err(invalid(p, "IUV and receipt id must be 1..35 characters"));
    }
    let psp = &p.psp;
    if psp.id.is_empty()
        || psp.id.len() > 15
        || !psp
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            p,
            format!("PSP id {:?} is not [A-Za-z0-9_-]{{1,15}}", psp.id),
        ));
    }
    if psp.name.trim().is_empty() {
        return Err(invalid(p, "PSP name is empty"));
    }
    if p.transfers.is_empty() {
        return Err(invalid(p, "no transfers"));
    }
    for t in &p.transfers {
        if !(1..=5).contains(&t.index) {
            return Err(invalid(
                p,
                format!("transfer index {} is outside 1..5", t.index),
            ));
        }
        if !(1..=fdr::MAX_AMOUNT_CENTS).contains(&t.amount_cents) {
            return Err(invalid(p, format!("transfer amount {}", t.amount_cents)));
        }
        let cf = &t.beneficiary;
        if !(11..=16).contains(&cf.len())
            || !cf
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(invalid(
                p,
                format!("beneficiary {cf:?} is not [A-Z0-9]{{11,16}}"),
            ));
        }
        if !(15..=34).contains(&t.iban.len())
            || !t
                .iban
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(invalid(p, format!("IBAN {:?} is malformed", t.iban)));
        }
    }
    Ok(())
}

/// The ABI of an Italian IBAN (`IT kk X ABI CAB conto`); a stable invented one otherwise.
fn abi_of(iban: &str) -> String {
    match iban.get(5..10) {
        Some(abi) if iban.starts_with("IT") && abi.bytes().all(|b| b.is_ascii_digit()) => {
            abi.to_owned()
        }
        _ => format!("{:05}", fnv1a(iban.as_bytes()) % 100_000),
    }
}

/// The `conto_evidenza` of an IBAN: its BBAN, or its last 25 characters.
fn account_code(iban: &str) -> String {
    let bban = &iban[4..];
    if bban.len() <= 25 {
        bban.to_owned()
    } else {
        iban[iban.len() - 25..].to_owned()
    }
}

/// A flow being planned.
struct Planned {
    flow: Flow,
    iban: String,
    psp: Psp,
}

/// Accounts by (ente, ABI), then movements by IBAN.
type Books = BTreeMap<(String, String), BTreeMap<String, Vec<Movement>>>;

/// The state of a plan in progress.
struct Day<'a> {
    input: &'a DayInput,
    rng: Rng,
    regulation: NaiveDate,
    /// Ordered by payment time, IUV and receipt, whatever the input order.
    payments: Vec<&'a Paid>,
    profiles: BTreeMap<&'a str, &'a EnteProfile>,
    injected: Vec<InjectedAnomaly>,
}

fn cannot(class: AnomalyClass, reason: &'static str) -> DaybookError {
    DaybookError::CannotInject { class, reason }
}

/// Plans the day; see the module documentation for the rules.
pub fn plan(input: &DayInput) -> Result<DayOutput, DaybookError> {
    for p in &input.payments {
        check_payment(p)?;
    }
    let mut payments: Vec<&Paid> = input.payments.iter().collect();
    payments.sort_by(|a, b| {
        (a.paid_at, &a.iuv, &a.receipt_id).cmp(&(b.paid_at, &b.iuv, &b.receipt_id))
    });
    let mut day = Day {
        input,
        rng: Rng(input.seed),
        regulation: regulation_date(input.day),
        payments,
        profiles: input
            .enti
            .iter()
            .map(|e| (e.fiscal_code.as_str(), e))
            .collect(),
        injected: Vec::new(),
    };
    let a = input.anomalies;

    let skipped = if a.unreported {
        Some(day.pick_unreported()?)
    } else {
        None
    };
    let mut planned = day.build_flows(skipped)?;
    if a.code9 {
        day.inject_code9(&mut planned)?;
    }
    if a.revoked {
        day.inject_revoked(&mut planned)?;
    }
    if a.duplicate {
        day.inject_duplicate(&mut planned)?;
    }
    for p in &planned {
        p.flow.validate()?;
    }

    let uncredited = if a.no_movement {
        Some(day.pick_uncredited(&planned)?)
    } else {
        None
    };
    let mut amounts: Vec<i64> = planned
        .iter()
        .map(|p| p.flow.total_amount_cents())
        .collect();
    if a.amount {
        day.inject_amount(&planned, uncredited, &mut amounts)?;
    }
    let mut books = day.open_books(&planned);
    for (i, p) in planned.iter().enumerate() {
        if Some(i) != uncredited {
            day.post_credit(&mut books, p, amounts[i]);
        }
    }
    if a.stray {
        day.inject_stray(&mut books, &amounts)?;
    }
    let journals = day.assemble_journals(books)?;

    Ok(DayOutput {
        day: input.day,
        regulation_date: day.regulation,
        flow_ibans: planned
            .iter()
            .map(|p| (p.flow.flow_id.clone(), p.iban.clone()))
            .collect(),
        flows: planned.into_iter().map(|p| p.flow).collect(),
        journals,
        injected: day.injected,
    })
}

impl Day<'_> {
    fn record(
        &mut self,
        class: AnomalyClass,
        detail: String,
        flow_id: Option<&str>,
        iuv: Option<&str>,
    ) {
        self.injected.push(InjectedAnomaly {
            class,
            detail,
            flow_id: flow_id.map(str::to_owned),
            iuv: iuv.map(str::to_owned),
        });
    }

    /// The position in `payments` of the receipt to leave out.
    fn pick_unreported(&mut self) -> Result<usize, DaybookError> {
        if self.payments.is_empty() {
            return Err(cannot(AnomalyClass::Unreported, "no payments"));
        }
        let i = self.rng.below(self.payments.len());
        let p = self.payments[i];
        self.record(
            AnomalyClass::Unreported,
            format!(
                "receipt {} of IUV {} ({} transfer(s)) is in no flow",
                p.receipt_id,
                p.iuv,
                p.transfers.len()
            ),
            None,
            Some(&p.iuv),
        );
        Ok(i)
    }

    /// One flow per (beneficiary, PSP, IBAN), in that order, numbered from 1.
    fn build_flows(&mut self, skipped: Option<usize>) -> Result<Vec<Planned>, DaybookError> {
        let mut groups: BTreeMap<(&str, &str, &str), (Psp, Vec<FlowLine>)> = BTreeMap::new();
        for (i, p) in self.payments.iter().enumerate() {
            if skipped == Some(i) {
                continue;
            }
            let date = italian_date(p.paid_at);
            let mut transfers: Vec<&PaidTransfer> = p.transfers.iter().collect();
            transfers.sort_by_key(|t| t.index);
            for t in transfers {
                groups
                    .entry((&t.beneficiary, &p.psp.id, &t.iban))
                    .or_insert_with(|| (p.psp.clone(), Vec::new()))
                    .1
                    .push(FlowLine {
                        iuv: p.iuv.clone(),
                        iur: p.receipt_id.clone(),
                        index: Some(t.index),
                        amount_cents: t.amount_cents,
                        outcome: OutcomeCode::Paid,
                        date,
                    });
            }
        }
        if groups.len() > 999 {
            return Err(DaybookError::TooManyFlows);
        }
        let day = self.input.day;
        let day_code = u64::from(day.year().rem_euclid(100) as u32) * 10_000
            + u64::from(day.month()) * 100
            + u64::from(day.day());
        let mut planned = Vec::new();
        for (seq, ((ente, _, iban), (psp, lines))) in groups.into_iter().enumerate() {
            let seq = seq as u64 + 1;
            let flow_id = fdr::flow_id(self.regulation, &psp.id, day_code * 1000 + seq)?;
            let (kind, id) = match &psp.bic {
                Some(bic) => (SenderKind::Bic, bic.clone()),
                None => (SenderKind::LegalPerson, psp.id.clone()),
            };
            let flow_date_time = self.regulation.and_time(NaiveTime::MIN)
                + Duration::hours(7)
                + Duration::seconds(self.rng.range(0, 3 * 3600));
            let regulation_id = format!(
                "SCT{}{seq:03}{:010}",
                day.format("%Y%m%d"),
                self.rng.next() % 10_000_000_000
            );
            let flow = Flow {
                version: fdr::Version::V1_0,
                flow_id,
                flow_date_time,
                regulation_id,
                regulation_date: self.regulation,
                sender: Sender {
                    kind,
                    id,
                    name: sender_name(&psp.name),
                },
                bic_pouring_bank: psp.bic.clone(),
                receiver: Receiver {
                    id: ente.to_owned(),
                    name: self
                        .profiles
                        .get(ente)
                        .map(|p| p.name.chars().take(140).collect()),
                },
                lines,
            };
            planned.push(Planned {
                flow,
                iban: iban.to_owned(),
                psp,
            });
        }
        Ok(planned)
    }

    fn inject_code9(&mut self, planned: &mut [Planned]) -> Result<(), DaybookError> {
        if planned.is_empty() {
            return Err(cannot(AnomalyClass::Code9, "no flows"));
        }
        let paid: BTreeSet<&str> = self.payments.iter().map(|p| p.iuv.as_str()).collect();
        let candidate = self.input.payable.iter().find(|c| {
            !paid.contains(c.iuv.as_str())
                && (1..=35).contains(&c.iuv.chars().count())
                && planned.iter().any(|p| p.flow.receiver.id == c.ente)
        });
        let rng = &mut self.rng;
        let (f, iuv, amount, source) = match candidate {
            Some(c) => {
                let flows: Vec<usize> = (0..planned.len())
                    .filter(|&i| planned[i].flow.receiver.id == c.ente)
                    .collect();
                let amount = c
                    .amount_cents
                    .filter(|a| (1..=fdr::MAX_AMOUNT_CENTS).contains(a))
                    .unwrap_or_else(|| rng.range(500, 50_000));
                (*rng.pick(&flows), c.iuv.clone(), amount, "payable")
            }
            None => {
                let mut iuv = invented_iuv(rng);
                while paid.contains(iuv.as_str()) {
                    iuv = invented_iuv(rng);
                }
                let f = rng.below(planned.len());
                (f, iuv, rng.range(500, 50_000), "invented")
            }
        };
        let iur = format!("{:016x}{:016x}", rng.next(), rng.next());
        let flow = &mut planned[f].flow;
        flow.lines.push(FlowLine {
            iuv: iuv.clone(),
            iur: iur.clone(),
            index: Some(1),
            amount_cents: amount,
            outcome: OutcomeCode::NoRpt,
            date: self.input.day,
        });
        let detail = format!(
            "line with outcome 9 for {source} IUV {iuv} (IUR {iur}, {}) without a receipt",
            euro(amount)
        );
        self.record(AnomalyClass::Code9, detail, Some(&flow.flow_id), Some(&iuv));
        Ok(())
    }

    fn inject_revoked(&mut self, planned: &mut [Planned]) -> Result<(), DaybookError> {
        let (f, l) = pick_paid_line(planned, &mut self.rng)
            .ok_or(cannot(AnomalyClass::Revoked, "no paid line"))?;
        let flow = &mut planned[f].flow;
        flow.lines[l].outcome = OutcomeCode::Revoked;
        let line = &flow.lines[l];
        let detail = format!(
            "line IUV {} IUR {} index {} reported with outcome 3",
            line.iuv,
            line.iur,
            index_text(line.index)
        );
        self.record(
            AnomalyClass::Revoked,
            detail,
            Some(&flow.flow_id),
            Some(&line.iuv),
        );
        Ok(())
    }

    fn inject_duplicate(&mut self, planned: &mut [Planned]) -> Result<(), DaybookError> {
        let (f, l) = pick_paid_line(planned, &mut self.rng)
            .ok_or(cannot(AnomalyClass::Duplicate, "no paid line left"))?;
        let flow = &mut planned[f].flow;
        let line = flow.lines[l].clone();
        let detail = format!(
            "line IUV {} IUR {} index {} appears twice",
            line.iuv,
            line.iur,
            index_text(line.index)
        );
        self.record(
            AnomalyClass::Duplicate,
            detail,
            Some(&flow.flow_id),
            Some(&line.iuv),
        );
        flow.lines.insert(l + 1, line);
        Ok(())
    }

    /// The position of the flow no journal credits.
    fn pick_uncredited(&mut self, planned: &[Planned]) -> Result<usize, DaybookError> {
        if planned.is_empty() {
            return Err(cannot(AnomalyClass::NoMovement, "no flows"));
        }
        let i = self.rng.below(planned.len());
        let flow = &planned[i].flow;
        let detail = format!(
            "flow {} ({}) is credited in no journal",
            flow.flow_id,
            euro(flow.total_amount_cents())
        );
        self.record(AnomalyClass::NoMovement, detail, Some(&flow.flow_id), None);
        Ok(i)
    }

    fn inject_amount(
        &mut self,
        planned: &[Planned],
        uncredited: Option<usize>,
        amounts: &mut [i64],
    ) -> Result<(), DaybookError> {
        let candidates: Vec<usize> = (0..planned.len())
            .filter(|&i| Some(i) != uncredited)
            .collect();
        if candidates.is_empty() {
            return Err(cannot(AnomalyClass::Amount, "no credited flow"));
        }
        let i = *self.rng.pick(&candidates);
        let total = amounts[i];
        let delta = self.rng.range(1, 2000);
        let less = self.rng.chance(1, 2) || total > opi::MAX_AMOUNT_CENTS - delta;
        let credited = if less && total > delta {
            total - delta
        } else {
            total + delta
        };
        amounts[i] = credited;
        let flow_id = &planned[i].flow.flow_id;
        let detail = format!(
            "flow {flow_id} totals {} but is credited {}",
            euro(total),
            euro(credited)
        );
        self.record(AnomalyClass::Amount, detail, Some(flow_id), None);
        Ok(())
    }

    /// An empty account for every IBAN that received a transfer (reported or not) and for
    /// every flow's.
    fn open_books(&self, planned: &[Planned]) -> Books {
        let mut books = Books::new();
        let mut open = |ente: &str, iban: &str| {
            books
                .entry((ente.to_owned(), abi_of(iban)))
                .or_default()
                .entry(iban.to_owned())
                .or_default();
        };
        for p in &self.payments {
            for t in &p.transfers {
                open(&t.beneficiary, &t.iban);
            }
        }
        for p in planned {
            open(&p.flow.receiver.id, &p.iban);
        }
        books
    }

    fn post_credit(&mut self, books: &mut Books, p: &Planned, amount: i64) {
        let causale = noisy_causale(&mut self.rng, &p.flow, &p.psp.name);
        let movement = credit(
            amount,
            self.regulation,
            &p.psp.name,
            Some(p.flow.regulation_id.clone()),
            causale,
        );
        let key = (p.flow.receiver.id.clone(), abi_of(&p.iban));
        if let Some(account) = books.get_mut(&key).and_then(|b| b.get_mut(&p.iban)) {
            account.push(movement);
        }
    }

    /// A credit that names no flow, for an amount no flow is credited, at a random place of
    /// a random account.
    fn inject_stray(&mut self, books: &mut Books, amounts: &[i64]) -> Result<(), DaybookError> {
        let keys: Vec<(String, String, String)> = books
            .iter()
            .flat_map(|((ente, abi), accounts)| {
                accounts
                    .keys()
                    .map(move |iban| (ente.clone(), abi.clone(), iban.clone()))
            })
            .collect();
        if keys.is_empty() {
            return Err(cannot(AnomalyClass::Stray, "no account"));
        }
        let (ente, abi, iban) = self.rng.pick(&keys).clone();
        let mut amount = self.rng.range(1_000, 250_000);
        while amounts.contains(&amount) {
            amount += 1;
        }
        let (payer, causale) = stray_causale(&mut self.rng);
        let detail = format!(
            "credit of {} from {payer} to {iban} names no flow: {causale:?}",
            euro(amount)
        );
        self.record(AnomalyClass::Stray, detail, None, None);
        let end_to_end = format!("NOTPROVIDED{:012}", self.rng.next() % 1_000_000_000_000);
        let movement = credit(amount, self.regulation, &payer, Some(end_to_end), causale);
        if let Some(account) = books.get_mut(&(ente, abi)).and_then(|b| b.get_mut(&iban)) {
            let at = self.rng.below(account.len() + 1);
            account.insert(at, movement);
        }
        Ok(())
    }

    /// One journal per (ente, bank): numbers the movements and writes the header.
    fn assemble_journals(&self, books: Books) -> Result<Vec<EnteJournal>, DaybookError> {
        let (day, regulation) = (self.input.day, self.regulation);
        let mut journals = Vec::new();
        for ((ente, abi), accounts) in books {
            let profile = self
                .profiles
                .get(ente.as_str())
                .map(|p| (*p).clone())
                .unwrap_or_else(|| EnteProfile::derived(&ente));
            let code = format!("{ente}{abi}{}", day.format("%Y%m%d"));
            let bt_flow_id = opi::bt_flow_id(regulation, &code, 1, 1)?;
            // Provisional numbers: <day of the year><3 digits>, unique in the year per ente.
            let base = u64::from(regulation.ordinal()) * 1000;
            let mut n = 0u64;
            let accounts = accounts
                .into_iter()
                .map(|(iban, movements)| Account {
                    code: account_code(&iban),
                    description: Some(iban),
                    movements: movements
                        .into_iter()
                        .map(|mut m| {
                            n += 1;
                            m.ente_flow_id = bt_flow_id.clone();
                            m.number = n;
                            m.document_number = base + n;
                            m.receipt_number = Some(base + n);
                            m
                        })
                        .collect(),
                    opening_balance_cents: None,
                })
                .collect();
            let journal = Journal {
                version: self.input.opi_version,
                header: Header {
                    bank_abi: abi.clone(),
                    created_at: (regulation + Duration::days(1)).and_time(NaiveTime::MIN)
                        + Duration::minutes(6 * 60 + 30),
                    ente_ipa_code: profile.ipa_code,
                    ente_name: profile.name,
                    ente_istat_code: profile.istat_code,
                    ente_fiscal_code: ente.clone(),
                    ente_a2a_code: profile.a2a_code,
                    bank_a2a_code: format!("A2A-{:08}", fnv1a(abi.as_bytes()) % 100_000_000),
                    ente_bank_code: profile.bank_code,
                },
                bt_flow_id,
                page: 1,
                total_pages: 1,
                ente_reference: None,
                fiscal_year: regulation.year() as u16,
                date: regulation,
                accounts,
            };
            journal.validate()?;
            journals.push(EnteJournal {
                file_name: journal_file_name(day, &ente, &abi),
                ente,
                journal,
            });
        }
        Ok(journals)
    }
}

fn index_text(index: Option<u8>) -> String {
    index.map_or_else(|| "-".to_owned(), |i| i.to_string())
}

fn sender_name(name: &str) -> Option<String> {
    let name: String = name.chars().take(70).collect();
    (name.chars().count() >= 3).then_some(name)
}

/// A random line with outcome 0, as (flow, line).
fn pick_paid_line(planned: &[Planned], rng: &mut Rng) -> Option<(usize, usize)> {
    let lines: Vec<(usize, usize)> = planned
        .iter()
        .enumerate()
        .flat_map(|(f, p)| {
            p.flow
                .lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.outcome == OutcomeCode::Paid)
                .map(move |(l, _)| (f, l))
        })
        .collect();
    (!lines.is_empty()).then(|| *rng.pick(&lines))
}

/// A 17-digit IUV of aux digit 3: segregation code 01, 13 random digits, mod-93 check digits.
fn invented_iuv(rng: &mut Rng) -> String {
    let base = rng.next() % 10_000_000_000_000;
    let body = format!("01{base:013}");
    let check = format!("3{body}").parse::<u64>().unwrap_or_default() % 93;
    format!("{body}{check:02}")
}

/// A pagoPA-style credit: `SOSPESO ENTRATA` by SCT (numbers are set when the journal is
/// assembled).
fn credit(
    amount: i64,
    date: NaiveDate,
    payer: &str,
    end_to_end_id: Option<String>,
    causale: String,
) -> Movement {
    Movement {
        ente_flow_id: String::new(),
        number: 0,
        kind: MovementKind::Incoming,
        document: DocumentType::SospesoEntrata,
        operation: OperationType::Eseguito,
        document_number: 0,
        document_progressive: 0,
        amount_cents: amount,
        receipt_number: None,
        booking_date: date,
        siope_date: date,
        value_date: Some(date),
        execution: ExecutionType::SepaCreditTransfer,
        coordinates: None,
        operation_ref: None,
        end_to_end_id,
        stamp_duty: StampDuty::Exempt,
        client: Party {
            name: payer.to_owned(),
            tax_code: None,
        },
        causale,
        provisionals: Vec::new(),
    }
}

/// Words in random case: banks' free text mixes both.
fn noise(rng: &mut Rng, words: &str) -> String {
    words
        .split(' ')
        .map(|w| {
            if rng.chance(1, 4) {
                w.to_lowercase()
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The remittance of a cumulative credit as a treasury shows it: bank words around
/// `RI1/PUR/LGPE-RIVERSAMENTO/URI/<flow id>`, with `.` for some `/`, sometimes a space in the
/// flow id's date, sometimes the `TXT/<digit>/` GovPay tolerates. The flow id is always
/// followed by a separator or the end of the text.
fn noisy_causale(rng: &mut Rng, flow: &Flow, psp_name: &str) -> String {
    const PREFIXES: [&str; 5] = [
        "ACCREDITO BONIFICO",
        "BONIFICO SEPA IN ENTRATA",
        "ACCR. BONIF. SEPA",
        "ACCREDITO SCT",
        "INCASSO BONIFICO DA",
    ];
    let style = rng.below(3); // 0: all '/', 1: all '.', 2: mixed
    let sep = |rng: &mut Rng| match style {
        0 => '/',
        1 => '.',
        _ => {
            if rng.chance(1, 3) {
                '.'
            } else {
                '/'
            }
        }
    };
    let date = flow.regulation_date.format("%d/%m/%Y").to_string();
    let tails = [
        " BONIFICO A VOSTRO FAVORE".to_owned(),
        " RIVERSAMENTO PAGOPA".to_owned(),
        format!(" DATA REG. {date}"),
        String::new(),
    ];
    let mut id = flow.flow_id.clone();
    if rng.chance(1, 4) {
        let at = 1 + rng.below(9);
        id.insert(at, ' ');
    }
    let prefix = *rng.pick(&PREFIXES);
    let mut s = noise(rng, prefix);
    if rng.chance(1, 2) {
        s.push(' ');
        s.push_str(&psp_name.to_uppercase().chars().take(30).collect::<String>());
    }
    s.push(' ');
    if rng.chance(3, 4) {
        s.push_str("RI1");
    }
    for part in ["PUR", "LGPE-RIVERSAMENTO"] {
        s.push(sep(rng));
        s.push_str(part);
    }
    if rng.chance(1, 8) {
        s.push(sep(rng));
        s.push_str("TXT");
        s.push(sep(rng));
        s.push(char::from(b'0' + rng.below(10) as u8));
    }
    s.push(sep(rng));
    s.push_str("URI");
    s.push(sep(rng));
    s.push_str(&id);
    let tail = rng.pick(&tails);
    if !tail.is_empty() {
        s.push(sep(rng));
        s.push_str(&noise(rng, tail));
    }
    s
}

/// A credit unrelated to pagoPA: (payer, causale).
fn stray_causale(rng: &mut Rng) -> (String, String) {
    const PAYERS: [&str; 4] = [
        "ROSSI MARIO",
        "BIANCHI ANNA MARIA",
        "EDILIZIA VERDI SRL",
        "ASSOCIAZIONE PRO LOCO",
    ];
    const REASONS: [&str; 4] = [
        "RIMBORSO DEPOSITO CAUZIONALE",
        "CONTRIBUTO LIBERALE FESTA PATRONALE",
        "AFFITTO SALA CONSILIARE",
        "DIRITTI DI SEGRETERIA PRATICA",
    ];
    let payer = (*rng.pick(&PAYERS)).to_owned();
    let reason = *rng.pick(&REASONS);
    let reason = noise(rng, reason);
    let causale = format!(
        "BONIFICO A VOSTRO FAVORE DA {payer} {reason} N. {}/{}",
        rng.range(1, 9999),
        rng.range(2020, 2030)
    );
    (payer, causale)
}
