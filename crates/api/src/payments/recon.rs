//! Reconciliation over HTTP, with the payments key: reporting flows and treasury statements in,
//! the three-way match out (items with cursors and totals, the per-day summary, the accounting
//! export), and the operator's notes on an anomaly. Ingestion wakes the reconciler, which runs
//! the incremental match right after; `POST …/reconciliation/run` runs it at once.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use kernel::FieldErrors;
use ops::recon::{ReconContext, Source};
use payments::ports::{ItemFilter, StoredItem};
use payments::recon::{Class, Item};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::payments::auth::PaymentsCaller;
use crate::problem::ApiError;
use crate::state::AppState;

/// Largest document accepted by the two upload routes.
pub const MAX_UPLOAD: usize = ops::recon::MAX_DOCUMENT;

fn cx(state: &AppState) -> ReconContext<'_> {
    ReconContext {
        store: state.payments.as_ref(),
        clock: state.clock.as_ref(),
    }
}

/// `POST /api/payments/v1/organizations/{ofc}/reporting-flows`: one FlussoRiversamento XML
/// (1.0/1.1, any prefix) or FdR 3 JSON. 201 with what was ingested, 200 when already known.
pub async fn post_flow(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let org = &caller.profile.organization;
    let done = ops::recon::ingest_flow(cx(&state), org, &body, Source::Api).await?;
    Ok(ingested(&state, done.created, json!(done)))
}

/// `POST /api/payments/v1/organizations/{ofc}/treasury`: an OPI giornale di cassa (1.7.1 or
/// 1.8), a camt.053 statement or the documented CSV. 201 / 200 as above.
pub async fn post_statement(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let org = &caller.profile.organization;
    let done = ops::recon::ingest_statement(cx(&state), org, &body, Source::Api).await?;
    Ok(ingested(&state, done.created, json!(done)))
}

/// 201 and a wake-up of the reconciler for a new document, 200 for one already held.
fn ingested(state: &AppState, created: bool, body: Value) -> Response {
    if created {
        state.recon_wake.notify_one();
        (StatusCode::CREATED, Json(body)).into_response()
    } else {
        (StatusCode::OK, Json(body)).into_response()
    }
}

/// `GET …/reporting-flows?limit=`: the flows held, newest first.
pub async fn list_flows(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let limit = limit(&q, 100, 1_000, &mut errors);
    if !errors.is_empty() {
        return Err(ops::Error::invalid(errors).into());
    }
    let flows = state
        .payments
        .list_flows(&caller.profile.organization, limit)
        .await?;
    Ok(Json(json!({ "flows": flows })))
}

fn limit(q: &HashMap<String, String>, default: i64, max: i64, errors: &mut FieldErrors) -> i64 {
    match q.get("limit") {
        None => default,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.push("limit", format!("must be an integer from 1 to {max}"));
                default
            }
        },
    }
}

fn day(q: &HashMap<String, String>, name: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let s = q.get(name)?;
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(name, "must be a date, yyyy-MM-dd");
            None
        }
    }
}

fn flag(q: &HashMap<String, String>, name: &str, errors: &mut FieldErrors) -> bool {
    match q.get(name).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push(name, "must be true or false");
            false
        }
    }
}

/// The filter of the list, the totals and the export.
fn filter(q: &HashMap<String, String>, errors: &mut FieldErrors) -> ItemFilter {
    let mut classes = Vec::new();
    if let Some(list) = q.get("class") {
        for c in list.split(',').filter(|c| !c.is_empty()) {
            match Class::parse(c) {
                Some(c) => classes.push(c),
                None => errors.push(
                    "class",
                    format!(
                        "unknown class {c:?}; one or more (comma-separated) of {}",
                        Class::ALL.map(Class::as_str).join(", ")
                    ),
                ),
            }
        }
    }
    let text = |name: &str, errors: &mut FieldErrors| {
        q.get(name).and_then(|v| {
            if (1..=35).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) {
                Some(v.clone())
            } else {
                errors.push(name, "1 to 35 printable ASCII characters");
                None
            }
        })
    };
    let f = ItemFilter {
        classes,
        from: day(q, "from", errors),
        to: day(q, "to", errors),
        psp_id: text("psp", errors),
        flow_id: text("flow", errors),
        include_closed: !q.contains_key("closed") || flag(q, "closed", errors),
        anomalies_only: flag(q, "anomalies", errors),
    };
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from > to
    {
        errors.push("from", "must not be after `to`");
    }
    f
}

