//! The edges of the HTTP surface, over real HTTP on both backends: how the client address is
//! read behind proxies, case-insensitive media types and auth schemes, one normalised value
//! for a due date, and error fields that name what the caller sent.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN_TOKEN, Backend, CITIZEN, ORG, Response, TestApp, markdown};
use kernel::values::Cidr;
use serde_json::{Value, json};

both_backends!(
    forwarded_for_lines_are_one_list_so_a_client_cannot_choose_its_address,
    media_types_and_auth_schemes_are_case_insensitive,
    a_leap_second_due_date_is_one_normalised_value_for_the_ente_and_the_citizen,
    delegate_errors_name_the_fields_the_caller_sent,
);

fn invalid_names(r: &Response) -> Vec<String> {
    r.body["invalid_params"]
        .as_array()
        .unwrap_or_else(|| panic!("no invalid_params in {}", r.body))
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

fn message() -> Value {
    json!({"content": {"subject": "Avviso di scadenza TARI", "markdown": markdown()}})
}

async fn forwarded_for_lines_are_one_list_so_a_client_cannot_choose_its_address(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| {
        c.trusted_proxies = vec![Cidr::parse("127.0.0.1/32").unwrap()];
    })
    .await;
    let manage = app.onboard().await;
    let (_, key) = app
        .service(&manage, json!({"authorized_cidrs": ["10.0.0.0/8"]}))
        .await;
    let post = |xff: Vec<&'static str>| {
        let key = key.clone();
        let app = &app;
        async move {
            let body = message().to_string();
            let mut headers = vec![("ocp-apim-subscription-key", key.as_str())];
            headers.extend(xff.into_iter().map(|v| ("x-forwarded-for", v)));
            common::send(
                app.addr,
                "POST",
                &format!("/api/v1/messages/{CITIZEN}"),
                &headers,
                Some(body),
            )
            .await
        }
    };
    // The client is the right-most hop that is not a trusted proxy.
    let r = post(vec!["10.1.2.3"]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = post(vec!["10.1.2.3, 192.168.1.1"]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A proxy that appends its own header line (HAProxy `option forwardfor`) must not let
    // the client's line decide: the lines are one list, in order.
    let r = post(vec!["10.1.2.3", "192.168.1.1"]).await;
    assert_eq!(r.status, 403, "two lines: {}", r.body);
    let r = post(vec!["192.168.1.1", "10.1.2.3"]).await;
    assert_eq!(
        r.status, 201,
        "the last line is the nearest hop: {}",
        r.body
    );
    let r = post(vec!["10.1.2.3", "192.168.1.1, 127.0.0.1"]).await;
    assert_eq!(r.status, 403, "trusted hops are skipped: {}", r.body);
    app.finish().await;
}

async fn media_types_and_auth_schemes_are_case_insensitive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let path = format!("/api/v1/messages/{CITIZEN}");
    let body = message().to_string();
    for ct in [
        "APPLICATION/JSON",
        "Application/Json; Charset=UTF-8",
        "application/json ; charset=utf-8",
        "application/merge-patch+JSON",
    ] {
        let r = common::send(
            app.addr,
            "POST",
            &path,
            &[("ocp-apim-subscription-key", &key), ("content-type", ct)],
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 201, "{ct}: {}", r.body);
    }
    for ct in ["text/plain", "application/jsonp", "multipart/form-data"] {
        let r = common::send(
            app.addr,
            "POST",
            &path,
            &[("ocp-apim-subscription-key", &key), ("content-type", ct)],
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{ct}: {}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().contains("JSON"),
            "{}",
            r.body
        );
    }

    // Batch uploads and reports read their media types the same way.
    let csv = format!(
        "fiscal_code,subject,markdown\n{CITIZEN},Avviso di scadenza TARI,\"{}\"\n",
        markdown()
    );
    let r = common::send(
        app.addr,
        "POST",
        "/api/v1/batches",
        &[
            ("ocp-apim-subscription-key", &key),
            ("content-type", "TEXT/CSV"),
        ],
        Some(csv),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let report = common::send(
        app.addr,
        "GET",
        &format!("/api/v1/batches/{id}/report"),
        &[("ocp-apim-subscription-key", &key), ("accept", "TEXT/CSV")],
        None,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.headers["content-type"], "text/csv; charset=utf-8");

    // The admin API takes the bearer scheme in any case, like the citizen API.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let auth = format!("{scheme} {ADMIN_TOKEN}");
        let r = app
            .request(
                "GET",
                "/api/admin/v1/organizations",
                &[("authorization", &auth)],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
    for wrong in [
        format!("Basic {ADMIN_TOKEN}"),
        format!("Bearer{ADMIN_TOKEN}"),
        "bearer not-the-token-0123456789".to_owned(),
    ] {
        let r = app
            .request(
                "GET",
                "/api/admin/v1/organizations",
                &[("authorization", &wrong)],
                None,
            )
            .await;
        assert_eq!(r.status, 401, "{wrong}: {}", r.body);
    }
    app.finish().await;
}

async fn a_leap_second_due_date_is_one_normalised_value_for_the_ente_and_the_citizen(
    backend: Backend,
) {
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
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Rata TARI in scadenza", "markdown": markdown(),
                   "due_date": "2030-12-31T00:00:60Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let ente = app.settled(&key, CITIZEN, &id).await;
    assert_eq!(ente["status"], "PROCESSED", "{ente}");
    let normalised = "2030-12-31T00:01:00.000Z";
    assert_eq!(ente["message"]["content"]["due_date"], normalised, "{ente}");
    let inbox = app
        .request(
            "GET",
            "/api/citizen/v1/messages",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    assert_eq!(
        inbox.body["items"][0]["due_date"], normalised,
        "{}",
        inbox.body
    );
    let opened = app
        .request(
            "GET",
            &format!("/api/citizen/v1/messages/{id}"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(
        opened.body["content"]["due_date"], normalised,
        "{}",
        opened.body
    );
    // Sub-millisecond digits are cut the same way for both.
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Rata TARI in scadenza", "markdown": markdown(),
                   "due_date": "2030-06-30T10:00:00.123999+02:00"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let ente = app.settled(&key, CITIZEN, &id).await;
    assert_eq!(
        ente["message"]["content"]["due_date"], "2030-06-30T08:00:00.123Z",
        "{ente}"
    );
    app.finish().await;
}

async fn delegate_errors_name_the_fields_the_caller_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": ORG, "name": "Comune di Varese"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/delegates"),
            Some(&json!({"email": "not-an-email", "role": "boss", "fiscal_code": "X"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(invalid_names(&r), ["email", "fiscal_code", "role"]);
    // A variation is a list: there the index says which person is at fault.
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/variations"),
            Some(&json!({"add": [{"email": "a@comune.varese.it"}, {"email": "not-an-email"}]})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(invalid_names(&r), ["add[1].email"]);
    // Nothing was added by either.
    let r = app
        .admin("GET", &format!("/delegates?organization={ORG}"), None)
        .await;
    assert_eq!(r.body, json!([]), "{}", r.body);
    app.finish().await;
}
