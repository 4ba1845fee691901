//! Set-up shared by the store's contract test files: a fresh database per test on SQLite (a
//! file in a temporary directory) or PostgreSQL (a schema of its own, dropped even when the test
//! panics), migrated; and a seeded organization and service. `contract.rs` still has its own
//! copy of this set-up; new contract files use this module (`mod support;`).
#![allow(dead_code, clippy::unwrap_used)]

use chrono::Utc;
use messaging::content::FeatureLevel;
use messaging::model::{
    KeyType, LifecycleStatus, NewMessageRecord, Organization, PublicationStatus, SealedContent,
    Service,
};
use messaging::ports::{Store, StoredKey};
use messaging::values::{FiscalCode, MessageId, OrganizationFiscalCode, ServiceId};
use store::SqlStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated database for one test.
pub struct Db {
    pub store: SqlStore,
    /// What another connection (another node, another claimer) opens.
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
        store.migrate().await.unwrap();
        Self {
            store,
            url,
            _dir: dir,
            schema,
        }
    }

    /// The database with the organization and a service of [`service`].
    pub async fn seeded(backend: Backend) -> (Self, Service) {
        let db = Self::new(backend).await;
        db.store.create_organization(&org()).await.unwrap();
        let s = service();
        db.store
            .create_service(&s, &[key(KeyType::Primary, "h1")])
            .await
            .unwrap();
        (db, s)
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

pub fn org() -> Organization {
    Organization {
        fiscal_code: OrganizationFiscalCode::parse("00441340122").unwrap(),
        name: "Comune di Varese".into(),
        kind: messaging::quality::OrganizationKind::Comune,
        ipa_code: Some("c_l682".into()),
        disabled: false,
        created_at: Utc::now(),
    }
}

pub fn service() -> Service {
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

/// A message of `service` to the service's authorized recipient, no idempotency key.
pub fn message(service: ServiceId) -> NewMessageRecord {
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
        idempotency: None,
        quotas: Default::default(),
    }
}
