//! The messaging domain's ports, one file each, and the SQL they share.

mod batches;
mod catalogue;
mod citizens;
mod inbox;
mod messages;
mod outbound;
mod processing;
mod services;
mod sessions;
pub(crate) mod support;
mod usage;
