//! Reading the node's requests: what the node side writes reads back the same, the forms real
//! clients produce are accepted, `SOAPAction` is checked against the body, and every kind of
//! bad input is refused with the right error, without panicking.

mod support;

use pagopa::soap::{parse_request, render_request};
use pagopa::*;
use proptest::prelude::*;
use support::samples::*;

const VERIFY_BODY: &str = "<idPA>01234567890</idPA><idBrokerPA>01234567890</idBrokerPA>\
    <idStation>01234567890_01</idStation><qrCode><fiscalCode>01234567890</fiscalCode>\
    <noticeNumber>302000000000000123</noticeNumber></qrCode>";

/// A request envelope in the schema-correct form: prefixed wrapper, unqualified children.
fn request(element: &str, content: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd"><soapenv:Body><pafn:{element}>{content}</pafn:{element}></soapenv:Body></soapenv:Envelope>"#
    )
}

fn verify(content: &str) -> String {
    request("paVerifyPaymentNoticeReq", content)
}

fn expected_verify() -> Request {
    Request::Verify {
        caller: caller(),
        qr: qr(),
    }
}

#[expect(clippy::result_large_err, reason = "the signature of parse_request")]
fn parse(doc: &str) -> Result<Request, RequestError> {
    parse_request(doc.as_bytes(), None)
}

