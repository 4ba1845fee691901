//! Contract of the payments `Profiles` port, on SQLite and PostgreSQL.
//!
//! | method                    | test(s)                                                        |
//! |---------------------------|----------------------------------------------------------------|
//! | `enable_payments`         | `profiles_round_trip_and_are_found_by_either_key`, `enabling_again_replaces_the_set_up_and_keys`, `a_key_another_ente_holds_is_a_conflict`, `only_a_known_ente_can_enable_payments` |
//! | `payments_profile`        | `profiles_round_trip_and_are_found_by_either_key`, `a_corrupt_stored_profile_is_a_backend_error` |
//! | `payments_profile_by_key` | `profiles_round_trip_and_are_found_by_either_key`, `replacing_a_key_makes_the_old_hash_unknown` |
//! | `set_payments_key`        | `replacing_a_key_makes_the_old_hash_unknown`, `a_key_another_ente_holds_is_a_conflict` |
//! | `set_payments_template`   | `templates_are_replaced_with_their_audit_entry`                |
#![allow(clippy::unwrap_used)]

mod support;

use kernel::ports::StoreError;
use messaging::ports::prelude::*;
use payments::ports::prelude::*;
use payments::ports::{KeySlot, NoticeTemplate};
use support::*;

both!(
    profiles_round_trip_and_are_found_by_either_key,
    replacing_a_key_makes_the_old_hash_unknown,
    enabling_again_replaces_the_set_up_and_keys,
    a_key_another_ente_holds_is_a_conflict,
    only_a_known_ente_can_enable_payments,
    templates_are_replaced_with_their_audit_entry,
    a_corrupt_stored_profile_is_a_backend_error,
);

/// A store with [`org`] (and `ofc(1)`) and payments enabled for [`org`] with keys `p1`, `s1`.
async fn enabled(b: Backend) -> (Db, payments::ports::Profile) {
    let db = Db::new(b).await;
    db.store.create_organization(&org()).await.unwrap();
    db.store
        .create_organization(&org_named(1, "Comune di Como"))
        .await
        .unwrap();
    let p = payments_profile(&org().fiscal_code);
    db.store
        .enable_payments(&p, "p1", "s1", &audit("payments.enable"))
        .await
        .unwrap();
    (db, p)
}

async fn audits(db: &Db) -> i64 {
    count(db, "SELECT COUNT(*) FROM audit_log").await
}

