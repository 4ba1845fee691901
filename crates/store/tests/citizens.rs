//! Contract of the `Citizens` port, on SQLite and PostgreSQL.
//!
//! | method                      | test(s)                                                       |
//! |-----------------------------|---------------------------------------------------------------|
//! | `create_citizen`            | `batch_reads_return_exactly_the_citizens_and_preferences_that_exist`, `profiles_round_trip_and_are_created_once` |
//! | `get_citizen`               | `a_stale_profile_update_conflicts_and_changes_nothing`, `profiles_round_trip_and_are_created_once` |
//! | `get_service_preference`    | `batch_reads_return_exactly_the_citizens_and_preferences_that_exist`, `preferences_are_upserted_per_settings_version` |
//! | `get_citizens`              | `batch_reads_return_exactly_the_citizens_and_preferences_that_exist` |
//! | `get_preferences_of`        | `batch_reads_return_exactly_the_citizens_and_preferences_that_exist`, `preferences_are_upserted_per_settings_version` |
//! | `upsert_service_preference` | `batch_reads_return_exactly_the_citizens_and_preferences_that_exist`, `preferences_are_upserted_per_settings_version` |
//! | `save_citizen`              | `a_stale_profile_update_conflicts_and_changes_nothing`, `an_email_validation_works_once_and_only_for_the_current_address` |
//! | `validate_email`            | `an_email_validation_works_once_and_only_for_the_current_address`, `an_expired_validation_link_validates_nothing` |
//! | `delete_citizen`            | `deleting_a_citizen_leaves_only_the_entes_status_records`     |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use kernel::values::{Email, FiscalCode};
use messaging::citizen::CitizenSession;
use messaging::model::{CitizenProfile, PreferenceMode, ServicePreference};
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    a_stale_profile_update_conflicts_and_changes_nothing,
    an_email_validation_works_once_and_only_for_the_current_address,
    deleting_a_citizen_leaves_only_the_entes_status_records,
    batch_reads_return_exactly_the_citizens_and_preferences_that_exist,
    profiles_round_trip_and_are_created_once,
    preferences_are_upserted_per_settings_version,
    an_expired_validation_link_validates_nothing,
);

async fn a_stale_profile_update_conflicts_and_changes_nothing(b: Backend) {
    let db = Db::new(b).await;
    let mut p = profile();
    db.store.save_citizen(&p, None, None).await.unwrap();
    assert!(matches!(
        db.store.save_citizen(&p, None, None).await,
        Err(StoreError::Conflict(_))
    ));
    p.version = 1;
    p.is_webhook_enabled = true;
    let v = validation("v1", "th1", "mario.rossi@example.it");
    db.store.save_citizen(&p, Some(0), Some(&v)).await.unwrap();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM email_validations").await,
        1
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'").await,
        1
    );
    let mut stale = p.clone();
    stale.version = 1;
    stale.is_inbox_enabled = false;
    let v2 = validation("v2", "th2", "mario.rossi@example.it");
    match db.store.save_citizen(&stale, Some(0), Some(&v2)).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("stored 1"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let stored = db.store.get_citizen(&p.fiscal_code).await.unwrap().unwrap();
    assert!(stored.is_inbox_enabled && stored.is_webhook_enabled);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.accepted_tos_version, Some(1));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM email_validations").await,
        1,
        "nothing written"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 1);
    let nobody = CitizenProfile {
        fiscal_code: FiscalCode::parse("BNCGPP80A01H501E").unwrap(),
        ..p.clone()
    };
    assert!(matches!(
        db.store.save_citizen(&nobody, Some(0), None).await,
        Err(StoreError::NotFound(_))
    ));
    db.done().await;
}

async fn an_email_validation_works_once_and_only_for_the_current_address(b: Backend) {
    let db = Db::new(b).await;
    let mut p = profile();
    db.store
        .save_citizen(
            &p,
            None,
            Some(&validation("v1", "old", "mario.rossi@example.it")),
        )
        .await
        .unwrap();
    // The address changes before the first link is opened: a new link replaces the old one.
    p.email = Some(Email::parse("mario@example.org").unwrap());
    p.version = 1;
    db.store
        .save_citizen(
            &p,
            Some(0),
            Some(&validation("v2", "new", "mario@example.org")),
        )
        .await
        .unwrap();
    let now = Utc::now();
    assert!(db.store.validate_email("old", now).await.unwrap().is_none());
    assert_eq!(
        db.store
            .validate_email("new", now)
            .await
            .unwrap()
            .unwrap()
            .as_str(),
        FC
    );
    assert!(
        db.store.validate_email("new", now).await.unwrap().is_none(),
        "once"
    );
    assert!(
        db.store
            .get_citizen(&p.fiscal_code)
            .await
            .unwrap()
            .unwrap()
            .is_email_validated
    );
    db.done().await;
}

