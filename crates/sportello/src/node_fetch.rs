//! Fetching reporting flows from the pagoPA node, for every ente with a station:
//! - nodeForPa SOAP (`SPORTELLO_PAGOPA_NODE_URL`): `nodoChiediElencoFlussiRendicontazione` for the
//!   ente's domain, then `nodoChiediFlussoRendicontazione` for each flow id it does not hold;
//! - FdR 3 REST (`SPORTELLO_PAGOPA_FDR_URL`): the pages of `/organizations/{ente}/fdrs`, then for
//!   each `(fdr, pspId, revision)` it does not hold (only the latest revision listed of a flow)
//!   the header and every page of payments, assembled into the single-flow JSON that
//!   [`pagopa::fdr_read::parse_rest`] reads.
//!
//! What is fetched is ingested like an upload ([`ops::recon::ingest_flow`], source `node`), so
//! fetching again is harmless. Every call has a timeout, is tried at most a few times with
//! back-off on transient failures (timeouts, network errors, 408/429/5xx), and reads a bounded
//! body. A failure is recorded in [`FetchReport::failed`] with the ente, the call and the
//! node's fault code or HTTP status (never a body, a password or personal data), and never
//! stops the other flows or enti.
//!
//! https (rustls with the webpki roots, as `notify::http`) and plain http (the local test
//! double) are both called; the scheme is the operator's configured URL.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kernel::values::OrganizationFiscalCode;
use ops::recon::{ReconContext, Source};
use pagopa::nodo::{self, NodoError};
use payments::ports::Station;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::NodeFetchConfig;

/// What one fetch did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FetchReport {
    /// Enti with a station assignment.
    pub organizations: usize,
    /// Flows (SOAP) and revisions (REST) the node listed.
    pub listed: usize,
    /// Flows fetched and ingested as new documents.
    pub fetched: usize,
    /// Listed flows already held (not fetched), or fetched and found identical to one held.
    pub known: usize,
    /// REST revisions not fetched because a later revision of the same flow was listed.
    pub older_revisions: usize,
    /// Calls sent again after a transient failure.
    pub retried: usize,
    /// What failed: ente, call, and the fault code or HTTP status.
    pub failed: Vec<String>,
}

/// How calls are made; [`Tuning::default`] is what `serve` uses.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// For one call, from connecting to the end of the body.
    pub timeout: Duration,
    /// Tries of one call, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubled for each further one.
    pub backoff: Duration,
    /// `size` of a REST list page.
    pub list_page_size: u32,
    /// `size` of a REST payments page.
    pub payments_page_size: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(500),
            list_page_size: 100,
            payments_page_size: 1_000,
        }
    }
}

/// Most REST pages read for one list (a guard against a node that never stops paging).
const MAX_PAGES: u32 = 10_000;
/// Largest REST page read, in bytes.
const MAX_PAGE_BYTES: usize = pagopa::fdr_read::MAX_JSON_BYTES;
/// The `User-Agent` of every call.
const USER_AGENT_VALUE: &str = concat!("Sportello/", env!("CARGO_PKG_VERSION"));
/// Longest ingestion message kept in a failure.
const MAX_REASON_CHARS: usize = 300;

/// Lists and fetches the flows of every ente with a station.
pub async fn fetch_flows(cfg: &NodeFetchConfig, state: &api::AppState) -> FetchReport {
    fetch_flows_with(cfg, state, &Tuning::default()).await
}

