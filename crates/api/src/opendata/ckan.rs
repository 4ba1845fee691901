//! The CKAN action API subset at `/api/3/action/<name>` (GET with query parameters or POST
//! with a JSON body), in CKAN's envelope `{help, success, result | error}`, so CKAN clients
//! and harvesters work unchanged: `package_search`, `package_show`, `organization_list`,
//! `organization_show`, `datastore_search`, `datastore_search_sql` (disabled), `status_show`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opendata::model::{Dataset, Resource};
use opendata::ports::{RowQuery, UseKind};
use opendata::search::{Facet, Params};
use serde_json::{Map, Value, json};

use super::rows::{self, MAX_ROWS, QUERY_TIMEOUT_MS};
use crate::auth::ClientIp;
use crate::problem::ApiError;
use crate::state::AppState;

/// A failed action: CKAN's error type and message, and the HTTP status CKAN uses.
struct Failure(StatusCode, &'static str, String);

impl Failure {
    fn validation(msg: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, "Validation Error", msg.into())
    }
    fn not_found(msg: impl Into<String>) -> Self {
        Self(StatusCode::NOT_FOUND, "Not Found Error", msg.into())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound { detail, .. } => Self::not_found(detail),
            ApiError::BadRequest { detail, .. } | ApiError::Unprocessable { detail, .. } => {
                Self::validation(detail)
            }
            ApiError::Validation { errors, .. } => Self::validation(errors.summary()),
            ApiError::Forbidden { detail, .. } => {
                Self(StatusCode::FORBIDDEN, "Authorization Error", detail)
            }
            other => {
                tracing::warn!(error = ?other, "ckan action failed");
                Self(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "internal error".into(),
                )
            }
        }
    }
}

impl From<ops::Error> for Failure {
    fn from(e: ops::Error) -> Self {
        Self::from(ApiError::from(e))
    }
}

fn help(state: &AppState, name: &str) -> String {
    format!(
        "{}/api/3/action/help_show?name={name}",
        super::view::base_url(state)
    )
}

/// The parameters of a call, as strings (JSON values of a POST body are kept as JSON text
/// where they are not strings).
fn params(q: HashMap<String, String>, body: &[u8]) -> Result<Map<String, Value>, Failure> {
    let mut out: Map<String, Value> = q.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    if !body.is_empty() {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Failure::validation(format!("the body is not JSON: {e}")))?;
        let Value::Object(m) = v else {
            return Err(Failure::validation("the body must be a JSON object"));
        };
        out.extend(m);
    }
    Ok(out)
}

