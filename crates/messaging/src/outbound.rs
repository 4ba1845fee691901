//! Ports for the outbound channels: e-mail to citizens and delegates, HTTP POSTs to the push
//! gateway and to enti's callback URLs. Adapters (SMTP, HTTP client) implement them; the worker
//! only sees these traits, so tests run it against real local peers.

/// An e-mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The same body as HTML (already escaped), sent as an alternative part when present.
    pub html: Option<String>,
}

/// Why a send failed. `Transient` failures (peer unreachable, 4xx SMTP replies, HTTP 5xx/429,
/// timeouts) are retried; `Permanent` ones (address refused, HTTP 4xx) are not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {0}")]
    Transient(String),
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Sends e-mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> Result<(), SendError>;
}

/// POSTs a JSON body.
#[async_trait::async_trait]
pub trait HttpPoster: Send + Sync + 'static {
    /// POSTs `body` (JSON) to `url` with the extra `headers`; `Ok` carries the 2xx status.
    /// Non-2xx answers are errors: 408, 429 and 5xx transient, other 4xx permanent.
    async fn post_json(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<u16, SendError>;
}