async fn profiles_round_trip_and_are_found_by_either_key(b: Backend) {
    let (db, p) = enabled(b).await;
    assert_eq!(
        db.store.payments_profile(&org().fiscal_code).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(db.store.payments_profile(&ofc(1)).await.unwrap(), None);
    assert_eq!(
        db.store.payments_profile_by_key("p1").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        db.store.payments_profile_by_key("s1").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(db.store.payments_profile_by_key("p2").await.unwrap(), None);
    assert_eq!(db.store.payments_profile_by_key("").await.unwrap(), None);
    assert_eq!(audits(&db).await, 1);
    // A bare profile: no service, no networks, no segregation codes.
    let mut bare = payments_profile(&ofc(1));
    bare.io_service = None;
    bare.cidrs.clear();
    bare.segregation_codes.clear();
    db.store
        .enable_payments(&bare, "p2", "s2", &audit("payments.enable"))
        .await
        .unwrap();
    assert_eq!(
        db.store.payments_profile_by_key("s2").await.unwrap(),
        Some(bare)
    );
    db.done().await;
}

async fn replacing_a_key_makes_the_old_hash_unknown(b: Backend) {
    let (db, p) = enabled(b).await;
    let o = org().fiscal_code;
    db.store
        .set_payments_key(&o, KeySlot::Primary, "p1b", &audit("payments.key"))
        .await
        .unwrap();
    assert_eq!(db.store.payments_profile_by_key("p1").await.unwrap(), None);
    assert_eq!(
        db.store.payments_profile_by_key("p1b").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        db.store.payments_profile_by_key("s1").await.unwrap(),
        Some(p.clone())
    );
    db.store
        .set_payments_key(&o, KeySlot::Secondary, "s1b", &audit("payments.key"))
        .await
        .unwrap();
    assert_eq!(db.store.payments_profile_by_key("s1").await.unwrap(), None);
    assert_eq!(
        db.store.payments_profile_by_key("s1b").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        db.store.payments_profile_by_key("p1b").await.unwrap(),
        Some(p)
    );
    assert_eq!(audits(&db).await, 3);
    // An ente without payments.
    assert!(matches!(
        db.store
            .set_payments_key(&ofc(1), KeySlot::Primary, "x", &audit("payments.key"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(db.store.payments_profile_by_key("x").await.unwrap(), None);
    assert_eq!(audits(&db).await, 3);
    db.done().await;
}

async fn enabling_again_replaces_the_set_up_and_keys(b: Backend) {
    let (db, p) = enabled(b).await;
    let mut again = payments_profile(&org().fiscal_code);
    again.segregation_codes.reverse();
    again.cidrs.truncate(1);
    again.template.subject_it = "Avviso".into();
    again.created_at = p.created_at + chrono::Duration::days(1);
    db.store
        .enable_payments(&again, "p2", "s2", &audit("payments.enable"))
        .await
        .unwrap();
    // Everything replaced but the creation time.
    let expected = payments::ports::Profile {
        created_at: p.created_at,
        ..again
    };
    assert_eq!(
        db.store.payments_profile(&org().fiscal_code).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(db.store.payments_profile_by_key("p1").await.unwrap(), None);
    assert_eq!(db.store.payments_profile_by_key("s1").await.unwrap(), None);
    assert_eq!(
        db.store.payments_profile_by_key("s2").await.unwrap(),
        Some(expected)
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payment_profiles").await, 1);
    assert_eq!(audits(&db).await, 2);
    db.done().await;
}

async fn a_key_another_ente_holds_is_a_conflict(b: Backend) {
    let (db, p) = enabled(b).await;
    let other = payments_profile(&ofc(1));
    // In the same slot, and in the other one.
    for (primary, secondary) in [("p1", "s9"), ("p9", "p1"), ("s1", "s9")] {
        assert!(matches!(
            db.store
                .enable_payments(&other, primary, secondary, &audit("payments.enable"))
                .await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(db.store.payments_profile(&ofc(1)).await.unwrap(), None);
    db.store
        .enable_payments(&other, "p2", "s2", &audit("payments.enable"))
        .await
        .unwrap();
    for hash in ["p1", "s1"] {
        assert!(matches!(
            db.store
                .set_payments_key(&ofc(1), KeySlot::Secondary, hash, &audit("payments.key"))
                .await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(
        db.store.payments_profile_by_key("s2").await.unwrap(),
        Some(other)
    );
    assert_eq!(
        db.store.payments_profile_by_key("p1").await.unwrap(),
        Some(p)
    );
    assert_eq!(audits(&db).await, 2);
    db.done().await;
}

async fn only_a_known_ente_can_enable_payments(b: Backend) {
    let db = Db::new(b).await;
    assert!(matches!(
        db.store
            .enable_payments(
                &payments_profile(&ofc(5)),
                "p1",
                "s1",
                &audit("payments.enable")
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payment_profiles").await, 0);
    assert_eq!(audits(&db).await, 0);
    db.done().await;
}

async fn templates_are_replaced_with_their_audit_entry(b: Backend) {
    let (db, p) = enabled(b).await;
    let t = NoticeTemplate {
        subject_it: "Pagamento {description}".into(),
        markdown_it: "Paga **{amount} €** entro il {due_date}.".into(),
        subject_en: "Payment {description}".into(),
        markdown_en: "Pay **€ {amount}** by {due_date}.".into(),
    };
    db.store
        .set_payments_template(&org().fiscal_code, &t, &audit("payments.template"))
        .await
        .unwrap();
    let stored = db
        .store
        .payments_profile(&org().fiscal_code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.template, t);
    assert_eq!(
        stored,
        payments::ports::Profile {
            template: t.clone(),
            ..p
        }
    );
    assert_eq!(audits(&db).await, 2);
    assert!(matches!(
        db.store
            .set_payments_template(&ofc(1), &t, &audit("payments.template"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(audits(&db).await, 2);
    db.done().await;
}

async fn a_corrupt_stored_profile_is_a_backend_error(b: Backend) {
    let (db, _) = enabled(b).await;
    let o = org().fiscal_code;
    for bad in [
        "cidrs = '[\"10.0.0.0/33\"]'",
        "cidrs = 'not json'",
        "segregation_codes = '01,2'",
        "io_service = 'nope'",
        "template = '{}'",
    ] {
        let db2 = &db;
        store::raw::execute(&db2.store, &format!("UPDATE payment_profiles SET {bad}"))
            .await
            .unwrap();
        assert!(
            matches!(
                db.store.payments_profile(&o).await,
                Err(StoreError::Backend(_))
            ),
            "{bad}"
        );
        assert!(
            db.store.payments_profile_by_key("p1").await.is_err(),
            "{bad}"
        );
        // Back to a good profile for the next case.
        db.store
            .enable_payments(&payments_profile(&o), "p1", "s1", &audit("payments.enable"))
            .await
            .unwrap();
        assert!(db.store.payments_profile(&o).await.unwrap().is_some());
    }
    db.done().await;
}
