//! Sportello single submit: the real application started in this process on a fresh database,
//! an organization, delegate, draft service and citizen set up through the admin operations,
//! `POST /api/v1/messages/{fiscal_code}` under closed-loop load, then the wait until every
//! accepted message has been processed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use messaging::ports::prelude::*;
use sportello::app::{Running, open_store, start};
use sportello::config::{Config, ConfigArgs};
use store::SqlStore;
use tokio::net::TcpListener;

use crate::db::{BackendArg, FreshDb};
use crate::load::{self, Plan, Target};
use crate::sys::{self, CpuUse};

pub const ORGANIZATION_FISCAL_CODE: &str = "00441340122";
pub const ORGANIZATION_NAME: &str = "Comune di Varese";
pub const RECIPIENT: &str = "RSSMRA85T10A562S";
pub const SERVICE_NAME: &str = "Tributi";
pub const SUBJECT: &str = "Promemoria: scadenza TARI 2026";
pub const MARKDOWN: &str = "Gentile cittadina, gentile cittadino,\n\nle ricordiamo che la \
    **prima rata della TARI 2026** scade il 16 giugno. Puo' pagarla con l'avviso pagoPA \
    allegato, online o presso gli sportelli del Comune.";

/// Polling interval of the job queue while waiting for the drain.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// The submission body every request carries (also used for the bare ceiling).
pub fn message_body() -> Bytes {
    Bytes::from(
        serde_json::json!({
            "time_to_live": 3600,
            "content": {"subject": SUBJECT, "markdown": MARKDOWN},
        })
        .to_string(),
    )
}

/// The request of the benchmark, with or without Sportello's subscription key.
pub fn target(addr: std::net::SocketAddr, key: Option<&str>) -> anyhow::Result<Target> {
    let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    if let Some(key) = key {
        headers.push((
            HeaderName::from_static(api::auth::KEY_HEADER),
            HeaderValue::from_str(key).context("the service key is not a header value")?,
        ));
    }
    Ok(Target {
        addr,
        path: format!("/api/v1/messages/{RECIPIENT}"),
        headers,
        body: message_body(),
        expect: StatusCode::CREATED,
    })
}

/// How the Sportello phase runs.
#[derive(Debug, Clone)]
pub struct SportelloPlan {
    pub backend: BackendArg,
    pub pg_url: String,
    pub workers: usize,
    pub db_max_connections: Option<u32>,
    pub load: Plan,
    pub drain_timeout: Duration,
}

/// What the Sportello phase measured.
#[derive(Debug)]
pub struct SportelloOutcome {
    pub load: load::Outcome,
    /// Jobs queued or running when the load stopped.
    pub backlog_at_end: i64,
    /// From the end of the load until no job was queued or running.
    pub drain: Duration,
    pub drained: bool,
    pub dead_jobs: i64,
    /// Messages in the database by status at the end (includes the one probe message).
    pub statuses: BTreeMap<String, i64>,
    /// Intake transactions and the submissions they carried.
    pub intake_groups: u64,
    pub intake_grouped: u64,
    pub cpu_load: CpuUse,
    pub cpu_drain: CpuUse,
}

impl SportelloOutcome {
    /// Messages that reached a final state.
    pub fn finished(&self) -> i64 {
        ["PROCESSED", "REJECTED", "FAILED"]
            .iter()
            .filter_map(|s| self.statuses.get(*s))
            .sum()
    }

    /// Messages processed per second from the start of the load to the end of the drain.
    pub fn processing_rate(&self) -> f64 {
        self.finished() as f64 / (self.load.elapsed + self.drain).as_secs_f64().max(1e-9)
    }

    /// Backlog processed per second after the load stopped (workers alone).
    pub fn drain_rate(&self) -> f64 {
        self.backlog_at_end as f64 / self.drain.as_secs_f64().max(1e-9)
    }

    pub fn mean_group(&self) -> f64 {
        self.intake_grouped as f64 / (self.intake_groups as f64).max(1.0)
    }
}

/// Runs the phase on a fresh database, which is removed afterwards.
pub async fn run(plan: &SportelloPlan) -> anyhow::Result<SportelloOutcome> {
    let db = FreshDb::create(plan.backend, &plan.pg_url, "sportello.db").await?;
    let result = run_on(&db, plan).await;
    let dropped = db.drop_schema().await;
    let out = result?;
    dropped?;
    Ok(out)
}

/// Sportello's configuration on `db`: its defaults, with `workers` and the pool size set.
pub fn config(
    db: &FreshDb,
    backend: BackendArg,
    workers: usize,
    db_max_connections: Option<u32>,
) -> anyhow::Result<Config> {
    let args = ConfigArgs {
        data_dir: Some(db.data_dir.clone()),
        database_url: Some(db.url.clone()),
        content_keys: (backend == BackendArg::Postgres).then(|| seal::Keyring::generate_spec("k1")),
        workers: Some(workers),
        db_max_connections,
        ..ConfigArgs::default()
    };
    Config::load(&args)
}

