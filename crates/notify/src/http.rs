//! The HTTP adapter of the `HttpPoster` port: POSTs JSON to the push gateway and to enti's
//! callback URLs over https (webpki roots, rustls with ring) or plain http, with connect and
//! request timeouts, and classifies the answer for the retry logic. Errors name the host and the
//! status, never the body or the query string. Every client has an [`OutboundPolicy`]: the one
//! for URLs the operator did not choose refuses internal destinations at connection time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use messaging::outbound::{HttpPoster, SendError};

use crate::connect::{Guarded, refusal};
use crate::policy::{OutboundPolicy, Refused};

/// The default time allowed for a whole request, from connecting to reading the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time allowed to open the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The `User-Agent` of every request.
pub const USER_AGENT_VALUE: &str = concat!("Sportello/", env!("CARGO_PKG_VERSION"));
/// How much of an answer's body is read (then dropped) so the connection can be reused.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// POSTs JSON over http or https, reusing pooled connections, to the destinations its
/// [`OutboundPolicy`] allows. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<HttpsConnector<Guarded>, Full<Bytes>>,
    request_timeout: Duration,
}

impl HttpClient {
    /// A client with the default timeouts ([`CONNECT_TIMEOUT`], [`REQUEST_TIMEOUT`]) that
    /// connects only where `policy` allows: [`OutboundPolicy::restricted`] for URLs an ente or
    /// another outside party chose, [`OutboundPolicy::unrestricted`] for the operator's own
    /// endpoints.
    pub fn new(policy: OutboundPolicy) -> Self {
        Self::with_timeouts(CONNECT_TIMEOUT, REQUEST_TIMEOUT, policy)
    }

    /// A client with the given connect and whole-request timeouts.
    pub fn with_timeouts(connect: Duration, request: Duration, policy: OutboundPolicy) -> Self {
        // The HTTPS connector handles the scheme; the inner connector accepts https URIs.
        let http = Guarded::new(Arc::new(policy), connect);
        let tls = rustls::ClientConfig::builder_with_provider(
            rustls::crypto::ring::default_provider().into(),
        )
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports the default TLS versions"));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(
                hyper_rustls::ConfigBuilderExt::with_webpki_roots(tls).with_no_client_auth(),
            )
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Self {
            client,
            request_timeout: request,
        }
    }

    /// Sends the request and reads the answer, without the overall timeout.
    async fn exchange(&self, request: Request<Full<Bytes>>) -> Result<StatusCode, Failure> {
        let response = self.client.request(request).await.map_err(|e| {
            if let Some(refused) = refusal(&e) {
                Failure::Refused(refused)
            } else if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Network
            }
        })?;
        let status = response.status();
        // Read a bounded amount so a small answer frees the connection for reuse; its content
        // does not matter.
        let _ = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await;
        Ok(status)
    }
}

/// What [`HttpClient::download`] brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub bytes: u64,
    /// The answer's media type: the essence of `Content-Type`, lower case.
    pub media_type: Option<String>,
}

impl HttpClient {
    /// GETs `url` into the file at `into` (created or truncated), at most `max_bytes`; the
    /// client's whole-request timeout bounds the download. Redirects are not followed (the
    /// error names the status: give the final URL). Errors name the origin and what failed,
    /// never the path or query.
    pub async fn download(
        &self,
        url: &str,
        max_bytes: u64,
        into: &std::path::Path,
    ) -> Result<Downloaded, String> {
        let uri: Uri = url.parse().map_err(|_| "invalid URL".to_owned())?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err("URL must be absolute http or https".to_owned());
        }
        let origin = origin(&uri);
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .body(Full::new(Bytes::new()))
            .map_err(|_| "invalid request".to_owned())?;
        let work = async {
            let response = self.client.request(request).await.map_err(|e| {
                if let Some(refused) = refusal(&e) {
                    format!("HTTP destination not allowed ({origin}): {refused}")
                } else if e.is_connect() {
                    format!("HTTP connection failed ({origin})")
                } else {
                    format!("HTTP exchange failed ({origin})")
                }
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!(
                    "HTTP {} from {origin}{}",
                    status.as_u16(),
                    if status.is_redirection() {
                        ": redirects are not followed, give the final URL"
                    } else {
                        ""
                    }
                ));
            }
            let media_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty());
            let mut file = tokio::fs::File::create(into)
                .await
                .map_err(|e| format!("cannot write the download: {e}"))?;
            let mut body = response.into_body();
            let mut bytes = 0u64;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| format!("HTTP body interrupted ({origin})"))?;
                if let Ok(data) = frame.into_data() {
                    bytes += data.len() as u64;
                    if bytes > max_bytes {
                        return Err(format!(
                            "the file from {origin} is larger than the {max_bytes} bytes allowed"
                        ));
                    }
                    tokio::io::AsyncWriteExt::write_all(&mut file, &data)
                        .await
                        .map_err(|e| format!("cannot write the download: {e}"))?;
                }
            }
            tokio::io::AsyncWriteExt::flush(&mut file)
                .await
                .map_err(|e| format!("cannot write the download: {e}"))?;
            Ok(Downloaded { bytes, media_type })
        };
        match tokio::time::timeout(self.request_timeout, work).await {
            Err(_) => Err(format!(
                "HTTP timeout after {} s ({origin})",
                self.request_timeout.as_secs_f32()
            )),
            Ok(result) => result,
        }
    }
}

