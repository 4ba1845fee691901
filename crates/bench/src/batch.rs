//! Sportello batch upload: the real application started in this process on a fresh database
//! (set up as for `submit`), one `POST /api/v1/batches` whose NDJSON body is generated while it
//! is sent (never the whole upload in memory), then the wait until every line has an outcome and
//! every accepted message has been processed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use messaging::ports::prelude::*;
use sportello::app::{Running, open_store, start};
use sportello::config::{Config, ConfigArgs};
use store::SqlStore;
use tokio::net::{TcpListener, TcpStream};

use crate::db::{BackendArg, FreshDb};
use crate::insert::{BATCH, InsertOutcome};
use crate::submit::{self, MARKDOWN, RECIPIENT, SUBJECT};
use crate::sys::{self, CpuUse, Machine};

/// NDJSON lines per body chunk handed to hyper.
const LINES_PER_CHUNK: u64 = 4_096;
/// Polling interval of the batch row and of the job queue.
const POLL: Duration = Duration::from_millis(200);

/// One NDJSON line: a complete `NewMessage` for the benchmark's citizen.
pub fn line() -> String {
    let mut s = serde_json::json!({
        "fiscal_code": RECIPIENT,
        "time_to_live": 3600,
        "content": {"subject": SUBJECT, "markdown": MARKDOWN},
    })
    .to_string();
    s.push('\n');
    s
}

/// A request body of `total` NDJSON lines, produced chunk by chunk as hyper asks for it.
struct Generator {
    line: Bytes,
    left: u64,
}

impl Body for Generator {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(LINES_PER_CHUNK);
        self.left -= n;
        let mut chunk = Vec::with_capacity(self.line.len() * n as usize);
        for _ in 0..n {
            chunk.extend_from_slice(&self.line);
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left * self.line.len() as u64)
    }
}

/// How the batch phase runs.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    pub backend: BackendArg,
    pub pg_url: String,
    pub workers: usize,
    pub db_max_connections: Option<u32>,
    pub rows: u64,
    pub timeout: Duration,
}

/// What the batch phase measured.
#[derive(Debug)]
pub struct BatchOutcome {
    pub body_bytes: u64,
    /// From the start of the POST to its 202.
    pub upload: Duration,
    /// From the start of the POST until every line had an outcome.
    pub outcomes: Duration,
    /// From the start of the POST until no job was queued or running.
    pub processed: Duration,
    pub finished: bool,
    pub total: i64,
    pub accepted: i64,
    pub rejected: i64,
    /// `processed` of `GET /api/v1/batches/{id}` at the end.
    pub processed_messages: i64,
    pub dead_jobs: i64,
    pub statuses: BTreeMap<String, i64>,
    pub cpu_upload: CpuUse,
    pub cpu_processing: CpuUse,
}

/// Runs the phase on a fresh database, which is removed afterwards.
pub async fn run(plan: &BatchPlan) -> anyhow::Result<BatchOutcome> {
    let db = FreshDb::create(plan.backend, &plan.pg_url, "sportello.db").await?;
    let result = run_on(&db, plan).await;
    let dropped = db.drop_schema().await;
    let out = result?;
    dropped?;
    Ok(out)
}

async fn run_on(db: &FreshDb, plan: &BatchPlan) -> anyhow::Result<BatchOutcome> {
    let args = ConfigArgs {
        data_dir: Some(db.data_dir.clone()),
        database_url: Some(db.url.clone()),
        content_keys: (plan.backend == BackendArg::Postgres)
            .then(|| seal::Keyring::generate_spec("k1")),
        workers: Some(plan.workers),
        db_max_connections: plan.db_max_connections,
        ..ConfigArgs::default()
    };
    let config = Config::load(&args)?;
    let store = open_store(&config, true).await?;
    db.verify(store.write_pool()).await?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let running = start(&config, store.clone(), Some(listener)).await?;
    let result = measure(&running, &store, plan).await;
    running.stop().await;
    store.close().await;
    result
}

