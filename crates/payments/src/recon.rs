//! Three-way reconciliation of pagoPA payments: receipts (what the node says was paid) ↔
//! reporting-flow lines (what each PSP says its credit transfer contains) ↔ treasury
//! movements (what reached the ente's account). Pure: the store gathers the facts of a scope
//! (every payment of an ente, or the IUVs a new document touched), this module classifies
//! them, and the store keeps the result.
//!
//! One [`Item`] per payment — an IUV and transfer index — and one per incoming movement that
//! matches nothing. Each item is in exactly one [`Class`]; the rules, in order of precedence:
//!
//! 1. a flow line with outcome 3 → `REVOKED`;
//! 2. the payment paid twice (a second receipt), a line twice (in one flow or in two), or a
//!    line of a flow that came again with other content and no new revision → `DUPLICATE`;
//! 3. flow line, no receipt → `REPORTED_NOT_PAID` (codes 8 and 9 by definition, a lost receipt
//!    otherwise);
//! 4. receipt, no flow line → `PENDING` until the PSP's deadline (24:00 of the second
//!    [working day](is_working_day) after the payment date), then `PAID_NOT_REPORTED`;
//! 5. line amount ≠ receipt amount, the flow's header disagreeing with its lines, or the
//!    money credited for the flow ≠ its header total → `AMOUNT_MISMATCH`;
//! 6. no movement for the flow → `PENDING` until the second working day after its regulation
//!    date, then `REPORTED_NOT_TRANSFERRED`;
//! 7. otherwise `RECONCILED`. A payment credited by its own transfer (`/RFS/` or `/RFB/`
//!    naming its IUV) with the right amount is `RECONCILED` without a flow.
//!
//! A movement is matched by the flow id of its `/PUR/LGPE-RIVERSAMENTO/URI/` remittance (all
//! movements naming one flow are summed: a PSP may split one flow over several transfers), or by
//! the IUV of a `/RFS|RFB/` one. An incoming movement matched by neither is
//! `TRANSFER_UNMATCHED`. Amounts are integer cents throughout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Class {
    /// Receipt, flow line and movement agree.
    Reconciled,
    /// Not an anomaly yet: a document is still within its deadline.
    Pending,
    PaidNotReported,
    ReportedNotTransferred,
    ReportedNotPaid,
    TransferUnmatched,
    AmountMismatch,
    Duplicate,
    Revoked,
}

impl Class {
    pub const ALL: [Class; 9] = [
        Self::Reconciled,
        Self::Pending,
        Self::PaidNotReported,
        Self::ReportedNotTransferred,
        Self::ReportedNotPaid,
        Self::TransferUnmatched,
        Self::AmountMismatch,
        Self::Duplicate,
        Self::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reconciled => "RECONCILED",
            Self::Pending => "PENDING",
            Self::PaidNotReported => "PAID_NOT_REPORTED",
            Self::ReportedNotTransferred => "REPORTED_NOT_TRANSFERRED",
            Self::ReportedNotPaid => "REPORTED_NOT_PAID",
            Self::TransferUnmatched => "TRANSFER_UNMATCHED",
            Self::AmountMismatch => "AMOUNT_MISMATCH",
            Self::Duplicate => "DUPLICATE",
            Self::Revoked => "REVOKED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the class asks someone to act (everything but `RECONCILED` and `PENDING`).
    pub fn is_anomaly(self) -> bool {
        !matches!(self, Self::Reconciled | Self::Pending)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Working days

/// Easter Sunday of a Gregorian year (the anonymous Gregorian computus).
pub fn easter(year: i32) -> NaiveDate {
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
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

/// Whether `date` is an Italian national holiday: 1 and 6 January, Easter Monday, 25 April,
/// 1 May, 2 June, 15 August, 4 October (from 2026, law 151/2025), 1 November, 8, 25 and
/// 26 December. Patron saints' days are local and not counted.
pub fn is_national_holiday(date: NaiveDate) -> bool {
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1)
            | (1, 6)
            | (4, 25)
            | (5, 1)
            | (6, 2)
            | (8, 15)
            | (11, 1)
            | (12, 8)
            | (12, 25)
            | (12, 26)
    );
    fixed
        || (date.month() == 10 && date.day() == 4 && date.year() >= 2026)
        || date == easter(date.year()) + Duration::days(1)
}

/// Monday to Friday, not a national holiday.
pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_national_holiday(date)
}

/// The `n`-th working day after `date` (`date` itself does not count).
pub fn add_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut d = date;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The last day a PSP may report a payment made on `paid_on` (until its 24:00): D+2 working days.
pub fn reporting_deadline(paid_on: NaiveDate) -> NaiveDate {
    add_working_days(paid_on, 2)
}

/// The last day the credit of a flow settled on `regulation_date` is awaited before it is an
/// anomaly: two working days after it (the treasury journal of the day arrives the next one).
pub fn crediting_deadline(regulation_date: NaiveDate) -> NaiveDate {
    add_working_days(regulation_date, 2)
}

// ---------------------------------------------------------------------------------------------
// Facts

/// One transfer of a receipt that is this ente's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    /// 1..=5.
    pub index: u8,
    pub amount: i64,
    /// The beneficiary ente's fiscal code.
    pub beneficiary: String,
    pub iban: Option<String>,
    /// The transfer's metadata (accounting codes such as capitolo and accertamento).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<(String, String)>,
}

