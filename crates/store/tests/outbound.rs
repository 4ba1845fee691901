//! Contract of the `OutboundLog` port (notifications and callback deliveries), on SQLite and
//! PostgreSQL.
//!
//! | method                        | test(s)                                                     |
//! |-------------------------------|-------------------------------------------------------------|
//! | `get_notification`            | `notifications_are_found_and_attempts_requeue_or_end_their_job` |
//! | `notifications_of_message`    | `notifications_are_found_and_attempts_requeue_or_end_their_job` |
//! | `notifications_of_citizen`    | `notifications_are_found_and_attempts_requeue_or_end_their_job` |
//! | `record_notification_attempt` | `notifications_are_found_and_attempts_requeue_or_end_their_job` |
//! | `set_callback`                | `a_callback_is_set_replaced_and_cleared`, `outcome_callbacks_are_queued_only_for_services_with_a_callback` (processing.rs) |
//! | `get_callback`                | `a_callback_is_set_replaced_and_cleared`                    |
//! | `get_callback_delivery`       | `callback_attempts_requeue_or_end_their_job`                |
//! | `record_callback_attempt`     | `callback_attempts_requeue_or_end_their_job`                |
//! | `callback_deliveries`         | `the_delivery_log_pages_newest_first_before_an_id`          |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use kernel::jobs::{JobKind, JobStatus};
use kernel::values::{MessageId, ServiceId};
use messaging::citizen::{
    Attempt, CallbackConfig, CallbackEvent, Channel, DeliveryStatus, NewNotification,
    NotificationStatus, Purpose,
};
use messaging::model::{ProcessingOutcome, RejectionReason, SealedContent};
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    notifications_are_found_and_attempts_requeue_or_end_their_job,
    a_callback_is_set_replaced_and_cleared,
    callback_attempts_requeue_or_end_their_job,
    the_delivery_log_pages_newest_first_before_an_id,
);

fn hook(byte: u8) -> CallbackConfig {
    CallbackConfig {
        url: format!("https://ente.example.it/hook/{byte}"),
        secret: sealed(byte),
    }
}

async fn notifications_are_found_and_attempts_requeue_or_end_their_job(b: Backend) {
    let (db, s) = seeded(b).await;
    db.store
        .save_citizen(
            &profile(),
            None,
            Some(&validation("v1", "th", "mario.rossi@example.it")),
        )
        .await
        .unwrap();
    let send_at = now_ms();
    let id = deliver(&db, &s, |m| {
        let mut outcome = processed(m, s.id);
        if let ProcessingOutcome::Processed { notifications, .. } = &mut outcome {
            notifications[0].send_at = send_at;
            notifications.push(NewNotification {
                channel: Channel::Webhook,
                ..notifications[0].clone()
            });
        }
        outcome
    })
    .await;
    deliver_message(&db, message_to(s.id, FC2, None), |m| processed(m, s.id)).await;
    let of_message = db.store.notifications_of_message(&id).await.unwrap();
    assert_eq!(
        of_message
            .iter()
            .map(|n| (n.channel, n.purpose, n.status, n.attempts))
            .collect::<Vec<_>>(),
        vec![
            (
                Channel::Email,
                Purpose::Message,
                NotificationStatus::Pending,
                0
            ),
            (
                Channel::Webhook,
                Purpose::Message,
                NotificationStatus::Pending,
                0
            ),
        ]
    );
    let email = of_message[0].clone();
    assert_eq!(
        (
            email.subject_id.as_str(),
            email.fiscal_code.as_str(),
            email.send_at
        ),
        (id.to_string().as_str(), FC, send_at)
    );
    assert_eq!(
        db.store.get_notification(email.id).await.unwrap(),
        Some(email.clone())
    );
    assert_eq!(db.store.get_notification(-1).await.unwrap(), None);
    assert!(
        db.store
            .notifications_of_message(&MessageId::new())
            .await
            .unwrap()
            .is_empty()
    );
    let mine = db.store.notifications_of_citizen(&fc(FC)).await.unwrap();
    assert_eq!(mine.len(), 3, "the validation e-mail and the message's two");
    assert!(mine.windows(2).all(|w| w[0].id < w[1].id));
    let link = mine[0].clone();
    assert_eq!(
        (link.purpose, link.subject_id.as_str()),
        (Purpose::EmailValidation, "v1")
    );
    assert_eq!(
        link.payload,
        Some(SealedContent {
            key_id: "k1".into(),
            bytes: vec![1; 16]
        })
    );
    assert_eq!(
        db.store
            .notifications_of_citizen(&fc(FC2))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        db.store
            .notifications_of_citizen(&fc(FC3))
            .await
            .unwrap()
            .is_empty()
    );
    // A temporary failure: recorded, and the job waits for the retry.
    let job = job_of(&db, JobKind::Notify, &link.id.to_string()).await;
    let retry_at = now_ms() + Duration::minutes(5);
    let now = Utc::now();
    db.store
        .record_notification_attempt(
            link.id,
            job.id,
            &Attempt {
                status: "THROTTLED".into(),
                status_code: None,
                error: Some("421 try later".into()),
                retry_at: Some(retry_at),
            },
            now,
        )
        .await
        .unwrap();
    let n = db.store.get_notification(link.id).await.unwrap().unwrap();
    assert_eq!(
        (n.status, n.attempts, n.last_error.as_deref()),
        (NotificationStatus::Throttled, 1, Some("421 try later"))
    );
    assert!(n.payload.is_some(), "kept for the retry");
    let j = job_of(&db, JobKind::Notify, &link.id.to_string()).await;
    assert_eq!(
        (j.status, j.run_at, j.last_error.as_deref()),
        (JobStatus::Queued, retry_at, Some("421 try later"))
    );
    // Sent: recorded, the job is gone, and the validation link's payload with it.
    db.store
        .record_notification_attempt(
            link.id,
            job.id,
            &Attempt {
                status: "SENT".into(),
                status_code: None,
                error: None,
                retry_at: None,
            },
            now,
        )
        .await
        .unwrap();
    let n = db.store.get_notification(link.id).await.unwrap().unwrap();
    assert_eq!(
        (n.status, n.attempts, n.last_error, n.payload),
        (NotificationStatus::Sent, 2, None, None)
    );
    assert!(
        db.store
            .list_jobs(None)
            .await
            .unwrap()
            .iter()
            .all(|j| j.subject_id != link.id.to_string()),
        "job removed"
    );
    assert_eq!(
        db.store.get_notification(email.id).await.unwrap(),
        Some(email),
        "only that notification"
    );
    db.done().await;
}

