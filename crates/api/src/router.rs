//! Every route of the HTTP adapter, in one place.

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::routes::{
    admin, batches, callbacks, catalogue, citizen, lifecycle, manage, messages, ops, profiles,
};
use crate::state::AppState;

/// Largest request body accepted (a message is at most ~10 KB of markdown).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

// A batch line must hold anything a single submission may hold, plus its `fiscal_code`.
const _: () = assert!(messaging::batch::MAX_RECORD_BYTES >= MAX_BODY_BYTES + 1024);

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/messages", post(messages::submit_in_body))
        .route("/messages/{fiscal_code}", post(messages::submit_in_path))
        .route("/messages/{fiscal_code}/{id}", get(messages::get_message))
        .route("/profiles", post(profiles::get_profile_by_post))
        .route("/profiles/{fiscal_code}", get(profiles::get_profile))
        .route(
            "/manage/services",
            post(manage::create_service).get(manage::list_services),
        )
        .route("/manage/services/topics", get(manage::topics))
        .route(
            "/manage/services/{service_id}",
            get(manage::get_service)
                .put(manage::update_service)
                .delete(manage::delete_service),
        )
        .route("/manage/services/{service_id}/keys", get(manage::get_keys))
        .route("/manage/services/{service_id}/usage", get(manage::usage))
        .route(
            "/manage/services/{service_id}/callback",
            get(callbacks::get)
                .put(callbacks::put)
                .delete(callbacks::delete),
        )
        .route(
            "/manage/services/{service_id}/callback/deliveries",
            get(callbacks::service_log),
        )
        .route(
            "/manage/services/{service_id}/review",
            put(lifecycle::review),
        )
        .route(
            "/manage/services/{service_id}/logo",
            put(lifecycle::service_logo),
        )
        .route(
            "/manage/services/{service_id}/release",
            post(lifecycle::release)
                .get(lifecycle::published)
                .delete(lifecycle::unpublish),
        )
        .route(
            "/manage/services/{service_id}/history",
            get(lifecycle::history),
        )
        .route(
            "/organizations/{organization_fiscal_code}/logo",
            put(lifecycle::organization_logo),
        )
        .route(
            "/manage/services/{service_id}/keys/{key_type}",
            put(manage::regenerate_key),
        )
        .route(
            "/batches",
            post(batches::create).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/batches/{batch_id}", get(batches::get))
        .route("/batches/{batch_id}/cancel", post(batches::cancel))
        .route("/batches/{batch_id}/report", get(batches::report))
        .route("/openapi.json", get(ops::openapi));

    let admin = Router::new()
        .route(
            "/organizations",
            post(admin::create_organization).get(admin::list_organizations),
        )
        .route(
            "/organizations/{fiscal_code}/disable",
            post(admin::disable_organization),
        )
        .route(
            "/organizations/{fiscal_code}/enable",
            post(admin::enable_organization),
        )
        .route(
            "/organizations/{fiscal_code}/delegates",
            post(admin::create_delegate),
        )
        .route(
            "/organizations/{fiscal_code}/variations",
            post(admin::variation),
        )
        .route(
            "/organizations/{fiscal_code}/mandates",
            post(admin::add_mandate).get(admin::list_mandates),
        )
        .route(
            "/delegates/{id}/rotate-key",
            post(admin::rotate_delegate_key),
        )
        .route("/services/{service_id}/featured", put(admin::set_featured))
        .route(
            "/services/{service_id}/limits",
            get(admin::get_limits).put(admin::set_limits),
        )
        .route("/delegates", get(admin::list_delegates))
        .route("/delegates/{id}/disable", post(admin::disable_delegate))
        .route("/delegates/{id}/enable", post(admin::enable_delegate))
        .route("/citizens", post(admin::create_citizen))
        .route(
            "/citizens/{fiscal_code}/sessions",
            post(citizen::sessions::issue),
        )
        .route("/reviews", get(admin::list_reviews))
        .route("/reviews/{service_id}/approve", post(admin::approve_review))
        .route("/reviews/{service_id}/reject", post(admin::reject_review))
        .route("/audit", get(admin::audit_log))
        .route("/jobs", get(admin::list_jobs))
        .route("/callbacks", get(callbacks::admin_log))
        .route("/jobs/{id}/retry", post(admin::retry_job));

    let citizen = Router::new()
        .route("/organizations", get(catalogue::organizations))
        .route(
            "/organizations/{fiscal_code}/services",
            get(catalogue::organization_services),
        )
        .route(
            "/organizations/{fiscal_code}/logo",
            get(catalogue::organization_logo),
        )
        .route("/services/featured", get(catalogue::featured))
        .route("/services/{service_id}", get(catalogue::service))
        .route("/services/{service_id}/logo", get(catalogue::service_logo))
        // The citizen's own data (session bearer token), and the public e-mail validation link.
        .route(
            "/profile",
            get(citizen::profile::get_profile)
                .put(citizen::profile::put_profile)
                .delete(citizen::profile::delete_profile),
        )
        .route("/email-validation", get(citizen::profile::validate_email))
        .route(
            "/services/{service_id}/preferences",
            get(citizen::preferences::get_preference).put(citizen::preferences::put_preference),
        )
        .route("/messages", get(citizen::inbox::list_messages))
        .route("/messages/{id}", get(citizen::inbox::get_message))
        .route("/messages/{id}/status", put(citizen::inbox::change_status))
        .route(
            "/sessions",
            get(citizen::sessions::list_sessions).delete(citizen::sessions::revoke_all),
        )
        .route("/sessions/history", get(citizen::sessions::history))
        .route("/sessions/{id}", delete(citizen::sessions::revoke_session))
        .route("/export", get(citizen::export::export));

    Router::new()
        .nest("/api/v1", v1)
        .nest("/api/citizen/v1", citizen)
        .nest("/api/admin/v1", admin)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(|| async { crate::problem::ApiError::not_found("Not found", "No such route.") })
        .method_not_allowed_fallback(|| async { crate::problem::ApiError::MethodNotAllowed })
        .with_state(state)
}
