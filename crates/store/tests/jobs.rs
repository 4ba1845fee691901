//! Contract of the `JobQueue` port, on SQLite and PostgreSQL. (Concurrent claimers are the
//! subject of `claims.rs`.)
//!
//! | method        | test(s)                                                                     |
//! |---------------|-----------------------------------------------------------------------------|
//! | `claim_jobs`  | `claimed_jobs_are_invisible_until_their_lease_expires`, `claims_take_only_the_kinds_asked_for_once_due`, `failed_jobs_are_retried_then_dead_and_can_be_requeued` |
//! | `fail_job`    | `failed_jobs_are_retried_then_dead_and_can_be_requeued`, `a_dead_notification_job_fails_its_notification_until_retried` |
//! | `list_jobs`   | `failed_jobs_are_retried_then_dead_and_can_be_requeued`, `a_running_job_is_extended_listed_by_status_and_deleted` |
//! | `retry_job`   | `failed_jobs_are_retried_then_dead_and_can_be_requeued`, `a_dead_notification_job_fails_its_notification_until_retried` |
//! | `job_counts`  | `claims_take_only_the_kinds_asked_for_once_due`, `a_running_job_is_extended_listed_by_status_and_deleted` |
//! | `extend_job`  | `a_running_job_is_extended_listed_by_status_and_deleted`                    |
//! | `delete_job`  | `a_running_job_is_extended_listed_by_status_and_deleted`                    |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use kernel::jobs::{JobCounts, JobKind, JobStatus};
use messaging::citizen::NotificationStatus;
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    claimed_jobs_are_invisible_until_their_lease_expires,
    failed_jobs_are_retried_then_dead_and_can_be_requeued,
    claims_take_only_the_kinds_asked_for_once_due,
    a_running_job_is_extended_listed_by_status_and_deleted,
    a_dead_notification_job_fails_its_notification_until_retried,
);

async fn claimed_jobs_are_invisible_until_their_lease_expires(b: Backend) {
    let (db, s) = seeded(b).await;
    let batch: Vec<_> = (0..5).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&batch).await.unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let a = db
        .store
        .claim_jobs(&JobKind::ALL, 3, now, 10_000)
        .await
        .unwrap();
    let b2 = db
        .store
        .claim_jobs(&JobKind::ALL, 10, now, 10_000)
        .await
        .unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b2.len(), 2, "claims never overlap");
    assert!(
        db.store
            .claim_jobs(&JobKind::ALL, 10, now, 10_000)
            .await
            .unwrap()
            .is_empty()
    );
    // After the lease, the jobs of a crashed worker come back, with one more attempt.
    let later = now + Duration::seconds(11);
    let again = db
        .store
        .claim_jobs(&JobKind::ALL, 10, later, 10_000)
        .await
        .unwrap();
    assert_eq!(again.len(), 5);
    assert!(again.iter().all(|j| j.attempts == 2));
    db.done().await;
}

