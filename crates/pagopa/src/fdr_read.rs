//! Readers of the reporting flow as the ente receives it: the `FlussoRiversamento` XML (from
//! `nodoChiediFlussoRendicontazione`, versions 1.0 and 1.1) and the FdR 3 REST JSON (the
//! single-flow header of `fdr_organization.json` with its `payments` array). Both give a
//! [`ReportedFlow`]: the typed [`Flow`] with the lines as written, and what the header declares.
//!
//! The readers check the *schema* only: every facet, the sequence order and the cardinalities of
//! `FlussoRiversamento_1_0_4.xsd` (with outcome codes 4 and 8 accepted, as the node's `develop`
//! schema lists them), or the types and required fields of the JSON. They do not compare the
//! header's count and total with the lines, the receiver with the ente, the flow id with its
//! SACI shape, nor look for duplicate lines: the domain does, and keeps such flows as anomalies.
//!
//! Tolerated beyond the letter of the XSD, on purpose:
//! - children left unqualified under a qualified root (the schema is `elementFormDefault=
//!   "qualified"`; the data is unambiguous, so the flow is not lost for it);
//! - an optional `<revisioneFlusso>` (a positive integer) right after `identificativoFlusso`,
//!   which some writers add to carry the FdR 3 revision;
//! - whitespace around dates and date-times (the XSD collapses it; libxml2 refuses it).
//!
//! Refused beyond the XSD: years before 1 (the XSD allows negative years). A DOCTYPE is
//! refused (no entity is ever expanded).
//!
//! Times: a date-time written without a zone is taken as written (the node writes Europe/Rome
//! civil time); one written with a zone or `Z` (FdR 3 writes instants in UTC) is converted to
//! Europe/Rome civil time, so a flow read from either format has the same
//! [`Flow::flow_date_time`]. A REST `payDate` gives the line's date the same way. Fractions of
//! a second are kept.
//!
//! JSON amounts are taken from the number as written (serde_json's `RawValue`), never through
//! floating point: `12.3`, `12.30` and `12` are exact; more than two decimals, an exponent or a
//! sign are refused. A JSON error's `element` is a JSON pointer (RFC 6901: array indexes count
//! from 0, so `/payments/3/pay` is the fourth payment).

use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::fdr::text::{check_text, euro};
use crate::fdr::{self, Flow, FlowLine, OutcomeCode, Receiver, Sender, SenderKind, Version};
use crate::read::ReadError;
use crate::xml::{self, Checked, Limits, Node, Seq};

/// Largest XML flow accepted, in bytes (a flow can have more than 100,000 lines).
pub const MAX_XML_BYTES: usize = 64 << 20;
/// Most elements in an XML flow.
pub const MAX_XML_ELEMENTS: usize = 2_000_000;
/// Largest JSON flow accepted, in bytes.
pub const MAX_JSON_BYTES: usize = 64 << 20;

const XML_LIMITS: Limits = Limits {
    depth: 16,
    elements: MAX_XML_ELEMENTS,
    text: MAX_XML_BYTES,
};

const ROOT: &str = "FlussoRiversamento";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Which wire format a flow was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FlowFormat {
    /// `FlussoRiversamento` XML.
    Xml,
    /// FdR 3 REST JSON.
    Rest,
}

/// A flow as the PSP reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedFlow {
    /// The flow, its lines as written and in document order.
    pub flow: Flow,
    /// The PSP: REST `sender.pspId`; XML: the part of the flow id between its 10-character date
    /// and its last `-`, or the sender's id when the flow id does not have that shape.
    pub psp_id: String,
    /// REST `revision`; XML: `revisioneFlusso` when present, else 1.
    pub revision: u32,
    /// `numeroTotalePagamenti` / `totPayments` as written (not recomputed).
    pub declared_count: u64,
    /// `importoTotalePagamenti` / `sumPayments` as written, in cents.
    pub declared_total_cents: i64,
    pub format: FlowFormat,
    /// REST `receiver.organizationId` (the ente the flow was published to); `None` for XML.
    pub receiver_organization: Option<String>,
    /// REST `idTransfer` of each line (same length as the lines); all `None` for XML.
    pub transfer_ids: Vec<Option<u32>>,
}

/// Reads either format: XML when the document starts with `<` (after a BOM and whitespace),
/// JSON when it starts with `{`.
pub fn parse_any(bytes: &[u8]) -> Result<ReportedFlow, ReadError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        Some(b'<') => parse_xml(bytes),
        Some(b'{') => parse_rest(bytes),
        _ => Err(ReadError::new(
            Some(1),
            "(document)",
            "neither XML (starting with <) nor a JSON object (starting with {)",
        )),
    }
}

// ------------------------------------------------------------------------------------------------
// XML
// ------------------------------------------------------------------------------------------------

