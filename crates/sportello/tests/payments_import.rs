//! Bulk import of debt positions end to end, on SQLite and PostgreSQL: an NDJSON upload with
//! good lines, a malformed line, an invalid position and a repeated IUPD gets exactly one
//! outcome per line with its reason, its positions are VALID when published, and uploading the
//! same file again creates nothing; a CSV with two transfer groups; and an import stopped
//! after one chunk resumes, after a restart, with exactly one outcome per line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Backend, CITIZEN, ORG, TestApp, TestDb};
use serde_json::{Value, json};

const IBAN: &str = "IT60X0542811101000000123456";
const OTHER_ORG: &str = "15376371009";

both_backends!(
    an_ndjson_import_gives_each_line_one_outcome_and_a_re_upload_creates_nothing,
    a_csv_import_with_two_transfer_groups_creates_positions_with_both_transfers,
    an_import_stopped_after_one_chunk_resumes_with_exactly_one_outcome_per_line,
);

/// Onboards the ente and enables payments (no IO service: no pre-notice jobs); returns the
/// payments key.
async fn set_up(app: &TestApp) -> String {
    app.onboard().await;
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/payments"),
            Some(&json!({"segregation_codes": ["01"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["primary_key"].as_str().unwrap().to_owned()
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A single-payment position with one transfer (no expiry: it calls for no job).
fn position(iupd: &str, iban: &str) -> Value {
    json!({
        "iupd": iupd,
        "type": "F",
        "fiscalCode": CITIZEN,
        "fullName": "Mario Rossi",
        "companyName": "Comune di Varese",
        "switchToExpired": false,
        "paymentOption": [{
            "amount": 10_000,
            "description": "TARI 2027",
            "isPartialPayment": false,
            "dueDate": in_days(30),
            "transfer": [{"idTransfer": "1", "amount": 10_000,
                          "remittanceInformation": "TARI 2027", "category": "9/0101108TS/",
                          "iban": iban}],
        }],
    })
}

async fn upload(
    app: &TestApp,
    key: &str,
    query: &str,
    body: String,
    extra: &[(&str, &str)],
) -> common::Response {
    let mut headers = vec![("ocp-apim-subscription-key", key)];
    headers.extend_from_slice(extra);
    common::send(
        app.addr,
        "POST",
        &format!("/api/gpd/v1/organizations/{ORG}/debtpositions/imports?{query}"),
        &headers,
        Some(body),
    )
    .await
}

async fn status(app: &TestApp, key: &str, id: &str) -> Value {
    let r = common::send(
        app.addr,
        "GET",
        &format!("/api/gpd/v1/organizations/{ORG}/debtpositions/imports/{id}"),
        &[("ocp-apim-subscription-key", key)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// Polls the import until it is DONE (or 20 s pass).
async fn done(app: &TestApp, key: &str, id: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..1_000 {
        last = status(app, key, id).await;
        if last["status"] == "DONE" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the import never finished: {last}");
}

async fn report(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let r = common::send(
        app.addr,
        "GET",
        &format!("/api/gpd/v1/organizations/{ORG}/debtpositions/imports/{id}/report"),
        &[("ocp-apim-subscription-key", key)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    r.text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn summary(lines: &[Value]) -> Vec<(i64, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l["line"].as_i64().unwrap(),
                l["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn an_ndjson_import_gives_each_line_one_outcome_and_a_re_upload_creates_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let key = set_up(&app).await;
    let file = [
        position("IMP-1", IBAN).to_string(),
        "{\"iupd\": \"IMP-2\", not json".to_owned(),
        position("IMP-3", "IT00X0000000000000000000000").to_string(),
        position("IMP-1", IBAN).to_string(),
        String::new(),
        position("IMP-4", IBAN).to_string(),
    ]
    .join("\n");
    let r = upload(
        &app,
        &key,
        "format=ndjson&toPublish=true",
        file.clone(),
        &[],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let s = done(&app, &key, &id).await;
    assert_eq!(
        (
            &s["total"],
            &s["created"],
            &s["duplicates"],
            &s["rejected"],
            &s["pending"]
        ),
        (&json!(5), &json!(2), &json!(1), &json!(2), &json!(0)),
        "{s}"
    );
    assert_eq!(s["progress"], 1.0);
    let lines = report(&app, &key, &id).await;
    assert_eq!(
        summary(&lines),
        [
            (1, "CREATED".into()),
            (2, "REJECTED".into()),
            (3, "REJECTED".into()),
            (4, "DUPLICATE".into()),
            (6, "CREATED".into()),
        ],
        "one outcome per line, the blank line 5 excluded: {lines:?}"
    );
    assert_eq!(lines[0]["iupd"], "IMP-1");
    assert!(lines[0]["reason"].is_null());
    let reason = |i: usize| lines[i]["reason"].as_str().unwrap().to_owned();
    assert!(
        reason(1).contains("line 2: not valid JSON"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains("iban"), "{}", reason(2));
    assert_eq!(lines[2]["iupd"], "IMP-3");
    assert_eq!(
        reason(3),
        "IUPD IMP-1 repeats line 1 of this file: nothing was changed"
    );
    // The positions exist, published.
    for iupd in ["IMP-1", "IMP-4"] {
        let r = app
            .request(
                "GET",
                &format!("/api/gpd/v1/organizations/{ORG}/debtpositions/{iupd}"),
                &[("ocp-apim-subscription-key", &key)],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "VALID");
    }
    let positions = "SELECT COUNT(*) FROM payment_positions";
    assert_eq!(app.db.count(positions).await, 2);
    // The same file again: nothing new, every position line a duplicate.
    let r = upload(
        &app,
        &key,
        "format=ndjson&toPublish=true",
        file.clone(),
        &[],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let again = r.body["id"].as_str().unwrap().to_owned();
    assert_ne!(again, id);
    let s = done(&app, &key, &again).await;
    assert_eq!(
        (&s["created"], &s["duplicates"], &s["rejected"]),
        (&json!(0), &json!(3), &json!(2)),
        "{s}"
    );
    let lines = report(&app, &key, &again).await;
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("already has a debt position with IUPD IMP-1"),
        "{lines:?}"
    );
    assert_eq!(app.db.count(positions).await, 2);
    // With an idempotency key, the second upload answers with the first import.
    let k = [("idempotency-key", "lotto-2027-01")];
    let first = upload(&app, &key, "format=ndjson", file.clone(), &k).await;
    let second = upload(&app, &key, "format=ndjson", file, &k).await;
    assert_eq!((first.status, second.status), (202, 202));
    assert_eq!(first.body["id"], second.body["id"]);
    done(&app, &key, first.body["id"].as_str().unwrap()).await;
    // An undecodable upload is refused at once; another ente's key sees nothing.
    let r = upload(&app, &key, "format=ndjson", "[1, 2]".into(), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = upload(&app, &key, "format=xml", "x".into(), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = common::send(
        app.addr,
        "GET",
        &format!(
            "/api/gpd/v1/organizations/{ORG}/debtpositions/imports/01J9ZQ3V5T8K2M4N6P8R0S2T4V"
        ),
        &[("ocp-apim-subscription-key", &key)],
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    app.finish().await;
}

async fn a_csv_import_with_two_transfer_groups_creates_positions_with_both_transfers(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let key = set_up(&app).await;
    let due = in_days(30);
    let csv = format!(
        "iupd,type,fiscalCode,fullName,city,companyName,switchToExpired,amount,description,dueDate,\
         transfer1_idTransfer,transfer1_amount,transfer1_remittanceInformation,transfer1_category,transfer1_iban,\
         transfer2_idTransfer,transfer2_amount,transfer2_organizationFiscalCode,transfer2_remittanceInformation,transfer2_category,transfer2_iban\r\n\
         CSV-1,F,{CITIZEN},Mario Rossi,\"Varese, VA\",Comune di Varese,false,10000,TARI 2027,{due},\
         1,7000,quota comune,9/0101108TS/,{IBAN},2,3000,{OTHER_ORG},quota provincia,9/0101108TS/,IT42L1234512345123456789012\r\n\
         CSV-2,F,{CITIZEN},Mario Rossi,,Comune di Varese,,5000,TARI 2027,{due},\
         1,5000,quota comune,9/0101108TS/,{IBAN},,,,,,\r\n\
         CSV-3,F,{CITIZEN},Mario Rossi,,Comune di Varese,,5000,TARI 2027,{due},\
         1,4000,quota comune,9/0101108TS/,{IBAN},,,,,,\r\n"
    );
    let r = upload(
        &app,
        &key,
        "format=csv",
        csv,
        &[("content-type", "text/csv")],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let s = done(&app, &key, &id).await;
    assert_eq!(s["format"], "csv");
    assert_eq!(
        (&s["total"], &s["created"], &s["rejected"]),
        (&json!(3), &json!(2), &json!(1)),
        "{s}"
    );
    let lines = report(&app, &key, &id).await;
    assert_eq!(
        summary(&lines),
        [
            (2, "CREATED".into()),
            (3, "CREATED".into()),
            (4, "REJECTED".into())
        ]
    );
    let why = lines[2]["reason"].as_str().unwrap();
    assert!(why.contains("sum of its transfers"), "{why}");
    let r = app
        .request(
            "GET",
            &format!("/api/gpd/v1/organizations/{ORG}/debtpositions/CSV-1"),
            &[("ocp-apim-subscription-key", &key)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "DRAFT", "not published: toPublish absent");
    assert_eq!(r.body["city"], "Varese, VA");
    let t = r.body["paymentOption"][0]["transfer"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1]["organizationFiscalCode"], OTHER_ORG);
    // A header with an unknown column is refused at once.
    let r = upload(
        &app,
        &key,
        "format=csv",
        "iupd,colour\r\nX,red\r\n".into(),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("colour"), "{}", r.text);
    app.finish().await;
}

async fn an_import_stopped_after_one_chunk_resumes_with_exactly_one_outcome_per_line(
    backend: Backend,
) {
    const N: usize = 25;
    let db = TestDb::new(backend).await;
    // No workers: the import's job waits while one chunk is processed by hand.
    let app = TestApp::spawn_on(db, |c| c.workers = 0).await;
    let key = set_up(&app).await;
    let file: Vec<String> = (0..N)
        .map(|i| position(&format!("RES-{i:03}"), IBAN).to_string())
        .collect();
    let r = upload(
        &app,
        &key,
        "format=ndjson&toPublish=true",
        file.join("\n"),
        &[],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();

    // One chunk of 10 through the use case, on a store of its own (as another node would).
    let store = sportello::app::open_store(&app.db.config(), false)
        .await
        .unwrap();
    let keyring = seal::Keyring::parse(&app.db.content_keys).unwrap();
    let notices = ops::payments::NoticeAllocator::new(1);
    let cx = ops::payments::PayContext {
        store: &store,
        clock: app.clock.as_ref(),
        jobs_ready: &ops::NoWorkers,
        notices: &notices,
    };
    let import_id = payments::import::ImportId::parse(&id).unwrap();
    let run = ops::imports::Run {
        chunk: 10,
        max_chunks: Some(1),
        lease: None,
    };
    let n = ops::imports::process(cx, &keyring, &import_id, run)
        .await
        .unwrap();
    assert_eq!(n, 10);
    let s = status(&app, &key, &id).await;
    assert_eq!(s["status"], "RUNNING");
    assert_eq!((&s["created"], &s["pending"]), (&json!(10), &json!(15)));
    let lines = report(&app, &key, &id).await;
    assert_eq!(lines.len(), N);
    assert_eq!(lines[9]["outcome"], "CREATED");
    assert_eq!(lines[10]["outcome"], "PENDING");
    drop(store);

    // The process stops; started again with a worker, the job takes over the rest.
    let db = app.stop().await;
    let app = TestApp::spawn_on(db, |c| c.workers = 1).await;
    let s = done(&app, &key, &id).await;
    assert_eq!(
        (&s["total"], &s["created"], &s["duplicates"], &s["rejected"]),
        (&json!(25), &json!(25), &json!(0), &json!(0)),
        "{s}"
    );
    app.pass_leases().await;
    let lines = report(&app, &key, &id).await;
    let numbers: Vec<i64> = lines.iter().map(|l| l["line"].as_i64().unwrap()).collect();
    assert_eq!(
        numbers,
        (1..=N as i64).collect::<Vec<_>>(),
        "one outcome per line"
    );
    assert!(lines.iter().all(|l| l["outcome"] == "CREATED"), "{lines:?}");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM payment_positions").await,
        N as i64
    );
    // Every notice number is its own, and no line kept its sealed body.
    assert_eq!(
        app.db
            .count("SELECT COUNT(DISTINCT nav) FROM payment_notices")
            .await,
        N as i64
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM payment_import_lines WHERE body IS NOT NULL")
            .await,
        0
    );
    app.finish().await;
}
