//! The publication workflow end to end on both backends: quality checks on submit, fix and
//! resubmit, operator review, publication reaching every citizen, unpublish, history, audit.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, CITIZEN, ORG, TestApp, markdown, png};
use serde_json::{Value, json};

both_backends!(
    a_service_goes_from_rejected_to_published_and_back_with_history_and_audit,
    an_operator_can_reject_with_a_reason_and_illegal_transitions_are_conflicts,
    a_published_service_is_auto_approved_for_contact_changes_only,
    each_quality_rule_rejects_a_submission_with_its_reason,
    the_citizen_catalogue_lists_only_published_services,
    the_service_read_by_its_delegate_says_whether_it_is_published,
);

/// Creates, submits, approves (auto-publish) a good service; returns (id, key).
async fn published_service(app: &TestApp, manage: &str) -> (String, String) {
    let r = app
        .with_key(manage, "POST", "/manage/services", Some(&good_card()))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let keys = app
        .with_key(manage, "GET", &format!("/manage/services/{id}/keys"), None)
        .await;
    let key = keys.body["primary_key"].as_str().unwrap().to_owned();
    app.with_key(
        &key,
        "PUT",
        &format!("/organizations/{ORG}/logo"),
        Some(&json!({"logo": png(300, [0, 0, 0, 0])})),
    )
    .await;
    let r = app
        .with_key(
            manage,
            "PUT",
            &format!("/manage/services/{id}/review"),
            Some(&json!({"auto_publish": true})),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .admin("POST", &format!("/reviews/{id}/approve"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (id, key)
}

async fn a_published_service_is_auto_approved_for_contact_changes_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = comune(&app).await;
    let (id, _) = published_service(&app, &manage).await;
    let service = format!("/manage/services/{id}");
    // A new phone number: approved without an operator, still published.
    let mut card = good_card();
    card["metadata"]["phone"] = json!("+39 0332 255222");
    assert_eq!(
        app.with_key(&manage, "PUT", &service, Some(&card))
            .await
            .status,
        200
    );
    app.with_key(
        &manage,
        "PUT",
        &format!("{service}/review"),
        Some(&json!({"auto_publish": false})),
    )
    .await;
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["status"]["value"], "approved", "{}", got.body);
    assert_eq!(
        app.with_key(&manage, "GET", &format!("{service}/release"), None)
            .await
            .status,
        200
    );
    // A new name: an operator must look at it.
    card["name"] = json!("Tributi e tasse comunali");
    app.with_key(&manage, "PUT", &service, Some(&card)).await;
    app.with_key(
        &manage,
        "PUT",
        &format!("{service}/review"),
        Some(&json!({"auto_publish": false})),
    )
    .await;
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["status"]["value"], "submitted");
    let history = app
        .with_key(
            &manage,
            "GET",
            &format!("{service}/history?limit=100"),
            None,
        )
        .await;
    let actors: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"auto-approval"), "{actors:?}");
    app.finish().await;
}

