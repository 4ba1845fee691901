//! The payments domain's ports: [`payments::ports::Profiles`] (an ente's set-up and keys),
//! [`payments::ports::Positions`] (debt positions, their notice numbers and history) and
//! [`payments::ports::Archives`] (massive notice archives).

mod archives;
mod positions;
mod profiles;
