//! A stand-in for the pagoPA node's reporting-flow interfaces, started by a test on
//! 127.0.0.1:0: nodeForPa SOAP at `POST /nodo` (`nodoChiediElencoFlussiRendicontazione`,
//! `nodoChiediFlussoRendicontazione`, with the node's fault codes) and the FdR 3 organization API
//! at `/fdr/organizations/{org}/fdrs…` (paged, FdR's error body). It holds flows per ente (every
//! revision; SOAP shows the latest of each flow id), counts the calls by kind, remembers every
//! domain it was asked about, and can fail the next calls with 503 or answer them slowly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use pagopa::fdr_read::ReportedFlow;
use pagopa::nodo::{self, FlowRef, NodeFault, NodoRequest};
use serde_json::{Value, json};

/// What a call asked for, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Call {
    SoapList,
    SoapFlow,
    RestList,
    RestHeader,
    RestPayments,
}

/// One revision of a flow, published to an ente.
#[derive(Debug, Clone)]
struct Held {
    organization: String,
    flow: ReportedFlow,
    published: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Data {
    broker_id: String,
    station_id: String,
    password: String,
    /// The enti the station serves (SOAP refuses other domains).
    domains: BTreeSet<String>,
    /// The subscription key REST requires, if any.
    api_key: Option<String>,
    flows: Vec<Held>,
    /// Flow ids SOAP lists for an ente but cannot give (gone between the list and the call).
    phantoms: Vec<(String, String)>,
    calls: BTreeMap<Call, usize>,
    /// Every `identificativoDominio` and `organizationId` received.
    asked_domains: BTreeSet<String>,
    /// Subscription keys received, per call (None: no header).
    keys_seen: Vec<Option<String>>,
    /// The next calls that answer 503.
    fail_next: usize,
    /// The next calls that wait before answering, and how long.
    slow_next: usize,
    slow_by: Duration,
    /// The largest REST page served, whatever `size` asks.
    max_page_size: usize,
}

/// The running double. Dropping it stops the server.
pub struct NodeDouble {
    pub addr: SocketAddr,
    data: Arc<Mutex<Data>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NodeDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Data>>;

impl NodeDouble {
    /// A node knowing one station (broker, station, password) serving `domains`.
    pub async fn start(
        broker_id: &str,
        station_id: &str,
        password: &str,
        domains: &[&str],
    ) -> Self {
        let data = Arc::new(Mutex::new(Data {
            broker_id: broker_id.to_owned(),
            station_id: station_id.to_owned(),
            password: password.to_owned(),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            max_page_size: 1_000,
            ..Default::default()
        }));
        let app = Router::new()
            .route("/nodo", post(soap))
            .route("/fdr/organizations/{org}/fdrs", get(rest_list))
            .route(
                "/fdr/organizations/{org}/fdrs/{fdr}/revisions/{revision}/psps/{psp}",
                get(rest_header),
            )
            .route(
                "/fdr/organizations/{org}/fdrs/{fdr}/revisions/{revision}/psps/{psp}/payments",
                get(rest_payments),
            )
            .with_state(data.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, data, task }
    }

    /// The nodeForPa endpoint (`SPORTELLO_PAGOPA_NODE_URL`).
    pub fn soap_url(&self) -> String {
        format!("http://{}/nodo", self.addr)
    }

    /// The FdR 3 base URL (`SPORTELLO_PAGOPA_FDR_URL`).
    pub fn rest_url(&self) -> String {
        format!("http://{}/fdr", self.addr)
    }

    /// Publishes a flow (a revision of it) to `organization`.
    pub fn publish(&self, organization: &str, flow: ReportedFlow) {
        let mut d = self.data.lock().unwrap();
        d.flows.push(Held {
            organization: organization.to_owned(),
            flow,
            published: Utc::now(),
        });
    }

    /// SOAP lists `flow_id` for `organization` but answers `PPT_ID_FLUSSO_SCONOSCIUTO` for it.
    pub fn list_phantom(&self, organization: &str, flow_id: &str) {
        let mut d = self.data.lock().unwrap();
        d.phantoms
            .push((organization.to_owned(), flow_id.to_owned()));
    }

    /// Calls of one kind received so far (failed and slow ones included).
    pub fn calls(&self, call: Call) -> usize {
        self.data
            .lock()
            .unwrap()
            .calls
            .get(&call)
            .copied()
            .unwrap_or(0)
    }

    /// Every call received so far.
    pub fn total_calls(&self) -> usize {
        self.data.lock().unwrap().calls.values().sum()
    }

    /// Every domain (SOAP `identificativoDominio`, REST `organizationId`) asked about.
    pub fn asked_domains(&self) -> BTreeSet<String> {
        self.data.lock().unwrap().asked_domains.clone()
    }

    /// The subscription keys received, one per call.
    pub fn keys_seen(&self) -> Vec<Option<String>> {
        self.data.lock().unwrap().keys_seen.clone()
    }

    /// REST answers 401 without this `Ocp-Apim-Subscription-Key`.
    pub fn require_api_key(&self, key: &str) {
        self.data.lock().unwrap().api_key = Some(key.to_owned());
    }

