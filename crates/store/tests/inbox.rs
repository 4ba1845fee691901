//! Contract of the `Inbox` port, on SQLite and PostgreSQL.
//!
//! | method                  | test(s)                                                          |
//! |-------------------------|------------------------------------------------------------------|
//! | `inbox_page`            | `inbox_pages_neither_overlap_nor_skip_in_both_directions`, `inbox_filters_select_by_archive_state_and_service` |
//! | `inbox_item`            | `an_inbox_item_is_only_its_citizens`                             |
//! | `change_message_status` | `reading_a_message_queues_one_read_callback_when_the_service_has_one`, `an_inbox_item_is_only_its_citizens`, `inbox_filters_select_by_archive_state_and_service` |
//! | `messages_to`           | `deleting_a_citizen_leaves_only_the_entes_status_records` (citizens.rs), `the_export_holds_every_message_to_the_citizen_in_any_status` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Utc;
use kernel::values::{FiscalCode, MessageId};
use messaging::citizen::{CallbackConfig, InboxItem, InboxQuery, StatusChange};
use messaging::model::{MessageStatus, ProcessingOutcome, RejectionReason, SealedContent, Service};
use messaging::ports::prelude::*;
use support::*;

both!(
    reading_a_message_queues_one_read_callback_when_the_service_has_one,
    inbox_pages_neither_overlap_nor_skip_in_both_directions,
    inbox_filters_select_by_archive_state_and_service,
    an_inbox_item_is_only_its_citizens,
    the_export_holds_every_message_to_the_citizen_in_any_status,
);

async fn reading_a_message_queues_one_read_callback_when_the_service_has_one(b: Backend) {
    let (db, s) = seeded(b).await;
    let fc = FiscalCode::parse(FC).unwrap();
    let plain = deliver(&db, &s, |m| processed(m, s.id)).await;
    let now = Utc::now();
    let read = StatusChange {
        read: Some(true),
        archived: None,
    };
    db.store
        .change_message_status(&fc, &plain, read, true, now)
        .await
        .unwrap();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM callback_deliveries").await,
        0,
        "no callback set"
    );
    db.store
        .set_callback(
            &s.id,
            Some(&CallbackConfig {
                url: "https://ente.example.it/hook".into(),
                secret: SealedContent {
                    key_id: "k1".into(),
                    bytes: vec![3; 24],
                },
            }),
        )
        .await
        .unwrap();
    let id = deliver(&db, &s, |m| processed(m, s.id)).await;
    let other = FiscalCode::parse("BNCGPP80A01H501E").unwrap();
    assert!(
        db.store
            .change_message_status(&other, &id, read, true, now)
            .await
            .unwrap()
            .is_none(),
        "not another citizen's"
    );
    let archive = StatusChange {
        read: None,
        archived: Some(true),
    };
    assert_eq!(
        db.store
            .change_message_status(&fc, &id, archive, true, now)
            .await
            .unwrap(),
        Some((false, true))
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM callback_deliveries WHERE event = 'read'"
        )
        .await,
        0
    );
    assert_eq!(
        db.store
            .change_message_status(&fc, &id, read, true, now)
            .await
            .unwrap(),
        Some((true, true))
    );
    assert_eq!(
        db.store
            .change_message_status(&fc, &id, read, true, now)
            .await
            .unwrap(),
        Some((true, true))
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM callback_deliveries WHERE event = 'read'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'callback'").await,
        2,
        "processed and read"
    );
    assert!(db.store.get_message(&id).await.unwrap().unwrap().is_read);
    let log = db
        .store
        .callback_deliveries(Some(&s.id), None, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].event.as_str(), "read", "newest first");
    db.done().await;
}

/// Delivers `n` processed messages from `s` to `who`; their ids, newest (highest) first.
async fn fill(db: &Db, s: &Service, who: &str, n: usize) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let m = message_to(s.id, who, None);
        ids.push(deliver_message(db, m, |m| processed(m, m.service_id)).await);
    }
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));
    ids
}

