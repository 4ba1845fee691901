//! End-to-end tests of the IO-compatible Services API over real HTTP, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, CITIZEN, SANDBOX, TestApp, markdown};
use serde_json::json;

both_backends!(
    the_full_flow_from_onboarding_to_processed_and_rejected_messages,
    a_draft_service_cannot_message_a_citizen_outside_its_authorized_recipients,
    a_payment_above_the_service_maximum_is_refused_and_changes_nothing,
    a_repeated_idempotency_key_returns_the_same_message_and_refuses_another_body,
    a_service_reads_only_its_own_messages,
    keys_are_checked_and_regenerating_one_keeps_the_other_working,
    malformed_messages_get_a_problem_listing_every_field_at_fault,
    a_client_outside_the_authorized_cidrs_is_refused,
    profiles_follow_the_sender_allowed_rules,
    services_are_managed_only_by_their_own_organization,
);

async fn the_full_flow_from_onboarding_to_processed_and_rejected_messages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let nobody = "BNCLRA70A41H501B"; // authorized but without a profile
    let (_, key) = app
        .service(&manage, json!({"authorized_recipients": [CITIZEN, nobody]}))
        .await;
    app.citizen(json!({"fiscal_code": CITIZEN, "email": "mario@example.org"}))
        .await;

    let profile = app
        .with_key(&key, "GET", &format!("/profiles/{CITIZEN}"), None)
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.body["sender_allowed"], true);

    // Plain message, code in the path.
    let plain = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
        )
        .await;
    assert_eq!(plain.status, 201, "{}", plain.body);
    let id = plain.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 26);
    assert_eq!(
        plain.headers["location"],
        format!("/api/v1/messages/{CITIZEN}/{id}").as_str()
    );
    let got = app.settled(&key, CITIZEN, id).await;
    assert_eq!(got["status"], "PROCESSED");
    assert_eq!(
        got["message"]["content"]["subject"],
        "Benvenuto nel servizio"
    );
    assert_eq!(got["message"]["fiscal_code"], CITIZEN);
    assert_eq!(got["message"]["feature_level_type"], "STANDARD");

    // With due date and payment data, code in the body.
    let r = app
        .with_key(
            &key,
            "POST",
            "/messages",
            Some(&json!({"fiscal_code": CITIZEN, "time_to_live": 7200,
                "feature_level_type": "ADVANCED",
                "content": {"subject": "Rata TARI in scadenza", "markdown": markdown(),
                    "due_date": "2026-12-31T00:00:00.000Z",
                    "payment_data": {"amount": 12345, "notice_number": "301000000000000144"}}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = app
        .settled(&key, CITIZEN, r.body["id"].as_str().unwrap())
        .await;
    assert_eq!(got["status"], "PROCESSED");
    let content = &got["message"]["content"];
    assert_eq!(content["due_date"], "2026-12-31T00:00:00.000Z");
    assert_eq!(content["payment_data"]["amount"], 12345);
    // The payee defaults to the service's organization, as IO does.
    assert_eq!(content["payment_data"]["payee"]["fiscal_code"], common::ORG);
    assert_eq!(got["message"]["time_to_live"], 7200);
    assert_eq!(got["read_status"], "UNREAD");
    assert_eq!(got["payment_status"], "NOT_PAID");

    // An authorized recipient without a profile: REJECTED.
    let r = app
        .send(
            &key,
            nobody,
            json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 201);
    let got = app
        .settled(&key, nobody, r.body["id"].as_str().unwrap())
        .await;
    assert_eq!(got["status"], "REJECTED");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM messages WHERE rejection_reason = 'USER_NOT_FOUND' \
                 AND fiscal_code = '{nobody}'"
            ))
            .await,
        1
    );
    // Two processed messages in the citizen's inbox, nothing for the rejected one.
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM inbox WHERE fiscal_code = '{CITIZEN}'"
            ))
            .await,
        2
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM inbox").await, 2);
    // Content is sealed at rest: the subject is nowhere in the stored bytes.
    assert_eq!(app.db.count("SELECT COUNT(*) FROM jobs").await, 0);
    app.finish().await;
}

