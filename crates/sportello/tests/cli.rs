//! The admin command line, run as the real binary: which database it opens (never a new one
//! by accident), the argument forms it accepts, and how its help is laid out.
#![allow(clippy::unwrap_used)]

mod cli_support;
mod common;

use cli_support::{Output, run, sportello};
use common::{Backend, ORG, TestApp, TestDb, png};
use serde_json::{Value, json};

both_backends!(
    an_admin_command_refuses_to_create_a_database_and_names_where_it_looked,
    an_admin_command_uses_the_database_migrate_made_or_creates_one_with_create,
    the_target_of_an_admin_command_is_given_by_position_or_by_flag,
    a_refused_delegate_names_the_flag_the_operator_gave,
);

/// The environment of commands on `db`; on SQLite its data directory is `data_dir`.
fn env(db: &TestDb, backend: Backend, data_dir: Option<&std::path::Path>) -> Vec<(String, String)> {
    let mut env = vec![("SPORTELLO_CONTENT_KEYS".to_owned(), db.content_keys.clone())];
    if let Some(dir) = data_dir {
        env.push(("SPORTELLO_DATA_DIR".into(), dir.display().to_string()));
    }
    if backend == Backend::Postgres {
        env.push(("SPORTELLO_DATABASE_URL".into(), db.url.clone()));
    }
    env
}

fn cmd(env: &[(String, String)], cwd: &std::path::Path, args: &[&str]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut c = sportello(&pairs);
    c.current_dir(cwd);
    run(c, args)
}

const CREATE_ORG: &[&str] = &[
    "admin",
    "organization",
    "create",
    "--fiscal-code",
    ORG,
    "--name",
    "Comune di Varese",
];

/// Tables in the test's PostgreSQL schema.
async fn pg_tables(db: &TestDb) -> i64 {
    let schema = db.schema.as_deref().unwrap();
    db.count(&format!(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{schema}'"
    ))
    .await
}

async fn an_admin_command_refuses_to_create_a_database_and_names_where_it_looked(backend: Backend) {
    let db = TestDb::new(backend).await;
    let cwd = db.data_dir.path().join("elsewhere");
    std::fs::create_dir(&cwd).unwrap();
    match backend {
        Backend::Sqlite => {
            // From another directory, with the default data directory.
            let out = cmd(&env(&db, backend, None), &cwd, CREATE_ORG);
            assert_eq!(out.code, 2, "{out:?}");
            let looked_at = cwd.join("sportello-data").join("sportello.db");
            assert!(
                out.stderr.contains(&looked_at.display().to_string()),
                "{out:?}"
            );
            assert!(out.stderr.contains("--create"), "{out:?}");
            assert!(!out.stdout.contains("created"), "{out:?}");
            assert!(
                !cwd.join("sportello-data").exists(),
                "a data directory appeared"
            );
            // With another --data-dir.
            let other = db.data_dir.path().join("other");
            let out = cmd(
                &env(&db, backend, None),
                &cwd,
                &[&["--data-dir", other.to_str().unwrap()], CREATE_ORG].concat(),
            );
            assert_eq!(out.code, 2, "{out:?}");
            assert!(
                out.stderr
                    .contains(&other.join("sportello.db").display().to_string()),
                "{out:?}"
            );
            assert!(!other.exists(), "a data directory appeared");
            // `batch send` opens the database the same way (and has no --create).
            let file = db.data_dir.path().join("lotto.ndjson");
            std::fs::write(&file, "{}\n").unwrap();
            let out = cmd(
                &env(&db, backend, None),
                &cwd,
                &[
                    "batch",
                    "send",
                    file.to_str().unwrap(),
                    "--service",
                    "01J0000000000000000000000",
                ],
            );
            assert_eq!(out.code, 2, "{out:?}");
            assert!(
                out.stderr.contains(&looked_at.display().to_string()),
                "{out:?}"
            );
            assert!(!out.stderr.contains("--create"), "{out:?}");
            assert!(
                !cwd.join("sportello-data").exists(),
                "batch send created a database"
            );
        }
        Backend::Postgres => {
            let out = cmd(&env(&db, backend, None), &cwd, CREATE_ORG);
            assert_eq!(out.code, 2, "{out:?}");
            let schema = db.schema.as_deref().unwrap();
            assert!(out.stderr.contains(schema), "{out:?}");
            assert!(out.stderr.contains("127.0.0.1:5432"), "{out:?}");
            assert!(out.stderr.contains("--create"), "{out:?}");
            assert_eq!(
                pg_tables(&db).await,
                0,
                "the refused command created tables"
            );
        }
    }
    db.drop_schema().await;
}