async fn run_on(db: &FreshDb, plan: &SportelloPlan) -> anyhow::Result<SportelloOutcome> {
    let config = config(db, plan.backend, plan.workers, plan.db_max_connections)?;
    let store = open_store(&config, true).await?;
    db.verify(store.write_pool()).await?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let running = start(&config, store.clone(), Some(listener)).await?;
    let result = measure(&running, &store, plan).await;
    running.stop().await;
    store.close().await;
    result
}

/// Organization, delegate, draft service authorized for [`RECIPIENT`], citizen profile; returns
/// the service's primary key.
pub async fn set_up(running: &Running) -> anyhow::Result<String> {
    ops::citizens::create_citizen(running.state.ops(), RECIPIENT, None, true, None)
        .await
        .map_err(|e| anyhow!("create citizen: {e:?}"))?;
    set_up_service(running, &[RECIPIENT.to_owned()], 0).await
}

/// Organization, delegate and a draft service authorized for `recipients` that may ask for
/// payments up to `max_payment_amount` euro cents; returns the service's primary key.
pub async fn set_up_service(
    running: &Running,
    recipients: &[String],
    max_payment_amount: i64,
) -> anyhow::Result<String> {
    use ops::organizations;
    let ctx = running.state.ops();
    organizations::create_organization(
        ctx,
        ORGANIZATION_FISCAL_CODE,
        ORGANIZATION_NAME,
        Some("comune"),
    )
    .await
    .map_err(|e| anyhow!("create organization: {e:?}"))?;
    organizations::create_delegate(ctx, ORGANIZATION_FISCAL_CODE, "tributi@comune.varese.it")
        .await
        .map_err(|e| anyhow!("create delegate: {e:?}"))?;
    let payload = serde_json::json!({
        "name": SERVICE_NAME,
        "description": "Avvisi e promemoria sui tributi comunali.",
        "organization": {"name": ORGANIZATION_NAME, "fiscal_code": ORGANIZATION_FISCAL_CODE},
        "authorized_recipients": recipients,
        "authorized_cidrs": [],
        "max_allowed_payment_amount": max_payment_amount,
        "metadata": {"scope": "LOCAL", "topic_id": 0},
    });
    let draft = messaging::service_payload::parse_service_payload(&payload)
        .map_err(|e| anyhow!("service payload: {}", e.summary()))?;
    let (_, keys) = ops::services::create_from_draft(ctx, &running.state.keyring, draft, "bench")
        .await
        .map_err(|e| anyhow!("create service: {e:?}"))?;
    Ok(keys.primary_key)
}

async fn measure(
    running: &Running,
    store: &SqlStore,
    plan: &SportelloPlan,
) -> anyhow::Result<SportelloOutcome> {
    let key = set_up(running).await?;
    let target = Arc::new(target(running.addr, Some(&key))?);

    // One request first, so a wrong set-up fails here with its answer instead of as N errors.
    let probe = load::run(
        target.clone(),
        Plan {
            connections: 1,
            duration: Duration::from_secs(5),
            max_requests: 1,
        },
    )
    .await;
    if probe.ok != 1 {
        bail!("the probe submission failed: {:?}", probe.errors);
    }

    let before = sys::cpu_snapshot();
    let outcome = load::run(target, plan.load).await;
    let load_end = Instant::now();
    let after_load = sys::cpu_snapshot();

    let counts = store.job_counts().await?;
    let backlog_at_end = counts.queued + counts.running;
    let mut last = counts;
    let drained = loop {
        if last.queued + last.running == 0 {
            break true;
        }
        if plan.workers == 0 {
            break false; // nothing will process them: intake alone was measured
        }
        if load_end.elapsed() > plan.drain_timeout {
            break false;
        }
        tokio::time::sleep(DRAIN_POLL).await;
        last = store.job_counts().await?;
    };
    let drain = load_end.elapsed();
    let after_drain = sys::cpu_snapshot();

    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
        .fetch_all(store.write_pool())
        .await?;
    let mut statuses = BTreeMap::new();
    for r in &rows {
        use sqlx::Row;
        statuses.insert(r.try_get::<String, _>("status")?, r.try_get::<i64, _>("n")?);
    }
    let metrics = running.state.metrics.render(None);
    Ok(SportelloOutcome {
        load: outcome,
        backlog_at_end,
        drain,
        drained,
        dead_jobs: last.dead,
        statuses,
        intake_groups: counter(&metrics, "sportello_intake_groups_total"),
        intake_grouped: counter(&metrics, "sportello_intake_grouped_messages_total"),
        cpu_load: sys::cpu_between(before, after_load),
        cpu_drain: sys::cpu_between(after_load, after_drain),
    })
}

/// A counter's value from the Prometheus text.
fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_a_valid_submission_of_about_200_bytes_of_markdown() {
        assert!((180..=240).contains(&MARKDOWN.len()), "{}", MARKDOWN.len());
        let body: serde_json::Value = serde_json::from_slice(&message_body()).unwrap();
        messaging::content::parse_new_message(&body, Some(RECIPIENT)).unwrap();
    }

    #[test]
    fn counters_are_read_from_the_exposition_text() {
        let text = "# HELP x_total X.\n# TYPE x_total counter\nx_total 42\nx_total_other 7\n";
        assert_eq!(counter(text, "x_total"), 42);
        assert_eq!(counter(text, "missing"), 0);
    }
}
