//! The pagoPA node interface end to end, on SQLite and PostgreSQL: an ente (and a second
//! beneficiary ente) assigned to a station with the real CLI; positions created through GPD's
//! API; the node simulator (`sportello pagopa simulate`, the real binary) pays one installment
//! and one multi-beneficiary single payment; the positions, the IO message (PAID), the `paid`
//! callback, the receipts of both enti and the citizen's receipt PDF follow. Then raw SOAP
//! calls give every fault the issue names (duplicates, unknown, draft, expired, cancelled,
//! wrong broker/station/ente, schema, SOAPAction, XXE), and every SOAP response is validated
//! with xmllint against `envelope.xsd` + `paForNode.xsd`. Separate tests: who may call (node
//! key, CIDRs, loopback) and a receipt whose effects are applied after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use cli_support::Binary;
use common::{ADMIN_TOKEN, Backend, CITIZEN, ORG, TestApp, TestDb};
use notify::testing::HttpReceiver;
use pagopa::{
    Caller, EntityType, QrCode, Receipt, ReceiptTarget, ReceiptTransfer, Request, Subject,
};
use serde_json::{Value, json};

const SECRET: &str = "ente-callback-secret-0123456789";
const WAIT: Duration = Duration::from_secs(20);
const OTHER_ORG: &str = "15376371009";
const IBAN: &str = "IT60X0542811101000000123456";
const OTHER_IBAN: &str = "IT42L1234512345123456789012";
const BROKER: &str = "80007580279";
const STATION: &str = "80007580279_01";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference(path: &str) -> PathBuf {
    workspace_root()
        .join("../shared/reference/pagopa")
        .join(path)
}

/// xmllint and poppler, through the project's own script (once per process).
fn tools() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let out = Command::new("bash")
            .arg(workspace_root().join("scripts/test-tools.sh"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "test-tools failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// A schema importing the SOAP envelope and paForNode: the envelope's Body takes any element
/// laxly, so the operation's element inside it is validated against paForNode.xsd.
fn envelope_schema() -> &'static Path {
    static SCHEMA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = SCHEMA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("soap-pafornode.xsd");
        let text = format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
<xs:import namespace="http://schemas.xmlsoap.org/soap/envelope/" schemaLocation="{}"/>
<xs:import namespace="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd" schemaLocation="{}"/>
</xs:schema>"#,
            reference("xsd-common/envelope.xsd")
                .canonicalize()
                .unwrap()
                .display(),
            reference("wsdl/xsd/paForNode.xsd")
                .canonicalize()
                .unwrap()
                .display(),
        );
        std::fs::write(&path, text).unwrap();
        (dir, path)
    });
    path
}

/// Validates an XML document with xmllint against `schema`; panics with its complaint.
fn xmllint(xml: &[u8], schema: &Path) {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "not valid against {}: {}\n{}",
        schema.display(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
}

struct Soap {
    status: u16,
    text: String,
    response: Option<pagopa::Response>,
}

/// POSTs a SOAP body to the station; a 200 answer is validated against the XSD and parsed.
async fn soap_raw(
    app: &TestApp,
    op: pagopa::Operation,
    action: Option<&str>,
    body: &str,
    headers: &[(&str, &str)],
) -> Soap {
    let mut h: Vec<(&str, &str)> = vec![("content-type", "text/xml; charset=utf-8")];
    if let Some(a) = action {
        h.push(("soapaction", a));
    }
    h.extend_from_slice(headers);
    let r = common::send(
        app.addr,
        "POST",
        "/api/pagopa/paForNode",
        &h,
        Some(body.to_owned()),
    )
    .await;
    assert!(
        r.status < 500,
        "a 5xx from the station: {} {}",
        r.status,
        r.text
    );
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml"),
        "{:?}",
        r.headers
    );
    let response = if r.status == 200 {
        xmllint(r.text.as_bytes(), envelope_schema());
        Some(pagopa::soap::parse_response(op, r.text.as_bytes()).unwrap())
    } else {
        None
    };
    Soap {
        status: r.status,
        text: r.text,
        response,
    }
}

/// A raw verify body with no SOAPAction and these extra headers.
async fn verify_raw(app: &TestApp, body: &str, headers: &[(&str, &str)]) -> Soap {
    soap_raw(
        app,
        pagopa::Operation::VerifyPaymentNotice,
        None,
        body,
        headers,
    )
    .await
}

/// The fault of a 200 answer.
fn fault_of(s: &Soap) -> pagopa::Fault {
    s.response
        .as_ref()
        .and_then(|r| r.fault().cloned())
        .unwrap()
}

