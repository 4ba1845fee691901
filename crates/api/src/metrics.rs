//! Prometheus metrics in the text exposition format. Labels are route templates, methods and
//! status codes only — never anything from a path parameter (fiscal codes are personal data).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use kernel::jobs::JobCounts;

use crate::state::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Process-wide counters and histograms.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    messages_accepted: AtomicU64,
    intake_groups: AtomicU64,
    intake_grouped_messages: AtomicU64,
    jobs_processed: AtomicU64,
    jobs_rejected: AtomicU64,
    jobs_retried: AtomicU64,
    jobs_dead: AtomicU64,
    jobs_taken_over: AtomicU64,
    rate_limited: AtomicU64,
    quota_exceeded: AtomicU64,
    /// (channel, outcome) → count, for notifications and callbacks.
    outbound: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// (operation, fault code) → count, for the KO answers to the pagoPA node.
    pagopa_faults: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_owned()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    /// One intake group written: `created` new messages out of `size` submissions.
    pub fn messages_accepted(&self, created: u64, size: u64) {
        self.messages_accepted.fetch_add(created, Ordering::Relaxed);
        self.intake_groups.fetch_add(1, Ordering::Relaxed);
        self.intake_grouped_messages
            .fetch_add(size, Ordering::Relaxed);
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A notification or callback ended: handed to its channel, or given up.
    pub fn outbound(&self, channel: &str, ok: bool) {
        if let Ok(mut o) = self.outbound.lock() {
            *o.entry((channel.to_owned(), if ok { "sent" } else { "failed" }))
                .or_default() += 1;
        }
    }

    /// A KO answered to the pagoPA node (labels: operation name and PAA code, no personal data).
    pub fn pagopa_fault(&self, operation: &'static str, code: &'static str) {
        if let Ok(mut f) = self.pagopa_faults.lock() {
            *f.entry((operation, code)).or_default() += 1;
        }
    }

    pub fn quota_exceeded(&self) {
        self.quota_exceeded.fetch_add(1, Ordering::Relaxed);
    }

    pub fn job_processed(&self, rejected: bool) {
        if rejected {
            self.jobs_rejected.fetch_add(1, Ordering::Relaxed);
        } else {
            self.jobs_processed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A worker took over a job whose earlier claim's lease ran out.
    pub fn job_taken_over(&self) {
        self.jobs_taken_over.fetch_add(1, Ordering::Relaxed);
    }

    pub fn job_failed(&self, dead: bool) {
        if dead {
            self.jobs_dead.fetch_add(1, Ordering::Relaxed);
        } else {
            self.jobs_retried.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The exposition text; `jobs` are the queue gauges read from the database.
    pub fn render(&self, jobs: Option<JobCounts>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP sportello_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE sportello_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((method, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "sportello_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP sportello_outbound_total Notifications (EMAIL, WEBHOOK) and callbacks \
             (CALLBACK) by final outcome.\n",
        );
        out.push_str("# TYPE sportello_outbound_total counter\n");
        if let Ok(o) = self.outbound.lock() {
            for ((channel, outcome), n) in o.iter() {
                let _ = writeln!(
                    out,
                    "sportello_outbound_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP sportello_pagopa_faults_total KO answers to the pagoPA node by operation and \
             fault code.\n",
        );
        out.push_str("# TYPE sportello_pagopa_faults_total counter\n");
        if let Ok(f) = self.pagopa_faults.lock() {
            for ((operation, code), n) in f.iter() {
                let _ = writeln!(
                    out,
                    "sportello_pagopa_faults_total{{operation=\"{operation}\",code=\"{code}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP sportello_http_request_duration_seconds HTTP request latency by route template.\n");
        out.push_str("# TYPE sportello_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "sportello_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "sportello_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "sportello_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "sportello_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        let counters = [
            (
                "sportello_messages_accepted_total",
                "Messages written at intake.",
                &self.messages_accepted,
            ),
            (
                "sportello_intake_groups_total",
                "Intake transactions (group commits).",
                &self.intake_groups,
            ),
            (
                "sportello_intake_grouped_messages_total",
                "Submissions carried by intake transactions.",
                &self.intake_grouped_messages,
            ),
            (
                "sportello_jobs_processed_total",
                "Message jobs that ended PROCESSED.",
                &self.jobs_processed,
            ),
            (
                "sportello_jobs_rejected_total",
                "Message jobs that ended REJECTED.",
                &self.jobs_rejected,
            ),
            (
                "sportello_jobs_retried_total",
                "Job attempts that failed and were rescheduled.",
                &self.jobs_retried,
            ),
            (
                "sportello_jobs_taken_over_total",
                "Jobs claimed again after the lease of a claim that never finished ran out.",
                &self.jobs_taken_over,
            ),
            (
                "sportello_rate_limited_total",
                "Requests refused by a service's rate limit.",
                &self.rate_limited,
            ),
            (
                "sportello_quota_exceeded_total",
                "Messages refused by a service's daily or monthly quota.",
                &self.quota_exceeded,
            ),
            (
                "sportello_jobs_failed_total",
                "Jobs that exhausted their attempts (dead letters).",
                &self.jobs_dead,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        if let Some(j) = jobs {
            out.push_str(
                "# HELP sportello_jobs Jobs in the queue by status.\n# TYPE sportello_jobs gauge\n",
            );
            let _ = writeln!(out, "sportello_jobs{{status=\"queued\"}} {}", j.queued);
            let _ = writeln!(out, "sportello_jobs{{status=\"running\"}} {}", j.running);
            let _ = writeln!(out, "sportello_jobs{{status=\"dead\"}} {}", j.dead);
        }
        out
    }
}

/// Middleware: counts and times every request by its route template, and logs it.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    state
        .metrics
        .observe_request(&method, &route, status, elapsed.as_secs_f64());
    tracing::debug!(
        http.method = %method,
        http.route = %route,
        http.status = status,
        elapsed_us = elapsed.as_micros() as u64,
        "request"
    );
    res
}
