//! The nodeForPa calls that fetch reporting flows, both sides: requests and responses are valid
//! envelopes for `envelope.xsd` + `nodeForPa.xsd` (checked by `xmllint`) and read back as
//! written; a flow travels base64-encoded and reads back equal; faults, the WSDL's and SOAP's.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::NaiveDate;
use pagopa::fdr::{self, Flow, FlowLine, OutcomeCode, Receiver, Sender, SenderKind, Version};
use pagopa::nodo::*;
use pagopa::{NS_SOAP_ENV, fdr_read};
use support::{envelope_xsd, reference, validate};

/// Validates envelopes against a schema importing both `envelope.xsd` and `nodeForPa.xsd`: the
/// Envelope strictly, the Body's content (`processContents="lax"`) against nodeForPa.
fn validate_nodo_envelopes(docs: &[String]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("envelope-and-nodeForPa.xsd");
    std::fs::write(
        &schema,
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="{NS_SOAP_ENV}" schemaLocation="{}"/>
  <xs:import namespace="{NS_NODE_FOR_PA}" schemaLocation="{}"/>
</xs:schema>"#,
            envelope_xsd().display(),
            reference("wsdl/xsd/nodeForPa.xsd").display()
        ),
    )
    .unwrap();
    validate(&schema, docs)
}

fn list_request(full: bool) -> ListRequest {
    ListRequest {
        broker_id: "80012345678".into(),
        station_id: "80012345678_01".into(),
        password: "pwd&<secret>1".into(),
        domain: full.then(|| "80012345678".into()),
        psp: full.then(|| "BCITITMM".into()),
    }
}

fn flow_request(full: bool) -> FlowRequest {
    let l = list_request(full);
    FlowRequest {
        broker_id: l.broker_id,
        station_id: l.station_id,
        password: l.password,
        domain: l.domain,
        psp: l.psp,
        flow_id: "2024-05-20BCITITMM-240517001".into(),
    }
}

fn refs() -> Vec<FlowRef> {
    vec![
        FlowRef {
            flow_id: "2024-05-20BCITITMM-240517001".into(),
            flow_date_time: NaiveDate::from_ymd_opt(2024, 5, 20)
                .unwrap()
                .and_hms_opt(8, 15, 0)
                .unwrap(),
        },
        FlowRef {
            flow_id: "2024-05-2160000000001-17163317305".into(),
            flow_date_time: NaiveDate::from_ymd_opt(2024, 12, 31)
                .unwrap()
                .and_hms_milli_opt(23, 59, 59, 500)
                .unwrap(),
        },
    ]
}

fn fault(description: Option<&str>) -> NodeFault {
    NodeFault {
        code: "PPT_AUTENTICAZIONE".into(),
        string: "Errore di autenticazione".into(),
        description: description.map(Into::into),
        id: "NodoDeiPagamentiSPC".into(),
    }
}

fn sample_flow() -> Flow {
    let d = NaiveDate::from_ymd_opt(2024, 5, 17).unwrap();
    Flow {
        version: Version::V1_1,
        flow_id: "2024-05-20BCITITMM-240517001".into(),
        flow_date_time: d.and_hms_opt(8, 15, 0).unwrap(),
        regulation_id: "SCT202405170011234567890".into(),
        regulation_date: d,
        sender: Sender {
            kind: SenderKind::Bic,
            id: "BCITITMM".into(),
            name: Some("Banca & <Figli>".into()),
        },
        bic_pouring_bank: None,
        receiver: Receiver {
            id: "80012345678".into(),
            name: Some("Comune di Cefalù".into()),
        },
        lines: (1..=40)
            .map(|n| FlowLine {
                iuv: format!("01{n:015}"),
                iur: format!("RCPT{n:08}"),
                index: Some(1),
                amount_cents: 100 * n,
                outcome: if n % 7 == 0 {
                    OutcomeCode::StandIn
                } else {
                    OutcomeCode::Paid
                },
                date: d,
            })
            .collect(),
    }
}

