//! The payments domain's ports: [`payments::ports::Profiles`] (an ente's set-up and keys) and
//! [`payments::ports::Positions`] (debt positions, their notice numbers and history) and
//! [`payments::ports::Imports`] (bulk imports of positions).

mod imports;
mod positions;
mod profiles;
