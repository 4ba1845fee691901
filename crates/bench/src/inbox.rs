//! Citizen inbox listing: Sportello started in this process on a fresh database, one citizen
//! whose profile is created through `PUT /api/citizen/v1/profile`, `--messages` messages sent to
//! them through the batch API and processed by the workers, then `GET /api/citizen/v1/messages`
//! measured on one keep-alive connection — the first page, and cursor paging through the whole
//! inbox — against two ceilings in the same run: a bare axum server answering the same bytes, and
//! the store's own SELECT of one page run directly through sqlx on the same database.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use messaging::ports::prelude::*;
use sportello::app::{Running, open_store, start};
use sqlx::{AnyPool, Row};
use store::SqlStore;
use tokio::net::TcpListener;

use crate::bare::BareServer;
use crate::client::{Conn, Samples};
use crate::db::{BackendArg, FreshDb};
use crate::submit::{self, MARKDOWN, RECIPIENT, SUBJECT};
use crate::sys::{self, CpuUse, Machine};

/// Requests sent, unrecorded, before each measured phase.
pub const WARMUP: u64 = 100;
/// Every fourth message asks for a payment, every third has a due date.
const PAYMENT_EVERY: u64 = 4;
const DUE_DATE_EVERY: u64 = 3;
/// A valid pagoPA notice number (aux digit 3, check digits mod 93), as in the tests.
const NOTICE_NUMBER: &str = "301000000000000144";
/// Polling interval of the batch and the job queue during the set-up.
const POLL: Duration = Duration::from_millis(100);

/// How the inbox bench runs.
#[derive(Debug, Clone)]
pub struct InboxPlan {
    pub backend: BackendArg,
    pub pg_url: String,
    pub workers: usize,
    pub db_max_connections: Option<u32>,
    pub messages: u64,
    pub requests: u64,
    pub page_size: usize,
    pub timeout: Duration,
}

/// What it measured.
#[derive(Debug)]
pub struct InboxOutcome {
    /// From the batch POST until every message was processed.
    pub setup: Duration,
    pub inbox_rows: i64,
    pub with_payment: i64,
    pub with_due_date: i64,
    /// Body of the first page (the bare server answers the same bytes).
    pub page_bytes: usize,
    /// Pages in one walk of the whole inbox.
    pub pages_per_walk: u64,
    /// Complete walks during the cursor phase (each checked to list every message once).
    pub walks: u64,
    pub first_page: Samples,
    pub cursor: Samples,
    pub bare: Samples,
    pub sql_first: Samples,
    pub sql_cursor: Samples,
    pub cpu_first: CpuUse,
    pub cpu_cursor: CpuUse,
    pub cpu_bare: CpuUse,
    pub cpu_sql: CpuUse,
}

/// One NDJSON line of the set-up batch: message `i` to the benchmark's citizen.
pub fn line(i: u64) -> String {
    let mut content = serde_json::json!({
        "subject": format!("{SUBJECT} (avviso n. {i})"),
        "markdown": MARKDOWN,
    });
    if i.is_multiple_of(PAYMENT_EVERY) {
        content["payment_data"] =
            serde_json::json!({"amount": 1_000 + i % 50_000, "notice_number": NOTICE_NUMBER});
    }
    if i.is_multiple_of(DUE_DATE_EVERY) {
        content["due_date"] = serde_json::json!(format!("2030-{:02}-15T00:00:00.000Z", 1 + i % 12));
    }
    let mut s = serde_json::json!({
        "fiscal_code": RECIPIENT,
        "time_to_live": 604_800,
        "content": content,
    })
    .to_string();
    s.push('\n');
    s
}

/// Runs the bench on a fresh database, which is removed afterwards.
pub async fn run(plan: &InboxPlan) -> anyhow::Result<InboxOutcome> {
    let db = FreshDb::create(plan.backend, &plan.pg_url, "sportello.db").await?;
    let result = run_on(&db, plan).await;
    let dropped = db.drop_schema().await;
    let out = result?;
    dropped?;
    Ok(out)
}

