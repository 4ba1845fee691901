//! `/api/opendata/v1`: datasets, their resources (uploads streamed to a spool file, then
//! loaded), personal-data resolutions, publication, roles, and the per-resource REST query
//! and downloads.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use kernel::values::OrganizationFiscalCode;
use opendata::model::{Dataset, InputFormat, Resource};
use opendata::ports::{DatasetFilter, Role, RowQuery};
use ops::opendata::{LoadMode, Resolve, Upload};
use serde_json::{Value, json};
use std::io::Write;

use super::auth::MaybeDelegate;
use super::rows::{self, Download, MAX_ROWS, QUERY_TIMEOUT_MS};
use crate::auth::{ClientIp, ManageCaller};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest upload accepted (streamed to disk, never held in memory).
pub const MAX_UPLOAD: u64 = 2 * 1024 * 1024 * 1024;

fn org_code(raw: &str) -> ApiResult<OrganizationFiscalCode> {
    OrganizationFiscalCode::parse(raw)
        .map_err(|e| ApiError::bad_request("Invalid organization fiscal code", e.to_string()))
}

/// A resource as the API shows it.
pub fn resource_view(state: &AppState, r: &Resource) -> Value {
    let base = super::view::base_url(state);
    let personal: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "column": f.column, "kind": f.kind, "cells": f.cells, "examples": f.examples,
                "resolution": r.resolutions.iter().find(|x| x.column == f.column),
            })
        })
        .collect();
    json!({
        "id": r.id,
        "dataset_id": r.dataset_id,
        "name": r.name,
        "format": r.format.code,
        "media_type": r.media_type,
        "byte_size": r.byte_size,
        "version": r.version,
        "state": r.state,
        "row_count": r.quality.row_count,
        "schema": r.schema,
        "quality": r.quality,
        "personal_data": personal,
        "publishable": r.state == opendata::model::ResourceState::Ready,
        "download_url": format!("{base}/api/opendata/v1/resources/{}/download", r.id),
        "created_at": r.created_at,
        "modified_at": r.modified_at,
    })
}

/// A dataset as the API shows it: its metadata as accepted, and its resources.
pub fn dataset_view(state: &AppState, d: &Dataset, resources: &[Resource]) -> Value {
    let mut v = opendata::meta::to_json(&d.meta);
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), json!(d.id));
        m.insert("identifier".into(), json!(d.identifier));
        m.insert(
            "organization".into(),
            json!(d.publisher.organization.as_str()),
        );
        m.insert(
            "publisher".into(),
            json!({"identifier": d.publisher.identifier, "name": d.publisher.name}),
        );
        m.insert("state".into(), json!(d.state));
        m.insert("created_at".into(), json!(d.created_at));
        m.insert("modified_at".into(), json!(d.modified_at));
        m.insert("published_at".into(), json!(d.published_at));
        m.insert(
            "resources".into(),
            Value::Array(resources.iter().map(|r| resource_view(state, r)).collect()),
        );
    }
    v
}

/// `POST /api/opendata/v1/organizations/{ofc}/datasets`: 201 with the draft dataset.
pub async fn create_dataset(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(ofc): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let org = org_code(&ofc)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("Invalid JSON", format!("The body is not JSON: {e}")))?;
    let d = ops::opendata::create_dataset(&state.od(), &caller.delegate, &org, &body).await?;
    Ok((StatusCode::CREATED, Json(dataset_view(&state, &d, &[]))).into_response())
}

