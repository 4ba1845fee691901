//! GPD's wire model (v1 `gpd.json`, v3 `gpd_v3.json`): parsing a request body into a
//! checked [`Draft`] with every fault listed by field, and rendering a [`Position`] in GPD's
//! response shapes.

use chrono::{DateTime, Utc};
use kernel::FieldErrors;
use kernel::values::{NoticeNumber, OrganizationFiscalCode};
use serde_json::Value;

use crate::model::Position;
use crate::values::SegregationCode;

/// A parsed position whose options may still lack a notice number: `missing` lists the
/// indexes of the options the client sent without `iuv`/`nav` (they hold a placeholder
/// notice number until [`Draft::assign`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub position: Position,
    pub missing: Vec<usize>,
}

impl Draft {
    /// Gives the options without a notice number theirs, in order of `missing`.
    pub fn assign(mut self, navs: Vec<NoticeNumber>) -> Position {
        for (i, nav) in self.missing.iter().zip(navs) {
            let o = &mut self.position.options[*i];
            o.iuv = nav.as_str()[1..].to_owned();
            o.nav = nav;
        }
        self.position
    }

    /// The notice numbers the client brought must carry one of the ente's segregation
    /// codes.
    pub fn check_segregation(&self, codes: &[SegregationCode]) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        for (i, o) in self.position.options.iter().enumerate() {
            if self.missing.contains(&i) {
                continue;
            }
            match SegregationCode::of_notice(&o.nav) {
                Some(c) if codes.contains(&c) => {}
                _ => errors.push(
                    format!("paymentOption[{i}].iuv"),
                    "the notice number's segregation code (its 2nd and 3rd digits) is not one of the organization's",
                ),
            }
        }
        errors.finish(())
    }
}

/// Which GPD version a body or answer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V3,
}

/// Parses a v1 `PaymentPositionModel` body for `organization` at `now`.
pub fn parse_v1(
    _body: &Value,
    _organization: &OrganizationFiscalCode,
    _now: DateTime<Utc>,
) -> Result<Draft, FieldErrors> {
    unimplemented!("filled in by the gpd wire work")
}

/// Parses a v3 `PaymentPositionModelV3` body.
pub fn parse_v3(
    _body: &Value,
    _organization: &OrganizationFiscalCode,
    _now: DateTime<Utc>,
) -> Result<Draft, FieldErrors> {
    unimplemented!("filled in by the gpd wire work")
}

/// A position as GPD v1 returns it (`PaymentPositionModel` on create/update,
/// `PaymentPositionModelBaseResponse` in lists and reads).
pub fn render_v1(_p: &Position) -> Value {
    unimplemented!("filled in by the gpd wire work")
}

/// A position as GPD v3 returns it (`PaymentPositionModelResponseV3`).
pub fn render_v3(_p: &Position) -> Value {
    unimplemented!("filled in by the gpd wire work")
}

pub fn parse_v1_with(
    _body: &Value,
    _organization: &OrganizationFiscalCode,
    _now: DateTime<Utc>,
    _mode: crate::rules::DateCheck,
) -> Result<Draft, FieldErrors> {
    unimplemented!("filled in by the gpd wire work")
}

pub fn parse_v3_with(
    _body: &Value,
    _organization: &OrganizationFiscalCode,
    _now: DateTime<Utc>,
    _mode: crate::rules::DateCheck,
) -> Result<Draft, FieldErrors> {
    unimplemented!("filled in by the gpd wire work")
}

pub fn render_option_v1(_p: &Position, _index: usize) -> Value {
    unimplemented!("filled in by the gpd wire work")
}
