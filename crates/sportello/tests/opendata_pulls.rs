//! Scheduled pulls of open-data resources from a URL, on both backends, against a real local
//! HTTP server (axum on loopback, allowed by the test's outbound policy): the first fetch loads
//! at once; a changed file is loaded as a new version when the period has passed (the clock is
//! advanced, not waited for); an unchanged one is skipped; a failing server or an unknown
//! media type leaves the published version as it was and is retried within the hour; bad
//! pulls are refused with the field named; only editors see and remove pulls.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Duration;
use common::{Backend, ORG, TestApp, TestDb};
use serde_json::{Value, json};

/// What the file server answers, and how many GETs it had.
#[derive(Clone)]
struct Served {
    answer: Arc<Mutex<(u16, &'static str, String)>>,
    hits: Arc<Mutex<u32>>,
}

impl Served {
    fn set(&self, status: u16, content_type: &'static str, body: &str) {
        *self.answer.lock().unwrap() = (status, content_type, body.to_owned());
    }

    fn hits(&self) -> u32 {
        *self.hits.lock().unwrap()
    }
}

async fn file_server() -> (String, Served) {
    let served = Served {
        answer: Arc::new(Mutex::new((200, "text/csv", String::new()))),
        hits: Arc::default(),
    };
    let s = served.clone();
    let app = axum::Router::new().route(
        "/dati.csv",
        axum::routing::get(move || {
            let s = s.clone();
            async move {
                *s.hits.lock().unwrap() += 1;
                let (status, ct, body) = s.answer.lock().unwrap().clone();
                (
                    StatusCode::from_u16(status).unwrap(),
                    [(header::CONTENT_TYPE, ct)],
                    body,
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/dati.csv"), served)
}

async fn call(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> common::Response {
    app.request(
        method,
        path,
        &[("ocp-apim-subscription-key", key)],
        body.as_ref(),
    )
    .await
}

/// The pull, polled until the background loop has run it once (the loop is woken when the
/// pull is created).
async fn first_run(app: &TestApp, key: &str, dataset: &str) -> Value {
    for _ in 0..200 {
        let r = call(
            app,
            key,
            "GET",
            &format!("/api/opendata/v1/datasets/{dataset}/pulls"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let p = r.body["items"][0].clone();
        if !p["last_status"].is_null() {
            return p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the pull did not run within 10 s");
}

async fn run_now(app: &TestApp) -> Vec<Value> {
    let r = app.admin("POST", "/opendata/pulls/run", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["results"].as_array().unwrap().clone()
}

/// A resource of the (draft) dataset, as its editor sees it.
async fn resource(app: &TestApp, key: &str, id: &str) -> Value {
    let r = call(
        app,
        key,
        "GET",
        &format!("/api/opendata/v1/resources/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn a_pulled_resource_follows_its_url(backend: Backend) {
    let app = TestApp::spawn_on(TestDb::new(backend).await, |c| {
        c.outbound_allow_cidrs = vec![kernel::values::Cidr::parse("127.0.0.0/8").unwrap()];
        c.opendata_statistics_every = None;
    })
    .await;
    let key = app.onboard().await;
    let r = call(
        &app,
        &key,
        "POST",
        &format!("/api/opendata/v1/organizations/{ORG}/datasets"),
        Some(
            json!({"title": "Valori", "description": "Valori annuali.", "themes": ["GOVE"],
                    "frequency": "DAILY", "license": "A21_CCBY40"}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let dataset = r.body["id"].as_str().unwrap().to_owned();
    let (url, served) = file_server().await;
    served.set(200, "text/csv", "anno,valore\n2024,1\n2025,2\n");
    let pulls = format!("/api/opendata/v1/datasets/{dataset}/pulls");

    // Bad pulls: the field named, nothing stored, nothing fetched.
    for (body, field) in [
        (json!({"url": "ftp://127.0.0.1/x.csv"}), "url"),
        (json!({"url": "http://user:pw@127.0.0.1/x.csv"}), "url"),
        (json!({"url": "http://10.1.2.3/x.csv"}), "url"),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data"}),
            "url",
        ),
        (json!({"url": url, "every_hours": 0}), "every_hours"),
        (json!({"url": url, "format": "PDF"}), "format"),
        (json!({"url": url, "cron": "* * *"}), "cron"),
    ] {
        let r = call(&app, &key, "POST", &pulls, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    assert_eq!(served.hits(), 0);

    let r = call(
        &app,
        &key,
        "POST",
        &pulls,
        Some(json!({"url": url, "name": "valori", "every_hours": 24})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pull = r.body["id"].as_str().unwrap().to_owned();
    let p = first_run(&app, &key, &dataset).await;
    assert_eq!(p["last_status"], "loaded", "{p}");
    let rid = p["resource_id"].as_str().unwrap().to_owned();
    let r1 = resource(&app, &key, &rid).await;
    assert_eq!(
        (r1["version"].clone(), r1["row_count"].clone()),
        (json!(1), json!(2)),
        "{r1}"
    );
    assert_eq!(r1["name"], "valori");
    assert_eq!(served.hits(), 1);

    // Not due yet: nothing fetched.
    assert!(run_now(&app).await.is_empty());
    assert_eq!(served.hits(), 1);

    // A day later, a changed file: a new version.
    served.set(
        200,
        "text/csv; charset=utf-8",
        "anno,valore\n2024,1\n2025,2\n2026,3\n",
    );
    app.clock.advance(Duration::hours(25));
    let done = run_now(&app).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["last_status"], "loaded", "{done:?}");
    let r2 = resource(&app, &key, &rid).await;
    assert_eq!(
        (r2["version"].clone(), r2["row_count"].clone()),
        (json!(2), json!(3)),
        "{r2}"
    );

    // The same file again: skipped.
    app.clock.advance(Duration::hours(25));
    let done = run_now(&app).await;
    assert_eq!(done[0]["last_status"], "unchanged", "{done:?}");
    assert_eq!(resource(&app, &key, &rid).await["version"], 2);
    assert_eq!(served.hits(), 3);

    // A failing server: the published version stays, retried within the hour.
    served.set(503, "text/plain", "down");
    app.clock.advance(Duration::hours(25));
    let done = run_now(&app).await;
    assert_eq!(done[0]["last_status"], "failed", "{done:?}");
    let error = done[0]["last_error"].as_str().unwrap();
    assert!(error.contains("HTTP 503"), "{error}");
    assert!(
        !error.contains("dati.csv"),
        "the error names no path: {error}"
    );
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(done[0]["last_at"].clone()).unwrap();
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(done[0]["next_at"].clone()).unwrap();
    assert_eq!(next - last, Duration::hours(1));
    assert_eq!(resource(&app, &key, &rid).await["version"], 2);

    // A media type that is not a table, and no format given: refused, nothing loaded.
    served.set(200, "application/octet-stream", "anno,valore\n2027,4\n");
    app.clock.advance(Duration::hours(2));
    let done = run_now(&app).await;
    assert_eq!(done[0]["last_status"], "failed", "{done:?}");
    assert!(
        done[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("Content-Type"),
        "{done:?}"
    );
    assert_eq!(resource(&app, &key, &rid).await["version"], 2);

    // Another ente's delegate neither sees nor removes the pull.
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": "15376371009", "name": "Provincia di Varese"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .admin(
            "POST",
            "/organizations/15376371009/delegates",
            Some(&json!({"email": "opendata@provincia.varese.it"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let other = r.body["manage_key"].as_str().unwrap().to_owned();
    let r = call(&app, &other, "GET", &pulls, None).await;
    assert!(matches!(r.status, 403 | 404), "{}", r.text);
    let r = call(
        &app,
        &other,
        "DELETE",
        &format!("/api/opendata/v1/pulls/{pull}"),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);

    let r = call(
        &app,
        &key,
        "DELETE",
        &format!("/api/opendata/v1/pulls/{pull}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = call(&app, &key, "GET", &pulls, None).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    assert_eq!(
        resource(&app, &key, &rid).await["version"],
        2,
        "the resource stays"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'opendata.pull.%'")
            .await,
        2
    );
    app.finish().await;
}

both_backends!(a_pulled_resource_follows_its_url);
