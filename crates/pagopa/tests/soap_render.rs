//! Every response Sportello writes is valid against `paForNode.xsd` (checked by xmllint, the
//! envelope too) and follows the node's own rules; what the node side writes is valid too.

mod support;

use pagopa::soap::{parse_response, render_request, render_response, render_soap_fault};
use pagopa::*;
use proptest::prelude::*;
use support::samples::*;
use support::*;

const ALL_FAULTS: [FaultCode; 11] = [
    FaultCode::IdDominioErrato,
    FaultCode::IdIntermediarioErrato,
    FaultCode::StazioneIntErrata,
    FaultCode::PagamentoSconosciuto,
    FaultCode::PagamentoScaduto,
    FaultCode::PagamentoAnnullato,
    FaultCode::PagamentoDuplicato,
    FaultCode::ReceiptDuplicata,
    FaultCode::Semantica,
    FaultCode::SintassiXsd,
    FaultCode::SystemError,
];

/// Text that needs escaping, has multi-byte characters and a control character, and is far
/// longer than any schema allows.
fn long_text() -> String {
    "Tassa <rifiuti> & \"servizi\" l'anno — città €𝄞\u{1}\u{FFFE}".repeat(20)
}

/// What a text of at most `max` characters must become on the wire.
fn expected_cut(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{1}' | '\u{FFFE}'))
        .take(max)
        .collect()
}

fn stamp_transfer(id: u8) -> TransferData {
    TransferData {
        id_transfer: id,
        amount: 1600,
        fiscal_code_pa: "01234567890".into(),
        company_name: Some("Agenzia".into()),
        target: TransferTarget::Stamp {
            hash_document: base64(&[7u8; 32]),
            stamp_type: "01".into(),
            province: "RM".into(),
        },
        remittance_information: "bollo".into(),
        transfer_category: "9/0301116TS/9/".into(),
        metadata: Vec::new(),
    }
}

fn with_stamp() -> PaymentData {
    let mut d = payment_data(true, 1);
    d.transfers.push(stamp_transfer(2));
    d.payment_amount += 1600;
    d
}

fn long_payment(v2: bool) -> PaymentData {
    let mut d = payment_data(v2, 5);
    d.description = long_text();
    d.company_name = long_text();
    d.office_name = Some(long_text());
    d.debtor.full_name = long_text();
    d.debtor.street_name = Some(long_text());
    d.debtor.civic_number = Some(long_text());
    d.debtor.postal_code = Some(long_text());
    d.debtor.city = Some(long_text());
    d.debtor.state_province_region = Some(long_text());
    d.debtor.country = Some("Italia".into());
    d.debtor.email = Some("not an e-mail".into());
    d.metadata = entries(20);
    for t in &mut d.transfers {
        t.company_name = Some(long_text());
        t.remittance_information = long_text();
        t.transfer_category = long_text();
        t.metadata = entries(16);
        t.metadata[0].key = long_text();
        t.metadata[0].value = String::new();
    }
    d
}

