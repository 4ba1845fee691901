//! The DCAT-AP_IT catalogue graph: the catalogue, its datasets, their distributions, agents,
//! contact points, licences, places and periods, plus the Hydra paging ckanext-dcat emits and
//! dati.gov.it's harvester follows (`/catalog.{ttl,rdf,jsonld}?page=N`).
//!
//! URIs (all under [`CatalogInfo::base_url`]):
//! - catalogue: `{base}/catalog`, or `{base}/organization/{ipa}/catalog` when the catalogue is
//!   one organization's ([`catalog_uri`]);
//! - dataset: `{base}/dataset/{id}` ([`dataset_uri`]); its period of time
//!   `{base}/dataset/{id}#temporal` and its contact point `{base}/dataset/{id}#contactPoint`
//!   (never the agent's URI, as DCAT-AP_IT requires);
//! - distribution: `{base}/dataset/{id}/resource/{rid}`, also its `dcat:accessURL`; the download
//!   is `{base}/api/opendata/v1/resources/{rid}/download`;
//! - agent (publisher and rights holder): `{base}/organization/{identifier}`;
//! - licences, themes, frequencies, file types and places: their vocabulary URIs.
//!
//! Only published datasets are written, and of their resources only those not blocked by the
//! personal-data screening. Dates (`xsd:date`) are Italian calendar dates (`kernel::rome`).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use opendata::model::{Agent, Dataset, DatasetState, Resource, ResourceState};
use oxigraph::io::{JsonLdProfileSet, RdfFormat as OxFormat, RdfSerializer};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{Literal, NamedNode, NamedOrBlankNode, Term, Triple};

use crate::ns::{self, DCAT, DCATAPIT, DCT, FOAF, HYDRA, LOCN, VCARD, term};
use crate::percent_encode;

/// What the catalogue says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogInfo {
    /// The site's root, `https://dati.example.it`, without a trailing slash. It must be an
    /// absolute IRI: every URI of the graph starts with it.
    pub base_url: String,
    pub title: String,
    pub description: String,
    pub publisher: Agent,
    /// The last change of any dataset listed.
    pub modified: DateTime<Utc>,
    pub homepage: Option<String>,
    /// The IPA code, when the catalogue lists one organization's datasets.
    pub organization_filter: Option<String>,
}

/// One page of the catalogue, described with Hydra as ckanext-dcat does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub number: u64,
    pub per_page: u64,
    /// Datasets over all pages.
    pub total_items: u64,
    /// The `modified_since` parameter of the request, repeated in every page link.
    pub modified_since: Option<String>,
    /// The format the page is rendered in: its extension (`ttl`, `rdf`, `jsonld`) is the one of
    /// the page links, so a harvester following `hydra:nextPage` stays in the same format.
    pub format: RdfFormat,
}

/// The serializations the catalogue is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RdfFormat {
    Turtle,
    RdfXml,
    JsonLd,
}

impl RdfFormat {
    /// The media type to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Turtle => "text/turtle; charset=utf-8",
            Self::RdfXml => "application/rdf+xml",
            Self::JsonLd => "application/ld+json",
        }
    }

    /// `ttl`, `rdf` or `jsonld` (as in `/catalog.ttl`); `None` for anything else.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "ttl" => Some(Self::Turtle),
            "rdf" => Some(Self::RdfXml),
            "jsonld" => Some(Self::JsonLd),
            _ => None,
        }
    }

    /// The extension of the catalogue URL in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Turtle => "ttl",
            Self::RdfXml => "rdf",
            Self::JsonLd => "jsonld",
        }
    }

    fn oxigraph(self) -> OxFormat {
        match self {
            Self::Turtle => OxFormat::Turtle,
            Self::RdfXml => OxFormat::RdfXml,
            Self::JsonLd => OxFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
        }
    }
}

