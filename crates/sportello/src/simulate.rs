//! `sportello pagopa simulate`: plays the pagoPA node against a running Sportello. For each
//! notice it calls `paVerifyPaymentNotice` → `paGetPaymentV2` → `paSendRTV2` as a PSP's payment
//! would (realistic PSPs, channels, fees, methods and payment times), concurrently, and sends
//! the receipt of a multi-beneficiary payment to every ente involved. For each simulated day it
//! then writes the reporting flows (one per beneficiary ente, PSP and IBAN) and the treasury
//! journal with the cumulative credit transfers, optionally with injected anomalies.
//!
//! Notices come from `--notice` or, with `--share`, from the ente's payable positions read from
//! the database of the same configuration (the node would know them from the verify calls).
//! HTTP only (a TLS front end is the operator's); one keep-alive connection per concurrent call.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request as HttpRequest};
use hyper_util::rt::TokioIo;
use pagopa::daybook::{self, Anomalies, Paid, PaidTransfer, Psp};
use pagopa::mbd::MarcaDaBollo;
use pagopa::{
    Caller, PaymentData, QrCode, Receipt, ReceiptTarget, ReceiptTransfer, Request, Response,
    TransferTarget,
};
use serde::Serialize;
use tokio::net::TcpStream;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateArgs {
    pub url: String,
    pub organization: String,
    pub broker_id: String,
    pub station_id: String,
    pub node_key: Option<String>,
    pub notices: Vec<String>,
    pub share: Option<f64>,
    pub from: Option<NaiveDate>,
    pub days: u32,
    pub anomalies: Anomalies,
    pub out: Option<PathBuf>,
    pub concurrency: usize,
    /// Verify calls per payment (a PSP app often verifies again right before paying).
    pub verifies: usize,
    pub seed: u64,
}

/// A PSP the simulator pays through.
struct PspProfile {
    id: &'static str,
    name: &'static str,
    fiscal_code: &'static str,
    bic: &'static str,
    channel: &'static str,
    channel_description: &'static str,
    methods: &'static [&'static str],
    /// Fee range in cents.
    fee: (i64, i64),
}

const PSPS: &[PspProfile] = &[
    PspProfile {
        id: "BCITITMM",
        name: "Intesa Sanpaolo S.p.A.",
        fiscal_code: "00799960158",
        bic: "BCITITMMXXX",
        channel: "00799960158_01",
        channel_description: "app",
        methods: &["CP", "MYBK"],
        fee: (50, 150),
    },
    PspProfile {
        id: "UNCRITMM",
        name: "UniCredit S.p.A.",
        fiscal_code: "00348170101",
        bic: "UNCRITMMXXX",
        channel: "00348170101_03",
        channel_description: "online",
        methods: &["CP", "BBT"],
        fee: (80, 200),
    },
    PspProfile {
        id: "BPPIITRRXXX",
        name: "Poste Italiane S.p.A.",
        fiscal_code: "97103880585",
        bic: "BPPIITRRXXX",
        channel: "97103880585_02",
        channel_description: "ufficio postale",
        methods: &["PO", "CP"],
        fee: (150, 250),
    },
    PspProfile {
        id: "SATYLUL1",
        name: "Satispay Europe S.A.",
        fiscal_code: "LU29210624",
        bic: "SATYLUL1XXX",
        channel: "SATYLUL1_01",
        channel_description: "app",
        methods: &["SATY"],
        fee: (0, 100),
    },
    PspProfile {
        id: "PPAYITR1XXX",
        name: "PayPal (Europe) S.a r.l. et Cie",
        fiscal_code: "97646110586",
        bic: "PPAYITR1XXX",
        channel: "97646110586_01",
        channel_description: "online",
        methods: &["PPAL"],
        fee: (100, 180),
    },
];

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }
}

/// One notice to pay on one day.
#[derive(Debug, Clone)]
struct Job {
    ente: String,
    notice: String,
    day: NaiveDate,
    seed: u64,
}

