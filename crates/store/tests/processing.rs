//! Contract of the `Processing` port, on SQLite and PostgreSQL.
//!
//! | method                  | test(s)                                                           |
//! |-------------------------|-------------------------------------------------------------------|
//! | `complete_message_jobs` | `a_group_of_outcomes_is_recorded_at_once`                         |
//! | `complete_message_job`  | `completing_a_job_twice_never_duplicates_the_inbox_entry`, `outcome_callbacks_are_queued_only_for_services_with_a_callback` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use kernel::jobs::JobKind;
use messaging::citizen::{Attempt, CallbackConfig, Channel, Purpose};
use messaging::model::{MessageStatus, ProcessingOutcome, RejectionReason, SealedContent};
use messaging::ports::CompletedJob;
use messaging::ports::prelude::*;
use support::*;

both!(
    completing_a_job_twice_never_duplicates_the_inbox_entry,
    outcome_callbacks_are_queued_only_for_services_with_a_callback,
    a_group_of_outcomes_is_recorded_at_once,
);

async fn completing_a_job_twice_never_duplicates_the_inbox_entry(b: Backend) {
    let (db, s) = seeded(b).await;
    let m = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, Utc::now() + Duration::seconds(1), 1_000)
        .await
        .unwrap()
        .remove(0);
    let outcome = processed(&m, s.id);
    db.store
        .complete_message_job(job.id, &m.id, &outcome, Utc::now())
        .await
        .unwrap();
    // A late duplicate completion (e.g. after a lease takeover) changes nothing.
    db.store
        .complete_message_job(
            job.id,
            &m.id,
            &ProcessingOutcome::Rejected(RejectionReason::UserNotFound),
            Utc::now(),
        )
        .await
        .unwrap();
    let stored = db.store.get_message(&m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "PROCESSED");
    assert_eq!(
        store::raw::scalar_i64(&db.store, "SELECT COUNT(*) FROM inbox")
            .await
            .unwrap(),
        1
    );
    // Completing it once more (same outcome) notifies nobody twice.
    db.store
        .complete_message_job(job.id, &m.id, &outcome, Utc::now())
        .await
        .unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'").await,
        1
    );
    db.done().await;
}

async fn outcome_callbacks_are_queued_only_for_services_with_a_callback(b: Backend) {
    let (db, s) = seeded(b).await;
    deliver(&db, &s, |_| {
        ProcessingOutcome::Rejected(RejectionReason::UserNotFound)
    })
    .await;
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM callback_deliveries").await,
        0
    );
    let config = CallbackConfig {
        url: "https://ente.example.it/hook".into(),
        secret: SealedContent {
            key_id: "k1".into(),
            bytes: vec![3; 24],
        },
    };
    db.store.set_callback(&s.id, Some(&config)).await.unwrap();
    assert_eq!(db.store.get_callback(&s.id).await.unwrap(), Some(config));
    let id = deliver(&db, &s, |_| {
        ProcessingOutcome::Rejected(RejectionReason::ServiceNotAllowed)
    })
    .await;
    let log = db.store.callback_deliveries(None, None, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message_id, id);
    assert_eq!(log[0].event.as_str(), "rejected");
    assert_eq!(log[0].reason.as_deref(), Some("SERVICE_NOT_ALLOWED"));
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 10, Utc::now() + Duration::seconds(1), 1_000)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == JobKind::Callback)
        .unwrap();
    let attempt = Attempt {
        status: "DELIVERED".into(),
        status_code: Some(204),
        error: None,
        retry_at: None,
    };
    db.store
        .record_callback_attempt(log[0].id, job.id, &attempt, Utc::now())
        .await
        .unwrap();
    let d = db
        .store
        .get_callback_delivery(log[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.attempts, d.last_status_code),
        ("DELIVERED", 1, Some(204))
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'callback'").await,
        0
    );
    db.store.set_callback(&s.id, None).await.unwrap();
    assert!(db.store.get_callback(&s.id).await.unwrap().is_none());
    db.done().await;
}

async fn a_group_of_outcomes_is_recorded_at_once(b: Backend) {
    let (db, s) = seeded(b).await;
    db.store
        .set_callback(
            &s.id,
            Some(&CallbackConfig {
                url: "https://ente.example.it/hook".into(),
                secret: sealed(3),
            }),
        )
        .await
        .unwrap();
    let group: Vec<_> = (0..4).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&group).await.unwrap();
    let mut jobs = Vec::new();
    for m in &group {
        jobs.push(job_of(&db, JobKind::ProcessMessage, &m.id.to_string()).await);
    }
    let outcomes = [
        processed(&group[0], s.id),
        ProcessingOutcome::Rejected(RejectionReason::UserNotFound),
        ProcessingOutcome::Rejected(RejectionReason::ServiceNotAllowed),
        ProcessingOutcome::Processed {
            inbox: None,
            notifications: vec![],
        },
    ];
    let done: Vec<CompletedJob> = group
        .iter()
        .zip(&jobs)
        .zip(&outcomes)
        .map(|((m, j), o)| CompletedJob {
            job_id: j.id,
            message_id: m.id,
            outcome: o.clone(),
        })
        .collect();
    db.store
        .complete_message_jobs(&[], Utc::now())
        .await
        .unwrap();
    db.store
        .complete_message_jobs(&done, Utc::now())
        .await
        .unwrap();
    let status = |i: usize| {
        let id = group[i].id;
        let store = &db.store;
        async move {
            let m = store.get_message(&id).await.unwrap().unwrap();
            (m.status, m.rejection_reason)
        }
    };
    assert_eq!(status(0).await, (MessageStatus::Processed, None));
    assert_eq!(
        status(1).await,
        (MessageStatus::Rejected, Some(RejectionReason::UserNotFound))
    );
    assert_eq!(
        status(2).await,
        (
            MessageStatus::Rejected,
            Some(RejectionReason::ServiceNotAllowed)
        )
    );
    assert_eq!(status(3).await, (MessageStatus::Processed, None));
    // One inbox entry and its notification (with its job), for the message that had them.
    let fc = fc(FC);
    let inbox = db
        .store
        .inbox_item(&fc, &group[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inbox.title.bytes, vec![7; 32]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM inbox").await, 1);
    let notes = db
        .store
        .notifications_of_message(&group[0].id)
        .await
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].channel, notes[0].purpose),
        (Channel::Email, Purpose::Message)
    );
    job_of(&db, JobKind::Notify, &notes[0].id.to_string()).await;
    // A callback delivery per outcome, each with its job; the message jobs are gone.
    let log = db
        .store
        .callback_deliveries(Some(&s.id), None, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 4);
    for d in &log {
        let i = group.iter().position(|m| m.id == d.message_id).unwrap();
        let (event, reason) = match i {
            0 | 3 => ("processed", None),
            1 => ("rejected", Some("USER_NOT_FOUND")),
            _ => ("rejected", Some("SERVICE_NOT_ALLOWED")),
        };
        assert_eq!((d.event.as_str(), d.reason.as_deref()), (event, reason));
        job_of(&db, JobKind::Callback, &d.id.to_string()).await;
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'process_message'"
        )
        .await,
        0
    );
    // The same group again (a lease takeover) changes nothing.
    db.store
        .complete_message_jobs(&done, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM callback_deliveries").await,
        4
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM jobs").await, 5);
    db.done().await;
}