/// [`fetch_flows`] with the given timeouts, retries and page sizes.
pub async fn fetch_flows_with(
    cfg: &NodeFetchConfig,
    state: &api::AppState,
    tuning: &Tuning,
) -> FetchReport {
    let mut report = FetchReport::default();
    let stations = match state.payments.stations().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error.cause = %e, "node fetch: cannot list the station assignments");
            report
                .failed
                .push("cannot list the station assignments".to_owned());
            return report;
        }
    };
    let mut seen = BTreeSet::new();
    let stations: Vec<(OrganizationFiscalCode, Station)> = stations
        .into_iter()
        .filter(|(org, _)| seen.insert(org.as_str().to_owned()))
        .collect();
    report.organizations = stations.len();
    if stations.is_empty() {
        return report;
    }

    let soap = cfg
        .soap_url
        .as_deref()
        .and_then(|u| match endpoint(u) {
            Ok(url) => Some(url),
            Err(why) => {
                report.failed.push(format!("soap: {why}"));
                None
            }
        })
        .and_then(|url| match &cfg.password {
            Some(p) => Some((url, p.0.clone())),
            None => {
                report.failed.push(
                    "soap: no station password configured (SPORTELLO_PAGOPA_STATION_PASSWORD)"
                        .to_owned(),
                );
                None
            }
        });
    let rest = cfg.rest_url.as_deref().and_then(|u| match endpoint(u) {
        Ok(url) => Some(url),
        Err(why) => {
            report.failed.push(format!("rest: {why}"));
            None
        }
    });

    let http = Http::new(tuning.clone(), cfg.api_key.as_ref().map(|k| k.0.as_str()));
    let mut f = Fetcher {
        http,
        cx: ReconContext {
            store: state.payments.as_ref(),
            clock: state.clock.as_ref(),
        },
        report,
    };
    for (org, station) in &stations {
        if let Some((url, password)) = &soap {
            f.soap_organization(url, password, org, station).await;
        }
        if let Some(url) = &rest {
            f.rest_organization(url, org).await;
        }
    }
    let report = f.report;
    if report.fetched > 0 {
        state.recon_wake.notify_one();
    }
    report
}

/// A configured base URL, checked to be one this build can call.
fn endpoint(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|_| "the URL does not parse".to_owned())?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("the URL is not an absolute http(s) URL".to_owned()),
    }
}

struct Fetcher<'a> {
    http: Http,
    cx: ReconContext<'a>,
    report: FetchReport,
}