    /// The next `n` calls answer HTTP 503.
    pub fn fail_next(&self, n: usize) {
        self.data.lock().unwrap().fail_next = n;
    }

    /// The next `n` calls wait `by` before answering.
    pub fn slow_next(&self, n: usize, by: Duration) {
        let mut d = self.data.lock().unwrap();
        d.slow_next = n;
        d.slow_by = by;
    }

    /// REST pages hold at most `n` items, whatever the client asks.
    pub fn max_page_size(&self, n: usize) {
        self.data.lock().unwrap().max_page_size = n.max(1);
    }

    /// Changes the station's password (the node's operator rotated it).
    pub fn set_password(&self, password: &str) {
        self.data.lock().unwrap().password = password.to_owned();
    }
}

/// Counts the call and says whether to fail it (503) and how long to wait first.
fn arrive(data: &Shared, call: Call, headers: &HeaderMap) -> (bool, Option<Duration>) {
    let mut d = data.lock().unwrap();
    *d.calls.entry(call).or_default() += 1;
    let key = headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    d.keys_seen.push(key);
    let slow = (d.slow_next > 0).then(|| {
        d.slow_next -= 1;
        d.slow_by
    });
    let fail = d.fail_next > 0;
    if fail {
        d.fail_next -= 1;
    }
    (fail, slow)
}

async fn gate(data: &Shared, call: Call, headers: &HeaderMap) -> Option<Response> {
    let (fail, slow) = arrive(data, call, headers);
    if let Some(by) = slow {
        tokio::time::sleep(by).await;
    }
    fail.then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain")],
            "Service Unavailable",
        )
            .into_response()
    })
}

// ------------------------------------------------------------------------------------------------
// nodeForPa SOAP
// ------------------------------------------------------------------------------------------------

fn fault(code: &str, string: &str) -> NodeFault {
    NodeFault {
        code: code.to_owned(),
        string: string.to_owned(),
        description: None,
        id: "NodoDeiPagamentiSPC".to_owned(),
    }
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn soap(State(data): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let action = headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_matches('"')
        .to_owned();
    let parsed = nodo::parse_request(&body);
    let call = match (&parsed, action.as_str()) {
        (Ok(NodoRequest::Flow(_)), _) | (Err(_), nodo::SOAP_ACTION_FLOW) => Call::SoapFlow,
        _ => Call::SoapList,
    };
    if let Some(r) = gate(&data, call, &headers).await {
        return r;
    }
    let request = match parsed {
        Ok(r) => r,
        Err(_) => {
            return xml(nodo::render_fault_response(
                call == Call::SoapList,
                &fault("PPT_SINTASSI_EXTRAXSD", "Errore di sintassi extra XSD."),
            ));
        }
    };
    let (broker, station, password, domain, psp) = match &request {
        NodoRequest::List(r) => (&r.broker_id, &r.station_id, &r.password, &r.domain, &r.psp),
        NodoRequest::Flow(r) => (&r.broker_id, &r.station_id, &r.password, &r.domain, &r.psp),
    };
    let is_list = matches!(request, NodoRequest::List(_));
    let mut d = data.lock().unwrap();
    if let Some(dom) = domain {
        d.asked_domains.insert(dom.clone());
    }
    let refuse =
        |code: &str, string: &str| xml(nodo::render_fault_response(is_list, &fault(code, string)));
    if *broker != d.broker_id {
        return refuse(
            "PPT_INTERMEDIARIO_PA_SCONOSCIUTO",
            "Identificativo intermediario PA sconosciuto.",
        );
    }
    if *station != d.station_id {
        return refuse(
            "PPT_STAZIONE_INT_PA_SCONOSCIUTA",
            "Identificativo stazione intermediario PA sconosciuto.",
        );
    }
    if *password != d.password {
        return refuse("PPT_AUTENTICAZIONE", "Errore di autenticazione.");
    }
    if let Some(dom) = domain
        && !d.domains.contains(dom)
    {
        return refuse(
            "PPT_AUTORIZZAZIONE",
            "La stazione non è autorizzata per il dominio.",
        );
    }
    let visible = |h: &&Held| {
        d.domains.contains(&h.organization)
            && domain.as_ref().is_none_or(|dom| *dom == h.organization)
            && psp.as_ref().is_none_or(|p| *p == h.flow.psp_id)
    };
    match &request {
        NodoRequest::List(_) => {
            // One document per flow id: its latest revision.
            let mut latest: BTreeMap<&str, &Held> = BTreeMap::new();
            for h in d.flows.iter().filter(visible) {
                let e = latest.entry(h.flow.flow.flow_id.as_str()).or_insert(h);
                if h.flow.revision >= e.flow.revision {
                    *e = h;
                }
            }
            let mut refs: Vec<FlowRef> = latest
                .values()
                .map(|h| FlowRef {
                    flow_id: h.flow.flow.flow_id.clone(),
                    flow_date_time: h.flow.flow.flow_date_time,
                })
                .collect();
            for (org, id) in &d.phantoms {
                if domain.as_ref().is_none_or(|dom| dom == org) {
                    refs.push(FlowRef {
                        flow_id: id.clone(),
                        flow_date_time: Utc::now().naive_utc(),
                    });
                }
            }
            xml(nodo::render_list_response(&refs))
        }
        NodoRequest::Flow(r) => {
            let found = d
                .flows
                .iter()
                .filter(visible)
                .filter(|h| h.flow.flow.flow_id == r.flow_id)
                .max_by_key(|h| h.flow.revision);
            match found {
                Some(h) => {
                    let document = pagopa::fdr::render(&h.flow.flow);
                    xml(nodo::render_flow_response(document.as_bytes()))
                }
                None => refuse(
                    "PPT_ID_FLUSSO_SCONOSCIUTO",
                    "Identificativo flusso sconosciuto.",
                ),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// FdR 3 REST
// ------------------------------------------------------------------------------------------------

/// FdR's `ErrorResponse`.
fn rest_error(status: StatusCode, app_error_code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "errorId": ulid::Ulid::new().to_string(),
            "httpStatusCode": status.as_u16(),
            "httpStatusDescription": status.canonical_reason().unwrap_or(""),
            "appErrorCode": app_error_code,
            "errors": [{"message": message}],
        })),
    )
        .into_response()
}

fn unauthorized(d: &Data, headers: &HeaderMap) -> Option<Response> {
    let expected = d.api_key.as_deref()?;
    let given = headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok());
    (given != Some(expected)).then(|| {
        rest_error(
            StatusCode::UNAUTHORIZED,
            "FDR-0401",
            "Access denied due to invalid subscription key.",
        )
    })
}

