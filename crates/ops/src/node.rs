//! The ente's station towards the pagoPA node: what Sportello answers to `paVerifyPaymentNotice`,
//! `paGetPayment(V2)` and `paSendRT(V2)` once the SOAP adapter has parsed them. Who may call is
//! decided here from the station assignments (broker, station, the enti they serve); the state
//! of the notice gives GPD's fault mapping; a receipt is stored (sealed) in the same
//! transaction as the payment it makes and the job that carries its effects (message PAID, the
//! `paid` callback), so a repeated receipt is a no-op and a crash can lose neither.
//!
//! Every answer is a [`Response`]; an internal failure is a `PAA_SYSTEM_ERROR` whose cause goes
//! to the log only.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kernel::jobs::JobKind;
use kernel::ports::StoreError;
use kernel::values::{FiscalCode, OrganizationFiscalCode};
use pagopa::{
    Caller, EntityType, Fault, FaultCode, MapEntry, PaymentData, QrCode, Receipt, ReceiptTarget,
    Request, Response, Subject, TransferData, TransferTarget, TransferType, VerifyOk,
};
use payments::model::Destination;
use payments::node::Refusal;
use payments::ports::{
    PaymentsStore, PositionJob, PositionWrite, Profile, ReceiptEffect, ReceiptOutcome,
    ReceiptWrite, Station, StoredReceipt,
};
use payments::{Debtor, DebtorType, PaymentRecord, Position};
use seal::Keyring;

use crate::payments::{PayContext, jobs_for, wake, with_actor};

/// Everything the station needs.
#[derive(Clone, Copy)]
pub struct NodeContext<'a> {
    pub pay: PayContext<'a>,
    /// Seals the receipts.
    pub keyring: &'a Keyring,
    pub stations: &'a StationCache,
    /// Writes the receipts, concurrent ones in one transaction.
    pub receipts: &'a ReceiptWriter,
}

/// Largest group of receipts written in one transaction.
pub const MAX_RECEIPT_GROUP: usize = 128;

type ReceiptReply = tokio::sync::oneshot::Sender<Result<ReceiptOutcome, StoreError>>;

/// Group commit of receipts: each writer task takes every receipt queued meanwhile (up to
/// [`MAX_RECEIPT_GROUP`]) and writes them in one transaction, so one fsync makes them all
/// durable before any is answered; a duplicate or a conflict in the group fails only its own
/// receipt. No artificial delay: a receipt alone is written alone.
#[derive(Clone)]
pub struct ReceiptWriter {
    tx: tokio::sync::mpsc::Sender<(ReceiptWrite, ReceiptReply)>,
}

impl ReceiptWriter {
    /// Starts `writers` writer tasks on the current runtime (1 for SQLite's single writer).
    pub fn start(store: Arc<dyn PaymentsStore>, writers: usize) -> Self {
        let (tx, rx) =
            tokio::sync::mpsc::channel::<(ReceiptWrite, ReceiptReply)>(MAX_RECEIPT_GROUP * 8);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            tokio::spawn(async move {
                let mut group = Vec::with_capacity(MAX_RECEIPT_GROUP);
                loop {
                    {
                        let mut rx = rx.lock().await;
                        if rx.recv_many(&mut group, MAX_RECEIPT_GROUP).await == 0 {
                            return;
                        }
                    }
                    let (writes, replies): (Vec<_>, Vec<_>) = group.drain(..).unzip();
                    match store.record_receipts(&writes).await {
                        Ok(outcomes) => {
                            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                                let _ = reply.send(outcome);
                            }
                        }
                        Err(e) => {
                            let text = e.to_string();
                            for reply in replies {
                                let _ = reply.send(Err(StoreError::Backend(text.clone())));
                            }
                        }
                    }
                }
            });
        }
        Self { tx }
    }

    /// Writes one receipt (and its payment) durably; returns what happened.
    pub async fn submit(&self, write: ReceiptWrite) -> Result<ReceiptOutcome, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .send((write, reply))
            .await
            .map_err(|_| StoreError::Backend("receipt writers stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("a receipt writer dropped the request".into()))?
    }
}