/// What went wrong before an HTTP status was received.
enum Failure {
    /// The policy refused every address of the destination: nothing was sent.
    Refused(Refused),
    Connect,
    Network,
}

/// `scheme://host[:port]` of `uri`, for messages: no path or query (they may carry tokens).
fn origin(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    match (uri.host(), uri.port_u16()) {
        (Some(host), Some(port)) => format!("{scheme}://{host}:{port}"),
        (Some(host), None) => format!("{scheme}://{host}"),
        _ => "(no host)".to_owned(),
    }
}

/// The outcome for an HTTP status: 2xx is success, 408/429/5xx transient, the rest permanent.
pub fn classify_status(status: u16) -> Result<u16, SendError> {
    match status {
        200..=299 => Ok(status),
        408 | 429 | 500..=599 => Err(SendError::Transient(format!("HTTP {status}"))),
        _ => Err(SendError::Permanent(format!("HTTP {status}"))),
    }
}

/// The HTTP status a peer answered, from an error of [`classify_status`] (`HTTP 503`); `None`
/// when the peer did not answer (connection failed, timeout) or the request was never sent.
pub fn status_of(error: &SendError) -> Option<u16> {
    let (SendError::Transient(text) | SendError::Permanent(text)) = error;
    text.strip_prefix("HTTP ")?.parse().ok()
}

#[async_trait]
impl HttpPoster for HttpClient {
    async fn post_json(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<u16, SendError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| SendError::Permanent("invalid URL".to_owned()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(SendError::Permanent(
                "URL must be absolute http or https".to_owned(),
            ));
        }
        let origin = origin(&uri);
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| SendError::Permanent("invalid request".to_owned()))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SendError::Permanent("invalid header name".to_owned()))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| SendError::Permanent(format!("invalid value for header {name}")))?;
            request.headers_mut().insert(name, value);
        }

        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.request_timeout, self.exchange(request)).await
        {
            Err(_) => Err(SendError::Transient(format!(
                "HTTP timeout after {} s ({origin})",
                self.request_timeout.as_secs_f32()
            ))),
            Ok(Err(Failure::Refused(refused))) => Err(SendError::Permanent(format!(
                "HTTP destination not allowed ({origin}): {refused}"
            ))),
            Ok(Err(Failure::Connect)) => Err(SendError::Transient(format!(
                "HTTP connection failed ({origin})"
            ))),
            Ok(Err(Failure::Network)) => Err(SendError::Transient(format!(
                "HTTP exchange failed ({origin})"
            ))),
            Ok(Ok(status)) => classify_status(status.as_u16()),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Ok(status) => {
                tracing::debug!(http.origin = %origin, http.status = status, elapsed_ms, "POST done")
            }
            Err(error) => {
                tracing::warn!(http.origin = %origin, error = %error, elapsed_ms, "POST failed")
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn statuses_are_classified_for_retry() {
        assert_eq!(classify_status(200), Ok(200));
        for code in [404, 503] {
            let error = classify_status(code).unwrap_err();
            assert_eq!(status_of(&error), Some(code));
        }
        assert_eq!(
            status_of(&SendError::Transient("HTTP timeout".to_owned())),
            None
        );
        assert_eq!(classify_status(204), Ok(204));
        for transient in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                classify_status(transient),
                Err(SendError::Transient(format!("HTTP {transient}")))
            );
        }
        for permanent in [301, 400, 401, 403, 404, 410, 422] {
            assert_eq!(
                classify_status(permanent),
                Err(SendError::Permanent(format!("HTTP {permanent}")))
            );
        }
    }

    #[test]
    fn the_origin_leaves_out_path_and_query() {
        let uri: Uri = "https://ente.example.it:8443/cb/x?token=secret"
            .parse()
            .unwrap();
        assert_eq!(origin(&uri), "https://ente.example.it:8443");
    }

    #[tokio::test]
    async fn a_url_that_is_not_http_is_refused_permanently() {
        let client = HttpClient::new(OutboundPolicy::unrestricted());
        for url in ["ftp://ente.example.it/x", "/relative", "not a url"] {
            let error = client
                .post_json(url, &[], b"{}".to_vec())
                .await
                .unwrap_err();
            assert!(matches!(error, SendError::Permanent(_)), "{url}: {error}");
        }
    }

    #[tokio::test]
    async fn an_invalid_header_is_refused_without_echoing_its_value() {
        let client = HttpClient::new(OutboundPolicy::unrestricted());
        let headers = [("X-Token".to_owned(), "secret\nvalue".to_owned())];
        let error = client
            .post_json("http://127.0.0.1:9/", &headers, Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(error, SendError::Permanent(_)));
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
