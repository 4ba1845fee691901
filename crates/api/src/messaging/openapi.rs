//! The messaging domain's part of the OpenAPI 3.1 document (`/api/v1`), generated from the
//! code with utoipa; `crate::openapi::document` assembles it with the other domains' parts.
//!
//! Response schemas are derived from the wire types of [`crate::messaging::wire`]. Request bodies are
//! parsed by hand, field by field (`messaging::content`, `messaging::service_payload`), so
//! their schemas are doc-only types in [`schemas`] that mirror IO's definitions. Operations
//! are declared on doc-only stubs in `operations`, not on the handlers, because the handlers
//! take raw bodies.
//!
//! Names, required lists, bounds and patterns are those of IO's
//! `reference/io/services-api-openapi.yaml` (checked by `tests/openapi.rs`), so that the
//! document can stand in for IO's: where Sportello always sends a field that IO declares
//! optional, the field stays optional here; where Sportello is stricter than IO, the
//! description says so and the reference's bounds are kept.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

pub mod callbacks;

/// The Services API part of the document: its header (info, server, tags, security schemes)
/// and the operations of `/api/v1` except the callbacks ([`callbacks::document`]).
pub fn services() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sportello Services API",
        description = "The IO-compatible API for public administration services: send messages \
                       to citizens, read their limited profile, and manage services (cards and \
                       API keys). Operation ids, paths, parameters and schemas follow IO's \
                       Services API; Sportello's additions (the `Idempotency-Key` header, the \
                       422 response, `invalid_params` in problems) are marked as such. \
                       Sportello-only operations, not in IO's API: batches of messages \
                       (createBatch, getBatch, cancelBatch, getBatchReport) and the usage of a \
                       service against its quotas (getServiceUsage). The citizen API \
                       (`/api/citizen/v1`, tag `citizen`, session bearer token) is Sportello's \
                       too; its paths are absolute.",
    ),
    servers((url = "/api/v1", description = "This Sportello instance")),
    paths(
        operations::submit_message_with_fiscal_code_in_body,
        operations::submit_message,
        operations::get_message,
        operations::get_profile_by_post,
        operations::get_profile,
        operations::cms_create_service,
        operations::cms_get_services,
        operations::get_service_topics,
        operations::cms_get_service,
        operations::cms_update_service,
        operations::cms_delete_service,
        operations::cms_get_service_keys,
        operations::cms_regenerate_service_key,
        operations::cms_review_service,
        operations::cms_release_service,
        operations::cms_get_published_service,
        operations::cms_unpublish_service,
        operations::cms_get_service_history,
        operations::upload_organization_logo,
        operations::cms_update_service_logo,
        operations::get_service_usage,
        operations::create_batch,
        operations::get_batch,
        operations::cancel_batch,
        operations::get_batch_report,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "messages", description = "Messages to citizens"),
        (name = "profiles", description = "What a service may know of a citizen"),
        (name = "manage", description = "Services of the caller's organization"),
        (name = "manage-authorization", description = "API keys of a service"),
        (name = "manage-review", description = "Review of a service card"),
        (name = "manage-release", description = "Publication of a service"),
        (name = "organizations", description = "The caller's organization"),
        (name = "service-topics", description = "Topics a service card is filed under"),
        (name = "batches", description = "Sportello only: many messages in one upload"),
    ),
)]
struct ApiDoc;

/// The two API keys, both sent in `Ocp-Apim-Subscription-Key`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "SubscriptionKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Ocp-Apim-Subscription-Key",
                "The API key of a service: shown by cmsGetServiceKeys (or by the \
                 `sportello` CLI when the service is created).",
            ))),
        );
        components.add_security_scheme(
            "ManageSubscriptionKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Ocp-Apim-Subscription-Key",
                "The `manage` API key of a delegate of the organization, issued through the \
                 admin API.",
            ))),
        );
    }
}

/// `type: number` without a format: IO declares topic ids and pagination counters as numbers.
pub fn number() -> RefOr<Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Number)
        .into()
}

/// `BatchView.status`: `RUNNING` until every line has an outcome, then `COMPLETED`;
/// `CANCELLED` once cancelled (pending lines are then never sent). Also when the service is
/// deleted, its organization disabled or the uploading key revoked, the remaining lines are
/// rejected with that reason and the batch ends `COMPLETED`.
pub fn batch_status() -> RefOr<Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["RUNNING", "COMPLETED", "CANCELLED"]))
        .description(Some(
            "`RUNNING` until every line has an outcome, then `COMPLETED`; `CANCELLED` once \
             cancelled (its pending lines are never sent, counted in `cancelled`). When the \
             service is deleted, its organization disabled or the key that uploaded the batch \
             revoked, the lines not yet sent are rejected with that reason.",
        ))
        .examples(["RUNNING"])
        .into()
}

/// `BatchView.format`: the format of the upload.
pub fn batch_format() -> RefOr<Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["ndjson", "csv"]))
        .description(Some(
            "The format of the upload: `ndjson` (`application/x-ndjson`) or `csv` (`text/csv`).",
        ))
        .examples(["csv"])
        .into()
}

/// `LimitedProfile.preferred_languages`: IO's languages, inline as in the reference.
pub fn preferred_languages() -> RefOr<Schema> {
    utoipa::openapi::ArrayBuilder::new()
        .items(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .enum_values(Some(["it_IT", "en_GB", "es_ES", "de_DE", "fr_FR"]))
                .examples(["it_IT"]),
        )
        .description(Some(
            "The citizen's preferred written or spoken languages, in order of preference: an \
             ISO 639-1 language code, an underscore and an ISO 3166-1 country code.",
        ))
        .into()
}

