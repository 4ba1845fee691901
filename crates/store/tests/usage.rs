//! Contract of the `Usage` port, on SQLite and PostgreSQL.
//!
//! | method               | test(s)                                                              |
//! |----------------------|----------------------------------------------------------------------|
//! | `service_limits`     | `limits_round_trip_and_are_replaced_with_an_audit_entry`             |
//! | `set_service_limits` | `limits_round_trip_and_are_replaced_with_an_audit_entry`             |
//! | `usage_in_period`    | `usage_is_counted_per_service_and_calendar_period`                   |
//! | `service_usage`      | `usage_is_counted_per_service_and_calendar_period` (and `messages.rs`: `quotas_are_enforced_in_the_intake_transaction_and_replays_do_not_count`) |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{TimeZone, Utc};
use kernel::values::ServiceId;
use messaging::ports::prelude::*;
use messaging::quota::LimitOverrides;
use support::*;

both!(
    limits_round_trip_and_are_replaced_with_an_audit_entry,
    usage_is_counted_per_service_and_calendar_period,
);

async fn limits_round_trip_and_are_replaced_with_an_audit_entry(b: Backend) {
    let (db, s) = seeded(b).await;
    assert_eq!(
        db.store.service_limits(&s.id).await.unwrap(),
        LimitOverrides::default(),
        "no overrides until set"
    );
    let all = LimitOverrides {
        rate_per_second: Some(50),
        burst: Some(200),
        daily_quota: Some(10_000),
        monthly_quota: Some(5_000_000_000),
    };
    db.store
        .set_service_limits(&s.id, &all, &audit("limits.set"))
        .await
        .unwrap();
    assert_eq!(db.store.service_limits(&s.id).await.unwrap(), all);
    let some = LimitOverrides {
        rate_per_second: None,
        burst: Some(1),
        daily_quota: None,
        monthly_quota: Some(7),
    };
    db.store
        .set_service_limits(&s.id, &some, &audit("limits.set"))
        .await
        .unwrap();
    assert_eq!(
        db.store.service_limits(&s.id).await.unwrap(),
        some,
        "replaced, unset ones included"
    );
    assert_eq!(
        db.store.service_limits(&ServiceId::new()).await.unwrap(),
        LimitOverrides::default()
    );
    let log = db.store.audit_log(None, 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.action == "limits.set"));
    db.done().await;
}

async fn usage_is_counted_per_service_and_calendar_period(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    let jan31 = Utc.with_ymd_and_hms(2026, 1, 31, 23, 59, 0).unwrap();
    let feb1 = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 1).unwrap();
    let at = |service: ServiceId, when| {
        let mut m = message(service, None);
        m.created_at = when;
        m
    };
    // Two groups, so that counters are added to as well as created.
    db.store
        .accept_messages(&[at(s.id, jan31), at(s.id, feb1), at(other.id, jan31)])
        .await
        .unwrap();
    db.store
        .accept_messages(&[at(s.id, jan31), at(s.id, feb1), at(s.id, feb1)])
        .await
        .unwrap();
    let mut both = vec![(s.id, 2), (other.id, 1)];
    both.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(db.store.usage_in_period("d2026-01-31").await.unwrap(), both);
    assert_eq!(db.store.usage_in_period("m2026-01").await.unwrap(), both);
    assert_eq!(
        db.store.usage_in_period("d2026-02-01").await.unwrap(),
        vec![(s.id, 3)]
    );
    assert_eq!(
        db.store.usage_in_period("m2026-02").await.unwrap(),
        vec![(s.id, 3)]
    );
    assert!(
        db.store
            .usage_in_period("d2026-02-02")
            .await
            .unwrap()
            .is_empty()
    );
    let noon = |d| Utc.with_ymd_and_hms(2026, 1, d, 12, 0, 0).unwrap();
    assert_eq!(
        db.store.service_usage(&s.id, noon(31)).await.unwrap(),
        (2, 2)
    );
    assert_eq!(
        db.store.service_usage(&s.id, noon(15)).await.unwrap(),
        (0, 2),
        "another day of the same month"
    );
    assert_eq!(db.store.service_usage(&s.id, feb1).await.unwrap(), (3, 3));
    assert_eq!(
        db.store.service_usage(&other.id, jan31).await.unwrap(),
        (1, 1)
    );
    assert_eq!(
        db.store
            .service_usage(&ServiceId::new(), jan31)
            .await
            .unwrap(),
        (0, 0)
    );
    db.done().await;
}
