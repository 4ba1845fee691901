//! Contract of the `Batches` port, on SQLite and PostgreSQL.
//!
//! | method                  | test(s)                                                          |
//! |-------------------------|------------------------------------------------------------------|
//! | `create_batch`          | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle`, `a_batch_round_trips_and_its_lines_page_by_cursor` |
//! | `add_batch_rows`        | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle`, `a_batch_round_trips_and_its_lines_page_by_cursor` |
//! | `seal_batch`            | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle`, `a_batch_round_trips_and_its_lines_page_by_cursor` |
//! | `discard_batch`         | `a_cancelled_batch_stays_cancelled_and_a_discarded_one_is_gone`  |
//! | `discard_stale_uploads` | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle` |
//! | `get_batch`             | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle`, `a_batch_round_trips_and_its_lines_page_by_cursor` |
//! | `pending_rows`          | `a_batch_round_trips_and_its_lines_page_by_cursor`               |
//! | `record_rows`           | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle`, `a_batch_round_trips_and_its_lines_page_by_cursor` |
//! | `reject_pending_rows`   | `an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle`, `a_cancelled_batch_stays_cancelled_and_a_discarded_one_is_gone` |
//! | `cancel_batch`          | `a_cancelled_batch_stays_cancelled_and_a_discarded_one_is_gone`  |
//! | `batch_report`          | `a_batch_round_trips_and_its_lines_page_by_cursor`, `a_cancelled_batch_stays_cancelled_and_a_discarded_one_is_gone` |
//! | `batch_processed`       | `batch_processed_counts_only_processed_messages_of_the_batch`    |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use kernel::jobs::JobKind;
use messaging::model::{BatchStatus, ProcessingOutcome, RejectionReason, RowOutcome, RowStatus};
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle,
    a_batch_round_trips_and_its_lines_page_by_cursor,
    a_cancelled_batch_stays_cancelled_and_a_discarded_one_is_gone,
    batch_processed_counts_only_processed_messages_of_the_batch,
);

