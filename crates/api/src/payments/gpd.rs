//! GPD's operations: each handler parses GPD's request, runs the use case of
//! `ops::payments` and answers in GPD's shape and status codes (201 on create, 200
//! otherwise; 400 with every field at fault, 404, 409, 422 as GPD gives them).

use std::collections::HashMap;

use ::payments::gpd::{self as wire, Draft};
use ::payments::model::{Position, PositionStatus};
use ::payments::ports::{ListFilter, OrderBy};
use ::payments::rules::DateCheck;
use ::payments::values::{Iban, parse_segregation_list};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use kernel::FieldErrors;
use kernel::fields::ObjectReader;
use ops::payments::{PayContext, PayInfo};
use serde_json::{Value, json};

use super::auth::PaymentsCaller;
use crate::problem::ApiError;
use crate::request::{Body, json_body};
use crate::state::AppState;
use messaging::content::format_timestamp;

type ApiResult<T> = Result<T, ApiError>;

/// The payments key's actor name in histories and the audit log.
const ACTOR: &str = "payments-key";

pub(crate) fn cx(state: &AppState) -> PayContext<'_> {
    PayContext {
        store: state.payments.as_ref(),
        clock: state.clock.as_ref(),
        jobs_ready: state.jobs_ready.as_ref(),
        notices: &state.notices,
    }
}

fn invalid(errors: FieldErrors) -> ApiError {
    ApiError::Validation {
        title: "Invalid debt position",
        errors,
    }
}

pub(crate) fn flag(q: &HashMap<String, String>, name: &str) -> ApiResult<bool> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "Invalid query parameter",
            format!("{name} must be true or false."),
        )),
    }
}

fn parse(
    version: wire::Version,
    state: &AppState,
    caller: &PaymentsCaller,
    headers: &HeaderMap,
    body: &[u8],
    mode: DateCheck,
) -> ApiResult<Draft> {
    let value = json_body(headers, body)?;
    let now = state.clock.now();
    let org = &caller.profile.organization;
    match version {
        wire::Version::V1 => wire::parse_v1_with(&value, org, now, mode),
        wire::Version::V3 => wire::parse_v3_with(&value, org, now, mode),
    }
    .map_err(invalid)
}

fn render(version: wire::Version, p: &Position) -> Value {
    match version {
        wire::Version::V1 => wire::render_v1(p),
        wire::Version::V3 => wire::render_v3(p),
    }
}

pub async fn info() -> Json<Value> {
    Json(json!({
        "name": "sportello-gpd",
        "version": env!("CARGO_PKG_VERSION"),
        "environment": "sportello",
    }))
}

async fn create(
    version: wire::Version,
    state: AppState,
    caller: PaymentsCaller,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let to_publish = flag(&q, "toPublish")?;
    let draft = parse(
        version,
        &state,
        &caller,
        &headers,
        &body.0,
        DateCheck::Create,
    )?;
    let write =
        ops::payments::prepare(cx(&state), &caller.profile, draft, to_publish, ACTOR).await?;
    let outcome = state.position_intake.submit(write.clone()).await?;
    let p = ops::payments::created(cx(&state), write, outcome)?;
    Ok((StatusCode::CREATED, Json(render(version, &p))))
}

pub async fn create_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(wire::Version::V1, state, caller, q, headers, body).await
}

pub async fn create_v3(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(wire::Version::V3, state, caller, q, headers, body).await
}