/// What one payment did.
#[derive(Debug)]
enum Outcome {
    Paid(Box<Paid>),
    /// A KO of the node's call: (operation, fault code).
    Refused(&'static str, String),
}

#[derive(Default)]
struct Stats {
    latencies: BTreeMap<&'static str, Vec<u32>>,
    faults: BTreeMap<String, u64>,
    calls: u64,
}

/// The endpoint: `host:port` and the path of `paForNode`.
fn endpoint(url: &str) -> anyhow::Result<(SocketAddr, String, String)> {
    let u = url::Url::parse(url).with_context(|| format!("--url {url}"))?;
    if u.scheme() != "http" {
        bail!("--url: the simulator speaks plain http (put TLS in front of Sportello yourself)");
    }
    let host = u.host_str().ok_or_else(|| anyhow!("--url has no host"))?;
    let port = u.port_or_known_default().unwrap_or(80);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| anyhow!("--url: {host} does not resolve"))?;
    let path = if u.path().ends_with("/paForNode") {
        u.path().to_owned()
    } else {
        format!("{}/api/pagopa/paForNode", u.path().trim_end_matches('/'))
    };
    Ok((addr, format!("{host}:{port}"), path))
}

struct Conn {
    addr: SocketAddr,
    host: String,
    path: String,
    key: Option<String>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    async fn call(&mut self, request: &Request) -> anyhow::Result<(Response, Duration)> {
        let op = request.operation();
        let body = pagopa::soap::render_request(request);
        for attempt in 0..2 {
            if self.sender.is_none() {
                let stream = TcpStream::connect(self.addr)
                    .await
                    .with_context(|| format!("cannot connect to {}", self.addr))?;
                stream.set_nodelay(true)?;
                let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                self.sender = Some(sender);
            }
            let mut builder = HttpRequest::builder()
                .method(Method::POST)
                .uri(&self.path)
                .header("host", &self.host)
                .header("content-type", "text/xml; charset=utf-8")
                .header("soapaction", op.name());
            if let Some(k) = &self.key {
                builder = builder.header("ocp-apim-subscription-key", k);
            }
            let req = builder.body(Full::new(Bytes::from(body.clone())))?;
            let started = Instant::now();
            let Some(sender) = self.sender.as_mut() else {
                continue;
            };
            let exchange = async {
                sender.ready().await?;
                let response = sender.send_request(req).await?;
                let status = response.status();
                let body = response.into_body().collect().await?.to_bytes();
                anyhow::Ok((status, body))
            };
            match tokio::time::timeout(Duration::from_secs(30), exchange).await {
                Ok(Ok((status, bytes))) => {
                    let took = started.elapsed();
                    if !status.is_success() {
                        bail!(
                            "{} answered HTTP {status}: {}",
                            op.name(),
                            String::from_utf8_lossy(&bytes)
                                .chars()
                                .take(300)
                                .collect::<String>()
                        );
                    }
                    let response = pagopa::soap::parse_response(op, &bytes)
                        .map_err(|e| anyhow!("{} answer is not valid: {e}", op.name()))?;
                    return Ok((response, took));
                }
                Ok(Err(e)) if attempt == 0 => {
                    tracing::debug!(error = %e, "reconnecting");
                    self.sender = None;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => bail!("{} did not answer within 30 s", op.name()),
            }
        }
        bail!("{} failed twice", op.name())
    }
}

/// A payment time on `day`: between 08:00 and 20:00 UTC, and not after `now`.
fn paid_at(day: NaiveDate, rng: &mut Rng, now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = 8 * 3600 + rng.below(12 * 3600) as u32;
    Utc.from_utc_datetime(
        &day.and_hms_opt(secs / 3600, (secs / 60) % 60, secs % 60)
            .unwrap_or_default(),
    )
    .min(now)
}

/// The receipt id of a payment: the same payment (seed, ente, notice, day) always gets the same
/// id — a second run replays it and the station says it has it — and another payment another.
fn receipt_id(seed: u64, ente: &str, notice: &str, day: NaiveDate) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in ente
        .bytes()
        .chain(notice.bytes())
        .chain(day.to_string().into_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = Rng(h);
    rng.hex(32)
}

fn next_working_day(d: NaiveDate) -> NaiveDate {
    let mut n = d.succ_opt().unwrap_or(d);
    while matches!(n.weekday(), Weekday::Sat | Weekday::Sun) {
        n = n.succ_opt().unwrap_or(n);
    }
    n
}

/// The receipt a PSP sends after collecting `data`.
fn receipt_of(
    ente: &str,
    notice: &str,
    data: &PaymentData,
    psp: &PspProfile,
    at: DateTime<Utc>,
    rng: &mut Rng,
) -> Receipt {
    let transfers = data
        .transfers
        .iter()
        .map(|t| ReceiptTransfer {
            id_transfer: t.id_transfer,
            amount: t.amount,
            fiscal_code_pa: t.fiscal_code_pa.clone(),
            company_name: t.company_name.clone(),
            target: match &t.target {
                TransferTarget::Iban(i) => ReceiptTarget::Iban(i.clone()),
                TransferTarget::Stamp {
                    hash_document,
                    stamp_type,
                    ..
                } => {
                    let stamp = MarcaDaBollo {
                        psp_fiscal_code: psp.fiscal_code.to_owned(),
                        psp_name: psp.name.to_owned(),
                        iubd: format!("{:014}", rng.below(100_000_000_000_000)),
                        purchased_at: at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        amount: t.amount,
                        stamp_type: stamp_type.clone(),
                        document_digest: hash_document.clone(),
                    };
                    ReceiptTarget::Stamp {
                        attachment: base64::engine::general_purpose::STANDARD
                            .encode(pagopa::mbd::render(&stamp)),
                        stamp: Some(stamp),
                    }
                }
            },
            remittance_information: t.remittance_information.clone(),
            transfer_category: t.transfer_category.clone(),
            metadata: t.metadata.clone(),
        })
        .collect();
    let method = psp.methods[rng.below(psp.methods.len() as u64) as usize];
    let fee = psp.fee.0 + rng.below((psp.fee.1 - psp.fee.0 + 1) as u64) as i64;
    Receipt {
        receipt_id: rng.hex(32),
        notice_number: notice.to_owned(),
        fiscal_code: ente.to_owned(),
        outcome_ok: true,
        creditor_reference_id: data.creditor_reference_id.clone(),
        payment_amount: data.payment_amount,
        description: data.description.clone(),
        company_name: data.company_name.clone(),
        office_name: data.office_name.clone(),
        debtor: data.debtor.clone(),
        transfers,
        id_psp: psp.id.to_owned(),
        psp_fiscal_code: Some(psp.fiscal_code.to_owned()),
        psp_partita_iva: None,
        psp_company_name: psp.name.to_owned(),
        id_channel: psp.channel.to_owned(),
        channel_description: psp.channel_description.to_owned(),
        payer: Some(data.debtor.clone()),
        payment_method: Some(method.to_owned()),
        payment_note: None,
        fee: Some(fee),
        primary_ci_incurred_fee: None,
        id_bundle: Some(format!("bundle-{}", &psp.id.to_ascii_lowercase())),
        id_ci_bundle: None,
        payment_date_time: Some(at),
        application_date: Some(at.date_naive()),
        transfer_date: Some(next_working_day(at.date_naive())),
        metadata: Vec::new(),
        stand_in: Some(false),
    }
}

/// Pays one notice: verify (×`verifies`), getPaymentV2, sendRTV2 to the issuer and then to
/// each other beneficiary ente with a station assignment.
async fn pay_one(
    conn: &mut Conn,
    args: &SimulateArgs,
    stations: &HashMap<String, (String, String)>,
    job: &Job,
    stats: &Mutex<Stats>,
) -> anyhow::Result<Outcome> {
    let mut rng = Rng(job.seed);
    let caller = Caller {
        id_pa: job.ente.clone(),
        id_broker_pa: args.broker_id.clone(),
        id_station: args.station_id.clone(),
    };
    let qr = QrCode {
        fiscal_code: job.ente.clone(),
        notice_number: job.notice.clone(),
    };
    let record = |op: &'static str, took: Duration, response: &Response| {
        let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
        s.calls += 1;
        s.latencies
            .entry(op)
            .or_default()
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        if let Some(f) = response.fault() {
            *s.faults
                .entry(format!("{op}:{}", f.code.as_str()))
                .or_default() += 1;
        }
    };
    for _ in 0..args.verifies.max(1) {
        let (r, took) = conn
            .call(&Request::Verify {
                caller: caller.clone(),
                qr: qr.clone(),
            })
            .await?;
        record("paVerifyPaymentNotice", took, &r);
        if let Some(f) = r.fault() {
            return Ok(Outcome::Refused(
                "paVerifyPaymentNotice",
                f.code.as_str().to_owned(),
            ));
        }
    }
    let (r, took) = conn
        .call(&Request::GetPayment {
            v2: true,
            caller: caller.clone(),
            qr: qr.clone(),
            amount: None,
            payment_note: None,
            transfer_type: None,
            due_date: None,
        })
        .await?;
    record("paGetPaymentV2", took, &r);
    let data = match r {
        Response::GetPayment { result: Ok(d), .. } => d,
        other => {
            let code = other.fault().map_or("unexpected answer".to_owned(), |f| {
                f.code.as_str().to_owned()
            });
            return Ok(Outcome::Refused("paGetPaymentV2", code));
        }
    };
    let psp = &PSPS[rng.below(PSPS.len() as u64) as usize];
    let at = paid_at(job.day, &mut rng, Utc::now());
    let mut receipt = receipt_of(&job.ente, &job.notice, &data, psp, at, &mut rng);
    receipt.receipt_id = receipt_id(args.seed, &job.ente, &job.notice, job.day);
    let mut enti: Vec<String> = vec![job.ente.clone()];
    for t in &receipt.transfers {
        if !enti.contains(&t.fiscal_code_pa) {
            enti.push(t.fiscal_code_pa.clone());
        }
    }
    for (n, ente) in enti.iter().enumerate() {
        let (broker, station) = if n == 0 {
            (args.broker_id.clone(), args.station_id.clone())
        } else {
            match stations.get(ente) {
                Some(s) => s.clone(),
                None => continue, // an ente this installation does not serve
            }
        };
        let (r, took) = conn
            .call(&Request::SendRt {
                v2: true,
                caller: Caller {
                    id_pa: ente.clone(),
                    id_broker_pa: broker,
                    id_station: station,
                },
                receipt: Box::new(receipt.clone()),
            })
            .await?;
        record("paSendRTV2", took, &r);
        // A receipt the station already holds (a resend after a lost answer, a replayed run)
        // is paid all the same.
        if n == 0
            && let Some(f) = r.fault()
            && f.code != pagopa::FaultCode::ReceiptDuplicata
        {
            return Ok(Outcome::Refused("paSendRTV2", f.code.as_str().to_owned()));
        }
    }
    let transfers = data
        .transfers
        .iter()
        .filter_map(|t| match &t.target {
            TransferTarget::Iban(iban) => Some(PaidTransfer {
                index: t.id_transfer,
                amount_cents: t.amount,
                beneficiary: t.fiscal_code_pa.clone(),
                iban: iban.clone(),
            }),
            // a stamp is paid to the Agenzia delle Entrate, not reported to the ente
            TransferTarget::Stamp { .. } => None,
        })
        .collect();
    Ok(Outcome::Paid(Box::new(Paid {
        iuv: data.creditor_reference_id.clone(),
        receipt_id: receipt.receipt_id.clone(),
        ente: job.ente.clone(),
        transfers,
        psp: Psp {
            id: psp.id.to_owned(),
            name: psp.name.to_owned(),
            bic: Some(psp.bic.to_owned()),
        },
        paid_at: at,
    })))
}