/// Every kind of response, named.
fn all_responses() -> Vec<(String, Response)> {
    let mut out = vec![
        ("verify OK".to_owned(), Response::Verify(Ok(verify_ok()))),
        (
            "verify OK, minimal".to_owned(),
            Response::Verify(Ok(VerifyOk {
                due_date: None,
                detail_description: None,
                office_name: None,
                all_ccp: true,
                ..verify_ok()
            })),
        ),
        (
            "verify OK, long texts".to_owned(),
            Response::Verify(Ok(VerifyOk {
                detail_description: Some(long_text()),
                payment_description: long_text(),
                company_name: long_text(),
                office_name: Some(long_text()),
                ..verify_ok()
            })),
        ),
        (
            "verify OK, empty texts".to_owned(),
            Response::Verify(Ok(VerifyOk {
                detail_description: Some(String::new()),
                payment_description: String::new(),
                company_name: "\u{1}".into(),
                office_name: Some(String::new()),
                ..verify_ok()
            })),
        ),
    ];
    for v2 in [false, true] {
        let name = if v2 { "getPaymentV2" } else { "getPayment" };
        for n in [1, 5] {
            out.push((
                format!("{name} OK, {n} transfers"),
                Response::GetPayment {
                    v2,
                    result: Ok(Box::new(payment_data(v2, n))),
                },
            ));
        }
        out.push((
            format!("{name} OK, long texts, 20 metadata"),
            Response::GetPayment {
                v2,
                result: Ok(Box::new(long_payment(v2))),
            },
        ));
        let mut minimal = payment_data(v2, 1);
        minimal.retention_date = None;
        minimal.last_payment = None;
        minimal.office_name = None;
        minimal.company_name = String::new();
        minimal.metadata = Vec::new();
        let s = subject();
        minimal.debtor = named(s.kind, &s.id, &s.full_name);
        out.push((
            format!("{name} OK, minimal"),
            Response::GetPayment {
                v2,
                result: Ok(Box::new(minimal)),
            },
        ));
        out.push((
            format!("sendRT{} OK", if v2 { "V2" } else { "" }),
            Response::SendRt { v2, result: Ok(()) },
        ));
    }
    out.push((
        "getPaymentV2 OK with a stamp".to_owned(),
        Response::GetPayment {
            v2: true,
            result: Ok(Box::new(with_stamp())),
        },
    ));
    let mut all_stamps = payment_data(true, 0);
    all_stamps.transfers = (1..=5).map(stamp_transfer).collect();
    all_stamps.payment_amount = 5 * 1600;
    out.push((
        "getPaymentV2 OK, five stamps".to_owned(),
        Response::GetPayment {
            v2: true,
            result: Ok(Box::new(all_stamps)),
        },
    ));
    for code in ALL_FAULTS {
        for op in Operation::ALL {
            out.push((
                format!("{} KO {}", op.name(), code.as_str()),
                Response::ko(
                    op,
                    Fault::new(code, "01234567890", format!("{} <&> città", code.as_str())),
                ),
            ));
        }
    }
    out.push((
        "KO with an empty id and description".to_owned(),
        Response::Verify(Err(Fault::new(FaultCode::SystemError, "", ""))),
    ));
    out.push((
        "KO with a long description".to_owned(),
        Response::GetPayment {
            v2: false,
            result: Err(Fault::new(FaultCode::Semantica, long_text(), long_text())),
        },
    ));
    out
}

fn render_all(responses: &[(String, Response)]) -> Vec<String> {
    responses.iter().map(|(_, r)| render_response(r)).collect()
}

#[test]
fn every_kind_of_response_is_valid_against_the_schema() {
    let responses = all_responses();
    let envelopes = render_all(&responses);
    let bodies: Vec<String> = envelopes.iter().map(|e| body_child(e)).collect();
    validate(&pa_for_node_xsd(), &bodies).expect("every body child is valid");
    validate_envelopes(&envelopes).expect("every envelope is valid");
}

#[test]
fn the_envelope_validation_does_check_the_body_content() {
    // The wrapper schema must reach into the Body: a broken response must fail it.
    let good = render_response(&Response::Verify(Ok(verify_ok())));
    validate_envelopes(std::slice::from_ref(&good)).expect("valid");
    let broken = good.replace("<options>EQ</options>", "<options>XX</options>");
    assert!(validate_envelopes(&[broken]).is_err());
    let reordered = good.replace(
        "<outcome>OK</outcome>",
        "<fiscalCodePA>01234567890</fiscalCodePA><outcome>OK</outcome>",
    );
    assert!(validate(&pa_for_node_xsd(), &[body_child(&reordered)]).is_err());
}