/// The station assignments, read from the store and kept for a few seconds; a caller that does
/// not match makes it read them again (at most every quarter second) before it is refused, so
/// an assignment made by another process is seen at once.
#[derive(Debug)]
pub struct StationCache {
    inner: RwLock<Option<(Instant, Arc<Assignments>)>>,
    reload: tokio::sync::Mutex<Instant>,
    /// The payments profiles of the enti called recently, each kept for as long as the
    /// assignments.
    profiles: RwLock<HashMap<String, (Instant, Profile)>>,
}

#[derive(Debug, Default)]
struct Assignments {
    by_ente: HashMap<String, Station>,
    brokers: HashSet<String>,
    stations: HashSet<(String, String)>,
    /// Enti an operator disabled: the node gets no data about their notices (their receipts
    /// are still taken: the money has moved).
    disabled: HashSet<String>,
}

const FRESH: Duration = Duration::from_secs(5);
const RELOAD_GAP: Duration = Duration::from_millis(250);

impl Default for StationCache {
    fn default() -> Self {
        Self {
            inner: RwLock::new(None),
            reload: tokio::sync::Mutex::new(Instant::now() - RELOAD_GAP * 2),
            profiles: RwLock::new(HashMap::new()),
        }
    }
}

impl StationCache {
    fn current(&self) -> Option<Arc<Assignments>> {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < FRESH)
            .map(|(_, a)| a.clone())
    }

    async fn load(&self, cx: NodeContext<'_>, forced: bool) -> crate::Result<Arc<Assignments>> {
        let mut last = self.reload.lock().await;
        if let Some(a) = self.current()
            && (!forced || last.elapsed() < RELOAD_GAP)
        {
            return Ok(a);
        }
        let mut a = Assignments::default();
        for o in cx.pay.store.list_organizations().await? {
            if o.disabled {
                a.disabled.insert(o.fiscal_code.as_str().to_owned());
            }
        }
        for (org, s) in cx.pay.store.stations().await? {
            a.brokers.insert(s.broker_id.clone());
            a.stations
                .insert((s.broker_id.clone(), s.station_id.clone()));
            a.by_ente.insert(org.as_str().to_owned(), s);
        }
        let a = Arc::new(a);
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), a.clone()));
        *last = Instant::now();
        Ok(a)
    }

    /// Forgets the assignments and profiles (after this process changed one).
    pub fn clear(&self) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = None;
        self.profiles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    async fn profile(
        &self,
        cx: NodeContext<'_>,
        org: &OrganizationFiscalCode,
    ) -> crate::Result<Option<Profile>> {
        if let Some((at, p)) = self
            .profiles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(org.as_str())
            && at.elapsed() < FRESH
        {
            return Ok(Some(p.clone()));
        }
        let found = cx.pay.store.payments_profile(org).await?;
        if let Some(p) = &found {
            let mut map = self.profiles.write().unwrap_or_else(|e| e.into_inner());
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(org.as_str().to_owned(), (Instant::now(), p.clone()));
        }
        Ok(found)
    }
}

/// Answers one request of the node.
pub async fn handle(cx: NodeContext<'_>, request: Request) -> Response {
    let op = request.operation();
    let id_pa = request.caller().id_pa.clone();
    let result = match request {
        Request::Verify { caller, qr } => verify(cx, &caller, &qr).await.map(Response::Verify),
        Request::GetPayment {
            v2,
            caller,
            qr,
            transfer_type,
            ..
        } => get_payment(cx, v2, &caller, &qr, transfer_type)
            .await
            .map(|result| Response::GetPayment {
                v2,
                result: result.map(Box::new),
            }),
        Request::SendRt {
            v2,
            caller,
            receipt,
        } => send_rt(cx, v2, &caller, *receipt)
            .await
            .map(|result| Response::SendRt { v2, result }),
        Request::Demand { caller } => match check_caller(cx, &caller, false).await {
            Ok(Err(f)) => Ok(Response::Demand(f)),
            Ok(Ok(_)) => Ok(Response::Demand(Fault::new(
                FaultCode::Semantica,
                &caller.id_pa,
                "paDemandPaymentNotice is not supported by this station",
            ))),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(operation = op.name(), error = %e, "pagoPA node request failed");
            Response::ko(
                op,
                Fault::new(
                    FaultCode::SystemError,
                    id_pa,
                    "internal error of the station; try again later",
                ),
            )
        }
    }
}

type Answer<T> = crate::Result<Result<T, Fault>>;

