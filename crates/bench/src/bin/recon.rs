//! `recon-bench`: a year of a mid-size ente reconciled (issue 12). One ente, 250 working days ×
//! 20 PSPs: 1,000,000 receipts written straight through the store's `Receipts` port, 5,000
//! reporting flows (FlussoRiversamento XML, ~200 lines each) and 250 OPI journals holding 5,000
//! movements posted over HTTP to the reconciliation API of an in-process Sportello, then the
//! full three-way match (`POST …/reconciliation/run?full=true`) and an incremental day (4,000
//! receipts, 20 flows, 20 movements, `run?full=false`). 1% anomalies of every class are
//! injected and the per-class totals the API reports must match them exactly.
//!
//! Ceilings, measured in the same run on a second fresh database of the same backend and
//! schema: a raw multi-row insert of the same receipt rows, a bare read of the columns the
//! reconciliation reads, and a raw multi-row insert of as many item rows of the same size as
//! the match writes.
//!
//! The server is `api::router` over the state `sportello::app::start` builds, without the
//! reconciler loop and the job workers: in `serve`, every upload wakes the reconciler, whose
//! rounds would overlap the timed phases (the first round, with no run before, is a full one).
//!
//! `CARGO_TARGET_DIR=/work/target-release cargo run --release -p bench --bin recon-bench -- --backend sqlite`

#[allow(
    dead_code,
    reason = "shared with sportello-bench; this binary uses a part of it"
)]
#[path = "../db.rs"]
mod db;
#[path = "../inproc.rs"]
mod inproc;
#[allow(
    dead_code,
    reason = "shared with sportello-bench; this binary uses a part of it"
)]
#[path = "../sys.rs"]
mod sys;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use kernel::values::OrganizationFiscalCode;
use pagopa::fdr::{self, Flow, FlowLine, OutcomeCode, Receiver, Sender, SenderKind};
use pagopa::opi::{
    self, Account, DocumentType, ExecutionType, Header, Journal, Movement, MovementKind,
    OperationType, Party, StampDuty,
};
use payments::ports::{
    ReceiptEffect, ReceiptOutcome, ReceiptWrite, Receipts, ReconScope, Reconciliation,
    StoredReceipt,
};
use payments::recon::{self, Class, ReceiptLine};
use payments::values::SegregationCode;
use serde_json::Value;
use sportello::config::{Config, ConfigArgs};
use sqlx::AnyPool;
use store::SqlStore;
use tokio::net::TcpStream;

use crate::db::{BackendArg, FreshDb};
use crate::sys::CpuUse;

const ORG: &str = "00441340122";
const ORG_NAME: &str = "Comune di Varese";
const SEGREGATION: u8 = 1;
const IBAN: &str = "IT60X0542811101000000123456";
const BANK_ABI: &str = "05428";
/// Reporting-flow IUVs of payments with no receipt (outcome 9) start here.
const NO_RECEIPT_BASE: u64 = 5_000_000;
/// Ceiling rows per multi-row statement: sqlx binds SQLite parameters in time growing with
/// their number, 100 rows per statement measured 5.6× faster than 1,000.
const ROWS_PER_STATEMENT: usize = 100;
/// Ceiling receipts per transaction.
const ROWS_PER_TRANSACTION: usize = 1_000;
/// A request that does not answer within this fails the run (the full match is one request).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1_800);

