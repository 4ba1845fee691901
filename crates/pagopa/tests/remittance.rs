//! The tolerant remittance reader against causali as treasuries print them: separators
//! swapped, spaces inserted, bank words around, ids wrapped across lines.
#![allow(clippy::unwrap_used)]

use pagopa::remittance::{Remittance, SingleKind, normalise_flow_id, parse};
use proptest::prelude::*;

fn flow(id: &str) -> Option<Remittance> {
    Some(Remittance::Flow {
        flow_id: id.to_owned(),
    })
}

fn single(kind: SingleKind, iuv: &str, amount_cents: Option<i64>) -> Option<Remittance> {
    Some(Remittance::Single {
        kind,
        iuv: iuv.to_owned(),
        amount_cents,
    })
}

const ID: &str = "2021-03-17SIGPITM1XXX-S005147952";

#[test]
fn noisy_causali_yield_their_flow_or_payment() {
    use SingleKind::{Rfb, Rfs};
    let table: Vec<(&str, Option<Remittance>)> = vec![
        // cumulative
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        (
            "ACCREDITO BONIFICO RI1/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX-S005147952 BONIFICO A VOSTRO FAVORE",
            flow(ID),
        ),
        (
            "RI1/PUR/LGPE-RIVERSAMENTO/URI/20 21-03-17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        (
            "RI1.PUR.LGPE-RIVERSAMENTO.URI.2021-03-17SIGPITM1XXX-S005147952.BONIFICO",
            flow(ID),
        ),
        (
            "ri1/pur/lgpe-riversamento/uri/2021-03-17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        (
            "RI1/PUR/LGPE-RIVERSAMENTO/TXT/1/URI/2021-03-17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        (
            "RI1 / P UR / LGPE- RIVERSAMENTO / U RI / 2021-03-17SIGPITM1XXX-S005147952 DATA REG. 17/03/2021",
            flow(ID),
        ),
        (
            "BONIFICO SEPA IN ENTRATA /PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX-S00514\n7952 BONIFICO",
            flow(ID),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1\nXXX-S005147952",
            flow(ID),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX-S005147952\nBONIFICO A VOSTRO FAVORE",
            flow(ID),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX-S005147952 RI2",
            flow(ID),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021 - 03 - 17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17 SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX- S005147952",
            flow(ID),
        ),
        (
            "ACCR. BONIF. SEPA POSTE ITALIANE .PUR/LGPE-RIVERSAMENTO.TXT.7.URI/2024-05-20 BPPIITRRXXX-240517001/ RIVERSAMENTO PAGOPA",
            flow("2024-05-20BPPIITRRXXX-240517001"),
        ),
        (
            "INCASSO BONIFICO DA INTESA SANPAOLO RI1/PUR/LGPE-RIVERSAMENTO/URI/2024-0 5-20BCITITMM-240517001. data reg. 20/05/2024",
            flow("2024-05-20BCITITMM-240517001"),
        ),
        (
            "PUR/LGPE-RIVERSAMENTO/URI/2024-05-20ABI03069-2024052000001",
            flow("2024-05-20ABI03069-2024052000001"),
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20psp_id_1-seq-1 A",
            flow("2024-05-20psp_id_1-seq-1"),
        ),
        (
            "/PUR//LGPE-RIVERSAMENTO//URI//2021-03-17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        // both kinds: the cumulative one wins
        (
            "/RFB/010000000000000017/10.00 /PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX-S005147952",
            flow(ID),
        ),
        // single
        (
            "/RFS/RF18539007547034/150.00/TXT/TARI 2024",
            single(Rfs, "RF18539007547034", Some(15_000)),
        ),
        (
            "/RFB/01000000000000017/123,45",
            single(Rfb, "01000000000000017", Some(12_345)),
        ),
        (
            "/RFB/01000000000000017",
            single(Rfb, "01000000000000017", None),
        ),
        (
            "/RFB/01000000000000017/TXT/MULTA",
            single(Rfb, "01000000000000017", None),
        ),
        (
            "BONIFICO DA ROSSI MARIO /RFB/010000000000000/1.234,56/TXT/CANONE",
            single(Rfb, "010000000000000", Some(123_456)),
        ),
        (
            ".RFB.01000000000000017.99.5",
            single(Rfb, "01000000000000017", Some(9_950)),
        ),
        (
            "/rfs/rf18539007547034/15",
            single(Rfs, "RF18539007547034", Some(1_500)),
        ),
        (
            "/R FB/0100 0000 0000 0001 7/20.00",
            single(Rfb, "01000000000000017", Some(2_000)),
        ),
        (
            "/RFS/RF18 5390 0754 7034/7.00",
            single(Rfs, "RF18539007547034", Some(700)),
        ),
        (
            "/RFB/01000000000000017/12.345/TXT",
            single(Rfb, "01000000000000017", None),
        ),
        // negatives
        (
            "BONIFICO A VOSTRO FAVORE DA ROSSI MARIO AFFITTO SALA N. 12/2024",
            None,
        ),
        ("", None),
        ("/PUR/LGPE-RIVERSAMENTO/URI/", None),
        ("/PUR/LGPE-RIVERSAMENTO/URI/ BONIFICO A VOSTRO FAVORE", None),
        ("/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXX", None),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/21-03-17SIGPITM1XXX-S005147952",
            None,
        ),
        (
            "/PUR/LGPE-RIVERSAMENTO/URI/2021-03-17SIGPITM1XXXXXXXXXXXX-S005147952",
            None,
        ),
        ("/PUR/LGPE/URI/2021-03-17SIGPITM1XXX-S005147952", None),
        ("/RFB/0100000000017/10.00", None),
        ("/RFB/010000000000000000017/10.00", None),
        ("/RFS/RF18ABC/10.00", None),
        ("/RFB/", None),
        ("SERFB/01000000000000017/10.00", None),
        ("/RFX/01000000000000017/10.00", None),
    ];
    assert!(table.len() >= 30);
    for (text, expected) in &table {
        assert_eq!(&parse(text), expected, "{text:?}");
    }
}

