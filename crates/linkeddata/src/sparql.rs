//! A read-only SPARQL 1.1 Query endpoint over the catalogue and the published tables, on
//! oxigraph's in-memory store, and the RDF of a published table ([`resource_triples`]).
//!
//! Graphs: the catalogue lives in the named graph `{base}/graph/catalog`, each published table in
//! `{base}/graph/resource/{rid}`. A query without `FROM`/`FROM NAMED` sees the union of all of
//! them as its default graph, so `SELECT * { ?s ?p ?o }` finds everything; `GRAPH ?g { … }` still
//! tells them apart.
//!
//! Limits ([`QueryLimits`]):
//! - **time**: the query is evaluated and serialized on a thread of its own, with an oxigraph
//!   [`CancellationToken`]; the calling thread waits for the answer until the timeout, then
//!   cancels the token and returns [`SparqlError::Timeout`] at once, so the caller always has its
//!   answer on time. oxigraph checks the token each time the evaluation reads a quad from the
//!   store or internalizes a term, and the worker also checks the deadline at every row it
//!   writes; the abandoned worker stops at its next check. Work done purely in memory on data
//!   already read has no check: measured on 3,000 triples, a cancelled 3-way cross join under
//!   `COUNT` went on for about 1.6 s and an `ORDER BY` over a 9-million-row join for about
//!   0.9 s before stopping (CPU and memory of that work are spent, the caller is not kept).
//! - **rows**: an answer with more than `max_rows` rows (solutions, or triples for
//!   CONSTRUCT/DESCRIBE) is an error, [`SparqlError::TooManyRows`], never a silently truncated
//!   answer: the client should add a `LIMIT`.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use opendata::model::{Cell, FieldType, TableSchema};
use oxigraph::io::{RdfFormat as OxFormat, RdfSerializer};
use oxigraph::model::vocab::{rdf, rdfs, xsd};
use oxigraph::model::{GraphName, Literal, NamedNode, NamedOrBlankNode, Quad, Term, Triple};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{
    BoundPreparedSparqlQuery, CancellationToken, QueryEvaluationError, QueryResults,
    SparqlEvaluator,
};
use oxigraph::store::{StorageError, Store};

use crate::catalog::{dataset_uri, distribution_uri};
use crate::ns::{self, DCT, term};
use crate::percent_encode;

/// What a query may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub timeout: Duration,
    pub max_rows: usize,
}

impl Default for QueryLimits {
    /// 5 seconds, 10,000 rows.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_rows: 10_000,
        }
    }
}

/// The serialization of an answer. SELECT and ASK answers use the four SPARQL results formats;
/// CONSTRUCT and DESCRIBE answers use Turtle or N-Triples. A results format asked of a graph
/// answer gives Turtle; an RDF format asked of a SELECT/ASK answer gives JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultFormat {
    Json,
    Xml,
    Csv,
    Tsv,
    Turtle,
    NTriples,
}

impl ResultFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/sparql-results+json",
            Self::Xml => "application/sparql-results+xml",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Tsv => "text/tab-separated-values; charset=utf-8",
            Self::Turtle => "text/turtle; charset=utf-8",
            Self::NTriples => "application/n-triples",
        }
    }

    /// A `format=` value (`json`, `xml`, `csv`, `tsv`, `turtle`/`ttl`, `ntriples`/`nt`) or a
    /// media type.
    fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "json" | "srj" => Self::Json,
            "xml" | "srx" => Self::Xml,
            "csv" => Self::Csv,
            "tsv" => Self::Tsv,
            "turtle" | "ttl" => Self::Turtle,
            "ntriples" | "n-triples" | "nt" => Self::NTriples,
            _ => return Self::from_media_type(&name),
        })
    }

    fn from_media_type(media_type: &str) -> Option<Self> {
        Some(match media_type {
            "application/sparql-results+json" | "application/json" => Self::Json,
            "application/sparql-results+xml" | "application/xml" | "text/xml" => Self::Xml,
            "text/csv" => Self::Csv,
            "text/tab-separated-values" => Self::Tsv,
            "text/turtle" | "application/x-turtle" => Self::Turtle,
            "application/n-triples" | "text/plain" => Self::NTriples,
            _ => return None,
        })
    }
}