#[derive(Debug, Parser)]
#[command(
    name = "recon-bench",
    about = "A year of reconciliation of one ente, timed"
)]
struct Cli {
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// Working days of the year (one flow per PSP per day, one journal per day).
    #[arg(long, default_value_t = 250)]
    days: usize,
    #[arg(long, default_value_t = 20)]
    psps: usize,
    /// Paid notices per flow (its receipts; the flow has 2% more lines than that, see below).
    #[arg(long, default_value_t = 200)]
    payments_per_flow: usize,
    /// Concurrent HTTP connections of the uploads.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Receipts per `record_receipts` call (one transaction).
    #[arg(long, default_value_t = 1_000)]
    receipt_batch: usize,
    /// Skip the ceilings (raw insert, bare read) measured on a second database.
    #[arg(long)]
    no_ceiling: bool,
    /// Sportello's database connections (default: Sportello's own default).
    #[arg(long)]
    db_max_connections: Option<u32>,
    /// PostgreSQL server (must be on this machine); the run gets fresh schemas in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

// ---------------------------------------------------------------------------------------------
// The year: what is generated, and what each payment must come out as.

/// The calendar of the run: `pay[d]` is the payment day of day `d` (the last one is the
/// incremental day), its flows are settled and credited on `settle[d]`.
struct Calendar {
    pay: Vec<NaiveDate>,
    settle: Vec<NaiveDate>,
}

impl Calendar {
    /// `days + 1` consecutive working days, the last one's crediting deadline already past
    /// (so no item is `PENDING`: every class is decided).
    fn new(days: usize, today: NaiveDate) -> anyhow::Result<Self> {
        let mut last = today - chrono::Duration::days(1);
        while !recon::is_working_day(last)
            || recon::crediting_deadline(recon::add_working_days(last, 1)) >= today
        {
            last -= chrono::Duration::days(1);
        }
        let mut pay = vec![last];
        let mut d = last;
        while pay.len() < days + 1 {
            d -= chrono::Duration::days(1);
            if recon::is_working_day(d) {
                pay.push(d);
            }
        }
        pay.reverse();
        let settle = pay.iter().map(|d| recon::add_working_days(*d, 1)).collect();
        Ok(Self { pay, settle })
    }
}

/// Shape of the generated data; the anomalies, every one 1% of its kind:
///
/// - position `k = pos % 100` of a payment in its flow: `k = 0` left out of the flow
///   (`PAID_NOT_REPORTED`), `k = 2` reported with outcome 3 (`REVOKED`), `k = 3` reported
///   twice in its flow (`DUPLICATE`); each flow also has `payments_per_flow / 100` lines with
///   outcome 9 for notices with no receipt (`REPORTED_NOT_PAID`);
/// - flow `f % 100 == 50` credited 1.00 € short (`AMOUNT_MISMATCH` for its other payments),
///   flow `f % 100 == 51` not credited (`REPORTED_NOT_TRANSFERRED`);
/// - every fifth day a credit naming no flow or an unknown flow (`TRANSFER_UNMATCHED`), in
///   place of a missing credit: 5,000 movements a year.
#[derive(Clone, Copy)]
struct Shape {
    psps: usize,
    per_flow: usize,
    year_days: usize,
}

impl Shape {
    fn payments_per_day(&self) -> usize {
        self.psps * self.per_flow
    }

    /// Payment number `p` of day `d`, PSP `psp`, position `pos`.
    fn payment(&self, d: usize, psp: usize, pos: usize) -> u64 {
        (d * self.payments_per_day() + psp * self.per_flow + pos) as u64
    }

    fn flow_no(&self, d: usize, psp: usize) -> usize {
        d * self.psps + psp
    }

    fn short_credit(&self, d: usize, psp: usize) -> bool {
        d < self.year_days && self.flow_no(d, psp) % 100 == 50
    }

    fn not_credited(&self, d: usize, psp: usize) -> bool {
        d < self.year_days && self.flow_no(d, psp) % 100 == 51
    }

    fn stray_on(&self, d: usize) -> bool {
        d < self.year_days && d.is_multiple_of(5)
    }

    /// The class each payment of day `d` comes out as (and the day's stray credit).
    fn expected(&self, d: usize, totals: &mut BTreeMap<Class, i64>) {
        for psp in 0..self.psps {
            for pos in 0..self.per_flow {
                let class = match pos % 100 {
                    0 => Class::PaidNotReported,
                    2 => Class::Revoked,
                    3 => Class::Duplicate,
                    _ if self.short_credit(d, psp) => Class::AmountMismatch,
                    _ if self.not_credited(d, psp) => Class::ReportedNotTransferred,
                    _ => Class::Reconciled,
                };
                *totals.entry(class).or_default() += 1;
            }
            *totals.entry(Class::ReportedNotPaid).or_default() += self.no_receipt_lines() as i64;
        }
        if self.stray_on(d) {
            *totals.entry(Class::TransferUnmatched).or_default() += 1;
        }
    }