/// `GET /api/opendata/v1/organizations/{ofc}/datasets`: published ones, and drafts too for
/// the organization's members.
pub async fn list_datasets(
    State(state): State<AppState>,
    MaybeDelegate(viewer): MaybeDelegate,
    Path(ofc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let org = org_code(&ofc)?;
    let cx = state.od();
    let member = match &viewer {
        Some(v) => ops::opendata::role_of(&cx, v, &org).await?.is_some(),
        None => false,
    };
    let num = |k: &str, default: u64, max: u64| -> ApiResult<u64> {
        match q.get(k) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                ApiError::bad_request("Invalid query", format!("{k}: must be 0..={max}"))
            }),
        }
    };
    let (limit, offset) = (num("limit", 100, 1_000)?, num("offset", 0, u64::MAX)?);
    let filter = DatasetFilter {
        organization: Some(org),
        published_only: !member,
        modified_since: None,
    };
    let (total, list) = ops::opendata::published(&cx, &filter, offset, limit).await?;
    Ok(Json(json!({
        "count": total,
        "results": list.iter().map(|(d, r)| dataset_view(&state, d, r)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/opendata/v1/datasets/{id}`.
pub async fn get_dataset(
    State(state): State<AppState>,
    MaybeDelegate(viewer): MaybeDelegate,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (d, r) = ops::opendata::dataset_for(&state.od(), viewer.as_ref(), &id).await?;
    Ok(Json(dataset_view(&state, &d, &r)))
}

/// `PUT /api/opendata/v1/datasets/{id}`: replaces the metadata.
pub async fn put_dataset(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("Invalid JSON", format!("The body is not JSON: {e}")))?;
    let cx = state.od();
    ops::opendata::update_dataset(&cx, &caller.delegate, &id, &body).await?;
    let (d, r) = ops::opendata::dataset_for(&cx, Some(&caller.delegate), &id).await?;
    Ok(Json(dataset_view(&state, &d, &r)))
}

fn input_format(headers: &HeaderMap) -> ApiResult<(InputFormat, String)> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = InputFormat::from_media_type(&essence).ok_or_else(|| ApiError::Unprocessable {
        title: "Unsupported media type",
        detail: format!(
            "Content-Type \"{}\" is not a table this API loads: send text/csv, \
             application/json, application/geo+json, an XLSX \
             (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet) or an \
             ODS (application/vnd.oasis.opendocument.spreadsheet) workbook.",
            essence.chars().take(80).collect::<String>()
        ),
    })?;
    Ok((format, essence))
}

/// `POST /api/opendata/v1/datasets/{id}/resources[?name=…|?replace={rid}|?append={rid}]`:
/// the file as the body. 201 with the resource (quality report and personal-data findings)
/// for a new one, 200 for a new version of an existing one.
pub async fn post_resource(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (format, media_type) = input_format(&headers)?;
    let mode = match (q.get("replace"), q.get("append")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Invalid query",
                "replace and append cannot be given together",
            ));
        }
        (Some(r), None) => LoadMode::Replace(r.clone()),
        (None, Some(r)) => LoadMode::Append(r.clone()),
        (None, None) => {
            let name = q
                .get("name")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default();
            let name = if name.is_empty() {
                "data".to_owned()
            } else {
                name
            };
            if name.chars().count() > 200 {
                return Err(ApiError::bad_request(
                    "Invalid query",
                    "name: at most 200 characters",
                ));
            }
            LoadMode::New(name)
        }
    };
    let created = matches!(mode, LoadMode::New(_));
    // Spool the body to a private temporary file (0600), removed when dropped.
    let spool = tempfile::NamedTempFile::new()
        .map_err(|e| ApiError::Internal(format!("spool file: {e}")))?;
    let mut size = 0u64;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, spool.as_file());
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::bad_request("Invalid upload", "The upload was interrupted.")
            })?;
            size += chunk.len() as u64;
            if size > MAX_UPLOAD {
                return Err(ApiError::PayloadTooLarge);
            }
            w.write_all(&chunk)
                .map_err(|e| ApiError::Internal(format!("spool write: {e}")))?;
        }
        w.flush()
            .map_err(|e| ApiError::Internal(format!("spool write: {e}")))?;
    }
    let r = ops::opendata::load_resource(
        &state.od(),
        &caller.delegate,
        &id,
        Upload {
            path: spool.path(),
            byte_size: size,
            format,
            media_type,
            mode,
        },
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(resource_view(&state, &r))).into_response())
}

/// `POST /api/opendata/v1/datasets/{id}/publish`: 200 with the dataset, or 409 listing the
/// columns whose personal data is unresolved.
pub async fn publish(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let cx = state.od();
    match ops::opendata::publish(&cx, &caller.delegate, &id).await? {
        Ok(_) => {
            let (d, r) = ops::opendata::dataset_for(&cx, Some(&caller.delegate), &id).await?;
            Ok(Json(dataset_view(&state, &d, &r)).into_response())
        }
        Err(blocking) => {
            let columns: Vec<Value> = blocking
                .iter()
                .map(|(rid, f)| {
                    json!({"resource_id": rid, "column": f.column, "kind": f.kind,
                           "cells": f.cells, "examples": f.examples})
                })
                .collect();
            let detail = format!(
                "Personal data is unresolved in {}: remove or mask the column, or record a \
                 justification (POST /api/opendata/v1/resources/{{id}}/resolutions).",
                blocking
                    .iter()
                    .map(|(_, f)| format!("column \"{}\" ({:?})", f.column, f.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let body = json!({
                "type": "https://sportello.example/problems/personal-data",
                "title": "Personal data unresolved",
                "status": 409,
                "detail": detail,
                "columns": columns,
            });
            Ok((
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response())
        }
    }
}

/// `GET /api/opendata/v1/resources/{rid}`.
pub async fn get_resource(
    State(state): State<AppState>,
    MaybeDelegate(viewer): MaybeDelegate,
    Path(rid): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, r) = ops::opendata::readable_resource(&state.od(), viewer.as_ref(), &rid).await?;
    Ok(Json(resource_view(&state, &r)))
}

/// `POST /api/opendata/v1/resources/{rid}/resolutions` with `{"column", "action": "remove" |
/// "mask" | "justify", "reason"}`.
pub async fn resolve(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(rid): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("Invalid JSON", format!("The body is not JSON: {e}")))?;
    let mut errors = kernel::FieldErrors::default();
    let column = body.get("column").and_then(Value::as_str);
    if column.is_none() {
        errors.push("column", "required: the column's name");
    }
    let how = match body.get("action").and_then(Value::as_str) {
        Some("remove") => Some(Resolve::Remove),
        Some("mask") => Some(Resolve::Mask),
        Some("justify") => Some(Resolve::Justify(
            body.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        )),
        _ => {
            errors.push("action", "required: one of remove, mask, justify");
            None
        }
    };
    let (Some(column), Some(how)) = (column, how) else {
        return Err(ApiError::Validation {
            title: "Invalid payload",
            errors,
        });
    };
    let r = ops::opendata::resolve(&state.od(), &caller.delegate, &rid, column, how).await?;
    Ok(Json(resource_view(&state, &r)))
}

/// `GET /api/opendata/v1/resources/{rid}/rows?filter.<column>=v&sort=a,-b&fields=a,b&limit=&
/// offset=&after=&include_total=`: keyset paging with `after` (the last `_id` seen).
pub async fn query_rows(
    State(state): State<AppState>,
    MaybeDelegate(viewer): MaybeDelegate,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(rid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let cx = state.od();
    let (d, r) = ops::opendata::readable_resource(&cx, viewer.as_ref(), &rid).await?;
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    let mut query = RowQuery {
        filters: Vec::new(),
        sort: Vec::new(),
        after_id: None,
        offset: 0,
        limit: 100,
        include_total: true,
        timeout_ms: QUERY_TIMEOUT_MS,
    };
    let mut fields = None;
    for (k, v) in &q {
        if let Some(col) = k.strip_prefix("filter.") {
            filters.entry(col.to_owned()).or_default().push(v.clone());
            continue;
        }
        let bad = |why: &str| ApiError::bad_request("Invalid query", format!("{k}: {why}"));
        match k.as_str() {
            "limit" => {
                query.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ROWS).contains(n))
                    .ok_or_else(|| bad("must be 1..=32000"))?;
            }
            "offset" => query.offset = v.parse().map_err(|_| bad("must be a number"))?,
            "after" => query.after_id = Some(v.parse().map_err(|_| bad("must be an _id"))?),
            "include_total" => query.include_total = v != "false",
            "sort" => {
                for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (name, desc) = match part.strip_prefix('-') {
                        Some(n) => (n, true),
                        None => (part, false),
                    };
                    query
                        .sort
                        .push((rows::column(&r.schema, name, "sort")?, desc));
                }
            }
            "fields" => {
                fields = Some(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|n| rows::column(&r.schema, n, "fields"))
                        .collect::<ApiResult<Vec<_>>>()?,
                );
            }
            _ => return Err(bad("unknown parameter; filters are filter.<column>=value")),
        }
    }
    for (col, values) in &filters {
        query.filters.push(rows::filter(
            &r.schema,
            col,
            values,
            &format!("filter.{col}"),
        )?);
    }
    if query.after_id.is_some() && !query.sort.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid query",
            "after: keyset paging follows _id; it cannot be combined with sort",
        ));
    }
    if query.filters.is_empty() && query.include_total {
        // The row count is kept with the version: no count query on millions of rows.
        query.include_total = false;
    }
    let page = ops::opendata::query_rows(&cx, &r, &query).await?;
    let total = page.total.unwrap_or(r.quality.row_count);
    super::usage::count(
        &state,
        &d.id,
        opendata::ports::UseKind::Api,
        Some((ip, &headers)),
    )
    .await;
    let next = (page.rows.len() as u64 == query.limit)
        .then(|| page.rows.last().map(|(id, _)| *id))
        .flatten();
    Ok(Json(json!({
        "resource_id": r.id,
        "fields": r.schema.fields.iter().map(|f| json!({"id": f.name, "type": f.field_type})).collect::<Vec<_>>(),
        "records": page.rows.iter().map(|(id, c)| rows::record(&r.schema, *id, c, fields.as_deref())).collect::<Vec<_>>(),
        "total": total,
        "limit": query.limit,
        "next_after": if query.sort.is_empty() { next } else { None },
    })))
}

