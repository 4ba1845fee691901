//! Fetching reporting flows from the pagoPA node, on SQLite and PostgreSQL, against a node
//! double speaking nodeForPa SOAP and FdR 3 REST: an ente with payments on a station (assigned
//! with the real CLI) and a second ente with payments but no station. The flows are fetched
//! and ingested with source `node`; a second fetch fetches nothing new; a new REST revision is
//! fetched and supersedes the first; 503s and a slow answer are retried; faults (wrong
//! password, unknown station, unknown flow) and a missing subscription key are recorded and
//! ingest nothing; the node is never asked about the other ente. A last test lets `serve`'s
//! reconciler fetch on its own interval.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;
mod common;
#[path = "support/node_double.rs"]
mod node_double;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use cli_support::Binary;
use common::{ADMIN_TOKEN, Backend, ORG, TestApp, TestDb};
use node_double::{Call, NodeDouble};
use pagopa::fdr::{Flow, FlowLine, OutcomeCode, Receiver, Sender, SenderKind, Version};
use pagopa::fdr_read::{FlowFormat, ReportedFlow};
use serde_json::{Value, json};
use sportello::app::{Running, open_store, start_with_clock};
use sportello::config::{NodeFetchConfig, Secret};
use sportello::node_fetch::{FetchReport, Tuning, fetch_flows_with};
use tokio::net::TcpListener;

const OTHER_ORG: &str = "15376371009";
const BROKER: &str = "80007580279";
const STATION: &str = "80007580279_01";
const PASSWORD: &str = "Staz10ne!pass";
const API_KEY: &str = "fdr-subscription-key-0123456789";
const WAIT: Duration = Duration::from_secs(30);

/// A Sportello in this process whose state the test reaches (to call the fetch itself).
struct App {
    addr: SocketAddr,
    running: Option<Running>,
    db: TestDb,
}

impl App {
    async fn start(backend: Backend) -> Self {
        let db = TestDb::new(backend).await;
        let config = db.config();
        let store = open_store(&config, true).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clock = Arc::new(kernel::TestClock::running());
        let running = start_with_clock(&config, store, Some(listener), clock)
            .await
            .unwrap();
        Self {
            addr: running.addr,
            running: Some(running),
            db,
        }
    }

    fn state(&self) -> &api::AppState {
        &self.running.as_ref().unwrap().state
    }

    async fn fetch(&self, cfg: &NodeFetchConfig) -> FetchReport {
        fetch_flows_with(cfg, self.state(), &quick()).await
    }

    async fn finish(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.db.drop_schema().await;
    }
}

/// Calls as `serve` makes them, with shorter waits so the test does not idle.
fn quick() -> Tuning {
    Tuning {
        timeout: Duration::from_millis(1_500),
        attempts: 3,
        backoff: Duration::from_millis(50),
        ..Tuning::default()
    }
}

fn config(soap: Option<&NodeDouble>, rest: Option<&NodeDouble>, password: &str) -> NodeFetchConfig {
    NodeFetchConfig {
        soap_url: soap.map(NodeDouble::soap_url),
        rest_url: rest.map(NodeDouble::rest_url),
        password: Some(Secret(password.to_owned())),
        api_key: Some(Secret(API_KEY.to_owned())),
        interval: Duration::from_secs(3_600),
    }
}

/// Runs the real binary off the runtime's threads (the server under test shares them).
async fn run_cli(bin: Binary, args: &[&str]) -> cli_support::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        bin.run(&refs)
    })
    .await
    .unwrap()
}

async fn admin(addr: SocketAddr, method: &str, path: &str, body: Value) -> common::Response {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    common::send(
        addr,
        method,
        &format!("/api/admin/v1{path}"),
        &[("authorization", &auth)],
        Some(body.to_string()),
    )
    .await
}