    fn no_receipt_lines(&self) -> usize {
        self.per_flow.div_ceil(100)
    }
}

/// 17 digits: the segregation code, 13 digits of `p`, 2 more (not a real check: the match
/// does not verify it).
fn iuv(p: u64) -> String {
    format!("{SEGREGATION:02}{p:013}{:02}", p % 93)
}

fn amount(p: u64) -> i64 {
    1_000 + (p.wrapping_mul(7_919) % 99_000) as i64
}

fn psp_id(psp: usize) -> String {
    format!("PSPBENCH{psp:02}")
}

fn paid_at(date: NaiveDate, p: u64) -> DateTime<Utc> {
    let t = date.and_time(NaiveTime::MIN) + chrono::Duration::hours(8);
    Utc.from_utc_datetime(&t) + chrono::Duration::seconds((p % 30_000) as i64)
}

/// Filler standing for the sealed receipt (`paSendRTV2` sealed is ~1 KiB; the match never
/// reads it, but it makes the table as large as a real one).
fn sealed(p: u64) -> Vec<u8> {
    let mut x = p.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..1_024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn receipt(
    org: &OrganizationFiscalCode,
    p: u64,
    psp: usize,
    date: NaiveDate,
    received: Option<DateTime<Utc>>,
) -> StoredReceipt {
    let iuv = iuv(p);
    let amount = amount(p);
    let paid = paid_at(date, p);
    StoredReceipt {
        organization: org.clone(),
        receipt_id: format!("R{p:012}"),
        issuer: ORG.into(),
        notice_number: format!("3{iuv}"),
        iuv,
        position_id: None,
        effect: ReceiptEffect::Applied,
        amount,
        own_amount: amount,
        psp_id: psp_id(psp),
        channel_id: format!("{}_01", psp_id(psp)),
        fee: Some(100),
        payment_method: Some("CP".into()),
        payment_date: Some(paid),
        received_at: received.unwrap_or(paid + chrono::Duration::seconds(2)),
        v2: true,
        citizen: None,
        transfers: vec![ReceiptLine {
            index: 1,
            amount,
            beneficiary: ORG.into(),
            iban: Some(IBAN.into()),
            metadata: vec![("capitolo".into(), "1201".into())],
        }],
        key_id: "k1".into(),
        sealed: sealed(p),
    }
}

/// The receipts of one day, PSP by PSP.
fn day_receipts(
    shape: &Shape,
    cal: &Calendar,
    org: &OrganizationFiscalCode,
    d: usize,
    received: Option<DateTime<Utc>>,
) -> Vec<StoredReceipt> {
    let mut out = Vec::with_capacity(shape.payments_per_day());
    for psp in 0..shape.psps {
        for pos in 0..shape.per_flow {
            out.push(receipt(
                org,
                shape.payment(d, psp, pos),
                psp,
                cal.pay[d],
                received,
            ));
        }
    }
    out
}

/// The flow of PSP `psp` for day `d`.
fn day_flow(shape: &Shape, cal: &Calendar, d: usize, psp: usize) -> anyhow::Result<Flow> {
    let date = cal.pay[d];
    let mut lines = Vec::with_capacity(shape.per_flow + 4);
    let line = |p: u64, outcome: OutcomeCode| FlowLine {
        iuv: iuv(p),
        iur: format!("R{p:012}"),
        index: Some(1),
        amount_cents: amount(p),
        outcome,
        date,
    };
    for pos in 0..shape.per_flow {
        let p = shape.payment(d, psp, pos);
        match pos % 100 {
            0 => {}
            2 => lines.push(line(p, OutcomeCode::Revoked)),
            3 => {
                lines.push(line(p, OutcomeCode::Paid));
                lines.push(line(p, OutcomeCode::Paid));
            }
            _ => lines.push(line(p, OutcomeCode::Paid)),
        }
    }
    for n in 0..shape.no_receipt_lines() {
        let p = NO_RECEIPT_BASE * 1_000 + (shape.flow_no(d, psp) * 10 + n) as u64;
        lines.push(line(p, OutcomeCode::NoRpt));
    }
    let settle = cal.settle[d];
    let flow = Flow {
        version: fdr::Version::V1_0,
        flow_id: fdr::flow_id(settle, &psp_id(psp), 1)?,
        flow_date_time: settle.and_time(NaiveTime::MIN) + chrono::Duration::hours(7),
        regulation_id: format!("SCT{}{psp:03}", settle.format("%Y%m%d")),
        regulation_date: settle,
        sender: Sender {
            kind: SenderKind::LegalPerson,
            id: psp_id(psp),
            name: Some(format!("Banca di prova {psp:02}")),
        },
        bic_pouring_bank: None,
        receiver: Receiver {
            id: ORG.into(),
            name: Some(ORG_NAME.into()),
        },
        lines,
    };
    flow.validate()?;
    Ok(flow)
}

fn credit(amount: i64, date: NaiveDate, payer: &str, causale: String) -> Movement {
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
        end_to_end_id: None,
        stamp_duty: StampDuty::Exempt,
        client: Party {
            name: payer.to_owned(),
            tax_code: None,
        },
        causale,
        provisionals: Vec::new(),
    }
}

/// The journal of the day the flows of day `d` are credited: one credit per flow (short or
/// missing for the anomalies) and the stray credit. Returns it and its movements' count.
fn day_journal(shape: &Shape, cal: &Calendar, d: usize) -> anyhow::Result<(Journal, usize)> {
    let settle = cal.settle[d];
    let mut movements = Vec::new();
    for psp in 0..shape.psps {
        if shape.not_credited(d, psp) {
            continue;
        }
        let flow = day_flow(shape, cal, d, psp)?;
        let mut total = flow.total_amount_cents();
        if shape.short_credit(d, psp) {
            total -= 100;
        }
        movements.push(credit(
            total,
            settle,
            &format!("Banca di prova {psp:02}"),
            format!("/PUR/LGPE-RIVERSAMENTO/URI/{}", flow.flow_id),
        ));
    }
    if shape.stray_on(d) {
        let causale = if d.is_multiple_of(10) {
            format!("RIMBORSO SPESE ECONOMATO PRATICA {d:05}")
        } else {
            format!(
                "/PUR/LGPE-RIVERSAMENTO/URI/{}PSPIGNOTO-{d}",
                settle.format("%Y-%m-%d")
            )
        };
        movements.push(credit(12_345 + d as i64, settle, "Mario Rossi", causale));
    }
    let profile = pagopa::daybook::EnteProfile::derived(ORG);
    let code = format!("{ORG}{BANK_ABI}{}", cal.pay[d].format("%Y%m%d"));
    let bt_flow_id = opi::bt_flow_id(settle, &code, 1, 1)?;
    let base = u64::from(settle.ordinal()) * 1_000;
    let count = movements.len();
    let movements = movements
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            let n = i as u64 + 1;
            m.ente_flow_id = bt_flow_id.clone();
            m.number = n;
            m.document_number = base + n;
            m.receipt_number = Some(base + n);
            m
        })
        .collect();
    let journal = Journal {
        version: opi::Version::V1_8,
        header: Header {
            bank_abi: BANK_ABI.into(),
            created_at: (settle + chrono::Duration::days(1)).and_time(NaiveTime::MIN)
                + chrono::Duration::hours(6),
            ente_ipa_code: profile.ipa_code,
            ente_name: profile.name,
            ente_istat_code: profile.istat_code,
            ente_fiscal_code: ORG.into(),
            ente_a2a_code: profile.a2a_code,
            bank_a2a_code: "A2A-05428000".into(),
            ente_bank_code: profile.bank_code,
        },
        bt_flow_id,
        page: 1,
        total_pages: 1,
        ente_reference: None,
        fiscal_year: settle.year() as u16,
        date: settle,
        accounts: vec![Account {
            code: IBAN[4..].to_owned(),
            description: Some(IBAN.into()),
            movements,
            opening_balance_cents: None,
        }],
    };
    journal.validate()?;
    Ok((journal, count))
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Conn {
    addr: SocketAddr,
    key: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(addr: SocketAddr, key: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            addr,
            key: key.to_owned(),
            sender,
        })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.addr.to_string())
            .header("Ocp-Apim-Subscription-Key", self.key.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/xml")
            .body(Full::new(body))?;
        let exchange = async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no answer to {path} within {} s", REQUEST_TIMEOUT.as_secs()))??;
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        Ok((status, json))
    }
}