#[test]
fn every_rendered_request_and_response_is_a_valid_envelope() {
    let docs = vec![
        render_list_request(&list_request(true)),
        render_list_request(&list_request(false)),
        render_flow_request(&flow_request(true)),
        render_flow_request(&flow_request(false)),
        render_list_response(&refs()),
        render_list_response(&[]),
        render_flow_response(fdr::render(&sample_flow()).as_bytes()),
        render_fault_response(true, &fault(Some("password & <errata>"))),
        render_fault_response(false, &fault(None)),
    ];
    validate_nodo_envelopes(&docs).unwrap();
}

#[test]
fn the_envelope_validation_does_check_the_body_content() {
    let bad = render_list_request(&list_request(true)).replace("pwd&amp;&lt;secret&gt;1", "short");
    assert!(validate_nodo_envelopes(&[bad]).is_err());
    let bad = render_list_response(&refs()).replace("<totRestituiti>2<", "<totRestituiti>two<");
    assert!(validate_nodo_envelopes(&[bad]).is_err());
}

#[test]
fn requests_read_back_as_written_on_the_node_side() {
    for full in [true, false] {
        let l = list_request(full);
        let doc = render_list_request(&l);
        let parsed = parse_request(doc.as_bytes()).unwrap();
        assert_eq!(parsed.soap_action(), SOAP_ACTION_LIST);
        assert_eq!(parsed, NodoRequest::List(l));
        let f = flow_request(full);
        let parsed = parse_request(render_flow_request(&f).as_bytes()).unwrap();
        assert_eq!(parsed.soap_action(), SOAP_ACTION_FLOW);
        assert_eq!(parsed, NodoRequest::Flow(f));
    }
}

#[test]
fn responses_read_back_as_written_on_the_ente_side() {
    assert_eq!(
        parse_list_response(render_list_response(&refs()).as_bytes()).unwrap(),
        refs()
    );
    assert_eq!(
        parse_list_response(render_list_response(&[]).as_bytes()).unwrap(),
        []
    );
    for f in [fault(Some("password & <errata>")), fault(None)] {
        assert_eq!(
            parse_list_response(render_fault_response(true, &f).as_bytes()),
            Err(NodoError::Fault(f.clone()))
        );
        assert_eq!(
            parse_flow_response(render_fault_response(false, &f).as_bytes()),
            Err(NodoError::Fault(f))
        );
    }
}

#[test]
fn a_flow_travels_in_base64_and_reads_back_equal() {
    let f = sample_flow();
    let xml = fdr::render(&f);
    let response = render_flow_response(xml.as_bytes());
    assert!(!response.contains("FlussoRiversamento"));
    let bytes = parse_flow_response(response.as_bytes()).unwrap();
    assert_eq!(bytes, xml.as_bytes());
    let r = fdr_read::parse_xml(&bytes).unwrap();
    assert_eq!(r.flow, f);
    // Line-wrapped base64, as some writers send it, decodes the same.
    let b64 = pagopa_b64(&xml);
    let wrapped: Vec<String> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let doc = response.replace(&b64, &wrapped.join("\r\n"));
    assert_eq!(parse_flow_response(doc.as_bytes()).unwrap(), xml.as_bytes());
}

fn pagopa_b64(xml: &str) -> String {
    let response = render_flow_response(xml.as_bytes());
    let start = response.find("<xmlRendicontazione>").unwrap() + "<xmlRendicontazione>".len();
    let end = response.find("</xmlRendicontazione>").unwrap();
    response[start..end].to_owned()
}

