//! HTTP adapter of Sportello: the IO-compatible Services API under `/api/v1`, the citizen API
//! under `/api/citizen/v1`, the admin API under `/api/admin/v1`, health, readiness and
//! Prometheus metrics. One folder per domain (`organizations`, `messaging`, `citizen`, and
//! `platform` for what is no domain's) holds its handlers, wire types, OpenAPI part and route
//! table; [`router`] composes the tables. Handlers parse the request, call the use cases of the
//! `ops` crate (through [`AppState::ops`]) and shape the answer; every error leaves through
//! [`problem::ApiError`]. The rest of the crate root is what the domains share.

pub mod auth;
pub mod citizen;
pub mod citizen_auth;
pub mod csv;
pub mod intake;
pub mod messaging;
pub mod metrics;
pub mod openapi;
pub mod opendata;
pub mod organizations;
pub mod pagopa;
pub mod payments;
pub mod platform;
pub mod problem;
pub mod ratelimit;
pub mod request;
pub mod route_table;
pub mod router;
pub mod state;

pub use router::router;
pub use state::{ApiSettings, AppState};
