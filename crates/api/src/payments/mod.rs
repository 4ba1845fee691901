//! The payments domain over HTTP: GPD's debt-position API under `/api/gpd/…` with GPD's own
//! paths after the prefix (v1, v3, the v2 bulk create, the internal pay/report/notice
//! operations and the payment-options verification), so software written for GPD changes
//! only its base URL; plus Sportello's additions (reissue, history with the pre-notices, the
//! notice PDF, massive notice archives). Authenticated by the organization's payments key.

pub mod archives;
pub mod auth;
pub mod citizen;
pub mod gpd;

use crate::route_table::Routes;

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
        .get("/api/gpd/info", gpd::info)
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
