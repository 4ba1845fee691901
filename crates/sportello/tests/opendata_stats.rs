//! The monthly private statistics of the platform's own data, on both backends: messages sent
//! through the API in November are counted with each citizen's cap, noised (here with a
//! uniform source of 0.5, which makes the geometric noise exactly 0, so the published figures
//! can be checked), thresholded, published as an open dataset whose description states the
//! method; a second run never draws again; a lost load is redone with the stored figures; an
//! exhausted budget stops releases; the admin route checks its input.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{Backend, CITIZEN, ORG, TestApp, TestDb};
use opendata::stats::Period;
use ops::opendata::OdContext;
use serde_json::{Value, json};

/// A second citizen (check character computed independently of the code under test).
const CITIZEN2: &str = "VRDGPP70A01F205V";

async fn send_processed(app: &TestApp, key: &str, to: &str) {
    let r = app
        .send(
            key,
            to,
            json!({"subject": "Avviso di scadenza TARI", "markdown": common::markdown()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let got = app.settled(key, to, &id).await;
    assert_eq!(got["status"], "PROCESSED", "{got}");
    // Strictly increasing creation times: the cap takes each citizen's earliest messages.
    app.clock.advance(Duration::seconds(1));
}

async fn release(
    app: &TestApp,
    store: &store::SqlStore,
    month: &str,
) -> ops::Result<Vec<ops::opendata_stats::StatOutcome>> {
    let cx = OdContext {
        store,
        clock: app.clock.as_ref(),
    };
    ops::opendata_stats::release_month(&cx, Period::parse(month).unwrap(), &mut || 0.5).await
}

fn outcome(
    results: &[ops::opendata_stats::StatOutcome],
    kind: opendata::stats::StatKind,
) -> &ops::opendata_stats::StatOutcome {
    results
        .iter()
        .find(|o| o.organization == ORG && o.kind == kind)
        .unwrap()
}

async fn monthly_message_statistics_are_capped_noised_once_and_published(backend: Backend) {
    let app = TestApp::spawn_on(TestDb::new(backend).await, |c| {
        c.opendata_statistics_every = None;
    })
    .await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 10, 9, 0, 0).unwrap());
    let manage = app.onboard().await;
    for fc in [CITIZEN, CITIZEN2] {
        app.citizen(json!({"fiscal_code": fc})).await;
    }
    let (s1, k1) = app
        .service(
            &manage,
            json!({"authorized_recipients": [CITIZEN, CITIZEN2]}),
        )
        .await;
    let (s2, k2) = app
        .service(
            &manage,
            json!({"name": "Servizi demografici", "authorized_recipients": [CITIZEN, CITIZEN2],
                   "metadata": {"scope": "LOCAL", "topic_id": 3,
                                "email": "anagrafe@comune.varese.it"}}),
        )
        .await;
    // CITIZEN: 12 messages of Tributi, 10 of them counted (the cap).
    for _ in 0..12 {
        send_processed(&app, &k1, CITIZEN).await;
    }
    // CITIZEN2: 3 of Tributi, then 9 of Servizi demografici: only the first 10 count, so
    // Tributi gets 3 more and Servizi demografici 7 (below the threshold of 10: suppressed).
    for _ in 0..3 {
        send_processed(&app, &k1, CITIZEN2).await;
    }
    for _ in 0..9 {
        send_processed(&app, &k2, CITIZEN2).await;
    }

    let store = sportello::app::open_store(&app.db.config(), false)
        .await
        .unwrap();
    // November is not over yet.
    let early = release(&app, &store, "2026-11").await;
    assert!(
        matches!(&early, Err(e) if e.to_string().contains("not over")),
        "{early:?}"
    );

    app.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap());
    let results = release(&app, &store, "2026-11").await.unwrap();
    let messages = outcome(&results, opendata::stats::StatKind::Messages);
    assert_eq!(messages.status, "released", "{results:?}");
    assert_eq!((messages.cells, messages.suppressed), (2, 1), "{results:?}");
    assert_eq!(messages.epsilon_spent, 1.0);
    // No debt position: nothing to count, no dataset.
    let payments = outcome(&results, opendata::stats::StatKind::Payments);
    assert_eq!(payments.status, "nothing-to-count", "{results:?}");
    assert!(payments.dataset_id.is_none());
    let dataset = messages.dataset_id.clone().unwrap();

    // Published, public, with the method in the description.
    let r = app
        .request(
            "GET",
            &format!("/api/opendata/v1/datasets/{dataset}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "published", "{}", r.body);
    let description = r.body["description"].as_str().unwrap();
    for needle in [
        "privacy differenziale",
        "ε = 1",
        "al più 10 volte",
        "spesi finora 1",
        "inferiori a 10 sono soppressi",
    ] {
        assert!(description.contains(needle), "{needle}: {description}");
    }
    assert_eq!(r.body["frequency"], "MONTHLY", "{}", r.body);
    let resource = r.body["resources"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["resources"][0]["personal_data"],
        json!([]),
        "{}",
        r.body
    );

    let rows = |app: &TestApp, resource: String| {
        let addr = app.addr;
        async move {
            let r = common::send(
                addr,
                "GET",
                &format!("/api/opendata/v1/resources/{resource}/download?format=json"),
                &[],
                None,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text);
            let rows: Vec<Value> = serde_json::from_str(&r.text).unwrap();
            rows.into_iter()
                .map(|mut row| {
                    row.as_object_mut().unwrap().remove("_id");
                    row
                })
                .collect::<Vec<_>>()
        }
    };
    let mut expected = vec![
        json!({"mese": "2026-11", "servizio_id": s1, "servizio": "Tributi",
               "argomento": messaging::topics::topic_name(11).unwrap(), "messaggi": 13}),
        json!({"mese": "2026-11", "servizio_id": s2, "servizio": "Servizi demografici",
               "argomento": messaging::topics::topic_name(3).unwrap(), "messaggi": null}),
    ];
    expected.sort_by_key(|v| v["servizio_id"].as_str().unwrap().to_owned());
    assert_eq!(rows(&app, resource.clone()).await, expected);

    // Again: the stored release stands, nothing drawn or spent again.
    let again = release(&app, &store, "2026-11").await.unwrap();
    let messages = outcome(&again, opendata::stats::StatKind::Messages);
    assert_eq!(messages.status, "already-released", "{again:?}");
    assert_eq!(messages.epsilon_spent, 1.0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'opendata.statistics.release'")
            .await,
        1
    );

    // A crash after storing the release and before loading it: the next run loads the same
    // figures (a new version of the same resource).
    app.db
        .count("UPDATE od_stat_releases SET loaded = 0 RETURNING 1")
        .await;
    let redo = release(&app, &store, "2026-11").await.unwrap();
    assert_eq!(
        outcome(&redo, opendata::stats::StatKind::Messages).status,
        "already-released"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM od_stat_releases WHERE loaded = 1")
            .await,
        1
    );
    let r = app
        .request(
            "GET",
            &format!("/api/opendata/v1/resources/{resource}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.body["version"], 2, "{}", r.body);
    assert_eq!(rows(&app, resource.clone()).await, expected);

    // A budget of one release: December cannot be released.
    app.db
        .count(
            "UPDATE od_stat_series SET policy = \
             '{\"epsilon\":1.0,\"budget\":1.0,\"threshold\":10,\"cap\":10}' RETURNING 1",
        )
        .await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 1, 3, 0, 0).unwrap());
    let december = release(&app, &store, "2026-12").await.unwrap();
    let messages = outcome(&december, opendata::stats::StatKind::Messages);
    assert_eq!(messages.status, "budget-exhausted", "{december:?}");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM od_stat_releases").await,
        1
    );

    // The operator's route: admin only, a month as YYYY-MM, the stored release again.
    let r = app
        .request(
            "POST",
            "/api/admin/v1/opendata/statistics?month=2026-11",
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    for bad in ["2026-13", "11-2026", "2026-11&x=1"] {
        let r = app
            .admin("POST", &format!("/opendata/statistics?month={bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    let r = app
        .admin("POST", "/opendata/statistics?month=2026-11", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["month"], "2026-11");
    let statuses: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "messages")
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["already-released"], "{}", r.body);
    assert_eq!(rows(&app, resource).await, expected);
    app.finish().await;
}

both_backends!(monthly_message_statistics_are_capped_noised_once_and_published);