async fn soap(app: &TestApp, request: &Request) -> pagopa::Response {
    let op = request.operation();
    let s = soap_raw(
        app,
        op,
        Some(op.name()),
        &pagopa::soap::render_request(request),
        &[],
    )
    .await;
    assert_eq!(s.status, 200, "{}", s.text);
    s.response.unwrap()
}

fn fault_code(r: &pagopa::Response) -> Option<&'static str> {
    r.fault().map(|f| f.code.as_str())
}

fn caller(org: &str) -> Caller {
    Caller {
        id_pa: org.into(),
        id_broker_pa: BROKER.into(),
        id_station: STATION.into(),
    }
}

fn qr(org: &str, nav: &str) -> QrCode {
    QrCode {
        fiscal_code: org.into(),
        notice_number: nav.into(),
    }
}

/// A verify of ORG's notice `nav` by this caller.
fn verify_by(caller: Caller, nav: &str) -> Request {
    Request::Verify {
        caller,
        qr: qr(ORG, nav),
    }
}

fn verify(org: &str, nav: &str) -> Request {
    Request::Verify {
        caller: caller(org),
        qr: qr(org, nav),
    }
}

/// A getPayment of ORG's notice `nav` by ORG.
fn get_payment(v2: bool, nav: &str, transfer_type: Option<pagopa::TransferType>) -> Request {
    Request::GetPayment {
        v2,
        caller: caller(ORG),
        qr: qr(ORG, nav),
        amount: None,
        payment_note: None,
        transfer_type,
        due_date: None,
    }
}

/// A receipt for `nav` (IUV = nav without the aux digit), all to the ente's IBAN.
fn receipt(nav: &str, amount: i64, receipt_id: &str) -> Receipt {
    Receipt {
        receipt_id: receipt_id.into(),
        notice_number: nav.into(),
        fiscal_code: ORG.into(),
        outcome_ok: true,
        creditor_reference_id: nav[1..].into(),
        payment_amount: amount,
        description: "TARI 2027".into(),
        company_name: "Comune di Varese".into(),
        office_name: None,
        debtor: Subject {
            kind: EntityType::Person,
            id: CITIZEN.into(),
            full_name: "Mario Rossi".into(),
            street_name: None,
            civic_number: None,
            postal_code: None,
            city: None,
            state_province_region: None,
            country: None,
            email: None,
        },
        transfers: vec![ReceiptTransfer {
            id_transfer: 1,
            amount,
            fiscal_code_pa: ORG.into(),
            company_name: None,
            target: ReceiptTarget::Iban(IBAN.into()),
            remittance_information: "TARI 2027".into(),
            transfer_category: "9/0101108TS/".into(),
            metadata: vec![],
        }],
        id_psp: "BCITITMM".into(),
        psp_fiscal_code: Some("00799960158".into()),
        psp_partita_iva: None,
        psp_company_name: "Intesa Sanpaolo S.p.A.".into(),
        id_channel: "00799960158_01".into(),
        channel_description: "app".into(),
        payer: None,
        payment_method: Some("CP".into()),
        payment_note: None,
        fee: Some(100),
        primary_ci_incurred_fee: None,
        id_bundle: None,
        id_ci_bundle: None,
        payment_date_time: Some(chrono::Utc::now()),
        application_date: None,
        transfer_date: None,
        metadata: vec![],
        stand_in: None,
    }
}

/// [`receipt`] with the option's two transfers (see [`one_transfer`]).
fn split_receipt(nav: &str, amount: i64, receipt_id: &str) -> Receipt {
    Receipt {
        transfers: one_transfer(amount),
        ..receipt(nav, amount, receipt_id)
    }
}

fn send_rt(org: &str, r: Receipt) -> Request {
    Request::SendRt {
        v2: true,
        caller: caller(org),
        receipt: Box::new(r),
    }
}

