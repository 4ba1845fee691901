//! Contract of the `Health` and `Organizations` ports, on SQLite and PostgreSQL.
//!
//! | method                      | test(s)                                                        |
//! |-----------------------------|----------------------------------------------------------------|
//! | `ping`                      | `the_store_answers_a_ping`                                     |
//! | `create_organization`       | `a_duplicate_organization_is_a_conflict`, `organizations_round_trip_and_are_disabled_and_given_a_logo` |
//! | `get_organization`          | `organizations_round_trip_and_are_disabled_and_given_a_logo`   |
//! | `list_organizations`        | `a_duplicate_organization_is_a_conflict`, `organizations_round_trip_and_are_disabled_and_given_a_logo` |
//! | `set_organization_disabled` | `organizations_round_trip_and_are_disabled_and_given_a_logo`, `delegates_are_listed_disabled_and_found_by_key_hash` |
//! | `set_organization_logo`     | `organizations_round_trip_and_are_disabled_and_given_a_logo`   |
//! | `organization_logo`         | `organizations_round_trip_and_are_disabled_and_given_a_logo`   |
//! | `create_delegate`           | `delegates_are_listed_disabled_and_found_by_key_hash`          |
//! | `list_delegates`            | `delegates_are_listed_disabled_and_found_by_key_hash`, `a_variation_adds_and_disables_delegates_all_or_nothing` |
//! | `set_delegate_disabled`     | `delegates_are_listed_disabled_and_found_by_key_hash`          |
//! | `delegate_by_key_hash`      | `delegates_are_listed_disabled_and_found_by_key_hash`, `a_rotated_delegate_key_replaces_the_old_one` |
//! | `apply_variation`           | `a_variation_adds_and_disables_delegates_all_or_nothing`       |
//! | `rotate_delegate_key`       | `a_rotated_delegate_key_replaces_the_old_one`                  |
//! | `add_mandate`               | `mandates_are_added_listed_and_a_duplicate_is_kept_once`       |
//! | `mandates_of`               | `mandates_are_added_listed_and_a_duplicate_is_kept_once`       |
#![allow(clippy::unwrap_used)]

mod support;

use kernel::organization::{Delegate, DelegateRole, Mandate};
use kernel::values::{Email, OrganizationFiscalCode};
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    the_store_answers_a_ping,
    a_duplicate_organization_is_a_conflict,
    organizations_round_trip_and_are_disabled_and_given_a_logo,
    delegates_are_listed_disabled_and_found_by_key_hash,
    a_variation_adds_and_disables_delegates_all_or_nothing,
    a_rotated_delegate_key_replaces_the_old_one,
    mandates_are_added_listed_and_a_duplicate_is_kept_once,
);

fn delegate(id: &str, o: &OrganizationFiscalCode, email: &str) -> Delegate {
    Delegate {
        id: id.into(),
        organization_fiscal_code: o.clone(),
        email: Email::parse(email).unwrap(),
        name: Some("Anna Bianchi".into()),
        fiscal_code: Some(fc(FC2)),
        role: DelegateRole::Technical,
        disabled: false,
        created_at: now_ms(),
    }
}

