//! The pagoPA node interface: `POST /api/pagopa/paForNode`, the SOAP 1.1 endpoint the node
//! calls as the enti's station (`paVerifyPaymentNotice`, `paGetPayment(V2)`, `paSendRT(V2)`;
//! `paDemandPaymentNotice` answers that it is not supported). The body is parsed and checked
//! by the `pagopa` crate, answered by `ops::node`, and every answer is a SOAP envelope: a KO
//! with its `PAA_*` fault for what the schema or the state refuses, a SOAP fault with 400 for
//! what is not a SOAP request at all.
//!
//! Who may call: the node key (`Ocp-Apim-Subscription-Key`) when configured, the CIDR
//! allow-list when configured (the socket peer, or the client behind trusted proxies), and
//! with neither only loopback callers. Production puts mutual TLS in front.

pub mod receipts;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::ClientIp;
use crate::route_table::{Method, Routes};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .route_with(
            Method::Post,
            "/api/pagopa/paForNode",
            pa_for_node,
            |route| route.layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/receipts",
            receipts::list,
        )
        .get(
            "/api/gpd/v1/organizations/{organizationfiscalcode}/receipts/{iuv}",
            receipts::of_iuv,
        )
        .get(
            "/api/citizen/v1/payments/receipts/{organizationfiscalcode}/{receiptid}",
            receipts::citizen_pdf,
        )
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn soap_fault(status: StatusCode, client: bool, message: &str) -> Response {
    xml(status, pagopa::soap::render_soap_fault(client, message))
}

/// Why a caller may not use the endpoint: the HTTP status and the SOAP fault's text.
type Refusal = (StatusCode, &'static str);

/// Whether the caller may use the endpoint at all, before its body is read. `ip` is the client
/// as far as trusted proxies say; `peer` the socket's. With neither key nor CIDRs only a
/// loopback socket peer that forwards nobody else's request is admitted (a reverse proxy on
/// the same host would otherwise make every caller loopback).
fn admitted(
    state: &AppState,
    ip: std::net::IpAddr,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let s = &state.settings;
    if let Some(expected) = &s.pagopa_node_key {
        let given = headers
            .get(crate::auth::KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // Digests of equal length, compared in constant time: neither the key nor its length
        // shows in the timing.
        let (given, expected) = (seal::key_hash(given), seal::key_hash(expected));
        if !crate::auth::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "missing or wrong Ocp-Apim-Subscription-Key",
            ));
        }
    }
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    let allowed = if !s.pagopa_node_cidrs.is_empty() {
        s.pagopa_node_cidrs.iter().any(|c| c.contains(ip))
    } else {
        s.pagopa_node_key.is_some() || (peer.to_canonical().is_loopback() && !forwarded)
    };
    if !allowed {
        return Err((
            StatusCode::FORBIDDEN,
            "this address may not call the station",
        ));
    }
    Ok(())
}

fn content_type_ok(headers: &HeaderMap) -> bool {
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(v) = v.to_str() else { return false };
    let mime = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(mime.as_str(), "text/xml" | "application/xml")
}

async fn pa_for_node(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err((status, why)) = admitted(&state, ip, peer.ip(), &headers) {
        return soap_fault(status, true, why);
    }
    if !content_type_ok(&headers) {
        return soap_fault(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            true,
            "the body must be text/xml or application/xml",
        );
    }
    let bytes = match axum::body::to_bytes(body, pagopa::soap::MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return soap_fault(
                StatusCode::PAYLOAD_TOO_LARGE,
                true,
                "the body is larger than 1 MiB",
            );
        }
    };
    let action = headers.get("soapaction").map(|v| v.to_str().unwrap_or("?"));
    let response = match pagopa::soap::parse_request(&bytes, action) {
        Ok(request) => {
            let cx = ops::node::NodeContext {
                pay: state.pay(),
                keyring: &state.keyring,
                stations: &state.stations,
                receipts: &state.receipts,
            };
            ops::node::handle(cx, request).await
        }
        Err(pagopa::RequestError::Malformed(m)) => {
            return soap_fault(StatusCode::BAD_REQUEST, true, &m);
        }
        Err(pagopa::RequestError::Rejected {
            operation, fault, ..
        }) => pagopa::Response::ko(operation, fault),
    };
    if let Some(f) = response.fault() {
        state
            .metrics
            .pagopa_fault(response.operation().name(), f.code.as_str());
    }
    xml(StatusCode::OK, pagopa::soap::render_response(&response))
}
