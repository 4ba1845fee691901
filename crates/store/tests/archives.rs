//! Contract of the payments `Archives` port, on SQLite and PostgreSQL.
//!
//! | method                    | test(s)                                                       |
//! |---------------------------|---------------------------------------------------------------|
//! | `create_archive`          | `an_archive_is_created_with_its_job_and_read_back_by_its_ente_only` |
//! | `get_archive`, `get_archive_by_id` | `an_archive_is_created_with_its_job_and_read_back_by_its_ente_only` |
//! | `start_archive`, `archive_progress`, `finish_archive` | `a_run_restarts_counts_and_finishes` |
//! | `count_archive_positions`, `archive_positions` | `the_cursor_walks_each_matching_position_once_up_to_the_request` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Duration;
use kernel::jobs::JobKind;
use payments::PositionStatus;
use payments::ports::prelude::*;
use payments::ports::{ArchiveCursor, ArchiveFilter, ArchiveStatus, NoticeArchive};
use support::*;

both!(
    an_archive_is_created_with_its_job_and_read_back_by_its_ente_only,
    a_run_restarts_counts_and_finishes,
    the_cursor_walks_each_matching_position_once_up_to_the_request,
);

fn archive(id: &str) -> NoticeArchive {
    let now = now_ms();
    NoticeArchive {
        id: id.into(),
        organization: org().fiscal_code,
        filter: ArchiveFilter {
            statuses: vec![PositionStatus::Valid],
            due_from: Some(now),
            due_to: None,
            segregation_codes: vec![payments::values::SegregationCode::new(1).unwrap()],
        },
        language: "de".into(),
        status: ArchiveStatus::Queued,
        total: 0,
        done: 0,
        failed: 0,
        path: None,
        created_at: now,
        updated_at: now,
        error: None,
    }
}

async fn an_archive_is_created_with_its_job_and_read_back_by_its_ente_only(b: Backend) {
    let db = Db::new(b).await;
    let a = archive("01JARCHIVE0000000000000001");
    db.store
        .create_archive(&a, &audit("payments.notice_archive"))
        .await
        .unwrap();
    let o = org().fiscal_code;
    assert_eq!(
        db.store.get_archive(&o, &a.id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        db.store.get_archive_by_id(&a.id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(db.store.get_archive(&ofc(1), &a.id).await.unwrap(), None);
    assert_eq!(db.store.get_archive(&o, "nope").await.unwrap(), None);
    let job = job_of(&db, JobKind::NoticeArchive, &a.id).await;
    assert_eq!(job.subject_id, a.id);
    // The same id twice is a conflict, and writes no second job.
    assert!(db.store.create_archive(&a, &audit("again")).await.is_err());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM jobs").await, 1);
    db.done().await;
}

async fn a_run_restarts_counts_and_finishes(b: Backend) {
    let db = Db::new(b).await;
    let a = archive("01JARCHIVE0000000000000002");
    db.store.create_archive(&a, &audit("x")).await.unwrap();
    let at = now_ms();
    db.store.start_archive(&a.id, 10, at).await.unwrap();
    db.store.archive_progress(&a.id, 6, 1, at).await.unwrap();
    let got = db.store.get_archive_by_id(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.total, got.done, got.failed),
        (ArchiveStatus::Running, 10, 6, 1)
    );
    db.store
        .finish_archive(&a.id, Err("disk full"), at)
        .await
        .unwrap();
    let got = db.store.get_archive_by_id(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.error.as_deref()),
        (ArchiveStatus::Failed, Some("disk full"))
    );
    // A new run resets the counters and the error.
    db.store.start_archive(&a.id, 9, at).await.unwrap();
    let got = db.store.get_archive_by_id(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.done, got.failed, got.error),
        (ArchiveStatus::Running, 0, 0, None)
    );
    db.store
        .finish_archive(&a.id, Ok(("/d/a.zip", 8, 2)), at)
        .await
        .unwrap();
    let got = db.store.get_archive_by_id(&a.id).await.unwrap().unwrap();
    assert_eq!(got.status, ArchiveStatus::Done);
    assert_eq!(
        (got.total, got.done, got.failed),
        (10, 8, 2),
        "total is done + failed"
    );
    assert_eq!(got.path.as_deref(), Some("/d/a.zip"));
    assert!(matches!(
        db.store.start_archive("missing", 1, at).await,
        Err(kernel::ports::StoreError::NotFound(_))
    ));
    db.done().await;
}

async fn the_cursor_walks_each_matching_position_once_up_to_the_request(b: Backend) {
    let db = Db::new(b).await;
    let t0 = now_ms();
    // 25 positions in five groups inserted at the same millisecond (ties broken by id); every
    // fifth a draft; one inserted after the request.
    let mut writes = Vec::new();
    for i in 0..26u64 {
        let mut p = position(&format!("P{i:02}"), &[100 + i]);
        p.inserted_date = t0 + Duration::milliseconds((i / 5) as i64);
        if i == 25 {
            p.inserted_date = t0 + Duration::hours(1);
        }
        if i % 5 == 4 {
            p.status = PositionStatus::Draft;
        }
        writes.push(pwrite(p));
    }
    db.store.create_positions(&writes).await.unwrap();
    let o = org().fiscal_code;
    let until = t0 + Duration::minutes(1);
    let all = ArchiveFilter::default();
    assert_eq!(
        db.store
            .count_archive_positions(&o, &all, until)
            .await
            .unwrap(),
        25
    );
    let valid = ArchiveFilter {
        statuses: vec![PositionStatus::Valid],
        ..ArchiveFilter::default()
    };
    assert_eq!(
        db.store
            .count_archive_positions(&o, &valid, until)
            .await
            .unwrap(),
        20
    );
    assert_eq!(
        db.store
            .count_archive_positions(&ofc(1), &all, until)
            .await
            .unwrap(),
        0
    );
    for (filter, want) in [(&all, 25), (&valid, 20)] {
        let mut seen = Vec::new();
        let mut cursor: Option<ArchiveCursor> = None;
        loop {
            let page = db
                .store
                .archive_positions(&o, filter, until, cursor.as_ref(), 3)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(ArchiveCursor {
                inserted: last.inserted_date,
                id: last.id,
            });
            seen.extend(page.iter().map(|p| p.iupd.as_str().to_owned()));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no position twice: {seen:?}");
        assert_eq!(seen.len(), want);
        assert!(
            !seen.contains(&"P25".to_owned()),
            "inserted after the request"
        );
    }
    db.done().await;
}
