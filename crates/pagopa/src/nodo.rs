//! The two nodeForPa operations an ente uses to fetch its reporting flows from the node, SOAP 1.1
//! per `nodeForPa.wsdl` (document/literal, body elements in [`NS_NODE_FOR_PA`], their children
//! unqualified as the schema has no `elementFormDefault`):
//! - `nodoChiediElencoFlussiRendicontazione`: the list of flows ([`FlowRef`]);
//! - `nodoChiediFlussoRendicontazione`: one flow, `xmlRendicontazione` being the base64 of its
//!   `FlussoRiversamento` XML (read it with [`crate::fdr_read::parse_xml`]).
//!
//! Both sides are here: the ente's client ([`render_list_request`], [`render_flow_request`],
//! [`parse_list_response`], [`parse_flow_response`]) and the node's, for the test double
//! ([`parse_request`], [`render_list_response`], [`render_flow_response`],
//! [`render_fault_response`]). The node answers an error the WSDL way: a `…Risposta` carrying a
//! `fault` (`ctFaultBean`); a SOAP 1.1 `Fault` (what a gateway in front of the node may answer)
//! is reported as a [`NodeFault`] too, with `faultcode`/`faultstring` and an empty `id`.
//!
//! Readers are tolerant of prefixes, default namespaces and children qualified with
//! [`NS_NODE_FOR_PA`]; they check the sequence and the simple types of the schema. A
//! `dataOraFlusso` is read as Europe/Rome civil time (converted when it has a zone). Writers
//! escape what they are given and drop characters XML cannot carry; they do not cut or repair.

use std::fmt;

use base64::Engine as _;
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::read::ReadError;
use crate::types::NS_SOAP_ENV;
use crate::xml::{self, Checked, Element, Fail, Limits, Node, Seq, is_xml_char, is_xml_whitespace};

/// Target namespace of `nodeForPa.xsd`.
pub const NS_NODE_FOR_PA: &str = "http://ws.pagamenti.telematici.gov/";
/// `SOAPAction` of `nodoChiediElencoFlussiRendicontazione` (the bare value; HTTP quotes it).
pub const SOAP_ACTION_LIST: &str = "nodoChiediElencoFlussiRendicontazione";
/// `SOAPAction` of `nodoChiediFlussoRendicontazione` (the bare value; HTTP quotes it).
pub const SOAP_ACTION_FLOW: &str = "nodoChiediFlussoRendicontazione";

/// Largest request the node side reads, in bytes.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Largest response the ente side reads, in bytes (a 64 MiB flow in base64, and the envelope).
pub const MAX_RESPONSE_BYTES: usize = 96 << 20;

const LIST_REQUEST: &str = "nodoChiediElencoFlussiRendicontazione";
const LIST_RESPONSE: &str = "nodoChiediElencoFlussiRendicontazioneRisposta";
const FLOW_REQUEST: &str = "nodoChiediFlussoRendicontazione";
const FLOW_RESPONSE: &str = "nodoChiediFlussoRendicontazioneRisposta";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

const RESPONSE_LIMITS: Limits = Limits {
    depth: 24,
    elements: 2_000_000,
    text: MAX_RESPONSE_BYTES,
};

/// `nodoChiediElencoFlussiRendicontazione`.
#[derive(Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// `identificativoIntermediarioPA`.
    pub broker_id: String,
    /// `identificativoStazioneIntermediarioPA`.
    pub station_id: String,
    /// `password` (8 to 15 characters).
    pub password: String,
    /// `identificativoDominio`: the ente's fiscal code, to list only its flows.
    pub domain: Option<String>,
    /// `identificativoPSP`: to list only this PSP's flows.
    pub psp: Option<String>,
}

/// `nodoChiediFlussoRendicontazione`.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowRequest {
    pub broker_id: String,
    pub station_id: String,
    pub password: String,
    pub domain: Option<String>,
    pub psp: Option<String>,
    /// `identificativoFlusso`.
    pub flow_id: String,
}

impl fmt::Debug for ListRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListRequest")
            .field("broker_id", &self.broker_id)
            .field("station_id", &self.station_id)
            .field("password", &"[redacted]")
            .field("domain", &self.domain)
            .field("psp", &self.psp)
            .finish()
    }
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRequest")
            .field("broker_id", &self.broker_id)
            .field("station_id", &self.station_id)
            .field("password", &"[redacted]")
            .field("domain", &self.domain)
            .field("psp", &self.psp)
            .field("flow_id", &self.flow_id)
            .finish()
    }
}

