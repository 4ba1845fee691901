//! Contract of the payments `Stations` and `Receipts` ports, on SQLite and PostgreSQL.
//!
//! | method                | test(s)                                                              |
//! |-----------------------|----------------------------------------------------------------------|
//! | `set_station`         | `stations_are_assigned_replaced_and_audited`, `a_station_needs_a_payments_profile` |
//! | `stations`            | `stations_are_assigned_replaced_and_audited`                         |
//! | `record_receipt`      | `a_receipt_and_its_payment_commit_together`, `a_repeated_receipt_writes_nothing`, `a_stale_payment_stores_no_receipt` |
//! | `record_receipts`     | `a_group_of_receipts_fails_only_its_bad_members`                     |
//! | `receipt`             | `a_receipt_and_its_payment_commit_together`                          |
//! | `receipts_of_iuv`     | `receipts_are_listed_by_iuv_time_and_citizen`                        |
//! | `list_receipts`       | `receipts_are_listed_by_iuv_time_and_citizen`                        |
//! | `receipts_of_citizen` | `receipts_are_listed_by_iuv_time_and_citizen`, `unlinking_a_citizen_hides_their_receipts` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Duration;
use kernel::jobs::JobKind;
use kernel::ports::StoreError;
use messaging::ports::prelude::*;
use payments::ports::prelude::*;
use payments::ports::{ReceiptEffect, ReceiptOutcome, ReceiptWrite, Station, StoredReceipt};
use support::*;

both!(
    stations_are_assigned_replaced_and_audited,
    a_station_needs_a_payments_profile,
    a_receipt_and_its_payment_commit_together,
    a_repeated_receipt_writes_nothing,
    a_stale_payment_stores_no_receipt,
    receipts_are_listed_by_iuv_time_and_citizen,
    unlinking_a_citizen_hides_their_receipts,
    a_group_of_receipts_fails_only_its_bad_members,
);

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

fn station(n: u8) -> Station {
    Station {
        broker_id: "80007580279".into(),
        station_id: format!("80007580279_0{n}"),
    }
}

fn stored(id: &str, iuv: &str, at: chrono::DateTime<chrono::Utc>) -> StoredReceipt {
    StoredReceipt {
        organization: org().fiscal_code,
        receipt_id: id.into(),
        issuer: org().fiscal_code.as_str().into(),
        notice_number: format!("3{iuv}"),
        iuv: iuv.into(),
        position_id: None,
        effect: ReceiptEffect::Beneficiary,
        amount: 10_000,
        own_amount: 7_000,
        psp_id: "BCITITMM".into(),
        channel_id: "00799960158_01".into(),
        fee: Some(150),
        payment_method: Some("CP".into()),
        payment_date: Some(at),
        received_at: at,
        v2: true,
        citizen: Some(FC.into()),
        transfers: vec![payments::recon::ReceiptLine {
            index: 1,
            amount: 7_000,
            beneficiary: org().fiscal_code.as_str().into(),
            iban: Some("IT60X0542811101000000123456".into()),
            metadata: vec![("capitolo".into(), "1234".into())],
        }],
        key_id: "k1".into(),
        sealed: vec![1, 2, 3, 0, 255],
    }
}

async fn stations_are_assigned_replaced_and_audited(b: Backend) {
    let db = enabled(b).await;
    let fc = org().fiscal_code;
    assert!(db.store.stations().await.unwrap().is_empty());
    db.store
        .set_station(&fc, &station(1), &audit("payments.station"))
        .await
        .unwrap();
    assert_eq!(
        db.store.stations().await.unwrap(),
        vec![(fc.clone(), station(1))]
    );
    db.store
        .set_station(&fc, &station(2), &audit("payments.station"))
        .await
        .unwrap();
    assert_eq!(db.store.stations().await.unwrap(), vec![(fc, station(2))]);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'payments.station'"
        )
        .await,
        2
    );
    db.done().await;
}

async fn a_station_needs_a_payments_profile(b: Backend) {
    let db = Db::new(b).await;
    db.store.create_organization(&org()).await.unwrap();
    match db
        .store
        .set_station(&org().fiscal_code, &station(1), &audit("payments.station"))
        .await
    {
        Err(StoreError::NotFound(what)) => assert_eq!(what, "payments profile"),
        other => panic!("{other:?}"),
    }
    assert!(db.store.stations().await.unwrap().is_empty());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, 0);
    db.done().await;
}