async fn deleting_a_citizen_leaves_only_the_entes_status_records(b: Backend) {
    let (db, s) = seeded(b).await;
    let p = profile();
    db.store
        .save_citizen(
            &p,
            None,
            Some(&validation("v1", "th", "mario.rossi@example.it")),
        )
        .await
        .unwrap();
    let now = Utc::now();
    db.store
        .create_session(
            &CitizenSession {
                id: "s1".into(),
                fiscal_code: p.fiscal_code.clone(),
                method: "admin".into(),
                client_ip: Some("127.0.0.1".into()),
                created_at: now,
                expires_at: now + Duration::hours(1),
                revoked_at: None,
            },
            "h1",
        )
        .await
        .unwrap();
    db.store
        .upsert_service_preference(
            &p.fiscal_code,
            &ServicePreference {
                service_id: s.id,
                settings_version: 0,
                is_inbox_enabled: true,
                is_email_enabled: false,
                is_webhook_enabled: false,
                can_access_message_read_status: true,
            },
        )
        .await
        .unwrap();
    let id = deliver(&db, &s, |m| processed(m, s.id)).await;
    assert!(db.store.delete_citizen(&p.fiscal_code, now).await.unwrap());
    for table in [
        "citizens",
        "service_preferences",
        "inbox",
        "citizen_sessions",
        "email_validations",
        "notifications",
    ] {
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM {table} WHERE fiscal_code = '{FC}'")
            )
            .await,
            0,
            "{table} still holds the citizen"
        );
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'").await,
        0
    );
    let m = db.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(m.status.as_str(), "PROCESSED", "the ente keeps the status");
    assert!(m.content.bytes.is_empty());
    assert_eq!(m.content.key_id, messaging::model::ERASED_KEY_ID);
    assert!(
        db.store
            .session_by_token_hash("h1", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .messages_to(&p.fiscal_code)
            .await
            .unwrap()
            .iter()
            .all(|m| m.content.bytes.is_empty())
    );
    assert!(
        !db.store.delete_citizen(&p.fiscal_code, now).await.unwrap(),
        "nothing left"
    );
    db.done().await;
}