/// An `idRendicontazione` of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowRef {
    /// `identificativoFlusso`.
    pub flow_id: String,
    /// `dataOraFlusso`, Europe/Rome civil time.
    pub flow_date_time: NaiveDateTime,
}

/// The node's `faultBean`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeFault {
    /// `faultCode`, e.g. `PPT_AUTENTICAZIONE`.
    pub code: String,
    /// `faultString`.
    pub string: String,
    /// `description`.
    pub description: Option<String>,
    /// `id`: who raised it (for the node, `NodoDeiPagamentiSPC`).
    pub id: String,
}

/// A request the node side has read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodoRequest {
    List(ListRequest),
    Flow(FlowRequest),
}

impl NodoRequest {
    /// The `SOAPAction` of the operation.
    pub fn soap_action(&self) -> &'static str {
        match self {
            Self::List(_) => SOAP_ACTION_LIST,
            Self::Flow(_) => SOAP_ACTION_FLOW,
        }
    }
}

/// Why the ente side got no result from a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodoError {
    /// The node answered with a fault.
    #[error("the node answered with fault {}: {}", .0.code, .0.string)]
    Fault(NodeFault),
    /// The response is not what the schema says.
    #[error("malformed response: {0}")]
    Malformed(#[from] ReadError),
}

// ------------------------------------------------------------------------------------------------
// The ente's side
// ------------------------------------------------------------------------------------------------

/// Writes the envelope of `nodoChiediElencoFlussiRendicontazione`.
pub fn render_list_request(r: &ListRequest) -> String {
    let mut w = Writer::default();
    write_caller(
        &mut w,
        &r.broker_id,
        &r.station_id,
        &r.password,
        r.domain.as_deref(),
        r.psp.as_deref(),
    );
    envelope(LIST_REQUEST, &w.out)
}

/// Writes the envelope of `nodoChiediFlussoRendicontazione`.
pub fn render_flow_request(r: &FlowRequest) -> String {
    let mut w = Writer::default();
    write_caller(
        &mut w,
        &r.broker_id,
        &r.station_id,
        &r.password,
        r.domain.as_deref(),
        r.psp.as_deref(),
    );
    w.leaf("identificativoFlusso", &r.flow_id);
    envelope(FLOW_REQUEST, &w.out)
}

/// Reads the answer to `nodoChiediElencoFlussiRendicontazione`: the flows listed (none when the
/// answer has no `elencoFlussiRendicontazione`), in document order. `totRestituiti` is checked
/// to be an `int` but not compared with the entries.
pub fn parse_list_response(bytes: &[u8]) -> Result<Vec<FlowRef>, NodoError> {
    let root = read_response_root(bytes)?;
    let payload = response_payload(&root, LIST_RESPONSE)?;
    let node = Node::root(payload, Some(NS_NODE_FOR_PA));
    let mut s = node.seq().map_err(malformed)?;
    if let Some(fault) = s.opt("fault").map_err(malformed)? {
        return Err(NodoError::Fault(read_fault(&fault).map_err(malformed)?));
    }
    let flows = match s.opt("elencoFlussiRendicontazione").map_err(malformed)? {
        Some(list) => read_list(&list).map_err(malformed)?,
        None => Vec::new(),
    };
    s.end().map_err(malformed)?;
    Ok(flows)
}

/// Reads the answer to `nodoChiediFlussoRendicontazione`: the flow's document, decoded from
/// base64 (not read: see [`crate::fdr_read::parse_xml`]).
pub fn parse_flow_response(bytes: &[u8]) -> Result<Vec<u8>, NodoError> {
    let root = read_response_root(bytes)?;
    let payload = response_payload(&root, FLOW_RESPONSE)?;
    let node = Node::root(payload, Some(NS_NODE_FOR_PA));
    let mut s = node.seq().map_err(malformed)?;
    if let Some(fault) = s.opt("fault").map_err(malformed)? {
        return Err(NodoError::Fault(read_fault(&fault).map_err(malformed)?));
    }
    let Some(xml_node) = s.opt("xmlRendicontazione").map_err(malformed)? else {
        s.end().map_err(malformed)?;
        return Err(NodoError::Malformed(ReadError::new(
            Some(payload.line),
            FLOW_RESPONSE,
            "neither a fault nor an xmlRendicontazione",
        )));
    };
    s.end().map_err(malformed)?;
    let text = xml_node.text().map_err(malformed)?;
    crate::soap::decode_base64(text).ok_or_else(|| malformed(xml_node.fail("is not base64")))
}