fn base_path() -> String {
    format!("/api/payments/v1/organizations/{ORG}")
}

/// Posts the documents `make(d)` of days `days` over `concurrency` connections; returns
/// (documents, bytes, lines or movements).
async fn upload<F>(
    addr: SocketAddr,
    key: &str,
    concurrency: usize,
    days: Vec<usize>,
    route: &'static str,
    make: F,
) -> anyhow::Result<(usize, usize, usize)>
where
    F: Fn(usize) -> anyhow::Result<Vec<(String, usize)>> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let days = Arc::new(days);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (make, days, next) = (make.clone(), days.clone(), next.clone());
        let key = key.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr, &key).await?;
            let path = format!("{}/{route}", base_path());
            let (mut docs, mut bytes, mut parts) = (0, 0, 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&d) = days.get(i) else { break };
                for (xml, n) in make(d)? {
                    bytes += xml.len();
                    let (status, body) = conn.send(Method::POST, &path, Bytes::from(xml)).await?;
                    if status != StatusCode::CREATED {
                        bail!("{route} of day {d}: {status} {body}");
                    }
                    docs += 1;
                    parts += n;
                }
            }
            anyhow::Ok((docs, bytes, parts))
        }));
    }
    let mut total = (0, 0, 0);
    for t in tasks {
        let (a, b, c) = t.await??;
        total = (total.0 + a, total.1 + b, total.2 + c);
    }
    Ok(total)
}

fn flows_of(
    shape: Shape,
    cal: Arc<Calendar>,
) -> impl Fn(usize) -> anyhow::Result<Vec<(String, usize)>> + Send + Sync + 'static {
    move |d| {
        (0..shape.psps)
            .map(|psp| {
                let f = day_flow(&shape, &cal, d, psp)?;
                Ok((fdr::render(&f), f.lines.len()))
            })
            .collect()
    }
}

fn journals_of(
    shape: Shape,
    cal: Arc<Calendar>,
) -> impl Fn(usize) -> anyhow::Result<Vec<(String, usize)>> + Send + Sync + 'static {
    move |d| {
        let (j, n) = day_journal(&shape, &cal, d)?;
        Ok(vec![(opi::render(&j), n)])
    }
}