/// Doc-only types: the schemas of request bodies and of the formatted strings and numbers
/// that IO names (`FiscalCode`, `Timestamp`, …). None of them is ever built.
pub mod schemas {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};
    use utoipa::{PartialSchema, ToSchema};

    /// The regular expression of a personal fiscal code in IO's `FiscalCode` path parameter.
    pub const FISCAL_CODE_PATTERN: &str =
        "[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]";

    /// A named schema written by hand: a formatted string or a bounded number.
    macro_rules! named_schema {
        ($(#[doc = $doc:literal])+ $name:ident => $schema:expr) => {
            $(#[doc = $doc])+
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    let doc: &[&str] = &[$($doc),+];
                    let description = doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
                    let builder: ObjectBuilder = $schema;
                    builder.description(Some(description)).into()
                }
            }

            impl ToSchema for $name {}
        };
    }

    fn string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String)
    }

    named_schema! {
        /// User's fiscal code, all upper case. Sportello also verifies the month, the day and
        /// the check character; `AAAAAA00A00A000A` is IO's sandbox code.
        FiscalCode => string()
            .min_length(Some(16))
            .max_length(Some(16))
            .pattern(Some(FISCAL_CODE_PATTERN))
            .examples(["SPNDNL80R13C555X"])
    }

    named_schema! {
        /// Fiscal code of the doctor that made the prescription (checked as a `FiscalCode`).
        PrescriberFiscalCode => string()
            .min_length(Some(16))
            .max_length(Some(16))
            .pattern(Some(FISCAL_CODE_PATTERN))
            .examples(["TCNZRO80R13C555Y"])
    }

    named_schema! {
        /// Organization fiscal code: 11 digits, the last a check digit that Sportello verifies.
        OrganizationFiscalCode => string()
            .pattern(Some("^[0-9]{11}$"))
            .examples(["12345678901"])
    }

    named_schema! {
        /// A date-time field in ISO-8601 format and UTC timezone (an explicit offset is
        /// accepted and converted to UTC).
        Timestamp => string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2018-10-13T00:00:00.000Z"])
    }

    named_schema! {
        /// This parameter specifies for how long (in seconds) the system will try to deliver
        /// the message to the channels configured by the user.
        TimeToLiveSeconds => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(3600))
            .maximum(Some(604_800))
            .default(Some(3600.into()))
            .examples([3600])
    }

    named_schema! {
        /// The ID of the service (a ULID in Sportello).
        ServiceId => string().min_length(Some(1))
    }

    named_schema! {
        /// Describes a single IP or a range of IPs. Sportello also accepts IPv6 addresses and
        /// ranges, which this (IO's) pattern does not describe.
        CIDR => string()
            .pattern(Some("^([0-9]{1,3}[.]){3}[0-9]{1,3}(/([0-9]|[1-2][0-9]|3[0-2]))?$"))
    }

    named_schema! {
        /// The field *Numero ricetta elettronica* identifies the medical prescription at
        /// national level.
        PrescriptionNRE => string().min_length(Some(15)).max_length(Some(15))
    }

    named_schema! {
        /// The field *Identificativo Unico di Prescrizione* identifies the medical
        /// prescription at regional level.
        PrescriptionIUP => string().min_length(Some(1)).max_length(Some(16))
    }

    /// The kind of a message: `ADVANCED` messages report read and payment status back.
    #[derive(ToSchema)]
    #[schema(
        rename_all = "SCREAMING_SNAKE_CASE",
        default = "STANDARD",
        example = "STANDARD"
    )]
    pub enum FeatureLevelType {
        Standard,
        Advanced,
    }

    /// The processing status of a message.
    #[derive(ToSchema)]
    #[schema(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum MessageStatusValue {
        Rejected,
        Accepted,
        Throttled,
        Failed,
        Processed,
    }

    /// Whether the citizen has read the message (`ADVANCED` messages only; Sportello never
    /// answers `UNAVAILABLE`).
    #[derive(ToSchema)]
    #[schema(rename_all = "SCREAMING_SNAKE_CASE", example = "UNREAD")]
    pub enum ReadStatus {
        Unavailable,
        Unread,
        Read,
    }

    /// Where a notification channel stands: `SENT`, `THROTTLED` (temporary failure, retried
    /// until the message expires), `EXPIRED` (the message's time to live ran out first) or
    /// `FAILED` (refused, or the channel is off).
    #[derive(ToSchema)]
    #[schema(rename_all = "SCREAMING_SNAKE_CASE", example = "SENT")]
    pub enum NotificationChannelStatusValue {
        Sent,
        Throttled,
        Expired,
        Failed,
    }

    /// The state of the payment notice of an `ADVANCED` payment message.
    #[derive(ToSchema)]
    #[schema(rename_all = "SCREAMING_SNAKE_CASE", example = "NOT_PAID")]
    pub enum PaymentStatus {
        Paid,
        NotPaid,
    }

    /// When the recipient must accept a precondition before reading remote content.
    #[derive(ToSchema)]
    #[schema(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum HasPrecondition {
        Always,
        Once,
        Never,
    }

    /// Service publication status: `published` (visible to citizens) or `unpublished`.
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum CmsServicePublicationStatusType {
        Published,
        Unpublished,
    }

    /// Service lifecycle status: `draft`, `submitted` (under review, immutable), `approved`,
    /// `rejected` (back to draft until modified), `deleted`.
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum CmsServiceLifecycleStatusType {
        Draft,
        Submitted,
        Approved,
        Rejected,
        Deleted,
    }

    /// Publication state of a service (Sportello's addition to IO's lifecycle): `published`
    /// (citizens see the card as last approved) or `unpublished`.
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum CmsServicePublicationState {
        Published,
        Unpublished,
    }

    /// Status kind of a history item: `publication` for a publication event, `lifecycle`
    /// for a lifecycle event.
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum CmsServiceHistoryStatusKind {
        Publication,
        Lifecycle,
    }

    /// The state a history item reached: a lifecycle status (`kind` `lifecycle`) or a
    /// publication status (`kind` `publication`).
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum CmsServiceHistoryStatusType {
        Draft,
        Submitted,
        Approved,
        Rejected,
        Deleted,
        Published,
        Unpublished,
    }

    /// Order of the history items, by time.
    #[derive(ToSchema)]
    #[schema(rename_all = "UPPERCASE", default = "DESC")]
    pub enum HistoryOrder {
        Asc,
        Desc,
    }

    /// Which of the two keys of a service.
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum CmsSubscriptionKeyType {
        Primary,
        Secondary,
    }

    /// Whether a service is local or national.
    #[derive(ToSchema)]
    #[schema(rename_all = "UPPERCASE")]
    pub enum ServiceScope {
        Local,
        National,
    }

    /// Fields common to the content of a message as submitted and as read back.
    #[derive(ToSchema)]
    pub struct MessageContentBase {
        /// The subject of the message.
        #[schema(min_length = 10, max_length = 120, example = "Welcome new user !")]
        pub subject: String,
        /// The full version of the message, in plain text or Markdown format.
        #[schema(min_length = 80, max_length = 10000)]
        pub markdown: String,
        /// When true, messages won't trigger email notifications (only push).
        #[schema(nullable = false)]
        pub require_secure_channels: Option<bool>,
    }

    /// Metadata needed to process pagoPA payments.
    #[derive(ToSchema)]
    pub struct PaymentDataBase {
        /// Amount of payment in euro cents, at most the sending service's
        /// `max_allowed_payment_amount`.
        #[schema(minimum = 1, maximum = 9_999_999_999_i64)]
        pub amount: i64,
        /// The pagoPA "Numero Avviso" (Sportello also verifies the IUV check digits).
        #[schema(pattern = "^[0123][0-9]{17}$")]
        pub notice_number: String,
        #[schema(nullable = false, default = false)]
        pub invalid_after_due_date: Option<bool>,
    }

    /// Metadata needed to explicit payment's payee.
    #[derive(ToSchema)]
    pub struct Payee {
        pub fiscal_code: OrganizationFiscalCode,
    }

    /// Payment data as submitted: without a payee, the sending organization is the payee.
    #[derive(ToSchema)]
    pub struct PaymentData {
        #[serde(flatten)]
        pub base: PaymentDataBase,
        #[schema(nullable = false)]
        pub payee: Option<Payee>,
    }

    /// Payment data as read back: the payee is always set.
    #[derive(ToSchema)]
    pub struct PaymentDataWithRequiredPayee {
        #[serde(flatten)]
        pub base: PaymentDataBase,
        pub payee: Payee,
    }

    /// Metadata needed to process medical prescriptions.
    #[derive(ToSchema)]
    pub struct PrescriptionData {
        pub nre: PrescriptionNRE,
        #[schema(nullable = false)]
        pub iup: Option<PrescriptionIUP>,
        #[schema(nullable = false)]
        pub prescriber_fiscal_code: Option<PrescriberFiscalCode>,
    }

    /// Legacy PEC "legal message" metadata, kept for compatibility.
    #[derive(ToSchema)]
    pub struct LegalData {
        #[schema(min_length = 1)]
        pub sender_mail_from: String,
        #[schema(default = false)]
        pub has_attachment: bool,
        #[schema(min_length = 1)]
        pub message_unique_id: String,
        #[schema(min_length = 1, nullable = false)]
        pub original_message_url: Option<String>,
        #[schema(nullable = false)]
        pub pec_server_service_id: Option<ServiceId>,
    }

    /// Access token to retrieve an EU Covid certificate. Sportello refuses such messages
    /// with 403.
    #[derive(ToSchema)]
    pub struct EUCovidCert {
        pub auth_code: String,
    }

    /// Remote ("third party") content of a message. Sportello has no remote-content
    /// configurations yet and refuses such messages with 403.
    #[derive(ToSchema)]
    pub struct ThirdPartyData {
        #[schema(min_length = 1)]
        pub id: String,
        #[schema(min_length = 1, nullable = false)]
        pub original_sender: Option<String>,
        #[schema(nullable = false)]
        pub original_receipt_date: Option<Timestamp>,
        #[schema(nullable = false, default = false)]
        pub has_attachments: Option<bool>,
        #[schema(nullable = false, default = false)]
        pub has_remote_content: Option<bool>,
        #[schema(nullable = false)]
        pub has_precondition: Option<HasPrecondition>,
        #[schema(min_length = 1, nullable = false)]
        pub summary: Option<String>,
        /// A ULID.
        #[schema(nullable = false, format = "Ulid")]
        pub configuration_id: Option<String>,
    }

    /// The content of a message as submitted.
    #[derive(ToSchema)]
    pub struct MessageContent {
        #[serde(flatten)]
        pub base: MessageContentBase,
        #[schema(nullable = false)]
        pub payment_data: Option<PaymentData>,
        #[schema(nullable = false)]
        pub prescription_data: Option<PrescriptionData>,
        #[schema(nullable = false)]
        pub legal_data: Option<LegalData>,
        #[schema(nullable = false)]
        pub eu_covid_cert: Option<EUCovidCert>,
        #[schema(nullable = false)]
        pub third_party_data: Option<ThirdPartyData>,
        #[schema(nullable = false)]
        pub due_date: Option<Timestamp>,
    }

    /// The content of a message as read back. Sportello never stores `eu_covid_cert` or
    /// `third_party_data` (it refuses them), so they are never returned.
    #[derive(ToSchema)]
    pub struct NewMessageContent {
        #[serde(flatten)]
        pub base: MessageContentBase,
        #[schema(nullable = false)]
        pub payment_data: Option<PaymentDataWithRequiredPayee>,
        #[schema(nullable = false)]
        pub due_date: Option<Timestamp>,
        #[schema(nullable = false)]
        pub prescription_data: Option<PrescriptionData>,
        #[schema(nullable = false)]
        pub legal_data: Option<LegalData>,
    }

    /// Default addresses for notifying the recipient when the profile has none (checked,
    /// then ignored, as in IO).
    #[derive(ToSchema)]
    pub struct DefaultAddresses {
        #[schema(nullable = false, format = Email, example = "foobar@example.com")]
        pub email: Option<String>,
    }

    /// A message to submit. `fiscal_code` is required by `POST /messages` and refused by
    /// `POST /messages/{fiscal_code}`.
    #[derive(ToSchema)]
    pub struct NewMessage {
        #[schema(nullable = false)]
        pub time_to_live: Option<TimeToLiveSeconds>,
        pub content: MessageContent,
        #[schema(schema_with = DefaultAddresses::schema)]
        pub default_addresses: Option<DefaultAddresses>,
        #[schema(nullable = false)]
        pub fiscal_code: Option<FiscalCode>,
        #[schema(nullable = false)]
        pub feature_level_type: Option<FeatureLevelType>,
    }

    /// The citizen whose profile is asked for.
    #[derive(ToSchema)]
    pub struct FiscalCodePayload {
        pub fiscal_code: FiscalCode,
    }

    /// Card metadata of a service, as sent and as returned.
    #[derive(ToSchema)]
    pub struct CmsServiceBaseMetadata {
        #[schema(min_length = 1, nullable = false)]
        pub web_url: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub app_ios: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub app_android: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub tos_url: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub privacy_url: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub address: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub phone: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub email: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub pec: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub cta: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub token_name: Option<String>,
        #[schema(min_length = 1, nullable = false)]
        pub support_url: Option<String>,
        pub scope: ServiceScope,
    }

    /// Card metadata on a request payload.
    #[derive(ToSchema)]
    pub struct CmsServicePayloadMetadata {
        #[serde(flatten)]
        pub base: CmsServiceBaseMetadata,
        /// The topic id (see getServiceTopics); Sportello refuses unknown topics.
        #[schema(schema_with = crate::messaging::openapi::number, example = 3)]
        pub topic_id: f64,
    }

    /// A payload used to create or update a service.
    #[derive(ToSchema)]
    pub struct CmsServicePayload {
        pub metadata: CmsServicePayloadMetadata,
        #[serde(flatten)]
        pub data: crate::messaging::wire::CmsServiceData,
    }

    /// A request to review a service.
    #[derive(ToSchema)]
    pub struct CmsReviewRequest {
        /// Flag to request an automatic service publication on service approval.
        #[schema(example = true)]
        pub auto_publish: bool,
    }

    /// A logo. Sportello accepts only a PNG image that decodes, at most 512 KiB once decoded;
    /// the whole request body is also limited to 256 KiB (413 beyond).
    #[derive(ToSchema)]
    pub struct Logo {
        /// The PNG image, base64-encoded (standard alphabet, with padding).
        #[schema(format = Byte, content_encoding = "base64", min_length = 1)]
        pub logo: String,
    }
}

