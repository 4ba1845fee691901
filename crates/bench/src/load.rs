//! Closed-loop HTTP/1.1 load: N keep-alive connections (hyper's `client::conn::http1` over a
//! tokio `TcpStream`), one task each, each sending its next request as soon as the previous
//! answer has been read, until the deadline or its share of the request budget.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// A request that never answers within this is counted as an error and its connection dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Distinct error descriptions kept; further kinds are counted under one line.
const MAX_ERROR_KINDS: usize = 50;
/// Bytes of an unexpected answer's body kept in its error description.
const ERROR_BODY_BYTES: usize = 240;

/// The one request every connection repeats.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// The only status counted as a success.
    pub expect: StatusCode,
}

/// How much load.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub connections: usize,
    pub duration: Duration,
    /// Upper bound on requests over all connections, so a run stops even if time misbehaves.
    pub max_requests: u64,
}

/// What a run of load measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Answers with the expected status.
    pub ok: u64,
    /// Everything else, by description (status and body, or transport error).
    pub errors: BTreeMap<String, u64>,
    /// Latency of every answered request, sorted, in microseconds.
    latencies_us: Vec<u32>,
    /// From the first request to the end of the last connection.
    pub elapsed: Duration,
}

impl Outcome {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The `p`-th percentile (0–100) of the latency in milliseconds (nearest rank).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies_us.len()) - 1;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us
            .last()
            .map_or(f64::NAN, |&us| f64::from(us) / 1000.0)
    }

    fn error(&mut self, what: String) {
        record_error(&mut self.errors, what, 1);
    }
}

fn record_error(errors: &mut BTreeMap<String, u64>, what: String, n: u64) {
    if errors.len() >= MAX_ERROR_KINDS && !errors.contains_key(&what) {
        *errors
            .entry("(other kinds of error)".to_owned())
            .or_default() += n;
    } else {
        *errors.entry(what).or_default() += n;
    }
}

/// Runs `plan` against `target`.
pub async fn run(target: Arc<Target>, plan: Plan) -> Outcome {
    let connections = plan.connections.max(1);
    let quota = plan.max_requests.div_ceil(connections as u64).max(1);
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        tasks.spawn(connection(target.clone(), deadline, quota));
    }
    let mut out = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(c) => {
                out.ok += c.ok;
                out.latencies_us.extend(c.latencies_us);
                for (what, n) in c.errors {
                    record_error(&mut out.errors, what, n);
                }
            }
            Err(e) => out.error(format!("load task failed: {e}")),
        }
    }
    out.elapsed = started.elapsed();
    out.latencies_us.sort_unstable();
    out
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("set_nodelay: {e}"))?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    // Drives the connection; ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(target: &Target) -> Result<Request<Full<Bytes>>, String> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(target.path.as_str())
        .header(hyper::header::HOST, target.addr.to_string());
    for (name, value) in &target.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(target.body.clone()))
        .map_err(|e| format!("cannot build the request: {e}"))
}

async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), hyper::Error> {
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

async fn connection(target: Arc<Target>, deadline: Instant, quota: u64) -> Outcome {
    let mut out = Outcome {
        latencies_us: Vec::with_capacity(quota.min(1 << 16) as usize),
        ..Outcome::default()
    };
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut sent = 0_u64;
    while sent < quota && Instant::now() < deadline {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(target.addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    out.error(e);
                    sent += 1; // a refused connection uses up budget too, so the loop ends
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let req = match request(&target) {
            Ok(r) => r,
            Err(e) => {
                out.error(e);
                break;
            }
        };
        sent += 1;
        let begun = Instant::now();
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange(s, req)).await {
            Ok(Ok((status, body))) => {
                let us = u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX);
                out.latencies_us.push(us);
                if status == target.expect {
                    out.ok += 1;
                } else {
                    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)])
                        .into_owned();
                    out.error(format!("HTTP {status}: {text}"));
                }
            }
            Ok(Err(e)) => {
                out.error(format!("transport: {e}"));
                sender = None;
            }
            Err(_) => {
                out.error(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()));
                sender = None;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let out = Outcome {
            latencies_us: (1..=100).map(|ms| ms * 1000).collect(),
            ..Outcome::default()
        };
        assert!((out.percentile_ms(50.0) - 50.0).abs() < 1e-9);
        assert!((out.percentile_ms(99.0) - 99.0).abs() < 1e-9);
        assert!((out.percentile_ms(100.0) - 100.0).abs() < 1e-9);
        assert!((out.max_ms() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn error_kinds_are_bounded() {
        let mut out = Outcome::default();
        for i in 0..(MAX_ERROR_KINDS + 10) {
            out.error(format!("kind {i}"));
        }
        assert_eq!(out.errors.len(), MAX_ERROR_KINDS + 1);
        assert_eq!(out.error_count(), (MAX_ERROR_KINDS + 10) as u64);
    }
}
