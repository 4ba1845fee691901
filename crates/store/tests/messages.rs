//! Contract of the `Messages` port (intake), on SQLite and PostgreSQL.
//!
//! | method            | test(s)                                                                   |
//! |-------------------|---------------------------------------------------------------------------|
//! | `accept_messages` | `a_group_commit_dedupes_idempotency_keys_even_within_the_group`, `quotas_are_enforced_in_the_intake_transaction_and_replays_do_not_count`, `an_accepted_message_round_trips_with_its_job` |
//! | `get_message`     | `an_accepted_message_round_trips_with_its_job`                            |
//! | `get_messages`    | `batch_reads_return_exactly_the_messages_that_exist`                      |
#![allow(clippy::unwrap_used)]

mod support;

use kernel::jobs::{JobKind, JobStatus};
use kernel::values::MessageId;
use messaging::content::FeatureLevel;
use messaging::model::{AcceptOutcome, MessageStatus};
use messaging::ports::prelude::*;
use support::*;

both!(
    a_group_commit_dedupes_idempotency_keys_even_within_the_group,
    quotas_are_enforced_in_the_intake_transaction_and_replays_do_not_count,
    batch_reads_return_exactly_the_messages_that_exist,
    an_accepted_message_round_trips_with_its_job,
);

async fn a_group_commit_dedupes_idempotency_keys_even_within_the_group(b: Backend) {
    let (db, s) = seeded(b).await;
    let first = message(s.id, Some(("k-1", "hash-a")));
    let same = message(s.id, Some(("k-1", "hash-a")));
    let other_body = message(s.id, Some(("k-1", "hash-b")));
    let plain = message(s.id, None);
    let out = db
        .store
        .accept_messages(&[first.clone(), same, other_body, plain.clone()])
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![
            AcceptOutcome::Created(first.id),
            AcceptOutcome::Replayed(first.id),
            AcceptOutcome::KeyReused,
            AcceptOutcome::Created(plain.id),
        ]
    );
    // And across groups.
    let again = db
        .store
        .accept_messages(&[message(s.id, Some(("k-1", "hash-a")))])
        .await
        .unwrap();
    assert_eq!(again, vec![AcceptOutcome::Replayed(first.id)]);
    let counts = db.store.job_counts().await.unwrap();
    assert_eq!(counts.queued, 2, "one job per created message");
    // The same key is free for another service.
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    let elsewhere = message(other.id, Some(("k-1", "hash-a")));
    assert_eq!(
        db.store
            .accept_messages(std::slice::from_ref(&elsewhere))
            .await
            .unwrap(),
        vec![AcceptOutcome::Created(elsewhere.id)]
    );
    db.done().await;
}

async fn quotas_are_enforced_in_the_intake_transaction_and_replays_do_not_count(b: Backend) {
    let (db, s) = seeded(b).await;
    let quotas = messaging::quota::Quotas {
        daily: Some(2),
        monthly: Some(10),
    };
    let with_quota = |idem| {
        let mut m = message(s.id, idem);
        m.quotas = quotas;
        m
    };
    let first = with_quota(Some(("k-1", "h")));
    let group = vec![first.clone(), with_quota(None), with_quota(None)];
    let out = db.store.accept_messages(&group).await.unwrap();
    assert_eq!(out[0], AcceptOutcome::Created(first.id));
    assert!(matches!(out[1], AcceptOutcome::Created(_)));
    match &out[2] {
        AcceptOutcome::QuotaExceeded { period, limit, .. } => {
            assert_eq!(period.as_str(), "daily");
            assert_eq!(*limit, 2);
        }
        other => panic!("expected quota exceeded, got {other:?}"),
    }
    // A replay of an accepted message is still answered, and counts nothing.
    let again = db
        .store
        .accept_messages(&[with_quota(Some(("k-1", "h"))), with_quota(None)])
        .await
        .unwrap();
    assert_eq!(again[0], AcceptOutcome::Replayed(first.id));
    assert!(matches!(again[1], AcceptOutcome::QuotaExceeded { .. }));
    assert_eq!(
        db.store
            .service_usage(&s.id, chrono::Utc::now())
            .await
            .unwrap(),
        (2, 2)
    );
    assert_eq!(
        store::raw::scalar_i64(&db.store, "SELECT COUNT(*) FROM messages")
            .await
            .unwrap(),
        2,
        "refused messages are not stored"
    );
    assert_eq!(db.store.job_counts().await.unwrap().queued, 2);
    db.done().await;
}

async fn batch_reads_return_exactly_the_messages_that_exist(b: Backend) {
    let (db, s) = seeded(b).await;
    let batch: Vec<_> = (0..3).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&batch).await.unwrap();
    let mut asked: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
    asked.push(MessageId::new());
    let got = db.store.get_messages(&asked).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|m| batch.iter().any(|b| b.id == m.id)));
    assert!(db.store.get_messages(&[]).await.unwrap().is_empty());
    assert_eq!(
        db.store
            .get_messages(&[batch[1].id, batch[1].id])
            .await
            .unwrap()
            .len(),
        1,
        "one record per message"
    );
    db.done().await;
}

async fn an_accepted_message_round_trips_with_its_job(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut m = message(s.id, None);
    m.created_at = now_ms();
    m.feature_level = FeatureLevel::Advanced;
    m.time_to_live = 7_200;
    m.content.bytes = (0..=255).collect();
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let got = db.store.get_message(&m.id).await.unwrap().unwrap();
    assert_eq!(
        (got.id, got.service_id, &got.fiscal_code, got.created_at),
        (m.id, s.id, &m.fiscal_code, m.created_at)
    );
    assert_eq!(
        (got.time_to_live, got.feature_level, &got.content),
        (7_200, FeatureLevel::Advanced, &m.content)
    );
    assert_eq!(
        (
            got.status,
            got.rejection_reason,
            got.is_read,
            got.updated_at
        ),
        (MessageStatus::Accepted, None, false, m.created_at)
    );
    assert!(
        db.store
            .get_message(&MessageId::new())
            .await
            .unwrap()
            .is_none()
    );
    let job = job_of(&db, JobKind::ProcessMessage, &m.id.to_string()).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Queued, 0));
    assert_eq!(job.run_at, m.created_at, "due at once");
    assert!(db.store.accept_messages(&[]).await.unwrap().is_empty());
    db.done().await;
}
