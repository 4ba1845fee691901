//! The HTTP adapter's router: one route table per domain, composed, under the layers every
//! route shares (metrics, body limit, problem+json for unknown routes and methods).

use axum::Router;

use crate::route_table::Routes;
use crate::state::AppState;
use crate::{citizen, messaging, opendata, organizations, pagopa, payments, platform};

/// Largest request body accepted (a message is at most ~10 KB of markdown).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

// A batch line must hold anything a single submission may hold, plus its `fiscal_code`.
const _: () = assert!(::messaging::batch::MAX_RECORD_BYTES >= MAX_BODY_BYTES + 1024);

/// Every route served, domain by domain (a new domain adds its table here).
pub fn routes() -> Routes {
    platform::routes()
        .merge(organizations::routes())
        .merge(messaging::routes())
        .merge(citizen::routes())
        .merge(payments::routes())
        .merge(pagopa::routes())
        .merge(opendata::routes())
}

/// The application: every domain's routes and the shared layers.
pub fn router(state: AppState) -> Router {
    routes()
        .into_router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(|| async { crate::problem::ApiError::not_found("Not found", "No such route.") })
        .method_not_allowed_fallback(|| async { crate::problem::ApiError::MethodNotAllowed })
        .with_state(state)
}
