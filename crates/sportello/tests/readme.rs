//! The README's "First steps", run as written: the `sh` blocks between its markers, taken from
//! README.md at test time, run by bash against the binary cargo built, on a fresh directory
//! (SQLite, the README's default). The message must reach PROCESSED and the service be
//! published, so the README cannot drift from the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hash::{BuildHasher as _, Hasher as _};
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{CITIZEN, png};
use serde_json::Value;

const BEGIN: &str = "<!-- first-steps:";
const END: &str = "<!-- /first-steps -->";

/// The `sh` blocks between the markers, in order.
fn first_steps() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has no first-steps marker");
    let end = readme[start..].find(END).expect("README has no end marker") + start;
    let mut script = String::new();
    let mut inside = false;
    for line in readme[start..end].lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => {
                inside = false;
                script.push('\n');
            }
            (true, l) => {
                script.push_str(l);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(!inside, "an unclosed sh block in the first steps");
    script
}

/// A port from the dynamic range that nothing answers on now (if something takes it before
/// `serve` binds it, `serve` says so and the run is retried).
fn candidate_port() -> u16 {
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(0);
        let port = 20_000 + (h.finish() % 40_000) as u16;
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return port;
        }
    }
}

struct Run {
    vars: Option<Value>,
    stdout: String,
    stderr: Arc<Mutex<String>>,
    child: std::process::Child,
}

/// Runs the script in `dir` with `port`; returns once it printed its variables or ended.
fn start(script: &str, dir: &std::path::Path, port: u16) -> Run {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_sportello"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Strict mode catches a variable used but never set, or a command that fails; the epilogue
    // hands the variables to the test (on a line of their own: curl ends without a newline)
    // and keeps the server up until the test stops it.
    let full = format!(
        "set -euo pipefail\n{script}\n\
         printf '\\nREADME-VARS {{\"server\":%s,\"service_id\":\"%s\",\"key\":\"%s\",\
         \"manage_key\":\"%s\",\"message_id\":\"%s\",\"token\":\"%s\",\"pay_key\":\"%s\"}}\\n' \
         \"$SERVER\" \"$SERVICE_ID\" \"$KEY\" \"$MANAGE_KEY\" \"$MESSAGE_ID\" \"$TOKEN\" \"$PAY_KEY\"\n\
         wait \"$SERVER\"\n"
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(full)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("SPORTELLO_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let err = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdout = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut vars = None;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(json) = line.strip_prefix("README-VARS ") {
                    vars = Some(serde_json::from_str(json).unwrap());
                    break;
                }
                stdout.push_str(&line);
                stdout.push('\n');
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    Run {
        vars,
        stdout,
        stderr,
        child,
    }
}

/// Ends the script's process group (bash and the server it started).
fn stop(mut run: Run) {
    let pgid = run.child.id().to_string();
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{pgid}")])
        .status();
    let _ = run.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_steps_of_the_readme_publish_a_service_and_deliver_a_message() {
    let script = first_steps();
    assert!(script.contains("sportello serve"), "{script}");
    let logo = base64::engine::general_purpose::STANDARD
        .decode(png(300, [0, 0, 0, 0]))
        .unwrap();
    let mut attempts = 0;
    let (run, port, _dir) = loop {
        attempts += 1;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logo.png"), &logo).unwrap();
        let port = candidate_port();
        let run = tokio::task::block_in_place(|| start(&script, dir.path(), port));
        let taken = run.stderr.lock().unwrap().contains("cannot listen on");
        if run.vars.is_none() && taken && attempts < 5 {
            tokio::task::block_in_place(|| stop(run));
            continue;
        }
        break (run, port, dir);
    };
    let Some(vars) = run.vars.clone() else {
        let stderr = run.stderr.lock().unwrap().clone();
        let stdout = run.stdout.clone();
        tokio::task::block_in_place(|| stop(run));
        panic!("the first steps failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = |name: &str| vars[name].as_str().unwrap().to_owned();
    let (key, manage) = (s("key"), s("manage_key"));
    let with = |k: &str| vec![("ocp-apim-subscription-key".to_owned(), k.to_owned())];

    // The message reaches PROCESSED (a worker of the README's server handles it).
    let message = format!("/api/v1/messages/{CITIZEN}/{}", s("message_id"));
    let mut status = Value::Null;
    for _ in 0..200 {
        let headers = with(&key);
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = common::send(addr, "GET", &message, &h, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        status = r.body["status"].clone();
        if status != "ACCEPTED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "PROCESSED", "stdout:\n{}", run.stdout);

    // The service is approved and published, and the script's own last GET showed it.
    let service = format!("/api/v1/manage/services/{}", s("service_id"));
    let headers = with(&manage);
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let got = common::send(addr, "GET", &service, &h, None).await;
    assert_eq!(got.body["status"]["value"], "approved", "{}", got.text);
    assert_eq!(got.body["publication"], "published", "{}", got.text);
    let release = common::send(addr, "GET", &format!("{service}/release"), &h, None).await;
    assert_eq!(release.status, 200, "{}", release.text);
    assert!(
        run.stdout.contains("\"publication\":\"published\""),
        "{}",
        run.stdout
    );

    // The citizen's session token from the script opens their inbox, with the message.
    let bearer = format!("Bearer {}", s("token"));
    let inbox = common::send(
        addr,
        "GET",
        "/api/citizen/v1/messages",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(inbox.status, 200, "{}", inbox.text);
    assert!(inbox.text.contains(&s("message_id")), "{}", inbox.text);

    // "Pay your first notice": the simulator paid it through the station, so the position is
    // PAID with the PSP's receipt, and the day's reporting flow was written.
    let headers = with(&s("pay_key"));
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let position = common::send(
        addr,
        "GET",
        "/api/gpd/v1/organizations/00441340122/debtpositions/TARI-2027-0001",
        &h,
        None,
    )
    .await;
    assert_eq!(position.status, 200, "{}", position.text);
    // Paid, then reconciled: the README's run applied the reported transfer.
    assert_eq!(position.body["status"], "REPORTED", "{}", position.text);
    let items = common::send(
        addr,
        "GET",
        "/api/payments/v1/organizations/00441340122/reconciliation",
        &h,
        None,
    )
    .await;
    assert_eq!(
        items.body["items"][0]["class"], "RECONCILED",
        "{}",
        items.text
    );
    assert_eq!(
        items.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        items.text
    );
    let receipts = common::send(
        addr,
        "GET",
        "/api/gpd/v1/organizations/00441340122/receipts",
        &h,
        None,
    )
    .await;
    assert_eq!(
        receipts.body["receiptsList"][0]["effect"], "APPLIED",
        "{}",
        receipts.text
    );
    assert!(run.stdout.contains("\"paid\": 1"), "{}", run.stdout);
    tokio::task::block_in_place(|| stop(run));
}
