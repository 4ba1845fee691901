//! The SOAP 1.1 envelope of paForNode, both directions.
//!
//! Reading ([`parse_request`], [`parse_response`]) goes through the bounded tree reader of
//! `xml` and then walks the tree in schema order, so every `sequence`, cardinality and simple
//! type of `paForNode.xsd` is checked and reported with the path of the element at fault.
//! The body element may be prefixed or in a default namespace; its children may be unqualified
//! (what the schema says, having no `elementFormDefault`) or qualified with the paForNode
//! namespace (what a default-namespace writer produces).
//!
//! Writing [`render_response`] never produces an invalid document:
//! - free texts are stripped of characters XML 1.0 cannot carry and cut to their schema length
//!   (counted in characters); an empty optional text is left out and an empty required text is
//!   written as `-`;
//! - metadata lists are cut to 15 entries; an invalid optional country or e-mail is left out;
//! - a KO carries exactly `outcome` and `fault` (`faultCode`, `faultString` from the code, `id`,
//!   `description` cut to 140 characters, `-` when empty);
//! - values that cannot be repaired without changing their meaning (amounts, fiscal codes,
//!   identifiers, IBANs, transfers, stamps, dates out of range, transfer amounts that do not add
//!   up) turn the response into a KO `PAA_SYSTEM_ERROR` naming the field; a digital stamp in a
//!   V1 `paGetPaymentRes`, which V1 cannot carry, turns it into a KO `PAA_SEMANTICA`.
//!
//! Date-times: `paymentDateTime` without a zone is Europe/Rome local time; `retentionDate` is
//! written in UTC with `Z`, to the second.
//!
//! [`render_request`] (the node's side, for the simulator and the tests) writes what it is
//! given, escaped but neither cut nor repaired; see its documentation.

use base64::Engine as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use crate::types::*;
use crate::xml::{self, Checked, Element, Node, Seq, is_xml_char, is_xml_whitespace};

/// Largest body accepted, in bytes (the API layer enforces it too).
pub const MAX_BODY: usize = 1 << 20;

/// The largest `stAmount`, 999999999.99, in cents.
pub const MAX_AMOUNT_CENTS: i64 = 99_999_999_999;

/// Most `mapEntry` elements of a `metadata`.
const MAX_METADATA: usize = 15;

// ------------------------------------------------------------------------------------------------
// Public API
// ------------------------------------------------------------------------------------------------

/// Reads a request of the node. `soap_action` is the `SOAPAction` header, if any.
#[expect(
    clippy::result_large_err,
    reason = "the error carries the fault to answer with; it is built once per bad request"
)]
pub fn parse_request(body: &[u8], soap_action: Option<&str>) -> Result<Request, RequestError> {
    if body.len() > MAX_BODY {
        return Err(RequestError::Malformed(format!(
            "the body is larger than {MAX_BODY} bytes"
        )));
    }
    let root = xml::parse(body).map_err(RequestError::Malformed)?;
    let payload = envelope_payload(&root).map_err(RequestError::Malformed)?;
    let Some(operation) = Operation::from_request_element(&payload.name) else {
        return Err(RequestError::Malformed(format!(
            "the body element {} is not a paForNode request",
            xml::show_name(&payload.name)
        )));
    };
    let caller = peek_caller(payload);
    let id = peek_field(payload, 0, "idPA").unwrap_or_default();
    let reject = |code: FaultCode, description: String| RequestError::Rejected {
        operation,
        caller: caller.clone(),
        fault: Fault::new(code, id.clone(), description),
    };

    if payload.ns.as_deref() != Some(NS_PA_FOR_NODE) {
        let shown = payload.ns.as_deref().map_or_else(
            || "no namespace".to_owned(),
            |n| format!("namespace {:?}", xml::truncate(n, 80)),
        );
        return Err(reject(
            FaultCode::SintassiXsd,
            format!(
                "{}: the element is in {shown}, expected {NS_PA_FOR_NODE:?}",
                operation.request_element()
            ),
        ));
    }

    if let Some(action) = soap_action {
        let bare = action.trim().trim_matches('"').trim();
        if !bare.is_empty() {
            match Operation::from_soap_action(bare) {
                Some(named) if named == operation => {}
                Some(named) => {
                    return Err(reject(
                        FaultCode::Semantica,
                        format!(
                            "SOAPAction {} contradicts the body element {}",
                            named.name(),
                            operation.request_element()
                        ),
                    ));
                }
                None => {
                    let shown: String = xml::truncate(bare, 40).to_owned();
                    return Err(reject(
                        FaultCode::Semantica,
                        format!(
                            "SOAPAction {shown:?} names no paForNode operation, and the body element is {}",
                            operation.request_element()
                        ),
                    ));
                }
            }
        }
    }

    let node = Node::root(payload, Some(NS_PA_FOR_NODE));
    let parsed = match operation {
        Operation::VerifyPaymentNotice => read_verify(&node),
        Operation::GetPayment => read_get_payment(&node, false),
        Operation::GetPaymentV2 => read_get_payment(&node, true),
        Operation::SendRt => read_send_rt(&node, false),
        Operation::SendRtV2 => read_send_rt(&node, true),
        Operation::DemandPaymentNotice => read_demand(&node),
    };
    parsed.map_err(|f| reject(FaultCode::SintassiXsd, f.describe()))
}

/// Writes the SOAP envelope of a response, valid against `paForNode.xsd`.
pub fn render_response(response: &Response) -> String {
    let op = response.operation();
    let mut w = Writer::default();
    let written = match response {
        Response::Verify(Ok(ok)) => write_verify_ok(&mut w, ok),
        Response::GetPayment {
            v2,
            result: Ok(data),
        } => write_get_payment_ok(&mut w, data, *v2),
        Response::SendRt { result: Ok(()), .. } => {
            w.leaf("outcome", "OK");
            Ok(())
        }
        Response::Verify(Err(fault))
        | Response::GetPayment {
            result: Err(fault), ..
        }
        | Response::SendRt {
            result: Err(fault), ..
        }
        | Response::Demand(fault) => {
            write_ko(&mut w, fault);
            Ok(())
        }
    };
    let content = match written {
        Ok(()) => w.out,
        Err(fault) => {
            let mut w = Writer::default();
            write_ko(&mut w, &fault);
            w.out
        }
    };
    envelope(op.response_element(), &content)
}

/// Writes a SOAP 1.1 `Fault` envelope (`soap:Client` when `client`, else `soap:Server`).
pub fn render_soap_fault(client: bool, message: &str) -> String {
    let code = if client {
        "soapenv:Client"
    } else {
        "soapenv:Server"
    };
    let mut w = Writer::default();
    w.open("soapenv:Fault");
    w.leaf("faultcode", code);
    let message = clean(message, 1000);
    w.leaf(
        "faultstring",
        if message.is_empty() { "-" } else { &message },
    );
    w.close("soapenv:Fault");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{NS_SOAP_ENV}"><soapenv:Body>{}</soapenv:Body></soapenv:Envelope>"#,
        w.out
    )
}

