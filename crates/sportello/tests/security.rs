//! Security properties over real HTTP on both backends: CSV exports that a spreadsheet cannot
//! run as formulas, and callback URLs that cannot reach the platform's own network (SSRF).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Backend, CITIZEN, TestApp, TestDb, markdown};
use kernel::values::Cidr;
use notify::testing::HttpReceiver;
use serde_json::{Value, json};

both_backends!(
    csv_exports_neutralise_cells_a_spreadsheet_would_run_as_formulas,
    callback_urls_to_internal_addresses_are_refused_when_configured,
    a_callback_host_that_resolves_to_an_internal_address_is_refused_when_sending,
);

const SECRET: &str = "ente-callback-secret-0123456789";
/// A code with no profile: messages to it are rejected, which sends a `rejected` event.
const NOBODY: &str = "BNCGPP80A01H501E";

async fn csv_exports_neutralise_cells_a_spreadsheet_would_run_as_formulas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let auth = format!("Bearer {}", app.session(CITIZEN).await);
    let r = app
        .request(
            "PUT",
            "/api/citizen/v1/profile",
            &[("authorization", &auth)],
            Some(&json!({"version": 0, "is_inbox_enabled": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let formula = r#"=HYPERLINK("http://evil.example","Paga qui")"#;
    let cases = [
        (formula.to_owned(), format!("@SUM(1+1) {}", markdown())),
        (
            "+39 0332 255111 Ufficio tributi".to_owned(),
            format!("-{}", markdown()),
        ),
        (
            "\tRata TARI in scadenza".to_owned(),
            format!("\r{}", markdown()),
        ),
    ];
    for (subject, md) in &cases {
        let r = app
            .send(&key, CITIZEN, json!({"subject": subject, "markdown": md}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(app.settled(&key, CITIZEN, &id).await["status"], "PROCESSED");
    }
    let csv = app
        .request(
            "GET",
            "/api/citizen/v1/export?format=csv",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    // Every cell is quoted; one that starts with = + - @ tab or CR gets a leading apostrophe,
    // which spreadsheets show as text instead of evaluating.
    assert!(
        csv.text
            .contains(r#""'=HYPERLINK(""http://evil.example"",""Paga qui"")""#),
        "{}",
        csv.text
    );
    assert!(!csv.text.contains(r#","=HYPERLINK"#), "{}", csv.text);
    assert!(csv.text.contains("\"'@SUM(1+1) "), "{}", csv.text);
    assert!(csv.text.contains("\"'+39 0332"), "{}", csv.text);
    assert!(csv.text.contains("\"'-Gentile"), "{}", csv.text);
    assert!(csv.text.contains("\"'\tRata TARI"), "{}", csv.text);
    assert!(csv.text.contains("\"'\rGentile"), "{}", csv.text);
    // Ordinary cells are unchanged.
    assert!(csv.text.contains("\"PROCESSED\",\"false\""), "{}", csv.text);
    // The JSON export is data, not a spreadsheet: it keeps the text exactly as sent.
    let doc = app
        .request(
            "GET",
            "/api/citizen/v1/export",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert!(
        doc.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"]["subject"] == formula),
        "{}",
        doc.body
    );
    app.finish().await;
}

async fn put_callback(app: &TestApp, manage: &str, service: &str, url: &str) -> common::Response {
    app.with_key(
        manage,
        "PUT",
        &format!("/manage/services/{service}/callback"),
        Some(&json!({"url": url, "secret": SECRET})),
    )
    .await
}

async fn callback_urls_to_internal_addresses_are_refused_when_configured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (service, _) = app.service(&manage, json!({})).await;
    for (url, kind) in [
        ("http://127.0.0.1:8080/hook", "a loopback address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "a link-local address",
        ),
        ("http://localhost:5432/", "a loopback address"),
        ("http://[::1]:6379/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]:5432/", "a loopback address"),
        ("http://2130706433:5432/", "a loopback address"),
        ("http://0.0.0.0:5432/", "an unspecified address"),
        ("http://[::]:5432/", "an unspecified address"),
        ("http://10.0.0.1/hook", "a private address"),
        ("http://192.168.1.1/hook", "a private address"),
        (
            "http://100.64.0.1/hook",
            "a shared (carrier-grade NAT) address",
        ),
        ("http://[fd00::1]/hook", "a unique-local address"),
        ("http://[fe80::1]/hook", "a link-local address"),
        ("http://224.0.0.1/hook", "a multicast address"),
        ("http://255.255.255.255/hook", "a broadcast address"),
    ] {
        let r = put_callback(&app, &manage, &service, url).await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        let params = r.body["invalid_params"].as_array().unwrap();
        assert_eq!(params.len(), 1, "{url}: {}", r.body);
        assert_eq!(params[0]["name"], "url", "{url}: {}", r.body);
        let reason = params[0]["reason"].as_str().unwrap();
        assert!(reason.contains(kind), "{url}: {reason}");
        assert!(
            reason.contains("SPORTELLO_OUTBOUND_ALLOW_CIDRS"),
            "{url}: {reason}"
        );
        // The answer names the kind of address, never the address or port it was given.
        for echoed in ["169.254", "127.0.0.1", "5432", "6379", "localhost"] {
            assert!(!r.text.contains(echoed), "{url}: {}", r.text);
        }
    }
    // Nothing was configured by any of them.
    let r = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{service}/callback"),
            None,
        )
        .await;
    assert_eq!(r.body["configured"], false, "{}", r.body);
    // A public name is accepted: what it resolves to is checked at every connection.
    let r = put_callback(&app, &manage, &service, "https://ente.example.it/hook").await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.finish().await;
}

/// Polls the admin delivery log of `service` until its newest delivery is final.
async fn final_delivery(app: &TestApp, service: &str) -> Value {
    for _ in 0..300 {
        let log = app
            .admin("GET", &format!("/callbacks?service_id={service}"), None)
            .await;
        assert_eq!(log.status, 200, "{}", log.body);
        let newest = &log.body["items"][0];
        if newest["status"] == "DELIVERED" || newest["status"] == "FAILED" {
            return newest.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the callback of {service} never reached a final state");
}

async fn rejected_message(app: &TestApp, key: &str) {
    let r = app
        .send(
            key,
            NOBODY,
            json!({"subject": "Avviso di scadenza TARI", "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.settled(key, NOBODY, &id).await["status"], "REJECTED");
}

async fn a_callback_host_that_resolves_to_an_internal_address_is_refused_when_sending(
    backend: Backend,
) {
    let hook = HttpReceiver::start().await;
    let port = hook.url("").rsplit(':').next().unwrap().to_owned();
    let closed_port = notify::testing::ClosedPort::new();
    let closed = closed_port.port();
    let tune = |allow: Vec<Cidr>| {
        move |c: &mut sportello::config::Config| {
            c.outbound_allow_cidrs = allow;
            c.job.max_attempts = 2;
            c.job.backoff_base_ms = 50;
        }
    };
    // An on-premises receiver: the operator allows the loopback network.
    let allowed = vec![
        Cidr::parse("127.0.0.0/8").unwrap(),
        Cidr::parse("::1").unwrap(),
    ];
    let app = TestApp::spawn_on(TestDb::new(backend).await, tune(allowed)).await;
    let manage = app.onboard().await;
    let recipients = json!({"authorized_recipients": [CITIZEN, NOBODY]});
    let (by_name, name_key) = app.service(&manage, recipients.clone()).await;
    let (by_literal, literal_key) = app.service(&manage, recipients.clone()).await;
    let (to_closed, closed_key) = app.service(&manage, recipients).await;
    for (service, url) in [
        (&by_name, format!("http://localhost:{port}/hook")),
        (&by_literal, format!("http://127.0.0.1:{port}/hook")),
        (&to_closed, format!("http://127.0.0.1:{closed}/hook")),
    ] {
        let r = put_callback(&app, &manage, service, &url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
    }
    // While allowed, the receiver gets its event by name.
    rejected_message(&app, &name_key).await;
    let delivered = final_delivery(&app, &by_name).await;
    assert_eq!(delivered["status"], "DELIVERED", "{delivered}");
    assert_eq!(hook.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    // A port where nothing listens: what the ente reads of it.
    rejected_message(&app, &closed_key).await;
    let unreachable = final_delivery(&app, &to_closed).await;
    assert_eq!(unreachable["status"], "FAILED", "{unreachable}");
    let db = app.stop().await;

    // The operator removes the allow-list. The URLs stay configured, and the check at
    // connection time refuses them: `localhost` through the resolver, 127.0.0.1 as a literal.
    let app = TestApp::spawn_on(db, tune(Vec::new())).await;
    rejected_message(&app, &name_key).await;
    rejected_message(&app, &literal_key).await;
    for service in [&by_name, &by_literal] {
        let refused = final_delivery(&app, service).await;
        assert_eq!(refused["status"], "FAILED", "{refused}");
        assert_eq!(
            refused["attempts"], 2,
            "retried like any unreachable endpoint: {refused}"
        );
        assert_eq!(refused["last_status_code"], Value::Null, "{refused}");
        // Refused by the policy reads exactly as a closed port does: the delivery log is no
        // scanner of the platform's network.
        assert_eq!(
            refused["last_error"], unreachable["last_error"],
            "{refused}"
        );
        let error = refused["last_error"].as_str().unwrap();
        for internal in ["127.0.0.1", "localhost", &port, "refused", "loopback"] {
            assert!(!error.contains(internal), "{error}");
        }
    }
    assert_eq!(
        hook.requests().len(),
        1,
        "nothing reached the receiver after the first event"
    );
    app.finish().await;
}
