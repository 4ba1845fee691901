//! Massive payment notices: an ente asks for the notices of a filter's positions in one ZIP;
//! the archive is written QUEUED with its `notice_archive` job (one transaction), and the
//! job (`jobs::archives`) renders it. Progress and the finished file are read from the row.

use kernel::audit::NewAuditEntry;
use kernel::jobs::JobKind;
use kernel::values::OrganizationFiscalCode;
use payments::ports::{ArchiveFilter, ArchiveStatus, NoticeArchive};

use crate::payments::PayContext;
use crate::{Error, Result};

/// The languages a notice can be printed in, as the API names them.
pub const LANGUAGES: [&str; 3] = ["it", "de", "en"];

/// The notice language of an archive's `language` (`it`, `de` or `en`).
pub fn language(code: &str) -> Option<notice::Language> {
    match code {
        "it" => Some(notice::Language::It),
        "de" => Some(notice::Language::ItDe),
        "en" => Some(notice::Language::ItEn),
        _ => None,
    }
}

/// Requests an archive of the ente's notices for `filter`, printed in `language`.
pub async fn request(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    filter: ArchiveFilter,
    language_code: &str,
    actor: &str,
) -> Result<NoticeArchive> {
    if language(language_code).is_none() {
        return Err(Error::invalid_field("language", "must be it, de or en"));
    }
    let now = cx.clock.now();
    let archive = NoticeArchive {
        id: ulid::Ulid::from_parts(
            u64::try_from(now.timestamp_millis()).unwrap_or(0),
            ulid::Ulid::new().random(),
        )
        .to_string(),
        organization: organization.clone(),
        filter,
        language: language_code.to_owned(),
        status: ArchiveStatus::Queued,
        total: 0,
        done: 0,
        failed: 0,
        path: None,
        created_at: now,
        updated_at: now,
        error: None,
    };
    cx.store
        .create_archive(
            &archive,
            &NewAuditEntry {
                at: now,
                actor: actor.to_owned(),
                action: "payments.notice_archive".into(),
                subject: format!("organization:{organization}"),
                detail: serde_json::json!({ "archive": archive.id }),
            },
        )
        .await?;
    cx.jobs_ready.ready(JobKind::NoticeArchive);
    Ok(archive)
}

/// The ente's archive with this id; another ente's is not found.
pub async fn get(
    cx: PayContext<'_>,
    organization: &OrganizationFiscalCode,
    id: &str,
) -> Result<NoticeArchive> {
    cx.store
        .get_archive(organization, id)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                "Archive not found",
                "This organization has no notice archive with this id.",
            )
        })
}
