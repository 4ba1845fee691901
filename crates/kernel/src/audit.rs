//! The append-only audit log: who did what to which subject.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One entry of the append-only audit log: who did what to which subject, and the details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// An audit entry to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When it happened (the use case's clock).
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}