/// A receipt as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFact {
    pub receipt_id: String,
    pub iuv: String,
    pub psp_id: String,
    /// The payment's date in Italy.
    pub paid_on: NaiveDate,
    /// A second payment of a notice already paid.
    pub double_payment: bool,
    /// This ente's transfers.
    pub lines: Vec<ReceiptLine>,
}

/// A stored reporting flow (one revision) and what was credited for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFact {
    /// The stored document's digest: the flow's identity in the store.
    pub digest: String,
    pub flow_id: String,
    pub psp_id: String,
    pub revision: u32,
    pub regulation_date: NaiveDate,
    pub declared_count: i64,
    pub declared_total: i64,
    pub lines_count: i64,
    pub lines_total: i64,
    /// Another document with the same flow id, PSP and revision came first: this one is a
    /// duplicate and its lines count as such.
    pub conflict: bool,
    /// A later revision of this flow exists: its lines no longer count.
    pub superseded: bool,
    /// Σ of the incoming movements naming this flow, and their ids (empty: not credited).
    pub credited: i64,
    pub movements: Vec<String>,
}

impl FlowFact {
    fn header_agrees(&self) -> bool {
        self.declared_count == self.lines_count && self.declared_total == self.lines_total
    }
}

/// One line of a stored flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    /// The flow's digest.
    pub flow: String,
    pub iuv: String,
    pub iur: String,
    /// `indiceDatiSingoloPagamento`; 1 when absent.
    pub index: u8,
    pub amount: i64,
    /// 0, 3, 4, 8 or 9.
    pub outcome: u8,
    pub date: NaiveDate,
    /// The IUV looks issued by another intermediary: the line counts only when a receipt of
    /// this ente claims the payment.
    pub foreign: bool,
}

/// What a movement's remittance names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovementRef {
    Flow(String),
    Iuv { iuv: String, amount: Option<i64> },
    None,
}

/// An incoming treasury movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementFact {
    /// Unique per ente: `<document id>/<movement id>`.
    pub id: String,
    pub amount: i64,
    pub date: NaiveDate,
    pub reference: MovementRef,
}

/// An item's key: `p:<iuv>:<index>` for a payment, `m:<movement id>` for a stray movement.
pub fn payment_key(iuv: &str, index: u8) -> String {
    format!("p:{iuv}:{index}")
}

pub fn movement_key(id: &str) -> String {
    format!("m:{id}")
}

/// An explanation in Italian and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub it: String,
    pub en: String,
}

/// The documents behind an item (those that exist).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Documents {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub movement_id: Option<String>,
}

/// The outcome for one payment or stray movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub class: Class,
    pub iuv: Option<String>,
    pub transfer_index: Option<u8>,
    /// Cents: the receipt's, else the flow line's, else the movement's.
    pub amount: i64,
    /// The payment date (the movement date for a stray movement).
    pub date: NaiveDate,
    pub psp_id: Option<String>,
    pub documents: Documents,
    pub explanation: Explanation,
    /// For `PENDING`: the last day before it becomes an anomaly.
    pub due: Option<NaiveDate>,
}

/// Whether an item changes its debt position: a reported payment (not revoked, not a
/// duplicate) marks its transfer REPORTED, and one without a receipt is first recorded as paid.
pub fn has_position_effect(item: &Item) -> bool {
    item.documents.flow_id.is_some()
        && item.iuv.is_some()
        && !matches!(item.class, Class::Revoked | Class::Duplicate)
}