impl Fetcher<'_> {
    fn fail(&mut self, org: &OrganizationFiscalCode, what: String) {
        tracing::warn!(organization = %org, failure = %what, "node fetch: failed");
        self.report.failed.push(format!("{org} {what}"));
    }

    /// Whether the ente holds the flow; a storage failure is recorded and counts as held (so
    /// nothing is fetched that cannot be checked).
    async fn holds(
        &mut self,
        org: &OrganizationFiscalCode,
        flow_id: &str,
        psp: Option<&str>,
        revision: Option<u32>,
    ) -> bool {
        match self.cx.store.has_flow(org, flow_id, psp, revision).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(organization = %org, error.cause = %e, "node fetch: cannot check a flow");
                self.report.failed.push(format!(
                    "{org} flow {flow_id}: cannot check whether it is held"
                ));
                true
            }
        }
    }

    /// Ingests a fetched document; `expected` is the (flow id, PSP, revision) asked for.
    async fn ingest(
        &mut self,
        org: &OrganizationFiscalCode,
        bytes: &[u8],
        expected: (&str, Option<&str>, Option<u32>),
    ) {
        let (flow_id, psp, revision) = expected;
        match ops::recon::ingest_flow(self.cx, org, bytes, Source::Node).await {
            Ok(done) => {
                if done.created {
                    self.report.fetched += 1;
                    tracing::info!(
                        organization = %org,
                        flow.id = %done.flow_id,
                        flow.psp = %done.psp_id,
                        flow.revision = done.revision,
                        flow.lines = done.lines,
                        "node fetch: flow ingested"
                    );
                } else {
                    self.report.known += 1;
                }
                let mismatch = done.flow_id != flow_id
                    || psp.is_some_and(|p| p != done.psp_id)
                    || revision.is_some_and(|r| r != done.revision);
                if mismatch {
                    // Held under other keys, it would be fetched again at every round.
                    self.fail(
                        org,
                        format!(
                            "flow {flow_id}: the document is flow {} of PSP {} revision {}",
                            done.flow_id, done.psp_id, done.revision
                        ),
                    );
                }
            }
            Err(e) => {
                let why = match &e {
                    ops::Error::Unprocessable(m) => {
                        format!(
                            "refused: {}",
                            m.chars().take(MAX_REASON_CHARS).collect::<String>()
                        )
                    }
                    ops::Error::PayloadTooLarge => {
                        format!("refused: larger than {} bytes", ops::recon::MAX_DOCUMENT)
                    }
                    ops::Error::NotFound { .. } => "payments are not enabled".to_owned(),
                    other => {
                        tracing::warn!(organization = %org, error.cause = %other, "node fetch: ingestion failed");
                        "ingestion failed (see the log)".to_owned()
                    }
                };
                self.fail(org, format!("flow {flow_id}: {why}"));
            }
        }
    }

    // --------------------------------------------------------------------------------------------
    // nodeForPa SOAP
    // --------------------------------------------------------------------------------------------

    async fn soap_organization(
        &mut self,
        url: &url::Url,
        password: &str,
        org: &OrganizationFiscalCode,
        station: &Station,
    ) {
        let list = nodo::ListRequest {
            broker_id: station.broker_id.clone(),
            station_id: station.station_id.clone(),
            password: password.to_owned(),
            domain: Some(org.as_str().to_owned()),
            psp: None,
        };
        let body = nodo::render_list_request(&list);
        let flows = match self.soap_call(url, nodo::SOAP_ACTION_LIST, body).await {
            Ok(bytes) => nodo::parse_list_response(&bytes),
            Err(why) => return self.fail(org, format!("soap list: {why}")),
        };
        let flows = match flows {
            Ok(f) => f,
            Err(e) => return self.fail(org, format!("soap list: {}", nodo_failure(&e))),
        };
        let mut ids = BTreeSet::new();
        for flow in flows {
            if !ids.insert(flow.flow_id.clone()) {
                continue;
            }
            self.report.listed += 1;
            if self.holds(org, &flow.flow_id, None, None).await {
                self.report.known += 1;
                continue;
            }
            let request = nodo::FlowRequest {
                broker_id: station.broker_id.clone(),
                station_id: station.station_id.clone(),
                password: password.to_owned(),
                domain: Some(org.as_str().to_owned()),
                psp: None,
                flow_id: flow.flow_id.clone(),
            };
            let body = nodo::render_flow_request(&request);
            let document = match self.soap_call(url, nodo::SOAP_ACTION_FLOW, body).await {
                Ok(bytes) => nodo::parse_flow_response(&bytes),
                Err(why) => {
                    self.fail(org, format!("soap flow {}: {why}", flow.flow_id));
                    continue;
                }
            };
            match document {
                Ok(xml) => self.ingest(org, &xml, (&flow.flow_id, None, None)).await,
                Err(e) => self.fail(
                    org,
                    format!("soap flow {}: {}", flow.flow_id, nodo_failure(&e)),
                ),
            }
        }
    }

    /// POSTs an envelope; the body of a 200 answer, or of a 500 carrying a SOAP fault.
    async fn soap_call(
        &mut self,
        url: &url::Url,
        action: &'static str,
        body: String,
    ) -> Result<Bytes, String> {
        let uri = to_uri(url)?;
        let body = Bytes::from(body);
        let soap_action = format!("\"{action}\"");
        let call = Call {
            method: Method::POST,
            uri,
            headers: vec![
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/xml; charset=utf-8"),
                ),
                (
                    hyper::header::HeaderName::from_static("soapaction"),
                    HeaderValue::from_str(&soap_action).map_err(|_| "invalid SOAPAction")?,
                ),
            ],
            body,
            limit: nodo::MAX_RESPONSE_BYTES,
        };
        // A SOAP fault comes with 500 from a gateway: an answer, not a transient failure.
        let answer = self
            .http
            .send(&call, &mut self.report.retried, |a| {
                transient(a.status)
                    && !(a.status == StatusCode::INTERNAL_SERVER_ERROR && is_soap_fault(&a.body))
            })
            .await?;
        if answer.status == StatusCode::OK
            || (answer.status == StatusCode::INTERNAL_SERVER_ERROR && is_soap_fault(&answer.body))
        {
            Ok(answer.body)
        } else {
            Err(format!("HTTP {}", answer.status.as_u16()))
        }
    }

    // --------------------------------------------------------------------------------------------
    // FdR 3 REST
    // --------------------------------------------------------------------------------------------

    async fn rest_organization(&mut self, base: &url::Url, org: &OrganizationFiscalCode) {
        let mut listed: Vec<ListedFlow> = Vec::new();
        let mut page: u32 = 1;
        loop {
            let mut url = base.clone();
            push_segments(&mut url, &["organizations", org.as_str(), "fdrs"]);
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("size", &self.http.tuning.list_page_size.to_string());
            let bytes = match self.rest_get(&url, MAX_PAGE_BYTES).await {
                Ok(b) => b,
                Err(why) => {
                    self.fail(org, format!("rest list page {page}: {why}"));
                    break;
                }
            };
            let parsed: ListPage = match serde_json::from_slice(&bytes) {
                Ok(p) => p,
                Err(_) => {
                    self.fail(
                        org,
                        format!("rest list page {page}: the answer is not a page of flows"),
                    );
                    break;
                }
            };
            let empty = parsed.data.is_empty();
            listed.extend(parsed.data);
            let last = parsed
                .metadata
                .and_then(|m| m.tot_page)
                .is_none_or(|total| u64::from(page) >= total);
            if empty || last {
                break;
            }
            if page >= MAX_PAGES {
                self.fail(org, format!("rest list: more than {MAX_PAGES} pages"));
                break;
            }
            page += 1;
        }

        // The latest revision listed of each flow (a PSP may republish a flow id).
        let mut latest: BTreeMap<(String, String), u32> = BTreeMap::new();
        let mut revisions = BTreeSet::new();
        for f in &listed {
            if revisions.insert((f.fdr.clone(), f.psp_id.clone(), f.revision)) {
                self.report.listed += 1;
            }
            let r = latest
                .entry((f.fdr.clone(), f.psp_id.clone()))
                .or_insert(f.revision);
            *r = (*r).max(f.revision);
        }
        self.report.older_revisions += revisions.len() - latest.len();
        for ((fdr, psp), revision) in latest {
            if self.holds(org, &fdr, Some(&psp), Some(revision)).await {
                self.report.known += 1;
                continue;
            }
            match self.rest_flow(base, org, &fdr, &psp, revision).await {
                Ok(document) => {
                    self.ingest(org, &document, (&fdr, Some(&psp), Some(revision)))
                        .await
                }
                Err(why) => self.fail(
                    org,
                    format!("rest flow {fdr} of PSP {psp} revision {revision}: {why}"),
                ),
            }
        }
    }

    /// The header and every page of payments of one revision, as one single-flow document.
    async fn rest_flow(
        &mut self,
        base: &url::Url,
        org: &OrganizationFiscalCode,
        fdr: &str,
        psp: &str,
        revision: u32,
    ) -> Result<Vec<u8>, String> {
        let revision_text = revision.to_string();
        let mut url = base.clone();
        let segments = [
            "organizations",
            org.as_str(),
            "fdrs",
            fdr,
            "revisions",
            &revision_text,
            "psps",
            psp,
        ];
        push_segments(&mut url, &segments);
        let header_bytes = self
            .rest_get(&url, MAX_PAGE_BYTES)
            .await
            .map_err(|why| format!("header: {why}"))?;
        let header: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(&header_bytes)
            .map_err(|_| "header: the answer is not a JSON object".to_owned())?;

        let mut payments: Vec<Box<RawValue>> = Vec::new();
        let mut size = 0usize;
        let mut page: u32 = 1;
        loop {
            let mut url = base.clone();
            push_segments(&mut url, &segments);
            push_segments(&mut url, &["payments"]);
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("size", &self.http.tuning.payments_page_size.to_string());
            let bytes = self
                .rest_get(&url, MAX_PAGE_BYTES)
                .await
                .map_err(|why| format!("payments page {page}: {why}"))?;
            let parsed: PaymentsPage = serde_json::from_slice(&bytes)
                .map_err(|_| format!("payments page {page}: not a page of payments"))?;
            let empty = parsed.data.is_empty();
            for p in parsed.data {
                size += p.get().len() + 1;
                if size > ops::recon::MAX_DOCUMENT {
                    return Err(format!(
                        "the flow is larger than {} bytes",
                        ops::recon::MAX_DOCUMENT
                    ));
                }
                payments.push(p);
            }
            let last = parsed
                .metadata
                .and_then(|m| m.tot_page)
                .is_none_or(|total| u64::from(page) >= total);
            if empty || last {
                break;
            }
            if page >= MAX_PAGES {
                return Err(format!("more than {MAX_PAGES} pages of payments"));
            }
            page += 1;
        }

        let mut out = String::with_capacity(header_bytes.len() + size + 32);
        out.push('{');
        let mut first = true;
        for (key, value) in &header {
            if key == "payments" {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&serde_json::to_string(key).map_err(|_| "header: a bad key")?);
            out.push(':');
            out.push_str(value.get());
        }
        if !first {
            out.push(',');
        }
        out.push_str("\"payments\":[");
        for (i, p) in payments.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(p.get());
        }
        out.push_str("]}");
        if out.len() > ops::recon::MAX_DOCUMENT {
            return Err(format!(
                "the flow is larger than {} bytes",
                ops::recon::MAX_DOCUMENT
            ));
        }
        Ok(out.into_bytes())
    }

    /// GETs JSON; the body of a 200 answer.
    async fn rest_get(&mut self, url: &url::Url, limit: usize) -> Result<Bytes, String> {
        let call = Call {
            method: Method::GET,
            uri: to_uri(url)?,
            headers: vec![(ACCEPT, HeaderValue::from_static("application/json"))],
            body: Bytes::new(),
            limit,
        };
        let answer = self
            .http
            .send(&call, &mut self.report.retried, |a| transient(a.status))
            .await?;
        if answer.status == StatusCode::OK {
            Ok(answer.body)
        } else {
            Err(rest_failure(&answer))
        }
    }
}

