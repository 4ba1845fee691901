//! Batches on both backends: uploads (NDJSON, CSV), per-line outcomes, idempotency, cancel,
//! quotas, and a kill in the middle that loses and duplicates nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ADMIN_TOKEN, Backend, CITIZEN, ORG, SANDBOX, TestApp, TestDb, markdown};
use serde_json::{Value, json};

both_backends!(
    a_batch_processes_good_lines_and_reports_each_bad_one_with_its_reason,
    a_csv_batch_with_multiline_fields_is_accepted_and_reported_as_csv,
    an_undecodable_upload_is_refused_at_once_and_a_replayed_key_creates_nothing,
    a_cancelled_batch_stops_and_reports_the_rest_as_cancelled,
    a_batch_beyond_the_quota_rejects_the_rows_that_do_not_fit,
    a_batch_killed_mid_way_resumes_and_every_line_gets_exactly_one_outcome,
);

async fn upload(
    app: &TestApp,
    key: &str,
    content_type: &str,
    body: String,
    idem: Option<&str>,
) -> common::Response {
    let mut headers = vec![
        ("ocp-apim-subscription-key", key),
        ("content-type", content_type),
    ];
    if let Some(k) = idem {
        headers.push(("idempotency-key", k));
    }
    common::send(app.addr, "POST", "/api/v1/batches", &headers, Some(body)).await
}

async fn finished(app: &TestApp, key: &str, id: &str) -> Value {
    for _ in 0..400 {
        let r = app
            .with_key(key, "GET", &format!("/batches/{id}"), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] != "RUNNING" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batch {id} still running");
}

fn line(fc: &str, subject: &str) -> String {
    json!({"fiscal_code": fc, "content": {"subject": subject, "markdown": markdown()}}).to_string()
}

async fn report(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let r = app
        .with_key(key, "GET", &format!("/batches/{id}/report"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    r.text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn a_batch_processes_good_lines_and_reports_each_bad_one_with_its_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    app.citizen(json!({"fiscal_code": CITIZEN})).await;
    let body = [
        line(CITIZEN, "Primo avviso del servizio"),
        "{not json".to_owned(),
        line(CITIZEN, "corto"),
        line(SANDBOX, "Prova per il sandbox"),
        String::new(),
        line("VRDGPP80A01F205X", "Destinatario non autorizzato"),
    ]
    .join("\n");
    let r = upload(&app, &key, "application/x-ndjson", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &id).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(
        (
            done["total"].as_i64(),
            done["accepted"].as_i64(),
            done["rejected"].as_i64()
        ),
        (Some(5), Some(2), Some(3))
    );
    let rows = report(&app, &key, &id).await;
    let lines: Vec<i64> = rows.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 3, 4, 6], "blank line 5 skipped, numbers kept");
    assert_eq!(rows[0]["outcome"], "accepted");
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        rows[2]["reason"]
            .as_str()
            .unwrap()
            .contains("content.subject")
    );
    assert_eq!(rows[3]["outcome"], "accepted");
    assert!(
        rows[4]["reason"]
            .as_str()
            .unwrap()
            .contains("recipient forbidden")
    );
    // Each accepted line is a normal message.
    let mid = rows[0]["message_id"].as_str().unwrap();
    let got = app.settled(&key, CITIZEN, mid).await;
    assert_eq!(got["status"], "PROCESSED");
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 2);
    for _ in 0..100 {
        if finished(&app, &key, &id).await["processed"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(finished(&app, &key, &id).await["processed"], 2);
    // Sealed bodies are cleared once a line has its outcome.
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM batch_rows WHERE body IS NOT NULL")
            .await,
        0
    );
    // Another service cannot read the batch.
    let (_, other) = app.service(&manage, json!({"name": "Scuola"})).await;
    assert_eq!(
        app.with_key(&other, "GET", &format!("/batches/{id}"), None)
            .await
            .status,
        403
    );
    app.finish().await;
}

async fn a_csv_batch_with_multiline_fields_is_accepted_and_reported_as_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app
        .service(&manage, json!({"max_allowed_payment_amount": 100000}))
        .await;
    app.citizen(json!({"fiscal_code": CITIZEN})).await;
    let md = markdown().replace(':', ":\n");
    let body = format!(
        "fiscal_code,subject,markdown,amount,notice_number\r\n{CITIZEN},Rata TARI in scadenza,\"{md}\",12345,301000000000000144\r\n{CITIZEN},Rata TARI troppo alta,\"{md}\",200000,301000000000000144\r\n"
    );
    let r = upload(&app, &key, "text/csv", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &id).await;
    assert_eq!(
        (done["accepted"].as_i64(), done["rejected"].as_i64()),
        (Some(1), Some(1))
    );
    let csv = app
        .request(
            "GET",
            &format!("/api/v1/batches/{id}/report?format=csv"),
            &[("ocp-apim-subscription-key", &key)],
            None,
        )
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "line,outcome,message_id,reason");
    assert!(lines[1].starts_with("2,accepted,"), "{}", csv.text);
    assert!(
        lines[2].starts_with("4,rejected,,") && lines[2].contains("exceeds the maximum"),
        "{}",
        csv.text
    );
    let mid = lines[1].split(',').nth(2).unwrap();
    let got = app.settled(&key, CITIZEN, mid).await;
    assert!(
        got["message"]["content"]["markdown"]
            .as_str()
            .unwrap()
            .contains(":\n")
    );
    app.finish().await;
}

