//! pagoPA node wire formats, free of I/O.
//!
//! - [`soap`]: the SOAP 1.1 envelope of the paForNode interface: [`soap::parse_request`] reads what
//!   the node sends (tolerant of prefixes, default namespaces, unqualified children, with or
//!   without `SOAPAction`), checks it against `paForNode.xsd` and returns a typed [`Request`] or
//!   the fault to answer with; [`soap::render_response`] writes responses valid against the XSD
//!   and the node's extra rules. The client direction (for the node simulator) is there too:
//!   [`soap::render_request`] and [`soap::parse_response`].
//! - [`types`]: the typed requests, responses, receipts and faults.
//! - [`mbd`]: the MarcaDaBollo XML of a digital stamp receipt.
//! - [`fdr`] and [`opi`]: writers of the reporting flow and of the treasury journal.

pub mod daybook;
pub mod fdr;
pub mod mbd;
pub mod opi;
pub mod soap;
pub mod types;
mod xml;

pub use types::*;
