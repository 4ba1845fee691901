//! Notification throughput: e-mails handed to a real SMTP server (aiosmtpd, see `sink.rs`) by
//! Sportello's workers, against a ceiling measured in the same run: the same e-mails sent straight
//! through `notify::smtp::SmtpMailer` to the same server with the concurrency the workers use.
//!
//! Set-up: `--citizens` profiles with a validated address are written through
//! `Store::save_citizen` (the validation e-mail and its link are skipped), a draft service is
//! authorized for all of them, and `--messages` messages go in one batch upload, round-robin over
//! the citizens. Each message gives one e-mail notification; push is off.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use chrono::Utc;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use kernel::values::{Email, FiscalCode};
use messaging::model::CitizenProfile;
use messaging::outbound::{Mail, Mailer};
use messaging::ports::prelude::*;
use notify::smtp::SmtpMailer;
use notify::templates::{self, Lang};
use sportello::app::{Running, open_store, start};
use sqlx::{AnyPool, Row};
use store::SqlStore;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::client::Conn;
use crate::db::{BackendArg, FreshDb};
use crate::sink::{Sink, SinkKind};
use crate::submit::{self, MARKDOWN, ORGANIZATION_NAME, SERVICE_NAME, SUBJECT};
use crate::sys::{self, CpuUse, Machine};

const MAIL_FROM: &str = "Comune di Varese <noreply@comune.varese.it>";
const PUBLIC_URL: &str = "https://sportello.comune.varese.it";
/// Polling interval of the message and notification counts (on a connection of its own).
const POLL: Duration = Duration::from_millis(50);
/// Month letters of a fiscal code.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
/// Distinct fiscal codes [`fiscal_code`] makes.
pub const MAX_CITIZENS: u64 = 100 * 12 * 28;

/// How the mail bench runs.
#[derive(Debug, Clone)]
pub struct MailPlan {
    pub backend: BackendArg,
    pub pg_url: String,
    pub workers: usize,
    pub db_max_connections: Option<u32>,
    pub messages: u64,
    pub citizens: u64,
    pub sink: SinkKind,
    pub timeout: Duration,
}

/// The ceiling's figures.
#[derive(Debug, Default)]
pub struct CeilingOutcome {
    pub sent: u64,
    pub errors: BTreeMap<String, u64>,
    /// Messages the server counted during the ceiling.
    pub received: u64,
    pub elapsed: Duration,
    pub concurrency: usize,
    pub cpu: CpuUse,
    /// Mean time of one e-mail sent alone (one at a time, [`LONE_SENDS`] of them).
    pub lone_ms: f64,
}

/// E-mails sent one at a time to measure the time of one SMTP transaction.
pub const LONE_SENDS: u64 = 50;

