//! Contract of the payments `Positions` port, on SQLite and PostgreSQL.
//!
//! | method                 | test(s)                                                          |
//! |------------------------|------------------------------------------------------------------|
//! | `allocate_iuv_bases`   | `iuv_bases_are_reserved_in_consecutive_blocks`, `concurrent::nodes_allocating_iuv_bases_never_get_the_same_one` |
//! | `create_positions`     | `created_positions_read_back_equal`, `a_duplicate_leaves_out_that_write_only`, `concurrent::nodes_creating_the_same_positions_create_each_once`, `jobs_written_with_positions_are_claimable` |
//! | `get_position`         | `created_positions_read_back_equal`, `a_corrupt_stored_position_is_a_backend_error` |
//! | `get_position_by_id`   | `created_positions_read_back_equal`, `a_stale_save_conflicts_and_changes_nothing` |
//! | `position_by_notice`   | `created_positions_read_back_equal`, `a_save_rewrites_the_notices_and_a_clash_changes_nothing` |
//! | `save_position`        | `a_stale_save_conflicts_and_changes_nothing`, `a_save_rewrites_the_notices_and_a_clash_changes_nothing`, `a_reissue_is_saved_with_its_position_or_not_at_all`, `jobs_written_with_positions_are_claimable` |
//! | `delete_position`      | `deleting_a_position_keeps_its_history_and_frees_its_notices`    |
//! | `list_positions`       | `lists_filter_order_and_page`                                    |
//! | `position_history`     | `history_is_oldest_first`, `deleting_a_position_keeps_its_history_and_frees_its_notices` |
//! | `positions_with_iban`  | `iban_search_finds_only_updatable_positions_paying_it`           |
//! | `positions_of_citizen` | `citizen_positions_are_newest_first_and_unlinking_drops_them`    |
//! | `unlink_citizen`       | `citizen_positions_are_newest_first_and_unlinking_drops_them`    |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Duration;
use kernel::jobs::JobKind;
use kernel::ports::StoreError;
use messaging::ports::prelude::*;
use payments::PositionStatus;
use payments::ports::prelude::*;
use payments::ports::{CreateOutcome, ListFilter, OrderBy, PositionJob};
use payments::values::SegregationCode;
use support::*;

both!(
    iuv_bases_are_reserved_in_consecutive_blocks,
    created_positions_read_back_equal,
    a_duplicate_leaves_out_that_write_only,
    a_stale_save_conflicts_and_changes_nothing,
    a_save_rewrites_the_notices_and_a_clash_changes_nothing,
    a_reissue_is_saved_with_its_position_or_not_at_all,
    deleting_a_position_keeps_its_history_and_frees_its_notices,
    lists_filter_order_and_page,
    history_is_oldest_first,
    iban_search_finds_only_updatable_positions_paying_it,
    citizen_positions_are_newest_first_and_unlinking_drops_them,
    jobs_written_with_positions_are_claimable,
    a_corrupt_stored_position_is_a_backend_error,
);

async fn rows_of(db: &Db, table: &str) -> i64 {
    count(db, &format!("SELECT COUNT(*) FROM {table}")).await
}