fn read_response_root(bytes: &[u8]) -> Result<Element, NodoError> {
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(NodoError::Malformed(ReadError::new(
            None,
            "Envelope",
            format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
        )));
    }
    xml::parse_with(bytes, RESPONSE_LIMITS)
        .map_err(|e| NodoError::Malformed(ReadError::new(Some(e.line), "Envelope", e.why)))
}

/// The response element of the Body; a SOAP Fault becomes [`NodoError::Fault`].
fn response_payload<'a>(root: &'a Element, expected: &str) -> Result<&'a Element, NodoError> {
    let payload = body_payload(root)?;
    if payload.is(NS_SOAP_ENV, "Fault") {
        return Err(NodoError::Fault(read_soap_fault(payload)?));
    }
    if !payload.is(NS_NODE_FOR_PA, expected) {
        return Err(NodoError::Malformed(ReadError::new(
            Some(payload.line),
            format!("Envelope/Body/{}", xml::show_name(&payload.name)),
            format!("expected {expected} in namespace {NS_NODE_FOR_PA:?}"),
        )));
    }
    Ok(payload)
}

fn read_soap_fault(el: &Element) -> Result<NodeFault, ReadError> {
    let node = Node::root(el, None);
    let mut s = node.seq().map_err(read_error)?;
    let code = s.req("faultcode").map_err(read_error)?;
    let code = code.text().map_err(read_error)?;
    let string = s.req("faultstring").map_err(read_error)?;
    let string = string.text().map_err(read_error)?;
    let actor = match s.opt("faultactor").map_err(read_error)? {
        Some(a) => a.text().map_err(read_error)?.to_owned(),
        None => String::new(),
    };
    Ok(NodeFault {
        code: trim_ws(code).to_owned(),
        string: string.to_owned(),
        description: None,
        id: actor,
    })
}

fn read_list(n: &Node<'_>) -> Checked<Vec<FlowRef>> {
    let mut s = n.seq()?;
    let tot = s.req("totRestituiti")?;
    let t = tot.text()?;
    if trim_ws(t).parse::<i32>().is_err() {
        return Err(tot.fail(format!("{}is not an int", tot.quote(t))));
    }
    let mut flows = Vec::new();
    let mut i = 0;
    while let Some(mut item) = s.opt("idRendicontazione")? {
        i += 1;
        item.path = format!("{}/idRendicontazione[{i}]", n.path);
        let nil = item.el.attributes.iter().any(|a| {
            a.ns.as_deref() == Some(XSI) && a.name == "nil" && trim_ws(&a.value) == "true"
        });
        if nil {
            if !item.el.children.is_empty() || !is_xml_whitespace(&item.el.text) {
                return Err(item.fail("a nil element must be empty"));
            }
            continue;
        }
        let mut is = item.seq()?;
        let flow_id = is.req("identificativoFlusso")?.text()?.to_owned();
        let dt = is.req("dataOraFlusso")?;
        let raw = dt.text()?;
        let flow_date_time = crate::fdr_read::local_date_time(trim_ws(raw)).ok_or_else(|| {
            dt.fail(format!(
                "{}is not a date-time (YYYY-MM-DDThh:mm:ss)",
                dt.quote(raw)
            ))
        })?;
        is.end()?;
        flows.push(FlowRef {
            flow_id,
            flow_date_time,
        });
    }
    s.end()?;
    Ok(flows)
}

fn read_fault(n: &Node<'_>) -> Checked<NodeFault> {
    let mut s = n.seq()?;
    let code = s.req("faultCode")?.text()?.to_owned();
    let string = s.req("faultString")?.text()?.to_owned();
    let id = s.req("id")?.text()?.to_owned();
    let description = match s.opt("description")? {
        Some(d) => Some(d.text()?.to_owned()),
        None => None,
    };
    if let Some(serial) = s.opt("serial")? {
        let t = serial.text()?;
        // Rust's integer parsing takes an optional sign and leading zeros, as `xsd:int` does.
        if trim_ws(t).parse::<i32>().is_err() {
            return Err(serial.fail(format!("{}is not an int", serial.quote(t))));
        }
    }
    for name in [
        "originalFaultCode",
        "originalFaultString",
        "originalDescription",
    ] {
        if let Some(x) = s.opt(name)? {
            x.text()?;
        }
    }
    s.end()?;
    Ok(NodeFault {
        code,
        string,
        description,
        id,
    })
}

