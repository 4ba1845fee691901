//! Sportello's open data as linked data: the DCAT-AP_IT catalogue as RDF (Turtle, RDF/XML,
//! JSON-LD) with the Hydra paging dati.gov.it's harvester follows (`catalog`), the published
//! tables as RDF and a read-only SPARQL endpoint over both (`sparql`), and the DCAT-AP_IT SHACL
//! shapes the output is checked against in the tests ([`SHAPES_TURTLE`]).
//!
//! Everything is in memory: the store is oxigraph's in-memory store (no RocksDB), filled from the
//! database by the caller, so the crate does no I/O of its own.

pub mod catalog;
pub mod ns;
pub mod sparql;

pub use catalog::{
    CatalogInfo, Page, RdfFormat, RenderError, catalog_triples, catalog_uri, dataset_uri, render,
};
pub use sparql::{
    QueryAnswer, QueryLimits, ResultFormat, SparqlEngine, SparqlError, negotiate, resource_triples,
};

/// The DCAT-AP_IT SHACL shapes (`shapes/dcat-ap-it.ttl`), for a validator or to publish.
pub const SHAPES_TURTLE: &str = include_str!("../shapes/dcat-ap-it.ttl");

/// Percent-encodes everything but the URI unreserved characters (`A-Z a-z 0-9 - . _ ~`), for a
/// path segment, a fragment or a query value.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn percent_encoding_keeps_unreserved_characters_and_escapes_the_rest() {
        assert_eq!(percent_encode("Anno_2024-v.1~"), "Anno_2024-v.1~");
        assert_eq!(percent_encode("Comune di Napoli"), "Comune%20di%20Napoli");
        assert_eq!(percent_encode("città/€"), "citt%C3%A0%2F%E2%82%AC");
    }
}
