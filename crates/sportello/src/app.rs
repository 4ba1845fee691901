//! Wiring: open the store, build the state once, start the HTTP server and the workers.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use api::metrics::Metrics;
use api::{ApiSettings, AppState};
use messaging::ports::Store;
use store::SqlStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::private_files;

/// Opens the database of `config`; applies migrations when `migrate` (always on SQLite).
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<SqlStore> {
    prepare_files(config)?;
    let store = SqlStore::connect(&config.database_url, config.db_max_connections).await?;
    if migrate || config.is_sqlite() {
        store.migrate().await?;
    } else {
        store.check_schema().await?;
    }
    Ok(store)
}

/// Reports a data directory, database or secret file that other local users can reach, then
/// (embedded database) creates the data directory and the database file private to the owner.
pub fn prepare_files(config: &Config) -> anyhow::Result<()> {
    warn_about_wide_files(config);
    if config.is_sqlite() {
        private_files::create_private_dir(&config.data_dir)?;
        if let Some(db) = private_files::sqlite_file(&config.database_url) {
            if let Some(dir) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create directory {}", dir.display()))?;
            }
            private_files::create_private_file(&db)?;
        }
    }
    Ok(())
}

fn warn_about_wide_files(config: &Config) {
    let mut watched = config.secret_files.clone();
    watched.push(config.data_dir.clone());
    watched.push(config.data_dir.join("content-keys"));
    if let Some(db) = private_files::sqlite_file(&config.database_url) {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            watched.push(name.into());
        }
    }
    watched.sort();
    watched.dedup();
    private_files::warn_if_not_private(&watched);
}

/// Where the database of `config` is, as an operator would look for it: the absolute path of
/// the SQLite file, or the PostgreSQL URL without its password.
pub fn database_location(config: &Config) -> String {
    if let Some(file) = private_files::sqlite_file(&config.database_url) {
        return std::path::absolute(&file)
            .unwrap_or(file)
            .display()
            .to_string();
    }
    match url::Url::parse(&config.database_url) {
        Ok(mut url) => {
            let _ = url.set_password(None);
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !k.to_ascii_lowercase().contains("password"))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.set_query(None);
            if !kept.is_empty() {
                url.query_pairs_mut().extend_pairs(kept);
            }
            url.to_string()
        }
        Err(_) => "the configured database URL".to_owned(),
    }
}

