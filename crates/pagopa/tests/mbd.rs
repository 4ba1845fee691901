//! The MarcaDaBollo document: what the simulator writes is valid against `MarcaDaBollo.xsd`
//! (and the XML-DSig schema it imports) and reads back the same; bad documents are refused.

mod support;

use pagopa::mbd::{self, parse, render};
use proptest::prelude::*;
use support::samples::*;
use support::*;

#[test]
fn a_rendered_stamp_is_valid_against_the_schema() {
    let mut tricky = stamp();
    tricky.psp_name = "Banca <&> \"Rossi\" l'età €𝄞".into();
    tricky.purchased_at = "2024-05-01T10:11:12.345+02:00".into();
    tricky.amount = 5;
    let docs = vec![render(&stamp()), render(&tricky)];
    validate(&marca_da_bollo_xsd(), &docs).expect("valid stamps");
    assert_eq!(parse(docs[1].as_bytes()), Ok(tricky));
}

#[test]
fn the_signature_has_the_required_shape() {
    let doc = render(&stamp());
    let ds = |path: &str| {
        let steps: Vec<String> = path
            .split('/')
            .map(|p| {
                format!(
                    "*[local-name()='{p}' and namespace-uri()='{}']",
                    mbd::NS_XMLDSIG
                )
            })
            .collect();
        format!("count(/*/{})", steps.join("/"))
    };
    for path in [
        "Signature/SignedInfo/CanonicalizationMethod",
        "Signature/SignedInfo/SignatureMethod",
        "Signature/SignedInfo/Reference/DigestMethod",
        "Signature/SignedInfo/Reference/DigestValue",
        "Signature/SignatureValue",
    ] {
        assert_eq!(xpath(&doc, &ds(path)), "1", "{path}");
    }
    assert_eq!(
        xpath(
            &doc,
            "count(/*[local-name()='marcaDaBollo' and namespace-uri()='http://www.agenziaentrate.gov.it/2014/MarcaDaBollo'])"
        ),
        "1"
    );
}

#[test]
fn the_validator_refuses_a_broken_stamp() {
    // The schema check must be able to fail: a stamp without its signature is invalid.
    let doc = render(&stamp());
    let start = doc.find("<ds:Signature>").expect("signature");
    let end = doc.find("</ds:Signature>").expect("signature end") + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &doc[..start], &doc[end..]);
    assert!(validate(&marca_da_bollo_xsd(), std::slice::from_ref(&unsigned)).is_err());
    assert!(parse(unsigned.as_bytes()).is_err());
}

fn replaced(from: &str, to: &str) -> String {
    let doc = render(&stamp());
    assert!(doc.contains(from), "{from}");
    doc.replacen(from, to, 1)
}

#[test]
fn bad_documents_are_refused() {
    let cases = [
        ("not XML", "a stamp".to_owned()),
        ("empty", String::new()),
        (
            "wrong root",
            replaced("<marcaDaBollo xmlns=", "<marcaDaBolla xmlns=")
                .replace("</marcaDaBollo>", "</marcaDaBolla>"),
        ),
        (
            "wrong namespace",
            replaced(mbd::NS_MARCA_DA_BOLLO, "http://example.org/MarcaDaBollo"),
        ),
        (
            "stamp type",
            replaced("<TipoBollo>01</TipoBollo>", "<TipoBollo>02</TipoBollo>"),
        ),
        (
            "three decimals",
            replaced("<Importo>16.00</Importo>", "<Importo>16.001</Importo>"),
        ),
        (
            "not an amount",
            replaced("<Importo>16.00</Importo>", "<Importo>sedici</Importo>"),
        ),
        (
            "purchase time",
            replaced("<OraAcquisto>2024-05-01T10:11:12", "<OraAcquisto>ieri"),
        ),
        (
            "empty IUBD",
            replaced("<IUBD>01234567890123</IUBD>", "<IUBD></IUBD>"),
        ),
        ("missing IUBD", replaced("<IUBD>01234567890123</IUBD>", "")),
        (
            "digest algorithm",
            replaced(
                r#"<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
                r#"<DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>"#,
            ),
        ),
        (
            "digest not base64",
            replaced("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", "not base64"),
        ),
        (
            "unqualified child",
            replaced("<IUBD>", r#"<IUBD xmlns="">"#),
        ),
        (
            "a DOCTYPE",
            format!(
                r#"<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]>{}"#,
                replaced("<IUBD>01234567890123", "<IUBD>&e;")
                    .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            ),
        ),
        (
            "extra element",
            replaced("</ds:Signature>", "</ds:Signature><Extra/>"),
        ),
    ];
    for (name, doc) in cases {
        let result = parse(doc.as_bytes());
        assert!(result.is_err(), "{name}: {result:?}");
        assert!(!format!("{result:?}").contains("root:"), "{name}");
    }
}

#[test]
fn decimals_without_two_digits_are_read_as_the_schema_allows() {
    for (written, cents) in [
        ("16", 1600),
        ("16.5", 1650),
        ("16.500", 1650),
        (" 0.01 ", 1),
    ] {
        let doc = replaced(
            "<Importo>16.00</Importo>",
            &format!("<Importo>{written}</Importo>"),
        );
        validate(&marca_da_bollo_xsd(), std::slice::from_ref(&doc)).expect("valid");
        assert_eq!(
            parse(doc.as_bytes()).map(|s| s.amount),
            Ok(cents),
            "{written}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_stamp_reads_back_as_written(s in arb_stamp()) {
        prop_assert_eq!(parse(render(&s).as_bytes()), Ok(s));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1000)) {
        let _ = parse(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, ..ProptestConfig::default() })]

    #[test]
    fn generated_stamps_are_valid(stamps in proptest::collection::vec(arb_stamp(), 30)) {
        let docs: Vec<String> = stamps.iter().map(render).collect();
        if let Err(e) = validate(&marca_da_bollo_xsd(), &docs) {
            prop_assert!(false, "{}", e);
        }
    }
}
