//! What the platform serves beside the domains: liveness, readiness, Prometheus metrics, the
//! OpenAPI document, and the operator's routes for the job queue and the audit log.

pub mod admin;
pub mod endpoints;

use crate::route_table::Routes;

/// Every route of the platform.
pub fn routes() -> Routes {
    Routes::new()
        .get("/healthz", endpoints::healthz)
        .get("/readyz", endpoints::readyz)
        .get("/metrics", endpoints::metrics)
        .get("/api/v1/openapi.json", endpoints::openapi)
        .get("/api/admin/v1/jobs", admin::list_jobs)
        .post("/api/admin/v1/jobs/{id}/retry", admin::retry_job)
        .get("/api/admin/v1/audit", admin::audit_log)
}
