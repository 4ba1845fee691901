//! Crash safety, dead letters, the CLI and the operations endpoints, on both backends. The
//! crash tests run the real `sportello` binary and kill it with SIGKILL.
#![allow(clippy::unwrap_used)]

mod cli_support;
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cli_support::{Binary, Server};
use common::{ADMIN_TOKEN, Backend, CITIZEN, ORG, TestApp, TestDb, markdown};
use serde_json::{Value, json};

both_backends!(
    killing_the_server_loses_nothing_and_processes_every_message_exactly_once,
    the_admin_commands_print_json_and_work_while_the_server_runs,
    a_message_that_cannot_be_processed_fails_after_bounded_retries_and_can_be_retried,
    health_readiness_metrics_and_openapi_answer_without_personal_data,
    the_admin_api_needs_the_admin_token,
    the_logs_never_contain_fiscal_codes_or_message_content,
    serve_refuses_an_unmigrated_postgres_database_and_migrates_sqlite_itself,
    operators_review_services_from_the_command_line,
);

async fn operators_review_services_from_the_command_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    assert_eq!(bin.run(&["migrate"]).code, 0);
    bin.run(&[
        "admin",
        "organization",
        "create",
        "--fiscal-code",
        ORG,
        "--name",
        "Comune di Varese",
        "--kind",
        "comune",
        "--json",
    ])
    .json();
    let delegate = bin
        .run(&[
            "admin",
            "delegate",
            "create",
            "--organization",
            ORG,
            "--email",
            "it@comune.varese.it",
            "--name",
            "Anna Bianchi",
            "--role",
            "administrative",
            "--json",
        ])
        .json();
    let manage = delegate["manage_key"].as_str().unwrap().to_owned();
    let server = bin.serve(&[("SPORTELLO_WORKERS", "1")]);
    let addr = server.addr;
    let call = |method: &'static str, path: String, key: String, body: Option<Value>| async move {
        common::send(
            addr,
            method,
            &path,
            &[("ocp-apim-subscription-key", &key)],
            body.map(|b| b.to_string()),
        )
        .await
    };
    let card = json!({
        "name": "Tributi comunali", "description": "Avvisi e pagamenti dei tributi comunali.",
        "organization": {"name": "Comune di Varese", "fiscal_code": ORG},
        "authorized_cidrs": ["127.0.0.1"],
        "metadata": {"scope": "LOCAL", "topic_id": 11, "privacy_url": "https://www.comune.varese.it/privacy",
            "email": "tributi@comune.varese.it"}
    });
    let r = call(
        "POST",
        "/api/v1/manage/services".into(),
        manage.clone(),
        Some(card.clone()),
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let keys = call(
        "GET",
        format!("/api/v1/manage/services/{id}/keys"),
        manage.clone(),
        None,
    )
    .await;
    let key = keys.body["primary_key"].as_str().unwrap().to_owned();
    let r = call(
        "PUT",
        format!("/api/v1/organizations/{ORG}/logo"),
        key,
        Some(json!({"logo": common::png(300, [0, 0, 0, 0])})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let review = json!({"auto_publish": true});
    assert_eq!(
        call(
            "PUT",
            format!("/api/v1/manage/services/{id}/review"),
            manage.clone(),
            Some(review.clone())
        )
        .await
        .status,
        204
    );

    let pending = bin.run(&["admin", "review", "list", "--json"]).json();
    assert_eq!(pending[0]["id"], id.as_str(), "{pending}");
    assert_eq!(pending[0]["auto_publish"], true);
    let rejected = bin.run(&[
        "admin",
        "review",
        "reject",
        &id,
        "--reason",
        "Descrizione troppo breve",
    ]);
    assert_eq!(rejected.code, 0, "{}", rejected.stderr);
    let got = call(
        "GET",
        format!("/api/v1/manage/services/{id}"),
        manage.clone(),
        None,
    )
    .await;
    assert_eq!(got.body["status"]["value"], "rejected");
    assert_eq!(got.body["status"]["reason"], "Descrizione troppo breve");
    assert_eq!(
        bin.run(&["admin", "review", "approve", &id]).code,
        2,
        "not under review any more"
    );

    call(
        "PUT",
        format!("/api/v1/manage/services/{id}"),
        manage.clone(),
        Some(card),
    )
    .await;
    call(
        "PUT",
        format!("/api/v1/manage/services/{id}/review"),
        manage.clone(),
        Some(review),
    )
    .await;
    let approved = bin.run(&["admin", "review", "approve", &id]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert!(approved.stdout.contains("published"), "{}", approved.stdout);
    let got = call(
        "GET",
        format!("/api/v1/manage/services/{id}/release"),
        manage,
        None,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        bin.run(&["admin", "review", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    server.kill();
    db.drop_schema().await;
}

async fn serve_refuses_an_unmigrated_postgres_database_and_migrates_sqlite_itself(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    match backend {
        Backend::Postgres => {
            let out = bin.run(&["serve", "--listen", "127.0.0.1:0"]);
            assert_ne!(out.code, 0);
            let stderr = out.stderr;
            assert!(stderr.contains("run `sportello migrate` first"), "{stderr}");
            let migrated = bin.run(&["migrate"]);
            assert_eq!(migrated.code, 0, "{}", migrated.stderr);
            assert!(
                migrated.stdout.contains(
                    "applied migrations [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]"
                ),
                "{}",
                migrated.stdout
            );
            assert!(bin.run(&["migrate"]).stdout.contains("up to date"));
        }
        Backend::Sqlite => {}
    }
    let server = bin.serve(&[("SPORTELLO_WORKERS", "1")]);
    let addr = server.addr;
    assert_eq!(
        common::send(addr, "GET", "/readyz", &[], None).await.status,
        200
    );
    server.kill();
    db.drop_schema().await;
}

/// The binary on `db`'s database.
fn binary(db: &TestDb) -> Binary {
    Binary::on_database(db.data_dir.path(), &db.url, ADMIN_TOKEN, &db.content_keys)
}

/// Creates organization, citizen and a service for that citizen with the CLI; returns the
/// service key.
fn onboard_with_cli(bin: &Binary) -> String {
    let (_, key) = bin.onboard(ORG, &[CITIZEN]);
    bin.run(&[
        "admin",
        "citizen",
        "create",
        "--fiscal-code",
        CITIZEN,
        "--json",
    ])
    .json();
    key
}

async fn killing_the_server_loses_nothing_and_processes_every_message_exactly_once(
    backend: Backend,
) {
    // A worker claims at most 128 jobs per round and records the round in one transaction, so
    // a kill can only fall between "some done" and "some not" when there are several rounds.
    const N: usize = 600;
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    assert_eq!(bin.run(&["migrate"]).code, 0);
    let key = onboard_with_cli(&bin);

    // 1. Accept messages with no worker running, then kill the process.
    let server = bin.serve(&[("SPORTELLO_WORKERS", "0")]);
    let ids = send_concurrently(server.addr, &key, N).await;
    server.kill();
    assert_eq!(
        db.count("SELECT COUNT(*) FROM messages WHERE status = 'ACCEPTED'")
            .await,
        N as i64,
        "every acknowledged message survived the kill"
    );

    // 2. Restart with one worker and kill it while it is processing: once a round has been
    //    recorded and the next one is claimed. The state is read after the kill, when no
    //    process can change it any more; in the rare case the kill fell between a round's
    //    commit and the next claim (nothing held), start again (bounded).
    let probe = store::SqlStore::connect(&db.url, 1).await.unwrap();
    let done_now = async || {
        scalar(
            &probe,
            "SELECT COUNT(*) FROM messages WHERE status = 'PROCESSED'",
        )
        .await
    };
    let held_now =
        async || scalar(&probe, "SELECT COUNT(*) FROM jobs WHERE status = 'running'").await;
    // On PostgreSQL a transaction the killed process had asked to commit may still be committing
    // on the server side: its connections are named, and the state is read once they are gone.
    let app_name = format!("killed_{}", ulid::Ulid::new().to_string().to_lowercase());
    let url = match backend {
        Backend::Postgres => format!("{}&application_name={app_name}", db.url),
        Backend::Sqlite => db.url.clone(),
    };
    let mut at_kill = None;
    for _ in 0..5 {
        let server = bin.serve(&[("SPORTELLO_WORKERS", "1"), ("SPORTELLO_DATABASE_URL", &url)]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(done_now().await > 0 && held_now().await > 0) {
            assert!(
                Instant::now() < deadline,
                "the worker never held a claim after recording a round"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.kill();
        if backend == Backend::Postgres {
            let gone = format!(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '{app_name}'"
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while scalar(&probe, &gone).await > 0 {
                assert!(
                    Instant::now() < deadline,
                    "the killed server's sessions stay"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let done = done_now().await;
        let held = running_jobs(&probe).await;
        eprintln!(
            "killed with {done} messages done and {} jobs claimed",
            held.len()
        );
        assert!(done < N as i64, "the worker finished before the kill");
        if !held.is_empty() {
            at_kill = Some((done, held));
            break;
        }
    }
    let (done_at_kill, held_at_kill) = at_kill.expect("no kill landed while a claim was held");
    probe.close().await;
    assert!(done_at_kill > 0, "some messages were done at the kill");
    assert!(
        done_at_kill + (held_at_kill.len() as i64) <= N as i64,
        "claimed jobs are of messages not done"
    );

    // 3. Restart again; the lease of the killed worker's claims runs out, the new workers take
    //    those jobs over, and all finish.
    let server = bin.serve(&[("SPORTELLO_WORKERS", "2")]);
    let mut processed = 0;
    for _ in 0..400 {
        processed = db
            .count("SELECT COUNT(*) FROM messages WHERE status = 'PROCESSED'")
            .await;
        if processed == N as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = common::send(server.addr, "GET", "/metrics", &[], None).await;
    let log = server.kill();
    assert_eq!(
        processed, N as i64,
        "processed after restart (had {done_at_kill} at kill)"
    );
    // The takeover path ran: every job the killed worker held was claimed again (a slow round
    // of the new workers may add takeovers of their own; the metric counts them all).
    let taken_over: Vec<i64> = log
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["message"] == "job lease taken over")
        .map(|v| v["job.id"].as_i64().unwrap())
        .collect();
    let missing: Vec<_> = held_at_kill
        .iter()
        .filter(|id| !taken_over.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "held at the kill, never taken over: {missing:?}"
    );
    assert!(
        metrics.text.contains(&format!(
            "sportello_jobs_taken_over_total {}\n",
            taken_over.len()
        )),
        "{}",
        metrics.text
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM messages").await, N as i64);
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM inbox WHERE fiscal_code = '{CITIZEN}'"
        ))
        .await,
        N as i64,
        "each message is in the inbox exactly once"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM jobs").await, 0);
    let distinct = ids.iter().collect::<std::collections::HashSet<_>>().len();
    assert_eq!(distinct, N);
    db.drop_schema().await;
}

/// Sends `n` messages to `CITIZEN` from 8 concurrent clients; returns their ids.
async fn send_concurrently(addr: std::net::SocketAddr, key: &str, n: usize) -> Vec<String> {
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..8 {
        let key = key.to_owned();
        clients.spawn(async move {
            let mut ids = Vec::new();
            for i in (client..n).step_by(8) {
                let body = json!({"content": {"subject": format!("Avviso numero {i:04}"), "markdown": markdown()}});
                let r = common::send(
                    addr,
                    "POST",
                    &format!("/api/v1/messages/{CITIZEN}"),
                    &[("ocp-apim-subscription-key", &key)],
                    Some(body.to_string()),
                )
                .await;
                assert_eq!(r.status, 201, "{}", r.body);
                ids.push(r.body["id"].as_str().unwrap().to_owned());
            }
            ids
        });
    }
    clients.join_all().await.concat()
}

/// One integer read through `probe` (one connection kept open, so polling is cheap).
async fn scalar(probe: &store::SqlStore, sql: &str) -> i64 {
    store::raw::scalar_i64(probe, sql).await.unwrap()
}

/// The ids of the jobs a worker has claimed and not finished.
async fn running_jobs(probe: &store::SqlStore) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    let mut last = 0;
    loop {
        let next = scalar(
            probe,
            &format!(
                "SELECT COALESCE(MIN(id), 0) FROM jobs WHERE status = 'running' AND id > {last}"
            ),
        )
        .await;
        if next == 0 {
            return ids;
        }
        ids.insert(next);
        last = next;
    }
}

async fn the_admin_commands_print_json_and_work_while_the_server_runs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    assert_eq!(bin.run(&["migrate"]).code, 0);
    let server = bin.serve(&[("SPORTELLO_WORKERS", "1")]);
    let addr = server.addr;
    let org = bin
        .run(&[
            "admin",
            "organization",
            "create",
            "--fiscal-code",
            ORG,
            "--name",
            "Comune di Varese",
            "--json",
        ])
        .json();
    assert_eq!(org["fiscal_code"], ORG);
    let delegate = bin
        .run(&[
            "admin",
            "delegate",
            "create",
            "--organization",
            ORG,
            "--email",
            "it@comune.varese.it",
            "--json",
        ])
        .json();
    assert_eq!(delegate["email"], "it@comune.varese.it");
    let manage_key = delegate["manage_key"].as_str().unwrap();
    assert_eq!(manage_key.len(), 32);
    let citizen = bin
        .run(&[
            "admin",
            "citizen",
            "create",
            "--fiscal-code",
            CITIZEN,
            "--email",
            "m@example.org",
            "--json",
        ])
        .json();
    assert_eq!(citizen["fiscal_code"], CITIZEN);

    // The running server sees what the CLI wrote: the manage key works.
    let r = common::send(
        addr,
        "GET",
        "/api/v1/manage/services",
        &[("ocp-apim-subscription-key", manage_key)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Refused input: exit code 2, a precise reason, nothing written.
    let bad = bin.run(&[
        "admin",
        "organization",
        "create",
        "--fiscal-code",
        "00441340123",
        "--name",
        "Comune di Varese",
    ]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("check digit"), "{}", bad.stderr);
    let dup = bin.run(&[
        "admin",
        "organization",
        "create",
        "--fiscal-code",
        ORG,
        "--name",
        "Comune di Varese",
    ]);
    assert_eq!(dup.code, 2, "{}", dup.stderr);
    let list = bin.run(&["admin", "organization", "list", "--json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Disabling the delegate from the CLI takes effect on the server.
    let id = delegate["id"].as_str().unwrap();
    assert_eq!(
        bin.run(&["admin", "delegate", "disable", "--id", id]).code,
        0
    );
    let r = common::send(
        addr,
        "GET",
        "/api/v1/manage/services",
        &[("ocp-apim-subscription-key", manage_key)],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        bin.run(&["healthcheck", "--listen", &addr.to_string()])
            .code,
        0
    );
    server.kill();
    assert_ne!(
        bin.run(&["healthcheck", "--listen", &addr.to_string()])
            .code,
        0
    );
    db.drop_schema().await;
}

async fn a_message_that_cannot_be_processed_fails_after_bounded_retries_and_can_be_retried(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let old_keys = db.content_keys.clone();
    // Accept a message, no worker.
    let app = TestApp::spawn_on(db, |c| c.workers = 0).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    app.citizen(json!({"fiscal_code": CITIZEN})).await;
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let mut db = app.stop().await;

    // Restart with a keyring that lost the key the message was sealed with.
    db.content_keys = seal::Keyring::generate_spec("k2");
    let app = TestApp::spawn_on(db, |c| c.job.max_attempts = 3).await;
    let mut dead = Value::Null;
    for _ in 0..200 {
        let r = app.admin("GET", "/jobs?status=dead", None).await;
        assert_eq!(r.status, 200);
        if r.body.as_array().is_some_and(|a| !a.is_empty()) {
            dead = r.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = &dead[0];
    assert_eq!(job["attempts"], 3, "{dead}");
    assert_eq!(job["message_id"], id.as_str());
    assert!(job["last_error"].as_str().unwrap().contains("no key `k1`"));
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM messages WHERE id = '{id}' AND status = 'FAILED'"
            ))
            .await,
        1
    );
    let job_id = job["id"].as_i64().unwrap();
    let mut db = app.stop().await;

    // Rotate properly (new key first, old key kept for opening) and retry the dead letter.
    db.content_keys = format!("{},{old_keys}", seal::Keyring::generate_spec("k2"));
    let app = TestApp::spawn_on(db, |_| {}).await;
    let r = app
        .admin("POST", &format!("/jobs/{job_id}/retry"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = app.settled(&key, CITIZEN, &id).await;
    assert_eq!(got["status"], "PROCESSED");
    let again = app
        .admin("POST", &format!("/jobs/{job_id}/retry"), None)
        .await;
    assert_eq!(
        again.status, 404,
        "a job that is not dead cannot be retried"
    );
    app.finish().await;
}

async fn health_readiness_metrics_and_openapi_answer_without_personal_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let (_, key) = app.service(&manage, json!({})).await;
    let r = app
        .send(
            &key,
            CITIZEN,
            json!({"subject": "Benvenuto nel servizio", "markdown": markdown()}),
        )
        .await;
    app.settled(&key, CITIZEN, r.body["id"].as_str().unwrap())
        .await;
    assert_eq!(app.request("GET", "/healthz", &[], None).await.status, 200);
    assert_eq!(app.request("GET", "/readyz", &[], None).await.status, 200);
    // The counter is bumped just after the outcome is committed: poll briefly.
    let mut m = app.request("GET", "/metrics", &[], None).await;
    for _ in 0..50 {
        if m.text.contains("sportello_jobs_rejected_total 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        m = app.request("GET", "/metrics", &[], None).await;
    }
    assert_eq!(m.status, 200);
    assert!(m.text.contains(
        "sportello_http_requests_total{method=\"POST\",route=\"/api/v1/messages/{fiscal_code}\",status=\"201\"} 1"
    ), "{}", m.text);
    assert!(
        m.text
            .contains("sportello_http_request_duration_seconds_bucket")
    );
    assert!(
        m.text.contains("sportello_jobs_rejected_total 1"),
        "{}",
        m.text
    );
    assert!(m.text.contains("sportello_jobs{status=\"queued\"} 0"));
    assert!(m.text.contains("sportello_messages_accepted_total 1"));
    assert!(!m.text.contains(CITIZEN), "no fiscal code in metrics");
    let doc = app.request("GET", "/api/v1/openapi.json", &[], None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    let missing = app.request("GET", "/nope", &[], None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.headers["content-type"], "application/problem+json");
    let wrong_method = app.request("DELETE", "/api/v1/profiles", &[], None).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(
        wrong_method.headers["content-type"],
        "application/problem+json"
    );
    app.finish().await;
}

async fn the_admin_api_needs_the_admin_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let no = app
        .request("GET", "/api/admin/v1/organizations", &[], None)
        .await;
    assert_eq!(no.status, 401);
    let wrong = app
        .request(
            "GET",
            "/api/admin/v1/organizations",
            &[("authorization", "Bearer not-the-token-at-all-xx")],
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);
    let bad = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": "123", "name": "X"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let names: Vec<&str> = bad.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fiscal_code", "name"]);
    let ok = app.admin("GET", "/organizations", None).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, json!([]));
    app.finish().await;
}

async fn the_logs_never_contain_fiscal_codes_or_message_content(backend: Backend) {
    let db = TestDb::new(backend).await;
    let bin = binary(&db);
    assert_eq!(bin.run(&["migrate"]).code, 0);
    let key = onboard_with_cli(&bin);
    let server =
        Server::start(bin.command(&[("SPORTELLO_LOG", "debug"), ("SPORTELLO_LOG_FORMAT", "json")]));
    let addr = server.addr;
    let ready = server.wait_ready();
    let subject = "Oggetto riservato 4711";
    let requests = [
        (
            format!("/api/v1/messages/{CITIZEN}"),
            Some(json!({"content": {"subject": subject, "markdown": markdown()}})),
        ),
        (
            format!("/api/v1/messages/{CITIZEN}"),
            Some(json!({"content": {"subject": "short", "markdown": "x"}})),
        ),
        (
            "/api/v1/messages/RSSMRA85T10A562T".to_owned(),
            Some(json!({"content": {"subject": subject, "markdown": markdown()}})),
        ),
    ];
    for (path, body) in requests {
        common::send(
            addr,
            "POST",
            &path,
            &[("ocp-apim-subscription-key", &key)],
            body.map(|b| b.to_string()),
        )
        .await;
    }
    common::send(
        addr,
        "GET",
        &format!("/api/v1/profiles/{CITIZEN}"),
        &[("ocp-apim-subscription-key", &key)],
        None,
    )
    .await;
    for _ in 0..100 {
        if db
            .count("SELECT COUNT(*) FROM messages WHERE status = 'PROCESSED'")
            .await
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.kill().join("\n");
    assert!(ready);
    assert!(
        log.contains("/api/v1/messages/{fiscal_code}"),
        "requests are logged by route: {log}"
    );
    for secret in [CITIZEN, "RSSMRA85T10A562T", subject] {
        assert!(!log.contains(secret), "personal data `{secret}` in the log");
    }
    db.drop_schema().await;
}

/// The harness itself: a test that panics half-way still drops its PostgreSQL schema, so failed
/// runs do not pile schemas up on the test server.
#[test]
fn a_test_that_panics_leaves_no_postgres_schema_behind() {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let failed = std::thread::spawn(move || {
        runtime().block_on(async {
            let app = TestApp::spawn(Backend::Postgres).await;
            app.onboard().await;
            tx.send(app.db.schema.clone().unwrap()).unwrap();
            panic!("the test fails half-way");
        })
    })
    .join();
    assert!(failed.is_err(), "the inner test panicked");
    let schema = rx.recv().unwrap();
    let left = runtime().block_on(async {
        let probe = TestDb::new(Backend::Postgres).await;
        let left = probe
            .count(&format!(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{schema}'"
            ))
            .await;
        probe.drop_schema().await;
        left
    });
    assert_eq!(left, 0, "schema {schema} was left behind");
}