async fn an_undecodable_upload_is_refused_at_once_and_a_replayed_key_creates_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let r = upload(
        &app,
        &key,
        "application/x-ndjson",
        "this is not json\n{}".into(),
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("line 1"));
    let r = upload(&app, &key, "text/csv", "codice,oggetto\nx,y\n".into(), None).await;
    assert_eq!(r.status, 400);
    let r = upload(
        &app,
        &key,
        "text/plain",
        line(SANDBOX, "Prova per il sandbox"),
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM batches").await,
        0,
        "nothing stored"
    );

    let body = [
        line(SANDBOX, "Prova per il sandbox"),
        line(SANDBOX, "Seconda prova sandbox"),
    ]
    .join("\n");
    let first = upload(
        &app,
        &key,
        "application/x-ndjson",
        body.clone(),
        Some("lotto-1"),
    )
    .await;
    let again = upload(&app, &key, "application/x-ndjson", body, Some("lotto-1")).await;
    assert_eq!(first.status, 202);
    assert_eq!(again.status, 202);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM batches").await, 1);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM batch_rows").await, 2);
    app.finish().await;
}

async fn a_cancelled_batch_stops_and_reports_the_rest_as_cancelled(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| c.workers = 0).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let body: Vec<String> = (0..20)
        .map(|i| line(SANDBOX, &format!("Prova sandbox numero {i}")))
        .collect();
    let r = upload(&app, &key, "application/x-ndjson", body.join("\n"), None).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let c = app
        .with_key(&key, "POST", &format!("/batches/{id}/cancel"), None)
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["status"], "CANCELLED");
    assert_eq!(
        app.with_key(&key, "POST", &format!("/batches/{id}/cancel"), None)
            .await
            .status,
        409
    );
    let db = app.stop().await;
    let app = TestApp::spawn_on(db, |_| {}).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = report(&app, &key, &id).await;
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r["outcome"] == "cancelled"));
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM jobs").await,
        0,
        "the batch job ended"
    );
    app.finish().await;
}

async fn a_batch_beyond_the_quota_rejects_the_rows_that_do_not_fit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (id, key) = app.service(&manage, json!({})).await;
    app.admin(
        "PUT",
        &format!("/services/{id}/limits"),
        Some(&json!({"daily_quota": 3})),
    )
    .await;
    let body: Vec<String> = (0..5)
        .map(|i| line(SANDBOX, &format!("Prova sandbox numero {i}")))
        .collect();
    let r = upload(&app, &key, "application/x-ndjson", body.join("\n"), None).await;
    let bid = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &bid).await;
    assert_eq!(
        (done["accepted"].as_i64(), done["rejected"].as_i64()),
        (Some(3), Some(2))
    );
    let rows = report(&app, &key, &bid).await;
    assert!(rows[4]["reason"].as_str().unwrap().contains("daily quota"));
    app.finish().await;
}

async fn a_batch_killed_mid_way_resumes_and_every_line_gets_exactly_one_outcome(backend: Backend) {
    const N: usize = 3_000;
    let db = TestDb::new(backend).await;
    let bin = env!("CARGO_BIN_EXE_sportello");
    let run = |args: &[&str], workers: &str| {
        let mut c = std::process::Command::new(bin);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SPORTELLO_DATA_DIR", db.data_dir.path())
            .env("SPORTELLO_DATABASE_URL", &db.url)
            .env("SPORTELLO_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPORTELLO_CONTENT_KEYS", &db.content_keys)
            .env("SPORTELLO_JOB_LEASE_MS", "500")
            .env("SPORTELLO_WORKERS", workers)
            .env("SPORTELLO_LOG", "warn")
            .args(args);
        c
    };
    assert!(run(&["migrate"], "0").status().unwrap().success());
    assert!(
        run(
            &[
                "admin",
                "organization",
                "create",
                "--fiscal-code",
                ORG,
                "--name",
                "Comune di Varese"
            ],
            "0"
        )
        .status()
        .unwrap()
        .success()
    );
    let out = run(
        &[
            "admin",
            "service",
            "create",
            "--organization",
            ORG,
            "--name",
            "Tributi",
            "--description",
            "Tributi comunali",
            "--json",
        ],
        "0",
    )
    .output()
    .unwrap();
    let service: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sid = service["id"].as_str().unwrap().to_owned();
    let file = db.data_dir.path().join("lotto.ndjson");
    let lines: Vec<String> = (0..N)
        .map(|i| line(SANDBOX, &format!("Prova sandbox numero {i}")))
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run(
        &[
            "batch",
            "send",
            file.to_str().unwrap(),
            "--service",
            &sid,
            "--json",
        ],
        "0",
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["total"], N);
    let bid = created["id"].as_str().unwrap().to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let done_sql =
        format!("SELECT COUNT(*) FROM batch_rows WHERE batch_id = '{bid}' AND outcome IS NOT NULL");
    let accepted = || db.count(&done_sql);
    // Kill the server while the batch is being processed.
    let mut server = run(&["serve", "--listen", &listen], "1").spawn().unwrap();
    for _ in 0..400 {
        if accepted().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let at_kill = accepted().await;
    // Restart; the claim expires and the batch resumes.
    let mut server = run(&["serve", "--listen", &listen], "2").spawn().unwrap();
    let mut done = 0;
    for _ in 0..600 {
        done = accepted().await;
        if done == N as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        done, N as i64,
        "every line has an outcome (had {at_kill} at the kill)"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM messages").await,
        N as i64,
        "no duplicate message"
    );
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(DISTINCT message_id) FROM batch_rows WHERE batch_id = '{bid}'"
        ))
        .await,
        N as i64
    );
    assert_eq!(
        db.count(&format!(
            "SELECT accepted + rejected FROM batches WHERE id = '{bid}'"
        ))
        .await,
        N as i64,
        "counters count each line once"
    );
    db.drop_schema().await;
}
