//! Contract of the `Services` port, on SQLite and PostgreSQL.
//!
//! | method                  | test(s)                                                           |
//! |-------------------------|-------------------------------------------------------------------|
//! | `create_service`        | `services_round_trip_and_stale_updates_conflict`, `services_are_listed_newest_first_without_deleted_ones` |
//! | `get_service`           | `services_round_trip_and_stale_updates_conflict`                  |
//! | `list_services`         | `services_are_listed_newest_first_without_deleted_ones`           |
//! | `update_service`        | `services_round_trip_and_stale_updates_conflict`, `services_are_listed_newest_first_without_deleted_ones` |
//! | `transition_service`    | `transitions_write_history_and_audit_and_history_pages_both_ways` |
//! | `service_history`       | `transitions_write_history_and_audit_and_history_pages_both_ways` |
//! | `pending_reviews`       | `transitions_write_history_and_audit_and_history_pages_both_ways` |
//! | `sibling_service_names` | `services_are_listed_newest_first_without_deleted_ones`           |
//! | `service_by_key_hash`   | `services_round_trip_and_stale_updates_conflict`, `keys_and_logos_round_trip` |
//! | `service_keys`          | `keys_and_logos_round_trip`                                       |
//! | `replace_service_key`   | `services_round_trip_and_stale_updates_conflict`, `keys_and_logos_round_trip` |
//! | `set_service_logo`      | `keys_and_logos_round_trip`                                       |
//! | `service_logo`          | `keys_and_logos_round_trip`                                       |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Duration;
use kernel::values::{Cidr, ServiceId};
use messaging::model::{KeyType, LifecycleStatus, SealedContent};
use messaging::ports::prelude::*;
use messaging::ports::{NewHistoryEntry, StoreError, StoredKey};
use messaging::quota::LimitOverrides;
use support::*;

both!(
    services_round_trip_and_stale_updates_conflict,
    services_are_listed_newest_first_without_deleted_ones,
    transitions_write_history_and_audit_and_history_pages_both_ways,
    keys_and_logos_round_trip,
);