async fn batch_reads_return_exactly_the_citizens_and_preferences_that_exist(b: Backend) {
    let (db, s) = seeded(b).await;
    let present = FiscalCode::parse("RSSMRA85T10A562S").unwrap();
    let absent = FiscalCode::parse("BNCLRA70A41H501B").unwrap();
    let now = Utc::now();
    db.store
        .create_citizen(&CitizenProfile {
            fiscal_code: present.clone(),
            email: None,
            is_email_validated: false,
            is_inbox_enabled: true,
            is_email_enabled: true,
            is_webhook_enabled: false,
            preferred_languages: vec!["it_IT".into()],
            preference_mode: PreferenceMode::Manual,
            settings_version: 2,
            blocked_channels: Default::default(),
            accepted_tos_version: None,
            reminders_enabled: true,
            push_anonymous: false,
            version: 0,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let pref = ServicePreference {
        service_id: s.id,
        settings_version: 2,
        is_inbox_enabled: true,
        is_email_enabled: false,
        is_webhook_enabled: false,
        can_access_message_read_status: true,
    };
    db.store
        .upsert_service_preference(&present, &pref)
        .await
        .unwrap();
    let citizens = db
        .store
        .get_citizens(&[present.clone(), absent.clone()])
        .await
        .unwrap();
    assert_eq!(citizens.len(), 1);
    assert_eq!(citizens[0].settings_version, 2);
    let prefs = db
        .store
        .get_preferences_of(&[present.clone(), absent])
        .await
        .unwrap();
    assert_eq!(prefs, vec![(present.clone(), pref.clone())]);
    assert_eq!(
        db.store
            .get_service_preference(&present, &s.id, 2)
            .await
            .unwrap(),
        Some(pref)
    );
    assert!(db.store.get_citizens(&[]).await.unwrap().is_empty());
    db.done().await;
}

fn preference(service: kernel::values::ServiceId, version: i64, email: bool) -> ServicePreference {
    ServicePreference {
        service_id: service,
        settings_version: version,
        is_inbox_enabled: true,
        is_email_enabled: email,
        is_webhook_enabled: !email,
        can_access_message_read_status: email,
    }
}

async fn profiles_round_trip_and_are_created_once(b: Backend) {
    let db = Db::new(b).await;
    let mut p = profile();
    p.preferred_languages = vec!["it_IT".into(), "de_DE".into()];
    p.preference_mode = PreferenceMode::Legacy;
    p.blocked_channels.insert(
        "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        vec![messaging::model::BlockedChannel::Email],
    );
    p.push_anonymous = true;
    p.reminders_enabled = false;
    p.accepted_tos_version = None;
    db.store.create_citizen(&p).await.unwrap();
    assert_eq!(
        db.store.get_citizen(&p.fiscal_code).await.unwrap(),
        Some(p.clone())
    );
    assert!(matches!(
        db.store.create_citizen(&p).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.store.get_citizen(&fc(FC2)).await.unwrap(), None);
    let without_email = CitizenProfile {
        fiscal_code: fc(FC2),
        email: None,
        ..profile()
    };
    db.store.create_citizen(&without_email).await.unwrap();
    assert_eq!(
        db.store.get_citizen(&fc(FC2)).await.unwrap(),
        Some(without_email)
    );
    db.done().await;
}

async fn preferences_are_upserted_per_settings_version(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    let me = fc(FC);
    assert_eq!(
        db.store
            .get_service_preference(&me, &s.id, 0)
            .await
            .unwrap(),
        None
    );
    db.store
        .upsert_service_preference(&me, &preference(s.id, 0, true))
        .await
        .unwrap();
    // The same version again replaces it; a new version is another record.
    db.store
        .upsert_service_preference(&me, &preference(s.id, 0, false))
        .await
        .unwrap();
    db.store
        .upsert_service_preference(&me, &preference(s.id, 1, true))
        .await
        .unwrap();
    db.store
        .upsert_service_preference(&me, &preference(other.id, 1, false))
        .await
        .unwrap();
    db.store
        .upsert_service_preference(&fc(FC2), &preference(s.id, 1, false))
        .await
        .unwrap();
    assert_eq!(
        db.store
            .get_service_preference(&me, &s.id, 0)
            .await
            .unwrap(),
        Some(preference(s.id, 0, false))
    );
    assert_eq!(
        db.store
            .get_service_preference(&me, &s.id, 1)
            .await
            .unwrap(),
        Some(preference(s.id, 1, true))
    );
    assert_eq!(
        db.store
            .get_service_preference(&me, &s.id, 2)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.store
            .get_service_preference(&fc(FC2), &s.id, 1)
            .await
            .unwrap(),
        Some(preference(s.id, 1, false)),
        "each citizen their own"
    );
    let mut mine = db
        .store
        .get_preferences_of(std::slice::from_ref(&me))
        .await
        .unwrap();
    mine.sort_by_key(|(_, p)| (p.service_id.to_string(), p.settings_version));
    let mut expected = vec![
        (me.clone(), preference(s.id, 0, false)),
        (me.clone(), preference(s.id, 1, true)),
        (me.clone(), preference(other.id, 1, false)),
    ];
    expected.sort_by_key(|(_, p)| (p.service_id.to_string(), p.settings_version));
    assert_eq!(mine, expected);
    assert_eq!(
        db.store
            .get_preferences_of(&[me.clone(), fc(FC2)])
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(db.store.get_preferences_of(&[]).await.unwrap().is_empty());
    db.done().await;
}

async fn an_expired_validation_link_validates_nothing(b: Backend) {
    let db = Db::new(b).await;
    let p = profile();
    let mut v = validation("v1", "late", "mario.rossi@example.it");
    v.expires_at = Utc::now() - Duration::seconds(1);
    db.store.save_citizen(&p, None, Some(&v)).await.unwrap();
    let now = Utc::now();
    assert!(
        db.store
            .validate_email("late", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !db.store
            .get_citizen(&p.fiscal_code)
            .await
            .unwrap()
            .unwrap()
            .is_email_validated
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM email_validations").await,
        0,
        "removed"
    );
    assert!(
        db.store
            .validate_email("unknown", now)
            .await
            .unwrap()
            .is_none()
    );
    db.done().await;
}
