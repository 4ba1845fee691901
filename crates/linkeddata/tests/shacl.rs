//! The catalogue graph checked from outside: a realistic two-organization catalogue is rendered
//! and validated by pySHACL against `shapes/dcat-ap-it.ttl` (installed into `target/test-tools`
//! by `scripts/test-tools.sh`); broken variants must fail naming the property. Then the three
//! serializations are parsed back, the Hydra paging links are read, and the SPARQL endpoint is
//! queried in every result format, with its syntax errors, its refusal of updates and its row
//! and time limits.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kernel::values::{Email, OrganizationFiscalCode};
use linkeddata::{
    CatalogInfo, Page, QueryLimits, RdfFormat, ResultFormat, SHAPES_TURTLE, SparqlEngine,
    SparqlError, catalog_triples, dataset_uri, render, resource_triples,
};
use opendata::model::{
    Agent, Cell, ContactPoint, Dataset, DatasetMeta, DatasetState, Field, FieldType, Licence,
    QualityReport, Resource, ResourceState, TableSchema, Temporal, Term, Territory, TerritoryLevel,
};
use oxigraph::io::{JsonLdProfileSet, RdfFormat as OxFormat, RdfParser};
use oxigraph::model::{Literal, NamedNode, NamedOrBlankNode, Term as RdfTerm, Triple};

const BASE: &str = "https://dati.example.it";
const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";

// ---------------------------------------------------------------------------------------------
// Fixture: Regione Campania and Comune di Napoli, two datasets, three resources

fn term(base: &'static str, code: &'static str, it: &'static str) -> Term {
    // The URIs are built by leaking: a test builds a handful of them.
    let uri: &'static str = Box::leak(format!("{base}{code}").into_boxed_str());
    Term {
        code,
        uri,
        label_it: it,
        label_en: it,
    }
}

fn theme(code: &'static str, it: &'static str) -> Term {
    term(
        "http://publications.europa.eu/resource/authority/data-theme/",
        code,
        it,
    )
}

fn frequency(code: &'static str) -> Term {
    term(
        "http://publications.europa.eu/resource/authority/frequency/",
        code,
        code,
    )
}

fn file_type(code: &'static str) -> Term {
    term(
        "http://publications.europa.eu/resource/authority/file-type/",
        code,
        code,
    )
}

fn cc_by() -> Licence {
    Licence {
        term: term(
            "https://w3id.org/italia/controlled-vocabulary/licences/",
            "A21_CCBY40",
            "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)",
        ),
        adms_type: "http://purl.org/adms/licencetype/Attribution",
        document_url: Some("https://creativecommons.org/licenses/by/4.0/"),
    }
}

fn iodl() -> Licence {
    Licence {
        term: term(
            "https://w3id.org/italia/controlled-vocabulary/licences/",
            "A29_IODL20",
            "Italian Open Data License 2.0",
        ),
        adms_type: "http://purl.org/adms/licencetype/Attribution",
        document_url: None,
    }
}

fn campania() -> Territory {
    Territory {
        term: term(
            "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/regions/",
            "15",
            "Campania",
        ),
        level: TerritoryLevel::Region,
    }
}

fn napoli() -> Territory {
    Territory {
        term: term(
            "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/cities/",
            "063049",
            "Napoli",
        ),
        level: TerritoryLevel::Municipality,
    }
}

fn regione() -> Agent {
    Agent {
        organization: OrganizationFiscalCode::parse("80011990639").unwrap(),
        identifier: "r_campan".to_owned(),
        name: "Regione Campania".to_owned(),
    }
}

