//! Contract tests of the `Store` port, run against both SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use kernel::jobs::{JobKind, JobStatus};
use kernel::organization::Organization;
use kernel::values::BatchId;
use kernel::values::{Email, FiscalCode, MessageId, OrganizationFiscalCode, ServiceId};
use messaging::citizen::{
    Attempt, CallbackConfig, Channel, CitizenSession, NewEmailValidation, NewNotification, Purpose,
    StatusChange,
};
use messaging::content::FeatureLevel;
use messaging::model::{
    AcceptOutcome, Idempotency, InboxEntry, KeyType, LifecycleStatus, NewMessageRecord,
    ProcessingOutcome, PublicationStatus, RejectionReason, RowStatus, SealedContent, Service,
};
use messaging::model::{CitizenProfile, PreferenceMode};
use messaging::ports::prelude::*;
use messaging::ports::{StoreError, StoredKey};
use store::SqlStore;

enum Backend {
    Sqlite,
    Postgres,
}

struct Db {
    store: SqlStore,
    _dir: tempfile::TempDir,
    schema: Option<String>,
}

/// A test that panicked before `done` still leaves no schema behind.
impl Drop for Db {
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take()
            && let Err(e) = store::raw::drop_schema_blocking(&pg_url(), &schema)
        {
            eprintln!("test schema {schema} not dropped: {e}");
        }
    }
}

fn pg_url() -> String {
    std::env::var("SPORTELLO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Db {
    async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, schema) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
                None,
            ),
            Backend::Postgres => {
                let schema = format!("c_{}", ulid::Ulid::new().to_string().to_lowercase());
                let admin = SqlStore::connect(&pg_url(), 1).await.unwrap();
                store::raw::execute(&admin, &format!("CREATE SCHEMA {schema}"))
                    .await
                    .unwrap();
                admin.close().await;
                let sep = if pg_url().contains('?') { '&' } else { '?' };
                (
                    format!("{}{sep}options=-c%20search_path%3D{schema}", pg_url()),
                    Some(schema),
                )
            }
        };
        let store = SqlStore::connect(&url, 4).await.unwrap();
        assert_eq!(
            store.migrate().await.unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9]
        );
        assert!(
            store.migrate().await.unwrap().is_empty(),
            "migrations are idempotent"
        );
        store.check_schema().await.unwrap();
        Self {
            store,
            _dir: dir,
            schema,
        }
    }

    async fn done(mut self) {
        self.store.close().await;
        if let Some(schema) = self.schema.take() {
            let admin = SqlStore::connect(&pg_url(), 1).await.unwrap();
            store::raw::execute(&admin, &format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
            admin.close().await;
        }
    }
}

fn org() -> Organization {
    Organization {
        fiscal_code: OrganizationFiscalCode::parse("00441340122").unwrap(),
        name: "Comune di Varese".into(),
        kind: kernel::organization::OrganizationKind::Comune,
        ipa_code: Some("c_l682".into()),
        disabled: false,
        created_at: Utc::now(),
    }
}

fn service() -> Service {
    let now = Utc::now();
    Service {
        id: ServiceId::new(),
        organization_fiscal_code: org().fiscal_code,
        organization_name: "Comune di Varese".into(),
        department_name: None,
        name: "Tributi".into(),
        description: "Tributi comunali".into(),
        require_secure_channels: false,
        authorized_recipients: vec![FiscalCode::parse("RSSMRA85T10A562S").unwrap()],
        authorized_cidrs: vec![],
        max_allowed_payment_amount: 0,
        metadata: Default::default(),
        lifecycle: LifecycleStatus::Draft,
        lifecycle_reason: None,
        publication: PublicationStatus::Unpublished,
        ever_approved: false,
        auto_publish: false,
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

fn key(t: KeyType, hash: &str) -> StoredKey {
    StoredKey {
        key_type: t,
        hash: hash.into(),
        sealed: SealedContent {
            key_id: "k1".into(),
            bytes: vec![1, 2, 3],
        },
    }
}

fn message(service: ServiceId, idem: Option<(&str, &str)>) -> NewMessageRecord {
    NewMessageRecord {
        id: MessageId::new(),
        service_id: service,
        fiscal_code: FiscalCode::parse("RSSMRA85T10A562S").unwrap(),
        created_at: Utc::now(),
        time_to_live: 3600,
        feature_level: FeatureLevel::Standard,
        content: SealedContent {
            key_id: "k1".into(),
            bytes: vec![0; 64],
        },
        idempotency: idem.map(|(k, h)| Idempotency {
            key: k.into(),
            request_hash: h.into(),
        }),
        quotas: Default::default(),
    }
}

async fn seeded(backend: Backend) -> (Db, Service) {
    let db = Db::new(backend).await;
    db.store.create_organization(&org()).await.unwrap();
    let s = service();
    db.store
        .create_service(
            &s,
            &[key(KeyType::Primary, "h1"), key(KeyType::Secondary, "h2")],
        )
        .await
        .unwrap();
    (db, s)
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await } )* }
    };
}

