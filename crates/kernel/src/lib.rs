//! Sportello's shared kernel: what more than one domain needs to know. Parsed values (fiscal
//! codes, e-mail addresses, ids, amounts, notice numbers), the organizations (enti) and the
//! people acting for them, field errors, the clock and the ports every domain shares: the
//! organizations, the audit log and the job queue. No I/O lives here; domain crates
//! (`messaging`, later `payments` and `opendata`) depend on this crate and never on each other.

pub mod audit;
pub mod clock;
pub mod fields;
pub mod jobs;
pub mod organization;
pub mod ports;
pub mod rome;
pub mod values;

pub use clock::{Clock, SystemClock, TestClock};
pub use fields::{FieldError, FieldErrors};
pub use ports::{StoreError, StoreResult};
