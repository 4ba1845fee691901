//! The public catalogue: DCAT-AP_IT RDF at `/catalog.ttl|rdf|jsonld` (the whole installation,
//! or one organization with `?organization=<IPA code>`; 100 datasets a page with Hydra links;
//! `modified_since`), the SPARQL endpoint at `/sparql`, and each dataset's landing page at
//! `/dataset/{id}` (which counts a view).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use linkeddata::{CatalogInfo, Page, RdfFormat};
use opendata::model::{Agent, Dataset, Resource};

use crate::auth::ClientIp;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Datasets per catalogue page (ckanext-dcat's default).
pub const PER_PAGE: u64 = 100;

/// The catalogue's own description: per organization its Agent, else the installation's
/// first organization as publisher.
/// The installation's publisher: its first organization (read once per snapshot).
pub async fn installation_publisher(state: &AppState) -> ApiResult<Option<Agent>> {
    let orgs = state.opendata.list_organizations().await?;
    Ok(orgs
        .into_iter()
        .min_by_key(|o| o.created_at)
        .map(|o| Agent {
            identifier: o
                .ipa_code
                .clone()
                .unwrap_or_else(|| o.fiscal_code.as_str().to_owned()),
            name: o.name.clone(),
            organization: o.fiscal_code,
        }))
}

/// The catalogue's own description: one organization's, or the installation's (`installation`,
/// from [`installation_publisher`]).
pub fn catalog_info(
    state: &AppState,
    organization: Option<&Agent>,
    installation: Option<&Agent>,
    datasets: &[(Dataset, Vec<Resource>)],
) -> ApiResult<CatalogInfo> {
    let publisher = match organization.or(installation) {
        Some(a) => a.clone(),
        None => {
            return Err(ApiError::not_found(
                "No catalogue",
                "The installation has no organization yet.",
            ));
        }
    };
    let modified = datasets
        .iter()
        .map(|(d, _)| d.modified_at)
        .max()
        .unwrap_or_else(|| state.clock.now());
    Ok(CatalogInfo {
        base_url: super::view::base_url(state),
        title: match organization {
            Some(a) => format!("Dati aperti — {}", a.name),
            None => format!("Dati aperti — catalogo di {}", publisher.name),
        },
        description: match organization {
            Some(a) => format!("Catalogo DCAT-AP_IT dei dati aperti di {}.", a.name),
            None => "Catalogo DCAT-AP_IT dei dati aperti degli enti serviti da questa \
                     installazione."
                .to_owned(),
        },
        publisher,
        modified,
        homepage: Some(super::view::base_url(state)),
        organization_filter: organization.map(|a| a.identifier.clone()),
    })
}

async fn catalog(
    state: AppState,
    format: RdfFormat,
    q: HashMap<String, String>,
) -> ApiResult<Response> {
    let snap = state.od_view.get(&state).await?;
    let bad = |k: &str, why: &str| ApiError::bad_request("Invalid query", format!("{k}: {why}"));
    let page: u64 = match q.get("page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("page", "a number from 1"))?,
    };
    let since: Option<DateTime<Utc>> = match q.get("modified_since") {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                })
                .map_err(|_| bad("modified_since", "an ISO 8601 date or date-time"))?,
        ),
    };
    let org = q.get("organization");
    let start = usize::try_from((page - 1).saturating_mul(PER_PAGE)).unwrap_or(usize::MAX);
    // The whole catalogue, unfiltered: the page is a slice of the order (a harvester reads
    // every page, so selecting all 20,000 datasets for each page made the walk quadratic).
    let (total, slice): (u64, Vec<(Dataset, Vec<Resource>)>) = if org.is_none() && since.is_none() {
        (
            snap.order.len() as u64,
            snap.order
                .iter()
                .skip(start)
                .take(PER_PAGE as usize)
                .filter_map(|id| snap.datasets.get(id).cloned())
                .collect(),
        )
    } else {
        let selected: Vec<&(Dataset, Vec<Resource>)> = snap
            .order
            .iter()
            .filter_map(|id| snap.datasets.get(id))
            .filter(|(d, _)| org.is_none_or(|o| d.publisher.identifier == *o))
            .filter(|(d, _)| since.is_none_or(|t| d.modified_at >= t))
            .collect();
        (
            selected.len() as u64,
            selected
                .iter()
                .skip(start)
                .take(PER_PAGE as usize)
                .map(|x| (*x).clone())
                .collect(),
        )
    };
    let agent = match org {
        None => None,
        Some(o) => {
            let found = snap
                .datasets
                .values()
                .find(|(d, _)| d.publisher.identifier == *o)
                .map(|(d, _)| d.publisher.clone());
            Some(found.ok_or_else(|| {
                ApiError::not_found(
                    "Organization not found",
                    "No organization with published datasets has this IPA code.",
                )
            })?)
        }
    };
    let info = catalog_info(&state, agent.as_ref(), snap.publisher.as_ref(), &slice)?;
    let paging = Page {
        number: page,
        per_page: PER_PAGE,
        total_items: total,
        modified_since: q.get("modified_since").cloned(),
        format,
    };
    let triples = linkeddata::catalog_triples(&info, &slice, Some(&paging));
    let body = linkeddata::render(&triples, format)
        .map_err(|e| ApiError::Internal(format!("catalogue rendering: {e}")))?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