both!(
    sessions_are_found_by_token_hash_until_revoked_or_expired,
    a_stale_profile_update_conflicts_and_changes_nothing,
    an_email_validation_works_once_and_only_for_the_current_address,
    deleting_a_citizen_leaves_only_the_entes_status_records,
    reading_a_message_queues_one_read_callback_when_the_service_has_one,
    outcome_callbacks_are_queued_only_for_services_with_a_callback,
    a_duplicate_organization_is_a_conflict,
    services_round_trip_and_stale_updates_conflict,
    a_group_commit_dedupes_idempotency_keys_even_within_the_group,
    claimed_jobs_are_invisible_until_their_lease_expires,
    completing_a_job_twice_never_duplicates_the_inbox_entry,
    failed_jobs_are_retried_then_dead_and_can_be_requeued,
    batch_reads_return_exactly_the_records_that_exist,
    quotas_are_enforced_in_the_intake_transaction_and_replays_do_not_count,
    an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle,
);

/// A batch id named by a test (the same name gives the same id).
fn bid(name: &str) -> BatchId {
    let n = name.bytes().fold(0u128, |h, b| {
        h.wrapping_mul(257).wrapping_add(u128::from(b))
    });
    BatchId::from_ulid(ulid::Ulid::from_parts(1, n))
}

fn upload(id: &str, service: ServiceId, at: chrono::DateTime<Utc>) -> messaging::model::Batch {
    messaging::model::Batch {
        id: bid(id),
        service_id: service,
        format: messaging::batch::Format::Ndjson,
        header: None,
        status: messaging::model::BatchStatus::Running,
        total: 0,
        accepted: 0,
        rejected: 0,
        key_hash: None,
        sealed_at: None,
        created_at: at,
        updated_at: at,
    }
}

fn rows(n: i64) -> Vec<messaging::model::PendingRow> {
    (1..=n)
        .map(|line| messaging::model::PendingRow {
            line,
            body: SealedContent {
                key_id: "k1".into(),
                bytes: vec![1, 2, 3],
            },
        })
        .collect()
}

