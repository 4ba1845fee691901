//! The admin command line, run as the real binary: which database it opens (never a new one
//! by accident), the argument forms it accepts, and how its help is laid out.
#![allow(clippy::unwrap_used)]

mod cli_support;
mod common;

use cli_support::{Output, run, sportello};
use common::{Backend, ORG, TestDb};

both_backends!(
    an_admin_command_refuses_to_create_a_database_and_names_where_it_looked,
    an_admin_command_uses_the_database_migrate_made_or_creates_one_with_create,
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