/// Why a graph could not be serialized.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The serializer refused a triple: in RDF/XML, a predicate that cannot be split into a
    /// namespace and an XML name (a column property whose name starts with a digit, say).
    #[error("the graph cannot be serialized: {0}")]
    Serialize(#[from] std::io::Error),
    #[error("invalid prefix IRI: {0}")]
    Prefix(String),
}

/// `{base}/dataset/{id}`.
pub fn dataset_uri(base_url: &str, dataset_id: &str) -> String {
    format!("{base_url}/dataset/{}", percent_encode(dataset_id))
}

/// `{base}/catalog`, or `{base}/organization/{ipa}/catalog` for one organization's catalogue.
pub fn catalog_uri(base_url: &str, organization_filter: Option<&str>) -> String {
    match organization_filter {
        Some(ipa) => format!("{base_url}/organization/{}/catalog", percent_encode(ipa)),
        None => format!("{base_url}/catalog"),
    }
}

/// `{base}/organization/{identifier}`.
pub fn agent_uri(base_url: &str, identifier: &str) -> String {
    format!("{base_url}/organization/{}", percent_encode(identifier))
}

/// `{base}/dataset/{id}/resource/{rid}`: the distribution and its access URL.
pub fn distribution_uri(base_url: &str, dataset_id: &str, resource_id: &str) -> String {
    format!(
        "{}/resource/{}",
        dataset_uri(base_url, dataset_id),
        percent_encode(resource_id)
    )
}

/// `{base}/api/opendata/v1/resources/{rid}/download`.
pub fn download_url(base_url: &str, resource_id: &str) -> String {
    format!(
        "{base_url}/api/opendata/v1/resources/{}/download",
        percent_encode(resource_id)
    )
}

/// The URL of one catalogue page: `{base}/catalog.{ext}?page=N`, followed by
/// `organization=` and `modified_since=` when they were given.
pub fn page_url(info: &CatalogInfo, page: &Page, number: u64) -> String {
    let mut url = format!(
        "{}/catalog.{}?page={number}",
        info.base_url,
        page.format.extension()
    );
    if let Some(ipa) = &info.organization_filter {
        url.push_str("&organization=");
        url.push_str(&percent_encode(ipa));
    }
    if let Some(since) = &page.modified_since {
        url.push_str("&modified_since=");
        url.push_str(&percent_encode(since));
    }
    url
}

/// The catalogue graph: the catalogue, the datasets given (one page of them when `page` is
/// given) and the Hydra description of the page. Triples are in a stable order, grouped by
/// subject, without duplicates (an agent or licence shared by several datasets is written once).
pub fn catalog_triples(
    info: &CatalogInfo,
    datasets: &[(Dataset, Vec<Resource>)],
    page: Option<&Page>,
) -> Vec<Triple> {
    let mut graph = Graph::default();
    let base = info.base_url.as_str();
    let catalog = node(catalog_uri(base, info.organization_filter.as_deref()));

    let published: Vec<&(Dataset, Vec<Resource>)> = datasets
        .iter()
        .filter(|(dataset, _)| dataset.state == DatasetState::Published)
        .collect();

    graph.add(&catalog, rdf::TYPE.into_owned(), term(DCATAPIT, "Catalog"));
    graph.add(&catalog, rdf::TYPE.into_owned(), term(DCAT, "Catalog"));
    graph.add(&catalog, term(DCT, "title"), italian(&info.title));
    graph.add(
        &catalog,
        term(DCT, "description"),
        italian(&info.description),
    );
    let publisher = agent_uri(base, &info.publisher.identifier);
    graph.add(&catalog, term(DCT, "publisher"), node(publisher.clone()));
    graph.add(
        &catalog,
        term(DCT, "modified"),
        date(kernel::rome::date(info.modified)),
    );
    graph.add(
        &catalog,
        term(DCT, "language"),
        node(ns::LANGUAGE_ITA.to_owned()),
    );
    if let Some(homepage) = info.homepage.as_deref().and_then(checked_node) {
        graph.add(&catalog, term(FOAF, "homepage"), homepage);
    }
    graph.add(
        &catalog,
        term(DCAT, "themeTaxonomy"),
        node(ns::DATA_THEME_SCHEME.to_owned()),
    );
    for (dataset, _) in &published {
        graph.add(
            &catalog,
            term(DCAT, "dataset"),
            node(dataset_uri(base, &dataset.id)),
        );
    }
    agent(&mut graph, &publisher, &info.publisher);

    for (dataset, resources) in &published {
        dataset_triples(&mut graph, base, dataset, resources);
    }

    if let Some(page) = page {
        paging(&mut graph, info, page);
    }
    graph.triples
}