/// Reads a `FlussoRiversamento` document, checked against the schema (see the module
/// documentation for what is tolerated).
pub fn parse_xml(bytes: &[u8]) -> Result<ReportedFlow, ReadError> {
    if bytes.len() > MAX_XML_BYTES {
        return Err(ReadError::new(
            None,
            ROOT,
            format!("the document is larger than {MAX_XML_BYTES} bytes"),
        ));
    }
    let root = xml::parse_with(bytes, XML_LIMITS)
        .map_err(|e| ReadError::new(Some(e.line), ROOT, e.why))?;
    if !root.is(fdr::NS, ROOT) {
        let why = if root.name == ROOT {
            format!(
                "the element is in {}, expected namespace {:?}",
                root.ns.as_deref().map_or_else(
                    || "no namespace".to_owned(),
                    |n| format!("namespace {:?}", xml::truncate(n, 80))
                ),
                fdr::NS
            )
        } else {
            format!("the document element is not {ROOT}")
        };
        return Err(ReadError::new(
            Some(root.line),
            xml::show_name(&root.name),
            why,
        ));
    }
    read_flow(&Node::root(&root, Some(fdr::NS))).map_err(|f| ReadError::new(f.line, f.path, f.why))
}

fn read_flow(n: &Node<'_>) -> Checked<ReportedFlow> {
    let mut s = complex(n)?;
    let version = {
        let v = s.req("versioneOggetto")?;
        let t = leaf(&v)?;
        Version::parse(t).ok_or_else(|| v.fail(format!("{}is not 1.0 or 1.1", v.quote(t))))?
    };
    let flow_id = {
        let v = s.req("identificativoFlusso")?;
        let t = leaf(&v)?;
        let ok = (1..=35).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(v.fail(format!(
                "{}does not match [a-zA-Z0-9\\-_]{{1,35}}",
                v.quote(t)
            )));
        }
        t.to_owned()
    };
    let revision = match s.opt("revisioneFlusso")? {
        Some(v) => {
            let t = leaf(&v)?;
            xsd_integer(trim_ws(t))
                .and_then(|i| u32::try_from(i).ok())
                .filter(|&i| i >= 1)
                .ok_or_else(|| v.fail(format!("{}is not a positive integer", v.quote(t))))?
        }
        None => 1,
    };
    let flow_date_time = xml_date_time(&s.req("dataOraFlusso")?)?;
    let regulation_id = req_text(&mut s, "identificativoUnivocoRegolamento", 1, 35)?;
    let regulation_date = xml_date(&s.req("dataRegolamento")?)?;

    let sender = {
        let m = s.req("istitutoMittente")?;
        let mut ms = complex(&m)?;
        let idn = ms.req("identificativoUnivocoMittente")?;
        let mut is = complex(&idn)?;
        let kind_node = is.req("tipoIdentificativoUnivoco")?;
        let t = leaf(&kind_node)?;
        let kind = SenderKind::parse(t)
            .ok_or_else(|| kind_node.fail(format!("{}is not G, A or B", kind_node.quote(t))))?;
        let id = req_text(&mut is, "codiceIdentificativoUnivoco", 1, 35)?;
        is.end()?;
        let name = opt_text(&mut ms, "denominazioneMittente", 3, 70)?;
        ms.end()?;
        Sender { kind, id, name }
    };
    let bic_pouring_bank = opt_text(&mut s, "codiceBicBancaDiRiversamento", 1, 35)?;
    let receiver = {
        let r = s.req("istitutoRicevente")?;
        let mut rs = complex(&r)?;
        let idn = rs.req("identificativoUnivocoRicevente")?;
        let mut is = complex(&idn)?;
        let kind_node = is.req("tipoIdentificativoUnivoco")?;
        let t = leaf(&kind_node)?;
        if t != "G" {
            return Err(kind_node.fail(format!("{}is not G", kind_node.quote(t))));
        }
        let id = req_text(&mut is, "codiceIdentificativoUnivoco", 1, 35)?;
        is.end()?;
        let name = opt_text(&mut rs, "denominazioneRicevente", 1, 140)?;
        rs.end()?;
        Receiver { id, name }
    };
    let declared_count = {
        let v = s.req("numeroTotalePagamenti")?;
        let t = leaf(&v)?;
        count_value(trim_ws(t)).ok_or_else(|| {
            v.fail(format!(
                "{}is not a whole number from 1 with at most 15 digits",
                v.quote(t)
            ))
        })?
    };
    let declared_total_cents = xml_amount(&s.req("importoTotalePagamenti")?, false)?;
    let items = s.many("datiSingoliPagamenti", usize::MAX)?;
    s.end()?;

    let mut lines = Vec::with_capacity(items.len());
    for item in &items {
        lines.push(read_line(item)?);
    }
    let psp_id = psp_of_flow_id(&flow_id).unwrap_or_else(|| sender.id.clone());
    let transfer_ids = vec![None; lines.len()];
    Ok(ReportedFlow {
        flow: Flow {
            version,
            flow_id,
            flow_date_time,
            regulation_id,
            regulation_date,
            sender,
            bic_pouring_bank,
            receiver,
            lines,
        },
        psp_id,
        revision,
        declared_count,
        declared_total_cents,
        format: FlowFormat::Xml,
        receiver_organization: None,
        transfer_ids,
    })
}

