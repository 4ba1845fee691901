//! Reconciliation use cases: ingesting reporting flows and treasury statements (from the API,
//! the drop folder or the node), running the three-way match for an ente, and applying what
//! it found to the debt positions. The rules are in [`payments::recon`]; the documents'
//! readers in [`pagopa`].

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use kernel::Clock;
use kernel::audit::NewAuditEntry;
use kernel::values::OrganizationFiscalCode;
use pagopa::fdr_read::{self, FlowFormat, ReportedFlow};
use pagopa::read::ReadError;
use pagopa::remittance::{self, Remittance};
use pagopa::treasury::{self, Statement, StatementFormat};
use payments::ports::{
    FlowDocument, FlowLineRow, IngestOutcome, MovementRow, PaymentsStore, Profile, ReconScope,
    StatementDocument,
};
use payments::recon::{self, Class, Item, MovementRef};
use serde::Serialize;
use sha2::Digest as _;

use crate::payments::{PayContext, PayInfo};
use crate::{Error, Result};

/// Where a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Folder,
    Node,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Folder => "folder",
            Self::Node => "node",
        }
    }
}

/// Largest document accepted (a year of one PSP's flows is far smaller).
pub const MAX_DOCUMENT: usize = 64 << 20;

/// What the reconciliation use cases need.
#[derive(Clone, Copy)]
pub struct ReconContext<'a> {
    pub store: &'a dyn PaymentsStore,
    pub clock: &'a dyn Clock,
}

