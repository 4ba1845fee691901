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
//! - [`fdr_read`]: readers of the reporting flow (XML 1.0/1.1 and FdR 3 REST JSON);
//!   [`nodo`]: the nodeForPa calls that fetch flows from the node (both sides);
//!   [`treasury`]: readers of treasury statements (OPI giornale di cassa, camt.053, CSV);
//!   [`remittance`]: the tolerant reader of a credit transfer's causale; [`read`]: their error.

pub mod daybook;
pub mod fdr;
pub mod fdr_read;
pub mod mbd;
pub mod nodo;
pub mod opi;
pub mod read;
pub mod remittance;
pub mod soap;
pub mod treasury;
pub mod types;
mod xml;

pub use types::*;
