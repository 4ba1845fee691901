//! `sportello-bench`: Sportello measured in one run, on one machine, against ceilings measured
//! the same way in the same run.
//!
//! - `submit`: message intake against a bare axum round trip (A) and a raw batched insert of the
//!   same rows (B), then the time the workers take to process what was accepted.
//! - `batch`: one streamed NDJSON upload, its outcomes and processing, against the raw insert.
//! - `inbox`: a citizen's inbox listing (first page, cursor paging) on one keep-alive connection,
//!   against a bare axum GET answering the same bytes and the store's SELECT run directly.
//! - `mail`: e-mail notifications handed to a real SMTP server (aiosmtpd) by the workers, against
//!   the same e-mails sent straight through `SmtpMailer` with the workers' concurrency.
//!
//! `cargo run --release -p bench -- submit --backend sqlite --connections 64 --duration 10s`
//! `cargo run --release -p bench -- batch --backend sqlite --rows 1000000`
//! `cargo run --release -p bench -- inbox --backend sqlite --messages 10000 --requests 5000`
//! `cargo run --release -p bench -- mail --backend sqlite --messages 5000`

mod bare;
mod batch;
mod client;
mod db;
mod inbox;
mod insert;
mod load;
mod mail;
mod report;
mod sink;
mod submit;
mod sys;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use kernel::values::{MessageId, ServiceId};
use store::SqlStore;

use crate::db::{BackendArg, FreshDb};
use crate::insert::{InsertOutcome, Placeholders, RowTemplate};
use crate::load::Plan;
use crate::report::Report;
use crate::submit::SportelloPlan;
use crate::sys::CpuUse;

#[derive(Debug, Parser)]
#[command(
    name = "sportello-bench",
    about = "Benchmarks of Sportello, run on demand"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Message submission: bare HTTP ceiling, raw insert ceiling, Sportello, drain.
    Submit(SubmitArgs),
    /// One streamed NDJSON batch upload: raw insert ceiling, upload, outcomes, processing.
    Batch(BatchArgs),
    /// Citizen inbox listing (first page, cursor paging): bare GET and raw SQL ceilings.
    Inbox(InboxArgs),
    /// E-mail notifications to a real SMTP server: direct SmtpMailer ceiling, Sportello.
    Mail(MailArgs),
    /// Serves the bare axum server (ceiling A) on --listen until killed, for an external load
    /// generator (scripts/bench-pagopa-node.sh posts SOAP bodies to it with wrk).
    Bare(BareArgs),
}

#[derive(Debug, Clone, Args)]
struct BareArgs {
    #[arg(long, default_value = "127.0.0.1:18099")]
    listen: std::net::SocketAddr,
}

#[derive(Debug, Clone, Args)]
struct InboxArgs {
    /// Database backend of Sportello.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// Messages in the citizen's inbox (sent with the batch API, processed before measuring).
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    /// Measured requests of each phase (first page, cursor paging, bare, raw SQL ×2).
    #[arg(long, default_value_t = 5_000)]
    requests: u64,
    /// `page_size` of the listing (1–100).
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Sportello worker tasks.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Sportello's database connections (default: Sportello's own default).
    #[arg(long)]
    db_max_connections: Option<u32>,
    /// Longest wait for the set-up messages to be processed.
    #[arg(long, default_value = "600s", value_parser = parse_duration)]
    timeout: Duration,
    /// PostgreSQL server (must be on this machine); the run gets a fresh schema in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Tokio worker threads (default: one per CPU, as Sportello runs).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Args)]
