//! Test harness: starts the real server on port 0 against a fresh SQLite file or a fresh
//! PostgreSQL schema, and talks to it over real HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sportello::app::{Running, open_store, start_with_clock};
use sportello::config::{Config, ConfigArgs};
use tokio::net::TcpListener;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const ORG: &str = "00441340122";
pub const CITIZEN: &str = "RSSMRA85T10A562S";
pub const SANDBOX: &str = "AAAAAA00A00A000A";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Base PostgreSQL URL for tests.
pub fn pg_base_url() -> String {
    std::env::var("SPORTELLO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database for one test: its URL and what must outlive the test.
pub struct TestDb {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    pub schema: Option<String>,
    pub content_keys: String,
    /// The schema was dropped by `drop_schema`; otherwise `Drop` drops it (a test that panicked).
    schema_dropped: std::sync::atomic::AtomicBool,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema
            && !self
                .schema_dropped
                .load(std::sync::atomic::Ordering::SeqCst)
            && let Err(e) = store::raw::drop_schema_blocking(&pg_base_url(), schema)
        {
            eprintln!("test schema {schema} not dropped: {e}");
        }
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let content_keys = seal::Keyring::generate_spec("k1");
        match backend {
            Backend::Sqlite => Self {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.path().join("sportello.db").display()
                ),
                data_dir,
                schema: None,
                content_keys,
                schema_dropped: Default::default(),
            },
            Backend::Postgres => {
                let schema = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
                let admin = store::SqlStore::connect(&pg_base_url(), 2).await.unwrap();
                sqlx_exec(&admin, &format!("CREATE SCHEMA {schema}")).await;
                admin.close().await;
                let sep = if pg_base_url().contains('?') {
                    '&'
                } else {
                    '?'
                };
                Self {
                    url: format!("{}{sep}options=-c%20search_path%3D{schema}", pg_base_url()),
                    data_dir,
                    schema: Some(schema),
                    content_keys,
                    schema_dropped: Default::default(),
                }
            }
        }
    }

    pub fn config(&self) -> Config {
        let mut config = Config::load(&ConfigArgs {
            data_dir: Some(self.data_dir.path().to_owned()),
            database_url: Some(self.url.clone()),
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            content_keys: Some(self.content_keys.clone()),
            workers: Some(1),
            job_lease_ms: Some(2_000),
            job_max_attempts: Some(3),
            job_backoff_ms: Some(50),
            ..Default::default()
        })
        .unwrap();
        config.job.poll_interval_ms = 50;
        config
    }

    /// Runs one SQL statement returning a single integer (for assertions on stored rows).
    pub async fn count(&self, sql: &str) -> i64 {
        let store = store::SqlStore::connect(&self.url, 1).await.unwrap();
        let n: i64 = sqlx_scalar(&store, sql).await;
        store.close().await;
        n
    }

    pub async fn drop_schema(&self) {
        if let Some(schema) = &self.schema {
            let admin = store::SqlStore::connect(&pg_base_url(), 1).await.unwrap();
            sqlx_exec(&admin, &format!("DROP SCHEMA {schema} CASCADE")).await;
            admin.close().await;
            self.schema_dropped
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

async fn sqlx_exec(store: &store::SqlStore, sql: &str) {
    use messaging::ports::prelude::*;
    let _ = store.ping().await;
    store::raw::execute(store, sql).await.unwrap();
}

async fn sqlx_scalar(store: &store::SqlStore, sql: &str) -> i64 {
    store::raw::scalar_i64(store, sql).await.unwrap()
}

/// A running Sportello in this process.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Worker tasks running in this process (0: nothing drains the queue).
    workers: usize,
    // Before `db`: fields drop in declaration order, so a test that panics lets go of its
    // server before its database is dropped.
    running: Option<Running>,
    pub db: TestDb,
    /// The server's clock: it runs with the wall clock, and a test that needs an hour or a
    /// day to pass advances it instead of sleeping.
    pub clock: Arc<kernel::TestClock>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let db = TestDb::new(backend).await;
        Self::spawn_on(db, |_| {}).await
    }

    /// Starts on an existing database with a config adjusted by `tune`.
    pub async fn spawn_on(db: TestDb, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = db.config();
        tune(&mut config);
        let store = open_store(&config, true).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clock = Arc::new(kernel::TestClock::running());
        let running = start_with_clock(&config, store, Some(listener), clock.clone())
            .await
            .unwrap();
        Self {
            addr: running.addr,
            workers: config.workers,
            db,
            running: Some(running),
            clock,
        }
    }

    /// Stops the server and gives the database back (to restart on it).
    pub async fn stop(mut self) -> TestDb {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.db
    }

    /// Moves the server's clock past every job lease (the tests' lease is 2 s) and waits, on
    /// the clock, until no job is due or running: whatever could still happen a second time
    /// (a job claimed again after its lease, a retry) has had its chance and finished. Assert
    /// "exactly once" after this.
    pub async fn pass_leases(&self) {
        use kernel::Clock as _;
        self.clock.advance(chrono::Duration::milliseconds(3_000));
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let now = self.clock.now().timestamp_millis();
            let due = self
                .db
                .count(&format!(
                    "SELECT COUNT(*) FROM jobs WHERE status = 'running' \
                     OR (status = 'queued' AND run_at <= {now})"
                ))
                .await;
            if due == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{due} jobs still due or running after their leases ran out"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Checks that the test left no job behind (see [`TestApp::assert_no_jobs_left`]), then
    /// stops and removes the test's PostgreSQL schema.
    pub async fn finish(self) {
        self.assert_no_jobs_left().await;
        let db = self.stop().await;
        db.drop_schema().await;
    }

    /// Stops and removes the schema without the check of [`TestApp::finish`], for a test that
    /// leaves jobs in the queue on purpose; `reason` says which and why. Fails if no job is
    /// left, so that the exception cannot outlive its reason.
    pub async fn finish_leaving_jobs(self, reason: &str) {
        assert!(
            !reason.trim().is_empty(),
            "say why the test leaves jobs behind"
        );
        assert!(
            self.db.count("SELECT COUNT(*) FROM jobs").await > 0,
            "the test says it leaves jobs behind ({reason}), but none is left: use `finish`"
        );
        let db = self.stop().await;
        db.drop_schema().await;
    }

    /// Fails the test if the job queue does not empty: the workers get up to 10 s to finish
    /// what is left (retries a few back-off steps away included), then any job still there
    /// (queued, running or dead) is listed in the failure. As in crates.io's test harness, work
    /// a test started and never saw through is a bug of the test or of the code, not noise.
    pub async fn assert_no_jobs_left(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = self.db.count("SELECT COUNT(*) FROM jobs").await;
            if left == 0 {
                return;
            }
            // With no worker nothing will change: fail at once.
            if self.workers == 0 || std::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let jobs = self.admin("GET", "/jobs", None).await;
        panic!(
            "the test left unprocessed jobs behind (use `finish_leaving_jobs(reason)` if that \
             is intended): {:#}",
            jobs.body
        );
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Response {
        send(
            self.addr,
            method,
            path,
            headers,
            body.map(|b| b.to_string()),
        )
        .await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.request(
            method,
            &format!("/api/admin/v1{path}"),
            &[("authorization", &auth)],
            body,
        )
        .await
    }

    pub async fn with_key(
        &self,
        key: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        self.request(
            method,
            &format!("/api/v1{path}"),
            &[("ocp-apim-subscription-key", key)],
            body,
        )
        .await
    }

    /// Creates the organization and a delegate; returns the manage key.
    pub async fn onboard(&self) -> String {
        let r = self
            .admin(
                "POST",
                "/organizations",
                Some(&json!({"fiscal_code": ORG, "name": "Comune di Varese"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = self
            .admin(
                "POST",
                &format!("/organizations/{ORG}/delegates"),
                Some(&json!({"email": "tributi@comune.varese.it"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["manage_key"].as_str().unwrap().to_owned()
    }

    /// Creates a service with `extra` fields merged into a valid payload; returns (id, primary key).
    pub async fn service(&self, manage_key: &str, extra: Value) -> (String, String) {
        let mut payload = service_payload();
        for (k, v) in extra.as_object().unwrap() {
            payload[k] = v.clone();
        }
        let r = self
            .with_key(manage_key, "POST", "/manage/services", Some(&payload))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let keys = self
            .with_key(
                manage_key,
                "GET",
                &format!("/manage/services/{id}/keys"),
                None,
            )
            .await;
        assert_eq!(keys.status, 200, "{}", keys.body);
        (id, keys.body["primary_key"].as_str().unwrap().to_owned())
    }

    /// Issues a citizen session through the admin API; returns the bearer token.
    pub async fn session(&self, fiscal_code: &str) -> String {
        let r = self
            .admin("POST", &format!("/citizens/{fiscal_code}/sessions"), None)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn citizen(&self, body: Value) {
        let r = self.admin("POST", "/citizens", Some(&body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    /// Sends a message; returns the response.
    pub async fn send(&self, key: &str, fiscal_code: &str, content: Value) -> Response {
        self.with_key(
            key,
            "POST",
            &format!("/messages/{fiscal_code}"),
            Some(&json!({ "content": content })),
        )
        .await
    }

    /// Polls the message until its status is not ACCEPTED (or 10 s pass).
    pub async fn settled(&self, key: &str, fiscal_code: &str, id: &str) -> Value {
        for _ in 0..200 {
            let r = self
                .with_key(key, "GET", &format!("/messages/{fiscal_code}/{id}"), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            if r.body["status"] != "ACCEPTED" {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("message {id} still ACCEPTED after 10 s");
    }
}

pub fn service_payload() -> Value {
    json!({
        "name": "Tributi",
        "description": "Avvisi e pagamenti dei tributi comunali",
        "organization": {"name": "Comune di Varese", "fiscal_code": ORG},
        "authorized_recipients": [CITIZEN],
        "max_allowed_payment_amount": 1_000_000,
        "metadata": {"scope": "LOCAL", "topic_id": 11, "email": "tributi@comune.varese.it"}
    })
}

pub fn markdown() -> String {
    "Gentile cittadina, gentile cittadino: ti ricordiamo la scadenza della rata della TARI. \
     Trovi i dettagli del pagamento qui sotto."
        .to_owned()
}

/// An HTTP response as the tests see it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body as received (PDFs, ZIPs).
    pub bytes: Vec<u8>,
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Response {
    send_bytes(addr, method, path, headers, body.map(String::into_bytes)).await
}

/// [`send`] with a body of any bytes (a spreadsheet, say).
pub async fn send_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Response {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Response {
        status,
        headers,
        body,
        text,
        bytes: bytes.to_vec(),
    }
}

/// Runs each listed async test function against both storage backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A square PNG of `size` pixels filled with `rgba`, base64-encoded (as the logo APIs take it).
pub fn png(size: u32, rgba: [u8; 4]) -> String {
    use base64::Engine as _;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size, size);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..size * size).flat_map(|_| rgba).collect();
        w.write_image_data(&data).unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}