async fn an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle(b: Backend) {
    use messaging::model::{BatchStatus, RowOutcome};
    let (db, s) = seeded(b).await;
    let st = &db.store;
    let now = Utc::now();
    let old = now - Duration::hours(2);
    // An upload cut short: rows stored two hours ago, never sealed.
    let (cut, created) = st
        .create_batch(&upload("b-cut", s.id, old), Some("k1"))
        .await
        .unwrap();
    assert_eq!((cut, created), (bid("b-cut"), true));
    st.add_batch_rows(&cut, &rows(2), old).await.unwrap();
    // Its retry with the same key is a new upload, which takes the key when sealed.
    let (retry, created) = st
        .create_batch(&upload("b-retry", s.id, now), Some("k1"))
        .await
        .unwrap();
    assert_eq!((retry, created), (bid("b-retry"), true));
    st.add_batch_rows(&retry, &rows(3), now).await.unwrap();
    let sealed = st.seal_batch(&retry, 3, Some("k1"), now).await.unwrap();
    assert_eq!(sealed, (bid("b-retry"), true));
    assert_eq!(st.job_counts().await.unwrap().queued, 1);
    let (again, created) = st
        .create_batch(&upload("b-3", s.id, now), Some("k1"))
        .await
        .unwrap();
    assert_eq!((again, created), (bid("b-retry"), false));
    // The stale upload is swept, the sealed batch is not; the swept one takes no more lines.
    assert_eq!(
        st.discard_stale_uploads(now - Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert!(st.get_batch(&cut).await.unwrap().is_none());
    assert!(matches!(
        st.add_batch_rows(&cut, &rows(1), now).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(st.seal_batch(&cut, 2, None, now).await.is_err());
    assert_eq!(st.get_batch(&retry).await.unwrap().unwrap().total, 3);
    assert_eq!(st.batch_report(&cut, 0, 10).await.unwrap().len(), 0);
    // A late upload with a taken key is removed at sealing and answers with the holder.
    let (late, _) = st
        .create_batch(&upload("b-late", s.id, now), None)
        .await
        .unwrap();
    st.add_batch_rows(&late, &rows(1), now).await.unwrap();
    let sealed = st.seal_batch(&late, 1, Some("k1"), now).await.unwrap();
    assert_eq!(sealed, (bid("b-retry"), false));
    assert!(st.get_batch(&late).await.unwrap().is_none());
    // Outcomes recorded while uploading never complete it; sealing does when all are done.
    let (all, _) = st
        .create_batch(&upload("b-all", s.id, now), None)
        .await
        .unwrap();
    st.add_batch_rows(&all, &rows(1), now).await.unwrap();
    let rejected = RowOutcome {
        line: 1,
        outcome: RowStatus::Rejected,
        message_id: None,
        reason: Some("too long".into()),
    };
    st.record_rows(&all, &[rejected], now).await.unwrap();
    let b = st.get_batch(&all).await.unwrap().unwrap();
    assert_eq!(
        (b.status, b.rejected, b.sealed_at),
        (BatchStatus::Running, 1, None)
    );
    st.seal_batch(&all, 1, None, now).await.unwrap();
    let b = st.get_batch(&all).await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::Completed);
    assert!(b.sealed_at.is_some());
    assert_eq!(
        st.job_counts().await.unwrap().queued,
        1,
        "no job for a finished batch"
    );
    // Stopping a batch rejects what is pending and completes it.
    assert_eq!(
        st.reject_pending_rows(&retry, "not sent: stopped", now)
            .await
            .unwrap(),
        3
    );
    let b = st.get_batch(&retry).await.unwrap().unwrap();
    assert_eq!((b.status, b.rejected), (BatchStatus::Completed, 3));
    db.done().await;
}

fn outcome(
    line: i64,
    status: RowStatus,
    message_id: Option<&str>,
    reason: Option<&str>,
) -> RowOutcome {
    RowOutcome {
        line,
        outcome: status,
        message_id: message_id.map(str::to_owned),
        reason: reason.map(str::to_owned),
    }
}

async fn a_batch_round_trips_and_its_lines_page_by_cursor(b: Backend) {
    let (db, s) = seeded(b).await;
    let now = now_ms();
    let mut batch = upload("b-csv", s.id, now);
    batch.format = messaging::batch::Format::Csv;
    batch.header = Some("fiscal_code,subject,markdown".into());
    batch.key_hash = Some("h1".into());
    let (id, created) = db.store.create_batch(&batch, Some("key")).await.unwrap();
    assert_eq!((id, created), (batch.id, true));
    assert_eq!(db.store.get_batch(&id).await.unwrap(), Some(batch.clone()));
    assert_eq!(db.store.get_batch(&bid("nope")).await.unwrap(), None);
    // Two uploads of lines; the second marks the batch alive later.
    db.store
        .add_batch_rows(&id, &rows_from(1, 4), now)
        .await
        .unwrap();
    let later = now + Duration::seconds(2);
    db.store
        .add_batch_rows(&id, &rows_from(5, 7), later)
        .await
        .unwrap();
    assert_eq!(
        db.store.get_batch(&id).await.unwrap().unwrap().updated_at,
        later
    );
    assert!(matches!(
        db.store.add_batch_rows(&bid("nope"), &rows(1), now).await,
        Err(StoreError::NotFound(_))
    ));
    let sealed_at = later + Duration::seconds(1);
    assert_eq!(
        db.store
            .seal_batch(&id, 7, Some("key"), sealed_at)
            .await
            .unwrap(),
        (id, true)
    );
    let got = db.store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.total,
            got.sealed_at,
            got.status,
            got.accepted,
            got.rejected
        ),
        (7, Some(sealed_at), BatchStatus::Running, 0, 0)
    );
    job_of(&db, JobKind::ProcessBatch, &id.to_string()).await;
    assert!(
        matches!(
            db.store.add_batch_rows(&id, &rows_from(8, 8), now).await,
            Err(StoreError::NotFound(_))
        ),
        "a sealed batch takes no more lines"
    );
    // Pending lines by cursor: pages of 3 neither overlap nor skip.
    let mut paged = Vec::new();
    let mut after = 0;
    for round in 0.. {
        assert!(round < 20, "paging does not end");
        let page = db.store.pending_rows(&id, after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = page.last().unwrap().line;
        paged.extend(page);
    }
    assert_eq!(paged, rows_from(1, 7), "every line with its body, in order");
    // Outcomes for lines 2 and 5; a second outcome for a line changes nothing.
    db.store
        .record_rows(
            &id,
            &[
                outcome(2, RowStatus::Accepted, Some("01M2"), None),
                outcome(5, RowStatus::Rejected, None, Some("bad fiscal code")),
            ],
            now,
        )
        .await
        .unwrap();
    db.store
        .record_rows(
            &id,
            &[outcome(2, RowStatus::Rejected, None, Some("late"))],
            now,
        )
        .await
        .unwrap();
    let got = db.store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!(
        (got.accepted, got.rejected, got.status),
        (1, 1, BatchStatus::Running)
    );
    assert_eq!(
        db.store
            .pending_rows(&id, 0, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.line)
            .collect::<Vec<_>>(),
        vec![1, 3, 4, 6, 7]
    );
    assert_eq!(
        db.store
            .pending_rows(&id, 3, 2)
            .await
            .unwrap()
            .iter()
            .map(|r| r.line)
            .collect::<Vec<_>>(),
        vec![4, 6]
    );
    // The report by cursor.
    let report = db.store.batch_report(&id, 0, 3).await.unwrap();
    assert_eq!(
        report,
        vec![
            outcome(1, RowStatus::Pending, None, None),
            outcome(2, RowStatus::Accepted, Some("01M2"), None),
            outcome(3, RowStatus::Pending, None, None),
        ]
    );
    let report = db.store.batch_report(&id, 3, 3).await.unwrap();
    assert_eq!(
        report.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert_eq!(
        report[1],
        outcome(5, RowStatus::Rejected, None, Some("bad fiscal code"))
    );
    assert_eq!(db.store.batch_report(&id, 6, 3).await.unwrap().len(), 1);
    assert!(db.store.batch_report(&id, 7, 3).await.unwrap().is_empty());
    // The last outcomes complete it.
    let rest: Vec<_> = [1, 3, 4, 6, 7]
        .into_iter()
        .map(|l| outcome(l, RowStatus::Accepted, Some("01M3"), None))
        .collect();
    db.store.record_rows(&id, &rest, now).await.unwrap();
    let got = db.store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!(
        (got.accepted, got.rejected, got.status),
        (6, 1, BatchStatus::Completed)
    );
    assert!(db.store.pending_rows(&id, 0, 10).await.unwrap().is_empty());
    assert!(
        !db.store.cancel_batch(&id, now).await.unwrap(),
        "a completed batch"
    );
    // Its idempotency key now answers for the service.
    assert_eq!(
        db.store
            .create_batch(&upload("b-again", s.id, now), Some("key"))
            .await
            .unwrap(),
        (id, false)
    );
    db.done().await;
}

async fn a_cancelled_batch_stays_cancelled_and_a_discarded_one_is_gone(b: Backend) {
    let (db, s) = seeded(b).await;
    let now = now_ms();
    let (id, _) = db
        .store
        .create_batch(&upload("b-1", s.id, now), None)
        .await
        .unwrap();
    db.store.add_batch_rows(&id, &rows(4), now).await.unwrap();
    db.store.seal_batch(&id, 4, None, now).await.unwrap();
    db.store
        .record_rows(
            &id,
            &[outcome(1, RowStatus::Accepted, Some("01M1"), None)],
            now,
        )
        .await
        .unwrap();
    let at = now + Duration::seconds(1);
    assert!(db.store.cancel_batch(&id, at).await.unwrap());
    assert!(!db.store.cancel_batch(&id, at).await.unwrap(), "once");
    assert!(!db.store.cancel_batch(&bid("nope"), at).await.unwrap());
    let got = db.store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!((got.status, got.updated_at), (BatchStatus::Cancelled, at));
    // Rejecting what is left records every pending line, and the batch stays cancelled.
    assert_eq!(
        db.store
            .reject_pending_rows(&id, "cancelled", at)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        db.store
            .reject_pending_rows(&id, "cancelled", at)
            .await
            .unwrap(),
        0
    );
    let got = db.store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.accepted, got.rejected),
        (BatchStatus::Cancelled, 1, 3)
    );
    let report = db.store.batch_report(&id, 0, 10).await.unwrap();
    assert_eq!(
        report[0],
        outcome(1, RowStatus::Accepted, Some("01M1"), None)
    );
    assert!(
        report[1..]
            .iter()
            .all(|r| r.outcome == RowStatus::Rejected && r.reason.as_deref() == Some("cancelled"))
    );
    assert!(db.store.pending_rows(&id, 0, 10).await.unwrap().is_empty());
    // An upload refused half-way is removed with its lines; others stay.
    let (refused, _) = db
        .store
        .create_batch(&upload("b-2", s.id, now), None)
        .await
        .unwrap();
    db.store
        .add_batch_rows(&refused, &rows(2), now)
        .await
        .unwrap();
    // Rejecting an unsealed upload's lines does not complete it.
    assert_eq!(
        db.store
            .reject_pending_rows(&refused, "x", now)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.store.get_batch(&refused).await.unwrap().unwrap().status,
        BatchStatus::Running
    );
    db.store.discard_batch(&refused).await.unwrap();
    assert!(db.store.get_batch(&refused).await.unwrap().is_none());
    assert!(
        db.store
            .batch_report(&refused, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM batch_rows").await, 4);
    assert!(db.store.get_batch(&id).await.unwrap().is_some());
    db.done().await;
}

async fn batch_processed_counts_only_processed_messages_of_the_batch(b: Backend) {
    let (db, s) = seeded(b).await;
    let now = Utc::now();
    let (id, _) = db
        .store
        .create_batch(&upload("b-1", s.id, now), None)
        .await
        .unwrap();
    db.store.add_batch_rows(&id, &rows(4), now).await.unwrap();
    db.store.seal_batch(&id, 4, None, now).await.unwrap();
    let group: Vec<_> = (0..3).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&group).await.unwrap();
    let outcomes: Vec<_> = group
        .iter()
        .enumerate()
        .map(|(i, m)| {
            outcome(
                i as i64 + 1,
                RowStatus::Accepted,
                Some(&m.id.to_string()),
                None,
            )
        })
        .chain([outcome(4, RowStatus::Rejected, None, Some("bad"))])
        .collect();
    db.store.record_rows(&id, &outcomes, now).await.unwrap();
    assert_eq!(
        db.store.batch_processed(&id).await.unwrap(),
        0,
        "none processed yet"
    );
    // Two processed, one rejected by processing; a message outside the batch does not count.
    let complete = |i: usize, o: ProcessingOutcome| {
        let m = group[i].clone();
        let db = &db;
        async move {
            let job = job_of(db, JobKind::ProcessMessage, &m.id.to_string()).await;
            db.store
                .complete_message_job(job.id, &m.id, &o, Utc::now())
                .await
                .unwrap();
        }
    };
    complete(0, processed(&group[0], s.id)).await;
    assert_eq!(db.store.batch_processed(&id).await.unwrap(), 1);
    complete(
        1,
        ProcessingOutcome::Rejected(RejectionReason::UserNotFound),
    )
    .await;
    complete(2, processed(&group[2], s.id)).await;
    deliver(&db, &s, |m| processed(m, s.id)).await;
    assert_eq!(db.store.batch_processed(&id).await.unwrap(), 2);
    assert_eq!(db.store.batch_processed(&bid("nope")).await.unwrap(), 0);
    db.done().await;
}
