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
    an_over_long_ndjson_line_is_rejected_with_its_reason_and_the_other_lines_go_on,
    an_over_long_csv_record_is_rejected_with_its_reason_and_the_other_lines_go_on,
    a_header_only_csv_is_refused_as_empty,
    an_unclosed_csv_quote_is_rejected_at_its_line_and_every_later_line_has_an_outcome,
    a_cancelled_batch_counts_its_unsent_lines_as_cancelled_like_its_report,
    a_disabled_organization_or_a_revoked_key_stops_its_batches_with_a_reason,
    a_report_format_that_does_not_exist_is_refused_naming_the_formats,
    duplicate_csv_columns_and_repeated_idempotency_keys_are_refused,
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

/// A server with no workers and a service that has uploaded a 20-line batch to the sandbox
/// code: (app, service key, batch id). Nothing processes it, so it can be cancelled whole.
async fn twenty_lines_nobody_processes(backend: Backend) -> (TestApp, String, String) {
    let db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| c.workers = 0).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let body: Vec<String> = (0..20)
        .map(|i| line(SANDBOX, &format!("Prova sandbox numero {i}")))
        .collect();
    let r = upload(&app, &key, "application/x-ndjson", body.join("\n"), None).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    (app, key, id)
}

async fn a_cancelled_batch_stops_and_reports_the_rest_as_cancelled(backend: Backend) {
    let (app, key, id) = twenty_lines_nobody_processes(backend).await;
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
    app.pass_leases().await;
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

    // The test reads only the database: the servers listen wherever the kernel says.
    let listen = "127.0.0.1:0";
    let done_sql =
        format!("SELECT COUNT(*) FROM batch_rows WHERE batch_id = '{bid}' AND outcome IS NOT NULL");
    let accepted = || db.count(&done_sql);
    // Kill the server while the batch is being processed.
    let mut server = run(&["serve", "--listen", listen], "1").spawn().unwrap();
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
    let mut server = run(&["serve", "--listen", listen], "2").spawn().unwrap();
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

/// A line of a message whose markdown is `n` emoji, each JSON-escaped as a surrogate pair
/// (12 bytes): 9,000 of them make a ~108 KB line that `POST /messages` accepts.
fn emoji_line(fc: &str, n: usize) -> String {
    let md = "\u{1F600}".repeat(n);
    line(fc, "Avviso con molte faccine")
        .replace(&markdown(), &md)
        .replace('\u{1F600}', "\\ud83d\\ude00")
}

/// A line longer than any single submission may be (600 KB of markdown).
fn huge_line(fc: &str) -> String {
    json!({"fiscal_code": fc, "content": {"subject": "Avviso enorme", "markdown": "x".repeat(600_000)}})
        .to_string()
}

async fn an_over_long_ndjson_line_is_rejected_with_its_reason_and_the_other_lines_go_on(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let emoji = emoji_line(SANDBOX, 9_000);
    assert!(emoji.len() > 100_000, "{}", emoji.len());
    // The same message is accepted as a single submission.
    let single = common::send(
        app.addr,
        "POST",
        "/api/v1/messages",
        &[("ocp-apim-subscription-key", &key)],
        Some(emoji.clone()),
    )
    .await;
    assert_eq!(single.status, 201, "{}", single.body);
    let body = [
        line(SANDBOX, "Prova per il sandbox"),
        emoji,
        line(SANDBOX, "Seconda prova sandbox"),
        huge_line(SANDBOX),
        line(SANDBOX, "Terza prova sandbox"),
    ]
    .join("\n");
    let r = upload(&app, &key, "application/x-ndjson", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (
            done["total"].as_i64(),
            done["accepted"].as_i64(),
            done["rejected"].as_i64(),
            done["pending"].as_i64()
        ),
        (Some(5), Some(4), Some(1), Some(0)),
        "{done}"
    );
    let rows = report(&app, &key, &id).await;
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["accepted", "accepted", "accepted", "rejected", "accepted"]
    );
    let reason = rows[3]["reason"].as_str().unwrap();
    assert!(reason.contains("longer than"), "{reason}");

    // An over-long first line is a rejected line, not a refused upload.
    let body = [
        huge_line(SANDBOX),
        line(SANDBOX, "Prova dopo la riga lunga"),
    ]
    .join("\n");
    let r = upload(&app, &key, "application/x-ndjson", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &id).await;
    assert_eq!(
        (done["accepted"].as_i64(), done["rejected"].as_i64()),
        (Some(1), Some(1)),
        "{done}"
    );
    let rows = report(&app, &key, &id).await;
    assert!(rows[0]["reason"].as_str().unwrap().contains("longer than"));
    app.finish().await;
}

