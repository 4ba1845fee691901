//! What every port file of the store needs in scope.

pub(crate) use async_trait::async_trait;
pub(crate) use chrono::{DateTime, Utc};
pub(crate) use kernel::audit::*;
pub(crate) use kernel::jobs::*;
pub(crate) use kernel::organization::*;
pub(crate) use kernel::ports::*;
pub(crate) use kernel::values::*;
pub(crate) use messaging::citizen::*;
pub(crate) use messaging::model::*;
pub(crate) use messaging::ports::*;
pub(crate) use messaging::quota::{LimitOverrides, QuotaPeriod};
pub(crate) use payments::ports::{
    CreateOutcome, KeySlot, ListFilter, NoticeTemplate, OrderBy, PositionJob, PositionWrite,
    Positions, Profile, Profiles,
};
pub(crate) use sqlx::Row;
pub(crate) use sqlx::any::AnyRow;

pub(crate) use crate::Backend;
pub(crate) use crate::kernel::jobs::{insert_job, insert_jobs, reschedule_job};
pub(crate) use crate::messaging::support::*;
pub(crate) use crate::rows::{
    self, at, backend, boolean, corrupt, flag, int, ms, opt_at, opt_text, parsed, parsed_with,
    text, to_json,
};
pub(crate) use crate::sql_store::*;