/// `HTTP <status>` and, when the body is FdR's error envelope, its `appErrorCode`.
fn rest_failure(answer: &Answer) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "appErrorCode")]
        app_error_code: Option<String>,
    }
    let code = serde_json::from_slice::<ErrorBody>(&answer.body)
        .ok()
        .and_then(|e| e.app_error_code)
        .filter(|c| {
            c.len() <= 40
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    match code {
        Some(c) => format!("HTTP {} ({c})", answer.status.as_u16()),
        None => format!("HTTP {}", answer.status.as_u16()),
    }
}

/// A node's answer that gave no result, without the fault's texts (they may quote input).
fn nodo_failure(e: &NodoError) -> String {
    match e {
        NodoError::Fault(f) => {
            let code: String = f
                .code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
                .take(60)
                .collect();
            format!("fault {code}")
        }
        NodoError::Malformed(r) => format!("malformed answer at {}", r.element),
    }
}

fn is_soap_fault(body: &[u8]) -> bool {
    matches!(nodo::parse_list_response(body), Err(NodoError::Fault(_)))
        || matches!(nodo::parse_flow_response(body), Err(NodoError::Fault(_)))
}

fn transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

fn push_segments(url: &mut url::Url, segments: &[&str]) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
}

fn to_uri(url: &url::Url) -> Result<Uri, String> {
    url.as_str()
        .parse::<Uri>()
        .map_err(|_| "the URL is not a valid request target".to_owned())
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "totPage")]
    tot_page: Option<u64>,
}