/// Doc-only schemas of Sportello-only operations (no counterpart in IO's reference).
pub mod sportello {
    use utoipa::ToSchema;

    use super::schemas::Timestamp;

    /// Messages accepted in one quota period, against the service's quota.
    #[derive(ToSchema)]
    pub struct QuotaUsage {
        /// Messages accepted in the period so far.
        #[schema(minimum = 0, example = 1200)]
        pub used: u64,
        /// The quota of the period; `null` when the service has none.
        #[schema(required = true, minimum = 0, example = 10000)]
        pub limit: Option<u64>,
        /// `limit - used` (never below 0); `null` when the service has no quota.
        #[schema(required = true, minimum = 0, example = 8800)]
        pub remaining: Option<u64>,
        /// When the period ends and `used` starts again from 0.
        pub resets_at: Timestamp,
    }

    /// The rate limit of the service's submissions (a token bucket).
    #[derive(ToSchema)]
    pub struct RateLimit {
        /// Requests allowed per second, on average.
        #[schema(minimum = 0, example = 10)]
        pub per_second: u32,
        /// Requests allowed at once, beyond the average.
        #[schema(minimum = 0, example = 20)]
        pub burst: u32,
    }

    /// Messages the service sent today and this month against its quotas (over the limit,
    /// submissions are refused with 429), and its rate limit.
    #[derive(ToSchema)]
    pub struct ServiceUsage {
        /// The current day (UTC).
        pub daily: QuotaUsage,
        /// The current month (UTC).
        pub monthly: QuotaUsage,
        pub rate: RateLimit,
    }