async fn a_callback_is_set_replaced_and_cleared(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    assert_eq!(db.store.get_callback(&s.id).await.unwrap(), None);
    db.store.set_callback(&s.id, Some(&hook(1))).await.unwrap();
    assert_eq!(db.store.get_callback(&s.id).await.unwrap(), Some(hook(1)));
    assert_eq!(db.store.get_callback(&other.id).await.unwrap(), None);
    db.store.set_callback(&s.id, Some(&hook(2))).await.unwrap();
    assert_eq!(db.store.get_callback(&s.id).await.unwrap(), Some(hook(2)));
    db.store.set_callback(&s.id, None).await.unwrap();
    assert_eq!(db.store.get_callback(&s.id).await.unwrap(), None);
    assert!(matches!(
        db.store
            .set_callback(&ServiceId::new(), Some(&hook(1)))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        db.store.get_callback(&ServiceId::new()).await.unwrap(),
        None
    );
    db.done().await;
}

async fn callback_attempts_requeue_or_end_their_job(b: Backend) {
    let (db, s) = seeded(b).await;
    db.store.set_callback(&s.id, Some(&hook(1))).await.unwrap();
    let before = now_ms();
    let id = deliver(&db, &s, |m| processed(m, s.id)).await;
    let d = db
        .store
        .callback_deliveries(None, None, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        db.store.get_callback_delivery(d.id).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        (
            d.service_id,
            d.message_id,
            d.event,
            d.reason,
            d.status,
            d.attempts
        ),
        (
            s.id,
            id,
            CallbackEvent::Processed,
            None,
            DeliveryStatus::Pending,
            0
        )
    );
    assert!(d.at >= before && d.last_status_code.is_none() && d.last_error.is_none());
    assert_eq!(db.store.get_callback_delivery(-1).await.unwrap(), None);
    let job = job_of(&db, JobKind::Callback, &d.id.to_string()).await;
    let retry_at = now_ms() + Duration::seconds(30);
    db.store
        .record_callback_attempt(
            d.id,
            job.id,
            &Attempt {
                status: "PENDING".into(),
                status_code: Some(503),
                error: Some("unavailable".into()),
                retry_at: Some(retry_at),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let got = db.store.get_callback_delivery(d.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.status,
            got.attempts,
            got.last_status_code,
            got.last_error.as_deref()
        ),
        (DeliveryStatus::Pending, 1, Some(503), Some("unavailable"))
    );
    let j = job_of(&db, JobKind::Callback, &d.id.to_string()).await;
    assert_eq!(
        (j.id, j.status, j.run_at),
        (job.id, JobStatus::Queued, retry_at)
    );
    db.store
        .record_callback_attempt(
            d.id,
            job.id,
            &Attempt {
                status: "FAILED".into(),
                status_code: Some(410),
                error: Some("gone".into()),
                retry_at: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let got = db.store.get_callback_delivery(d.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.attempts, got.last_status_code),
        (DeliveryStatus::Failed, 2, Some(410))
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'callback'").await,
        0
    );
    db.done().await;
}

async fn the_delivery_log_pages_newest_first_before_an_id(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    db.store.set_callback(&s.id, Some(&hook(1))).await.unwrap();
    db.store
        .set_callback(&other.id, Some(&hook(2)))
        .await
        .unwrap();
    let rejected = |_: &_| ProcessingOutcome::Rejected(RejectionReason::UserNotFound);
    for n in 0..7 {
        let from = if n % 3 == 2 { other.id } else { s.id };
        deliver_message(&db, message(from, None), rejected).await;
    }
    let all = db.store.callback_deliveries(None, None, 100).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let mut paged = Vec::new();
    let mut cursor = None;
    for round in 0.. {
        assert!(round < 20, "paging does not end");
        let page = db.store.callback_deliveries(None, cursor, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        cursor = Some(page.last().unwrap().id);
        paged.extend(page);
    }
    assert_eq!(paged, all, "no overlap, nothing skipped");
    let mine: Vec<_> = all
        .iter()
        .filter(|d| d.service_id == s.id)
        .cloned()
        .collect();
    assert_eq!(mine.len(), 5);
    assert_eq!(
        db.store
            .callback_deliveries(Some(&s.id), None, 100)
            .await
            .unwrap(),
        mine
    );
    assert_eq!(
        db.store
            .callback_deliveries(Some(&s.id), Some(mine[1].id), 2)
            .await
            .unwrap(),
        mine[2..4].to_vec()
    );
    assert_eq!(
        db.store
            .callback_deliveries(Some(&other.id), None, 100)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        db.store
            .callback_deliveries(None, Some(all[6].id), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.store
            .callback_deliveries(Some(&ServiceId::new()), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    db.done().await;
}