fn item_json(i: &StoredItem) -> Value {
    let it = &i.item;
    let mut v = json!({
        "key": it.key,
        "class": it.class,
        "transfer_index": it.transfer_index,
        "amount": it.amount,
        "date": it.date.to_string(),
        "documents": it.documents,
        "explanation": it.explanation,
        "updated_at": messaging::content::format_timestamp(&i.updated_at),
    });
    if let Some(iuv) = &it.iuv {
        v["iuv"] = json!(iuv);
    }
    if let Some(psp) = &it.psp_id {
        v["psp_id"] = json!(psp);
    }
    if let Some(due) = it.due {
        v["due"] = json!(due.to_string());
    }
    if let Some(note) = &i.note {
        v["note"] = json!(note);
    }
    if let Some(at) = &i.closed_at {
        v["closed_at"] = json!(messaging::content::format_timestamp(at));
        v["closed_by"] = json!(i.closed_by);
    }
    v
}

/// A cursor is `<date>|<key>` of the last item of the previous page, base64url.
fn encode_cursor(item: &Item) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", item.date, item.key))
}

fn decode_cursor(s: &str) -> Option<(NaiveDate, String)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (d, k) = raw.split_once('|')?;
    Some((NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?, k.to_owned()))
}

/// `GET …/reconciliation?class=&from=&to=&psp=&flow=&anomalies=&closed=&cursor=&limit=`: one
/// item per payment and per unmatched movement, by date then key, with the totals per class of
/// the whole filter.
pub async fn list_items(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let f = filter(&q, &mut errors);
    let limit = limit(&q, 100, 1_000, &mut errors);
    let cursor = match q.get("cursor") {
        None => None,
        Some(c) => match decode_cursor(c) {
            Some(c) => Some(c),
            None => {
                errors.push("cursor", "not a cursor this API returned");
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ops::Error::invalid(errors).into());
    }
    let org = &caller.profile.organization;
    let rows = state
        .payments
        .list_items(org, &f, cursor.as_ref(), limit + 1)
        .await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<&StoredItem> = rows.iter().take(limit as usize).collect();
    let next = if more {
        page.last().map(|i| encode_cursor(&i.item))
    } else {
        None
    };
    let totals = state.payments.item_totals(org, &f).await?;
    Ok(Json(json!({
        "items": page.iter().map(|i| item_json(i)).collect::<Vec<_>>(),
        "next": next,
        "totals": totals,
        "last_run": state.payments.last_recon(org).await?
            .map(|t| messaging::content::format_timestamp(&t)),
    })))
}

/// `GET …/reconciliation/items/{key}`.
pub async fn get_item(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let item = state
        .payments
        .get_item(&caller.profile.organization, &key)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("Item not found", "No reconciliation item has this key.")
        })?;
    Ok(Json(item_json(&item)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    note: Option<String>,
    close: Option<bool>,
}

/// `POST …/reconciliation/items/{key}/annotation` `{"note": "…", "close": true}`: the
/// operator's note and the closing (or reopening) of an anomaly, audited.
pub async fn annotate(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a: Annotation = serde_json::from_slice(&body)
        .map_err(|e| ops::Error::invalid_field("body", format!("not an annotation object: {e}")))?;
    if a.note.is_none() && a.close.is_none() {
        return Err(ops::Error::invalid_field("body", "give `note`, `close` or both").into());
    }
    let org = &caller.profile.organization;
    let actor = format!("payments-key:{org}");
    let item =
        ops::recon::annotate(cx(&state), org, &key, a.note.as_deref(), a.close, &actor).await?;
    Ok(Json(item_json(&item)))
}

/// Position effects a `…/run` call applies itself.
const RUN_EFFECTS: i64 = 1_000;

/// `POST …/reconciliation/run?full=true|false`: runs the match now (incremental by default),
/// then applies up to [`RUN_EFFECTS`] pending position effects.
pub async fn run(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let full = flag(&q, "full", &mut errors);
    if !errors.is_empty() {
        return Err(ops::Error::invalid(errors).into());
    }
    let org = &caller.profile.organization;
    let (run, _) = ops::recon::reconcile(cx(&state), org, full).await?;
    // The effects of this run's changes; a larger backlog is the reconciler's (woken here).
    let effects = ops::recon::apply_effects(state.pay(), org, RUN_EFFECTS).await?;
    state.recon_wake.notify_one();
    let mut v = json!(run);
    v["position_effects"] = json!(effects);
    Ok(Json(v))
}

/// `GET …/reconciliation/summary?from=&to=`: per day, what was expected (receipts), reported
/// (flow lines), credited (movements) and reconciled, and the anomalies.
pub async fn summary(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let from = day(&q, "from", &mut errors);
    let to = day(&q, "to", &mut errors);
    if from.is_none() && !q.contains_key("from") {
        errors.push("from", "required, yyyy-MM-dd");
    }
    if to.is_none() && !q.contains_key("to") {
        errors.push("to", "required, yyyy-MM-dd");
    }
    if let (Some(f), Some(t)) = (from, to)
        && (f > t || (t - f).num_days() > 366)
    {
        errors.push("to", "from ≤ to, at most 366 days apart");
    }
    if !errors.is_empty() {
        return Err(ops::Error::invalid(errors).into());
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ops::Error::invalid_field("from", "required").into());
    };
    let days = state
        .payments
        .day_summary(&caller.profile.organization, from, to)
        .await?;
    let days: Vec<Value> = days
        .iter()
        .map(|d| {
            json!({
                "date": d.date.to_string(),
                "expected": d.expected,
                "reported": d.reported,
                "credited": d.credited,
                "reconciled": d.reconciled,
                "difference_reported": d.reported - d.expected,
                "difference_credited": d.credited - d.reported,
                "anomalies": d.anomalies,
            })
        })
        .collect();
    Ok(Json(json!({ "days": days })))
}