// ------------------------------------------------------------------------------------------------
// The node's side (the test double)
// ------------------------------------------------------------------------------------------------

/// Reads a request of the ente, checked against `nodeForPa.xsd`.
pub fn parse_request(bytes: &[u8]) -> Result<NodoRequest, ReadError> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(ReadError::new(
            None,
            "Envelope",
            format!("the request is larger than {MAX_REQUEST_BYTES} bytes"),
        ));
    }
    let root = xml::parse_with(bytes, Limits::DEFAULT)
        .map_err(|e| ReadError::new(Some(e.line), "Envelope", e.why))?;
    let payload = body_payload(&root)?;
    let list = match payload.name.as_str() {
        LIST_REQUEST => true,
        FLOW_REQUEST => false,
        _ => {
            return Err(ReadError::new(
                Some(payload.line),
                format!("Envelope/Body/{}", xml::show_name(&payload.name)),
                "not a nodeForPa request for reporting flows",
            ));
        }
    };
    if payload.ns.as_deref() != Some(NS_NODE_FOR_PA) {
        return Err(ReadError::new(
            Some(payload.line),
            payload.name.clone(),
            format!("the element is not in namespace {NS_NODE_FOR_PA:?}"),
        ));
    }
    let node = Node::root(payload, Some(NS_NODE_FOR_PA));
    read_request(&node, list).map_err(read_error)
}

fn read_request(n: &Node<'_>, list: bool) -> Checked<NodoRequest> {
    let mut s = n.seq()?;
    let broker_id = req_text(&mut s, "identificativoIntermediarioPA", 1, 35)?;
    let station_id = req_text(&mut s, "identificativoStazioneIntermediarioPA", 1, 35)?;
    let password = req_text(&mut s, "password", 8, 15)?;
    let domain = opt_text(&mut s, "identificativoDominio", 1, 35)?;
    let psp = opt_text(&mut s, "identificativoPSP", 1, 35)?;
    let request = if list {
        NodoRequest::List(ListRequest {
            broker_id,
            station_id,
            password,
            domain,
            psp,
        })
    } else {
        let flow_id = s.req("identificativoFlusso")?.text()?.to_owned();
        NodoRequest::Flow(FlowRequest {
            broker_id,
            station_id,
            password,
            domain,
            psp,
            flow_id,
        })
    };
    s.end()?;
    Ok(request)
}

/// Writes the answer to `nodoChiediElencoFlussiRendicontazione` listing `flows`.
pub fn render_list_response(flows: &[FlowRef]) -> String {
    let mut w = Writer::default();
    w.open("elencoFlussiRendicontazione");
    let count = i32::try_from(flows.len()).unwrap_or(i32::MAX);
    w.leaf("totRestituiti", &count.to_string());
    for f in flows {
        w.open("idRendicontazione");
        w.leaf("identificativoFlusso", &f.flow_id);
        w.leaf(
            "dataOraFlusso",
            &f.flow_date_time.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        );
        w.close("idRendicontazione");
    }
    w.close("elencoFlussiRendicontazione");
    envelope(LIST_RESPONSE, &w.out)
}

/// Writes the answer to `nodoChiediFlussoRendicontazione` carrying the flow's document.
pub fn render_flow_response(xml: &[u8]) -> String {
    let mut w = Writer::default();
    w.leaf(
        "xmlRendicontazione",
        &base64::engine::general_purpose::STANDARD.encode(xml),
    );
    envelope(FLOW_RESPONSE, &w.out)
}

/// Writes the answer of either operation carrying `fault` and nothing else.
pub fn render_fault_response(operation_is_list: bool, fault: &NodeFault) -> String {
    let mut w = Writer::default();
    w.open("fault");
    w.leaf("faultCode", &fault.code);
    w.leaf("faultString", &fault.string);
    w.leaf("id", &fault.id);
    if let Some(d) = &fault.description {
        w.leaf("description", d);
    }
    w.close("fault");
    let element = if operation_is_list {
        LIST_RESPONSE
    } else {
        FLOW_RESPONSE
    };
    envelope(element, &w.out)
}

