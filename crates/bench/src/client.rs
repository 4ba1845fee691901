//! One HTTP/1.1 keep-alive connection driven in a closed loop with one request in flight (hyper
//! `client::conn::http1` over a tokio `TcpStream`, as `load.rs`), and the latencies it measured.
//! Used where each request depends on the previous answer (cursor paging) and for set-up calls.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request that does not answer within this fails the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An open connection.
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        // Drives the connection; ends when the sender is dropped or the peer closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { addr, sender })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.addr.to_string());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(body))?;
        let exchange = async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no answer within {} s to {path}", REQUEST_TIMEOUT.as_secs()))?
    }
}

/// Latencies of one phase.
#[derive(Debug, Default)]
pub struct Samples {
    /// Sorted once the phase is [`Samples::finish`]ed.
    us: Vec<u32>,
    /// Wall time of the whole phase (client work between requests included).
    pub elapsed: Duration,
}

impl Samples {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            us: Vec::with_capacity(n),
            elapsed: Duration::ZERO,
        }
    }

    pub fn push(&mut self, latency: Duration) {
        self.us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn finish(&mut self, started: Instant) {
        self.elapsed = started.elapsed();
        self.us.sort_unstable();
    }

    /// Requests measured (od-bench reads it; sportello-bench does not).
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.us.len()
    }

    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.us.is_empty()
    }

    /// Requests per second over the phase.
    pub fn rate(&self) -> f64 {
        self.us.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile (0–100) in milliseconds (nearest rank).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.us.len() as f64).ceil() as usize;
        f64::from(self.us[rank.clamp(1, self.us.len()) - 1]) / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.us
            .last()
            .map_or(f64::NAN, |&us| f64::from(us) / 1000.0)
    }

    /// `p50 / p90 / p99 / max` in milliseconds.
    pub fn summary(&self) -> String {
        format!(
            "{:.2} / {:.2} / {:.2} / {:.2}",
            self.percentile_ms(50.0),
            self.percentile_ms(90.0),
            self.percentile_ms(99.0),
            self.max_ms()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut s = Samples::with_capacity(100);
        for ms in (1..=100).rev() {
            s.push(Duration::from_millis(ms));
        }
        s.finish(Instant::now());
        assert!((s.percentile_ms(50.0) - 50.0).abs() < 1e-9);
        assert!((s.percentile_ms(99.0) - 99.0).abs() < 1e-9);
        assert!((s.max_ms() - 100.0).abs() < 1e-9);
        assert_eq!(s.us.len(), 100);
    }
}
