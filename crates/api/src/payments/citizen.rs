//! The citizen's side of payments: what they owe and have paid as the debtor of a position
//! (status, due dates, the notice PDF and the IO message each option's pre-notice became).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kernel::values::{FiscalCode, OrganizationFiscalCode};
use serde_json::{Value, json};

use crate::citizen_auth::CitizenCaller;
use crate::problem::ApiError;
use crate::state::AppState;
use messaging::content::format_timestamp;

/// Every position the citizen is the debtor of, newest first, one entry per position.
pub async fn owed(state: &AppState, fc: &FiscalCode) -> Result<Vec<Value>, ApiError> {
    let positions = state.payments.positions_of_citizen(fc).await?;
    let receipts = state.payments.receipts_of_citizen(fc).await?;
    let receipt_url = |org: &OrganizationFiscalCode, iuv: &str| {
        receipts
            .iter()
            .find(|r| {
                &r.organization == org
                    && r.iuv == iuv
                    && r.effect == ::payments::ports::ReceiptEffect::Applied
            })
            .map(|r| {
                format!(
                    "/api/citizen/v1/payments/receipts/{}/{}",
                    r.organization.as_str(),
                    r.receipt_id
                )
            })
    };
    Ok(positions
        .iter()
        .filter(|p| p.status != ::payments::model::PositionStatus::Draft)
        .map(|p| {
            json!({
                "organizationFiscalCode": p.organization.as_str(),
                "companyName": p.company_name,
                "iupd": p.iupd.as_str(),
                "status": p.status.as_str(),
                "paymentDate": p.payment_date.as_ref().map(format_timestamp),
                "noticeUrl": format!(
                    "/api/citizen/v1/payments/{}/{}/notice",
                    p.organization.as_str(),
                    p.iupd.as_str()
                ),
                "paymentOptions": p.options.iter().map(|o| json!({
                    "nav": o.nav.as_str(),
                    "description": o.description,
                    "amount": o.amount,
                    "dueDate": format_timestamp(&o.due_date),
                    "isPartialPayment": o.is_partial_payment,
                    "status": o.status.as_str(),
                    "paymentDate": o.payment.as_ref().map(|r| format_timestamp(&r.payment_date)),
                    "messageId": o.pre_notice.as_ref().and_then(|n| n.message_id.clone()),
                    "receiptUrl": receipt_url(&p.organization, &o.iuv),
                })).collect::<Vec<_>>(),
            })
        })
        .collect())
}

/// `GET /api/citizen/v1/payments`.
pub async fn list(
    State(state): State<AppState>,
    caller: CitizenCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "items": owed(&state, &caller.fiscal_code).await? }),
    ))
}

/// `GET /api/citizen/v1/payments/{organization}/{iupd}/notice`: the PDF, for its debtor only.
pub async fn notice_pdf(
    State(state): State<AppState>,
    caller: CitizenCaller,
    Path((org, iupd)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("Payment not found", "You owe no such payment.");
    let org = OrganizationFiscalCode::parse(&org).map_err(|_| not_found())?;
    let iupd = ::payments::values::Iupd::parse(&iupd).map_err(|_| not_found())?;
    let p = state
        .payments
        .get_position(&org, &iupd)
        .await?
        .filter(|p| p.debtor.code.person() == Some(&caller.fiscal_code))
        .ok_or_else(not_found)?;
    // A position the citizen was unlinked from (account deleted) is no longer theirs to see.
    let linked = state
        .payments
        .positions_of_citizen(&caller.fiscal_code)
        .await?
        .iter()
        .any(|x| x.id == p.id);
    if !linked || p.status == ::payments::model::PositionStatus::Draft {
        return Err(not_found());
    }
    let logo = state.payments.organization_logo(&p.organization).await?;
    let n = ops::payments::notice_of(&p, logo, notice::Language::It)?;
    let pdf = notice::render(&n).map_err(|e| ApiError::Unprocessable {
        title: "Cannot print the notice",
        detail: e.to_string(),
    })?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
