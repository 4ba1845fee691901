//! Contract of the payments `Reconciliation` port, on SQLite and PostgreSQL.
//!
//! | method                          | test(s)                                                  |
//! |---------------------------------|----------------------------------------------------------|
//! | `ingest_flow`                   | `flows_are_kept_once_and_revisions_supersede`, `a_conflicting_flow_is_kept_as_such` |
//! | `ingest_statement`              | `statements_are_kept_once_and_movements_not_twice`       |
//! | `known_iuvs`                    | `known_iuvs_come_from_receipts_and_notices`              |
//! | `recon_facts`, `save_recon`     | `a_run_saves_its_items_and_the_next_sees_only_changes`, `a_stale_run_cannot_overwrite_a_newer_one` |
//! | `list_items`, `item_totals`     | `items_are_listed_by_date_with_cursors_and_totals`       |
//! | `annotate_item`, `get_item`     | `items_are_listed_by_date_with_cursors_and_totals`       |
//! | `pending_effects`, `effects_done` | `a_run_saves_its_items_and_the_next_sees_only_changes` |
//! | `day_summary`, `open_anomalies`, `list_flows`, `has_flow`, `recon_organizations`, `last_recon` | `a_run_saves_its_items_and_the_next_sees_only_changes` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use kernel::ports::{Organizations as _, StoreError};
use payments::ports::prelude::*;
use payments::ports::{
    FlowDocument, FlowLineRow, IngestOutcome, ItemFilter, MovementRow, ReceiptEffect, ReconScope,
    StatementDocument, StoredReceipt,
};
use payments::recon::{self, Class, MovementRef, ReceiptLine};
use support::*;

both!(
    flows_are_kept_once_and_revisions_supersede,
    a_conflicting_flow_is_kept_as_such,
    statements_are_kept_once_and_movements_not_twice,
    known_iuvs_come_from_receipts_and_notices,
    a_run_saves_its_items_and_the_next_sees_only_changes,
    a_stale_run_cannot_overwrite_a_newer_one,
    items_are_listed_by_date_with_cursors_and_totals,
);

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

async fn enabled(b: Backend) -> Db {
    let db = Db::new(b).await;
    db.store.create_organization(&org()).await.unwrap();
    db.store
        .enable_payments(
            &payments_profile(&org().fiscal_code),
            "p1",
            "s1",
            &audit("payments.enable"),
        )
        .await
        .unwrap();
    db
}

fn flow(digest: &str, flow_id: &str, revision: u32, lines: &[(&str, i64)]) -> FlowDocument {
    let total: i64 = lines.iter().map(|l| l.1).sum();
    FlowDocument {
        organization: org().fiscal_code,
        digest: digest.into(),
        flow_id: flow_id.into(),
        psp_id: "PSP1".into(),
        revision,
        format: "XML".into(),
        source: "api".into(),
        regulation_id: "SCT-1".into(),
        regulation_date: d(2),
        flow_time: d(2).and_hms_opt(10, 0, 0).unwrap(),
        sender_id: "PSP1".into(),
        receiver_id: org().fiscal_code.as_str().into(),
        declared_count: lines.len() as i64,
        declared_total: total,
        lines_count: lines.len() as i64,
        lines_total: total,
        checks: vec![],
        document: format!("<doc {digest}/>").into_bytes(),
        ingested_at: Utc::now(),
    }
}

fn lines(lines: &[(&str, i64)]) -> Vec<FlowLineRow> {
    lines
        .iter()
        .map(|(iuv, amount)| FlowLineRow {
            iuv: (*iuv).into(),
            iur: format!("r-{iuv}"),
            index: 1,
            amount: *amount,
            outcome: 0,
            date: d(1),
            foreign: false,
        })
        .collect()
}

fn statement(digest: &str, doc: &str) -> StatementDocument {
    StatementDocument {
        organization: org().fiscal_code,
        digest: digest.into(),
        document_id: doc.into(),
        format: "OPI_1_8".into(),
        source: "api".into(),
        date: Some(d(2)),
        signature: Some("<ds:Signature/>".into()),
        document: b"<x/>".to_vec(),
        ingested_at: Utc::now(),
    }
}