async fn audit_actions(db: &Db) -> Vec<String> {
    db.store
        .audit_log(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn the_store_answers_a_ping(b: Backend) {
    let db = Db::new(b).await;
    db.store.ping().await.unwrap();
    db.store.close().await;
    assert!(
        db.store.ping().await.is_err(),
        "a closed store does not answer"
    );
    db.done().await;
}

async fn a_duplicate_organization_is_a_conflict(b: Backend) {
    let db = Db::new(b).await;
    db.store.create_organization(&org()).await.unwrap();
    assert!(matches!(
        db.store.create_organization(&org()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.store.list_organizations().await.unwrap().len(), 1);
    db.done().await;
}

async fn organizations_round_trip_and_are_disabled_and_given_a_logo(b: Backend) {
    let db = Db::new(b).await;
    let varese = org();
    let other = org_named(9_000_000_001, "Istituto di prova");
    db.store.create_organization(&other).await.unwrap();
    db.store.create_organization(&varese).await.unwrap();
    assert_eq!(
        db.store
            .get_organization(&varese.fiscal_code)
            .await
            .unwrap(),
        Some(varese.clone())
    );
    assert_eq!(
        db.store.get_organization(&ofc(1)).await.unwrap(),
        None,
        "unknown"
    );
    assert_eq!(
        db.store.list_organizations().await.unwrap(),
        vec![varese.clone(), other.clone()],
        "by fiscal code"
    );
    db.store
        .set_organization_disabled(&varese.fiscal_code, true)
        .await
        .unwrap();
    assert!(
        db.store
            .get_organization(&varese.fiscal_code)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(
        !db.store
            .get_organization(&other.fiscal_code)
            .await
            .unwrap()
            .unwrap()
            .disabled,
        "only that one"
    );
    db.store
        .set_organization_disabled(&varese.fiscal_code, false)
        .await
        .unwrap();
    assert!(
        !db.store
            .get_organization(&varese.fiscal_code)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(matches!(
        db.store.set_organization_disabled(&ofc(1), true).await,
        Err(StoreError::NotFound(_))
    ));
    // Logos.
    assert_eq!(
        db.store
            .organization_logo(&varese.fiscal_code)
            .await
            .unwrap(),
        None
    );
    let png = vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255];
    db.store
        .set_organization_logo(&varese.fiscal_code, &png)
        .await
        .unwrap();
    assert_eq!(
        db.store
            .organization_logo(&varese.fiscal_code)
            .await
            .unwrap(),
        Some(png.clone())
    );
    assert_eq!(
        db.store
            .organization_logo(&other.fiscal_code)
            .await
            .unwrap(),
        None
    );
    db.store
        .set_organization_logo(&varese.fiscal_code, &[9, 9])
        .await
        .unwrap();
    assert_eq!(
        db.store
            .organization_logo(&varese.fiscal_code)
            .await
            .unwrap(),
        Some(vec![9, 9]),
        "replaced"
    );
    assert!(matches!(
        db.store.set_organization_logo(&ofc(1), &png).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(db.store.organization_logo(&ofc(1)).await.unwrap(), None);
    db.done().await;
}

async fn delegates_are_listed_disabled_and_found_by_key_hash(b: Backend) {
    let db = Db::new(b).await;
    let varese = org();
    let other = org_named(9_000_000_001, "Istituto di prova");
    db.store.create_organization(&varese).await.unwrap();
    db.store.create_organization(&other).await.unwrap();
    let a = delegate("d-a", &varese.fiscal_code, "anna@varese.it");
    let b2 = delegate("d-b", &varese.fiscal_code, "bruno@varese.it");
    let c = delegate("d-c", &other.fiscal_code, "anna@varese.it");
    db.store.create_delegate(&a, "ka").await.unwrap();
    db.store.create_delegate(&b2, "kb").await.unwrap();
    db.store.create_delegate(&c, "kc").await.unwrap();
    assert!(
        matches!(
            db.store
                .create_delegate(
                    &delegate("d-x", &varese.fiscal_code, "anna@varese.it"),
                    "kx"
                )
                .await,
            Err(StoreError::Conflict(_))
        ),
        "one e-mail per organization"
    );
    assert!(matches!(
        db.store
            .create_delegate(&delegate("d-y", &ofc(1), "y@example.it"), "ky")
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        db.store.list_delegates(None).await.unwrap(),
        vec![a.clone(), b2.clone(), c.clone()]
    );
    assert_eq!(
        db.store
            .list_delegates(Some(&varese.fiscal_code))
            .await
            .unwrap(),
        vec![a.clone(), b2.clone()]
    );
    assert!(
        db.store
            .list_delegates(Some(&ofc(1)))
            .await
            .unwrap()
            .is_empty()
    );
    let auth = db.store.delegate_by_key_hash("kb").await.unwrap().unwrap();
    assert_eq!(auth.delegate, b2);
    assert!(!auth.organization_disabled);
    assert!(
        db.store
            .delegate_by_key_hash("nope")
            .await
            .unwrap()
            .is_none()
    );
    // Disabling a delegate shows in its look-up and in the list; the organization's state too.
    db.store.set_delegate_disabled("d-b", true).await.unwrap();
    let auth = db.store.delegate_by_key_hash("kb").await.unwrap().unwrap();
    assert!(auth.delegate.disabled);
    assert!(
        !db.store
            .delegate_by_key_hash("ka")
            .await
            .unwrap()
            .unwrap()
            .delegate
            .disabled
    );
    db.store
        .set_organization_disabled(&varese.fiscal_code, true)
        .await
        .unwrap();
    assert!(
        db.store
            .delegate_by_key_hash("ka")
            .await
            .unwrap()
            .unwrap()
            .organization_disabled
    );
    assert!(
        !db.store
            .delegate_by_key_hash("kc")
            .await
            .unwrap()
            .unwrap()
            .organization_disabled
    );
    db.store.set_delegate_disabled("d-b", false).await.unwrap();
    assert!(
        !db.store
            .list_delegates(Some(&varese.fiscal_code))
            .await
            .unwrap()[1]
            .disabled,
        "enabled again"
    );
    assert!(matches!(
        db.store.set_delegate_disabled("nobody", true).await,
        Err(StoreError::NotFound(_))
    ));
    db.done().await;
}

async fn a_variation_adds_and_disables_delegates_all_or_nothing(b: Backend) {
    let db = Db::new(b).await;
    let varese = org();
    db.store.create_organization(&varese).await.unwrap();
    let old = delegate("d-old", &varese.fiscal_code, "old@varese.it");
    db.store.create_delegate(&old, "k-old").await.unwrap();
    let new = delegate("d-new", &varese.fiscal_code, "new@varese.it");
    db.store
        .apply_variation(
            &[(new.clone(), "k-new".into())],
            &["d-old".into()],
            &audit("delegates.variation"),
        )
        .await
        .unwrap();
    let listed = db
        .store
        .list_delegates(Some(&varese.fiscal_code))
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], new);
    assert!(listed[1].disabled && listed[1].id == "d-old");
    assert_eq!(
        db.store
            .delegate_by_key_hash("k-new")
            .await
            .unwrap()
            .unwrap()
            .delegate
            .id,
        "d-new"
    );
    assert_eq!(audit_actions(&db).await, vec!["delegates.variation"]);
    // A variation removing an unknown delegate changes nothing at all.
    let later = delegate("d-later", &varese.fiscal_code, "later@varese.it");
    assert!(matches!(
        db.store
            .apply_variation(
                &[(later, "k-later".into())],
                &["d-new".into(), "nobody".into()],
                &audit("delegates.variation"),
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        db.store
            .list_delegates(Some(&varese.fiscal_code))
            .await
            .unwrap()
            .len(),
        2,
        "the addition was rolled back"
    );
    assert!(
        db.store
            .delegate_by_key_hash("k-new")
            .await
            .unwrap()
            .is_some_and(|a| !a.delegate.disabled),
        "the removal was rolled back"
    );
    assert_eq!(audit_actions(&db).await.len(), 1, "no audit entry");
    // Adding a delegate with a taken e-mail is refused the same way.
    assert!(matches!(
        db.store
            .apply_variation(
                &[(
                    delegate("d-dup", &varese.fiscal_code, "new@varese.it"),
                    "k-dup".into()
                )],
                &[],
                &audit("delegates.variation"),
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(audit_actions(&db).await.len(), 1);
    db.done().await;
}

async fn a_rotated_delegate_key_replaces_the_old_one(b: Backend) {
    let db = Db::new(b).await;
    let varese = org();
    db.store.create_organization(&varese).await.unwrap();
    let d = delegate("d-a", &varese.fiscal_code, "anna@varese.it");
    db.store.create_delegate(&d, "k-1").await.unwrap();
    db.store
        .rotate_delegate_key("d-a", "k-2", &audit("delegate.rotate"))
        .await
        .unwrap();
    assert!(
        db.store
            .delegate_by_key_hash("k-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.store
            .delegate_by_key_hash("k-2")
            .await
            .unwrap()
            .unwrap()
            .delegate,
        d
    );
    assert_eq!(audit_actions(&db).await, vec!["delegate.rotate"]);
    assert!(matches!(
        db.store
            .rotate_delegate_key("nobody", "k-3", &audit("delegate.rotate"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        db.store
            .delegate_by_key_hash("k-3")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(audit_actions(&db).await.len(), 1, "no audit entry");
    db.done().await;
}

async fn mandates_are_added_listed_and_a_duplicate_is_kept_once(b: Backend) {
    let (db, s) = seeded(b).await;
    let varese = org();
    let aggregator = org_named(9_000_000_001, "Aggregatore");
    let third = org_named(9_000_000_002, "Comune terzo");
    db.store.create_organization(&aggregator).await.unwrap();
    db.store.create_organization(&third).await.unwrap();
    assert!(
        db.store
            .mandates_of(&aggregator.fiscal_code)
            .await
            .unwrap()
            .is_empty()
    );
    let all = Mandate {
        aggregator: aggregator.fiscal_code.clone(),
        organization: third.fiscal_code.clone(),
        service_id: None,
        created_at: now_ms(),
    };
    let one = Mandate {
        aggregator: aggregator.fiscal_code.clone(),
        organization: varese.fiscal_code.clone(),
        service_id: Some(s.id),
        created_at: now_ms(),
    };
    db.store
        .add_mandate(&all, &audit("mandate.add"))
        .await
        .unwrap();
    db.store
        .add_mandate(&one, &audit("mandate.add"))
        .await
        .unwrap();
    // Ordered by organization: 00441340122 (Varese) before 9000000002x.
    assert_eq!(
        db.store.mandates_of(&aggregator.fiscal_code).await.unwrap(),
        vec![one.clone(), all.clone()]
    );
    assert!(
        db.store
            .mandates_of(&third.fiscal_code)
            .await
            .unwrap()
            .is_empty(),
        "only the aggregator's"
    );
    // The same mandate again is no second mandate; the first one stays as it was.
    let again = Mandate {
        created_at: all.created_at + chrono::Duration::seconds(5),
        ..all.clone()
    };
    db.store
        .add_mandate(&again, &audit("mandate.add"))
        .await
        .unwrap();
    assert_eq!(
        db.store.mandates_of(&aggregator.fiscal_code).await.unwrap(),
        vec![one.clone(), all.clone()]
    );
    // Over an unknown organization: NotFound, and nothing written.
    let audits = audit_actions(&db).await.len();
    let unknown = Mandate {
        organization: ofc(1),
        ..all.clone()
    };
    assert!(matches!(
        db.store.add_mandate(&unknown, &audit("mandate.add")).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(audit_actions(&db).await.len(), audits);
    assert_eq!(
        db.store
            .mandates_of(&aggregator.fiscal_code)
            .await
            .unwrap()
            .len(),
        2
    );
    db.done().await;
}