async fn a_draft_service_cannot_message_a_citizen_outside_its_authorized_recipients(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app
        .service(&manage, json!({"authorized_recipients": []}))
        .await;
    app.citizen(json!({"fiscal_code": CITIZEN})).await;
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["title"], "Recipient forbidden");
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "problems are RFC 7807"
    );
    let p = app
        .with_key(&key, "GET", &format!("/profiles/{CITIZEN}"), None)
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 0);

    // The sandbox code is always reachable and is processed without an inbox.
    let r = app
        .send(
            &key,
            SANDBOX,
            json!({"subject": "Prova di invio", "markdown": markdown()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = app
        .settled(&key, SANDBOX, r.body["id"].as_str().unwrap())
        .await;
    assert_eq!(got["status"], "PROCESSED");
    assert_eq!(app.db.count("SELECT COUNT(*) FROM inbox").await, 0);
    app.finish().await;
}

async fn a_payment_above_the_service_maximum_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app
        .service(&manage, json!({"max_allowed_payment_amount": 10_000}))
        .await;
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Rata TARI in scadenza", "markdown": markdown(),
                "payment_data": {"amount": 10_001, "notice_number": "301000000000000144"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["invalid_params"][0]["name"],
        "content.payment_data.amount"
    );
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("The requested amount (10001 cents) exceeds the maximum allowed for this service (10000 cents)")
    );
    let ok = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Rata TARI in scadenza", "markdown": markdown(),
                "payment_data": {"amount": 10_000, "notice_number": "301000000000000144"}}),
        )
        .await;
    assert_eq!(ok.status, 201);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 1);
    app.finish().await;
}

async fn a_repeated_idempotency_key_returns_the_same_message_and_refuses_another_body(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let body = json!({"content": {"subject": "Benvenuto nel servizio", "markdown": markdown()}});
    let path = format!("/api/v1/messages/{CITIZEN}");
    let headers = [
        ("ocp-apim-subscription-key", key.as_str()),
        ("idempotency-key", "invio-2026-0001"),
    ];
    let first = app.request("POST", &path, &headers, Some(&body)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    // Concurrent and sequential replays all get the same id.
    let replays =
        futures_join((0..8).map(|_| app.request("POST", &path, &headers, Some(&body)))).await;
    for r in &replays {
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["id"], first.body["id"]);
    }
    let other = json!({"content": {"subject": "Un altro oggetto", "markdown": markdown()}});
    let r = app.request("POST", &path, &headers, Some(&other)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 1);
    // Another service may use the same key for its own message.
    let (_, key2) = app.service(&manage, json!({"name": "Scuola"})).await;
    let r = app
        .request(
            "POST",
            &path,
            &[
                ("ocp-apim-subscription-key", key2.as_str()),
                ("idempotency-key", "invio-2026-0001"),
            ],
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_ne!(r.body["id"], first.body["id"]);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 2);
    app.finish().await;
}

async fn futures_join<F: Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let handles: Vec<_> = futs.collect();
    // Poll all of them concurrently on this task.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    for r in results {
        out.extend(r);
    }
    out
}

async fn a_service_reads_only_its_own_messages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key1) = app.service(&manage, json!({})).await;
    let (_, key2) = app.service(&manage, json!({"name": "Scuola"})).await;
    let r = app
        .send(
            &key1,
            CITIZEN,
            json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    let other = app
        .with_key(&key2, "GET", &format!("/messages/{CITIZEN}/{id}"), None)
        .await;
    assert_eq!(other.status, 403, "{}", other.body);
    let wrong_code = app
        .with_key(&key1, "GET", &format!("/messages/{SANDBOX}/{id}"), None)
        .await;
    assert_eq!(wrong_code.status, 404);
    let unknown = app
        .with_key(
            &key1,
            "GET",
            &format!("/messages/{CITIZEN}/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["title"], "Message not found");
    app.finish().await;
}

async fn keys_are_checked_and_regenerating_one_keeps_the_other_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, primary) = app.service(&manage, json!({})).await;
    let path = format!("/profiles/{SANDBOX}");
    let missing = app
        .request("GET", &format!("/api/v1{path}"), &[], None)
        .await;
    assert_eq!(missing.status, 401);
    let unknown = app
        .with_key("00000000000000000000000000000000", "GET", &path, None)
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(app.with_key(&primary, "GET", &path, None).await.status, 200);

    let keys = app
        .with_key(&manage, "GET", &format!("/manage/services/{id}/keys"), None)
        .await;
    let secondary = keys.body["secondary_key"].as_str().unwrap().to_owned();
    let regenerated = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}/keys/primary"),
            None,
        )
        .await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.body);
    let new_primary = regenerated.body["primary_key"].as_str().unwrap();
    assert_ne!(new_primary, primary);
    assert_eq!(regenerated.body["secondary_key"], secondary.as_str());
    assert_eq!(app.with_key(&primary, "GET", &path, None).await.status, 401);
    assert_eq!(
        app.with_key(new_primary, "GET", &path, None).await.status,
        200
    );
    assert_eq!(
        app.with_key(&secondary, "GET", &path, None).await.status,
        200
    );
    let bad_type = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}/keys/tertiary"),
            None,
        )
        .await;
    assert_eq!(bad_type.status, 400);
    // Keys are stored hashed: no stored row holds a key in clear.
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM service_keys WHERE key_hash = '{secondary}'"
            ))
            .await,
        0
    );

    // A disabled organization's keys are refused with 403.
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{}/disable", common::ORG),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.with_key(&secondary, "GET", &path, None).await.status,
        403
    );
    assert_eq!(
        app.with_key(&manage, "GET", "/manage/services", None)
            .await
            .status,
        403
    );
    app.finish().await;
}

