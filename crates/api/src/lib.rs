//! HTTP adapter of Sportello: the IO-compatible Services API under `/api/v1`, the citizen API
//! under `/api/citizen/v1`, the admin API under `/api/admin/v1`, health, readiness and
//! Prometheus metrics. Handlers are grouped one family per file under `routes/`; they parse the
//! request, call the use cases of the `ops` crate (through [`AppState::ops`]) and shape the
//! answer; every error leaves through [`problem::ApiError`].

pub mod auth;
pub mod citizen_auth;
pub mod csv;
pub mod intake;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod ratelimit;
pub mod router;
pub mod routes;
pub mod state;
pub mod wire;

pub use router::router;
pub use state::{ApiSettings, AppState};