/// The per-class counts of `GET …/reconciliation?limit=1`.
async fn totals(conn: &mut Conn) -> anyhow::Result<BTreeMap<Class, i64>> {
    let (status, body) = conn
        .send(
            Method::GET,
            &format!("{}/reconciliation?limit=1", base_path()),
            Bytes::new(),
        )
        .await?;
    if status != StatusCode::OK {
        bail!("GET reconciliation: {status} {body}");
    }
    let mut out = BTreeMap::new();
    for t in body["totals"].as_array().context("no totals")? {
        let class = t["class"]
            .as_str()
            .and_then(Class::parse)
            .context("a total without a class")?;
        out.insert(
            class,
            t["count"].as_i64().context("a total without a count")?,
        );
    }
    Ok(out)
}

fn check_totals(
    what: &str,
    got: &BTreeMap<Class, i64>,
    want: &BTreeMap<Class, i64>,
) -> anyhow::Result<()> {
    let got: BTreeMap<Class, i64> = got
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|(c, n)| (*c, *n))
        .collect();
    println!("  per class ({what}):");
    for c in Class::ALL {
        let (g, w) = (
            got.get(&c).copied().unwrap_or(0),
            want.get(&c).copied().unwrap_or(0),
        );
        println!(
            "    {:<26} {:>9} (injected {:>9}){}",
            c.as_str(),
            g,
            w,
            if g == w { "" } else { "  MISMATCH" }
        );
    }
    if &got != want {
        bail!("{what}: the reconciliation's totals differ from what was injected");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measuring

struct Phase {
    started: Instant,
    cpu: Option<sys::CpuSnapshot>,
}

impl Phase {
    fn start() -> Self {
        sys::reset_peak_rss();
        Self {
            started: Instant::now(),
            cpu: sys::cpu_snapshot(),
        }
    }

    /// Prints `name: secs, rate` with CPU and peak RSS; returns the seconds.
    fn end(self, name: &str, rate: &str) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        let cpu: CpuUse = sys::cpu_between(self.cpu, sys::cpu_snapshot());
        println!(
            "{name}: {secs:.2} s{}{rate}; cpu cores: process {:.2}, postgres {:.2}, others {:.2}; peak RSS {:.0} MiB",
            if rate.is_empty() { "" } else { ", " },
            cpu.process_cores,
            cpu.database_cores,
            cpu.others_cores,
            sys::peak_rss_mib().unwrap_or(0.0)
        );
        secs
    }
}

fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const RECEIPT_COLUMNS: &str = "organization, receipt_id, issuer, notice_number, iuv, position_id, \
                               effect, amount, own_amount, psp_id, channel_id, fee, \
                               payment_method, payment_ms, received_ms, v2, citizen, transfers, \
                               key_id, sealed";

/// The receipts of `days` inserted with multi-row statements, one transaction per statement.
async fn raw_receipts(
    pool: &AnyPool,
    shape: &Shape,
    cal: &Calendar,
    org: &OrganizationFiscalCode,
    days: usize,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for d in 0..days {
        let rows = day_receipts(shape, cal, org, d, None);
        for tx_rows in rows.chunks(ROWS_PER_TRANSACTION) {
            let mut tx = pool.begin().await?;
            for chunk in tx_rows.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO payment_receipts ({RECEIPT_COLUMNS}) VALUES {}",
                    placeholders(chunk.len(), 20)
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(ORG)
                        .bind(r.receipt_id.clone())
                        .bind(r.issuer.clone())
                        .bind(r.notice_number.clone())
                        .bind(r.iuv.clone())
                        .bind(None::<String>)
                        .bind(r.effect.as_str())
                        .bind(r.amount)
                        .bind(r.own_amount)
                        .bind(r.psp_id.clone())
                        .bind(r.channel_id.clone())
                        .bind(r.fee)
                        .bind(r.payment_method.clone())
                        .bind(r.payment_date.map(|t| t.timestamp_millis()))
                        .bind(r.received_at.timestamp_millis())
                        .bind(1_i64)
                        .bind(None::<String>)
                        .bind(serde_json::to_string(&r.transfers)?)
                        .bind(r.key_id.clone())
                        .bind(r.sealed.clone());
                }
                q.execute(&mut *tx).await?;
                n += chunk.len();
            }
            tx.commit().await?;
        }
    }
    Ok(n)
}

/// The rows the full match reads (receipts', lines' and movements' columns), fetched whole
/// and decoded, nothing else.
async fn bare_read(pool: &AnyPool, sql: &str, text_cols: &[&str]) -> anyhow::Result<usize> {
    use sqlx::Row;
    let rows = sqlx::query(sql).bind(ORG).fetch_all(pool).await?;
    let mut bytes = 0;
    for r in &rows {
        for c in text_cols {
            bytes += r.try_get::<Option<String>, _>(*c)?.map_or(0, |s| s.len());
        }
    }
    std::hint::black_box(bytes);
    Ok(rows.len())
}