// ------------------------------------------------------------------------------------------------
// Shared
// ------------------------------------------------------------------------------------------------

fn malformed(f: Fail) -> NodoError {
    NodoError::Malformed(read_error(f))
}

fn read_error(f: Fail) -> ReadError {
    ReadError::new(f.line, f.path, f.why)
}

fn trim_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// The single element of the envelope's Body (after an optional Header).
fn body_payload(root: &Element) -> Result<&Element, ReadError> {
    let fail = |el: &Element, path: &str, why: &str| ReadError::new(Some(el.line), path, why);
    if !root.is(NS_SOAP_ENV, "Envelope") {
        return Err(fail(
            root,
            "Envelope",
            if root.name == "Envelope" {
                "the Envelope is not in the SOAP 1.1 namespace"
            } else {
                "not a SOAP envelope"
            },
        ));
    }
    if !is_xml_whitespace(&root.text) {
        return Err(fail(root, "Envelope", "the envelope holds text"));
    }
    let mut children = root.children.iter();
    let mut next = children.next();
    if next.is_some_and(|c| c.is(NS_SOAP_ENV, "Header")) {
        next = children.next();
    }
    let body = match next {
        Some(b) if b.is(NS_SOAP_ENV, "Body") => b,
        Some(other) => {
            return Err(fail(
                other,
                &format!("Envelope/{}", xml::show_name(&other.name)),
                "expected the SOAP Body",
            ));
        }
        None => return Err(fail(root, "Envelope/Body", "missing")),
    };
    if let Some(extra) = children.find(|c| c.ns.as_deref() == Some(NS_SOAP_ENV)) {
        return Err(fail(
            extra,
            &format!("Envelope/{}", xml::show_name(&extra.name)),
            "unexpected element after the Body",
        ));
    }
    if !is_xml_whitespace(&body.text) {
        return Err(fail(body, "Envelope/Body", "the Body holds text"));
    }
    match body.children.as_slice() {
        [one] => Ok(one),
        [] => Err(fail(body, "Envelope/Body", "the Body is empty")),
        [_, second, ..] => Err(fail(
            second,
            "Envelope/Body",
            "the Body holds more than one element",
        )),
    }
}

fn text(n: &Node<'_>, min: usize, max: usize) -> Checked<String> {
    let v = n.text()?;
    let len = v.chars().count();
    if len < min {
        return Err(n.fail(if len == 0 {
            "is empty".to_owned()
        } else {
            format!("has {len} characters, at least {min} required")
        }));
    }
    if len > max {
        return Err(n.fail(format!("has {len} characters, at most {max} allowed")));
    }
    Ok(v.to_owned())
}

fn req_text(s: &mut Seq<'_>, name: &str, min: usize, max: usize) -> Checked<String> {
    text(&s.req(name)?, min, max)
}

fn opt_text(s: &mut Seq<'_>, name: &str, min: usize, max: usize) -> Checked<Option<String>> {
    s.opt(name)?.map(|n| text(&n, min, max)).transpose()
}

fn write_caller(
    w: &mut Writer,
    broker_id: &str,
    station_id: &str,
    password: &str,
    domain: Option<&str>,
    psp: Option<&str>,
) {
    w.leaf("identificativoIntermediarioPA", broker_id);
    w.leaf("identificativoStazioneIntermediarioPA", station_id);
    w.leaf("password", password);
    if let Some(d) = domain {
        w.leaf("identificativoDominio", d);
    }
    if let Some(p) = psp {
        w.leaf("identificativoPSP", p);
    }
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn leaf(&mut self, name: &str, value: &str) {
        self.open(name);
        for c in value.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                // A literal CR would be read back as a line feed.
                '\r' => self.out.push_str("&#13;"),
                c if is_xml_char(c) => self.out.push(c),
                _ => {}
            }
        }
        self.close(name);
    }
}

fn envelope(element: &str, content: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{NS_SOAP_ENV}"><soapenv:Body><nfpa:{element} xmlns:nfpa="{NS_NODE_FOR_PA}">{content}</nfpa:{element}></soapenv:Body></soapenv:Envelope>"#
    )
}
