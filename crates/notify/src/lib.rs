//! Adapters for the outbound channels of `messaging::outbound`: [`SmtpMailer`] sends e-mail over
//! SMTP (lettre), [`HttpClient`] POSTs JSON to the push gateway and to enti's callbacks (hyper
//! with rustls) where its [`policy::OutboundPolicy`] allows, [`signature`] signs those callbacks, and [`templates`] renders the e-mails sent
//! to citizens and delegates (Italian and English).
//!
//! With the `testing` feature, [`testing`] provides real local peers for integration tests: an
//! SMTP server (aiosmtpd, installed by `scripts/test-tools.sh`) and an HTTP receiver.

mod connect;
pub mod http;
pub mod policy;
pub mod signature;
pub mod smtp;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use http::HttpClient;
pub use messaging::outbound::{HttpPoster, Mail, Mailer, SendError};
pub use policy::{OutboundPolicy, Refused};
pub use signature::{REPLAY_WINDOW_SECS, SIGNATURE_HEADER, SignatureError, sign, verify};
pub use smtp::{ConfigError, SmtpMailer};
pub use templates::Lang;