/// A response as another writer would send it: a Header, a default namespace qualifying every
/// child, a nil entry, the faultBean's optional fields.
#[test]
fn responses_of_other_writers_are_read() {
    let list = format!(
        r#"<?xml version="1.0"?>
<S:Envelope xmlns:S="{NS_SOAP_ENV}"><S:Header/><S:Body>
  <nodoChiediElencoFlussiRendicontazioneRisposta xmlns="{NS_NODE_FOR_PA}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <elencoFlussiRendicontazione>
      <totRestituiti>+3</totRestituiti>
      <idRendicontazione><identificativoFlusso>F1</identificativoFlusso><dataOraFlusso>2024-05-20T06:15:00Z</dataOraFlusso></idRendicontazione>
      <idRendicontazione xsi:nil="true"/>
      <idRendicontazione><identificativoFlusso>F2</identificativoFlusso><dataOraFlusso> 2024-01-20T08:15:00 </dataOraFlusso></idRendicontazione>
    </elencoFlussiRendicontazione>
  </nodoChiediElencoFlussiRendicontazioneRisposta>
</S:Body></S:Envelope>"#
    );
    validate_nodo_envelopes(std::slice::from_ref(&list)).unwrap_or_else(|e| {
        // libxml2 refuses whitespace around an xsd:dateTime (the XSD collapses it).
        assert!(e.contains("dataOraFlusso"), "{e}");
    });
    let flows = parse_list_response(list.as_bytes()).unwrap();
    let times: Vec<String> = flows.iter().map(|f| f.flow_date_time.to_string()).collect();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].flow_id, "F1");
    assert_eq!(times, ["2024-05-20 08:15:00", "2024-01-20 08:15:00"]);

    let fault_doc = format!(
        r#"<soap:Envelope xmlns:soap="{NS_SOAP_ENV}"><soap:Body><ns2:nodoChiediFlussoRendicontazioneRisposta xmlns:ns2="{NS_NODE_FOR_PA}"><fault><faultCode>PPT_ID_FLUSSO_SCONOSCIUTO</faultCode><faultString>Identificativo flusso sconosciuto</faultString><id>NodoDeiPagamentiSPC</id><description>flusso F9</description><serial>1</serial><originalFaultCode>X</originalFaultCode></fault></ns2:nodoChiediFlussoRendicontazioneRisposta></soap:Body></soap:Envelope>"#
    );
    validate_nodo_envelopes(std::slice::from_ref(&fault_doc)).unwrap();
    assert_eq!(
        parse_flow_response(fault_doc.as_bytes()),
        Err(NodoError::Fault(NodeFault {
            code: "PPT_ID_FLUSSO_SCONOSCIUTO".into(),
            string: "Identificativo flusso sconosciuto".into(),
            description: Some("flusso F9".into()),
            id: "NodoDeiPagamentiSPC".into(),
        }))
    );
}

#[test]
fn a_soap_fault_is_reported_as_a_node_fault() {
    let doc = format!(
        r#"<soapenv:Envelope xmlns:soapenv="{NS_SOAP_ENV}"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Service unavailable</faultstring><faultactor>gateway</faultactor></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
    );
    let expected = NodoError::Fault(NodeFault {
        code: "soapenv:Server".into(),
        string: "Service unavailable".into(),
        description: None,
        id: "gateway".into(),
    });
    assert_eq!(parse_list_response(doc.as_bytes()), Err(expected.clone()));
    assert_eq!(parse_flow_response(doc.as_bytes()), Err(expected));
}

#[test]
fn malformed_responses_say_where() {
    let flow_answer_to_list = render_flow_response(b"<x/>");
    let Err(NodoError::Malformed(e)) = parse_list_response(flow_answer_to_list.as_bytes()) else {
        panic!("accepted the answer of the other operation");
    };
    assert_eq!(
        e.element,
        "Envelope/Body/nodoChiediFlussoRendicontazioneRisposta"
    );

    let empty = render_flow_response(b"").replace("<xmlRendicontazione></xmlRendicontazione>", "");
    let Err(NodoError::Malformed(e)) = parse_flow_response(empty.as_bytes()) else {
        panic!("accepted an empty answer");
    };
    assert!(e.why.contains("neither"), "{e}");

    let not_b64 = render_flow_response(b"abc").replace("YWJj", "Y@Jj");
    let Err(NodoError::Malformed(e)) = parse_flow_response(not_b64.as_bytes()) else {
        panic!("accepted bad base64");
    };
    assert_eq!(
        e.element,
        "nodoChiediFlussoRendicontazioneRisposta/xmlRendicontazione"
    );

    let bad_date = render_list_response(&refs()).replace("2024-05-20T08:15:00", "20/05/2024");
    let Err(NodoError::Malformed(e)) = parse_list_response(bad_date.as_bytes()) else {
        panic!("accepted a bad date");
    };
    assert_eq!(
        e.element,
        "nodoChiediElencoFlussiRendicontazioneRisposta/elencoFlussiRendicontazione/idRendicontazione[1]/dataOraFlusso"
    );
    assert_eq!(e.line, Some(1));
    let e = parse_list_response(b"not xml").unwrap_err();
    assert!(matches!(e, NodoError::Malformed(_)), "{e}");
}