/// The facts of one scope. `receipts`, `lines` and `singles` hold everything known for the
/// IUVs of the scope; `flows` every flow those lines belong to; `movements` the movements to
/// classify (each matched against `flow_ids`/`iuvs` below).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub receipts: Vec<ReceiptFact>,
    pub flows: Vec<FlowFact>,
    pub lines: Vec<LineFact>,
    /// Movements naming one IUV (`/RFS/`, `/RFB/`).
    pub singles: Vec<MovementFact>,
    /// Movements whose own item is to be decided.
    pub movements: Vec<MovementFact>,
    /// Flow ids the ente holds (any revision), for the movements' matching.
    pub known_flow_ids: BTreeSet<String>,
}

/// Classifies every payment of the scope and every movement in `facts.movements`. `today` is
/// the current day in Italy. Items come out ordered by key.
pub fn classify(facts: &Facts, today: NaiveDate) -> Vec<Item> {
    let flows: BTreeMap<&str, &FlowFact> =
        facts.flows.iter().map(|f| (f.digest.as_str(), f)).collect();
    let mut keys: BTreeMap<(String, u8), Payment<'_>> = BTreeMap::new();
    for r in &facts.receipts {
        for l in &r.lines {
            keys.entry((r.iuv.clone(), l.index))
                .or_default()
                .receipts
                .push((r, l));
        }
    }
    for l in &facts.lines {
        let Some(flow) = flows.get(l.flow.as_str()) else {
            continue;
        };
        if flow.superseded {
            continue;
        }
        if l.foreign && !keys.contains_key(&(l.iuv.clone(), l.index)) {
            continue;
        }
        keys.entry((l.iuv.clone(), l.index))
            .or_default()
            .lines
            .push((l, flow));
    }
    let mut singles: BTreeMap<&str, Vec<&MovementFact>> = BTreeMap::new();
    for m in &facts.singles {
        if let MovementRef::Iuv { iuv, .. } = &m.reference {
            singles.entry(iuv.as_str()).or_default().push(m);
        }
    }
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut items: Vec<Item> = keys
        .iter()
        .map(|((iuv, index), p)| {
            let item = classify_payment(
                iuv,
                *index,
                p,
                singles.get(iuv.as_str()).map_or(&[][..], |v| v),
                today,
            );
            if p.lines.is_empty() && !p.receipts.is_empty() {
                for m in singles.get(iuv.as_str()).into_iter().flatten() {
                    used.insert(m.id.as_str());
                }
            }
            item
        })
        .collect();
    for m in &facts.movements {
        let matched = match &m.reference {
            MovementRef::Flow(id) => facts.known_flow_ids.contains(id),
            // Matched when a payment of the scope took it as its own credit.
            MovementRef::Iuv { .. } => used.contains(m.id.as_str()),
            MovementRef::None => false,
        };
        if !matched {
            items.push(stray(m));
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    items
}

#[derive(Default)]
struct Payment<'a> {
    receipts: Vec<(&'a ReceiptFact, &'a ReceiptLine)>,
    lines: Vec<(&'a LineFact, &'a FlowFact)>,
}

fn classify_payment(
    iuv: &str,
    index: u8,
    p: &Payment<'_>,
    singles: &[&MovementFact],
    today: NaiveDate,
) -> Item {
    let receipt = p.receipts.first();
    let line = p
        .lines
        .iter()
        .find(|(_, f)| !f.conflict)
        .or(p.lines.first());
    let amount = receipt
        .map(|(_, l)| l.amount)
        .or(line.map(|(l, _)| l.amount))
        .unwrap_or(0);
    let date = receipt
        .map(|(r, _)| r.paid_on)
        .or(line.map(|(l, _)| l.date))
        .unwrap_or(today);
    let psp_id = receipt
        .map(|(r, _)| r.psp_id.clone())
        .or(line.map(|(_, f)| f.psp_id.clone()));
    let mut documents = Documents {
        receipt_id: receipt.map(|(r, _)| r.receipt_id.clone()),
        flow_id: line.map(|(_, f)| f.flow_id.clone()),
        movement_id: line.and_then(|(_, f)| f.movements.first().cloned()),
    };
    let who = Who {
        iuv,
        index,
        amount,
        date,
    };
    let mut due = None;
    let (class, explanation) = if let Some((l, f)) = p.lines.iter().find(|(l, _)| l.outcome == 3) {
        (Class::Revoked, who.revoked(&f.flow_id, l.amount))
    } else if p.receipts.len() > 1 || p.receipts.iter().any(|(r, _)| r.double_payment) {
        let ids: Vec<&str> = p
            .receipts
            .iter()
            .map(|(r, _)| r.receipt_id.as_str())
            .collect();
        (Class::Duplicate, who.paid_twice(&ids))
    } else if let Some((_, f)) = p.lines.iter().find(|(_, f)| f.conflict) {
        (
            Class::Duplicate,
            who.conflicting_flow(&f.flow_id, &f.psp_id),
        )
    } else if p.lines.len() > 1 {
        let flows: BTreeSet<&str> = p.lines.iter().map(|(_, f)| f.flow_id.as_str()).collect();
        let flows: Vec<&str> = flows.into_iter().collect();
        (Class::Duplicate, who.line_twice(p.lines.len(), &flows))
    } else if let (None, Some((l, f))) = (receipt, line) {
        (Class::ReportedNotPaid, who.no_receipt(l, &f.flow_id))
    } else if let Some((r, rl)) = receipt {
        match line {
            None => {
                if let Some(m) = singles.first() {
                    documents.movement_id = Some(m.id.clone());
                    let credited: i64 = singles.iter().map(|m| m.amount).sum();
                    if credited == rl.amount {
                        (Class::Reconciled, who.credited_alone(&m.id))
                    } else {
                        (
                            Class::AmountMismatch,
                            who.single_amount(&m.id, credited, rl.amount),
                        )
                    }
                } else {
                    let deadline = reporting_deadline(r.paid_on);
                    if today <= deadline {
                        due = Some(deadline);
                        (Class::Pending, who.awaiting_flow(&r.psp_id, deadline))
                    } else {
                        (
                            Class::PaidNotReported,
                            who.not_reported(&r.receipt_id, &r.psp_id, deadline),
                        )
                    }
                }
            }
            Some((l, f)) => {
                if l.amount != rl.amount {
                    (
                        Class::AmountMismatch,
                        who.line_amount(&f.flow_id, l.amount, &r.receipt_id, rl.amount),
                    )
                } else if !f.header_agrees() {
                    (Class::AmountMismatch, who.header(f))
                } else if f.movements.is_empty() {
                    let deadline = crediting_deadline(f.regulation_date);
                    if today <= deadline {
                        due = Some(deadline);
                        (Class::Pending, who.awaiting_credit(f, deadline))
                    } else {
                        (Class::ReportedNotTransferred, who.not_credited(f))
                    }
                } else if f.credited != f.declared_total {
                    (Class::AmountMismatch, who.credit_amount(f))
                } else {
                    (Class::Reconciled, who.reconciled(&r.receipt_id, f))
                }
            }
        }
    } else {
        // A key exists only with a receipt or a line.
        (Class::Pending, who.awaiting_flow("", today))
    };
    Item {
        key: payment_key(iuv, index),
        class,
        iuv: Some(iuv.to_owned()),
        transfer_index: Some(index),
        amount,
        date,
        psp_id,
        documents,
        explanation,
        due,
    }
}

fn stray(m: &MovementFact) -> Item {
    let (it, en) = match &m.reference {
        MovementRef::Flow(id) => (
            format!(
                "Il movimento {} del {} di {} cita il flusso di rendicontazione {id}, che \
                 Sportello non ha: acquisire il flusso dal Nodo (o chiederlo al PSP) e \
                 rieseguire la riconciliazione.",
                m.id,
                it_date(m.date),
                it_euro(m.amount)
            ),
            format!(
                "Movement {} of {} for {} names reporting flow {id}, which Sportello does not \
                 hold: fetch the flow from the node (or ask the PSP for it) and reconcile again.",
                m.id,
                en_date(m.date),
                en_euro(m.amount)
            ),
        ),
        MovementRef::Iuv { iuv, .. } => (
            format!(
                "Il movimento {} del {} di {} cita lo IUV {iuv}, di cui Sportello non ha né \
                 ricevuta né rendicontazione: verificare con la tesoreria e il PSP a quale \
                 pagamento si riferisce.",
                m.id,
                it_date(m.date),
                it_euro(m.amount)
            ),
            format!(
                "Movement {} of {} for {} names IUV {iuv}, for which Sportello has neither a \
                 receipt nor a flow line: check with the treasury and the PSP which payment it \
                 is.",
                m.id,
                en_date(m.date),
                en_euro(m.amount)
            ),
        ),
        MovementRef::None => (
            format!(
                "Il movimento in entrata {} del {} di {} non cita né un flusso di \
                 rendicontazione né uno IUV: se è un incasso pagoPA chiedere alla tesoreria la \
                 causale completa, altrimenti regolarizzarlo fuori da pagoPA.",
                m.id,
                it_date(m.date),
                it_euro(m.amount)
            ),
            format!(
                "Incoming movement {} of {} for {} names neither a reporting flow nor an IUV: \
                 if it is a pagoPA collection ask the treasury for the full remittance text, \
                 otherwise regularise it outside pagoPA.",
                m.id,
                en_date(m.date),
                en_euro(m.amount)
            ),
        ),
    };
    Item {
        key: movement_key(&m.id),
        class: Class::TransferUnmatched,
        iuv: None,
        transfer_index: None,
        amount: m.amount,
        date: m.date,
        psp_id: None,
        documents: Documents {
            movement_id: Some(m.id.clone()),
            ..Documents::default()
        },
        explanation: Explanation { it, en },
        due: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Explanations

struct Who<'a> {
    iuv: &'a str,
    index: u8,
    amount: i64,
    date: NaiveDate,
}

fn ex(it: String, en: String) -> Explanation {
    Explanation { it, en }
}

impl Who<'_> {
    fn it(&self) -> String {
        format!("IUV {} (trasferimento {})", self.iuv, self.index)
    }

    fn en(&self) -> String {
        format!("IUV {} (transfer {})", self.iuv, self.index)
    }

    fn revoked(&self, flow: &str, amount: i64) -> Explanation {
        ex(
            format!(
                "Il flusso {flow} riporta lo {} come stornato (esito 3) per {}: il PSP ha \
                 revocato l'incasso; verificare che la posizione torni da pagare o che il \
                 rimborso sia stato disposto.",
                self.it(),
                it_euro(amount)
            ),
            format!(
                "Flow {flow} reports {} as revoked (outcome 3) for {}: the PSP reversed the \
                 collection; check that the position is payable again or that the refund was \
                 made.",
                self.en(),
                en_euro(amount)
            ),
        )
    }

    fn paid_twice(&self, receipts: &[&str]) -> Explanation {
        ex(
            format!(
                "Lo {} risulta pagato più volte (ricevute {}): disporre il rimborso del \
                 pagamento in eccesso al pagatore.",
                self.it(),
                receipts.join(", ")
            ),
            format!(
                "{} was paid more than once (receipts {}): refund the extra payment to the \
                 payer.",
                self.en(),
                receipts.join(", ")
            ),
        )
    }

    fn conflicting_flow(&self, flow: &str, psp: &str) -> Explanation {
        ex(
            format!(
                "Il PSP {psp} ha inviato di nuovo il flusso {flow} con contenuto diverso e \
                 senza una nuova revisione; lo {} vi compare: chiedere al PSP quale versione \
                 vale e di pubblicarla come nuova revisione.",
                self.it()
            ),
            format!(
                "PSP {psp} sent flow {flow} again with other content and no new revision; {} \
                 is in it: ask the PSP which version holds and to publish it as a new revision.",
                self.en()
            ),
        )
    }

    fn line_twice(&self, n: usize, flows: &[&str]) -> Explanation {
        ex(
            format!(
                "Lo {} è rendicontato {n} volte (flussi {}): un pagamento è riversato una \
                 volta sola; chiedere al PSP di correggere il flusso.",
                self.it(),
                flows.join(", ")
            ),
            format!(
                "{} is reported {n} times (flows {}): a payment is remitted once; ask the PSP \
                 to correct the flow.",
                self.en(),
                flows.join(", ")
            ),
        )
    }

    fn no_receipt(&self, line: &LineFact, flow: &str) -> Explanation {
        let (it_why, en_why) = match line.outcome {
            9 => (
                "con esito 9 (pagato senza RPT)",
                "with outcome 9 (paid without RPT)",
            ),
            8 => (
                "con esito 8 (pagato in Stand-In senza RPT)",
                "with outcome 8 (paid in Stand-In without RPT)",
            ),
            _ => ("", ""),
        };
        ex(
            format!(
                "Il PSP ha rendicontato lo {} il {} per {} {it_why} nel flusso {flow}, ma \
                 nessuna ricevuta è arrivata a Sportello: richiedere la ricevuta al Nodo \
                 (getOrganizationReceipt) o al PSP; il pagamento è registrato senza ricevuta.",
                self.it(),
                it_date(line.date),
                it_euro(line.amount)
            ),
            format!(
                "The PSP reported {} on {} for {} {en_why} in flow {flow}, but no receipt \
                 reached Sportello: request the receipt from the node (getOrganizationReceipt) \
                 or the PSP; the payment is recorded without a receipt.",
                self.en(),
                en_date(line.date),
                en_euro(line.amount)
            ),
        )
    }

    fn credited_alone(&self, movement: &str) -> Explanation {
        ex(
            format!(
                "Lo {} pagato il {} per {} è stato accreditato singolarmente con il movimento \
                 {movement}.",
                self.it(),
                it_date(self.date),
                it_euro(self.amount)
            ),
            format!(
                "{} paid on {} for {} was credited on its own by movement {movement}.",
                self.en(),
                en_date(self.date),
                en_euro(self.amount)
            ),
        )
    }

    fn single_amount(&self, movement: &str, credited: i64, paid: i64) -> Explanation {
        ex(
            format!(
                "Il movimento {movement} accredita {} per lo {}, la ricevuta {}: verificare \
                 con la tesoreria e il PSP la differenza di {}.",
                it_euro(credited),
                self.it(),
                it_euro(paid),
                it_euro((credited - paid).abs())
            ),
            format!(
                "Movement {movement} credits {} for {}, the receipt says {}: check the \
                 difference of {} with the treasury and the PSP.",
                en_euro(credited),
                self.en(),
                en_euro(paid),
                en_euro((credited - paid).abs())
            ),
        )
    }

    fn awaiting_flow(&self, psp: &str, deadline: NaiveDate) -> Explanation {
        ex(
            format!(
                "Lo {} è pagato; il PSP {psp} ha tempo fino al {} per rendicontarlo.",
                self.it(),
                it_date(deadline)
            ),
            format!(
                "{} is paid; PSP {psp} has until {} to report it.",
                self.en(),
                en_date(deadline)
            ),
        )
    }

    fn not_reported(&self, receipt: &str, psp: &str, deadline: NaiveDate) -> Explanation {
        ex(
            format!(
                "Lo {} è stato pagato il {} per {} (ricevuta {receipt}) ma il PSP {psp} non \
                 l'ha rendicontato entro il {}: sollecitare il flusso al PSP o acquisirlo dal \
                 Nodo.",
                self.it(),
                it_date(self.date),
                it_euro(self.amount),
                it_date(deadline)
            ),
            format!(
                "{} was paid on {} for {} (receipt {receipt}) but PSP {psp} did not report it \
                 by {}: ask the PSP for the flow or fetch it from the node.",
                self.en(),
                en_date(self.date),
                en_euro(self.amount),
                en_date(deadline)
            ),
        )
    }

    fn line_amount(&self, flow: &str, reported: i64, receipt: &str, paid: i64) -> Explanation {
        ex(
            format!(
                "Il flusso {flow} riporta lo {} per {}, la ricevuta {receipt} per {}: chiedere \
                 al PSP di correggere il flusso.",
                self.it(),
                it_euro(reported),
                it_euro(paid)
            ),
            format!(
                "Flow {flow} reports {} for {}, receipt {receipt} for {}: ask the PSP to \
                 correct the flow.",
                self.en(),
                en_euro(reported),
                en_euro(paid)
            ),
        )
    }

    fn header(&self, f: &FlowFact) -> Explanation {
        ex(
            format!(
                "Il flusso {} dichiara {} pagamenti per {} ma le sue righe sono {} per {}; lo \
                 {} vi compare: chiedere al PSP una nuova revisione del flusso.",
                f.flow_id,
                f.declared_count,
                it_euro(f.declared_total),
                f.lines_count,
                it_euro(f.lines_total),
                self.it()
            ),
            format!(
                "Flow {} declares {} payments for {} but its lines are {} for {}; {} is in it: \
                 ask the PSP for a new revision of the flow.",
                f.flow_id,
                f.declared_count,
                en_euro(f.declared_total),
                f.lines_count,
                en_euro(f.lines_total),
                self.en()
            ),
        )
    }

    fn awaiting_credit(&self, f: &FlowFact, deadline: NaiveDate) -> Explanation {
        ex(
            format!(
                "Lo {} è rendicontato nel flusso {} regolato il {}; l'accredito è atteso in \
                 tesoreria entro il {}.",
                self.it(),
                f.flow_id,
                it_date(f.regulation_date),
                it_date(deadline)
            ),
            format!(
                "{} is reported in flow {} settled on {}; the credit is expected at the \
                 treasury by {}.",
                self.en(),
                f.flow_id,
                en_date(f.regulation_date),
                en_date(deadline)
            ),
        )
    }

    fn not_credited(&self, f: &FlowFact) -> Explanation {
        ex(
            format!(
                "Lo {} è nel flusso {} del PSP {} ({}, regolamento del {}) ma nessun \
                 movimento di tesoreria lo cita: chiedere alla tesoreria l'accredito con causale \
                 /PUR/LGPE-RIVERSAMENTO/URI/{} o al PSP la prova del bonifico.",
                self.it(),
                f.flow_id,
                f.psp_id,
                it_euro(f.declared_total),
                it_date(f.regulation_date),
                f.flow_id
            ),
            format!(
                "{} is in flow {} of PSP {} ({}, settled on {}) but no treasury movement names \
                 it: ask the treasury for the credit with remittance \
                 /PUR/LGPE-RIVERSAMENTO/URI/{} or the PSP for proof of the transfer.",
                self.en(),
                f.flow_id,
                f.psp_id,
                en_euro(f.declared_total),
                en_date(f.regulation_date),
                f.flow_id
            ),
        )
    }

    fn credit_amount(&self, f: &FlowFact) -> Explanation {
        ex(
            format!(
                "La tesoreria ha accreditato {} per il flusso {} (movimenti {}), che ne \
                 dichiara {}; lo {} vi compare: chiedere al PSP {} di regolare la differenza di \
                 {}.",
                it_euro(f.credited),
                f.flow_id,
                f.movements.join(", "),
                it_euro(f.declared_total),
                self.it(),
                f.psp_id,
                it_euro((f.credited - f.declared_total).abs())
            ),
            format!(
                "The treasury credited {} for flow {} (movements {}), which declares {}; {} is \
                 in it: ask PSP {} to settle the difference of {}.",
                en_euro(f.credited),
                f.flow_id,
                f.movements.join(", "),
                en_euro(f.declared_total),
                self.en(),
                f.psp_id,
                en_euro((f.credited - f.declared_total).abs())
            ),
        )
    }

    fn reconciled(&self, receipt: &str, f: &FlowFact) -> Explanation {
        ex(
            format!(
                "Lo {} (ricevuta {receipt}, {}) è rendicontato nel flusso {} e accreditato \
                 (movimento {}).",
                self.it(),
                it_euro(self.amount),
                f.flow_id,
                f.movements.join(", ")
            ),
            format!(
                "{} (receipt {receipt}, {}) is reported in flow {} and credited (movement {}).",
                self.en(),
                en_euro(self.amount),
                f.flow_id,
                f.movements.join(", ")
            ),
        )
    }
}

/// `€ 1.234,56`.
pub fn it_euro(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let units = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{sign}€ {grouped},{:02}", c % 100)
}

/// `€1,234.56`.
pub fn en_euro(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let units = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}€{grouped}.{:02}", c % 100)
}

