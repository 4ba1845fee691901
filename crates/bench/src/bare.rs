//! Ceiling A, the bare HTTP round trip: axum (the version Sportello uses, served the same way,
//! with connect info) with one no-op POST handler on Sportello's route shape that takes the body
//! and answers 201 with a small JSON body and a `Location`, as Sportello's submit does. For the
//! `inbox` bench it also answers `GET /api/citizen/v1/messages` with a fixed JSON body (a copy of
//! a real inbox page, so the same bytes cross the connection) without looking at anything.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const CREATED_BODY: &str = r#"{"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}"#;

/// The bare server, running.
pub struct BareServer {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl BareServer {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_page(Bytes::new()).await
    }

    /// Also answers `GET /api/citizen/v1/messages` with 200 and `page` as a JSON body.
    pub async fn start_with_page(page: Bytes) -> anyhow::Result<Self> {
        Self::serve(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?, page).await
    }

    /// Listens on `addr`.
    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<Self> {
        Self::serve(TcpListener::bind(addr).await?, Bytes::new()).await
    }

    async fn serve(listener: TcpListener, page: Bytes) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/api/v1/messages/{fiscal_code}", post(created))
            .route(
                "/api/citizen/v1/messages",
                get(move || {
                    let page = page.clone();
                    async move { ([(header::CONTENT_TYPE, "application/json")], page) }
                }),
            );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(Self { addr, stop, task })
    }

    /// Stops accepting and waits for open connections to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn created(Path(fiscal_code): Path<String>, _body: Bytes) -> impl IntoResponse {
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::LOCATION,
                format!("/api/v1/messages/{fiscal_code}/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            ),
        ],
        CREATED_BODY,
    )
}