fn string(p: &Map<String, Value>, k: &str) -> Option<String> {
    match p.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `GET|POST /api/3/action/{name}`.
pub async fn action(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let result = match params(q, &body) {
        Err(f) => Err(f),
        Ok(p) => match name.as_str() {
            "package_search" => package_search(&state, &p).await,
            "package_show" => package_show(&state, &p, ip, &headers).await,
            "organization_list" => organization_list(&state, &p).await,
            "organization_show" => organization_show(&state, &p).await,
            "datastore_search" => datastore_search(&state, &p, ip, &headers).await,
            "datastore_search_sql" => Err(Failure(
                StatusCode::FORBIDDEN,
                "Authorization Error",
                "datastore_search_sql is disabled on this installation".into(),
            )),
            "status_show" => Ok(json!({
                "site_title": "Sportello open data",
                "site_url": super::view::base_url(&state),
                "ckan_version": "2.11.0",
                "extensions": ["dcat", "datastore"],
            })),
            _ => Err(Failure(
                StatusCode::BAD_REQUEST,
                "Bad request - Action name not known",
                format!(
                    "Action name not known: {}",
                    name.chars().take(80).collect::<String>()
                ),
            )),
        },
    };
    let help = help(&state, &name);
    match result {
        Ok(r) => axum::Json(json!({"help": help, "success": true, "result": r})).into_response(),
        Err(Failure(status, kind, message)) => (
            status,
            axum::Json(json!({"help": help, "success": false,
                "error": {"__type": kind, "message": message}})),
        )
            .into_response(),
    }
}

/// The CKAN package dict of a dataset.
fn package(state: &AppState, d: &Dataset, rs: &[Resource], tracking: Option<(u64, u64)>) -> Value {
    let base = super::view::base_url(state);
    let mut v = json!({
        "id": d.id,
        "name": d.id,
        "type": "dataset",
        "state": "active",
        "private": false,
        "title": d.meta.title,
        "notes": d.meta.description,
        "identifier": d.identifier,
        "metadata_created": d.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "metadata_modified": d.modified_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "owner_org": d.publisher.identifier,
        "organization": {"name": d.publisher.identifier, "title": d.publisher.name,
                         "type": "organization", "is_organization": true},
        "license_id": d.meta.licence.term.code,
        "license_title": d.meta.licence.term.label_it,
        "license_url": d.meta.licence.term.uri,
        "tags": d.meta.keywords.iter().map(|k| json!({"name": k, "display_name": k})).collect::<Vec<_>>(),
        "num_tags": d.meta.keywords.len(),
        "groups": d.meta.themes.iter().map(|t| json!({"name": t.code, "title": t.label_it})).collect::<Vec<_>>(),
        "theme": d.meta.themes.iter().map(|t| t.uri).collect::<Vec<_>>(),
        "frequency": d.meta.frequency.uri,
        "territory": d.meta.territory.iter().map(|t| json!({"code": t.term.code, "name": t.term.label_it})).collect::<Vec<_>>(),
        "url": format!("{base}/dataset/{}", d.id),
        "resources": rs.iter().enumerate().map(|(i, r)| json!({
            "id": r.id, "package_id": d.id, "name": r.name, "format": r.format.code,
            "mimetype": r.media_type, "size": r.byte_size, "position": i,
            "url": format!("{base}/api/opendata/v1/resources/{}/download", r.id),
            "datastore_active": true, "state": "active",
            "last_modified": r.modified_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        })).collect::<Vec<_>>(),
        "num_resources": rs.len(),
        "extras": [
            {"key": "identifier", "value": d.identifier},
            {"key": "frequency", "value": d.meta.frequency.code},
        ],
    });
    if let (Some((total, recent)), Value::Object(m)) = (tracking, &mut v) {
        m.insert(
            "tracking_summary".into(),
            json!({"total": total, "recent": recent}),
        );
    }
    v
}

fn facet_name(f: &Facet) -> &'static str {
    match f {
        Facet::Organization => "organization",
        Facet::Theme => "theme",
        Facet::Territory => "territory",
        Facet::Year => "year",
        Facet::ResFormat => "res_format",
        Facet::LicenseId => "license_id",
        Facet::Tags => "tags",
    }
}

async fn package_search(state: &AppState, p: &Map<String, Value>) -> Result<Value, Failure> {
    let snap = state.od_view.get(state).await?;
    let fq_list = match p.get("fq_list") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let params = Params {
        q: string(p, "q"),
        fq: string(p, "fq"),
        fq_list,
        facet_field: string(p, "facet.field"),
        facet_limit: string(p, "facet.limit"),
        facet_mincount: string(p, "facet.mincount"),
        rows: string(p, "rows"),
        start: string(p, "start"),
        sort: string(p, "sort"),
    };
    let query =
        opendata::search::parse_query(&params).map_err(|e| Failure::validation(e.to_string()))?;
    let found = snap.index.search(&query);
    let ids: Vec<String> = found.ids.clone();
    let tracking = state
        .opendata
        .tracking(&ids, state.clock.now().date_naive())
        .await
        .map_err(ApiError::from)?;
    let results: Vec<Value> = ids
        .iter()
        .filter_map(|id| snap.datasets.get(id))
        .map(|(d, rs)| {
            let t = tracking
                .get(&d.id)
                .map(|(v, _)| (v.total, v.recent))
                .unwrap_or((0, 0));
            package(state, d, rs, Some(t))
        })
        .collect();
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for (f, values) in &found.facets {
        let name = facet_name(f);
        facets.insert(
            name.into(),
            Value::Object(values.iter().map(|(v, n)| (v.clone(), json!(n))).collect()),
        );
        search_facets.insert(
            name.into(),
            json!({"title": name, "items": values.iter().map(|(v, n)| json!({"name": v, "display_name": v, "count": n})).collect::<Vec<_>>()}),
        );
    }
    Ok(json!({
        "count": found.count,
        "sort": string(p, "sort").unwrap_or_else(|| "score desc, metadata_modified desc".into()),
        "results": results,
        "facets": facets,
        "search_facets": search_facets,
    }))
}

