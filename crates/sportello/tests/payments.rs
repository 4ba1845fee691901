//! Debt positions end to end through GPD's API, on SQLite and PostgreSQL: an ente creates a
//! position with a 3-installment plan and two beneficiaries and publishes it; the debtor gets
//! the IO payment message; the notice PDF's QR codes decode (zbar) to the right strings; an
//! installment is paid; the position is PARTIALLY_PAID, the message PAID and the ente's
//! `paid` callback arrives. Plus the refusals GPD gives and Sportello's stricter checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{Backend, CITIZEN, ORG, TestApp, TestDb};
use notify::testing::HttpReceiver;
use serde_json::{Value, json};

const SECRET: &str = "ente-callback-secret-0123456789";
const WAIT: Duration = Duration::from_secs(20);
/// A second beneficiary ente (valid check digit).
const OTHER_ORG: &str = "15376371009";
const IBAN: &str = "IT60X0542811101000000123456";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs poppler and zbar through the project's own script (once per process).
fn tools() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let script = workspace_root().join("scripts/test-tools.sh");
        let out = Command::new("bash")
            .arg(&script)
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

/// Every QR code on every page of the PDF, decoded by zbar.
fn qr_codes(pdf: &[u8]) -> Vec<String> {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notice.pdf");
    std::fs::write(&file, pdf).unwrap();
    let prefix = dir.path().join("page");
    let st = Command::new("pdftoppm")
        .args(["-r", "200", "-png"])
        .arg(&file)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(st.success());
    let mut codes = Vec::new();
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pages.sort();
    for page in pages {
        let out = Command::new("zbarimg")
            .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
            .arg(&page)
            .output()
            .unwrap();
        codes.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned),
        );
    }
    codes
}

