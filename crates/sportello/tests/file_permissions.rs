//! The data directory and the files holding personal data or secrets are the owner's alone
//! (0700 / 0600), on a real start of the binary; wider ones left by an older version or an
//! operator are reported at start. On PostgreSQL there is no database file: the data
//! directory and the key file are checked.
#![allow(clippy::unwrap_used)]

mod cli_support;
mod common;

use std::path::Path;

use cli_support::{Server, mode, run, set_mode, sportello};
use common::{ADMIN_TOKEN, Backend, TestDb};
use serde_json::json;

both_backends!(
    a_fresh_start_keeps_the_data_directory_and_its_files_private,
    a_data_directory_or_key_file_readable_by_others_is_reported_at_start,
);

/// The environment of a server on `db` with its data directory at `data_dir`.
fn env(db: &TestDb, backend: Backend, data_dir: &Path) -> Vec<(String, String)> {
    let mut env = vec![
        ("SPORTELLO_DATA_DIR".into(), data_dir.display().to_string()),
        ("SPORTELLO_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("SPORTELLO_WORKERS".into(), "1".into()),
    ];
    if backend == Backend::Postgres {
        env.push(("SPORTELLO_DATABASE_URL".into(), db.url.clone()));
        env.push(("SPORTELLO_CONTENT_KEYS".into(), db.content_keys.clone()));
    }
    env
}

fn command(env: &[(String, String)]) -> std::process::Command {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sportello(&pairs)
}

/// One write through the API, so that SQLite has its `-wal` and `-shm` files.
async fn write_something(server: &Server) {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let r = common::send(
        server.addr,
        "POST",
        "/api/admin/v1/organizations",
        &[("authorization", &auth)],
        Some(json!({"fiscal_code": common::ORG, "name": "Comune di Varese"}).to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn warnings(server: &Server) -> Vec<String> {
    server
        .log()
        .into_iter()
        .filter(|l| l.contains("\"WARN\""))
        .collect()
}

async fn a_fresh_start_keeps_the_data_directory_and_its_files_private(backend: Backend) {
    let db = TestDb::new(backend).await;
    let data_dir = db.data_dir.path().join("data");
    let env = env(&db, backend, &data_dir);
    if backend == Backend::Postgres {
        let migrated = run(command(&env), &["migrate"]);
        assert_eq!(migrated.code, 0, "{migrated:?}");
    }
    let server = Server::start(command(&env));
    write_something(&server).await;
    match backend {
        Backend::Sqlite => {
            assert_eq!(mode(&data_dir), 0o700, "data directory");
            for file in [
                "sportello.db",
                "sportello.db-wal",
                "sportello.db-shm",
                "content-keys",
            ] {
                assert_eq!(mode(&data_dir.join(file)), 0o600, "{file}");
            }
        }
        Backend::Postgres => {
            // Nothing is stored in files: no data directory appears, readable or not.
            assert!(
                !data_dir.exists(),
                "a PostgreSQL node wrote a data directory"
            );
        }
    }
    let permission_warnings: Vec<String> = warnings(&server)
        .into_iter()
        .filter(|l| l.contains("mode"))
        .collect();
    assert!(permission_warnings.is_empty(), "{permission_warnings:?}");
    drop(server);
    db.drop_schema().await;
}

async fn a_data_directory_or_key_file_readable_by_others_is_reported_at_start(backend: Backend) {
    let db = TestDb::new(backend).await;
    let data_dir = db.data_dir.path().join("data");
    let mut env = env(&db, backend, &data_dir);
    let key_file = data_dir.join("content-keys");
    let mut wide = vec![data_dir.clone(), key_file.clone()];
    match backend {
        Backend::Sqlite => {
            // As an older version left them: database and key file 0644 in a 0755 directory.
            let migrated = run(command(&env), &["migrate"]);
            assert_eq!(migrated.code, 0, "{migrated:?}");
            let keys = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&key_file);
            use std::io::Write as _;
            keys.unwrap().write_all(db.content_keys.as_bytes()).unwrap();
            wide.push(data_dir.join("sportello.db"));
        }
        Backend::Postgres => {
            let migrated = run(command(&env), &["migrate"]);
            assert_eq!(migrated.code, 0, "{migrated:?}");
            std::fs::create_dir(&data_dir).unwrap();
            std::fs::write(&key_file, &db.content_keys).unwrap();
            env.retain(|(k, _)| k != "SPORTELLO_CONTENT_KEYS");
            env.push((
                "SPORTELLO_CONTENT_KEYS_FILE".into(),
                key_file.display().to_string(),
            ));
        }
    }
    for path in &wide {
        let bits = if path.is_dir() { 0o755 } else { 0o644 };
        set_mode(path, bits);
    }
    let server = Server::start(command(&env));
    write_something(&server).await;
    let warnings = warnings(&server);
    for path in &wide {
        let shown = path.display().to_string();
        let expected = if path.is_dir() { "0755" } else { "0644" };
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&shown) && w.contains(expected)),
            "no warning about {shown} ({expected}) in {warnings:?}"
        );
    }
    // A private key file in a private directory is not reported.
    let quiet = TestDb::new(backend).await;
    let quiet_dir = quiet.data_dir.path().join("data");
    std::fs::create_dir(&quiet_dir).unwrap();
    set_mode(&quiet_dir, 0o700);
    let quiet_env = self::env(&quiet, backend, &quiet_dir);
    let migrated = run(command(&quiet_env), &["migrate"]);
    assert_eq!(migrated.code, 0, "{migrated:?}");
    let quiet_server = Server::start(command(&quiet_env));
    write_something(&quiet_server).await;
    let noise: Vec<String> = self::warnings(&quiet_server)
        .into_iter()
        .filter(|l| l.contains("mode"))
        .collect();
    assert!(noise.is_empty(), "{noise:?}");
    drop(server);
    drop(quiet_server);
    db.drop_schema().await;
    quiet.drop_schema().await;
}
