//! The `FlussoRiversamento` writer against the official `FlussoRiversamento_1_0_4.xsd`, checked
//! by libxml2's `xmllint` (installed by `scripts/test-tools.sh`). Codes 4 and 8 are not in that
//! schema's enumeration, so the tests that need them use a copy widened at test time.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use pagopa::fdr::{
    self, Flow, FlowLine, OutcomeCode, Receiver, Sender, SenderKind, Version, render,
};
use proptest::prelude::*;
use support::{assert_valid, fdr_xsd, xmllint, xpath_text};

/// The official schema with codes 4 and 8 added to `stCodiceEsitoPagamento`.
fn widened_xsd(dir: &Path) -> PathBuf {
    let original = std::fs::read_to_string(fdr_xsd()).unwrap();
    let nine = r#"<xsd:enumeration value="9" />"#;
    assert_eq!(original.matches(nine).count(), 1, "the enumeration moved");
    assert!(!original.contains(r#"<xsd:enumeration value="4" />"#));
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
        flow_id: fdr::flow_id(date(2024, 5, 20), "BCITITMM", 240517001).unwrap(),
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

fn sum_as_text(lines: &[FlowLine]) -> String {
    let cents: u128 = lines.iter().map(|l| l.amount_cents as u128).sum();
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[test]
fn a_one_line_flow_validates_against_the_official_schema() {
    let f = flow(vec![line(1, 1500, OutcomeCode::Paid)]);
    f.validate().unwrap();
    let xml = render(&f);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert_valid(&fdr_xsd(), std::slice::from_ref(&xml));
    assert_eq!(xpath_text(&xml, "numeroTotalePagamenti"), "1");
    assert_eq!(xpath_text(&xml, "importoTotalePagamenti"), "15.00");
    assert_eq!(xpath_text(&xml, "singoloImportoPagato"), "15.00");
}

#[test]
fn a_flow_of_many_lines_validates_and_its_header_counts_and_sums_them() {
    let lines: Vec<FlowLine> = (0..300)
        .map(|n| line(n, 1 + (n as i64 * 7919) % 250_000, OutcomeCode::Paid))
        .collect();
    let f = flow(lines.clone());
    assert_eq!(f.total_payments(), 300);
    let xml = render(&f);
    assert_valid(&fdr_xsd(), std::slice::from_ref(&xml));
    assert_eq!(xpath_text(&xml, "numeroTotalePagamenti"), "300");
    assert_eq!(
        xpath_text(&xml, "importoTotalePagamenti"),
        sum_as_text(&lines)
    );
    assert_eq!(xml.matches("<datiSingoliPagamenti>").count(), 300);
}

#[test]
fn codes_0_3_9_are_in_the_official_schema_and_4_8_only_in_the_widened_copy() {
    let dir = tempfile::tempdir().unwrap();
    let widened = widened_xsd(dir.path());
    let docs: Vec<String> = OutcomeCode::ALL
        .iter()
        .map(|&code| render(&flow(vec![line(1, 100, code)])))
        .collect();
    let official = xmllint(&fdr_xsd(), &docs);
    for (code, result) in OutcomeCode::ALL.iter().zip(&official) {
        assert_eq!(
            result.is_ok(),
            code.in_xsd_1_0_4(),
            "code {code} against the official schema: {result:?}"
        );
        if !code.in_xsd_1_0_4() {
            assert!(
                result
                    .as_ref()
                    .unwrap_err()
                    .contains("codiceEsitoSingoloPagamento"),
                "{result:?}"
            );
        }
    }
    assert_valid(&widened, &docs);
    let mixed = flow(
        OutcomeCode::ALL
            .iter()
            .enumerate()
            .map(|(n, &c)| line(n, 250, c))
            .collect(),
    );
    let xml = render(&mixed);
    for code in ["0", "3", "4", "8", "9"] {
        assert!(xml.contains(&format!(
            "<codiceEsitoSingoloPagamento>{code}</codiceEsitoSingoloPagamento>"
        )));
    }
    assert_valid(&widened, &[xml]);
    assert_eq!(OutcomeCode::from_code(8), Some(OutcomeCode::StandInNoRpt));
    assert_eq!(OutcomeCode::from_code(1), None);
}

#[test]
fn text_with_markup_and_multibyte_characters_is_escaped_and_reads_back_unchanged() {
    let mut f = flow(vec![line(1, 100, OutcomeCode::Paid)]);
    let sender = "Banca d'Élite & <Figli> \"S.p.A.\" €🚀";
    let receiver = "Comune di Cefalù — Città & <Provincia>";
    f.sender.name = Some(sender.into());
    f.receiver.name = Some(receiver.into());
    f.lines[0].iur = "R&<>ü".into();
    f.validate().unwrap();
    let xml = render(&f);
    assert!(xml.contains("Banca d'Élite &amp; &lt;Figli&gt;"));
    assert!(!xml.contains("<Figli>"));
    assert_valid(&fdr_xsd(), std::slice::from_ref(&xml));
    assert_eq!(xpath_text(&xml, "denominazioneMittente"), sender);
    assert_eq!(xpath_text(&xml, "denominazioneRicevente"), receiver);
    assert_eq!(
        xpath_text(&xml, "identificativoUnivocoRiscossione"),
        "R&<>ü"
    );
}

fn at_maximum() -> Flow {
    let mut f = flow(vec![FlowLine {
        iuv: "9".repeat(35),
        iur: "è".repeat(35),
        index: Some(5),
        amount_cents: fdr::MAX_AMOUNT_CENTS,
        outcome: OutcomeCode::Paid,
        date: date(2024, 5, 17),
    }]);
    f.flow_id = format!("2024-05-20{}-{}", "A".repeat(15), "_".repeat(9));
    f.regulation_id = "€".repeat(35);
    f.sender.id = "S".repeat(35);
    f.sender.name = Some("ü".repeat(70));
    f.bic_pouring_bank = Some("B".repeat(35));
    f.receiver.id = "R".repeat(35);
    f.receiver.name = Some("à".repeat(140));
    f
}

#[test]
fn fields_at_their_maximum_lengths_validate() {
    let f = at_maximum();
    assert_eq!(f.flow_id.len(), 35);
    f.validate().unwrap();
    let xml = render(&f);
    assert_valid(&fdr_xsd(), std::slice::from_ref(&xml));
    assert_eq!(xpath_text(&xml, "importoTotalePagamenti"), "999999999.99");
    let mut shortest = flow(vec![line(1, 1, OutcomeCode::Paid)]);
    shortest.sender.name = Some("abc".into());
    shortest.receiver.name = Some("x".into());
    shortest.bic_pouring_bank = None;
    shortest.lines[0].index = None;
    shortest.validate().unwrap();
    assert_valid(&fdr_xsd(), &[render(&shortest)]);
}

#[test]
fn every_field_past_its_limit_is_refused_by_validate_and_by_the_schema() {
    type Mutation = (&'static str, fn(&mut Flow));
    let mutations: Vec<Mutation> = vec![
        ("identificativoFlusso", |f| f.flow_id.push('X')),
        ("identificativoFlusso", |f| {
            f.flow_id = "2024-05-20PSP.1-1".into()
        }),
        ("identificativoFlusso", |f| f.flow_id.clear()),
        ("identificativoUnivocoRegolamento", |f| {
            f.regulation_id.push('€')
        }),
        ("codiceIdentificativoUnivoco", |f| f.sender.id.push('S')),
        ("denominazioneMittente", |f| {
            f.sender.name = Some("ü".repeat(71))
        }),
        ("denominazioneMittente", |f| {
            f.sender.name = Some("ab".into())
        }),
        ("codiceBicBancaDiRiversamento", |f| {
            f.bic_pouring_bank = Some(String::new())
        }),
        ("identificativoUnivocoRicevente", |f| {
            f.receiver.id.push('R')
        }),
        ("denominazioneRicevente", |f| {
            f.receiver.name = Some("à".repeat(141))
        }),
        (
            "datiSingoliPagamenti[1].identificativoUnivocoVersamento",
            |f| f.lines[0].iuv.push('9'),
        ),
        (
            "datiSingoliPagamenti[1].identificativoUnivocoRiscossione",
            |f| f.lines[0].iur.clear(),
        ),
        ("datiSingoliPagamenti[1].indiceDatiSingoloPagamento", |f| {
            f.lines[0].index = Some(6)
        }),
        ("datiSingoliPagamenti[1].indiceDatiSingoloPagamento", |f| {
            f.lines[0].index = Some(0)
        }),
        ("datiSingoliPagamenti[1].singoloImportoPagato", |f| {
            f.lines[0].amount_cents = 0
        }),
        ("datiSingoliPagamenti[1].singoloImportoPagato", |f| {
            f.lines[0].amount_cents = -100
        }),
        ("datiSingoliPagamenti[1].singoloImportoPagato", |f| {
            f.lines[0].amount_cents = fdr::MAX_AMOUNT_CENTS + 1
        }),
        ("importoTotalePagamenti", |f| {
            let l = f.lines[0].clone();
            f.lines.push(l)
        }),
        ("datiSingoliPagamenti", |f| f.lines.clear()),
        ("denominazioneMittente", |f| {
            f.sender.name = Some("bad \u{1} char".into())
        }),
    ];
    let base = at_maximum();
    base.validate().unwrap();
    let mut docs = Vec::new();
    for (field, mutate) in &mutations {
        let mut f = base.clone();
        mutate(&mut f);
        let err = f.validate().unwrap_err();
        assert_eq!(&err.field, field, "{err}");
        docs.push(render(&f));
    }
    for ((field, _), result) in mutations.iter().zip(xmllint(&fdr_xsd(), &docs)) {
        assert!(result.is_err(), "the schema accepted a bad {field}");
    }
}

#[test]
fn flow_ids_have_the_saci_shape_and_match_the_schema_pattern() {
    let id = fdr::flow_id(date(2024, 5, 20), "BCITITMM", 240517001).unwrap();
    assert_eq!(id, "2024-05-20BCITITMM-240517001");
    for (psp, n) in [
        ("60000000001", 1),
        ("PPAYITR1XXX", 99),
        ("ABI_03069-x", 12_345_678),
    ] {
        let id = fdr::flow_id(date(2021, 3, 17), psp, n).unwrap();
        assert!((1..=35).contains(&id.len()), "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
        // <YYYY-MM-DD><PSP id>-<n>
        assert_eq!(
            NaiveDate::parse_from_str(&id[..10], "%Y-%m-%d").unwrap(),
            date(2021, 3, 17)
        );
        assert_eq!(&id[10..10 + psp.len()], psp);
        assert_eq!(id[10 + psp.len()..], format!("-{n}"));
    }
    assert!(fdr::flow_id(date(2024, 5, 20), "PSP.1", 1).is_err());
    assert!(fdr::flow_id(date(2024, 5, 20), "PSP 1", 1).is_err());
    assert!(fdr::flow_id(date(2024, 5, 20), "", 1).is_err());
    // 10 + 23 + 2 = 35 characters fit; one more does not.
    assert_eq!(
        fdr::flow_id(date(2024, 5, 20), &"P".repeat(23), 1)
            .unwrap()
            .len(),
        35
    );
    assert!(fdr::flow_id(date(2024, 5, 20), &"P".repeat(24), 1).is_err());
    assert!(fdr::flow_id(date(2024, 5, 20), &"P".repeat(22), 100).is_err());
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
    )
        .prop_map(
            |(flow_id, regulation_id, kind, sender_name, receiver_name, lines, v11)| {
                let mut f = flow(lines);
                f.version = if v11 { Version::V1_1 } else { Version::V1_0 };
                f.flow_id = flow_id;
                f.regulation_id = regulation_id;
                f.sender.kind = kind;
                f.sender.name = sender_name;
                f.receiver.name = receiver_name;
                f
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn any_flow_that_passes_validate_is_valid_for_the_schema_and_totals_its_lines(
        flows in proptest::collection::vec(any_flow(), 10)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let widened = widened_xsd(dir.path());
        let mut docs = Vec::new();
        for f in &flows {
            prop_assert!(f.validate().is_ok(), "{:?}", f.validate());
            let xml = render(f);
            let header = format!(
                "<numeroTotalePagamenti>{}</numeroTotalePagamenti>\n  <importoTotalePagamenti>{}</importoTotalePagamenti>",
                f.lines.len(),
                sum_as_text(&f.lines)
            );
            prop_assert!(xml.contains(&header), "{}", xml);
            docs.push(xml);
        }
        for (i, r) in xmllint(&widened, &docs).into_iter().enumerate() {
            prop_assert!(r.is_ok(), "{:?}\n{}", r, docs[i]);
        }
    }
}