/// GPD's internal v2 bulk create: `{"paymentPositions": [...]}`, up to 100, all or none.
pub async fn bulk_create(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let to_publish = flag(&q, "toPublish")?;
    let value = json_body(&headers, &body.0)?;
    let mut errors = FieldErrors::default();
    let list = value
        .get("paymentPositions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        errors.push("paymentPositions", "must list 1 to 100 debt positions");
        return Err(invalid(errors));
    }
    let now = state.clock.now();
    let mut drafts = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match wire::parse_v1(item, &caller.profile.organization, now) {
            Ok(d) => drafts.push(d),
            Err(e) => {
                for f in e.0 {
                    errors.push(format!("paymentPositions[{i}].{}", f.name), f.reason);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    ops::payments::create_many(cx(&state), &caller.profile, drafts, to_publish, ACTOR).await?;
    Ok(StatusCode::CREATED)
}

pub(crate) fn date_param(
    q: &HashMap<String, String>,
    name: &str,
    end_of_day: bool,
    errors: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let s = q.get(name)?;
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = if end_of_day {
            d.and_hms_milli_opt(23, 59, 59, 999)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        return t.map(|t| t.and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    errors.push(name, "must be a date (yyyy-MM-dd) or a date-time");
    None
}

/// GPD's list parameters.
fn list_filter(q: &HashMap<String, String>, v3: bool) -> ApiResult<(ListFilter, i64, i64)> {
    let mut errors = FieldErrors::default();
    let int = |name: &str,
               default: i64,
               range: std::ops::RangeInclusive<i64>,
               errors: &mut FieldErrors| {
        match q.get(name) {
            None => default,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    errors.push(
                        name,
                        format!(
                            "must be an integer from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    );
                    default
                }
            },
        }
    };
    let limit = int("limit", 10, 1..=50, &mut errors);
    let page = int("page", 0, 0..=i64::from(i32::MAX), &mut errors);
    let mut f = ListFilter {
        due_from: date_param(q, "due_date_from", false, &mut errors),
        due_to: date_param(q, "due_date_to", true, &mut errors),
        paid_from: date_param(q, "payment_date_from", false, &mut errors)
            .or_else(|| date_param(q, "payment_date_time_from", false, &mut errors)),
        paid_to: date_param(q, "payment_date_to", true, &mut errors)
            .or_else(|| date_param(q, "payment_date_time_to", true, &mut errors)),
        ..ListFilter::default()
    };
    for (from, to, name) in [
        (f.due_from, f.due_to, "due_date"),
        (f.paid_from, f.paid_to, "payment_date"),
    ] {
        match (from, to) {
            (Some(a), Some(b)) if b < a => {
                errors.push(
                    format!("{name}_to"),
                    format!("must not be before {name}_from"),
                );
            }
            (Some(a), Some(b)) if b - a > chrono::Duration::days(31) => {
                errors.push(
                    format!("{name}_to"),
                    "the interval may span at most 30 days (as GPD)",
                );
            }
            _ => {}
        }
    }
    if let Some(s) = q.get("status") {
        let parsed = if v3 {
            PositionStatus::from_v3(s)
        } else {
            PositionStatus::parse(s).map(|x| vec![x])
        };
        match parsed {
            Some(list) => f.statuses = list,
            None => errors.push("status", "is not a debt position status"),
        }
    }
    if let Some(s) = q.get("segregationCodes") {
        match parse_segregation_list(s) {
            Ok(list) => f.segregation_codes = list,
            Err(e) => errors.push("segregationCodes", e.reason),
        }
    }
    f.order_by = match q.get("orderby").map(String::as_str) {
        None | Some("INSERTED_DATE") => Some(OrderBy::InsertedDate),
        Some("IUPD") => Some(OrderBy::Iupd),
        Some("STATUS") => Some(OrderBy::Status),
        Some("COMPANY_NAME") => Some(OrderBy::CompanyName),
        Some(_) => {
            errors.push(
                "orderby",
                "must be INSERTED_DATE, IUPD, STATUS or COMPANY_NAME",
            );
            None
        }
    };
    f.descending = match q.get("ordering").map(String::as_str) {
        None | Some("DESC") => true,
        Some("ASC") => false,
        Some(_) => {
            errors.push("ordering", "must be ASC or DESC");
            true
        }
    };
    errors
        .finish((f, page, limit))
        .map_err(|errors| ApiError::Validation {
            title: "Invalid query parameters",
            errors,
        })
}

async fn list(
    version: wire::Version,
    state: AppState,
    caller: PaymentsCaller,
    q: HashMap<String, String>,
) -> ApiResult<Json<Value>> {
    let (filter, page, limit) = list_filter(&q, version == wire::Version::V3)?;
    let (rows, total) = ops::payments::list(
        cx(&state),
        &caller.profile.organization,
        &filter,
        page,
        limit,
    )
    .await?;
    let total_pages = (total + limit - 1) / limit;
    Ok(Json(json!({
        "payment_position_list": rows.iter().map(|p| render(version, p)).collect::<Vec<_>>(),
        "page_info": {
            "page": page,
            "limit": limit,
            "items_found": rows.len(),
            "total_pages": total_pages,
        },
    })))
}

pub async fn list_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list(wire::Version::V1, state, caller, q).await
}

pub async fn list_v3(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    list(wire::Version::V3, state, caller, q).await
}

pub async fn get_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = ops::payments::get(cx(&state), &caller.profile.organization, &iupd).await?;
    Ok(Json(wire::render_v1(&p)))
}

pub async fn get_v3(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = ops::payments::get(cx(&state), &caller.profile.organization, &iupd).await?;
    Ok(Json(wire::render_v3(&p)))
}

async fn update(
    version: wire::Version,
    state: AppState,
    caller: PaymentsCaller,
    iupd: String,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let to_publish = flag(&q, "toPublish")?;
    // A missing position is a 404 before the body's dates are judged.
    ops::payments::get(cx(&state), &caller.profile.organization, &iupd).await?;
    let draft = parse(
        version,
        &state,
        &caller,
        &headers,
        &body.0,
        DateCheck::Update,
    )?;
    let p =
        ops::payments::update(cx(&state), &caller.profile, &iupd, draft, to_publish, ACTOR).await?;
    Ok(Json(render(version, &p)))
}

pub async fn update_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    update(wire::Version::V1, state, caller, iupd, q, headers, body).await
}

pub async fn update_v3(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    update(wire::Version::V3, state, caller, iupd, q, headers, body).await
}

pub async fn delete(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    ops::payments::delete(cx(&state), &caller.profile, &iupd, ACTOR).await?;
    Ok(Json(json!("OK")))
}

pub async fn publish_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = ops::payments::publish(cx(&state), &caller.profile, &iupd, ACTOR).await?;
    Ok(Json(wire::render_v1(&p)))
}

pub async fn publish_v3(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = ops::payments::publish(cx(&state), &caller.profile, &iupd, ACTOR).await?;
    Ok(Json(wire::render_v3(&p)))
}

pub async fn invalidate_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = ops::payments::invalidate(cx(&state), &caller.profile, &iupd, ACTOR).await?;
    Ok(Json(wire::render_v1(&p)))
}

