//! `sportello batch send`: uploads a file of messages straight into the store (as
//! `POST /api/v1/batches` does), showing progress — a carriage-return line on a terminal, JSON
//! lines on stderr with `--json` — and with `--wait` follows the processing done by a running
//! server's workers until every line has an outcome.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use messaging::batch::Format;
use messaging::model::{Batch, BatchStatus};
use messaging::ports::{Batches as _, Services as _};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

use crate::config::Config;

/// Exit code when the batch ended with rejected or cancelled lines (`--wait`).
pub const EXIT_LINES_REJECTED: u8 = 3;

/// Rejected lines listed in the summary (the report has them all).
const SUMMARY_REJECTIONS: usize = 10;

/// What `batch send` was asked to do.
pub struct SendArgs<'a> {
    pub file: &'a Path,
    pub service: &'a str,
    pub format: Option<&'a str>,
    pub idempotency_key: Option<String>,
    pub json: bool,
    pub wait: bool,
}

pub async fn send(
    config: &Config,
    store: &store::SqlStore,
    args: SendArgs<'_>,
) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Some(f) => Format::parse(f).ok_or_else(|| anyhow::anyhow!("--format: ndjson or csv"))?,
        None if args.file.extension().is_some_and(|e| e == "csv") => Format::Csv,
        None => Format::Ndjson,
    };
    let id = kernel::values::ServiceId::parse(args.service)
        .map_err(|e| anyhow::anyhow!("--service: {e}"))?;
    let service = store
        .get_service(&id)
        .await?
        .filter(messaging::model::Service::is_active)
        .ok_or_else(|| anyhow::anyhow!("no active service with this id"))?;
    let keyring = config.keyring()?;
    let ctx = ops::Context::standalone(store, &kernel::SystemClock);
    let mut ingest =
        ops::batches::Ingest::new(ctx, &keyring, &service, format, args.idempotency_key);
    let mut f = tokio::fs::File::open(args.file)
        .await
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = f.metadata().await.map(|m| m.len()).unwrap_or(0);
    let mut progress = Progress::new(args.json);
    let mut buf = vec![0u8; 256 * 1024];
    let mut read = 0u64;
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        read += n as u64;
        ingest.push(&buf[..n]).await.map_err(crate::cli::ops_err)?;
        progress.upload(read, size, ingest.lines(), false);
    }
    let (batch_id, created) = ingest.finish().await.map_err(crate::cli::ops_err)?;
    let mut batch = store
        .get_batch(&batch_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the batch vanished"))?;
    progress.upload(read, size, batch.total, true);
    if args.wait {
        loop {
            progress.processing(&batch, false);
            if batch.status != BatchStatus::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            batch = store
                .get_batch(&batch_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the batch vanished"))?;
        }
        progress.processing(&batch, true);
    }
    progress.end();
    let unsent = (batch.total - batch.accepted - batch.rejected).max(0);
    let (pending, cancelled) = if batch.status == BatchStatus::Cancelled {
        (0, unsent)
    } else {
        (unsent, 0)
    };
    let mut summary = json!({
        "id": batch_id,
        "created": created,
        "status": batch.status.as_str(),
        "total": batch.total,
        "accepted": batch.accepted,
        "rejected": batch.rejected,
        "pending": pending,
        "cancelled": cancelled,
    });
    let failed = args.wait && (batch.rejected > 0 || cancelled > 0);
    if failed {
        let mut rows = Vec::new();
        let mut after = 0;
        while rows.len() < SUMMARY_REJECTIONS {
            let page = store.batch_report(&batch_id, after, 1_000).await?;
            let Some(last) = page.last() else { break };
            after = last.line;
            rows.extend(
                page.into_iter()
                    .filter(|r| r.outcome == messaging::model::RowStatus::Rejected)
                    .map(|r| json!({"line": r.line, "reason": r.reason})),
            );
        }
        rows.truncate(SUMMARY_REJECTIONS);
        summary["rejected_lines"] = Value::Array(rows);
    }
    crate::cli::print(args.json, &summary, || human(&summary, args.wait))?;
    Ok(if failed {
        ExitCode::from(EXIT_LINES_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn human(s: &Value, waited: bool) -> String {
    let id = s["id"].as_str().unwrap_or_default();
    if !waited {
        let what = if s["created"] == true {
            "queued"
        } else {
            "already uploaded"
        };
        return format!("batch {id} {what} with {} lines", s["total"]);
    }
    let mut out = format!(
        "batch {id} {}: {} lines, {} accepted, {} rejected",
        s["status"].as_str().unwrap_or_default(),
        s["total"],
        s["accepted"],
        s["rejected"]
    );
    if s["cancelled"].as_i64().unwrap_or(0) > 0 {
        out.push_str(&format!(", {} cancelled", s["cancelled"]));
    }
    if let Some(rows) = s["rejected_lines"].as_array() {
        for r in rows {
            out.push_str(&format!(
                "\n  line {}: {}",
                r["line"],
                r["reason"].as_str().unwrap_or_default()
            ));
        }
        if s["rejected"].as_i64().unwrap_or(0) > rows.len() as i64 {
            out.push_str(&format!(
                "\n  … the report lists every line: GET /api/v1/batches/{id}/report"
            ));
        }
    }
    out
}

/// Progress on stderr (stdout holds the result only): JSON lines with `--json`, one line
/// rewritten with `\r` on a terminal, nothing otherwise.
struct Progress {
    json: bool,
    tty: bool,
    last: Option<Instant>,
    /// The terminal line needs a newline before anything else is printed.
    open_line: bool,
}

/// Shortest time between two progress updates.
const EVERY: Duration = Duration::from_millis(200);

impl Progress {
    fn new(json: bool) -> Self {
        Self {
            json,
            tty: !json && std::io::stderr().is_terminal(),
            last: None,
            open_line: false,
        }
    }

    fn due(&mut self, force: bool) -> bool {
        if !(self.json || self.tty) {
            return false;
        }
        if !force && self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }

    fn upload(&mut self, bytes: u64, size: u64, lines: i64, force: bool) {
        if !self.due(force) {
            return;
        }
        if self.json {
            self.emit(&json!({"event": "upload", "bytes": bytes, "size": size, "lines": lines}));
        } else {
            let pct = bytes.saturating_mul(100).checked_div(size).unwrap_or(100);
            self.bar(&format!(
                "uploading: {pct:>3}% of the file, {lines} lines stored"
            ));
        }
    }

    fn processing(&mut self, b: &Batch, force: bool) {
        if !self.due(force) {
            return;
        }
        let done = b.accepted + b.rejected;
        if self.json {
            self.emit(&json!({
                "event": "processing", "status": b.status.as_str(), "total": b.total,
                "done": done, "accepted": b.accepted, "rejected": b.rejected,
            }));
        } else {
            self.bar(&format!(
                "processing: {done} of {} lines ({} accepted, {} rejected)",
                b.total, b.accepted, b.rejected
            ));
        }
    }

    fn emit(&self, event: &Value) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{event}");
    }

    fn bar(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        // `\x1b[K` clears what a longer previous line left.
        let _ = write!(err, "\r{text}\x1b[K");
        let _ = err.flush();
        self.open_line = true;
    }

    fn end(&mut self) {
        if self.open_line {
            eprintln!();
            self.open_line = false;
        }
    }
}
