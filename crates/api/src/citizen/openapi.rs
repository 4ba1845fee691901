//! The citizen API (`/api/citizen/v1`) in the OpenAPI document: Sportello's own operations,
//! shaped after IO's app back end (`reference/io.md` §3). Their paths are absolute (each path
//! item overrides the server with the host root), since the document's server is `/api/v1`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::ServerBuilder;
use utoipa::{Modify, OpenApi};

/// Where the citizen API lives.
pub const BASE: &str = "/api/citizen/v1";

#[derive(OpenApi)]
#[openapi(
    paths(
        operations::get_citizen_profile,
        operations::update_citizen_profile,
        operations::delete_citizen_profile,
        operations::validate_citizen_email,
        operations::get_citizen_service_preferences,
        operations::update_citizen_service_preferences,
        operations::get_citizen_messages,
        operations::get_citizen_message,
        operations::update_citizen_message_status,
        operations::list_citizen_sessions,
        operations::revoke_citizen_sessions,
        operations::revoke_citizen_session,
        operations::get_citizen_login_history,
        operations::export_citizen_data,
    ),
    modifiers(&CitizenApi),
    tags((name = "citizen", description = "Sportello only: the citizen's own profile, preferences, \
        inbox, sessions and data, with a session token (`/api/citizen/v1`)")),
)]
pub struct CitizenDoc;

/// The citizen API's part of the document.
pub fn document() -> utoipa::openapi::OpenApi {
    CitizenDoc::openapi()
}

/// The session scheme, and the server of the citizen paths.
struct CitizenApi;

impl Modify for CitizenApi {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "citizen_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A citizen session token: `Authorization: Bearer <token>`. Issued by \
                         the development login (`sportello admin citizen session`, or the admin \
                         API's `POST /api/admin/v1/citizens/{fiscal_code}/sessions`) until \
                         SPID/CIE login exists. A missing, unknown, revoked or expired token \
                         gets 401 with `WWW-Authenticate: Bearer`.",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.starts_with(BASE) {
                item.servers = Some(vec![
                    ServerBuilder::new()
                        .url("/")
                        .description(Some("This Sportello instance (citizen paths are absolute)"))
                        .build(),
                ]);
            }
        }
    }
}

/// Doc-only request bodies.
pub mod schemas {
    use std::collections::BTreeMap;

    use utoipa::ToSchema;

    /// `service_preferences_settings` in an update.
    #[derive(ToSchema)]
    pub struct ServicePreferencesSettingsUpdate {
        /// `AUTO` or `MANUAL` (a change starts a new settings version); `LEGACY` only while the
        /// profile is already in LEGACY mode.
        #[schema(example = "AUTO")]
        pub mode: String,
    }

    /// A profile update: every field but `version` is optional, and an absent (or `null`)
    /// field keeps its value, except `"email": null`, which removes the address. Unknown
    /// fields are refused; `fiscal_code` (the caller's) and `is_email_validated` are read-only
    /// and ignored, so that a profile read can be sent back changed.
    #[derive(ToSchema)]
    pub struct CitizenProfileUpdate {
        /// The stored version (0 to create the profile).
        #[schema(minimum = 0)]
        pub version: i64,
        /// A new address is unvalidated until the link e-mailed to it is opened.
        #[schema(format = "email", nullable = true)]
        pub email: Option<String>,
        pub is_email_enabled: Option<bool>,
        pub is_inbox_enabled: Option<bool>,
        /// Push notifications.
        pub is_webhook_enabled: Option<bool>,
        /// Non-empty, no repetitions; each one of `it_IT`, `en_GB`, `es_ES`, `de_DE`, `fr_FR`.
        #[schema(example = json!(["it_IT"]))]
        pub preferred_languages: Option<Vec<String>>,
        #[schema(minimum = 1)]
        pub accepted_tos_version: Option<i64>,
        pub service_preferences_settings: Option<ServicePreferencesSettingsUpdate>,
        /// Service id → channels blocked for it (`EMAIL`, `INBOX`, `WEBHOOK`); used in LEGACY
        /// mode. Replaces the whole map.
        pub blocked_inbox_or_channels: Option<BTreeMap<String, Vec<String>>>,
        /// `ENABLED` or `DISABLED`.
        #[schema(example = "ENABLED")]
        pub reminder_status: Option<String>,
        /// `FULL` or `ANONYMOUS`.
        #[schema(example = "FULL")]
        pub push_notifications_content_type: Option<String>,
        /// Read-only: ignored (must be the caller's own if given).
        pub fiscal_code: Option<String>,
        /// Read-only: ignored.
        pub is_email_validated: Option<bool>,
    }

    /// A per-service preference to store (IO `ServicePreference`).
    #[derive(ToSchema)]
    pub struct ServicePreferenceUpdate {
        pub is_inbox_enabled: bool,
        pub is_email_enabled: bool,
        pub is_webhook_enabled: bool,
        /// Default `true`.
        pub can_access_message_read_status: Option<bool>,
        /// Must be the profile's current settings version (see the GET).
        #[schema(minimum = 0)]
        pub settings_version: i64,
    }