/// The page `page` (from 1) of `items` at `size` a page, with FdR's metadata.
fn paged(items: Vec<Value>, q: &BTreeMap<String, String>, max: usize) -> Value {
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let size: usize = q
        .get("size")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1_000)
        .clamp(1, max);
    let total_pages = items.len().div_ceil(size).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    json!({
        "metadata": {"pageSize": size, "pageNumber": page, "totPage": total_pages},
        "count": data.len(),
        "data": data,
    })
}

async fn rest_list(
    State(data): State<Shared>,
    Path(org): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = gate(&data, Call::RestList, &headers).await {
        return r;
    }
    let mut d = data.lock().unwrap();
    if let Some(r) = unauthorized(&d, &headers) {
        return r;
    }
    d.asked_domains.insert(org.clone());
    let mut held: Vec<&Held> = d.flows.iter().filter(|h| h.organization == org).collect();
    held.sort_by_key(|h| h.published);
    let items: Vec<Value> = held
        .iter()
        .map(|h| {
            json!({
                "fdr": h.flow.flow.flow_id,
                "pspId": h.flow.psp_id,
                "revision": h.flow.revision,
                "published": h.published.to_rfc3339(),
                "flowDate": h.flow.flow.flow_date_time.and_utc().to_rfc3339(),
            })
        })
        .collect();
    axum::Json(paged(items, &q, d.max_page_size)).into_response()
}

type FlowPath = Path<(String, String, u32, String)>;

fn find<'a>(
    d: &'a Data,
    (org, fdr, revision, psp): &(String, String, u32, String),
) -> Option<&'a Held> {
    d.flows.iter().find(|h| {
        h.organization == *org
            && h.flow.flow.flow_id == *fdr
            && h.flow.revision == *revision
            && h.flow.psp_id == *psp
    })
}

/// The flow as FdR 3 JSON (header and `payments`).
fn rendered(h: &Held) -> serde_json::Map<String, Value> {
    let text = pagopa::fdr_read::render_rest(&h.flow);
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        _ => unreachable!("render_rest writes an object"),
    }
}

async fn rest_header(
    State(data): State<Shared>,
    Path(p): FlowPath,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = gate(&data, Call::RestHeader, &headers).await {
        return r;
    }
    let mut d = data.lock().unwrap();
    if let Some(r) = unauthorized(&d, &headers) {
        return r;
    }
    d.asked_domains.insert(p.0.clone());
    let Some(h) = find(&d, &p) else {
        return rest_error(
            StatusCode::NOT_FOUND,
            "FDR-0701",
            &format!("Reporting flow [{}] not found", p.1),
        );
    };
    let mut m = rendered(h);
    m.remove("payments");
    let at = h.published.to_rfc3339();
    m.insert("created".into(), json!(at));
    m.insert("updated".into(), json!(at));
    m.insert("published".into(), json!(at));
    axum::Json(Value::Object(m)).into_response()
}

async fn rest_payments(
    State(data): State<Shared>,
    Path(p): FlowPath,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = gate(&data, Call::RestPayments, &headers).await {
        return r;
    }
    let mut d = data.lock().unwrap();
    if let Some(r) = unauthorized(&d, &headers) {
        return r;
    }
    d.asked_domains.insert(p.0.clone());
    let Some(h) = find(&d, &p) else {
        return rest_error(
            StatusCode::NOT_FOUND,
            "FDR-0701",
            &format!("Reporting flow [{}] not found", p.1),
        );
    };
    let payments = match rendered(h).remove("payments") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    axum::Json(paged(payments, &q, d.max_page_size)).into_response()
}