/// The station checks: broker known, station known under it, the ente served by it and with
/// payments enabled.
async fn check_caller(cx: NodeContext<'_>, caller: &Caller, receipt: bool) -> Answer<Profile> {
    let mut a = match cx.stations.current() {
        Some(a) => a,
        None => cx.stations.load(cx, false).await?,
    };
    let mut fault = refusal_of_caller(&a, caller);
    if fault.is_some() {
        a = cx.stations.load(cx, true).await?;
        fault = refusal_of_caller(&a, caller);
    }
    if let Some(f) = fault {
        return Ok(Err(f));
    }
    if !receipt && a.disabled.contains(&caller.id_pa) {
        return Ok(Err(Fault::new(
            FaultCode::IdDominioErrato,
            &caller.id_pa,
            format!("ente {} is disabled on this installation", caller.id_pa),
        )));
    }
    let not_served = || {
        Fault::new(
            FaultCode::IdDominioErrato,
            &caller.id_pa,
            format!("ente {} has no payments set up", caller.id_pa),
        )
    };
    let Ok(org) = OrganizationFiscalCode::parse(&caller.id_pa) else {
        return Ok(Err(not_served()));
    };
    match cx.stations.profile(cx, &org).await? {
        Some(p) => Ok(Ok(p)),
        None => Ok(Err(not_served())),
    }
}

fn refusal_of_caller(a: &Assignments, c: &Caller) -> Option<Fault> {
    if !a.brokers.contains(&c.id_broker_pa) {
        return Some(Fault::new(
            FaultCode::IdIntermediarioErrato,
            &c.id_pa,
            format!(
                "idBrokerPA {} is not a broker of this installation",
                c.id_broker_pa
            ),
        ));
    }
    if !a
        .stations
        .contains(&(c.id_broker_pa.clone(), c.id_station.clone()))
    {
        return Some(Fault::new(
            FaultCode::StazioneIntErrata,
            &c.id_pa,
            format!(
                "idStation {} is not a station of broker {}",
                c.id_station, c.id_broker_pa
            ),
        ));
    }
    match a.by_ente.get(&c.id_pa) {
        Some(s) if s.broker_id == c.id_broker_pa && s.station_id == c.id_station => None,
        _ => Some(Fault::new(
            FaultCode::IdDominioErrato,
            &c.id_pa,
            format!(
                "ente {} is not served by station {} of broker {}",
                c.id_pa, c.id_station, c.id_broker_pa
            ),
        )),
    }
}

/// The caller checks, then the notice found and payable.
async fn payable(
    cx: NodeContext<'_>,
    caller: &Caller,
    qr: &QrCode,
) -> Answer<(Profile, Position, usize)> {
    let profile = match check_caller(cx, caller, false).await? {
        Ok(p) => p,
        Err(f) => return Ok(Err(f)),
    };
    if qr.fiscal_code != caller.id_pa {
        return Ok(Err(Fault::new(
            FaultCode::Semantica,
            &caller.id_pa,
            format!(
                "qrCode/fiscalCode {} differs from idPA {}",
                qr.fiscal_code, caller.id_pa
            ),
        )));
    }
    let found = cx
        .pay
        .store
        .position_by_notice(&profile.organization, &qr.notice_number)
        .await?;
    let Some((p, i)) = found.and_then(|p| {
        let i = p
            .options
            .iter()
            .position(|o| o.nav.as_str() == qr.notice_number)?;
        Some((p, i))
    }) else {
        return Ok(Err(refusal_fault(Refusal::Unknown, caller, qr)));
    };
    let now = cx.pay.clock.now();
    if let Err(r) = p.node_check(i, now, now) {
        return Ok(Err(refusal_fault(r, caller, qr)));
    }
    Ok(Ok((profile, p, i)))
}

fn refusal_fault(r: Refusal, caller: &Caller, qr: &QrCode) -> Fault {
    let n = &qr.notice_number;
    let (code, detail) = match r {
        Refusal::Unknown => (
            FaultCode::PagamentoSconosciuto,
            format!("notice {n} is unknown or not yet payable"),
        ),
        Refusal::Expired => (
            FaultCode::PagamentoScaduto,
            format!("notice {n} has expired"),
        ),
        Refusal::Cancelled => (
            FaultCode::PagamentoAnnullato,
            format!("notice {n} was cancelled by the ente"),
        ),
        Refusal::Duplicate => (
            FaultCode::PagamentoDuplicato,
            format!("notice {n} is already paid"),
        ),
    };
    Fault::new(code, &caller.id_pa, detail)
}