async fn iuv_bases_are_reserved_in_consecutive_blocks(b: Backend) {
    let db = Db::new(b).await;
    assert_eq!(db.store.allocate_iuv_bases(10).await.unwrap(), 1);
    assert_eq!(db.store.allocate_iuv_bases(1).await.unwrap(), 11);
    assert_eq!(db.store.allocate_iuv_bases(5).await.unwrap(), 12);
    // A block that would reach base 10^13 is refused and reserves nothing.
    assert!(matches!(
        db.store.allocate_iuv_bases(10_000_000_000_000 - 16).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        db.store.allocate_iuv_bases(u64::MAX).await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(db.store.allocate_iuv_bases(1).await.unwrap(), 17);
    // The last block ends exactly at 10^13 - 1; then nothing is left.
    let last = db
        .store
        .allocate_iuv_bases(10_000_000_000_000 - 18)
        .await
        .unwrap();
    assert_eq!(last, 18);
    assert!(matches!(
        db.store.allocate_iuv_bases(1).await,
        Err(StoreError::Backend(_))
    ));
    db.done().await;
}

async fn created_positions_read_back_equal(b: Backend) {
    let db = Db::new(b).await;
    let a = position("A-1", &[1, 2]);
    let c = position("C-1", &[3]);
    let out = db
        .store
        .create_positions(&[pwrite(a.clone()), pwrite(c.clone())])
        .await
        .unwrap();
    assert_eq!(out, vec![CreateOutcome::Created, CreateOutcome::Created]);
    let o = &org().fiscal_code;
    assert_eq!(
        db.store.get_position(o, &iupd("A-1")).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        db.store.get_position_by_id(&c.id).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(db.store.get_position(o, &iupd("B-1")).await.unwrap(), None);
    assert_eq!(
        db.store.get_position(&ofc(1), &iupd("A-1")).await.unwrap(),
        None
    );
    // By either the IUV or the notice number of any option, in this ente only.
    let second = &a.options[1];
    for key in [second.iuv.as_str(), second.nav.as_str()] {
        assert_eq!(
            db.store.position_by_notice(o, key).await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(
            db.store.position_by_notice(&ofc(1), key).await.unwrap(),
            None
        );
    }
    assert_eq!(
        db.store
            .position_by_notice(o, c.options[0].nav.as_str())
            .await
            .unwrap()
            .map(|p| p.id),
        Some(c.id)
    );
    assert_eq!(
        db.store
            .position_by_notice(o, "301000000000099999")
            .await
            .unwrap(),
        None
    );
    assert_eq!(rows_of(&db, "payment_notices").await, 3);
    assert_eq!(rows_of(&db, "payment_history").await, 2);
    assert_eq!(db.store.create_positions(&[]).await.unwrap(), vec![]);
    db.done().await;
}

async fn a_duplicate_leaves_out_that_write_only(b: Backend) {
    let db = Db::new(b).await;
    let o = org().fiscal_code;
    db.store
        .create_positions(&[pwrite(position("A", &[1]))])
        .await
        .unwrap();
    let mut nav_of_stored = position("D", &[2]);
    // Its second option takes the stored position's notice number (and IUV).
    nav_of_stored
        .options
        .push(position("x", &[1]).options.remove(0));
    let mut repeats_itself = position("F", &[7]);
    repeats_itself
        .options
        .push(repeats_itself.options[0].clone());
    let group = [
        position("A", &[3]),             // the stored IUPD
        nav_of_stored.clone(),           // the stored notice
        position("B", &[4]),             // created
        position("C", &[4]),             // B's notice, earlier in the group
        position("B", &[5]),             // B's IUPD, earlier in the group
        repeats_itself.clone(),          // one notice twice
        position_of(&ofc(1), "A", &[1]), // another ente: its own IUPDs and notices
        position("E", &[6]),             // created
    ];
    let writes: Vec<_> = group.iter().cloned().map(pwrite).collect();
    let out = db.store.create_positions(&writes).await.unwrap();
    use CreateOutcome::*;
    assert_eq!(
        out,
        vec![
            DuplicateIupd,
            DuplicateNotice,
            Created,
            DuplicateNotice,
            DuplicateIupd,
            DuplicateNotice,
            Created,
            Created
        ]
    );
    for (p, outcome) in group.iter().zip(&out) {
        let stored = db.store.get_position_by_id(&p.id).await.unwrap();
        assert_eq!(stored.as_ref(), (*outcome == Created).then_some(p));
    }
    // The stored A is unchanged; nothing of the refused writes went in.
    assert_eq!(
        db.store
            .get_position(&o, &iupd("A"))
            .await
            .unwrap()
            .unwrap()
            .options[0]
            .nav,
        position("x", &[1]).options[0].nav
    );
    assert_eq!(rows_of(&db, "payment_positions").await, 4);
    assert_eq!(rows_of(&db, "payment_notices").await, 4);
    assert_eq!(rows_of(&db, "payment_history").await, 4);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'position_tick'"
        )
        .await,
        4
    );
    for p in [
        &nav_of_stored,
        &repeats_itself,
        &group[0],
        &group[3],
        &group[4],
    ] {
        assert!(db.store.position_history(&p.id).await.unwrap().is_empty());
    }
    db.done().await;
}

async fn a_stale_save_conflicts_and_changes_nothing(b: Backend) {
    let db = Db::new(b).await;
    let p = position("A", &[1]);
    db.store
        .create_positions(&[pwrite(p.clone())])
        .await
        .unwrap();
    let mut first = pupdate(p.clone());
    first.position.company_name = "Comune di Varese (tributi)".into();
    db.store.save_position(&first, 0, None).await.unwrap();
    assert_eq!(
        db.store.get_position_by_id(&p.id).await.unwrap(),
        Some(first.position.clone())
    );
    // A second writer that read version 0 too.
    let mut stale = pupdate(p.clone());
    stale.position.status = PositionStatus::Invalid;
    stale.jobs.push(PositionJob {
        kind: JobKind::PositionTick,
        subject_id: p.id.to_string(),
        due_at: now_ms(),
    });
    match db.store.save_position(&stale, 0, None).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("changed meanwhile"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        db.store.get_position_by_id(&p.id).await.unwrap(),
        Some(first.position.clone())
    );
    assert_eq!(db.store.position_history(&p.id).await.unwrap().len(), 2);
    assert_eq!(rows_of(&db, "jobs").await, 1);
    // An organization or IUPD that changed is refused too.
    let mut moved = pupdate(first.position.clone());
    moved.position.iupd = iupd("A2");
    assert!(matches!(
        db.store.save_position(&moved, 1, None).await,
        Err(StoreError::Conflict(_))
    ));
    // A position that does not exist.
    let ghost = pupdate(position("G", &[9]));
    assert!(matches!(
        db.store.save_position(&ghost, 0, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(rows_of(&db, "payment_positions").await, 1);
    assert_eq!(rows_of(&db, "payment_notices").await, 1);
    db.done().await;
}

async fn a_save_rewrites_the_notices_and_a_clash_changes_nothing(b: Backend) {
    let db = Db::new(b).await;
    let o = org().fiscal_code;
    let a = position("A", &[1, 2]);
    let other = position("B", &[3]);
    db.store
        .create_positions(&[pwrite(a.clone()), pwrite(other.clone())])
        .await
        .unwrap();
    // Option 2 is replaced by one with base 4: its old notice is free, the new one found.
    let mut w = pupdate(a.clone());
    w.position.options[1] = position("x", &[4]).options.remove(0);
    db.store.save_position(&w, 0, None).await.unwrap();
    assert_eq!(
        db.store
            .position_by_notice(&o, &a.options[1].iuv)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.store
            .position_by_notice(&o, w.position.options[1].nav.as_str())
            .await
            .unwrap(),
        Some(w.position.clone())
    );
    assert_eq!(rows_of(&db, "payment_notices").await, 3);
    // Taking B's notice: a conflict, nothing written.
    let mut clash = pupdate(w.position.clone());
    clash.position.options.push(other.options[0].clone());
    clash.position.status = PositionStatus::Published;
    match db.store.save_position(&clash, 1, None).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("notice"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        db.store.get_position_by_id(&a.id).await.unwrap(),
        Some(w.position.clone())
    );
    assert_eq!(
        db.store
            .position_by_notice(&o, other.options[0].nav.as_str())
            .await
            .unwrap(),
        Some(other.clone())
    );
    assert_eq!(
        db.store
            .position_by_notice(&o, w.position.options[0].nav.as_str())
            .await
            .unwrap()
            .map(|p| p.id),
        Some(a.id)
    );
    assert_eq!(rows_of(&db, "payment_notices").await, 3);
    assert_eq!(db.store.position_history(&a.id).await.unwrap().len(), 2);
    // Repeating one of its own notices is a clash too.
    let mut twice = pupdate(w.position.clone());
    twice
        .position
        .options
        .push(twice.position.options[0].clone());
    assert!(matches!(
        db.store.save_position(&twice, 1, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(rows_of(&db, "payment_notices").await, 3);
    db.done().await;
}

async fn a_reissue_is_saved_with_its_position_or_not_at_all(b: Backend) {
    let db = Db::new(b).await;
    let o = org().fiscal_code;
    let old = position("OLD", &[1]);
    let taken = position("TAKEN", &[2]);
    db.store
        .create_positions(&[pwrite(old.clone()), pwrite(taken.clone())])
        .await
        .unwrap();
    let mut expired = pupdate(old.clone());
    expired.position.status = PositionStatus::Expired;
    expired.position.reissued_as = Some(iupd("TAKEN"));
    let mut reissue = position("TAKEN", &[3]);
    reissue.reissue_of = Some(iupd("OLD"));
    // The reissue's IUPD is taken: nothing of either is written.
    match db
        .store
        .save_position(&expired, 0, Some(&pwrite(reissue.clone())))
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("IUPD"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Its notice is taken: the same.
    let mut reissue = position("NEW", &[2]);
    reissue.reissue_of = Some(iupd("OLD"));
    match db
        .store
        .save_position(&expired, 0, Some(&pwrite(reissue.clone())))
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("notice"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        db.store.get_position_by_id(&old.id).await.unwrap(),
        Some(old.clone())
    );
    assert_eq!(db.store.get_position(&o, &iupd("NEW")).await.unwrap(), None);
    assert_eq!(rows_of(&db, "payment_positions").await, 2);
    assert_eq!(rows_of(&db, "payment_history").await, 2);
    assert_eq!(rows_of(&db, "jobs").await, 2);
    // A free IUPD and notice: both written, with the reissue's history and job.
    let mut reissue = position("NEW", &[4]);
    reissue.reissue_of = Some(iupd("OLD"));
    expired.position.reissued_as = Some(iupd("NEW"));
    db.store
        .save_position(&expired, 0, Some(&pwrite(reissue.clone())))
        .await
        .unwrap();
    assert_eq!(
        db.store.get_position_by_id(&old.id).await.unwrap(),
        Some(expired.position.clone())
    );
    assert_eq!(
        db.store.get_position(&o, &iupd("NEW")).await.unwrap(),
        Some(reissue.clone())
    );
    assert_eq!(
        db.store.position_history(&reissue.id).await.unwrap().len(),
        1
    );
    assert_eq!(rows_of(&db, "jobs").await, 3);
    db.done().await;
}

async fn deleting_a_position_keeps_its_history_and_frees_its_notices(b: Backend) {
    let db = Db::new(b).await;
    let o = org().fiscal_code;
    let p = position("A", &[1]);
    db.store
        .create_positions(&[pwrite(p.clone())])
        .await
        .unwrap();
    let mut deleted = pevent("deleted", 1);
    deleted.status = PositionStatus::Invalid;
    assert!(matches!(
        db.store.delete_position(&p.id, 5, &deleted).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(db.store.get_position_by_id(&p.id).await.unwrap().is_some());
    assert_eq!(db.store.position_history(&p.id).await.unwrap().len(), 1);
    db.store.delete_position(&p.id, 0, &deleted).await.unwrap();
    assert_eq!(db.store.get_position_by_id(&p.id).await.unwrap(), None);
    assert_eq!(
        db.store
            .position_by_notice(&o, p.options[0].nav.as_str())
            .await
            .unwrap(),
        None
    );
    assert_eq!(rows_of(&db, "payment_notices").await, 0);
    let history = db.store.position_history(&p.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0],
        pwrite(p.clone()).event[0].clone().with_at(history[0].at)
    );
    assert_eq!(history[1], deleted);
    assert!(matches!(
        db.store.delete_position(&p.id, 0, &deleted).await,
        Err(StoreError::NotFound(_))
    ));
    // Its IUPD and notice may be used again.
    let again = position("A", &[1]);
    assert_eq!(
        db.store.create_positions(&[pwrite(again)]).await.unwrap(),
        vec![CreateOutcome::Created]
    );
    db.done().await;
}

/// Test helper: an event with another instant (fixtures take `now` each).
trait WithAt {
    fn with_at(self, at: chrono::DateTime<chrono::Utc>) -> Self;
}
impl WithAt for payments::model::PositionEvent {
    fn with_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.at = at;
        self
    }
}

async fn lists_filter_order_and_page(b: Backend) {
    let db = Db::new(b).await;
    let o = org().fiscal_code;
    let t0 = now_ms();
    let day = Duration::days(1);
    // Five positions inserted a second apart, due on day i+1, i+11 (two options for the odd
    // ones); company names in reverse order.
    let mut all = Vec::new();
    for i in 0..5_i64 {
        let mut p = position(&format!("P{i}"), &[10 + i as u64]);
        p.inserted_date = t0 + Duration::seconds(i);
        // Ids in insertion order, so that ties (by id) are in it too.
        p.id = payments::PositionId::new_at(t0 + Duration::seconds(i));
        p.company_name = format!("Ente {}", 5 - i);
        p.options[0].due_date = t0 + day * (i as i32 + 1);
        if i % 2 == 1 {
            let mut second = pay_option(&o, 2, 100 + i as u64, t0 + day * (i as i32 + 11), IBAN);
            second.plan_id = Some("plan".into());
            p.options.push(second);
        }
        p.status = [
            PositionStatus::Valid,
            PositionStatus::Paid,
            PositionStatus::Draft,
            PositionStatus::Valid,
            PositionStatus::Expired,
        ][i as usize];
        if p.status == PositionStatus::Paid {
            p.payment_date = Some(t0 + day * 2);
        }
        all.push(p);
    }
    // Another ente's position is never listed.
    let foreign = position_of(&ofc(1), "P0", &[10]);
    let mut writes: Vec<_> = all.iter().cloned().map(pwrite).collect();
    writes.push(pwrite(foreign));
    db.store.create_positions(&writes).await.unwrap();
    let iupds = |page: &[payments::Position]| -> Vec<String> {
        page.iter().map(|p| p.iupd.as_str().to_owned()).collect()
    };
    let list = |f: ListFilter, page: i64, limit: i64| {
        let store = db.store.clone();
        let o = o.clone();
        async move { store.list_positions(&o, &f, page, limit).await.unwrap() }
    };
    // Everything, default order (insertion), paged.
    let (page, total) = list(ListFilter::default(), 0, 2).await;
    assert_eq!((iupds(&page), total), (vec!["P0".into(), "P1".into()], 5));
    assert_eq!(page[0], all[0]);
    let (page, total) = list(ListFilter::default(), 2, 2).await;
    assert_eq!((iupds(&page), total), (vec!["P4".into()], 5));
    let (page, _) = list(ListFilter::default(), 3, 2).await;
    assert!(page.is_empty());
    // Descending, and by each key.
    let f = ListFilter {
        descending: true,
        ..Default::default()
    };
    assert_eq!(
        iupds(&list(f, 0, 10).await.0),
        ["P4", "P3", "P2", "P1", "P0"]
    );
    let f = ListFilter {
        order_by: Some(OrderBy::CompanyName),
        ..Default::default()
    };
    assert_eq!(
        iupds(&list(f, 0, 10).await.0),
        ["P4", "P3", "P2", "P1", "P0"]
    );
    let f = ListFilter {
        order_by: Some(OrderBy::Iupd),
        descending: true,
        ..Default::default()
    };
    assert_eq!(
        iupds(&list(f, 0, 10).await.0),
        ["P4", "P3", "P2", "P1", "P0"]
    );
    // Status order: DRAFT, EXPIRED, PAID, VALID, VALID (ties by id: insertion).
    let f = ListFilter {
        order_by: Some(OrderBy::Status),
        ..Default::default()
    };
    assert_eq!(
        iupds(&list(f, 0, 10).await.0),
        ["P2", "P4", "P1", "P0", "P3"]
    );
    // Statuses.
    let f = ListFilter {
        statuses: vec![PositionStatus::Valid, PositionStatus::Draft],
        ..Default::default()
    };
    let (page, total) = list(f, 0, 10).await;
    assert_eq!(
        (iupds(&page), total),
        (vec!["P0".into(), "P2".into(), "P3".into()], 3)
    );
    // Due range: day 3 to day 4 takes P2 (day 3), P3 (day 4); P1 (day 2 and 12) spans it.
    let f = ListFilter {
        due_from: Some(t0 + day * 3),
        due_to: Some(t0 + day * 4),
        ..Default::default()
    };
    assert_eq!(iupds(&list(f, 0, 10).await.0), ["P1", "P2", "P3"]);
    let f = ListFilter {
        due_from: Some(t0 + day * 13),
        ..Default::default()
    };
    assert_eq!(iupds(&list(f, 0, 10).await.0), ["P3"]);
    let f = ListFilter {
        due_to: Some(t0 + day),
        ..Default::default()
    };
    assert_eq!(iupds(&list(f, 0, 10).await.0), ["P0"]);
    // Payment range.
    let f = ListFilter {
        paid_from: Some(t0 + day),
        paid_to: Some(t0 + day * 3),
        ..Default::default()
    };
    assert_eq!(iupds(&list(f, 0, 10).await.0), ["P1"]);
    let f = ListFilter {
        paid_from: Some(t0 + day * 3),
        ..Default::default()
    };
    assert_eq!(list(f, 0, 10).await.1, 0);
    // Segregation codes: 02 only on the odd ones; 01 or 02 is everyone.
    let seg = |c| SegregationCode::new(c).unwrap();
    let f = ListFilter {
        segregation_codes: vec![seg(2)],
        ..Default::default()
    };
    assert_eq!(iupds(&list(f, 0, 10).await.0), ["P1", "P3"]);
    let f = ListFilter {
        segregation_codes: vec![seg(2), seg(1)],
        ..Default::default()
    };
    assert_eq!(list(f, 0, 10).await.1, 5);
    let f = ListFilter {
        segregation_codes: vec![seg(3)],
        ..Default::default()
    };
    assert_eq!(list(f, 0, 10).await.1, 0);
    // Everything at once, with paging.
    let f = ListFilter {
        statuses: vec![PositionStatus::Valid, PositionStatus::Expired],
        segregation_codes: vec![seg(1)],
        due_from: Some(t0),
        due_to: Some(t0 + day * 30),
        order_by: Some(OrderBy::Iupd),
        descending: true,
        ..Default::default()
    };
    let (page, total) = list(f, 1, 2).await;
    assert_eq!((iupds(&page), total), (vec!["P0".into()], 3));
    db.done().await;
}

async fn history_is_oldest_first(b: Backend) {
    let db = Db::new(b).await;
    let p = position("A", &[1]);
    let mut w = pwrite(p.clone());
    w.event.push(pevent("published", 0));
    db.store.create_positions(&[w.clone()]).await.unwrap();
    let mut v1 = pupdate(p.clone());
    v1.event[0].status = PositionStatus::Published;
    v1.event[0].detail = None;
    db.store.save_position(&v1, 0, None).await.unwrap();
    let v2 = pupdate(v1.position.clone());
    db.store.save_position(&v2, 1, None).await.unwrap();
    let history = db.store.position_history(&p.id).await.unwrap();
    let expected: Vec<_> = w
        .event
        .iter()
        .chain(&v1.event)
        .chain(&v2.event)
        .cloned()
        .collect();
    assert_eq!(history, expected);
    assert!(
        db.store
            .position_history(&position("B", &[2]).id)
            .await
            .unwrap()
            .is_empty()
    );
    db.done().await;
}

async fn iban_search_finds_only_updatable_positions_paying_it(b: Backend) {
    let db = Db::new(b).await;
    let o = org().fiscal_code;
    let mut ps = Vec::new();
    for (i, status) in PositionStatus::ALL.into_iter().enumerate() {
        let mut p = position(&format!("S{i}"), &[i as u64 + 1]);
        p.status = status;
        p.inserted_date += Duration::seconds(i as i64);
        ps.push(p);
    }
    // One paying the other IBAN by its postal IBAN, one paying none.
    let mut postal = position("POSTAL", &[50]);
    postal.inserted_date += Duration::seconds(20);
    postal.options[0].transfers[0].destination = payments::model::Destination::Account {
        iban: None,
        postal_iban: Some(payments::values::Iban::parse(IBAN2).unwrap()),
    };
    let mut other = position("OTHER", &[51]);
    other.options[0].transfers[0].destination = payments::model::Destination::Account {
        iban: Some(payments::values::Iban::parse(IBAN2).unwrap()),
        postal_iban: None,
    };
    let foreign = position_of(&ofc(1), "F", &[52]);
    let mut writes: Vec<_> = ps.iter().cloned().map(pwrite).collect();
    writes.extend([
        pwrite(postal.clone()),
        pwrite(other.clone()),
        pwrite(foreign),
    ]);
    db.store.create_positions(&writes).await.unwrap();
    let found = db.store.positions_with_iban(&o, IBAN, 100).await.unwrap();
    let names: Vec<&str> = found.iter().map(|p| p.iupd.as_str()).collect();
    // DRAFT, PUBLISHED, VALID, EXPIRED; not INVALID, PARTIALLY_PAID, PAID, REPORTED.
    assert_eq!(names, ["S0", "S1", "S2", "S4"]);
    assert_eq!(found[0], ps[0]);
    assert_eq!(
        db.store
            .positions_with_iban(&o, IBAN, 2)
            .await
            .unwrap()
            .len(),
        2
    );
    let by_other: Vec<_> = db
        .store
        .positions_with_iban(&o, IBAN2, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(by_other, [other.id, postal.id]);
    // A part of an IBAN or a pattern matches nothing.
    assert!(
        db.store
            .positions_with_iban(&o, &IBAN[..20], 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.store
            .positions_with_iban(&o, "%", 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.store
            .positions_with_iban(&o, "IT60X0542811101000000123_56", 100)
            .await
            .unwrap()
            .is_empty()
    );
    db.done().await;
}

async fn citizen_positions_are_newest_first_and_unlinking_drops_them(b: Backend) {
    let db = Db::new(b).await;
    let t0 = now_ms();
    let mut mine = Vec::new();
    for i in 0..3_i64 {
        let mut p = position(&format!("M{i}"), &[i as u64 + 1]);
        p.inserted_date = t0 + Duration::seconds(i);
        mine.push(p);
    }
    let mut theirs = position("T", &[10]);
    theirs.debtor.code = payments::model::DebtorCode::Person(fc(FC2));
    let mut company = position("G", &[11]);
    company.debtor.code = payments::model::DebtorCode::Company(ofc(7));
    // Another ente's position owed by the same citizen.
    let mut foreign = position_of(&ofc(1), "M9", &[12]);
    foreign.inserted_date = t0 + Duration::seconds(10);
    let mut writes: Vec<_> = mine.iter().cloned().map(pwrite).collect();
    writes.extend([
        pwrite(theirs.clone()),
        pwrite(company.clone()),
        pwrite(foreign.clone()),
    ]);
    db.store.create_positions(&writes).await.unwrap();
    let ids = |v: Vec<payments::Position>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(db.store.positions_of_citizen(&fc(FC)).await.unwrap()),
        [foreign.id, mine[2].id, mine[1].id, mine[0].id]
    );
    assert_eq!(
        db.store.positions_of_citizen(&fc(FC2)).await.unwrap(),
        vec![theirs.clone()]
    );
    assert!(
        db.store
            .positions_of_citizen(&fc(FC3))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.store.unlink_citizen(&fc(FC)).await.unwrap(), 4);
    assert!(
        db.store
            .positions_of_citizen(&fc(FC))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store.positions_of_citizen(&fc(FC2)).await.unwrap().len(),
        1
    );
    // The ente's records stay, and a later save does not link them again.
    assert_eq!(
        db.store.get_position_by_id(&mine[0].id).await.unwrap(),
        Some(mine[0].clone())
    );
    db.store
        .save_position(&pupdate(mine[0].clone()), 0, None)
        .await
        .unwrap();
    assert!(
        db.store
            .positions_of_citizen(&fc(FC))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.store.unlink_citizen(&fc(FC)).await.unwrap(), 0);
    // A new position of theirs is linked.
    let later = position("M5", &[20]);
    db.store
        .create_positions(&[pwrite(later.clone())])
        .await
        .unwrap();
    assert_eq!(
        ids(db.store.positions_of_citizen(&fc(FC)).await.unwrap()),
        [later.id]
    );
    db.done().await;
}

async fn jobs_written_with_positions_are_claimable(b: Backend) {
    let db = Db::new(b).await;
    let p = position("A", &[1, 2]);
    let due = now_ms() + Duration::minutes(10);
    let mut w = pwrite(p.clone());
    w.jobs = vec![
        PositionJob {
            kind: JobKind::PreNotice,
            subject_id: format!("{}:0", p.id),
            due_at: due,
        },
        PositionJob {
            kind: JobKind::PositionTick,
            subject_id: p.id.to_string(),
            due_at: due + Duration::days(1),
        },
    ];
    db.store.create_positions(&[w]).await.unwrap();
    let kinds = [
        JobKind::PreNotice,
        JobKind::PositionTick,
        JobKind::OptionPaid,
    ];
    // Not due yet.
    let early = db
        .store
        .claim_jobs(&kinds, 10, due - Duration::seconds(1), 1000)
        .await;
    assert!(early.unwrap().is_empty());
    let claimed = db.store.claim_jobs(&kinds, 10, due, 1000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, JobKind::PreNotice);
    assert_eq!(claimed[0].subject_id, format!("{}:0", p.id));
    assert_eq!(claimed[0].attempts, 1);
    // A save queues its own.
    let mut s = pupdate(p.clone());
    s.jobs = vec![PositionJob {
        kind: JobKind::OptionPaid,
        subject_id: format!("{}:1", p.id),
        due_at: due,
    }];
    db.store.save_position(&s, 0, None).await.unwrap();
    let claimed = db
        .store
        .claim_jobs(&[JobKind::OptionPaid], 10, due, 1000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].subject_id, format!("{}:1", p.id));
    let tick = db
        .store
        .claim_jobs(&[JobKind::PositionTick], 10, due + Duration::days(1), 1000)
        .await
        .unwrap();
    assert_eq!(tick.len(), 1);
    assert_eq!(tick[0].subject_id, p.id.to_string());
    assert_eq!(rows_of(&db, "jobs").await, 3);
    db.done().await;
}

async fn a_corrupt_stored_position_is_a_backend_error(b: Backend) {
    let db = Db::new(b).await;
    let p = position("A", &[1]);
    db.store
        .create_positions(&[pwrite(p.clone())])
        .await
        .unwrap();
    store::raw::execute(
        &db.store,
        "UPDATE payment_positions SET doc = '{\"id\": \"not a position\"}'",
    )
    .await
    .unwrap();
    match db.store.get_position(&org().fiscal_code, &iupd("A")).await {
        Err(StoreError::Backend(m)) => {
            assert!(m.contains("payment_positions"), "{m}");
            assert!(!m.contains("not a position"), "{m}");
        }
        other => panic!("expected a corrupt-row error, got {other:?}"),
    }
    assert!(db.store.get_position_by_id(&p.id).await.is_err());
    assert!(
        db.store
            .list_positions(&org().fiscal_code, &ListFilter::default(), 0, 10)
            .await
            .is_err()
    );
    // A doc that parses but belongs to another row is corrupt too.
    let q = position("B", &[2]);
    db.store
        .create_positions(&[pwrite(q.clone())])
        .await
        .unwrap();
    store::raw::execute(
        &db.store,
        &format!(
            "UPDATE payment_positions SET version = 7 WHERE id = '{}'",
            q.id
        ),
    )
    .await
    .unwrap();
    assert!(matches!(
        db.store.get_position_by_id(&q.id).await,
        Err(StoreError::Backend(_))
    ));
    db.done().await;
}

/// Several nodes (stores of their own on one database) at once, on a multi-threaded runtime.
mod concurrent {
    use std::collections::BTreeSet;

    use super::*;

    macro_rules! both_mt {
        ($($name:ident),* $(,)?) => {
            mod sqlite { $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() { super::$name(super::Backend::Sqlite).await }
            )* }
            mod postgres { $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() { super::$name(super::Backend::Postgres).await }
            )* }
        };
    }

    both_mt!(
        nodes_allocating_iuv_bases_never_get_the_same_one,
        nodes_creating_the_same_positions_create_each_once,
    );

    const NODES: usize = 8;

    async fn nodes(db: &Db) -> Vec<store::SqlStore> {
        let mut out = Vec::new();
        for _ in 0..NODES {
            out.push(store::SqlStore::connect(&db.url, 2).await.unwrap());
        }
        out
    }

    async fn nodes_allocating_iuv_bases_never_get_the_same_one(b: Backend) {
        let db = Db::new(b).await;
        let stores = nodes(&db).await;
        let mut tasks = Vec::new();
        for (n, s) in stores.iter().cloned().enumerate() {
            tasks.push(tokio::spawn(async move {
                // A small xorshift per node: block sizes 1..=64.
                let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ (n as u64 + 1);
                let mut blocks = Vec::new();
                for _ in 0..100 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let size = x % 64 + 1;
                    let first = s.allocate_iuv_bases(size).await.unwrap();
                    blocks.push((first, size));
                }
                blocks
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all.len(), NODES * 100);
        assert_eq!(all[0].0, 1, "bases start at 1");
        for pair in all.windows(2) {
            let ((a, n), (b, _)) = (pair[0], pair[1]);
            // Consecutive: the blocks tile the range with neither overlap nor gap.
            assert_eq!(a + n, b, "blocks {pair:?} overlap or leave a gap");
        }
        let (last, n) = all[all.len() - 1];
        assert_eq!(
            db.store.allocate_iuv_bases(1).await.unwrap(),
            last + n,
            "the next block follows every one handed out"
        );
        for s in stores {
            s.close().await;
        }
        db.done().await;
    }

    async fn nodes_creating_the_same_positions_create_each_once(b: Backend) {
        let db = Db::new(b).await;
        let stores = nodes(&db).await;
        // 40 IUPDs; every node writes its own copy (its own ids) of all of them, in groups of
        // 10, half the nodes in reverse order; odd nodes use their own notices (IUPD clashes),
        // even nodes shared ones with a node-specific IUPD suffix (notice clashes).
        let mut tasks = Vec::new();
        for (n, s) in stores.iter().cloned().enumerate() {
            tasks.push(tokio::spawn(async move {
                let mut order: Vec<u64> = (0..40).collect();
                if n % 2 == 0 {
                    order.reverse();
                }
                let mut outcomes = Vec::new();
                for group in order.chunks(10) {
                    let writes: Vec<_> = group
                        .iter()
                        .map(|i| {
                            let p = if n % 2 == 1 {
                                position(&format!("P{i}"), &[1000 + i * 10 + n as u64])
                            } else {
                                position(&format!("Q{i}-{n}"), &[i + 1])
                            };
                            pwrite(p)
                        })
                        .collect();
                    let out = s.create_positions(&writes).await.unwrap();
                    outcomes.extend(
                        writes
                            .iter()
                            .map(|w| w.position.iupd.as_str().to_owned())
                            .zip(out),
                    );
                }
                (n, outcomes)
            }));
        }
        let mut created_iupds = BTreeSet::new();
        let mut created_notices = 0;
        for t in tasks {
            let (n, outcomes) = t.await.unwrap();
            for (iupd, o) in outcomes {
                match o {
                    CreateOutcome::Created => {
                        assert!(created_iupds.insert(iupd.clone()), "{iupd} created twice");
                        if n % 2 == 0 {
                            created_notices += 1;
                        }
                    }
                    CreateOutcome::DuplicateIupd => assert_eq!(n % 2, 1),
                    CreateOutcome::DuplicateNotice => assert_eq!(n % 2, 0),
                }
            }
        }
        // Each P once; each shared notice once (by some even node).
        assert_eq!(
            created_iupds.iter().filter(|i| i.starts_with('P')).count(),
            40
        );
        assert_eq!(created_notices, 40);
        assert_eq!(rows_of(&db, "payment_positions").await, 80);
        assert_eq!(rows_of(&db, "payment_notices").await, 80);
        assert_eq!(rows_of(&db, "payment_history").await, 80);
        assert_eq!(rows_of(&db, "jobs").await, 80);
        for s in stores {
            s.close().await;
        }
        db.done().await;
    }
}