fn read_line(n: &Node<'_>) -> Checked<FlowLine> {
    let mut s = complex(n)?;
    let iuv = req_text(&mut s, "identificativoUnivocoVersamento", 1, 35)?;
    let iur = req_text(&mut s, "identificativoUnivocoRiscossione", 1, 35)?;
    let index = match s.opt("indiceDatiSingoloPagamento")? {
        Some(v) => {
            let t = leaf(&v)?;
            let i = xsd_integer(trim_ws(t))
                .filter(|i| (1..=5).contains(i))
                .ok_or_else(|| v.fail(format!("{}is not an integer from 1 to 5", v.quote(t))))?;
            u8::try_from(i).ok()
        }
        None => None,
    };
    let amount_cents = xml_amount(&s.req("singoloImportoPagato")?, true)?;
    let outcome = {
        let v = s.req("codiceEsitoSingoloPagamento")?;
        let t = leaf(&v)?;
        let code = match t.as_bytes() {
            [d] if d.is_ascii_digit() => OutcomeCode::from_code(d - b'0'),
            _ => None,
        };
        code.ok_or_else(|| v.fail(format!("{}is not one of 0, 3, 4, 8, 9", v.quote(t))))?
    };
    let date = xml_date(&s.req("dataEsitoSingoloPagamento")?)?;
    s.end()?;
    Ok(FlowLine {
        iuv,
        iur,
        index,
        amount_cents,
        outcome,
        date,
    })
}

/// The PSP id inside a SACI flow id `<YYYY-MM-DD><PSP id>-<n>`.
fn psp_of_flow_id(id: &str) -> Option<String> {
    let date = id.get(..10)?;
    let shape = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    if !shape || NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return None;
    }
    let rest = id.get(10..)?;
    let dash = rest.rfind('-')?;
    let psp = &rest[..dash];
    (!psp.is_empty()).then(|| psp.to_owned())
}

/// Attributes a schema-less element may carry: the `xsi` schema hints.
fn check_attributes(n: &Node<'_>) -> Checked<()> {
    for a in &n.el.attributes {
        let hint = a.ns.as_deref() == Some(XSI)
            && matches!(
                a.name.as_str(),
                "schemaLocation" | "noNamespaceSchemaLocation"
            );
        if !hint {
            return Err(n.fail(format!(
                "the attribute {} is not allowed",
                xml::show_name(&a.name)
            )));
        }
    }
    Ok(())
}

fn complex<'a>(n: &Node<'a>) -> Checked<Seq<'a>> {
    check_attributes(n)?;
    n.seq()
}

fn leaf<'a>(n: &Node<'a>) -> Checked<&'a str> {
    check_attributes(n)?;
    n.text()
}

/// An `xsd:string` restricted in length (whitespace preserved, lengths in characters).
fn text(n: &Node<'_>, min: usize, max: usize) -> Checked<String> {
    let v = leaf(n)?;
    check_text(v, min, Some(max)).map_err(|why| n.fail(why))?;
    Ok(v.to_owned())
}

fn req_text(s: &mut Seq<'_>, name: &str, min: usize, max: usize) -> Checked<String> {
    text(&s.req(name)?, min, max)
}

fn opt_text(s: &mut Seq<'_>, name: &str, min: usize, max: usize) -> Checked<Option<String>> {
    s.opt(name)?.map(|n| text(&n, min, max)).transpose()
}

fn xml_amount(n: &Node<'_>, at_least_a_cent: bool) -> Checked<i64> {
    let raw = leaf(n)?;
    let cents = amount_2dp(trim_ws(raw)).ok_or_else(|| {
        n.fail(format!(
            "{}is not an amount with two decimals up to 999999999.99",
            n.quote(raw)
        ))
    })?;
    if at_least_a_cent && cents == 0 {
        return Err(n.fail(format!("{}is zero, at least 0.01 required", n.quote(raw))));
    }
    Ok(cents)
}

fn xml_date(n: &Node<'_>) -> Checked<NaiveDate> {
    let raw = leaf(n)?;
    crate::soap::parse_date(trim_ws(raw))
        .ok_or_else(|| n.fail(format!("{}is not a date (YYYY-MM-DD)", n.quote(raw))))
}

fn xml_date_time(n: &Node<'_>) -> Checked<NaiveDateTime> {
    let raw = leaf(n)?;
    local_date_time(trim_ws(raw)).ok_or_else(|| {
        n.fail(format!(
            "{}is not a date-time (YYYY-MM-DDThh:mm:ss)",
            n.quote(raw)
        ))
    })
}

fn trim_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// `\d+\.\d{2}` up to 999999999.99, in cents (leading zeros allowed, no sign).
fn amount_2dp(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.')?;
    if int.is_empty() || frac.len() != 2 {
        return None;
    }
    cents_of(int, frac)
}