async fn malformed_messages_get_a_problem_listing_every_field_at_fault(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let cases = [
        // (path code, body, expected fields)
        (
            Some(CITIZEN),
            json!({"time_to_live": 60, "content": {"subject": "corto", "markdown": "breve",
                "payment_data": {"amount": 0, "notice_number": "301000000000000145"}}}),
            vec![
                "time_to_live",
                "content.subject",
                "content.markdown",
                "content.payment_data.amount",
                "content.payment_data.notice_number",
            ],
        ),
        (
            Some(CITIZEN),
            json!({"fiscal_code": CITIZEN, "content": {"subject": "Benvenuto nel servizio", "markdown": markdown()}}),
            vec!["fiscal_code"],
        ),
        (
            None,
            json!({"content": {"subject": "Benvenuto nel servizio", "markdown": markdown()}}),
            vec!["fiscal_code"],
        ),
        (
            // Wrong check character.
            Some("RSSMRA85T10A562T"),
            json!({"content": {"subject": "Benvenuto nel servizio", "markdown": markdown()}}),
            vec!["fiscal_code (path)"],
        ),
    ];
    for (code, body, expected) in cases {
        let path = match code {
            Some(c) => format!("/messages/{c}"),
            None => "/messages".to_owned(),
        };
        let r = app.with_key(&key, "POST", &path, Some(&body)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["title"], "Invalid message structure");
        let names: Vec<&str> = r.body["invalid_params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{}", r.body);
        // Reasons never echo the fiscal code back.
        assert!(!r.text.contains("RSSMRA85T10A562T"));
    }
    let r = app
        .request(
            "POST",
            &format!("/api/v1/messages/{CITIZEN}"),
            &[("ocp-apim-subscription-key", key.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let broken = common::send(
        app.addr,
        "POST",
        &format!("/api/v1/messages/{CITIZEN}"),
        &[("ocp-apim-subscription-key", key.as_str())],
        Some("{\"content\": ".to_owned()),
    )
    .await;
    assert_eq!(broken.status, 400);
    assert!(broken.body["detail"].as_str().unwrap().contains("line 1"));
    let huge = common::send(
        app.addr,
        "POST",
        &format!("/api/v1/messages/{CITIZEN}"),
        &[("ocp-apim-subscription-key", key.as_str())],
        Some(format!("{{\"pad\": \"{}\"}}", "x".repeat(300 * 1024))),
    )
    .await;
    assert_eq!(huge.status, 413);
    assert_eq!(huge.headers["content-type"], "application/problem+json");
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 0);
    app.finish().await;
}

async fn a_client_outside_the_authorized_cidrs_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, key) = app
        .service(
            &manage,
            json!({"authorized_cidrs": ["10.0.0.0/8", "2001:db8::/32"]}),
        )
        .await;
    let path = format!("/profiles/{SANDBOX}");
    let r = app.with_key(&key, "GET", &path, None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["title"], "You are not allowed here");
    // X-Forwarded-For is not believed from an untrusted peer.
    let spoofed = app
        .request(
            "GET",
            &format!("/api/v1{path}"),
            &[
                ("ocp-apim-subscription-key", &key),
                ("x-forwarded-for", "10.1.2.3"),
            ],
            None,
        )
        .await;
    assert_eq!(spoofed.status, 403);
    // A bare address means that host.
    let mut payload = common::service_payload();
    payload["authorized_cidrs"] = json!(["127.0.0.1"]);
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}"),
            Some(&payload),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["authorized_cidrs"], json!(["127.0.0.1/32"]));
    assert_eq!(app.with_key(&key, "GET", &path, None).await.status, 200);
    let db = app.stop().await;

    // Behind a trusted proxy, the forwarded address counts (IPv6 too).
    let app = TestApp::spawn_on(db, |c| {
        c.trusted_proxies = vec![kernel::values::Cidr::parse("127.0.0.1").unwrap()];
    })
    .await;
    payload["authorized_cidrs"] = json!(["2001:db8::/32"]);
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}"),
            Some(&payload),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let via = |xff: &'static str| {
        let key = key.clone();
        let app = &app;
        let path = path.clone();
        async move {
            app.request(
                "GET",
                &format!("/api/v1{path}"),
                &[
                    ("ocp-apim-subscription-key", &key),
                    ("x-forwarded-for", xff),
                ],
                None,
            )
            .await
            .status
        }
    };
    assert_eq!(via("2001:db8::7").await, 200);
    assert_eq!(via("2001:db8::7, 127.0.0.1").await, 200);
    assert_eq!(via("192.0.2.1").await, 403);
    assert_eq!(app.with_key(&key, "GET", &path, None).await.status, 403);
    app.finish().await;
}

