//! The organizations (enti) over HTTP: the operator's routes under `/api/admin/v1` for
//! organizations, their delegates and mandates. Its wire types are in `wire`; the admin API is
//! not in the OpenAPI document (see `tests/routes_documented.rs`).

pub mod admin;
pub mod wire;

use crate::route_table::Routes;

/// Every route of the organizations domain.
pub fn routes() -> Routes {
    Routes::new()
        .post("/api/admin/v1/organizations", admin::create_organization)
        .get("/api/admin/v1/organizations", admin::list_organizations)
        .post(
            "/api/admin/v1/organizations/{fiscal_code}/disable",
            admin::disable_organization,
        )
        .post(
            "/api/admin/v1/organizations/{fiscal_code}/enable",
            admin::enable_organization,
        )
        .post(
            "/api/admin/v1/organizations/{fiscal_code}/delegates",
            admin::create_delegate,
        )
        .post(
            "/api/admin/v1/organizations/{fiscal_code}/variations",
            admin::variation,
        )
        .post(
            "/api/admin/v1/organizations/{fiscal_code}/mandates",
            admin::add_mandate,
        )
        .get(
            "/api/admin/v1/organizations/{fiscal_code}/mandates",
            admin::list_mandates,
        )
        .get("/api/admin/v1/delegates", admin::list_delegates)
        .post(
            "/api/admin/v1/delegates/{id}/disable",
            admin::disable_delegate,
        )
        .post(
            "/api/admin/v1/delegates/{id}/enable",
            admin::enable_delegate,
        )
        .post(
            "/api/admin/v1/delegates/{id}/rotate-key",
            admin::rotate_delegate_key,
        )
}