fn movement(id: &str, amount: i64, r: MovementRef) -> MovementRow {
    MovementRow {
        id: id.into(),
        account: "0001".into(),
        incoming: true,
        reversal: false,
        amount,
        booking_date: d(2),
        value_date: None,
        reference: r,
        end_to_end_id: None,
        bank_reference: None,
    }
}

fn receipt(iuv: &str, amount: i64) -> StoredReceipt {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    StoredReceipt {
        organization: org().fiscal_code,
        receipt_id: format!("r-{iuv}"),
        issuer: org().fiscal_code.as_str().into(),
        notice_number: format!("3{iuv}"),
        iuv: iuv.into(),
        position_id: None,
        effect: ReceiptEffect::Beneficiary,
        amount,
        own_amount: amount,
        psp_id: "PSP1".into(),
        channel_id: "CH".into(),
        fee: None,
        payment_method: None,
        payment_date: Some(at),
        received_at: at,
        v2: true,
        citizen: None,
        transfers: vec![ReceiptLine {
            index: 1,
            amount,
            beneficiary: org().fiscal_code.as_str().into(),
            iban: None,
            metadata: vec![],
        }],
        key_id: "k1".into(),
        sealed: vec![1],
    }
}

async fn flows_are_kept_once_and_revisions_supersede(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    let l1 = [("11", 100), ("12", 200)];
    let out = db
        .store
        .ingest_flow(&flow("a", "F1", 1, &l1), &lines(&l1))
        .await
        .unwrap();
    assert_eq!(out, IngestOutcome::Created { conflict: false });
    // The same digest again writes nothing.
    let again = db
        .store
        .ingest_flow(&flow("a", "F1", 1, &l1), &lines(&l1))
        .await
        .unwrap();
    assert_eq!(again, IngestOutcome::Known);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM recon_lines").await, 2);
    // Revision 2 supersedes revision 1; a late revision 1 after it is superseded at once.
    let l2 = [("11", 100)];
    db.store
        .ingest_flow(&flow("b", "F1", 2, &l2), &lines(&l2))
        .await
        .unwrap();
    let listed = db.store.list_flows(&fc, 10).await.unwrap();
    let by = |digest: &str| listed.iter().find(|f| f.digest == digest).unwrap();
    assert!(by("a").superseded && !by("b").superseded);
    assert!(
        db.store
            .has_flow(&fc, "F1", Some("PSP1"), Some(2))
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .has_flow(&fc, "F1", Some("PSP1"), Some(3))
            .await
            .unwrap()
    );
    assert!(!db.store.has_flow(&fc, "F2", None, None).await.unwrap());
    // The queue holds both revisions' IUVs (12 must be decided again: rev 2 dropped it).
    let queued = count(
        &db,
        "SELECT COUNT(DISTINCT ref) FROM recon_queue WHERE kind = 'IUV'",
    )
    .await;
    assert_eq!(queued, 2);
    db.done().await;
}

async fn a_conflicting_flow_is_kept_as_such(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    let l = [("11", 100)];
    db.store
        .ingest_flow(&flow("a", "F1", 1, &l), &lines(&l))
        .await
        .unwrap();
    let other = [("11", 150)];
    let out = db
        .store
        .ingest_flow(&flow("c", "F1", 1, &other), &lines(&other))
        .await
        .unwrap();
    assert_eq!(out, IngestOutcome::Created { conflict: true });
    let listed = db.store.list_flows(&fc, 10).await.unwrap();
    assert!(listed.iter().any(|f| f.digest == "c" && f.conflict));
    assert!(listed.iter().any(|f| f.digest == "a" && !f.conflict));
    // The run sees both and calls the payment a duplicate.
    db.store
        .record_receipt(&receipt("11", 100), None)
        .await
        .unwrap();
    let batch = db.store.recon_facts(&fc, &ReconScope::All).await.unwrap();
    let items = recon::classify(&batch.facts, d(20));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].class, Class::Duplicate);
    db.done().await;
}

