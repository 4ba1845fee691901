//! The SMTP adapter of the `Mailer` port: builds the MIME message (UTF-8 subject, plain text, and
//! an HTML alternative when given) and sends it with lettre's pooled async transport. Failures
//! are classified for the retry logic and described without the recipient or the content.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use messaging::outbound::{Mail, Mailer, SendError};
use url::Url;

/// The connect and per-command timeout of the SMTP dialogue.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an SMTP configuration (server URL or sender address) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("SMTP URL is not a URL: {0}")]
    InvalidUrl(String),
    #[error("SMTP URL scheme must be smtp or smtps, not {0:?}")]
    UnsupportedScheme(String),
    #[error("SMTP URL has no host")]
    MissingHost,
    #[error("SMTP URL parameter tls must be required or opportunistic, not {0:?}")]
    InvalidTlsMode(String),
    #[error("SMTP URL parameter tls applies to smtp://; smtps:// always uses TLS")]
    TlsModeWithSmtps,
    #[error("SMTP URL has an unknown parameter {0:?} (only tls is known)")]
    UnknownParameter(String),
    #[error("SMTP URL must not have a path, fragment or repeated parameter")]
    UnexpectedUrlPart,
    #[error("SMTP URL credentials are not valid percent-encoded UTF-8, or lack a user name")]
    InvalidCredentials,
    #[error("SMTP TLS set-up failed for the host: {0}")]
    Tls(String),
    #[error("sender address is not a valid mailbox (e.g. `Sportello <noreply@example.it>`): {0}")]
    InvalidFrom(String),
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS: `smtp://` (local servers and test peers).
    None,
    /// STARTTLS, refused if the server does not offer it: `smtp://…?tls=required`.
    StartTlsRequired,
    /// STARTTLS when the server offers it: `smtp://…?tls=opportunistic`.
    StartTlsOpportunistic,
    /// TLS from the first byte: `smtps://`.
    Implicit,
}

/// Sends [`Mail`] through one SMTP server, reusing pooled connections. Cheap to clone; the
/// clones share the pool. Build it anywhere; send from one Tokio runtime (the pool's
/// connections and clean-up task live on the runtime of the first send).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: Arc<LazyTransport>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: TlsMode,
}

impl fmt::Debug for SmtpMailer {
    // The transport holds the credentials: show only where mail goes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the server at `url` sending as `from`.
    ///
    /// `url` is `smtp://host[:port]` (no TLS, port 25), `smtp://host[:port]?tls=required` or
    /// `?tls=opportunistic` (STARTTLS, port 587), or `smtps://host[:port]` (implicit TLS, port
    /// 465), with optional percent-encoded `user:password@`. `from` is a mailbox such as
    /// `Sportello <noreply@comune.example.it>`.
    pub fn from_url(url: &str, from: &str) -> Result<Self, ConfigError> {
        let parsed = Url::parse(url).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        let host = match parsed.host() {
            // IPv6 literals keep their brackets in host_str; the socket address wants them bare.
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(_) => parsed.host_str().unwrap_or_default().to_owned(),
            None => return Err(ConfigError::MissingHost),
        };
        if host.is_empty() {
            return Err(ConfigError::MissingHost);
        }
        if !(parsed.path().is_empty() || parsed.path() == "/") || parsed.fragment().is_some() {
            return Err(ConfigError::UnexpectedUrlPart);
        }
        let mut tls_param = None;
        for (key, value) in parsed.query_pairs() {
            if key != "tls" {
                return Err(ConfigError::UnknownParameter(key.into_owned()));
            }
            if tls_param.replace(value.into_owned()).is_some() {
                return Err(ConfigError::UnexpectedUrlPart);
            }
        }
        let tls = match (parsed.scheme(), tls_param.as_deref()) {
            ("smtp", None) => TlsMode::None,
            ("smtp", Some("required")) => TlsMode::StartTlsRequired,
            ("smtp", Some("opportunistic")) => TlsMode::StartTlsOpportunistic,
            ("smtp", Some(other)) => return Err(ConfigError::InvalidTlsMode(other.to_owned())),
            ("smtps", None) => TlsMode::Implicit,
            ("smtps", Some(_)) => return Err(ConfigError::TlsModeWithSmtps),
            (scheme, _) => return Err(ConfigError::UnsupportedScheme(scheme.to_owned())),
        };
        let port = parsed.port().unwrap_or(match tls {
            TlsMode::None => 25,
            TlsMode::StartTlsRequired | TlsMode::StartTlsOpportunistic => 587,
            TlsMode::Implicit => 465,
        });
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| ConfigError::InvalidFrom(e.to_string()))?;

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .timeout(Some(SMTP_TIMEOUT));
        if tls != TlsMode::None {
            let params =
                TlsParameters::new(host.clone()).map_err(|e| ConfigError::Tls(e.to_string()))?;
            builder = builder.tls(match tls {
                TlsMode::StartTlsRequired => Tls::Required(params),
                TlsMode::StartTlsOpportunistic => Tls::Opportunistic(params),
                TlsMode::Implicit | TlsMode::None => Tls::Wrapper(params),
            });
        }
        if let Some(credentials) = credentials(&parsed)? {
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            transport: Arc::new(LazyTransport {
                builder,
                built: OnceLock::new(),
            }),
            from,
            host,
            port,
            tls,
        })
    }

    /// The sender address every message carries.
    pub fn from_mailbox(&self) -> &Mailbox {
        &self.from
    }

    /// How the connection is secured.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls
    }

    /// The MIME message for `mail`: From, To, Subject, Date, Message-ID, and a text/plain part
    /// or a multipart/alternative of text and HTML.
    pub fn build_message(&self, mail: &Mail) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| SendError::Permanent("invalid recipient address".to_owned()))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&mail.subject))
            .date_now()
            .message_id(None);
        let built = match &mail.html {
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.text.clone()),
            ),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
        };
        built.map_err(|e| SendError::Permanent(format!("message could not be built: {}", kind(&e))))
    }
}

