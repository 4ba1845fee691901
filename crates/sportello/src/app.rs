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

/// Opens the database of `config`; applies migrations when `migrate` (always on SQLite).
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<SqlStore> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let store = SqlStore::connect(&config.database_url, config.db_max_connections).await?;
    if migrate || config.is_sqlite() {
        store.migrate().await?;
    } else {
        store.check_schema().await?;
    }
    Ok(store)
}

struct MetricsEvents(Arc<Metrics>);

impl jobs::JobEvents for MetricsEvents {
    fn processed(&self, rejected: bool) {
        self.0.job_processed(rejected);
    }
    fn failed(&self, dead: bool) {
        self.0.job_failed(dead);
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
    let keyring = Arc::new(config.keyring()?);
    let writers = if store.backend() == store::Backend::Sqlite {
        1
    } else {
        4
    };
    let store: Arc<dyn Store> = Arc::new(store);
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
    };
    let state = AppState::new(store.clone(), keyring.clone(), settings, writers);
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
            wake: state.jobs_ready.clone(),
            channels: channels.clone(),
        };
        workers.push(tokio::spawn(worker.run(shutdown_rx.clone())));
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