/// A document refused whole: what, where (element and line), why.
fn refused(e: &ReadError) -> Error {
    Error::Unprocessable(match e.line {
        Some(line) => format!("line {line}: {}: {}", e.element, e.why),
        None => format!("{}: {}", e.element, e.why),
    })
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn profile(cx: ReconContext<'_>, org: &OrganizationFiscalCode) -> Result<Profile> {
    cx.store.payments_profile(org).await?.ok_or_else(|| {
        Error::not_found(
            "Payments not enabled",
            "The organization has no payments set-up.",
        )
    })
}

/// What ingesting a flow did, as the API answers it.
#[derive(Debug, Clone, Serialize)]
pub struct FlowIngested {
    /// `false` when the same document was ingested before (nothing changed).
    pub created: bool,
    pub flow_id: String,
    pub psp_id: String,
    pub revision: u32,
    pub digest: String,
    pub format: &'static str,
    pub lines: usize,
    /// Lines for IUVs another intermediary issued, kept apart.
    pub foreign_lines: usize,
    /// The node's rules the flow breaks; its payments show them as anomalies.
    pub checks: Vec<String>,
    /// Another document already holds this flow id, PSP and revision with other content.
    pub duplicate: bool,
}

/// The node's own rules on a flow (SACI): the id's shape, the header against the lines, and
/// no line twice. Broken rules are kept as the flow's checks, not refused.
pub fn flow_checks(f: &ReportedFlow) -> Vec<String> {
    let mut checks = Vec::new();
    let id = &f.flow.flow_id;
    let date = id
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let rest = id.get(10..).unwrap_or("");
    match (date, rest.rfind('-')) {
        (Some(d), Some(dash)) if dash > 0 && dash + 1 < rest.len() => {
            if d != f.flow.regulation_date {
                checks.push(format!(
                    "identificativoFlusso {id} carries the date {d}, dataRegolamento is {}",
                    f.flow.regulation_date
                ));
            }
        }
        _ => checks.push(format!(
            "identificativoFlusso {id} is not <dataRegolamento YYYY-MM-DD><PSP id>-<n>"
        )),
    }
    let count = f.flow.lines.len() as u64;
    if f.declared_count != count {
        checks.push(format!(
            "numeroTotalePagamenti is {}, the flow has {count} lines",
            f.declared_count
        ));
    }
    let total: i64 = f.flow.lines.iter().map(|l| l.amount_cents).sum();
    if f.declared_total_cents != total {
        checks.push(format!(
            "importoTotalePagamenti is {}, the lines add up to {}",
            recon::en_euro(f.declared_total_cents),
            recon::en_euro(total)
        ));
    }
    let mut seen = BTreeSet::new();
    for (n, l) in f.flow.lines.iter().enumerate() {
        if !seen.insert((&l.iuv, &l.iur, l.index)) {
            checks.push(format!(
                "datiSingoliPagamenti[{}] repeats IUV {}, IUR {}, index {}",
                n + 1,
                l.iuv,
                l.iur,
                l.index.unwrap_or(1)
            ));
        }
    }
    checks
}

/// Whether an IUV has this ente's shape: 17 digits starting with one of its segregation
/// codes (aux digit 3).
fn own_shape(profile: &Profile, iuv: &str) -> bool {
    iuv.len() == 17
        && iuv.bytes().all(|b| b.is_ascii_digit())
        && profile
            .segregation_codes
            .iter()
            .any(|s| iuv.starts_with(&format!("{:02}", s.get())))
}

/// Ingests one reporting flow (FlussoRiversamento XML or FdR 3 JSON, sniffed). Refused whole,
/// with the element and line, when it does not read or names another receiving ente.
pub async fn ingest_flow(
    cx: ReconContext<'_>,
    org: &OrganizationFiscalCode,
    bytes: &[u8],
    source: Source,
) -> Result<FlowIngested> {
    if bytes.len() > MAX_DOCUMENT {
        return Err(Error::PayloadTooLarge);
    }
    let profile = profile(cx, org).await?;
    let f = fdr_read::parse_any(bytes).map_err(|e| refused(&e))?;
    let receiver = f
        .receiver_organization
        .as_deref()
        .unwrap_or(&f.flow.receiver.id);
    if receiver != org.as_str() && f.flow.receiver.id != org.as_str() {
        return Err(Error::Unprocessable(format!(
            "istitutoRicevente/identificativoUnivocoRicevente: the flow is addressed to \
             {receiver}, not to this organization ({org})"
        )));
    }
    let checks = flow_checks(&f);
    let iuvs: Vec<String> = f
        .flow
        .lines
        .iter()
        .map(|l| l.iuv.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let known = cx.store.known_iuvs(org, &iuvs).await?;
    let lines: Vec<FlowLineRow> = f
        .flow
        .lines
        .iter()
        .map(|l| FlowLineRow {
            iuv: l.iuv.clone(),
            iur: l.iur.clone(),
            index: l.index.unwrap_or(1),
            amount: l.amount_cents,
            outcome: l.outcome.code(),
            date: l.date,
            foreign: !known.contains(&l.iuv) && !own_shape(&profile, &l.iuv),
        })
        .collect();
    let foreign_lines = lines.iter().filter(|l| l.foreign).count();
    let doc = FlowDocument {
        organization: org.clone(),
        digest: digest(bytes),
        flow_id: f.flow.flow_id.clone(),
        psp_id: f.psp_id.clone(),
        revision: f.revision,
        format: match f.format {
            FlowFormat::Xml => "XML".into(),
            FlowFormat::Rest => "REST".into(),
        },
        source: source.as_str().into(),
        regulation_id: f.flow.regulation_id.clone(),
        regulation_date: f.flow.regulation_date,
        flow_time: f.flow.flow_date_time,
        sender_id: f.flow.sender.id.clone(),
        receiver_id: receiver.to_owned(),
        declared_count: i64::try_from(f.declared_count).unwrap_or(i64::MAX),
        declared_total: f.declared_total_cents,
        lines_count: lines.len() as i64,
        lines_total: lines.iter().map(|l| l.amount).sum(),
        checks: checks.clone(),
        document: bytes.to_vec(),
        ingested_at: cx.clock.now(),
    };
    let outcome = cx.store.ingest_flow(&doc, &lines).await?;
    Ok(FlowIngested {
        created: outcome != IngestOutcome::Known,
        duplicate: outcome == IngestOutcome::Created { conflict: true },
        flow_id: doc.flow_id,
        psp_id: doc.psp_id,
        revision: doc.revision,
        digest: doc.digest,
        format: match f.format {
            FlowFormat::Xml => "XML",
            FlowFormat::Rest => "REST",
        },
        lines: lines.len(),
        foreign_lines,
        checks,
    })
}

/// What ingesting a statement did.
#[derive(Debug, Clone, Serialize)]
pub struct StatementIngested {
    pub created: bool,
    pub document_id: String,
    pub format: &'static str,
    pub digest: String,
    pub movements: usize,
    /// Movements not held before (a movement id already held is skipped).
    pub new_movements: u64,
    /// Incoming movements whose remittance names a flow, and one IUV.
    pub naming_flows: usize,
    pub naming_iuvs: usize,
    /// Whether a signature was found and kept (it is not verified).
    pub signature_kept: bool,
}

fn format_name(f: StatementFormat) -> &'static str {
    match f {
        StatementFormat::Opi1_7_1 => "OPI_1_7_1",
        StatementFormat::Opi1_8 => "OPI_1_8",
        StatementFormat::Camt053 => "CAMT_053",
        StatementFormat::Csv => "CSV",
    }
}

/// What a causale names, for matching.
pub fn movement_ref(causale: &str) -> MovementRef {
    match remittance::parse(causale) {
        Some(Remittance::Flow { flow_id }) => MovementRef::Flow(flow_id),
        Some(Remittance::Single {
            iuv, amount_cents, ..
        }) => MovementRef::Iuv {
            iuv,
            amount: amount_cents,
        },
        None => MovementRef::None,
    }
}

/// Ingests one treasury statement (OPI giornale di cassa 1.7.1/1.8, camt.053 or the
/// documented CSV, sniffed). The same file again changes nothing.
pub async fn ingest_statement(
    cx: ReconContext<'_>,
    org: &OrganizationFiscalCode,
    bytes: &[u8],
    source: Source,
) -> Result<StatementIngested> {
    if bytes.len() > MAX_DOCUMENT {
        return Err(Error::PayloadTooLarge);
    }
    profile(cx, org).await?;
    let s: Statement = treasury::parse(bytes).map_err(|e| refused(&e))?;
    if let Some(fc) = &s.ente_fiscal_code
        && fc != org.as_str()
    {
        return Err(Error::Unprocessable(format!(
            "codice_fiscale_ente: the statement belongs to {fc}, not to this organization \
             ({org})"
        )));
    }
    let movements: Vec<MovementRow> = s
        .movements
        .iter()
        .map(|m| MovementRow {
            id: format!("{}/{}", s.document_id, m.id),
            account: m.account.clone(),
            incoming: m.incoming,
            reversal: m.reversal,
            amount: m.amount_cents,
            booking_date: m.booking_date,
            value_date: m.value_date,
            reference: if m.incoming {
                movement_ref(&m.causale)
            } else {
                MovementRef::None
            },
            end_to_end_id: m.end_to_end_id.clone(),
            bank_reference: m.reference.clone(),
        })
        .collect();
    let doc = StatementDocument {
        organization: org.clone(),
        digest: digest(bytes),
        document_id: s.document_id.clone(),
        format: format_name(s.format).into(),
        source: source.as_str().into(),
        date: s.date,
        signature: s.signature.clone(),
        document: bytes.to_vec(),
        ingested_at: cx.clock.now(),
    };
    let (outcome, new_movements) = cx.store.ingest_statement(&doc, &movements).await?;
    let incoming = movements.iter().filter(|m| m.incoming && !m.reversal);
    Ok(StatementIngested {
        created: outcome != IngestOutcome::Known,
        document_id: doc.document_id,
        format: format_name(s.format),
        digest: doc.digest,
        movements: movements.len(),
        new_movements,
        naming_flows: incoming
            .clone()
            .filter(|m| matches!(m.reference, MovementRef::Flow(_)))
            .count(),
        naming_iuvs: incoming
            .filter(|m| matches!(m.reference, MovementRef::Iuv { .. }))
            .count(),
        signature_kept: s.signature.is_some(),
    })
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ReconRun {
    pub organization: String,
    /// `all` or `changed`.
    pub scope: &'static str,
    /// Items decided in this run.
    pub items: usize,
    /// Items whose content changed.
    pub changed: usize,
    /// Items that became an anomaly in this run.
    pub new_anomalies: usize,
}

/// How far back an incremental run re-reads receipts before the last run, so that a receipt
/// committed after the run with an earlier timestamp is still seen.
const RECEIPT_OVERLAP_MS: i64 = 5 * 60 * 1_000;

/// Runs the three-way match for an ente: everything when `full` or never run before, else what
/// changed since the last run. Idempotent: a second run changes nothing.
pub async fn reconcile(
    cx: ReconContext<'_>,
    org: &OrganizationFiscalCode,
    full: bool,
) -> Result<(ReconRun, Vec<(Item, Option<Class>)>)> {
    let now = cx.clock.now();
    let today = pagopa::daybook::italian_date(now);
    let last = cx.store.last_recon(org).await?;
    let scope = match (full, last) {
        (false, Some(last)) => ReconScope::Changed {
            receipts_since: DateTime::<Utc>::from_timestamp_millis(
                last.timestamp_millis() - RECEIPT_OVERLAP_MS,
            )
            .unwrap_or(last),
            today,
        },
        _ => ReconScope::All,
    };
    // Runs of one ente may overlap (the reconciler, `…/run`, another node): a run whose facts
    // went stale while it classified reads them again.
    let mut attempt = 0;
    let (batch, items, changed) = loop {
        attempt += 1;
        let batch = cx.store.recon_facts(org, &scope).await?;
        let items = recon::classify(&batch.facts, today);
        match cx.store.save_recon(org, &batch, &items, now).await {
            Ok(changed) => break (batch, items, changed),
            Err(kernel::ports::StoreError::Conflict(_)) if attempt < 5 => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let new_anomalies = changed
        .iter()
        .filter(|(i, old)| i.class.is_anomaly() && *old != Some(i.class))
        .count();
    Ok((
        ReconRun {
            organization: org.to_string(),
            scope: if batch.whole { "all" } else { "changed" },
            items: items.len(),
            changed: changed.len(),
            new_anomalies,
        },
        changed,
    ))
}

/// Applies up to `limit` pending position effects of an ente's items: a reported payment's
/// transfer becomes REPORTED (the position REPORTED when all are), and a payment reported with
/// no receipt is first recorded as paid "without receipt". Effects that do not apply (a
/// beneficiary's copy, an IUV with no position here, a transfer already reported) are done.
/// Returns how many items were handled.
pub async fn apply_effects(
    pay: PayContext<'_>,
    org: &OrganizationFiscalCode,
    limit: i64,
) -> Result<usize> {
    let Some(profile) = pay.store.payments_profile(org).await? else {
        return Ok(0);
    };
    let items = pay.store.pending_effects(org, limit).await?;
    let mut done = Vec::with_capacity(items.len());
    for item in &items {
        let (Some(iuv), Some(index)) = (&item.iuv, item.transfer_index) else {
            done.push(item.key.clone());
            continue;
        };
        if item.class == Class::ReportedNotPaid {
            let info = PayInfo {
                payment_date: None,
                payment_method: None,
                psp_code: item.psp_id.clone(),
                psp_tax_code: None,
                psp_company: None,
                receipt_id: None,
                fee: None,
            };
            match crate::payments::pay(pay, &profile, iuv, info, false, "reconciliation").await {
                Ok(_)
                | Err(Error::NotFound { .. } | Error::Conflict(_) | Error::BadRequest { .. }) => {}
                Err(Error::Unprocessable(_)) => {}
                Err(e) => return Err(e),
            }
        }
        match crate::payments::report(pay, &profile, iuv, &index.to_string(), "reconciliation")
            .await
        {
            Ok(_)
            | Err(
                Error::NotFound { .. }
                | Error::Conflict(_)
                | Error::BadRequest { .. }
                | Error::Unprocessable(_),
            ) => {}
            Err(e) => return Err(e),
        }
        done.push(item.key.clone());
    }
    pay.store.effects_done(org, &done).await?;
    Ok(done.len())
}

/// Annotates or closes an item (audited).
pub async fn annotate(
    cx: ReconContext<'_>,
    org: &OrganizationFiscalCode,
    key: &str,
    note: Option<&str>,
    close: Option<bool>,
    actor: &str,
) -> Result<payments::ports::StoredItem> {
    if let Some(n) = note
        && (n.chars().count() > 2_000 || n.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(Error::invalid_field(
            "note",
            "at most 2,000 characters, no control characters but line breaks",
        ));
    }
    let audit = NewAuditEntry {
        at: cx.clock.now(),
        actor: actor.to_owned(),
        action: "payments.reconciliation.annotate".into(),
        subject: format!("{org}:{key}"),
        detail: serde_json::json!({ "close": close, "note": note.is_some() }),
    };
    cx.store
        .annotate_item(org, key, note, close, &audit)
        .await?
        .ok_or_else(|| Error::not_found("Item not found", "No reconciliation item has this key."))
}
