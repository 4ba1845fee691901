//! The open-data domain over HTTP: the manage API under `/api/opendata/v1` (datasets,
//! resource uploads, personal-data resolutions, publication, roles; authenticated by a
//! delegate's manage key), the public reads (per-resource REST query and downloads, the CKAN
//! action subset at `/api/3/action/…`, the DCAT-AP_IT catalogue at `/catalog.ttl|rdf|jsonld`,
//! SPARQL at `/sparql`, landing pages at `/dataset/{id}`), the operator's release of the
//! monthly private statistics (`stats`), and scheduled pulls of resources from URLs (`pulls`). See docs/OPENDATA.md.

pub mod auth;
pub mod catalog;
pub mod ckan;
pub mod manage;
pub mod pulls;
pub mod rows;
pub mod stats;
pub mod usage;
pub mod view;

use axum::extract::DefaultBodyLimit;

use crate::route_table::{Method, Routes};

/// Every route of the open-data domain.
pub fn routes() -> Routes {
    let upload_limit = usize::try_from(manage::MAX_UPLOAD).unwrap_or(usize::MAX);
    Routes::new()
        .post(
            "/api/opendata/v1/organizations/{organizationfiscalcode}/datasets",
            manage::create_dataset,
        )
        .get(
            "/api/opendata/v1/organizations/{organizationfiscalcode}/datasets",
            manage::list_datasets,
        )
        .get(
            "/api/opendata/v1/organizations/{organizationfiscalcode}/members",
            manage::list_members,
        )
        .put(
            "/api/opendata/v1/organizations/{organizationfiscalcode}/members/{delegate_id}",
            manage::put_member,
        )
        .get("/api/opendata/v1/datasets/{id}", manage::get_dataset)
        .put("/api/opendata/v1/datasets/{id}", manage::put_dataset)
        .route_with(
            Method::Post,
            "/api/opendata/v1/datasets/{id}/resources",
            manage::post_resource,
            move |route| route.layer(DefaultBodyLimit::max(upload_limit)),
        )
        .post("/api/opendata/v1/datasets/{id}/publish", manage::publish)
        .get("/api/opendata/v1/resources/{id}", manage::get_resource)
        .post(
            "/api/opendata/v1/resources/{id}/resolutions",
            manage::resolve,
        )
        .get("/api/opendata/v1/resources/{id}/rows", manage::query_rows)
        .get("/api/opendata/v1/resources/{id}/download", manage::download)
        .get("/api/3/action/{name}", ckan::action)
        .post("/api/3/action/{name}", ckan::action)
        .get("/catalog.ttl", catalog::turtle)
        .get("/catalog.rdf", catalog::rdf_xml)
        .get("/catalog.jsonld", catalog::json_ld)
        .get("/sparql", catalog::sparql_get)
        .post("/sparql", catalog::sparql_post)
        .get("/dataset/{id}", catalog::landing)
        .post("/api/admin/v1/opendata/statistics", stats::release)
        .post("/api/opendata/v1/datasets/{id}/pulls", pulls::create)
        .get("/api/opendata/v1/datasets/{id}/pulls", pulls::list)
        .delete("/api/opendata/v1/pulls/{id}", pulls::delete)
        .post("/api/admin/v1/opendata/pulls/run", pulls::run)
}
