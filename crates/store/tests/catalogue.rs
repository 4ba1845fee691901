//! Contract of the `Catalogue` port, on SQLite and PostgreSQL.
//!
//! | method                    | test(s)                                                         |
//! |---------------------------|-----------------------------------------------------------------|
//! | `catalogue_organizations` | `the_catalogue_lists_enti_with_published_services`, `a_catalogue_search_is_a_literal_case_insensitive_substring` |
//! | `published_services`      | `published_services_are_an_entes_or_the_featured_ones`          |
//! | `save_published_card`     | `the_approved_card_round_trips`                                 |
//! | `published_card`          | `the_approved_card_round_trips`                                 |
//! | `set_featured`            | `published_services_are_an_entes_or_the_featured_ones`          |
#![allow(clippy::unwrap_used)]

mod support;

use kernel::organization::Organization;
use kernel::values::ServiceId;
use messaging::model::{LifecycleStatus, PublicationStatus, Service};
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    the_catalogue_lists_enti_with_published_services,
    a_catalogue_search_is_a_literal_case_insensitive_substring,
    published_services_are_an_entes_or_the_featured_ones,
    the_approved_card_round_trips,
);

/// Creates `o` with one service named `name` in `publication` and `lifecycle`.
async fn ente_with(
    db: &Db,
    o: &Organization,
    name: &str,
    publication: PublicationStatus,
    lifecycle: LifecycleStatus,
) -> Service {
    if db
        .store
        .get_organization(&o.fiscal_code)
        .await
        .unwrap()
        .is_none()
    {
        db.store.create_organization(o).await.unwrap();
    }
    let mut s = service_of(o);
    s.name = name.into();
    s.publication = publication;
    s.lifecycle = lifecycle;
    db.store.create_service(&s, &[]).await.unwrap();
    s
}

/// The catalogue's enti: Varese, VARANO, a name with `%`, one with `_`, one with `\`; and
/// three that are not in it.
async fn catalogue(db: &Db) -> Vec<Organization> {
    use LifecycleStatus::{Approved, Deleted};
    use PublicationStatus::{Published, Unpublished};
    let listed = vec![
        org_named(9_000_000_001, "Comune di VARANO"),
        org(),
        org_named(9_000_000_002, "Ente 100% digitale"),
        org_named(9_000_000_003, "Ente A\\B"),
        org_named(9_000_000_004, "Unione_Valli"),
    ];
    for o in &listed {
        ente_with(db, o, "Servizio", Published, Approved).await;
    }
    ente_with(
        db,
        &org_named(9_000_000_005, "Ente 50 senza"),
        "S",
        Unpublished,
        Approved,
    )
    .await;
    let gone = org_named(9_000_000_006, "Ente 60 cancellato");
    ente_with(db, &gone, "S", Published, Deleted).await;
    let off = org_named(9_000_000_007, "Ente 70 disabilitato");
    ente_with(db, &off, "S", Published, Approved).await;
    db.store
        .set_organization_disabled(&off.fiscal_code, true)
        .await
        .unwrap();
    listed
}

async fn the_catalogue_lists_enti_with_published_services(b: Backend) {
    let db = Db::new(b).await;
    let listed = catalogue(&db).await;
    let (all, total) = db
        .store
        .catalogue_organizations(None, 100, 0)
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(
        all, listed,
        "by name; not the unpublished, deleted or disabled"
    );
    // Pages by offset, with the total every time.
    let (p1, t1) = db.store.catalogue_organizations(None, 2, 0).await.unwrap();
    let (p2, t2) = db.store.catalogue_organizations(None, 2, 2).await.unwrap();
    let (p3, t3) = db.store.catalogue_organizations(None, 2, 4).await.unwrap();
    assert_eq!((t1, t2, t3), (5, 5, 5));
    assert_eq!([p1, p2, p3].concat(), listed);
    let (empty, t) = db.store.catalogue_organizations(None, 2, 5).await.unwrap();
    assert!(empty.is_empty() && t == 5);
    db.done().await;
}