#[derive(Serialize)]
struct OpStats {
    calls: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct Summary {
    notices: usize,
    paid: usize,
    /// Payments that stopped at a KO, by `operation:fault code`.
    refused: BTreeMap<String, u64>,
    /// Every KO answered, by `operation:fault code` (a beneficiary's copy included).
    faults: BTreeMap<String, u64>,
    calls: u64,
    seconds: f64,
    calls_per_second: f64,
    operations: BTreeMap<&'static str, OpStats>,
    days: Vec<DaySummary>,
}

#[derive(Serialize)]
struct DaySummary {
    date: String,
    paid: usize,
    flows: usize,
    movements: usize,
    anomalies: Vec<String>,
    /// The same, structured: class, flow id and IUV concerned.
    injected: Vec<daybook::InjectedAnomaly>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// Runs the simulation; the notices to pay are already chosen.
async fn run_jobs(
    args: &SimulateArgs,
    stations: HashMap<String, (String, String)>,
    jobs: Vec<Job>,
) -> anyhow::Result<Summary> {
    let (addr, host, path) = endpoint(&args.url)?;
    let total = jobs.len();
    let queue = Arc::new(Mutex::new(jobs.into_iter().collect::<VecDeque<_>>()));
    let stats = Arc::new(Mutex::new(Stats::default()));
    let results: Arc<Mutex<Vec<(NaiveDate, Outcome)>>> = Arc::default();
    let stations = Arc::new(stations);
    let args_shared = Arc::new(args.clone());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let queue = queue.clone();
        let stats = stats.clone();
        let results = results.clone();
        let stations = stations.clone();
        let args = args_shared.clone();
        let mut conn = Conn {
            addr,
            host: host.clone(),
            path: path.clone(),
            key: args.node_key.clone(),
            sender: None,
        };
        tasks.push(tokio::spawn(async move {
            loop {
                let job = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let Some(job) = job else { break };
                let outcome = pay_one(&mut conn, &args, &stations, &job, &stats).await?;
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((job.day, outcome));
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| anyhow!("a simulated PSP stopped: {e}"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut stats = std::mem::take(&mut *stats.lock().unwrap_or_else(|e| e.into_inner()));
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    let mut by_day: BTreeMap<NaiveDate, Vec<Paid>> = BTreeMap::new();
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let mut paid = 0;
    for (day, outcome) in results {
        match outcome {
            Outcome::Paid(p) => {
                paid += 1;
                by_day.entry(day).or_default().push(*p);
            }
            Outcome::Refused(op, code) => *refused.entry(format!("{op}:{code}")).or_default() += 1,
        }
    }
    let mut days = Vec::new();
    for (n, (day, mut paid)) in by_day.into_iter().enumerate() {
        // A payment of stamps only moves no money to an ente's account: in no flow.
        paid.retain(|p| !p.transfers.is_empty());
        paid.sort_by(|a, b| a.paid_at.cmp(&b.paid_at).then(a.iuv.cmp(&b.iuv)));
        days.push(write_day(
            args,
            day,
            &paid,
            args.seed.wrapping_add(n as u64),
        )?);
    }
    let mut operations = BTreeMap::new();
    let mut all: Vec<u32> = stats.latencies.values().flatten().copied().collect();
    all.sort_unstable();
    operations.insert(
        "all",
        OpStats {
            calls: all.len(),
            p50_ms: percentile(&all, 0.50),
            p99_ms: percentile(&all, 0.99),
            max_ms: percentile(&all, 1.0),
        },
    );
    for (op, v) in stats.latencies.iter_mut() {
        v.sort_unstable();
        operations.insert(
            *op,
            OpStats {
                calls: v.len(),
                p50_ms: percentile(v, 0.50),
                p99_ms: percentile(v, 0.99),
                max_ms: percentile(v, 1.0),
            },
        );
    }
    Ok(Summary {
        notices: total,
        paid,
        refused,
        faults: std::mem::take(&mut stats.faults),
        calls: stats.calls,
        seconds,
        calls_per_second: stats.calls as f64 / seconds.max(1e-9),
        operations,
        days,
    })
}

/// Writes one day's reporting flows and treasury journal(s) under `--out`.
fn write_day(
    args: &SimulateArgs,
    day: NaiveDate,
    paid: &[Paid],
    seed: u64,
) -> anyhow::Result<DaySummary> {
    let mut input = daybook::DayInput::new(day, paid.to_vec(), seed);
    input.anomalies = args.anomalies;
    let output = daybook::plan(&input).map_err(|e| anyhow!("day {day}: {e}"))?;
    let summary = DaySummary {
        date: day.to_string(),
        paid: paid.len(),
        flows: output.flows.len(),
        movements: output
            .journals
            .iter()
            .flat_map(|j| &j.journal.accounts)
            .map(|a| a.movements.len())
            .sum(),
        anomalies: output
            .injected
            .iter()
            .map(|a| format!("{:?}: {}", a.class, a.detail))
            .collect(),
        injected: output.injected.clone(),
    };
    let Some(out) = &args.out else {
        return Ok(summary);
    };
    let dir = out.join(day.to_string());
    let fdr = dir.join("fdr");
    std::fs::create_dir_all(&fdr).with_context(|| format!("cannot create {}", fdr.display()))?;
    for flow in &output.flows {
        write(
            &fdr.join(daybook::flow_file_name(flow)),
            &pagopa::fdr::render(flow),
        )?;
    }
    // The simulated ente's first journal is `opi.xml`; any other (another bank of it, or a
    // beneficiary ente) keeps its own name beside it.
    let mut named = false;
    for j in &output.journals {
        let name = if !named && j.ente == args.organization {
            named = true;
            "opi.xml".to_owned()
        } else {
            j.file_name.clone()
        };
        write(&dir.join(name), &pagopa::opi::render(&j.journal))?;
    }
    Ok(summary)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The notices to pay and the days they are paid on.
pub async fn simulate(
    args: SimulateArgs,
    store: Option<&store::SqlStore>,
    today: NaiveDate,
) -> anyhow::Result<String> {
    use payments::ports::{ListFilter, Positions, Stations};
    let mut rng = Rng(args.seed);
    let mut stations = HashMap::new();
    if let Some(store) = store {
        for (org, s) in store.stations().await? {
            stations.insert(org.as_str().to_owned(), (s.broker_id, s.station_id));
        }
    }
    let mut jobs = Vec::new();
    if !args.notices.is_empty() {
        let day = args.from.unwrap_or(today);
        for n in &args.notices {
            jobs.push(Job {
                ente: args.organization.clone(),
                notice: n.clone(),
                day,
                seed: rng.next(),
            });
        }
    } else {
        let share = args
            .share
            .ok_or_else(|| anyhow!("--share or --notice is required"))?;
        let store =
            store.ok_or_else(|| anyhow!("--share reads the positions from the database"))?;
        let from = args.from.ok_or_else(|| anyhow!("--share needs --from"))?;
        let org = kernel::values::OrganizationFiscalCode::parse(&args.organization)
            .map_err(|e| anyhow!("--organization: {e}"))?;
        let filter = ListFilter {
            statuses: vec![
                payments::PositionStatus::Valid,
                payments::PositionStatus::PartiallyPaid,
            ],
            ..ListFilter::default()
        };
        let mut notices = Vec::new();
        let mut page = 0;
        loop {
            let (rows, total) = store.list_positions(&org, &filter, page, 1000).await?;
            let now = Utc::now();
            for p in &rows {
                // One option per position that the station would accept now: the single
                // payment, else the first open installment.
                let mut open: Vec<usize> = (0..p.options.len())
                    .filter(|i| p.node_check(*i, now, now).is_ok())
                    .collect();
                open.sort_by_key(|i| (p.options[*i].is_partial_payment, p.options[*i].due_date));
                if let Some(i) = open.first() {
                    notices.push(p.options[*i].nav.to_string());
                }
            }
            page += 1;
            if rows.is_empty() || page * 1000 >= total {
                break;
            }
        }
        let mut chosen: Vec<String> = notices
            .into_iter()
            .filter(|_| (rng.below(1_000_000) as f64) < share * 10_000.0)
            .collect();
        chosen.sort();
        let days = args.days.max(1) as usize;
        for (i, n) in chosen.into_iter().enumerate() {
            let day = from + chrono::Duration::days((i % days) as i64);
            jobs.push(Job {
                ente: args.organization.clone(),
                notice: n,
                day,
                seed: rng.next(),
            });
        }
    }
    let summary = run_jobs(&args, stations, jobs).await?;
    Ok(serde_json::to_string_pretty(&summary)?)
}

/// `--anomalies code9,amount,…`.
pub fn parse_anomalies(list: Option<&str>) -> anyhow::Result<Anomalies> {
    match list {
        None => Ok(Anomalies::default()),
        Some(s) => daybook::parse_anomalies(s).map_err(|e| anyhow!("--anomalies: {e}")),
    }
}