async fn run_on(db: &FreshDb, plan: &InboxPlan) -> anyhow::Result<InboxOutcome> {
    let config = submit::config(db, plan.backend, plan.workers, plan.db_max_connections)?;
    let store = open_store(&config, true).await?;
    db.verify(store.write_pool()).await?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let running = start(&config, store.clone(), Some(listener)).await?;
    let result = measure(&running, &store, db, plan).await;
    running.stop().await;
    store.close().await;
    result
}

fn header(value: &str) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(value).context("not a header value")
}

/// Service, session, profile through the citizen API, and the messages; returns the bearer
/// header and the set-up time.
async fn set_up(
    running: &Running,
    store: &SqlStore,
    plan: &InboxPlan,
) -> anyhow::Result<((HeaderName, HeaderValue), Duration)> {
    let key = submit::set_up_service(running, &[RECIPIENT.to_owned()], 1_000_000).await?;
    let (token, _) = ops::citizens::issue_citizen_session(
        ops::Context::standalone(store, &kernel::SystemClock),
        RECIPIENT,
        Duration::from_secs(24 * 3_600),
        None,
    )
    .await
    .map_err(|e| anyhow!("issue citizen session: {e:?}"))?;
    let bearer = (AUTHORIZATION, header(&format!("Bearer {token}"))?);
    let json = (CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut conn = Conn::open(running.addr).await?;
    let (status, body) = conn
        .send(
            Method::PUT,
            "/api/citizen/v1/profile",
            &[bearer.clone(), json],
            Bytes::from(r#"{"version":0,"is_inbox_enabled":true}"#),
        )
        .await?;
    if status != StatusCode::OK {
        bail!(
            "PUT profile answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    let mut ndjson = String::with_capacity(plan.messages as usize * 420);
    for i in 0..plan.messages {
        ndjson.push_str(&line(i));
    }
    let started = Instant::now();
    let (status, body) = conn
        .send(
            Method::POST,
            "/api/v1/batches",
            &[
                (
                    HeaderName::from_static(api::auth::KEY_HEADER),
                    header(&key)?,
                ),
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-ndjson"),
                ),
            ],
            Bytes::from(ndjson),
        )
        .await?;
    if status != StatusCode::ACCEPTED {
        bail!(
            "the batch upload answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let id = serde_json::from_slice::<serde_json::Value>(&body)?
        .get("id")
        .and_then(|v| v.as_str())
        .and_then(|id| kernel::values::BatchId::parse(id).ok())
        .ok_or_else(|| anyhow!("no batch id in the 202 answer"))?;
    let deadline = started + plan.timeout;
    loop {
        let batch = store
            .get_batch(&id)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| anyhow!("batch {id} vanished"))?;
        if batch.rejected > 0 {
            bail!("{} of the batch's lines were rejected", batch.rejected);
        }
        let counts = store.job_counts().await?;
        if batch.accepted >= batch.total && counts.queued + counts.running == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "not processed within {:?}: {} of {} accepted, {} jobs left",
                plan.timeout,
                batch.accepted,
                batch.total,
                counts.queued + counts.running
            );
        }
        tokio::time::sleep(POLL).await;
    }
    Ok((bearer, started.elapsed()))
}

async fn count(pool: &AnyPool, condition: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM inbox WHERE fiscal_code = $1{condition}"
    ))
    .bind(RECIPIENT)
    .fetch_one(pool)
    .await?)
}

/// What the client reads of an inbox page (the items are skipped, only counted).
#[derive(serde::Deserialize)]
struct PageShape {
    items: Vec<serde::de::IgnoredAny>,
    next: Option<String>,
}

/// The `next` cursor and the number of items of an inbox page.
fn page_of(body: &[u8]) -> anyhow::Result<(Option<String>, usize)> {
    let page: PageShape = serde_json::from_slice(body).context("the inbox page is not JSON")?;
    Ok((page.next, page.items.len()))
}