fn pdf_text(pdf: &[u8]) -> String {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notice.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
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

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn transfers(amount: i64) -> Value {
    let a = amount * 7 / 10;
    json!([
        {"idTransfer": "1", "amount": a, "remittanceInformation": "TARI 2027 quota comune",
         "category": "9/0101108TS/", "iban": IBAN},
        {"idTransfer": "2", "amount": amount - a, "organizationFiscalCode": OTHER_ORG,
         "remittanceInformation": "TEFA 2027 quota provincia", "category": "9/0101108TS/",
         "iban": "IT42L1234512345123456789012"},
    ])
}

/// A position with a 3-installment plan, each split between two beneficiaries; no IUVs (the
/// platform allocates them).
fn plan_position(iupd: &str) -> Value {
    let options: Vec<Value> = [(30_000, 10), (30_000, 40), (40_099, 70)]
        .iter()
        .map(|(amount, days)| {
            json!({
                "amount": amount,
                "description": "TARI 2027",
                "isPartialPayment": true,
                "dueDate": in_days(*days),
                "transfer": transfers(*amount),
            })
        })
        .collect();
    json!({
        "iupd": iupd,
        "type": "F",
        "fiscalCode": CITIZEN,
        "fullName": "Mario Rossi",
        "streetName": "Via Roma",
        "civicNumber": "1",
        "postalCode": "21100",
        "city": "Varese",
        "province": "VA",
        "companyName": "Comune di Varese",
        "officeName": "Ufficio Tributi",
        "switchToExpired": false,
        "paymentOption": options,
    })
}

/// Onboards the ente, its IO service with a callback, and enables payments; returns (payments
/// key, service key, callback receiver).
async fn set_up(app: &TestApp) -> (String, String, HttpReceiver) {
    let manage = app.onboard().await;
    let (service, key) = app.service(&manage, json!({})).await;
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
            &format!("/organizations/{ORG}/payments"),
            Some(&json!({"segregation_codes": ["01"], "io_service": service})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["primary_key"].as_str().unwrap().to_owned(),
        key,
        hook,
    )
}

async fn spawn(backend: Backend) -> TestApp {
    let db = TestDb::new(backend).await;
    TestApp::spawn_on(db, |c| {
        c.outbound_allow_cidrs = vec![kernel::values::Cidr::parse("127.0.0.0/8").unwrap()];
    })
    .await
}

/// Polls the position's history until the first option's pre-notice is PROCESSED.
async fn processed_pre_notice(app: &TestApp, key: &str, iupd: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let r = gpd(
            app,
            key,
            "GET",
            &format!("/v1/organizations/{ORG}/debtpositions/{iupd}/history"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["preNotices"][0]["status"] == "PROCESSED" {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pre-notice was never processed: {last}");
}

async fn the_whole_payment_flow(backend: Backend) {
    let app = spawn(backend).await;
    let (key, service_key, hook) = set_up(&app).await;
    app.citizen(json!({"fiscal_code": CITIZEN})).await;

    // Create and publish in one call; the platform allocates the notice numbers.
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/debtpositions?toPublish=true"),
        Some(&plan_position("TARI-2027-0001")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "VALID");
    let options = r.body["paymentOption"].as_array().unwrap().clone();
    assert_eq!(options.len(), 3);
    let navs: Vec<String> = options
        .iter()
        .map(|o| o["nav"].as_str().unwrap().to_owned())
        .collect();
    for (o, nav) in options.iter().zip(&navs) {
        assert!(
            nav.starts_with("301"),
            "aux digit 3 and segregation code 01: {nav}"
        );
        assert_eq!(o["iuv"].as_str().unwrap(), &nav[1..]);
        // The check digits are right, as an independent computation says.
        let first16: u64 = nav[..16].parse().unwrap();
        assert_eq!(format!("{:02}", first16 % 93), &nav[16..]);
        assert_eq!(o["transfer"].as_array().unwrap().len(), 2);
    }

    // The debtor gets the IO payment message for the first installment.
    let history = processed_pre_notice(&app, &key, "TARI-2027-0001").await;
    let message_id = history["preNotices"][0]["messageId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        history["preNotices"][1].get("messageId").is_none(),
        "only the first open installment gets a message"
    );
    let m = app
        .with_key(
            &service_key,
            "GET",
            &format!("/messages/{CITIZEN}/{message_id}"),
            None,
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.body["status"], "PROCESSED");
    assert_eq!(m.body["payment_status"], "NOT_PAID");
    assert_eq!(
        m.body["message"]["content"]["payment_data"]["notice_number"],
        navs[0]
    );
    assert_eq!(
        m.body["message"]["content"]["payment_data"]["amount"],
        30_000
    );
    assert_eq!(
        m.body["message"]["content"]["payment_data"]["payee"]["fiscal_code"],
        ORG
    );

    // The notice PDF: one QR per installment, each decoding to pagoPA's string.
    let pdf = gpd(
        &app,
        &key,
        "GET",
        &format!("/v1/organizations/{ORG}/debtpositions/TARI-2027-0001/notice"),
        None,
    )
    .await;
    assert_eq!(pdf.status, 200, "{}", pdf.text);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    let mut codes = qr_codes(&pdf.bytes);
    codes.sort();
    let mut expected: Vec<String> = navs
        .iter()
        .zip([30_000, 30_000, 40_099])
        .map(|(nav, cents)| format!("PAGOPA|002|{nav}|{ORG}|{cents}"))
        .collect();
    expected.sort();
    assert_eq!(codes, expected);
    let text = pdf_text(&pdf.bytes);
    assert!(text.contains("Comune di Varese"), "{text}");
    assert!(text.contains("400,99"), "{text}");

    // Pay the first installment (as gpd-payments does on a receipt), by notice number.
    let pay =
        json!({"pspCompany": "Banca Esempio", "idReceipt": "rcpt-0001", "paymentMethod": "CP"});
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/paymentoptions/{}/pay", navs[0]),
        Some(&pay),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "PO_PAID");
    // A second payment of the same option is refused and changes nothing.
    let again = gpd(
        &app,
        &key,
        "POST",
        &format!(
            "/v1/organizations/{ORG}/paymentoptions/{}/pay",
            &navs[0][1..]
        ),
        Some(&pay),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    let p = gpd(
        &app,
        &key,
        "GET",
        &format!("/v1/organizations/{ORG}/debtpositions/TARI-2027-0001"),
        None,
    )
    .await;
    assert_eq!(p.body["status"], "PARTIALLY_PAID");

    // The message shows PAID, and the ente's callback hears `paid`.
    let mut paid = Value::Null;
    for _ in 0..400 {
        let m = app
            .with_key(
                &service_key,
                "GET",
                &format!("/messages/{CITIZEN}/{message_id}"),
                None,
            )
            .await;
        if m.body["payment_status"] == "PAID" {
            paid = m.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        paid["payment_status"], "PAID",
        "the message never showed PAID"
    );
    let mut events = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline
        && !events.iter().any(|e: &Value| e["status"] == "paid")
    {
        let reqs = hook.wait_for(events.len() + 1, WAIT).await;
        events = reqs
            .iter()
            .map(|r| {
                let header = r.header("x-sportello-signature").expect("signed");
                notify::verify(
                    SECRET.as_bytes(),
                    header,
                    &r.body,
                    chrono::Utc::now().timestamp(),
                    300,
                )
                .expect("signature verifies");
                serde_json::from_slice::<Value>(&r.body).unwrap()
            })
            .collect();
    }
    let paid_event = events
        .iter()
        .find(|e| e["status"] == "paid")
        .unwrap_or_else(|| panic!("no paid callback: {events:?}"));
    assert_eq!(paid_event["message_id"], message_id);

    // The citizen sees what they owe and what they paid.
    let token = app.session(CITIZEN).await;
    let auth = format!("Bearer {token}");
    let mine = app
        .request(
            "GET",
            "/api/citizen/v1/payments",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["items"][0]["status"], "PARTIALLY_PAID");
    assert_eq!(
        mine.body["items"][0]["paymentOptions"][0]["status"],
        "PO_PAID"
    );
    assert_eq!(
        mine.body["items"][0]["paymentOptions"][0]["messageId"],
        message_id
    );
    let notice = app
        .request(
            "GET",
            &format!("/api/citizen/v1/payments/{ORG}/TARI-2027-0001/notice"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(notice.status, 200, "{}", notice.text);
    // The GDPR export holds them; deleting the account drops the link, the ente keeps the record.
    let export = app
        .request(
            "GET",
            "/api/citizen/v1/export",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.body["payments"][0]["iupd"], "TARI-2027-0001");
    let gone = app
        .request(
            "DELETE",
            "/api/citizen/v1/profile",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let token = app.session(CITIZEN).await;
    let auth = format!("Bearer {token}");
    let mine = app
        .request(
            "GET",
            "/api/citizen/v1/payments",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(
        mine.body["items"],
        json!([]),
        "unlinked after the account was deleted"
    );
    let notice = app
        .request(
            "GET",
            &format!("/api/citizen/v1/payments/{ORG}/TARI-2027-0001/notice"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(notice.status, 404, "{}", notice.text);
    let kept = gpd(
        &app,
        &key,
        "GET",
        &format!("/v1/organizations/{ORG}/debtpositions/TARI-2027-0001"),
        None,
    )
    .await;
    assert_eq!(kept.status, 200, "the ente keeps its position");

    app.pass_leases().await;
    app.finish().await;
}

async fn bad_input_is_refused_precisely_and_nothing_is_written(backend: Backend) {
    let app = spawn(backend).await;
    let (key, _, _) = set_up(&app).await;
    let path = format!("/v1/organizations/{ORG}/debtpositions");
    // A broken IBAN, a sum that does not add up and a bad taxonomy code: all listed at once.
    let mut body = plan_position("BAD-1");
    body["paymentOption"][0]["transfer"][0]["iban"] = json!("IT60X0542811101000000123457");
    body["paymentOption"][1]["amount"] = json!(30_001);
    body["paymentOption"][2]["transfer"][1]["category"] = json!("9/0101108XX/");
    let r = gpd(&app, &key, "POST", &path, Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let names: Vec<&str> = r.body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"paymentOption[0].transfer[0].iban"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("paymentOption[1]")),
        "{names:?}"
    );
    assert!(
        names.contains(&"paymentOption[2].transfer[1].category"),
        "{names:?}"
    );
    // A client IUV with wrong check digits (GPD would store it) or another segregation code.
    let mut body = plan_position("BAD-2");
    body["paymentOption"][0]["iuv"] = json!("01000000000000199");
    let r = gpd(&app, &key, "POST", &path, Some(&body)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let mut body = plan_position("BAD-3");
    body["paymentOption"][0]["iuv"] = json!("02000000000000184");
    let r = gpd(&app, &key, "POST", &path, Some(&body)).await;
    assert_eq!(
        r.status, 400,
        "segregation code 02 is not the ente's: {}",
        r.body
    );
    let list = gpd(&app, &key, "GET", &path, None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        list.body["page_info"]["items_found"], 0,
        "nothing was written"
    );

    // A client IUV that is valid is kept; a duplicate IUPD or IUV is a 409.
    let iuv = {
        let base = "010000000000042";
        let n: u64 = format!("3{base}").parse().unwrap();
        format!("{base}{:02}", n % 93)
    };
    let mut body = plan_position("OWN-1");
    body["paymentOption"][0]["iuv"] = json!(iuv);
    let r = gpd(&app, &key, "POST", &path, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["paymentOption"][0]["iuv"], iuv);
    let r = gpd(&app, &key, "POST", &path, Some(&body)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    body["iupd"] = json!("OWN-2");
    let r = gpd(&app, &key, "POST", &path, Some(&body)).await;
    assert_eq!(r.status, 409, "same IUV in another position: {}", r.body);

    // A draft cannot be paid; publishing twice is a conflict; invalidate then reissue.
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/paymentoptions/3{iuv}/pay"),
        Some(&json!({"pspCompany": "B", "idReceipt": "r"})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = gpd(&app, &key, "POST", &format!("{path}/OWN-1/publish"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = gpd(&app, &key, "POST", &format!("{path}/OWN-1/publish"), None).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("{path}/OWN-1/invalidate"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "INVALID");
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("{path}/OWN-1/reissue"),
        Some(&json!({"toPublish": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["iupd"], "OWN-1-R1");
    assert_eq!(r.body["status"], "VALID");
    assert_ne!(
        r.body["paymentOption"][0]["iuv"], iuv,
        "a reissue has new notice numbers"
    );
    let old = gpd(
        &app,
        &key,
        "GET",
        &format!("/v1/organizations/{ORG}/debtpositions/OWN-1/history"),
        None,
    )
    .await;
    assert_eq!(old.body["reissuedAs"], "OWN-1-R1");

    // v3 reads the same position in its collapsed shape.
    let v3 = gpd(
        &app,
        &key,
        "GET",
        &format!("/v3/organizations/{ORG}/debtpositions/OWN-1"),
        None,
    )
    .await;
    assert_eq!(v3.status, 200, "{}", v3.body);
    assert_eq!(v3.body["status"], "UNPAYABLE");

    // Another ente's key sees nothing of this one.
    let r = app
        .admin(
            "POST",
            "/organizations",
            Some(&json!({"fiscal_code": OTHER_ORG, "name": "Provincia di Varese"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{OTHER_ORG}/payments"),
            Some(&json!({"segregation_codes": ["02"]})),
        )
        .await;
    let other = r.body["primary_key"].as_str().unwrap().to_owned();
    let r = gpd(
        &app,
        &other,
        "GET",
        &format!("/v1/organizations/{ORG}/debtpositions/OWN-1"),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = gpd(
        &app,
        &other,
        "GET",
        &format!("/v1/organizations/{OTHER_ORG}/debtpositions/OWN-1"),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = gpd(
        &app,
        "not-a-key",
        "GET",
        &format!("/v1/organizations/{ORG}/debtpositions"),
        None,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    app.pass_leases().await;
    app.finish().await;
}

/// Polls the position (v1) until its status is `want`.
async fn status_becomes(app: &TestApp, key: &str, iupd: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let r = gpd(
            app,
            key,
            "GET",
            &format!("/v1/organizations/{ORG}/debtpositions/{iupd}"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == want {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{iupd} never became {want}: {last}");
}

async fn validity_and_expiry_move_positions_on_the_clock(backend: Backend) {
    use kernel::Clock as _;
    let app = spawn(backend).await;
    let (key, _, _) = set_up(&app).await;
    let path = format!("/v1/organizations/{ORG}/debtpositions");
    // Valid from tomorrow: publishing makes it PUBLISHED; it becomes VALID when the day comes.
    let now = app.clock.now();
    let mut body = plan_position("LATER-1");
    body["validityDate"] = json!((now + chrono::Duration::days(1)).to_rfc3339());
    body["switchToExpired"] = json!(true);
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("{path}?toPublish=true"),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "PUBLISHED");
    // Not payable yet.
    let nav = r.body["paymentOption"][0]["nav"]
        .as_str()
        .unwrap()
        .to_owned();
    let pay = json!({"pspCompany": "Banca Esempio", "idReceipt": "r-1"});
    let early = gpd(
        &app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/paymentoptions/{nav}/pay"),
        Some(&pay),
    )
    .await;
    assert_eq!(early.status, 409, "{}", early.body);
    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    status_becomes(&app, &key, "LATER-1", "VALID").await;
    // Every option may expire: after the last due date (70 days) it is EXPIRED.
    app.clock.advance(chrono::Duration::days(71));
    status_becomes(&app, &key, "LATER-1", "EXPIRED").await;
    let v3 = gpd(
        &app,
        &key,
        "GET",
        &format!("/v3/organizations/{ORG}/debtpositions/LATER-1"),
        None,
    )
    .await;
    assert_eq!(v3.body["status"], "UNPAYABLE");
    // Reissued with new due dates, under a new IUPD and new notice numbers.
    let now = app.clock.now();
    let dues: Vec<String> = [10, 40, 70]
        .iter()
        .map(|d| (now + chrono::Duration::days(*d)).to_rfc3339())
        .collect();
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("{path}/LATER-1/reissue"),
        Some(&json!({"iupd": "LATER-1-BIS", "dueDates": dues, "toPublish": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "VALID");
    let new_nav = r.body["paymentOption"][0]["nav"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_nav, nav);
    // A second reissue of the same position is refused.
    let again = gpd(&app, &key, "POST", &format!("{path}/LATER-1/reissue"), None).await;
    assert_eq!(again.status, 409, "{}", again.body);
    // Paid outside pagoPA: the installment is paid, the position PARTIALLY_PAID.
    let r = gpd(
        &app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/paymentoptions/paids/{new_nav}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "PO_PAID");
    status_becomes(&app, &key, "LATER-1-BIS", "PARTIALLY_PAID").await;
    // A partially paid position can neither be updated nor deleted.
    let r = gpd(&app, &key, "DELETE", &format!("{path}/LATER-1-BIS"), None).await;
    assert_eq!(r.status, 409, "{}", r.body);
    app.pass_leases().await;
    app.finish_leaving_jobs("the reissued position's expiry is scheduled 70 days ahead")
        .await;
}

both_backends!(
    the_whole_payment_flow,
    bad_input_is_refused_precisely_and_nothing_is_written,
    validity_and_expiry_move_positions_on_the_clock
);
