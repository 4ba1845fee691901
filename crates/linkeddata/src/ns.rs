//! The namespaces the catalogue is written with, and the prefixes the serializers use.

use oxigraph::model::NamedNode;

pub const DCAT: &str = "http://www.w3.org/ns/dcat#";
pub const DCT: &str = "http://purl.org/dc/terms/";
pub const DCATAPIT: &str = "http://dati.gov.it/onto/dcatapit#";
pub const FOAF: &str = "http://xmlns.com/foaf/0.1/";
pub const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
pub const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
pub const ADMS: &str = "http://www.w3.org/ns/adms#";
pub const LOCN: &str = "http://www.w3.org/ns/locn#";
pub const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";

/// The EU data-theme authority table, the catalogue's `dcat:themeTaxonomy`.
pub const DATA_THEME_SCHEME: &str = "http://publications.europa.eu/resource/authority/data-theme";
/// The EU language authority table entry for Italian.
pub const LANGUAGE_ITA: &str = "http://publications.europa.eu/resource/authority/language/ITA";
/// Where IANA media types are named as URIs (DCAT-AP `dcat:mediaType`).
pub const IANA_MEDIA_TYPES: &str = "http://www.iana.org/assignments/media-types/";

/// The prefixes every serialization declares, in this order.
pub const PREFIXES: [(&str, &str); 11] = [
    ("dcat", DCAT),
    ("dct", DCT),
    ("dcatapit", DCATAPIT),
    ("foaf", FOAF),
    ("vcard", VCARD),
    ("hydra", HYDRA),
    ("xsd", XSD),
    ("adms", ADMS),
    ("locn", LOCN),
    ("skos", SKOS),
    ("rdfs", RDFS),
];

/// `namespace` + `local`, unchecked: only for the constant namespaces above with ASCII local names.
pub(crate) fn term(namespace: &str, local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{namespace}{local}"))
}
