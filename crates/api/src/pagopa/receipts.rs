//! The receipts of the pagoPA node as the ente and the citizen see them: the ente's list and
//! its receipts for one IUV (GPD-payments style, with the payments key), and the citizen's
//! receipt PDF (as the debtor, with their session).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kernel::FieldErrors;
use kernel::values::OrganizationFiscalCode;
use messaging::content::format_timestamp;
use pagopa::{Receipt, ReceiptTarget, Subject};
use payments::ports::{ReceiptEffect, StoredReceipt};
use serde_json::{Value, json};

use crate::citizen_auth::CitizenCaller;
use crate::payments::auth::PaymentsCaller;
use crate::payments::gpd::date_param;
use crate::problem::ApiError;
use crate::state::AppState;

fn summary(r: &StoredReceipt) -> Value {
    json!({
        "organizationFiscalCode": r.organization.as_str(),
        "receiptId": r.receipt_id,
        "issuerFiscalCode": r.issuer,
        "noticeNumber": r.notice_number,
        "iuv": r.iuv,
        "effect": r.effect.as_str(),
        "amount": r.amount,
        "ownAmount": r.own_amount,
        "pspId": r.psp_id,
        "channelId": r.channel_id,
        "fee": r.fee,
        "paymentMethod": r.payment_method,
        "paymentDateTime": r.payment_date.as_ref().map(format_timestamp),
        "receivedAt": format_timestamp(&r.received_at),
        "version": if r.v2 { "V2" } else { "V1" },
    })
}

fn subject(s: &Subject) -> Value {
    json!({
        "type": match s.kind { pagopa::EntityType::Person => "F", pagopa::EntityType::Legal => "G" },
        "fiscalCode": s.id,
        "fullName": s.full_name,
        "streetName": s.street_name,
        "civicNumber": s.civic_number,
        "postalCode": s.postal_code,
        "city": s.city,
        "province": s.state_province_region,
        "country": s.country,
        "email": s.email,
    })
}

/// Everything the receipt says, for its ente.
fn detail(stored: &StoredReceipt, r: &Receipt) -> Value {
    let mut v = summary(stored);
    v["description"] = json!(r.description);
    v["companyName"] = json!(r.company_name);
    v["officeName"] = json!(r.office_name);
    v["outcome"] = json!(if r.outcome_ok { "OK" } else { "KO" });
    v["debtor"] = subject(&r.debtor);
    v["payer"] = r.payer.as_ref().map_or(Value::Null, subject);
    v["pspFiscalCode"] = json!(r.psp_fiscal_code);
    v["pspCompanyName"] = json!(r.psp_company_name);
    v["channelDescription"] = json!(r.channel_description);
    v["applicationDate"] = json!(r.application_date.map(|d| d.to_string()));
    v["transferDate"] = json!(r.transfer_date.map(|d| d.to_string()));
    v["standIn"] = json!(r.stand_in);
    v["metadata"] = json!(
        r.metadata
            .iter()
            .map(|m| json!({"key": m.key, "value": m.value}))
            .collect::<Vec<_>>()
    );
    v["transfers"] = json!(
        r.transfers
            .iter()
            .map(|t| {
                let (iban, stamp) = match &t.target {
                    ReceiptTarget::Iban(i) => (Some(i.clone()), Value::Null),
                    ReceiptTarget::Stamp { stamp, .. } => (
                        None,
                        stamp.as_ref().map_or(json!({}), |s| {
                            json!({
                                "iubd": s.iubd,
                                "amount": s.amount,
                                "purchasedAt": s.purchased_at,
                                "documentDigest": s.document_digest,
                                "pspFiscalCode": s.psp_fiscal_code,
                                "pspName": s.psp_name,
                            })
                        }),
                    ),
                };
                json!({
                    "idTransfer": t.id_transfer,
                    "amount": t.amount,
                    "fiscalCodePA": t.fiscal_code_pa,
                    "companyName": t.company_name,
                    "iban": iban,
                    "stamp": stamp,
                    "remittanceInformation": t.remittance_information,
                    "transferCategory": t.transfer_category,
                    "own": t.fiscal_code_pa == stored.organization.as_str(),
                })
            })
            .collect::<Vec<_>>()
    );
    v
}

fn open(state: &AppState, stored: &StoredReceipt) -> Result<Receipt, ApiError> {
    Ok(ops::node::open_receipt(&state.keyring, stored)?)
}