fn query(limit: i64) -> InboxQuery {
    InboxQuery {
        archived: None,
        service: None,
        maximum_id: None,
        minimum_id: None,
        limit,
    }
}

fn ids(items: Vec<InboxItem>) -> Vec<MessageId> {
    items.into_iter().map(|i| i.message_id).collect()
}

async fn inbox_pages_neither_overlap_nor_skip_in_both_directions(b: Backend) {
    let (db, s) = seeded(b).await;
    let all = fill(&db, &s, FC, 7).await;
    fill(&db, &s, FC2, 2).await;
    let me = fc(FC);
    assert_eq!(
        ids(db.store.inbox_page(&me, &query(100)).await.unwrap()),
        all
    );
    // Forwards (older) by maximum_id, pages of 3.
    let mut pages = Vec::new();
    let mut q = query(3);
    for round in 0.. {
        assert!(round < 20, "paging does not end");
        let page = ids(db.store.inbox_page(&me, &q).await.unwrap());
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        q.maximum_id = page.last().copied();
        pages.push(page);
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.concat(), all, "no overlap, nothing skipped");
    // Backwards (newer) by minimum_id alone: the page just above it, still newest first.
    let mut back = Vec::new();
    let mut q = query(3);
    q.minimum_id = Some(all[6]);
    for round in 0.. {
        assert!(round < 20, "paging does not end");
        let page = ids(db.store.inbox_page(&me, &q).await.unwrap());
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        q.minimum_id = page.first().copied();
        back.insert(0, page);
    }
    assert_eq!(back.concat(), all[..6].to_vec());
    let mut q = query(3);
    q.minimum_id = Some(all[6]);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        vec![all[3], all[4], all[5]],
        "the three just above, not the newest three"
    );
    // Both bounds: strictly between, newest first.
    let mut q = query(10);
    q.maximum_id = Some(all[1]);
    q.minimum_id = Some(all[5]);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        vec![all[2], all[3], all[4]]
    );
    q.limit = 2;
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        vec![all[2], all[3]]
    );
    assert!(
        db.store
            .inbox_page(&fc(FC3), &query(10))
            .await
            .unwrap()
            .is_empty()
    );
    db.done().await;
}

async fn inbox_filters_select_by_archive_state_and_service(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Anagrafe".into();
    db.store.create_service(&other, &[]).await.unwrap();
    let from_s = fill(&db, &s, FC, 3).await;
    let from_other = fill(&db, &other, FC, 2).await;
    let me = fc(FC);
    let archive = StatusChange {
        read: None,
        archived: Some(true),
    };
    let now = Utc::now();
    for id in [from_s[0], from_other[1]] {
        db.store
            .change_message_status(&me, &id, archive, false, now)
            .await
            .unwrap();
    }
    let sorted = |mut v: Vec<MessageId>| {
        v.sort_by_key(|id| std::cmp::Reverse(id.to_string()));
        v
    };
    let mut q = query(10);
    q.archived = Some(true);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        sorted(vec![from_s[0], from_other[1]])
    );
    q.archived = Some(false);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        sorted(vec![from_s[1], from_s[2], from_other[0]])
    );
    q.service = Some(other.id);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        vec![from_other[0]]
    );
    q.archived = None;
    assert_eq!(ids(db.store.inbox_page(&me, &q).await.unwrap()), from_other);
    // A filter pages like the whole inbox.
    let mut q = query(1);
    q.service = Some(s.id);
    q.maximum_id = Some(from_s[0]);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        vec![from_s[1]]
    );
    // Unarchived again.
    let unarchive = StatusChange {
        read: None,
        archived: Some(false),
    };
    assert_eq!(
        db.store
            .change_message_status(&me, &from_s[0], unarchive, false, now)
            .await
            .unwrap(),
        Some((false, false))
    );
    let mut q = query(10);
    q.archived = Some(true);
    assert_eq!(
        ids(db.store.inbox_page(&me, &q).await.unwrap()),
        vec![from_other[1]]
    );
    db.done().await;
}

