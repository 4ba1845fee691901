//! What the pagoPA node may do with a notice: the answer Sportello gives, as an ente's
//! station, when a PSP asks to verify or pay it (GPD's mapping of position states to the node's
//! faults), and which option of an installment plan is its last payment.

use chrono::{DateTime, Utc};

use crate::model::{Position, PositionStatus};

/// Why a notice cannot be paid through the node now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not found, or not yet payable (DRAFT, PUBLISHED before its validity date).
    Unknown,
    /// EXPIRED, or this option's due date passed and it may expire.
    Expired,
    /// INVALID.
    Cancelled,
    /// PAID or REPORTED, this option already paid, or the plan it belongs to is excluded by
    /// another plan's payment.
    Duplicate,
}

impl Position {
    /// Whether the option at `index` may be paid through the node at `now`. A PUBLISHED
    /// position whose validity date has come counts as VALID (the scheduled job may not have
    /// run yet). The option's own due date is judged at `paid_at` (now for a verify; the
    /// payment's time for a receipt, which may arrive after the due date of a notice paid
    /// before it); a position already EXPIRED stays refused.
    pub fn node_check(
        &self,
        index: usize,
        now: DateTime<Utc>,
        paid_at: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let Some(option) = self.options.get(index) else {
            return Err(Refusal::Unknown);
        };
        let status = match self.status {
            PositionStatus::Published if self.validity_date.is_none_or(|v| v <= now) => {
                PositionStatus::Valid
            }
            s => s,
        };
        match status {
            PositionStatus::Draft | PositionStatus::Published => return Err(Refusal::Unknown),
            PositionStatus::Expired => return Err(Refusal::Expired),
            PositionStatus::Invalid => return Err(Refusal::Cancelled),
            PositionStatus::Paid | PositionStatus::Reported => return Err(Refusal::Duplicate),
            PositionStatus::Valid | PositionStatus::PartiallyPaid => {}
        }
        if option.status.is_paid() {
            return Err(Refusal::Duplicate);
        }
        let single_paid = self
            .options
            .iter()
            .any(|o| !o.is_partial_payment && o.status.is_paid());
        let installment_paid = self
            .options
            .iter()
            .any(|o| o.is_partial_payment && o.status.is_paid());
        if single_paid || (!option.is_partial_payment && installment_paid) {
            return Err(Refusal::Duplicate);
        }
        if option.switch_to_expired && option.due_date < paid_at {
            return Err(Refusal::Expired);
        }
        Ok(())
    }

    /// `lastPayment` of the node's getPayment: for an installment, whether every other
    /// installment of its plan is paid; `None` for a single payment.
    pub fn last_payment(&self, index: usize) -> Option<bool> {
        let option = self.options.get(index)?;
        if !option.is_partial_payment {
            return None;
        }
        let key = option.plan_key();
        Some(
            self.options
                .iter()
                .enumerate()
                .filter(|(i, o)| *i != index && o.plan_key() == key)
                .all(|(_, o)| o.status.is_paid()),
        )
    }
}