fn comune() -> Agent {
    Agent {
        organization: OrganizationFiscalCode::parse("80014890638").unwrap(),
        identifier: "c_f839".to_owned(),
        name: "Comune di Napoli".to_owned(),
    }
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 30, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn quality(rows: u64) -> QualityReport {
    QualityReport {
        row_count: rows,
        encoding: "UTF-8".to_owned(),
        delimiter: Some(";".to_owned()),
        empty_cells: 0,
        columns: Vec::new(),
        duplicate_keys: 0,
        encoding_repairs: 0,
        issues: Vec::new(),
        issue_count: 0,
    }
}

/// A column; the one place that builds a `Field`.
fn field(name: &str, field_type: FieldType, rdf_property: Option<&str>) -> Field {
    Field {
        name: name.to_owned(),
        field_type,
        description: Some(format!("La colonna {name}")),
        rdf_property: rdf_property.map(str::to_owned),
        decimal_char: (field_type == FieldType::Number).then_some(','),
    }
}

fn schema() -> TableSchema {
    TableSchema {
        fields: vec![
            field(
                "Comune",
                FieldType::String,
                Some("http://www.w3.org/2000/01/rdf-schema#label"),
            ),
            field("Anno", FieldType::Integer, None),
            field("Spesa (€)", FieldType::Number, None),
            field("Approvato", FieldType::Boolean, None),
            field("Data delibera", FieldType::Date, None),
        ],
        primary_key: Vec::new(),
    }
}

fn resource(id: &str, dataset_id: &str, name: &str, format: &'static str) -> Resource {
    Resource {
        id: id.to_owned(),
        dataset_id: dataset_id.to_owned(),
        name: name.to_owned(),
        format: file_type(format),
        media_type: "text/csv; charset=utf-8".to_owned(),
        byte_size: 48_213,
        version: 1,
        schema: schema(),
        quality: quality(120),
        findings: Vec::new(),
        state: ResourceState::Ready,
        resolutions: Vec::new(),
        created_at: at(2024, 3, 1),
        modified_at: at(2024, 11, 30),
    }
}

const BILANCIO: &str = "01JCZ3V8Q6W4R0Y2K5N7M9P1QA";
const PARCHEGGI: &str = "01JCZ3V8Q6W4R0Y2K5N7M9P1QB";

fn datasets() -> Vec<(Dataset, Vec<Resource>)> {
    let bilancio = Dataset {
        id: BILANCIO.to_owned(),
        identifier: format!("r_campan:{BILANCIO}"),
        publisher: regione(),
        meta: DatasetMeta {
            title: "Bilancio regionale di previsione".to_owned(),
            description:
                "Entrate e spese previste dal bilancio della Regione Campania, per capitolo."
                    .to_owned(),
            themes: vec![
                theme("ECON", "Economia e finanze"),
                theme("GOVE", "Governo e settore pubblico"),
            ],
            frequency: frequency("ANNUAL"),
            licence: cc_by(),
            keywords: vec!["bilancio".to_owned(), "spesa pubblica".to_owned()],
            territory: vec![campania()],
            temporal: Some(Temporal {
                start: day(2024, 1, 1),
                end: Some(day(2024, 12, 31)),
            }),
            contact: Some(ContactPoint {
                name: "Ufficio Bilancio".to_owned(),
                email: Email::parse("bilancio@regione.campania.it").unwrap(),
            }),
            landing_page: Some("https://www.regione.campania.it/bilancio".to_owned()),
        },
        state: DatasetState::Published,
        created_at: at(2024, 2, 1),
        modified_at: at(2024, 12, 2),
        published_at: Some(at(2024, 2, 15)),
    };
    let parcheggi = Dataset {
        id: PARCHEGGI.to_owned(),
        identifier: format!("c_f839:{PARCHEGGI}"),
        publisher: comune(),
        meta: DatasetMeta {
            title: "Parcheggi di interscambio".to_owned(),
            description: "Posti auto nei parcheggi di interscambio del Comune di Napoli."
                .to_owned(),
            themes: vec![theme("TRAN", "Trasporti")],
            frequency: frequency("MONTHLY"),
            licence: iodl(),
            keywords: vec!["mobilità".to_owned()],
            territory: vec![napoli(), campania()],
            temporal: Some(Temporal {
                start: day(2023, 6, 1),
                end: None,
            }),
            contact: Some(ContactPoint {
                name: "Servizio Mobilità".to_owned(),
                email: Email::parse("mobilita@comune.napoli.it").unwrap(),
            }),
            landing_page: None,
        },
        state: DatasetState::Published,
        created_at: at(2023, 6, 1),
        modified_at: at(2024, 10, 10),
        published_at: Some(at(2023, 6, 2)),
    };
    vec![
        (
            bilancio,
            vec![
                resource(
                    "01JCZ3V8Q6W4R0Y2K5N7M9P1R1",
                    BILANCIO,
                    "Entrate 2024",
                    "CSV",
                ),
                resource("01JCZ3V8Q6W4R0Y2K5N7M9P1R2", BILANCIO, "Spese 2024", "CSV"),
            ],
        ),
        (
            parcheggi,
            vec![resource(
                "01JCZ3V8Q6W4R0Y2K5N7M9P1R3",
                PARCHEGGI,
                "Posti",
                "JSON",
            )],
        ),
    ]
}

fn info() -> CatalogInfo {
    CatalogInfo {
        base_url: BASE.to_owned(),
        title: "Dati aperti della Campania".to_owned(),
        description: "Il catalogo dei dati aperti della Regione Campania e dei suoi enti."
            .to_owned(),
        publisher: regione(),
        modified: at(2024, 12, 2),
        homepage: Some("https://dati.example.it/".to_owned()),
        organization_filter: None,
    }
}

fn catalogue() -> Vec<Triple> {
    catalog_triples(&info(), &datasets(), None)
}

fn named(iri: &str) -> NamedNode {
    NamedNode::new(iri).unwrap()
}

fn objects(triples: &[Triple], subject: &str, predicate: &str) -> Vec<RdfTerm> {
    let subject = NamedOrBlankNode::from(named(subject));
    let predicate = named(predicate);
    triples
        .iter()
        .filter(|t| t.subject == subject && t.predicate == predicate)
        .map(|t| t.object.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// pySHACL

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap()
        .to_path_buf()
}

/// The venv python of `scripts/test-tools.sh` (its last line of output), with pySHACL.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = workspace_root();
        let output = Command::new("bash")
            .arg(root.join("scripts/test-tools.sh"))
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "scripts/test-tools.sh failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
    })
}