/// `GET /api/gpd/v1/organizations/{organizationfiscalcode}/receipts?page&limit&from&to`: the
/// ente's receipts, newest first (`from`/`to` on the time received).
pub async fn list(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::default();
    let int = |name: &str, default: i64, max: i64, errors: &mut FieldErrors| match q.get(name) {
        None => default,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) && (name != "limit" || n >= 1) => n,
            _ => {
                errors.push(name, format!("must be an integer up to {max}"));
                default
            }
        },
    };
    let limit = int("limit", 50, 1000, &mut errors);
    let page = int("page", 0, i64::from(i32::MAX), &mut errors);
    let from = date_param(&q, "from", false, &mut errors);
    let to = date_param(&q, "to", true, &mut errors);
    if !errors.is_empty() {
        return Err(ops::Error::invalid(errors).into());
    }
    let (rows, total) = state
        .payments
        .list_receipts(
            &caller.profile.organization,
            from,
            to.map(|t| t + chrono::Duration::milliseconds(1)),
            page,
            limit,
        )
        .await?;
    Ok(Json(json!({
        "receiptsList": rows.iter().map(summary).collect::<Vec<_>>(),
        "pageInfo": {
            "page": page,
            "limit": limit,
            "itemsFound": rows.len(),
            "totalPages": (total + limit - 1) / limit,
        },
    })))
}

/// `GET /api/gpd/v1/organizations/{organizationfiscalcode}/receipts/{iuv}`: every receipt of
/// the ente for this IUV (normally one; more for a double payment), in full.
pub async fn of_iuv(
    State(state): State<AppState>,
    caller: PaymentsCaller,
    Path((_, iuv)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let rows = state
        .payments
        .receipts_of_iuv(&caller.profile.organization, &iuv)
        .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(
            "Receipt not found",
            "The organization has no receipt for this IUV.",
        ));
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(detail(r, &open(&state, r)?));
    }
    Ok(Json(json!({ "receipts": out })))
}

/// Rome's local time of a UTC instant, as dd/mm/yyyy hh:mm.
fn rome(t: &chrono::DateTime<chrono::Utc>) -> String {
    pagopa::soap::rome_local(*t)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// `GET /api/citizen/v1/payments/receipts/{organizationfiscalcode}/{receiptid}`: the receipt
/// PDF, for the debtor it names only (a receipt unlinked by account deletion is gone).
pub async fn citizen_pdf(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path((org, receipt_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("Receipt not found", "You have no such receipt.");
    let org = OrganizationFiscalCode::parse(&org).map_err(|_| not_found())?;
    let stored = state
        .payments
        .receipt(&org, &receipt_id)
        .await?
        // The issuer's copy of a payment made: not a beneficiary's copy, not a failed one.
        .filter(|r| {
            r.citizen.as_deref() == Some(caller.fiscal_code.as_str())
                && matches!(
                    r.effect,
                    ReceiptEffect::Applied | ReceiptEffect::DoublePayment
                )
        })
        .ok_or_else(not_found)?;
    let r = open(&state, &stored)?;
    let company = r.company_name.clone();
    let doc = notice::ReceiptDocument {
        language: notice::Language::ItEn,
        creditor: notice::Creditor {
            fiscal_code: r.fiscal_code.clone(),
            name: company,
            logo_png: state.payments.organization_logo(&org).await?,
            ..notice::Creditor::default()
        },
        receipt_id: r.receipt_id.clone(),
        notice_number: r.notice_number.clone(),
        iuv: r.creditor_reference_id.clone(),
        description: r.description.clone(),
        amount_cents: r.payment_amount,
        fee_cents: r.fee,
        paid_at: rome(&r.payment_date_time.unwrap_or(stored.received_at)),
        debtor_name: r.debtor.full_name.clone(),
        debtor_code: r.debtor.id.clone(),
        payer_name: r.payer.as_ref().map(|p| p.full_name.clone()),
        psp_name: r.psp_company_name.clone(),
        psp_id: r.id_psp.clone(),
        payment_method: r.payment_method.clone(),
        transfers: r
            .transfers
            .iter()
            .map(|t| notice::ReceiptTransfer {
                beneficiary_name: t.company_name.clone(),
                beneficiary_code: t.fiscal_code_pa.clone(),
                amount_cents: t.amount,
                remittance: t.remittance_information.clone(),
            })
            .collect(),
    };
    let pdf = notice::render_receipt(&doc).map_err(|e| ApiError::Unprocessable {
        title: "Cannot print the receipt",
        detail: e.to_string(),
    })?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