/// Sportello's reissue: `{"iupd"?, "dueDates"?: [date-time…], "toPublish"?: bool}`.
pub async fn reissue_v1(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let value = if body.0.is_empty() {
        json!({})
    } else {
        json_body(&headers, &body.0)?
    };
    let mut errors = FieldErrors::default();
    let Some(obj) = ObjectReader::new(&value, "", &mut errors) else {
        return Err(invalid(errors));
    };
    let new_iupd = obj.string("iupd", false, 1..=140, &mut errors);
    let to_publish = obj.boolean("toPublish", &mut errors).unwrap_or(false);
    let due_dates = match obj.optional("dueDates") {
        None => None,
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                match it
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                {
                    Some(d) => out.push(d.with_timezone(&Utc)),
                    None => errors.push(format!("dueDates[{i}]"), "must be an RFC 3339 date-time"),
                }
            }
            Some(out)
        }
        Some(_) => {
            errors.push("dueDates", "must be an array of date-times");
            None
        }
    };
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let p = ops::payments::reissue(
        cx(&state),
        &caller.profile,
        &iupd,
        new_iupd.as_deref(),
        due_dates,
        to_publish,
        ACTOR,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(wire::render_v1(&p))))
}

/// Sportello's history of a position: every change, and each option's pre-notice with the
/// state of its IO message now.
pub async fn history(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let p = ops::payments::get(cx(&state), &caller.profile.organization, &iupd).await?;
    let events = ops::payments::history(cx(&state), &p).await?;
    let mut notices = Vec::new();
    for o in &p.options {
        let mut entry = json!({"nav": o.nav.as_str(), "iuv": o.iuv});
        if let Some(n) = &o.pre_notice {
            entry["status"] = json!(n.status);
            entry["at"] = json!(format_timestamp(&n.at));
            if let Some(r) = &n.reason {
                entry["reason"] = json!(r);
            }
            if let Some(m) = &n.message_id {
                entry["messageId"] = json!(m);
                if let Ok(id) = kernel::values::MessageId::parse(m)
                    && let Some(rec) = state.store.get_message(&id).await?
                {
                    entry["messageStatus"] = json!(rec.status.as_str());
                    if let Some(r) = &rec.rejection_reason {
                        entry["status"] = json!("REJECTED");
                        entry["reason"] = json!(r.as_str());
                    } else if rec.status == messaging::model::MessageStatus::Processed {
                        entry["status"] = json!("PROCESSED");
                    }
                    entry["paymentStatus"] = json!(if rec.paid_at.is_some() {
                        "PAID"
                    } else {
                        "NOT_PAID"
                    });
                }
            }
        }
        notices.push(entry);
    }
    Ok(Json(json!({
        "iupd": p.iupd.as_str(),
        "status": p.status.as_str(),
        "version": p.version,
        "reissueOf": p.reissue_of.as_ref().map(|i| i.as_str()),
        "reissuedAs": p.reissued_as.as_ref().map(|i| i.as_str()),
        "preNotices": notices,
        "history": events.iter().map(|e| json!({
            "at": format_timestamp(&e.at),
            "version": e.version,
            "action": e.action,
            "status": e.status.as_str(),
            "detail": e.detail,
            "actor": e.actor,
        })).collect::<Vec<_>>(),
    })))
}