async fn package_show(
    state: &AppState,
    p: &Map<String, Value>,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
) -> Result<Value, Failure> {
    let id = string(p, "id").ok_or_else(|| Failure::validation("id: Missing value"))?;
    let (d, rs) = ops::opendata::dataset_for(&state.od(), None, &id)
        .await
        .map_err(|_| Failure::not_found("Not found"))?;
    let rs: Vec<Resource> = rs
        .into_iter()
        .filter(|r| r.state == opendata::model::ResourceState::Ready)
        .collect();
    super::usage::count(state, &d.id, UseKind::Api, Some((ip, headers))).await;
    let tracking = state
        .opendata
        .tracking(std::slice::from_ref(&d.id), state.clock.now().date_naive())
        .await
        .map_err(ApiError::from)?;
    let t = tracking
        .get(&d.id)
        .map(|(v, _)| (v.total, v.recent))
        .unwrap_or((0, 0));
    Ok(package(state, &d, &rs, Some(t)))
}

/// Organizations with published datasets: IPA code, name, count.
fn organizations(snap: &super::view::Snapshot) -> Vec<(String, String, u64)> {
    let mut by: std::collections::BTreeMap<String, (String, u64)> = Default::default();
    for (d, _) in snap.datasets.values() {
        let e = by
            .entry(d.publisher.identifier.clone())
            .or_insert_with(|| (d.publisher.name.clone(), 0));
        e.1 += 1;
    }
    by.into_iter().map(|(k, (n, c))| (k, n, c)).collect()
}

fn org_dict(id: &str, title: &str, count: u64) -> Value {
    json!({"id": id, "name": id, "title": title, "display_name": title, "type": "organization",
           "is_organization": true, "state": "active", "package_count": count})
}

async fn organization_list(state: &AppState, p: &Map<String, Value>) -> Result<Value, Failure> {
    let snap = state.od_view.get(state).await?;
    let all_fields = string(p, "all_fields").is_some_and(|v| v == "true" || v == "True");
    let orgs = organizations(&snap);
    Ok(if all_fields {
        Value::Array(orgs.iter().map(|(i, n, c)| org_dict(i, n, *c)).collect())
    } else {
        Value::Array(orgs.iter().map(|(i, _, _)| json!(i)).collect())
    })
}

async fn organization_show(state: &AppState, p: &Map<String, Value>) -> Result<Value, Failure> {
    let id = string(p, "id").ok_or_else(|| Failure::validation("id: Missing value"))?;
    let snap = state.od_view.get(state).await?;
    organizations(&snap)
        .into_iter()
        .find(|(i, _, _)| *i == id)
        .map(|(i, n, c)| org_dict(&i, &n, c))
        .ok_or_else(|| Failure::not_found("Not found"))
}