async fn profiles_follow_the_sender_allowed_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let manual = "VRDGPP80A01F205X";
    let closed = "BNCLRA70A41H501B";
    let (_, key) = app
        .service(
            &manage,
            json!({"authorized_recipients": [CITIZEN, manual, closed]}),
        )
        .await;
    app.citizen(json!({"fiscal_code": manual, "preference_mode": "MANUAL"}))
        .await;
    app.citizen(json!({"fiscal_code": closed, "is_inbox_enabled": false}))
        .await;
    let unknown = app
        .with_key(
            &key,
            "POST",
            "/profiles",
            Some(&json!({"fiscal_code": CITIZEN})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["title"], "Profile not found");
    let r = app
        .with_key(
            &key,
            "POST",
            "/profiles",
            Some(&json!({"fiscal_code": manual})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["sender_allowed"], false);
    assert_eq!(
        app.with_key(&key, "GET", &format!("/profiles/{closed}"), None)
            .await
            .status,
        404
    );
    let bad = app
        .with_key(
            &key,
            "POST",
            "/profiles",
            Some(&json!({"fiscal_code": "rssmra85t10a562s"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    for code in [manual, closed] {
        let r = app
            .send(
                &key,
                code,
                json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
            )
            .await;
        let got = app
            .settled(&key, code, r.body["id"].as_str().unwrap())
            .await;
        assert_eq!(got["status"], "REJECTED");
    }
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM messages WHERE rejection_reason = 'SERVICE_NOT_ALLOWED'")
            .await,
        2
    );
    app.finish().await;
}

async fn services_are_managed_only_by_their_own_organization(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, _) = app.service(&manage, json!({})).await;
    // A second organization and delegate.
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": "80006470282", "name": "Provincia di Padova"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .admin(
            "POST",
            "/organizations/80006470282/delegates",
            Some(&json!({"email": "it@provincia.padova.it"})),
        )
        .await;
    let other = r.body["manage_key"].as_str().unwrap().to_owned();
    let r = app
        .with_key(&other, "GET", &format!("/manage/services/{id}"), None)
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .with_key(
            &other,
            "POST",
            "/manage/services",
            Some(&common::service_payload()),
        )
        .await;
    assert_eq!(r.status, 403, "creating for another organization");
    let list = app.with_key(&other, "GET", "/manage/services", None).await;
    assert_eq!(list.body["pagination"]["count"], 0);

    let (_, key) = app
        .service(&manage, json!({"name": "Servizi scolastici"}))
        .await;
    let topics = app
        .with_key(&key, "GET", "/manage/services/topics", None)
        .await;
    assert_eq!(topics.status, 200);
    assert!(
        topics.body["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == 3 && t["name"] == "Benessere sociale")
    );
    assert_eq!(
        app.with_key(&manage, "GET", "/manage/services/topics", None)
            .await
            .status,
        401,
        "topics take a service key, as on IO"
    );
    let list = app
        .with_key(&manage, "GET", "/manage/services?limit=1", None)
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["pagination"]["count"], 2);
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
    let second = app
        .with_key(&manage, "GET", "/manage/services?limit=1&offset=1", None)
        .await;
    assert_eq!(second.body["value"][0]["id"], id.as_str(), "newest first");
    assert_eq!(list.body["value"][0]["status"]["value"], "draft");
    let bad = app
        .with_key(&manage, "GET", "/manage/services?limit=500", None)
        .await;
    assert_eq!(bad.status, 400);

    let mut payload = common::service_payload();
    payload["name"] = json!("Tributi e tasse");
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}"),
            Some(&payload),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Tributi e tasse");
    let r = app
        .with_key(&manage, "DELETE", &format!("/manage/services/{id}"), None)
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .with_key(&manage, "GET", &format!("/manage/services/{id}"), None)
        .await;
    assert_eq!(r.status, 404);
    app.finish().await;
}
