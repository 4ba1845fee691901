//! The publication workflow end to end on both backends: quality checks on submit, fix and
//! resubmit, operator review, publication reaching every citizen, unpublish, history, audit.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::{Backend, CITIZEN, ORG, TestApp, markdown};
use serde_json::{Value, json};

both_backends!(
    a_service_goes_from_rejected_to_published_and_back_with_history_and_audit,
    an_operator_can_reject_with_a_reason_and_illegal_transitions_are_conflicts,
);

fn png(size: u32, rgba: [u8; 4]) -> String {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size, size);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..size * size).flat_map(|_| rgba).collect();
        w.write_image_data(&data).unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}

async fn comune(app: &TestApp) -> String {
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": ORG, "name": "Comune di Varese", "kind": "comune"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["kind"], "comune");
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/delegates"),
            Some(&json!({"email": "tributi@comune.varese.it"})),
        )
        .await;
    r.body["manage_key"].as_str().unwrap().to_owned()
}

fn good_card() -> Value {
    json!({
        "name": "Tributi comunali",
        "description": "Avvisi e pagamenti dei tributi del Comune di Varese: TARI, IMU e canone unico.",
        "organization": {"name": "Comune di Varese", "fiscal_code": ORG},
        "authorized_recipients": [],
        "authorized_cidrs": ["127.0.0.1/32", "::1"],
        "max_allowed_payment_amount": 1_000_000,
        "metadata": {"scope": "LOCAL", "topic_id": 11,
            "privacy_url": "https://www.comune.varese.it/privacy",
            "email": "tributi@comune.varese.it", "phone": "+39 0332 255111"}
    })
}

fn reason(v: &Value) -> String {
    v["status"]["reason"].as_str().unwrap_or("").to_owned()
}