#[test]
fn the_node_side_refuses_requests_outside_the_schema() {
    let doc = render_list_request(&list_request(true));
    let pretty = doc.replace("><", ">\n<");
    for (what, mutated, element) in [
        (
            "a short password",
            pretty.replace("pwd&amp;&lt;secret&gt;1", "1234567"),
            "nodoChiediElencoFlussiRendicontazione/password",
        ),
        (
            "a station id of 36",
            pretty.replace("80012345678_01", &"S".repeat(36)),
            "nodoChiediElencoFlussiRendicontazione/identificativoStazioneIntermediarioPA",
        ),
        (
            "domain and psp swapped",
            pretty.replace(
                "<identificativoDominio>80012345678</identificativoDominio>\n<identificativoPSP>BCITITMM</identificativoPSP>",
                "<identificativoPSP>BCITITMM</identificativoPSP>\n<identificativoDominio>80012345678</identificativoDominio>",
            ),
            "nodoChiediElencoFlussiRendicontazione/identificativoDominio",
        ),
        (
            "a flow id in a list request",
            pretty.replace(
                "</nfpa:nodoChiediElencoFlussiRendicontazione>",
                "<identificativoFlusso>F</identificativoFlusso>\n</nfpa:nodoChiediElencoFlussiRendicontazione>",
            ),
            "nodoChiediElencoFlussiRendicontazione/identificativoFlusso",
        ),
        (
            "another namespace",
            pretty.replace(NS_NODE_FOR_PA, "urn:other"),
            "nodoChiediElencoFlussiRendicontazione",
        ),
        (
            "another operation",
            pretty.replace("nodoChiediElencoFlussiRendicontazione", "nodoChiediCopiaRT"),
            "Envelope/Body/nodoChiediCopiaRT",
        ),
    ] {
        // The Body's content is `lax`: an element of an unknown namespace is not checked.
        if what != "another namespace" && what != "another operation" {
            assert!(validate_nodo_envelopes(std::slice::from_ref(&mutated)).is_err(), "{what}");
        }
        let e = parse_request(mutated.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("{what} is accepted"));
        assert_eq!(e.element, element, "{what}: {e}");
        assert!(e.line.is_some_and(|l| l > 1), "{what}: {e}");
    }
    let flow = render_flow_request(&flow_request(false)).replace(
        "<identificativoFlusso>2024-05-20BCITITMM-240517001</identificativoFlusso>",
        "",
    );
    let e = parse_request(flow.as_bytes()).unwrap_err();
    assert_eq!(
        (e.element.as_str(), e.why.as_str()),
        (
            "nodoChiediFlussoRendicontazione/identificativoFlusso",
            "missing"
        )
    );
    let e = parse_request(b"<!DOCTYPE x><x/>").unwrap_err();
    assert!(e.why.contains("DOCTYPE"), "{e}");
}

#[test]
fn the_password_is_not_in_debug_output() {
    let shown = format!("{:?} {:?}", list_request(true), flow_request(true));
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("[redacted]"));
    assert_eq!(SOAP_ACTION_LIST, "nodoChiediElencoFlussiRendicontazione");
    assert_eq!(SOAP_ACTION_FLOW, "nodoChiediFlussoRendicontazione");
}
