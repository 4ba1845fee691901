//! `SmtpMailer` against a real SMTP server (aiosmtpd, started by `notify::testing::SmtpSink`).

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use notify::testing::SmtpSink;
use notify::{Mail, Mailer, SendError, SmtpMailer};

const FROM: &str = "Sportello <noreply@comune.example.it>";
const WAIT: Duration = Duration::from_secs(5);

fn mail(to: &str, html: Option<&str>) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "La tua pratica è stata approvata — Comune di Forlì".to_owned(),
        text: "Ciao,\nla pratica n. 42 è stata approvata: trovi i dettagli nell'app.\n\
               Una riga molto lunga che supera i settantasei caratteri per obbligare la codifica \
               quoted-printable a spezzarla con soft line break."
            .to_owned(),
        html: html.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_mail_reaches_the_smtp_server_with_recipient_subject_and_decoded_text() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).unwrap();
    let sent = mail("ada@example.it", None);

    mailer.send(&sent).await.unwrap();

    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.to, vec!["ada@example.it".to_owned()]);
    assert_eq!(got.from, FROM);
    assert_eq!(got.subject, sent.subject);
    assert_eq!(got.text, sent.text);
    assert_eq!(got.html, None);
    assert!(got.raw.contains("Message-ID: <"), "{}", got.raw);
    assert!(got.raw.contains("Date: "), "{}", got.raw);
}

#[tokio::test]
async fn a_mail_with_html_arrives_as_text_and_html_alternatives() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).unwrap();
    let html = "<p>La pratica è stata <strong>approvata</strong>.</p>";

    mailer
        .send(&mail("ada@example.it", Some(html)))
        .await
        .unwrap();

    let got = sink.wait_for(1, WAIT).await.remove(0);
    assert!(got.raw.contains("multipart/alternative"), "{}", got.raw);
    assert!(got.text.starts_with("Ciao,\nla pratica n. 42"));
    assert_eq!(got.html.as_deref(), Some(html));
}

#[tokio::test]
async fn a_rendered_template_arrives_intact() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).unwrap();
    let (subject, text, html) = notify::templates::new_message(
        notify::Lang::It,
        "Anagrafe",
        "Comune di Forlì",
        Some((
            "Carta d'identità in scadenza",
            "Rinnova la tua carta **entro maggio**.",
        )),
        "https://app.example.it/messages/01J",
    );
    let sent = Mail {
        to: "ada@example.it".to_owned(),
        subject,
        text,
        html: Some(html),
    };

    mailer.send(&sent).await.unwrap();

    let got = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(got.subject, sent.subject);
    // The sink drops trailing line ends (SMTP framing adds its own).
    assert_eq!(got.text, sent.text.trim_end());
    assert_eq!(got.html.as_deref(), sent.html.as_deref().map(str::trim_end));
}

#[tokio::test]
async fn a_stopped_server_is_a_transient_failure_and_sending_works_again_after_a_restart() {
    let mut sink = SmtpSink::start().await;
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).unwrap();
    mailer.send(&mail("ada@example.it", None)).await.unwrap();

    sink.stop();
    let error = mailer
        .send(&mail("bea@example.it", None))
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::Transient(_)), "{error:?}");
    assert!(!error.to_string().contains("bea@"), "{error}");
    // While stopped, the port stays reserved for the restart: bound, so a socket that does not
    // share ports cannot take it (and no bind to port 0 is given it).
    let stranger = tokio::net::TcpSocket::new_v4().unwrap();
    stranger.set_reuseaddr(false).unwrap();
    assert!(stranger.bind(([127, 0, 0, 1], sink.port()).into()).is_err());

    sink.restart().await;
    mailer.send(&mail("cleo@example.it", None)).await.unwrap();
    let received = sink.wait_for(2, WAIT).await;
    let recipients: Vec<_> = received.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients, ["ada@example.it", "cleo@example.it"]);
}

#[tokio::test]
async fn a_recipient_refused_with_550_is_a_permanent_failure_that_does_not_name_it() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).unwrap();

    let error = mailer
        .send(&mail("reject.ada@example.it", None))
        .await
        .unwrap_err();

    assert_eq!(error, SendError::Permanent("SMTP 550".to_owned()));
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_recipient_refused_with_451_is_a_transient_failure() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).unwrap();

    let error = mailer
        .send(&mail("tempfail.ada@example.it", None))
        .await
        .unwrap_err();

    assert_eq!(error, SendError::Transient("SMTP 451".to_owned()));
    // The same connection still delivers the next mail.
    mailer.send(&mail("ada@example.it", None)).await.unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_failure() {
    let closed = notify::testing::ClosedPort::new();
    let port = closed.port();
    let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();

    let error = mailer
        .send(&mail("ada@example.it", None))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        SendError::Transient("SMTP connection failed".to_owned())
    );
}