fn dataset_triples(graph: &mut Graph, base: &str, dataset: &Dataset, resources: &[Resource]) {
    let uri = dataset_uri(base, &dataset.id);
    let subject = node(uri.clone());
    let meta = &dataset.meta;
    graph.add(&subject, rdf::TYPE.into_owned(), term(DCATAPIT, "Dataset"));
    graph.add(&subject, rdf::TYPE.into_owned(), term(DCAT, "Dataset"));
    graph.add(
        &subject,
        term(DCT, "identifier"),
        Literal::new_simple_literal(&dataset.identifier),
    );
    graph.add(&subject, term(DCT, "title"), italian(&meta.title));
    graph.add(
        &subject,
        term(DCT, "description"),
        italian(&meta.description),
    );
    graph.add(
        &subject,
        term(DCT, "modified"),
        date(kernel::rome::date(dataset.modified_at)),
    );
    if let Some(published) = dataset.published_at {
        graph.add(
            &subject,
            term(DCT, "issued"),
            date(kernel::rome::date(published)),
        );
    }
    for theme in &meta.themes {
        graph.add(&subject, term(DCAT, "theme"), node(theme.uri.to_owned()));
    }
    let agent_node = agent_uri(base, &dataset.publisher.identifier);
    graph.add(
        &subject,
        term(DCT, "rightsHolder"),
        node(agent_node.clone()),
    );
    graph.add(&subject, term(DCT, "publisher"), node(agent_node.clone()));
    graph.add(
        &subject,
        term(DCT, "accrualPeriodicity"),
        node(meta.frequency.uri.to_owned()),
    );
    for keyword in &meta.keywords {
        graph.add(&subject, term(DCAT, "keyword"), italian(keyword));
    }
    if let Some(landing) = meta.landing_page.as_deref().and_then(checked_node) {
        graph.add(&subject, term(DCAT, "landingPage"), landing);
    }
    let places: Vec<NamedNode> = meta
        .territory
        .iter()
        .map(|territory| node(territory.term.uri.to_owned()))
        .collect();
    for place in &places {
        graph.add(&subject, term(DCT, "spatial"), place.clone());
    }
    let period = meta.temporal.map(|temporal| {
        let period = node(format!("{uri}#temporal"));
        graph.add(&subject, term(DCT, "temporal"), period.clone());
        (period, temporal)
    });
    let contact = meta.contact.as_ref().and_then(|contact| {
        let email = checked_node(&format!("mailto:{}", contact.email.as_str()))?;
        let contact_node = node(format!("{uri}#contactPoint"));
        graph.add(&subject, term(DCAT, "contactPoint"), contact_node.clone());
        Some((contact_node, contact.name.as_str(), email))
    });
    let distributions: Vec<&Resource> = resources
        .iter()
        .filter(|resource| resource.state == ResourceState::Ready)
        .collect();
    for resource in &distributions {
        graph.add(
            &subject,
            term(DCAT, "distribution"),
            node(distribution_uri(base, &dataset.id, &resource.id)),
        );
    }

    agent(graph, &agent_node, &dataset.publisher);
    for (place, territory) in places.iter().zip(&meta.territory) {
        graph.add(place, rdf::TYPE.into_owned(), term(DCT, "Location"));
        graph.add(
            place,
            term(DCATAPIT, "geographicalIdentifier"),
            Literal::new_simple_literal(territory.term.uri),
        );
        graph.add(
            place,
            term(LOCN, "geographicName"),
            italian(territory.term.label_it),
        );
    }
    if let Some((period, temporal)) = period {
        graph.add(&period, rdf::TYPE.into_owned(), term(DCT, "PeriodOfTime"));
        graph.add(&period, term(DCATAPIT, "startDate"), date(temporal.start));
        if let Some(end) = temporal.end {
            graph.add(&period, term(DCATAPIT, "endDate"), date(end));
        }
    }
    if let Some((contact_node, name, email)) = contact {
        graph.add(
            &contact_node,
            rdf::TYPE.into_owned(),
            term(DCATAPIT, "Organization"),
        );
        graph.add(&contact_node, rdf::TYPE.into_owned(), term(VCARD, "Kind"));
        graph.add(
            &contact_node,
            term(VCARD, "fn"),
            Literal::new_simple_literal(name),
        );
        graph.add(&contact_node, term(VCARD, "hasEmail"), email);
    }
    for resource in distributions {
        distribution(graph, base, dataset, resource);
    }
}

