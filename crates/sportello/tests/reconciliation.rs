//! Reconciliation end to end, on SQLite and PostgreSQL: two enti (one the beneficiary of part
//! of the other's payments) on the station; positions created through GPD's API; the node
//! simulator (the real binary) pays a month of them with every anomaly injected and writes
//! that month's reporting flows and OPI journals; the test uploads them through the API,
//! runs the match, and finds each injected anomaly in its class — and nothing else. Then:
//! re-uploads and re-runs change nothing, a bad file is refused whole with its line, an
//! anomaly is annotated and closed, the export and the day summary add up, and a reported
//! position becomes REPORTED.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cli_support::Binary;
use common::{ADMIN_TOKEN, Backend, CITIZEN, ORG, TestApp, TestDb};
use serde_json::{Value, json};

const OTHER_ORG: &str = "15376371009";
const IBAN: &str = "IT60X0542811101000000123456";
const OTHER_IBAN: &str = "IT42L1234512345123456789012";
const BROKER: &str = "80007580279";
const STATION: &str = "80007580279_01";

async fn call(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Option<String>,
    content_type: &str,
) -> common::Response {
    common::send(
        app.addr,
        method,
        path,
        &[
            ("ocp-apim-subscription-key", key),
            ("content-type", content_type),
        ],
        body,
    )
    .await
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A single payment; `split` sends 30% to OTHER_ORG.
fn position(iupd: &str, amount: i64, split: bool) -> Value {
    let transfers = if split {
        let a = amount * 7 / 10;
        json!([
            {"idTransfer": "1", "amount": a, "remittanceInformation": "TARI quota comune",
             "category": "9/0101108TS/", "iban": IBAN,
             "transferMetadata": [{"key": "capitolo", "value": "1010"}, {"key": "accertamento", "value": "2026/77"}]},
            {"idTransfer": "2", "amount": amount - a, "organizationFiscalCode": OTHER_ORG,
             "remittanceInformation": "TEFA quota provincia", "category": "9/0101108TS/",
             "iban": OTHER_IBAN},
        ])
    } else {
        json!([
            {"idTransfer": "1", "amount": amount, "remittanceInformation": "Canone unico",
             "category": "9/0101108TS/", "iban": IBAN,
             "transferMetadata": [{"key": "capitolo", "value": "2020"}]},
        ])
    };
    json!({
        "iupd": iupd,
        "type": "F",
        "fiscalCode": CITIZEN,
        "fullName": "Mario Rossi",
        "companyName": "Comune di Varese",
        "switchToExpired": false,
        "paymentOption": [{
            "amount": amount,
            "description": "Tributo",
            "isPartialPayment": false,
            "dueDate": in_days(90),
            "transfer": transfers,
        }],
    })
}

async fn run_cli(bin: Binary, args: &[&str]) -> cli_support::Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        bin.run(&refs)
    })
    .await
    .unwrap()
}

fn binary(db: &TestDb) -> Binary {
    Binary::on_database(db.data_dir.path(), &db.url, ADMIN_TOKEN, &db.content_keys)
}

