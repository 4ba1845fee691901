//! Massive payment notices end to end, on SQLite and PostgreSQL: an ente creates positions
//! through GPD's API, asks for a ZIP of their notices, follows the progress and downloads it;
//! Python's `zipfile` finds exactly one PDF per position (and the skipped paid one in
//! `errors.ndjson`), the QR codes decode (zbar) to pagoPA's strings, the filters select the
//! right positions, the file is the owner's alone, and an archive whose run crashed midway is
//! rebuilt from the start with exactly one entry per position.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{Backend, CITIZEN, ORG, TestApp, TestDb};
use serde_json::{Value, json};

both_backends!(
    an_archive_holds_one_notice_per_position_of_its_filter,
    an_archive_interrupted_midway_is_rebuilt_with_one_entry_per_position,
);

const OTHER_ORG: &str = "15376371009";
const IBAN: &str = "IT60X0542811101000000123456";
const POSITIONS: usize = 30;

/// The venv python of `scripts/test-tools.sh` (which also installs poppler and zbar).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Command::new("bash")
            .arg(root.join("scripts/test-tools.sh"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "test-tools failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap()
                .trim(),
        )
    })
}

/// Checks the ZIP with Python's `zipfile` and extracts it; returns its entry names.
fn unzip(zip: &[u8], into: &Path) -> Vec<String> {
    let file = into.join("archive.zip");
    std::fs::write(&file, zip).unwrap();
    let script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nz.extractall(sys.argv[2])\nfor n in z.namelist(): print(n)\n";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(&file)
        .arg(into.join("x"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zipfile refused the archive: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every QR code of the PDF's pages, decoded by zbar.
fn qr_codes(pdf: &Path) -> Vec<String> {
    python();
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("pdftoppm")
        .args(["-r", "200", "-png"])
        .arg(pdf)
        .arg(dir.path().join("page"))
        .status()
        .unwrap();
    assert!(st.success());
    let mut codes = Vec::new();
    for page in std::fs::read_dir(dir.path()).unwrap() {
        let out = Command::new("zbarimg")
            .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
            .arg(page.unwrap().path())
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

fn in_days(days: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(days)
}

fn single_position(iupd: &str, cents: i64, due: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "iupd": iupd,
        "type": "F",
        "fiscalCode": CITIZEN,
        "fullName": "Mario Rossi",
        "companyName": "Comune di Varese",
        "switchToExpired": false,
        "paymentOption": [{
            "amount": cents,
            "description": "TARI 2027",
            "isPartialPayment": false,
            "dueDate": due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "transfer": [{"idTransfer": "1", "amount": cents, "remittanceInformation": "TARI 2027",
                          "category": "9/0101108TS/", "iban": IBAN}],
        }],
    })
}

/// One created position: IUPD, notice number, amount, published or draft.
struct Made {
    iupd: String,
    nav: String,
    cents: i64,
    published: bool,
}

/// Onboards the ente, enables payments and creates [`POSITIONS`] positions (every third a
/// draft, the others published; position `i` due in `10 + i` days) plus one whose only
/// option is paid. Returns the key and the printable positions.
async fn set_up(app: &TestApp) -> (String, Vec<Made>) {
    app.onboard().await;
    let r = app
        .admin(
            "POST",
            &format!("/organizations/{ORG}/payments"),
            Some(&json!({"segregation_codes": ["01"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["primary_key"].as_str().unwrap().to_owned();
    let mut made = Vec::new();
    for i in 0..POSITIONS {
        let published = i % 3 != 0;
        let iupd = format!("TARI-2027-{i:04}");
        let cents = 10_000 + i as i64;
        let r = gpd(
            app,
            &key,
            "POST",
            &format!("/v1/organizations/{ORG}/debtpositions?toPublish={published}"),
            Some(&single_position(&iupd, cents, in_days(10 + i as i64))),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let nav = r.body["paymentOption"][0]["nav"]
            .as_str()
            .unwrap()
            .to_owned();
        made.push(Made {
            iupd,
            nav,
            cents,
            published,
        });
    }
    let r = gpd(
        app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/debtpositions?toPublish=true"),
        Some(&single_position("PAID-1", 5_000, in_days(5))),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let nav = r.body["paymentOption"][0]["nav"]
        .as_str()
        .unwrap()
        .to_owned();
    let pay = json!({"pspCompany": "Banca Esempio", "idReceipt": "rcpt-1", "paymentMethod": "CP"});
    let r = gpd(
        app,
        &key,
        "POST",
        &format!("/v1/organizations/{ORG}/paymentoptions/{nav}/pay"),
        Some(&pay),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (key, made)
}

fn archives(org: &str) -> String {
    format!("/v1/organizations/{org}/notices/archives")
}

/// Requests an archive; returns its id.
async fn request(app: &TestApp, key: &str, filter: Value) -> String {
    let r = gpd(app, key, "POST", &archives(ORG), Some(&filter)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "QUEUED");
    r.body["id"].as_str().unwrap().to_owned()
}

/// Polls the archive until DONE (at most 60 s); returns its state.
async fn done(app: &TestApp, key: &str, id: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..1_200 {
        let r = gpd(app, key, "GET", &format!("{}/{id}", archives(ORG)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        match r.body["status"].as_str().unwrap() {
            "DONE" => return r.body,
            "FAILED" => panic!("the archive failed: {}", r.body),
            _ => {}
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the archive was never done: {last}");
}

/// Downloads the DONE archive and returns (entry names, directory holding them).
async fn download(app: &TestApp, key: &str, id: &str) -> (Vec<String>, tempfile::TempDir) {
    let r = gpd(
        app,
        key,
        "GET",
        &format!("{}/{id}/zip", archives(ORG)),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/zip");
    let dir = tempfile::tempdir().unwrap();
    let names = unzip(&r.bytes, dir.path());
    (names, dir)
}

fn pdf_names(names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .filter(|n| n.ends_with(".pdf"))
        .cloned()
        .collect()
}

fn expected<'a>(made: impl Iterator<Item = &'a Made>) -> BTreeSet<String> {
    made.map(|m| format!("{}.pdf", m.iupd)).collect()
}

async fn spawn(backend: Backend, workers: usize) -> TestApp {
    TestApp::spawn_on(TestDb::new(backend).await, |c| c.workers = workers).await
}

async fn an_archive_holds_one_notice_per_position_of_its_filter(backend: Backend) {
    let app = spawn(backend, 1).await;
    let (key, made) = set_up(&app).await;

    // Everything: one PDF per printable position, the paid one in errors.ndjson.
    let id = request(&app, &key, json!({})).await;
    let state = done(&app, &key, &id).await;
    assert_eq!(state["total"], POSITIONS + 1, "{state}");
    assert_eq!(state["done"], POSITIONS, "{state}");
    assert_eq!(state["failed"], 1, "{state}");
    let (names, dir) = download(&app, &key, &id).await;
    assert_eq!(names.len(), POSITIONS + 1, "{names:?}");
    assert_eq!(pdf_names(&names), expected(made.iter()));
    let errors = std::fs::read_to_string(dir.path().join("x/errors.ndjson")).unwrap();
    let line: Value = serde_json::from_str(errors.trim()).unwrap();
    assert_eq!(line["iupd"], "PAID-1", "{errors}");
    assert!(
        line["reason"].as_str().unwrap().contains("no unpaid"),
        "{errors}"
    );
    // The QR codes of a few notices decode to pagoPA's string for that position.
    for m in [&made[0], &made[13], &made[POSITIONS - 1]] {
        let codes = qr_codes(&dir.path().join("x").join(format!("{}.pdf", m.iupd)));
        assert_eq!(
            codes,
            vec![format!("PAGOPA|002|{}|{ORG}|{}", m.nav, m.cents)],
            "{}",
            m.iupd
        );
    }
    // The file is the owner's alone, in a directory that is too.
    let archive_dir = app.db.data_dir.path().join("archives");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&archive_dir.join(format!("{id}.zip"))), 0o600);
    assert_eq!(mode(&archive_dir), 0o700);
    let left: Vec<_> = std::fs::read_dir(&archive_dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file is left behind");

    // Drafts only.
    let id = request(&app, &key, json!({"status": ["DRAFT"], "language": "de"})).await;
    let state = done(&app, &key, &id).await;
    assert_eq!(state["language"], "de");
    let drafts = made.iter().filter(|m| !m.published).count();
    assert_eq!(
        (state["total"].as_u64(), state["done"].as_u64()),
        (Some(drafts as u64), Some(drafts as u64))
    );
    assert_eq!(state["failed"], 0);
    let (names, _dir) = download(&app, &key, &id).await;
    assert_eq!(
        names.len(),
        drafts,
        "no errors.ndjson when nothing was left out"
    );
    assert_eq!(
        pdf_names(&names),
        expected(made.iter().filter(|m| !m.published))
    );

    // Published ones due within 20 days (positions 0..=10 are due by then).
    let to = in_days(20).format("%Y-%m-%d").to_string();
    let id = request(&app, &key, json!({"status": ["VALID"], "dueDateTo": to})).await;
    let state = done(&app, &key, &id).await;
    let want: Vec<&Made> = made.iter().take(11).filter(|m| m.published).collect();
    assert_eq!(state["done"], want.len(), "{state}");
    assert_eq!(state["total"], want.len(), "{state}");
    let (names, _dir) = download(&app, &key, &id).await;
    assert_eq!(pdf_names(&names), expected(want.into_iter()));

    // Bad requests name their fields; another ente's key sees nothing.
    let r = gpd(
        &app,
        &key,
        "POST",
        &archives(ORG),
        Some(&json!({"status": ["NOPE"], "language": "fr", "dueDateFrom": "soon", "x": 1})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
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
    for path in [
        format!("{}/{id}", archives(ORG)),
        format!("{}/{id}/zip", archives(ORG)),
    ] {
        let r = gpd(&app, &other, "GET", &path, None).await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    for path in [
        format!("{}/{id}", archives(OTHER_ORG)),
        format!("{}/{id}/zip", archives(OTHER_ORG)),
    ] {
        let r = gpd(&app, &other, "GET", &path, None).await;
        assert_eq!(r.status, 404, "{}", r.body);
    }
    let r = gpd(&app, "not-a-key", "POST", &archives(ORG), Some(&json!({}))).await;
    assert_eq!(r.status, 401, "{}", r.body);

    app.pass_leases().await;
    app.finish().await;
}

async fn an_archive_interrupted_midway_is_rebuilt_with_one_entry_per_position(backend: Backend) {
    // No worker: the archive stays QUEUED, and its ZIP is refused.
    let app = spawn(backend, 0).await;
    let (key, made) = set_up(&app).await;
    let id = request(&app, &key, json!({})).await;
    let r = gpd(
        &app,
        &key,
        "GET",
        &format!("{}/{id}/zip", archives(ORG)),
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // A run that crashed midway: a claim whose lease ran out, counters part way, a partial
    // temporary file.
    let db = app.stop().await;
    let store = store::SqlStore::connect(&db.url, 1).await.unwrap();
    for sql in [
        "UPDATE jobs SET status = 'running', attempts = 1, run_at = 0 \
         WHERE kind = 'notice_archive'"
            .to_owned(),
        format!(
            "UPDATE notice_archives SET status = 'RUNNING', total = 31, done = 12 WHERE id = '{id}'"
        ),
    ] {
        store::raw::execute(&store, &sql).await.unwrap();
    }
    store.close().await;
    let dir = db.data_dir.path().join("archives");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}.zip.tmp")),
        b"PK\x03\x04 half an archive",
    )
    .unwrap();

    let app = TestApp::spawn_on(db, |_| {}).await;
    let state = done(&app, &key, &id).await;
    assert_eq!(state["done"], POSITIONS, "{state}");
    assert_eq!(state["failed"], 1, "{state}");
    assert_eq!(state["total"], POSITIONS + 1, "{state}");
    let (names, _dir) = download(&app, &key, &id).await;
    assert_eq!(names.len(), POSITIONS + 1, "{names:?}");
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        names.len(),
        "no entry twice"
    );
    assert_eq!(pdf_names(&names), expected(made.iter()));
    assert!(!dir.join(format!("{id}.zip.tmp")).exists());

    app.pass_leases().await;
    app.finish().await;
}
