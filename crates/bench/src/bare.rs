//! Ceiling A, the bare HTTP round trip: axum (the version Sportello uses, served the same way,
//! with connect info) with one no-op POST handler on Sportello's route shape that takes the body
//! and answers 201 with a small JSON body and a `Location`, as Sportello's submit does.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
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
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/api/v1/messages/{fiscal_code}", post(created));
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
