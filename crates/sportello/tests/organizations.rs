//! Delegates as audited variations, manage-key rotation and aggregators' mandates, on both
//! backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, ORG, TestApp};
use serde_json::json;

both_backends!(
    delegates_change_only_through_audited_variations_and_keys_rotate,
    an_aggregator_manages_only_the_services_it_holds_a_mandate_for,
);

const AGGREGATOR: &str = "80006470282";
const OTHER: &str = "00514490010";

async fn org(app: &TestApp, fc: &str, name: &str) {
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": fc, "name": name})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn delegates_change_only_through_audited_variations_and_keys_rotate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": ORG, "name": "Comune di Varese", "kind": "comune", "ipa_code": "c_l682"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/variations"),
            Some(&json!({"add": [
                {"email": "anna@comune.varese.it", "name": "Anna Bianchi", "fiscal_code": "BNCLRA70A41H501B", "role": "administrative"},
                {"email": "it@comune.varese.it", "role": "technical"}
            ]})),
        )
        .await;
    assert_eq!(v.status, 201, "{}", v.body);
    let added = v.body.as_array().unwrap();
    assert_eq!(added.len(), 2);
    let admin_key = added[0]["manage_key"].as_str().unwrap().to_owned();
    let tech_id = added[1]["id"].as_str().unwrap().to_owned();
    let tech_key = added[1]["manage_key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.with_key(&tech_key, "GET", "/manage/services", None)
            .await
            .status,
        200
    );

    // A variation with one bad entry changes nothing and names the field.
    let bad = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/variations"),
            Some(
                &json!({"add": [{"email": "ok@comune.varese.it"}, {"email": "x", "role": "boss"}]}),
            ),
        )
        .await;
    assert_eq!(bad.status, 400);
    let names: Vec<&str> = bad.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["add[1].email", "add[1].role"]);
    let list = app
        .admin("GET", &format!("/delegates?organization={ORG}"), None)
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);

    // Removing the technical delegate: its key stops working.
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/variations"),
            Some(&json!({"remove": [tech_id]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        app.with_key(&tech_key, "GET", "/manage/services", None)
            .await
            .status,
        403
    );

    // Rotation: the old manage key stops, the new one works.
    let ids = app.admin("GET", "/delegates", None).await;
    let admin_id = ids
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == "anna@comune.varese.it")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .admin("POST", &format!("/delegates/{admin_id}/rotate-key"), None)
        .await;
    assert_eq!(r.status, 200);
    let new_key = r.body["manage_key"].as_str().unwrap();
    assert_eq!(
        app.with_key(&admin_key, "GET", "/manage/services", None)
            .await
            .status,
        401
    );
    assert_eq!(
        app.with_key(new_key, "GET", "/manage/services", None)
            .await
            .status,
        200
    );

    let audit = app.admin("GET", "/audit", None).await;
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "delegate.rotate_key",
            "delegate.variation",
            "delegate.variation",
            "organization.create"
        ]
    );
    let orgs = app.admin("GET", "/organizations", None).await;
    assert_eq!(orgs.body[0]["kind"], "comune");
    app.finish().await;
}

async fn an_aggregator_manages_only_the_services_it_holds_a_mandate_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let varese = app.onboard().await;
    org(&app, AGGREGATOR, "Provincia di Padova").await;
    org(&app, OTHER, "Comune di Torino").await;
    let agg = app
        .admin(
            "POST",
            &format!("/organizations/{AGGREGATOR}/delegates"),
            Some(&json!({"email": "it@provincia.padova.it"})),
        )
        .await;
    let agg_key = agg.body["manage_key"].as_str().unwrap().to_owned();
    let (tributi, _) = app.service(&varese, json!({})).await;
    let (scuola, _) = app
        .service(&varese, json!({"name": "Servizi scolastici"}))
        .await;

    // No mandate: refused with the reason.
    let r = app
        .with_key(
            &agg_key,
            "GET",
            &format!("/manage/services/{tributi}"),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body["detail"].as_str().unwrap().contains("mandate"));

    // A mandate for one service.
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{AGGREGATOR}/mandates"),
            Some(&json!({"organization": ORG, "service_id": tributi})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        app.with_key(
            &agg_key,
            "GET",
            &format!("/manage/services/{tributi}"),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.with_key(
            &agg_key,
            "GET",
            &format!("/manage/services/{tributi}/keys"),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.with_key(&agg_key, "GET", &format!("/manage/services/{scuola}"), None)
            .await
            .status,
        403
    );
    let create = app
        .with_key(
            &agg_key,
            "POST",
            "/manage/services",
            Some(&common::service_payload()),
        )
        .await;
    assert_eq!(
        create.status, 403,
        "creating needs a mandate for all services"
    );
    let list = app
        .with_key(
            &agg_key,
            "GET",
            &format!("/manage/services?organization={ORG}"),
            None,
        )
        .await;
    assert_eq!(list.status, 403);

    // A mandate for every service of the organization.
    app.admin(
        "POST",
        &format!("/organizations/{AGGREGATOR}/mandates"),
        Some(&json!({"organization": ORG})),
    )
    .await;
    assert_eq!(
        app.with_key(&agg_key, "GET", &format!("/manage/services/{scuola}"), None)
            .await
            .status,
        200
    );
    let create = app
        .with_key(
            &agg_key,
            "POST",
            "/manage/services",
            Some(&common::service_payload()),
        )
        .await;
    assert_eq!(create.status, 201, "{}", create.body);
    let list = app
        .with_key(
            &agg_key,
            "GET",
            &format!("/manage/services?organization={ORG}"),
            None,
        )
        .await;
    assert_eq!(list.body["pagination"]["count"], 3);
    // Still nothing over an organization it holds no mandate for.
    let mut torino = common::service_payload();
    torino["organization"] = json!({"name": "Comune di Torino", "fiscal_code": OTHER});
    assert_eq!(
        app.with_key(&agg_key, "POST", "/manage/services", Some(&torino))
            .await
            .status,
        403
    );
    let mandates = app
        .admin(
            "GET",
            &format!("/organizations/{AGGREGATOR}/mandates"),
            None,
        )
        .await;
    assert_eq!(mandates.body.as_array().unwrap().len(), 2);
    let bad = app
        .admin(
            "POST",
            &format!("/organizations/{AGGREGATOR}/mandates"),
            Some(&json!({"organization": AGGREGATOR})),
        )
        .await;
    assert_eq!(bad.status, 400);
    app.finish().await;
}
