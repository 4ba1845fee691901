//! The MarcaDaBollo document (`MarcaDaBollo.xsd`, Agenzia delle Entrate) of a digital stamp,
//! attached base64-encoded to a V2 receipt transfer.

use serde::{Deserialize, Serialize};

use crate::xml::{self, Checked, Node, Seq};

/// Namespace of `MarcaDaBollo.xsd` (`elementFormDefault="qualified"`).
pub const NS_MARCA_DA_BOLLO: &str = "http://www.agenziaentrate.gov.it/2014/MarcaDaBollo";
/// Namespace of XML-DSig.
pub const NS_XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The only digest algorithm `ImprontaDocumento` may name.
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// What a MarcaDaBollo document says. The XML-DSig signature is kept in the raw attachment,
/// not verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarcaDaBollo {
    pub psp_fiscal_code: String,
    pub psp_name: String,
    /// `IUBD`: the stamp's unique identifier.
    pub iubd: String,
    /// `OraAcquisto` as written.
    pub purchased_at: String,
    /// `Importo` in cents.
    pub amount: i64,
    /// `TipoBollo`, "01".
    pub stamp_type: String,
    /// `ImprontaDocumento/DigestValue` (base64 SHA-256 of the stamped document).
    pub document_digest: String,
}

/// Reads a MarcaDaBollo document.
pub fn parse(xml: &[u8]) -> Result<MarcaDaBollo, String> {
    let root = xml::parse(xml)?;
    if !root.is(NS_MARCA_DA_BOLLO, "marcaDaBollo") {
        return Err("not a MarcaDaBollo document".to_owned());
    }
    read(&Node::root(&root, None)).map_err(|f| f.describe())
}

/// Writes a MarcaDaBollo document (the simulator's PSP side), with a placeholder XML-DSig
/// `Signature` element of the required shape. The values are written as given, escaped.
pub fn render(stamp: &MarcaDaBollo) -> String {
    // 32 zero bytes: the shape of a SHA-256 digest; 64 for the signature value.
    let digest = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let signature =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<marcaDaBollo xmlns="{mdb}" xmlns:ds="{ds}">"#,
            "<PSP><CodiceFiscale>{cf}</CodiceFiscale><Denominazione>{name}</Denominazione></PSP>",
            "<IUBD>{iubd}</IUBD>",
            "<OraAcquisto>{at}</OraAcquisto>",
            "<Importo>{amount}</Importo>",
            "<TipoBollo>{kind}</TipoBollo>",
            r#"<ImprontaDocumento><DigestMethod Algorithm="{sha256}"/><ds:DigestValue>{doc}</ds:DigestValue></ImprontaDocumento>"#,
            "<ds:Signature><ds:SignedInfo>",
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r#"<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>"#,
            r#"<ds:DigestMethod Algorithm="{sha256}"/><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"#,
            "</ds:SignedInfo><ds:SignatureValue>{signature}</ds:SignatureValue></ds:Signature>",
            "</marcaDaBollo>"
        ),
        mdb = NS_MARCA_DA_BOLLO,
        ds = NS_XMLDSIG,
        cf = escape(&stamp.psp_fiscal_code),
        name = escape(&stamp.psp_name),
        iubd = escape(&stamp.iubd),
        at = escape(&stamp.purchased_at),
        amount = crate::soap::format_amount(stamp.amount),
        kind = escape(&stamp.stamp_type),
        sha256 = SHA256,
        doc = escape(&stamp.document_digest),
        digest = digest,
        signature = signature,
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c if xml::is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn req<'a>(s: &mut Seq<'a>, name: &str) -> Checked<Node<'a>> {
    s.req_in(Some(NS_MARCA_DA_BOLLO), name)
}

/// `tipoTXT`: a string of at least one character.
fn txt(n: &Node<'_>) -> Checked<String> {
    let v = n.text()?;
    if v.is_empty() {
        return Err(n.fail("is empty"));
    }
    Ok(v.to_owned())
}

fn read(n: &Node<'_>) -> Checked<MarcaDaBollo> {
    let mut s = n.seq()?;
    let psp = req(&mut s, "PSP")?;
    let mut p = psp.seq()?;
    let psp_fiscal_code = txt(&req(&mut p, "CodiceFiscale")?)?;
    let psp_name = txt(&req(&mut p, "Denominazione")?)?;
    p.end()?;
    let iubd = txt(&req(&mut s, "IUBD")?)?;
    let at = req(&mut s, "OraAcquisto")?;
    let purchased_at = trim(at.text()?).to_owned();
    if crate::soap::parse_date_time(&purchased_at).is_none() {
        return Err(at.fail("is not a date-time"));
    }
    let importo = req(&mut s, "Importo")?;
    let amount = decimal_cents(trim(importo.text()?))
        .ok_or_else(|| importo.fail("is not an amount with at most two decimals"))?;
    let kind = req(&mut s, "TipoBollo")?;
    let stamp_type = kind.text()?.to_owned();
    if stamp_type != "01" {
        return Err(kind.fail("is not 01"));
    }
    let print = req(&mut s, "ImprontaDocumento")?;
    let mut i = print.seq()?;
    let method = req(&mut i, "DigestMethod")?;
    if method.el.attribute("Algorithm") != Some(SHA256) {
        return Err(method.fail(format!("the Algorithm is not {SHA256}")));
    }
    method.seq()?.end()?;
    let value = i.req_in(Some(NS_XMLDSIG), "DigestValue")?;
    let document_digest = value.text()?.to_owned();
    if crate::soap::decode_base64(&document_digest).is_none() {
        return Err(value.fail("is not base64"));
    }
    i.end()?;
    let signature = s.req_in(Some(NS_XMLDSIG), "Signature")?;
    let mut sig = signature.seq()?;
    sig.req_in(Some(NS_XMLDSIG), "SignedInfo")?;
    sig.req_in(Some(NS_XMLDSIG), "SignatureValue")?;
    s.end()?;
    Ok(MarcaDaBollo {
        psp_fiscal_code,
        psp_name,
        iubd,
        purchased_at,
        amount,
        stamp_type,
        document_digest,
    })
}

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// An `xsd:decimal` with at most two significant fraction digits, in cents.
fn decimal_cents(s: &str) -> Option<i64> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if frac.len() > 2 || int.len() > 15 {
        return None;
    }
    let euros: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    let value = euros * 100 + cents;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_with_up_to_two_fraction_digits_are_cents() {
        assert_eq!(decimal_cents("16.00"), Some(1600));
        assert_eq!(decimal_cents("16"), Some(1600));
        assert_eq!(decimal_cents("16.5"), Some(1650));
        assert_eq!(decimal_cents("16.500"), Some(1650));
        assert_eq!(decimal_cents(".5"), Some(50));
        assert_eq!(decimal_cents("-0.01"), Some(-1));
        for bad in ["", ".", "16.555", "1e3", "16,00", "+", "--1"] {
            assert_eq!(decimal_cents(bad), None, "{bad}");
        }
    }
}
