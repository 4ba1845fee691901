//! Renders payment receipts and checks them with poppler (pdfinfo, pdffonts, pdftotext), installed
//! by `scripts/test-tools.sh`. Expected texts are computed here from the inputs, not taken from
//! the renderer.

mod support;

use notice::{Creditor, Language, NoticeError, ReceiptDocument, ReceiptTransfer, render_receipt};
use support::{Rendered, python, run};

impl Rendered {
    /// The text in drawing order, words separated by single spaces.
    fn text(&self) -> String {
        let raw = run("pdftotext", &["-raw", "-enc", "UTF-8", self.path(), "-"]);
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Words (text, xMin, yMin, xMax, yMax) from `pdftotext -bbox`.
    fn words(&self) -> Vec<(String, f32, f32, f32, f32)> {
        let html = run("pdftotext", &["-bbox", "-enc", "UTF-8", self.path(), "-"]);
        let mut words = Vec::new();
        for line in html.lines() {
            if let Some(rest) = line.trim().strip_prefix("<word ") {
                let attr = |name: &str| -> f32 {
                    let start =
                        rest.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
                    rest[start..start + rest[start..].find('"').expect("quote")]
                        .parse()
                        .expect("number")
                };
                let text = rest[rest.find('>').expect(">") + 1..]
                    .trim_end_matches("</word>")
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'");
                words.push((text, attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")));
            }
        }
        words
    }
}

fn write(doc: &ReceiptDocument) -> Rendered {
    let bytes = render_receipt(doc).unwrap_or_else(|e| panic!("render failed: {e}"));
    Rendered::new(&bytes, "receipt.pdf")
}

/// Euro cents as the receipt should print them: `€ 1.234,56`.
fn euro(cents: i64) -> String {
    let euros = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("€ {grouped},{:02}", cents % 100)
}

/// A notice number in groups of four digits.
fn grouped(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn transfer(name: Option<&str>, code: &str, cents: i64, remittance: &str) -> ReceiptTransfer {
    ReceiptTransfer {
        beneficiary_name: name.map(str::to_owned),
        beneficiary_code: code.into(),
        amount_cents: cents,
        remittance: remittance.into(),
    }
}

fn receipt(language: Language) -> ReceiptDocument {
    ReceiptDocument {
        language,
        creditor: Creditor {
            fiscal_code: "00000000201".into(),
            name: "Comune di Castelrotto".into(),
            sector: Some("Ufficio Tributi".into()),
            info: Some("tributi@comune.example.it".into()),
            cbill: None,
            logo_png: None,
        },
        receipt_id: "c0ffee1234567890abcdef1234567890feed".into(),
        notice_number: "301000000000000144".into(),
        iuv: "01000000000000144".into(),
        description: "Tassa sui rifiuti 2026 (TARI)".into(),
        amount_cents: 123_456,
        fee_cents: Some(150),
        paid_at: "02/12/2026 10:31".into(),
        debtor_name: "Mario Rossi".into(),
        debtor_code: "RSSMRA80A01H501U".into(),
        payer_name: Some("Giulia Bianchi".into()),
        psp_name: "Banca Esempio S.p.A.".into(),
        psp_id: "BCITITMM".into(),
        payment_method: Some("Carta di credito".into()),
        transfers: vec![
            transfer(
                Some("Comune di Castelrotto"),
                "00000000201",
                123_026,
                "TARI 2026 quota comunale",
            ),
            transfer(
                Some("Provincia autonoma di Bolzano"),
                "00390090215",
                430,
                "Tributo provinciale TEFA",
            ),
        ],
    }
}

fn assert_contains(text: &str, expected: &str) {
    assert!(
        text.contains(expected),
        "{expected:?} missing from:\n{text}"
    );
}

const ENGLISH: [&str; 8] = [
    "Payment receipt",
    "Notice code",
    "Receipt ID",
    "Amount",
    "Payment service provider",
    "Beneficiary",
    "PAYMENT BREAKDOWN",
    "Receipt issued by the creditor",
];

const GERMAN: [&str; 5] = [
    "Zahlungsquittung",
    "Kodex der Mitteilung",
    "Quittungskennung",
    "AUFTEILUNG DER ZAHLUNG",
    "Quittung ausgestellt vom Zahlungsempfänger",
];

#[test]
fn a_receipt_is_one_a4_page_with_embedded_fonts() {
    let pdf = write(&receipt(Language::It));
    assert_eq!(pdf.pages(), 1);
    pdf.assert_a4();
    pdf.assert_embedded_subsets();
}

#[test]
fn a_receipt_shows_every_field_it_is_given() {
    let doc = receipt(Language::It);
    let text = write(&doc).text();
    let fee = doc.fee_cents.expect("a fee");
    let mut expected = vec![
        "Ricevuta di pagamento".to_owned(),
        doc.creditor.name.clone(),
        doc.creditor.fiscal_code.clone(),
        grouped(&doc.notice_number),
        doc.iuv.clone(),
        doc.receipt_id.clone(),
        doc.description.clone(),
        euro(doc.amount_cents),
        euro(fee),
        euro(doc.amount_cents + fee),
        doc.paid_at.clone(),
        doc.debtor_name.clone(),
        doc.debtor_code.clone(),
        doc.payer_name.clone().expect("a payer"),
        doc.psp_name.clone(),
        doc.psp_id.clone(),
        doc.payment_method.clone().expect("a method"),
        "Ricevuta emessa dall'ente creditore".to_owned(),
        "ricevuta telematica".to_owned(),
    ];
    for t in &doc.transfers {
        expected.push(t.beneficiary_name.clone().expect("a name"));
        expected.push(t.beneficiary_code.clone());
        expected.push(euro(t.amount_cents));
        expected.push(t.remittance.clone());
    }
    for e in &expected {
        assert_contains(&text, e);
    }
    assert_eq!(grouped(&doc.notice_number), "3010 0000 0000 0001 44");
    assert_eq!(euro(doc.amount_cents), "€ 1.234,56");
    for english in ENGLISH {
        assert!(!text.contains(english), "{english:?} on an Italian receipt");
    }
}

#[test]
fn small_amounts_print_like_twelve_thirty() {
    let mut doc = receipt(Language::It);
    doc.amount_cents = 1230;
    doc.fee_cents = Some(5);
    doc.transfers = vec![transfer(None, "00000000201", 1230, "Diritti di segreteria")];
    let text = write(&doc).text();
    assert_eq!(euro(1230), "€ 12,30");
    for e in [euro(1230), euro(5), euro(1235)] {
        assert_contains(&text, &e);
    }
    assert_contains(&text, "Diritti di segreteria");
}

#[test]
fn fee_payer_and_method_are_left_out_when_absent() {
    let mut doc = receipt(Language::It);
    let with = write(&doc).text();
    for label in [
        "Commissione",
        "Totale pagato",
        "Pagatore",
        "Metodo di pagamento",
    ] {
        assert_contains(&with, label);
    }
    doc.fee_cents = None;
    doc.payer_name = None;
    doc.payment_method = None;
    let without = write(&doc).text();
    for label in [
        "Commissione",
        "Totale pagato",
        "Pagatore",
        "Metodo di pagamento",
    ] {
        assert!(!without.contains(label), "{label:?} in:\n{without}");
    }
    assert_contains(&without, &euro(doc.amount_cents));
}

#[test]
fn english_labels_appear_only_on_an_italian_english_receipt() {
    let english = write(&receipt(Language::ItEn)).text();
    for label in ENGLISH {
        assert_contains(&english, label);
    }
    assert_contains(&english, "Ricevuta di pagamento");
    for label in GERMAN {
        assert!(!english.contains(label), "{label:?} in:\n{english}");
    }
    let german = write(&receipt(Language::ItDe)).text();
    for label in GERMAN {
        assert_contains(&german, label);
    }
    for label in ENGLISH {
        assert!(!german.contains(label), "{label:?} in:\n{german}");
    }
    let italian = write(&receipt(Language::It)).text();
    for label in ENGLISH.iter().chain(GERMAN.iter()) {
        assert!(!italian.contains(label), "{label:?} in:\n{italian}");
    }
}

#[test]
fn accented_letters_eszett_and_the_euro_sign_survive() {
    let mut doc = receipt(Language::ItDe);
    doc.debtor_name = "Niccolò Càrtà Ìsola Òmero Ùgo".into();
    doc.payer_name = Some("Jürgen Groß".into());
    doc.description = "Rimborso di € 5 per attività già svolte".into();
    doc.transfers[0].beneficiary_name = Some("Gemeinde Kastelruth – Straßendienst".into());
    let text = write(&doc).text();
    for e in [
        "Niccolò Càrtà Ìsola Òmero Ùgo",
        "Jürgen Groß",
        "Rimborso di € 5 per attività già svolte",
        "Gemeinde Kastelruth – Straßendienst",
    ] {
        assert_contains(&text, e);
    }
    doc.description = "àèìòù ß €".into();
    let text = write(&doc).text();
    assert_contains(&text, "àèìòù ß €");
}

/// Words each with an `ß` among their first four letters, so that a word cut inside leaves a
/// piece with an `ß` that is no word of the list.
const VOCABULARY: [&str; 8] = [
    "Maßnahmenplanung",
    "Großveranstaltung",
    "Straßenreinigung",
    "Fußgängerzone",
    "Grußbotschaft",
    "Außenanlage",
    "Spaßbad",
    "Gießkannenprinzip",
];

/// Words of `VOCABULARY`, starting at `offset`, up to `len` characters.
fn long_text(offset: usize, len: usize) -> String {
    let mut text = String::new();
    for word in VOCABULARY.iter().cycle().skip(offset) {
        let extra = usize::from(!text.is_empty()) + word.chars().count();
        if text.chars().count() + extra > len {
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    }
    text
}

/// `text` and a word of `x` to make it `len` characters long.
fn padded(text: String, len: usize) -> String {
    let missing = len - text.chars().count() - 1;
    format!("{text} {}", "x".repeat(missing))
}

/// A receipt with every text at its longest and five transfers.
fn longest(language: Language) -> ReceiptDocument {
    let long = |word: &str, len: usize| {
        let mut s = String::new();
        while s.chars().count() + word.chars().count() <= len {
            s.push_str(word);
        }
        s.trim().to_owned()
    };
    let transfers = (0..5)
        .map(|i| ReceiptTransfer {
            beneficiary_name: Some(long_text(i, 140)),
            beneficiary_code: format!("0000000020{i}"),
            amount_cents: 19_999_999_999,
            remittance: long_text(i + 3, 140),
        })
        .collect();
    ReceiptDocument {
        language,
        creditor: Creditor {
            fiscal_code: "00000000201".into(),
            name: long("Gemeinde Mühlbach ", 100),
            sector: Some(long("Abteilung Wasser ", 100)),
            info: Some(long("Öffnungszeiten ", 200)),
            cbill: None,
            logo_png: Some(logo_png(400, 100)),
        },
        receipt_id: "R".repeat(70),
        notice_number: "399999999999999999".into(),
        iuv: "9".repeat(35),
        description: padded(long_text(2, 138), 140),
        amount_cents: 99_999_999_995,
        fee_cents: Some(99_999_999_999),
        paid_at: long("02/12/2026 10:31 ", 40),
        debtor_name: long("Wolfgang Mühlmann ", 70),
        debtor_code: "MMMMMM00M00M000M".into(),
        payer_name: Some(long("Wilhelmine Überwasser ", 70)),
        psp_name: long("Raiffeisenkasse Überetsch ", 70),
        psp_id: "W".repeat(35),
        payment_method: Some(long("Überweisung ", 70)),
        transfers,
    }
}

/// An opaque grey PNG written by Python's zlib.
fn logo_png(width: u32, height: u32) -> Vec<u8> {
    let script = format!(
        "import sys, zlib, struct\n\
         w, h = {width}, {height}\n\
         def chunk(t, d):\n    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\n\
         rows = b''.join(b'\\x00' + bytes([(x * 3 + y) % 256 for x in range(w)]) for y in range(h))\n\
         sys.stdout.buffer.write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))\n"
    );
    python(&script)
}

fn check_longest(language: Language) {
    let doc = longest(language);
    assert_eq!(doc.description.chars().count(), 140, "{}", doc.description);
    let pdf = write(&doc);
    assert_eq!(pdf.pages(), 1);

    let words = pdf.words();
    assert!(words.len() > 150, "{} words", words.len());
    for (text, x_min, y_min, x_max, y_max) in &words {
        assert!(
            *x_min >= 20.0 && *y_min >= 20.0 && *x_max <= 595.0 - 20.0 && *y_max <= 842.0 - 20.0,
            "{text:?} at ({x_min}, {y_min})–({x_max}, {y_max})"
        );
    }

    // Every piece of a long text is a whole word, or a word's beginning followed by "…".
    let mut cut = 0;
    for (word, ..) in words.iter().filter(|(w, ..)| w.contains('ß')) {
        match word.strip_suffix('…') {
            Some(stem) => {
                cut += 1;
                assert!(
                    VOCABULARY.iter().any(|v| v.starts_with(stem)),
                    "{word:?} is not the beginning of a word"
                );
            }
            None => assert!(VOCABULARY.contains(&word.as_str()), "{word:?} was cut"),
        }
    }
    assert!(
        cut > 0,
        "the longest transfers are shortened with an ellipsis"
    );

    // The description is whole, and so are the codes and amounts.
    let text = pdf.text();
    for e in [
        doc.description.clone(),
        doc.receipt_id.clone(),
        doc.iuv.clone(),
        doc.psp_id.clone(),
        grouped(&doc.notice_number),
        euro(doc.amount_cents),
        euro(doc.fee_cents.expect("a fee")),
        euro(doc.amount_cents + doc.fee_cents.expect("a fee")),
        euro(19_999_999_999),
    ] {
        assert_contains(&text, &e);
    }
    for t in &doc.transfers {
        assert_contains(&text, &t.beneficiary_code);
    }
}

#[test]
fn the_longest_texts_and_five_transfers_stay_inside_one_page_in_german() {
    check_longest(Language::ItDe);
}

#[test]
fn the_longest_texts_and_five_transfers_stay_inside_one_page_in_english() {
    check_longest(Language::ItEn);
}

/// Words of `W`, the widest letter, up to `len` characters.
fn widest(len: usize) -> String {
    let mut s = "WWWWWWW ".repeat(len / 8 + 1);
    s.truncate(len);
    s.trim().to_owned()
}

#[test]
fn the_widest_texts_allowed_stay_inside_one_page() {
    for language in [Language::ItDe, Language::ItEn] {
        let mut doc = longest(language);
        doc.creditor.name = widest(100);
        doc.creditor.sector = Some(widest(100));
        doc.creditor.info = Some(widest(200));
        doc.receipt_id = "W".repeat(70);
        doc.description = widest(140);
        doc.paid_at = widest(40);
        doc.debtor_name = widest(70);
        doc.payer_name = Some(widest(70));
        doc.psp_name = widest(70);
        doc.payment_method = Some(widest(70));
        for t in &mut doc.transfers {
            t.beneficiary_name = Some(widest(140));
            t.remittance = widest(140);
        }
        let pdf = write(&doc);
        assert_eq!(pdf.pages(), 1);
        for (text, x_min, y_min, x_max, y_max) in pdf.words() {
            assert!(
                x_min >= 20.0 && y_min >= 20.0 && x_max <= 595.0 - 20.0 && y_max <= 842.0 - 20.0,
                "{language:?}: {text:?} at ({x_min}, {y_min})–({x_max}, {y_max})"
            );
        }
    }
}

#[test]
fn invalid_receipts_are_refused() {
    assert!(render_receipt(&receipt(Language::It)).is_ok());

    let mut doc = receipt(Language::It);
    doc.transfers.clear();
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Invalid {
            field: "transfers",
            ..
        })
    ));

    let mut doc = receipt(Language::It);
    doc.amount_cents = 600;
    doc.transfers = (0..6)
        .map(|_| transfer(None, "00000000201", 100, "quota"))
        .collect();
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Invalid {
            field: "transfers",
            ..
        })
    ));
    doc.transfers.pop();
    doc.amount_cents = 500;
    assert!(render_receipt(&doc).is_ok(), "five transfers are allowed");

    let mut doc = receipt(Language::It);
    doc.amount_cents = -100;
    assert_eq!(render_receipt(&doc), Err(NoticeError::Amount(-100)));

    let mut doc = receipt(Language::It);
    doc.fee_cents = Some(-1);
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Invalid {
            field: "fee_cents",
            ..
        })
    ));

    let mut doc = receipt(Language::It);
    doc.transfers[1].amount_cents = -430;
    assert_eq!(render_receipt(&doc), Err(NoticeError::Amount(-430)));

    let mut doc = receipt(Language::It);
    doc.transfers[1].amount_cents += 1;
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Invalid {
            field: "transfers",
            ..
        })
    ));

    let mut doc = receipt(Language::It);
    doc.notice_number = "30100000000000014".into();
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Invalid {
            field: "notice_number",
            ..
        })
    ));

    let mut doc = receipt(Language::It);
    doc.description = "x".repeat(141);
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::TooLong {
            field: "description",
            ..
        })
    ));

    let mut doc = receipt(Language::It);
    doc.receipt_id = " ".into();
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Empty {
            field: "receipt_id"
        })
    ));

    let mut doc = receipt(Language::It);
    doc.creditor.fiscal_code = "0000000020".into();
    assert!(matches!(
        render_receipt(&doc),
        Err(NoticeError::Invalid {
            field: "creditor.fiscal_code",
            ..
        })
    ));

    let mut doc = receipt(Language::It);
    doc.debtor_name = "Mario 漢字".into();
    assert_eq!(
        render_receipt(&doc),
        Err(NoticeError::UnsupportedCharacter('漢'))
    );
}