    /// What became of a line of a batch.
    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum BatchLineOutcome {
        Accepted,
        Rejected,
        Pending,
        Cancelled,
    }

    /// One line of a batch report: the outcome of one line of the upload.
    #[derive(ToSchema)]
    pub struct BatchReportLine {
        /// The line of the upload (1-based; a CSV header is line 1, a quoted CSV field may
        /// span lines and the record is numbered by its first line).
        #[schema(minimum = 1, example = 2)]
        pub line: i64,
        /// `accepted` (the message was created), `rejected` (see `reason`), `pending` (not
        /// processed yet) or `cancelled` (pending when the batch was cancelled).
        pub outcome: BatchLineOutcome,
        /// The ID of the message created (`accepted` lines only).
        #[schema(nullable = false, example = "01J9ZQ3V5T8K2M4N6P8R0S2T4V")]
        pub message_id: Option<String>,
        /// Why the line was refused (`rejected` lines only).
        #[schema(nullable = false, example = "content.subject: too short")]
        pub reason: Option<String>,
    }
}

/// Doc-only parameters shared by several operations.
pub mod parameters {
    use utoipa::IntoParams;

    /// The recipient in the path.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct FiscalCodePath {
        /// The fiscal code of the user, all upper case.
        #[param(inline)]
        pub fiscal_code: super::schemas::FiscalCode,
    }

    /// Sportello's idempotent submission (beyond IO).
    #[derive(IntoParams)]
    #[into_params(parameter_in = Header)]
    pub struct IdempotencyKey {
        /// Sportello only, beyond IO: a client-chosen key that makes retrying a submission
        /// safe. A retry with the same key and the same request answers with the message
        /// first created; the same key with a different request is refused with 422. Sent
        /// more than once, the header is refused with 400.
        #[param(
            rename = "Idempotency-Key",
            nullable = false,
            min_length = 1,
            max_length = 255,
            pattern = "^[\\x21-\\x7E]+$"
        )]
        pub idempotency_key: Option<String>,
    }

    /// Sportello's idempotent batch upload.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Header)]
    pub struct BatchIdempotencyKey {
        /// A client-chosen key that makes retrying an upload safe: an upload with a key the
        /// service already used answers 202 with the batch first created, which is not
        /// created again. A batch takes its key only when its upload is complete (the 202):
        /// an upload cut short owns no key, so its retry is stored in full. Sent more than
        /// once, the header is refused with 400.
        #[param(
            rename = "Idempotency-Key",
            nullable = false,
            min_length = 1,
            max_length = 255,
            pattern = "^[\\x21-\\x7E]+$"
        )]
        pub idempotency_key: Option<String>,
    }

    /// The format of `getBatchReport`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ReportFormat {
        /// `ndjson` (the default) or `csv` (as does `Accept: text/csv`); any other value is
        /// refused with 400.
        #[param(nullable = false, example = "csv")]
        pub format: Option<String>,
    }

    /// Paging of `cmsGetServices`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct Paging {
        /// The number of services to return.
        #[param(minimum = 1, maximum = 100, default = 20)]
        pub limit: Option<i64>,
        /// The number of services to skip before starting to collect the result set.
        #[param(minimum = 0, default = 0)]
        pub offset: Option<i64>,
    }

    /// Paging of `cmsGetServiceHistory`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct HistoryPaging {
        /// Order direction (by time).
        #[param(inline)]
        pub order: Option<super::schemas::HistoryOrder>,
        /// The number of history items to return.
        #[param(minimum = 1, maximum = 100, default = 10)]
        pub limit: Option<i64>,
        /// Token to retrieve the next page of results: the `continuationToken` of the previous
        /// page (with the same `order`).
        #[param(rename = "continuationToken")]
        pub continuation_token: Option<String>,
    }
}

