//! Conversions between database rows and domain records. Stored values are parsed again on
//! the way out: a row that no longer parses is reported as a backend fault, never trusted.

use chrono::{DateTime, Utc};
use kernel::jobs::{Job, JobKind, JobStatus};
use kernel::organization::{Delegate, DelegateRole, Mandate, Organization, OrganizationKind};
use kernel::ports::{StoreError, StoreResult};
use kernel::values::{
    BatchId, Cidr, Email, FiscalCode, MessageId, OrganizationFiscalCode, ServiceId, ValueError,
};
use messaging::content::FeatureLevel;
use messaging::model::{
    CitizenProfile, LifecycleStatus, MessageRecord, MessageStatus, PreferenceMode,
    PublicationStatus, RejectionReason, SealedContent, Service,
};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn corrupt(column: &str) -> StoreError {
    StoreError::Backend(format!("stored value in column `{column}` does not parse"))
}

pub(crate) fn ms(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored instant (milliseconds since the epoch); one out of range is a corrupt row, never
/// silently 1970.
pub(crate) fn at(row: &AnyRow, column: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(int(row, column)?).ok_or_else(|| corrupt(column))
}

/// [`at`] for a column that may be NULL.
pub(crate) fn opt_at(row: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(column)
        .map_err(backend)?
        .map(|ms| DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(column)))
        .transpose()
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

pub(crate) fn text(row: &AnyRow, col: &str) -> StoreResult<String> {
    row.try_get::<String, _>(col).map_err(backend)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> StoreResult<Option<String>> {
    row.try_get::<Option<String>, _>(col).map_err(backend)
}

pub(crate) fn int(row: &AnyRow, col: &str) -> StoreResult<i64> {
    row.try_get::<i64, _>(col).map_err(backend)
}

pub(crate) fn boolean(row: &AnyRow, col: &str) -> StoreResult<bool> {
    Ok(int(row, col)? != 0)
}

pub(crate) fn parsed<T>(
    row: &AnyRow,
    col: &str,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> StoreResult<T> {
    parse(&text(row, col)?).map_err(|_| corrupt(col))
}

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    serde_json::from_str(&text(row, col)?).map_err(|_| corrupt(col))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) fn organization(row: &AnyRow) -> StoreResult<Organization> {
    Ok(Organization {
        fiscal_code: parsed(row, "fiscal_code", OrganizationFiscalCode::parse)?,
        name: text(row, "name")?,
        kind: OrganizationKind::parse(&text(row, "kind")?).ok_or_else(|| corrupt("kind"))?,
        ipa_code: opt_text(row, "ipa_code")?,
        disabled: boolean(row, "disabled")?,
        created_at: at(row, "created_at")?,
    })
}

pub(crate) fn delegate(row: &AnyRow) -> StoreResult<Delegate> {
    Ok(Delegate {
        id: text(row, "id")?,
        organization_fiscal_code: parsed(
            row,
            "organization_fiscal_code",
            OrganizationFiscalCode::parse,
        )?,
        email: parsed(row, "email", Email::parse)?,
        name: opt_text(row, "name")?,
        fiscal_code: opt_text(row, "fiscal_code")?
            .map(|f| FiscalCode::parse(&f).map_err(|_| corrupt("fiscal_code")))
            .transpose()?,
        role: DelegateRole::parse(&text(row, "role")?).ok_or_else(|| corrupt("role"))?,
        disabled: boolean(row, "disabled")?,
        created_at: at(row, "created_at")?,
    })
}

pub(crate) const SERVICE_COLUMNS: &str = "id, organization_fiscal_code, organization_name, \
    department_name, name, description, require_secure_channels, authorized_recipients, \
    authorized_cidrs, max_allowed_payment_amount, metadata, lifecycle, lifecycle_reason, \
    publication, ever_approved, auto_publish, version, created_at, updated_at";

pub(crate) fn service(row: &AnyRow) -> StoreResult<Service> {
    let recipients: Vec<String> = json(row, "authorized_recipients")?;
    let cidrs: Vec<String> = json(row, "authorized_cidrs")?;
    Ok(Service {
        id: parsed(row, "id", ServiceId::parse)?,
        organization_fiscal_code: parsed(
            row,
            "organization_fiscal_code",
            OrganizationFiscalCode::parse,
        )?,
        organization_name: text(row, "organization_name")?,
        department_name: opt_text(row, "department_name")?,
        name: text(row, "name")?,
        description: text(row, "description")?,
        require_secure_channels: boolean(row, "require_secure_channels")?,
        authorized_recipients: recipients
            .iter()
            .map(|r| FiscalCode::parse(r))
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("authorized_recipients"))?,
        authorized_cidrs: cidrs
            .iter()
            .map(|c| Cidr::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("authorized_cidrs"))?,
        max_allowed_payment_amount: u64::try_from(int(row, "max_allowed_payment_amount")?)
            .map_err(|_| corrupt("max_allowed_payment_amount"))?,
        metadata: json(row, "metadata")?,
        lifecycle: LifecycleStatus::parse(&text(row, "lifecycle")?)
            .ok_or_else(|| corrupt("lifecycle"))?,
        lifecycle_reason: opt_text(row, "lifecycle_reason")?,
        publication: PublicationStatus::parse(&text(row, "publication")?)
            .ok_or_else(|| corrupt("publication"))?,
        ever_approved: boolean(row, "ever_approved")?,
        auto_publish: boolean(row, "auto_publish")?,
        version: int(row, "version")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

pub(crate) const CITIZEN_COLUMNS: &str = "fiscal_code, email, is_email_validated, \
    is_inbox_enabled, is_email_enabled, is_webhook_enabled, preferred_languages, \
    preference_mode, settings_version, blocked_channels, version, created_at, updated_at, \
    accepted_tos_version, reminders_enabled, push_anonymous";

pub(crate) fn citizen(row: &AnyRow) -> StoreResult<CitizenProfile> {
    Ok(CitizenProfile {
        fiscal_code: parsed(row, "fiscal_code", FiscalCode::parse)?,
        email: opt_text(row, "email")?
            .map(|e| Email::parse(&e).map_err(|_| corrupt("email")))
            .transpose()?,
        is_email_validated: boolean(row, "is_email_validated")?,
        is_inbox_enabled: boolean(row, "is_inbox_enabled")?,
        is_email_enabled: boolean(row, "is_email_enabled")?,
        is_webhook_enabled: boolean(row, "is_webhook_enabled")?,
        preferred_languages: json(row, "preferred_languages")?,
        preference_mode: PreferenceMode::parse(&text(row, "preference_mode")?)
            .ok_or_else(|| corrupt("preference_mode"))?,
        settings_version: int(row, "settings_version")?,
        blocked_channels: json(row, "blocked_channels")?,
        accepted_tos_version: row
            .try_get::<Option<i64>, _>("accepted_tos_version")
            .map_err(backend)?,
        reminders_enabled: boolean(row, "reminders_enabled")?,
        push_anonymous: boolean(row, "push_anonymous")?,
        version: int(row, "version")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, service_id, fiscal_code, created_at, \
    time_to_live, feature_level, content_key_id, content, status, rejection_reason, is_read, \
    updated_at, paid_at";

pub(crate) fn message(row: &AnyRow) -> StoreResult<MessageRecord> {
    Ok(MessageRecord {
        id: parsed(row, "id", MessageId::parse)?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        fiscal_code: parsed(row, "fiscal_code", FiscalCode::parse)?,
        created_at: at(row, "created_at")?,
        time_to_live: int(row, "time_to_live")?,
        feature_level: FeatureLevel::parse(&text(row, "feature_level")?)
            .ok_or_else(|| corrupt("feature_level"))?,
        content: SealedContent {
            key_id: text(row, "content_key_id")?,
            bytes: row.try_get::<Vec<u8>, _>("content").map_err(backend)?,
        },
        status: MessageStatus::parse(&text(row, "status")?).ok_or_else(|| corrupt("status"))?,
        rejection_reason: opt_text(row, "rejection_reason")?
            .map(|r| RejectionReason::parse(&r).ok_or_else(|| corrupt("rejection_reason")))
            .transpose()?,
        is_read: boolean(row, "is_read")?,
        updated_at: at(row, "updated_at")?,
        paid_at: opt_at(row, "paid_at")?,
    })
}

pub(crate) const JOB_COLUMNS: &str =
    "id, kind, subject_id, status, attempts, run_at, last_error, created_at";

pub(crate) fn job(row: &AnyRow) -> StoreResult<Job> {
    Ok(Job {
        id: int(row, "id")?,
        kind: parsed_with(row, "kind", JobKind::parse)?,
        subject_id: text(row, "subject_id")?,
        status: JobStatus::parse(&text(row, "status")?).ok_or_else(|| corrupt("status"))?,
        attempts: int(row, "attempts")?,
        last_error: opt_text(row, "last_error")?,
        run_at: at(row, "run_at")?,
        created_at: at(row, "created_at")?,
    })
}

pub(crate) const ORGANIZATION_COLUMNS: &str =
    "fiscal_code, name, kind, ipa_code, disabled, created_at";

pub(crate) fn mandate(row: &AnyRow) -> StoreResult<Mandate> {
    let service = text(row, "service_id")?;
    Ok(Mandate {
        aggregator: parsed(row, "aggregator", OrganizationFiscalCode::parse)?,
        organization: parsed(row, "organization", OrganizationFiscalCode::parse)?,
        service_id: if service == "*" {
            None
        } else {
            Some(ServiceId::parse(&service).map_err(|_| corrupt("service_id"))?)
        },
        created_at: at(row, "created_at")?,
    })
}

pub(crate) fn history(row: &AnyRow) -> StoreResult<messaging::model::HistoryEntry> {
    let kind = match text(row, "kind")?.as_str() {
        "lifecycle" => "lifecycle",
        "publication" => "publication",
        _ => return Err(corrupt("kind")),
    };
    Ok(messaging::model::HistoryEntry {
        id: int(row, "id")?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        kind,
        status: text(row, "status")?,
        reason: opt_text(row, "reason")?,
        actor: text(row, "actor")?,
        at: at(row, "at")?,
        card: text(row, "card")?,
    })
}

pub(crate) fn audit(row: &AnyRow) -> StoreResult<kernel::audit::AuditEntry> {
    Ok(kernel::audit::AuditEntry {
        id: int(row, "id")?,
        at: at(row, "at")?,
        actor: text(row, "actor")?,
        action: text(row, "action")?,
        subject: text(row, "subject")?,
        detail: json(row, "detail")?,
    })
}

pub(crate) fn batch(row: &AnyRow) -> StoreResult<messaging::model::Batch> {
    Ok(messaging::model::Batch {
        id: parsed(row, "id", BatchId::parse)?,
        service_id: parsed(row, "service_id", ServiceId::parse)?,
        format: parsed_with(row, "format", messaging::batch::Format::parse)?,
        header: opt_text(row, "header")?,
        status: messaging::model::BatchStatus::parse(&text(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        total: int(row, "total")?,
        accepted: int(row, "accepted")?,
        rejected: int(row, "rejected")?,
        key_hash: opt_text(row, "key_hash")?,
        sealed_at: opt_at(row, "sealed_at")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// A stored name read back through an `Option`-returning parser (enums).
pub(crate) fn parsed_with<T>(
    row: &AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<T> {
    parse(&text(row, column)?).ok_or_else(|| corrupt(column))
}