async fn an_admin_command_uses_the_database_migrate_made_or_creates_one_with_create(
    backend: Backend,
) {
    // After `migrate`, admin commands work on that database.
    let db = TestDb::new(backend).await;
    let data_dir = db.data_dir.path().join("data");
    let env1 = env(&db, backend, Some(&data_dir));
    let migrated = cmd(&env1, db.data_dir.path(), &["migrate"]);
    assert_eq!(migrated.code, 0, "{migrated:?}");
    let out = cmd(&env1, db.data_dir.path(), CREATE_ORG);
    assert_eq!(out.code, 0, "{out:?}");
    let list = cmd(
        &env1,
        db.data_dir.path(),
        &["admin", "organization", "list", "--json"],
    );
    assert!(list.stdout.contains(ORG), "{list:?}");
    db.drop_schema().await;

    // With --create, an admin command creates the database it did not find.
    let db = TestDb::new(backend).await;
    let data_dir = db.data_dir.path().join("data");
    let env2 = env(&db, backend, Some(&data_dir));
    let out = cmd(
        &env2,
        db.data_dir.path(),
        &[CREATE_ORG, &["--create"]].concat(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let list = cmd(
        &env2,
        db.data_dir.path(),
        &["admin", "organization", "list", "--json"],
    );
    assert_eq!(list.code, 0, "{list:?}");
    assert!(list.stdout.contains(ORG), "{list:?}");
    if backend == Backend::Sqlite {
        assert!(data_dir.join("sportello.db").is_file());
    } else {
        assert!(pg_tables(&db).await > 0);
    }
    db.drop_schema().await;
}

/// A service submitted for review (passing the quality checks); its id.
async fn submitted(app: &TestApp, manage: &str, name: &str) -> String {
    let card = json!({
        "name": name,
        "description": "Avvisi e pagamenti del Comune di Varese, con le scadenze e i documenti.",
        "organization": {"name": "Comune di Varese", "fiscal_code": ORG},
        "authorized_cidrs": ["127.0.0.1/32"],
        "max_allowed_payment_amount": 100_000,
        "metadata": {"scope": "LOCAL", "topic_id": 11,
            "privacy_url": "https://www.comune.varese.it/privacy",
            "email": "tributi@comune.varese.it"}
    });
    let r = app
        .with_key(manage, "POST", "/manage/services", Some(&card))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let keys = app
        .with_key(manage, "GET", &format!("/manage/services/{id}/keys"), None)
        .await;
    let key = keys.body["primary_key"].as_str().unwrap();
    let r = app
        .with_key(
            key,
            "PUT",
            &format!("/organizations/{ORG}/logo"),
            Some(&json!({"logo": png(300, [0, 0, 0, 0])})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = app
        .with_key(
            manage,
            "PUT",
            &format!("/manage/services/{id}/review"),
            Some(&json!({"auto_publish": false})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    id
}

fn ok(out: &Output) -> &str {
    assert_eq!(out.code, 0, "{out:?}");
    &out.stdout
}

async fn the_target_of_an_admin_command_is_given_by_position_or_by_flag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manage = app.onboard().await;
    let first = submitted(&app, &manage, "Tributi comunali").await;
    let second = submitted(&app, &manage, "Servizi scolastici").await;
    let mut env = env(&app.db, backend, Some(app.db.data_dir.path()));
    if backend == Backend::Sqlite {
        env.push(("SPORTELLO_DATABASE_URL".into(), app.db.url.clone()));
    }
    let cwd = app.db.data_dir.path();
    let admin = |args: &[&str]| {
        tokio::task::block_in_place(|| cmd(&env, cwd, &[&["admin"], args].concat()))
    };

    // Organizations: `--fiscal-code X` (as before) or `X`.
    assert!(ok(&admin(&["organization", "disable", ORG])).contains("disabled"));
    let list = admin(&["organization", "list", "--json"]);
    let orgs: Value = serde_json::from_str(ok(&list)).unwrap();
    assert_eq!(orgs[0]["disabled"], true, "{orgs}");
    assert!(ok(&admin(&["organization", "enable", "--fiscal-code", ORG])).contains("enabled"));
    let orgs: Value =
        serde_json::from_str(ok(&admin(&["organization", "list", "--json"]))).unwrap();
    assert_eq!(orgs[0]["disabled"], false, "{orgs}");

    // Reviews: `ID` (as before) or `--id ID`.
    assert!(ok(&admin(&["review", "approve", "--id", &first])).contains("approved"));
    assert!(
        ok(&admin(&[
            "review",
            "reject",
            &second,
            "--reason",
            "Descrizione da completare"
        ]))
        .contains("rejected")
    );
    let r = app
        .with_key(&manage, "GET", &format!("/manage/services/{first}"), None)
        .await;
    assert_eq!(r.body["status"]["value"], "approved", "{}", r.body);
    let r = app
        .with_key(&manage, "GET", &format!("/manage/services/{second}"), None)
        .await;
    assert_eq!(r.body["status"]["value"], "rejected", "{}", r.body);

    // Delegates: `--id X` (as before) or `X`.
    let delegates: Value =
        serde_json::from_str(ok(&admin(&["delegate", "list", "--json"]))).unwrap();
    let delegate = delegates[0]["id"].as_str().unwrap().to_owned();
    assert!(ok(&admin(&["delegate", "disable", &delegate])).contains("disabled"));
    assert!(ok(&admin(&["delegate", "enable", "--id", &delegate])).contains("enabled"));
    let rotated: Value =
        serde_json::from_str(ok(&admin(&["delegate", "rotate-key", &delegate, "--json"]))).unwrap();
    assert_eq!(rotated["id"], delegate.as_str());

    // Citizen sessions: `--fiscal-code X` (as before) or `X`.
    for args in [
        &["citizen", "session", common::CITIZEN, "--json"][..],
        &[
            "citizen",
            "session",
            "--fiscal-code",
            common::CITIZEN,
            "--json",
        ][..],
    ] {
        let session: Value = serde_json::from_str(ok(&admin(args))).unwrap();
        assert!(session["token"].as_str().is_some_and(|t| !t.is_empty()));
    }

    // Jobs: both forms reach the queue and get the same answer for a job that is not there.
    let by_position = admin(&["jobs", "retry", "987654"]);
    let by_flag = admin(&["jobs", "retry", "--id", "987654"]);
    assert_ne!(by_position.code, 0, "{by_position:?}");
    let last = |o: &Output| o.stderr.lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        (by_position.code, last(&by_position)),
        (by_flag.code, last(&by_flag))
    );
    assert!(last(&by_flag).contains("does not exist"), "{by_flag:?}");

    // One target only, in one form.
    let both = admin(&["organization", "disable", ORG, "--fiscal-code", ORG]);
    assert_eq!(both.code, 2, "{both:?}");
    assert!(both.stderr.contains("cannot be used with"), "{both:?}");
    let none = admin(&["review", "approve"]);
    assert_eq!(none.code, 2, "{none:?}");
    assert!(none.stderr.contains("required"), "{none:?}");
    app.finish().await;
}

/// The lines of the section of `help` under `heading`, up to the next heading.
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

#[test]
fn a_subcommand_help_shows_the_global_options_apart_from_its_own() {
    for command in [
        &["admin", "review", "approve", "--help"][..],
        &["admin", "organization", "create", "--help"][..],
        &["serve", "--help"][..],
    ] {
        let out = run(sportello(&[]), command);
        assert_eq!(out.code, 0, "{out:?}");
        let own = section(&out.stdout, "Options:");
        let global = section(&out.stdout, "Global options:");
        assert!(
            global.iter().any(|l| l.contains("--data-dir")),
            "{command:?}: {}",
            out.stdout
        );
        assert!(
            !own.iter()
                .any(|l| l.contains("--data-dir") || l.contains("--listen")),
            "{command:?}: {}",
            out.stdout
        );
    }
    let out = run(
        sportello(&[]),
        &["admin", "organization", "create", "--help"],
    );
    let own = section(&out.stdout, "Options:");
    assert!(
        own.iter().any(|l| l.contains("--fiscal-code")),
        "{}",
        out.stdout
    );
}

async fn a_refused_delegate_names_the_flag_the_operator_gave(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.onboard().await;
    let mut env = env(&app.db, backend, Some(app.db.data_dir.path()));
    if backend == Backend::Sqlite {
        env.push(("SPORTELLO_DATABASE_URL".into(), app.db.url.clone()));
    }
    let out = tokio::task::block_in_place(|| {
        cmd(
            &env,
            app.db.data_dir.path(),
            &[
                "admin",
                "delegate",
                "create",
                "--organization",
                ORG,
                "--email",
                "not-an-email",
            ],
        )
    });
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("email"), "{out:?}");
    assert!(!out.stderr.contains("add[0]"), "{out:?}");
    app.finish().await;
}