async fn an_inbox_item_is_only_its_citizens(b: Backend) {
    let (db, s) = seeded(b).await;
    let m = message(s.id, None);
    let created = m.created_at;
    let id = deliver_message(&db, m, |m| processed(m, s.id)).await;
    let me = fc(FC);
    let item = db.store.inbox_item(&me, &id).await.unwrap().unwrap();
    assert_eq!(
        (
            item.message_id,
            item.service_id,
            item.service_name.as_str(),
            item.organization_name.as_str(),
            item.organization_fiscal_code.as_str()
        ),
        (id, s.id, "Tributi", "Comune di Varese", "00441340122")
    );
    assert_eq!(
        item.created_at.timestamp_millis(),
        created.timestamp_millis()
    );
    assert_eq!(
        item.title,
        SealedContent {
            key_id: "k1".into(),
            bytes: vec![7; 32]
        }
    );
    assert_eq!(
        (
            item.has_payment,
            item.rpt_id,
            item.due_date,
            item.time_to_live
        ),
        (false, None, None, 3600)
    );
    assert!(!item.is_read && !item.is_archived);
    assert_eq!(
        db.store.inbox_page(&me, &query(10)).await.unwrap(),
        vec![db.store.inbox_item(&me, &id).await.unwrap().unwrap()],
        "the page shows the same item"
    );
    assert!(db.store.inbox_item(&fc(FC2), &id).await.unwrap().is_none());
    assert!(
        db.store
            .inbox_item(&me, &MessageId::new())
            .await
            .unwrap()
            .is_none()
    );
    // Read once, it stays read ("unread" is not a change).
    let now = Utc::now();
    let read = StatusChange {
        read: Some(true),
        archived: None,
    };
    let unread = StatusChange {
        read: Some(false),
        archived: None,
    };
    assert_eq!(
        db.store
            .change_message_status(&me, &id, read, false, now)
            .await
            .unwrap(),
        Some((true, false))
    );
    assert_eq!(
        db.store
            .change_message_status(&me, &id, unread, false, now)
            .await
            .unwrap(),
        Some((true, false))
    );
    assert!(
        db.store
            .inbox_item(&me, &id)
            .await
            .unwrap()
            .unwrap()
            .is_read
    );
    assert!(
        db.store
            .change_message_status(&me, &MessageId::new(), read, false, now)
            .await
            .unwrap()
            .is_none()
    );
    db.done().await;
}

async fn the_export_holds_every_message_to_the_citizen_in_any_status(b: Backend) {
    let (db, s) = seeded(b).await;
    let processed_id = deliver(&db, &s, |m| processed(m, s.id)).await;
    let rejected_id = deliver(&db, &s, |_| {
        ProcessingOutcome::Rejected(RejectionReason::UserNotFound)
    })
    .await;
    let waiting = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&waiting))
        .await
        .unwrap();
    deliver_message(&db, message_to(s.id, FC2, None), |m| processed(m, s.id)).await;
    let export = db.store.messages_to(&fc(FC)).await.unwrap();
    let mut expected = vec![processed_id, rejected_id, waiting.id];
    expected.sort_by_key(|id| id.to_string());
    assert_eq!(
        export.iter().map(|m| m.id).collect::<Vec<_>>(),
        expected,
        "oldest (lowest id) first, not another citizen's"
    );
    let status_of = |id: MessageId| export.iter().find(|m| m.id == id).unwrap().status;
    assert_eq!(
        (
            status_of(processed_id),
            status_of(rejected_id),
            status_of(waiting.id)
        ),
        (
            MessageStatus::Processed,
            MessageStatus::Rejected,
            MessageStatus::Accepted
        )
    );
    assert!(export.iter().all(|m| m.content.bytes == vec![0; 64]));
    assert!(db.store.messages_to(&fc(FC3)).await.unwrap().is_empty());
    db.done().await;
}