/// GPD's `PayPaymentOptionModel`.
fn pay_info(value: &Value) -> ApiResult<PayInfo> {
    let mut errors = FieldErrors::default();
    let Some(obj) = ObjectReader::new(value, "", &mut errors) else {
        return Err(invalid(errors));
    };
    let payment_date = match obj.optional("paymentDate") {
        None => None,
        Some(v) => {
            let parsed = v.as_str().and_then(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.with_timezone(&Utc))
                    .ok()
                    .or_else(|| {
                        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                            .ok()
                            .map(|t| t.and_utc())
                    })
            });
            if parsed.is_none() {
                errors.push(
                    "paymentDate",
                    "must be a date-time such as 2026-12-31T23:59:59Z",
                );
            }
            parsed
        }
    };
    let info = PayInfo {
        payment_date,
        payment_method: obj.string("paymentMethod", false, 0..=140, &mut errors),
        psp_code: obj.string("pspCode", false, 0..=35, &mut errors),
        psp_tax_code: obj.string("pspTaxCode", false, 0..=70, &mut errors),
        psp_company: obj.string("pspCompany", true, 1..=140, &mut errors),
        receipt_id: obj.string("idReceipt", true, 1..=140, &mut errors),
        fee: obj.integer("fee", false, 0..=99_999_999, &mut errors),
    };
    errors.finish(info).map_err(invalid)
}

pub async fn pay(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let info = pay_info(&json_body(&headers, &body.0)?)?;
    let (p, i) =
        ops::payments::pay(cx(&state), &caller.profile, &notice, info, false, ACTOR).await?;
    Ok(Json(wire::render_option_v1(&p, i)))
}

/// GPD's "already paid": the ente records a payment made outside pagoPA.
pub async fn mark_paid(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let mut info = PayInfo::default();
    if !body.0.is_empty() {
        let v = json_body(&headers, &body.0)?;
        let mut errors = FieldErrors::default();
        if let Some(obj) = ObjectReader::new(&v, "", &mut errors) {
            info.payment_method = obj.string("paymentMethod", false, 0..=140, &mut errors);
            info.receipt_id = obj.string("idReceipt", false, 0..=140, &mut errors);
        }
        errors.finish(()).map_err(invalid)?;
    }
    info.payment_method.get_or_insert_with(|| "OTHER".into());
    let (p, i) =
        ops::payments::pay(cx(&state), &caller.profile, &notice, info, true, ACTOR).await?;
    Ok(Json(wire::render_option_v1(&p, i)))
}

pub async fn get_option(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (p, i) =
        ops::payments::by_notice(cx(&state), &caller.profile.organization, &notice).await?;
    Ok(Json(wire::render_option_v1(&p, i)))
}

pub async fn position_of_option(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (p, _) =
        ops::payments::by_notice(cx(&state), &caller.profile.organization, &notice).await?;
    Ok(Json(wire::render_v1(&p)))
}