async fn verify(cx: NodeContext<'_>, caller: &Caller, qr: &QrCode) -> Answer<VerifyOk> {
    let (_, p, i) = match payable(cx, caller, qr).await? {
        Ok(v) => v,
        Err(f) => return Ok(Err(f)),
    };
    let o = &p.options[i];
    let all_ccp = o.transfers.iter().all(|t| {
        matches!(
            t.destination,
            Destination::Account {
                postal_iban: Some(_),
                ..
            }
        )
    });
    Ok(Ok(VerifyOk {
        amount: o.amount,
        due_date: Some(pagopa::daybook::italian_date(o.due_date)),
        detail_description: o.option_description.clone(),
        all_ccp,
        payment_description: o.description.clone(),
        fiscal_code_pa: p.organization.as_str().to_owned(),
        company_name: p.company_name.clone(),
        office_name: p.office_name.clone(),
    }))
}

/// The key under which the postal IBAN travels when the bank IBAN is the one answered.
const POSTAL_IBAN_KEY: &str = "IBANAPPOGGIO";

async fn get_payment(
    cx: NodeContext<'_>,
    v2: bool,
    caller: &Caller,
    qr: &QrCode,
    transfer_type: Option<TransferType>,
) -> Answer<PaymentData> {
    let (_, p, i) = match payable(cx, caller, qr).await? {
        Ok(v) => v,
        Err(f) => return Ok(Err(f)),
    };
    let o = &p.options[i];
    let mut transfers = Vec::with_capacity(o.transfers.len());
    for t in &o.transfers {
        let mut metadata = map_entries(&t.metadata);
        let target = match &t.destination {
            Destination::Account { iban, postal_iban } => {
                let chosen = match (transfer_type, iban, postal_iban) {
                    (Some(TransferType::Postal), _, Some(postal)) => postal,
                    (_, Some(bank), postal) => {
                        if let Some(postal) = postal {
                            metadata.push(MapEntry {
                                key: POSTAL_IBAN_KEY.into(),
                                value: postal.to_string(),
                            });
                        }
                        bank
                    }
                    (_, None, Some(postal)) => postal,
                    (_, None, None) => {
                        return Ok(Err(Fault::new(
                            FaultCode::Semantica,
                            &caller.id_pa,
                            format!(
                                "transfer {} of notice {} has no account",
                                t.id, qr.notice_number
                            ),
                        )));
                    }
                };
                TransferTarget::Iban(chosen.to_string())
            }
            Destination::Stamp(s) if v2 => TransferTarget::Stamp {
                hash_document: s.hash_document.clone(),
                stamp_type: s.stamp_type.clone(),
                province: s.provincial_residence.clone(),
            },
            Destination::Stamp(_) => {
                return Ok(Err(Fault::new(
                    FaultCode::Semantica,
                    &caller.id_pa,
                    format!(
                        "notice {} includes a digital stamp: it is paid with paGetPaymentV2",
                        qr.notice_number
                    ),
                )));
            }
        };
        transfers.push(TransferData {
            id_transfer: t.id,
            amount: t.amount,
            fiscal_code_pa: t.organization.as_str().to_owned(),
            company_name: v2.then(|| t.company_name.clone()).flatten(),
            target,
            remittance_information: t.remittance_information.clone(),
            transfer_category: t.category.as_str().to_owned(),
            metadata,
        });
    }
    let debtor = o.debtor.as_ref().unwrap_or(&p.debtor);
    Ok(Ok(PaymentData {
        creditor_reference_id: o.iuv.clone(),
        payment_amount: o.transfers.iter().map(|t| t.amount).sum(),
        due_date: pagopa::daybook::italian_date(o.due_date),
        retention_date: o.retention_date,
        last_payment: p.last_payment(i),
        description: o.description.clone(),
        company_name: p.company_name.clone(),
        office_name: p.office_name.clone(),
        debtor: subject(debtor),
        transfers,
        metadata: map_entries(&o.metadata),
    }))
}

fn map_entries(m: &[payments::values::Metadata]) -> Vec<MapEntry> {
    m.iter()
        .map(|e| MapEntry {
            key: e.key.clone(),
            value: e.value.clone(),
        })
        .collect()
}

