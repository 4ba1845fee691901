//! Contract of the payments `Imports` port, on SQLite and PostgreSQL.
//!
//! | method                  | test(s)                                                          |
//! |-------------------------|------------------------------------------------------------------|
//! | `create_import`         | `an_upload_is_invisible_until_sealed_and_owns_its_key_only_then`, `a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing` |
//! | `add_import_lines`      | `an_upload_is_invisible_until_sealed_and_owns_its_key_only_then`, `a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing` |
//! | `seal_import`           | `an_upload_is_invisible_until_sealed_and_owns_its_key_only_then`, `a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing` |
//! | `discard_import`        | `an_upload_is_invisible_until_sealed_and_owns_its_key_only_then` |
//! | `discard_stale_imports` | `an_upload_is_invisible_until_sealed_and_owns_its_key_only_then` |
//! | `get_import`            | both                                                             |
//! | `pending_import_lines`  | `a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing` |
//! | `import_chunk`          | `a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing` |
//! | `import_report`         | `a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{DateTime, Duration, Utc};
use kernel::jobs::JobKind;
use kernel::ports::StoreError;
use messaging::ports::prelude::*;
use payments::import::{
    Import, ImportFormat, ImportId, ImportLine, ImportStatus, LineOutcome, LineResult,
};
use payments::ports::CreateOutcome;
use payments::ports::prelude::*;
use support::*;

both!(
    an_upload_is_invisible_until_sealed_and_owns_its_key_only_then,
    a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing,
);

fn new_import(at: DateTime<Utc>) -> Import {
    Import {
        id: ImportId::new_at(at),
        organization: org().fiscal_code,
        format: ImportFormat::Ndjson,
        header: None,
        to_publish: true,
        status: ImportStatus::Receiving,
        total: 0,
        created: 0,
        duplicates: 0,
        rejected: 0,
        created_at: at,
        updated_at: at,
    }
}

fn lines(first: i64, last: i64) -> Vec<ImportLine> {
    (first..=last)
        .map(|line| ImportLine {
            line,
            key_id: "k1".into(),
            body: vec![line as u8; 3],
        })
        .collect()
}

fn rejected(line: i64) -> LineResult {
    LineResult {
        line,
        outcome: LineOutcome::Rejected,
        iupd: None,
        reason: Some(format!("line {line}: not valid JSON")),
    }
}

