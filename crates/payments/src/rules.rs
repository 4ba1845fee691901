//! GPD's rules for a debt position: the date checks on create and update, the state
//! machine (publish, validity, expiry, invalidation), the effect of a payment and of
//! reporting, and — beyond GPD — reissuing a position that expired or was cancelled unpaid.
//! Every function either changes the position and returns what happened, or returns why not
//! and leaves it as it was.

use chrono::{DateTime, Utc};
use kernel::FieldErrors;
use kernel::values::NoticeNumber;

use crate::model::{
    OptionStatus, PaymentRecord, Position, PositionEvent, PositionId, PositionStatus,
    TransferStatus,
};
use crate::values::Iupd;

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The position's state does not allow it (GPD answers 409).
    #[error("{0}")]
    Conflict(String),
    /// No such option or transfer (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but its dates or amounts cannot apply (400 with fields).
    #[error("invalid fields")]
    Invalid(FieldErrors),
}

fn conflict(s: impl Into<String>) -> RuleError {
    RuleError::Conflict(s.into())
}

/// Whether the dates are checked as on create (every date ahead) or as on update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateCheck {
    Create,
    Update,
}

/// GPD's date rules: on create `validity_date` > now and `due_date` ≥ max(validity, now);
/// on update a past due date is allowed unless the option expires (`switch_to_expired`);
/// `retention_date` ≥ `due_date` always.
pub fn check_dates(p: &Position, now: DateTime<Utc>, mode: DateCheck) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    if let Some(v) = p.validity_date
        && mode == DateCheck::Create
        && v <= now
    {
        errors.push("validityDate", "must be in the future");
    }
    for (i, o) in p.options.iter().enumerate() {
        let at = |f: &str| format!("paymentOption[{i}].{f}");
        let validity = o.validity_date.or(p.validity_date);
        if let Some(v) = o.validity_date
            && mode == DateCheck::Create
            && v <= now
        {
            errors.push(at("validityDate"), "must be in the future");
        }
        let floor = validity.map_or(now, |v| v.max(now));
        let past_allowed = mode == DateCheck::Update && !o.switch_to_expired;
        if o.due_date < floor && !past_allowed {
            errors.push(
                at("dueDate"),
                "must not be before the validity date nor in the past",
            );
        }
        if let Some(r) = o.retention_date
            && r < o.due_date
        {
            errors.push(at("retentionDate"), "must not be before the due date");
        }
    }
    errors.finish(())
}

impl Position {
    fn event(&self, now: DateTime<Utc>, action: &str, detail: Option<String>) -> PositionEvent {
        PositionEvent {
            at: now,
            version: self.version,
            action: action.to_owned(),
            status: self.status,
            detail,
            actor: String::new(),
        }
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.last_updated_date = now;
    }

    /// DRAFT → PUBLISHED, or straight to VALID when every validity date has come (a missing
    /// one becomes the publish time). Refused when the position is not a draft, a due date
    /// has passed, or its validity date has.
    pub fn publish(&mut self, now: DateTime<Utc>) -> Result<PositionEvent, RuleError> {
        if self.status != PositionStatus::Draft {
            return Err(conflict(format!(
                "the position is {}: only a DRAFT position can be published",
                self.status.as_str()
            )));
        }
        if self.options.is_empty() {
            return Err(conflict(
                "a position without payment options cannot be published",
            ));
        }
        if self.min_due_date().is_some_and(|d| d < now) {
            return Err(conflict("a due date of the position has passed"));
        }
        if self.validity_date.is_some_and(|v| v < now) {
            return Err(conflict("the validity date of the position has passed"));
        }
        self.publish_date = Some(now);
        let due_now = self.validity_date.is_none_or(|v| v <= now);
        if self.validity_date.is_none() {
            self.validity_date = Some(now);
        }
        self.status = if due_now {
            PositionStatus::Valid
        } else {
            PositionStatus::Published
        };
        self.touch(now);
        Ok(self.event(now, "published", None))
    }