pub async fn notification_fee(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let v = json_body(&headers, &body.0)?;
    let mut errors = FieldErrors::default();
    let fee = ObjectReader::new(&v, "", &mut errors)
        .and_then(|o| o.integer("notificationFee", true, 0..=99_999_999, &mut errors));
    let fee = errors.finish(fee.unwrap_or(0)).map_err(invalid)?;
    let (p, i) =
        ops::payments::set_notification_fee(cx(&state), &caller.profile, &notice, fee, ACTOR)
            .await?;
    Ok(Json(wire::render_option_v1(&p, i)))
}

pub async fn report(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice, transfer)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (p, i) =
        ops::payments::report(cx(&state), &caller.profile, &notice, &transfer, ACTOR).await?;
    let option = wire::render_option_v1(&p, i);
    let t = option["transfer"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["idTransfer"] == json!(transfer)))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(Json(t))
}

pub async fn change_iban(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let mut errors = FieldErrors::default();
    let old = match q.get("oldIban").map(|s| Iban::parse(s)) {
        Some(Ok(i)) => Some(i),
        Some(Err(e)) => {
            errors.push("oldIban", e.reason);
            None
        }
        None => {
            errors.push("oldIban", "is required");
            None
        }
    };
    let limit = match q.get("limit").map(|s| s.parse::<i64>()) {
        None => 1000,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            errors.push("limit", "must be an integer from 1 to 1000");
            1000
        }
    };
    let v = json_body(&headers, &body.0)?;
    let new = ObjectReader::new(&v, "", &mut errors)
        .and_then(|o| o.parsed("newIban", true, Iban::parse, &mut errors));
    let (Some(old), Some(new)) = (old, new) else {
        return Err(invalid(errors));
    };
    errors.finish(()).map_err(invalid)?;
    let n =
        ops::payments::change_iban(cx(&state), &caller.profile, &old, &new, limit, ACTOR).await?;
    Ok(Json(json!({
        "description": format!("{n} transfers updated"),
        "updatedTransfers": n,
    })))
}