async fn an_over_long_csv_record_is_rejected_with_its_reason_and_the_other_lines_go_on(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let md = markdown().replace(',', ";");
    let long = "y".repeat(600_000);
    let body = format!(
        "fiscal_code,subject,markdown\n{SANDBOX},Prima prova sandbox,{md}\n{SANDBOX},Riga troppo lunga,{long}\n{SANDBOX},Terza prova sandbox,{md}\n"
    );
    let r = upload(&app, &key, "text/csv", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (done["accepted"].as_i64(), done["rejected"].as_i64()),
        (Some(2), Some(1)),
        "{done}"
    );
    let rows = report(&app, &key, &id).await;
    assert_eq!(rows[1]["line"], 3);
    assert!(rows[1]["reason"].as_str().unwrap().contains("longer than"));
    app.finish().await;
}

async fn a_header_only_csv_is_refused_as_empty(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    for body in [
        "fiscal_code,subject,markdown\n",
        "fiscal_code,subject,markdown\r\n\r\n",
    ] {
        let r = upload(&app, &key, "text/csv", body.into(), None).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("The upload is empty"),
            "{}",
            r.body
        );
    }
    assert_eq!(app.db.count("SELECT COUNT(*) FROM batches").await, 0);
    app.finish().await;
}

async fn an_unclosed_csv_quote_is_rejected_at_its_line_and_every_later_line_has_an_outcome(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let md = markdown().replace(',', ";");
    // Line 3 opens a quote it never closes; line 5 holds the next quote of the file.
    let body = format!(
        "fiscal_code,subject,markdown\n\
         {SANDBOX},Prima prova sandbox,{md}\n\
         {SANDBOX},\"Oggetto senza fine,{md}\n\
         {SANDBOX},Quarta prova sandbox,{md}\n\
         {SANDBOX},\"Quinta prova sandbox\",{md}\n\
         {SANDBOX},Sesta prova sandbox,{md}\n\
         {SANDBOX},Settima \"tra virgolette\" a metà,{md}\n"
    );
    let r = upload(&app, &key, "text/csv", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let done = finished(&app, &key, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let rows = report(&app, &key, &id).await;
    let got: Vec<(i64, &str)> = rows
        .iter()
        .map(|r| (r["line"].as_i64().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "accepted"),
            (3, "rejected"),
            (4, "accepted"),
            (5, "accepted"),
            (6, "accepted"),
            (7, "accepted")
        ],
        "{rows:?}"
    );
    let reason = rows[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("line 3") && reason.contains("quote"),
        "{reason}"
    );
    assert_eq!(done["total"], 6);

    // At the end of the file too.
    let body = format!(
        "fiscal_code,subject,markdown\n{SANDBOX},\"Oggetto senza fine,{md}\n{SANDBOX},Terza prova sandbox,{md}\n"
    );
    let r = upload(&app, &key, "text/csv", body, None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    finished(&app, &key, &id).await;
    let rows = report(&app, &key, &id).await;
    let got: Vec<(i64, &str)> = rows
        .iter()
        .map(|r| (r["line"].as_i64().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [(2, "rejected"), (3, "accepted")], "{rows:?}");
    assert!(rows[0]["reason"].as_str().unwrap().contains("line 2"));
    app.finish().await;
}

async fn a_cancelled_batch_counts_its_unsent_lines_as_cancelled_like_its_report(backend: Backend) {
    let (app, key, id) = twenty_lines_nobody_processes(backend).await;
    let c = app
        .with_key(&key, "POST", &format!("/batches/{id}/cancel"), None)
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let got = app
        .with_key(&key, "GET", &format!("/batches/{id}"), None)
        .await;
    for view in [&c.body, &got.body] {
        assert_eq!(
            (
                view["pending"].as_i64(),
                view["cancelled"].as_i64(),
                view["progress"].as_f64()
            ),
            (Some(0), Some(20), Some(1.0)),
            "{view}"
        );
    }
    let rows = report(&app, &key, &id).await;
    let cancelled = rows.iter().filter(|r| r["outcome"] == "cancelled").count();
    assert_eq!(cancelled as i64, got.body["cancelled"].as_i64().unwrap());
    app.finish_leaving_jobs(
        "no worker runs: the cancelled batch's process_batch job stays queued (that a worker \
         then ends it is a_cancelled_batch_stops_and_reports_the_rest_as_cancelled)",
    )
    .await;
}

async fn a_disabled_organization_or_a_revoked_key_stops_its_batches_with_a_reason(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| c.workers = 0).await;
    let manage = app.onboard().await;
    let (sid, key) = app.service(&manage, json!({})).await;
    let body: Vec<String> = (0..5)
        .map(|i| line(SANDBOX, &format!("Prova sandbox numero {i}")))
        .collect();
    let body = body.join("\n");
    // Uploaded with the primary key, which is then regenerated before any worker runs.
    let r = upload(&app, &key, "application/x-ndjson", body.clone(), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let revoked = r.body["id"].as_str().unwrap().to_owned();
    let keys = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{sid}/keys/primary"),
            None,
        )
        .await;
    assert_eq!(keys.status, 200, "{}", keys.body);
    let key = keys.body["primary_key"].as_str().unwrap().to_owned();
    let app = TestApp::spawn_on(app.stop().await, |_| {}).await;
    stopped_with(&app, &revoked, "revoked").await;

    // Uploaded with the new key; then the organization is disabled before any worker runs.
    let app = TestApp::spawn_on(app.stop().await, |c| c.workers = 0).await;
    let r = upload(&app, &key, "application/x-ndjson", body.clone(), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let disabled = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .admin("POST", &format!("/organizations/{ORG}/disable"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = upload(&app, &key, "application/x-ndjson", body, None).await;
    assert_eq!(r.status, 403, "new uploads are refused: {}", r.body);
    let app = TestApp::spawn_on(app.stop().await, |_| {}).await;
    stopped_with(&app, &disabled, "disabled").await;
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 0);
    app.finish().await;
}

/// Waits for the batch to end; asserts every line was rejected with a reason naming `why`.
async fn stopped_with(app: &TestApp, id: &str, why: &str) {
    use messaging::ports::prelude::*;
    let store = store::SqlStore::connect(&app.db.url, 1).await.unwrap();
    let batch_id = kernel::values::BatchId::parse(id).unwrap();
    let mut batch = None;
    for _ in 0..200 {
        let b = store.get_batch(&batch_id).await.unwrap().unwrap();
        if b.status != messaging::model::BatchStatus::Running {
            batch = Some(b);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let batch = batch.unwrap_or_else(|| panic!("batch {id} still running"));
    assert_eq!((batch.accepted, batch.rejected), (0, 5), "{why}: {batch:?}");
    let rows = store.batch_report(&batch_id, 0, 100).await.unwrap();
    assert_eq!(rows.len(), 5);
    for r in rows {
        let reason = r.reason.unwrap_or_default();
        assert!(reason.contains(why), "{why}: {reason}");
    }
    store.close().await;
}

async fn a_report_format_that_does_not_exist_is_refused_naming_the_formats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let r = upload(
        &app,
        &key,
        "application/x-ndjson",
        line(SANDBOX, "Prova per il sandbox"),
        None,
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .with_key(
            &key,
            "GET",
            &format!("/batches/{id}/report?format=xml"),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("ndjson") && detail.contains("csv"),
        "{detail}"
    );
    let r = app
        .with_key(
            &key,
            "GET",
            &format!("/batches/{id}/report?format=ndjson"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    app.finish().await;
}

async fn duplicate_csv_columns_and_repeated_idempotency_keys_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let md = markdown();
    let r = upload(
        &app,
        &key,
        "text/csv",
        format!(
            "fiscal_code,subject,markdown,subject\n{SANDBOX},Prova,{md},Prova per il sandbox\n"
        ),
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("`subject`"),
        "{}",
        r.body
    );

    let twice = [
        ("ocp-apim-subscription-key", key.as_str()),
        ("content-type", "application/x-ndjson"),
        ("idempotency-key", "lotto-1"),
        ("idempotency-key", "lotto-2"),
    ];
    let r = common::send(
        app.addr,
        "POST",
        "/api/v1/batches",
        &twice,
        Some(line(SANDBOX, "Prova per il sandbox")),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM batches").await, 0);

    let mut twice = twice;
    twice[1] = ("content-type", "application/json");
    let message = json!({"fiscal_code": SANDBOX, "content": {"subject": "Prova per il sandbox", "markdown": md}});
    for path in ["/api/v1/messages", &format!("/api/v1/messages/{SANDBOX}")] {
        let r = common::send(app.addr, "POST", path, &twice, Some(message.to_string())).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
    }
    assert_eq!(app.db.count("SELECT COUNT(*) FROM messages").await, 0);
    app.finish().await;
}