/// lettre's pooled transport spawns a Tokio task when it is built and when it is dropped, which
/// panics outside a runtime. So it is built on the first send (inside the runtime), and leaked
/// rather than dropped when the last clone of the mailer goes away outside any runtime.
struct LazyTransport {
    builder: AsyncSmtpTransportBuilder,
    built: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
}

impl LazyTransport {
    fn get(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        self.built.get_or_init(|| self.builder.clone().build())
    }
}

impl Drop for LazyTransport {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err()
            && let Some(transport) = self.built.take()
        {
            // Without a runtime its Drop would panic; at this point the process is usually
            // ending anyway.
            std::mem::forget(transport);
        }
    }
}

/// The credentials in the URL's user-info, percent-decoded.
fn credentials(url: &Url) -> Result<Option<Credentials>, ConfigError> {
    let decode = |s: &str| percent_decode(s).ok_or(ConfigError::InvalidCredentials);
    match (url.username(), url.password()) {
        ("", None) => Ok(None),
        ("", Some(_)) => Err(ConfigError::InvalidCredentials),
        (user, password) => Ok(Some(Credentials::new(
            decode(user)?,
            decode(password.unwrap_or_default())?,
        ))),
    }
}

/// Percent-decodes `s` as UTF-8; `None` when the result is not UTF-8 or an escape is malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The subject on one line: a header cannot carry line breaks or other control characters.
fn one_line(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The variant name of a lettre message error, without its text (which may quote addresses).
fn kind(e: &lettre::error::Error) -> &'static str {
    match e {
        lettre::error::Error::MissingFrom => "missing sender",
        lettre::error::Error::MissingTo => "missing recipient",
        lettre::error::Error::TooManyFrom => "too many senders",
        lettre::error::Error::EmailMissingAt
        | lettre::error::Error::EmailMissingLocalPart
        | lettre::error::Error::EmailMissingDomain => "invalid address",
        lettre::error::Error::CannotParseFilename => "invalid file name",
        lettre::error::Error::Io(_) => "I/O error",
        lettre::error::Error::NonAsciiChars => "non-ASCII address",
    }
}