/// The operations of `/api/v1`, declared on stubs: see the handlers in `crate::messaging`.
mod operations {
    #![expect(
        dead_code,
        reason = "doc-only stubs: only their generated path items are used"
    )]

    use super::parameters::{
        BatchIdempotencyKey, FiscalCodePath, HistoryPaging, IdempotencyKey, Paging, ReportFormat,
    };
    use super::schemas::{
        CmsReviewRequest, CmsServicePayload, CmsSubscriptionKeyType, FiscalCodePayload, Logo,
        NewMessage, OrganizationFiscalCode,
    };
    use super::sportello::{BatchReportLine, ServiceUsage};
    use crate::messaging::batches::{BatchView, CreatedBatch};
    use crate::messaging::wire::{
        CmsServiceHistory, CmsServiceLifecycle, CmsServicePagination, CmsServicePublication,
        CmsServiceTopicList, CmsSubscriptionKeys, CreatedMessage,
        ExternalMessageResponseWithContent, LimitedProfile,
    };
    use crate::problem::ProblemJson;

    /// Submit a Message passing the user fiscal_code in the request body
    ///
    /// Submits a message to a user with STANDARD or ADVANCED features based on
    /// `feature_level_type`. Before sending any message, the sender must call `getProfile`
    /// and check that the profile exists and that `sender_allowed` is `true`.
    #[utoipa::path(
        post,
        path = "/messages",
        operation_id = "submitMessageforUserWithFiscalCodeInBody",
        tag = "messages",
        params(IdempotencyKey),
        request_body = NewMessage,
        responses(
            (status = 201, description = "Message created.", body = CreatedMessage,
                headers(("Location" = String, description = "Location (URL) of the created message: a GET returns its status and details."))),
            (status = 400, description = "Invalid payload: every field at fault is listed in `invalid_params`.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, the recipient is not among `authorized_recipients` while the service is a draft, or the content is of a kind Sportello does not send (`eu_covid_cert`, `third_party_data`).", body = ProblemJson, content_type = "application/problem+json"),
            (status = 422, description = "Sportello only: the `Idempotency-Key` was already used by this service for a different request.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "The message cannot be delivered.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn submit_message_with_fiscal_code_in_body() {}

    /// Submit a Message passing the user fiscal_code as path parameter
    ///
    /// Submits a message to a user; the body must not repeat `fiscal_code`. Before sending any
    /// message, the sender must call `getProfile` and check that the profile exists and that
    /// `sender_allowed` is `true`.
    #[utoipa::path(
        post,
        path = "/messages/{fiscal_code}",
        operation_id = "submitMessageforUser",
        tag = "messages",
        params(FiscalCodePath, IdempotencyKey),
        request_body = NewMessage,
        responses(
            (status = 201, description = "Message created.", body = CreatedMessage,
                headers(("Location" = String, description = "Location (URL) of the created message: a GET returns its status and details."))),
            (status = 400, description = "Invalid payload: every field at fault is listed in `invalid_params`.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, the recipient is not among `authorized_recipients` while the service is a draft, or the content is of a kind Sportello does not send (`eu_covid_cert`, `third_party_data`).", body = ProblemJson, content_type = "application/problem+json"),
            (status = 422, description = "Sportello only: the `Idempotency-Key` was already used by this service for a different request.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "The message cannot be delivered.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn submit_message() {}

    /// Get Message
    ///
    /// The message with this ID, sent by the calling service to this citizen. For `ADVANCED`
    /// messages, the read status and (for payment messages) the payment status too.
    #[utoipa::path(
        get,
        path = "/messages/{fiscal_code}/{id}",
        operation_id = "getMessage",
        tag = "messages",
        params(FiscalCodePath, ("id" = String, Path, description = "The ID of the message.")),
        responses(
            (status = 200, description = "Message found.", body = ExternalMessageResponseWithContent),
            (status = 400, description = "Invalid fiscal code or message ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the message was sent by another service.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No message found for the provided ID.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn get_message() {}

    /// Get a User Profile using POST
    ///
    /// The preferences of the citizen whose fiscal code is in the body. `sender_allowed` is
    /// `false` when the citizen has disabled the calling service.
    #[utoipa::path(
        post,
        path = "/profiles",
        operation_id = "getProfileByPOST",
        tag = "profiles",
        request_body = FiscalCodePayload,
        responses(
            (status = 200, description = "Found.", body = LimitedProfile),
            (status = 400, description = "Invalid payload.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the recipient is not among `authorized_recipients` while the service is a draft.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No user found for the provided fiscal code.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn get_profile_by_post() {}

    /// Get a User Profile
    ///
    /// The preferences of the citizen with this fiscal code. `sender_allowed` is `false` when
    /// the citizen has disabled the calling service.
    #[utoipa::path(
        get,
        path = "/profiles/{fiscal_code}",
        operation_id = "getProfile",
        tag = "profiles",
        params(FiscalCodePath),
        responses(
            (status = 200, description = "Found.", body = LimitedProfile),
            (status = 400, description = "Invalid fiscal code.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the recipient is not among `authorized_recipients` while the service is a draft.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No user found for the provided fiscal code.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn get_profile() {}

    /// Create a new service
    ///
    /// Creates a service of the caller's organization, as a draft, with two fresh keys.
    #[utoipa::path(
        post,
        path = "/manage/services",
        operation_id = "cmsCreateService",
        tag = "manage",
        request_body(content = CmsServicePayload, description = "A service body payload"),
        responses(
            (status = 201, description = "Service created successfully", body = CmsServiceLifecycle),
            (status = 400, description = "Invalid payload.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or `organization.fiscal_code` is not the caller's organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_create_service() {}

    /// Retrieve all services
    ///
    /// The services of the caller's organization, deleted ones excluded.
    #[utoipa::path(
        get,
        path = "/manage/services",
        operation_id = "cmsGetServices",
        tag = "manage",
        params(Paging),
        responses(
            (status = 200, description = "Services fetched successfully", body = CmsServicePagination),
            (status = 400, description = "Sportello only: `limit` or `offset` out of range.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_get_services() {}

    /// Retrieve all service topics
    #[utoipa::path(
        get,
        path = "/manage/services/topics",
        operation_id = "getServiceTopics",
        tag = "service-topics",
        responses(
            (status = 200, description = "Service topics fetched successfully", body = CmsServiceTopicList),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, or the client address is outside `authorized_cidrs`.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn get_service_topics() {}

    /// Retrieve service
    ///
    /// A service of the caller's organization, by ID.
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}",
        operation_id = "cmsGetService",
        tag = "manage",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 200, description = "Service fetched successfully", body = CmsServiceLifecycle),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_get_service() {}

    /// Update service
    ///
    /// Replaces the card of a service of the caller's organization; the service goes back to
    /// `draft`.
    #[utoipa::path(
        put,
        path = "/manage/services/{serviceId}",
        operation_id = "cmsUpdateService",
        tag = "manage",
        params(("serviceId" = String, Path, description = "ID of the service")),
        request_body(content = CmsServicePayload, description = "Updated service payload"),
        responses(
            (status = 200, description = "Service updated successfully", body = CmsServiceLifecycle),
            (status = 400, description = "Invalid payload.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "Service status is incompatible with update action (`submitted`), or the service was changed concurrently.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_update_service() {}

    /// Delete service
    ///
    /// Deletes a service of the caller's organization; its keys stop working.
    #[utoipa::path(
        delete,
        path = "/manage/services/{serviceId}",
        operation_id = "cmsDeleteService",
        tag = "manage",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 204, description = "Service deleted successfully"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "Sportello only: the service is `submitted` (under review), or was changed concurrently.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_delete_service() {}

    /// Retrieve service keys
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}/keys",
        operation_id = "cmsGetServiceKeys",
        tag = "manage-authorization",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 200, description = "Service keys fetched successfully", body = CmsSubscriptionKeys),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_get_service_keys() {}

    /// Regenerate service key
    ///
    /// Replaces one key of the service; the other keeps working.
    #[utoipa::path(
        put,
        path = "/manage/services/{serviceId}/keys/{keyType}",
        operation_id = "cmsRegenerateServiceKey",
        tag = "manage-authorization",
        params(
            ("serviceId" = String, Path, description = "ID of the service"),
            ("keyType" = inline(CmsSubscriptionKeyType), Path, description = "Key type"),
        ),
        responses(
            (status = 200, description = "Service key regenerated successfully", body = CmsSubscriptionKeys),
            (status = 400, description = "Invalid key type.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_regenerate_service_key() {}

    /// Send service to review
    ///
    /// Submits the card for review. The automatic quality checks run at once: a card that
    /// fails them is `rejected` straight away with every reason in `status.reason` (see
    /// cmsGetService); one that passes is `submitted` and waits for an operator. With
    /// `auto_publish`, the service is published as soon as it is approved.
    #[utoipa::path(
        put,
        path = "/manage/services/{serviceId}/review",
        operation_id = "cmsReviewService",
        tag = "manage-review",
        params(("serviceId" = String, Path, description = "ID of the service")),
        request_body = CmsReviewRequest,
        responses(
            (status = 204, description = "Service review taken in charge"),
            (status = 400, description = "Sportello only: invalid payload (`auto_publish` missing or not a boolean).", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "Service status is incompatible with review action request: only a `draft` can be submitted (a `rejected` or `approved` card must be edited first). The detail names the current state.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_review_service() {}

    /// Publish service on IO
    ///
    /// Publishes the service: it becomes visible to, and able to message, every citizen.
    #[utoipa::path(
        post,
        path = "/manage/services/{serviceId}/release",
        operation_id = "cmsReleaseService",
        tag = "manage-release",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 204, description = "Service published successfully"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "Service status is incompatible with publish action request: the service is already published, or has never been approved. The detail names the current state.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_release_service() {}

    /// Retrieve last published version of service
    ///
    /// The service, if it is published. Sportello keeps no copy of the version published: the
    /// card returned is the current one.
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}/release",
        operation_id = "cmsGetPublishedService",
        tag = "manage-release",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 200, description = "Fetched published service", body = CmsServicePublication),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found, or not published.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_get_published_service() {}

    /// Unpublish service from IO
    ///
    /// Withdraws the service from the catalogue; it can be published again later.
    #[utoipa::path(
        delete,
        path = "/manage/services/{serviceId}/release",
        operation_id = "cmsUnpublishService",
        tag = "manage-release",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 204, description = "Service unpublished successfully"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "Sportello only: the service is not published.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_unpublish_service() {}

    /// Retrieve service history
    ///
    /// The changes of the service's lifecycle and publication states, one page at a time.
    /// Sportello's items carry the state reached and who reached it (`actor`), not a snapshot
    /// of the card. Unlike IO's reference, which declares no security here, a manage key is
    /// required.
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}/history",
        operation_id = "cmsGetServiceHistory",
        tag = "manage",
        params(("serviceId" = String, Path, description = "ID of the service"), HistoryPaging),
        responses(
            (status = 200, description = "Service history retrieved successfully", body = CmsServiceHistory),
            (status = 400, description = "Sportello only: `order` or `limit` out of range, or a `continuationToken` Sportello did not issue.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_get_service_history() {}

    /// Upload organization logo.
    ///
    /// Upsert a logo for an Organization: the organization of the calling service. The quality
    /// checks of cmsReviewService look at it.
    #[utoipa::path(
        put,
        path = "/organizations/{organization_fiscal_code}/logo",
        operation_id = "uploadOrganizationLogo",
        tag = "organizations",
        params(("organization_fiscal_code" = inline(OrganizationFiscalCode), Path, description = "Organization fiscal code.")),
        request_body(content = Logo, description = "A base64 string representation of the organization logo PNG image."),
        responses(
            (status = 202, description = "Logo uploaded."),
            (status = 400, description = "Invalid payload: an invalid organization fiscal code, no `logo`, not base64, not a PNG that decodes, or larger than 512 KiB decoded.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the organization is not the key's service's.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 413, description = "Sportello only: the request body is larger than 256 KiB.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "The organization logo cannot be uploaded.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn upload_organization_logo() {}

    #[utoipa::path(
        put,
        path = "/manage/services/{serviceId}/logo",
        operation_id = "cmsUpdateServiceLogo",
        tag = "manage",
        params(("serviceId" = String, Path, description = "ID of the service")),
        request_body(content = Logo, description = "A base64 string representation of the service logo: a PNG of 300x300 pixels."),
        responses(
            (status = 204, description = "Service logo updated successfully"),
            (status = 400, description = "Invalid payload: no `logo`, not base64, not a PNG that decodes, or not 300x300 pixels.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the service belongs to an organization this manage key may not act for.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 413, description = "Sportello only: the request body is larger than 256 KiB.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn cms_update_service_logo() {}

    /// Retrieve service usage
    ///
    /// Sportello only, not in IO's API: the messages the service sent today and this month
    /// against its daily and monthly quotas (over a quota, submissions are refused with 429),
    /// and its rate limit.
    #[utoipa::path(
        get,
        path = "/manage/services/{serviceId}/usage",
        operation_id = "getServiceUsage",
        tag = "manage",
        params(("serviceId" = String, Path, description = "ID of the service")),
        responses(
            (status = 200, description = "Service usage fetched successfully", body = ServiceUsage),
            (status = 401, description = "Unauthorized: no manage key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the delegate or its organization is disabled, or the service belongs to another organization.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "Not found", body = ProblemJson, content_type = "application/problem+json"),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("ManageSubscriptionKey" = [])),
    )]
    fn get_service_usage() {}

    /// Submit a batch of messages
    ///
    /// Sportello only, not in IO's API: many messages in one streamed upload (up to 4 GiB).
    /// Each message is checked exactly as by submitMessageforUserWithFiscalCodeInBody. The
    /// answer (202) comes once every line is stored;
    /// processing goes on in the background (see getBatch and getBatchReport). A line that
    /// fails the checks is rejected alone; only an upload that cannot be decoded at all (its
    /// first line) or that holds no message is refused with 400.
    ///
    /// Two formats, by `Content-Type`:
    ///
    /// - `application/x-ndjson` (or `application/ndjson`): one `NewMessage` per line (see the
    ///   schema), with `fiscal_code` set;
    /// - `text/csv`: a header line, then one message per record (RFC 4180 quoting; a quoted
    ///   field may span lines). The columns, in any order: `fiscal_code`, `subject`,
    ///   `markdown` (required), `due_date`, `amount`, `notice_number`,
    ///   `invalid_after_due_date`, `payee_fiscal_code`, `time_to_live`, `feature_level_type`
    ///   (optional, may be empty). They stand for the `NewMessage` fields of the same name
    ///   (`amount`, `notice_number`, `invalid_after_due_date` and `payee_fiscal_code` for
    ///   `content.payment_data`); an unknown column refuses the upload.
    ///
    /// A header may not name a column twice. A quoted field that is not closed (before the
    /// end of the upload, or a closing quote followed by something other than a comma or the
    /// end of the line) rejects the line it opened on, and reading resumes at the next line.
    ///
    /// Every line gets its own outcome. A line longer than 266,240 bytes (260 KiB: room for
    /// any message submitMessageforUserWithFiscalCodeInBody accepts, its 256 KiB body limit
    /// plus the `fiscal_code`) is rejected with that reason and the others go on; blank lines
    /// are skipped but keep their numbers.
    #[utoipa::path(
        post,
        path = "/batches",
        operation_id = "createBatch",
        tag = "batches",
        params(BatchIdempotencyKey),
        request_body(
            description = "The messages: NDJSON (each line a `NewMessage`; the schema describes one line) or CSV (the columns listed above).",
            content(
                (NewMessage = "application/x-ndjson", example = json!("{\"fiscal_code\":\"SPNDNL80R13C555X\",\"content\":{\"subject\":\"Welcome new user !\",\"markdown\":\"...\"}}\n{\"fiscal_code\":\"AAAAAA00A00A000A\",\"content\":{\"subject\":\"Welcome new user !\",\"markdown\":\"...\"}}\n")),
                (String = "text/csv", example = json!("fiscal_code,subject,markdown,amount,notice_number\nSPNDNL80R13C555X,Welcome new user !,\"...\",,\nAAAAAA00A00A000A,Your payment notice,\"...\",1500,012345678901234567\n")),
            ),
        ),
        responses(
            (status = 202, description = "Batch taken in charge: every line is stored.", body = CreatedBatch),
            (status = 400, description = "Invalid batch: an unsupported `Content-Type`, an invalid or repeated `Idempotency-Key`, a first line that cannot be decoded (not UTF-8, not a JSON object, or a CSV header with an unknown, repeated or missing required column), an empty upload (a CSV header alone included), or an interrupted or abandoned one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled (checked again when the upload starts), or the client address is outside `authorized_cidrs`.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 413, description = "The upload is larger than 4 GiB.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 429, description = "Too many requests: the service's rate limit; `Retry-After` says when to retry.", body = ProblemJson, content_type = "application/problem+json",
                headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
            (status = 500, description = "Internal server error", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn create_batch() {}

    /// Get a batch
    ///
    /// Sportello only, not in IO's API: the progress of a batch of the calling service.
    #[utoipa::path(
        get,
        path = "/batches/{batchId}",
        operation_id = "getBatch",
        tag = "batches",
        params(("batchId" = String, Path, description = "The ID of the batch.")),
        responses(
            (status = 200, description = "Batch found.", body = BatchView),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the batch was uploaded by another service.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No batch found for the provided ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 429, description = "Too many requests: the service's rate limit; `Retry-After` says when to retry.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn get_batch() {}

    /// Cancel a batch
    ///
    /// Sportello only, not in IO's API: stops a running batch. Lines not yet processed are
    /// never sent (`cancelled` in the report); messages already accepted stay sent.
    #[utoipa::path(
        post,
        path = "/batches/{batchId}/cancel",
        operation_id = "cancelBatch",
        tag = "batches",
        params(("batchId" = String, Path, description = "The ID of the batch.")),
        responses(
            (status = 200, description = "Batch cancelled.", body = BatchView),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the batch was uploaded by another service.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No batch found for the provided ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 409, description = "The batch is no longer running (`COMPLETED` or already `CANCELLED`).", body = ProblemJson, content_type = "application/problem+json"),
            (status = 429, description = "Too many requests: the service's rate limit; `Retry-After` says when to retry.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn cancel_batch() {}

    /// Get the report of a batch
    ///
    /// Sportello only, not in IO's API: the outcome of every line of the upload, in line
    /// order, streamed. NDJSON by default (one `BatchReportLine` per line); CSV with
    /// `format=csv` or `Accept: text/csv` (header `line,outcome,message_id,reason`, `reason`
    /// always quoted). Lines not processed yet are `pending`, or `cancelled` once the batch is
    /// cancelled (as counted by getBatch's `cancelled`).
    #[utoipa::path(
        get,
        path = "/batches/{batchId}/report",
        operation_id = "getBatchReport",
        tag = "batches",
        params(("batchId" = String, Path, description = "The ID of the batch."), ReportFormat),
        responses(
            (status = 200, description = "The report: NDJSON (each line a `BatchReportLine`; the schema describes one line) or CSV.",
                content(
                    (BatchReportLine = "application/x-ndjson", example = json!("{\"line\":1,\"outcome\":\"accepted\",\"message_id\":\"01J9ZQ3V5T8K2M4N6P8R0S2T4V\"}\n{\"line\":2,\"outcome\":\"rejected\",\"reason\":\"content.subject: too short\"}\n")),
                    (String = "text/csv", example = json!("line,outcome,message_id,reason\n2,accepted,01J9ZQ3V5T8K2M4N6P8R0S2T4V,\"\"\n3,rejected,,\"content.subject: too short\"\n")),
                )),
            (status = 400, description = "Invalid report format: `format` must be `ndjson` or `csv`.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 401, description = "Unauthorized: no subscription key, or an unknown one.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 403, description = "Forbidden: the key's service is deleted or its organization disabled, the client address is outside `authorized_cidrs`, or the batch was uploaded by another service.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 404, description = "No batch found for the provided ID.", body = ProblemJson, content_type = "application/problem+json"),
            (status = 429, description = "Too many requests: the service's rate limit; `Retry-After` says when to retry.", body = ProblemJson, content_type = "application/problem+json"),
        ),
        security(("SubscriptionKey" = [])),
    )]
    fn get_batch_report() {}
}