/// Cents of an unsigned decimal's integer digits and its (0..=2) fraction digits, up to
/// [`fdr::MAX_AMOUNT_CENTS`].
fn cents_of(int: &str, frac: &str) -> Option<i64> {
    if !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() > 9 {
        return None;
    }
    let euros: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let total = euros.checked_mul(100)?.checked_add(cents)?;
    (total <= fdr::MAX_AMOUNT_CENTS).then_some(total)
}

/// `stNumeroTotalePagamenti`: an `xsd:decimal` at least 1, without fraction (`5.0` is 5), of
/// at most 15 digits (leading zeros do not count).
fn count_value(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b == b'0')
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.is_empty() || int.len() > 15 {
        return None;
    }
    int.parse().ok()
}

/// An `xsd:integer` (`[+-]?\d+`), when it fits an `i64`.
fn xsd_integer(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    let value: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
}

// ------------------------------------------------------------------------------------------------
// Dates and times
// ------------------------------------------------------------------------------------------------

/// Year (4 to 6 digits, no leading zero beyond four, not 0), month and day; the rest.
fn ymd(s: &str) -> Option<(NaiveDate, &str)> {
    let ylen = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(4..=6).contains(&ylen) || (ylen > 4 && s.starts_with('0')) {
        return None;
    }
    let year: i32 = s[..ylen].parse().ok()?;
    let rest = &s[ylen..];
    let b = rest.as_bytes();
    if year == 0 || b.len() < 6 || b[0] != b'-' || b[3] != b'-' {
        return None;
    }
    let month = two_digits(&b[1..3])?;
    let day = two_digits(&b[4..6])?;
    Some((NaiveDate::from_ymd_opt(year, month, day)?, &rest[6..]))
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, c] if a.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
        }
        _ => None,
    }
}

/// An optional zone: `None` if malformed, `Some(None)` if absent, else the offset in seconds.
fn zone(s: &str) -> Option<Option<i64>> {
    match s.as_bytes() {
        [] => Some(None),
        [b'Z'] => Some(Some(0)),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = two_digits(&[*h1, *h2])?;
            let minutes = two_digits(&[*m1, *m2])?;
            if minutes > 59 || hours > 14 || (hours == 14 && minutes > 0) {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            Some(Some(if *sign == b'-' { -seconds } else { seconds }))
        }
        _ => None,
    }
}

/// An `xsd:dateTime` (`24:00:00` is the next midnight): the civil time written and its zone
/// offset in seconds, if any.
fn date_time_parts(s: &str) -> Option<(NaiveDateTime, Option<i64>)> {
    let (date, rest) = ymd(s)?;
    let rest = rest.strip_prefix('T')?;
    let b = rest.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let hour = two_digits(&b[0..2])?;
    let minute = two_digits(&b[3..5])?;
    let second = two_digits(&b[6..8])?;
    let mut rest = &rest[8..];
    let mut nanos = 0u32;
    let mut fraction_zero = true;
    if let Some(frac) = rest.strip_prefix('.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let mut scale = 100_000_000u32;
        for d in frac[..len].bytes() {
            fraction_zero &= d == b'0';
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
        }
        rest = &frac[len..];
    }
    let offset = zone(rest)?;
    if minute > 59 || second > 59 {
        return None;
    }
    let civil = if hour == 24 {
        if minute != 0 || second != 0 || !fraction_zero {
            return None;
        }
        date.succ_opt()?.and_time(NaiveTime::MIN)
    } else {
        date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?)
    };
    Some((civil, offset))
}

/// A date-time as Europe/Rome civil time: as written without a zone, converted with one.
pub(crate) fn local_date_time(s: &str) -> Option<NaiveDateTime> {
    let (civil, offset) = date_time_parts(s)?;
    match offset {
        None => Some(civil),
        Some(seconds) => {
            let utc = civil.checked_sub_signed(Duration::seconds(seconds))?;
            Some(crate::soap::rome_local(
                DateTime::from_naive_utc_and_offset(utc, Utc),
            ))
        }
    }
}

/// Europe/Rome civil time as an RFC 3339 date-time with its offset (`+01:00` or `+02:00`);
/// a time the clocks skip has no offset and is written without one.
pub(crate) fn format_rome(local: NaiveDateTime) -> String {
    let civil = local.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
    for hours in [2, 1] {
        if let Some(utc) = local.checked_sub_signed(Duration::hours(hours))
            && crate::soap::rome_local(DateTime::from_naive_utc_and_offset(utc, Utc)) == local
        {
            return format!("{civil}+{hours:02}:00");
        }
    }
    civil
}

// ------------------------------------------------------------------------------------------------
// REST JSON
// ------------------------------------------------------------------------------------------------

