//! The payments domain's ports: [`payments::ports::Profiles`] (an ente's set-up and keys),
//! [`payments::ports::Positions`] (debt positions, their notice numbers and history),
//! [`payments::ports::Imports`] (bulk imports of positions) and
//! [`payments::ports::Archives`] (massive notice archives).

mod archives;
mod imports;
mod positions;
mod profiles;
mod receipts;
mod recon;