/// `n` requests for the same page on one connection (after [`WARMUP`] unrecorded ones); every
/// answer must be 200 with a full page. Returns the latencies and the last body.
async fn same_page(
    conn: &mut Conn,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    n: u64,
    want_items: usize,
) -> anyhow::Result<(Samples, Bytes)> {
    let mut samples = Samples::with_capacity(n as usize);
    let mut last = Bytes::new();
    let mut started = Instant::now();
    for i in 0..WARMUP + n {
        if i == WARMUP {
            started = Instant::now();
        }
        let begun = Instant::now();
        let (status, body) = conn.send(Method::GET, path, headers, Bytes::new()).await?;
        let latency = begun.elapsed();
        if status != StatusCode::OK {
            bail!(
                "GET {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let (_, items) = page_of(&body)?;
        if items != want_items {
            bail!("GET {path} listed {items} items, not {want_items}");
        }
        if i >= WARMUP {
            samples.push(latency);
        }
        last = body;
    }
    samples.finish(started);
    Ok((samples, last))
}

/// `n` requests walking the inbox with `maximum_id` = the previous page's `next`, from the first
/// page again after the last; each complete walk must list exactly `total` items.
async fn cursor_walk(
    conn: &mut Conn,
    headers: &[(HeaderName, HeaderValue)],
    n: u64,
    page_size: usize,
    total: i64,
) -> anyhow::Result<(Samples, u64, u64)> {
    let first = format!("/api/citizen/v1/messages?page_size={page_size}");
    let mut samples = Samples::with_capacity(n as usize);
    let (mut next, mut seen, mut walks, mut pages, mut pages_per_walk) =
        (None::<String>, 0_i64, 0_u64, 0_u64, 0_u64);
    let mut started = Instant::now();
    for i in 0..WARMUP + n {
        if i == WARMUP {
            started = Instant::now();
        }
        let path = match &next {
            Some(id) => format!("{first}&maximum_id={id}"),
            None => first.clone(),
        };
        let begun = Instant::now();
        let (status, body) = conn.send(Method::GET, &path, headers, Bytes::new()).await?;
        let latency = begun.elapsed();
        if status != StatusCode::OK {
            bail!(
                "GET {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if i >= WARMUP {
            samples.push(latency);
        }
        let (cursor, items) = page_of(&body)?;
        seen += items as i64;
        pages += 1;
        next = cursor;
        if next.is_none() {
            if seen != total {
                bail!("a walk of the inbox listed {seen} items, not {total}");
            }
            walks += 1;
            pages_per_walk = pages;
            (seen, pages) = (0, 0);
        }
    }
    samples.finish(started);
    Ok((samples, walks, pages_per_walk))
}

/// The store's SELECT of one page, run `n` times (after [`WARMUP`]) from the first page or
/// walking with a cursor (the page's last item, as the API's `next`).
async fn raw_sql(pool: &AnyPool, n: u64, page_size: usize, walk: bool) -> anyhow::Result<Samples> {
    // The store's own SELECT of a page (`store::inbox_select`), archived = false.
    let select = format!("{} AND i.is_archived = $2", store::inbox_select());
    let first = format!("{select} ORDER BY i.message_id DESC LIMIT $3");
    let after = format!("{select} AND i.message_id < $3 ORDER BY i.message_id DESC LIMIT $4");
    let limit = i64::try_from(page_size + 1)?;
    let mut samples = Samples::with_capacity(n as usize);
    let mut cursor: Option<String> = None;
    let mut started = Instant::now();
    for i in 0..WARMUP + n {
        if i == WARMUP {
            started = Instant::now();
        }
        let begun = Instant::now();
        let rows = match &cursor {
            None => {
                sqlx::query(&first)
                    .bind(RECIPIENT)
                    .bind(0_i64)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Some(id) => {
                sqlx::query(&after)
                    .bind(RECIPIENT)
                    .bind(0_i64)
                    .bind(id.as_str())
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        };
        let latency = begun.elapsed();
        if i >= WARMUP {
            samples.push(latency);
        }
        if rows.is_empty() {
            bail!("the raw SELECT found no inbox rows");
        }
        cursor = match rows.get(page_size) {
            Some(_) if walk => Some(rows[page_size - 1].try_get::<String, _>("message_id")?),
            _ => None,
        };
    }
    samples.finish(started);
    Ok(samples)
}

async fn measure(
    running: &Running,
    store: &SqlStore,
    db: &FreshDb,
    plan: &InboxPlan,
) -> anyhow::Result<InboxOutcome> {
    let (bearer, setup) = set_up(running, store, plan).await?;
    let inbox_rows = count(store.write_pool(), "").await?;
    if inbox_rows != i64::try_from(plan.messages)? {
        bail!("{inbox_rows} inbox rows, not {}", plan.messages);
    }
    let with_payment = count(store.write_pool(), " AND has_payment = 1").await?;
    let with_due_date = count(store.write_pool(), " AND due_date IS NOT NULL").await?;
    // The inbox is measured in its steady state, not while the database digests the bulk load
    // of the set-up (PostgreSQL's autovacuum and checkpoint, SQLite's WAL): statistics are
    // refreshed and the log checkpointed first, then the machine is left a moment to settle.
    let settle = match plan.backend {
        BackendArg::Postgres => ["VACUUM ANALYZE", "CHECKPOINT"],
        BackendArg::Sqlite => ["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"],
    };
    for sql in settle {
        sqlx::query(sql)
            .execute(store.write_pool())
            .await
            .with_context(|| format!("settling the database: {sql}"))?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let want = plan.page_size.min(plan.messages as usize);
    let path = format!("/api/citizen/v1/messages?page_size={}", plan.page_size);
    let headers = [bearer];

    eprintln!("[2/5] Sportello: first page × {}", plan.requests);
    let mut conn = Conn::open(running.addr).await?;
    let before = sys::cpu_snapshot();
    let (first_page, page) = same_page(&mut conn, &path, &headers, plan.requests, want).await?;
    let after_first = sys::cpu_snapshot();

    eprintln!("[3/5] Sportello: cursor paging × {}", plan.requests);
    let (cursor, walks, pages_per_walk) = cursor_walk(
        &mut conn,
        &headers,
        plan.requests,
        plan.page_size,
        inbox_rows,
    )
    .await?;
    let after_cursor = sys::cpu_snapshot();
    drop(conn);

    eprintln!(
        "[4/5] ceiling: bare axum GET answering the same {} bytes",
        page.len()
    );
    let page_bytes = page.len();
    let bare = BareServer::start_with_page(page).await?;
    let mut conn = Conn::open(bare.addr).await?;
    let before_bare = sys::cpu_snapshot();
    let (bare_samples, _) = same_page(&mut conn, &path, &headers, plan.requests, want).await?;
    let after_bare = sys::cpu_snapshot();
    drop(conn);
    bare.stop().await;

    eprintln!("[5/5] ceiling: the store's SELECT through sqlx, first page and cursor");
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .context("cannot open the raw SQL connection")?;
    db.verify(&pool).await?;
    let before_sql = sys::cpu_snapshot();
    let sql_first = raw_sql(&pool, plan.requests, plan.page_size, false).await?;
    let sql_cursor = raw_sql(&pool, plan.requests, plan.page_size, true).await?;
    let after_sql = sys::cpu_snapshot();
    pool.close().await;

    Ok(InboxOutcome {
        setup,
        inbox_rows,
        with_payment,
        with_due_date,
        page_bytes,
        pages_per_walk,
        walks,
        first_page,
        cursor,
        bare: bare_samples,
        sql_first,
        sql_cursor,
        cpu_first: sys::cpu_between(before, after_first),
        cpu_cursor: sys::cpu_between(after_first, after_cursor),
        cpu_bare: sys::cpu_between(before_bare, after_bare),
        cpu_sql: sys::cpu_between(before_sql, after_sql),
    })
}

/// Everything one `inbox` run measured.
#[derive(Debug)]
pub struct InboxReport {
    pub plan: InboxPlan,
    pub threads: usize,
    pub machine: Machine,
    pub outcome: InboxOutcome,
}

fn cpu(c: &CpuUse) -> String {
    format!(
        "{:.2} / {:.2} / {:.2}",
        c.process_cores, c.database_cores, c.others_cores
    )
}

impl InboxReport {
    pub fn markdown(&self) -> String {
        let o = &self.outcome;
        let p = &self.plan;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### {} — inbox of {} messages, {} requests per phase\n",
            p.backend.name(),
            p.messages,
            p.requests
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
            "- client and server in one process, {} tokio worker threads; Sportello workers: {}; \
             one keep-alive connection, one request in flight; {WARMUP} unrecorded warm-up \
             requests before each phase\n",
            self.threads, p.workers
        );
        let p99 = |s: &Samples| s.percentile_ms(99.0);
        let p50 = |s: &Samples| s.percentile_ms(50.0);
        let target = |s: &Samples| {
            if p99(s) < 5.0 { "met" } else { "**not met**" }
        };
        let rows: Vec<(String, String)> = vec![
            (
                "set-up: messages sent (batch API) and processed, s".into(),
                format!("{:.1}", o.setup.as_secs_f64()),
            ),
            (
                "inbox rows; with payment; with due date".into(),
                format!("{}; {}; {}", o.inbox_rows, o.with_payment, o.with_due_date),
            ),
            (
                format!("page: {} items, body bytes", p.page_size),
                o.page_bytes.to_string(),
            ),
            (
                "**Sportello first page: p50 / p90 / p99 / max, ms**".into(),
                format!("**{}**", o.first_page.summary()),
            ),
            (
                "Sportello first page: requests/s".into(),
                format!("{:.0}", o.first_page.rate()),
            ),
            (
                "**Sportello cursor paging: p50 / p90 / p99 / max, ms**".into(),
                format!("**{}**", o.cursor.summary()),
            ),
            (
                "Sportello cursor paging: requests/s; pages per walk; complete walks".into(),
                format!("{:.0}; {}; {}", o.cursor.rate(), o.pages_per_walk, o.walks),
            ),
            (
                "target p99 < 5 ms: first page; cursor paging".into(),
                format!("{}; {}", target(&o.first_page), target(&o.cursor)),
            ),
            (
                "ceiling: bare axum GET, same bytes: p50 / p90 / p99 / max, ms".into(),
                o.bare.summary(),
            ),
            (
                "ceiling: bare axum GET: requests/s".into(),
                format!("{:.0}", o.bare.rate()),
            ),
            (
                "ceiling: raw SQL first page: p50 / p90 / p99 / max, ms".into(),
                o.sql_first.summary(),
            ),
            (
                "ceiling: raw SQL cursor page: p50 / p90 / p99 / max, ms".into(),
                o.sql_cursor.summary(),
            ),
            (
                "**ratio Sportello p99 ÷ bare p99: first page; cursor**".into(),
                format!(
                    "**{:.1}; {:.1}**",
                    p99(&o.first_page) / p99(&o.bare),
                    p99(&o.cursor) / p99(&o.bare)
                ),
            ),
            (
                "**ratio Sportello p50 ÷ raw SQL p50: first page; cursor**".into(),
                format!(
                    "**{:.1}; {:.1}**",
                    p50(&o.first_page) / p50(&o.sql_first),
                    p50(&o.cursor) / p50(&o.sql_cursor)
                ),
            ),
            (
                "CPU cores, bench / PostgreSQL / others: first page".into(),
                cpu(&o.cpu_first),
            ),
            ("… cursor paging".into(), cpu(&o.cpu_cursor)),
            ("… bare".into(), cpu(&o.cpu_bare)),
            ("… raw SQL (both)".into(), cpu(&o.cpu_sql)),
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
    fn the_lines_are_valid_messages_with_payments_and_due_dates() {
        for i in 0..12 {
            let l = line(i);
            let v: serde_json::Value = serde_json::from_str(l.trim_end()).unwrap();
            let m = messaging::content::parse_new_message(&v, None).unwrap();
            assert_eq!(
                m.content.payment_data.is_some(),
                i.is_multiple_of(PAYMENT_EVERY)
            );
            assert_eq!(
                m.content.due_date.is_some(),
                i.is_multiple_of(DUE_DATE_EVERY)
            );
        }
    }

    #[test]
    fn a_page_gives_its_cursor_and_size() {
        let (next, n) = page_of(br#"{"items":[{},{}],"next":"X"}"#).unwrap();
        assert_eq!((next.as_deref(), n), (Some("X"), 2));
        assert_eq!(page_of(br#"{"items":[]}"#).unwrap(), (None, 0));
    }
}