async fn statements_are_kept_once_and_movements_not_twice(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    let ms = [
        movement("G1/1", 300, MovementRef::Flow("F1".into())),
        movement(
            "G1/2",
            50,
            MovementRef::Iuv {
                iuv: "99".into(),
                amount: Some(50),
            },
        ),
        movement("G1/3", 70, MovementRef::None),
    ];
    let (out, new) = db
        .store
        .ingest_statement(&statement("s1", "G1"), &ms)
        .await
        .unwrap();
    assert_eq!((out, new), (IngestOutcome::Created { conflict: false }, 3));
    let (out, new) = db
        .store
        .ingest_statement(&statement("s1", "G1"), &ms)
        .await
        .unwrap();
    assert_eq!((out, new), (IngestOutcome::Known, 0));
    // A corrected file of the same journal: only its new movement counts.
    let more = [ms[0].clone(), movement("G1/4", 10, MovementRef::None)];
    let (_, new) = db
        .store
        .ingest_statement(&statement("s2", "G1"), &more)
        .await
        .unwrap();
    assert_eq!(new, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM recon_movements").await, 4);
    let batch = db.store.recon_facts(&fc, &ReconScope::All).await.unwrap();
    assert_eq!(batch.facts.movements.len(), 4);
    assert_eq!(batch.facts.singles.len(), 1);
    db.done().await;
}

async fn known_iuvs_come_from_receipts_and_notices(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    db.store
        .record_receipt(&receipt("01000000000000001", 100), None)
        .await
        .unwrap();
    let known = db
        .store
        .known_iuvs(
            &fc,
            &["01000000000000001".into(), "01000000000000002".into()],
        )
        .await
        .unwrap();
    assert_eq!(known.into_iter().collect::<Vec<_>>(), ["01000000000000001"]);
    db.done().await;
}

/// A receipt, a flow line and a movement: one RECONCILED item, an effect to apply; the next
/// incremental run sees nothing changed; a stray movement is an item of its own.
async fn a_run_saves_its_items_and_the_next_sees_only_changes(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    db.store
        .record_receipt(&receipt("11", 100), None)
        .await
        .unwrap();
    let l = [("11", 100)];
    db.store
        .ingest_flow(&flow("a", "F1", 1, &l), &lines(&l))
        .await
        .unwrap();
    db.store
        .ingest_statement(
            &statement("s1", "G1"),
            &[
                movement("G1/1", 100, MovementRef::Flow("F1".into())),
                movement("G1/2", 70, MovementRef::None),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        db.store.recon_organizations().await.unwrap(),
        vec![fc.clone()]
    );
    assert!(db.store.last_recon(&fc).await.unwrap().is_none());
    let now = Utc::now();
    let batch = db.store.recon_facts(&fc, &ReconScope::All).await.unwrap();
    let items = recon::classify(&batch.facts, d(20));
    let changed = db.store.save_recon(&fc, &batch, &items, now).await.unwrap();
    assert_eq!(changed.len(), 2);
    let classes: Vec<Class> = items.iter().map(|i| i.class).collect();
    assert_eq!(classes, [Class::TransferUnmatched, Class::Reconciled]);
    assert_eq!(
        db.store
            .last_recon(&fc)
            .await
            .unwrap()
            .map(|t| t.timestamp_millis()),
        Some(now.timestamp_millis())
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM recon_queue").await, 0);
    let effects = db.store.pending_effects(&fc, 10).await.unwrap();
    assert_eq!(effects.len(), 1);
    db.store
        .effects_done(&fc, &[effects[0].key.clone()])
        .await
        .unwrap();
    assert!(db.store.pending_effects(&fc, 10).await.unwrap().is_empty());
    assert_eq!(
        db.store.open_anomalies().await.unwrap(),
        vec![(Class::TransferUnmatched, 1)]
    );
    let days = db.store.day_summary(&fc, d(1), d(3)).await.unwrap();
    let day1 = days.iter().find(|x| x.date == d(1)).unwrap();
    assert_eq!(
        (day1.expected, day1.reported, day1.reconciled),
        (100, 100, 100)
    );
    let day2 = days.iter().find(|x| x.date == d(2)).unwrap();
    assert_eq!(day2.credited, 170);

    // Nothing new: the incremental scope is empty and saving changes nothing.
    let scope = ReconScope::Changed {
        receipts_since: now + chrono::Duration::seconds(1),
        today: d(20),
    };
    let batch = db.store.recon_facts(&fc, &scope).await.unwrap();
    assert!(batch.facts.receipts.is_empty() && batch.facts.movements.is_empty());
    let items = recon::classify(&batch.facts, d(20));
    assert!(items.is_empty());
    assert!(
        db.store
            .save_recon(&fc, &batch, &items, now)
            .await
            .unwrap()
            .is_empty()
    );

    // The flow the stray movement named arrives: the movement leaves its own item.
    db.store
        .ingest_statement(
            &statement("s2", "G2"),
            &[movement("G2/1", 40, MovementRef::Flow("F2".into()))],
        )
        .await
        .unwrap();
    let batch = db.store.recon_facts(&fc, &scope).await.unwrap();
    let items = recon::classify(&batch.facts, d(20));
    db.store.save_recon(&fc, &batch, &items, now).await.unwrap();
    assert!(db.store.get_item(&fc, "m:G2/1").await.unwrap().is_some());
    let l2 = [("21", 40)];
    db.store
        .ingest_flow(&flow("f2", "F2", 1, &l2), &lines(&l2))
        .await
        .unwrap();
    let batch = db.store.recon_facts(&fc, &scope).await.unwrap();
    let items = recon::classify(&batch.facts, d(20));
    db.store.save_recon(&fc, &batch, &items, now).await.unwrap();
    assert!(db.store.get_item(&fc, "m:G2/1").await.unwrap().is_none());
    let line_only = db.store.get_item(&fc, "p:21:1").await.unwrap().unwrap();
    assert_eq!(line_only.item.class, Class::ReportedNotPaid);
    db.done().await;
}

async fn a_stale_run_cannot_overwrite_a_newer_one(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    db.store
        .record_receipt(&receipt("11", 100), None)
        .await
        .unwrap();
    let stale = db.store.recon_facts(&fc, &ReconScope::All).await.unwrap();
    let fresh = db.store.recon_facts(&fc, &ReconScope::All).await.unwrap();
    let items = recon::classify(&fresh.facts, d(20));
    db.store
        .save_recon(&fc, &fresh, &items, Utc::now())
        .await
        .unwrap();
    let items = recon::classify(&stale.facts, d(20));
    let err = db
        .store
        .save_recon(&fc, &stale, &items, Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    db.done().await;
}

async fn items_are_listed_by_date_with_cursors_and_totals(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    for i in 0..7 {
        let mut r = receipt(&format!("1{i}"), 100 + i);
        r.payment_date = Some(
            Utc.with_ymd_and_hms(2026, 3, 1 + (i as u32 % 3), 9, 0, 0)
                .unwrap(),
        );
        db.store.record_receipt(&r, None).await.unwrap();
    }
    let batch = db.store.recon_facts(&fc, &ReconScope::All).await.unwrap();
    let items = recon::classify(&batch.facts, d(20));
    db.store
        .save_recon(&fc, &batch, &items, Utc::now())
        .await
        .unwrap();
    let all = ItemFilter {
        include_closed: true,
        ..ItemFilter::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = db
            .store
            .list_items(&fc, &all, cursor.as_ref(), 3)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|i| (i.item.date, i.item.key.clone()));
        seen.extend(page.into_iter().map(|i| (i.item.date, i.item.key)));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 7);
    let totals = db.store.item_totals(&fc, &all).await.unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].class, Class::PaidNotReported);
    assert_eq!((totals[0].count, totals[0].amount), (7, 7 * 100 + 21));
    let from = ItemFilter {
        from: Some(d(2)),
        to: Some(d(2)),
        include_closed: true,
        ..ItemFilter::default()
    };
    assert_eq!(
        db.store
            .list_items(&fc, &from, None, 50)
            .await
            .unwrap()
            .len(),
        2
    );

    // A note and a closing, audited; an open-only filter then hides the item.
    let closed = db
        .store
        .annotate_item(
            &fc,
            "p:10:1",
            Some("chiesto al PSP"),
            Some(true),
            &audit("x"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.note.as_deref(), Some("chiesto al PSP"));
    assert!(closed.closed_at.is_some());
    let open = ItemFilter::default();
    assert_eq!(
        db.store
            .list_items(&fc, &open, None, 50)
            .await
            .unwrap()
            .len(),
        6
    );
    let note_only = db
        .store
        .annotate_item(&fc, "p:10:1", Some("altro"), None, &audit("x"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        note_only.closed_at.is_some(),
        "a note alone keeps it closed"
    );
    assert!(
        db.store
            .annotate_item(&fc, "p:nope:1", Some("x"), None, &audit("x"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.store.open_anomalies().await.unwrap(),
        vec![(Class::PaidNotReported, 6)]
    );
    db.done().await;
}