async fn the_citizen_catalogue_lists_only_published_services(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = comune(&app).await;
    let empty = app
        .request("GET", "/api/citizen/v1/organizations", &[], None)
        .await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["count"], 0, "no published service yet");
    let (id, _) = published_service(&app, &manage).await;
    // A draft of the same organization stays out of the catalogue.
    let mut draft = good_card();
    draft["name"] = json!("Servizi scolastici");
    let d = app
        .with_key(&manage, "POST", "/manage/services", Some(&draft))
        .await;
    let draft_id = d.body["id"].as_str().unwrap().to_owned();

    let orgs = app
        .request(
            "GET",
            "/api/citizen/v1/organizations?search=varese",
            &[],
            None,
        )
        .await;
    assert_eq!(orgs.body["count"], 1, "{}", orgs.body);
    assert_eq!(orgs.body["items"][0]["name"], "Comune di Varese");
    let none = app
        .request(
            "GET",
            "/api/citizen/v1/organizations?search=milano",
            &[],
            None,
        )
        .await;
    assert_eq!(none.body["count"], 0);
    let wild = app
        .request("GET", "/api/citizen/v1/organizations?search=%25", &[], None)
        .await;
    assert_eq!(wild.body["count"], 0, "% is a literal, not a wildcard");
    let services = app
        .request(
            "GET",
            &format!("/api/citizen/v1/organizations/{ORG}/services"),
            &[],
            None,
        )
        .await;
    let ids: Vec<&str> = services.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let details = app
        .request("GET", &format!("/api/citizen/v1/services/{id}"), &[], None)
        .await;
    assert_eq!(details.status, 200, "{}", details.body);
    assert_eq!(
        details.body["contacts"]["email"],
        "tributi@comune.varese.it"
    );
    assert_eq!(details.body["topic"], "Tributi e pagamenti");
    let logo = app
        .request("GET", details.body["logo_url"].as_str().unwrap(), &[], None)
        .await;
    assert_eq!(logo.status, 200);
    assert_eq!(logo.headers["content-type"], "image/png");
    assert_eq!(
        app.request(
            "GET",
            &format!("/api/citizen/v1/services/{draft_id}"),
            &[],
            None
        )
        .await
        .status,
        404
    );

    let featured = app
        .request("GET", "/api/citizen/v1/services/featured", &[], None)
        .await;
    assert!(featured.body["items"].as_array().unwrap().is_empty());
    let r = app
        .admin(
            "PUT",
            &format!("/services/{id}/featured"),
            Some(&json!({"featured": true})),
        )
        .await;
    assert_eq!(r.status, 204);
    let featured = app
        .request("GET", "/api/citizen/v1/services/featured", &[], None)
        .await;
    assert_eq!(featured.body["items"][0]["id"], id.as_str());

    // An edit waiting for review is not shown to citizens: they see the approved card.
    let mut edited = good_card();
    edited["description"] =
        json!("Testo nuovo non ancora approvato dal gestore della piattaforma.");
    assert_eq!(
        app.with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}"),
            Some(&edited)
        )
        .await
        .status,
        200
    );
    let details = app
        .request("GET", &format!("/api/citizen/v1/services/{id}"), &[], None)
        .await;
    assert_eq!(details.body["description"], good_card()["description"]);
    let published = app
        .with_key(
            &manage,
            "GET",
            &format!("/manage/services/{id}/release"),
            None,
        )
        .await;
    assert_eq!(published.body["status"], "published");
    assert_eq!(published.body["description"], good_card()["description"]);

    // Unpublished: gone from the catalogue.
    app.with_key(
        &manage,
        "DELETE",
        &format!("/manage/services/{id}/release"),
        None,
    )
    .await;
    assert_eq!(
        app.request("GET", &format!("/api/citizen/v1/services/{id}"), &[], None)
            .await
            .status,
        404
    );
    assert_eq!(
        app.request("GET", "/api/citizen/v1/organizations", &[], None)
            .await
            .body["count"],
        0
    );
    app.finish().await;
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
    for expected in [
        "name [all_caps]",
        "metadata.scope [scope_not_local]",
        "metadata.privacy_url [missing]",
        "metadata [contact_missing]",
        "authorized_cidrs [missing]",
        "organization.logo [logo_missing]",
    ] {
        assert!(why.contains(expected), "{expected} in {why}");
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
    assert!(why.contains("organization.logo [logo_wrong_size]"), "{why}");
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

/// A change that breaks one rule of a good card.
type Mutation = Box<dyn Fn(&mut Value)>;

async fn each_quality_rule_rejects_a_submission_with_its_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = comune(&app).await;
    // A published sibling to collide with, and the organization logo in place.
    let (_, key) = published_service(&app, &manage).await;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "name [all_caps]",
            Box::new(|c| c["name"] = json!("PAGAMENTI ONLINE")),
        ),
        (
            "description [all_caps]",
            Box::new(|c| c["description"] = json!("AVVISI E PAGAMENTI DEI TRIBUTI COMUNALI")),
        ),
        (
            "metadata.privacy_url [missing]",
            Box::new(|c| {
                c["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("privacy_url")
                    .map(|_| ())
                    .unwrap_or(())
            }),
        ),
        (
            "metadata.privacy_url [invalid_url]",
            Box::new(|c| c["metadata"]["privacy_url"] = json!("www.comune.varese.it/privacy")),
        ),
        (
            "metadata.email [invalid_email]",
            Box::new(|c| c["metadata"]["email"] = json!("tributi(at)comune.varese.it")),
        ),
        (
            "metadata.phone [invalid_phone]",
            Box::new(|c| c["metadata"]["phone"] = json!("chiamaci")),
        ),
        (
            "metadata [contact_missing]",
            Box::new(|c| {
                let m = c["metadata"].as_object_mut().unwrap();
                m.remove("email");
                m.remove("phone");
            }),
        ),
        (
            "metadata.scope [scope_not_local]",
            Box::new(|c| c["metadata"]["scope"] = json!("NATIONAL")),
        ),
        (
            "authorized_cidrs [missing]",
            Box::new(|c| c["authorized_cidrs"] = json!([])),
        ),
        (
            "organization.name [organization_name_incomplete]",
            Box::new(|c| c["organization"]["name"] = json!("Varese")),
        ),
        (
            "name [duplicate_name]",
            Box::new(|c| c["name"] = json!("tributi  COMUNALI")),
        ),
    ];
    for (expected, mutate) in cases {
        let mut card = good_card();
        if expected != "name [duplicate_name]" {
            card["name"] = json!("Pagamenti online");
        }
        mutate(&mut card);
        let r = app
            .with_key(&manage, "POST", "/manage/services", Some(&card))
            .await;
        assert_eq!(r.status, 201, "{expected}: {}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let r = app
            .with_key(
                &manage,
                "PUT",
                &format!("/manage/services/{id}/review"),
                Some(&json!({"auto_publish": false})),
            )
            .await;
        assert_eq!(r.status, 204);
        let got = app
            .with_key(&manage, "GET", &format!("/manage/services/{id}"), None)
            .await;
        assert_eq!(got.body["status"]["value"], "rejected", "{expected}");
        let why = reason(&got.body);
        assert!(why.contains(expected), "{expected} in {why}");
        assert_eq!(
            why.lines().count(),
            1,
            "only the broken rule is reported: {why}"
        );
        app.with_key(&manage, "DELETE", &format!("/manage/services/{id}"), None)
            .await;
    }
    // A service logo must be a 300x300 PNG too.
    let r = app.with_key(&manage, "GET", "/manage/services", None).await;
    let id = r.body["value"][0]["id"].as_str().unwrap().to_owned();
    let small = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}/logo"),
            Some(&json!({"logo": png(64, [0, 0, 0, 0])})),
        )
        .await;
    assert_eq!(small.status, 400);
    let ok = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{id}/logo"),
            Some(&json!({"logo": png(300, [255, 255, 255, 0])})),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    let logo = app
        .request(
            "GET",
            &format!("/api/citizen/v1/services/{id}/logo"),
            &[],
            None,
        )
        .await;
    assert_eq!(logo.status, 200);
    let _ = key;
    app.finish().await;
}