/// `n` item rows of the size the match writes, multi-row statements in one transaction (the
/// match saves in one).
async fn raw_items(pool: &AnyPool, n: usize) -> anyhow::Result<()> {
    let explanation_it = "Lo IUV 0100000012345678901 (indice 1, ricevuta R000000123456, € 123,45) è \
                          rendicontato nel flusso 2026-01-02PSPBENCH01-1 e accreditato (movimento \
                          GDC-2026010200441340122054282026010#001#001/0542811101000000123456/12).";
    let explanation_en = "IUV 0100000012345678901 (index 1, receipt R000000123456, €123.45) is \
                          reported in flow 2026-01-02PSPBENCH01-1 and credited (movement \
                          GDC-2026010200441340122054282026010#001#001/0542811101000000123456/12).";
    let mut tx = pool.begin().await?;
    let mut done = 0;
    while done < n {
        let rows = ROWS_PER_STATEMENT.min(n - done);
        let sql = format!(
            "INSERT INTO recon_items (organization, item_key, class, iuv, transfer_index, \
             amount, item_date, psp_id, receipt_id, flow_id, movement_id, explanation_it, \
             explanation_en, due_date, effects, fingerprint, updated_ms) VALUES {}",
            placeholders(rows, 17)
        );
        let mut q = sqlx::query(&sql);
        for i in done..done + rows {
            let p = i as u64;
            q = q
                .bind(ORG)
                .bind(format!("p:{}:1", iuv(p)))
                .bind("RECONCILED")
                .bind(iuv(p))
                .bind(1_i64)
                .bind(amount(p))
                .bind("2026-01-02")
                .bind("PSPBENCH01")
                .bind(format!("R{p:012}"))
                .bind("2026-01-05PSPBENCH01-1")
                .bind("GDC-2026010500441340122054282026010#001#001/0542811101000000123456/12")
                .bind(explanation_it)
                .bind(explanation_en)
                .bind(None::<String>)
                .bind(1_i64)
                .bind(format!("{:016x}", p.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
                .bind(0_i64);
        }
        q.execute(&mut *tx).await?;
        done += rows;
    }
    tx.commit().await?;
    Ok(())
}

/// The ceilings on a fresh database of the same backend and schema.
async fn ceilings(
    cli: &Cli,
    shape: &Shape,
    cal: &Calendar,
    org: &OrganizationFiscalCode,
    items: usize,
) -> anyhow::Result<()> {
    let db = FreshDb::create(cli.backend, &cli.pg_url, "ceiling.db").await?;
    let result = async {
        let store = SqlStore::connect(&db.url, 4).await?;
        store.migrate().await?;
        let pool = store.write_pool();
        db.verify(pool).await?;
        let phase = Phase::start();
        let n = raw_receipts(pool, shape, cal, org, shape.year_days).await?;
        let secs = phase.started.elapsed().as_secs_f64();
        phase.end(
            "ceiling: raw insert of the receipts",
            &format!("{n} rows, {:.0} rows/s ({ROWS_PER_STATEMENT} rows per statement, {ROWS_PER_TRANSACTION} per transaction)", n as f64 / secs),
        );
        let phase = Phase::start();
        let n = bare_read(
            pool,
            "SELECT receipt_id, iuv, psp_id, payment_ms, received_ms, effect, transfers FROM \
             payment_receipts WHERE organization = $1 AND effect <> 'FAILED'",
            &["receipt_id", "iuv", "psp_id", "effect", "transfers"],
        )
        .await?;
        let secs = phase.started.elapsed().as_secs_f64();
        phase.end("ceiling: bare read of the receipts' match columns", &format!("{n} rows, {:.0} rows/s", n as f64 / secs));
        let phase = Phase::start();
        raw_items(pool, items).await?;
        let secs = phase.started.elapsed().as_secs_f64();
        phase.end(
            "ceiling: raw insert of the items",
            &format!("{items} rows, {:.0} rows/s ({ROWS_PER_STATEMENT} rows per statement, one transaction)", items as f64 / secs),
        );
        store.close().await;
        anyhow::Ok(())
    }
    .await;
    let dropped = db.drop_schema().await;
    result?;
    dropped
}

// ---------------------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.backend == BackendArg::Postgres {
        db::check_loopback(&cli.pg_url)?;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let m = sys::machine();
    println!(
        "machine: {} CPUs ({}), {:.1} GiB, Linux {}; backend {}",
        m.cpus,
        m.model,
        m.memory_gib,
        m.kernel,
        cli.backend.name()
    );
    let shape = Shape {
        psps: cli.psps,
        per_flow: cli.payments_per_flow,
        year_days: cli.days,
    };
    let today = pagopa::daybook::italian_date(Utc::now());
    let cal = Arc::new(Calendar::new(cli.days, today)?);
    let org = OrganizationFiscalCode::parse(ORG).map_err(|e| anyhow!("{e}"))?;
    let mut want: BTreeMap<Class, i64> = BTreeMap::new();
    for d in 0..cli.days {
        shape.expected(d, &mut want);
    }
    let year_items: i64 = want.values().sum();
    println!(
        "year: {} payment days {} … {}, {} PSPs, {} receipts, {} flows, {} items expected; incremental day {}",
        cli.days,
        cal.pay[0],
        cal.pay[cli.days - 1],
        cli.psps,
        cli.days * shape.payments_per_day(),
        cli.days * cli.psps,
        year_items,
        cal.pay[cli.days]
    );

    if !cli.no_ceiling {
        ceilings(&cli, &shape, &cal, &org, year_items as usize).await?;
    }

    let db = FreshDb::create(cli.backend, &cli.pg_url, "sportello.db").await?;
    let result = measure(&cli, &db, shape, cal, &org, want).await;
    let dropped = db.drop_schema().await;
    result?;
    dropped?;
    println!(
        "peak RSS of the process (VmHWM, last phase): {:.0} MiB",
        sys::peak_rss_mib().unwrap_or(0.0)
    );
    Ok(())
}

async fn measure(
    cli: &Cli,
    db: &FreshDb,
    shape: Shape,
    cal: Arc<Calendar>,
    org: &OrganizationFiscalCode,
    mut want: BTreeMap<Class, i64>,
) -> anyhow::Result<()> {
    let args = ConfigArgs {
        data_dir: Some(db.data_dir.clone()),
        database_url: Some(db.url.clone()),
        content_keys: (cli.backend == BackendArg::Postgres)
            .then(|| seal::Keyring::generate_spec("k1")),
        db_max_connections: cli.db_max_connections,
        ..ConfigArgs::default()
    };
    let config = Config::load(&args)?;
    let store = sportello::app::open_store(&config, true).await?;
    db.verify(store.write_pool()).await?;
    let (addr, state, stop, server) = inproc::serve(&config, store.clone()).await?;

    ops::organizations::create_organization(state.ops(), ORG, ORG_NAME, Some("comune"))
        .await
        .map_err(|e| anyhow!("create organization: {e:?}"))?;
    let (keys, _) = ops::payments::enable(
        state.pay(),
        state.store.as_ref(),
        org,
        vec![SegregationCode::new(SEGREGATION).map_err(|e| anyhow!("{e}"))?],
        None,
        Vec::new(),
        "bench",
    )
    .await
    .map_err(|e| anyhow!("enable payments: {e:?}"))?;
    let key = keys.primary_key;
    let year: Vec<usize> = (0..cli.days).collect();

    // Receipts, straight through the store.
    let phase = Phase::start();
    let mut n = 0;
    for d in 0..cli.days {
        n += record(&store, &shape, &cal, org, d, cli.receipt_batch, None).await?;
    }
    let secs = phase.started.elapsed().as_secs_f64();
    phase.end(
        "receipts: record_receipts",
        &format!(
            "{n} receipts, {:.0} receipts/s ({} per call)",
            n as f64 / secs,
            cli.receipt_batch
        ),
    );

    // Flows over HTTP.
    let phase = Phase::start();
    let (docs, bytes, lines) = upload(
        addr,
        &key,
        cli.concurrency,
        year.clone(),
        "reporting-flows",
        flows_of(shape, cal.clone()),
    )
    .await?;
    let secs = phase.started.elapsed().as_secs_f64();
    phase.end(
        "flows: POST …/reporting-flows",
        &format!(
            "{docs} flows ({:.1} MiB), {lines} lines, {:.0} flows/s, {:.0} lines/s, {} connections",
            bytes as f64 / (1 << 20) as f64,
            docs as f64 / secs,
            lines as f64 / secs,
            cli.concurrency
        ),
    );

    // Treasury over HTTP.
    let phase = Phase::start();
    let (docs, bytes, movements) = upload(
        addr,
        &key,
        cli.concurrency,
        year.clone(),
        "treasury",
        journals_of(shape, cal.clone()),
    )
    .await?;
    let secs = phase.started.elapsed().as_secs_f64();
    phase.end(
        "treasury: POST …/treasury",
        &format!(
            "{docs} journals ({:.1} MiB), {movements} movements, {:.0} journals/s, {} connections",
            bytes as f64 / (1 << 20) as f64,
            docs as f64 / secs,
            cli.concurrency
        ),
    );

    // The full match.
    let mut conn = Conn::open(addr, &key).await?;
    let phase = Phase::start();
    let (status, body) = conn
        .send(
            Method::POST,
            &format!("{}/reconciliation/run?full=true", base_path()),
            Bytes::new(),
        )
        .await?;
    if status != StatusCode::OK {
        bail!("full run: {status} {body}");
    }
    phase.end(
        "full reconciliation: POST …/reconciliation/run?full=true",
        &format!("answer {body}"),
    );
    check_totals("after the full run", &totals(&mut conn).await?, &want)?;

    // What the full run is made of, measured again in-process on the same data (a second full
    // run: the same read and classification; its save compares and writes nothing).
    let t = Instant::now();
    let batch = store.recon_facts(org, &ReconScope::All).await?;
    let read = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let items = recon::classify(&batch.facts, today());
    let classify = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let changed = store.save_recon(org, &batch, &items, Utc::now()).await?;
    let save = t.elapsed().as_secs_f64();
    println!(
        "  breakdown (second full run, in-process): recon_facts(All) {read:.2} s ({} receipts, {} lines, {} movements), classify {classify:.2} s ({} items), save_recon {save:.2} s ({} changed)",
        batch.facts.receipts.len(),
        batch.facts.lines.len(),
        batch.facts.movements.len(),
        items.len(),
        changed.len()
    );
    drop((batch, items, changed));
    let t = Instant::now();
    let effects = ops::recon::apply_effects(state.pay(), org, 10_000).await?;
    println!(
        "  position effects: apply_effects(10000) {:.2} s for {effects} items (no positions exist: each is a look-up that finds nothing)",
        t.elapsed().as_secs_f64()
    );

    // An incremental day.
    let d = cli.days;
    shape.expected(d, &mut want);
    let phase = Phase::start();
    let t = Instant::now();
    let n = record(
        &store,
        &shape,
        &cal,
        org,
        d,
        cli.receipt_batch,
        Some(Utc::now()),
    )
    .await?;
    let receipts_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (flows, _, lines) = upload(
        addr,
        &key,
        cli.concurrency,
        vec![d],
        "reporting-flows",
        flows_of(shape, cal.clone()),
    )
    .await?;
    let flows_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (_, _, movements) = upload(
        addr,
        &key,
        1,
        vec![d],
        "treasury",
        journals_of(shape, cal.clone()),
    )
    .await?;
    let treasury_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (status, body) = conn
        .send(
            Method::POST,
            &format!("{}/reconciliation/run?full=false", base_path()),
            Bytes::new(),
        )
        .await?;
    if status != StatusCode::OK {
        bail!("incremental run: {status} {body}");
    }
    let run_secs = t.elapsed().as_secs_f64();
    phase.end(
        "incremental day",
        &format!(
            "{n} receipts {receipts_secs:.2} s, {flows} flows ({lines} lines) {flows_secs:.2} s, {movements} movements {treasury_secs:.2} s, run?full=false {run_secs:.3} s, answer {body}"
        ),
    );
    check_totals(
        "after the incremental day",
        &totals(&mut conn).await?,
        &want,
    )?;

    // Same scope once more in-process, split into read / classify / save.
    let t = Instant::now();
    let last = store.last_recon(org).await?.unwrap_or_else(Utc::now);
    let batch = store
        .recon_facts(
            org,
            &ReconScope::Changed {
                receipts_since: last - chrono::Duration::minutes(5),
                today: today(),
            },
        )
        .await?;
    let read = t.elapsed().as_secs_f64();
    println!(
        "  incremental scope read again (recon_facts(Changed)): {read:.3} s ({} receipts, {} lines, {} flows, {} movements)",
        batch.facts.receipts.len(),
        batch.facts.lines.len(),
        batch.facts.flows.len(),
        batch.facts.movements.len()
    );

    if cli.backend == BackendArg::Sqlite {
        let file = db.data_dir.join("sportello.db");
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        println!("SQLite file: {:.0} MiB", size as f64 / (1 << 20) as f64);
    }
    drop(conn);
    let _ = stop.send(true);
    let _ = server.await;
    store.close().await;
    Ok(())
}

fn today() -> NaiveDate {
    pagopa::daybook::italian_date(Utc::now())
}

/// Writes the receipts of day `d` with `record_receipts`, `batch` per call; all must be new.
async fn record(
    store: &SqlStore,
    shape: &Shape,
    cal: &Calendar,
    org: &OrganizationFiscalCode,
    d: usize,
    batch: usize,
    received: Option<DateTime<Utc>>,
) -> anyhow::Result<usize> {
    let writes: Vec<ReceiptWrite> = day_receipts(shape, cal, org, d, received)
        .into_iter()
        .map(|receipt| ReceiptWrite {
            receipt,
            effect: None,
        })
        .collect();
    let mut n = 0;
    for chunk in writes.chunks(batch.max(1)) {
        for outcome in store.record_receipts(chunk).await? {
            if outcome? != ReceiptOutcome::Stored {
                bail!("a generated receipt was a duplicate");
            }
            n += 1;
        }
    }
    Ok(n)
}