/// pySHACL's human-readable report and whether the data conforms.
fn shacl(triples: &[Triple]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("catalog.ttl");
    std::fs::write(&data, render(triples, RdfFormat::Turtle).unwrap()).unwrap();
    let shapes = Path::new(env!("CARGO_MANIFEST_DIR")).join("shapes/dcat-ap-it.ttl");
    let output = Command::new(python())
        .args(["-m", "pyshacl", "-s"])
        .arg(&shapes)
        .args(["-f", "human"])
        .arg(&data)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // pySHACL exits 0 when the data conforms, 1 when it does not, 2 or more on an error.
    let code = output.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "pySHACL failed ({code}):\n{report}");
    (code == 0 && report.contains("Conforms: True"), report)
}

fn without_predicate(triples: &[Triple], predicate: &str) -> Vec<Triple> {
    let predicate = named(predicate);
    triples
        .iter()
        .filter(|t| t.predicate != predicate)
        .cloned()
        .collect()
}

#[test]
fn the_rendered_catalogue_conforms_to_the_dcat_ap_it_shapes() {
    let (conforms, report) = shacl(&catalogue());
    assert!(conforms, "{report}");
}

#[test]
fn a_dataset_without_a_theme_does_not_conform_and_the_report_names_dcat_theme() {
    let (conforms, report) = shacl(&without_predicate(&catalogue(), &format!("{DCAT}theme")));
    assert!(!conforms, "{report}");
    assert!(report.contains("Result Path: dcat:theme"), "{report}");
    assert!(report.contains("MinCountConstraintComponent"), "{report}");
}

#[test]
fn a_literal_theme_does_not_conform() {
    let theme = named(&format!("{DCAT}theme"));
    let triples: Vec<Triple> = catalogue()
        .into_iter()
        .map(|t| {
            if t.predicate == theme {
                Triple::new(
                    t.subject,
                    t.predicate,
                    Literal::new_simple_literal("Economia"),
                )
            } else {
                t
            }
        })
        .collect();
    let (conforms, report) = shacl(&triples);
    assert!(!conforms, "{report}");
    assert!(report.contains("Result Path: dcat:theme"), "{report}");
    assert!(report.contains("InConstraintComponent"), "{report}");
}

