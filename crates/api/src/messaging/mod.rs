//! The messaging domain over HTTP: IO's Services API under `/api/v1` (messages, limited
//! profiles, services and their keys, the publication workflow, batches, callbacks), the
//! public catalogue under `/api/citizen/v1`, and the operator's routes for services under
//! `/api/admin/v1` (reviews, featured services, limits, the callback log). Its wire types are
//! in `wire`, its part of the OpenAPI document in `openapi`.

pub mod admin;
pub mod batches;
pub mod callbacks;
pub mod catalogue;
pub mod lifecycle;
pub mod manage;
pub mod messages;
pub mod openapi;
pub mod profiles;
pub mod wire;

use axum::extract::DefaultBodyLimit;

use crate::route_table::{Method, Routes};

/// Every route of the messaging domain.
pub fn routes() -> Routes {
    Routes::new()
        // IO's Services API.
        .post("/api/v1/messages", messages::submit_in_body)
        .post("/api/v1/messages/{fiscal_code}", messages::submit_in_path)
        .get("/api/v1/messages/{fiscal_code}/{id}", messages::get_message)
        .post("/api/v1/profiles", profiles::get_profile_by_post)
        .get("/api/v1/profiles/{fiscal_code}", profiles::get_profile)
        .post("/api/v1/manage/services", manage::create_service)
        .get("/api/v1/manage/services", manage::list_services)
        .get("/api/v1/manage/services/topics", manage::topics)
        .get("/api/v1/manage/services/{service_id}", manage::get_service)
        .put(
            "/api/v1/manage/services/{service_id}",
            manage::update_service,
        )
        .delete(
            "/api/v1/manage/services/{service_id}",
            manage::delete_service,
        )
        .get(
            "/api/v1/manage/services/{service_id}/keys",
            manage::get_keys,
        )
        .put(
            "/api/v1/manage/services/{service_id}/keys/{key_type}",
            manage::regenerate_key,
        )
        .get("/api/v1/manage/services/{service_id}/usage", manage::usage)
        .put(
            "/api/v1/manage/services/{service_id}/review",
            lifecycle::review,
        )
        .put(
            "/api/v1/manage/services/{service_id}/logo",
            lifecycle::service_logo,
        )
        .post(
            "/api/v1/manage/services/{service_id}/release",
            lifecycle::release,
        )
        .get(
            "/api/v1/manage/services/{service_id}/release",
            lifecycle::published,
        )
        .delete(
            "/api/v1/manage/services/{service_id}/release",
            lifecycle::unpublish,
        )
        .get(
            "/api/v1/manage/services/{service_id}/history",
            lifecycle::history,
        )
        .put(
            "/api/v1/organizations/{organization_fiscal_code}/logo",
            lifecycle::organization_logo,
        )
        // Sportello's additions to it: callbacks and batches.
        .get(
            "/api/v1/manage/services/{service_id}/callback",
            callbacks::get,
        )
        .put(
            "/api/v1/manage/services/{service_id}/callback",
            callbacks::put,
        )
        .delete(
            "/api/v1/manage/services/{service_id}/callback",
            callbacks::delete,
        )
        .get(
            "/api/v1/manage/services/{service_id}/callback/deliveries",
            callbacks::service_log,
        )
        // An upload is streamed line by line, each line within the limit of one message.
        .route_with(Method::Post, "/api/v1/batches", batches::create, |route| {
            route.layer(DefaultBodyLimit::disable())
        })
        .get("/api/v1/batches/{batch_id}", batches::get)
        .post("/api/v1/batches/{batch_id}/cancel", batches::cancel)
        .get("/api/v1/batches/{batch_id}/report", batches::report)
        // The public catalogue, for citizens.
        .get("/api/citizen/v1/organizations", catalogue::organizations)
        .get(
            "/api/citizen/v1/organizations/{fiscal_code}/services",
            catalogue::organization_services,
        )
        .get(
            "/api/citizen/v1/organizations/{fiscal_code}/logo",
            catalogue::organization_logo,
        )
        .get("/api/citizen/v1/services/featured", catalogue::featured)
        .get("/api/citizen/v1/services/{service_id}", catalogue::service)
        .get(
            "/api/citizen/v1/services/{service_id}/logo",
            catalogue::service_logo,
        )
        // The operator's.
        .put(
            "/api/admin/v1/services/{service_id}/featured",
            admin::set_featured,
        )
        .get(
            "/api/admin/v1/services/{service_id}/limits",
            admin::get_limits,
        )
        .put(
            "/api/admin/v1/services/{service_id}/limits",
            admin::set_limits,
        )
        .get("/api/admin/v1/reviews", admin::list_reviews)
        .post(
            "/api/admin/v1/reviews/{service_id}/approve",
            admin::approve_review,
        )
        .post(
            "/api/admin/v1/reviews/{service_id}/reject",
            admin::reject_review,
        )
        .get("/api/admin/v1/callbacks", callbacks::admin_log)
}