struct MailArgs {
    /// Database backend of Sportello.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// Messages sent (one e-mail notification each) and e-mails of the ceiling.
    #[arg(long, default_value_t = 5_000)]
    messages: u64,
    /// Citizens with a validated e-mail address; messages go to them round-robin.
    #[arg(long, default_value_t = 1_000)]
    citizens: u64,
    /// Concurrent sends of the ceiling (default: workers × the workers' send concurrency).
    #[arg(long)]
    ceiling_concurrency: Option<usize>,
    /// What the SMTP server does with each message: count it, or store it in a Maildir.
    #[arg(long, value_enum, default_value_t = sink::SinkKind::Count)]
    sink: sink::SinkKind,
    /// Sportello worker tasks.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Sportello's database connections (default: Sportello's own default).
    #[arg(long)]
    db_max_connections: Option<u32>,
    /// Longest wait, from the batch upload, for every e-mail to be sent.
    #[arg(long, default_value = "600s", value_parser = parse_duration)]
    timeout: Duration,
    /// PostgreSQL server (must be on this machine); the run gets a fresh schema in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Tokio worker threads (default: one per CPU, as Sportello runs).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Args)]
struct BatchArgs {
    /// Database backend of the insert ceiling and of Sportello.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// NDJSON lines (messages) in the uploaded batch.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Length of the insert ceiling phase (it also stops after `--rows` rows).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    ceiling_duration: Duration,
    /// Sportello worker tasks.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Sportello's database connections (default: Sportello's own default).
    #[arg(long)]
    db_max_connections: Option<u32>,
    /// Longest wait, from the start of the upload, for every message to be processed.
    #[arg(long, default_value = "1200s", value_parser = parse_duration)]
    timeout: Duration,
    /// PostgreSQL server (must be on this machine); each phase gets a fresh schema in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Tokio worker threads (default: one per CPU, as Sportello runs).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Args)]
struct SubmitArgs {
    /// Database backend of the insert ceiling and of Sportello.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// Concurrent HTTP/1.1 keep-alive connections (one closed-loop task each).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Length of each HTTP load phase and of the insert phase (`10s`, `500ms`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Most requests sent in one HTTP phase, whatever the duration.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// Most rows written by the insert ceiling, whatever the duration.
    #[arg(long, default_value_t = 2_000_000)]
    max_insert_rows: u64,
    /// Concurrent writers of the insert ceiling (default: as many as Sportello's intake has,
    /// 1 on SQLite and 4 on PostgreSQL).
    #[arg(long)]
    insert_writers: Option<usize>,
    /// Sportello worker tasks.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Sportello's database connections (default: Sportello's own default).
    #[arg(long)]
    db_max_connections: Option<u32>,
    /// Longest wait for the accepted messages to be processed after the load.
    #[arg(long, default_value = "600s", value_parser = parse_duration)]
    drain_timeout: Duration,
    /// PostgreSQL server (must be on this machine); each phase gets a fresh schema in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Tokio worker threads (default: one per CPU, as Sportello runs).
    #[arg(long)]
    threads: Option<usize>,
}

/// `10s`, `250ms`, `2m` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, ""), |i| s.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 10s, 500ms or 1m"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("unknown unit `{unit}`: use ms, s or m")),
    };
    if !(0.001..=86_400.0).contains(&seconds) {
        return Err("the duration must be between 1 ms and 24 h".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Submit(args) => args.threads,
        Command::Batch(args) => args.threads,
        Command::Inbox(args) => args.threads,
        Command::Mail(args) => args.threads,
        Command::Bare(_) => None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.enable_all().build()?;
    match cli.command {
        Command::Submit(args) => runtime.block_on(submit_command(args)),
        Command::Batch(args) => runtime.block_on(batch_command(args)),
        Command::Inbox(args) => runtime.block_on(inbox_command(args)),
        Command::Mail(args) => runtime.block_on(mail_command(args)),
        Command::Bare(args) => runtime.block_on(async move {
            let bare = bare::BareServer::start_on(args.listen).await?;
            eprintln!("bare axum server on {}", bare.addr);
            tokio::signal::ctrl_c().await?;
            bare.stop().await;
            Ok(())
        }),
    }
}

fn threads_or_cpus(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

async fn inbox_command(args: InboxArgs) -> anyhow::Result<()> {
    if args.backend == BackendArg::Postgres {
        db::check_loopback(&args.pg_url)?;
    }
    if args.messages == 0 || args.requests == 0 {
        bail!("--messages and --requests must be at least 1");
    }
    if !(1..=100).contains(&args.page_size) {
        bail!("--page-size must be from 1 to 100");
    }
    eprintln!(
        "[1/5] Sportello: citizen profile, {} messages through the batch API, processing",
        args.messages
    );
    let plan = inbox::InboxPlan {
        backend: args.backend,
        pg_url: args.pg_url.clone(),
        workers: args.workers,
        db_max_connections: args.db_max_connections,
        messages: args.messages,
        requests: args.requests,
        page_size: args.page_size,
        timeout: args.timeout,
    };
    let outcome = inbox::run(&plan).await?;
    let report = inbox::InboxReport {
        plan,
        threads: threads_or_cpus(args.threads),
        machine: sys::machine(),
        outcome,
    };
    println!("{}", report.markdown());
    Ok(())
}

async fn mail_command(args: MailArgs) -> anyhow::Result<()> {
    if args.backend == BackendArg::Postgres {
        db::check_loopback(&args.pg_url)?;
    }
    if args.messages == 0 || args.citizens == 0 {
        bail!("--messages and --citizens must be at least 1");
    }
    if args.citizens > mail::MAX_CITIZENS {
        bail!("--citizens must be at most {}", mail::MAX_CITIZENS);
    }
    let concurrency = args
        .ceiling_concurrency
        .unwrap_or(args.workers.max(1) * jobs_send_concurrency());
    eprintln!("[1/3] SMTP server: aiosmtpd (installed by scripts/test-tools.sh on first use)");
    let sink = sink::Sink::start(args.sink).await?;
    eprintln!(
        "[2/3] ceiling: {} e-mails through SmtpMailer, {concurrency} at once",
        args.messages
    );
    let ceiling = mail::ceiling(&sink, args.messages, args.citizens, concurrency).await?;
    let plan = mail::MailPlan {
        backend: args.backend,
        pg_url: args.pg_url.clone(),
        workers: args.workers,
        db_max_connections: args.db_max_connections,
        messages: args.messages,
        citizens: args.citizens,
        sink: args.sink,
        timeout: args.timeout,
    };
    let sportello = mail::run(&plan, &sink).await?;
    let report = mail::MailReport {
        plan,
        threads: threads_or_cpus(args.threads),
        machine: sys::machine(),
        ceiling,
        sportello,
    };
    println!("{}", report.markdown());
    Ok(())
}

/// Notifications one worker sends at once (Sportello's worker configuration, not configurable).
fn jobs_send_concurrency() -> usize {
    jobs::WorkerConfig::default().send_concurrency
}

async fn batch_command(args: BatchArgs) -> anyhow::Result<()> {
    if args.backend == BackendArg::Postgres {
        db::check_loopback(&args.pg_url)?;
    }
    if args.rows == 0 {
        bail!("--rows must be at least 1");
    }
    let writers = match args.backend {
        BackendArg::Sqlite => 1,
        BackendArg::Postgres => 4,
    };
    let placeholders = match args.backend {
        BackendArg::Sqlite => Placeholders::Anonymous,
        BackendArg::Postgres => Placeholders::Numbered,
    };
    eprintln!("[1/2] ceiling: raw batched insert, {writers} writer(s)");
    // The ceiling's own settings, expressed as those of `submit`.
    let ceiling_args = SubmitArgs {
        backend: args.backend,
        connections: 1,
        duration: args.ceiling_duration,
        max_requests: 0,
        max_insert_rows: args.rows,
        insert_writers: Some(writers),
        workers: args.workers,
        db_max_connections: args.db_max_connections,
        drain_timeout: args.timeout,
        pg_url: args.pg_url.clone(),
        threads: args.threads,
    };
    let (ceiling, _, _) = raw_insert(&ceiling_args, writers, placeholders).await?;

    eprintln!(
        "[2/2] Sportello: POST /api/v1/batches with {} NDJSON lines, then processing",
        args.rows
    );
    let rss_reset = sys::reset_peak_rss();
    let outcome = batch::run(&batch::BatchPlan {
        backend: args.backend,
        pg_url: args.pg_url.clone(),
        workers: args.workers,
        db_max_connections: args.db_max_connections,
        rows: args.rows,
        timeout: args.timeout,
    })
    .await?;
    let rss = rss_reset.then(sys::peak_rss_mib).flatten();
    let report = batch::BatchReport {
        backend: args.backend,
        rows: args.rows,
        workers: args.workers,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        machine: sys::machine(),
        ceiling,
        ceiling_writers: writers,
        outcome,
        rss_mib: rss,
    };
    println!("{}", report.markdown());
    Ok(())
}

async fn submit_command(args: SubmitArgs) -> anyhow::Result<()> {
    if args.backend == BackendArg::Postgres {
        db::check_loopback(&args.pg_url)?;
    }
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let plan = Plan {
        connections: args.connections,
        duration: args.duration,
        max_requests: args.max_requests,
    };

    eprintln!(
        "[1/3] ceiling A: bare axum round trip, {} connections",
        plan.connections
    );
    let bare = bare::BareServer::start().await?;
    let before = sys::cpu_snapshot();
    let ceiling_a = load::run(Arc::new(submit::target(bare.addr, None)?), plan).await;
    let cpu_a = sys::cpu_between(before, sys::cpu_snapshot());
    bare.stop().await;

    let writers = args.insert_writers.unwrap_or(match args.backend {
        BackendArg::Sqlite => 1,
        BackendArg::Postgres => 4,
    });
    let (ceiling_b, content_bytes, cpu_b, numbered) = match args.backend {
        BackendArg::Sqlite => {
            eprintln!("[2/3] ceiling B: raw batched insert, {writers} writer(s), `?` placeholders");
            let (b, bytes, cpu) = raw_insert(&args, writers, Placeholders::Anonymous).await?;
            eprintln!("[2/3] ceiling B': the same with `$n` placeholders, as the store writes SQL");
            let (n, _, n_cpu) = raw_insert(&args, writers, Placeholders::Numbered).await?;
            (b, bytes, cpu, Some((n, n_cpu)))
        }
        BackendArg::Postgres => {
            eprintln!("[2/3] ceiling B: raw batched insert, {writers} writer(s)");
            let (b, bytes, cpu) = raw_insert(&args, writers, Placeholders::Numbered).await?;
            (b, bytes, cpu, None)
        }
    };

    eprintln!("[3/3] Sportello: submit under load, then drain");
    let rss_before_sportello = sys::peak_rss_mib();
    let rss_reset = sys::reset_peak_rss();
    let sportello = submit::run(&SportelloPlan {
        backend: args.backend,
        pg_url: args.pg_url.clone(),
        workers: args.workers,
        db_max_connections: args.db_max_connections,
        load: plan,
        drain_timeout: args.drain_timeout,
    })
    .await?;
    let rss_sportello = sys::peak_rss_mib();
    let rss_whole = match (rss_before_sportello, rss_sportello) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };

    let report = Report {
        backend: args.backend,
        connections: args.connections,
        duration: args.duration,
        workers: args.workers,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        machine: sys::machine(),
        ceiling_a,
        cpu_a,
        ceiling_b,
        insert_writers: writers,
        content_bytes,
        cpu_b,
        ceiling_b_numbered: numbered,
        sportello,
        rss_sportello_mib: rss_reset.then_some(rss_sportello).flatten(),
        rss_whole_mib: rss_whole,
    };
    println!("{}", report.markdown());
    Ok(())
}

/// Ceiling B on a fresh database of the chosen backend; also returns the sealed content size.
async fn raw_insert(
    args: &SubmitArgs,
    writers: usize,
    placeholders: Placeholders,
) -> anyhow::Result<(InsertOutcome, usize, CpuUse)> {
    let db = FreshDb::create(args.backend, &args.pg_url, "raw.db").await?;
    let result = async {
        let store = SqlStore::connect(&db.url, u32::try_from(writers).unwrap_or(u32::MAX)).await?;
        store.migrate().await?;
        db.verify(store.write_pool()).await?;
        // The content Sportello seals for the benchmark's message, sealed the same way.
        let keyring =
            seal::Keyring::parse(&seal::Keyring::generate_spec("k1")).context("content key")?;
        let plain = serde_json::to_vec(&serde_json::json!({
            "subject": submit::SUBJECT,
            "markdown": submit::MARKDOWN,
        }))?;
        let (content_key_id, content) =
            keyring.seal(&plain, MessageId::new().to_string().as_bytes());
        let content_bytes = content.len();
        let row = RowTemplate {
            service_id: ServiceId::new().to_string(),
            fiscal_code: submit::RECIPIENT.to_owned(),
            content_key_id,
            content,
        };
        let before = sys::cpu_snapshot();
        let out = insert::run(
            store.write_pool(),
            writers,
            args.duration,
            args.max_insert_rows,
            placeholders,
            row,
        )
        .await;
        let cpu = sys::cpu_between(before, sys::cpu_snapshot());
        store.close().await;
        anyhow::Ok((out, content_bytes, cpu))
    }
    .await;
    let dropped = db.drop_schema().await;
    let out = result?;
    dropped?;
    Ok(out)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