#[test]
fn a_dataset_without_a_rights_holder_does_not_conform() {
    let (conforms, report) = shacl(&without_predicate(
        &catalogue(),
        &format!("{DCT}rightsHolder"),
    ));
    assert!(!conforms, "{report}");
    assert!(report.contains("Result Path: dct:rightsHolder"), "{report}");
}

#[test]
fn an_agent_without_its_ipa_code_or_a_licence_outside_the_italian_vocabulary_does_not_conform() {
    let identifier = named(&format!("{DCT}identifier"));
    let license = named(&format!("{DCT}license"));
    let agent = NamedOrBlankNode::from(named(&format!("{BASE}/organization/c_f839")));
    let triples: Vec<Triple> = catalogue()
        .into_iter()
        .filter(|t| !(t.subject == agent && t.predicate == identifier))
        .map(|t| {
            if t.predicate == license {
                let other = named("https://creativecommons.org/licenses/by/4.0/");
                Triple::new(t.subject, t.predicate, other)
            } else {
                t
            }
        })
        .collect();
    let (conforms, report) = shacl(&triples);
    assert!(!conforms, "{report}");
    assert!(report.contains("Result Path: dct:identifier"), "{report}");
    assert!(
        report.contains("Focus Node: <https://dati.example.it/organization/c_f839>"),
        "{report}"
    );
    assert!(report.contains("Result Path: dct:license"), "{report}");
}

#[test]
fn the_theme_list_of_the_shapes_is_the_thirteen_themes_of_opendatas_vocabulary() {
    let themes = opendata::vocab::themes();
    assert_eq!(themes.len(), 13);
    for theme in themes {
        assert!(
            SHAPES_TURTLE.contains(&format!("<{}>", theme.uri)),
            "{}",
            theme.uri
        );
    }
    let listed = SHAPES_TURTLE
        .matches("<http://publications.europa.eu/resource/authority/data-theme/")
        .count();
    assert_eq!(listed, themes.len());
}

// ---------------------------------------------------------------------------------------------
// The graph itself

#[test]
fn every_dataset_carries_the_mandatory_dcat_ap_it_properties() {
    let triples = catalogue();
    let bilancio = dataset_uri(BASE, BILANCIO);
    for property in [
        format!("{DCT}identifier"),
        format!("{DCT}title"),
        format!("{DCT}description"),
        format!("{DCT}modified"),
        format!("{DCAT}theme"),
        format!("{DCT}rightsHolder"),
        format!("{DCT}accrualPeriodicity"),
        format!("{DCAT}distribution"),
    ] {
        assert!(
            !objects(&triples, &bilancio, &property).is_empty(),
            "{property}"
        );
    }
    assert_eq!(
        objects(&triples, &bilancio, &format!("{DCAT}distribution")).len(),
        2
    );
    assert_eq!(
        objects(&triples, &bilancio, &format!("{DCT}modified")),
        vec![RdfTerm::from(Literal::new_typed_literal(
            "2024-12-02",
            oxigraph::model::vocab::xsd::DATE
        ))]
    );
}

#[test]
fn the_agent_and_the_contact_point_have_different_uris() {
    let triples = catalogue();
    let bilancio = dataset_uri(BASE, BILANCIO);
    let holder = objects(&triples, &bilancio, &format!("{DCT}rightsHolder"));
    let contact = objects(&triples, &bilancio, &format!("{DCAT}contactPoint"));
    assert_eq!(
        holder,
        vec![RdfTerm::from(named(&format!(
            "{BASE}/organization/r_campan"
        )))]
    );
    assert_eq!(contact.len(), 1);
    assert_ne!(holder, contact);
}

#[test]
fn a_shared_agent_territory_or_licence_is_written_once() {
    let triples = catalogue();
    let unique: HashSet<&Triple> = triples.iter().collect();
    assert_eq!(unique.len(), triples.len());
}