/// `GET /api/opendata/v1/resources/{rid}/download[?format=csv|json|geojson]`: the whole
/// published version, streamed.
pub async fn download(
    State(state): State<AppState>,
    MaybeDelegate(viewer): MaybeDelegate,
    ClientIp(ip): ClientIp,
    Path(rid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (d, r) = ops::opendata::readable_resource(&state.od(), viewer.as_ref(), &rid).await?;
    let format = match q.get("format").map(String::as_str) {
        None | Some("csv") => Download::Csv,
        Some("json") => Download::Json,
        Some("geojson") => Download::GeoJson,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid query",
                "format: one of csv, json, geojson",
            ));
        }
    };
    super::usage::count(
        &state,
        &d.id,
        opendata::ports::UseKind::Download,
        Some((ip, &headers)),
    )
    .await;
    let (ct, ext) = match format {
        Download::Csv => ("text/csv; charset=utf-8", "csv"),
        Download::Json => ("application/json", "json"),
        Download::GeoJson => ("application/geo+json", "geojson"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.{ext}\"", r.id),
            ),
        ],
        rows::download(state.clone(), r, format),
    )
        .into_response())
}

/// `GET /api/opendata/v1/organizations/{ofc}/members`: roles granted (members only).
pub async fn list_members(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path(ofc): Path<String>,
) -> ApiResult<Json<Value>> {
    let org = org_code(&ofc)?;
    let cx = state.od();
    if ops::opendata::role_of(&cx, &caller.delegate, &org)
        .await?
        .is_none()
    {
        return Err(ApiError::forbidden(
            "Forbidden",
            "Only the organization's members see its roles.",
        ));
    }
    let members = state.opendata.list_members(&org).await?;
    Ok(Json(json!({ "members": members })))
}

/// `PUT /api/opendata/v1/organizations/{ofc}/members/{delegate_id}` with `{"role": "viewer" |
/// "editor" | "admin" | null}` (null revokes): admins only, audited.
pub async fn put_member(
    State(state): State<AppState>,
    caller: ManageCaller,
    Path((ofc, delegate_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let org = org_code(&ofc)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("Invalid JSON", format!("The body is not JSON: {e}")))?;
    let role = match body.get("role") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Role::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "Invalid payload",
                "role: one of viewer, editor, admin, or null",
            )
        })?),
        _ => {
            return Err(ApiError::bad_request(
                "Invalid payload",
                "role: one of viewer, editor, admin, or null",
            ));
        }
    };
    let members =
        ops::opendata::set_member(&state.od(), &caller.delegate, &org, &delegate_id, role).await?;
    Ok(Json(json!({ "members": members })))
}