async fn a_service_goes_from_rejected_to_published_and_back_with_history_and_audit(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = comune(&app).await;
    // A poor card: capitals, national scope, no privacy URL, no contact, no CIDR, no logo.
    let mut card = good_card();
    card["name"] = json!("TRIBUTI COMUNALI");
    card["authorized_cidrs"] = json!([]);
    card["metadata"] = json!({"scope": "NATIONAL", "topic_id": 11});
    let r = app
        .with_key(&manage, "POST", "/manage/services", Some(&card))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let keys = app
        .with_key(&manage, "GET", &format!("/manage/services/{id}/keys"), None)
        .await;
    let key = keys.body["primary_key"].as_str().unwrap().to_owned();
    let service = format!("/manage/services/{id}");

    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("{service}/review"),
            Some(&json!({"auto_publish": true})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["status"]["value"], "rejected");
    let why = reason(&got.body);
    for field in [
        "name:",
        "metadata.scope:",
        "metadata.privacy_url:",
        "metadata:",
        "authorized_cidrs:",
        "organization.logo:",
    ] {
        assert!(why.contains(field), "{field} in {why}");
    }
    // Italian and English both.
    assert!(why.contains(" / "), "{why}");

    // Resubmitting without an edit is refused.
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("{service}/review"),
            Some(&json!({"auto_publish": true})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("rejected"));

    // A logo of the wrong size is still rejected on submit.
    let r = app
        .with_key(
            &key,
            "PUT",
            &format!("/organizations/{ORG}/logo"),
            Some(&json!({"logo": png(100, [0, 0, 0, 0])})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = app
        .with_key(&manage, "PUT", &service, Some(&good_card()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"]["value"], "draft");
    app.with_key(
        &manage,
        "PUT",
        &format!("{service}/review"),
        Some(&json!({"auto_publish": true})),
    )
    .await;
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["status"]["value"], "rejected");
    let why = reason(&got.body);
    assert!(why.contains("300"), "{why}");
    assert!(
        !why.contains("metadata.privacy_url"),
        "fixed fields no longer reported: {why}"
    );
    let not_png = app
        .with_key(
            &key,
            "PUT",
            &format!("/organizations/{ORG}/logo"),
            Some(&json!({"logo": "aGVsbG8="})),
        )
        .await;
    assert_eq!(not_png.status, 400);

    // A proper logo, an edit, a submit: now it waits for an operator.
    let r = app
        .with_key(
            &key,
            "PUT",
            &format!("/organizations/{ORG}/logo"),
            Some(&json!({"logo": png(300, [0, 0, 0, 0])})),
        )
        .await;
    assert_eq!(r.status, 202);
    app.with_key(&manage, "PUT", &service, Some(&good_card()))
        .await;
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("{service}/review"),
            Some(&json!({"auto_publish": true})),
        )
        .await;
    assert_eq!(r.status, 204);
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["status"]["value"], "submitted", "{}", got.body);
    assert_eq!(
        app.with_key(&manage, "PUT", &service, Some(&good_card()))
            .await
            .status,
        409
    );
    assert_eq!(
        app.with_key(&manage, "DELETE", &service, None).await.status,
        409
    );
    // Not published yet: a citizen outside the authorized recipients is out of reach.
    app.citizen(json!({"fiscal_code": CITIZEN})).await;
    let body = json!({"subject": "Benvenuto nel servizio", "markdown": markdown()});
    assert_eq!(app.send(&key, CITIZEN, body.clone()).await.status, 403);

    let pending = app.admin("GET", "/reviews", None).await;
    assert_eq!(pending.body.as_array().unwrap().len(), 1);
    assert_eq!(pending.body[0]["service"]["id"], id.as_str());
    assert_eq!(pending.body[0]["auto_publish"], true);
    let r = app
        .admin("POST", &format!("/reviews/{id}/approve"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"]["value"], "approved");

    // Approved with auto_publish: published, reaches every citizen who has not opted out.
    let published = app
        .with_key(&manage, "GET", &format!("{service}/release"), None)
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let r = app.send(&key, CITIZEN, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = app
        .settled(&key, CITIZEN, r.body["id"].as_str().unwrap())
        .await;
    assert_eq!(got["status"], "PROCESSED");

    // Unpublish (paused): back to authorized recipients only; publish again.
    assert_eq!(
        app.with_key(&manage, "DELETE", &format!("{service}/release"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.with_key(&manage, "GET", &format!("{service}/release"), None)
            .await
            .status,
        404
    );
    assert_eq!(app.send(&key, CITIZEN, body.clone()).await.status, 403);
    assert_eq!(
        app.with_key(&manage, "DELETE", &format!("{service}/release"), None)
            .await
            .status,
        409
    );
    assert_eq!(
        app.with_key(&manage, "POST", &format!("{service}/release"), None)
            .await
            .status,
        204
    );
    assert_eq!(app.send(&key, CITIZEN, body).await.status, 201);

    // History, oldest first, two by two with a continuation token.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let q = match &token {
            Some(t) => format!("{service}/history?order=ASC&limit=2&continuationToken={t}"),
            None => format!("{service}/history?order=ASC&limit=2"),
        };
        let page = app.with_key(&manage, "GET", &q, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(format!(
                "{}:{}",
                item["status"]["kind"].as_str().unwrap(),
                item["status"]["value"].as_str().unwrap()
            ));
        }
        match page.body["continuationToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "lifecycle:submitted",
            "lifecycle:rejected",
            "lifecycle:draft",
            "lifecycle:submitted",
            "lifecycle:rejected",
            "lifecycle:draft",
            "lifecycle:submitted",
            "lifecycle:approved",
            "publication:published",
            "publication:unpublished",
            "publication:published",
        ]
    );
    let newest = app
        .with_key(&manage, "GET", &format!("{service}/history?limit=1"), None)
        .await;
    assert_eq!(newest.body["items"][0]["status"]["value"], "published");

    // The audit log has every step, newest first.
    let audit = app.admin("GET", "/audit?limit=100", None).await;
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "service.submit",
        "service.edit",
        "organization.logo",
        "service.approve",
        "service.unpublish",
        "service.publish",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert_eq!(actions[0], "service.publish");
    app.finish().await;
}

async fn an_operator_can_reject_with_a_reason_and_illegal_transitions_are_conflicts(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = comune(&app).await;
    let r = app
        .with_key(&manage, "POST", "/manage/services", Some(&good_card()))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let keys = app
        .with_key(&manage, "GET", &format!("/manage/services/{id}/keys"), None)
        .await;
    let key = keys.body["primary_key"].as_str().unwrap().to_owned();
    app.with_key(
        &key,
        "PUT",
        &format!("/organizations/{ORG}/logo"),
        Some(&json!({"logo": png(300, [255, 255, 255, 255])})),
    )
    .await;
    let service = format!("/manage/services/{id}");
    // Publishing a service never approved is a conflict.
    let r = app
        .with_key(&manage, "POST", &format!("{service}/release"), None)
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        app.admin("POST", &format!("/reviews/{id}/approve"), None)
            .await
            .status,
        409,
        "not submitted"
    );
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("{service}/review"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 400, "auto_publish is required");
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("{service}/review"),
            Some(&json!({"auto_publish": false})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.admin(
            "POST",
            &format!("/reviews/{id}/reject"),
            Some(&json!({"reason": "   "}))
        )
        .await
        .status,
        400
    );
    let r = app
        .admin(
            "POST",
            &format!("/reviews/{id}/reject"),
            Some(&json!({"reason": "La descrizione non spiega il servizio"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"]["value"], "rejected");
    assert_eq!(
        r.body["status"]["reason"],
        "La descrizione non spiega il servizio"
    );
    assert!(
        app.admin("GET", "/reviews", None)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Delete from rejected is allowed; the deleted service is gone and its keys stop working.
    assert_eq!(
        app.with_key(&manage, "DELETE", &service, None).await.status,
        204
    );
    assert_eq!(
        app.with_key(&manage, "GET", &service, None).await.status,
        404
    );
    assert_eq!(
        app.with_key(&key, "GET", "/profiles/AAAAAA00A00A000A", None)
            .await
            .status,
        403
    );
    app.finish().await;
}