#[test]
fn drafts_and_blocked_resources_are_left_out() {
    let mut data = datasets();
    data[1].0.state = DatasetState::Draft;
    data[0].1[1].state = ResourceState::Blocked;
    let triples = catalog_triples(&info(), &data, None);
    let catalog = format!("{BASE}/catalog");
    assert_eq!(
        objects(&triples, &catalog, &format!("{DCAT}dataset")).len(),
        1
    );
    assert!(
        objects(
            &triples,
            &dataset_uri(BASE, PARCHEGGI),
            &format!("{DCT}title")
        )
        .is_empty()
    );
    let bilancio = dataset_uri(BASE, BILANCIO);
    assert_eq!(
        objects(&triples, &bilancio, &format!("{DCAT}distribution")).len(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Serializations

fn parse(body: &[u8], format: OxFormat) -> HashSet<Triple> {
    RdfParser::from_format(format)
        .for_slice(body)
        .map(|quad| Triple::from(quad.unwrap()))
        .collect()
}

#[test]
fn turtle_rdf_xml_and_json_ld_parse_back_to_the_same_triples() {
    let triples = catalog_triples(
        &info(),
        &datasets(),
        Some(&Page {
            number: 1,
            per_page: 100,
            total_items: 2,
            modified_since: None,
            format: RdfFormat::Turtle,
        }),
    );
    let expected: HashSet<Triple> = triples.iter().cloned().collect();
    for (format, parser) in [
        (RdfFormat::Turtle, OxFormat::Turtle),
        (RdfFormat::RdfXml, OxFormat::RdfXml),
        (
            RdfFormat::JsonLd,
            OxFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
        ),
    ] {
        let body = render(&triples, format).unwrap();
        let parsed = parse(&body, parser);
        assert_eq!(parsed.len(), triples.len(), "{format:?}");
        assert_eq!(parsed, expected, "{format:?}");
    }
}

#[test]
fn turtle_uses_the_dcat_ap_it_prefixes() {
    let body = String::from_utf8(render(&catalogue(), RdfFormat::Turtle).unwrap()).unwrap();
    for prefix in [
        "dcat:",
        "dct:",
        "dcatapit:",
        "foaf:",
        "vcard:",
        "xsd:",
        "locn:",
    ] {
        assert!(body.contains(&format!("@prefix {prefix}")), "{prefix}");
    }
    assert!(body.contains("dcatapit:Dataset"));
}

#[test]
fn each_format_has_its_media_type_and_extension() {
    assert_eq!(
        RdfFormat::Turtle.content_type(),
        "text/turtle; charset=utf-8"
    );
    assert_eq!(RdfFormat::RdfXml.content_type(), "application/rdf+xml");
    assert_eq!(RdfFormat::JsonLd.content_type(), "application/ld+json");
    assert_eq!(RdfFormat::from_extension("jsonld"), Some(RdfFormat::JsonLd));
    assert_eq!(RdfFormat::from_extension("n3"), None);
}

// ---------------------------------------------------------------------------------------------
// Hydra paging

fn page_triples(number: u64, total: u64, format: RdfFormat, org: Option<&str>) -> Vec<Triple> {
    let mut info = info();
    info.organization_filter = org.map(str::to_owned);
    catalog_triples(
        &info,
        &datasets(),
        Some(&Page {
            number,
            per_page: 100,
            total_items: total,
            modified_since: Some("2024-01-01T00:00:00+01:00".to_owned()),
            format,
        }),
    )
}

fn link(triples: &[Triple], page: &str, property: &str) -> Option<String> {
    match objects(triples, page, &format!("{HYDRA}{property}")).as_slice() {
        [RdfTerm::Literal(value)] => Some(value.value().to_owned()),
        [] => None,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_middle_page_links_to_the_first_last_previous_and_next_pages_keeping_the_filters() {
    let triples = page_triples(2, 283, RdfFormat::RdfXml, Some("c_f839"));
    let query = "organization=c_f839&modified_since=2024-01-01T00%3A00%3A00%2B01%3A00";
    let url = |n: u64| format!("{BASE}/catalog.rdf?page={n}&{query}");
    let page = url(2);
    let types = objects(
        &triples,
        &page,
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
    );
    assert_eq!(
        types,
        vec![RdfTerm::from(named(&format!("{HYDRA}PagedCollection")))]
    );
    assert_eq!(link(&triples, &page, "firstPage"), Some(url(1)));
    assert_eq!(link(&triples, &page, "lastPage"), Some(url(3)));
    assert_eq!(link(&triples, &page, "previousPage"), Some(url(1)));
    assert_eq!(link(&triples, &page, "nextPage"), Some(url(3)));
    assert_eq!(
        objects(&triples, &page, &format!("{HYDRA}totalItems")),
        vec![RdfTerm::from(Literal::from(283_u64))]
    );
    assert_eq!(
        objects(&triples, &page, &format!("{HYDRA}itemsPerPage")),
        vec![RdfTerm::from(Literal::from(100_u64))]
    );
    // The per-organization catalogue has its own URI.
    let catalog = format!("{BASE}/organization/c_f839/catalog");
    assert_eq!(
        objects(&triples, &catalog, &format!("{DCAT}dataset")).len(),
        2
    );
}

#[test]
fn the_only_page_has_neither_next_nor_previous_and_the_links_follow_the_format() {
    let triples = page_triples(1, 2, RdfFormat::Turtle, None);
    let page =
        format!("{BASE}/catalog.ttl?page=1&modified_since=2024-01-01T00%3A00%3A00%2B01%3A00");
    assert_eq!(link(&triples, &page, "firstPage"), Some(page.clone()));
    assert_eq!(link(&triples, &page, "lastPage"), Some(page.clone()));
    assert_eq!(link(&triples, &page, "nextPage"), None);
    assert_eq!(link(&triples, &page, "previousPage"), None);
}

#[test]
fn an_empty_catalogue_still_has_one_page() {
    let triples = catalog_triples(
        &info(),
        &[],
        Some(&Page {
            number: 1,
            per_page: 100,
            total_items: 0,
            modified_since: None,
            format: RdfFormat::JsonLd,
        }),
    );
    let page = format!("{BASE}/catalog.jsonld?page=1");
    assert_eq!(link(&triples, &page, "lastPage"), Some(page.clone()));
}

// ---------------------------------------------------------------------------------------------
// SPARQL

fn engine() -> SparqlEngine {
    let engine = SparqlEngine::new(BASE).unwrap();
    engine.replace_catalog(catalogue()).unwrap();
    engine
}

fn limits() -> QueryLimits {
    QueryLimits::default()
}

const BY_THEME: &str = "PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?dataset ?title WHERE {
  ?dataset a dcat:Dataset ;
           dcat:theme <http://publications.europa.eu/resource/authority/data-theme/TRAN> ;
           dct:title ?title .
}";

#[test]
fn a_select_finds_a_dataset_by_theme() {
    let answer = engine()
        .query(BY_THEME, ResultFormat::Json, &limits())
        .unwrap();
    assert_eq!(answer.content_type, "application/sparql-results+json");
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let bindings = json["results"]["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 1);
    assert_eq!(
        bindings[0]["dataset"]["value"],
        dataset_uri(BASE, PARCHEGGI)
    );
    assert_eq!(bindings[0]["title"]["value"], "Parcheggi di interscambio");
    assert_eq!(bindings[0]["title"]["xml:lang"], "it");
}

#[test]
fn a_select_answers_in_xml_csv_and_tsv_too() {
    let engine = engine();
    let xml = engine
        .query(BY_THEME, ResultFormat::Xml, &limits())
        .unwrap();
    assert_eq!(xml.content_type, "application/sparql-results+xml");
    let xml = String::from_utf8(xml.body).unwrap();
    assert!(
        xml.contains("<sparql xmlns=\"http://www.w3.org/2005/sparql-results#\""),
        "{xml}"
    );
    assert!(xml.contains("Parcheggi di interscambio"), "{xml}");

    let csv = engine
        .query(BY_THEME, ResultFormat::Csv, &limits())
        .unwrap();
    assert!(csv.content_type.starts_with("text/csv"));
    let csv = String::from_utf8(csv.body).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("dataset,title"));
    assert_eq!(
        lines.next(),
        Some(format!("{},Parcheggi di interscambio", dataset_uri(BASE, PARCHEGGI)).as_str())
    );

    let tsv = engine
        .query(BY_THEME, ResultFormat::Tsv, &limits())
        .unwrap();
    let tsv = String::from_utf8(tsv.body).unwrap();
    assert!(tsv.starts_with("?dataset\t?title\n"), "{tsv}");
    assert!(tsv.contains("\"Parcheggi di interscambio\"@it"), "{tsv}");
}

#[test]
fn an_ask_and_a_construct_answer_in_their_formats() {
    let engine = engine();
    let ask = engine
        .query(
            "ASK { ?d <http://purl.org/dc/terms/identifier> \"c_f839:01JCZ3V8Q6W4R0Y2K5N7M9P1QB\" }",
            ResultFormat::Json,
            &limits(),
        )
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&ask.body).unwrap();
    assert_eq!(json["boolean"], true);

    let construct = "PREFIX dct: <http://purl.org/dc/terms/>
        CONSTRUCT { ?d dct:title ?t } WHERE { ?d a <http://dati.gov.it/onto/dcatapit#Dataset> ; dct:title ?t }";
    // A results format asked of a graph answer gives Turtle.
    let answer = engine
        .query(construct, ResultFormat::Json, &limits())
        .unwrap();
    assert_eq!(answer.content_type, "text/turtle; charset=utf-8");
    assert_eq!(parse(&answer.body, OxFormat::Turtle).len(), 2);
    let answer = engine
        .query(construct, ResultFormat::NTriples, &limits())
        .unwrap();
    assert_eq!(answer.content_type, "application/n-triples");
    assert_eq!(String::from_utf8(answer.body).unwrap().lines().count(), 2);
}

#[test]
fn a_syntax_error_gives_its_line_and_column() {
    let query = "PREFIX dct: <http://purl.org/dc/terms/>\nSELECT ?d WHERE {\n  ?d dct:title ?t\n  FILTR(?t)\n}";
    match engine().query(query, ResultFormat::Json, &limits()) {
        Err(SparqlError::Syntax {
            line,
            column,
            message,
        }) => {
            assert_eq!(line, 4, "{message}");
            assert!(column >= 1, "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_update_is_refused_because_the_endpoint_is_read_only() {
    let engine = engine();
    let before = engine.len().unwrap();
    for update in [
        "INSERT DATA { <http://example.com/s> <http://example.com/p> <http://example.com/o> }",
        "DELETE WHERE { ?s ?p ?o }",
        "CLEAR ALL",
    ] {
        match engine.query(update, ResultFormat::Json, &limits()) {
            Err(SparqlError::Update) => {}
            other => panic!("{update}: {other:?}"),
        }
    }
    assert_eq!(engine.len().unwrap(), before);
}

#[test]
fn an_answer_over_the_row_limit_is_an_error_not_a_truncation() {
    let engine = engine();
    let tight = QueryLimits {
        max_rows: 10,
        ..limits()
    };
    match engine.query("SELECT * { ?s ?p ?o }", ResultFormat::Json, &tight) {
        Err(SparqlError::TooManyRows(10)) => {}
        other => panic!("{other:?}"),
    }
    match engine.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        ResultFormat::Turtle,
        &tight,
    ) {
        Err(SparqlError::TooManyRows(10)) => {}
        other => panic!("{other:?}"),
    }
    let limited = engine
        .query("SELECT * { ?s ?p ?o } LIMIT 10", ResultFormat::Csv, &tight)
        .unwrap();
    assert_eq!(String::from_utf8(limited.body).unwrap().lines().count(), 11);
}

fn table_rows(count: i64) -> impl Iterator<Item = (i64, Vec<Cell>)> {
    (1..=count).map(|id| {
        (
            id,
            vec![
                Cell::Text(format!("Comune {id}")),
                Cell::Integer(2000 + id % 25),
                Cell::Number(id as f64 * 10.5),
                Cell::Boolean(id % 2 == 0),
                if id % 7 == 0 {
                    Cell::Null
                } else {
                    Cell::Date(day(2024, 1, 1) + chrono::Days::new(id as u64 % 300))
                },
            ],
        )
    })
}

#[test]
fn a_heavy_cross_join_is_stopped_by_the_timeout() {
    let engine = engine();
    let resource = "01JCZ3V8Q6W4R0Y2K5N7M9P1R1";
    let triples = resource_triples(BASE, BILANCIO, resource, &schema(), table_rows(500));
    assert!(triples.len() > 3000, "{}", triples.len());
    engine.replace_resource(resource, triples).unwrap();
    let quick = QueryLimits {
        timeout: Duration::from_millis(200),
        ..limits()
    };
    let started = Instant::now();
    let result = engine.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
        ResultFormat::Json,
        &quick,
    );
    let elapsed = started.elapsed();
    match result {
        Err(SparqlError::Timeout(timeout)) => assert_eq!(timeout, quick.timeout),
        other => panic!("{other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(3),
        "stopped only after {elapsed:?}"
    );
    // The engine is still usable afterwards.
    assert!(
        engine
            .query(BY_THEME, ResultFormat::Json, &limits())
            .is_ok()
    );
}

#[test]
fn published_rows_are_queryable_with_typed_values_until_removed() {
    let engine = engine();
    let resource = "01JCZ3V8Q6W4R0Y2K5N7M9P1R2";
    engine
        .replace_resource(
            resource,
            resource_triples(BASE, BILANCIO, resource, &schema(), table_rows(14)),
        )
        .unwrap();
    let ns = format!("{BASE}/ns/{resource}#");
    let query = format!(
        "SELECT (SUM(?anno) AS ?somma) (COUNT(?data) AS ?date) (SAMPLE(DATATYPE(?spesa)) AS ?tipo)
         WHERE {{ ?row a <{ns}Row> ; <{ns}Anno> ?anno ; <{ns}Spesa%20%28%E2%82%AC%29> ?spesa .
                 OPTIONAL {{ ?row <{ns}Data%20delibera> ?data }} }}"
    );
    let answer = engine.query(&query, ResultFormat::Json, &limits()).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let row = &json["results"]["bindings"][0];
    let expected: i64 = (1..=14).map(|id| 2000 + id % 25).sum();
    assert_eq!(row["somma"]["value"], expected.to_string());
    assert_eq!(
        row["somma"]["datatype"],
        "http://www.w3.org/2001/XMLSchema#integer"
    );
    assert_eq!(row["date"]["value"], "12"); // rows 7 and 14 have no date
    assert_eq!(
        row["tipo"]["value"],
        "http://www.w3.org/2001/XMLSchema#decimal"
    );

    // The column with an rdf_property uses it; the row links to its distribution.
    let label = format!(
        "ASK {{ <{BASE}/dataset/{BILANCIO}/resource/{resource}/row/3>
               <http://www.w3.org/2000/01/rdf-schema#label> \"Comune 3\" ;
               <http://purl.org/dc/terms/isPartOf> <{BASE}/dataset/{BILANCIO}/resource/{resource}> }}"
    );
    let answer = engine.query(&label, ResultFormat::Json, &limits()).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(json["boolean"], true);

    engine.remove_resource(resource).unwrap();
    let answer = engine.query(&query, ResultFormat::Csv, &limits()).unwrap();
    assert!(String::from_utf8(answer.body).unwrap().contains("\r\n0,0"));
}

#[test]
fn the_default_graph_is_the_union_and_graph_patterns_tell_the_graphs_apart() {
    let engine = engine();
    let resource = "01JCZ3V8Q6W4R0Y2K5N7M9P1R3";
    engine
        .replace_resource(
            resource,
            resource_triples(BASE, PARCHEGGI, resource, &schema(), table_rows(3)),
        )
        .unwrap();
    let answer = engine
        .query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
            ResultFormat::Csv,
            &limits(),
        )
        .unwrap();
    let csv = String::from_utf8(answer.body).unwrap();
    assert!(csv.contains(&format!("{BASE}/graph/catalog,")), "{csv}");
    assert!(
        csv.contains(&format!("{BASE}/graph/resource/{resource},")),
        "{csv}"
    );
    let all = engine
        .query(
            "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
            ResultFormat::Csv,
            &limits(),
        )
        .unwrap();
    let all = String::from_utf8(all.body).unwrap();
    assert!(
        all.contains(&format!("\r\n{}", engine.len().unwrap())),
        "{all}"
    );

    // Replacing the catalogue does not touch the tables.
    engine.replace_catalog(Vec::new()).unwrap();
    let left = engine
        .query(BY_THEME, ResultFormat::Json, &limits())
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&left.body).unwrap();
    assert_eq!(json["results"]["bindings"].as_array().unwrap().len(), 0);
    assert!(!engine.is_empty().unwrap());
}