/// The receipt that pays a position: the row, the position's new version, its history and
/// its job are all there after one call.
async fn a_receipt_and_its_payment_commit_together(b: Backend) {
    let db = enabled(b).await;
    let p = position("R-1", &[11]);
    db.store
        .create_positions(&[pwrite(p.clone())])
        .await
        .unwrap();
    let mut w = pupdate(p.clone());
    w.jobs.push(payments::ports::PositionJob {
        kind: JobKind::OptionPaid,
        subject_id: format!("{}:0", p.id),
        due_at: now_ms(),
    });
    let mut r = stored("rt-1", &p.options[0].iuv, now_ms());
    r.effect = ReceiptEffect::Applied;
    r.position_id = Some(p.id);
    assert_eq!(
        db.store.record_receipt(&r, Some((&w, 0))).await.unwrap(),
        ReceiptOutcome::Stored
    );
    assert_eq!(
        db.store.receipt(&org().fiscal_code, "rt-1").await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(db.store.receipt(&ofc(1), "rt-1").await.unwrap(), None);
    let saved = db.store.get_position_by_id(&p.id).await.unwrap().unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(
        job_of(&db, JobKind::OptionPaid, &format!("{}:0", p.id))
            .await
            .attempts,
        0
    );
    db.done().await;
}

async fn a_repeated_receipt_writes_nothing(b: Backend) {
    let db = enabled(b).await;
    let p = position("R-2", &[12]);
    db.store
        .create_positions(&[pwrite(p.clone())])
        .await
        .unwrap();
    let r = stored("rt-2", &p.options[0].iuv, now_ms());
    assert_eq!(
        db.store.record_receipt(&r, None).await.unwrap(),
        ReceiptOutcome::Stored
    );
    // The same id again, even carrying a payment: nothing is written.
    let mut again = r.clone();
    again.amount = 1;
    let w = pupdate(p.clone());
    assert_eq!(
        db.store
            .record_receipt(&again, Some((&w, 0)))
            .await
            .unwrap(),
        ReceiptOutcome::Duplicate
    );
    assert_eq!(
        db.store.receipt(&org().fiscal_code, "rt-2").await.unwrap(),
        Some(r)
    );
    assert_eq!(
        db.store
            .get_position_by_id(&p.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        0
    );
    db.done().await;
}

/// A payment of a position that changed meanwhile is a conflict, and the receipt is not kept
/// without it.
async fn a_stale_payment_stores_no_receipt(b: Backend) {
    let db = enabled(b).await;
    let p = position("R-3", &[13]);
    db.store
        .create_positions(&[pwrite(p.clone())])
        .await
        .unwrap();
    db.store
        .save_position(&pupdate(p.clone()), 0, None)
        .await
        .unwrap();
    let r = stored("rt-3", &p.options[0].iuv, now_ms());
    match db
        .store
        .record_receipt(&r, Some((&pupdate(p.clone()), 0)))
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("changed meanwhile"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        db.store.receipt(&org().fiscal_code, "rt-3").await.unwrap(),
        None
    );
    db.done().await;
}

async fn receipts_are_listed_by_iuv_time_and_citizen(b: Backend) {
    let db = enabled(b).await;
    let t0 = now_ms() - Duration::days(3);
    for (i, (id, iuv)) in [("a", "IUV1"), ("b", "IUV2"), ("c", "IUV1")]
        .iter()
        .enumerate()
    {
        let mut r = stored(id, iuv, t0 + Duration::days(i as i64));
        if *id == "b" {
            r.citizen = None;
        }
        db.store.record_receipt(&r, None).await.unwrap();
    }
    let by_iuv: Vec<String> = db
        .store
        .receipts_of_iuv(&org().fiscal_code, "IUV1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.receipt_id)
        .collect();
    assert_eq!(by_iuv, vec!["a", "c"]);
    let (page, total) = db
        .store
        .list_receipts(&org().fiscal_code, None, None, 0, 2)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        page.iter()
            .map(|r| r.receipt_id.as_str())
            .collect::<Vec<_>>(),
        vec!["c", "b"]
    );
    let (page, total) = db
        .store
        .list_receipts(&org().fiscal_code, None, None, 1, 2)
        .await
        .unwrap();
    assert_eq!((total, page.len()), (3, 1));
    assert_eq!(page[0].receipt_id, "a");
    // [t0 + 1 day, t0 + 2 days): only b.
    let (page, total) = db
        .store
        .list_receipts(
            &org().fiscal_code,
            Some(t0 + Duration::days(1)),
            Some(t0 + Duration::days(2)),
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(page[0].receipt_id, "b");
    let (none, total) = db
        .store
        .list_receipts(&ofc(1), None, None, 0, 10)
        .await
        .unwrap();
    assert!(none.is_empty() && total == 0);
    let mine: Vec<String> = db
        .store
        .receipts_of_citizen(&fc(FC))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.receipt_id)
        .collect();
    assert_eq!(mine, vec!["c", "a"]);
    db.done().await;
}

async fn unlinking_a_citizen_hides_their_receipts(b: Backend) {
    let db = enabled(b).await;
    db.store
        .record_receipt(&stored("u", "IUV9", now_ms()), None)
        .await
        .unwrap();
    assert_eq!(
        db.store.receipts_of_citizen(&fc(FC)).await.unwrap().len(),
        1
    );
    db.store.unlink_citizen(&fc(FC)).await.unwrap();
    assert!(
        db.store
            .receipts_of_citizen(&fc(FC))
            .await
            .unwrap()
            .is_empty()
    );
    // The ente keeps the receipt.
    let kept = db
        .store
        .receipt(&org().fiscal_code, "u")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.citizen, None);
    db.done().await;
}

/// One transaction for the group, one savepoint per receipt: a duplicate and a stale payment
/// in the middle fail alone; the others (with their payments) are written.
async fn a_group_of_receipts_fails_only_its_bad_members(b: Backend) {
    let db = enabled(b).await;
    let p1 = position("G-1", &[21]);
    let p2 = position("G-2", &[22]);
    db.store
        .create_positions(&[pwrite(p1.clone()), pwrite(p2.clone())])
        .await
        .unwrap();
    // p2 moved on: a payment prepared at version 0 is stale.
    db.store
        .save_position(&pupdate(p2.clone()), 0, None)
        .await
        .unwrap();
    db.store
        .record_receipt(&stored("g-dup", "IUVX", now_ms()), None)
        .await
        .unwrap();
    let mut paying = stored("g-1", &p1.options[0].iuv, now_ms());
    paying.effect = ReceiptEffect::Applied;
    let writes = vec![
        ReceiptWrite {
            receipt: paying,
            effect: Some((pupdate(p1.clone()), 0)),
        },
        ReceiptWrite {
            receipt: stored("g-dup", "IUVX", now_ms()),
            effect: None,
        },
        ReceiptWrite {
            receipt: stored("g-stale", &p2.options[0].iuv, now_ms()),
            effect: Some((pupdate(p2.clone()), 0)),
        },
        ReceiptWrite {
            receipt: stored("g-4", "IUVY", now_ms()),
            effect: None,
        },
    ];
    let out = db.store.record_receipts(&writes).await.unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].as_ref().unwrap(), &ReceiptOutcome::Stored);
    assert_eq!(out[1].as_ref().unwrap(), &ReceiptOutcome::Duplicate);
    assert!(
        matches!(&out[2], Err(StoreError::Conflict(m)) if m.contains("changed meanwhile")),
        "{:?}",
        out[2]
    );
    assert_eq!(out[3].as_ref().unwrap(), &ReceiptOutcome::Stored);
    let fc = org().fiscal_code;
    assert!(db.store.receipt(&fc, "g-1").await.unwrap().is_some());
    assert!(db.store.receipt(&fc, "g-stale").await.unwrap().is_none());
    assert!(db.store.receipt(&fc, "g-4").await.unwrap().is_some());
    assert_eq!(
        db.store
            .get_position_by_id(&p1.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        db.store
            .get_position_by_id(&p2.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    db.done().await;
}
