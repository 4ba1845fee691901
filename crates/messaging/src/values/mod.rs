//! Parsed value types: every value with a format has a constructor that checks it,
//! and there is no way to build an invalid one.
//!
//! Error reasons never echo the rejected input: inputs may be personal data.

mod amount;
mod cidr;
mod email;
mod fiscal_code;
mod ids;
mod notice_number;
mod organization_fiscal_code;

pub use amount::AmountCents;
pub use cidr::Cidr;
pub use email::Email;
pub use fiscal_code::FiscalCode;
pub use ids::{MessageId, ServiceId};
pub use notice_number::NoticeNumber;
pub use organization_fiscal_code::OrganizationFiscalCode;

/// Why a value was refused: a short, precise reason for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ValueError {
    /// Human readable reason, never containing the input itself.
    pub reason: String,
}

impl ValueError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}