/// The answer's format: the `format` parameter when it names one, else the `Accept` media type
/// with the highest `q` we serve (the first listed on a tie), else JSON (also for `*/*`).
pub fn negotiate(accept: Option<&str>, format_param: Option<&str>) -> ResultFormat {
    if let Some(format) = format_param.and_then(ResultFormat::from_name) {
        return format;
    }
    let mut best: Option<(f32, ResultFormat)> = None;
    for range in accept.unwrap_or_default().split(',') {
        let mut parts = range.split(';');
        let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let format = match media_type.as_str() {
            "*/*" | "application/*" => Some(ResultFormat::Json),
            other => ResultFormat::from_media_type(other),
        };
        if let Some(format) = format
            && best.is_none_or(|(best_q, _)| q > best_q)
        {
            best = Some((q, format));
        }
    }
    best.map_or(ResultFormat::Json, |(_, format)| format)
}

/// A serialized answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum SparqlError {
    /// The query does not parse (HTTP 400). `line` and `column` are 1-based; 0 when the parser
    /// gave no position.
    #[error("SPARQL syntax error at line {line}, column {column}: {message}")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// The query ran out of time (HTTP 503 or 400, the caller's choice).
    #[error("the query took more than {0:?} and was stopped")]
    Timeout(Duration),
    /// The answer has more rows than allowed (HTTP 400): add a LIMIT.
    #[error("the answer has more than {0} rows; add a LIMIT to the query")]
    TooManyRows(usize),
    /// The text is a SPARQL Update (HTTP 400 or 403): the endpoint is read-only.
    #[error("this endpoint is read-only: SPARQL Update operations are not accepted")]
    Update,
    /// The evaluation failed (HTTP 500).
    #[error("the query failed: {0}")]
    Evaluation(String),
    #[error("the store failed: {0}")]
    Storage(#[from] StorageError),
}

/// A read-only SPARQL endpoint over an in-memory store.
pub struct SparqlEngine {
    store: Store,
    base_url: String,
}

impl SparqlEngine {
    /// An empty store for the site at `base_url` (`https://dati.example.it`, no trailing slash).
    pub fn new(base_url: impl Into<String>) -> Result<Self, SparqlError> {
        Ok(Self {
            store: Store::new()?,
            base_url: base_url.into(),
        })
    }

    /// `{base}/graph/catalog`.
    pub fn catalog_graph(&self) -> String {
        format!("{}/graph/catalog", self.base_url)
    }

    /// `{base}/graph/resource/{rid}`.
    pub fn resource_graph(&self, resource_id: &str) -> String {
        format!(
            "{}/graph/resource/{}",
            self.base_url,
            percent_encode(resource_id)
        )
    }

    /// Replaces the catalogue graph, atomically: a concurrent query sees the old or the new one.
    pub fn replace_catalog(
        &self,
        triples: impl IntoIterator<Item = Triple>,
    ) -> Result<(), SparqlError> {
        self.replace_graph(self.catalog_graph(), triples)
    }

    /// Replaces the graph of a published table, atomically.
    pub fn replace_resource(
        &self,
        resource_id: &str,
        triples: impl IntoIterator<Item = Triple>,
    ) -> Result<(), SparqlError> {
        self.replace_graph(self.resource_graph(resource_id), triples)
    }

    /// Removes the graph of a table no longer published.
    pub fn remove_resource(&self, resource_id: &str) -> Result<(), SparqlError> {
        let graph = NamedNode::new_unchecked(self.resource_graph(resource_id));
        self.store.remove_named_graph(&graph)?;
        Ok(())
    }

    /// Quads in the store, over all graphs.
    pub fn len(&self) -> Result<usize, SparqlError> {
        Ok(self.store.len()?)
    }

    pub fn is_empty(&self) -> Result<bool, SparqlError> {
        Ok(self.store.is_empty()?)
    }