    /// PUBLISHED → VALID once the validity date has come (the scheduled job, and on the fly
    /// when a payment arrives); VALID → EXPIRED once every option may expire and the last due
    /// date has passed. Returns the change made, if any.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<PositionEvent> {
        if self.status == PositionStatus::Published && self.validity_date.is_none_or(|v| v <= now) {
            self.status = PositionStatus::Valid;
            self.touch(now);
            return Some(self.event(now, "validated", None));
        }
        if self.status == PositionStatus::Valid
            && !self.options.is_empty()
            && self.options.iter().all(|o| o.switch_to_expired)
            && self.max_due_date().is_some_and(|d| d < now)
        {
            self.status = PositionStatus::Expired;
            self.touch(now);
            return Some(self.event(now, "expired", None));
        }
        None
    }

    /// When [`Position::tick`] would next change this position.
    pub fn next_tick(&self) -> Option<DateTime<Utc>> {
        match self.status {
            PositionStatus::Published => self.validity_date,
            PositionStatus::Valid if self.options.iter().all(|o| o.switch_to_expired) => self
                .max_due_date()
                .map(|d| d + chrono::Duration::milliseconds(1)),
            _ => None,
        }
    }

    /// PUBLISHED|VALID → INVALID.
    pub fn invalidate(&mut self, now: DateTime<Utc>) -> Result<PositionEvent, RuleError> {
        if !self.status.invalidable() {
            return Err(conflict(format!(
                "the position is {}: only a PUBLISHED or VALID position can be invalidated",
                self.status.as_str()
            )));
        }
        self.status = PositionStatus::Invalid;
        self.touch(now);
        Ok(self.event(now, "invalidated", None))
    }

    /// Refuses an update or delete when the state is not updatable or an option is paid.
    pub fn check_changeable(&self, what: &str) -> Result<(), RuleError> {
        if !self.status.updatable() {
            return Err(conflict(format!(
                "the position is {}: it can no longer be {what}",
                self.status.as_str()
            )));
        }
        if self.options.iter().any(|o| o.status.is_paid()) {
            return Err(conflict(format!(
                "a payment option of the position is paid: it can no longer be {what}"
            )));
        }
        Ok(())
    }

    /// Replaces the content with `next` (already parsed and checked), keeping identity,
    /// creation date and version line; the result is a DRAFT (the caller may publish it).
    pub fn replace_with(
        &mut self,
        mut next: Position,
        now: DateTime<Utc>,
    ) -> Result<PositionEvent, RuleError> {
        self.check_changeable("updated")?;
        next.id = self.id;
        next.organization = self.organization.clone();
        next.iupd = self.iupd.clone();
        next.version = self.version;
        next.inserted_date = self.inserted_date;
        next.reissue_of = self.reissue_of.clone();
        next.reissued_as = self.reissued_as.clone();
        next.status = PositionStatus::Draft;
        next.publish_date = None;
        *self = next;
        self.touch(now);
        Ok(self.event(now, "updated", None))
    }

    /// Records the payment of one option (by index): the PUBLISHED → VALID check first, then
    /// GPD's payability rules, then the position's new status. A second payment of a paid
    /// option is a conflict and changes nothing.
    pub fn pay(
        &mut self,
        index: usize,
        record: PaymentRecord,
        now: DateTime<Utc>,
    ) -> Result<Vec<PositionEvent>, RuleError> {
        let mut events = Vec::new();
        let mut probe = self.clone();
        if let Some(e) = probe.tick(now) {
            if probe.status == PositionStatus::Valid {
                events.push(e);
            } else {
                probe = self.clone();
            }
        }
        let option = probe
            .options
            .get(index)
            .ok_or_else(|| RuleError::NotFound("no such payment option".into()))?;
        match probe.status {
            PositionStatus::Paid | PositionStatus::Reported => {
                return Err(conflict("the position is already paid"));
            }
            s if !s.payable() => {
                return Err(conflict(format!(
                    "the position is {}: it cannot be paid",
                    s.as_str()
                )));
            }
            _ => {}
        }
        if option.status.is_paid() {
            return Err(conflict("the payment option is already paid"));
        }
        if probe
            .options
            .iter()
            .any(|o| !o.is_partial_payment && o.status.is_paid())
        {
            return Err(conflict("a single payment of the position is already paid"));
        }
        if !option.is_partial_payment
            && probe
                .options
                .iter()
                .any(|o| o.is_partial_payment && o.status.is_paid())
        {
            return Err(conflict(
                "an installment of the position is paid: the single payment is no longer payable",
            ));
        }
        let o = &mut probe.options[index];
        o.status = OptionStatus::PoPaid;
        o.last_updated_date = now;
        let at = record.payment_date;
        o.payment = Some(record);
        let nav = o.nav.to_string();
        probe.recompute_status();
        if matches!(
            probe.status,
            PositionStatus::Paid | PositionStatus::Reported
        ) {
            probe.payment_date = Some(at);
        }
        probe.touch(now);
        events.push(probe.event(now, "paid", Some(format!("notice {nav}"))));
        *self = probe;
        Ok(events)
    }

    /// Records the reporting of one transfer of the option with this IUV.
    pub fn report(
        &mut self,
        index: usize,
        transfer_id: u8,
        flow_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PositionEvent, RuleError> {
        let o = self
            .options
            .get(index)
            .ok_or_else(|| RuleError::NotFound("no such payment option".into()))?;
        if !matches!(
            o.status,
            OptionStatus::PoPaid | OptionStatus::PoPartiallyReported
        ) {
            return Err(conflict(format!(
                "the payment option is {}: only a paid option can be reported",
                o.status.as_str()
            )));
        }
        let t = o
            .transfers
            .iter()
            .position(|t| t.id == transfer_id)
            .ok_or_else(|| RuleError::NotFound("no such transfer".into()))?;
        if o.transfers[t].status == TransferStatus::TReported {
            return Err(conflict("the transfer is already reported"));
        }
        let o = &mut self.options[index];
        o.transfers[t].status = TransferStatus::TReported;
        o.transfers[t].last_updated_date = now;
        o.status = if o
            .transfers
            .iter()
            .all(|t| t.status == TransferStatus::TReported)
        {
            OptionStatus::PoReported
        } else {
            OptionStatus::PoPartiallyReported
        };
        o.reporting_date = Some(now);
        if let Some(f) = flow_id {
            o.flow_reporting_id = Some(f.to_owned());
        }
        o.last_updated_date = now;
        let detail = format!("notice {} transfer {transfer_id}", o.nav);
        self.recompute_status();
        self.touch(now);
        Ok(self.event(now, "reported", Some(detail)))
    }

    /// GPD's status after a payment or a report, per plan (one single option, or the
    /// installments sharing a plan id): REPORTED if some plan is fully reported, else PAID if
    /// some plan is fully paid, else PARTIALLY_PAID if any installment is paid.
    pub fn recompute_status(&mut self) {
        let mut plans: Vec<(&str, bool, bool)> = Vec::new(); // (key, all reported, all paid)
        for o in &self.options {
            let key = o.plan_key();
            let reported = o.status == OptionStatus::PoReported;
            let paid = o.status.is_paid();
            match plans.iter_mut().find(|(k, _, _)| *k == key) {
                Some(p) => {
                    p.1 &= reported;
                    p.2 &= paid;
                }
                None => plans.push((key, reported, paid)),
            }
        }
        let any_paid = self.options.iter().any(|o| o.status.is_paid());
        self.status = if plans.iter().any(|p| p.1) {
            PositionStatus::Reported
        } else if plans.iter().any(|p| p.2) {
            PositionStatus::Paid
        } else if any_paid {
            PositionStatus::PartiallyPaid
        } else {
            self.status
        };
    }

    /// Beyond GPD: a copy of an EXPIRED or INVALID position that was never paid, under a new
    /// IUPD and with fresh notice numbers (`navs`, one per option in order), as a DRAFT.
    /// `due_dates`, when given, replaces the options' due dates in order. The caller saves
    /// both: this one gets `reissued_as`, the copy `reissue_of`.
    pub fn reissue(
        &mut self,
        new_iupd: Iupd,
        navs: Vec<NoticeNumber>,
        due_dates: Option<Vec<DateTime<Utc>>>,
        now: DateTime<Utc>,
    ) -> Result<(Position, PositionEvent), RuleError> {
        if !matches!(
            self.status,
            PositionStatus::Expired | PositionStatus::Invalid
        ) {
            return Err(conflict(format!(
                "the position is {}: only an EXPIRED or INVALID position can be reissued",
                self.status.as_str()
            )));
        }
        if self.reissued_as.is_some() {
            return Err(conflict("the position was already reissued"));
        }
        if self.options.iter().any(|o| o.status.is_paid()) {
            return Err(conflict("a paid position cannot be reissued"));
        }
        if navs.len() != self.options.len() {
            return Err(conflict(
                "one new notice number is needed per payment option",
            ));
        }
        if let Some(d) = &due_dates
            && d.len() != self.options.len()
        {
            let mut errors = FieldErrors::default();
            errors.push(
                "dueDates",
                format!(
                    "must list one due date per payment option ({})",
                    self.options.len()
                ),
            );
            return Err(RuleError::Invalid(errors));
        }
        let mut copy = self.clone();
        copy.id = PositionId::new_at(now);
        copy.iupd = new_iupd.clone();
        copy.status = PositionStatus::Draft;
        copy.version = 0;
        copy.publish_date = None;
        copy.payment_date = None;
        copy.inserted_date = now;
        copy.last_updated_date = now;
        copy.reissue_of = Some(self.iupd.clone());
        copy.reissued_as = None;
        if copy.validity_date.is_some_and(|v| v < now) {
            copy.validity_date = None;
        }
        // Plans keep their grouping under new ids derived from the new IUPD.
        for (i, (o, nav)) in copy.options.iter_mut().zip(navs).enumerate() {
            o.iuv = nav.as_str()[1..].to_owned();
            o.nav = nav;
            if let Some(plan) = &o.plan_id {
                o.plan_id = Some(format!("{plan}~{}", new_iupd.as_str()));
            }
            if let Some(d) = due_dates.as_ref().and_then(|d| d.get(i)) {
                o.due_date = *d;
            }
            if o.validity_date.is_some_and(|v| v < now) {
                o.validity_date = None;
            }
            o.pre_notice = None;
            o.status = OptionStatus::PoUnpaid;
            o.inserted_date = now;
            o.last_updated_date = now;
            for t in &mut o.transfers {
                t.status = TransferStatus::TUnreported;
                t.inserted_date = now;
                t.last_updated_date = now;
            }
        }
        check_dates(&copy, now, DateCheck::Create).map_err(RuleError::Invalid)?;
        self.reissued_as = Some(new_iupd.clone());
        self.touch(now);
        let event = self.event(now, "reissued", Some(format!("as {new_iupd}")));
        Ok((copy, event))
    }

    /// Records a change made outside the rules above (a fee, an IBAN, a pre-notice outcome):
    /// the next version, and the history line that explains it.
    pub fn changed(
        &mut self,
        now: DateTime<Utc>,
        action: &str,
        detail: Option<String>,
    ) -> PositionEvent {
        self.touch(now);
        self.event(now, action, detail)
    }

    /// The event a newly created position starts its history with.
    pub fn created_event(&self, now: DateTime<Utc>) -> PositionEvent {
        let detail = self.reissue_of.as_ref().map(|r| format!("reissue of {r}"));
        self.event(now, "created", detail)
    }
}
