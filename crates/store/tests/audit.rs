//! Contract of the `AuditLog` port, on SQLite and PostgreSQL.
//!
//! | method         | test(s)                                                  |
//! |----------------|----------------------------------------------------------|
//! | `append_audit` | `the_audit_log_pages_newest_first_before_an_id`          |
//! | `audit_log`    | `the_audit_log_pages_newest_first_before_an_id`          |
#![allow(clippy::unwrap_used)]

mod support;

use kernel::audit::NewAuditEntry;
use messaging::ports::prelude::*;
use support::*;

both!(the_audit_log_pages_newest_first_before_an_id);

async fn the_audit_log_pages_newest_first_before_an_id(b: Backend) {
    let db = Db::new(b).await;
    assert!(db.store.audit_log(None, 10).await.unwrap().is_empty());
    let before = now_ms();
    for n in 0..7 {
        db.store
            .append_audit(&NewAuditEntry {
                at: chrono::Utc::now(),
                actor: format!("actor-{n}"),
                action: "service.approve".into(),
                subject: format!("service:{n}"),
                detail: serde_json::json!({"n": n, "reason": "ok"}),
            })
            .await
            .unwrap();
    }
    let all = db.store.audit_log(None, 100).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let newest = &all[0];
    assert_eq!(
        (
            newest.actor.as_str(),
            newest.action.as_str(),
            newest.subject.as_str()
        ),
        ("actor-6", "service.approve", "service:6")
    );
    assert_eq!(newest.detail, serde_json::json!({"n": 6, "reason": "ok"}));
    assert!(newest.at >= before && newest.at <= chrono::Utc::now());
    // Pages of 3 by `before_id`: they neither overlap nor skip, and end empty.
    let mut paged = Vec::new();
    let mut cursor = None;
    for round in 0.. {
        assert!(round < 20, "paging does not end");
        let page = db.store.audit_log(cursor, 3).await.unwrap();
        assert!(page.len() <= 3, "limit");
        if page.is_empty() {
            break;
        }
        cursor = Some(page.last().unwrap().id);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let page = db.store.audit_log(Some(all[2].id), 2).await.unwrap();
    assert_eq!(page, all[3..5].to_vec(), "strictly older than before_id");
    assert!(
        db.store
            .audit_log(Some(all[6].id), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.store.audit_log(None, 0).await.unwrap().is_empty());
    db.done().await;
}