fn subject(d: &Debtor) -> Subject {
    Subject {
        kind: match d.code.kind() {
            DebtorType::F => EntityType::Person,
            DebtorType::G => EntityType::Legal,
        },
        id: d.code.as_str().to_owned(),
        full_name: d.full_name.clone(),
        street_name: d.street_name.clone(),
        civic_number: d.civic_number.clone(),
        postal_code: d.postal_code.clone(),
        city: d.city.clone(),
        state_province_region: d.province.clone(),
        country: d.country.clone(),
        email: d.email.clone(),
    }
}

/// Stores the receipt; for the issuing ente it pays the option in the same transaction. The
/// same receipt again is `PAA_RECEIPT_DUPLICATA` with no effect; a receipt for a notice that is
/// unknown or cannot be paid is refused with the verify mapping and nothing is stored; another
/// receipt for an option already paid is kept as a double payment (for reconciliation) and
/// answered `PAA_PAGAMENTO_DUPLICATO`.
async fn send_rt(cx: NodeContext<'_>, v2: bool, caller: &Caller, receipt: Receipt) -> Answer<()> {
    let profile = match check_caller(cx, caller, true).await? {
        Ok(p) => p,
        Err(f) => return Ok(Err(f)),
    };
    let org = profile.organization.clone();
    let id = &receipt.receipt_id;
    if !(1..=35).contains(&id.chars().count()) || id.chars().any(|c| c.is_control() || c == '/') {
        return Ok(Err(Fault::new(
            FaultCode::Semantica,
            &caller.id_pa,
            "receipt/receiptId must be 1 to 35 characters, without '/' or control characters",
        )));
    }
    if let Some(stored) = cx.pay.store.receipt(&org, id).await? {
        return Ok(Err(repeated(caller, &receipt, &stored)));
    }
    let own_amount: i64 = receipt
        .transfers
        .iter()
        .filter(|t| t.fiscal_code_pa == caller.id_pa)
        .map(|t| t.amount)
        .sum();
    let issuer = receipt.fiscal_code == caller.id_pa;
    if !issuer && own_amount == 0 {
        return Ok(Err(Fault::new(
            FaultCode::Semantica,
            &caller.id_pa,
            format!(
                "receipt {id} is for ente {} and has no transfer to ente {}",
                receipt.fiscal_code, caller.id_pa
            ),
        )));
    }
    let total: i64 = receipt.transfers.iter().map(|t| t.amount).sum();
    if total != receipt.payment_amount {
        return Ok(Err(Fault::new(
            FaultCode::Semantica,
            &caller.id_pa,
            format!("receipt {id}: the transfers do not add up to paymentAmount"),
        )));
    }
    if receipt
        .transfers
        .iter()
        .any(|t| matches!(t.target, ReceiptTarget::Stamp { stamp: None, .. }))
    {
        tracing::warn!(
            organization = %org,
            "a receipt's MBDAttachment is not a MarcaDaBollo document; kept as received"
        );
    }
    let qr = QrCode {
        fiscal_code: receipt.fiscal_code.clone(),
        notice_number: receipt.notice_number.clone(),
    };
    for _ in 0..5 {
        let now = cx.pay.clock.now();
        // A payment is judged at the time it was made (a receipt may arrive after the due
        // date of a notice paid before it), never later than now.
        let paid_at = receipt.payment_date_time.map_or(now, |t| t.min(now));
        let (effect, position) = if !receipt.outcome_ok {
            (ReceiptEffect::Failed, None)
        } else if !issuer {
            (ReceiptEffect::Beneficiary, None)
        } else {
            let found = cx
                .pay
                .store
                .position_by_notice(&org, &receipt.notice_number)
                .await?;
            let Some((p, i)) = found.and_then(|p| {
                let i = p
                    .options
                    .iter()
                    .position(|o| o.nav.as_str() == receipt.notice_number)?;
                Some((p, i))
            }) else {
                return Ok(Err(refusal_fault(Refusal::Unknown, caller, &qr)));
            };
            if p.options[i].iuv != receipt.creditor_reference_id {
                return Ok(Err(Fault::new(
                    FaultCode::Semantica,
                    &caller.id_pa,
                    format!(
                        "creditorReferenceId {} is not the IUV of notice {}",
                        receipt.creditor_reference_id, receipt.notice_number
                    ),
                )));
            }
            match p.node_check(i, now, paid_at) {
                Ok(()) => (ReceiptEffect::Applied, Some((p, i))),
                // The money arrived for something already settled: kept for reconciliation.
                Err(Refusal::Duplicate) => (ReceiptEffect::DoublePayment, Some((p, i))),
                Err(r) => return Ok(Err(refusal_fault(r, caller, &qr))),
            }
        };
        let position_id = position.as_ref().map(|(p, _)| p.id);
        let write = match (&effect, position) {
            (ReceiptEffect::Applied, Some((mut p, i))) => {
                let version = p.version;
                let before = p.status;
                let events = match p.pay(i, payment_record(&receipt, now), now) {
                    Ok(e) => e,
                    Err(e) => {
                        return Ok(Err(Fault::new(
                            FaultCode::Semantica,
                            &caller.id_pa,
                            format!("notice {}: {e}", receipt.notice_number),
                        )));
                    }
                };
                let mut jobs = vec![PositionJob {
                    kind: JobKind::OptionPaid,
                    subject_id: format!("{}:{i}", p.id),
                    due_at: now,
                }];
                jobs.extend(jobs_for(&p, Some(before), &profile, now));
                Some((
                    PositionWrite {
                        position: p,
                        event: with_actor(events, "pagopa-node"),
                        jobs,
                    },
                    version,
                ))
            }
            _ => None,
        };
        let stored = stored_receipt(cx, &org, v2, &receipt, effect, position_id, own_amount, now)?;
        let jobs = write
            .as_ref()
            .map(|(w, _)| w.jobs.clone())
            .unwrap_or_default();
        match cx
            .receipts
            .submit(ReceiptWrite {
                receipt: stored,
                effect: write,
            })
            .await
        {
            Ok(ReceiptOutcome::Duplicate) => {
                return Ok(Err(match cx.pay.store.receipt(&org, id).await? {
                    Some(first) => repeated(caller, &receipt, &first),
                    None => duplicate(caller, &receipt),
                }));
            }
            Ok(ReceiptOutcome::Stored) => {
                wake(cx.pay, &jobs);
                tracing::info!(
                    effect = effect.as_str(),
                    organization = %org,
                    "pagoPA receipt stored"
                );
                return Ok(match effect {
                    ReceiptEffect::DoublePayment => Err(double_payment(caller, &receipt)),
                    _ => Ok(()),
                });
            }
            Err(StoreError::Conflict(m)) if m.contains("changed meanwhile") => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::Error::Conflict(
        "the position kept changing while the receipt was applied".into(),
    ))
}

fn duplicate(caller: &Caller, r: &Receipt) -> Fault {
    Fault::new(
        FaultCode::ReceiptDuplicata,
        &caller.id_pa,
        format!("receipt {} was already received", r.receipt_id),
    )
}

fn double_payment(caller: &Caller, r: &Receipt) -> Fault {
    Fault::new(
        FaultCode::PagamentoDuplicato,
        &caller.id_pa,
        format!(
            "notice {} was already paid; receipt {} is kept as a double payment",
            r.notice_number, r.receipt_id
        ),
    )
}

/// The answer to a receipt id the ente already holds: the same answer as the first time for
/// the same receipt (a double payment stays a double payment), a semantic error for another
/// notice under a used id.
fn repeated(caller: &Caller, r: &Receipt, first: &StoredReceipt) -> Fault {
    if first.notice_number != r.notice_number || first.iuv != r.creditor_reference_id {
        return Fault::new(
            FaultCode::Semantica,
            &caller.id_pa,
            format!(
                "receiptId {} was already used for another notice",
                r.receipt_id
            ),
        );
    }
    match first.effect {
        ReceiptEffect::DoublePayment => double_payment(caller, r),
        _ => duplicate(caller, r),
    }
}

fn payment_record(r: &Receipt, now: DateTime<Utc>) -> PaymentRecord {
    PaymentRecord {
        payment_date: r.payment_date_time.unwrap_or(now),
        payment_method: r.payment_method.clone(),
        psp_code: Some(r.id_psp.clone()),
        psp_tax_code: r.psp_fiscal_code.clone(),
        psp_company: Some(r.psp_company_name.clone()),
        receipt_id: Some(r.receipt_id.clone()),
        fee: r.fee,
        outside_pagopa: false,
    }
}

/// The sealing context of a stored receipt: its ente and id.
pub fn receipt_context(org: &OrganizationFiscalCode, receipt_id: &str) -> String {
    format!("pagopa-receipt:{org}:{receipt_id}")
}

#[allow(clippy::too_many_arguments)]
fn stored_receipt(
    cx: NodeContext<'_>,
    org: &OrganizationFiscalCode,
    v2: bool,
    r: &Receipt,
    effect: ReceiptEffect,
    position_id: Option<payments::PositionId>,
    own_amount: i64,
    now: DateTime<Utc>,
) -> crate::Result<StoredReceipt> {
    let plain = serde_json::to_vec(r).map_err(|e| crate::Error::Internal(e.to_string()))?;
    let (key_id, sealed) = cx
        .keyring
        .seal(&plain, receipt_context(org, &r.receipt_id).as_bytes());
    let citizen = (r.debtor.kind == EntityType::Person)
        .then(|| FiscalCode::parse(&r.debtor.id).ok())
        .flatten()
        .map(|f| f.as_str().to_owned());
    Ok(StoredReceipt {
        organization: org.clone(),
        receipt_id: r.receipt_id.clone(),
        issuer: r.fiscal_code.clone(),
        notice_number: r.notice_number.clone(),
        iuv: r.creditor_reference_id.clone(),
        position_id,
        effect,
        amount: r.payment_amount,
        own_amount,
        psp_id: r.id_psp.clone(),
        channel_id: r.id_channel.clone(),
        fee: r.fee,
        payment_method: r.payment_method.clone(),
        payment_date: r.payment_date_time,
        received_at: now,
        v2,
        citizen,
        transfers: own_transfers(org, r),
        key_id,
        sealed,
    })
}

/// The receipt's transfers to this ente, as reconciliation matches them.
fn own_transfers(org: &OrganizationFiscalCode, r: &Receipt) -> Vec<payments::recon::ReceiptLine> {
    r.transfers
        .iter()
        .filter(|t| t.fiscal_code_pa == org.as_str())
        .map(|t| payments::recon::ReceiptLine {
            index: t.id_transfer,
            amount: t.amount,
            beneficiary: t.fiscal_code_pa.clone(),
            iban: match &t.target {
                ReceiptTarget::Iban(iban) => Some(iban.clone()),
                ReceiptTarget::Stamp { .. } => None,
            },
            metadata: t
                .metadata
                .iter()
                .map(|m| (m.key.clone(), m.value.clone()))
                .collect(),
        })
        .collect()
}

/// Opens a stored receipt.
pub fn open_receipt(keyring: &Keyring, stored: &StoredReceipt) -> crate::Result<Receipt> {
    let plain = keyring
        .open(
            &stored.key_id,
            &stored.sealed,
            receipt_context(&stored.organization, &stored.receipt_id).as_bytes(),
        )
        .map_err(|e| crate::Error::Internal(format!("receipt cannot be opened: {e}")))?;
    serde_json::from_slice(&plain).map_err(|e| crate::Error::Internal(e.to_string()))
}

/// Assigns the ente to a station (`sportello admin payments station`).
pub async fn assign_station(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    station: Station,
    actor: &str,
) -> crate::Result<Station> {
    let bad = |v: &str| !(1..=35).contains(&v.chars().count()) || v.chars().any(char::is_control);
    let mut errors = kernel::FieldErrors::default();
    if bad(&station.broker_id) {
        errors.push("broker_id", "1 to 35 characters, no control characters");
    }
    if bad(&station.station_id) {
        errors.push("station_id", "1 to 35 characters, no control characters");
    }
    if !errors.is_empty() {
        return Err(crate::Error::invalid(errors));
    }
    let audit = kernel::audit::NewAuditEntry {
        at: cx.clock.now(),
        actor: actor.to_owned(),
        action: "payments.station".into(),
        subject: organization.to_string(),
        detail: serde_json::json!({
            "broker_id": station.broker_id,
            "station_id": station.station_id,
        }),
    };
    cx.store
        .set_station(organization, &station, &audit)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => crate::Error::not_found(
                "Payments not enabled",
                "The organization has no payments set-up: run `admin payments enable` first.",
            ),
            e => e.into(),
        })?;
    Ok(station)
}
