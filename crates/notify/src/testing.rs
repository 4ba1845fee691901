//! Real local peers for integration tests (feature `testing`): [`SmtpSink`], an SMTP server
//! (aiosmtpd, installed into `target/test-tools` by `scripts/test-tools.sh` and run with
//! `scripts/smtp_sink.py`) whose received mail tests read back decoded, and [`HttpReceiver`], an
//! HTTP server that records every request and answers with a configurable status.
//!
//! Other crates use them as a dev-dependency:
//! `notify = { workspace = true, features = ["testing"] }`.

#![expect(
    clippy::unwrap_used,
    reason = "test support: a failure to set up a peer panics the test with a clear message"
)]

use std::fs;
use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use mailparse::MailHeaderMap;
use tokio::sync::Notify;

/// How long a peer may take to accept connections after being started (python and aiosmtpd
/// take seconds to load on a loaded machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often [`SmtpSink::wait_for`] looks at the mailbox.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The workspace root: the nearest ancestor of this crate holding `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", manifest_dir.display()))
        .to_path_buf()
}

/// The python of the test-tools venv, installing the tools on the first call of the process
/// (`scripts/test-tools.sh`, a no-op once done).
fn tools_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = workspace_root().join("scripts/test-tools.sh");
        let output = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{} failed ({}):\n{stdout}\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let python = stdout.lines().last().unwrap_or_default().trim();
        assert!(
            Path::new(python).is_file(),
            "{} did not print the venv python on its last line:\n{stdout}",
            script.display()
        );
        PathBuf::from(python)
    })
}

/// A port on `127.0.0.1` that refuses connections for as long as this value lives: a socket is
/// bound to it, so no other process can take it, and never listens. For tests of an
/// unreachable peer; a port merely found free and released could be taken by the time the
/// test connects.
#[derive(Debug)]
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl ClosedPort {
    /// Reserves a port the kernel chooses.
    pub fn new() -> Self {
        Self::bind(0, false).unwrap_or_else(|e| panic!("cannot reserve a local port: {e}"))
    }

    /// The reserved port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Binds without listening. Without `reuse_address` no other socket can bind the port.
    /// With it, Linux lets a socket that also sets `SO_REUSEADDR` and names this port bind and
    /// listen beside it (so aiosmtpd, restarted, gets its port back), while a bind to port 0 is
    /// never given it.
    fn bind(port: u16, reuse_address: bool) -> std::io::Result<Self> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(reuse_address)?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
        let port = socket.local_addr()?.port();
        Ok(Self {
            _socket: socket,
            port,
        })
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A real SMTP server on `127.0.0.1` that stores every message it accepts.
///
/// Start it with `SmtpSink::start().await`, point an `SmtpMailer` at [`SmtpSink::url`], and read
/// what arrived with [`SmtpSink::messages`] or `wait_for(n, timeout).await`. Recipients whose
/// local part starts with `reject` are refused with SMTP 550, those starting with `tempfail`
/// with 451. [`SmtpSink::stop`] and `restart().await` (same port, same mailbox) simulate an
/// outage. Dropping the sink kills the server; the server also exits by itself if the test
/// process dies.
///
/// The server binds a port the kernel chooses and reports it once listening; the test never
/// picks a port and hands it over. While stopped, the sink keeps the port reserved (bound,
/// not listening: connections are refused; no other server binding port 0 is given it) so that
/// the restarted server gets it back.
#[derive(Debug)]
pub struct SmtpSink {
    /// 0 until the first server reported its port.
    port: u16,
    /// Holds the Maildir (`new/` has one file per message) and the server's stderr log.
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The port, held while the server is stopped.
    reserved: Option<ClosedPort>,
}

impl SmtpSink {
    /// Installs the tools if needed and starts a server on a port of its choosing, returning
    /// once it accepts connections. Blocks the thread only briefly (the first call of a
    /// process may take seconds to install aiosmtpd).
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("smtp-sink-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create the SMTP sink's directory: {e}"));
        let mut sink = Self {
            port: 0,
            dir,
            child: None,
            reserved: None,
        };
        sink.spawn().await;
        sink
    }

    /// `smtp://127.0.0.1:<port>`, for `SmtpMailer::from_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server and waits for it to exit: the port refuses connections afterwards.
    /// Messages received so far stay readable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            // If this fails, another process took the port in the instant since the server
            // closed it, and `restart` says so.
            self.reserved = ClosedPort::bind(self.port, true).ok();
        }
    }

    /// Starts the server again on the same port with the same mailbox (stopping it first if it
    /// runs).
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let new = self.dir.path().join("maildir/new");
        let mut files: Vec<(SystemTime, PathBuf)> = match fs::read_dir(&new) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| {
                    let modified = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    (modified, e.path())
                })
                .collect(),
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("cannot read {}: {e}", new.display()),
        };
        files.sort();
        files
            .iter()
            .map(|(_, path)| {
                let raw = fs::read(path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                ReceivedMail::parse(&raw)
            })
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all; panics after
    /// `timeout` saying how many came.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} e-mails within {timeout:?}, the SMTP sink received {}",
                messages.len()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn spawn(&mut self) {
        let python = tools_python();
        let script = workspace_root().join("scripts/smtp_sink.py");
        let log_path = self.dir.path().join("server.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log_path.display()));
        // The log is appended to across restarts: only what this server writes counts.
        let log_start = log.metadata().map_or(0, |m| m.len());
        let log_err = log.try_clone().unwrap();
        let mut child = Command::new(python)
            .arg(&script)
            .args(["-n", "-l", &format!("127.0.0.1:{}", self.port)])
            .args(["-c", "__main__.Sink"])
            .arg(self.dir.path().join("maildir"))
            // The server exits when this pipe closes, i.e. when this process goes away.
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));

        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            let written = read_log(&log_path);
            let reported = written.get(log_start as usize..).and_then(|new| {
                new.lines()
                    .find_map(|l| l.strip_prefix("smtp sink listening on 127.0.0.1:"))
                    .and_then(|p| p.trim().parse::<u16>().ok())
            });
            if let Some(port) = reported {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the SMTP sink exited ({status}) before listening on 127.0.0.1:{}:\n{written}",
                    self.port
                );
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the SMTP sink did not report listening within {START_TIMEOUT:?}:\n{written}"
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        };
        assert!(
            self.port == 0 || port == self.port,
            "the SMTP sink listens on {port}, not on {}",
            self.port
        );
        self.port = port;
        self.reserved = None;
        self.child = Some(child);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// An e-mail as the SMTP sink stored it, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope recipients (`RCPT TO`), as the server accepted them.
    pub to: Vec<String>,
    /// The `From` header, decoded (e.g. `Sportello <noreply@comune.example.it>`).
    pub from: String,
    /// The `Subject` header, decoded from RFC 2047.
    pub subject: String,
    /// The first text/plain part, transfer-decoded, with `\n` line ends and no trailing ones.
    pub text: String,
    /// The first text/html part, transfer-decoded, with `\n` line ends and no trailing ones.
    pub html: Option<String>,
    /// The message as stored, headers and encoded body.
    pub raw: String,
}

