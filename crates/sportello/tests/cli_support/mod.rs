//! Runs the real `sportello` binary: one-shot commands, and `serve` on a port the kernel
//! chooses (`--listen 127.0.0.1:0`), its address read from its own start-up log line. The
//! port is never picked by the test and handed over, so no other process can take it between.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary with a clean environment: only `PATH`, JSON logs and what `env` adds.
pub fn sportello(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SPORTELLO_LOG_FORMAT", "json")
        .env("SPORTELLO_LOG", "info,sqlx=warn")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The binary pointed at one test database: the same environment for every command and
/// every (re)start of `serve`, so a restarted server opens the same data.
#[derive(Clone, Debug)]
pub struct Binary {
    env: Vec<(String, String)>,
}

impl Binary {
    /// Data directory, database URL, admin token and content keys of the database; a short job
    /// lease (500 ms) so that claims of a killed worker run out quickly.
    pub fn on_database(
        data_dir: &Path,
        database_url: &str,
        admin_token: &str,
        content_keys: &str,
    ) -> Self {
        let env = [
            ("SPORTELLO_DATA_DIR", data_dir.display().to_string()),
            ("SPORTELLO_DATABASE_URL", database_url.to_owned()),
            ("SPORTELLO_ADMIN_TOKEN", admin_token.to_owned()),
            ("SPORTELLO_CONTENT_KEYS", content_keys.to_owned()),
            ("SPORTELLO_JOB_LEASE_MS", "500".to_owned()),
        ];
        Self {
            env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    /// The command with this environment plus `extra` (which wins over it).
    pub fn command(&self, extra: &[(&str, &str)]) -> Command {
        let mut cmd = sportello(&[]);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a one-shot command to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        run(self.command(&[]), args)
    }

    /// Starts `serve` with `extra` in its environment and waits until `/readyz` answers 200.
    pub fn serve(&self, extra: &[(&str, &str)]) -> Server {
        let server = Server::start(self.command(extra));
        assert!(
            server.wait_ready(),
            "sportello serve did not become ready: {:?}",
            server.log()
        );
        server
    }

    /// Creates organization `org` ("Comune di Varese") and a draft service "Tributi" with the
    /// admin CLI, the service authorized to message `recipients`; returns (service id, primary
    /// key).
    pub fn onboard(&self, org: &str, recipients: &[&str]) -> (String, String) {
        self.run(&[
            "admin",
            "organization",
            "create",
            "--fiscal-code",
            org,
            "--name",
            "Comune di Varese",
            "--json",
        ])
        .json();
        let mut args = vec![
            "admin",
            "service",
            "create",
            "--organization",
            org,
            "--name",
            "Tributi",
            "--description",
            "Tributi comunali",
            "--json",
        ];
        for r in recipients {
            args.extend(["--authorized-recipient", r]);
        }
        let service = self.run(&args).json();
        (
            service["id"].as_str().unwrap().to_owned(),
            service["primary_key"].as_str().unwrap().to_owned(),
        )
    }
}

/// What a finished command did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The JSON the command printed; it must have succeeded.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(
            self.code, 0,
            "stdout: {} stderr: {}",
            self.stdout, self.stderr
        );
        serde_json::from_str(self.stdout.trim()).unwrap()
    }
}

/// Runs `cmd` with `args` to completion.
pub fn run(mut cmd: Command, args: &[&str]) -> Output {
    let out = cmd.args(args).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running `sportello serve`; killed (SIGKILL) when dropped, so a failing test leaves no
/// process behind.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `serve` on an ephemeral port and waits (at most 30 s) for its start-up line.
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["message"] == "sportello started"
                {
                    let _ = tx.send(v["listen"].as_str().unwrap_or_default().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(listen) => break listen.parse().unwrap(),
                Err(_) if Instant::now() < deadline && child.try_wait().unwrap().is_none() => {}
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("serve did not start: {:?}", log.lock().unwrap());
                }
            }
        };
        Self {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    /// Whether `/readyz` answers 200 within 30 s (the database may still be opening).
    pub fn wait_ready(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if readyz_status(self.addr) == Some(200) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log lines written so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: no graceful shutdown, no flushing, as in a crash. Returns every line the
    /// process logged, up to its end.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The process is gone, so its stderr is closed and the reader ends.
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.log()
    }
}

/// The status of `GET /readyz` on `addr`, or `None` when nothing answered.
fn readyz_status(addr: SocketAddr) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut status_line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut status_line)
        .ok()?;
    status_line.split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Sets the permission bits of `path`.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