/// Reads an FdR 3 flow: the single-flow header object with a `payments` array. Unknown fields
/// are ignored; `null` counts as absent.
pub fn parse_rest(bytes: &[u8]) -> Result<ReportedFlow, ReadError> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(ReadError::new(
            None,
            "",
            format!("the document is larger than {MAX_JSON_BYTES} bytes"),
        ));
    }
    let input = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(input).map_err(|e| {
        ReadError::new(
            Some(xml::line_at(input, e.valid_up_to())),
            "",
            format!(
                "the document is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let doc: &RawValue = serde_json::from_str(text).map_err(|e| {
        ReadError::new(
            u32::try_from(e.line()).ok().filter(|&l| l > 0),
            "",
            format!("not JSON ({})", json_error_kind(&e)),
        )
    })?;
    let j = Json { text };
    j.flow(doc)
}

fn json_error_kind(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected value",
        Category::Eof => "the document ends too early",
    }
}

/// A JSON object's members, in document order, borrowed from the document.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// An object being read: its members and where it is.
struct Obj<'a> {
    members: Vec<(String, &'a RawValue)>,
    pointer: String,
    line: Option<u32>,
}

struct Json<'a> {
    text: &'a str,
}

type JsonResult<T> = Result<T, ReadError>;

impl<'a> Json<'a> {
    /// The line of a value of the document.
    fn line(&self, raw: &RawValue) -> Option<u32> {
        let start = self.text.as_ptr() as usize;
        let at = (raw.get().as_ptr() as usize).checked_sub(start)?;
        (at <= self.text.len()).then(|| xml::line_at(self.text.as_bytes(), at))
    }

    fn fail(&self, raw: &RawValue, pointer: &str, why: impl Into<String>) -> ReadError {
        ReadError::new(self.line(raw), pointer, why)
    }

