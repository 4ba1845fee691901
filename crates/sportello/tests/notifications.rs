//! Notifications and callbacks end to end, against a real SMTP server (aiosmtpd, installed and
//! started by the project's test tools) and real local HTTP receivers for the push gateway and
//! the ente's callback URL. Every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Backend, CITIZEN, SANDBOX, TestApp, TestDb, markdown};
use kernel::Clock as _;
use notify::testing::{HttpReceiver, ReceivedMail, ReceivedRequest, SmtpSink};
use serde_json::{Value, json};

const SECRET: &str = "ente-callback-secret-0123456789";
const EMAIL: &str = "mario.rossi@example.it";
const WAIT: Duration = Duration::from_secs(15);

/// The peers of one test: an SMTP server, a push gateway and the ente's callback endpoint.
struct Peers {
    smtp: SmtpSink,
    push: HttpReceiver,
    hook: HttpReceiver,
}

impl Peers {
    async fn start() -> Self {
        Self {
            smtp: SmtpSink::start().await,
            push: HttpReceiver::start().await,
            hook: HttpReceiver::start().await,
        }
    }
}

async fn spawn(backend: Backend, peers: &Peers, smtp: bool) -> TestApp {
    spawn_tuned(backend, peers, smtp, |_| {}).await
}

async fn spawn_tuned(
    backend: Backend,
    peers: &Peers,
    smtp: bool,
    tune: impl FnOnce(&mut sportello::config::Config),
) -> TestApp {
    let db = TestDb::new(backend).await;
    let smtp_url = peers.smtp.url();
    let push_url = peers.push.url("/push");
    TestApp::spawn_on(db, move |c| {
        c.smtp_url = smtp.then_some(sportello::config::Secret(smtp_url));
        c.mail_from = "Comune di Varese <noreply@comune.varese.it>".to_owned();
        c.push_url = Some(push_url);
        c.public_url = "https://sportello.comune.varese.it".to_owned();
        // The ente's receiver runs on this machine: an on-premises receiver, which the
        // operator allows (internal destinations are refused by default).
        c.outbound_allow_cidrs = vec![kernel::values::Cidr::parse("127.0.0.0/8").unwrap()];
        tune(c);
    })
    .await
}