async fn services_round_trip_and_stale_updates_conflict(b: Backend) {
    let (db, s) = seeded(b).await;
    let got = db.store.get_service(&s.id).await.unwrap().unwrap();
    assert_eq!(got.name, s.name);
    assert_eq!(got.authorized_recipients, s.authorized_recipients);
    assert_eq!(got, s, "every field round-trips");
    assert!(
        db.store
            .get_service(&ServiceId::new())
            .await
            .unwrap()
            .is_none()
    );
    let auth = db.store.service_by_key_hash("h2").await.unwrap().unwrap();
    assert_eq!(auth.service.id, s.id);
    assert!(!auth.organization_disabled);

    let mut edit = got.clone();
    edit.version += 1;
    edit.name = "Tributi e tasse".into();
    edit.authorized_cidrs = vec![Cidr::parse("10.0.0.0/8").unwrap()];
    edit.department_name = Some("Ufficio tributi".into());
    db.store.update_service(&edit).await.unwrap();
    // Another writer that read version 0 loses.
    let mut stale = got;
    stale.version += 1;
    assert!(matches!(
        db.store.update_service(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        db.store.get_service(&s.id).await.unwrap().unwrap().name,
        "Tributi e tasse"
    );
    assert_eq!(db.store.get_service(&s.id).await.unwrap().unwrap(), edit);
    db.store
        .replace_service_key(&s.id, &key(KeyType::Primary, "h3"))
        .await
        .unwrap();
    assert!(db.store.service_by_key_hash("h1").await.unwrap().is_none());
    assert!(db.store.service_by_key_hash("h3").await.unwrap().is_some());
    db.done().await;
}

async fn services_are_listed_newest_first_without_deleted_ones(b: Backend) {
    let (db, first) = seeded(b).await;
    let varese = org();
    let other_org = org_named(9_000_000_001, "Istituto di prova");
    db.store.create_organization(&other_org).await.unwrap();
    let mut all = vec![first.clone()];
    for name in ["Anagrafe", "Scuola"] {
        let mut s = service_of(&varese);
        s.name = name.into();
        db.store.create_service(&s, &[]).await.unwrap();
        all.push(s);
    }
    let elsewhere = service_of(&other_org);
    db.store.create_service(&elsewhere, &[]).await.unwrap();
    let mut unknown_org = service_of(&org_named(9_000_000_002, "Nessuno"));
    unknown_org.name = "Orfano".into();
    assert!(matches!(
        db.store.create_service(&unknown_org, &[]).await,
        Err(StoreError::NotFound(_))
    ));
    all.sort_by_key(|s| std::cmp::Reverse(s.id.to_string()));
    let (page, total) = db
        .store
        .list_services(&varese.fiscal_code, 2, 0)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(page, all[..2].to_vec(), "newest (highest id) first");
    let (page, total) = db
        .store
        .list_services(&varese.fiscal_code, 2, 2)
        .await
        .unwrap();
    assert_eq!((page, total), (all[2..].to_vec(), 3));
    let mut names = db
        .store
        .sibling_service_names(&varese.fiscal_code, &first.id)
        .await
        .unwrap();
    names.sort();
    assert_eq!(
        names,
        vec!["Anagrafe", "Scuola"],
        "not itself, not another ente's"
    );
    // A deleted service is neither listed nor counted nor a sibling.
    let mut gone = all[0].clone();
    gone.lifecycle = LifecycleStatus::Deleted;
    gone.version += 1;
    db.store.update_service(&gone).await.unwrap();
    let (page, total) = db
        .store
        .list_services(&varese.fiscal_code, 10, 0)
        .await
        .unwrap();
    assert_eq!((page, total), (all[1..].to_vec(), 2));
    let names = db
        .store
        .sibling_service_names(&varese.fiscal_code, &all[1].id)
        .await
        .unwrap();
    assert_eq!(names.len(), 1);
    assert_ne!(names[0], gone.name);
    let (page, total) = db.store.list_services(&ofc(1), 10, 0).await.unwrap();
    assert!(page.is_empty() && total == 0);
    db.done().await;
}

fn entry(kind: &'static str, status: &str) -> NewHistoryEntry {
    NewHistoryEntry {
        kind,
        status: status.into(),
        reason: Some(format!("because {status}")),
        actor: "operator".into(),
    }
}

async fn transitions_write_history_and_audit_and_history_pages_both_ways(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    assert!(db.store.pending_reviews().await.unwrap().is_empty());
    // Three transitions of two history entries each; the other service has one of its own.
    let mut current = s.clone();
    let mut written = Vec::new();
    for (n, status) in ["submitted", "approved", "submitted"].iter().enumerate() {
        current.version += 1;
        current.lifecycle = LifecycleStatus::parse(status).unwrap();
        current.updated_at += Duration::seconds(n as i64 + 1);
        let history = [
            entry("lifecycle", status),
            entry("publication", "unpublished"),
        ];
        db.store
            .transition_service(&current, &history, &audit("service.transition"))
            .await
            .unwrap();
        written.extend(history.map(|h| (h.kind, h.status)));
    }
    let mut o = other.clone();
    o.version += 1;
    o.lifecycle = LifecycleStatus::Submitted;
    o.updated_at = s.updated_at + Duration::seconds(10);
    db.store
        .transition_service(&o, &[entry("lifecycle", "submitted")], &audit("x"))
        .await
        .unwrap();
    assert_eq!(db.store.get_service(&s.id).await.unwrap().unwrap(), current);
    let asc = db
        .store
        .service_history(&s.id, true, None, 100)
        .await
        .unwrap();
    assert_eq!(
        asc.iter()
            .map(|h| (h.kind, h.status.clone()))
            .collect::<Vec<_>>(),
        written
    );
    assert!(asc.windows(2).all(|w| w[0].id < w[1].id));
    let h = &asc[0];
    assert_eq!(
        (h.service_id, h.reason.as_deref(), h.actor.as_str()),
        (s.id, Some("because submitted"), "operator")
    );
    assert_eq!(
        h.at.timestamp_millis(),
        (s.updated_at + Duration::seconds(1)).timestamp_millis()
    );
    let card: serde_json::Value = serde_json::from_str(&h.card).unwrap();
    assert_eq!(card["name"], "Tributi");
    // Pages of 4 after an id, ascending and descending: no overlap, nothing skipped.
    for ascending in [true, false] {
        let mut paged = Vec::new();
        let mut cursor = None;
        for round in 0.. {
            assert!(round < 20, "paging does not end");
            let page = db
                .store
                .service_history(&s.id, ascending, cursor, 4)
                .await
                .unwrap();
            assert!(page.len() <= 4);
            if page.is_empty() {
                break;
            }
            cursor = Some(page.last().unwrap().id);
            paged.extend(page);
        }
        let mut expected = asc.clone();
        if !ascending {
            expected.reverse();
        }
        assert_eq!(paged, expected, "ascending: {ascending}");
    }
    let page = db
        .store
        .service_history(&s.id, false, Some(asc[3].id), 2)
        .await
        .unwrap();
    assert_eq!(page, vec![asc[2].clone(), asc[1].clone()]);
    let page = db
        .store
        .service_history(&s.id, true, Some(asc[3].id), 10)
        .await
        .unwrap();
    assert_eq!(page, asc[4..].to_vec());
    assert_eq!(
        db.store
            .service_history(&other.id, true, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, 4);
    // Waiting for review, oldest change first.
    let pending = db.store.pending_reviews().await.unwrap();
    assert_eq!(
        pending.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![current.id, other.id]
    );
    // A stale transition writes nothing: no service change, no history, no audit.
    let mut stale = current.clone();
    stale.lifecycle = LifecycleStatus::Rejected;
    assert!(matches!(
        db.store
            .transition_service(&stale, &[entry("lifecycle", "rejected")], &audit("y"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        db.store
            .service_history(&s.id, true, None, 100)
            .await
            .unwrap()
            .len(),
        6
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, 4);
    assert_eq!(db.store.get_service(&s.id).await.unwrap().unwrap(), current);
    db.done().await;
}

async fn keys_and_logos_round_trip(b: Backend) {
    let (db, s) = seeded(b).await;
    let keys = db.store.service_keys(&s.id).await.unwrap();
    assert_eq!(
        keys,
        vec![key(KeyType::Primary, "h1"), key(KeyType::Secondary, "h2")]
    );
    assert!(
        db.store
            .service_keys(&ServiceId::new())
            .await
            .unwrap()
            .is_empty()
    );
    let new = StoredKey {
        key_type: KeyType::Secondary,
        hash: "h2-new".into(),
        sealed: SealedContent {
            key_id: "k2".into(),
            bytes: vec![4, 5, 6],
        },
    };
    db.store.replace_service_key(&s.id, &new).await.unwrap();
    assert_eq!(
        db.store.service_keys(&s.id).await.unwrap(),
        vec![key(KeyType::Primary, "h1"), new.clone()],
        "only the secondary key changed"
    );
    assert!(db.store.service_by_key_hash("h2").await.unwrap().is_none());
    assert!(matches!(
        db.store.replace_service_key(&ServiceId::new(), &new).await,
        Err(StoreError::NotFound(_))
    ));
    // The key's owner carries the organization's state and the service's limits.
    let limits = LimitOverrides {
        rate_per_second: Some(5),
        burst: Some(10),
        daily_quota: None,
        monthly_quota: Some(1_000),
    };
    assert_eq!(
        db.store
            .service_by_key_hash("h1")
            .await
            .unwrap()
            .unwrap()
            .limits,
        LimitOverrides::default()
    );
    db.store
        .set_service_limits(&s.id, &limits, &audit("limits"))
        .await
        .unwrap();
    db.store
        .set_organization_disabled(&org().fiscal_code, true)
        .await
        .unwrap();
    let auth = db
        .store
        .service_by_key_hash("h2-new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.service, s);
    assert!(auth.organization_disabled);
    assert_eq!(auth.limits, limits);
    // Logos.
    assert_eq!(db.store.service_logo(&s.id).await.unwrap(), None);
    db.store.set_service_logo(&s.id, &[1, 2, 3]).await.unwrap();
    assert_eq!(
        db.store.service_logo(&s.id).await.unwrap(),
        Some(vec![1, 2, 3])
    );
    db.store.set_service_logo(&s.id, &[4]).await.unwrap();
    assert_eq!(db.store.service_logo(&s.id).await.unwrap(), Some(vec![4]));
    assert!(matches!(
        db.store.set_service_logo(&ServiceId::new(), &[1]).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        db.store.service_logo(&ServiceId::new()).await.unwrap(),
        None
    );
    db.done().await;
}
