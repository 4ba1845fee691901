//! Parsed value types: every value with a format has a constructor that checks it,
//! and there is no way to build an invalid one.
//!
//! Error reasons never echo the rejected input: inputs may be personal data.

/// Display, FromStr, Serialize and Deserialize for a value that is text with `parse` and
/// `as_str`: it serializes as its canonical text and deserializes only through `parse`.
macro_rules! text_value {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $t {
            type Err = super::ValueError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
use text_value;

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
pub use ids::{BatchId, MessageId, ServiceId};
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