async fn an_upload_owns_its_idempotency_key_only_once_sealed_and_is_swept_when_idle(b: Backend) {
    use messaging::model::{BatchStatus, RowOutcome};
    let (db, s) = seeded(b).await;
    let st = &db.store;
    let now = Utc::now();
    let old = now - Duration::hours(2);
    // An upload cut short: rows stored two hours ago, never sealed.
    let (cut, created) = st
        .create_batch(&upload("b-cut", s.id, old), Some("k1"))
        .await
        .unwrap();
    assert_eq!((cut, created), (bid("b-cut"), true));
    st.add_batch_rows(&cut, &rows(2), old).await.unwrap();
    // Its retry with the same key is a new upload, which takes the key when sealed.
    let (retry, created) = st
        .create_batch(&upload("b-retry", s.id, now), Some("k1"))
        .await
        .unwrap();
    assert_eq!((retry, created), (bid("b-retry"), true));
    st.add_batch_rows(&retry, &rows(3), now).await.unwrap();
    let sealed = st.seal_batch(&retry, 3, Some("k1"), now).await.unwrap();
    assert_eq!(sealed, (bid("b-retry"), true));
    assert_eq!(st.job_counts().await.unwrap().queued, 1);
    let (again, created) = st
        .create_batch(&upload("b-3", s.id, now), Some("k1"))
        .await
        .unwrap();
    assert_eq!((again, created), (bid("b-retry"), false));
    // The stale upload is swept, the sealed batch is not; the swept one takes no more lines.
    assert_eq!(
        st.discard_stale_uploads(now - Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert!(st.get_batch(&cut).await.unwrap().is_none());
    assert!(matches!(
        st.add_batch_rows(&cut, &rows(1), now).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(st.seal_batch(&cut, 2, None, now).await.is_err());
    assert_eq!(st.get_batch(&retry).await.unwrap().unwrap().total, 3);
    assert_eq!(st.batch_report(&cut, 0, 10).await.unwrap().len(), 0);
    // A late upload with a taken key is removed at sealing and answers with the holder.
    let (late, _) = st
        .create_batch(&upload("b-late", s.id, now), None)
        .await
        .unwrap();
    st.add_batch_rows(&late, &rows(1), now).await.unwrap();
    let sealed = st.seal_batch(&late, 1, Some("k1"), now).await.unwrap();
    assert_eq!(sealed, (bid("b-retry"), false));
    assert!(st.get_batch(&late).await.unwrap().is_none());
    // Outcomes recorded while uploading never complete it; sealing does when all are done.
    let (all, _) = st
        .create_batch(&upload("b-all", s.id, now), None)
        .await
        .unwrap();
    st.add_batch_rows(&all, &rows(1), now).await.unwrap();
    let rejected = RowOutcome {
        line: 1,
        outcome: RowStatus::Rejected,
        message_id: None,
        reason: Some("too long".into()),
    };
    st.record_rows(&all, &[rejected], now).await.unwrap();
    let b = st.get_batch(&all).await.unwrap().unwrap();
    assert_eq!(
        (b.status, b.rejected, b.sealed_at),
        (BatchStatus::Running, 1, None)
    );
    st.seal_batch(&all, 1, None, now).await.unwrap();
    let b = st.get_batch(&all).await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::Completed);
    assert!(b.sealed_at.is_some());
    assert_eq!(
        st.job_counts().await.unwrap().queued,
        1,
        "no job for a finished batch"
    );
    // Stopping a batch rejects what is pending and completes it.
    assert_eq!(
        st.reject_pending_rows(&retry, "not sent: stopped", now)
            .await
            .unwrap(),
        3
    );
    let b = st.get_batch(&retry).await.unwrap().unwrap();
    assert_eq!((b.status, b.rejected), (BatchStatus::Completed, 3));
    db.done().await;
}

async fn quotas_are_enforced_in_the_intake_transaction_and_replays_do_not_count(b: Backend) {
    let (db, s) = seeded(b).await;
    let quotas = messaging::quota::Quotas {
        daily: Some(2),
        monthly: Some(10),
    };
    let with_quota = |idem| {
        let mut m = message(s.id, idem);
        m.quotas = quotas;
        m
    };
    let first = with_quota(Some(("k-1", "h")));
    let group = vec![first.clone(), with_quota(None), with_quota(None)];
    let out = db.store.accept_messages(&group).await.unwrap();
    assert_eq!(out[0], AcceptOutcome::Created(first.id));
    assert!(matches!(out[1], AcceptOutcome::Created(_)));
    match &out[2] {
        AcceptOutcome::QuotaExceeded { period, limit, .. } => {
            assert_eq!(period.as_str(), "daily");
            assert_eq!(*limit, 2);
        }
        other => panic!("expected quota exceeded, got {other:?}"),
    }
    // A replay of an accepted message is still answered, and counts nothing.
    let again = db
        .store
        .accept_messages(&[with_quota(Some(("k-1", "h"))), with_quota(None)])
        .await
        .unwrap();
    assert_eq!(again[0], AcceptOutcome::Replayed(first.id));
    assert!(matches!(again[1], AcceptOutcome::QuotaExceeded { .. }));
    assert_eq!(
        db.store.service_usage(&s.id, Utc::now()).await.unwrap(),
        (2, 2)
    );
    assert_eq!(
        store::raw::scalar_i64(&db.store, "SELECT COUNT(*) FROM messages")
            .await
            .unwrap(),
        2,
        "refused messages are not stored"
    );
    assert_eq!(db.store.job_counts().await.unwrap().queued, 2);
    db.done().await;
}

async fn batch_reads_return_exactly_the_records_that_exist(b: Backend) {
    let (db, s) = seeded(b).await;
    let batch: Vec<_> = (0..3).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&batch).await.unwrap();
    let mut asked: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
    asked.push(MessageId::new());
    let got = db.store.get_messages(&asked).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|m| batch.iter().any(|b| b.id == m.id)));

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
    let pref = messaging::model::ServicePreference {
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

async fn services_round_trip_and_stale_updates_conflict(b: Backend) {
    let (db, s) = seeded(b).await;
    let got = db.store.get_service(&s.id).await.unwrap().unwrap();
    assert_eq!(got.name, s.name);
    assert_eq!(got.authorized_recipients, s.authorized_recipients);
    let auth = db.store.service_by_key_hash("h2").await.unwrap().unwrap();
    assert_eq!(auth.service.id, s.id);
    assert!(!auth.organization_disabled);

    let mut edit = got.clone();
    edit.version += 1;
    edit.name = "Tributi e tasse".into();
    db.store.update_service(&edit).await.unwrap();
    // Another writer that read version 0 loses.
    let mut stale = got;
    stale.version += 1;
    assert!(matches!(
        db.store.update_service(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        db.store.get_service(&s.id).await.unwrap().unwrap().name,
        "Tributi e tasse"
    );
    db.store
        .replace_service_key(&s.id, &key(KeyType::Primary, "h3"))
        .await
        .unwrap();
    assert!(db.store.service_by_key_hash("h1").await.unwrap().is_none());
    assert!(db.store.service_by_key_hash("h3").await.unwrap().is_some());
    db.done().await;
}

async fn a_group_commit_dedupes_idempotency_keys_even_within_the_group(b: Backend) {
    let (db, s) = seeded(b).await;
    let first = message(s.id, Some(("k-1", "hash-a")));
    let same = message(s.id, Some(("k-1", "hash-a")));
    let other_body = message(s.id, Some(("k-1", "hash-b")));
    let plain = message(s.id, None);
    let out = db
        .store
        .accept_messages(&[first.clone(), same, other_body, plain.clone()])
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![
            AcceptOutcome::Created(first.id),
            AcceptOutcome::Replayed(first.id),
            AcceptOutcome::KeyReused,
            AcceptOutcome::Created(plain.id),
        ]
    );
    // And across groups.
    let again = db
        .store
        .accept_messages(&[message(s.id, Some(("k-1", "hash-a")))])
        .await
        .unwrap();
    assert_eq!(again, vec![AcceptOutcome::Replayed(first.id)]);
    let counts = db.store.job_counts().await.unwrap();
    assert_eq!(counts.queued, 2, "one job per created message");
    db.done().await;
}

async fn claimed_jobs_are_invisible_until_their_lease_expires(b: Backend) {
    let (db, s) = seeded(b).await;
    let batch: Vec<_> = (0..5).map(|_| message(s.id, None)).collect();
    db.store.accept_messages(&batch).await.unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let a = db
        .store
        .claim_jobs(&JobKind::ALL, 3, now, 10_000)
        .await
        .unwrap();
    let b2 = db
        .store
        .claim_jobs(&JobKind::ALL, 10, now, 10_000)
        .await
        .unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b2.len(), 2, "claims never overlap");
    assert!(
        db.store
            .claim_jobs(&JobKind::ALL, 10, now, 10_000)
            .await
            .unwrap()
            .is_empty()
    );
    // After the lease, the jobs of a crashed worker come back, with one more attempt.
    let later = now + Duration::seconds(11);
    let again = db
        .store
        .claim_jobs(&JobKind::ALL, 10, later, 10_000)
        .await
        .unwrap();
    assert_eq!(again.len(), 5);
    assert!(again.iter().all(|j| j.attempts == 2));
    db.done().await;
}

async fn completing_a_job_twice_never_duplicates_the_inbox_entry(b: Backend) {
    let (db, s) = seeded(b).await;
    let m = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, Utc::now() + Duration::seconds(1), 1_000)
        .await
        .unwrap()
        .remove(0);
    let outcome = processed(&m, s.id);
    db.store
        .complete_message_job(job.id, &m.id, &outcome, Utc::now())
        .await
        .unwrap();
    // A late duplicate completion (e.g. after a lease takeover) changes nothing.
    db.store
        .complete_message_job(
            job.id,
            &m.id,
            &ProcessingOutcome::Rejected(RejectionReason::UserNotFound),
            Utc::now(),
        )
        .await
        .unwrap();
    let stored = db.store.get_message(&m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "PROCESSED");
    assert_eq!(
        store::raw::scalar_i64(&db.store, "SELECT COUNT(*) FROM inbox")
            .await
            .unwrap(),
        1
    );
    // Completing it once more (same outcome) notifies nobody twice.
    db.store
        .complete_message_job(job.id, &m.id, &outcome, Utc::now())
        .await
        .unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'").await,
        1
    );
    db.done().await;
}