impl CeilingOutcome {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Sportello's figures.
#[derive(Debug, Default)]
pub struct SportelloMail {
    pub citizens_setup: Duration,
    /// From the start of the batch POST: its 202, every message PROCESSED, every e-mail SENT.
    pub upload: Duration,
    pub processed: Option<Duration>,
    pub all_sent: Option<Duration>,
    /// From the first notification written to the last recorded SENT (database timestamps).
    pub window_ms: i64,
    pub sent: i64,
    pub notifications: BTreeMap<String, i64>,
    /// E-mails the SMTP server received during the Sportello phase.
    pub received: u64,
    pub send_concurrency: usize,
    pub cpu: CpuUse,
}

impl SportelloMail {
    pub fn rate(&self) -> f64 {
        self.sent as f64 * 1000.0 / (self.window_ms as f64).max(1e-9)
    }
}

/// The `i`-th fiscal code of the benchmark's citizens (`RSSMRA` + varying birth date in A562,
/// with its check character), distinct for `i` < [`MAX_CITIZENS`].
pub fn fiscal_code(i: u64) -> anyhow::Result<FiscalCode> {
    let month = MONTHS[((i / 100) % 12) as usize] as char;
    let stem = format!("RSSMRA{:02}{month}{:02}A562", i % 100, 1 + (i / 1_200) % 28);
    (b'A'..=b'Z')
        .find_map(|c| FiscalCode::parse(&format!("{stem}{}", c as char)).ok())
        .ok_or_else(|| anyhow!("no check character makes {stem} valid"))
}

fn address(i: u64) -> String {
    format!("cittadino{i}@example.it")
}

/// The e-mail Sportello sends for the benchmark's message (Italian template, content shown).
fn rendered(to: String) -> Mail {
    let (subject, text, html) = templates::new_message(
        Lang::It,
        SERVICE_NAME,
        ORGANIZATION_NAME,
        Some((SUBJECT, MARKDOWN)),
        PUBLIC_URL,
    );
    Mail {
        to,
        subject,
        text,
        html: Some(html),
    }
}

/// The ceiling: `messages` e-mails through one `SmtpMailer` (one lettre pool), `concurrency`
/// at a time, each rendered from the template as the worker renders it.
pub async fn ceiling(
    sink: &Sink,
    messages: u64,
    citizens: u64,
    concurrency: usize,
) -> anyhow::Result<CeilingOutcome> {
    let mailer = Arc::new(
        SmtpMailer::from_url(&sink.url(), MAIL_FROM).map_err(|e| anyhow!("SMTP mailer: {e}"))?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let received_before = sink.received()?;
    let before = sys::cpu_snapshot();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (mailer, next) = (mailer.clone(), next.clone());
        tasks.spawn(async move {
            let (mut sent, mut errors) = (0_u64, BTreeMap::<String, u64>::new());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= messages {
                    break;
                }
                match mailer.send(&rendered(address(i % citizens))).await {
                    Ok(()) => sent += 1,
                    Err(e) => *errors.entry(e.to_string()).or_default() += 1,
                }
            }
            (sent, errors)
        });
    }
    let mut out = CeilingOutcome {
        concurrency,
        ..CeilingOutcome::default()
    };
    while let Some(joined) = tasks.join_next().await {
        let (sent, errors) = joined.context("a ceiling task failed")?;
        out.sent += sent;
        for (e, n) in errors {
            *out.errors.entry(e).or_default() += n;
        }
    }
    out.elapsed = started.elapsed();
    out.cpu = sys::cpu_between(before, sys::cpu_snapshot());
    out.received = sink.received()?.saturating_sub(received_before);
    let started = Instant::now();
    for i in 0..LONE_SENDS {
        mailer
            .send(&rendered(address(i % citizens)))
            .await
            .map_err(|e| anyhow!("lone send: {e}"))?;
    }
    out.lone_ms = started.elapsed().as_secs_f64() * 1000.0 / LONE_SENDS as f64;
    Ok(out)
}

/// Runs the Sportello phase on a fresh database, which is removed afterwards.
pub async fn run(plan: &MailPlan, sink: &Sink) -> anyhow::Result<SportelloMail> {
    let db = FreshDb::create(plan.backend, &plan.pg_url, "sportello.db").await?;
    let result = run_on(&db, plan, sink).await;
    let dropped = db.drop_schema().await;
    let out = result?;
    dropped?;
    Ok(out)
}

async fn run_on(db: &FreshDb, plan: &MailPlan, sink: &Sink) -> anyhow::Result<SportelloMail> {
    let mut config = submit::config(db, plan.backend, plan.workers, plan.db_max_connections)?;
    config.smtp_url = Some(sportello::config::Secret(sink.url()));
    config.mail_from = MAIL_FROM.to_owned();
    config.public_url = PUBLIC_URL.to_owned();
    config.push_url = None;
    let send_concurrency = config.job.send_concurrency;
    let store = open_store(&config, true).await?;
    db.verify(store.write_pool()).await?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let running = start(&config, store.clone(), Some(listener)).await?;
    let result = measure(&running, &store, db, plan, sink).await;
    running.stop().await;
    store.close().await;
    let mut out = result?;
    out.send_concurrency = send_concurrency;
    Ok(out)
}