/// The texts of every `<tag>` element (unqualified, no attributes) in a document.
fn texts_of(doc: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after.find(&close).expect("closed");
        out.push(unescape(&after[..end]));
        rest = &after[end..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&amp;", "&")
}

fn is_node_amount(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    (1..=9).contains(&int.len())
        && frac.len() == 2
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
}

#[test]
fn responses_follow_the_node_rules() {
    for (name, response) in all_responses() {
        let doc = render_response(&response);
        for tag in ["amount", "paymentAmount", "transferAmount"] {
            for value in texts_of(&doc, tag) {
                assert!(is_node_amount(&value), "{name}: {tag} {value:?}");
            }
        }
        let body = body_child(&doc);
        if let Some(fault) = response.fault() {
            // A KO has exactly the outcome and the fault.
            assert_eq!(xpath(&body, "count(/*/*)"), "2", "{name}");
            assert_eq!(xpath(&body, "string(/*/outcome)"), "KO", "{name}");
            assert_eq!(
                xpath(&body, "string(/*/fault/faultCode)"),
                fault.code.as_str()
            );
            assert_eq!(
                xpath(&body, "string(/*/fault/faultString)"),
                fault.code.fault_string()
            );
            assert_eq!(xpath(&body, "count(/*/fault/*)"), "4", "{name}");
            let description = if fault.description.is_empty() {
                "-".to_owned()
            } else {
                expected_cut(&fault.description, 140)
            };
            assert_eq!(texts_of(&doc, "description"), [description], "{name}");
            assert_eq!(
                texts_of(&doc, "id"),
                [expected_cut(&fault.id, 140)],
                "{name}"
            );
            continue;
        }
        assert_eq!(xpath(&body, "string(/*/outcome)"), "OK", "{name}");
        assert_eq!(xpath(&body, "count(/*/fault)"), "0", "{name}");
        if let Response::Verify(Ok(v)) = &response {
            assert_eq!(
                xpath(&body, "count(/*/paymentList/paymentOptionDescription)"),
                "1",
                "{name}"
            );
            assert_eq!(xpath(&body, "string(//options)"), "EQ", "{name}");
            for tag in ["paymentDescription", "fiscalCodePA", "companyName"] {
                assert_eq!(
                    xpath(&body, &format!("count(/*/{tag})")),
                    "1",
                    "{name}: {tag}"
                );
            }
            assert_eq!(
                texts_of(&doc, "paymentDescription")[0],
                if v.payment_description.is_empty() {
                    "-".to_owned()
                } else {
                    expected_cut(&v.payment_description, 140)
                },
                "{name}"
            );
        }
    }
}

#[test]
fn long_texts_are_cut_at_their_schema_length_and_escaped() {
    let doc = render_response(&Response::GetPayment {
        v2: true,
        result: Ok(Box::new(long_payment(true))),
    });
    let long = long_text();
    assert_eq!(texts_of(&doc, "description"), [expected_cut(&long, 140)]);
    assert_eq!(texts_of(&doc, "fullName"), [expected_cut(&long, 70)]);
    assert_eq!(texts_of(&doc, "civicNumber"), [expected_cut(&long, 16)]);
    assert_eq!(texts_of(&doc, "city"), [expected_cut(&long, 35)]);
    assert_eq!(texts_of(&doc, "remittanceInformation").len(), 5);
    // The invalid optional country and e-mail are left out.
    assert!(texts_of(&doc, "country").is_empty());
    assert!(texts_of(&doc, "e-mail").is_empty());
    // 15 entries at most, in each metadata; an empty value becomes "-".
    assert_eq!(
        xpath(&body_child(&doc), "count(/*/data/metadata/mapEntry)"),
        "15"
    );
    assert_eq!(
        xpath(&body_child(&doc), "count(//transfer[1]/metadata/mapEntry)"),
        "15"
    );
    assert_eq!(
        xpath(
            &body_child(&doc),
            "string(//transfer[1]/metadata/mapEntry[1]/value)"
        ),
        "-"
    );
    assert!(!doc.contains('\u{1}') && !doc.contains('\u{FFFE}'));
    assert!(doc.contains("&lt;rifiuti&gt; &amp; &quot;servizi&quot; l&apos;anno"));
}

#[test]
fn retention_date_is_written_in_utc_with_z() {
    let doc = render_response(&Response::GetPayment {
        v2: false,
        result: Ok(Box::new(payment_data(false, 1))),
    });
    assert_eq!(texts_of(&doc, "retentionDate"), ["2025-01-31T23:00:00Z"]);
    assert_eq!(texts_of(&doc, "dueDate"), ["2024-12-31"]);
    assert_eq!(texts_of(&doc, "paymentAmount"), ["12.30"]);
}

#[test]
fn v1_cannot_carry_a_stamp_and_says_so_with_a_semantic_ko() {
    let mut data = with_stamp();
    for t in &mut data.transfers {
        t.company_name = None;
    }
    let doc = render_response(&Response::GetPayment {
        v2: false,
        result: Ok(Box::new(data.clone())),
    });
    validate(&pa_for_node_xsd(), &[body_child(&doc)]).expect("valid KO");
    assert_eq!(texts_of(&doc, "faultCode"), ["PAA_SEMANTICA"]);
    assert!(texts_of(&doc, "richiestaMarcaDaBollo").is_empty());
    // The same data in V2 is fine.
    let doc = render_response(&Response::GetPayment {
        v2: true,
        result: Ok(Box::new(data)),
    });
    assert_eq!(texts_of(&doc, "outcome"), ["OK"]);
    assert_eq!(texts_of(&doc, "tipoBollo"), ["01"]);
    assert_eq!(texts_of(&doc, "provinciaResidenza"), ["RM"]);
}

#[test]
fn data_that_cannot_be_written_valid_becomes_a_system_error() {
    let mut cases: Vec<(&str, PaymentData)> = Vec::new();
    let base = || payment_data(true, 2);
    let mut d = base();
    d.payment_amount += 1;
    cases.push(("transfers do not add up", d));
    let mut d = base();
    d.transfers = payment_data(true, 5).transfers;
    d.transfers.push(d.transfers[0].clone());
    d.transfers[5].id_transfer = 6;
    cases.push(("six transfers", d));
    let mut d = base();
    d.transfers.clear();
    cases.push(("no transfers", d));
    let mut d = base();
    d.transfers[1].id_transfer = 1;
    cases.push(("duplicate idTransfer", d));
    let mut d = base();
    d.transfers[0].fiscal_code_pa = "123".into();
    cases.push(("bad fiscal code", d));
    let mut d = base();
    d.transfers[0].target = TransferTarget::Iban("X".repeat(36));
    cases.push(("long IBAN", d));
    let mut d = base();
    d.payment_amount = soap::MAX_AMOUNT_CENTS + 1;
    cases.push(("amount too large", d));
    let mut d = base();
    d.transfers[0].amount = 0;
    d.transfers[1].amount = 2460;
    cases.push(("zero transfer amount", d));
    let mut d = base();
    d.debtor.id = "X".into();
    cases.push(("short debtor id", d));
    let mut d = base();
    d.creditor_reference_id = "1".repeat(36);
    cases.push(("long IUV", d));
    let mut d = base();
    d.transfers[1] = stamp_transfer(2);
    d.transfers[1].amount = 1230;
    if let TransferTarget::Stamp { province, .. } = &mut d.transfers[1].target {
        *province = "Roma".into();
    }
    cases.push(("bad stamp province", d));
    let mut docs = Vec::new();
    for (name, data) in cases {
        let doc = render_response(&Response::GetPayment {
            v2: true,
            result: Ok(Box::new(data)),
        });
        assert_eq!(texts_of(&doc, "faultCode"), ["PAA_SYSTEM_ERROR"], "{name}");
        docs.push(body_child(&doc));
    }
    let bad_verify = VerifyOk {
        amount: 0,
        ..verify_ok()
    };
    let doc = render_response(&Response::Verify(Ok(bad_verify)));
    assert_eq!(texts_of(&doc, "faultCode"), ["PAA_SYSTEM_ERROR"]);
    docs.push(body_child(&doc));
    validate(&pa_for_node_xsd(), &docs).expect("every KO is valid");
}

#[test]
fn responses_read_back_as_written_by_the_node_side() {
    let mut cases = vec![
        Response::Verify(Ok(verify_ok())),
        Response::GetPayment {
            v2: true,
            result: Ok(Box::new(with_stamp())),
        },
        Response::SendRt {
            v2: true,
            result: Ok(()),
        },
        Response::Demand(Fault::new(
            FaultCode::Semantica,
            "01234567890",
            "not supported",
        )),
    ];
    for v2 in [false, true] {
        for n in [1, 5] {
            let mut d = payment_data(v2, n);
            d.metadata = entries(15);
            cases.push(Response::GetPayment {
                v2,
                result: Ok(Box::new(d)),
            });
        }
    }
    for code in ALL_FAULTS {
        cases.push(Response::ko(
            Operation::SendRtV2,
            Fault::new(code, "01234567890", "x <y> & z"),
        ));
    }
    for response in cases {
        let doc = render_response(&response);
        assert_eq!(
            parse_response(response.operation(), doc.as_bytes()),
            Ok(response)
        );
    }
}

#[test]
fn the_node_side_refuses_a_response_of_another_operation() {
    let doc = render_response(&Response::Verify(Ok(verify_ok())));
    assert!(parse_response(Operation::GetPayment, doc.as_bytes()).is_err());
    let fault = render_soap_fault(true, "bad");
    assert!(
        parse_response(Operation::VerifyPaymentNotice, fault.as_bytes())
            .is_err_and(|e| e.contains("bad"))
    );
}

#[test]
fn a_soap_fault_is_a_valid_envelope_with_its_message_escaped() {
    let client = render_soap_fault(true, "not <XML> & \u{1}broken");
    let server = render_soap_fault(false, "");
    validate(&envelope_xsd(), &[client.clone(), server.clone()]).expect("valid faults");
    assert_eq!(texts_of(&client, "faultcode"), ["soapenv:Client"]);
    assert_eq!(texts_of(&client, "faultstring"), ["not <XML> & broken"]);
    assert_eq!(texts_of(&server, "faultcode"), ["soapenv:Server"]);
}

fn sample_requests() -> Vec<Request> {
    let mut with_long_note = Request::GetPayment {
        v2: true,
        caller: caller(),
        qr: qr(),
        amount: Some(0),
        payment_note: Some("<&>".repeat(70)),
        transfer_type: Some(TransferType::Postal),
        due_date: Some(day(2024, 12, 31)),
    };
    if let Request::GetPayment { payment_note, .. } = &mut with_long_note {
        assert_eq!(payment_note.as_ref().map(|n| n.chars().count()), Some(210));
    }
    vec![
        Request::Verify {
            caller: caller(),
            qr: qr(),
        },
        Request::GetPayment {
            v2: false,
            caller: caller(),
            qr: qr(),
            amount: None,
            payment_note: None,
            transfer_type: None,
            due_date: None,
        },
        with_long_note,
        Request::SendRt {
            v2: false,
            caller: caller(),
            receipt: Box::new(receipt(false, 1)),
        },
        Request::SendRt {
            v2: false,
            caller: caller(),
            receipt: Box::new(receipt(false, 5)),
        },
        Request::SendRt {
            v2: true,
            caller: caller(),
            receipt: Box::new(receipt(true, 5)),
        },
        Request::Demand { caller: caller() },
    ]
}

#[test]
fn requests_of_the_node_side_are_valid_against_the_schema() {
    let envelopes: Vec<String> = sample_requests().iter().map(render_request).collect();
    let bodies: Vec<String> = envelopes.iter().map(|e| body_child(e)).collect();
    validate(&pa_for_node_xsd(), &bodies).expect("valid requests");
    validate_envelopes(&envelopes).expect("valid envelopes");
    let v2 = &envelopes[5];
    assert_eq!(texts_of(v2, "MBDAttachment").len(), 1);
    assert_eq!(texts_of(v2, "IBAN").len(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// Generated requests are schema-valid (so the parser tests feed it valid input).
    #[test]
    fn generated_requests_are_valid_against_the_schema(
        requests in proptest::collection::vec(arb_request(), 40)
    ) {
        let bodies: Vec<String> = requests.iter().map(|r| body_child(&render_request(r))).collect();
        if let Err(e) = validate(&pa_for_node_xsd(), &bodies) {
            prop_assert!(false, "{}", e);
        }
    }

    /// Whatever the data, the response is valid (repaired, or a KO).
    #[test]
    fn any_response_data_renders_valid(
        responses in proptest::collection::vec(arb_response(), 40)
    ) {
        let bodies: Vec<String> = responses.iter().map(|r| body_child(&render_response(r))).collect();
        if let Err(e) = validate(&pa_for_node_xsd(), &bodies) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Any string, including control characters and non-characters.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => text(0, 40),
        1 => any::<String>(),
        1 => text(100, 300),
    ]
}

fn arb_response() -> impl Strategy<Value = Response> {
    let subject =
        (any_text(), any_text(), any_text(), any_text()).prop_map(|(id, name, c, e)| Subject {
            kind: EntityType::Legal,
            id,
            full_name: name.clone(),
            street_name: Some(name.clone()),
            civic_number: Some(name.clone()),
            postal_code: Some(name),
            city: None,
            state_province_region: None,
            country: Some(c),
            email: Some(e),
        });
    let transfer = (
        0u8..7,
        prop_oneof![Just(1230i64), -5i64..200_000_000_000],
        prop_oneof![Just("01234567890".to_owned()), any_text()],
        proptest::option::of(any_text()),
        prop_oneof![
            any_text().prop_map(TransferTarget::Iban),
            (any_text(), any_text(), any_text()).prop_map(|(h, t, p)| TransferTarget::Stamp {
                hash_document: h,
                stamp_type: t,
                province: p,
            }),
            Just(TransferTarget::Stamp {
                hash_document: "AAAA".into(),
                stamp_type: "01".into(),
                province: "MI".into(),
            }),
        ],
        any_text(),
        proptest::collection::vec(
            (any_text(), any_text()).prop_map(|(key, value)| MapEntry { key, value }),
            0..20,
        ),
    )
        .prop_map(
            |(id, amount, cf, company, target, rem, metadata)| TransferData {
                id_transfer: id,
                amount,
                fiscal_code_pa: cf,
                company_name: company,
                target,
                remittance_information: rem.clone(),
                transfer_category: rem,
                metadata,
            },
        );
    let data = (
        any::<bool>(),
        any_text(),
        any_text(),
        subject,
        proptest::collection::vec(transfer, 0..7),
        proptest::option::of(instant()),
    )
        .prop_map(|(v2, iuv, text, debtor, transfers, retention)| {
            let total = transfers.iter().map(|t| t.amount).sum();
            Response::GetPayment {
                v2,
                result: Ok(Box::new(PaymentData {
                    creditor_reference_id: iuv,
                    payment_amount: total,
                    due_date: day(2024, 1, 1),
                    retention_date: retention,
                    last_payment: None,
                    description: text.clone(),
                    company_name: text.clone(),
                    office_name: Some(text),
                    debtor,
                    transfers,
                    metadata: Vec::new(),
                })),
            }
        });
    let verify = (any::<i64>(), any_text(), any_text(), any::<bool>()).prop_map(
        |(amount, text, cf, all_ccp)| {
            Response::Verify(Ok(VerifyOk {
                amount,
                due_date: None,
                detail_description: Some(text.clone()),
                all_ccp,
                payment_description: text.clone(),
                fiscal_code_pa: cf,
                company_name: text,
                office_name: None,
            }))
        },
    );
    let ko = (
        proptest::sample::select(ALL_FAULTS.to_vec()),
        proptest::sample::select(Operation::ALL.to_vec()),
        any_text(),
        any_text(),
    )
        .prop_map(|(code, op, id, description)| {
            Response::ko(op, Fault::new(code, id, description))
        });
    prop_oneof![2 => data, 1 => verify, 1 => ko]
}
