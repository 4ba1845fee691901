//! The run's summary as Markdown: one table with both ceilings, Sportello's figures and the
//! ratios, ready to paste into `docs/BENCHMARKS.md`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::db::BackendArg;
use crate::insert::{BATCH, InsertOutcome};
use crate::load;
use crate::submit::SportelloOutcome;
use crate::sys::{CpuUse, Machine};

/// Everything one `submit` run measured.
#[derive(Debug)]
pub struct Report {
    pub backend: BackendArg,
    pub connections: usize,
    pub duration: Duration,
    pub workers: usize,
    pub threads: usize,
    pub machine: Machine,
    pub ceiling_a: load::Outcome,
    pub cpu_a: CpuUse,
    pub ceiling_b: InsertOutcome,
    pub insert_writers: usize,
    pub content_bytes: usize,
    pub cpu_b: CpuUse,
    /// SQLite only: ceiling B written with `$n` placeholders, as the store writes SQL.
    pub ceiling_b_numbered: Option<(InsertOutcome, CpuUse)>,
    pub sportello: SportelloOutcome,
    pub rss_sportello_mib: Option<f64>,
    pub rss_whole_mib: Option<f64>,
}

fn latency(o: &load::Outcome) -> String {
    format!(
        "{:.2} / {:.2} / {:.2}",
        o.percentile_ms(50.0),
        o.percentile_ms(99.0),
        o.max_ms()
    )
}

fn cpu(c: &CpuUse) -> String {
    format!(
        "{:.2} / {:.2} / {:.2} / {:.2}",
        c.process_cores, c.database_cores, c.others_cores, c.iowait_cores
    )
}

fn rate_if(meaningful: bool, rate: f64) -> String {
    if meaningful {
        format!("{rate:.0}")
    } else {
        "n/a".to_owned()
    }
}

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}"))
}

impl Report {
    pub fn markdown(&self) -> String {
        let s = &self.sportello;
        let a = &self.ceiling_a;
        let b = &self.ceiling_b;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### {} — {} connections, {} s\n",
            self.backend.name(),
            self.connections,
            self.duration.as_secs_f64()
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
        let placeholders = if self.ceiling_b_numbered.is_some() {
            "`?` placeholders, "
        } else {
            ""
        };
        let mut rows: Vec<(String, String)> = vec![
            (
                "A: bare axum POST → 201, requests/s".into(),
                format!("{:.0}", a.rate()),
            ),
            ("A: latency p50 / p99 / max, ms".into(), latency(a)),
            ("A: errors".into(), a.error_count().to_string()),
            (
                format!(
                    "B: raw insert, {BATCH} rows/tx, {placeholders}{} writer(s), rows/s \
                     (message + job)",
                    self.insert_writers
                ),
                format!("{:.0}", b.rate()),
            ),
            (
                "B: transactions/s; sealed content bytes per row".into(),
                format!(
                    "{:.1}; {}",
                    b.transactions as f64 / b.elapsed.as_secs_f64().max(1e-9),
                    self.content_bytes
                ),
            ),
            ("B: errors".into(), b.errors.len().to_string()),
        ];
        if let Some((n, _)) = &self.ceiling_b_numbered {
            rows.push((
                "B′: the same with `$n` placeholders (as the store writes SQL), rows/s".into(),
                format!("{:.0}", n.rate()),
            ));
        }
        rows.extend([
            (
                "Sportello: accepted messages/s (201)".into(),
                format!("{:.0}", s.load.rate()),
            ),
            (
                "Sportello: accepted in the run".into(),
                s.load.ok.to_string(),
            ),
            (
                "Sportello: latency p50 / p99 / max, ms".into(),
                latency(&s.load),
            ),
            (
                "Sportello: errors (non-201)".into(),
                s.load.error_count().to_string(),
            ),
            (
                "Sportello: intake transactions; mean messages per transaction".into(),
                format!("{}; {:.1}", s.intake_groups, s.mean_group()),
            ),
            (
                "Sportello: jobs queued or running when the load stopped".into(),
                s.backlog_at_end.to_string(),
            ),
            (
                "Sportello: drain time after the load, s".into(),
                format!(
                    "{:.1}{}",
                    s.drain.as_secs_f64(),
                    match (s.drained, self.workers) {
                        (true, _) => "",
                        (false, 0) => " (no workers: not drained)",
                        (false, _) => " (timed out)",
                    }
                ),
            ),
            (
                "Sportello: processing rate, load start → drained, messages/s".into(),
                rate_if(s.drained, s.processing_rate()),
            ),
            (
                "Sportello: processing rate after the load (workers alone), messages/s".into(),
                rate_if(s.drained && s.backlog_at_end > 0, s.drain_rate()),
            ),
            (
                "Sportello: messages by status at the end; dead jobs".into(),
                format!(
                    "{}; {}",
                    s.statuses
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.dead_jobs
                ),
            ),
            (
                "**ratio Sportello msg/s ÷ bare HTTP req/s**".into(),
                format!("**{:.3}**", s.load.rate() / a.rate().max(1e-9)),
            ),
            (
                "**ratio Sportello msg/s ÷ raw insert rows/s**".into(),
                format!("**{:.3}**", s.load.rate() / b.rate().max(1e-9)),
            ),
            (
                "CPU cores, bench process / PostgreSQL / others / iowait: A".into(),
                cpu(&self.cpu_a),
            ),
            ("… B".into(), cpu(&self.cpu_b)),
            (
                "… B′".into(),
                self.ceiling_b_numbered
                    .as_ref()
                    .map_or_else(|| "—".to_owned(), |(_, c)| cpu(c)),
            ),
            ("… Sportello load".into(), cpu(&s.cpu_load)),
            ("… Sportello drain".into(), cpu(&s.cpu_drain)),
            (
                "peak RSS (VmHWM), MiB: Sportello phase / whole process".into(),
                format!(
                    "{} / {}",
                    mib(self.rss_sportello_mib),
                    mib(self.rss_whole_mib)
                ),
            ),
        ]);
        let _ = writeln!(out, "| measure | value |\n| --- | ---: |");
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        let errors: Vec<(&str, String)> = a
            .errors
            .iter()
            .map(|(e, n)| ("A", format!("{n} × {e}")))
            .chain(b.errors.iter().map(|e| ("B", e.clone())))
            .chain(
                self.ceiling_b_numbered
                    .iter()
                    .flat_map(|(n, _)| n.errors.iter().map(|e| ("B′", e.clone()))),
            )
            .chain(
                s.load
                    .errors
                    .iter()
                    .map(|(e, n)| ("Sportello", format!("{n} × {e}"))),
            )
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nErrors:\n");
            for (phase, e) in errors {
                let _ = writeln!(out, "- {phase}: `{}`", e.replace(['\n', '`'], " "));
            }
        }
        out
    }
}
