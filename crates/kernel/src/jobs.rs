//! The job queue's records: background work written in the same transaction as the change
//! that calls for it (an outbox), claimed by workers under a lease.

use serde::Serialize;

use chrono::{DateTime, Utc};

/// What a job does, and so what its `subject_id` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Decide and record a message's outcome; the subject is a message id.
    ProcessMessage,
    /// Send one notification (e-mail, webhook); the subject is a notification id.
    Notify,
    /// Deliver one callback event to an ente; the subject is a callback delivery id.
    Callback,
    /// Process the lines of a batch; the subject is a batch id.
    ProcessBatch,
    /// Send the IO pre-notices of a payable debt position; the subject is a position id.
    PreNotice,
    /// Move a debt position on when its validity or last due date comes (PUBLISHED → VALID,
    /// VALID → EXPIRED); the subject is a position id.
    PositionTick,
    /// Tell messaging an option was paid (message PAID, `paid` callback); the subject is
    /// `<position id>:<option index>`.
    OptionPaid,
    /// Import the lines of a bulk upload of debt positions; the subject is an import id.
    ImportPositions,
    /// Render the payment notices of a filter into one ZIP; the subject is an archive id.
    NoticeArchive,
}

impl JobKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 9] = [
        Self::ProcessMessage,
        Self::Notify,
        Self::Callback,
        Self::ProcessBatch,
        Self::PreNotice,
        Self::PositionTick,
        Self::OptionPaid,
        Self::ImportPositions,
        Self::NoticeArchive,
    ];

    /// The name stored in the queue.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProcessMessage => "process_message",
            Self::Notify => "notify",
            Self::Callback => "callback",
            Self::ProcessBatch => "process_batch",
            Self::PreNotice => "pre_notice",
            Self::PositionTick => "position_tick",
            Self::OptionPaid => "option_paid",
            Self::ImportPositions => "import_positions",
            Self::NoticeArchive => "notice_archive",
        }
    }

    /// The kind stored as `s`; `None` for a name no version of Sportello writes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A background job (outbox row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    /// The id of the record the job works on; what it names depends on `kind`.
    pub subject_id: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// Job queue gauges for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
}

/// Tells the workers that jobs of a kind were just queued, so that they claim them now instead
/// of at their next poll. Implemented by the jobs crate; handed to whatever queues jobs.
pub trait JobsReady: Send + Sync + 'static {
    fn ready(&self, kind: JobKind);

    /// Jobs of unknown or several kinds were queued.
    fn ready_all(&self) {
        for kind in JobKind::ALL {
            self.ready(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_and_unknown_names_are_refused() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("process"), None);
        assert_eq!(JobKind::parse(""), None);
        assert_eq!(JobKind::parse("NOTIFY"), None);
    }
}
