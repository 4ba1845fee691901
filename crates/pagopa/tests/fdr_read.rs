//! The reporting-flow readers: XML documents written by `fdr::render` (and by other writers:
//! prefixes, default namespace, versions 1.0 and 1.1, codes 4 and 8) read back equal; every
//! facet, order and cardinality of the schema is enforced with the path and the line of the
//! element at fault, cross-checked with libxml2's `xmllint` on the official schema widened with
//! codes 4 and 8; the FdR 3 JSON reader and writer.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use pagopa::fdr::{
    self, Flow, FlowLine, OutcomeCode, Receiver, Sender, SenderKind, Version, render,
};
use pagopa::fdr_read::{FlowFormat, ReportedFlow, parse_any, parse_rest, parse_xml, render_rest};
use proptest::prelude::*;
use support::{fdr_xsd, xmllint};

/// The official schema with codes 4 and 8 added to `stCodiceEsitoPagamento`.
fn widened_xsd(dir: &Path) -> PathBuf {
    let original = std::fs::read_to_string(fdr_xsd()).unwrap();
    let nine = r#"<xsd:enumeration value="9" />"#;
    assert_eq!(original.matches(nine).count(), 1, "the enumeration moved");
    let widened = original.replace(
        nine,
        r#"<xsd:enumeration value="4" /><xsd:enumeration value="8" /><xsd:enumeration value="9" />"#,
    );
    let path = dir.join("FlussoRiversamento_widened.xsd");
    std::fs::write(&path, widened).unwrap();
    path
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    date(y, m, d).and_hms_opt(h, min, 0).unwrap()
}

fn line(n: usize, amount_cents: i64, outcome: OutcomeCode) -> FlowLine {
    FlowLine {
        iuv: format!("01{n:015}"),
        iur: format!("RCPT{n:08}"),
        index: Some((n % 5 + 1) as u8),
        amount_cents,
        outcome,
        date: date(2024, 5, 17),
    }
}

fn flow(lines: Vec<FlowLine>) -> Flow {
    Flow {
        version: Version::V1_0,
        flow_id: "2024-05-20BCITITMM-240517001".into(),
        flow_date_time: at(2024, 5, 20, 8, 15),
        regulation_id: "SCT202405170011234567890".into(),
        regulation_date: date(2024, 5, 20),
        sender: Sender {
            kind: SenderKind::Bic,
            id: "BCITITMM".into(),
            name: Some("Intesa Sanpaolo S.p.A.".into()),
        },
        bic_pouring_bank: Some("BCITITMM".into()),
        receiver: Receiver {
            id: "80012345678".into(),
            name: Some("Comune di Esempio".into()),
        },
        lines,
    }
}

/// Three lines, one per outcome 0, 3, 9, with indexes 2, 3, 4.
fn three_lines() -> Flow {
    flow(vec![
        line(1, 1500, OutcomeCode::Paid),
        line(2, 250, OutcomeCode::Revoked),
        line(3, 9999, OutcomeCode::NoRpt),
    ])
}

fn samples() -> Vec<Flow> {
    let mut v11 = three_lines();
    v11.version = Version::V1_1;
    let mut bare = flow(vec![line(7, 1, OutcomeCode::Paid)]);
    bare.sender.name = None;
    bare.receiver.name = None;
    bare.bic_pouring_bank = None;
    bare.lines[0].index = None;
    bare.sender.kind = SenderKind::LegalPerson;
    let stand_in = flow(vec![
        line(1, 100, OutcomeCode::StandIn),
        line(2, 200, OutcomeCode::StandInNoRpt),
    ]);
    let mut marked = flow(vec![line(1, fdr::MAX_AMOUNT_CENTS, OutcomeCode::Paid)]);
    marked.sender.name = Some("Banca d'Élite & <Figli> \"S.p.A.\" €🚀\r\nseconda riga".into());
    marked.receiver.name = Some("Comune di Cefalù — Città & <Provincia>".into());
    marked.lines[0].iur = "R&<>ü".into();
    marked.flow_id = "FLUSSO_SENZA_DATA".into();
    vec![three_lines(), v11, bare, stand_in, marked]
}

