//! The one application state, built once at start-up and shared by every handler.

use std::sync::Arc;

use kernel::Clock;
use kernel::jobs::JobsReady;
use kernel::values::Cidr;
use messaging::ports::Store;
use seal::Keyring;

use crate::intake::Intake;
use crate::metrics::Metrics;

/// Settings the HTTP adapter needs.
#[derive(Clone)]
pub struct ApiSettings {
    /// Bearer token of the admin API; `None` disables the admin API.
    pub admin_token: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// How long a service key's look-up is reused (zero: never). Changes made through this
    /// process clear it at once; changes made elsewhere (another node, the CLI) show within it.
    pub auth_cache: std::time::Duration,
    /// Platform-wide default limits; services may override them.
    pub default_limits: messaging::quota::Limits,
    /// Absolute base URL of this installation as citizens reach it (links in e-mails), without
    /// a trailing slash.
    pub public_url: String,
    /// How long a citizen session lasts.
    pub session_ttl: std::time::Duration,
    /// How long an e-mail validation link works.
    pub email_validation_ttl: std::time::Duration,
    /// Whether the e-mail and push channels are configured (shown by `/readyz` and `/metrics`).
    pub email_enabled: bool,
    pub push_enabled: bool,
    /// Where the URLs enti configure (callbacks) may point: checked when they are set.
    pub outbound: notify::OutboundPolicy,
    /// The key the pagoPA node must send as `Ocp-Apim-Subscription-Key`, if any.
    pub pagopa_node_key: Option<String>,
    /// Where the pagoPA node may call from (empty: anywhere when a key is set, else loopback
    /// only).
    pub pagopa_node_cidrs: Vec<Cidr>,
}

impl std::fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSettings")
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("auth_cache", &self.auth_cache)
            .field("default_limits", &self.default_limits)
            .field("public_url", &self.public_url)
            .field("session_ttl", &self.session_ttl)
            .field("email_validation_ttl", &self.email_validation_ttl)
            .field("email_enabled", &self.email_enabled)
            .field("push_enabled", &self.push_enabled)
            .field("outbound", &self.outbound)
            .field(
                "pagopa_node_key",
                &self.pagopa_node_key.as_ref().map(|_| "[redacted]"),
            )
            .field("pagopa_node_cidrs", &self.pagopa_node_cidrs)
            .finish()
    }
}