/// `--citizens` profiles with a validated address, written 8 at a time.
async fn citizens(store: &SqlStore, n: u64) -> anyhow::Result<Vec<String>> {
    let mut codes = Vec::with_capacity(n as usize);
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let fiscal_code = fiscal_code(i)?;
        codes.push(fiscal_code.as_str().to_owned());
        let now = Utc::now();
        let profile = CitizenProfile {
            email: Some(Email::parse(&address(i)).map_err(|e| anyhow!("{}", e.reason))?),
            is_email_validated: true,
            is_inbox_enabled: true,
            ..CitizenProfile::new(fiscal_code, now)
        };
        let store = store.clone();
        tasks.spawn(async move { store.save_citizen(&profile, None, None).await });
        if tasks.len() >= 8
            && let Some(done) = tasks.join_next().await
        {
            done?.map_err(|e| anyhow!("save citizen: {e}"))?;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done?.map_err(|e| anyhow!("save citizen: {e}"))?;
    }
    Ok(codes)
}

async fn scalar(pool: &AnyPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
}

async fn measure(
    running: &Running,
    store: &SqlStore,
    db: &FreshDb,
    plan: &MailPlan,
    sink: &Sink,
) -> anyhow::Result<SportelloMail> {
    let begun = Instant::now();
    let codes = citizens(store, plan.citizens).await?;
    let key = submit::set_up_service(running, &codes, 0).await?;
    let citizens_setup = begun.elapsed();

    let mut ndjson = String::with_capacity(plan.messages as usize * 360);
    for i in 0..plan.messages {
        let line = serde_json::json!({
            "fiscal_code": codes[(i % plan.citizens) as usize],
            "time_to_live": 3_600,
            "content": {"subject": SUBJECT, "markdown": MARKDOWN},
        });
        ndjson.push_str(&line.to_string());
        ndjson.push('\n');
    }
    // Polls go through a connection of their own, not the store's (single) writer.
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .context("cannot open the polling connection")?;
    let received_before = sink.received()?;
    let total = i64::try_from(plan.messages)?;

    eprintln!(
        "[3/3] Sportello: batch of {} messages, then e-mails",
        plan.messages
    );
    let mut conn = Conn::open(running.addr).await?;
    let before = sys::cpu_snapshot();
    let started = Instant::now();
    let (status, body) = conn
        .send(
            Method::POST,
            "/api/v1/batches",
            &[
                (
                    HeaderName::from_static(api::auth::KEY_HEADER),
                    HeaderValue::from_str(&key).context("service key")?,
                ),
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-ndjson"),
                ),
            ],
            Bytes::from(ndjson),
        )
        .await?;
    let upload = started.elapsed();
    if status != StatusCode::ACCEPTED {
        bail!(
            "the batch upload answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (mut processed, mut all_sent) = (None, None);
    while all_sent.is_none() && started.elapsed() < plan.timeout {
        tokio::time::sleep(POLL).await;
        if processed.is_none()
            && scalar(
                &pool,
                "SELECT COUNT(*) FROM messages WHERE status = 'PROCESSED'",
            )
            .await?
                >= total
        {
            processed = Some(started.elapsed());
        }
        if scalar(
            &pool,
            "SELECT COUNT(*) FROM notifications WHERE status = 'SENT'",
        )
        .await?
            >= total
        {
            all_sent = Some(started.elapsed());
        }
    }
    let cpu = sys::cpu_between(before, sys::cpu_snapshot());

    let mut notifications = BTreeMap::new();
    for r in sqlx::query("SELECT status, COUNT(*) AS n FROM notifications GROUP BY status")
        .fetch_all(&pool)
        .await?
    {
        notifications.insert(r.try_get::<String, _>("status")?, r.try_get::<i64, _>("n")?);
    }
    let window = sqlx::query(
        "SELECT MIN(created_at) AS first, MAX(updated_at) AS last, COUNT(*) AS n \
         FROM notifications WHERE channel = 'EMAIL' AND purpose = 'message' AND status = 'SENT'",
    )
    .fetch_one(&pool)
    .await?;
    let sent: i64 = window.try_get("n")?;
    let window_ms = if sent > 0 {
        window.try_get::<i64, _>("last")? - window.try_get::<i64, _>("first")?
    } else {
        0
    };
    pool.close().await;
    Ok(SportelloMail {
        citizens_setup,
        upload,
        processed,
        all_sent,
        window_ms,
        sent,
        notifications,
        received: sink.received()?.saturating_sub(received_before),
        send_concurrency: 0,
        cpu,
    })
}

/// Everything one `mail` run measured.
#[derive(Debug)]
pub struct MailReport {
    pub plan: MailPlan,
    pub threads: usize,
    pub machine: Machine,
    pub ceiling: CeilingOutcome,
    pub sportello: SportelloMail,
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(
        || "not reached".to_owned(),
        |d| format!("{:.2}", d.as_secs_f64()),
    )
}

fn cpu(c: &CpuUse) -> String {
    format!(
        "{:.2} / {:.2} / {:.2}",
        c.process_cores, c.database_cores, c.others_cores
    )
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "0".to_owned();
    }
    m.iter()
        .map(|(k, v)| format!("{v} × {}", k.replace(['\n', '|'], " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl MailReport {
    pub fn markdown(&self) -> String {
        let (c, s, p) = (&self.ceiling, &self.sportello, &self.plan);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### {} — {} e-mails to {} citizens\n",
            p.backend.name(),
            p.messages,
            p.citizens
        );
        let _ = writeln!(out, "- date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"));
        let _ = writeln!(
            out,
            "- machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}",
            self.machine.cpus, self.machine.model, self.machine.memory_gib, self.machine.kernel
        );
        let _ = writeln!(
            out,
            "- client, Sportello and SMTP client in one process, {} tokio worker threads; \
             Sportello workers: {} × {} sends at once; SMTP server: aiosmtpd ({}), its own \
             process (counted under \"others\")\n",
            self.threads,
            p.workers,
            s.send_concurrency,
            match p.sink {
                SinkKind::Count => "counting handler",
                SinkKind::Maildir => "Maildir",
            }
        );
        let rows: Vec<(String, String)> = vec![
            (
                format!(
                    "ceiling: SmtpMailer straight to the server, {} at once: e-mails/s",
                    c.concurrency
                ),
                format!("{:.0}", c.rate()),
            ),
            (
                "ceiling: sent; received by the server; errors".into(),
                format!("{}; {}; {}", c.sent, c.received, counts(&c.errors)),
            ),
            (
                format!("ceiling: one e-mail alone (mean of {LONE_SENDS}, pooled connection), ms"),
                format!("{:.1}", c.lone_ms),
            ),
            (
                "set-up: citizens (Store::save_citizen) and service, s".into(),
                format!("{:.1}", s.citizens_setup.as_secs_f64()),
            ),
            (
                "from the batch POST: 202; every message PROCESSED; every e-mail SENT, s".into(),
                format!(
                    "{:.2}; {}; {}",
                    s.upload.as_secs_f64(),
                    secs(s.processed),
                    secs(s.all_sent)
                ),
            ),
            (
                "**Sportello: e-mails/s, first notification written → last SENT**".into(),
                format!(
                    "**{:.0}** ({} in {:.2} s)",
                    s.rate(),
                    s.sent,
                    s.window_ms as f64 / 1000.0
                ),
            ),
            (
                "notifications by status; e-mails received by the server".into(),
                format!(
                    "{}; {}",
                    s.notifications
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.received
                ),
            ),
            (
                "**ratio Sportello ÷ ceiling**".into(),
                format!("**{:.2}**", s.rate() / c.rate().max(1e-9)),
            ),
            (
                "CPU cores, bench / PostgreSQL / others: ceiling".into(),
                cpu(&c.cpu),
            ),
            ("… Sportello (POST → every e-mail SENT)".into(), cpu(&s.cpu)),
        ];
        let _ = writeln!(out, "| measure | value |\n| --- | ---: |");
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        out
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn fiscal_codes_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..MAX_CITIZENS).step_by(7) {
            assert!(seen.insert(fiscal_code(i).unwrap().as_str().to_owned()));
        }
        assert!(!fiscal_code(0).unwrap().is_sandbox());
    }
}
