//! Reading a resource's rows for the REST API, the CKAN `datastore_search` and the
//! downloads: values typed after the column, records as JSON, CSV that a spreadsheet cannot
//! mistake for formulas, and the page-by-page download stream.

use axum::body::Body;
use chrono::NaiveDate;
use opendata::model::{Cell, FieldType, Resource, TableSchema};
use opendata::ports::{Filter, RowQuery};
use serde_json::{Map, Value, json};

use crate::problem::ApiError;
use crate::state::AppState;

/// Most rows one read returns (CKAN's `ckan.datastore.search.rows_max`).
pub const MAX_ROWS: u64 = 32_000;
/// How long one read may run.
pub const QUERY_TIMEOUT_MS: u64 = 5_000;

/// A filter value typed after its column; `where_` names the parameter for the error.
pub fn typed(t: FieldType, raw: &str, where_: &str) -> Result<Cell, ApiError> {
    let bad = |what: &str| {
        ApiError::bad_request(
            "Invalid filter",
            format!(
                "{where_}: \"{}\" is not {what}",
                raw.chars().take(80).collect::<String>()
            ),
        )
    };
    Ok(match t {
        FieldType::Integer => Cell::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
        FieldType::Number => Cell::Number(raw.trim().parse().map_err(|_| bad("a number"))?),
        FieldType::Boolean => match raw.trim() {
            "true" => Cell::Boolean(true),
            "false" => Cell::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        FieldType::Date => Cell::Date(
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                .map_err(|_| bad("a date YYYY-MM-DD"))?,
        ),
        FieldType::String => Cell::Text(raw.to_owned()),
    })
}

/// The column index of `name`, or a 400 naming the parameter.
pub fn column(schema: &TableSchema, name: &str, where_: &str) -> Result<usize, ApiError> {
    schema
        .fields
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| {
            ApiError::bad_request(
                "Invalid query",
                format!(
                    "{where_}: no column named \"{}\"; the columns are {}",
                    name.chars().take(80).collect::<String>(),
                    schema
                        .fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// A filter on a column from its text values.
pub fn filter(
    schema: &TableSchema,
    name: &str,
    values: &[String],
    where_: &str,
) -> Result<Filter, ApiError> {
    let c = column(schema, name, where_)?;
    let t = schema.fields[c].field_type;
    let cells = values
        .iter()
        .map(|v| typed(t, v, where_))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Filter::In(c, cells))
}

/// A cell as JSON.
pub fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Integer(i) => json!(i),
        Cell::Number(n) => json!(n),
        Cell::Boolean(b) => json!(b),
        Cell::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
        Cell::Text(s) => json!(s),
    }
}

/// One record: `_id` and the selected columns.
pub fn record(schema: &TableSchema, id: i64, cells: &[Cell], fields: Option<&[usize]>) -> Value {
    let mut m = Map::new();
    m.insert("_id".into(), json!(id));
    let all: Vec<usize> = (0..schema.fields.len()).collect();
    for &i in fields.unwrap_or(&all) {
        if let (Some(f), Some(c)) = (schema.fields.get(i), cells.get(i)) {
            m.insert(f.name.clone(), cell_json(c));
        }
    }
    Value::Object(m)
}

/// CKAN's type names.
pub fn ckan_type(t: FieldType) -> &'static str {
    match t {
        FieldType::Integer => "int",
        FieldType::Number => "numeric",
        FieldType::Boolean => "bool",
        FieldType::Date => "date",
        FieldType::String => "text",
    }
}

fn csv_field(s: &str) -> String {
    let s = opendata::ingest::csv_safe(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// Download formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Csv,
    Json,
    GeoJson,
}

/// The whole published version as a stream, page by page (never all rows in memory).
pub fn download(state: AppState, r: Resource, format: Download) -> Body {
    use futures_util::stream;
    let schema = r.schema.clone();
    let geometry = schema.fields.iter().position(|f| f.name == "geometry");
    let start: (Option<Option<i64>>, bool) = (Some(None), true);
    let st = stream::unfold(start, move |(after, first)| {
        let state = state.clone();
        let r = r.clone();
        let schema = schema.clone();
        async move {
            let after = after?;
            let mut out = String::new();
            if first {
                match format {
                    Download::Csv => {
                        out.push_str(
                            &schema
                                .fields
                                .iter()
                                .map(|f| csv_field(&f.name))
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                        out.push_str("\r\n");
                    }
                    Download::Json => out.push('['),
                    Download::GeoJson => {
                        out.push_str("{\"type\":\"FeatureCollection\",\"features\":[")
                    }
                }
            }
            let q = RowQuery {
                filters: Vec::new(),
                sort: Vec::new(),
                after_id: after,
                offset: 0,
                limit: 5_000,
                include_total: false,
                timeout_ms: 60_000,
            };
            let page = match ops::opendata::query_rows(&state.od(), &r, &q).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, resource.id = %r.id, "download stopped");
                    return Some((Err(std::io::Error::other("read failed")), (None, false)));
                }
            };
            let last = page.rows.last().map(|(id, _)| *id);
            for (id, cells) in &page.rows {
                match format {
                    Download::Csv => {
                        out.push_str(
                            &cells
                                .iter()
                                .map(|c| csv_field(&ops::opendata::cell_text(c)))
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                        out.push_str("\r\n");
                    }
                    Download::Json => {
                        if !(first && out.len() == 1) {
                            out.push(',');
                        }
                        out.push_str(&record(&schema, *id, cells, None).to_string());
                    }
                    Download::GeoJson => {
                        if !out.ends_with('[') {
                            out.push(',');
                        }
                        let mut props = record(&schema, *id, cells, None);
                        let geom = geometry
                            .and_then(|g| match cells.get(g) {
                                Some(Cell::Text(t)) => serde_json::from_str::<Value>(t).ok(),
                                _ => None,
                            })
                            .unwrap_or(Value::Null);
                        if let Value::Object(m) = &mut props {
                            m.remove("geometry");
                        }
                        out.push_str(
                            &json!({"type": "Feature", "geometry": geom, "properties": props})
                                .to_string(),
                        );
                    }
                }
            }
            let next = match last {
                Some(id) if page.rows.len() == 5_000 => Some(Some(id)),
                _ => {
                    match format {
                        Download::Csv => {}
                        Download::Json => out.push(']'),
                        Download::GeoJson => out.push_str("]}"),
                    }
                    None
                }
            };
            Some((
                Ok::<_, std::io::Error>(bytes::Bytes::from(out)),
                (next, false),
            ))
        }
    });
    Body::from_stream(st)
}
