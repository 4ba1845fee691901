//! Set-up shared by the contract tests of the storage ports: one test file per port, every
//! test run on SQLite (a fresh file) and on PostgreSQL (a fresh schema, dropped even when the
//! test panics), through [`both!`].
//!
//! | file               | port(s)                 | methods covered                                  |
//! |--------------------|-------------------------|--------------------------------------------------|
//! | `organizations.rs` | `Health`, `Organizations` | ping; every organization, delegate and mandate method |
//! | `audit.rs`         | `AuditLog`              | append_audit, audit_log                          |
//! | `jobs.rs`          | `JobQueue`              | claim_jobs, fail_job, list_jobs, retry_job, job_counts, extend_job, delete_job |
//! | `services.rs`      | `Services`              | all 13 methods                                   |
//! | `catalogue.rs`     | `Catalogue`             | all 5 methods                                    |
//! | `usage.rs`         | `Usage`                 | all 4 methods                                    |
//! | `messages.rs`      | `Messages`              | accept_messages, get_message, get_messages       |
//! | `processing.rs`    | `Processing`            | complete_message_jobs, complete_message_job      |
//! | `citizens.rs`      | `Citizens`              | all 9 methods                                    |
//! | `sessions.rs`      | `Sessions`              | all 5 methods                                    |
//! | `inbox.rs`         | `Inbox`                 | all 4 methods                                    |
//! | `outbound.rs`      | `OutboundLog`           | all 9 methods                                    |
//! | `batches.rs`       | `Batches`               | all 12 methods                                   |
//! | `profiles.rs`      | payments `Profiles`     | all 5 methods                                    |
//! | `positions.rs`     | payments `Positions`    | all 13 methods                                   |
//! | `imports.rs`       | payments `Imports`      | all 9 methods                                    |
//!
//! Each file's own doc names the test(s) for every method.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use kernel::audit::NewAuditEntry;
use kernel::jobs::{JobKind, JobStatus};
use kernel::organization::{Organization, OrganizationKind};
use kernel::values::{BatchId, Email, FiscalCode, MessageId, OrganizationFiscalCode, ServiceId};
use messaging::citizen::{Channel, NewEmailValidation, NewNotification, Purpose};
use messaging::content::FeatureLevel;
use messaging::model::{
    CitizenProfile, Idempotency, InboxEntry, KeyType, LifecycleStatus, NewMessageRecord,
    PreferenceMode, ProcessingOutcome, PublicationStatus, SealedContent, Service,
};
use messaging::ports::StoredKey;
use messaging::ports::prelude::*;
use store::SqlStore;

/// Runs each named `async fn name(b: Backend)` of the file as `sqlite::name` and
/// `postgres::name`.
// claims.rs runs its tests on a multi-threaded runtime and has its own variant.
#[allow(unused_macros)]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name($crate::support::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name($crate::support::Backend::Postgres).await } )* }
    };
}
#[allow(unused_imports)]
pub(crate) use both;

pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Db {
    pub store: SqlStore,
    /// The URL the store was opened with (a test may open more connections to it).
    pub url: String,
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

pub fn pg_url() -> String {
    std::env::var("SPORTELLO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Db {
    pub async fn new(backend: Backend) -> Self {
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
        // Owned by `Db` before anything can fail, so a failing migration drops it too.
        let db = Self {
            store,
            url,
            _dir: dir,
            schema,
        };
        assert_eq!(
            db.store.migrate().await.unwrap(),
            vec![
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18
            ]
        );
        assert!(
            db.store.migrate().await.unwrap().is_empty(),
            "migrations are idempotent"
        );
        db.store.check_schema().await.unwrap();
        db
    }

    pub async fn done(mut self) {
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

/// The citizen most tests address.
pub const FC: &str = "RSSMRA85T10A562S";
/// Two other citizens.
pub const FC2: &str = "BNCGPP80A01H501E";
pub const FC3: &str = "BNCLRA70A41H501B";

pub fn fc(s: &str) -> FiscalCode {
    FiscalCode::parse(s).unwrap()
}

/// Now, to the millisecond the store keeps (so that round-tripped records compare equal).
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

/// A valid organization fiscal code (partita IVA) from ten digits, with its check digit.
pub fn ofc(base: u64) -> OrganizationFiscalCode {
    let digits: Vec<u32> = format!("{base:010}")
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    OrganizationFiscalCode::parse(&format!("{base:010}{check}")).unwrap()
}

pub fn org() -> Organization {
    Organization {
        fiscal_code: OrganizationFiscalCode::parse("00441340122").unwrap(),
        name: "Comune di Varese".into(),
        kind: OrganizationKind::Comune,
        ipa_code: Some("c_l682".into()),
        disabled: false,
        created_at: now_ms(),
    }
}

/// Another organization, named `name`.
pub fn org_named(base: u64, name: &str) -> Organization {
    Organization {
        fiscal_code: ofc(base),
        name: name.into(),
        kind: OrganizationKind::Other,
        ipa_code: None,
        disabled: false,
        created_at: now_ms(),
    }
}

pub fn service() -> Service {
    service_of(&org())
}

/// A draft service of `o`.
pub fn service_of(o: &Organization) -> Service {
    let now = now_ms();
    Service {
        id: ServiceId::new(),
        organization_fiscal_code: o.fiscal_code.clone(),
        organization_name: o.name.clone(),
        department_name: None,
        name: "Tributi".into(),
        description: "Tributi comunali".into(),
        require_secure_channels: false,
        authorized_recipients: vec![fc(FC)],
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

pub fn key(t: KeyType, hash: &str) -> StoredKey {
    StoredKey {
        key_type: t,
        hash: hash.into(),
        sealed: SealedContent {
            key_id: "k1".into(),
            bytes: vec![1, 2, 3],
        },
    }
}

pub fn sealed(byte: u8) -> SealedContent {
    SealedContent {
        key_id: "k1".into(),
        bytes: vec![byte; 16],
    }
}

pub fn message(service: ServiceId, idem: Option<(&str, &str)>) -> NewMessageRecord {
    message_to(service, FC, idem)
}

pub fn message_to(service: ServiceId, to: &str, idem: Option<(&str, &str)>) -> NewMessageRecord {
    NewMessageRecord {
        id: MessageId::new(),
        service_id: service,
        fiscal_code: fc(to),
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

/// A store with [`org`] and one [`service`] of it (keys `h1`, `h2`).
pub async fn seeded(backend: Backend) -> (Db, Service) {
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

pub async fn count(db: &Db, sql: &str) -> i64 {
    store::raw::scalar_i64(&db.store, sql).await.unwrap()
}

pub fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: Utc::now(),
        actor: "test".into(),
        action: action.into(),
        subject: "subject".into(),
        detail: serde_json::json!({"n": 1}),
    }
}

/// What processing decides for a message to an existing citizen: an inbox entry and one
/// e-mail notification.
pub fn processed(m: &NewMessageRecord, service: ServiceId) -> ProcessingOutcome {
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

pub fn profile() -> CitizenProfile {
    let now = now_ms();
    CitizenProfile {
        fiscal_code: fc(FC),
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

pub fn validation(id: &str, token_hash: &str, email: &str) -> NewEmailValidation {
    NewEmailValidation {
        id: id.into(),
        token_hash: token_hash.into(),
        email: email.into(),
        expires_at: Utc::now() + Duration::hours(1),
        notification: NewNotification {
            subject_id: id.into(),
            fiscal_code: fc(FC),
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

/// The queued job of `kind` working on `subject`.
pub async fn job_of(db: &Db, kind: JobKind, subject: &str) -> kernel::jobs::Job {
    db.store
        .list_jobs(None)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == kind && j.subject_id == subject)
        .unwrap_or_else(|| panic!("no {kind} job for {subject}"))
}

/// Accepts a message for the citizen and completes its job with `outcome`.
pub async fn deliver(
    db: &Db,
    s: &Service,
    outcome: impl Fn(&NewMessageRecord) -> ProcessingOutcome,
) -> MessageId {
    deliver_message(db, message(s.id, None), outcome).await
}

/// Accepts `m` and completes its job with `outcome`.
pub async fn deliver_message(
    db: &Db,
    m: NewMessageRecord,
    outcome: impl Fn(&NewMessageRecord) -> ProcessingOutcome,
) -> MessageId {
    db.store
        .accept_messages(std::slice::from_ref(&m))
        .await
        .unwrap();
    let job = job_of(db, JobKind::ProcessMessage, &m.id.to_string()).await;
    assert_eq!(job.status, JobStatus::Queued);
    db.store
        .complete_message_job(job.id, &m.id, &outcome(&m), Utc::now())
        .await
        .unwrap();
    m.id
}

/// A batch id named by a test (the same name gives the same id).
pub fn bid(name: &str) -> BatchId {
    let n = name.bytes().fold(0u128, |h, b| {
        h.wrapping_mul(257).wrapping_add(u128::from(b))
    });
    BatchId::from_ulid(ulid::Ulid::from_parts(1, n))
}

pub fn upload(id: &str, service: ServiceId, at: DateTime<Utc>) -> messaging::model::Batch {
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

pub fn rows(n: i64) -> Vec<messaging::model::PendingRow> {
    rows_from(1, n)
}

/// Lines `first..=last`, each body naming its line.
pub fn rows_from(first: i64, last: i64) -> Vec<messaging::model::PendingRow> {
    (first..=last)
        .map(|line| messaging::model::PendingRow {
            line,
            body: SealedContent {
                key_id: "k1".into(),
                bytes: vec![1, 2, 3, line as u8],
            },
        })
        .collect()
}

// ---- payments ----------------------------------------------------------------------------

/// The valid IBAN the payments fixtures pay to.
pub const IBAN: &str = "IT60X0542811101000000123456";
/// Another valid IBAN.
pub const IBAN2: &str = "GB82WEST12345698765432";

pub fn iupd(s: &str) -> payments::values::Iupd {
    payments::values::Iupd::parse(s).unwrap()
}

/// An unpaid single-payment option of segregation code `seg` with IUV base `base`, due at
/// `due`, one transfer to `iban`.
pub fn pay_option(
    org: &OrganizationFiscalCode,
    seg: u8,
    base: u64,
    due: DateTime<Utc>,
    iban: &str,
) -> payments::PaymentOption {
    use payments::model::{Destination, OptionStatus, Transfer, TransferStatus};
    use payments::values::{Iban, TaxonomyCode};
    let nav = kernel::values::NoticeNumber::build_aux3(seg, base).unwrap();
    let now = now_ms();
    payments::PaymentOption {
        iuv: nav.as_str()[1..].to_owned(),
        nav,
        amount: 10_000,
        description: "TARI 2025".into(),
        is_partial_payment: false,
        plan_id: None,
        option_description: None,
        validity_date: None,
        due_date: due,
        retention_date: None,
        switch_to_expired: false,
        fee: 0,
        notification_fee: 0,
        debtor: None,
        status: OptionStatus::PoUnpaid,
        payment: None,
        reporting_date: None,
        flow_reporting_id: None,
        metadata: vec![],
        transfers: vec![Transfer {
            id: 1,
            organization: org.clone(),
            company_name: None,
            amount: 10_000,
            remittance_information: "TARI".into(),
            category: TaxonomyCode::parse("9/0101002IM/").unwrap(),
            destination: Destination::Account {
                iban: Some(Iban::parse(iban).unwrap()),
                postal_iban: None,
            },
            metadata: vec![],
            status: TransferStatus::TUnreported,
            inserted_date: now,
            last_updated_date: now,
        }],
        pre_notice: None,
        inserted_date: now,
        last_updated_date: now,
    }
}

/// A VALID position of `org` owed by citizen [`FC`], one option (segregation 01, due in 30
/// days) per IUV base.
pub fn position_of(
    org: &OrganizationFiscalCode,
    iupd_text: &str,
    bases: &[u64],
) -> payments::Position {
    let now = now_ms();
    payments::Position {
        id: payments::PositionId::new_at(now),
        organization: org.clone(),
        iupd: iupd(iupd_text),
        status: payments::PositionStatus::Valid,
        version: 0,
        debtor: payments::Debtor {
            code: payments::model::DebtorCode::Person(fc(FC)),
            full_name: "Mario Rossi".into(),
            street_name: None,
            civic_number: None,
            postal_code: None,
            city: None,
            province: None,
            region: None,
            country: None,
            email: None,
            phone: None,
        },
        company_name: "Comune di Varese".into(),
        office_name: None,
        switch_to_expired: false,
        pay_stand_in: false,
        validity_date: None,
        publish_date: None,
        payment_date: None,
        inserted_date: now,
        last_updated_date: now,
        options: bases
            .iter()
            .map(|b| pay_option(org, 1, *b, now + Duration::days(30), IBAN))
            .collect(),
        reissue_of: None,
        reissued_as: None,
    }
}

/// [`position_of`] for [`org`].
pub fn position(iupd_text: &str, bases: &[u64]) -> payments::Position {
    position_of(&org().fiscal_code, iupd_text, bases)
}

pub fn pevent(action: &str, version: i64) -> payments::model::PositionEvent {
    payments::model::PositionEvent {
        at: now_ms(),
        version,
        action: action.into(),
        status: payments::PositionStatus::Valid,
        detail: Some(format!("{action} by the test")),
        actor: "test".into(),
    }
}

/// `p` to create, with a `created` event and a `position_tick` job about it due in an hour.
pub fn pwrite(p: payments::Position) -> payments::ports::PositionWrite {
    let job = payments::ports::PositionJob {
        kind: JobKind::PositionTick,
        subject_id: p.id.to_string(),
        due_at: now_ms() + Duration::hours(1),
    };
    payments::ports::PositionWrite {
        event: vec![pevent("created", p.version)],
        jobs: vec![job],
        position: p,
    }
}

/// `p` changed: version + 1, with an `updated` event and no job.
pub fn pupdate(mut p: payments::Position) -> payments::ports::PositionWrite {
    p.version += 1;
    p.last_updated_date = now_ms();
    payments::ports::PositionWrite {
        event: vec![pevent("updated", p.version)],
        jobs: vec![],
        position: p,
    }
}

pub fn payments_profile(org: &OrganizationFiscalCode) -> payments::ports::Profile {
    payments::ports::Profile {
        organization: org.clone(),
        segregation_codes: vec![
            payments::values::SegregationCode::new(1).unwrap(),
            payments::values::SegregationCode::new(2).unwrap(),
        ],
        io_service: Some(ServiceId::new()),
        cidrs: vec![
            kernel::values::Cidr::parse("10.0.0.0/8").unwrap(),
            kernel::values::Cidr::parse("2001:db8::/32").unwrap(),
        ],
        template: payments::ports::NoticeTemplate::default(),
        created_at: now_ms(),
    }
}