/// Both enti with payments and on the station; returns their payments keys.
async fn set_up(app: &TestApp) -> (String, String) {
    app.onboard().await;
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": OTHER_ORG, "name": "Provincia di Varese"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut keys = Vec::new();
    for (org, seg) in [(ORG, "01"), (OTHER_ORG, "02")] {
        let r = app
            .admin(
                "POST",
                &format!("/organizations/{org}/payments"),
                Some(&json!({"segregation_codes": [seg]})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        keys.push(r.body["primary_key"].as_str().unwrap().to_owned());
        let out = run_cli(
            binary(&app.db),
            &[
                "admin",
                "payments",
                "station",
                "--organization",
                org,
                "--broker-id",
                BROKER,
                "--station-id",
                STATION,
                "--json",
            ],
        )
        .await;
        assert_eq!(out.json()["organization"], org);
    }
    (keys.remove(0), keys.remove(0))
}

/// Every item of an ente (all pages), checking the cursors hold together.
async fn all_items(app: &TestApp, org: &str, key: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path =
            format!("/api/payments/v1/organizations/{org}/reconciliation?limit=97{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = call(app, key, "GET", &path, None, "application/json").await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let keys: BTreeSet<&str> = out.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), out.len(), "a key twice across pages");
    out
}

async fn run(app: &TestApp, org: &str, key: &str, full: bool) -> Value {
    let r = call(
        app,
        key,
        "POST",
        &format!("/api/payments/v1/organizations/{org}/reconciliation/run?full={full}"),
        None,
        "application/json",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = xml[start..].find('<').unwrap() + start;
    &xml[start..end]
}

/// Uploads every file the simulator wrote; returns each flow's receiver and count of lines
/// kept apart (IUVs the receiver did not issue and holds no receipt for), and the number of
/// journals.
async fn upload_month(
    app: &TestApp,
    out: &Path,
    keys: &BTreeMap<&str, &str>,
) -> (BTreeMap<String, (String, u64, usize)>, usize) {
    let (mut flows, mut journals) = (BTreeMap::new(), 0);
    let mut days: Vec<_> = std::fs::read_dir(out).unwrap().flatten().collect();
    days.sort_by_key(|d| d.file_name());
    for day in days {
        let mut files: Vec<_> = std::fs::read_dir(day.path().join("fdr"))
            .unwrap()
            .flatten()
            .collect();
        files.sort_by_key(|f| f.file_name());
        for f in files {
            let xml = std::fs::read_to_string(f.path()).unwrap();
            let start = xml.find("<identificativoUnivocoRicevente>").unwrap();
            let receiver = element(&xml[start..], "codiceIdentificativoUnivoco").to_owned();
            let r = call(
                app,
                keys[receiver.as_str()],
                "POST",
                &format!("/api/payments/v1/organizations/{receiver}/reporting-flows"),
                Some(xml),
                "application/xml",
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.body["created"], true);
            let checks = r.body["checks"].as_array().unwrap();
            assert!(
                checks
                    .iter()
                    .all(|c| c.as_str().unwrap().contains(" repeats IUV ")),
                "{}",
                r.body
            );
            flows.insert(
                r.body["flow_id"].as_str().unwrap().to_owned(),
                (
                    receiver,
                    r.body["foreign_lines"].as_u64().unwrap(),
                    checks.len(),
                ),
            );
        }
        let mut files: Vec<_> = std::fs::read_dir(day.path())
            .unwrap()
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort_by_key(|f| f.file_name());
        for f in files {
            let xml = std::fs::read_to_string(f.path()).unwrap();
            let ente = element(&xml, "codice_fiscale_ente").to_owned();
            let r = call(
                app,
                keys[ente.as_str()],
                "POST",
                &format!("/api/payments/v1/organizations/{ente}/treasury"),
                Some(xml),
                "application/xml",
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.body["signature_kept"], true, "{}", r.body);
            journals += 1;
        }
    }
    (flows, journals)
}

async fn month_with_every_anomaly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (key, other_key) = set_up(&app).await;
    let keys: BTreeMap<&str, &str> = [(ORG, key.as_str()), (OTHER_ORG, other_key.as_str())].into();
    for i in 0..240 {
        let body = position(&format!("TRIB-{i:04}"), 1_000 + 37 * i, i % 2 == 0);
        let r = call(
            &app,
            &key,
            "POST",
            &format!("/api/gpd/v1/organizations/{ORG}/debtpositions?toPublish=true"),
            Some(body.to_string()),
            "application/json",
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // A month, ending two weeks ago: every PSP deadline has passed.
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(44);
    let out_dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", app.addr);
    let out = run_cli(
        binary(&app.db),
        &[
            "pagopa",
            "simulate",
            "--url",
            &url,
            "--organization",
            ORG,
            "--broker-id",
            BROKER,
            "--station-id",
            STATION,
            "--share",
            "100",
            "--from",
            &from.to_string(),
            "--days",
            "30",
            "--anomalies",
            "code9,amount,duplicate,unreported,no-movement,stray,revoked",
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let summary: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(summary["paid"], 240, "{summary}");
    let injected: Vec<Value> = summary["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["injected"].as_array().unwrap().clone())
        .collect();
    let of =
        |class: &str| -> Vec<&Value> { injected.iter().filter(|a| a["class"] == class).collect() };
    for class in [
        "Code9",
        "Amount",
        "Duplicate",
        "Unreported",
        "NoMovement",
        "Stray",
        "Revoked",
    ] {
        assert!(!of(class).is_empty(), "no {class} injected: {summary}");
    }

    let (flows, journals) = upload_month(&app, out_dir.path(), &keys).await;
    assert!(
        flows.len() >= 30 && journals >= 30,
        "{} flows, {journals} journals",
        flows.len()
    );
    // The code9 line of an IUV the simulator invented with ORG's segregation code: in ORG's
    // flow it is a payment reported without receipt; in OTHER_ORG's flow it is an IUV
    // OTHER_ORG did not issue and has no receipt for, kept apart. No other line is.
    let mut apart = 0;
    for a in &injected {
        if a["class"] == "Code9" {
            let (receiver, _, _) = &flows[a["flow_id"].as_str().unwrap()];
            if receiver == OTHER_ORG {
                apart += 1;
            }
        }
    }
    let foreign: u64 = flows.values().map(|(_, n, _)| n).sum();
    assert_eq!(foreign, apart);
    // The node's rule "no line twice" is a check of exactly the flows with a duplicate line.
    let checked: BTreeSet<&str> = flows
        .iter()
        .filter(|(_, (_, _, c))| *c > 0)
        .map(|(f, _)| f.as_str())
        .collect();
    let duplicated: BTreeSet<&str> = injected
        .iter()
        .filter(|a| a["class"] == "Duplicate")
        .map(|a| a["flow_id"].as_str().unwrap())
        .collect();
    assert_eq!(checked, duplicated);

    for (org, k) in &keys {
        let r = run(&app, org, k, false).await;
        assert!(r["items"].as_u64().unwrap() > 0, "{r}");
    }
    let mut items: Vec<(String, Value)> = Vec::new();
    for (org, k) in &keys {
        for i in all_items(&app, org, k, "").await {
            items.push(((*org).to_owned(), i));
        }
    }

    // What each injected anomaly implies, item by item.
    let by_iuv_flow = |class: &str| -> BTreeSet<(String, String)> {
        of(class)
            .iter()
            .map(|a| {
                (
                    a["iuv"].as_str().unwrap().to_owned(),
                    a["flow_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let flows_of = |class: &str| -> BTreeSet<String> {
        of(class)
            .iter()
            .map(|a| a["flow_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let code9: BTreeSet<(String, String)> = by_iuv_flow("Code9")
        .into_iter()
        .filter(|(_, f)| flows[f].0 == ORG)
        .collect();
    let revoked = by_iuv_flow("Revoked");
    let duplicate = by_iuv_flow("Duplicate");
    let unreported: BTreeSet<String> = of("Unreported")
        .iter()
        .map(|a| a["iuv"].as_str().unwrap().to_owned())
        .collect();
    let no_movement = flows_of("NoMovement");
    let amount = flows_of("Amount");

    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut strays = 0;
    for (org, i) in &items {
        let class = i["class"].as_str().unwrap();
        let Some(iuv) = i["iuv"].as_str() else {
            assert_eq!(class, "TRANSFER_UNMATCHED", "{i}");
            assert!(i["documents"]["movement_id"].is_string(), "{i}");
            assert!(i["documents"].get("flow_id").is_none(), "{i}");
            strays += 1;
            continue;
        };
        let flow = i["documents"]["flow_id"].as_str().unwrap_or("").to_owned();
        let key = (iuv.to_owned(), flow.clone());
        let expected = if revoked.contains(&key) {
            "REVOKED"
        } else if duplicate.contains(&key) {
            "DUPLICATE"
        } else if code9.contains(&key) {
            "REPORTED_NOT_PAID"
        } else if unreported.contains(iuv) {
            "PAID_NOT_REPORTED"
        } else if amount.contains(&flow) {
            "AMOUNT_MISMATCH"
        } else if no_movement.contains(&flow) {
            "REPORTED_NOT_TRANSFERRED"
        } else {
            "RECONCILED"
        };
        assert_eq!(class, expected, "{org}: {i:#}");
        *seen.entry(expected).or_default() += 1;
        // Every item explains itself in both languages, naming its IUV.
        assert!(
            i["explanation"]["it"].as_str().unwrap().contains(iuv),
            "{i}"
        );
        assert!(
            i["explanation"]["en"].as_str().unwrap().contains(iuv),
            "{i}"
        );
        match class {
            "RECONCILED" => {
                for d in ["receipt_id", "flow_id", "movement_id"] {
                    assert!(i["documents"][d].is_string(), "{i}");
                }
            }
            "REPORTED_NOT_PAID" => assert!(i["documents"].get("receipt_id").is_none(), "{i}"),
            "PAID_NOT_REPORTED" => assert!(i["documents"].get("flow_id").is_none(), "{i}"),
            _ => {}
        }
    }
    assert_eq!(
        strays,
        of("Stray").len(),
        "one unmatched movement per stray credit"
    );
    assert_eq!(
        seen.get("REPORTED_NOT_PAID"),
        Some(&code9.len()),
        "{seen:?}"
    );
    assert_eq!(seen.get("REVOKED"), Some(&revoked.len()), "{seen:?}");
    assert_eq!(seen.get("DUPLICATE"), Some(&duplicate.len()), "{seen:?}");
    for class in [
        "AMOUNT_MISMATCH",
        "REPORTED_NOT_TRANSFERRED",
        "PAID_NOT_REPORTED",
    ] {
        assert!(seen.get(class).is_some_and(|n| *n > 0), "{class}: {seen:?}");
    }
    // Every paid transfer has its item: 240 receipts, half of them split in two.
    let receipt_items = items
        .iter()
        .filter(|(_, i)| i["documents"]["receipt_id"].is_string())
        .count();
    assert_eq!(receipt_items, 240 + 120);

    // Idempotent: the same files again are known, and runs change nothing.
    let day0 = std::fs::read_dir(out_dir.path())
        .unwrap()
        .flatten()
        .min_by_key(|d| d.file_name())
        .unwrap();
    let opi = std::fs::read_to_string(day0.path().join("opi.xml")).unwrap();
    let r = call(
        &app,
        &key,
        "POST",
        &format!("/api/payments/v1/organizations/{ORG}/treasury"),
        Some(opi),
        "application/xml",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], false);
    for (org, k) in &keys {
        assert_eq!(run(&app, org, k, false).await["changed"], 0);
        assert_eq!(run(&app, org, k, true).await["changed"], 0);
    }

    // A bad file is refused whole, naming the element and the line; nothing is ingested.
    let flows_before = app.db.count("SELECT COUNT(*) FROM recon_flows").await;
    let first = std::fs::read_dir(day0.path().join("fdr"))
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    let good = std::fs::read_to_string(first.path()).unwrap();
    let bad = good.replacen("<singoloImportoPagato>", "<singoloImportoPagato>x", 1);
    let r = call(
        &app,
        &key,
        "POST",
        &format!("/api/payments/v1/organizations/{ORG}/reporting-flows"),
        Some(bad),
        "application/xml",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("singoloImportoPagato") && detail.contains("line "),
        "{detail}"
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM recon_flows").await,
        flows_before
    );
    // Another ente's key cannot read or upload here.
    let r = call(
        &app,
        &other_key,
        "GET",
        &format!("/api/payments/v1/organizations/{ORG}/reconciliation"),
        None,
        "application/json",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // An anomaly annotated and closed (audited); `closed=false` then hides it.
    let (org, anomaly) = items
        .iter()
        .find(|(_, i)| i["class"] == "PAID_NOT_REPORTED")
        .unwrap();
    let k = keys[org.as_str()];
    let item_key = anomaly["key"].as_str().unwrap();
    let r = call(
        &app,
        k,
        "POST",
        &format!("/api/payments/v1/organizations/{org}/reconciliation/items/{item_key}/annotation"),
        Some(json!({"note": "sollecitato il PSP", "close": true}).to_string()),
        "application/json",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["note"], "sollecitato il PSP");
    assert!(r.body["closed_at"].is_string());
    let open = all_items(&app, org, k, "&class=PAID_NOT_REPORTED&closed=false").await;
    assert!(open.iter().all(|i| i["key"] != item_key));
    assert!(
        app.db
            .count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'payments.reconciliation.annotate'"
            )
            .await
            >= 1
    );

    // The day summary adds up to the items, and the export lists them all.
    let r = call(
        &app,
        &key,
        "GET",
        &format!(
            "/api/payments/v1/organizations/{ORG}/reconciliation/summary?from={from}&to={today}"
        ),
        None,
        "application/json",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let expected: i64 = r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["expected"].as_i64().unwrap())
        .sum();
    let receipts_total: i64 = items
        .iter()
        .filter(|(o, i)| o == ORG && i["documents"]["receipt_id"].is_string())
        .map(|(_, i)| i["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(expected, receipts_total);
    let r = call(
        &app,
        &key,
        "GET",
        &format!("/api/payments/v1/organizations/{ORG}/reconciliation/export"),
        None,
        "application/json",
    )
    .await;
    assert_eq!(r.status, 200);
    let mine = items.iter().filter(|(o, _)| o == ORG).count();
    assert_eq!(
        r.text.lines().count(),
        mine + 1,
        "header + one line per item"
    );
    assert!(
        r.text.contains(",1010,2026/77,"),
        "capitolo and accertamento exported"
    );

    // A reconciled single-transfer payment made its position REPORTED.
    let reconciled: Vec<&str> = items
        .iter()
        .filter(|(o, i)| o == ORG && i["class"] == "RECONCILED")
        .map(|(_, i)| i["iuv"].as_str().unwrap())
        .collect();
    let mut reported = 0;
    for iuv in reconciled.iter().take(40) {
        let r = call(
            &app,
            &key,
            "GET",
            &format!("/api/gpd/v1/organizations/{ORG}/paymentoptions/3{iuv}/debtposition"),
            None,
            "application/json",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == "REPORTED" {
            reported += 1;
        }
    }
    assert!(reported > 0, "no reconciled option became REPORTED");
    app.finish().await;
}

fn small_flow(receiver: &str) -> String {
    use pagopa::fdr::*;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let flow = Flow {
        version: Version::V1_1,
        flow_id: flow_id(day, "BCITITMM", 7).unwrap(),
        flow_date_time: day.and_hms_opt(9, 30, 0).unwrap(),
        regulation_id: "SCT-0001".into(),
        regulation_date: day,
        sender: Sender {
            kind: SenderKind::Bic,
            id: "BCITITMM".into(),
            name: Some("Intesa Sanpaolo".into()),
        },
        bic_pouring_bank: None,
        receiver: Receiver {
            id: receiver.into(),
            name: None,
        },
        lines: vec![FlowLine {
            iuv: "01000000000000042".into(),
            iur: "r-42".into(),
            index: Some(1),
            amount_cents: 1_250,
            outcome: OutcomeCode::NoRpt,
            date: day,
        }],
    };
    render(&flow)
}

/// The drop folder: a flow written under a temporary name and renamed is taken and moved to
/// `done/`; a broken file goes to `failed/` with the reason; a symbolic link is never
/// followed; the flow is listed with source `folder` and reconciled without any API call.
async fn drop_folder(backend: Backend) {
    let drop = tempfile::tempdir().unwrap();
    let dir = drop.path().to_owned();
    let db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| {
        c.recon_drop_dir = Some(dir.clone());
        c.recon_interval = Some(std::time::Duration::from_millis(100));
    })
    .await;
    let (key, _) = set_up(&app).await;
    let flows = drop.path().join(ORG).join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let secret = drop.path().join("secret.txt");
    std::fs::write(&secret, "not for the reconciler").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, flows.join("link.xml")).unwrap();
    std::fs::write(flows.join("bad.xml"), "<FlussoRiversamento>").unwrap();
    std::fs::write(flows.join("good.xml.tmp"), small_flow(ORG)).unwrap();
    std::fs::rename(flows.join("good.xml.tmp"), flows.join("good.xml")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !(flows.join("done/good.xml").exists() && flows.join("failed/bad.xml").exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the drop folder was not taken"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let why = std::fs::read_to_string(flows.join("failed/bad.xml.error.txt")).unwrap();
    assert!(why.contains("line "), "{why}");
    assert!(
        flows.join("link.xml").exists(),
        "the symbolic link stays where it is"
    );
    let r = call(
        &app,
        &key,
        "GET",
        &format!("/api/payments/v1/organizations/{ORG}/reporting-flows"),
        None,
        "application/json",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = r.body["flows"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", r.body);
    assert_eq!(listed[0]["source"], "folder");
    // The reconciler matched it by itself: a code-9 line with no receipt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let items = all_items(&app, ORG, &key, "").await;
        if let Some(i) = items.first() {
            assert_eq!(i["class"], "REPORTED_NOT_PAID", "{i}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never reconciled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.finish().await;
}

both_backends!(month_with_every_anomaly, drop_folder);