/// `orgs_payment_options.json`: the options of a notice as the node's new payment-options
/// model shows them.
pub async fn verify(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, notice)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    if kernel::values::NoticeNumber::parse(&notice).is_err() {
        return Err(ApiError::bad_request(
            "Invalid notice number",
            "A notice number is 18 digits with valid check digits.",
        ));
    }
    let (p, _) =
        ops::payments::by_notice(cx(&state), &caller.profile.organization, &notice).await?;
    let now = state.clock.now();
    let unpayable = match p.status {
        PositionStatus::Draft | PositionStatus::Published => Some("PO_UNPAID"),
        PositionStatus::Invalid => Some("PO_INVALID"),
        PositionStatus::Expired => Some("PO_EXPIRED_NOT_PAYABLE"),
        _ => None,
    };
    if matches!(p.status, PositionStatus::Draft) {
        return Err(ApiError::not_found(
            "Payment option not found",
            "The organization has no payable option with this notice number.",
        ));
    }
    // Group options by plan.
    let mut plans: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, o) in p.options.iter().enumerate() {
        let key = o.plan_key().to_owned();
        match plans.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => plans.push((key, vec![i])),
        }
    }
    let installment_status = |i: usize| {
        let o = &p.options[i];
        if o.status.is_paid() {
            "POI_PAID"
        } else if p.status == PositionStatus::Invalid {
            "POI_INVALID"
        } else if o.due_date < now && o.switch_to_expired {
            "POI_EXPIRED_NOT_PAYABLE"
        } else if o.due_date < now {
            "POI_EXPIRED_UNPAID"
        } else {
            "POI_UNPAID"
        }
    };
    let options: Vec<Value> = plans
        .iter()
        .map(|(_, idx)| {
            let first = &p.options[idx[0]];
            let amount: i64 = idx.iter().map(|i| p.options[*i].amount).sum();
            let paid = idx.iter().filter(|i| p.options[**i].status.is_paid()).count();
            let status = unpayable.unwrap_or(if paid == idx.len() {
                "PO_PAID"
            } else if paid > 0 {
                "PO_PARTIALLY_PAID"
            } else if idx.iter().all(|i| installment_status(*i) == "POI_EXPIRED_NOT_PAYABLE") {
                "PO_EXPIRED_NOT_PAYABLE"
            } else {
                "PO_UNPAID"
            });
            let all_ccp = idx.iter().all(|i| {
                p.options[*i].transfers.iter().all(|t| {
                    matches!(&t.destination, ::payments::model::Destination::Account { postal_iban: Some(_), .. })
                })
            });
            json!({
                "description": first.option_description.clone().unwrap_or_else(|| first.description.clone()),
                "numberOfInstallments": idx.len(),
                "dueDate": format_timestamp(&idx.iter().map(|i| p.options[*i].due_date).max().unwrap_or(first.due_date)),
                "validFrom": first.validity_date.or(p.validity_date).map(|d| format_timestamp(&d)),
                "amount": amount,
                "status": status,
                "statusReason": "",
                "allCCP": all_ccp,
                "installments": idx.iter().map(|i| {
                    let o = &p.options[*i];
                    json!({
                        "nav": o.nav.as_str(),
                        "iuv": o.iuv,
                        "amount": o.amount,
                        "description": o.description,
                        "dueDate": format_timestamp(&o.due_date),
                        "validFrom": o.validity_date.or(p.validity_date).map(|d| format_timestamp(&d)),
                        "status": installment_status(*i),
                        "statusReason": "",
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "organizationFiscalCode": p.organization.as_str(),
        "companyName": p.company_name,
        "officeName": p.office_name,
        "standin": p.pay_stand_in,
        "paymentOptions": options,
    })))
}

/// The position's payment notice as a PDF; `?language=de|en` adds a second language.
pub async fn notice_pdf(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iupd)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let language = match q.get("language").map(String::as_str) {
        None | Some("it") => notice::Language::It,
        Some("de") => notice::Language::ItDe,
        Some("en") => notice::Language::ItEn,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid query parameter",
                "language must be it, de or en.",
            ));
        }
    };
    let p = ops::payments::get(cx(&state), &caller.profile.organization, &iupd).await?;
    let logo = state.payments.organization_logo(&p.organization).await?;
    let n = ops::payments::notice_of(&p, logo, language)?;
    let pdf = notice::render(&n).map_err(|e| ApiError::Unprocessable {
        title: "Cannot print the notice",
        detail: e.to_string(),
    })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "inline; filename=\"avviso-{}.pdf\"",
                    p.iupd.as_str().replace('"', "")
                ),
            ),
        ],
        pdf,
    )
        .into_response())
}

/// `POST /api/admin/v1/organizations/{ofc}/payments`: the admin API's form of `sportello
/// admin payments enable`: `{"segregation_codes": ["01", …], "io_service"?, "cidrs"?: [...]}`;
/// answers the two payments keys (shown only now) and warnings about reserved codes.
pub async fn admin_enable(
    State(state): State<AppState>,
    _admin: crate::auth::AdminCaller,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let value = json_body(&headers, &body.0)?;
    let mut errors = FieldErrors::default();
    let org = kernel::values::OrganizationFiscalCode::parse(&org).map_err(|_| {
        ApiError::not_found(
            "Organization not found",
            "No organization with this fiscal code.",
        )
    })?;
    let Some(obj) = ObjectReader::new(&value, "", &mut errors) else {
        return Err(invalid(errors));
    };
    let codes = obj
        .parsed_list(
            "segregation_codes",
            ::payments::values::SegregationCode::parse,
            &mut errors,
        )
        .unwrap_or_default();
    let service = obj.parsed(
        "io_service",
        false,
        kernel::values::ServiceId::parse,
        &mut errors,
    );
    let cidrs = obj
        .parsed_list("cidrs", kernel::values::Cidr::parse, &mut errors)
        .unwrap_or_default();
    errors.finish(()).map_err(invalid)?;
    let (keys, warnings) = ops::payments::enable(
        cx(&state),
        state.store.as_ref(),
        &org,
        codes,
        service,
        cidrs,
        "admin",
    )
    .await?;
    state
        .payments_keys
        .forget_where(|(p, _)| p.organization == org);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "primary_key": keys.primary_key,
            "secondary_key": keys.secondary_key,
            "warnings": warnings,
        })),
    ))
}