#[derive(Deserialize)]
struct ListPage {
    metadata: Option<Metadata>,
    #[serde(default)]
    data: Vec<ListedFlow>,
}

#[derive(Deserialize)]
struct ListedFlow {
    fdr: String,
    #[serde(rename = "pspId")]
    psp_id: String,
    revision: u32,
}

#[derive(Deserialize)]
struct PaymentsPage {
    metadata: Option<Metadata>,
    #[serde(default)]
    data: Vec<Box<RawValue>>,
}

// ------------------------------------------------------------------------------------------------
// HTTP
// ------------------------------------------------------------------------------------------------

/// One call to make, possibly more than once.
struct Call {
    method: Method,
    uri: Uri,
    headers: Vec<(hyper::header::HeaderName, HeaderValue)>,
    body: Bytes,
    limit: usize,
}

/// An HTTP answer, its body read whole.
struct Answer {
    status: StatusCode,
    body: Bytes,
}

/// Why a try got no answer.
enum NoAnswer {
    Timeout,
    Network,
    TooLarge,
    Request,
}

impl NoAnswer {
    fn retryable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Network)
    }

    fn describe(&self, tuning: &Tuning, limit: usize) -> String {
        match self {
            Self::Timeout => format!("no answer within {} ms", tuning.timeout.as_millis()),
            Self::Network => "connection failed".to_owned(),
            Self::TooLarge => format!("the answer is larger than {limit} bytes"),
            Self::Request => "cannot build the request".to_owned(),
        }
    }
}

