//! Sportello's payments domain: what an ente is owed. A debt position (GPD's "posizione
//! debitoria") holds one or more payment options — single payments or the installments of a
//! plan — each with its notice number and 1–5 transfers to beneficiary enti. This crate holds
//! the parsed values, the aggregate and its state rules (GPD's, plus reissue), the GPD wire
//! model, and the ports storage implements. No I/O; it depends on `kernel` only, never on
//! `messaging` (the two meet in `ops`).

pub mod gpd;
pub mod import;
pub mod model;
pub mod node;
pub mod ports;
pub mod recon;
pub mod rules;
pub mod values;

pub use model::{
    Debtor, DebtorType, OptionStatus, PaymentOption, PaymentRecord, Position, PositionId,
    PositionStatus, Transfer, TransferStatus,
};
pub use rules::RuleError;
