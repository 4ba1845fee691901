//! The SMTP server of the `mail` bench, a real aiosmtpd on 127.0.0.1 run with
//! `scripts/smtp_sink.py` from the test-tools venv (`scripts/test-tools.sh` installs it on first
//! use). The server either counts the messages it accepts (`Counter` handler, the default) or
//! stores each one in a Maildir (the test suite's `notify::testing::SmtpSink`).

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::ValueEnum;
use notify::testing::{SmtpSink, workspace_root};

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What the server does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SinkKind {
    /// Counts it (a number in a file): the server costs least.
    Count,
    /// Writes it to a Maildir, as the test suite's server does.
    Maildir,
}

pub enum Sink {
    Count(CountingSink),
    Maildir(SmtpSink),
}

impl Sink {
    pub async fn start(kind: SinkKind) -> anyhow::Result<Self> {
        Ok(match kind {
            SinkKind::Count => Self::Count(CountingSink::start().await?),
            SinkKind::Maildir => Self::Maildir(SmtpSink::start().await),
        })
    }

    pub fn url(&self) -> String {
        match self {
            Self::Count(s) => format!("smtp://127.0.0.1:{}", s.port),
            Self::Maildir(s) => s.url(),
        }
    }

    /// Messages accepted so far.
    pub fn received(&self) -> anyhow::Result<u64> {
        match self {
            Self::Count(s) => s.count(),
            Self::Maildir(s) => Ok(s.messages().len() as u64),
        }
    }
}

/// aiosmtpd with the `Counter` handler of `scripts/smtp_sink.py`; killed when dropped (and it
/// exits by itself when this process goes away: its standard input is a pipe from here).
pub struct CountingSink {
    port: u16,
    count_file: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl CountingSink {
    async fn start() -> anyhow::Result<Self> {
        let root = workspace_root();
        let tools = root.join("scripts/test-tools.sh");
        let output = Command::new("bash")
            .arg(&tools)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", tools.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "{} failed ({}): {stdout}{}",
                tools.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let python = stdout.lines().last().unwrap_or_default().trim().to_owned();
        let dir = tempfile::Builder::new()
            .prefix("sportello-bench-smtp-")
            .tempdir()?;
        let count_file = dir.path().join("count");
        let log_path = dir.path().join("server.log");
        let log = fs::File::create(&log_path)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new(&python)
            .arg(root.join("scripts/smtp_sink.py"))
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "__main__.Counter"])
            .arg(&count_file)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start the SMTP server with {python}"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the SMTP server exited ({status}): {}",
                    fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if tokio::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
                .await
                .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the SMTP server did not listen on port {port} within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(Self {
            port,
            count_file,
            child,
            _dir: dir,
        })
    }

    fn count(&self) -> anyhow::Result<u64> {
        let text = match fs::read_to_string(&self.count_file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).context("cannot read the SMTP server's count"),
        };
        let text = text.trim();
        if text.is_empty() {
            return Ok(0);
        }
        text.parse()
            .with_context(|| format!("the SMTP server's count is not a number: {text:?}"))
    }
}

impl Drop for CountingSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