fn distribution(graph: &mut Graph, base: &str, dataset: &Dataset, resource: &Resource) {
    let access = distribution_uri(base, &dataset.id, &resource.id);
    let subject = node(access.clone());
    let licence = &dataset.meta.licence;
    let licence_node = node(licence.term.uri.to_owned());
    graph.add(
        &subject,
        rdf::TYPE.into_owned(),
        term(DCATAPIT, "Distribution"),
    );
    graph.add(&subject, rdf::TYPE.into_owned(), term(DCAT, "Distribution"));
    graph.add(
        &subject,
        term(DCT, "format"),
        node(resource.format.uri.to_owned()),
    );
    graph.add(&subject, term(DCAT, "accessURL"), node(access));
    graph.add(
        &subject,
        term(DCAT, "downloadURL"),
        node(download_url(base, &resource.id)),
    );
    graph.add(&subject, term(DCT, "license"), licence_node.clone());
    graph.add(&subject, term(DCT, "title"), italian(&resource.name));
    graph.add(
        &subject,
        term(DCT, "modified"),
        date(kernel::rome::date(resource.modified_at)),
    );
    graph.add(
        &subject,
        term(DCAT, "byteSize"),
        Literal::new_typed_literal(resource.byte_size.to_string(), xsd::DECIMAL),
    );
    if let Some(media_type) = media_type_node(&resource.media_type) {
        graph.add(&subject, term(DCAT, "mediaType"), media_type);
    }

    graph.add(
        &licence_node,
        rdf::TYPE.into_owned(),
        term(DCATAPIT, "LicenseDocument"),
    );
    graph.add(
        &licence_node,
        rdf::TYPE.into_owned(),
        term(DCT, "LicenseDocument"),
    );
    if let Some(adms_type) = checked_node(licence.adms_type) {
        graph.add(&licence_node, term(DCT, "type"), adms_type);
    }
    graph.add(
        &licence_node,
        term(FOAF, "name"),
        italian(licence.term.label_it),
    );
    if let Some(document) = licence.document_url.and_then(checked_node) {
        graph.add(&licence_node, term(ns::RDFS, "seeAlso"), document);
    }
}

/// The agent node: `dcatapit:Agent` + `foaf:Agent` with its IPA code and name.
fn agent(graph: &mut Graph, uri: &str, agent: &Agent) {
    let subject = node(uri.to_owned());
    graph.add(&subject, rdf::TYPE.into_owned(), term(DCATAPIT, "Agent"));
    graph.add(&subject, rdf::TYPE.into_owned(), term(FOAF, "Agent"));
    graph.add(
        &subject,
        term(DCT, "identifier"),
        Literal::new_simple_literal(&agent.identifier),
    );
    graph.add(
        &subject,
        term(FOAF, "name"),
        Literal::new_simple_literal(&agent.name),
    );
}