/// Writes the SOAP envelope of a request (the node's side, for the simulator and the tests).
///
/// The values are written as given (only characters XML cannot carry are dropped), so a
/// [`Request`] holding invalid values gives an invalid request, which is what a simulator
/// needs to test the other side. A V1 receipt cannot hold the V2-only fields: they are left out.
/// A V1 receipt with a stamp transfer is written with an `MBDAttachment`, which the V1 schema
/// refuses, rather than with a made-up IBAN. `paDemandPaymentNotice` is written with the
/// placeholder service `00001`, subject `00001` and empty data, which `Request::Demand` does
/// not hold.
pub fn render_request(request: &Request) -> String {
    let mut w = Writer::default();
    write_caller(&mut w, request.caller());
    match request {
        Request::Verify { qr, .. } => write_qr(&mut w, qr),
        Request::GetPayment {
            qr,
            amount,
            payment_note,
            transfer_type,
            due_date,
            ..
        } => {
            write_qr(&mut w, qr);
            if let Some(a) = amount {
                w.leaf("amount", &format_amount(*a));
            }
            w.leaf_opt("paymentNote", payment_note.as_deref());
            if let Some(t) = transfer_type {
                w.leaf(
                    "transferType",
                    match t {
                        TransferType::Postal => "POSTAL",
                        TransferType::PagoPa => "PAGOPA",
                    },
                );
            }
            if let Some(d) = due_date {
                w.leaf("dueDate", &format_date(*d));
            }
        }
        Request::SendRt { v2, receipt, .. } => write_receipt(&mut w, receipt, *v2),
        Request::Demand { .. } => {
            w.leaf("idServizio", "00001");
            w.leaf("idSoggettoServizio", "00001");
            w.leaf("datiSpecificiServizioRequest", "");
        }
    }
    envelope(request.operation().request_element(), &w.out)
}

/// Reads a response of this operation (the node's side).
pub fn parse_response(operation: Operation, body: &[u8]) -> Result<Response, String> {
    if body.len() > MAX_BODY {
        return Err(format!("the body is larger than {MAX_BODY} bytes"));
    }
    let root = xml::parse(body)?;
    let payload = envelope_payload(&root)?;
    if payload.is(NS_SOAP_ENV, "Fault") {
        let string = payload
            .children
            .iter()
            .find(|c| c.name == "faultstring")
            .map(|c| xml::truncate(&c.text, 200).to_owned())
            .unwrap_or_default();
        return Err(format!("SOAP fault: {string}"));
    }
    if !payload.is(NS_PA_FOR_NODE, operation.response_element()) {
        return Err(format!(
            "the body element is {}, expected {} in {NS_PA_FOR_NODE}",
            xml::show_name(&payload.name),
            operation.response_element()
        ));
    }
    let node = Node::root(payload, Some(NS_PA_FOR_NODE));
    read_response(&node, operation).map_err(|f| f.describe())
}

/// An amount in euro with two decimals (`12.30`) from cents.
pub fn format_amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Cents from an `stAmount` (`\d+\.\d{2}`, at most 999999999.99), exactly as written.
pub fn parse_amount(s: &str) -> Option<i64> {
    amount_value(s).ok()
}

/// An `xsd:dateTime` as an instant. Without a zone it is Europe/Rome local time (CET, CEST from
/// the last Sunday of March to the last Sunday of October, switching at 01:00 UTC); a local
/// time that occurs twice is read as the first one, one that does not exist as CET. Fractions
/// of a second beyond nanoseconds are dropped.
pub fn parse_date_time(s: &str) -> Option<DateTime<Utc>> {
    let (local, offset) = date_time_parts(s)?;
    let utc = match offset {
        Some(seconds) => local.checked_sub_signed(Duration::seconds(i64::from(seconds)))?,
        None => rome_to_utc(local)?,
    };
    Some(utc.and_utc())
}

// ------------------------------------------------------------------------------------------------
// Simple types
// ------------------------------------------------------------------------------------------------

enum AmountError {
    Lexical,
    TooLarge,
}

fn amount_value(s: &str) -> Result<i64, AmountError> {
    let (int, frac) = s.split_once('.').ok_or(AmountError::Lexical)?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.len() != 2 || !digits(frac) {
        return Err(AmountError::Lexical);
    }
    let int = int.trim_start_matches('0');
    if int.len() > 9 {
        return Err(AmountError::TooLarge);
    }
    let euros: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| AmountError::Lexical)?
    };
    let cents: i64 = frac.parse().map_err(|_| AmountError::Lexical)?;
    Ok(euros * 100 + cents)
}

/// `xsd:date` without its optional zone (the date as written).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let (date, rest) = ymd(s)?;
    zone(rest)?;
    Some(date)
}