    /// IO `MessageStatusChange`: `{"change_type": "reading", "is_read": true}`,
    /// `{"change_type": "archiving", "is_archived": …}` or `{"change_type": "bulk",
    /// "is_read": true, "is_archived": …}`. A message cannot be marked unread.
    #[derive(ToSchema)]
    pub struct MessageStatusChange {
        /// `reading`, `archiving` or `bulk`.
        #[schema(example = "reading")]
        pub change_type: String,
        /// `reading` and `bulk`: must be `true`.
        pub is_read: Option<bool>,
        /// `archiving` and `bulk`.
        pub is_archived: Option<bool>,
    }
}

/// Doc-only query parameters.
pub mod parameters {
    use utoipa::IntoParams;

    /// The inbox's paging and filters (IO `getMessages`, plus `service_id` and `search`).
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct InboxQuery {
        /// Items per page.
        #[param(minimum = 1, maximum = 100, default = 100)]
        pub page_size: Option<i64>,
        /// Only messages older than this id (the previous page's `next`).
        #[param(min_length = 26, max_length = 26)]
        pub maximum_id: Option<String>,
        /// Only messages newer than this id (the previous page's `prev`); alone, the page is
        /// the one just above it.
        #[param(min_length = 26, max_length = 26)]
        pub minimum_id: Option<String>,
        /// `true`: the archive; `false` (default): the inbox.
        pub archived: Option<bool>,
        /// Only messages of this service.
        pub service_id: Option<String>,
        /// Only messages whose subject contains this text (case-insensitive, 1 to 100
        /// characters): a linear scan of the citizen's own inbox, since subjects are stored
        /// encrypted.
        pub search: Option<String>,
        /// Accepted for IO compatibility and ignored: items are always enriched.
        pub enrich_result_data: Option<bool>,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct HistoryLimit {
        /// Logins to return, newest first.
        #[param(minimum = 1, maximum = 1000, default = 100)]
        pub limit: Option<i64>,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ExportFormat {
        /// `json` (default): everything held; `csv`: the messages only.
        #[param(example = "csv")]
        pub format: Option<String>,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ValidationToken {
        /// The token of the link e-mailed to the address.
        pub token: String,
    }
}

mod operations {
    #![expect(
        dead_code,
        reason = "doc-only stubs: only their generated path items are used"
    )]

    use super::parameters::{ExportFormat, HistoryLimit, InboxQuery, ValidationToken};
    use super::schemas::{CitizenProfileUpdate, MessageStatusChange, ServicePreferenceUpdate};
    use crate::citizen::wire::{
        CitizenMessage, CitizenProfileView, InboxPage, LoginHistory, MessageStatusView,
        RevokedSessions, ServicePreferenceView, SessionList,
    };
    use crate::problem::ProblemJson;

    /// Get the citizen's profile
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/profile",
        operation_id = "getCitizenProfile",
        tag = "citizen",
        responses(
            (status = 200, description = "The profile.", body = CitizenProfileView),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "The citizen has no profile yet.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn get_citizen_profile() {}

    /// Create or update the citizen's profile
    ///
    /// With no profile yet, `version` must be 0 and the profile is created with the defaults
    /// (inbox off, e-mail notifications on, push off, `it_IT`, AUTO mode, reminders on, full
    /// push content) changed by the given fields. Otherwise `version` must be the stored one,
    /// which then grows by one. A new e-mail address is unvalidated until its link is opened.
    #[utoipa::path(
        put,
        path = "/api/citizen/v1/profile",
        operation_id = "updateCitizenProfile",
        tag = "citizen",
        request_body = CitizenProfileUpdate,
        responses(
            (status = 200, description = "The profile as stored.", body = CitizenProfileView),
            (status = 400, description = "Invalid payload: `invalid_params` lists every field at fault; nothing is changed.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "Stale `version` (the detail gives the stored one), or a change back to LEGACY mode.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn update_citizen_profile() {}

    /// Delete the citizen's account
    ///
    /// Removes the profile, preferences, inbox, sessions (the current one included), pending
    /// e-mail validations and notifications. Messages stay for the enti that sent them, as
    /// status records without content.
    #[utoipa::path(
        delete,
        path = "/api/citizen/v1/profile",
        operation_id = "deleteCitizenProfile",
        tag = "citizen",
        responses(
            (status = 204, description = "Deleted."),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Nothing is held about the citizen.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn delete_citizen_profile() {}

    /// Confirm an e-mail address
    ///
    /// The link of the validation e-mail (public: the token is the credential). Answers a
    /// small HTML page in Italian and English.
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/email-validation",
        operation_id = "validateCitizenEmail",
        tag = "citizen",
        params(ValidationToken),
        responses(
            (status = 200, description = "The address is confirmed.", body = String, content_type = "text/html"),
            (status = 400, description = "The token is missing or malformed.", body = String, content_type = "text/html"),
            (status = 404, description = "The token is unknown, used or expired.", body = String, content_type = "text/html"),
        ),
    )]
    fn validate_citizen_email() {}

    /// Get the citizen's preference for a service
    ///
    /// In LEGACY mode, derived from the profile's blocked channels; in AUTO or MANUAL mode,
    /// the stored preference for the current settings version, or by default everything on
    /// (AUTO) or off (MANUAL).
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/services/{service_id}/preferences",
        operation_id = "getCitizenServicePreferences",
        tag = "citizen",
        params(("service_id" = String, Path, description = "ID of the service")),
        responses(
            (status = 200, description = "The preference.", body = ServicePreferenceView),
            (status = 400, description = "Malformed service ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Unknown service, or no profile.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn get_citizen_service_preferences() {}

    /// Set the citizen's preference for a service
    #[utoipa::path(
        put,
        path = "/api/citizen/v1/services/{service_id}/preferences",
        operation_id = "updateCitizenServicePreferences",
        tag = "citizen",
        params(("service_id" = String, Path, description = "ID of the service")),
        request_body = ServicePreferenceUpdate,
        responses(
            (status = 200, description = "The preference as stored.", body = ServicePreferenceView),
            (status = 400, description = "Invalid payload or service ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Unknown service, or no profile.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "The profile is in LEGACY mode, or `settings_version` is not the profile's.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn update_citizen_service_preferences() {}

    /// List the inbox
    ///
    /// Newest first, with ULID cursors: `prev` is the first item (pass it as `minimum_id`
    /// for newer messages), `next` the last one when older messages exist (pass it as
    /// `maximum_id`).
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/messages",
        operation_id = "getCitizenMessages",
        tag = "citizen",
        params(InboxQuery),
        responses(
            (status = 200, description = "A page of the inbox.", body = InboxPage),
            (status = 400, description = "A parameter out of range or malformed (`invalid_params` lists them).", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn get_citizen_messages() {}

    /// Get a message of the inbox, with its content
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/messages/{id}",
        operation_id = "getCitizenMessage",
        tag = "citizen",
        params(("id" = String, Path, description = "ID of the message")),
        responses(
            (status = 200, description = "The message.", body = CitizenMessage),
            (status = 400, description = "Malformed message ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No such message in the caller's inbox (the same answer for another citizen's message).", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn get_citizen_message() {}

    /// Mark a message read, or archive or unarchive it
    ///
    /// The first reading tells the sending service (its status callback), unless the citizen
    /// denied it `can_access_message_read_status`.
    #[utoipa::path(
        put,
        path = "/api/citizen/v1/messages/{id}/status",
        operation_id = "updateCitizenMessageStatus",
        tag = "citizen",
        params(("id" = String, Path, description = "ID of the message")),
        request_body = MessageStatusChange,
        responses(
            (status = 200, description = "The message's flags after the change.", body = MessageStatusView),
            (status = 400, description = "Invalid payload (e.g. `is_read: false`) or message ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No such message in the caller's inbox.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn update_citizen_message_status() {}

    /// List the citizen's active sessions
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/sessions",
        operation_id = "listCitizenSessions",
        tag = "citizen",
        responses(
            (status = 200, description = "Active sessions, newest first; `current` marks the caller's.", body = SessionList),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn list_citizen_sessions() {}

    /// Revoke every session of the citizen, the current one included
    #[utoipa::path(
        delete,
        path = "/api/citizen/v1/sessions",
        operation_id = "revokeCitizenSessions",
        tag = "citizen",
        responses(
            (status = 200, description = "How many sessions were revoked.", body = RevokedSessions),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn revoke_citizen_sessions() {}

    /// Revoke one session of the citizen
    #[utoipa::path(
        delete,
        path = "/api/citizen/v1/sessions/{id}",
        operation_id = "revokeCitizenSession",
        tag = "citizen",
        params(("id" = String, Path, description = "ID of the session")),
        responses(
            (status = 204, description = "Revoked."),
            (status = 400, description = "Malformed session ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "The caller has no active session with this ID.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn revoke_citizen_session() {}

    /// The citizen's login history
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/sessions/history",
        operation_id = "getCitizenLoginHistory",
        tag = "citizen",
        params(HistoryLimit),
        responses(
            (status = 200, description = "Every session, newest first, with its status (`ACTIVE`, `REVOKED`, `EXPIRED`).", body = LoginHistory),
            (status = 400, description = "`limit` out of range.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn get_citizen_login_history() {}

    /// Export everything held about the citizen
    ///
    /// JSON (`exported_at`, `fiscal_code`, `profile` or `null`, `service_preferences`,
    /// `sessions`, `messages` with their opened `content`, `notifications`), or with
    /// `format=csv` the messages as CSV (`id, created_at, sender_service_id, service_name,
    /// status, is_read, subject, markdown`). Sent as an attachment.
    #[utoipa::path(
        get,
        path = "/api/citizen/v1/export",
        operation_id = "exportCitizenData",
        tag = "citizen",
        params(ExportFormat),
        responses(
            (status = 200, description = "The export.", content(
                (Object = "application/json"),
                (String = "text/csv"),
            )),
            (status = 400, description = "Unknown `format`.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "No valid session token.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("citizen_session" = [])),
    )]
    fn export_citizen_data() {}
}