    fn replace_graph(
        &self,
        graph: String,
        triples: impl IntoIterator<Item = Triple>,
    ) -> Result<(), SparqlError> {
        let graph = NamedNode::new_unchecked(graph);
        let mut transaction = self.store.start_transaction()?;
        transaction.remove_named_graph(&graph)?;
        let name = GraphName::NamedNode(graph);
        let quads: Vec<Quad> = triples
            .into_iter()
            .map(|t| t.in_graph(name.clone()))
            .collect();
        transaction.extend(&quads);
        transaction.commit()?;
        Ok(())
    }

    /// Runs a SPARQL 1.1 query within `limits` and serializes its answer (see [`ResultFormat`]).
    /// Updates are refused with [`SparqlError::Update`].
    pub fn query(
        &self,
        query: &str,
        format: ResultFormat,
        limits: &QueryLimits,
    ) -> Result<QueryAnswer, SparqlError> {
        let token = CancellationToken::new();
        let mut prepared = match SparqlEvaluator::new()
            .with_cancellation_token(token.clone())
            .parse_query(query)
        {
            Ok(prepared) => prepared,
            Err(error) => {
                if SparqlEvaluator::new().parse_update(query).is_ok() {
                    return Err(SparqlError::Update);
                }
                return Err(syntax_error(&error.to_string()));
            }
        };
        if prepared.dataset().is_default_dataset() {
            prepared.dataset_mut().set_default_graph_as_union();
        }

        // The evaluation runs on its own thread; this one waits for it until the deadline, then
        // cancels the token and answers `Timeout` at once. The worker stops at its next
        // cancellation check and its answer, if any, is dropped.
        let (sender, receiver) = mpsc::sync_channel(1);
        let store = self.store.clone();
        let limits = *limits;
        let deadline = Instant::now() + limits.timeout;
        thread::Builder::new()
            .name("sparql-query".to_owned())
            .spawn(move || {
                let answer = evaluate(prepared.on_store(&store), format, &limits, deadline);
                // The caller is gone when it timed out: nobody to tell.
                let _ = sender.send(answer);
            })
            .map_err(|e| SparqlError::Evaluation(format!("cannot start the query: {e}")))?;
        match receiver.recv_timeout(limits.timeout) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                token.cancel();
                Err(SparqlError::Timeout(limits.timeout))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(SparqlError::Evaluation(
                "the query evaluation stopped unexpectedly".to_owned(),
            )),
        }
    }
}

/// Evaluates a bound query and serializes its answer, counting rows and checking the deadline
/// at each.
fn evaluate(
    query: BoundPreparedSparqlQuery<'static>,
    format: ResultFormat,
    limits: &QueryLimits,
    deadline: Instant,
) -> Result<QueryAnswer, SparqlError> {
    let timed_out = |error: QueryEvaluationError| match error {
        QueryEvaluationError::Cancelled => SparqlError::Timeout(limits.timeout),
        other => SparqlError::Evaluation(other.to_string()),
    };
    let check_row = |rows: &mut usize| {
        if Instant::now() > deadline {
            return Err(SparqlError::Timeout(limits.timeout));
        }
        *rows += 1;
        if *rows > limits.max_rows {
            return Err(SparqlError::TooManyRows(limits.max_rows));
        }
        Ok(())
    };
    let tabular = match format {
        ResultFormat::Turtle | ResultFormat::NTriples => ResultFormat::Json,
        other => other,
    };
    match query.execute().map_err(timed_out)? {
        QueryResults::Solutions(solutions) => {
            let mut writer = QueryResultsSerializer::from_format(results_format(tabular))
                .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())
                .map_err(io_error)?;
            let mut rows = 0_usize;
            for solution in solutions {
                let solution = solution.map_err(timed_out)?;
                check_row(&mut rows)?;
                writer.serialize(&solution).map_err(io_error)?;
            }
            Ok(answer(tabular, writer.finish().map_err(io_error)?))
        }
        QueryResults::Boolean(value) => {
            let body = QueryResultsSerializer::from_format(results_format(tabular))
                .serialize_boolean_to_writer(Vec::new(), value)
                .map_err(io_error)?;
            Ok(answer(tabular, body))
        }
        QueryResults::Graph(triples) => {
            let (format, rdf_format) = match format {
                ResultFormat::NTriples => (ResultFormat::NTriples, OxFormat::NTriples),
                _ => (ResultFormat::Turtle, OxFormat::Turtle),
            };
            let mut serializer = RdfSerializer::from_format(rdf_format);
            for (prefix, iri) in ns::PREFIXES {
                serializer = serializer
                    .with_prefix(prefix, iri)
                    .map_err(|e| SparqlError::Evaluation(e.to_string()))?;
            }
            let mut writer = serializer.for_writer(Vec::new());
            let mut rows = 0_usize;
            for triple in triples {
                let triple = triple.map_err(timed_out)?;
                check_row(&mut rows)?;
                writer.serialize_triple(&triple).map_err(io_error)?;
            }
            Ok(answer(format, writer.finish().map_err(io_error)?))
        }
    }
}