impl ReceivedMail {
    /// Parses a stored message; panics on a message that is not MIME.
    pub fn parse(raw: &[u8]) -> Self {
        let parsed = mailparse::parse_mail(raw)
            .unwrap_or_else(|e| panic!("the SMTP sink stored an unparsable message: {e}"));
        let header = |name: &str| parsed.headers.get_first_value(name);
        let to = header("X-RcptTo")
            .map(|value| {
                value
                    .split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let from = header("From").unwrap_or_default();
        let subject = header("Subject").unwrap_or_default();
        let mut text = None;
        let mut html = None;
        collect_parts(&parsed, &mut text, &mut html);
        Self {
            to,
            from,
            subject,
            text: text.unwrap_or_default(),
            html,
            raw: String::from_utf8_lossy(raw).into_owned(),
        }
    }
}

fn collect_parts(
    part: &mailparse::ParsedMail<'_>,
    text: &mut Option<String>,
    html: &mut Option<String>,
) {
    if part.subparts.is_empty() {
        let slot = match part.ctype.mimetype.as_str() {
            "text/plain" => text,
            "text/html" => html,
            _ => return,
        };
        if slot.is_none() {
            let body = part
                .get_body()
                .unwrap_or_else(|e| panic!("undecodable {} part: {e}", part.ctype.mimetype));
            // SMTP framing and the Maildir writer append line ends the sender did not write.
            *slot = Some(body.replace("\r\n", "\n").trim_end_matches('\n').to_owned());
        }
    } else {
        for sub in &part.subparts {
            collect_parts(sub, text, html);
        }
    }
}

/// A request recorded by [`HttpReceiver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path with its query string, e.g. `/callback?x=1`.
    pub path: String,
    /// The headers in arrival order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug)]
struct Recorded {
    requests: Mutex<Vec<ReceivedRequest>>,
    status: AtomicU16,
    arrived: Notify,
}

/// A local HTTP server on `127.0.0.1` that records every request, whatever its method and
/// path, and answers with an empty body and the status set by [`HttpReceiver::set_status`]
/// (200 at first). Start it inside a Tokio runtime with `HttpReceiver::start().await`; it stops
/// when dropped.
#[derive(Debug)]
pub struct HttpReceiver {
    address: SocketAddr,
    recorded: Arc<Recorded>,
    server: tokio::task::JoinHandle<()>,
}

impl HttpReceiver {
    /// Starts the receiver on a free port.
    pub async fn start() -> Self {
        let recorded = Arc::new(Recorded {
            requests: Mutex::new(Vec::new()),
            status: AtomicU16::new(200),
            arrived: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the HTTP receiver: {e}"));
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&recorded));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            address,
            recorded,
            server,
        }
    }

    /// `http://127.0.0.1:<port><path>`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The address the receiver listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Answers every later request with `status` (e.g. 503 to exercise retries).
    pub fn set_status(&self, status: u16) {
        assert!(
            StatusCode::from_u16(status).is_ok(),
            "invalid HTTP status {status}"
        );
        self.recorded.status.store(status, Ordering::SeqCst);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.recorded.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests have arrived and returns them all; panics after
    /// `timeout` saying how many came.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so an arrival in between is not missed.
            let arrived = self.recorded.arrived.notified();
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let got = self.requests().len();
                assert!(
                    got >= n,
                    "expected {n} HTTP requests within {timeout:?}, the receiver got {got}"
                );
            }
        }
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(State(recorded): State<Arc<Recorded>>, request: Request) -> StatusCode {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    recorded.requests.lock().unwrap().push(ReceivedRequest {
        method: parts.method.as_str().to_owned(),
        path,
        headers,
        body: body.to_vec(),
    });
    recorded.arrived.notify_waiters();
    StatusCode::from_u16(recorded.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}