async fn failed_jobs_are_retried_then_dead_and_can_be_requeued(b: Backend) {
    let (db, s) = seeded(b).await;
    let m = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, now, 1_000)
        .await
        .unwrap()
        .remove(0);
    db.store
        .fail_job(job.id, "boom", Some(now + Duration::seconds(5)), now)
        .await
        .unwrap();
    assert!(
        db.store
            .claim_jobs(&JobKind::ALL, 1, now, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "backing off"
    );
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, now + Duration::seconds(6), 1_000)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.attempts, 2);
    db.store
        .fail_job(job.id, "boom again", None, now)
        .await
        .unwrap();
    let dead = db.store.list_jobs(Some(JobStatus::Dead)).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("boom again"));
    assert_eq!(
        db.store
            .get_message(&m.id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "FAILED"
    );
    assert!(
        db.store
            .claim_jobs(&JobKind::ALL, 1, now + Duration::days(1), 1_000)
            .await
            .unwrap()
            .is_empty(),
        "dead jobs are never claimed"
    );
    db.store.retry_job(dead[0].id, now).await.unwrap();
    assert_eq!(
        db.store
            .get_message(&m.id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "ACCEPTED"
    );
    assert_eq!(
        db.store
            .claim_jobs(&JobKind::ALL, 1, now, 1_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        db.store.retry_job(dead[0].id, now).await,
        Err(StoreError::NotFound(_))
    ));
    db.done().await;
}

async fn claims_take_only_the_kinds_asked_for_once_due(b: Backend) {
    let (db, s) = seeded(b).await;
    let m = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    // A validation e-mail due in an hour: a notify job not yet due.
    let mut v = validation("v1", "th", "mario.rossi@example.it");
    let due = Utc::now() + Duration::hours(1);
    v.notification.send_at = due;
    db.store
        .save_citizen(&profile(), None, Some(&v))
        .await
        .unwrap();
    assert_eq!(
        db.store.job_counts().await.unwrap(),
        JobCounts {
            queued: 2,
            running: 0,
            dead: 0
        }
    );
    let now = Utc::now() + Duration::seconds(1);
    assert!(
        db.store
            .claim_jobs(&[], 10, now, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "no kinds, no jobs"
    );
    assert!(
        db.store
            .claim_jobs(&[JobKind::Notify], 10, now, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "the notify job is not due"
    );
    assert!(
        db.store
            .claim_jobs(&[JobKind::Callback, JobKind::ProcessBatch], 10, now, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "no jobs of those kinds"
    );
    let claimed = db
        .store
        .claim_jobs(
            &[JobKind::ProcessMessage, JobKind::Callback],
            10,
            now,
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let job = &claimed[0];
    assert_eq!(
        (job.kind, job.subject_id.as_str(), job.status, job.attempts),
        (
            JobKind::ProcessMessage,
            m.id.to_string().as_str(),
            JobStatus::Running,
            1
        )
    );
    assert_eq!(
        job.run_at.timestamp_millis(),
        now.timestamp_millis() + 1_000
    );
    assert_eq!(
        db.store.job_counts().await.unwrap(),
        JobCounts {
            queued: 1,
            running: 1,
            dead: 0
        }
    );
    let notify = db
        .store
        .claim_jobs(&[JobKind::Notify], 10, due + Duration::seconds(1), 1_000)
        .await
        .unwrap();
    assert_eq!(notify.len(), 1, "due now");
    assert_eq!(notify[0].kind, JobKind::Notify);
    db.done().await;
}

async fn a_running_job_is_extended_listed_by_status_and_deleted(b: Backend) {
    let (db, s) = seeded(b).await;
    let batch: Vec<_> = (0..3).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&batch).await.unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, now, 1_000)
        .await
        .unwrap()
        .remove(0);
    let all = db.store.list_jobs(None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let running = db.store.list_jobs(Some(JobStatus::Running)).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].id, job.id);
    assert_eq!(
        db.store
            .list_jobs(Some(JobStatus::Queued))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        db.store
            .list_jobs(Some(JobStatus::Dead))
            .await
            .unwrap()
            .is_empty()
    );
    // Extended for a minute: still held after its first lease ran out.
    let until = now + Duration::seconds(60);
    db.store.extend_job(job.id, until).await.unwrap();
    let held = db.store.list_jobs(Some(JobStatus::Running)).await.unwrap();
    assert_eq!(held[0].run_at.timestamp_millis(), until.timestamp_millis());
    let after_lease = db
        .store
        .claim_jobs(&JobKind::ALL, 10, now + Duration::seconds(5), 1_000)
        .await
        .unwrap();
    assert_eq!(after_lease.len(), 2, "only the two others");
    assert!(after_lease.iter().all(|j| j.id != job.id));
    // A queued job is not extended (only a claimed one is held).
    let queued_id = after_lease[0].id;
    db.store
        .fail_job(queued_id, "later", Some(now), now)
        .await
        .unwrap();
    db.store
        .extend_job(queued_id, now + Duration::days(1))
        .await
        .unwrap();
    let queued = db.store.list_jobs(Some(JobStatus::Queued)).await.unwrap();
    assert_eq!(queued[0].run_at.timestamp_millis(), now.timestamp_millis());
    let back = db
        .store
        .claim_jobs(&JobKind::ALL, 10, until + Duration::seconds(1), 1_000)
        .await
        .unwrap();
    assert!(back.iter().any(|j| j.id == job.id), "after the extension");
    // Deleting removes exactly that job.
    db.store.delete_job(job.id).await.unwrap();
    let left = db.store.list_jobs(None).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|j| j.id != job.id));
    db.store.delete_job(job.id).await.unwrap();
    for j in left {
        db.store.delete_job(j.id).await.unwrap();
    }
    assert_eq!(db.store.job_counts().await.unwrap(), JobCounts::default());
    db.done().await;
}

async fn a_dead_notification_job_fails_its_notification_until_retried(b: Backend) {
    let db = Db::new(b).await;
    db.store
        .save_citizen(
            &profile(),
            None,
            Some(&validation("v1", "th", "mario.rossi@example.it")),
        )
        .await
        .unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let job = db
        .store
        .claim_jobs(&[JobKind::Notify], 1, now, 1_000)
        .await
        .unwrap()
        .remove(0);
    let id: i64 = job.subject_id.parse().unwrap();
    let status = |n: Option<messaging::citizen::Notification>| n.unwrap().status;
    db.store
        .fail_job(job.id, "smtp down", Some(now + Duration::seconds(5)), now)
        .await
        .unwrap();
    assert_eq!(
        status(db.store.get_notification(id).await.unwrap()),
        NotificationStatus::Pending,
        "a retry leaves it pending"
    );
    db.store
        .fail_job(job.id, "smtp down for good", None, now)
        .await
        .unwrap();
    assert_eq!(
        status(db.store.get_notification(id).await.unwrap()),
        NotificationStatus::Failed
    );
    assert_eq!(db.store.job_counts().await.unwrap().dead, 1);
    db.store.retry_job(job.id, now).await.unwrap();
    assert_eq!(
        status(db.store.get_notification(id).await.unwrap()),
        NotificationStatus::Pending
    );
    let again = db
        .store
        .claim_jobs(&[JobKind::Notify], 1, now, 1_000)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1, "a retried job starts counting again");
    db.done().await;
}