    fn object(&self, raw: &'a RawValue, pointer: String) -> JsonResult<Obj<'a>> {
        let Members(members) = serde_json::from_str(raw.get())
            .map_err(|_| self.fail(raw, &pointer, "is not an object"))?;
        for (i, (key, value)) in members.iter().enumerate() {
            if members[..i].iter().any(|(k, _)| k == key) {
                return Err(self.fail(
                    value,
                    &format!("{pointer}/{}", pointer_token(key)),
                    "appears twice in its object",
                ));
            }
        }
        Ok(Obj {
            members,
            line: self.line(raw),
            pointer,
        })
    }

    fn flow(&self, doc: &'a RawValue) -> JsonResult<ReportedFlow> {
        let top = self.object(doc, String::new())?;
        let flow_id = {
            let (raw, p) = self.req(&top, "fdr")?;
            let v = self.string(raw, &p)?;
            let ok = (1..=35).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(self.fail(raw, &p, "does not match [a-zA-Z0-9\\-_]{1,35}"));
            }
            v
        };
        let flow_date_time = {
            let (raw, p) = self.req(&top, "fdrDate")?;
            self.date_time(raw, &p)?
        };
        let revision = {
            let (raw, p) = self.req(&top, "revision")?;
            u32::try_from(self.positive_integer(raw, &p)?)
                .map_err(|_| self.fail(raw, &p, "is too large"))?
        };
        let sender_obj = {
            let (raw, p) = self.req(&top, "sender")?;
            self.object(raw, p)?
        };
        let kind = {
            let (raw, p) = self.req(&sender_obj, "type")?;
            match self.string(raw, &p)?.as_str() {
                "LEGAL_PERSON" => SenderKind::LegalPerson,
                "ABI_CODE" => SenderKind::Abi,
                "BIC_CODE" => SenderKind::Bic,
                _ => {
                    return Err(self.fail(raw, &p, "is not LEGAL_PERSON, ABI_CODE or BIC_CODE"));
                }
            }
        };
        let sender = Sender {
            kind,
            id: self.req_text(&sender_obj, "id", 1, 35)?,
            name: self.opt_text(&sender_obj, "pspName", 3, 70)?,
        };
        let psp_id = self.req_text(&sender_obj, "pspId", 1, 35)?;
        let receiver_obj = {
            let (raw, p) = self.req(&top, "receiver")?;
            self.object(raw, p)?
        };
        let receiver = Receiver {
            id: self.req_text(&receiver_obj, "id", 1, 35)?,
            name: self.opt_text(&receiver_obj, "organizationName", 1, 140)?,
        };
        let organization = self.req_text(&receiver_obj, "organizationId", 1, 35)?;
        let regulation_id = self.req_text(&top, "regulation", 1, 35)?;
        let regulation_date = {
            let (raw, p) = self.req(&top, "regulationDate")?;
            let v = self.string(raw, &p)?;
            crate::soap::parse_date(&v)
                .ok_or_else(|| self.fail(raw, &p, "is not a date (YYYY-MM-DD)"))?
        };
        let bic_pouring_bank = self.opt_text(&top, "bicCodePouringBank", 1, 35)?;
        let declared_count = {
            let (raw, p) = self.req(&top, "totPayments")?;
            self.positive_integer(raw, &p)?
        };
        let declared_total_cents = {
            let (raw, p) = self.req(&top, "sumPayments")?;
            self.amount(raw, &p)?
        };
        let (payments_raw, payments_pointer) = self.req(&top, "payments")?;
        let items: Vec<&RawValue> = serde_json::from_str(payments_raw.get())
            .map_err(|_| self.fail(payments_raw, &payments_pointer, "is not an array"))?;
        if items.is_empty() {
            return Err(self.fail(
                payments_raw,
                &payments_pointer,
                "is empty, a flow needs at least one payment",
            ));
        }
        let mut lines = Vec::with_capacity(items.len());
        let mut transfer_ids = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let (line, transfer) = self.payment(item, format!("{payments_pointer}/{i}"))?;
            lines.push(line);
            transfer_ids.push(Some(transfer));
        }
        Ok(ReportedFlow {
            flow: Flow {
                version: Version::V1_0,
                flow_id,
                flow_date_time,
                regulation_id,
                regulation_date,
                sender,
                bic_pouring_bank,
                receiver,
                lines,
            },
            psp_id,
            revision,
            declared_count,
            declared_total_cents,
            format: FlowFormat::Rest,
            receiver_organization: Some(organization),
            transfer_ids,
        })
    }

    fn payment(&self, raw: &'a RawValue, pointer: String) -> JsonResult<(FlowLine, u32)> {
        let o = self.object(raw, pointer)?;
        {
            let (raw, p) = self.req(&o, "index")?;
            self.positive_integer(raw, &p)?;
        }
        let iuv = self.req_text(&o, "iuv", 1, 35)?;
        let iur = self.req_text(&o, "iur", 1, 35)?;
        let transfer = {
            let (raw, p) = self.req(&o, "idTransfer")?;
            u32::try_from(self.positive_integer(raw, &p)?)
                .map_err(|_| self.fail(raw, &p, "is too large"))?
        };
        let amount_cents = {
            let (raw, p) = self.req(&o, "pay")?;
            let cents = self.amount(raw, &p)?;
            if cents == 0 {
                return Err(self.fail(raw, &p, "is zero, at least 0.01 required"));
            }
            cents
        };
        let outcome = {
            let (raw, p) = self.req(&o, "payStatus")?;
            match self.string(raw, &p)?.as_str() {
                "EXECUTED" => OutcomeCode::Paid,
                "REVOKED" => OutcomeCode::Revoked,
                "STAND_IN" => OutcomeCode::StandIn,
                "STAND_IN_NO_RPT" => OutcomeCode::StandInNoRpt,
                "NO_RPT" => OutcomeCode::NoRpt,
                _ => {
                    return Err(self.fail(
                        raw,
                        &p,
                        "is not EXECUTED, REVOKED, STAND_IN, STAND_IN_NO_RPT or NO_RPT",
                    ));
                }
            }
        };
        let date = {
            let (raw, p) = self.req(&o, "payDate")?;
            let v = self.string(raw, &p)?;
            let v = v.as_str();
            local_date_time(v)
                .map(|t| t.date())
                .or_else(|| crate::soap::parse_date(v))
                .ok_or_else(|| self.fail(raw, &p, "is not a date-time"))?
        };
        let line = FlowLine {
            iuv,
            iur,
            index: u8::try_from(transfer).ok().filter(|i| (1..=5).contains(i)),
            amount_cents,
            outcome,
            date,
        };
        Ok((line, transfer))
    }

    /// A member that is present and not `null`, with its pointer.
    fn get(&self, o: &Obj<'a>, key: &str) -> Option<(&'a RawValue, String)> {
        o.members
            .iter()
            .find(|(k, v)| k == key && v.get() != "null")
            .map(|(_, v)| (*v, format!("{}/{}", o.pointer, pointer_token(key))))
    }

    fn req(&self, o: &Obj<'a>, key: &str) -> JsonResult<(&'a RawValue, String)> {
        self.get(o, key).ok_or_else(|| {
            ReadError::new(
                o.line,
                format!("{}/{}", o.pointer, pointer_token(key)),
                "missing",
            )
        })
    }

    fn string(&self, raw: &RawValue, pointer: &str) -> JsonResult<String> {
        serde_json::from_str(raw.get()).map_err(|_| self.fail(raw, pointer, "is not a string"))
    }

    /// A string of `min..=max` characters on one line that XML can carry.
    fn text(&self, raw: &RawValue, pointer: &str, min: usize, max: usize) -> JsonResult<String> {
        let v = self.string(raw, pointer)?;
        check_text(&v, min, Some(max)).map_err(|why| self.fail(raw, pointer, why))?;
        if v.contains(['\n', '\r']) {
            return Err(self.fail(raw, pointer, "holds a line break"));
        }
        Ok(v)
    }

    fn req_text(&self, o: &Obj<'a>, key: &str, min: usize, max: usize) -> JsonResult<String> {
        let (raw, p) = self.req(o, key)?;
        self.text(raw, &p, min, max)
    }

    fn opt_text(
        &self,
        o: &Obj<'a>,
        key: &str,
        min: usize,
        max: usize,
    ) -> JsonResult<Option<String>> {
        self.get(o, key)
            .map(|(raw, p)| self.text(raw, &p, min, max))
            .transpose()
    }

    /// A JSON integer (no fraction, no exponent) from 1.
    fn positive_integer(&self, raw: &RawValue, pointer: &str) -> JsonResult<u64> {
        let t = raw.get();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.fail(raw, pointer, "is not a positive integer"));
        }
        let v: u64 = t
            .parse()
            .map_err(|_| self.fail(raw, pointer, "is too large"))?;
        if v == 0 {
            return Err(self.fail(raw, pointer, "is zero, at least 1 required"));
        }
        Ok(v)
    }

    /// A JSON number of euro with at most two decimals, up to 999999999.99, in cents, from its
    /// text as written.
    fn amount(&self, raw: &RawValue, pointer: &str) -> JsonResult<i64> {
        let t = raw.get();
        let number = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        if !number {
            return Err(self.fail(raw, pointer, "is not a number"));
        }
        if t.starts_with('-') {
            return Err(self.fail(raw, pointer, "is negative"));
        }
        if t.contains(['e', 'E']) {
            return Err(self.fail(
                raw,
                pointer,
                "has an exponent; write the amount with at most two decimals",
            ));
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if frac.len() > 2 {
            return Err(self.fail(raw, pointer, "has more than two decimals"));
        }
        cents_of(int, frac).ok_or_else(|| self.fail(raw, pointer, "exceeds 999999999.99"))
    }

    fn date_time(&self, raw: &RawValue, pointer: &str) -> JsonResult<NaiveDateTime> {
        let v = self.string(raw, pointer)?;
        local_date_time(&v).ok_or_else(|| self.fail(raw, pointer, "is not a date-time"))
    }
}