async fn a_catalogue_search_is_a_literal_case_insensitive_substring(b: Backend) {
    let db = Db::new(b).await;
    let listed = catalogue(&db).await;
    let names = |found: (Vec<Organization>, i64)| {
        assert_eq!(found.0.len() as i64, found.1, "the count is of the matches");
        found.0.into_iter().map(|o| o.name).collect::<Vec<_>>()
    };
    for (search, expected) in [
        ("%", vec!["Ente 100% digitale"]),
        ("_", vec!["Unione_Valli"]),
        ("\\", vec!["Ente A\\B"]),
        ("0% D", vec!["Ente 100% digitale"]),
        ("e_v", vec!["Unione_Valli"]),
        ("varese", vec!["Comune di Varese"]),
        ("VARESE", vec!["Comune di Varese"]),
        ("di var", vec!["Comune di VARANO", "Comune di Varese"]),
        ("vara", vec!["Comune di VARANO"]),
        ("a\\b", vec!["Ente A\\B"]),
        ("%%", vec![]),
        ("__", vec![]),
        ("0_%", vec![]),
        ("ente 50", vec![]),
        ("nessuno", vec![]),
    ] {
        let found = db
            .store
            .catalogue_organizations(Some(search), 100, 0)
            .await
            .unwrap();
        assert_eq!(names(found), expected, "search {search:?}");
    }
    assert_eq!(
        names(
            db.store
                .catalogue_organizations(Some(""), 100, 0)
                .await
                .unwrap()
        )
        .len(),
        listed.len(),
        "an empty search is no filter"
    );
    let (page, total) = db
        .store
        .catalogue_organizations(Some("COMUNE"), 1, 1)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(page.len(), 1);
    assert_eq!(
        page[0].fiscal_code,
        org().fiscal_code,
        "paged within the matches"
    );
    db.done().await;
}

async fn published_services_are_an_entes_or_the_featured_ones(b: Backend) {
    use LifecycleStatus::{Approved, Deleted};
    use PublicationStatus::{Published, Unpublished};
    let db = Db::new(b).await;
    let varese = org();
    let other = org_named(9_000_000_001, "Istituto di prova");
    let tributi = ente_with(&db, &varese, "Tributi", Published, Approved).await;
    let anagrafe = ente_with(&db, &varese, "Anagrafe", Published, Approved).await;
    let draft = ente_with(&db, &varese, "Bozza", Unpublished, Approved).await;
    let deleted = ente_with(&db, &varese, "Cancellato", Published, Deleted).await;
    let elsewhere = ente_with(&db, &other, "Altrove", Published, Approved).await;
    let ids = |list: Vec<Service>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        db.store
            .published_services(Some(&varese.fiscal_code))
            .await
            .unwrap(),
        vec![anagrafe.clone(), tributi.clone()],
        "by name; not the draft, the deleted or another ente's"
    );
    assert!(
        db.store.published_services(None).await.unwrap().is_empty(),
        "nothing featured yet"
    );
    for s in [&tributi, &elsewhere, &draft, &deleted] {
        db.store.set_featured(&s.id, true).await.unwrap();
    }
    assert_eq!(
        ids(db.store.published_services(None).await.unwrap()),
        vec![elsewhere.id, tributi.id],
        "featured and published, by name"
    );
    db.store.set_featured(&elsewhere.id, false).await.unwrap();
    assert_eq!(
        ids(db.store.published_services(None).await.unwrap()),
        vec![tributi.id]
    );
    assert!(matches!(
        db.store.set_featured(&ServiceId::new(), true).await,
        Err(StoreError::NotFound(_))
    ));
    db.done().await;
}

async fn the_approved_card_round_trips(b: Backend) {
    let (db, s) = seeded(b).await;
    let mut other = service();
    other.name = "Altro".into();
    db.store.create_service(&other, &[]).await.unwrap();
    assert_eq!(db.store.published_card(&s.id).await.unwrap(), None);
    let card = r#"{"name":"Tributi","description":"Tributi comunali è così"}"#;
    db.store.save_published_card(&s.id, card).await.unwrap();
    assert_eq!(
        db.store.published_card(&s.id).await.unwrap().as_deref(),
        Some(card)
    );
    assert_eq!(db.store.published_card(&other.id).await.unwrap(), None);
    db.store
        .save_published_card(&s.id, r#"{"name":"Nuovo"}"#)
        .await
        .unwrap();
    assert_eq!(
        db.store.published_card(&s.id).await.unwrap().as_deref(),
        Some(r#"{"name":"Nuovo"}"#)
    );
    assert_eq!(
        db.store.published_card(&ServiceId::new()).await.unwrap(),
        None
    );
    db.done().await;
}