/// Opens a database that `serve`, `migrate` or `--create` made (then migrates an embedded one,
/// as `open_store` does); `None`, with nothing created, when there is none: no SQLite file, or
/// no Sportello schema in it or in the PostgreSQL database.
pub async fn open_existing_store(config: &Config) -> anyhow::Result<Option<SqlStore>> {
    if let Some(file) = private_files::sqlite_file(&config.database_url)
        && !file.is_file()
    {
        return Ok(None);
    }
    let store = SqlStore::connect(&config.database_url, config.db_max_connections).await?;
    let sql = match store.backend() {
        store::Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
        store::Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    let migrated = store::raw::scalar_i64(&store, sql).await? > 0
        && store::raw::scalar_i64(&store, "SELECT COUNT(*) FROM schema_migrations").await? > 0;
    if !migrated {
        store.close().await;
        return Ok(None);
    }
    warn_about_wide_files(config);
    if config.is_sqlite() {
        store.migrate().await?;
    } else {
        store.check_schema().await?;
    }
    Ok(Some(store))
}

struct MetricsEvents(Arc<Metrics>);

impl jobs::JobEvents for MetricsEvents {
    fn processed(&self, rejected: bool) {
        self.0.job_processed(rejected);
    }
    fn failed(&self, dead: bool) {
        self.0.job_failed(dead);
    }
    fn taken_over(&self) {
        self.0.job_taken_over();
    }
    fn sent(&self, channel: &str, ok: bool) {
        self.0.outbound(channel, ok);
    }
}

/// The outbound channels from the configuration; an unconfigured channel is off, and says so.
pub fn channels(config: &Config) -> anyhow::Result<jobs::outbound::Channels> {
    let mailer: Option<Arc<dyn messaging::outbound::Mailer>> = match &config.smtp_url {
        Some(url) => {
            let mailer = notify::smtp::SmtpMailer::from_url(&url.0, &config.mail_from)
                .map_err(|e| anyhow::anyhow!("SPORTELLO_SMTP_URL / SPORTELLO_MAIL_FROM: {e}"))?;
            Some(Arc::new(mailer))
        }
        None => {
            tracing::warn!(
                "e-mail channel off: SPORTELLO_SMTP_URL is not set; e-mail notifications are \
                 recorded FAILED"
            );
            None
        }
    };
    if config.push_url.is_none() {
        tracing::warn!(
            "push channel off: SPORTELLO_PUSH_URL is not set; push notifications are recorded \
             FAILED"
        );
    }
    Ok(jobs::outbound::Channels {
        mailer,
        // The push gateway is the operator's own endpoint; callback URLs are the enti's.
        http: Arc::new(notify::HttpClient::new(
            notify::OutboundPolicy::unrestricted(),
        )),
        callbacks: Arc::new(notify::HttpClient::new(outbound_policy(config))),
        push_url: config.push_url.clone(),
        public_url: config.public_url.clone(),
    })
}

/// Where URLs the operator did not configure (callbacks) may point.
pub fn outbound_policy(config: &Config) -> notify::OutboundPolicy {
    notify::OutboundPolicy::restricted(config.outbound_allow_cidrs.clone())
}

/// A running Sportello: its address and the handles to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, lets in-flight ones and the current worker rounds finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server {
            let _ = server.await;
        }
        for w in self.workers {
            let _ = w.await;
        }
    }

    /// Resolves when the server task ends (after a shutdown signal).
    pub async fn wait(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Starts the API (when `listener` is given) and `config.workers` workers on `store`.
pub async fn start(
    config: &Config,
    store: SqlStore,
    listener: Option<TcpListener>,
) -> anyhow::Result<Running> {
    start_with_clock(config, store, listener, Arc::new(kernel::SystemClock)).await
}

/// [`start`] on a given clock (tests move a [`kernel::TestClock`] instead of sleeping).
pub async fn start_with_clock(
    config: &Config,
    store: SqlStore,
    listener: Option<TcpListener>,
    clock: Arc<dyn kernel::Clock>,
) -> anyhow::Result<Running> {
    let keyring = Arc::new(config.keyring()?);
    let writers = if store.backend() == store::Backend::Sqlite {
        1
    } else {
        4
    };
    let sql = Arc::new(store);
    let store: Arc<dyn Store> = sql.clone();
    let payments_store: Arc<dyn payments::ports::PaymentsStore> = sql.clone();
    let opendata_store: Arc<dyn opendata::ports::OpenDataStore> = sql;
    let settings = ApiSettings {
        admin_token: config.admin_token.as_ref().map(|s| s.0.clone()),
        trusted_proxies: config.trusted_proxies.clone(),
        auth_cache: config.auth_cache,
        default_limits: config.default_limits,
        public_url: config.public_url.clone(),
        session_ttl: config.session_ttl,
        email_validation_ttl: std::time::Duration::from_secs(48 * 3_600),
        email_enabled: config.smtp_url.is_some(),
        push_enabled: config.push_url.is_some(),
        outbound: outbound_policy(config),
        pagopa_node_key: config.pagopa_node_key.as_ref().map(|s| s.0.clone()),
        pagopa_node_cidrs: config.pagopa_node_cidrs.clone(),
    };
    match (&config.pagopa_node_key, config.pagopa_node_cidrs.is_empty()) {
        (None, true) => tracing::warn!(
            "pagoPA node endpoint /api/pagopa/paForNode accepts loopback callers only: set \
             SPORTELLO_PAGOPA_NODE_KEY and/or SPORTELLO_PAGOPA_NODE_CIDRS (and mutual TLS in \
             front) for the real node"
        ),
        (key, _) => tracing::info!(
            key = key.is_some(),
            cidrs = config.pagopa_node_cidrs.len(),
            "pagoPA node endpoint /api/pagopa/paForNode restricted"
        ),
    }
    let wakeups = Arc::new(jobs::Wakeups::default());
    let state = AppState::new(
        store.clone(),
        payments_store.clone(),
        opendata_store,
        keyring.clone(),
        settings,
        writers,
        wakeups.clone(),
        clock.clone(),
    );
    let (shutdown, shutdown_rx) = watch::channel(false);

    let channels = Arc::new(channels(config)?);
    let mut workers = Vec::new();
    for _ in 0..config.workers {
        let worker = jobs::Worker {
            store: store.clone(),
            keyring: keyring.clone(),
            config: jobs::WorkerConfig {
                default_limits: config.default_limits,
                reminder_lead_ms: config
                    .reminder_lead
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                ..config.job.clone()
            },
            events: Arc::new(MetricsEvents(state.metrics.clone())),
            wake: wakeups.clone(),
            channels: channels.clone(),
            clock: clock.clone(),
            payments: payments_store.clone(),
            notices: state.notices.clone(),
        };
        workers.push(tokio::spawn(worker.run(shutdown_rx.clone())));
    }

    workers.push(crate::reconciler::spawn(
        crate::reconciler::Reconciler {
            state: state.clone(),
            interval: config.recon_interval,
            drop_dir: config.recon_drop_dir.clone(),
            fetch: config.node_fetch.clone(),
        },
        shutdown_rx.clone(),
    ));

    workers.push(tokio::spawn(crate::pulls::run(
        state.clone(),
        shutdown_rx.clone(),
    )));
    if let Some(every) = config.opendata_statistics_every {
        workers.push(tokio::spawn(crate::statistics::run(
            state.clone(),
            every,
            shutdown_rx.clone(),
        )));
    }

    let (addr, server) = match listener {
        Some(listener) => {
            let addr = listener.local_addr()?;
            let app = api::router(state.clone());
            let mut rx = shutdown_rx;
            let server = tokio::spawn(async move {
                let result = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await;
                if let Err(e) = result {
                    tracing::error!(error.cause = %e, "HTTP server failed");
                }
            });
            (addr, server)
        }
        None => {
            let mut rx = shutdown_rx;
            let server = tokio::spawn(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            });
            (SocketAddr::from(([0, 0, 0, 0], 0)), server)
        }
    };
    Ok(Running {
        addr,
        state,
        shutdown,
        server: Some(server),
        workers,
    })
}
