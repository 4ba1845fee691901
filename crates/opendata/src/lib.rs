//! Sportello's open-data domain: what an ente publishes as open data. Datasets carry DCAT-AP_IT
//! metadata checked against the controlled vocabularies (`vocab`, `meta`); their resources are
//! tables read once to infer a Table Schema, write a quality report and screen every column for
//! personal data (`ingest`, `schema`, `pii`); published datasets are searched (`search`) and
//! counted (`usage`); the platform's own figures are released monthly with differential privacy
//! (`dp`, `stats`).
//! No I/O: readers take `std::io::Read`, storage is behind `ports`.

pub mod dp;
pub mod ingest;
pub mod meta;
pub mod model;
pub mod pii;
pub mod ports;
pub mod search;
pub mod stats;
pub mod vocab;