async fn citizen(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> common::Response {
    let auth = format!("Bearer {token}");
    app.request(
        method,
        &format!("/api/citizen/v1{path}"),
        &[("authorization", &auth)],
        body,
    )
    .await
}

/// Creates the citizen's profile with an address, opens the validation link that arrives by
/// e-mail, and returns the session token. `mails_before`: e-mails the sink already holds.
async fn validated_citizen(
    app: &TestApp,
    peers: &Peers,
    profile: Value,
    mails_before: usize,
) -> String {
    let token = app.session(CITIZEN).await;
    let mut body = json!({
        "version": 0,
        "email": EMAIL,
        "is_inbox_enabled": true,
        "is_email_enabled": true,
        "is_webhook_enabled": true,
    });
    for (k, v) in profile.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = citizen(app, &token, "PUT", "/profile", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["is_email_validated"], false);
    let mail = peers
        .smtp
        .wait_for(mails_before + 1, WAIT)
        .await
        .pop()
        .unwrap();
    assert_eq!(mail.to, vec![EMAIL.to_owned()]);
    let link = mail
        .text
        .split_whitespace()
        .find(|w| {
            w.starts_with(
                "https://sportello.comune.varese.it/api/citizen/v1/email-validation?token=",
            )
        })
        .unwrap_or_else(|| panic!("no validation link in: {}", mail.text))
        .to_owned();
    let path = link.trim_start_matches("https://sportello.comune.varese.it");
    let r = app.request("GET", path, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = citizen(app, &token, "GET", "/profile", None).await;
    assert_eq!(r.body["is_email_validated"], true, "{}", r.body);
    // The link works once.
    let again = app.request("GET", path, &[], None).await;
    assert_eq!(again.status, 404, "{}", again.text);
    token
}

async fn set_callback(app: &TestApp, manage: &str, service: &str, url: &str) {
    let r = app
        .with_key(
            manage,
            "PUT",
            &format!("/manage/services/{service}/callback"),
            Some(&json!({"url": url, "secret": SECRET})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Checks the signature of a callback request and returns its JSON body.
fn verified(req: &ReceivedRequest) -> Value {
    let header = req
        .header("x-sportello-signature")
        .expect("callbacks carry X-Sportello-Signature");
    let now = chrono::Utc::now().timestamp();
    notify::verify(SECRET.as_bytes(), header, &req.body, now, 300)
        .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
    assert!(
        notify::verify(b"another-secret-0123456789", header, &req.body, now, 300).is_err(),
        "a signature must not verify with another secret"
    );
    serde_json::from_slice(&req.body).unwrap()
}

/// Polls the ente's view of a message until `check` holds.
async fn ente_view(
    app: &TestApp,
    key: &str,
    fc: &str,
    id: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let r = app
            .with_key(key, "GET", &format!("/messages/{fc}/{id}"), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if check(&r.body) {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the message never reached the expected state: {last}");
}

async fn the_whole_flow_reaches_inbox_mail_push_and_the_entes_callback(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn(backend, &peers, true).await;
    let manage = app.onboard().await;
    let (service, key) = app.service(&manage, json!({})).await;
    set_callback(&app, &manage, &service, &peers.hook.url("/hook")).await;
    let token = validated_citizen(&app, &peers, json!({"preferred_languages": ["en_GB"]}), 0).await;

    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Your waste tax instalment is due", "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();

    // The ente learns it was processed, signed.
    let events = peers.hook.wait_for(1, WAIT).await;
    let event = verified(&events[0]);
    assert_eq!(event["message_id"], id.as_str());
    assert_eq!(event["status"], "processed");
    assert_eq!(event["service_id"], service.as_str());

    // The e-mail, in English (the citizen's language), with the content.
    let mails = peers.smtp.wait_for(2, WAIT).await;
    let mail: &ReceivedMail = &mails[1];
    assert_eq!(mail.to, vec![EMAIL.to_owned()]);
    assert!(
        mail.subject.contains("Your waste tax instalment is due"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("TARI"), "{}", mail.text);
    assert!(
        mail.text
            .contains("You have received a message from Tributi"),
        "English text expected: {}",
        mail.text
    );
    assert!(!mail.text.contains("Hai ricevuto"), "{}", mail.text);

    // The push gateway got the notification with content.
    let pushes = peers.push.wait_for(1, WAIT).await;
    assert_eq!(pushes[0].path, "/push");
    let push: Value = serde_json::from_slice(&pushes[0].body).unwrap();
    assert_eq!(push["message"]["id"], id.as_str());
    assert_eq!(
        push["message"]["content"]["subject"],
        "Your waste tax instalment is due"
    );
    assert_eq!(push["sender_metadata"]["service_name"], "Tributi");

    // The ente sees both channels SENT (IO's `notification` field).
    let view = ente_view(&app, &key, CITIZEN, &id, |b| {
        b["notification"]["email"] == "SENT" && b["notification"]["webhook"] == "SENT"
    })
    .await;
    assert_eq!(view["status"], "PROCESSED");

    // The citizen sees it in the inbox and reads it.
    let inbox = citizen(&app, &token, "GET", "/messages", None).await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    assert_eq!(inbox.body["items"][0]["id"], id.as_str());
    assert_eq!(inbox.body["items"][0]["is_read"], false);
    let r = citizen(
        &app,
        &token,
        "PUT",
        &format!("/messages/{id}/status"),
        Some(&json!({"change_type": "reading", "is_read": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The ente's callback receives `read`.
    let events = peers.hook.wait_for(2, WAIT).await;
    let read = verified(&events[1]);
    assert_eq!(read["status"], "read");
    assert_eq!(read["message_id"], id.as_str());
    assert_ne!(read["event_id"], event["event_id"]);

    // Reading again sends nothing more.
    let r = citizen(
        &app,
        &token,
        "PUT",
        &format!("/messages/{id}/status"),
        Some(&json!({"change_type": "reading", "is_read": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The delivery log through the admin API. The receiver has both events, but the worker
    // records an outcome only after the receiver's answer: poll (bounded) for it.
    let deadline = std::time::Instant::now() + WAIT;
    let log = loop {
        let log = app
            .admin("GET", &format!("/callbacks?service_id={service}"), None)
            .await;
        assert_eq!(log.status, 200, "{}", log.body);
        let delivered = log.body["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|d| d["status"] == "DELIVERED"));
        if delivered || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", log.body);
    assert!(
        items
            .iter()
            .all(|d| d["status"] == "DELIVERED" && d["last_status_code"] == 200),
        "{}",
        log.body
    );
    app.pass_leases().await;
    assert_eq!(peers.hook.requests().len(), 2, "read is told once");
    app.finish().await;
}

async fn secure_channel_services_notify_without_content(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn(backend, &peers, true).await;
    let manage = app.onboard().await;
    let (_, key) = app
        .service(&manage, json!({"require_secure_channel": true}))
        .await;
    validated_citizen(&app, &peers, json!({}), 0).await;
    let subject = "Esito della visita medica specialistica";
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": subject, "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mail = peers.smtp.wait_for(2, WAIT).await.pop().unwrap();
    assert_eq!(mail.to, vec![EMAIL.to_owned()]);
    assert!(!mail.subject.contains(subject), "{}", mail.subject);
    assert!(
        !mail.text.contains(subject) && !mail.text.contains("TARI"),
        "{}",
        mail.text
    );
    assert!(
        !mail.raw.contains("TARI"),
        "no content anywhere in the e-mail"
    );
    assert!(
        mail.text.contains("Tributi"),
        "it names the service: {}",
        mail.text
    );
    let push = peers.push.wait_for(1, WAIT).await;
    let push: Value = serde_json::from_slice(&push[0].body).unwrap();
    assert!(push["message"].get("content").is_none(), "{push}");
    assert_eq!(push["content_type"], "ANONYMOUS");
    app.finish().await;
}

async fn mail_waits_while_the_smtp_server_is_down_and_arrives_when_it_returns(backend: Backend) {
    let mut peers = Peers::start().await;
    let app = spawn(backend, &peers, true).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    validated_citizen(&app, &peers, json!({"is_webhook_enabled": false}), 0).await;
    peers.smtp.stop();
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Avviso di scadenza TARI", "markdown": markdown()}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Visible to the ente as THROTTLED while the server is down.
    ente_view(&app, &key, CITIZEN, &id, |b| {
        b["notification"]["email"] == "THROTTLED"
    })
    .await;
    peers.smtp.restart().await;
    let mails = peers.smtp.wait_for(2, WAIT).await;
    assert!(
        mails[1].subject.contains("Avviso di scadenza TARI"),
        "{}",
        mails[1].subject
    );
    ente_view(&app, &key, CITIZEN, &id, |b| {
        b["notification"]["email"] == "SENT"
    })
    .await;
    app.pass_leases().await;
    assert_eq!(peers.smtp.messages().len(), 2, "delivered once");
    app.finish().await;
}

async fn without_an_smtp_url_the_email_channel_is_off_and_says_so(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn(backend, &peers, false).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    // The sandbox copy is an e-mail: with the channel off it is FAILED, not dropped silently.
    let r = app
        .send(
            &key,
            SANDBOX,
            json!({"subject": "Prova di invio al codice sandbox", "markdown": markdown()}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The view reads the message, then its notifications: wait until it shows both after
    // processing (a read between the two could pair an old status with the new notification).
    let view = ente_view(&app, &key, SANDBOX, &id, |b| {
        b["notification"]["email"] == "FAILED" && b["status"] != "ACCEPTED"
    })
    .await;
    assert_eq!(view["status"], "PROCESSED");
    let metrics = app.request("GET", "/metrics", &[], None).await;
    assert!(
        metrics
            .text
            .contains("sportello_outbound_total{channel=\"EMAIL\",outcome=\"failed\"} 1"),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("sportello_channel_enabled{channel=\"email\"} 0")
    );
    assert!(
        metrics
            .text
            .contains("sportello_channel_enabled{channel=\"push\"} 1")
    );
    let ready = app.request("GET", "/readyz", &[], None).await;
    assert_eq!(
        ready.body["channels"],
        json!({"email": "off", "push": "on"})
    );
    assert!(peers.smtp.messages().is_empty());
    app.finish().await;
}

async fn sandbox_messages_are_mailed_to_the_organizations_delegates(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn(backend, &peers, true).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let r = app
        .send(
            &key,
            SANDBOX,
            json!({"subject": "Prova di invio al codice sandbox", "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mail = peers.smtp.wait_for(1, WAIT).await.pop().unwrap();
    assert_eq!(mail.to, vec!["tributi@comune.varese.it".to_owned()]);
    assert!(
        mail.text.contains("Prova di invio al codice sandbox"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("TARI"), "{}", mail.text);
    app.finish().await;
}

async fn a_failing_callback_endpoint_is_retried_until_it_answers(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn_tuned(backend, &peers, true, |c| {
        c.job.max_attempts = 8;
        c.job.backoff_base_ms = 100;
    })
    .await;
    let manage = app.onboard().await;
    let (service, key) = app
        .service(
            &manage,
            json!({"authorized_recipients": [CITIZEN, "BNCGPP80A01H501E"]}),
        )
        .await;
    set_callback(&app, &manage, &service, &peers.hook.url("/hook")).await;
    peers.hook.set_status(503);
    // Nobody has a profile for this code: the message is rejected, and the ente told why.
    let r = app
        .send(
            &key,
            "BNCGPP80A01H501E",
            json!({"subject": "Avviso di scadenza TARI", "markdown": markdown()}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let first = peers.hook.wait_for(2, WAIT).await;
    assert!(first.len() >= 2, "retried after 503");
    peers.hook.set_status(200);
    let mut delivered = Value::Null;
    for _ in 0..300 {
        let log = app
            .admin("GET", &format!("/callbacks?service_id={service}"), None)
            .await;
        if log.body["items"][0]["status"] == "DELIVERED" {
            delivered = log.body["items"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered["status"], "DELIVERED", "never delivered");
    let all = peers.hook.requests();
    // One attempt per request that arrived, the failed ones included.
    assert!(all.len() >= 2, "retried after 503");
    assert_eq!(
        delivered["attempts"].as_i64().unwrap(),
        all.len() as i64,
        "{delivered}"
    );
    let last = verified(all.last().unwrap());
    assert_eq!(last["status"], "rejected");
    assert_eq!(last["reason"], "USER_NOT_FOUND");
    assert_eq!(last["message_id"], id.as_str());
    // Every attempt carries the same event id, so the ente can drop duplicates.
    let ids: Vec<Value> = all
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["event_id"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    // The delegate reads the same log.
    let log = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{service}/callback/deliveries"),
            None,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert_eq!(log.body["items"][0]["status"], "DELIVERED");
    app.finish().await;
}

async fn a_bad_callback_configuration_is_refused_and_changes_nothing(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn(backend, &peers, true).await;
    let manage = app.onboard().await;
    let (service, _) = app.service(&manage, json!({})).await;
    // A working configuration first: the refused one must leave it as it is.
    set_callback(&app, &manage, &service, "https://ente.example.it/hook").await;
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{service}/callback"),
            Some(&json!({"url": "ftp://ente.example.it/x", "secret": "short"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let fields: Vec<&str> = r.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "secret"], "{}", r.body);
    let r = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{service}/callback"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["configured"], true);
    assert_eq!(r.body["url"], "https://ente.example.it/hook");
    assert!(
        !r.text.contains(SECRET),
        "the secret is never shown: {}",
        r.text
    );
    app.finish().await;
}

async fn a_due_date_reminder_is_sent_before_the_due_date(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn_tuned(backend, &peers, true, |c| {
        c.reminder_lead = Some(Duration::from_secs(3_600));
    })
    .await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    validated_citizen(&app, &peers, json!({"is_webhook_enabled": false}), 0).await;
    // Due in a day: the reminder is for one hour before, 23 hours from now on the clock.
    let due = app.clock.now() + chrono::Duration::days(1);
    let due_text = messaging::content::format_timestamp(&due);
    // The message lives two days (IO's default is one hour), so the reminder is within it.
    let r = app
        .with_key(
            &key,
            "POST",
            &format!("/messages/{CITIZEN}"),
            Some(&json!({"time_to_live": 172_800, "content": {
                "subject": "Rata TARI in scadenza", "markdown": markdown(), "due_date": due_text}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mails = peers.smtp.wait_for(2, WAIT).await;
    assert!(
        !mails[1].subject.contains("Promemoria"),
        "{}",
        mails[1].subject
    );
    // Nothing before its time: 22 hours on, no reminder yet.
    app.clock.advance(chrono::Duration::hours(22));
    app.pass_leases().await;
    assert_eq!(
        peers.smtp.messages().len(),
        2,
        "no reminder before its time"
    );
    // Past its time (23 h), it goes out.
    app.clock.advance(chrono::Duration::hours(1));
    let mails = peers.smtp.wait_for(3, WAIT).await;
    assert!(
        mails[2].subject.contains("Promemoria"),
        "{}",
        mails[2].subject
    );
    assert!(
        mails[2].text.contains(&due.format("%d/%m/%Y").to_string()),
        "{}",
        mails[2].text
    );
    app.pass_leases().await;
    assert_eq!(peers.smtp.messages().len(), 3, "one reminder per channel");
    app.finish().await;
}

async fn a_reminder_is_not_sent_once_the_citizen_turned_the_channel_off(backend: Backend) {
    let peers = Peers::start().await;
    let app = spawn_tuned(backend, &peers, true, |c| {
        c.reminder_lead = Some(Duration::from_secs(3_600));
    })
    .await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let token = validated_citizen(&app, &peers, json!({"is_webhook_enabled": false}), 0).await;
    let due = app.clock.now() + chrono::Duration::days(1);
    let r = app
        .with_key(
            &key,
            "POST",
            &format!("/messages/{CITIZEN}"),
            Some(&json!({"time_to_live": 172_800, "content": {
                "subject": "Rata TARI in scadenza", "markdown": markdown(),
                "due_date": messaging::content::format_timestamp(&due)}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    peers.smtp.wait_for(2, WAIT).await;
    // Before the reminder is due, the citizen turns e-mail off.
    let profile = citizen(&app, &token, "GET", "/profile", None).await;
    let r = citizen(
        &app,
        &token,
        "PUT",
        "/profile",
        Some(&json!({"version": profile.body["version"], "is_email_enabled": false})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The reminder's time (23 h from now) comes, the due date (24 h) not yet.
    app.clock.advance(chrono::Duration::minutes(23 * 60 + 30));
    app.pass_leases().await;
    assert_eq!(
        peers.smtp.messages().len(),
        2,
        "no reminder after opting out"
    );
    let export = citizen(&app, &token, "GET", "/export", None).await;
    let reminder = export.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["purpose"] == "reminder")
        .cloned()
        .unwrap_or_else(|| panic!("no reminder in {}", export.body));
    assert_eq!(reminder["status"], "FAILED", "{reminder}");
    app.finish().await;
}

both_backends!(
    a_reminder_is_not_sent_once_the_citizen_turned_the_channel_off,
    the_whole_flow_reaches_inbox_mail_push_and_the_entes_callback,
    secure_channel_services_notify_without_content,
    mail_waits_while_the_smtp_server_is_down_and_arrives_when_it_returns,
    without_an_smtp_url_the_email_channel_is_off_and_says_so,
    sandbox_messages_are_mailed_to_the_organizations_delegates,
    a_failing_callback_endpoint_is_retried_until_it_answers,
    a_bad_callback_configuration_is_refused_and_changes_nothing,
    a_due_date_reminder_is_sent_before_the_due_date,
);
