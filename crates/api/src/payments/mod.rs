//! The payments domain over HTTP: GPD's debt-position API under `/api/gpd/…` with GPD's own
//! paths after the prefix (v1, v3, the v2 bulk create, the internal pay/report/notice
//! operations and the payment-options verification), so software written for GPD changes
//! only its base URL; plus Sportello's additions (reissue, history with the pre-notices, the
//! notice PDF, massive notice archives). Authenticated by the organization's payments key.
//! Described by the document at `/api/gpd/openapi.json` ([`openapi`]).

pub mod archives;
pub mod auth;
pub mod citizen;
pub mod gpd;
pub mod imports;
pub mod intake;
pub mod openapi;
pub mod recon;

use crate::route_table::{Method, Routes};
use axum::extract::DefaultBodyLimit;

/// Every route of the payments domain.
pub fn routes() -> Routes {
    Routes::new()
        .get("/api/citizen/v1/payments", citizen::list)
        .get(
            "/api/citizen/v1/payments/{organizationfiscalcode}/{iupd}/notice",
            citizen::notice_pdf,
        )
        .post(
            "/api/admin/v1/organizations/{fiscal_code}/payments",
            gpd::admin_enable,
        )
        .route_with(
            Method::Post,
            "/api/payments/v1/organizations/{organizationfiscalcode}/reporting-flows",
            recon::post_flow,
            |route| route.layer(DefaultBodyLimit::max(recon::MAX_UPLOAD)),
        )
        .get(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reporting-flows",
            recon::list_flows,
        )
        .route_with(
            Method::Post,
            "/api/payments/v1/organizations/{organizationfiscalcode}/treasury",
            recon::post_statement,
            |route| route.layer(DefaultBodyLimit::max(recon::MAX_UPLOAD)),
        )
        .get(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation",
            recon::list_items,
        )
        .get(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/export",
            recon::export,
        )
        .get(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/summary",
            recon::summary,
        )
        .post(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/run",
            recon::run,
        )
        .get(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/items/{key}",
            recon::get_item,
        )
        .post(
            "/api/payments/v1/organizations/{organizationfiscalcode}/reconciliation/items/{key}/annotation",
            recon::annotate,
        )
        .get("/api/gpd/info", gpd::info)
        .get("/api/gpd/openapi.json", openapi::serve)
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions",
            gpd::create_v1,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions",
            gpd::list_v1,
        )
        .patch(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/transfers",
            gpd::change_iban,
        )
        // Sportello's bulk import: the upload is streamed line by line, each line within the
        // limit of one position.
        .route_with(
            Method::Post,
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports",
            imports::create,
            |route| route.layer(DefaultBodyLimit::disable()),
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports/{importid}",
            imports::get,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/imports/{importid}/report",
            imports::report,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}",
            gpd::get_v1,
        )
        .put(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}",
            gpd::update_v1,
        )
        .delete(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}",
            gpd::delete,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/publish",
            gpd::publish_v1,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/invalidate",
            gpd::invalidate_v1,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/reissue",
            gpd::reissue_v1,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/history",
            gpd::history,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/debtpositions/{iupd}/notice",
            gpd::notice_pdf,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/notices/archives",
            archives::create,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/notices/archives/{id}",
            archives::get,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/notices/archives/{id}/zip",
            archives::zip,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/paymentoptions/paids/{notice}",
            gpd::mark_paid,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/paymentoptions/{notice}",
            gpd::get_option,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/paymentoptions/{notice}/pay",
            gpd::pay,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/paymentoptions/{notice}/debtposition",
            gpd::position_of_option,
        )
        .put(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/paymentoptions/{notice}/notificationfee",
            gpd::notification_fee,
        )
        .post(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/paymentoptions/{notice}/transfers/{transferid}/report",
            gpd::report,
        )
        .post(
            "/api/gpd/v1/payment-options/organizations/{organizationfiscalcode}/notices/{notice}",
            gpd::verify,
        )
        .post(
            "/api/gpd/v2/organizations/{organizationfiscalcode}/debtpositions/bulk",
            gpd::bulk_create,
        )
        .post(
            "/api/gpd/v3/organizations/{organizationfiscalcode}/debtpositions",
            gpd::create_v3,
        )
        .get(
            "/api/gpd/v3/organizations/{organizationfiscalcode}/debtpositions",
            gpd::list_v3,
        )
        .get(
            "/api/gpd/v3/organizations/{organizationfiscalcode}/debtpositions/{iupd}",
            gpd::get_v3,
        )
        .put(
            "/api/gpd/v3/organizations/{organizationfiscalcode}/debtpositions/{iupd}",
            gpd::update_v3,
        )
        .delete(
            "/api/gpd/v3/organizations/{organizationfiscalcode}/debtpositions/{iupd}",
            gpd::delete,
        )
        .post(
            "/api/gpd/v3/organizations/{organizationfiscalcode}/debtpositions/{iupd}/publish",
            gpd::publish_v3,
        )
}