async fn failed_jobs_are_retried_then_dead_and_can_be_requeued(b: Backend) {
    let (db, s) = seeded(b).await;
    let m = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, now, 1_000)
        .await
        .unwrap()
        .remove(0);
    db.store
        .fail_job(job.id, "boom", Some(now + Duration::seconds(5)), now)
        .await
        .unwrap();
    assert!(
        db.store
            .claim_jobs(&JobKind::ALL, 1, now, 1_000)
            .await
            .unwrap()
            .is_empty(),
        "backing off"
    );
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 1, now + Duration::seconds(6), 1_000)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.attempts, 2);
    db.store
        .fail_job(job.id, "boom again", None, now)
        .await
        .unwrap();
    let dead = db.store.list_jobs(Some(JobStatus::Dead)).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("boom again"));
    assert_eq!(
        db.store
            .get_message(&m.id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "FAILED"
    );
    assert!(
        db.store
            .claim_jobs(&JobKind::ALL, 1, now + Duration::days(1), 1_000)
            .await
            .unwrap()
            .is_empty(),
        "dead jobs are never claimed"
    );
    db.store.retry_job(dead[0].id, now).await.unwrap();
    assert_eq!(
        db.store
            .get_message(&m.id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "ACCEPTED"
    );
    assert_eq!(
        db.store
            .claim_jobs(&JobKind::ALL, 1, now, 1_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        db.store.retry_job(dead[0].id, now).await,
        Err(StoreError::NotFound(_))
    ));
    db.done().await;
}

const FC: &str = "RSSMRA85T10A562S";

async fn count(db: &Db, sql: &str) -> i64 {
    store::raw::scalar_i64(&db.store, sql).await.unwrap()
}

fn processed(m: &NewMessageRecord, service: ServiceId) -> ProcessingOutcome {
    ProcessingOutcome::Processed {
        inbox: Some(InboxEntry {
            fiscal_code: m.fiscal_code.clone(),
            message_id: m.id,
            service_id: service,
            has_payment: false,
            due_date: None,
            title: SealedContent {
                key_id: "k1".into(),
                bytes: vec![7; 32],
            },
            rpt_id: None,
            created_at: m.created_at,
            time_to_live: m.time_to_live,
        }),
        notifications: vec![NewNotification {
            subject_id: m.id.to_string(),
            fiscal_code: m.fiscal_code.clone(),
            channel: Channel::Email,
            purpose: Purpose::Message,
            send_at: Utc::now(),
            expires_at: Utc::now() + Duration::hours(1),
            payload: None,
        }],
    }
}

fn profile() -> CitizenProfile {
    let now = Utc::now();
    CitizenProfile {
        fiscal_code: FiscalCode::parse(FC).unwrap(),
        email: Some(Email::parse("mario.rossi@example.it").unwrap()),
        is_email_validated: false,
        is_inbox_enabled: true,
        is_email_enabled: true,
        is_webhook_enabled: false,
        preferred_languages: vec!["it_IT".into()],
        preference_mode: PreferenceMode::Auto,
        settings_version: 0,
        blocked_channels: Default::default(),
        accepted_tos_version: Some(1),
        reminders_enabled: true,
        push_anonymous: false,
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

fn validation(id: &str, token_hash: &str, email: &str) -> NewEmailValidation {
    NewEmailValidation {
        id: id.into(),
        token_hash: token_hash.into(),
        email: email.into(),
        expires_at: Utc::now() + Duration::hours(1),
        notification: NewNotification {
            subject_id: id.into(),
            fiscal_code: FiscalCode::parse(FC).unwrap(),
            channel: Channel::Email,
            purpose: Purpose::EmailValidation,
            send_at: Utc::now(),
            expires_at: Utc::now() + Duration::hours(1),
            payload: Some(SealedContent {
                key_id: "k1".into(),
                bytes: vec![1; 16],
            }),
        },
    }
}

/// Accepts a message for the citizen and completes its job with `outcome`.
async fn deliver(
    db: &Db,
    s: &Service,
    outcome: impl Fn(&NewMessageRecord) -> ProcessingOutcome,
) -> MessageId {
    let m = message(s.id, None);
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 10, Utc::now() + Duration::seconds(1), 1_000)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.subject_id == m.id.to_string())
        .unwrap();
    db.store
        .complete_message_job(job.id, &m.id, &outcome(&m), Utc::now())
        .await
        .unwrap();
    m.id
}

async fn sessions_are_found_by_token_hash_until_revoked_or_expired(b: Backend) {
    let db = Db::new(b).await;
    let now = Utc::now();
    let session = |id: &str, expires: chrono::DateTime<Utc>| CitizenSession {
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
            &messaging::model::ServicePreference {
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

async fn reading_a_message_queues_one_read_callback_when_the_service_has_one(b: Backend) {
    let (db, s) = seeded(b).await;
    let fc = FiscalCode::parse(FC).unwrap();
    let plain = deliver(&db, &s, |m| processed(m, s.id)).await;
    let now = Utc::now();
    let read = StatusChange {
        read: Some(true),
        archived: None,
    };
    db.store
        .change_message_status(&fc, &plain, read, true, now)
        .await
        .unwrap();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM callback_deliveries").await,
        0,
        "no callback set"
    );
    db.store
        .set_callback(
            &s.id,
            Some(&CallbackConfig {
                url: "https://ente.example.it/hook".into(),
                secret: SealedContent {
                    key_id: "k1".into(),
                    bytes: vec![3; 24],
                },
            }),
        )
        .await
        .unwrap();
    let id = deliver(&db, &s, |m| processed(m, s.id)).await;
    let other = FiscalCode::parse("BNCGPP80A01H501E").unwrap();
    assert!(
        db.store
            .change_message_status(&other, &id, read, true, now)
            .await
            .unwrap()
            .is_none(),
        "not another citizen's"
    );
    let archive = StatusChange {
        read: None,
        archived: Some(true),
    };
    assert_eq!(
        db.store
            .change_message_status(&fc, &id, archive, true, now)
            .await
            .unwrap(),
        Some((false, true))
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM callback_deliveries WHERE event = 'read'"
        )
        .await,
        0
    );
    assert_eq!(
        db.store
            .change_message_status(&fc, &id, read, true, now)
            .await
            .unwrap(),
        Some((true, true))
    );
    assert_eq!(
        db.store
            .change_message_status(&fc, &id, read, true, now)
            .await
            .unwrap(),
        Some((true, true))
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM callback_deliveries WHERE event = 'read'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'callback'").await,
        2,
        "processed and read"
    );
    assert!(db.store.get_message(&id).await.unwrap().unwrap().is_read);
    let log = db
        .store
        .callback_deliveries(Some(&s.id), None, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].event.as_str(), "read", "newest first");
    db.done().await;
}

async fn outcome_callbacks_are_queued_only_for_services_with_a_callback(b: Backend) {
    let (db, s) = seeded(b).await;
    deliver(&db, &s, |_| {
        ProcessingOutcome::Rejected(RejectionReason::UserNotFound)
    })
    .await;
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM callback_deliveries").await,
        0
    );
    let config = CallbackConfig {
        url: "https://ente.example.it/hook".into(),
        secret: SealedContent {
            key_id: "k1".into(),
            bytes: vec![3; 24],
        },
    };
    db.store.set_callback(&s.id, Some(&config)).await.unwrap();
    assert_eq!(db.store.get_callback(&s.id).await.unwrap(), Some(config));
    let id = deliver(&db, &s, |_| {
        ProcessingOutcome::Rejected(RejectionReason::ServiceNotAllowed)
    })
    .await;
    let log = db.store.callback_deliveries(None, None, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message_id, id);
    assert_eq!(log[0].event.as_str(), "rejected");
    assert_eq!(log[0].reason.as_deref(), Some("SERVICE_NOT_ALLOWED"));
    let job = db
        .store
        .claim_jobs(&JobKind::ALL, 10, Utc::now() + Duration::seconds(1), 1_000)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == JobKind::Callback)
        .unwrap();
    let attempt = Attempt {
        status: "DELIVERED".into(),
        status_code: Some(204),
        error: None,
        retry_at: None,
    };
    db.store
        .record_callback_attempt(log[0].id, job.id, &attempt, Utc::now())
        .await
        .unwrap();
    let d = db
        .store
        .get_callback_delivery(log[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.attempts, d.last_status_code),
        ("DELIVERED", 1, Some(204))
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'callback'").await,
        0
    );
    db.store.set_callback(&s.id, None).await.unwrap();
    assert!(db.store.get_callback(&s.id).await.unwrap().is_none());
    db.done().await;
}