/// The fault of a rejected request, checking its operation and code.
fn rejected(doc: &str, op: Operation, code: FaultCode) -> (Option<Caller>, Fault) {
    match parse(doc) {
        Err(RequestError::Rejected {
            operation,
            caller,
            fault,
        }) => {
            assert_eq!(operation, op, "{fault:?}");
            assert_eq!(fault.code, code, "{fault:?}");
            (caller, fault)
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn malformed(doc: &[u8]) -> String {
    match parse_request(doc, None) {
        Err(RequestError::Malformed(message)) => message,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn send_rt_v2(receipt: &Receipt) -> String {
    render_request(&Request::SendRt {
        v2: true,
        caller: caller(),
        receipt: Box::new(receipt.clone()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn what_the_node_side_writes_reads_back_the_same(r in arb_request()) {
        let doc = render_request(&r);
        prop_assert_eq!(parse_request(doc.as_bytes(), Some(r.operation().name())), Ok(r));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_request(&bytes, None);
    }

    #[test]
    fn mutated_requests_never_panic(
        r in arb_request(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..8),
        action in proptest::option::of("[a-zA-Z\"/#:. ]{0,30}"),
    ) {
        let mut bytes = render_request(&r).into_bytes();
        for (at, kind, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.truncate(i),
                2 => {
                    let piece = bytes[i..].iter().take(40).copied().collect::<Vec<_>>();
                    bytes.splice(i..i, piece);
                }
                _ => bytes.insert(i, *b"<>&\"'/=;"
                    .get(usize::from(byte) % 8)
                    .unwrap_or(&b'<')),
            }
        }
        let _ = parse_request(&bytes, action.as_deref());
    }
}

#[test]
fn the_schema_correct_form_is_read() {
    assert_eq!(parse(&verify(VERIFY_BODY)), Ok(expected_verify()));
}

#[test]
fn a_default_namespace_with_qualified_children_is_read() {
    let doc = format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><paVerifyPaymentNoticeReq xmlns="{NS_PA_FOR_NODE}">{VERIFY_BODY}</paVerifyPaymentNoticeReq></soap:Body></soap:Envelope>"#
    );
    assert_eq!(parse(&doc), Ok(expected_verify()));
}

#[test]
fn children_undeclaring_the_default_namespace_are_read() {
    let body = VERIFY_BODY
        .replace("<idPA>", r#"<idPA xmlns="">"#)
        .replace("<qrCode>", r#"<qrCode xmlns="">"#);
    let doc = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><paVerifyPaymentNoticeReq xmlns="{NS_PA_FOR_NODE}">{body}</paVerifyPaymentNoticeReq></s:Body></s:Envelope>"#
    );
    // idBrokerPA and idStation stay qualified: both forms may mix.
    assert_eq!(parse(&doc), Ok(expected_verify()));
}

#[test]
fn other_prefixes_crlf_comments_and_a_header_are_read() {
    let body = VERIFY_BODY.replace("><", ">\r\n    <");
    let doc = format!(
        "<?xml version='1.0' encoding='utf-8'?>\r\n<!-- from the node -->\r\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\r\n\
         <SOAP-ENV:Header><wsse:Security xmlns:wsse=\"urn:wsse\" SOAP-ENV:mustUnderstand=\"0\">\
         <wsse:Token>x</wsse:Token></wsse:Security></SOAP-ENV:Header>\r\n\
         <SOAP-ENV:Body>\r\n  <ns2:paVerifyPaymentNoticeReq xmlns:ns2=\"{NS_PA_FOR_NODE}\">\r\n    \
         {body}\r\n  </ns2:paVerifyPaymentNoticeReq>\r\n</SOAP-ENV:Body>\r\n</SOAP-ENV:Envelope>\r\n"
    );
    assert_eq!(parse(&doc), Ok(expected_verify()));
    let no_declaration = doc.replace("<?xml version='1.0' encoding='utf-8'?>", "");
    assert_eq!(parse(&no_declaration), Ok(expected_verify()));
    let with_bom = format!("\u{FEFF}{doc}");
    assert_eq!(parse(&with_bom), Ok(expected_verify()));
}

#[test]
fn a_default_namespace_receipt_with_qualified_grandchildren_is_read() {
    let receipt = receipt(true, 3);
    let schema_form = send_rt_v2(&receipt);
    // Rewrite into the default-namespace form: no prefix anywhere under the wrapper.
    let qualified = schema_form
        .replace(
            r#"<pafn:paSendRTV2Request xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd">"#,
            r#"<paSendRTV2Request xmlns="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd">"#,
        )
        .replace("</pafn:paSendRTV2Request>", "</paSendRTV2Request>");
    assert_ne!(qualified, schema_form);
    let parsed = parse(&qualified).expect("accepted");
    let Request::SendRt {
        v2: true,
        receipt: parsed_receipt,
        ..
    } = parsed
    else {
        panic!("a V2 receipt");
    };
    assert_eq!(*parsed_receipt, receipt);
    // The stamp attachment was decoded and read.
    assert!(matches!(
        &parsed_receipt.transfers[1].target,
        ReceiptTarget::Stamp { stamp: Some(s), .. } if *s == stamp()
    ));
}

#[test]
fn a_zone_less_payment_date_time_is_rome_local_time() {
    let doc = send_rt_v2(&receipt(true, 1)).replace(
        "<paymentDateTime>2024-05-01T10:30:00+02:00</paymentDateTime>",
        "<paymentDateTime>2024-01-10T10:30:00.250</paymentDateTime>",
    );
    let Ok(Request::SendRt { receipt: r, .. }) = parse(&doc) else {
        panic!("accepted");
    };
    let expected = at(2024, 1, 10, 9, 30, 0) + chrono::Duration::milliseconds(250);
    assert_eq!(r.payment_date_time, Some(expected));
}

#[test]
fn soap_action_naming_the_body_operation_is_accepted() {
    let doc = verify(VERIFY_BODY);
    for action in [
        "paVerifyPaymentNotice",
        "\"paVerifyPaymentNotice\"",
        "http://pagopa-api.pagopa.gov.it/pa/paForNode.wsdl/paVerifyPaymentNotice",
        "urn:x#paVerifyPaymentNotice",
        "",
        "\"\"",
    ] {
        assert_eq!(
            parse_request(doc.as_bytes(), Some(action)),
            Ok(expected_verify()),
            "{action}"
        );
    }
}

#[test]
fn soap_action_contradicting_the_body_is_a_semantic_error() {
    let doc = verify(VERIFY_BODY);
    for (action, named) in [
        ("paGetPayment", "paGetPayment"),
        ("\"paSendRTV2\"", "paSendRTV2"),
        ("paVerifyPaymentNoticeX", "paVerifyPaymentNoticeX"),
        ("nonsense", "nonsense"),
    ] {
        match parse_request(doc.as_bytes(), Some(action)) {
            Err(RequestError::Rejected {
                operation,
                caller: c,
                fault,
            }) => {
                assert_eq!(operation, Operation::VerifyPaymentNotice);
                assert_eq!(fault.code, FaultCode::Semantica);
                assert_eq!(c, Some(caller()));
                assert_eq!(fault.id, "01234567890");
                assert!(fault.description.contains(named), "{}", fault.description);
                assert!(
                    fault.description.contains("paVerifyPaymentNoticeReq"),
                    "{}",
                    fault.description
                );
            }
            other => panic!("{action}: {other:?}"),
        }
    }
}

#[test]
fn what_is_not_a_soap_request_is_malformed() {
    let valid = verify(VERIFY_BODY);
    let env = "http://schemas.xmlsoap.org/soap/envelope/";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not XML", b"hello, world".to_vec()),
        ("empty", Vec::new()),
        ("truncated", valid.as_bytes()[..valid.len() / 2].to_vec()),
        (
            "no envelope",
            format!(r#"<paVerifyPaymentNoticeReq xmlns="{NS_PA_FOR_NODE}">{VERIFY_BODY}</paVerifyPaymentNoticeReq>"#)
                .into_bytes(),
        ),
        (
            "SOAP 1.2",
            valid
                .replace(env, "http://www.w3.org/2003/05/soap-envelope")
                .into_bytes(),
        ),
        (
            "no body",
            format!(r#"<e:Envelope xmlns:e="{env}"><e:Header/></e:Envelope>"#).into_bytes(),
        ),
        (
            "empty body",
            format!(r#"<e:Envelope xmlns:e="{env}"><e:Body>  </e:Body></e:Envelope>"#).into_bytes(),
        ),
        (
            "two body elements",
            valid
                .replace("</soapenv:Body>", "<x/></soapenv:Body>")
                .into_bytes(),
        ),
        (
            "unknown operation",
            request("paFooReq", VERIFY_BODY).into_bytes(),
        ),
        (
            "a response, not a request",
            request("paVerifyPaymentNoticeRes", "<outcome>OK</outcome>").into_bytes(),
        ),
        (
            "text in the body",
            valid
                .replace("<soapenv:Body>", "<soapenv:Body>hello")
                .into_bytes(),
        ),
        (
            "undeclared prefix",
            valid.replace("pafn:paVerify", "zz:paVerify").into_bytes(),
        ),
        ("a NUL character", valid.replace("01234567890_01", "\u{0}").into_bytes()),
        (
            "Latin-1",
            [b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".as_slice(), &valid.as_bytes()[38..]]
                .concat(),
        ),
        (
            "an undefined entity",
            valid.replace("01234567890_01", "&nbsp;").into_bytes(),
        ),
        (
            "a processing instruction",
            valid.replace("<qrCode>", "<?php x ?><qrCode>").into_bytes(),
        ),
    ];
    for (name, doc) in cases {
        match parse_request(&doc, None) {
            Err(RequestError::Malformed(_)) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    let mut latin1 = valid.into_bytes();
    latin1.extend_from_slice(b"\xe9");
    malformed(&latin1);
}

#[test]
fn external_entities_are_refused_without_reading_them() {
    let doc = format!(
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>{}"#,
        verify(&VERIFY_BODY.replace("01234567890_01", "&e;"))
            .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    let error = parse_request(doc.as_bytes(), None).expect_err("refused");
    assert!(matches!(error, RequestError::Malformed(_)));
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("root:"), "{shown}");
    assert!(!shown.contains("passwd"), "{shown}");
}

#[test]
fn billion_laughs_are_refused() {
    let mut dtd = String::from(r#"<!DOCTYPE lolz [<!ENTITY lol "lol">"#);
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            r#"<!ENTITY lol{i} "{}">"#,
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>");
    let doc = format!(
        "{dtd}{}",
        verify(&VERIFY_BODY.replace("01234567890_01", "&lol9;"))
    );
    malformed(doc.as_bytes());
}

#[test]
fn deep_nesting_and_huge_text_are_refused() {
    let deep = format!(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>{}{}</e:Body></e:Envelope>"#,
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    assert!(malformed(deep.as_bytes()).contains("deeper"));
    let unclosed = format!(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>{}"#,
        "<a>".repeat(100_000)
    );
    malformed(unclosed.as_bytes());
    let huge = verify(&VERIFY_BODY.replace("01234567890_01", &"x".repeat(5 << 20)));
    malformed(huge.as_bytes());
    let many = verify(&format!("{VERIFY_BODY}{}", "<x/>".repeat(30_000)));
    malformed(many.as_bytes());
}

#[test]
fn a_known_element_in_a_wrong_namespace_is_a_schema_error() {
    let doc = verify(VERIFY_BODY).replace(
        r#"xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd""#,
        r#"xmlns:pafn="http://example.org/paForNode""#,
    );
    let (c, fault) = rejected(&doc, Operation::VerifyPaymentNotice, FaultCode::SintassiXsd);
    assert_eq!(c, Some(caller()));
    assert_eq!(fault.id, "01234567890");
    assert!(fault.description.starts_with("paVerifyPaymentNoticeReq: "));
    assert!(fault.description.contains("http://example.org/paForNode"));

    let child = verify(&VERIFY_BODY.replace("<qrCode>", r#"<qrCode xmlns="urn:other">"#));
    let (_, fault) = rejected(
        &child,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert!(
        fault.description.contains("qrCode"),
        "{}",
        fault.description
    );
}

#[test]
fn a_short_notice_number_is_named_in_the_fault() {
    let doc = verify(&VERIFY_BODY.replace("302000000000000123", "12345678901234"));
    let (c, fault) = rejected(&doc, Operation::VerifyPaymentNotice, FaultCode::SintassiXsd);
    assert_eq!(c, Some(caller()));
    assert_eq!(fault.id, "01234567890");
    assert_eq!(
        fault.description,
        r#"paVerifyPaymentNoticeReq/qrCode/noticeNumber: "12345678901234" is not 18 digits"#
    );
    let long = verify(&VERIFY_BODY.replace("302000000000000123", &"9".repeat(500)));
    let (_, fault) = rejected(
        &long,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert!(fault.description.len() < 140, "{}", fault.description);
}

#[test]
fn missing_out_of_order_and_extra_elements_are_schema_errors() {
    let missing = verify(&VERIFY_BODY.replace("<idStation>01234567890_01</idStation>", ""));
    let (c, fault) = rejected(
        &missing,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert_eq!(c, None);
    assert_eq!(fault.id, "01234567890");
    assert!(
        fault
            .description
            .starts_with("paVerifyPaymentNoticeReq/idStation: missing"),
        "{}",
        fault.description
    );

    let swapped = verify(
        &VERIFY_BODY
            .replace("<idPA>01234567890</idPA>", "")
            .replace("</idBrokerPA>", "</idBrokerPA><idPA>01234567890</idPA>"),
    );
    let (_, fault) = rejected(
        &swapped,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert!(fault.description.contains("idPA"), "{}", fault.description);

    let extra = verify(&format!("{VERIFY_BODY}<amount>1.00</amount>"));
    let (_, fault) = rejected(
        &extra,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert_eq!(
        fault.description,
        "paVerifyPaymentNoticeReq/amount: unexpected element here"
    );

    let nested = verify(&VERIFY_BODY.replace("</qrCode>", "<x/></qrCode>"));
    let (_, fault) = rejected(
        &nested,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert!(
        fault
            .description
            .starts_with("paVerifyPaymentNoticeReq/qrCode/x:")
    );

    let text_in_complex = verify(&VERIFY_BODY.replace("<qrCode>", "<qrCode>hello"));
    rejected(
        &text_in_complex,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );

    let element_in_simple = verify(&VERIFY_BODY.replace("<idPA>01234567890", "<idPA>0123<b/>"));
    let (c, _) = rejected(
        &element_in_simple,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert_eq!(c, None);
}

#[test]
fn six_transfers_are_too_many() {
    let mut r = receipt(true, 5);
    let mut extra = r.transfers[0].clone();
    extra.id_transfer = 5;
    r.transfers.push(extra);
    let (_, fault) = rejected(&send_rt_v2(&r), Operation::SendRtV2, FaultCode::SintassiXsd);
    assert_eq!(
        fault.description,
        "paSendRTV2Request/receipt/transferList/transfer: more than 5 transfer elements"
    );
    let mut r = receipt(true, 1);
    r.transfers.clear();
    let (_, fault) = rejected(&send_rt_v2(&r), Operation::SendRtV2, FaultCode::SintassiXsd);
    assert!(fault.description.contains("transferList/transfer: missing"));
}

#[test]
fn lengths_are_counted_in_characters() {
    let ok = verify(&VERIFY_BODY.replace("01234567890_01", &"€".repeat(35)));
    assert!(parse(&ok).is_ok());
    let long = verify(&VERIFY_BODY.replace("01234567890_01", &"€".repeat(36)));
    let (c, fault) = rejected(
        &long,
        Operation::VerifyPaymentNotice,
        FaultCode::SintassiXsd,
    );
    assert_eq!(c, None);
    assert_eq!(
        fault.description,
        "paVerifyPaymentNoticeReq/idStation: has 36 characters, at most 35 allowed"
    );
    let mut r = receipt(true, 2);
    r.transfers[1].remittance_information = "à".repeat(141);
    let (c, fault) = rejected(&send_rt_v2(&r), Operation::SendRtV2, FaultCode::SintassiXsd);
    assert_eq!(c, Some(caller()));
    assert_eq!(
        fault.description,
        "paSendRTV2Request/receipt/transferList/transfer[2]/remittanceInformation: has 141 characters, at most 140 allowed"
    );
    let mut r = receipt(true, 1);
    r.description = String::new();
    let (_, fault) = rejected(&send_rt_v2(&r), Operation::SendRtV2, FaultCode::SintassiXsd);
    assert_eq!(
        fault.description,
        "paSendRTV2Request/receipt/description: is empty"
    );
}

#[test]
fn amounts_must_have_two_decimals_and_fit() {
    let get = |amount: &str| {
        request(
            "paGetPaymentReq",
            &format!("{VERIFY_BODY}<amount>{amount}</amount>"),
        )
    };
    for bad in ["10.5", "-1.00", "1000000000.00", "1,00", "", "1.000"] {
        let (_, fault) = rejected(&get(bad), Operation::GetPayment, FaultCode::SintassiXsd);
        assert!(
            fault.description.starts_with("paGetPaymentReq/amount: "),
            "{bad}: {}",
            fault.description
        );
    }
    for (good, cents) in [
        ("0.00", 0),
        (" 10.50\n", 1050),
        ("999999999.99", 99_999_999_999),
    ] {
        match parse(&get(good)) {
            Ok(Request::GetPayment { amount, .. }) => assert_eq!(amount, Some(cents)),
            other => panic!("{good}: {other:?}"),
        }
    }
    let mut r = receipt(true, 1);
    r.transfers[0].amount = 0;
    let (_, fault) = rejected(&send_rt_v2(&r), Operation::SendRtV2, FaultCode::SintassiXsd);
    assert!(
        fault.description.contains("transferAmount"),
        "{}",
        fault.description
    );
}

#[test]
fn simple_types_are_checked() {
    let body = |tail: &str| request("paGetPaymentV2Request", &format!("{VERIFY_BODY}{tail}"));
    for (tail, element) in [
        ("<transferType>BANK</transferType>", "transferType"),
        ("<transferType> POSTAL</transferType>", "transferType"),
        ("<dueDate>2024-02-30</dueDate>", "dueDate"),
        ("<dueDate>31/12/2024</dueDate>", "dueDate"),
        (
            &format!("<paymentNote>{}</paymentNote>", "n".repeat(211)),
            "paymentNote",
        ),
        ("<paymentNote></paymentNote>", "paymentNote"),
    ] {
        let (_, fault) = rejected(&body(tail), Operation::GetPaymentV2, FaultCode::SintassiXsd);
        assert!(
            fault
                .description
                .starts_with(&format!("paGetPaymentV2Request/{element}: ")),
            "{tail}: {}",
            fault.description
        );
    }
    let doc = body(
        "<amount>1.00</amount><paymentNote>n</paymentNote><transferType>POSTAL</transferType><dueDate>2024-12-31Z</dueDate>",
    );
    assert_eq!(
        parse(&doc),
        Ok(Request::GetPayment {
            v2: true,
            caller: caller(),
            qr: qr(),
            amount: Some(100),
            payment_note: Some("n".into()),
            transfer_type: Some(TransferType::Postal),
            due_date: Some(day(2024, 12, 31)),
        })
    );

    let receipt_doc = send_rt_v2(&receipt(true, 2));
    for (from, to, element) in [
        (
            "<standIn>false</standIn>",
            "<standIn>no</standIn>",
            "standIn",
        ),
        ("<standIn>false</standIn>", "<standIn> 0 </standIn>", ""),
        ("<outcome>OK</outcome>", "<outcome>ok</outcome>", "outcome"),
        (
            "<idTransfer>1</idTransfer>",
            "<idTransfer>6</idTransfer>",
            "idTransfer",
        ),
        (
            "<idTransfer>1</idTransfer>",
            "<idTransfer>+01</idTransfer>",
            "",
        ),
        ("<country>IT</country>", "<country>It</country>", "country"),
        (
            "<e-mail>mario.rossi@example.it</e-mail>",
            "<e-mail>mario rossi@example.it</e-mail>",
            "e-mail",
        ),
        (
            "<applicationDate>2024-05-01</applicationDate>",
            "<applicationDate>2024-05-01T00:00:00</applicationDate>",
            "applicationDate",
        ),
        (
            "<paymentDateTime>2024-05-01T10:30:00+02:00</paymentDateTime>",
            "<paymentDateTime>2024-05-01</paymentDateTime>",
            "paymentDateTime",
        ),
        (
            "<pspPartitaIVA>00799960158</pspPartitaIVA>",
            &format!("<pspPartitaIVA>{}</pspPartitaIVA>", "1".repeat(21)),
            "pspPartitaIVA",
        ),
        ("<fee>1.50</fee>", "<fee>1.5</fee>", "fee"),
        (
            "<entityUniqueIdentifierType>F</entityUniqueIdentifierType>",
            "<entityUniqueIdentifierType>X</entityUniqueIdentifierType>",
            "entityUniqueIdentifierType",
        ),
    ] {
        assert!(receipt_doc.contains(from), "{from}");
        let doc = receipt_doc.replacen(from, to, 1);
        if element.is_empty() {
            assert!(parse(&doc).is_ok(), "{to}");
            continue;
        }
        let (_, fault) = rejected(&doc, Operation::SendRtV2, FaultCode::SintassiXsd);
        assert!(
            fault.description.contains(&format!("/{element}: ")),
            "{to}: {}",
            fault.description
        );
    }
}

#[test]
fn values_of_a_person_are_never_quoted() {
    let receipt_doc = send_rt_v2(&receipt(true, 1));
    for (from, to) in [
        ("RSSMRA80A01H501U", "RSSMRA80A01H501UXYZ"),
        ("mario.rossi@example.it", "mario.rossi@@example.it"),
        ("<country>IT</country>", "<country>Italia</country>"),
    ] {
        let doc = receipt_doc.replacen(from, to, 1);
        let (_, fault) = rejected(&doc, Operation::SendRtV2, FaultCode::SintassiXsd);
        assert!(
            fault.description.contains("/debtor/"),
            "{}",
            fault.description
        );
        let shown = to
            .trim_start_matches("<country>")
            .trim_end_matches("</country>");
        assert!(!fault.description.contains(shown), "{}", fault.description);
        assert!(!fault.description.contains('"'), "{}", fault.description);
    }
}

#[test]
fn a_v1_receipt_refuses_the_v2_elements() {
    let v2_doc = send_rt_v2(&receipt(true, 2));
    let as_v1 = v2_doc.replace("paSendRTV2Request", "paSendRTReq");
    let (_, fault) = rejected(&as_v1, Operation::SendRt, FaultCode::SintassiXsd);
    assert!(
        fault
            .description
            .starts_with("paSendRTReq/receipt/transferList/transfer")
    );
    let v1 = render_request(&Request::SendRt {
        v2: false,
        caller: caller(),
        receipt: Box::new(receipt(false, 1)),
    });
    let with_note = v1.replace(
        "</paymentMethod>",
        "</paymentMethod><paymentNote>n</paymentNote>",
    );
    let (_, fault) = rejected(&with_note, Operation::SendRt, FaultCode::SintassiXsd);
    assert_eq!(
        fault.description,
        "paSendRTReq/receipt/paymentNote: unexpected element here"
    );
}

#[test]
fn an_attachment_that_is_not_base64_is_refused_and_one_that_is_no_stamp_is_kept() {
    let mut r = receipt(true, 2);
    r.transfers[1].target = ReceiptTarget::Stamp {
        attachment: "not base64!".into(),
        stamp: None,
    };
    let (_, fault) = rejected(&send_rt_v2(&r), Operation::SendRtV2, FaultCode::SintassiXsd);
    assert_eq!(
        fault.description,
        "paSendRTV2Request/receipt/transferList/transfer[2]/MBDAttachment: is not base64"
    );
    r.transfers[1].target = ReceiptTarget::Stamp {
        attachment: base64(b"<not a stamp/>"),
        stamp: None,
    };
    let Ok(Request::SendRt {
        receipt: parsed, ..
    }) = parse(&send_rt_v2(&r))
    else {
        panic!("accepted");
    };
    assert_eq!(parsed.transfers[1].target, r.transfers[1].target);
}

#[test]
fn a_demand_is_read_far_enough_to_answer_it() {
    let doc = request(
        "paDemandPaymentNoticeRequest",
        &format!(
            "{}<idServizio>12345</idServizio><idSoggettoServizio>00001</idSoggettoServizio><datiSpecificiServizioRequest>PHg+PC94Pg==</datiSpecificiServizioRequest>",
            &VERIFY_BODY[..VERIFY_BODY.find("<qrCode>").expect("qrCode")]
        ),
    );
    assert_eq!(parse(&doc), Ok(Request::Demand { caller: caller() }));
    let bad = doc.replace(
        "<idServizio>12345</idServizio>",
        "<idServizio>123</idServizio>",
    );
    let (c, fault) = rejected(&bad, Operation::DemandPaymentNotice, FaultCode::SintassiXsd);
    assert_eq!(c, Some(caller()));
    assert!(fault.description.contains("idServizio"));
}
