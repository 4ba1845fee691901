//! The status callbacks to enti in the OpenAPI document: Sportello's own operations under
//! `/manage/services/{serviceId}/callback` (IO has none: enti poll getMessage).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        operations::set_service_callback,
        operations::get_service_callback,
        operations::delete_service_callback,
        operations::get_service_callback_deliveries,
    ),
    tags((name = "callbacks", description = "Sportello only: signed status events (processed, \
        rejected, read) POSTed to the service's own URL, and their delivery log")),
)]
pub struct CallbacksDoc;

/// The callbacks' part of the document.
pub fn document() -> utoipa::openapi::OpenApi {
    CallbacksDoc::openapi()
}

#[expect(
    dead_code,
    reason = "doc-only types: only their generated schemas are used"
)]
mod schemas {
    use utoipa::ToSchema;

    /// Where to POST the events and the secret they are signed with.
    #[derive(ToSchema)]
    pub struct CallbackConfiguration {
        /// Absolute http(s) URL without credentials or fragment, on a public address:
        /// loopback, private, link-local and other internal destinations are refused (here
        /// for an address or `localhost`, and at every connection for what a name resolves
        /// to) unless the operator allows the network (`SPORTELLO_OUTBOUND_ALLOW_CIDRS`).
        /// Stored and shown in its normalised form.
        #[schema(
            min_length = 1,
            max_length = 2048,
            example = "https://ente.example.it/hooks/sportello"
        )]
        pub url: String,
        /// 16–256 printable ASCII characters; sealed at rest, never shown again.
        #[schema(min_length = 16, max_length = 256)]
        pub secret: String,
    }

    /// The service's callback (never its secret) and how events are signed.
    #[derive(ToSchema)]
    pub struct CallbackView {
        #[schema(nullable = true)]
        pub url: Option<String>,
        pub configured: bool,
        /// The events sent: `processed`, `rejected`, `read`.
        pub events: Vec<String>,
        /// `X-Sportello-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
        pub signature_header: String,
        /// Refuse a signature whose `t` is further than this from your clock.
        pub replay_window_seconds: i64,
    }

    /// One event and its delivery.
    #[derive(ToSchema)]
    pub struct CallbackDeliveryItem {
        pub id: i64,
        pub service_id: String,
        pub message_id: String,
        /// `processed`, `rejected` or `read`.
        pub event: String,
        /// For `rejected`: `USER_NOT_FOUND` or `SERVICE_NOT_ALLOWED`.
        pub reason: Option<String>,
        /// When the event happened.
        pub at: String,
        /// `PENDING`, `DELIVERED` or `FAILED`.
        pub status: String,
        pub attempts: i64,
        /// The HTTP status of the last answer, when there was one.
        pub last_status_code: Option<i64>,
        /// Why the last attempt failed: `HTTP <status>`, or one text for every endpoint that
        /// gave no HTTP answer (unreachable, timed out, or not an allowed destination).
        pub last_error: Option<String>,
        pub created_at: String,
        pub updated_at: String,
    }

    /// A page of the delivery log, newest first.
    #[derive(ToSchema)]
    pub struct CallbackDeliveryLog {
        pub items: Vec<CallbackDeliveryItem>,
        /// Pass as `before` for the next page; absent on the last one.
        pub next_before: Option<i64>,
    }
}

#[expect(
    dead_code,
    reason = "doc-only operations: only their generated paths are used"
)]
mod operations {
    use super::schemas::*;
    use crate::problem::ProblemJson;

    /// Set the service's callback
    ///
    /// Sportello only. Events are POSTed as `{event_id, message_id, service_id, status, reason?,
    /// at}` with the header `X-Sportello-Signature`; 2xx is success, 408/429/5xx are retried with
    /// back-off, other 4xx end the delivery. Drop duplicates by `event_id`.
    #[utoipa::path(
        put,
        path = "/manage/services/{serviceId}/callback",
        operation_id = "setServiceCallback",
        tag = "callbacks",
        params(("serviceId" = String, Path, description = "ID of the service")),
        request_body = CallbackConfiguration,
        responses(
            (status = 200, description = "Callback set", body = CallbackView),
            (status = 400, description = "Invalid configuration: every faulty field is listed.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn set_service_callback() {}

    /// Read the service's callback
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}/callback",
        operation_id = "getServiceCallback",
        tag = "callbacks",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 200, description = "The callback (without its secret)", body = CallbackView),
            (status = 401, description = "Unauthorized", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn get_service_callback() {}

    /// Remove the service's callback
    ///
    /// No more events are created; queued deliveries end FAILED.
    #[utoipa::path(
        delete,
        path = "/manage/services/{serviceId}/callback",
        operation_id = "deleteServiceCallback",
        tag = "callbacks",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 204, description = "Removed"),
            (status = 401, description = "Unauthorized", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn delete_service_callback() {}

    /// The service's callback delivery log
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}/callback/deliveries",
        operation_id = "getServiceCallbackDeliveries",
        tag = "callbacks",
        params(
            ("serviceId" = String, Path, description = "ID of the service"),
            ("before" = Option<i64>, Query, description = "Only deliveries older than this id"),
            ("limit" = Option<i64>, Query, description = "1–1000, default 100"),
        ),
        responses(
            (status = 200, description = "Newest first", body = CallbackDeliveryLog),
            (status = 400, description = "Invalid limit", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn get_service_callback_deliveries() {}
}