async fn send(
    addr: SocketAddr,
    key: &str,
    request: Request<
        impl Body<Data = Bytes, Error: std::error::Error + Send + Sync + 'static> + Send + 'static,
    >,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(HOST, addr.to_string().parse().context("host header")?);
    parts.headers.insert(
        HeaderName::from_static(api::auth::KEY_HEADER),
        key.parse()
            .context("the service key is not a header value")?,
    );
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

async fn measure(
    running: &Running,
    store: &SqlStore,
    plan: &BatchPlan,
) -> anyhow::Result<BatchOutcome> {
    let key = submit::set_up(running).await?;
    let line = Bytes::from(line());
    let body_bytes = plan.rows * line.len() as u64;

    let before = sys::cpu_snapshot();
    let started = Instant::now();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/batches")
        .header(CONTENT_TYPE, "application/x-ndjson")
        .body(Generator {
            line,
            left: plan.rows,
        })?;
    let (status, answer) = send(running.addr, &key, request).await?;
    let upload = started.elapsed();
    let after_upload = sys::cpu_snapshot();
    if status != StatusCode::ACCEPTED {
        bail!(
            "the upload answered {status}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    let id = serde_json::from_slice::<serde_json::Value>(&answer)?
        .get("id")
        .and_then(|v| v.as_str())
        .and_then(|id| kernel::values::BatchId::parse(id).ok())
        .ok_or_else(|| anyhow!("no batch id in the 202 answer"))?;

    let deadline = started + plan.timeout;
    let mut finished = true;
    let batch = loop {
        let batch = store
            .get_batch(&id)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| anyhow!("batch {id} vanished"))?;
        if batch.accepted + batch.rejected >= batch.total || Instant::now() > deadline {
            finished &= batch.accepted + batch.rejected >= batch.total;
            break batch;
        }
        tokio::time::sleep(POLL).await;
    };
    let outcomes = started.elapsed();

    let mut last = store.job_counts().await?;
    while last.queued + last.running > 0 {
        if Instant::now() > deadline {
            finished = false;
            break;
        }
        tokio::time::sleep(POLL).await;
        last = store.job_counts().await?;
    }
    let processed = started.elapsed();
    let after_processing = sys::cpu_snapshot();

    let (status, view) = send(
        running.addr,
        &key,
        Request::builder()
            .method(Method::GET)
            .uri(format!("/api/v1/batches/{id}"))
            .body(Empty::<Bytes>::new())?,
    )
    .await?;
    if status != StatusCode::OK {
        bail!("GET batch answered {status}");
    }
    let view: serde_json::Value = serde_json::from_slice(&view)?;
    let processed_messages = view
        .get("processed")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(-1);

    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
        .fetch_all(store.write_pool())
        .await?;
    let mut statuses = BTreeMap::new();
    for r in &rows {
        use sqlx::Row;
        statuses.insert(r.try_get::<String, _>("status")?, r.try_get::<i64, _>("n")?);
    }
    Ok(BatchOutcome {
        body_bytes,
        upload,
        outcomes,
        processed,
        finished,
        total: batch.total,
        accepted: batch.accepted,
        rejected: batch.rejected,
        processed_messages,
        dead_jobs: last.dead,
        statuses,
        cpu_upload: sys::cpu_between(before, after_upload),
        cpu_processing: sys::cpu_between(after_upload, after_processing),
    })
}

/// Everything one `batch` run measured.
#[derive(Debug)]
pub struct BatchReport {
    pub backend: BackendArg,
    pub rows: u64,
    pub workers: usize,
    pub threads: usize,
    pub machine: Machine,
    pub ceiling: InsertOutcome,
    pub ceiling_writers: usize,
    pub outcome: BatchOutcome,
    pub rss_mib: Option<f64>,
}

fn secs(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

fn cpu(c: &CpuUse) -> String {
    format!(
        "{:.2} / {:.2} / {:.2} / {:.2}",
        c.process_cores, c.database_cores, c.others_cores, c.iowait_cores
    )
}

impl BatchReport {
    pub fn markdown(&self) -> String {
        let o = &self.outcome;
        let rate = |n: f64, d: Duration| n / d.as_secs_f64().max(1e-9);
        let end_to_end = rate(o.accepted as f64, o.processed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### {} — batch of {} messages\n",
            self.backend.name(),
            self.rows
        );
        let _ = writeln!(
            out,
            "- date: {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        let _ = writeln!(
            out,
            "- machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}",
            self.machine.cpus, self.machine.model, self.machine.memory_gib, self.machine.kernel
        );
        let _ = writeln!(
            out,
            "- client and server in one process, {} tokio worker threads; Sportello workers: {}\n",
            self.threads, self.workers
        );
        let rows: Vec<(String, String)> = vec![
            (
                format!(
                    "ceiling: raw insert, {BATCH} rows/tx, {} writer(s), rows/s (message + job)",
                    self.ceiling_writers
                ),
                format!("{:.0}", self.ceiling.rate()),
            ),
            (
                "upload: body MiB; time to 202, s; lines/s".into(),
                format!(
                    "{:.0}; {}; {:.0}",
                    o.body_bytes as f64 / (1024.0 * 1024.0),
                    secs(o.upload),
                    rate(o.total as f64, o.upload)
                ),
            ),
            (
                "every line has an outcome (from the POST), s".into(),
                secs(o.outcomes),
            ),
            (
                "total / accepted / rejected".into(),
                format!("{} / {} / {}", o.total, o.accepted, o.rejected),
            ),
            (
                "every accepted message PROCESSED (from the POST), s".into(),
                secs(o.processed),
            ),
            (
                "end to end, accepted messages processed/s; ratio to ceiling".into(),
                format!(
                    "{end_to_end:.0}; {:.2}",
                    end_to_end / self.ceiling.rate().max(1e-9)
                ),
            ),
            (
                "`processed` of GET status at the end; dead jobs".into(),
                format!("{}; {}", o.processed_messages, o.dead_jobs),
            ),
            (
                "messages by status".into(),
                o.statuses
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("finished within the timeout".into(), o.finished.to_string()),
            (
                "peak RSS of the Sportello phase (VmHWM), MiB".into(),
                self.rss_mib
                    .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}")),
            ),
            (
                "CPU cores, upload: bench / PostgreSQL / others / iowait".into(),
                cpu(&o.cpu_upload),
            ),
            (
                "CPU cores, processing: bench / PostgreSQL / others / iowait".into(),
                cpu(&o.cpu_processing),
            ),
        ];
        let _ = writeln!(out, "| measure | value |\n|---|---|");
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
    fn each_line_is_a_valid_new_message() {
        let l = line();
        assert!(l.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(l.trim_end()).unwrap();
        messaging::content::parse_new_message(&v, None).unwrap();
    }

    #[test]
    fn the_generator_yields_exactly_the_lines_asked_for() {
        let body = Generator {
            line: Bytes::from_static(b"x\n"),
            left: 10_000,
        };
        let bytes = block_on(body.collect()).unwrap().to_bytes();
        assert_eq!(bytes.len(), 20_000);
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