struct Http {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    tuning: Tuning,
    api_key: Option<HeaderValue>,
}

impl Http {
    fn new(tuning: Tuning, api_key: Option<&str>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(tuning.timeout));
        connector.set_nodelay(true);
        // The HTTPS connector handles the scheme; the inner one accepts https URIs.
        connector.enforce_http(false);
        let tls = rustls::ClientConfig::builder_with_provider(
            rustls::crypto::ring::default_provider().into(),
        )
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports the default TLS versions"));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(
                hyper_rustls::ConfigBuilderExt::with_webpki_roots(tls).with_no_client_auth(),
            )
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        let api_key = api_key.and_then(|k| {
            let mut v = HeaderValue::from_str(k).ok()?;
            v.set_sensitive(true);
            Some(v)
        });
        Self {
            client,
            tuning,
            api_key,
        }
    }

    /// Makes the call, again after a back-off while it fails transiently (no answer, or an
    /// answer `again` says to retry), at most [`Tuning::attempts`] times.
    async fn send(
        &self,
        call: &Call,
        retried: &mut usize,
        again: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, String> {
        let attempts = self.tuning.attempts.max(1);
        let mut wait = self.tuning.backoff;
        let mut attempt = 1;
        loop {
            let outcome = tokio::time::timeout(self.tuning.timeout, self.once(call))
                .await
                .unwrap_or(Err(NoAnswer::Timeout));
            let retry = match &outcome {
                Ok(answer) => again(answer),
                Err(e) => e.retryable(),
            };
            if !retry || attempt >= attempts {
                return outcome.map_err(|e| e.describe(&self.tuning, call.limit));
            }
            tracing::debug!(
                http.method = %call.method,
                attempt,
                backoff_ms = wait.as_millis() as u64,
                "node fetch: trying again"
            );
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
            attempt += 1;
            *retried += 1;
        }
    }

    async fn once(&self, call: &Call) -> Result<Answer, NoAnswer> {
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(call.uri.clone())
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        for (name, value) in &call.headers {
            builder = builder.header(name, value);
        }
        if let Some(key) = &self.api_key {
            builder = builder.header("ocp-apim-subscription-key", key.clone());
        }
        let request = builder
            .body(Full::new(call.body.clone()))
            .map_err(|_| NoAnswer::Request)?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|_| NoAnswer::Network)?;
        let status = response.status();
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > call.limit as u64) {
            return Err(NoAnswer::TooLarge);
        }
        let body = Limited::new(response.into_body(), call.limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    NoAnswer::TooLarge
                } else {
                    NoAnswer::Network
                }
            })?
            .to_bytes();
        Ok(Answer { status, body })
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn only_http_and_https_urls_are_called() {
        assert!(endpoint("http://127.0.0.1:8080/nodo").is_ok());
        assert!(endpoint("https://api.platform.pagopa.it/nodo").is_ok());
        assert!(endpoint("ftp://example.org/").is_err());
        assert!(endpoint("not a url").is_err());
    }

    #[test]
    fn path_segments_are_escaped_and_appended_to_the_base() {
        let mut url = url::Url::parse("http://node.example/fdr-org/service/v1/").unwrap();
        push_segments(&mut url, &["organizations", "00441340122", "fdrs", "a/b c"]);
        assert_eq!(
            url.as_str(),
            "http://node.example/fdr-org/service/v1/organizations/00441340122/fdrs/a%2Fb%20c"
        );
    }

    #[test]
    fn a_rest_failure_names_the_status_and_the_error_code_only() {
        let answer = Answer {
            status: StatusCode::NOT_FOUND,
            body: Bytes::from_static(
                br#"{"httpStatusCode":404,"appErrorCode":"FDR-0701","errors":[{"message":"secret"}]}"#,
            ),
        };
        assert_eq!(rest_failure(&answer), "HTTP 404 (FDR-0701)");
        let answer = Answer {
            status: StatusCode::UNAUTHORIZED,
            body: Bytes::from_static(b"<html>denied</html>"),
        };
        assert_eq!(rest_failure(&answer), "HTTP 401");
    }
}