async fn an_upload_is_invisible_until_sealed_and_owns_its_key_only_then(b: Backend) {
    let db = Db::new(b).await;
    db.store.create_organization(&org()).await.unwrap();
    let st = &db.store;
    let now = Utc::now();
    let old = now - Duration::hours(2);
    // An upload cut short two hours ago, with a key.
    let cut = new_import(old);
    assert_eq!(
        st.create_import(&cut, Some("k")).await.unwrap(),
        (cut.id, true)
    );
    st.add_import_lines(&cut.id, &lines(1, 3), old)
        .await
        .unwrap();
    let got = st.get_import(&cut.id).await.unwrap().unwrap();
    assert_eq!(got.status, ImportStatus::Receiving);
    // Its retry with the same key is a new upload: the key is taken only when sealed.
    let retry = new_import(now);
    assert_eq!(
        st.create_import(&retry, Some("k")).await.unwrap(),
        (retry.id, true)
    );
    st.add_import_lines(&retry.id, &lines(1, 2), now)
        .await
        .unwrap();
    assert_eq!(
        st.seal_import(&retry.id, 2, Some("k"), now).await.unwrap(),
        (retry.id, true)
    );
    let sealed = st.get_import(&retry.id).await.unwrap().unwrap();
    assert_eq!((sealed.status, sealed.total), (ImportStatus::Running, 2));
    let job = job_of(&db, JobKind::ImportPositions, &retry.id.to_string()).await;
    assert_eq!(job.kind, JobKind::ImportPositions);
    let third = new_import(now);
    assert_eq!(
        st.create_import(&third, Some("k")).await.unwrap(),
        (retry.id, false)
    );
    // The stale upload is swept, the sealed one is not; the swept one takes no more lines.
    assert_eq!(
        st.discard_stale_imports(now - Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert!(st.get_import(&cut.id).await.unwrap().is_none());
    assert!(matches!(
        st.add_import_lines(&cut.id, &lines(4, 4), now).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(st.get_import(&retry.id).await.unwrap().is_some());
    // A late upload sealing with the taken key is removed and answers with the holder.
    let late = new_import(now);
    st.create_import(&late, None).await.unwrap();
    st.add_import_lines(&late.id, &lines(1, 1), now)
        .await
        .unwrap();
    assert_eq!(
        st.seal_import(&late.id, 1, Some("k"), now).await.unwrap(),
        (retry.id, false)
    );
    assert!(st.get_import(&late.id).await.unwrap().is_none());
    // A discarded upload is gone with its lines.
    let gone = new_import(now);
    st.create_import(&gone, None).await.unwrap();
    st.add_import_lines(&gone.id, &lines(1, 5), now)
        .await
        .unwrap();
    st.discard_import(&gone.id).await.unwrap();
    assert!(st.get_import(&gone.id).await.unwrap().is_none());
    assert!(st.import_report(&gone.id, 0, 10).await.unwrap().is_empty());
}

async fn a_chunk_writes_positions_and_outcomes_together_and_a_rerun_changes_nothing(b: Backend) {
    let db = Db::new(b).await;
    db.store.create_organization(&org()).await.unwrap();
    let st = &db.store;
    let now = Utc::now();
    let i = new_import(now);
    st.create_import(&i, None).await.unwrap();
    st.add_import_lines(&i.id, &lines(1, 5), now).await.unwrap();
    // A line rejected while uploading counts before the import is sealed.
    st.import_chunk(&i.id, &[], &[], &[rejected(5)], now)
        .await
        .unwrap();
    st.seal_import(&i.id, 5, None, now).await.unwrap();
    let pending = st.pending_import_lines(&i.id, 0, 10).await.unwrap();
    assert_eq!(pending, lines(1, 4));
    assert_eq!(
        st.pending_import_lines(&i.id, 2, 1).await.unwrap(),
        lines(3, 3)
    );
    // The ente already has A.
    st.create_positions(&[pwrite(position("A", &[1]))])
        .await
        .unwrap();
    let writes = [
        pwrite(position("B", &[2])),
        pwrite(position("A", &[3])),
        pwrite(position("C", &[1])),
    ];
    let out = st
        .import_chunk(&i.id, &writes, &[1, 2, 3], &[rejected(4)], now)
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            CreateOutcome::Created,
            CreateOutcome::DuplicateIupd,
            CreateOutcome::DuplicateNotice
        ]
    );
    let got = st.get_import(&i.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.created, got.duplicates, got.rejected),
        (ImportStatus::Done, 1, 1, 3)
    );
    let report = st.import_report(&i.id, 0, 10).await.unwrap();
    let outcomes: Vec<(i64, LineOutcome, Option<&str>)> = report
        .iter()
        .map(|r| (r.line, r.outcome, r.iupd.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, LineOutcome::Created, Some("B")),
            (2, LineOutcome::Duplicate, Some("A")),
            (3, LineOutcome::Rejected, Some("C")),
            (4, LineOutcome::Rejected, None),
            (5, LineOutcome::Rejected, None),
        ]
    );
    assert!(report[1].reason.as_deref().unwrap().contains("IUPD A"));
    assert!(report[2].reason.as_deref().unwrap().contains("notice"));
    assert_eq!(st.import_report(&i.id, 3, 1).await.unwrap()[0].line, 4);
    assert!(
        st.pending_import_lines(&i.id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM payment_import_lines WHERE body IS NOT NULL"
        )
        .await,
        0,
        "a line's body goes with its outcome"
    );
    // The same chunk again (a lease taken over after the first run committed): nothing
    // created, no outcome or counter changed.
    let again = st
        .import_chunk(&i.id, &writes, &[1, 2, 3], &[rejected(4)], now)
        .await
        .unwrap();
    assert_eq!(again[0], CreateOutcome::DuplicateIupd);
    assert_eq!(st.get_import(&i.id).await.unwrap().unwrap(), got);
    assert_eq!(st.import_report(&i.id, 0, 10).await.unwrap(), report);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM payment_positions").await,
        2
    );
}