#[test]
fn a_flow_id_alone_is_normalised() {
    assert_eq!(normalise_flow_id(ID).as_deref(), Some(ID));
    assert_eq!(
        normalise_flow_id("  20 21-03-17SIGPITM1XXX-S005147952\n").as_deref(),
        Some(ID)
    );
    assert_eq!(
        normalise_flow_id("2021-03-17SIGPITM1XXX-S00514\n7952").as_deref(),
        Some(ID)
    );
    assert_eq!(
        normalise_flow_id("2021-03-17SIGPITM1XXX-S005147952 X"),
        None
    );
    assert_eq!(normalise_flow_id("2021-03-17SIGPITM1XXX"), None);
    assert_eq!(normalise_flow_id("SIGPITM1XXX-S005147952"), None);
    assert_eq!(normalise_flow_id(""), None);
}

fn flow_id() -> impl Strategy<Value = String> {
    (
        1990u32..2100,
        1u32..13,
        1u32..29,
        "[A-Z0-9_]{1,11}",
        "[0-9A-Za-z_-]{0,8}[0-9]",
    )
        .prop_map(|(y, m, d, psp, seq)| format!("{y:04}-{m:02}-{d:02}{psp}-{seq}"))
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("BONIFICO".to_owned()),
        Just("A".to_owned()),
        Just("VOSTRO".to_owned()),
        Just("favore".to_owned()),
        Just("RIVERSAMENTO".to_owned()),
        Just("PAGOPA".to_owned()),
        Just("RI1".to_owned()),
        Just("N.".to_owned()),
        Just("12/2024".to_owned()),
        "[A-Za-z]{1,10}",
    ]
}

fn noise() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 0..5).prop_map(|w| w.join(" "))
}

/// A marker with random separators, random case and random spaces.
fn marker(parts: &'static [&'static str]) -> impl Strategy<Value = String> {
    let n: usize = parts.iter().map(|p| p.len() + 1).sum();
    (
        proptest::collection::vec(prop_oneof![Just('/'), Just('.')], parts.len() + 1),
        proptest::collection::vec(0u8..8, n),
        any::<bool>(),
    )
        .prop_map(move |(seps, spaces, lower)| {
            let mut s = String::new();
            let mut k = 0;
            let mut push = |s: &mut String, c: char| {
                s.push(c);
                if spaces[k % spaces.len()] == 0 {
                    s.push(' ');
                }
                k += 1;
            };
            for (part, sep) in parts.iter().zip(&seps) {
                push(&mut s, *sep);
                for c in part.chars() {
                    push(&mut s, if lower { c.to_ascii_lowercase() } else { c });
                }
            }
            s.push(seps[parts.len()]);
            s
        })
}

proptest! {
    #[test]
    fn a_valid_id_wrapped_in_noise_is_recovered(
        id in flow_id(),
        before in noise(),
        after in noise(),
        mark in prop_oneof![
            marker(&["PUR", "LGPE-RIVERSAMENTO", "URI"]),
            marker(&["PUR", "LGPE-RIVERSAMENTO", "TXT", "3", "URI"]),
        ],
        date_space in 0usize..11,
        split in prop_oneof![Just(None), (11usize..40).prop_map(Some)],
        end in prop_oneof![Just(" "), Just("/"), Just("."), Just(" / "), Just("\n")],
    ) {
        let mut shown = id.clone();
        // A space inside the date (position 10 = between the date and the PSP part).
        if (1..=10).contains(&date_space) {
            shown.insert(date_space, ' ');
        }
        // A line break inside the sequence after the last '-' (its continuation holds the
        // final digit), as a wrapped line shows it.
        if let Some(at) = split {
            let last_dash = shown.rfind('-').unwrap();
            let at = last_dash + 1 + at % (shown.len() - last_dash - 1);
            if at > last_dash + 1 {
                shown.insert(at, '\n');
            }
        }
        // A word with a digit right after a bare line break reads as the id's next line.
        let end = if end == "\n" && after.split(' ').next().is_some_and(|w| w.bytes().any(|b| b.is_ascii_digit())) {
            " "
        } else {
            end
        };
        let text = if after.is_empty() {
            format!("{before} {mark}{shown}")
        } else {
            format!("{before} {mark}{shown}{end}{after}")
        };
        prop_assert_eq!(parse(&text), flow(&id), "{:?}", text);
    }

    #[test]
    fn parse_never_panics(text in "\\PC{0,80}") {
        let _ = parse(&text);
        let _ = normalise_flow_id(&text);
    }
}