/// The accounting codes of a transfer's metadata (`capitolo`, `accertamento`, any case).
fn accounting(meta: &[(String, String)], name: &str) -> String {
    meta.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn csv_field(s: &str) -> String {
    // Spreadsheet formula injection: a leading =, +, - or @ is quoted with a tick.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET …/reconciliation/export?…` (the list's filters): every matching item as CSV for the
/// accounting office, with the transfer's capitolo and accertamento from its metadata. Amounts
/// in euro with two decimals.
pub async fn export(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let f = filter(&q, &mut errors);
    match q.get("format").map(String::as_str) {
        None | Some("csv") => {}
        Some(_) => errors.push("format", "csv is the one format"),
    }
    if !errors.is_empty() {
        return Err(ops::Error::invalid(errors).into());
    }
    let org = &caller.profile.organization;
    let mut out = String::from(
        "date,class,iuv,transfer_index,amount,psp_id,receipt_id,flow_id,movement_id,capitolo,\
         accertamento,explanation\n",
    );
    let mut cursor: Option<(NaiveDate, String)> = None;
    let mut receipts: HashMap<String, Vec<payments::recon::ReceiptLine>> = HashMap::new();
    loop {
        let rows = state
            .payments
            .list_items(org, &f, cursor.as_ref(), 1_000)
            .await?;
        for r in &rows {
            let it = &r.item;
            let meta = match (&it.documents.receipt_id, it.transfer_index) {
                (Some(id), Some(index)) => {
                    if !receipts.contains_key(id)
                        && let Some(stored) = state.payments.receipt(org, id).await?
                    {
                        receipts.insert(id.clone(), stored.transfers);
                    }
                    receipts
                        .get(id)
                        .and_then(|t| t.iter().find(|l| l.index == index))
                        .map(|l| l.metadata.clone())
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let row = [
                it.date.to_string(),
                it.class.as_str().to_owned(),
                it.iuv.clone().unwrap_or_default(),
                it.transfer_index.map(|i| i.to_string()).unwrap_or_default(),
                format!("{}.{:02}", it.amount / 100, (it.amount % 100).abs()),
                it.psp_id.clone().unwrap_or_default(),
                it.documents.receipt_id.clone().unwrap_or_default(),
                it.documents.flow_id.clone().unwrap_or_default(),
                it.documents.movement_id.clone().unwrap_or_default(),
                accounting(&meta, "capitolo"),
                accounting(&meta, "accertamento"),
                it.explanation.it.clone(),
            ];
            let line: Vec<String> = row.iter().map(|s| csv_field(s)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        match rows.last() {
            Some(last) if rows.len() == 1_000 => {
                cursor = Some((last.item.date, last.item.key.clone()));
            }
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reconciliation.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