async fn datastore_search(
    state: &AppState,
    p: &Map<String, Value>,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
) -> Result<Value, Failure> {
    let rid = string(p, "resource_id")
        .or_else(|| string(p, "id"))
        .ok_or_else(|| Failure::validation("resource_id: Missing value"))?;
    let cx = state.od();
    let (d, r) = ops::opendata::readable_resource(&cx, None, &rid)
        .await
        .map_err(|_| Failure::not_found("Resource \"{rid}\" was not found."))?;
    if p.contains_key("distinct") {
        return Err(Failure::validation(
            "distinct is not supported by this datastore",
        ));
    }
    let num =
        |k: &str, default: u64, max: u64| -> Result<u64, Failure> {
            match string(p, k) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                    Failure::validation(format!("{k}: must be an integer 0..={max}"))
                }),
            }
        };
    let limit = num("limit", 100, MAX_ROWS)?;
    let offset = num("offset", 0, u64::MAX)?;
    let include_total = string(p, "include_total").is_none_or(|v| v != "false" && v != "False");
    let mut query = RowQuery {
        filters: Vec::new(),
        sort: Vec::new(),
        after_id: None,
        offset,
        limit,
        include_total,
        timeout_ms: QUERY_TIMEOUT_MS,
    };
    let filters: Option<Map<String, Value>> = match p.get("filters") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => return Err(Failure::validation("filters: must be a JSON object")),
        },
        Some(_) => return Err(Failure::validation("filters: must be a JSON object")),
    };
    for (col, v) in filters.unwrap_or_default() {
        let values: Vec<String> = match v {
            Value::Array(a) => a
                .into_iter()
                .map(|x| match x {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Value::String(s) => vec![s],
            other => vec![other.to_string()],
        };
        query.filters.push(
            rows::filter(&r.schema, &col, &values, &format!("filters.{col}"))
                .map_err(Failure::from)?,
        );
    }
    // q as a string: the rows where a text column contains it, ignoring case (the per-field
    // object form of CKAN is not supported).
    match p.get("q") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) if text.trim().is_empty() => {}
        Some(Value::String(text)) => {
            if text.chars().count() > 200 {
                return Err(Failure::validation("q: at most 200 characters"));
            }
            let text_columns: Vec<usize> = r
                .schema
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.field_type == opendata::model::FieldType::String)
                .map(|(i, _)| i)
                .collect();
            query.filters.push(opendata::ports::Filter::Contains(
                text_columns,
                text.trim().to_owned(),
            ));
        }
        Some(_) => {
            return Err(Failure::validation(
                "q: a string (searching per field is not supported: use filters)",
            ));
        }
    }
    if let Some(sort) = string(p, "sort") {
        for part in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or("").trim_matches('"');
            let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(_) => return Err(Failure::validation(format!("sort: \"{part}\""))),
            };
            if name == "_id" {
                continue;
            }
            query.sort.push((
                rows::column(&r.schema, name, "sort").map_err(Failure::from)?,
                desc,
            ));
        }
    }
    let fields: Option<Vec<usize>> = match p.get("fields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .filter(|n| *n != "_id")
                .map(|n| rows::column(&r.schema, n, "fields").map_err(Failure::from))
                .collect::<Result<_, _>>()?,
        ),
        Some(Value::String(s)) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty() && *n != "_id")
                .map(|n| rows::column(&r.schema, n, "fields").map_err(Failure::from))
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(Failure::validation(
                "fields: a list or a comma-separated string",
            ));
        }
    };
    let counted_total = query.include_total && !query.filters.is_empty();
    query.include_total = counted_total;
    let page = ops::opendata::query_rows(&cx, &r, &query).await?;
    super::usage::count(state, &d.id, UseKind::Api, Some((ip, headers))).await;
    let total = if counted_total {
        page.total
    } else {
        include_total.then_some(r.quality.row_count)
    };
    let all: Vec<usize> = (0..r.schema.fields.len()).collect();
    let shown = fields.as_deref().unwrap_or(&all);
    let mut field_list = vec![json!({"id": "_id", "type": "int"})];
    field_list.extend(
        shown
            .iter()
            .filter_map(|i| r.schema.fields.get(*i))
            .map(|f| json!({"id": f.name, "type": rows::ckan_type(f.field_type)})),
    );
    let base = format!("/api/3/action/datastore_search?resource_id={}", r.id);
    let mut result = json!({
        "resource_id": r.id,
        "fields": field_list,
        "records": page.rows.iter().map(|(id, c)| rows::record(&r.schema, *id, c, fields.as_deref())).collect::<Vec<_>>(),
        "limit": limit,
        "offset": offset,
        "_links": {"start": base, "next": format!("{base}&offset={}", offset + limit)},
    });
    if let (Some(t), Value::Object(m)) = (total, &mut result) {
        m.insert("total".into(), json!(t));
    }
    Ok(result)
}
