//! Batches through the real `sportello` binary, on both backends: an upload cut by SIGKILL and
//! retried with the same idempotency key, and `sportello batch send` (refusals, progress,
//! `--wait`, exit codes).
#![allow(clippy::unwrap_used)]

mod cli_support;
mod common;

use std::io::Write as _;
use std::time::Duration;

use cli_support::Binary;
use common::{ADMIN_TOKEN, Backend, ORG, SANDBOX, TestDb, markdown};
use serde_json::{Value, json};

both_backends!(
    an_upload_cut_by_a_crash_owns_no_key_and_its_retry_sends_every_line,
    batch_send_refuses_a_service_whose_organization_is_disabled,
    batch_send_shows_progress_waits_for_every_line_and_fails_when_lines_are_rejected,
);

/// The binary on `db`'s database.
fn binary(db: &TestDb) -> Binary {
    Binary::on_database(db.data_dir.path(), &db.url, ADMIN_TOKEN, &db.content_keys)
}

/// Migrates, then creates the organization and a service with the CLI: (service id, key).
fn onboard(bin: &Binary) -> (String, String) {
    assert_eq!(bin.run(&["migrate"]).code, 0);
    bin.onboard(ORG, &[])
}

fn line(i: usize) -> String {
    json!({"fiscal_code": SANDBOX, "content": {
        "subject": format!("Prova sandbox numero {i}"), "markdown": markdown()}})
    .to_string()
}

async fn poll<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("after 15 s: {what}");
}

async fn an_upload_cut_by_a_crash_owns_no_key_and_its_retry_sends_every_line(backend: Backend) {
    const N: usize = 2_000;
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    let (_, key) = onboard(&bin);
    let body: String = (0..N).map(|i| line(i) + "\n").collect();
    let cut = body
        .match_indices('\n')
        .nth(1_499)
        .map(|(i, _)| i + 1)
        .unwrap();

    // Stream the first 1,500 lines, then stall, as a slow client would, and kill the server
    // once the first 1,000 are stored.
    let server = bin.serve(&[("SPORTELLO_WORKERS", "1")]);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "POST /api/v1/batches HTTP/1.1\r\nhost: 127.0.0.1\r\nocp-apim-subscription-key: {key}\r\n\
         content-type: application/x-ndjson\r\nidempotency-key: k1\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body.as_bytes()[..cut]).unwrap();
    stream.flush().unwrap();
    let dbr = &db;
    poll("the first lines are stored", move || async move {
        dbr.count("SELECT COUNT(*) FROM batch_rows").await >= 1_000
    })
    .await;
    server.kill();
    drop(stream);

    // Restart and retry the whole upload with the same key, as the API documents.
    // The restarted server may listen on another port: only its own log says which.
    let server = bin.serve(&[
        ("SPORTELLO_WORKERS", "1"),
        ("SPORTELLO_BATCH_UPLOAD_IDLE_MS", "1000"),
    ]);
    let addr = server.addr;
    let headers = [
        ("ocp-apim-subscription-key", key.as_str()),
        ("content-type", "application/x-ndjson"),
        ("idempotency-key", "k1"),
    ];
    let r = common::send(
        addr,
        "POST",
        "/api/v1/batches",
        &headers,
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let mut view = Value::Null;
    for _ in 0..300 {
        let r = common::send(
            addr,
            "GET",
            &format!("/api/v1/batches/{id}"),
            &[("ocp-apim-subscription-key", &key)],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        view = r.body;
        if view["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (
            view["status"].as_str(),
            view["total"].as_i64(),
            view["accepted"].as_i64()
        ),
        (Some("COMPLETED"), Some(N as i64), Some(N as i64)),
        "{view}"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM messages").await, N as i64);
    // The same key again answers with the completed batch and creates nothing.
    let again = common::send(addr, "POST", "/api/v1/batches", &headers, Some(body)).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["id"], id.as_str());
    // The abandoned partial upload is removed.
    poll("the abandoned upload is removed", move || async move {
        dbr.count("SELECT COUNT(*) FROM batches").await == 1
            && dbr.count("SELECT COUNT(*) FROM batch_rows").await == N as i64
    })
    .await;
    server.kill();
    assert_eq!(db.count("SELECT COUNT(*) FROM messages").await, N as i64);
    db.drop_schema().await;
}

async fn batch_send_refuses_a_service_whose_organization_is_disabled(backend: Backend) {
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    let (sid, _) = onboard(&bin);
    let file = db.data_dir.path().join("lotto.ndjson");
    std::fs::write(&file, line(1)).unwrap();
    let disabled = bin.run(&["admin", "organization", "disable", "--fiscal-code", ORG]);
    assert_eq!(disabled.code, 0, "{}", disabled.stderr);
    let out = bin.run(&["batch", "send", file.to_str().unwrap(), "--service", &sid]);
    assert_eq!(out.code, 2, "refused input: {out:?}");
    assert!(out.stderr.contains("disabled"), "{}", out.stderr);
    assert_eq!(db.count("SELECT COUNT(*) FROM batches").await, 0);
    db.drop_schema().await;
}

async fn batch_send_shows_progress_waits_for_every_line_and_fails_when_lines_are_rejected(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    let (sid, _) = onboard(&bin);
    let server = bin.serve(&[("SPORTELLO_WORKERS", "1")]);
    let file = db.data_dir.path().join("lotto.ndjson");
    std::fs::write(&file, [line(1), "{not json".into(), line(3)].join("\n")).unwrap();
    let path = file.to_str().unwrap();
    let out = bin.run(&["batch", "send", path, "--service", &sid, "--json", "--wait"]);
    assert_eq!(out.code, 3, "some lines rejected: {out:?}");
    let summary: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        (
            summary["status"].as_str(),
            summary["total"].as_i64(),
            summary["accepted"].as_i64(),
            summary["rejected"].as_i64(),
            summary["pending"].as_i64()
        ),
        (Some("COMPLETED"), Some(3), Some(2), Some(1), Some(0)),
        "{summary}"
    );
    let events: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let last_upload = events
        .iter()
        .rev()
        .find(|e| e["event"] == "upload")
        .unwrap();
    assert_eq!(last_upload["lines"], 3, "{events:?}");
    let last = events
        .iter()
        .rev()
        .find(|e| e["event"] == "processing")
        .unwrap();
    assert_eq!(last["done"], 3, "{events:?}");

    // All lines accepted: exit 0; the human summary names the counts.
    std::fs::write(&file, [line(4), line(5)].join("\n")).unwrap();
    let out = bin.run(&["batch", "send", path, "--service", &sid, "--wait"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("2 accepted"), "{}", out.stdout);
    assert!(
        !out.stderr.contains('\r'),
        "no progress bar without a terminal"
    );
    server.kill();
    db.drop_schema().await;
}