fn read(doc: &str) -> ReportedFlow {
    parse_xml(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{doc}"))
}

#[test]
fn every_rendered_sample_reads_back_equal_with_its_declared_header() {
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<String> = samples().iter().map(render).collect();
    for r in xmllint(&widened_xsd(dir.path()), &docs) {
        r.unwrap();
    }
    for (f, doc) in samples().iter().zip(&docs) {
        f.validate().unwrap();
        let r = read(doc);
        assert_eq!(&r.flow, f);
        assert_eq!(r.format, FlowFormat::Xml);
        assert_eq!(r.revision, 1);
        assert_eq!(r.declared_count, f.lines.len() as u64);
        assert_eq!(r.declared_total_cents, f.total_amount_cents());
        assert_eq!(r.receiver_organization, None);
        assert_eq!(r.transfer_ids, vec![None; f.lines.len()]);
        assert_eq!(parse_any(doc.as_bytes()).unwrap(), r);
    }
}

#[test]
fn the_psp_comes_from_the_flow_id_or_else_from_the_sender() {
    let r = read(&render(&three_lines()));
    assert_eq!(r.psp_id, "BCITITMM");
    let mut f = three_lines();
    f.flow_id = "2024-05-2060000000001-17163317305".into();
    assert_eq!(read(&render(&f)).psp_id, "60000000001");
    f.flow_id = "FLUSSO_SENZA_DATA".into();
    assert_eq!(read(&render(&f)).psp_id, "BCITITMM");
}

#[test]
fn the_header_is_kept_as_declared_not_recomputed() {
    let doc = render(&three_lines())
        .replace("<numeroTotalePagamenti>3<", "<numeroTotalePagamenti>7<")
        .replace(
            "<importoTotalePagamenti>117.49<",
            "<importoTotalePagamenti>0.00<",
        );
    let r = read(&doc);
    assert_eq!(r.declared_count, 7);
    assert_eq!(r.declared_total_cents, 0);
    assert_eq!(r.flow.lines.len(), 3);
}

/// The document with every element name prefixed (the root's default namespace declaration
/// becomes a prefixed one).
fn prefixed(doc: &str, prefix: &str) -> String {
    doc.replace(
        &format!("<FlussoRiversamento xmlns=\"{}\">", fdr::NS),
        &format!("<FlussoRiversamento xmlns:{prefix}=\"{}\">", fdr::NS),
    )
    .replace("</", "\u{0}")
    .replace('<', &format!("<{prefix}:"))
    .replace(&format!("<{prefix}:?"), "<?")
    .replace('\u{0}', &format!("</{prefix}:"))
}

/// The root prefixed, the children unqualified.
fn unqualified_children(doc: &str) -> String {
    doc.replace(
        &format!("<FlussoRiversamento xmlns=\"{}\">", fdr::NS),
        &format!("<pay_i:FlussoRiversamento xmlns:pay_i=\"{}\">", fdr::NS),
    )
    .replace("</FlussoRiversamento>", "</pay_i:FlussoRiversamento>")
}

#[test]
fn prefixed_and_default_namespaces_are_read_alike_and_unqualified_children_are_tolerated() {
    let f = three_lines();
    let doc = render(&f);
    let with_prefix = prefixed(&doc, "pay_i");
    assert!(with_prefix.contains("<pay_i:FlussoRiversamento xmlns:pay_i="));
    assert!(with_prefix.contains("<pay_i:singoloImportoPagato>15.00</pay_i:singoloImportoPagato>"));
    let other_prefix = prefixed(&doc, "x");
    let with_schema_hint = doc.replace(
        &format!("<FlussoRiversamento xmlns=\"{}\">", fdr::NS),
        &format!(
            "<FlussoRiversamento xmlns=\"{}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{} FlussoRiversamento_1_0_4.xsd\">",
            fdr::NS,
            fdr::NS
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let xsd = widened_xsd(dir.path());
    let accepted = [doc.clone(), with_prefix, other_prefix, with_schema_hint];
    for r in xmllint(&xsd, &accepted) {
        r.unwrap();
    }
    for d in &accepted {
        assert_eq!(read(d).flow, f, "{d}");
    }
    // Unqualified children: the schema (elementFormDefault="qualified") refuses them; the
    // reader tolerates them.
    let unqualified = unqualified_children(&doc);
    assert!(xmllint(&xsd, std::slice::from_ref(&unqualified))[0].is_err());
    assert_eq!(read(&unqualified).flow, f);
}

#[test]
fn a_revision_is_accepted_right_after_the_flow_id() {
    let doc = render(&three_lines());
    let id = "<identificativoFlusso>2024-05-20BCITITMM-240517001</identificativoFlusso>";
    let with = |rev: &str| {
        doc.replace(
            id,
            &format!("{id}\n  <revisioneFlusso>{rev}</revisioneFlusso>"),
        )
    };
    assert_eq!(read(&with("3")).revision, 3);
    assert_eq!(read(&with(" +04 ")).revision, 4);
    for bad in ["0", "-1", "abc", "1.5", "4294967296"] {
        let e = parse_xml(with(bad).as_bytes()).unwrap_err();
        assert_eq!(e.element, "FlussoRiversamento/revisioneFlusso", "{bad}");
        assert_eq!(e.line, Some(5));
    }
    // Anywhere else it is an unexpected element.
    let late = doc.replace(
        "</istitutoRicevente>",
        "</istitutoRicevente>\n  <revisioneFlusso>2</revisioneFlusso>",
    );
    let e = parse_xml(late.as_bytes()).unwrap_err();
    assert_eq!(e.element, "FlussoRiversamento/numeroTotalePagamenti");
}

/// Replaces the `n`-th (1-based) occurrence of `from`.
fn replace_nth(doc: &str, from: &str, to: &str, n: usize) -> String {
    let (at, _) = doc
        .match_indices(from)
        .nth(n - 1)
        .unwrap_or_else(|| panic!("no occurrence {n} of {from}"));
    format!("{}{to}{}", &doc[..at], &doc[at + from.len()..])
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(doc: &str, needle: &str) -> u32 {
    let at = doc
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the document"));
    doc[..at].matches('\n').count() as u32 + 1
}

/// Replaces the text of the `n`-th `name` element.
fn set_text(doc: &str, name: &str, n: usize, value: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let (start, _) = doc.match_indices(&open).nth(n - 1).unwrap();
    let start = start + open.len();
    let end = start + doc[start..].find(&close).unwrap();
    format!("{}{value}{}", &doc[..start], &doc[end..])
}

struct Case {
    what: &'static str,
    doc: String,
    element: &'static str,
    /// A piece of the mutated document on the line the error must name.
    at: String,
}

fn refused_cases() -> Vec<Case> {
    let base = render(&three_lines());
    let mut cases = Vec::new();
    let mut text =
        |what: &'static str, name: &str, n: usize, value: &str, element: &'static str| {
            cases.push(Case {
                what,
                doc: set_text(&base, name, n, value),
                element,
                at: format!("<{name}>{value}</{name}>"),
            });
        };
    let root = "FlussoRiversamento";
    let _ = root;
    text(
        "version 1.2",
        "versioneOggetto",
        1,
        "1.2",
        "FlussoRiversamento/versioneOggetto",
    );
    text(
        "version with spaces",
        "versioneOggetto",
        1,
        " 1.0",
        "FlussoRiversamento/versioneOggetto",
    );
    text(
        "flow id with a space",
        "identificativoFlusso",
        1,
        "2024-05-20 X-1",
        "FlussoRiversamento/identificativoFlusso",
    );
    text(
        "flow id of 36",
        "identificativoFlusso",
        1,
        &"A".repeat(36),
        "FlussoRiversamento/identificativoFlusso",
    );
    text(
        "empty flow id",
        "identificativoFlusso",
        1,
        "",
        "FlussoRiversamento/identificativoFlusso",
    );
    text(
        "date-time with a space",
        "dataOraFlusso",
        1,
        "2024-05-20 08:15:00",
        "FlussoRiversamento/dataOraFlusso",
    );
    text(
        "date-time 25h",
        "dataOraFlusso",
        1,
        "2024-05-20T25:00:00",
        "FlussoRiversamento/dataOraFlusso",
    );
    text(
        "empty regulation",
        "identificativoUnivocoRegolamento",
        1,
        "",
        "FlussoRiversamento/identificativoUnivocoRegolamento",
    );
    text(
        "regulation of 36",
        "identificativoUnivocoRegolamento",
        1,
        &"x".repeat(36),
        "FlussoRiversamento/identificativoUnivocoRegolamento",
    );
    text(
        "30 February",
        "dataRegolamento",
        1,
        "2024-02-30",
        "FlussoRiversamento/dataRegolamento",
    );
    text(
        "sender kind X",
        "tipoIdentificativoUnivoco",
        1,
        "X",
        "FlussoRiversamento/istitutoMittente/identificativoUnivocoMittente/tipoIdentificativoUnivoco",
    );
    text(
        "sender kind lowercase",
        "tipoIdentificativoUnivoco",
        1,
        "b",
        "FlussoRiversamento/istitutoMittente/identificativoUnivocoMittente/tipoIdentificativoUnivoco",
    );
    text(
        "sender id of 36",
        "codiceIdentificativoUnivoco",
        1,
        &"S".repeat(36),
        "FlussoRiversamento/istitutoMittente/identificativoUnivocoMittente/codiceIdentificativoUnivoco",
    );
    text(
        "sender name of 2",
        "denominazioneMittente",
        1,
        "ab",
        "FlussoRiversamento/istitutoMittente/denominazioneMittente",
    );
    text(
        "sender name of 71",
        "denominazioneMittente",
        1,
        &"n".repeat(71),
        "FlussoRiversamento/istitutoMittente/denominazioneMittente",
    );
    text(
        "bic of 36",
        "codiceBicBancaDiRiversamento",
        1,
        &"B".repeat(36),
        "FlussoRiversamento/codiceBicBancaDiRiversamento",
    );
    text(
        "receiver kind A",
        "tipoIdentificativoUnivoco",
        2,
        "A",
        "FlussoRiversamento/istitutoRicevente/identificativoUnivocoRicevente/tipoIdentificativoUnivoco",
    );
    text(
        "empty receiver id",
        "codiceIdentificativoUnivoco",
        2,
        "",
        "FlussoRiversamento/istitutoRicevente/identificativoUnivocoRicevente/codiceIdentificativoUnivoco",
    );
    text(
        "receiver name of 141",
        "denominazioneRicevente",
        1,
        &"r".repeat(141),
        "FlussoRiversamento/istitutoRicevente/denominazioneRicevente",
    );
    text(
        "count 0",
        "numeroTotalePagamenti",
        1,
        "0",
        "FlussoRiversamento/numeroTotalePagamenti",
    );
    text(
        "count 1.5",
        "numeroTotalePagamenti",
        1,
        "1.5",
        "FlussoRiversamento/numeroTotalePagamenti",
    );
    text(
        "count of 16 digits",
        "numeroTotalePagamenti",
        1,
        "1000000000000000",
        "FlussoRiversamento/numeroTotalePagamenti",
    );
    text(
        "count -3",
        "numeroTotalePagamenti",
        1,
        "-3",
        "FlussoRiversamento/numeroTotalePagamenti",
    );
    text(
        "total with one decimal",
        "importoTotalePagamenti",
        1,
        "117.4",
        "FlussoRiversamento/importoTotalePagamenti",
    );
    text(
        "total too large",
        "importoTotalePagamenti",
        1,
        "1000000000.00",
        "FlussoRiversamento/importoTotalePagamenti",
    );
    text(
        "total negative",
        "importoTotalePagamenti",
        1,
        "-1.00",
        "FlussoRiversamento/importoTotalePagamenti",
    );
    text(
        "iuv of 36",
        "identificativoUnivocoVersamento",
        2,
        &"9".repeat(36),
        "FlussoRiversamento/datiSingoliPagamenti[2]/identificativoUnivocoVersamento",
    );
    text(
        "empty iur",
        "identificativoUnivocoRiscossione",
        2,
        "",
        "FlussoRiversamento/datiSingoliPagamenti[2]/identificativoUnivocoRiscossione",
    );
    text(
        "index 6",
        "indiceDatiSingoloPagamento",
        3,
        "6",
        "FlussoRiversamento/datiSingoliPagamenti[3]/indiceDatiSingoloPagamento",
    );
    text(
        "index 0",
        "indiceDatiSingoloPagamento",
        3,
        "0",
        "FlussoRiversamento/datiSingoliPagamenti[3]/indiceDatiSingoloPagamento",
    );
    text(
        "index 1.0",
        "indiceDatiSingoloPagamento",
        1,
        "1.0",
        "FlussoRiversamento/datiSingoliPagamenti[1]/indiceDatiSingoloPagamento",
    );
    text(
        "amount zero",
        "singoloImportoPagato",
        2,
        "0.00",
        "FlussoRiversamento/datiSingoliPagamenti[2]/singoloImportoPagato",
    );
    text(
        "amount of 3 decimals",
        "singoloImportoPagato",
        3,
        "99.990",
        "FlussoRiversamento/datiSingoliPagamenti[3]/singoloImportoPagato",
    );
    text(
        "amount too large",
        "singoloImportoPagato",
        1,
        "1000000000.00",
        "FlussoRiversamento/datiSingoliPagamenti[1]/singoloImportoPagato",
    );
    text(
        "amount with a comma",
        "singoloImportoPagato",
        1,
        "15,00",
        "FlussoRiversamento/datiSingoliPagamenti[1]/singoloImportoPagato",
    );
    text(
        "outcome 1",
        "codiceEsitoSingoloPagamento",
        1,
        "1",
        "FlussoRiversamento/datiSingoliPagamenti[1]/codiceEsitoSingoloPagamento",
    );
    text(
        "outcome 00",
        "codiceEsitoSingoloPagamento",
        2,
        "00",
        "FlussoRiversamento/datiSingoliPagamenti[2]/codiceEsitoSingoloPagamento",
    );
    text(
        "outcome with a space",
        "codiceEsitoSingoloPagamento",
        3,
        "9 ",
        "FlussoRiversamento/datiSingoliPagamenti[3]/codiceEsitoSingoloPagamento",
    );
    text(
        "month 13",
        "dataEsitoSingoloPagamento",
        3,
        "2024-13-01",
        "FlussoRiversamento/datiSingoliPagamenti[3]/dataEsitoSingoloPagamento",
    );

    let mut push = |what: &'static str, doc: String, element: &'static str, at: &str| {
        cases.push(Case {
            what,
            doc,
            element,
            at: at.to_owned(),
        });
    };
    let id_line = "  <identificativoFlusso>2024-05-20BCITITMM-240517001</identificativoFlusso>\n";
    let dt_line = "  <dataOraFlusso>2024-05-20T08:15:00</dataOraFlusso>\n";
    push(
        "flow id and date-time swapped",
        base.replace(
            &format!("{id_line}{dt_line}"),
            &format!("{dt_line}{id_line}"),
        ),
        "FlussoRiversamento/identificativoFlusso",
        "<dataOraFlusso>",
    );
    push(
        "version twice",
        base.replace(
            "<versioneOggetto>1.0</versioneOggetto>\n",
            "<versioneOggetto>1.0</versioneOggetto>\n  <versioneOggetto>1.0</versioneOggetto>\n",
        ),
        "FlussoRiversamento/identificativoFlusso",
        "  <versioneOggetto>1.0</versioneOggetto>\n  <identificativoFlusso>",
    );
    let receiver_start = base.find("  <istitutoRicevente>").unwrap();
    let receiver_end =
        base.find("</istitutoRicevente>\n").unwrap() + "</istitutoRicevente>\n".len();
    push(
        "no receiver",
        format!("{}{}", &base[..receiver_start], &base[receiver_end..]),
        "FlussoRiversamento/istitutoRicevente",
        "<numeroTotalePagamenti>",
    );
    let lines_start = base.find("  <datiSingoliPagamenti>").unwrap();
    let lines_end = base.find("</FlussoRiversamento>").unwrap();
    push(
        "no lines",
        format!("{}{}", &base[..lines_start], &base[lines_end..]),
        "FlussoRiversamento/datiSingoliPagamenti",
        "<FlussoRiversamento ",
    );
    push(
        "an element after the lines",
        base.replace(
            "</FlussoRiversamento>",
            "  <nota>x</nota>\n</FlussoRiversamento>",
        ),
        "FlussoRiversamento/nota",
        "<nota>",
    );
    push(
        "index after the amount",
        replace_nth(
            &base,
            "    <indiceDatiSingoloPagamento>3</indiceDatiSingoloPagamento>\n    <singoloImportoPagato>2.50</singoloImportoPagato>\n",
            "    <singoloImportoPagato>2.50</singoloImportoPagato>\n    <indiceDatiSingoloPagamento>3</indiceDatiSingoloPagamento>\n",
            1,
        ),
        "FlussoRiversamento/datiSingoliPagamenti[2]/codiceEsitoSingoloPagamento",
        "<indiceDatiSingoloPagamento>3<",
    );
    push(
        "no outcome date",
        replace_nth(
            &base,
            "    <dataEsitoSingoloPagamento>2024-05-17</dataEsitoSingoloPagamento>\n",
            "",
            2,
        ),
        "FlussoRiversamento/datiSingoliPagamenti[2]/dataEsitoSingoloPagamento",
        "<datiSingoliPagamenti>\n    <identificativoUnivocoVersamento>01000000000000002<",
    );
    push(
        "an attribute",
        replace_nth(
            &base,
            "<singoloImportoPagato>",
            "<singoloImportoPagato valuta=\"EUR\">",
            2,
        ),
        "FlussoRiversamento/datiSingoliPagamenti[2]/singoloImportoPagato",
        "valuta=",
    );
    push(
        "text in a complex element",
        base.replace("<istitutoMittente>\n", "<istitutoMittente>oops\n"),
        "FlussoRiversamento/istitutoMittente",
        "oops",
    );
    push(
        "an element in a simple one",
        replace_nth(
            &base,
            "<singoloImportoPagato>15.00",
            "<singoloImportoPagato><b>15.00</b>",
            1,
        ),
        "FlussoRiversamento/datiSingoliPagamenti[1]/singoloImportoPagato",
        "<b>",
    );
    push(
        "a child in another namespace",
        base.replace(
            "<dataRegolamento>2024-05-20</dataRegolamento>",
            "<dataRegolamento xmlns=\"urn:other\">2024-05-20</dataRegolamento>",
        ),
        "FlussoRiversamento/dataRegolamento",
        "urn:other",
    );
    push(
        "the root in another namespace",
        base.replace(fdr::NS, "http://www.digitpa.gov.it/schemas/2011/Altro/"),
        "FlussoRiversamento",
        "<FlussoRiversamento ",
    );
    push(
        "the root without a namespace",
        base.replace(&format!(" xmlns=\"{}\"", fdr::NS), ""),
        "FlussoRiversamento",
        "<FlussoRiversamento>",
    );
    cases
}

#[test]
fn each_facet_order_and_cardinality_is_enforced_where_the_schema_puts_it() {
    let cases = refused_cases();
    let dir = tempfile::tempdir().unwrap();
    let xsd = widened_xsd(dir.path());
    let docs: Vec<String> = cases.iter().map(|c| c.doc.clone()).collect();
    let verdicts = xmllint(&xsd, &docs);
    for (c, verdict) in cases.iter().zip(verdicts) {
        assert!(verdict.is_err(), "xmllint accepts '{}':\n{}", c.what, c.doc);
        let e = parse_xml(c.doc.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("'{}' is accepted:\n{}", c.what, c.doc));
        assert_eq!(e.element, c.element, "'{}': {e}", c.what);
        assert_eq!(e.line, Some(line_of(&c.doc, &c.at)), "'{}': {e}", c.what);
        assert!(!e.why.is_empty());
    }
}

#[test]
fn lexical_variants_the_schema_accepts_are_accepted() {
    let f = three_lines();
    let base = render(&f);
    let variants = [
        set_text(&base, "singoloImportoPagato", 1, " 015.00\n"),
        set_text(&base, "numeroTotalePagamenti", 1, "+003"),
        set_text(&base, "numeroTotalePagamenti", 1, "3.0"),
        set_text(&base, "indiceDatiSingoloPagamento", 1, " +02 "),
        set_text(&base, "dataEsitoSingoloPagamento", 1, "2024-05-17Z"),
        set_text(&base, "dataRegolamento", 1, "2024-05-20+02:00"),
        set_text(&base, "dataOraFlusso", 1, "2024-05-20T06:15:00Z"),
        set_text(&base, "dataOraFlusso", 1, "2024-05-20T08:15:00+02:00"),
        set_text(&base, "singoloImportoPagato", 2, "2<!-- c -->.50"),
        set_text(
            &base,
            "identificativoUnivocoRiscossione",
            1,
            "<![CDATA[RCPT00000001]]>",
        ),
        base.replace("<istitutoMittente>", "<istitutoMittente><!-- mittente -->"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, r) in xmllint(&widened_xsd(dir.path()), &variants)
        .into_iter()
        .enumerate()
    {
        r.unwrap_or_else(|e| panic!("{e}\n{}", variants[i]));
    }
    for v in &variants {
        let r = read(v);
        assert_eq!(r.flow, f, "{v}");
        assert_eq!(r.declared_count, 3);
    }
}

#[test]
fn a_fraction_of_a_second_is_kept_and_a_zone_becomes_rome_time() {
    let base = render(&three_lines());
    let r = read(&set_text(
        &base,
        "dataOraFlusso",
        1,
        "2024-01-20T07:15:00.250Z",
    ));
    assert_eq!(
        r.flow.flow_date_time,
        at(2024, 1, 20, 8, 15) + chrono::Duration::milliseconds(250)
    );
}

#[test]
fn version_1_1_and_codes_4_and_8_are_read() {
    let mut f = flow(vec![
        line(1, 100, OutcomeCode::StandIn),
        line(2, 200, OutcomeCode::StandInNoRpt),
        line(3, 300, OutcomeCode::Paid),
    ]);
    f.version = Version::V1_1;
    let r = read(&render(&f));
    assert_eq!(r.flow.version, Version::V1_1);
    let codes: Vec<u8> = r.flow.lines.iter().map(|l| l.outcome.code()).collect();
    assert_eq!(codes, [4, 8, 0]);
}

#[test]
fn a_doctype_is_refused_even_without_entities() {
    let base = render(&three_lines());
    for doctype in [
        "<!DOCTYPE FlussoRiversamento>",
        "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
    ] {
        let doc = base.replacen("\n", &format!("\n{doctype}\n"), 1);
        let e = parse_xml(doc.as_bytes()).unwrap_err();
        assert!(e.why.contains("DOCTYPE"), "{e}");
        assert_eq!(e.line, Some(2));
    }
    let e = parse_xml(b"<FlussoRiversamento>&e;</FlussoRiversamento>").unwrap_err();
    assert!(e.why.contains("entity"), "{e}");
}

#[test]
fn a_flow_of_a_hundred_thousand_lines_is_read() {
    let lines: Vec<FlowLine> = (0..100_000)
        .map(|n| line(n, 1 + n as i64 % 1000, OutcomeCode::Paid))
        .collect();
    let f = flow(lines);
    let doc = render(&f);
    let started = std::time::Instant::now();
    let r = read(&doc);
    assert_eq!(r.flow.lines.len(), 100_000);
    assert_eq!(r.flow, f);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let bad = set_text(&doc, "singoloImportoPagato", 99_999, "0.001");
    let e = parse_xml(bad.as_bytes()).unwrap_err();
    assert_eq!(
        e.element,
        "FlussoRiversamento/datiSingoliPagamenti[99999]/singoloImportoPagato"
    );
    assert_eq!(e.line, Some(line_of(&bad, "<singoloImportoPagato>0.001<")));
}

fn xml_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('Z'),
            Just('7'),
            Just(' '),
            Just('&'),
            Just('<'),
            Just('>'),
            Just('"'),
            Just('\''),
            Just('\r'),
            Just('\n'),
            Just('è'),
            Just('€'),
            Just('🚀'),
        ],
        min..=max,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn any_line() -> impl Strategy<Value = FlowLine> {
    (
        xml_text(1, 35),
        xml_text(1, 35),
        proptest::option::of(1u8..=5),
        1i64..=5_000_000_000,
        proptest::sample::select(OutcomeCode::ALL.to_vec()),
        0i64..20_000,
    )
        .prop_map(|(iuv, iur, index, amount_cents, outcome, days)| FlowLine {
            iuv,
            iur,
            index,
            amount_cents,
            outcome,
            date: date(2000, 1, 1) + chrono::Duration::days(days),
        })
}

fn any_flow() -> impl Strategy<Value = Flow> {
    (
        "[a-zA-Z0-9_-]{1,35}",
        xml_text(1, 35),
        proptest::sample::select(vec![
            SenderKind::LegalPerson,
            SenderKind::Abi,
            SenderKind::Bic,
        ]),
        proptest::option::of(xml_text(3, 70)),
        proptest::option::of(xml_text(1, 140)),
        proptest::collection::vec(any_line(), 1..12),
        any::<bool>(),
        0i64..400_000_000,
    )
        .prop_map(
            |(flow_id, regulation_id, kind, sender_name, receiver_name, lines, v11, secs)| {
                let mut f = flow(lines);
                f.version = if v11 { Version::V1_1 } else { Version::V1_0 };
                f.flow_id = flow_id;
                f.regulation_id = regulation_id;
                f.sender.kind = kind;
                f.sender.name = sender_name;
                f.receiver.name = receiver_name;
                f.flow_date_time = at(2010, 1, 1, 0, 0) + chrono::Duration::seconds(secs);
                f
            },
        )
}

fn any_rest_flow() -> impl Strategy<Value = ReportedFlow> {
    (
        any_flow(),
        "[A-Z0-9]{1,35}",
        1u32..1000,
        1u64..1_000_000_000_000_000,
        0i64..=fdr::MAX_AMOUNT_CENTS,
        "[0-9]{11}",
        proptest::collection::vec(1u32..=9, 12),
    )
        .prop_map(|(mut flow, psp_id, revision, count, total, org, ids)| {
            flow.version = Version::V1_0;
            // JSON texts are single-line: FdR 3's patterns are `.{1,35}`.
            let one_line = |s: &mut String| {
                *s = s.replace(['\r', '\n'], "-");
            };
            one_line(&mut flow.regulation_id);
            flow.sender.name.as_mut().map(one_line);
            flow.receiver.name.as_mut().map(one_line);
            let mut transfer_ids = Vec::new();
            for (line, id) in flow.lines.iter_mut().zip(ids) {
                one_line(&mut line.iuv);
                one_line(&mut line.iur);
                line.index = u8::try_from(id).ok().filter(|i| *i <= 5);
                transfer_ids.push(Some(id));
            }
            ReportedFlow {
                flow,
                psp_id,
                revision,
                declared_count: count,
                declared_total_cents: total,
                format: FlowFormat::Rest,
                receiver_organization: Some(org),
                transfer_ids,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_rendered_flow_reads_back_equal(f in any_flow(), prefix in proptest::option::of("[a-z][a-z0-9]{0,5}")) {
        prop_assume!(f.validate().is_ok());
        let mut doc = render(&f);
        if let Some(p) = prefix {
            doc = prefixed(&doc, &p);
        }
        let r = parse_xml(doc.as_bytes());
        prop_assert!(r.is_ok(), "{:?}\n{}", r, doc);
        let r = r.unwrap();
        prop_assert_eq!(&r.flow, &f);
        prop_assert_eq!(r.declared_total_cents, f.total_amount_cents());
    }

    #[test]
    fn any_rest_flow_renders_and_reads_back_equal(r in any_rest_flow()) {
        let json = render_rest(&r);
        let back = parse_rest(json.as_bytes());
        prop_assert!(back.is_ok(), "{:?}\n{}", back, json);
        prop_assert_eq!(&back.unwrap(), &r);
        prop_assert_eq!(parse_any(json.as_bytes()).unwrap(), r);
    }
}

// ------------------------------------------------------------------------------------------------
// FdR 3 JSON
// ------------------------------------------------------------------------------------------------

const REST: &str = r#"{
  "status": "PUBLISHED",
  "revision": 2,
  "created": "2024-05-20T06:00:00.123Z",
  "updated": "2024-05-20T06:10:00Z",
  "fdr": "2024-05-2060000000001-0000001",
  "fdrDate": "2024-05-20T06:15:00Z",
  "regulation": "SEPA - Bonifico X",
  "regulationDate": "2024-05-20",
  "bicCodePouringBank": "UNCRITMMXXX",
  "sender": {
    "type": "ABI_CODE",
    "id": "SELBIT2B",
    "pspId": "60000000001",
    "pspName": "PSP Name",
    "pspBrokerId": "70000000001",
    "channelId": "80000000001",
    "password": "password"
  },
  "receiver": {
    "id": "APPBIT2B",
    "organizationId": "20000000001",
    "organizationName": "Comune di Roma"
  },
  "published": "2024-05-20T06:20:00Z",
  "computedTotPayments": 5,
  "computedSumPayments": 112.39,
  "totPayments": 5,
  "sumPayments": 112.4,
  "payments": [
    {"index": 1, "iuv": "17854456582215", "iur": "3354426511008", "idTransfer": 1, "pay": 100.00, "payStatus": "EXECUTED", "payDate": "2024-05-16T22:30:00Z"},
    {"index": 2, "iuv": "17854456582216", "iur": "3354426511009", "idTransfer": 2, "pay": 12.3, "payStatus": "REVOKED", "payDate": "2024-05-17T10:00:00+02:00"},
    {"index": 3, "iuv": "17854456582217", "iur": "3354426511010", "idTransfer": 5, "pay": 0.01, "payStatus": "STAND_IN", "payDate": "2024-05-17T10:00:00"},
    {"index": 4, "iuv": "17854456582218", "iur": "3354426511011", "idTransfer": 3, "pay": 0.07, "payStatus": "STAND_IN_NO_RPT", "payDate": "2024-05-17"},
    {"index": 5, "iuv": "17854456582219", "iur": "3354426511012", "idTransfer": 7, "pay": 0.01, "payStatus": "NO_RPT", "payDate": "2024-05-17T12:00:00.5Z", "extra": {"ignored": [1, 2]}}
  ],
  "somethingNew": null
}"#;

#[test]
fn an_fdr3_flow_is_read_with_its_header_and_payments() {
    let r = parse_rest(REST.as_bytes()).unwrap();
    assert_eq!(r.format, FlowFormat::Rest);
    assert_eq!(r.revision, 2);
    assert_eq!(r.psp_id, "60000000001");
    assert_eq!(r.receiver_organization.as_deref(), Some("20000000001"));
    assert_eq!(r.declared_count, 5);
    assert_eq!(r.declared_total_cents, 11240);
    let f = &r.flow;
    assert_eq!(f.flow_id, "2024-05-2060000000001-0000001");
    assert_eq!(f.flow_date_time, at(2024, 5, 20, 8, 15));
    assert_eq!(f.regulation_id, "SEPA - Bonifico X");
    assert_eq!(f.regulation_date, date(2024, 5, 20));
    assert_eq!(f.bic_pouring_bank.as_deref(), Some("UNCRITMMXXX"));
    assert_eq!(
        f.sender,
        Sender {
            kind: SenderKind::Abi,
            id: "SELBIT2B".into(),
            name: Some("PSP Name".into())
        }
    );
    assert_eq!(
        f.receiver,
        Receiver {
            id: "APPBIT2B".into(),
            name: Some("Comune di Roma".into())
        }
    );
    let amounts: Vec<i64> = f.lines.iter().map(|l| l.amount_cents).collect();
    assert_eq!(amounts, [10000, 1230, 1, 7, 1]);
    let codes: Vec<u8> = f.lines.iter().map(|l| l.outcome.code()).collect();
    assert_eq!(codes, [0, 3, 4, 8, 9]);
    let dates: Vec<NaiveDate> = f.lines.iter().map(|l| l.date).collect();
    assert_eq!(
        dates,
        [date(2024, 5, 17); 5],
        "22:30Z on the 16th is the 17th in Rome"
    );
    let indexes: Vec<Option<u8>> = f.lines.iter().map(|l| l.index).collect();
    assert_eq!(indexes, [Some(1), Some(2), Some(5), Some(3), None]);
    assert_eq!(
        r.transfer_ids,
        [Some(1), Some(2), Some(5), Some(3), Some(7)]
    );
    assert_eq!(
        parse_any(format!("\u{feff}  \n{REST}").as_bytes()).unwrap(),
        r
    );
}

fn without(pointer: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(REST).unwrap();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    assert!(
        target.as_object_mut().unwrap().remove(key).is_some(),
        "{pointer}"
    );
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn each_required_field_missing_is_refused_with_its_pointer() {
    let required = [
        "/fdr",
        "/fdrDate",
        "/revision",
        "/sender",
        "/sender/type",
        "/sender/id",
        "/sender/pspId",
        "/receiver",
        "/receiver/id",
        "/receiver/organizationId",
        "/regulation",
        "/regulationDate",
        "/totPayments",
        "/sumPayments",
        "/payments",
        "/payments/0/index",
        "/payments/1/iuv",
        "/payments/2/iur",
        "/payments/3/idTransfer",
        "/payments/3/pay",
        "/payments/4/payStatus",
        "/payments/4/payDate",
    ];
    for pointer in required {
        let doc = without(pointer);
        let e = parse_rest(doc.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("accepted without {pointer}"));
        assert_eq!(e.element, pointer, "{e}");
        assert_eq!(e.why, "missing");
        assert!(e.line.is_some());
    }
    // The optional ones are optional.
    for pointer in [
        "/bicCodePouringBank",
        "/sender/pspName",
        "/sender/pspBrokerId",
        "/receiver/organizationName",
        "/status",
        "/computedSumPayments",
    ] {
        parse_rest(without(pointer).as_bytes()).unwrap_or_else(|e| panic!("{pointer}: {e}"));
    }
}

#[test]
fn a_missing_field_names_the_line_of_its_object() {
    let doc = REST.replace(r#""idTransfer": 2, "pay": 12.3, "#, r#""idTransfer": 2, "#);
    let e = parse_rest(doc.as_bytes()).unwrap_err();
    assert_eq!(e.element, "/payments/1/pay");
    assert_eq!(e.line, Some(line_of(&doc, "\"17854456582216\"")));
}

fn with_pay(pay: &str) -> Result<i64, pagopa::read::ReadError> {
    let doc = REST.replace(r#""pay": 12.3,"#, &format!(r#""pay": {pay},"#));
    parse_rest(doc.as_bytes()).map(|r| r.flow.lines[1].amount_cents)
}

#[test]
fn json_amounts_are_exact_from_their_digits() {
    for (pay, cents) in [
        ("12.3", 1230),
        ("12.30", 1230),
        ("12", 1200),
        ("0.1", 10),
        ("0.29", 29),
        ("1.15", 115),
        ("4.35", 435),
        ("100.00", 10000),
        ("999999999.99", fdr::MAX_AMOUNT_CENTS),
        ("0.01", 1),
    ] {
        assert_eq!(with_pay(pay).unwrap(), cents, "{pay}");
    }
    for (pay, why) in [
        ("1.005", "has more than two decimals"),
        ("12.300", "has more than two decimals"),
        (
            "1e2",
            "has an exponent; write the amount with at most two decimals",
        ),
        (
            "1.2E1",
            "has an exponent; write the amount with at most two decimals",
        ),
        ("-1.00", "is negative"),
        ("\"12.30\"", "is not a number"),
        ("1000000000", "exceeds 999999999.99"),
        ("0", "is zero, at least 0.01 required"),
        ("0.00", "is zero, at least 0.01 required"),
        ("true", "is not a number"),
    ] {
        let e = with_pay(pay).unwrap_err();
        assert_eq!(e.element, "/payments/1/pay", "{pay}");
        assert_eq!(e.why, why, "{pay}");
    }
    let doc = REST.replace(r#""sumPayments": 112.4,"#, r#""sumPayments": 0,"#);
    assert_eq!(parse_rest(doc.as_bytes()).unwrap().declared_total_cents, 0);
}

#[test]
fn json_values_of_the_wrong_type_or_shape_are_refused() {
    for (from, to, pointer) in [
        (r#""revision": 2"#, r#""revision": 0"#, "/revision"),
        (r#""revision": 2"#, r#""revision": 2.0"#, "/revision"),
        (r#""revision": 2"#, r#""revision": "2""#, "/revision"),
        (
            r#""totPayments": 5"#,
            r#""totPayments": -5"#,
            "/totPayments",
        ),
        (
            r#""fdr": "2024-05-2060000000001-0000001""#,
            r#""fdr": "a b""#,
            "/fdr",
        ),
        (
            r#""fdrDate": "2024-05-20T06:15:00Z""#,
            r#""fdrDate": "yesterday""#,
            "/fdrDate",
        ),
        (
            r#""regulationDate": "2024-05-20""#,
            r#""regulationDate": "2024-05-32""#,
            "/regulationDate",
        ),
        (r#""type": "ABI_CODE""#, r#""type": "ABI""#, "/sender/type"),
        (
            r#""pspName": "PSP Name""#,
            r#""pspName": "PS""#,
            "/sender/pspName",
        ),
        (
            r#""regulation": "SEPA - Bonifico X""#,
            r#""regulation": "SEPA\nX""#,
            "/regulation",
        ),
        (
            r#""payStatus": "REVOKED""#,
            r#""payStatus": "CANCELLED""#,
            "/payments/1/payStatus",
        ),
        (
            r#""idTransfer": 2,"#,
            r#""idTransfer": 0,"#,
            "/payments/1/idTransfer",
        ),
        (
            r#""iuv": "17854456582216""#,
            r#""iuv": 17854456582216"#,
            "/payments/1/iuv",
        ),
        (r#""receiver": {"#, r#""receiver": [], "x": {"#, "/receiver"),
    ] {
        assert!(REST.contains(from), "{from}");
        let doc = REST.replacen(from, to, 1);
        let e = parse_rest(doc.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("accepted {to}"));
        assert_eq!(e.element, pointer, "{to}: {e}");
        assert_eq!(e.line, Some(line_of(&doc, to)), "{to}: {e}");
    }
    let empty = REST.replace(
        &REST[REST.find("\"payments\": [").unwrap()..REST.find("\n  ],").unwrap() + 5],
        "\"payments\": [],",
    );
    assert_eq!(
        parse_rest(empty.as_bytes()).unwrap_err().element,
        "/payments"
    );
    let twice = REST.replace(r#""revision": 2,"#, r#""revision": 2, "revision": 3,"#);
    let e = parse_rest(twice.as_bytes()).unwrap_err();
    assert_eq!(
        (e.element.as_str(), e.why.as_str()),
        ("/revision", "appears twice in its object")
    );
    let e = parse_rest(b"{\"fdr\": \n\n 1,").unwrap_err();
    assert_eq!(e.line, Some(3));
    assert!(parse_rest(b"[1]").is_err());
    assert!(parse_any(b"  hello").is_err());
}

#[test]
fn a_rest_flow_renders_to_the_shape_it_is_read_from() {
    let r = parse_rest(REST.as_bytes()).unwrap();
    let json = render_rest(&r);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["fdrDate"], "2024-05-20T08:15:00+02:00");
    assert_eq!(v["sender"]["type"], "ABI_CODE");
    assert_eq!(v["payments"][4]["idTransfer"], 7);
    assert_eq!(v["payments"][1]["payStatus"], "REVOKED");
    assert!(json.contains("\"sumPayments\": 112.40,"));
    assert!(json.contains("\"pay\": 12.30,"));
    assert_eq!(parse_rest(json.as_bytes()).unwrap(), r);
    // An XML flow written as JSON reads back with the same lines.
    let x = read(&render(&three_lines()));
    let back = parse_rest(render_rest(&x).as_bytes()).unwrap();
    assert_eq!(back.flow.lines, x.flow.lines);
    assert_eq!(back.flow.flow_date_time, x.flow.flow_date_time);
}