async fn the_service_read_by_its_delegate_says_whether_it_is_published(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = comune(&app).await;
    let mut draft = good_card();
    draft["name"] = json!("Servizi scolastici");
    let r = app
        .with_key(&manage, "POST", "/manage/services", Some(&draft))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["publication"], "unpublished", "{}", r.body);
    // Approved with auto_publish: the lifecycle says `approved`, the publication `published`.
    let (id, _) = published_service(&app, &manage).await;
    let service = format!("/manage/services/{id}");
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["status"]["value"], "approved", "{}", got.body);
    assert_eq!(got.body["publication"], "published", "{}", got.body);
    let list = app.with_key(&manage, "GET", "/manage/services", None).await;
    let item = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(item["publication"], "published", "{item}");
    // Publishing again is refused, and says why.
    let again = app
        .with_key(&manage, "POST", &format!("{service}/release"), None)
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already published"),
        "{}",
        again.body
    );
    // Unpublished and published again: GET follows.
    let r = app
        .with_key(&manage, "DELETE", &format!("{service}/release"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["publication"], "unpublished", "{}", got.body);
    let r = app
        .with_key(&manage, "POST", &format!("{service}/release"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = app.with_key(&manage, "GET", &service, None).await;
    assert_eq!(got.body["publication"], "published", "{}", got.body);
    app.finish().await;
}