/// The longest a scheduled pull's download may take.
pub const PULL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Shared state of the HTTP adapter.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keyring: Arc<Keyring>,
    pub settings: Arc<ApiSettings>,
    pub intake: Intake,
    pub metrics: Arc<Metrics>,
    /// Told when new jobs were written, so workers need not wait for their next poll.
    pub jobs_ready: Arc<dyn JobsReady>,
    /// The time, for everything this adapter decides or records.
    pub clock: Arc<dyn Clock>,
    /// Recent service-key look-ups.
    pub service_keys: Arc<crate::auth::KeyCache>,
    /// Recent citizen-session look-ups (same lifetime as service keys; revocations through
    /// this node clear it at once).
    pub citizen_sessions: Arc<crate::auth::TtlCache<messaging::citizen::CitizenSession>>,
    /// Per-service request rate buckets.
    pub rate_limiter: Arc<crate::ratelimit::RateLimiter>,
    /// The payments domain's storage (the same database as `store`).
    pub payments: Arc<dyn ::payments::ports::PaymentsStore>,
    /// Notice numbers, from blocks of the database sequence.
    pub notices: Arc<ops::payments::NoticeAllocator>,
    /// Group commit of positions created one per request.
    pub position_intake: crate::payments::intake::PositionIntake,
    /// Recent payments-key look-ups: the profile, and whether its organization is disabled.
    pub payments_keys: Arc<crate::auth::TtlCache<(::payments::ports::Profile, bool)>>,
    /// The pagoPA station assignments.
    pub stations: Arc<ops::node::StationCache>,
    /// Group commit of the node's receipts.
    pub receipts: ops::node::ReceiptWriter,
    /// Wakes the reconciler when a reporting flow or a statement was ingested.
    pub recon_wake: Arc<tokio::sync::Notify>,
    /// The open-data domain's storage (the same database as `store`).
    pub opendata: Arc<dyn ::opendata::ports::OpenDataStore>,
    /// The published catalogue, its search index and SPARQL store, as of the last generation.
    pub od_view: Arc<crate::opendata::view::OdView>,
    /// The installation's secret for visitor keys, read once.
    pub od_salt: Arc<std::sync::OnceLock<String>>,
    /// Fetches the URLs of scheduled pulls (the outbound policy of URLs enti choose).
    pub od_fetcher: Arc<dyn ::opendata::ports::UrlFetcher>,
    /// Wakes the pull loop when a pull was created.
    pub od_pull_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// What the use cases of `ops` work with: this state's store, clock and wake-ups, and its
    /// caches as the [`ops::AuthCache`] they clear.
    pub fn ops(&self) -> ops::Context<'_> {
        ops::Context {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            jobs_ready: self.jobs_ready.as_ref(),
            auth_cache: self,
        }
    }

    /// What the open-data use cases work with.
    pub fn od(&self) -> ops::opendata::OdContext<'_> {
        ops::opendata::OdContext {
            store: self.opendata.as_ref(),
            clock: self.clock.as_ref(),
        }
    }

    /// What the payments use cases work with.
    pub fn pay(&self) -> ops::payments::PayContext<'_> {
        ops::payments::PayContext {
            store: self.payments.as_ref(),
            clock: self.clock.as_ref(),
            jobs_ready: self.jobs_ready.as_ref(),
            notices: &self.notices,
        }
    }

    /// Builds the state and starts the intake writers (group commit) on the current runtime.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        payments: Arc<dyn ::payments::ports::PaymentsStore>,
        opendata: Arc<dyn ::opendata::ports::OpenDataStore>,
        keyring: Arc<Keyring>,
        settings: ApiSettings,
        intake_writers: usize,
        jobs_ready: Arc<dyn JobsReady>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        let intake = Intake::start(
            store.clone(),
            intake_writers,
            jobs_ready.clone(),
            metrics.clone(),
        );
        Self {
            store,
            keyring,
            service_keys: Arc::new(crate::auth::KeyCache::new(settings.auth_cache)),
            citizen_sessions: Arc::new(crate::auth::TtlCache::new(settings.auth_cache)),
            rate_limiter: Arc::default(),
            position_intake: crate::payments::intake::PositionIntake::start(
                payments.clone(),
                intake_writers,
            ),
            receipts: ops::node::ReceiptWriter::start(payments.clone(), intake_writers),
            payments,
            notices: Arc::new(ops::payments::NoticeAllocator::new(10_000)),
            payments_keys: Arc::new(crate::auth::TtlCache::new(settings.auth_cache)),
            stations: Arc::default(),
            recon_wake: Arc::default(),
            opendata,
            od_view: Arc::default(),
            od_salt: Arc::default(),
            od_fetcher: Arc::new(crate::opendata::pulls::OdFetcher(
                notify::HttpClient::with_timeouts(
                    notify::http::CONNECT_TIMEOUT,
                    PULL_TIMEOUT,
                    settings.outbound.clone(),
                ),
            )),
            od_pull_wake: Arc::default(),
            settings: Arc::new(settings),
            intake,
            metrics,
            jobs_ready,
            clock,
        }
    }
}

/// The caches of service-key and citizen-session look-ups, as the use cases see them.
impl ops::AuthCache for AppState {
    fn forget_service(&self, service: &kernel::values::ServiceId) {
        self.service_keys
            .forget_where(|found| found.service.id == *service);
    }

    fn forget_organization(&self, organization: &kernel::values::OrganizationFiscalCode) {
        self.service_keys
            .forget_where(|found| found.service.organization_fiscal_code == *organization);
    }

    fn forget_citizen(&self, fiscal_code: &kernel::values::FiscalCode) {
        self.citizen_sessions
            .forget_where(|session| session.fiscal_code == *fiscal_code);
    }
}
