//! Sportello's messaging domain: the parsed values, the rules a message must satisfy, who may
//! send to whom, and the ports (storage traits, one per aggregate) the adapters implement. Shared values and
//! organizations come from `kernel`. No I/O lives here.

pub mod batch;
pub mod citizen;
pub mod content;
pub mod delivery;
pub mod lifecycle;
pub mod model;
pub mod outbound;
pub mod ports;
pub mod quality;
pub mod quota;
pub mod service_payload;
pub mod topics;