/// The Hydra page node, as ckanext-dcat writes it: the links are string literals.
fn paging(graph: &mut Graph, info: &CatalogInfo, page: &Page) {
    let per_page = page.per_page.max(1);
    let last = page.total_items.div_ceil(per_page).max(1);
    let number = page.number.max(1);
    let subject = node(page_url(info, page, number));
    let link = |n: u64| Literal::new_simple_literal(page_url(info, page, n));
    graph.add(
        &subject,
        rdf::TYPE.into_owned(),
        term(HYDRA, "PagedCollection"),
    );
    graph.add(
        &subject,
        term(HYDRA, "totalItems"),
        Literal::from(page.total_items),
    );
    graph.add(
        &subject,
        term(HYDRA, "itemsPerPage"),
        Literal::from(per_page),
    );
    graph.add(&subject, term(HYDRA, "firstPage"), link(1));
    graph.add(&subject, term(HYDRA, "lastPage"), link(last));
    if number < last {
        graph.add(&subject, term(HYDRA, "nextPage"), link(number + 1));
    }
    if number > 1 {
        graph.add(
            &subject,
            term(HYDRA, "previousPage"),
            link((number - 1).min(last)),
        );
    }
}

/// Serializes triples with oxigraph, declaring the [`ns::PREFIXES`] (Turtle and RDF/XML; the
/// JSON-LD serializer writes expanded IRIs).
pub fn render(triples: &[Triple], format: RdfFormat) -> Result<Vec<u8>, RenderError> {
    let mut serializer = RdfSerializer::from_format(format.oxigraph());
    for (prefix, iri) in ns::PREFIXES {
        serializer = serializer
            .with_prefix(prefix, iri)
            .map_err(|e| RenderError::Prefix(e.to_string()))?;
    }
    let mut writer = serializer.for_writer(Vec::new());
    for triple in triples {
        writer.serialize_triple(triple)?;
    }
    Ok(writer.finish()?)
}

/// Triples in insertion order, each once.
#[derive(Default)]
struct Graph {
    triples: Vec<Triple>,
    seen: HashSet<Triple>,
}

impl Graph {
    fn add(&mut self, subject: &NamedNode, predicate: NamedNode, object: impl Into<Term>) {
        let triple = Triple::new(
            NamedOrBlankNode::from(subject.clone()),
            predicate,
            object.into(),
        );
        if self.seen.insert(triple.clone()) {
            self.triples.push(triple);
        }
    }
}

/// A URI we built from the base URL and percent-encoded segments, or a vocabulary URI.
fn node(uri: String) -> NamedNode {
    NamedNode::new_unchecked(uri)
}

/// A URI from user input, `None` when it is not an absolute IRI.
fn checked_node(uri: &str) -> Option<NamedNode> {
    NamedNode::new(uri).ok()
}

fn italian(value: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(value, "it")
}

fn date(value: NaiveDate) -> Literal {
    Literal::new_typed_literal(value.format("%Y-%m-%d").to_string(), xsd::DATE)
}

/// `http://www.iana.org/assignments/media-types/{type}/{subtype}`, parameters dropped.
fn media_type_node(media_type: &str) -> Option<NamedNode> {
    let essence = media_type.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, subtype) = essence.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    if !token(kind) || !token(subtype) {
        return None;
    }
    checked_node(&format!("{}{kind}/{subtype}", ns::IANA_MEDIA_TYPES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_become_iana_uris_without_parameters() {
        assert_eq!(
            media_type_node("text/csv; charset=utf-8").map(|n| n.into_string()),
            Some("http://www.iana.org/assignments/media-types/text/csv".to_owned())
        );
        assert_eq!(media_type_node("nonsense"), None);
    }

    #[test]
    fn format_extensions_round_trip() {
        for format in [RdfFormat::Turtle, RdfFormat::RdfXml, RdfFormat::JsonLd] {
            assert_eq!(RdfFormat::from_extension(format.extension()), Some(format));
        }
        assert_eq!(RdfFormat::from_extension("xml"), None);
    }
}