/// Classifies a transport error. lettre's own text can quote the server's reply, which may
/// contain the recipient's address: only the kind of failure and the SMTP code are kept.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    if let Some(code) = e.status() {
        let text = format!("SMTP {code}");
        return if e.is_permanent() {
            SendError::Permanent(text)
        } else {
            SendError::Transient(text)
        };
    }
    let what = if e.is_timeout() {
        "SMTP timeout"
    } else if e.is_tls() {
        "SMTP TLS failure"
    } else if e.is_response() {
        "SMTP malformed reply"
    } else if e.is_transport_shutdown() {
        "SMTP transport shut down"
    } else if e.is_client() {
        "SMTP client error"
    } else {
        "SMTP connection failed"
    };
    SendError::Transient(what.to_owned())
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = self.build_message(mail)?;
        let started = std::time::Instant::now();
        match self.transport.get().send(message).await {
            Ok(_) => {
                tracing::debug!(
                    smtp.host = %self.host,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "e-mail sent"
                );
                Ok(())
            }
            Err(e) => {
                let error = classify(&e);
                tracing::warn!(
                    smtp.host = %self.host,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    error = %error,
                    "e-mail not sent"
                );
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    const FROM: &str = "Sportello <noreply@comune.example.it>";

    fn mail(html: Option<&str>) -> Mail {
        Mail {
            to: "ada@example.it".to_owned(),
            subject: "Il tuo documento è pronto".to_owned(),
            text: "Ciao,\nè pronto.".to_owned(),
            html: html.map(str::to_owned),
        }
    }

    #[test]
    fn each_url_form_selects_its_tls_mode_and_default_port() {
        for (url, tls, port) in [
            ("smtp://127.0.0.1:2525", TlsMode::None, 2525),
            ("smtp://mail.example.it", TlsMode::None, 25),
            (
                "smtp://mail.example.it?tls=required",
                TlsMode::StartTlsRequired,
                587,
            ),
            (
                "smtp://mail.example.it:2587?tls=opportunistic",
                TlsMode::StartTlsOpportunistic,
                2587,
            ),
            ("smtps://mail.example.it", TlsMode::Implicit, 465),
            (
                "smtps://user%40ente:p%C3%A0ss@mail.example.it:1465",
                TlsMode::Implicit,
                1465,
            ),
        ] {
            let mailer = SmtpMailer::from_url(url, FROM).unwrap();
            assert_eq!((mailer.tls, mailer.port), (tls, port), "{url}");
        }
    }

    #[test]
    fn malformed_urls_are_refused_with_the_reason() {
        for (url, expected) in [
            ("mail.example.it", "not a URL"),
            ("http://mail.example.it", "scheme must be smtp or smtps"),
            (
                "smtp://mail.example.it?tls=always",
                "must be required or opportunistic",
            ),
            (
                "smtps://mail.example.it?tls=required",
                "smtps:// always uses TLS",
            ),
            (
                "smtp://mail.example.it?timeout=5",
                "unknown parameter \"timeout\"",
            ),
            ("smtp://mail.example.it/relay", "must not have a path"),
            ("smtp://:secret@mail.example.it", "credentials"),
            ("smtp://user:%FF@mail.example.it", "credentials"),
            ("smtp://mail.example.it:99999", "not a URL"),
        ] {
            let error = SmtpMailer::from_url(url, FROM).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
        }
    }

    #[test]
    fn the_debug_form_does_not_show_the_password() {
        let mailer = SmtpMailer::from_url("smtps://user:hunter2@mail.example.it", FROM).unwrap();
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }

    #[test]
    fn an_invalid_sender_is_refused() {
        let error = SmtpMailer::from_url("smtp://localhost", "not an address").unwrap_err();
        assert!(matches!(error, ConfigError::InvalidFrom(_)), "{error}");
    }

    #[test]
    fn an_invalid_recipient_is_a_permanent_failure_that_does_not_quote_it() {
        let mailer = SmtpMailer::from_url("smtp://localhost", FROM).unwrap();
        let mut bad = mail(None);
        bad.to = "ada-at-example.it".to_owned();
        let error = mailer.build_message(&bad).unwrap_err();
        assert_eq!(
            error,
            SendError::Permanent("invalid recipient address".to_owned())
        );
    }

    #[test]
    fn a_text_only_mail_is_a_single_utf8_text_part_with_an_encoded_subject() {
        let mailer = SmtpMailer::from_url("smtp://localhost", FROM).unwrap();
        let raw =
            String::from_utf8(mailer.build_message(&mail(None)).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: Sportello <noreply@comune.example.it>"),
            "{raw}"
        );
        assert!(raw.contains("To: ada@example.it"), "{raw}");
        assert!(
            raw.contains("Subject: Il tuo documento =?utf-8?b?"),
            "{raw}"
        );
        assert!(raw.contains("Date: "), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        assert!(!raw.contains("multipart"), "{raw}");
        assert!(raw.is_ascii(), "the message is 7-bit clean");
    }

    #[test]
    fn a_mail_with_html_is_multipart_alternative() {
        let mailer = SmtpMailer::from_url("smtp://localhost", FROM).unwrap();
        let raw = String::from_utf8(
            mailer
                .build_message(&mail(Some("<p>è pronto</p>")))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain; charset=utf-8"), "{raw}");
        assert!(raw.contains("text/html; charset=utf-8"), "{raw}");
    }

    #[test]
    fn line_breaks_in_a_subject_cannot_inject_headers() {
        let mailer = SmtpMailer::from_url("smtp://localhost", FROM).unwrap();
        let mut evil = mail(None);
        evil.subject = "Hello\r\nBcc: victim@example.it".to_owned();
        let raw = String::from_utf8(mailer.build_message(&evil).unwrap().formatted()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }
}