fn results_format(format: ResultFormat) -> QueryResultsFormat {
    match format {
        ResultFormat::Xml => QueryResultsFormat::Xml,
        ResultFormat::Csv => QueryResultsFormat::Csv,
        ResultFormat::Tsv => QueryResultsFormat::Tsv,
        _ => QueryResultsFormat::Json,
    }
}

fn answer(format: ResultFormat, body: Vec<u8>) -> QueryAnswer {
    QueryAnswer {
        content_type: format.content_type(),
        body,
    }
}

fn io_error(error: std::io::Error) -> SparqlError {
    SparqlError::Evaluation(error.to_string())
}

/// The position from the parser's message, `error at LINE:COLUMN: expected …`.
fn syntax_error(message: &str) -> SparqlError {
    let position = message.split_once("error at ").and_then(|(_, rest)| {
        let (line, rest) = rest.split_once(':')?;
        let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((line.trim().parse().ok()?, column.parse().ok()?))
    });
    let (line, column) = position.unwrap_or((0, 0));
    SparqlError::Syntax {
        message: message.to_owned(),
        line,
        column,
    }
}

/// `{base}/ns/{rid}#{column}`: the property of a column without an `rdf_property`.
pub fn column_property(base_url: &str, resource_id: &str, column: &str) -> String {
    format!(
        "{base_url}/ns/{}#{}",
        percent_encode(resource_id),
        percent_encode(column)
    )
}

/// `{base}/ns/{rid}#Row`: the class of a table's rows.
pub fn row_class(base_url: &str, resource_id: &str) -> String {
    format!("{base_url}/ns/{}#Row", percent_encode(resource_id))
}

/// The linked data of a published table:
/// - each row `{base}/dataset/{d}/resource/{r}/row/{_id}` is a `{base}/ns/{r}#Row`, part of
///   (`dct:isPartOf`) the distribution, with one triple per non-null cell; the property is the
///   column's `rdf_property` when set (and an absolute IRI), else `{base}/ns/{r}#{column}`,
///   the column name percent-encoded; values are typed literals: `xsd:integer`, `xsd:decimal`
///   (`xsd:double` for NaN and infinities), `xsd:boolean`, `xsd:date`, plain strings;
/// - the row class and each generated property are described once (`rdfs:label` the column
///   name, `rdfs:comment` its description, `rdfs:range` its datatype).
pub fn resource_triples(
    base_url: &str,
    dataset_id: &str,
    resource_id: &str,
    schema: &TableSchema,
    rows: impl Iterator<Item = (i64, Vec<Cell>)>,
) -> Vec<Triple> {
    let distribution =
        NamedNode::new_unchecked(distribution_uri(base_url, dataset_id, resource_id));
    let class = NamedNode::new_unchecked(row_class(base_url, resource_id));
    let mut triples = vec![
        triple(&class, rdf::TYPE.into_owned(), rdfs::CLASS.into_owned()),
        triple(
            &class,
            rdfs::IS_DEFINED_BY.into_owned(),
            NamedNode::new_unchecked(dataset_uri(base_url, dataset_id)),
        ),
    ];
    let properties: Vec<NamedNode> = schema
        .fields
        .iter()
        .map(|field| {
            if let Some(property) = field
                .rdf_property
                .as_deref()
                .and_then(|p| NamedNode::new(p).ok())
            {
                return property;
            }
            let property =
                NamedNode::new_unchecked(column_property(base_url, resource_id, &field.name));
            triples.push(triple(
                &property,
                rdf::TYPE.into_owned(),
                rdf::PROPERTY.into_owned(),
            ));
            triples.push(triple(
                &property,
                rdfs::LABEL.into_owned(),
                Literal::new_simple_literal(&field.name),
            ));
            if let Some(description) = &field.description {
                triples.push(triple(
                    &property,
                    rdfs::COMMENT.into_owned(),
                    Literal::new_language_tagged_literal_unchecked(description, "it"),
                ));
            }
            triples.push(triple(
                &property,
                rdfs::RANGE.into_owned(),
                range(field.field_type),
            ));
            property
        })
        .collect();
    let row_base = format!("{}/row/", distribution.as_str());
    for (id, cells) in rows {
        let row = NamedNode::new_unchecked(format!("{row_base}{id}"));
        triples.push(triple(&row, rdf::TYPE.into_owned(), class.clone()));
        triples.push(triple(&row, term(DCT, "isPartOf"), distribution.clone()));
        for (property, cell) in properties.iter().zip(cells) {
            if let Some(value) = literal(cell) {
                triples.push(triple(&row, property.clone(), value));
            }
        }
    }
    triples
}