/// Year (1 to 999999, four digits at least, no leading zero beyond four), month and day; the
/// rest of the input. Years before 1 are refused (no message of the node carries one).
fn ymd(s: &str) -> Option<(NaiveDate, &str)> {
    let ylen = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(4..=6).contains(&ylen) || (ylen > 4 && s.starts_with('0')) {
        return None;
    }
    let year: i32 = s[..ylen].parse().ok()?;
    if year == 0 {
        return None;
    }
    let rest = &s[ylen..];
    let b = rest.as_bytes();
    if b.len() < 6 || b[0] != b'-' || b[3] != b'-' {
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
fn zone(s: &str) -> Option<Option<i32>> {
    match s.as_bytes() {
        [] => Some(None),
        [b'Z'] => Some(Some(0)),
        [sign @ (b'+' | b'-'), h @ .., b':', m1, m2] if h.len() == 2 => {
            let hours = two_digits(h)?;
            let minutes = two_digits(&[*m1, *m2])?;
            if minutes > 59 || hours > 14 || (hours == 14 && minutes > 0) {
                return None;
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            Some(Some(if *sign == b'-' { -seconds } else { seconds }))
        }
        _ => None,
    }
}

/// The local date-time and the zone offset, if any, of an `xsd:dateTime`.
fn date_time_parts(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    let (date, rest) = ymd(s)?;
    let rest = rest.strip_prefix('T')?;
    let b = rest.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        two_digits(&b[0..2])?,
        two_digits(&b[3..5])?,
        two_digits(&b[6..8])?,
    );
    let mut rest = &rest[8..];
    let mut nanos = 0u32;
    let mut fraction_zero = true;
    if let Some(frac) = rest.strip_prefix('.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        for (i, d) in frac[..len].bytes().enumerate() {
            fraction_zero &= d == b'0';
            if i < 9 {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        rest = &frac[len..];
    }
    let offset = zone(rest)?;
    if minute > 59 || second > 59 {
        return None;
    }
    let local = if hour == 24 {
        if minute != 0 || second != 0 || !fraction_zero {
            return None;
        }
        date.succ_opt()?.and_time(NaiveTime::MIN)
    } else {
        date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?)
    };
    Some((local, offset))
}

/// The last Sunday of a month, at 01:00 UTC: when Europe/Rome switches.
/// Europe/Rome's local time at an instant: [`kernel::rome::local`], the one rule the crate
/// and its users share.
pub fn rome_local(t: DateTime<Utc>) -> NaiveDateTime {
    kernel::rome::local(t)
}

fn rome_offset_hours(utc: NaiveDateTime) -> i64 {
    kernel::rome::offset_hours(utc)
}

fn rome_to_utc(local: NaiveDateTime) -> Option<NaiveDateTime> {
    let as_summer = local.checked_sub_signed(Duration::hours(2))?;
    if rome_offset_hours(as_summer) == 2 {
        return Some(as_summer);
    }
    local.checked_sub_signed(Duration::hours(1))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// XSD `whiteSpace="collapse"`, as for every non-string type.
fn collapse(s: &str) -> String {
    s.split([' ', '\t', '\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn trim_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// The bytes of an `xsd:base64Binary` (padding required, no stray bits).
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// `stEMail`: `[a-zA-Z0-9_\.\+\-]+@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*`, at most 256 characters.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 256
        && !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'))
        && domain.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `stNazioneProvincia`: two capital letters.
fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// `stBase64Binary72`: base64 whose collapsed form has 4 to 72 characters.
fn is_base64_72(s: &str) -> bool {
    let collapsed = collapse(s);
    (4..=72).contains(&collapsed.chars().count()) && decode_base64(&collapsed).is_some()
}

fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn format_time(t: NaiveDateTime, with_fraction: bool) -> String {
    let mut s = format!(
        "{}T{:02}:{:02}:{:02}",
        format_date(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond() % 1_000_000_000;
    if with_fraction && nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s
}

/// Europe/Rome local time with its offset, as the node writes `paymentDateTime`.
fn format_rome(t: DateTime<Utc>) -> String {
    let utc = t.naive_utc();
    let hours = rome_offset_hours(utc);
    let local = utc
        .checked_add_signed(Duration::hours(hours))
        .unwrap_or(utc);
    format!("{}+{hours:02}:00", format_time(local, true))
}

// ------------------------------------------------------------------------------------------------
// Reading: envelope and simple-type checks
// ------------------------------------------------------------------------------------------------

/// The single element of the envelope's Body.
fn envelope_payload(root: &Element) -> Result<&Element, String> {
    if !root.is(NS_SOAP_ENV, "Envelope") {
        return Err(if root.name == "Envelope" {
            "the Envelope is not in the SOAP 1.1 namespace".to_owned()
        } else {
            "not a SOAP envelope".to_owned()
        });
    }
    if !is_xml_whitespace(&root.text) {
        return Err("the envelope holds text".to_owned());
    }
    let mut body = None;
    for (i, child) in root.children.iter().enumerate() {
        if i == 0 && child.is(NS_SOAP_ENV, "Header") {
            continue;
        }
        if body.is_none() && child.is(NS_SOAP_ENV, "Body") {
            body = Some(child);
            continue;
        }
        if body.is_some() && child.ns.as_deref() != Some(NS_SOAP_ENV) {
            continue;
        }
        return Err(format!(
            "unexpected element {} in the envelope",
            xml::show_name(&child.name)
        ));
    }
    let body = body.ok_or_else(|| "the envelope has no Body".to_owned())?;
    if !is_xml_whitespace(&body.text) {
        return Err("the Body holds text".to_owned());
    }
    match body.children.as_slice() {
        [one] => Ok(one),
        [] => Err("the Body is empty".to_owned()),
        _ => Err("the Body holds more than one element".to_owned()),
    }
}

/// The three caller fields, when they lead the request and are valid.
fn peek_caller(payload: &Element) -> Option<Caller> {
    Some(Caller {
        id_pa: peek_field(payload, 0, "idPA")?,
        id_broker_pa: peek_field(payload, 1, "idBrokerPA")?,
        id_station: peek_field(payload, 2, "idStation")?,
    })
}

/// Child `i` of the request when it is `name` and a valid `stText35`.
fn peek_field(payload: &Element, i: usize, name: &str) -> Option<String> {
    let el = payload.children.get(i)?;
    let ns_ok = el.ns.is_none() || el.ns.as_deref() == Some(NS_PA_FOR_NODE);
    let len = el.text.chars().count();
    (el.name == name && ns_ok && el.children.is_empty() && (1..=35).contains(&len))
        .then(|| el.text.clone())
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

fn opt_text(s: &mut Seq<'_>, name: &str, max: usize) -> Checked<Option<String>> {
    s.opt(name)?.map(|n| text(&n, 1, max)).transpose()
}

fn req_text(s: &mut Seq<'_>, name: &str, max: usize) -> Checked<String> {
    text(&s.req(name)?, 1, max)
}

fn digits(n: &Node<'_>, len: usize) -> Checked<String> {
    let v = n.text()?;
    if !is_digits(v, len) {
        return Err(n.fail(format!("{}is not {len} digits", n.quote(v))));
    }
    Ok(v.to_owned())
}

fn amount(n: &Node<'_>, not_zero: bool) -> Checked<i64> {
    let raw = n.text()?;
    let v = trim_ws(raw);
    let cents = amount_value(v).map_err(|e| {
        n.fail(match e {
            AmountError::Lexical => {
                format!("{}is not an amount in euro with two decimals", n.quote(raw))
            }
            AmountError::TooLarge => format!("{}exceeds 999999999.99", n.quote(raw)),
        })
    })?;
    if not_zero && cents == 0 {
        return Err(n.fail(format!("{}is zero, at least 0.01 required", n.quote(raw))));
    }
    Ok(cents)
}

fn date(n: &Node<'_>) -> Checked<NaiveDate> {
    let raw = n.text()?;
    parse_date(trim_ws(raw))
        .ok_or_else(|| n.fail(format!("{}is not a date (YYYY-MM-DD)", n.quote(raw))))
}

fn date_time(n: &Node<'_>) -> Checked<DateTime<Utc>> {
    let raw = n.text()?;
    parse_date_time(trim_ws(raw)).ok_or_else(|| {
        n.fail(format!(
            "{}is not a date-time (YYYY-MM-DDThh:mm:ss)",
            n.quote(raw)
        ))
    })
}

fn boolean(n: &Node<'_>) -> Checked<bool> {
    let raw = n.text()?;
    parse_bool(trim_ws(raw)).ok_or_else(|| {
        n.fail(format!(
            "{}is not a boolean (true, false, 1 or 0)",
            n.quote(raw)
        ))
    })
}

fn one_of<'v>(n: &Node<'_>, values: &[&'v str]) -> Checked<&'v str> {
    let v = n.text()?;
    values
        .iter()
        .find(|x| **x == v)
        .copied()
        .ok_or_else(|| n.fail(format!("{}is not one of {}", n.quote(v), values.join(", "))))
}

fn base64_text(n: &Node<'_>) -> Checked<(String, Vec<u8>)> {
    let v = n.text()?;
    let bytes = decode_base64(v).ok_or_else(|| n.fail("is not base64"))?;
    Ok((v.to_owned(), bytes))
}

/// `stIdTransfer`: an `xsd:int` whose value is 1 to 5 (`01` and `+1` are 1).
fn id_transfer(n: &Node<'_>) -> Checked<u8> {
    let raw = n.text()?;
    let v = trim_ws(raw);
    let unsigned = v.strip_prefix('+').unwrap_or(v);
    let ok = !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit());
    let value = unsigned.trim_start_matches('0');
    match value {
        "1" | "2" | "3" | "4" | "5" if ok => Ok(value.as_bytes()[0] - b'0'),
        _ => Err(n.fail(format!("{}is not an idTransfer (1 to 5)", n.quote(raw)))),
    }
}

// ------------------------------------------------------------------------------------------------
// Reading: requests
// ------------------------------------------------------------------------------------------------

fn read_caller(s: &mut Seq<'_>) -> Checked<Caller> {
    Ok(Caller {
        id_pa: req_text(s, "idPA", 35)?,
        id_broker_pa: req_text(s, "idBrokerPA", 35)?,
        id_station: req_text(s, "idStation", 35)?,
    })
}

fn read_qr(n: &Node<'_>) -> Checked<QrCode> {
    let mut s = n.seq()?;
    let fiscal_code = digits(&s.req("fiscalCode")?, 11)?;
    let notice_number = digits(&s.req("noticeNumber")?, 18)?;
    s.end()?;
    Ok(QrCode {
        fiscal_code,
        notice_number,
    })
}

fn read_verify(n: &Node<'_>) -> Checked<Request> {
    let mut s = n.seq()?;
    let caller = read_caller(&mut s)?;
    let qr = read_qr(&s.req("qrCode")?)?;
    s.end()?;
    Ok(Request::Verify { caller, qr })
}

fn read_get_payment(n: &Node<'_>, v2: bool) -> Checked<Request> {
    let mut s = n.seq()?;
    let caller = read_caller(&mut s)?;
    let qr = read_qr(&s.req("qrCode")?)?;
    let amount = s.opt("amount")?.map(|n| amount(&n, false)).transpose()?;
    let payment_note = opt_text(&mut s, "paymentNote", 210)?;
    let transfer_type = s
        .opt("transferType")?
        .map(|n| {
            one_of(&n, &["POSTAL", "PAGOPA"]).map(|v| match v {
                "POSTAL" => TransferType::Postal,
                _ => TransferType::PagoPa,
            })
        })
        .transpose()?;
    let due_date = s.opt("dueDate")?.map(|n| date(&n)).transpose()?;
    s.end()?;
    Ok(Request::GetPayment {
        v2,
        caller,
        qr,
        amount,
        payment_note,
        transfer_type,
        due_date,
    })
}

fn read_send_rt(n: &Node<'_>, v2: bool) -> Checked<Request> {
    let mut s = n.seq()?;
    let caller = read_caller(&mut s)?;
    let receipt = read_receipt(&s.req("receipt")?, v2)?;
    s.end()?;
    Ok(Request::SendRt {
        v2,
        caller,
        receipt: Box::new(receipt),
    })
}

fn read_demand(n: &Node<'_>) -> Checked<Request> {
    let mut s = n.seq()?;
    let caller = read_caller(&mut s)?;
    text(&s.req("idServizio")?, 5, 5)?;
    text(&s.req("idSoggettoServizio")?, 5, 5)?;
    base64_text(&s.req("datiSpecificiServizioRequest")?)?;
    s.end()?;
    Ok(Request::Demand { caller })
}

fn read_subject(n: &Node<'_>) -> Checked<Subject> {
    let n = n.clone().private();
    let mut s = n.seq()?;
    let id_node = s.req("uniqueIdentifier")?;
    let mut ids = id_node.seq()?;
    let kind = match one_of(&ids.req("entityUniqueIdentifierType")?, &["F", "G"])? {
        "F" => EntityType::Person,
        _ => EntityType::Legal,
    };
    let id = text(&ids.req("entityUniqueIdentifierValue")?, 2, 16)?;
    ids.end()?;
    let full_name = req_text(&mut s, "fullName", 70)?;
    let street_name = opt_text(&mut s, "streetName", 70)?;
    let civic_number = opt_text(&mut s, "civicNumber", 16)?;
    let postal_code = opt_text(&mut s, "postalCode", 16)?;
    let city = opt_text(&mut s, "city", 35)?;
    let state_province_region = opt_text(&mut s, "stateProvinceRegion", 35)?;
    let country = match s.opt("country")? {
        Some(c) => {
            let v = c.text()?;
            if !is_country(v) {
                return Err(c.fail("is not two capital letters"));
            }
            Some(v.to_owned())
        }
        None => None,
    };
    let email = match s.opt("e-mail")? {
        Some(e) => {
            let v = e.text()?;
            if !is_email(v) {
                return Err(e.fail("is not an e-mail address"));
            }
            Some(v.to_owned())
        }
        None => None,
    };
    s.end()?;
    Ok(Subject {
        kind,
        id,
        full_name,
        street_name,
        civic_number,
        postal_code,
        city,
        state_province_region,
        country,
        email,
    })
}

fn read_metadata(s: &mut Seq<'_>) -> Checked<Vec<MapEntry>> {
    let Some(n) = s.opt("metadata")? else {
        return Ok(Vec::new());
    };
    let mut m = n.seq()?;
    let entries = m
        .many("mapEntry", MAX_METADATA)?
        .iter()
        .map(|e| {
            let mut kv = e.seq()?;
            let key = req_text(&mut kv, "key", 140)?;
            let value = req_text(&mut kv, "value", 140)?;
            kv.end()?;
            Ok(MapEntry { key, value })
        })
        .collect::<Checked<Vec<_>>>()?;
    m.end()?;
    Ok(entries)
}

fn read_transfer_list<'a, T>(
    s: &mut Seq<'a>,
    read: impl Fn(&Node<'a>) -> Checked<T>,
) -> Checked<Vec<T>> {
    let list = s.req("transferList")?;
    let mut ts = list.seq()?;
    let items = ts.many("transfer", 5)?;
    ts.end()?;
    items.iter().map(read).collect()
}

fn read_receipt_transfer(n: &Node<'_>, v2: bool) -> Checked<ReceiptTransfer> {
    let mut s = n.seq()?;
    let id_transfer = id_transfer(&s.req("idTransfer")?)?;
    let amount = amount(&s.req("transferAmount")?, true)?;
    let fiscal_code_pa = digits(&s.req("fiscalCodePA")?, 11)?;
    let company_name = if v2 {
        opt_text(&mut s, "companyName", 140)?
    } else {
        None
    };
    let target = if !v2 {
        ReceiptTarget::Iban(text(&s.req("IBAN")?, 1, 35)?)
    } else if let Some(iban) = s.opt("IBAN")? {
        ReceiptTarget::Iban(text(&iban, 1, 35)?)
    } else if let Some(att) = s.opt("MBDAttachment")? {
        let (attachment, bytes) = base64_text(&att)?;
        ReceiptTarget::Stamp {
            attachment,
            stamp: crate::mbd::parse(&bytes).ok(),
        }
    } else {
        return Err(missing_choice(&s, n, "IBAN or MBDAttachment"));
    };
    let remittance_information = req_text(&mut s, "remittanceInformation", 140)?;
    let transfer_category = req_text(&mut s, "transferCategory", 140)?;
    let metadata = read_metadata(&mut s)?;
    s.end()?;
    Ok(ReceiptTransfer {
        id_transfer,
        amount,
        fiscal_code_pa,
        company_name,
        target,
        remittance_information,
        transfer_category,
        metadata,
    })
}

/// The error of a required element (or choice) that is not next in `s`, a child of `n`.
fn missing_choice(s: &Seq<'_>, n: &Node<'_>, what: &str) -> xml::Fail {
    match s.peek_name() {
        Some(other) => n.fail(format!(
            "{what} missing (found {} instead)",
            xml::show_name(other)
        )),
        None => n.fail(format!("{what} missing")),
    }
}

fn read_receipt(n: &Node<'_>, v2: bool) -> Checked<Receipt> {
    let mut s = n.seq()?;
    let receipt_id = s.req("receiptId")?.text()?.to_owned();
    let notice_number = digits(&s.req("noticeNumber")?, 18)?;
    let fiscal_code = digits(&s.req("fiscalCode")?, 11)?;
    let outcome_ok = one_of(&s.req("outcome")?, &["OK", "KO"])? == "OK";
    let creditor_reference_id = req_text(&mut s, "creditorReferenceId", 35)?;
    let payment_amount = amount(&s.req("paymentAmount")?, false)?;
    let description = req_text(&mut s, "description", 140)?;
    let company_name = req_text(&mut s, "companyName", 140)?;
    let office_name = opt_text(&mut s, "officeName", 140)?;
    let debtor = read_subject(&s.req("debtor")?)?;
    let transfers = read_transfer_list(&mut s, |t| read_receipt_transfer(t, v2))?;
    let id_psp = req_text(&mut s, "idPSP", 35)?;
    let psp_fiscal_code = opt_text(&mut s, "pspFiscalCode", 70)?;
    let psp_partita_iva = opt_text(&mut s, "pspPartitaIVA", 20)?;
    let psp_company_name = req_text(&mut s, "PSPCompanyName", 70)?;
    let id_channel = req_text(&mut s, "idChannel", 35)?;
    let channel_description = req_text(&mut s, "channelDescription", 35)?;
    let payer = s.opt("payer")?.map(|p| read_subject(&p)).transpose()?;
    let payment_method = opt_text(&mut s, "paymentMethod", 35)?;
    let payment_note = if v2 {
        opt_text(&mut s, "paymentNote", 210)?
    } else {
        None
    };
    let fee = s.opt("fee")?.map(|n| amount(&n, false)).transpose()?;
    let (primary_ci_incurred_fee, id_bundle, id_ci_bundle) = if v2 {
        (
            s.opt("primaryCiIncurredFee")?
                .map(|n| amount(&n, false))
                .transpose()?,
            opt_text(&mut s, "idBundle", 70)?,
            opt_text(&mut s, "idCiBundle", 70)?,
        )
    } else {
        (None, None, None)
    };
    let payment_date_time = s
        .opt("paymentDateTime")?
        .map(|n| date_time(&n))
        .transpose()?;
    let application_date = s.opt("applicationDate")?.map(|n| date(&n)).transpose()?;
    let transfer_date = s.opt("transferDate")?.map(|n| date(&n)).transpose()?;
    let metadata = read_metadata(&mut s)?;
    let stand_in = s.opt("standIn")?.map(|n| boolean(&n)).transpose()?;
    s.end()?;
    Ok(Receipt {
        receipt_id,
        notice_number,
        fiscal_code,
        outcome_ok,
        creditor_reference_id,
        payment_amount,
        description,
        company_name,
        office_name,
        debtor,
        transfers,
        id_psp,
        psp_fiscal_code,
        psp_partita_iva,
        psp_company_name,
        id_channel,
        channel_description,
        payer,
        payment_method,
        payment_note,
        fee,
        primary_ci_incurred_fee,
        id_bundle,
        id_ci_bundle,
        payment_date_time,
        application_date,
        transfer_date,
        metadata,
        stand_in,
    })
}

// ------------------------------------------------------------------------------------------------
// Reading: responses (the node's side)
// ------------------------------------------------------------------------------------------------

fn read_response(n: &Node<'_>, op: Operation) -> Checked<Response> {
    let mut s = n.seq()?;
    let outcome = one_of(&s.req("outcome")?, &["OK", "KO"])?;
    let fault = s.opt("fault")?.map(|f| read_fault(&f)).transpose()?;
    match (outcome, fault) {
        ("OK", None) => {}
        ("KO", Some(f)) => {
            s.end()?;
            return Ok(Response::ko(op, f));
        }
        ("OK", Some(_)) => return Err(n.fail("an OK response carries a fault")),
        _ => return Err(n.fail("a KO response carries no fault")),
    }
    let response = match op {
        Operation::VerifyPaymentNotice => Response::Verify(Ok(read_verify_ok(&mut s)?)),
        Operation::GetPayment | Operation::GetPaymentV2 => {
            let v2 = op == Operation::GetPaymentV2;
            let data = read_payment_data(&s.req("data")?, v2)?;
            Response::GetPayment {
                v2,
                result: Ok(Box::new(data)),
            }
        }
        Operation::SendRt => Response::SendRt {
            v2: false,
            result: Ok(()),
        },
        Operation::SendRtV2 => Response::SendRt {
            v2: true,
            result: Ok(()),
        },
        Operation::DemandPaymentNotice => {
            return Err(n.fail("an OK paDemandPaymentNoticeResponse is not supported"));
        }
    };
    s.end()?;
    Ok(response)
}

fn read_fault(n: &Node<'_>) -> Checked<Fault> {
    let mut s = n.seq()?;
    let code_node = s.req("faultCode")?;
    let code_text = code_node.text()?;
    let code = FaultCode::parse(code_text).ok_or_else(|| {
        code_node.fail(format!(
            "{}is not a fault code Sportello uses",
            code_node.quote(code_text)
        ))
    })?;
    s.req("faultString")?.text()?;
    let id = s.req("id")?.text()?.to_owned();
    let description = match s.opt("description")? {
        Some(d) => d.text()?.to_owned(),
        None => String::new(),
    };
    if let Some(serial) = s.opt("serial")? {
        let v = trim_ws(serial.text()?);
        if v.parse::<i32>().is_err() {
            return Err(serial.fail("is not an int"));
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
    Ok(Fault {
        code,
        id,
        description,
    })
}

fn read_verify_ok(s: &mut Seq<'_>) -> Checked<VerifyOk> {
    let list = s.req("paymentList")?;
    let mut ls = list.seq()?;
    let option = ls.req("paymentOptionDescription")?;
    ls.end()?;
    let mut o = option.seq()?;
    let amount = amount(&o.req("amount")?, true)?;
    let options = o.req("options")?;
    if one_of(&options, &["EQ", "LS", "GT", "ANY"])? != "EQ" {
        return Err(options.fail("only EQ is supported"));
    }
    let due_date = o.opt("dueDate")?.map(|n| date(&n)).transpose()?;
    let detail_description = opt_text(&mut o, "detailDescription", 140)?;
    let all_ccp = boolean(&o.req("allCCP")?)?;
    o.end()?;
    Ok(VerifyOk {
        amount,
        due_date,
        detail_description,
        all_ccp,
        payment_description: req_text(s, "paymentDescription", 140)?,
        fiscal_code_pa: digits(&s.req("fiscalCodePA")?, 11)?,
        company_name: req_text(s, "companyName", 140)?,
        office_name: opt_text(s, "officeName", 140)?,
    })
}

fn read_payment_transfer(n: &Node<'_>, v2: bool) -> Checked<TransferData> {
    let mut s = n.seq()?;
    let id_transfer = id_transfer(&s.req("idTransfer")?)?;
    let amount = amount(&s.req("transferAmount")?, true)?;
    let fiscal_code_pa = digits(&s.req("fiscalCodePA")?, 11)?;
    let company_name = if v2 {
        opt_text(&mut s, "companyName", 140)?
    } else {
        None
    };
    let target = if !v2 {
        TransferTarget::Iban(text(&s.req("IBAN")?, 1, 35)?)
    } else if let Some(iban) = s.opt("IBAN")? {
        TransferTarget::Iban(text(&iban, 1, 35)?)
    } else if let Some(stamp) = s.opt("richiestaMarcaDaBollo")? {
        let mut r = stamp.seq()?;
        let hash = r.req("hashDocumento")?;
        let hash_document = hash.text()?.to_owned();
        if !is_base64_72(&hash_document) {
            return Err(hash.fail("is not base64 of 4 to 72 characters"));
        }
        let stamp_type = one_of(&r.req("tipoBollo")?, &["01"])?.to_owned();
        let province_node = r.req("provinciaResidenza")?;
        let province = province_node.text()?.to_owned();
        if !is_country(&province) {
            return Err(province_node.fail("is not two capital letters"));
        }
        r.end()?;
        TransferTarget::Stamp {
            hash_document,
            stamp_type,
            province,
        }
    } else {
        return Err(missing_choice(&s, n, "IBAN or richiestaMarcaDaBollo"));
    };
    let remittance_information = req_text(&mut s, "remittanceInformation", 140)?;
    let transfer_category = req_text(&mut s, "transferCategory", 140)?;
    let metadata = read_metadata(&mut s)?;
    s.end()?;
    Ok(TransferData {
        id_transfer,
        amount,
        fiscal_code_pa,
        company_name,
        target,
        remittance_information,
        transfer_category,
        metadata,
    })
}

fn read_payment_data(n: &Node<'_>, v2: bool) -> Checked<PaymentData> {
    let mut s = n.seq()?;
    let creditor_reference_id = req_text(&mut s, "creditorReferenceId", 35)?;
    let payment_amount = amount(&s.req("paymentAmount")?, true)?;
    let due_date = date(&s.req("dueDate")?)?;
    let retention_date = s.opt("retentionDate")?.map(|n| date_time(&n)).transpose()?;
    let last_payment = s.opt("lastPayment")?.map(|n| boolean(&n)).transpose()?;
    let description = req_text(&mut s, "description", 140)?;
    let company_name = if v2 {
        req_text(&mut s, "companyName", 140)?
    } else {
        opt_text(&mut s, "companyName", 140)?.unwrap_or_default()
    };
    let office_name = opt_text(&mut s, "officeName", 140)?;
    let debtor = read_subject(&s.req("debtor")?)?;
    let transfers = read_transfer_list(&mut s, |t| read_payment_transfer(t, v2))?;
    let metadata = read_metadata(&mut s)?;
    s.end()?;
    Ok(PaymentData {
        creditor_reference_id,
        payment_amount,
        due_date,
        retention_date,
        last_payment,
        description,
        company_name,
        office_name,
        debtor,
        transfers,
        metadata,
    })
}

// ------------------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------------------

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

    /// An element with text, escaped; characters XML cannot carry are dropped.
    fn leaf(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_into(&mut self.out, value);
        self.close(name);
    }

    fn leaf_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.leaf(name, v);
        }
    }

    /// A required free text: cleaned, cut to `max` characters, `-` when nothing is left.
    fn text(&mut self, name: &str, value: &str, max: usize) {
        let v = clean(value, max);
        self.leaf(name, if v.is_empty() { "-" } else { &v });
    }

    /// An optional free text: cleaned, cut to `max` characters, left out when nothing is left.
    fn text_opt(&mut self, name: &str, value: Option<&str>, max: usize) {
        let v = value.map(|v| clean(v, max)).unwrap_or_default();
        if !v.is_empty() {
            self.leaf(name, &v);
        }
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A literal CR would be read back as a line feed.
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// The characters of `s` XML can carry, at most `max` of them.
fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| is_xml_char(*c)).take(max).collect()
}

fn envelope(element: &str, content: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{NS_SOAP_ENV}"><soapenv:Body><pafn:{element} xmlns:pafn="{NS_PA_FOR_NODE}">{content}</pafn:{element}></soapenv:Body></soapenv:Envelope>"#
    )
}

fn write_ko(w: &mut Writer, fault: &Fault) {
    w.leaf("outcome", "KO");
    w.open("fault");
    w.leaf("faultCode", fault.code.as_str());
    w.leaf("faultString", fault.code.fault_string());
    w.leaf("id", &clean(&fault.id, 140));
    w.text("description", &fault.description, 140);
    w.close("fault");
}

/// The fault of a response whose data cannot be written valid: Sportello's own bug.
fn unrenderable(id: &str, what: &str) -> Fault {
    let id = if is_digits(id, 11) { id } else { "" };
    Fault::new(
        FaultCode::SystemError,
        id,
        format!("the response cannot be written: {what}"),
    )
}

fn check_amount(id: &str, cents: i64, what: &str) -> Result<String, Fault> {
    if (1..=MAX_AMOUNT_CENTS).contains(&cents) {
        Ok(format_amount(cents))
    } else {
        Err(unrenderable(id, &format!("{what} is out of range")))
    }
}

fn check_date(id: &str, d: NaiveDate, what: &str) -> Result<String, Fault> {
    if (1..=9999).contains(&d.year()) {
        Ok(format_date(d))
    } else {
        Err(unrenderable(id, &format!("{what} is out of range")))
    }
}

/// An identifier the schema limits to `min..=max` characters: written as is, or not at all.
fn check_id(id: &str, value: &str, min: usize, max: usize, what: &str) -> Result<(), Fault> {
    let len = value.chars().count();
    if (min..=max).contains(&len) && value.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(unrenderable(
            id,
            &format!("{what} is not {min} to {max} characters"),
        ))
    }
}

fn write_verify_ok(w: &mut Writer, v: &VerifyOk) -> Result<(), Fault> {
    let id = v.fiscal_code_pa.as_str();
    let amount = check_amount(id, v.amount, "amount")?;
    if !is_digits(&v.fiscal_code_pa, 11) {
        return Err(unrenderable("", "fiscalCodePA is not 11 digits"));
    }
    let due_date = v
        .due_date
        .map(|d| check_date(id, d, "dueDate"))
        .transpose()?;
    w.leaf("outcome", "OK");
    w.open("paymentList");
    w.open("paymentOptionDescription");
    w.leaf("amount", &amount);
    w.leaf("options", "EQ");
    w.leaf_opt("dueDate", due_date.as_deref());
    w.text_opt("detailDescription", v.detail_description.as_deref(), 140);
    w.leaf("allCCP", if v.all_ccp { "true" } else { "false" });
    w.close("paymentOptionDescription");
    w.close("paymentList");
    w.text("paymentDescription", &v.payment_description, 140);
    w.leaf("fiscalCodePA", &v.fiscal_code_pa);
    w.text("companyName", &v.company_name, 140);
    w.text_opt("officeName", v.office_name.as_deref(), 140);
    Ok(())
}

fn check_subject(id: &str, s: &Subject, what: &str) -> Result<(), Fault> {
    check_id(
        id,
        &s.id,
        2,
        16,
        &format!("{what} entityUniqueIdentifierValue"),
    )
}

fn write_subject(w: &mut Writer, name: &str, s: &Subject) {
    w.open(name);
    w.open("uniqueIdentifier");
    w.leaf(
        "entityUniqueIdentifierType",
        match s.kind {
            EntityType::Person => "F",
            EntityType::Legal => "G",
        },
    );
    w.leaf("entityUniqueIdentifierValue", &s.id);
    w.close("uniqueIdentifier");
    w.text("fullName", &s.full_name, 70);
    w.text_opt("streetName", s.street_name.as_deref(), 70);
    w.text_opt("civicNumber", s.civic_number.as_deref(), 16);
    w.text_opt("postalCode", s.postal_code.as_deref(), 16);
    w.text_opt("city", s.city.as_deref(), 35);
    w.text_opt(
        "stateProvinceRegion",
        s.state_province_region.as_deref(),
        35,
    );
    w.leaf_opt("country", s.country.as_deref().filter(|c| is_country(c)));
    w.leaf_opt("e-mail", s.email.as_deref().filter(|e| is_email(e)));
    w.close(name);
}

/// Up to 15 entries; an empty key or value becomes `-`.
fn write_metadata(w: &mut Writer, entries: &[MapEntry]) {
    if entries.is_empty() {
        return;
    }
    w.open("metadata");
    for e in entries.iter().take(MAX_METADATA) {
        w.open("mapEntry");
        w.text("key", &e.key, 140);
        w.text("value", &e.value, 140);
        w.close("mapEntry");
    }
    w.close("metadata");
}

fn write_get_payment_ok(w: &mut Writer, d: &PaymentData, v2: bool) -> Result<(), Fault> {
    let id = d
        .transfers
        .first()
        .map(|t| t.fiscal_code_pa.as_str())
        .unwrap_or("");
    // Everything that cannot be repaired is checked before anything is written.
    let payment_amount = check_amount(id, d.payment_amount, "paymentAmount")?;
    check_id(id, &d.creditor_reference_id, 1, 35, "creditorReferenceId")?;
    let due_date = check_date(id, d.due_date, "dueDate")?;
    let retention_date = match d.retention_date {
        Some(t) if (1..=9999).contains(&t.year()) => {
            Some(format!("{}Z", format_time(t.naive_utc(), false)))
        }
        Some(_) => return Err(unrenderable(id, "retentionDate is out of range")),
        None => None,
    };
    check_subject(id, &d.debtor, "debtor")?;
    if d.transfers.is_empty() || d.transfers.len() > 5 {
        return Err(unrenderable(id, "there must be 1 to 5 transfers"));
    }
    let mut amounts = Vec::new();
    let mut seen = [false; 6];
    let mut total: i64 = 0;
    for (i, t) in d.transfers.iter().enumerate() {
        let what = |field: &str| format!("transfer {} {field}", i + 1);
        if !(1..=5).contains(&t.id_transfer) || seen[usize::from(t.id_transfer)] {
            return Err(unrenderable(
                id,
                &what("idTransfer is not a distinct 1 to 5"),
            ));
        }
        seen[usize::from(t.id_transfer)] = true;
        amounts.push(check_amount(id, t.amount, &what("transferAmount"))?);
        total = total.saturating_add(t.amount);
        if !is_digits(&t.fiscal_code_pa, 11) {
            return Err(unrenderable(id, &what("fiscalCodePA is not 11 digits")));
        }
        match &t.target {
            TransferTarget::Iban(iban) => check_id(id, iban, 1, 35, &what("IBAN"))?,
            TransferTarget::Stamp { .. } if !v2 => {
                return Err(Fault::new(
                    FaultCode::Semantica,
                    if is_digits(id, 11) { id } else { "" },
                    "the payment includes a digital stamp (marca da bollo), which paGetPayment \
                     cannot carry: paGetPaymentV2 is required",
                ));
            }
            TransferTarget::Stamp {
                hash_document,
                stamp_type,
                province,
            } => {
                if !is_base64_72(hash_document) || stamp_type != "01" || !is_country(province) {
                    return Err(unrenderable(id, &what("richiestaMarcaDaBollo is invalid")));
                }
            }
        }
    }
    if total != d.payment_amount {
        return Err(unrenderable(
            id,
            "the transfer amounts do not add up to paymentAmount",
        ));
    }

    w.leaf("outcome", "OK");
    w.open("data");
    w.leaf("creditorReferenceId", &d.creditor_reference_id);
    w.leaf("paymentAmount", &payment_amount);
    w.leaf("dueDate", &due_date);
    w.leaf_opt("retentionDate", retention_date.as_deref());
    if let Some(last) = d.last_payment {
        w.leaf("lastPayment", if last { "true" } else { "false" });
    }
    w.text("description", &d.description, 140);
    if v2 {
        w.text("companyName", &d.company_name, 140);
    } else {
        w.text_opt("companyName", Some(&d.company_name), 140);
    }
    w.text_opt("officeName", d.office_name.as_deref(), 140);
    write_subject(w, "debtor", &d.debtor);
    w.open("transferList");
    for (t, amount) in d.transfers.iter().zip(&amounts) {
        w.open("transfer");
        w.leaf("idTransfer", &t.id_transfer.to_string());
        w.leaf("transferAmount", amount);
        w.leaf("fiscalCodePA", &t.fiscal_code_pa);
        if v2 {
            w.text_opt("companyName", t.company_name.as_deref(), 140);
        }
        match &t.target {
            TransferTarget::Iban(iban) => w.leaf("IBAN", iban),
            TransferTarget::Stamp {
                hash_document,
                stamp_type,
                province,
            } => {
                w.open("richiestaMarcaDaBollo");
                w.leaf("hashDocumento", hash_document);
                w.leaf("tipoBollo", stamp_type);
                w.leaf("provinciaResidenza", province);
                w.close("richiestaMarcaDaBollo");
            }
        }
        w.text("remittanceInformation", &t.remittance_information, 140);
        w.text("transferCategory", &t.transfer_category, 140);
        write_metadata(w, &t.metadata);
        w.close("transfer");
    }
    w.close("transferList");
    write_metadata(w, &d.metadata);
    w.close("data");
    Ok(())
}

fn write_caller(w: &mut Writer, c: &Caller) {
    w.leaf("idPA", &c.id_pa);
    w.leaf("idBrokerPA", &c.id_broker_pa);
    w.leaf("idStation", &c.id_station);
}

fn write_qr(w: &mut Writer, qr: &QrCode) {
    w.open("qrCode");
    w.leaf("fiscalCode", &qr.fiscal_code);
    w.leaf("noticeNumber", &qr.notice_number);
    w.close("qrCode");
}

/// A subject as given (the request side: no repair).
fn write_subject_as_is(w: &mut Writer, name: &str, s: &Subject) {
    w.open(name);
    w.open("uniqueIdentifier");
    w.leaf(
        "entityUniqueIdentifierType",
        match s.kind {
            EntityType::Person => "F",
            EntityType::Legal => "G",
        },
    );
    w.leaf("entityUniqueIdentifierValue", &s.id);
    w.close("uniqueIdentifier");
    w.leaf("fullName", &s.full_name);
    w.leaf_opt("streetName", s.street_name.as_deref());
    w.leaf_opt("civicNumber", s.civic_number.as_deref());
    w.leaf_opt("postalCode", s.postal_code.as_deref());
    w.leaf_opt("city", s.city.as_deref());
    w.leaf_opt("stateProvinceRegion", s.state_province_region.as_deref());
    w.leaf_opt("country", s.country.as_deref());
    w.leaf_opt("e-mail", s.email.as_deref());
    w.close(name);
}

fn write_metadata_as_is(w: &mut Writer, entries: &[MapEntry]) {
    if entries.is_empty() {
        return;
    }
    w.open("metadata");
    for e in entries {
        w.open("mapEntry");
        w.leaf("key", &e.key);
        w.leaf("value", &e.value);
        w.close("mapEntry");
    }
    w.close("metadata");
}

fn write_receipt(w: &mut Writer, r: &Receipt, v2: bool) {
    let amount = |cents: Option<i64>| cents.map(format_amount);
    w.open("receipt");
    w.leaf("receiptId", &r.receipt_id);
    w.leaf("noticeNumber", &r.notice_number);
    w.leaf("fiscalCode", &r.fiscal_code);
    w.leaf("outcome", if r.outcome_ok { "OK" } else { "KO" });
    w.leaf("creditorReferenceId", &r.creditor_reference_id);
    w.leaf("paymentAmount", &format_amount(r.payment_amount));
    w.leaf("description", &r.description);
    w.leaf("companyName", &r.company_name);
    w.leaf_opt("officeName", r.office_name.as_deref());
    write_subject_as_is(w, "debtor", &r.debtor);
    w.open("transferList");
    for t in &r.transfers {
        w.open("transfer");
        w.leaf("idTransfer", &t.id_transfer.to_string());
        w.leaf("transferAmount", &format_amount(t.amount));
        w.leaf("fiscalCodePA", &t.fiscal_code_pa);
        if v2 {
            w.leaf_opt("companyName", t.company_name.as_deref());
        }
        match &t.target {
            ReceiptTarget::Iban(iban) => w.leaf("IBAN", iban),
            ReceiptTarget::Stamp { attachment, .. } => w.leaf("MBDAttachment", attachment),
        }
        w.leaf("remittanceInformation", &t.remittance_information);
        w.leaf("transferCategory", &t.transfer_category);
        write_metadata_as_is(w, &t.metadata);
        w.close("transfer");
    }
    w.close("transferList");
    w.leaf("idPSP", &r.id_psp);
    w.leaf_opt("pspFiscalCode", r.psp_fiscal_code.as_deref());
    w.leaf_opt("pspPartitaIVA", r.psp_partita_iva.as_deref());
    w.leaf("PSPCompanyName", &r.psp_company_name);
    w.leaf("idChannel", &r.id_channel);
    w.leaf("channelDescription", &r.channel_description);
    if let Some(payer) = &r.payer {
        write_subject_as_is(w, "payer", payer);
    }
    w.leaf_opt("paymentMethod", r.payment_method.as_deref());
    if v2 {
        w.leaf_opt("paymentNote", r.payment_note.as_deref());
    }
    w.leaf_opt("fee", amount(r.fee).as_deref());
    if v2 {
        w.leaf_opt(
            "primaryCiIncurredFee",
            amount(r.primary_ci_incurred_fee).as_deref(),
        );
        w.leaf_opt("idBundle", r.id_bundle.as_deref());
        w.leaf_opt("idCiBundle", r.id_ci_bundle.as_deref());
    }
    w.leaf_opt(
        "paymentDateTime",
        r.payment_date_time.map(format_rome).as_deref(),
    );
    w.leaf_opt(
        "applicationDate",
        r.application_date.map(format_date).as_deref(),
    );
    w.leaf_opt("transferDate", r.transfer_date.map(format_date).as_deref());
    write_metadata_as_is(w, &r.metadata);
    if let Some(stand_in) = r.stand_in {
        w.leaf("standIn", if stand_in { "true" } else { "false" });
    }
    w.close("receipt");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rome(s: &str) -> String {
        parse_date_time(s)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_zone_less_date_time_is_rome_local_time() {
        assert_eq!(rome("2024-01-15T10:00:00"), "2024-01-15T09:00:00Z");
        assert_eq!(rome("2024-07-15T10:00:00"), "2024-07-15T08:00:00Z");
        // 2024: summer time from 31 March 01:00 UTC to 27 October 01:00 UTC.
        assert_eq!(rome("2024-03-31T01:59:59"), "2024-03-31T00:59:59Z");
        assert_eq!(rome("2024-03-31T03:00:00"), "2024-03-31T01:00:00Z");
        assert_eq!(rome("2024-10-27T02:30:00"), "2024-10-27T00:30:00Z");
        assert_eq!(rome("2024-10-27T03:00:00"), "2024-10-27T02:00:00Z");
        assert_eq!(rome("2024-10-26T23:00:00"), "2024-10-26T21:00:00Z");
        assert_eq!(rome("2024-07-15T10:00:00Z"), "2024-07-15T10:00:00Z");
        assert_eq!(rome("2024-07-15T10:00:00-03:30"), "2024-07-15T13:30:00Z");
        assert_eq!(rome("2024-12-31T24:00:00Z"), "2025-01-01T00:00:00Z");
        for bad in [
            "2024-07-15",
            "2024-07-15T10:00",
            "2024-02-30T10:00:00",
            "2024-07-15T10:00:60",
            "2024-07-15T24:00:01",
            "2024-07-15T10:00:00+15:00",
            "2024-07-15T10:00:00.",
            "0000-07-15T10:00:00",
            "02024-07-15T10:00:00",
            "2024-07-15 10:00:00",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_rome_offset_written_reads_back_as_the_same_instant() {
        for s in [
            "2024-03-31T00:59:59Z",
            "2024-03-31T01:00:00Z",
            "2024-10-27T00:59:59Z",
            "2024-10-27T01:00:00Z",
        ] {
            let t = parse_date_time(s).expect("valid");
            assert_eq!(parse_date_time(&format_rome(t)), Some(t), "{s}");
        }
        let t = parse_date_time("2024-03-31T01:00:00Z").expect("valid");
        assert_eq!(format_rome(t), "2024-03-31T03:00:00+02:00");
    }

    #[test]
    fn amounts_have_two_decimals_and_a_maximum() {
        assert_eq!(parse_amount("12.30"), Some(1230));
        assert_eq!(parse_amount("0012.30"), Some(1230));
        assert_eq!(parse_amount("999999999.99"), Some(MAX_AMOUNT_CENTS));
        for bad in [
            "1000000000.00",
            "10.5",
            "-1.00",
            "1",
            ".50",
            "1.234",
            " 1.00",
            "١.00",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(1230), "12.30");
        assert_eq!(format_amount(5), "0.05");
        assert_eq!(format_amount(-5), "-0.05");
    }

    #[test]
    fn e_mail_and_dates_follow_the_schema_patterns() {
        assert!(is_email("a.b+c@x-y.example.it"));
        assert!(is_email("a@b"));
        for bad in ["a@", "@b", "a@b.", "a@@b", "a b@c", "à@b"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(
            parse_date("2024-02-29Z"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-2-29"), None);
    }
}