/// A key as a JSON pointer token (RFC 6901).
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Writes a flow as FdR 3 JSON, the shape [`parse_rest`] reads: the header (with
/// `computedTotPayments`/`computedSumPayments` from the lines, `status` `PUBLISHED`) and the
/// `payments`. Times are written as Europe/Rome civil time with its offset; a line's `payDate`
/// is its date at midnight. `sender.pspBrokerId` and `sender.channelId`, which a
/// [`ReportedFlow`] does not keep, are written as the PSP id; `receiver.organizationId` is the
/// receiver's id when the flow has none; a line's `idTransfer` is its transfer id, else its
/// index, else 1.
pub fn render_rest(flow: &ReportedFlow) -> String {
    let f = &flow.flow;
    let mut o = String::new();
    o.push_str("{\n");
    let _ = writeln!(o, "  \"fdr\": {},", json_string(&f.flow_id));
    let _ = writeln!(
        o,
        "  \"fdrDate\": {},",
        json_string(&format_rome(f.flow_date_time))
    );
    let _ = writeln!(o, "  \"revision\": {},", flow.revision);
    o.push_str("  \"status\": \"PUBLISHED\",\n");
    o.push_str("  \"sender\": {\n");
    let kind = match f.sender.kind {
        SenderKind::LegalPerson => "LEGAL_PERSON",
        SenderKind::Abi => "ABI_CODE",
        SenderKind::Bic => "BIC_CODE",
    };
    let _ = writeln!(o, "    \"type\": \"{kind}\",");
    let _ = writeln!(o, "    \"id\": {},", json_string(&f.sender.id));
    let _ = writeln!(o, "    \"pspId\": {},", json_string(&flow.psp_id));
    if let Some(name) = &f.sender.name {
        let _ = writeln!(o, "    \"pspName\": {},", json_string(name));
    }
    let _ = writeln!(o, "    \"pspBrokerId\": {},", json_string(&flow.psp_id));
    let _ = writeln!(o, "    \"channelId\": {}", json_string(&flow.psp_id));
    o.push_str("  },\n");
    o.push_str("  \"receiver\": {\n");
    let _ = writeln!(o, "    \"id\": {},", json_string(&f.receiver.id));
    let organization = flow
        .receiver_organization
        .as_deref()
        .unwrap_or(&f.receiver.id);
    let _ = write!(o, "    \"organizationId\": {}", json_string(organization));
    if let Some(name) = &f.receiver.name {
        let _ = write!(o, ",\n    \"organizationName\": {}", json_string(name));
    }
    o.push_str("\n  },\n");
    let _ = writeln!(o, "  \"regulation\": {},", json_string(&f.regulation_id));
    let _ = writeln!(o, "  \"regulationDate\": \"{}\",", f.regulation_date);
    if let Some(bic) = &f.bic_pouring_bank {
        let _ = writeln!(o, "  \"bicCodePouringBank\": {},", json_string(bic));
    }
    let _ = writeln!(o, "  \"totPayments\": {},", flow.declared_count);
    let _ = writeln!(o, "  \"sumPayments\": {},", euro(flow.declared_total_cents));
    let _ = writeln!(o, "  \"computedTotPayments\": {},", f.lines.len());
    let _ = writeln!(
        o,
        "  \"computedSumPayments\": {},",
        euro(f.total_amount_cents())
    );
    o.push_str("  \"payments\": [");
    for (i, line) in f.lines.iter().enumerate() {
        let transfer = flow
            .transfer_ids
            .get(i)
            .copied()
            .flatten()
            .or(line.index.map(u32::from))
            .unwrap_or(1);
        let status = match line.outcome {
            OutcomeCode::Paid => "EXECUTED",
            OutcomeCode::Revoked => "REVOKED",
            OutcomeCode::StandIn => "STAND_IN",
            OutcomeCode::StandInNoRpt => "STAND_IN_NO_RPT",
            OutcomeCode::NoRpt => "NO_RPT",
        };
        let pay_date = format_rome(line.date.and_time(NaiveTime::MIN));
        let _ = write!(
            o,
            "{}\n    {{\"index\": {}, \"iuv\": {}, \"iur\": {}, \"idTransfer\": {transfer}, \"pay\": {}, \"payStatus\": \"{status}\", \"payDate\": {}}}",
            if i == 0 { "" } else { "," },
            i + 1,
            json_string(&line.iuv),
            json_string(&line.iur),
            euro(line.amount_cents),
            json_string(&pay_date),
        );
    }
    o.push_str("\n  ]\n}\n");
    o
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_from_their_digits() {
        assert_eq!(amount_2dp("12.30"), Some(1230));
        assert_eq!(amount_2dp("0012.30"), Some(1230));
        assert_eq!(amount_2dp("999999999.99"), Some(fdr::MAX_AMOUNT_CENTS));
        assert_eq!(amount_2dp("0999999999.99"), Some(fdr::MAX_AMOUNT_CENTS));
        for bad in [
            "1000000000.00",
            "12.3",
            "12",
            "+1.00",
            "1.000",
            ".50",
            "1,00",
            "",
        ] {
            assert_eq!(amount_2dp(bad), None, "{bad}");
        }
    }

    #[test]
    fn counts_follow_libxml2s_reading_of_the_decimal_facets() {
        for (text, value) in [
            ("5", 5),
            ("+5", 5),
            ("005", 5),
            ("5.0", 5),
            ("5.", 5),
            ("999999999999999", 999_999_999_999_999),
            ("000000000000000000001", 1),
        ] {
            assert_eq!(count_value(text), Some(value), "{text}");
        }
        for bad in ["0", "-0", "-5", "1.5", ".5", "1e3", "1000000000000000", ""] {
            assert_eq!(count_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_psp_is_the_middle_of_a_saci_flow_id() {
        assert_eq!(
            psp_of_flow_id("2024-05-2160000000001-17163317305").as_deref(),
            Some("60000000001")
        );
        assert_eq!(
            psp_of_flow_id("2021-03-17SIGPITM1XXX-S005147952").as_deref(),
            Some("SIGPITM1XXX")
        );
        assert_eq!(
            psp_of_flow_id("2024-05-21PSP-X-1").as_deref(),
            Some("PSP-X")
        );
        for other in [
            "FLUSSO-1",
            "2024-13-01PSP-1",
            "2024-05-21-1",
            "2024-05-21PSP",
            "x",
        ] {
            assert_eq!(psp_of_flow_id(other), None, "{other}");
        }
    }

    #[test]
    fn zoned_times_become_rome_civil_time() {
        let t = |s: &str| local_date_time(s).map(|t| t.to_string());
        assert_eq!(
            t("2024-05-17T10:00:00").as_deref(),
            Some("2024-05-17 10:00:00")
        );
        assert_eq!(
            t("2024-05-17T08:00:00Z").as_deref(),
            Some("2024-05-17 10:00:00")
        );
        assert_eq!(
            t("2024-01-17T08:00:00Z").as_deref(),
            Some("2024-01-17 09:00:00")
        );
        assert_eq!(
            t("2024-05-17T10:00:00+02:00").as_deref(),
            Some("2024-05-17 10:00:00")
        );
        assert_eq!(
            t("2024-05-17T24:00:00").as_deref(),
            Some("2024-05-18 00:00:00")
        );
        assert_eq!(
            t("2023-04-05T09:21:37.810Z").as_deref(),
            Some("2023-04-05 11:21:37.810")
        );
        for bad in [
            "2024-05-17T24:00:01",
            "2024-05-17T10:00",
            "2024-05-17T10:00:60",
            "2024-05-17T10:00:00.",
            "0000-05-17T10:00:00",
            "2024-05-17",
        ] {
            assert_eq!(local_date_time(bad), None, "{bad}");
        }
        for local in [
            "2024-05-17T10:00:00",
            "2024-01-17T10:00:00.5",
            "2024-10-27T02:30:00",
        ] {
            let (civil, _) = date_time_parts(local).expect("parses");
            assert_eq!(local_date_time(&format_rome(civil)), Some(civil), "{local}");
        }
        // The hour the clocks skip has no offset; it is written, and read back, as is.
        let (skipped, _) = date_time_parts("2024-03-31T02:30:00").expect("parses");
        assert_eq!(format_rome(skipped), "2024-03-31T02:30:00");
    }
}
