//! Contract of the `Sessions` port, on SQLite and PostgreSQL.
//!
//! | method                  | test(s)                                                          |
//! |-------------------------|------------------------------------------------------------------|
//! | `create_session`        | `sessions_are_found_by_token_hash_until_revoked_or_expired`, `a_session_token_is_issued_once` |
//! | `session_by_token_hash` | `sessions_are_found_by_token_hash_until_revoked_or_expired`, `a_session_token_is_issued_once` |
//! | `sessions_of`           | `sessions_are_found_by_token_hash_until_revoked_or_expired`, `the_login_history_is_newest_first_and_revoking_touches_only_active_sessions` |
//! | `revoke_session`        | `sessions_are_found_by_token_hash_until_revoked_or_expired`, `the_login_history_is_newest_first_and_revoking_touches_only_active_sessions` |
//! | `revoke_sessions`       | `sessions_are_found_by_token_hash_until_revoked_or_expired`, `the_login_history_is_newest_first_and_revoking_touches_only_active_sessions` |
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{DateTime, Duration, Utc};
use kernel::values::FiscalCode;
use messaging::citizen::CitizenSession;
use messaging::ports::StoreError;
use messaging::ports::prelude::*;
use support::*;

both!(
    sessions_are_found_by_token_hash_until_revoked_or_expired,
    the_login_history_is_newest_first_and_revoking_touches_only_active_sessions,
    a_session_token_is_issued_once,
);

async fn sessions_are_found_by_token_hash_until_revoked_or_expired(b: Backend) {
    let db = Db::new(b).await;
    let now = Utc::now();
    let session = |id: &str, expires: DateTime<Utc>| CitizenSession {
        id: id.into(),
        fiscal_code: FiscalCode::parse(FC).unwrap(),
        method: "admin".into(),
        client_ip: None,
        created_at: now,
        expires_at: expires,
        revoked_at: None,
    };
    db.store
        .create_session(&session("s1", now + Duration::hours(1)), "h1")
        .await
        .unwrap();
    db.store
        .create_session(&session("s2", now + Duration::hours(1)), "h2")
        .await
        .unwrap();
    db.store
        .create_session(&session("s3", now - Duration::seconds(1)), "h3")
        .await
        .unwrap();
    assert_eq!(
        db.store
            .session_by_token_hash("h1", now)
            .await
            .unwrap()
            .unwrap()
            .id,
        "s1"
    );
    assert!(
        db.store
            .session_by_token_hash("h3", now)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        db.store
            .session_by_token_hash("nope", now)
            .await
            .unwrap()
            .is_none()
    );
    let other = FiscalCode::parse("BNCGPP80A01H501E").unwrap();
    assert!(
        !db.store.revoke_session(&other, "s1", now).await.unwrap(),
        "not another citizen's"
    );
    assert!(
        db.store
            .revoke_session(&FiscalCode::parse(FC).unwrap(), "s1", now)
            .await
            .unwrap()
    );
    assert!(
        db.store
            .session_by_token_hash("h1", now)
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );
    assert_eq!(
        db.store
            .revoke_sessions(&FiscalCode::parse(FC).unwrap(), now)
            .await
            .unwrap(),
        1
    );
    assert!(
        db.store
            .session_by_token_hash("h2", now)
            .await
            .unwrap()
            .is_none()
    );
    let history = db
        .store
        .sessions_of(&FiscalCode::parse(FC).unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(
        history.len(),
        3,
        "history keeps revoked and expired sessions"
    );
    db.done().await;
}

fn session_of(
    who: &str,
    id: &str,
    created: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> CitizenSession {
    CitizenSession {
        id: id.into(),
        fiscal_code: fc(who),
        method: "admin".into(),
        client_ip: Some("192.0.2.7".into()),
        created_at: created,
        expires_at: expires,
        revoked_at: None,
    }
}

async fn the_login_history_is_newest_first_and_revoking_touches_only_active_sessions(b: Backend) {
    let db = Db::new(b).await;
    let now = now_ms();
    let hour = Duration::hours(1);
    // s1 oldest … s4 newest; s2 has expired; s5 is someone else's.
    let mine = [
        session_of(FC, "s1", now - Duration::minutes(40), now + hour),
        session_of(
            FC,
            "s2",
            now - Duration::minutes(30),
            now - Duration::minutes(1),
        ),
        session_of(FC, "s3", now - Duration::minutes(20), now + hour),
        session_of(FC, "s4", now - Duration::minutes(10), now + hour),
    ];
    for (n, s) in mine.iter().enumerate() {
        db.store.create_session(s, &format!("t{n}")).await.unwrap();
    }
    db.store
        .create_session(&session_of(FC2, "s5", now, now + hour), "t5")
        .await
        .unwrap();
    let history = db.store.sessions_of(&fc(FC), 10).await.unwrap();
    assert_eq!(
        history,
        vec![
            mine[3].clone(),
            mine[2].clone(),
            mine[1].clone(),
            mine[0].clone()
        ],
        "newest first, every field, the expired one included"
    );
    let ids = |h: Vec<CitizenSession>| h.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(db.store.sessions_of(&fc(FC), 2).await.unwrap()),
        vec!["s4", "s3"]
    );
    assert!(db.store.sessions_of(&fc(FC3), 10).await.unwrap().is_empty());
    // An expired session is not revoked; a revoked one is not revoked twice.
    assert!(!db.store.revoke_session(&fc(FC), "s2", now).await.unwrap());
    assert!(!db.store.revoke_session(&fc(FC), "nope", now).await.unwrap());
    let at = now + Duration::seconds(1);
    assert!(db.store.revoke_session(&fc(FC), "s3", at).await.unwrap());
    assert!(!db.store.revoke_session(&fc(FC), "s3", at).await.unwrap());
    let history = db.store.sessions_of(&fc(FC), 10).await.unwrap();
    assert_eq!(history[1].revoked_at, Some(at));
    assert_eq!(history[0].revoked_at, None, "only that one");
    // Revoking all: the two still active (s1, s4), not the expired, revoked or another's.
    assert_eq!(db.store.revoke_sessions(&fc(FC), at).await.unwrap(), 2);
    assert_eq!(db.store.revoke_sessions(&fc(FC), at).await.unwrap(), 0);
    let history = db.store.sessions_of(&fc(FC), 10).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|s| s.revoked_at.is_some())
            .collect::<Vec<_>>(),
        vec![true, true, false, true]
    );
    assert!(
        db.store
            .session_by_token_hash("t5", now)
            .await
            .unwrap()
            .is_some()
    );
    db.done().await;
}

async fn a_session_token_is_issued_once(b: Backend) {
    let db = Db::new(b).await;
    let now = now_ms();
    let s = session_of(FC, "s1", now, now + Duration::minutes(30));
    db.store.create_session(&s, "tok").await.unwrap();
    assert_eq!(
        db.store.session_by_token_hash("tok", now).await.unwrap(),
        Some(s.clone()),
        "round-trips"
    );
    assert!(
        db.store
            .session_by_token_hash("tok", now + Duration::minutes(30))
            .await
            .unwrap()
            .is_none(),
        "expired at its expiry instant"
    );
    assert!(matches!(
        db.store
            .create_session(&session_of(FC, "s2", now, now), "tok")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        db.store.create_session(&s, "tok2").await,
        Err(StoreError::Conflict(_))
    ));
    db.done().await;
}