/// `GET /catalog.ttl`.
pub async fn turtle(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    catalog(state, RdfFormat::Turtle, q).await
}

/// `GET /catalog.rdf`.
pub async fn rdf_xml(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    catalog(state, RdfFormat::RdfXml, q).await
}

/// `GET /catalog.jsonld`.
pub async fn json_ld(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    catalog(state, RdfFormat::JsonLd, q).await
}

fn sparql_error(e: &linkeddata::SparqlError) -> Response {
    let (status, title) = match e {
        linkeddata::SparqlError::Syntax { .. } => (StatusCode::BAD_REQUEST, "SPARQL syntax error"),
        linkeddata::SparqlError::Update => (StatusCode::BAD_REQUEST, "Read-only endpoint"),
        linkeddata::SparqlError::Timeout(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Query time limit")
        }
        linkeddata::SparqlError::TooManyRows(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Query row limit")
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "SPARQL evaluation failed",
        ),
    };
    let body = serde_json::json!({
        "type": "about:blank", "title": title, "status": status.as_u16(), "detail": e.to_string(),
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

async fn run_sparql(
    state: &AppState,
    query: &str,
    accept: Option<&str>,
    format: Option<&str>,
) -> ApiResult<Response> {
    let snap = state.od_view.get(state).await?;
    let fmt = linkeddata::negotiate(accept, format);
    let limits = linkeddata::QueryLimits::default();
    let query = query.to_owned();
    let answer = tokio::task::spawn_blocking(move || snap.sparql.query(&query, fmt, &limits))
        .await
        .map_err(|e| ApiError::Internal(format!("sparql task: {e}")))?;
    match answer {
        Ok(a) => Ok(([(header::CONTENT_TYPE, a.content_type)], a.body).into_response()),
        Err(e) => Ok(sparql_error(&e)),
    }
}

/// `GET /sparql?query=…[&format=json|xml|csv|tsv]` (SPARQL 1.1 Protocol).
pub async fn sparql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let Some(query) = q.get("query") else {
        return Err(ApiError::bad_request(
            "Missing query",
            "query: the SPARQL query, URL-encoded",
        ));
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    run_sparql(&state, query, accept, q.get("format").map(String::as_str)).await
}

/// `POST /sparql` with `application/sparql-query` or a form `query=…`.
pub async fn sparql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult<Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let query = match ct.as_str() {
        "application/sparql-query" => String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad_request("Invalid query", "the body is not UTF-8"))?,
        "application/x-www-form-urlencoded" => url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| ApiError::bad_request("Missing query", "query: the form field"))?,
        "application/sparql-update" => {
            return Ok(sparql_error(&linkeddata::SparqlError::Update));
        }
        _ => {
            return Err(ApiError::Unprocessable {
                title: "Unsupported media type",
                detail: "POST application/sparql-query or application/x-www-form-urlencoded".into(),
            });
        }
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    run_sparql(&state, &query, accept, q.get("format").map(String::as_str)).await
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /dataset/{id}`: the dataset's landing page (its URI dereferences here); counts a view.
pub async fn landing(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (d, rs) = ops::opendata::dataset_for(&state.od(), None, &id).await?;
    super::usage::count(
        &state,
        &d.id,
        opendata::ports::UseKind::View,
        Some((ip, &headers)),
    )
    .await;
    let base = super::view::base_url(&state);
    let resources: String = rs
        .iter()
        .filter(|r| r.state == opendata::model::ResourceState::Ready)
        .map(|r| {
            format!(
                "<li><a href=\"{base}/api/opendata/v1/resources/{}/download\">{}</a> ({}, {} righe)</li>",
                esc(&r.id),
                esc(&r.name),
                esc(r.format.code),
                r.quality.row_count
            )
        })
        .collect();
    let page = format!(
        "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <link rel=\"alternate\" type=\"text/turtle\" href=\"{base}/catalog.ttl\"></head><body>\
         <main><h1>{t}</h1><p>{desc}</p><p>Titolare: {org}</p><p>Licenza: {lic}</p>\
         <h2>Risorse</h2><ul>{resources}</ul></main></body></html>",
        t = esc(&d.meta.title),
        desc = esc(&d.meta.description),
        org = esc(&d.publisher.name),
        lic = esc(d.meta.licence.term.label_it),
    );
    Ok(Html(page).into_response())
}