fn range(field_type: FieldType) -> NamedNode {
    match field_type {
        FieldType::Integer => xsd::INTEGER,
        FieldType::Number => xsd::DECIMAL,
        FieldType::Boolean => xsd::BOOLEAN,
        FieldType::Date => xsd::DATE,
        FieldType::String => xsd::STRING,
    }
    .into_owned()
}

fn literal(cell: Cell) -> Option<Literal> {
    Some(match cell {
        Cell::Null => return None,
        Cell::Integer(value) => Literal::new_typed_literal(value.to_string(), xsd::INTEGER),
        Cell::Number(value) if value.is_finite() => {
            // Rust writes finite floats without exponent: a valid xsd:decimal lexical form.
            Literal::new_typed_literal(value.to_string(), xsd::DECIMAL)
        }
        Cell::Number(value) => Literal::from(value),
        Cell::Boolean(value) => Literal::from(value),
        Cell::Date(value) => {
            Literal::new_typed_literal(value.format("%Y-%m-%d").to_string(), xsd::DATE)
        }
        Cell::Text(value) => Literal::new_simple_literal(value),
    })
}

fn triple(subject: &NamedNode, predicate: NamedNode, object: impl Into<Term>) -> Triple {
    Triple::new(
        NamedOrBlankNode::from(subject.clone()),
        predicate,
        object.into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_parameter_wins_over_the_accept_header() {
        assert_eq!(negotiate(Some("text/csv"), Some("xml")), ResultFormat::Xml);
        assert_eq!(
            negotiate(Some("text/csv"), Some("bogus")),
            ResultFormat::Csv
        );
    }

    #[test]
    fn the_accept_header_is_read_by_quality() {
        assert_eq!(
            negotiate(Some("text/csv;q=0.5, application/sparql-results+xml"), None),
            ResultFormat::Xml
        );
        assert_eq!(
            negotiate(Some("text/turtle;q=0, text/tab-separated-values"), None),
            ResultFormat::Tsv
        );
        assert_eq!(negotiate(Some("*/*"), None), ResultFormat::Json);
        assert_eq!(negotiate(Some("image/png"), None), ResultFormat::Json);
        assert_eq!(negotiate(None, None), ResultFormat::Json);
    }

    #[test]
    fn a_parser_message_gives_the_line_and_column() {
        match syntax_error("error at 3:17: expected one of \"{\"") {
            SparqlError::Syntax { line, column, .. } => assert_eq!((line, column), (3, 17)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numbers_are_decimals_unless_not_finite() {
        let decimal = literal(Cell::Number(1.5)).map(|l| l.datatype().into_owned());
        assert_eq!(decimal, Some(xsd::DECIMAL.into_owned()));
        let nan = literal(Cell::Number(f64::NAN)).map(|l| l.datatype().into_owned());
        assert_eq!(nan, Some(xsd::DOUBLE.into_owned()));
        assert_eq!(literal(Cell::Null), None);
    }
}