fn it_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn en_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn easter_dates_match_the_calendar() {
        // Published dates of Easter Sunday.
        assert_eq!(easter(2024), d(2024, 3, 31));
        assert_eq!(easter(2025), d(2025, 4, 20));
        assert_eq!(easter(2026), d(2026, 4, 5));
        assert_eq!(easter(2027), d(2027, 3, 28));
        assert_eq!(easter(2038), d(2038, 4, 25));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        // Friday 24 April 2026 + 2: Monday 27 (25 April is a Saturday anyway), Tuesday 28.
        assert_eq!(reporting_deadline(d(2026, 4, 24)), d(2026, 4, 28));
        // Thursday 31 December 2026: 1 January (holiday), Saturday, Sunday, Monday 4, Tuesday 5.
        assert_eq!(reporting_deadline(d(2026, 12, 31)), d(2027, 1, 5));
        // Easter Monday 6 April 2026 is not a working day.
        assert!(!is_working_day(d(2026, 4, 6)));
        assert_eq!(reporting_deadline(d(2026, 4, 3)), d(2026, 4, 8));
        // 4 October counts from 2026 only (a Monday in 2027, a Thursday in 2025).
        assert!(is_working_day(d(2025, 10, 3)));
        assert!(!is_working_day(d(2027, 10, 4)));
        assert!(is_national_holiday(d(2025, 12, 8)));
    }

    #[test]
    fn euro_formats_group_and_keep_cents() {
        assert_eq!(it_euro(123_456_789), "€ 1.234.567,89");
        assert_eq!(en_euro(5), "€0.05");
        assert_eq!(en_euro(-100_000), "-€1,000.00");
    }

    fn flow(digest: &str, total: i64, credited: i64) -> FlowFact {
        FlowFact {
            digest: digest.into(),
            flow_id: format!("2026-03-02PSP1-{digest}"),
            psp_id: "PSP1".into(),
            revision: 1,
            regulation_date: d(2026, 3, 2),
            declared_count: 1,
            declared_total: total,
            lines_count: 1,
            lines_total: total,
            conflict: false,
            superseded: false,
            credited,
            movements: if credited > 0 {
                vec!["gdc/1".into()]
            } else {
                vec![]
            },
        }
    }

    fn receipt(iuv: &str, amount: i64) -> ReceiptFact {
        ReceiptFact {
            receipt_id: format!("r-{iuv}"),
            iuv: iuv.into(),
            psp_id: "PSP1".into(),
            paid_on: d(2026, 2, 27),
            double_payment: false,
            lines: vec![ReceiptLine {
                index: 1,
                amount,
                beneficiary: "00000000000".into(),
                iban: None,
                metadata: vec![],
            }],
        }
    }

    fn line(flow: &str, iuv: &str, amount: i64, outcome: u8) -> LineFact {
        LineFact {
            flow: flow.into(),
            iuv: iuv.into(),
            iur: format!("r-{iuv}"),
            index: 1,
            amount,
            outcome,
            date: d(2026, 2, 27),
            foreign: false,
        }
    }

    fn one(facts: &Facts, today: NaiveDate) -> Item {
        let items = classify(facts, today);
        assert_eq!(items.len(), 1, "{items:?}");
        items.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn each_class_from_its_facts() {
        let late = d(2026, 3, 20);
        let base = Facts {
            receipts: vec![receipt("1", 500)],
            flows: vec![flow("a", 500, 500)],
            lines: vec![line("a", "1", 500, 0)],
            ..Facts::default()
        };
        assert_eq!(one(&base, late).class, Class::Reconciled);

        let mut f = base.clone();
        f.lines.clear();
        assert_eq!(one(&f, d(2026, 3, 3)).class, Class::Pending);
        assert_eq!(one(&f, d(2026, 3, 4)).class, Class::PaidNotReported);

        let mut f = base.clone();
        f.flows[0].credited = 0;
        f.flows[0].movements.clear();
        assert_eq!(one(&f, d(2026, 3, 4)).class, Class::Pending);
        assert_eq!(one(&f, d(2026, 3, 5)).class, Class::ReportedNotTransferred);

        let mut f = base.clone();
        f.receipts.clear();
        f.lines[0].outcome = 9;
        let item = one(&f, late);
        assert_eq!(item.class, Class::ReportedNotPaid);
        assert!(item.explanation.it.contains("esito 9"));

        let mut f = base.clone();
        f.flows[0].credited = 499;
        assert_eq!(one(&f, late).class, Class::AmountMismatch);
        let mut f = base.clone();
        f.lines[0].amount = 400;
        assert_eq!(one(&f, late).class, Class::AmountMismatch);
        let mut f = base.clone();
        f.flows[0].declared_count = 2;
        assert_eq!(one(&f, late).class, Class::AmountMismatch);

        let mut f = base.clone();
        f.lines.push(line("a", "1", 500, 0));
        assert_eq!(one(&f, late).class, Class::Duplicate);
        let mut f = base.clone();
        f.receipts[0].double_payment = true;
        assert_eq!(one(&f, late).class, Class::Duplicate);

        let mut f = base.clone();
        f.lines[0].outcome = 3;
        assert_eq!(one(&f, late).class, Class::Revoked);

        // A superseded revision's lines no longer count.
        let mut f = base.clone();
        f.flows[0].superseded = true;
        assert_eq!(one(&f, late).class, Class::PaidNotReported);

        // Credited on its own.
        let mut f = base;
        f.lines.clear();
        f.singles.push(MovementFact {
            id: "gdc/9".into(),
            amount: 500,
            date: d(2026, 3, 2),
            reference: MovementRef::Iuv {
                iuv: "1".into(),
                amount: Some(500),
            },
        });
        assert_eq!(one(&f, late).class, Class::Reconciled);
    }

    #[test]
    fn unmatched_movements_are_items_matched_ones_are_not() {
        let m = |id: &str, r: MovementRef| MovementFact {
            id: id.into(),
            amount: 100,
            date: d(2026, 3, 2),
            reference: r,
        };
        let facts = Facts {
            movements: vec![
                m("x/1", MovementRef::Flow("F1".into())),
                m("x/2", MovementRef::Flow("F2".into())),
                m("x/3", MovementRef::None),
                m(
                    "x/4",
                    MovementRef::Iuv {
                        iuv: "9".into(),
                        amount: None,
                    },
                ),
            ],
            known_flow_ids: ["F1".to_owned()].into(),
            ..Facts::default()
        };
        let items = classify(&facts, d(2026, 3, 3));
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["m:x/2", "m:x/3", "m:x/4"]);
        assert!(items.iter().all(|i| i.class == Class::TransferUnmatched));
        assert!(items[0].explanation.en.contains("F2"));
    }
}
