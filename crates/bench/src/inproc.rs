//! Sportello's server in the bench process: `api::router` over the state `sportello::app`
//! builds, without the reconciler loop and the job workers (their rounds would overlap the
//! timed phases), on an ephemeral port of 127.0.0.1.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use sportello::config::Config;
use store::SqlStore;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The server of `serve` without its reconciler and workers, on port 0.
pub async fn serve(
    config: &Config,
    store: SqlStore,
) -> anyhow::Result<(
    SocketAddr,
    api::AppState,
    watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
)> {
    let keyring = Arc::new(config.keyring()?);
    let writers = if store.backend() == store::Backend::Sqlite {
        1
    } else {
        4
    };
    let sql = Arc::new(store);
    let messaging: Arc<dyn messaging::ports::Store> = sql.clone();
    let payments_store: Arc<dyn payments::ports::PaymentsStore> = sql.clone();
    let opendata_store: Arc<dyn opendata::ports::OpenDataStore> = sql;
    let settings = api::ApiSettings {
        admin_token: None,
        trusted_proxies: config.trusted_proxies.clone(),
        auth_cache: config.auth_cache,
        default_limits: config.default_limits,
        public_url: config.public_url.clone(),
        session_ttl: config.session_ttl,
        email_validation_ttl: Duration::from_secs(48 * 3_600),
        email_enabled: false,
        push_enabled: false,
        outbound: sportello::app::outbound_policy(config),
        pagopa_node_key: None,
        pagopa_node_cidrs: config.pagopa_node_cidrs.clone(),
    };
    let state = api::AppState::new(
        messaging,
        payments_store,
        opendata_store,
        keyring,
        settings,
        writers,
        Arc::new(jobs::Wakeups::default()),
        Arc::new(kernel::SystemClock),
    );
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let app = api::router(state.clone());
    let (stop, mut rx) = watch::channel(false);
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await;
    });
    Ok((addr, state, stop, server))
}