/// ORG and OTHER_ORG with payments; only ORG on the station (with the CLI). Returns ORG's
/// payments key.
async fn set_up(addr: SocketAddr, db: &TestDb) -> String {
    for (org, name) in [
        (ORG, "Comune di Varese"),
        (OTHER_ORG, "Provincia di Varese"),
    ] {
        let r = admin(
            addr,
            "POST",
            "/organizations",
            json!({"fiscal_code": org, "name": name}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let mut key = String::new();
    for (org, seg) in [(ORG, "01"), (OTHER_ORG, "02")] {
        let r = admin(
            addr,
            "POST",
            &format!("/organizations/{org}/payments"),
            json!({"segregation_codes": [seg]}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        if org == ORG {
            key = r.body["primary_key"].as_str().unwrap().to_owned();
        }
    }
    let bin = Binary::on_database(db.data_dir.path(), &db.url, ADMIN_TOKEN, &db.content_keys);
    let out = run_cli(
        bin,
        &[
            "admin",
            "payments",
            "station",
            "--organization",
            ORG,
            "--broker-id",
            BROKER,
            "--station-id",
            STATION,
            "--json",
        ],
    )
    .await;
    assert_eq!(out.json()["organization"], ORG);
    key
}

/// A flow of `psp` to `org`, its lines (IUV, cents) paid on the regulation date.
fn flow(org: &str, id: &str, psp: &str, revision: u32, lines: &[(&str, i64)]) -> ReportedFlow {
    let regulation_date = NaiveDate::parse_from_str(&id[..10], "%Y-%m-%d").unwrap();
    let lines: Vec<FlowLine> = lines
        .iter()
        .enumerate()
        .map(|(i, (iuv, cents))| FlowLine {
            iuv: (*iuv).to_owned(),
            iur: format!("IUR{revision}{i:03}{}", &iuv[iuv.len() - 6..]),
            index: Some(1),
            amount_cents: *cents,
            outcome: OutcomeCode::Paid,
            date: regulation_date,
        })
        .collect();
    let count = lines.len();
    let total = lines.iter().map(|l| l.amount_cents).sum();
    ReportedFlow {
        flow: Flow {
            version: Version::V1_0,
            flow_id: id.to_owned(),
            flow_date_time: regulation_date.and_hms_opt(14, 30, 0).unwrap(),
            regulation_id: format!("SCT-{revision}-{}", &id[10..]),
            regulation_date,
            sender: Sender {
                kind: SenderKind::Bic,
                id: psp.to_owned(),
                name: Some("PSP di prova S.p.A.".to_owned()),
            },
            bic_pouring_bank: None,
            receiver: Receiver {
                id: org.to_owned(),
                name: Some("Ente di prova".to_owned()),
            },
            lines,
        },
        psp_id: psp.to_owned(),
        revision,
        declared_count: count as u64,
        declared_total_cents: total,
        format: FlowFormat::Rest,
        receiver_organization: Some(org.to_owned()),
        transfer_ids: vec![Some(1); count],
    }
}

/// The flows ORG holds, as the API lists them.
async fn flows(addr: SocketAddr, key: &str) -> Vec<Value> {
    let r = common::send(
        addr,
        "GET",
        &format!("/api/payments/v1/organizations/{ORG}/reporting-flows"),
        &[("ocp-apim-subscription-key", key)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["flows"].as_array().unwrap().clone()
}

fn find<'a>(flows: &'a [Value], id: &str, revision: u64) -> &'a Value {
    flows
        .iter()
        .find(|f| f["flow_id"] == id && f["revision"] == revision)
        .unwrap_or_else(|| panic!("flow {id} revision {revision} not held: {flows:#?}"))
}

fn ids(flows: &[Value]) -> BTreeSet<(String, u64)> {
    flows
        .iter()
        .map(|f| {
            (
                f["flow_id"].as_str().unwrap().to_owned(),
                f["revision"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn assert_clean(report: &FetchReport) {
    assert!(report.failed.is_empty(), "{report:#?}");
}

const F1: &str = "2026-01-15BCITITMM-1";
const F2: &str = "2026-01-15UNCRITMM-7";
const F3: &str = "2026-01-16BCITITMM-2";
const F4: &str = "2026-01-19BCITITMM-3";
const F5: &str = "2026-01-20UNCRITMM-8";
const F6: &str = "2026-01-21UNCRITMM-9";
const FO: &str = "2026-01-15BCITITMM-100";

async fn fetching_from_the_node(backend: Backend) {
    let app = App::start(backend).await;
    let key = set_up(app.addr, &app.db).await;
    let node = NodeDouble::start(BROKER, STATION, PASSWORD, &[ORG, OTHER_ORG]).await;
    node.require_api_key(API_KEY);
    // Pages of two: three flows list on two pages, three payments come in two.
    node.max_page_size(2);
    node.publish(
        ORG,
        flow(
            ORG,
            F1,
            "BCITITMM",
            1,
            &[("01000000000000101", 12_050), ("01000000000000202", 3_000)],
        ),
    );
    node.publish(
        ORG,
        flow(
            ORG,
            F2,
            "UNCRITMM",
            1,
            &[
                ("01000000000000303", 1_000),
                ("01000000000000404", 2_000),
                ("01000000000000505", 3_000),
            ],
        ),
    );
    node.publish(
        ORG,
        flow(ORG, F3, "BCITITMM", 1, &[("01000000000000606", 700)]),
    );
    // The other ente has flows too: the fetch must never ask for them.
    node.publish(
        OTHER_ORG,
        flow(OTHER_ORG, FO, "BCITITMM", 1, &[("02000000000000101", 500)]),
    );

    // FdR 3 REST: the three flows, their payments assembled across pages.
    let rest = config(None, Some(&node), PASSWORD);
    let report = app.fetch(&rest).await;
    assert_clean(&report);
    assert_eq!(
        (
            report.organizations,
            report.listed,
            report.fetched,
            report.known
        ),
        (1, 3, 3, 0),
        "{report:#?}"
    );
    assert_eq!(node.calls(Call::RestList), 2);
    assert_eq!(node.calls(Call::RestHeader), 3);
    assert_eq!(node.calls(Call::RestPayments), 1 + 2 + 1);
    assert!(
        node.keys_seen()
            .iter()
            .all(|k| k.as_deref() == Some(API_KEY))
    );
    let held = flows(app.addr, &key).await;
    assert_eq!(held.len(), 3, "{held:#?}");
    for f in &held {
        assert_eq!(f["source"], "node", "{f}");
        assert_eq!(f["format"], "REST", "{f}");
    }
    let f2 = find(&held, F2, 1);
    assert_eq!(f2["lines_count"], 3);
    assert_eq!(f2["lines_total"], 6_000);
    assert_eq!(f2["psp_id"], "UNCRITMM");
    assert_eq!(find(&held, F1, 1)["lines_total"], 15_050);

    // Again: only the list is read.
    let before = node.total_calls();
    let report = app.fetch(&rest).await;
    assert_clean(&report);
    assert_eq!((report.listed, report.fetched, report.known), (3, 0, 3));
    assert_eq!(node.total_calls() - before, 2, "only the two list pages");
    assert_eq!(node.calls(Call::RestHeader), 3);

    // nodeForPa SOAP and REST together: a new flow comes once, by SOAP (XML).
    node.publish(
        ORG,
        flow(ORG, F4, "BCITITMM", 1, &[("01000000000000707", 4_200)]),
    );
    let both = config(Some(&node), Some(&node), PASSWORD);
    let report = app.fetch(&both).await;
    assert_clean(&report);
    assert_eq!(report.fetched, 1, "{report:#?}");
    assert_eq!(node.calls(Call::SoapList), 1);
    assert_eq!(node.calls(Call::SoapFlow), 1);
    assert_eq!(node.calls(Call::RestHeader), 3, "REST found F4 held");
    let held = flows(app.addr, &key).await;
    let f4 = find(&held, F4, 1);
    assert_eq!(
        (f4["source"].as_str(), f4["format"].as_str()),
        (Some("node"), Some("XML"))
    );
    assert_eq!(f4["lines_total"], 4_200);
    let before = node.total_calls();
    let report = app.fetch(&both).await;
    assert_clean(&report);
    assert_eq!(report.fetched, 0, "{report:#?}");
    assert_eq!(node.calls(Call::SoapFlow), 1);
    assert_eq!(
        node.total_calls() - before,
        1 + 2,
        "the SOAP list and two REST list pages"
    );

    // The PSP republishes F2: revision 2 is fetched and supersedes revision 1.
    node.publish(
        ORG,
        flow(
            ORG,
            F2,
            "UNCRITMM",
            2,
            &[("01000000000000303", 1_000), ("01000000000000404", 2_500)],
        ),
    );
    let report = app.fetch(&both).await;
    assert_clean(&report);
    assert_eq!(
        (report.fetched, report.older_revisions),
        (1, 1),
        "{report:#?}"
    );
    assert_eq!(node.calls(Call::SoapFlow), 1, "SOAP holds F2 already");
    assert_eq!(node.calls(Call::RestHeader), 4);
    let held = flows(app.addr, &key).await;
    let (first, second) = (find(&held, F2, 1), find(&held, F2, 2));
    assert_eq!(first["superseded"], true, "{first}");
    assert_eq!(second["superseded"], false, "{second}");
    assert_eq!(second["lines_total"], 3_500);

    // Two 503s, then the node answers: retried, fetched.
    node.publish(
        ORG,
        flow(ORG, F5, "UNCRITMM", 1, &[("01000000000000808", 900)]),
    );
    let soap = config(Some(&node), None, PASSWORD);
    node.fail_next(2);
    let lists = node.calls(Call::SoapList);
    let report = app.fetch(&soap).await;
    assert_clean(&report);
    assert_eq!((report.retried, report.fetched), (2, 1), "{report:#?}");
    assert_eq!(node.calls(Call::SoapList) - lists, 3);
    find(&flows(app.addr, &key).await, F5, 1);

    // A slow answer is abandoned at the timeout and asked again.
    node.publish(
        ORG,
        flow(ORG, F6, "UNCRITMM", 1, &[("01000000000000909", 1_100)]),
    );
    node.slow_next(1, Duration::from_secs(4));
    let started = Instant::now();
    let report = app.fetch(&rest).await;
    assert_clean(&report);
    assert_eq!((report.retried, report.fetched), (1, 1), "{report:#?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    find(&flows(app.addr, &key).await, F6, 1);

    // Three 503s: the call gives up, the failure names the status.
    node.fail_next(3);
    let report = app.fetch(&soap).await;
    assert_eq!(
        report.failed,
        vec![format!("{ORG} soap list: HTTP 503")],
        "{report:#?}"
    );
    assert_eq!(report.retried, 2);

    // Faults are recorded with their code, and nothing is ingested.
    const F7: &str = "2026-01-22BCITITMM-4";
    node.publish(
        ORG,
        flow(ORG, F7, "BCITITMM", 1, &[("01000000000001010", 1_200)]),
    );
    let report = app.fetch(&config(Some(&node), None, "Sbagliata!123")).await;
    assert_eq!(
        report.failed,
        vec![format!("{ORG} soap list: fault PPT_AUTENTICAZIONE")],
        "{report:#?}"
    );
    assert_eq!(report.fetched, 0);
    let other_station = NodeDouble::start(BROKER, "80007580279_99", PASSWORD, &[ORG]).await;
    other_station.publish(
        ORG,
        flow(ORG, F7, "BCITITMM", 1, &[("01000000000001010", 1_200)]),
    );
    let report = app
        .fetch(&config(Some(&other_station), None, PASSWORD))
        .await;
    assert_eq!(
        report.failed,
        vec![format!(
            "{ORG} soap list: fault PPT_STAZIONE_INT_PA_SCONOSCIUTA"
        )],
        "{report:#?}"
    );
    let mut no_key = config(None, Some(&node), PASSWORD);
    no_key.api_key = None;
    let report = app.fetch(&no_key).await;
    assert_eq!(
        report.failed,
        vec![format!("{ORG} rest list page 1: HTTP 401 (FDR-0401)")],
        "{report:#?}"
    );
    assert!(!ids(&flows(app.addr, &key).await).contains(&(F7.to_owned(), 1)));

    // A listed flow the node no longer knows: its fault, and the other flows still come.
    const F8: &str = "2026-01-23BCITITMM-5";
    node.list_phantom(ORG, F8);
    let report = app.fetch(&soap).await;
    assert_eq!(report.fetched, 1, "F7 came: {report:#?}");
    assert_eq!(
        report.failed,
        vec![format!(
            "{ORG} soap flow {F8}: fault PPT_ID_FLUSSO_SCONOSCIUTO"
        )],
        "{report:#?}"
    );
    let held = ids(&flows(app.addr, &key).await);
    assert!(held.contains(&(F7.to_owned(), 1)));
    assert!(!held.contains(&(F8.to_owned(), 1)));

    // Never a word about the other ente, nor a password in a report.
    assert_eq!(node.asked_domains(), BTreeSet::from([ORG.to_owned()]));
    assert_eq!(
        other_station.asked_domains(),
        BTreeSet::from([ORG.to_owned()])
    );
    assert!(
        !flows(app.addr, &key)
            .await
            .iter()
            .any(|f| f["flow_id"] == FO),
        "the other ente's flow"
    );
    app.finish().await;
}

/// `serve`'s reconciler fetches by itself on its interval, with the configuration's URLs.
async fn the_reconciler_fetches_on_its_interval(backend: Backend) {
    let node = NodeDouble::start(BROKER, STATION, PASSWORD, &[ORG]).await;
    node.require_api_key(API_KEY);
    node.publish(
        ORG,
        flow(ORG, F1, "BCITITMM", 1, &[("01000000000000101", 12_050)]),
    );
    node.publish(
        ORG,
        flow(ORG, F2, "UNCRITMM", 1, &[("01000000000000303", 1_000)]),
    );
    let fetch = sportello::config::Config::load(&sportello::config::ConfigArgs {
        pagopa_node_url: Some(node.soap_url()),
        pagopa_fdr_url: Some(node.rest_url()),
        pagopa_station_password: Some(PASSWORD.to_owned()),
        pagopa_api_key: Some(API_KEY.to_owned()),
        pagopa_fetch_interval_seconds: Some(1),
        ..Default::default()
    })
    .unwrap()
    .node_fetch
    .expect("the node URLs configure fetching");
    assert_eq!(fetch.interval, Duration::from_secs(1));
    let db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| {
        c.node_fetch = Some(fetch);
        c.recon_interval = Some(Duration::from_millis(200));
    })
    .await;
    let key = set_up(app.addr, &app.db).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let held = flows(app.addr, &key).await;
        if held.len() == 2 {
            assert!(held.iter().all(|f| f["source"] == "node"), "{held:#?}");
            break;
        }
        assert!(Instant::now() < deadline, "not fetched in time: {held:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Fetched once: later rounds only list.
    let fetched = node.calls(Call::SoapFlow) + node.calls(Call::RestHeader);
    assert_eq!(fetched, 2);
    let lists = node.calls(Call::SoapList);
    let deadline = Instant::now() + WAIT;
    while node.calls(Call::SoapList) == lists {
        assert!(Instant::now() < deadline, "no second fetch round");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(node.calls(Call::SoapFlow) + node.calls(Call::RestHeader), 2);
    assert_eq!(node.asked_domains(), BTreeSet::from([ORG.to_owned()]));
    app.finish().await;
}

both_backends!(
    fetching_from_the_node,
    the_reconciler_fetches_on_its_interval
);