async fn gpd(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> common::Response {
    app.request(
        method,
        &format!("/api/gpd{path}"),
        &[("ocp-apim-subscription-key", key)],
        body,
    )
    .await
}

async fn gpd_get(app: &TestApp, key: &str, path: &str) -> common::Response {
    gpd(app, key, "GET", path, None).await
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Two transfers: 70% to the ente, the rest to OTHER_ORG.
fn transfers(amount: i64) -> Value {
    let a = amount * 7 / 10;
    json!([
        {"idTransfer": "1", "amount": a, "remittanceInformation": "TARI 2027 quota comune",
         "category": "9/0101108TS/", "iban": IBAN},
        {"idTransfer": "2", "amount": amount - a, "organizationFiscalCode": OTHER_ORG,
         "remittanceInformation": "TEFA 2027 quota provincia", "category": "9/0101108TS/",
         "iban": OTHER_IBAN},
    ])
}

fn position(iupd: &str, options: Vec<Value>, switch_to_expired: bool) -> Value {
    json!({
        "iupd": iupd,
        "type": "F",
        "fiscalCode": CITIZEN,
        "fullName": "Mario Rossi",
        "companyName": "Comune di Varese",
        "officeName": "Ufficio Tributi",
        "switchToExpired": switch_to_expired,
        "paymentOption": options,
    })
}

fn option(amount: i64, days: i64, partial: bool) -> Value {
    json!({
        "amount": amount,
        "description": "TARI 2027",
        "isPartialPayment": partial,
        "dueDate": in_days(days),
        "transfer": transfers(amount),
    })
}

/// Creates (and by default publishes) a position; returns its notice numbers.
async fn create(app: &TestApp, key: &str, body: &Value, publish: bool) -> Vec<String> {
    let r = gpd(
        app,
        key,
        "POST",
        &format!("/v1/organizations/{ORG}/debtpositions?toPublish={publish}"),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["paymentOption"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["nav"].as_str().unwrap().to_owned())
        .collect()
}

async fn status_of(app: &TestApp, key: &str, iupd: &str) -> Value {
    let r = gpd_get(
        app,
        key,
        &format!("/v1/organizations/{ORG}/debtpositions/{iupd}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
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

fn binary(db: &TestDb) -> Binary {
    Binary::on_database(db.data_dir.path(), &db.url, ADMIN_TOKEN, &db.content_keys)
}

/// Onboards ORG with an IO service and callback, OTHER_ORG as a second ente, enables payments
/// for both and assigns both to the station with the CLI. Returns (ORG's payments key,
/// OTHER_ORG's payments key, service key, callback receiver).
async fn set_up(app: &TestApp) -> (String, String, String, HttpReceiver) {
    let manage = app.onboard().await;
    let (service, service_key) = app.service(&manage, json!({})).await;
    let hook = HttpReceiver::start().await;
    let r = app
        .with_key(
            &manage,
            "PUT",
            &format!("/manage/services/{service}/callback"),
            Some(&json!({"url": hook.url("/hook"), "secret": SECRET})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": OTHER_ORG, "name": "Provincia di Varese"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut keys = Vec::new();
    for (org, body) in [
        (
            ORG,
            json!({"segregation_codes": ["01"], "io_service": service}),
        ),
        (OTHER_ORG, json!({"segregation_codes": ["02"]})),
    ] {
        let r = app
            .admin(
                "POST",
                &format!("/organizations/{org}/payments"),
                Some(&body),
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
        let v = out.json();
        assert_eq!(v["organization"], org);
        assert_eq!(v["station_id"], STATION);
    }
    (keys.remove(0), keys.remove(0), service_key, hook)
}

/// Outbound calls (the callback receiver) may reach loopback.
fn loopback() -> Vec<kernel::values::Cidr> {
    vec![kernel::values::Cidr::parse("127.0.0.0/8").unwrap()]
}

async fn spawn_on(db: TestDb) -> TestApp {
    TestApp::spawn_on(db, |c| c.outbound_allow_cidrs = loopback()).await
}

async fn spawn(backend: Backend) -> TestApp {
    spawn_on(TestDb::new(backend).await).await
}

/// A server with both enti [`set_up`] and the citizen registered.
async fn start(backend: Backend) -> (TestApp, (String, String, String, HttpReceiver)) {
    let app = spawn(backend).await;
    let set = set_up(&app).await;
    app.citizen(json!({"fiscal_code": CITIZEN})).await;
    (app, set)
}

async fn message_of(app: &TestApp, key: &str, iupd: &str) -> String {
    for _ in 0..400 {
        let r = gpd_get(
            app,
            key,
            &format!("/v1/organizations/{ORG}/debtpositions/{iupd}/history"),
        )
        .await;
        if r.body["preNotices"][0]["status"] == "PROCESSED" {
            return r.body["preNotices"][0]["messageId"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pre-notice processed for {iupd}");
}

async fn wait_paid(app: &TestApp, service_key: &str, message_id: &str) {
    for _ in 0..400 {
        let m = app
            .with_key(
                service_key,
                "GET",
                &format!("/messages/{CITIZEN}/{message_id}"),
                None,
            )
            .await;
        if m.body["payment_status"] == "PAID" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {message_id} never showed PAID");
}

/// The `paid` callbacks heard so far for `message_id`, after waiting for at least `n`.
async fn paid_callbacks(hook: &HttpReceiver, message_id: &str, n: usize) -> usize {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let events: Vec<Value> = hook
            .wait_for(1, Duration::from_millis(200))
            .await
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .collect();
        let seen = events
            .iter()
            .filter(|e| e["status"] == "paid" && e["message_id"] == message_id)
            .count();
        if seen >= n || std::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pdf_text(pdf: &[u8]) -> String {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn node_end_to_end(backend: Backend) {
    let (app, (key, other_key, service_key, hook)) = start(backend).await;

    // A plan of three installments and a single payment, both split with OTHER_ORG.
    let plan = create(
        &app,
        &key,
        &position(
            "TARI-2027-PLAN",
            vec![
                option(30_000, 10, true),
                option(30_000, 40, true),
                option(40_099, 70, true),
            ],
            false,
        ),
        true,
    )
    .await;
    let single = create(
        &app,
        &key,
        &position("TARI-2027-ONE", vec![option(12_345, 20, false)], false),
        true,
    )
    .await;
    let message_id = message_of(&app, &key, "TARI-2027-PLAN").await;

    // The simulator pays the first installment and the single payment.
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
            "--notice",
            &plan[0],
            &single[0],
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let summary: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(summary["paid"], 2, "{summary}");
    assert_eq!(summary["refused"], json!({}), "{summary}");
    // verify + getPayment + sendRT to ORG + sendRT to OTHER_ORG, twice
    assert_eq!(summary["calls"], 8, "{summary}");

    // GPD's plan rules: one installment paid → PARTIALLY_PAID; the single payment → PAID.
    let p = status_of(&app, &key, "TARI-2027-PLAN").await;
    assert_eq!(p["status"], "PARTIALLY_PAID", "{p}");
    assert_eq!(p["paymentOption"][0]["status"], "PO_PAID");
    assert_eq!(p["paymentOption"][1]["status"], "PO_UNPAID");
    let s = status_of(&app, &key, "TARI-2027-ONE").await;
    assert_eq!(s["status"], "PAID", "{s}");
    assert_eq!(s["paymentOption"][0]["status"], "PO_PAID");
    assert!(
        s["paymentOption"][0]["pspCompany"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{s}"
    );

    // The IO message of the installment is PAID and the ente hears `paid` once.
    wait_paid(&app, &service_key, &message_id).await;
    assert_eq!(paid_callbacks(&hook, &message_id, 1).await, 1);

    // Both enti hold their receipts: the issuer APPLIED, the beneficiary its own share.
    let r = gpd_get(&app, &key, &format!("/v1/organizations/{ORG}/receipts")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mine = r.body["receiptsList"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 2, "{}", r.body);
    assert!(mine.iter().all(|x| x["effect"] == "APPLIED"), "{mine:?}");
    let r = gpd_get(
        &app,
        &other_key,
        &format!("/v1/organizations/{OTHER_ORG}/receipts"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let theirs = r.body["receiptsList"].as_array().unwrap().clone();
    assert_eq!(theirs.len(), 2, "{}", r.body);
    let mut own: Vec<i64> = theirs
        .iter()
        .map(|x| {
            assert_eq!(x["effect"], "BENEFICIARY");
            x["ownAmount"].as_i64().unwrap()
        })
        .collect();
    own.sort();
    let mut expected = vec![30_000 - 30_000 * 7 / 10, 12_345 - 12_345 * 7 / 10];
    expected.sort();
    assert_eq!(own, expected);
    // Another ente's key cannot read ORG's receipts.
    let r = gpd_get(
        &app,
        &other_key,
        &format!("/v1/organizations/{ORG}/receipts"),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The full receipt for one IUV, with its transfers.
    let iuv = &single[0][1..];
    let r = gpd_get(
        &app,
        &key,
        &format!("/v1/organizations/{ORG}/receipts/{iuv}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let full = &r.body["receipts"][0];
    assert_eq!(full["amount"], 12_345);
    assert_eq!(full["debtor"]["fiscalCode"], CITIZEN);
    assert_eq!(full["transfers"].as_array().unwrap().len(), 2);
    assert_eq!(full["transfers"][1]["fiscalCodePA"], OTHER_ORG);
    let receipt_id = full["receiptId"].as_str().unwrap().to_owned();

    // The citizen sees the receipt and gets its PDF; another citizen does not.
    let token = app.session(CITIZEN).await;
    let auth = format!("Bearer {token}");
    let list = app
        .request(
            "GET",
            "/api/citizen/v1/payments",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let urls: Vec<String> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["paymentOptions"].as_array().unwrap().clone())
        .filter_map(|o| o["receiptUrl"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(urls.len(), 2, "{}", list.body);
    let pdf_url = format!("/api/citizen/v1/payments/receipts/{ORG}/{receipt_id}");
    assert!(urls.contains(&pdf_url), "{urls:?}");
    let pdf = app
        .request("GET", &pdf_url, &[("authorization", &auth)], None)
        .await;
    assert_eq!(pdf.status, 200, "{}", pdf.text);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    let text = pdf_text(&pdf.bytes);
    assert!(text.contains(&receipt_id[..16]), "{text}");
    assert!(text.contains("123,45"), "{text}");
    app.citizen(json!({"fiscal_code": "VRDGPP80A01F205X"}))
        .await;
    let other = app.session("VRDGPP80A01F205X").await;
    let denied = app
        .request(
            "GET",
            &pdf_url,
            &[("authorization", &format!("Bearer {other}"))],
            None,
        )
        .await;
    assert_eq!(denied.status, 404, "{}", denied.text);
    // The beneficiary ente's copy is no receipt for the citizen to print.
    let copy = app
        .request(
            "GET",
            &format!("/api/citizen/v1/payments/receipts/{OTHER_ORG}/{receipt_id}"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(copy.status, 404, "{}", copy.text);

    // The day files: one flow per (beneficiary ente, PSP, IBAN), valid, and the journal.
    let day = chrono::Utc::now().date_naive().to_string();
    let fdr_dir = out_dir.path().join(&day).join("fdr");
    let flows: Vec<PathBuf> = std::fs::read_dir(&fdr_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!flows.is_empty() && flows.len() <= 4, "{flows:?}");
    let mut lines = 0;
    for f in &flows {
        let xml = std::fs::read_to_string(f).unwrap();
        xmllint(
            xml.as_bytes(),
            &reference("xsd-common/FlussoRiversamento_1_0_4.xsd"),
        );
        lines += xml.matches("<identificativoUnivocoVersamento>").count();
    }
    assert_eq!(lines, 4, "two payments of two transfers each");
    let opi = out_dir.path().join(&day).join("opi.xml");
    assert!(opi.is_file(), "no treasury journal at {}", opi.display());

    faults(&app, &key, &plan, &single).await;
    app.finish().await;
}

/// Every refusal the issue lists, through raw SOAP calls.
async fn faults(app: &TestApp, key: &str, plan: &[String], single: &[String]) {
    // A paid notice: verify and getPayment say DUPLICATO.
    let r = soap(app, &verify(ORG, &single[0])).await;
    assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_DUPLICATO"));
    // Unknown notice.
    let r = soap(app, &verify(ORG, "301999999999999953")).await;
    assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_SCONOSCIUTO"));

    // The second installment through our own receipt: OK, then the same receipt again is a
    // duplicate with no second effect.
    let v = soap(app, &verify(ORG, &plan[1])).await;
    match &v {
        pagopa::Response::Verify(Ok(ok)) => {
            assert_eq!(ok.amount, 30_000);
            assert_eq!(ok.fiscal_code_pa, ORG);
            assert!(!ok.all_ccp);
        }
        other => panic!("verify refused: {other:?}"),
    }
    let g = soap(app, &get_payment(false, &plan[1], None)).await;
    match &g {
        pagopa::Response::GetPayment { result: Ok(d), .. } => {
            assert_eq!(d.payment_amount, 30_000);
            assert_eq!(d.creditor_reference_id, plan[1][1..]);
            assert_eq!(d.transfers.len(), 2);
            assert_eq!(d.transfers[1].fiscal_code_pa, OTHER_ORG);
            assert_eq!(
                d.transfers[1].target,
                pagopa::TransferTarget::Iban(OTHER_IBAN.into())
            );
            assert_eq!(
                d.last_payment,
                Some(false),
                "the third installment is still open"
            );
            assert_eq!(d.debtor.id, CITIZEN);
        }
        other => panic!("getPayment refused: {other:?}"),
    }
    let rt = receipt(&plan[1], 30_000, "rt-test-0002");
    let r = soap(app, &send_rt(ORG, rt.clone())).await;
    assert_eq!(fault_code(&r), None, "{r:?}");
    let r = soap(app, &send_rt(ORG, rt.clone())).await;
    assert_eq!(fault_code(&r), Some("PAA_RECEIPT_DUPLICATA"));
    // Another receipt for the paid installment is kept as a double payment, and answered the
    // same way when the node sends it again.
    for _ in 0..2 {
        let r = soap(
            app,
            &send_rt(ORG, receipt(&plan[1], 30_000, "rt-test-0003")),
        )
        .await;
        assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_DUPLICATO"));
    }
    // A used receipt id for another notice is an error, not a duplicate.
    let r = soap(
        app,
        &send_rt(ORG, receipt(&plan[2], 40_099, "rt-test-0002")),
    )
    .await;
    assert_eq!(fault_code(&r), Some("PAA_SEMANTICA"));
    // Transfers that do not add up to the amount.
    let mut bad = receipt(&plan[2], 40_099, "rt-test-0004");
    bad.payment_amount = 40_000;
    let r = soap(app, &send_rt(ORG, bad)).await;
    assert_eq!(fault_code(&r), Some("PAA_SEMANTICA"));
    let r = gpd_get(
        app,
        key,
        &format!("/v1/organizations/{ORG}/receipts/{}", &plan[1][1..]),
    )
    .await;
    let effects: Vec<&str> = r.body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["effect"].as_str().unwrap())
        .collect();
    assert_eq!(effects, vec!["APPLIED", "DOUBLE_PAYMENT"]);
    let history = gpd_get(
        app,
        key,
        "/v1/organizations/00441340122/debtpositions/TARI-2027-PLAN/history",
    )
    .await;
    let paid_events = history.body["history"]
        .as_array()
        .map_or(0, |h| h.iter().filter(|e| e["action"] == "paid").count());
    assert_eq!(paid_events, 2, "{}", history.body);
    // The last installment: lastPayment now true.
    let g = soap(
        app,
        &get_payment(true, &plan[2], Some(pagopa::TransferType::Postal)),
    )
    .await;
    match &g {
        pagopa::Response::GetPayment { result: Ok(d), .. } => {
            assert_eq!(d.last_payment, Some(true))
        }
        other => panic!("{other:?}"),
    }

    // A draft, a cancelled and an expiring position.
    let draft = create(
        app,
        key,
        &position("DRAFT-1", vec![option(1_000, 10, false)], false),
        false,
    )
    .await;
    let r = soap(app, &verify(ORG, &draft[0])).await;
    assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_SCONOSCIUTO"));
    let cancelled = create(
        app,
        key,
        &position("CANCEL-1", vec![option(1_000, 10, false)], false),
        true,
    )
    .await;
    let r = gpd(
        app,
        key,
        "POST",
        &format!("/v1/organizations/{ORG}/debtpositions/CANCEL-1/invalidate"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = soap(app, &verify(ORG, &cancelled[0])).await;
    assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_ANNULLATO"));
    let r = soap(
        app,
        &send_rt(ORG, receipt(&cancelled[0], 1_000, "rt-cancelled")),
    )
    .await;
    assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_ANNULLATO"));

    // The caller's identity.
    let mut c = caller(ORG);
    c.id_broker_pa = "99999999999".into();
    let r = soap(app, &verify_by(c, &plan[2])).await;
    assert_eq!(fault_code(&r), Some("PAA_ID_INTERMEDIARIO_ERRATO"));
    let mut c = caller(ORG);
    c.id_station = "80007580279_99".into();
    let r = soap(app, &verify_by(c, &plan[2])).await;
    assert_eq!(fault_code(&r), Some("PAA_STAZIONE_INT_ERRATA"));
    let r = soap(app, &verify("00000000000", &plan[2])).await;
    assert_eq!(fault_code(&r), Some("PAA_ID_DOMINIO_ERRATO"));
    // With neither key nor CIDRs only loopback callers are let in, and not when they forward
    // someone else's request (a reverse proxy on the same host).
    let body = pagopa::soap::render_request(&verify(ORG, &plan[2]));
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let s = verify_raw(app, &body, &[(header, "203.0.113.9")]).await;
        assert_eq!(s.status, 403, "{header}: {}", s.text);
    }

    // The wire: SOAPAction contradicting the body, schema errors, not SOAP, XXE.
    let s = soap_raw(
        app,
        pagopa::Operation::VerifyPaymentNotice,
        Some("paGetPayment"),
        &body,
        &[],
    )
    .await;
    let f = fault_of(&s);
    assert_eq!(f.code.as_str(), "PAA_SEMANTICA");
    assert!(
        f.description.contains("paGetPayment")
            && f.description.contains("paVerifyPaymentNoticeReq"),
        "{}",
        f.description
    );
    // No SOAPAction at all, application/xml: fine.
    let s = verify_raw(app, &body, &[("content-type", "application/xml")]).await;
    assert_eq!(s.response.as_ref().and_then(fault_code), None, "{}", s.text);
    let short = body.replace(&plan[2], &plan[2][..14]);
    let s = verify_raw(app, &short, &[]).await;
    let f = fault_of(&s);
    assert_eq!(f.code.as_str(), "PAA_SINTASSI_XSD");
    assert!(f.description.contains("noticeNumber"), "{}", f.description);
    for bad in [
        "not xml at all".to_owned(),
        "<a><b></a>".to_owned(),
        "<root/>".to_owned(),
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
            body.replace(ORG, "&x;")
        ),
    ] {
        let s = verify_raw(app, &bad, &[]).await;
        assert_eq!(s.status, 400, "{bad}: {}", s.text);
        assert!(s.text.contains("Fault"), "{}", s.text);
        assert!(!s.text.contains("root:"), "a local file leaked: {}", s.text);
    }
    let demand = Request::Demand {
        caller: caller(ORG),
    };
    let s = soap_raw(
        app,
        pagopa::Operation::DemandPaymentNotice,
        None,
        &pagopa::soap::render_request(&demand),
        &[],
    )
    .await;
    assert_eq!(
        s.response.as_ref().and_then(fault_code),
        Some("PAA_SEMANTICA")
    );

    // Expiry last: two days on, an installment that may expire is SCADUTO (its position is
    // still VALID: the other installment is due later) — but a receipt for a payment made
    // before the due date, arriving late, is applied.
    let expiring = create(
        app,
        key,
        &position(
            "EXPIRE-1",
            vec![option(1_000, 1, true), option(1_000, 10, true)],
            true,
        ),
        true,
    )
    .await;
    app.clock.advance(chrono::Duration::days(2));
    let r = soap(app, &verify(ORG, &expiring[0])).await;
    assert_eq!(fault_code(&r), Some("PAA_PAGAMENTO_SCADUTO"));
    let mut late = split_receipt(&expiring[0], 1_000, "rt-late-1");
    late.payment_date_time = Some(chrono::Utc::now());
    let r = soap(app, &send_rt(ORG, late)).await;
    assert_eq!(fault_code(&r), None, "{r:?}");
    assert_eq!(
        status_of(app, key, "EXPIRE-1").await["status"],
        "PARTIALLY_PAID"
    );
    let r = soap(app, &verify(ORG, &expiring[1])).await;
    assert_eq!(
        fault_code(&r),
        None,
        "the other installment is still payable: {r:?}"
    );
    // Nine more days: the second installment's due date passes too.
    app.clock.advance(chrono::Duration::days(9));
    let mut after = split_receipt(&expiring[1], 1_000, "rt-late-2");
    after.payment_date_time =
        Some(chrono::Utc::now() + chrono::Duration::days(10) + chrono::Duration::hours(12));
    let r = soap(app, &send_rt(ORG, after)).await;
    assert_eq!(
        fault_code(&r),
        Some("PAA_PAGAMENTO_SCADUTO"),
        "paid after its due date: {r:?}"
    );
}

/// The option's transfers as the node reports them: 70% to the ente, the rest to OTHER_ORG.
fn one_transfer(amount: i64) -> Vec<ReceiptTransfer> {
    let a = amount * 7 / 10;
    let first = ReceiptTransfer {
        id_transfer: 1,
        amount: a,
        fiscal_code_pa: ORG.into(),
        company_name: None,
        target: ReceiptTarget::Iban(IBAN.into()),
        remittance_information: "TARI 2027".into(),
        transfer_category: "9/0101108TS/".into(),
        metadata: vec![],
    };
    let second = ReceiptTransfer {
        id_transfer: 2,
        amount: amount - a,
        fiscal_code_pa: OTHER_ORG.into(),
        target: ReceiptTarget::Iban(OTHER_IBAN.into()),
        ..first.clone()
    };
    vec![first, second]
}

/// Who may call: with a node key the key is required; with CIDRs the address must be inside;
/// with neither, loopback only (the test client is loopback, so it passes).
async fn node_access(backend: Backend) {
    let key = "node-key-0123456789abcdef";
    let db = TestDb::new(backend).await;
    let app = TestApp::spawn_on(db, |c| {
        c.pagopa_node_key = Some(sportello::config::Secret(key.into()));
    })
    .await;
    app.onboard().await;
    let body = pagopa::soap::render_request(&verify(ORG, "301000000000000161"));
    let s = verify_raw(&app, &body, &[]).await;
    assert_eq!(s.status, 401, "{}", s.text);
    let s = verify_raw(
        &app,
        &body,
        &[("ocp-apim-subscription-key", "wrong-key-0123456789")],
    )
    .await;
    assert_eq!(s.status, 401, "{}", s.text);
    let s = verify_raw(&app, &body, &[("ocp-apim-subscription-key", key)]).await;
    assert_eq!(s.status, 200, "{}", s.text);
    // No station serves anyone yet: the broker is unknown.
    assert_eq!(
        s.response.as_ref().and_then(fault_code),
        Some("PAA_ID_INTERMEDIARIO_ERRATO")
    );
    let db = app.stop().await;
    let app = TestApp::spawn_on(db, |c| {
        c.pagopa_node_cidrs = vec![kernel::values::Cidr::parse("10.0.0.0/8").unwrap()];
        // X-Forwarded-For is not believed from an untrusted peer.
    })
    .await;
    let s = verify_raw(&app, &body, &[("x-forwarded-for", "10.1.2.3")]).await;
    assert_eq!(s.status, 403, "{}", s.text);
    app.finish().await;
}

/// A receipt stored while no worker runs: the payment is in the same transaction, and its
/// effects (message PAID, one `paid` callback) follow after a restart with workers.
async fn receipt_effects_after_restart(backend: Backend) {
    let (app, (key, _, service_key, hook)) = start(backend).await;
    let navs = create(
        &app,
        &key,
        &position(
            "AFTER-1",
            vec![option(5_000, 10, true), option(5_000, 40, true)],
            false,
        ),
        true,
    )
    .await;
    let message_id = message_of(&app, &key, "AFTER-1").await;
    let db = app.stop().await;
    let app = TestApp::spawn_on(db, |c| {
        c.workers = 0;
        c.outbound_allow_cidrs = loopback();
    })
    .await;
    // 3,500 to ORG, 1,500 to OTHER_ORG.
    let rt = split_receipt(&navs[0], 5_000, "rt-restart-1");
    let r = soap(&app, &send_rt(ORG, rt.clone())).await;
    assert_eq!(fault_code(&r), None, "{r:?}");
    // Paid in the same transaction as the receipt; the message waits for a worker.
    assert_eq!(
        status_of(&app, &key, "AFTER-1").await["status"],
        "PARTIALLY_PAID"
    );
    let m = app
        .with_key(
            &service_key,
            "GET",
            &format!("/messages/{CITIZEN}/{message_id}"),
            None,
        )
        .await;
    assert_eq!(m.body["payment_status"], "NOT_PAID", "{}", m.body);
    let app = spawn_on(app.stop().await).await;
    wait_paid(&app, &service_key, &message_id).await;
    // The node retries: a duplicate, no second effect.
    let r = soap(&app, &send_rt(ORG, rt)).await;
    assert_eq!(fault_code(&r), Some("PAA_RECEIPT_DUPLICATA"));
    app.pass_leases().await;
    assert_eq!(paid_callbacks(&hook, &message_id, 1).await, 1);
    app.finish().await;
}

/// The monthly payment statistics count the month's applied receipts per category of the paid
/// option, a citizen's at most 3 times (the cap), each company payment once; released here with
/// a uniform source of 0.5 (zero noise) so the published figure can be checked.
async fn monthly_payment_statistics(backend: Backend) {
    use kernel::Clock as _;
    let (app, (key, _, _, _hook)) = start(backend).await;
    let month = opendata::stats::Period::of(app.clock.now());
    for i in 0..12 {
        let navs = create(
            &app,
            &key,
            &position(&format!("STAT-{i}"), vec![option(10_000, 60, false)], false),
            true,
        )
        .await;
        let mut rt = receipt(&navs[0], 10_000, &format!("rt-stat-{i:04}"));
        if i >= 4 {
            rt.debtor.kind = EntityType::Legal;
            rt.debtor.id = OTHER_ORG.into();
            rt.debtor.full_name = "Provincia di Varese".into();
        }
        let r = soap(&app, &send_rt(ORG, rt)).await;
        assert_eq!(fault_code(&r), None, "{r:?}");
    }
    app.clock.advance(chrono::Duration::days(40));
    let store = sportello::app::open_store(&app.db.config(), false)
        .await
        .unwrap();
    let cx = ops::opendata::OdContext {
        store: &store,
        clock: app.clock.as_ref(),
    };
    let results = ops::opendata_stats::release_month(&cx, month, &mut || 0.5)
        .await
        .unwrap();
    let payments = results
        .iter()
        .find(|o| o.organization == ORG && o.kind == opendata::stats::StatKind::Payments)
        .unwrap();
    assert_eq!(payments.status, "released", "{results:?}");
    assert_eq!((payments.cells, payments.suppressed), (1, 0), "{results:?}");
    let dataset = payments.dataset_id.clone().unwrap();
    let d = app
        .request(
            "GET",
            &format!("/api/opendata/v1/datasets/{dataset}"),
            &[],
            None,
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["state"], "published", "{}", d.body);
    let resource = d.body["resources"][0]["id"].as_str().unwrap();
    let r = app
        .request(
            "GET",
            &format!("/api/opendata/v1/resources/{resource}/download?format=json"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rows: Vec<Value> = serde_json::from_str(&r.text).unwrap();
    assert_eq!(rows.len(), 1, "{}", r.text);
    assert_eq!(rows[0]["mese"], month.to_string());
    assert_eq!(rows[0]["categoria"], "9/0101108TS/");
    // 4 of the citizen's (3 count) and 8 companies'.
    assert_eq!(rows[0]["pagamenti"], 11, "{}", r.text);
    // The other ente has no debt position of its own: nothing to count.
    assert!(
        results.iter().any(|o| o.organization == OTHER_ORG
            && o.kind == opendata::stats::StatKind::Payments
            && o.status == "nothing-to-count"),
        "{results:?}"
    );
    app.finish().await;
}

both_backends!(
    node_end_to_end,
    node_access,
    receipt_effects_after_restart,
    monthly_payment_statistics
);
