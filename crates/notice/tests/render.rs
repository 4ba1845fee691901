//! Renders notices and checks them with independent tools: poppler (pdftotext, pdfinfo,
//! pdffonts, pdftoppm), zbar (zbarimg) and Python's zipfile. The tools are installed by
//! `scripts/test-tools.sh`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use notice::{Creditor, Debtor, Installment, Language, Notice, Payment, ZipWriter, render};
use support::{Rendered, python, run, tools};

impl Rendered {
    fn text(&self) -> String {
        run("pdftotext", &["-layout", self.path(), "-"])
    }

    /// Every QR code on every page, decoded by zbarimg, sorted.
    fn qr_codes(&self) -> Vec<String> {
        let dir = self.pdf.parent().expect("temp dir");
        let prefix = dir.join("page");
        run(
            "pdftoppm",
            &[
                "-r",
                "200",
                "-png",
                self.path(),
                prefix.to_str().expect("utf-8"),
            ],
        );
        let mut pngs: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read temp dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        pngs.sort();
        let mut codes = Vec::new();
        for png in pngs {
            let out = Command::new("zbarimg")
                .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
                .arg(&png)
                .output()
                .expect("zbarimg runs");
            codes.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_owned),
            );
        }
        codes.sort();
        codes
    }
}

fn write(notice: &Notice) -> Rendered {
    let bytes = render(notice).unwrap_or_else(|e| panic!("render failed: {e}"));
    Rendered::new(&bytes, "notice.pdf")
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn creditor() -> Creditor {
    Creditor {
        fiscal_code: "00000000201".into(),
        name: "Comune di Castelrotto".into(),
        sector: Some("Ufficio Tributi".into()),
        info: Some("tributi@comune.example.it · 0471 000000".into()),
        cbill: Some("AAAAA".into()),
        logo_png: None,
    }
}

fn debtor() -> Debtor {
    Debtor {
        fiscal_code: "RSSMRA80A01H501U".into(),
        full_name: "Mario Rossi".into(),
        address: Some("Via Roma 1, 39040 Castelrotto (BZ)".into()),
    }
}

fn single_notice(language: Language) -> Notice {
    Notice {
        subject: "Tassa sui rifiuti 2026 (TARI)".into(),
        language,
        creditor: creditor(),
        debtor: debtor(),
        payment: Payment::Single(Installment {
            nav: "301000000000000144".into(),
            amount_cents: 102_099,
            due_date: date(2026, 12, 31),
        }),
    }
}

fn plan(count: usize, with_single: bool) -> Payment {
    let installments = (1..=count)
        .map(|i| Installment {
            nav: format!("3470000000000{i:03}00"),
            amount_cents: 10_000 * i as i64 + 99,
            due_date: date(2026, i as u32 % 12 + 1, 15),
        })
        .collect();
    let single = with_single.then(|| Installment {
        nav: "347123456789012389".into(),
        amount_cents: 60_000,
        due_date: None,
    });
    Payment::Plan {
        single,
        installments,
    }
}

fn expected_payloads(notice: &Notice) -> Vec<String> {
    let cf = &notice.creditor.fiscal_code;
    let mut all: Vec<&Installment> = Vec::new();
    match &notice.payment {
        Payment::Single(single) => all.push(single),
        Payment::Plan {
            single,
            installments,
        } => {
            all.extend(single.iter());
            all.extend(installments.iter());
        }
    }
    let mut payloads: Vec<String> = all
        .iter()
        .map(|i| format!("PAGOPA|002|{}|{cf}|{}", i.nav, i.amount_cents))
        .collect();
    payloads.sort();
    payloads
}

#[test]
fn a_single_payment_notice_shows_its_data_and_a_readable_qr_code() {
    let notice = single_notice(Language::It);
    let pdf = write(&notice);
    assert_eq!(pdf.pages(), 1);
    pdf.assert_a4();
    let text = pdf.text();
    for expected in [
        "Tassa sui rifiuti 2026 (TARI)",
        "Comune di Castelrotto",
        "Ufficio Tributi",
        "ENTE CREDITORE",
        "DESTINATARIO AVVISO",
        "Mario Rossi",
        "RSSMRA80A01H501U",
        "QUANTO E QUANDO PAGARE?",
        "DOVE PAGARE?",
        "1.020,99 Euro",
        "entro il 31/12/2026",
        "3010 0000 0000 0001 44",
        "Codice Avviso",
        "Cod. Fiscale Ente Creditore",
        "00000000201",
        "Codice CBILL",
        "AAAAA",
        "RATA UNICA",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert_eq!(
        pdf.qr_codes(),
        vec!["PAGOPA|002|301000000000000144|00000000201|102099".to_owned()]
    );
    assert!(
        pdf.bytes < 100 * 1024,
        "a single-page notice is {} bytes",
        pdf.bytes
    );
}

#[test]
fn fonts_are_embedded_subsets() {
    let pdf = write(&single_notice(Language::ItDe));
    pdf.assert_embedded_subsets();
}

#[test]
fn a_plan_with_a_single_option_puts_three_installments_on_the_second_page() {
    let notice = Notice {
        payment: plan(3, true),
        ..single_notice(Language::It)
    };
    let pdf = write(&notice);
    assert_eq!(pdf.pages(), 2);
    let text = pdf.text();
    for expected in [
        "Puoi pagare con una unica rata o in 3 rate.",
        "Utilizza la porzione di avviso relativa alla rata",
        "RATA UNICA",
        "RATA 1 di 3",
        "RATA 3 di 3",
        "600,00 Euro",
        "senza scadenza",
        "100,99 Euro",
        "300,99 Euro",
        "entro il 15/02/2026",
        "entro il 15/04/2026",
        "3471 2345 6789 0123 89",
        "3470 0000 0000 0001 00",
        "3470 0000 0000 0003 00",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // The subject heads every page.
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 2);
    assert!(
        pages
            .iter()
            .all(|p| p.contains("Tassa sui rifiuti 2026 (TARI)"))
    );
    assert_eq!(pdf.qr_codes(), expected_payloads(&notice));
}

#[test]
fn a_long_plan_without_a_single_option_follows_the_page_rule() {
    let notice = Notice {
        payment: plan(7, false),
        ..single_notice(Language::It)
    };
    let pdf = write(&notice);
    // Page 1: information; then 3 + 2 + 2 installments.
    assert_eq!(pdf.pages(), 4);
    let text = pdf.text();
    assert!(text.contains("Puoi pagare in 7 rate."), "{text}");
    assert!(text.contains("Importo totale delle rate"), "{text}");
    // 100,99 + 200,99 + … + 700,99 = 2.806,93
    assert!(text.contains("2.806,93 Euro"), "{text}");
    assert!(!text.contains("RATA UNICA"));
    assert_eq!(pdf.qr_codes(), expected_payloads(&notice));
}

#[test]
fn a_notice_without_due_date_says_so() {
    let mut notice = single_notice(Language::It);
    notice.payment = Payment::Single(Installment {
        nav: "301000000000000144".into(),
        amount_cents: 5,
        due_date: None,
    });
    let text = write(&notice).text();
    assert!(text.contains("senza scadenza"), "{text}");
    assert!(text.contains("0,05 Euro"), "{text}");
    assert!(!text.contains("entro il"), "{text}");
}

#[test]
fn a_bilingual_german_notice_translates_every_label() {
    let notice = Notice {
        payment: plan(2, true),
        ..single_notice(Language::ItDe)
    };
    let pdf = write(&notice);
    let text = pdf.text();
    for expected in [
        "ENTE CREDITORE / ZAHLUNGSEMPFÄNGER",
        "DESTINATARIO AVVISO / EMPFÄNGER DER MITTEILUNG",
        // Too wide for its column on one line: the German follows on the next.
        "QUANTO E QUANDO PAGARE?",
        "WIE VIEL UND WANN ZAHLEN?",
        "DOVE PAGARE? / WO ZAHLEN?",
        "Codice Avviso / Kodex der Mitteilung",
        "RATA UNICA / EINMALZAHLUNG",
        "RATA 1 di 2 / RATE 1 von 2",
        "Sie können in einer Einmalzahlung oder in 2 Raten zahlen.",
        "senza scadenza / ohne Fälligkeit",
        "entro il / bis zum 15/02/2026",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert_eq!(pdf.qr_codes(), expected_payloads(&notice));
}

#[test]
fn a_bilingual_english_notice_translates_every_label() {
    let text = write(&single_notice(Language::ItEn)).text();
    for expected in [
        "ENTE CREDITORE / CREDITOR",
        "DOVE PAGARE? / WHERE TO PAY?",
        "Importo / Amount",
        "entro il / by 31/12/2026",
        "PAY ONLINE",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn characters_outside_the_shared_subset_get_a_subset_of_their_own() {
    let mut notice = single_notice(Language::It);
    notice.debtor.full_name = "Ștefan Țurcanu Ωmega".into();
    let pdf = write(&notice);
    assert!(pdf.text().contains("Ștefan Țurcanu Ωmega"));
    assert_eq!(pdf.qr_codes(), expected_payloads(&notice));
}

/// The test logo's pixel at (x, y): red, green, blue, alpha.
fn logo_pixel(x: u32, y: u32) -> [u8; 4] {
    [
        ((x * 9) % 256) as u8,
        ((y * 5) % 256) as u8,
        128,
        if x < 60 { 255 } else { 90 },
    ]
}

/// A PNG of `logo_pixel`s (colour type 2 RGB or 6 RGBA), written by Python's zlib with the row
/// filters cycling through all five, so the decoding is checked against an independent encoder.
fn logo_png(width: u32, height: u32, color_type: u8) -> Vec<u8> {
    let script = format!(
        r#"
import sys, zlib, struct
w, h, ct = {width}, {height}, {color_type}
n = 4 if ct == 6 else 3
def px(x, y):
    return [(x * 9) % 256, (y * 5) % 256, 128, 255 if x < 60 else 90][:n]
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)
rows = [bytes(sum((px(x, y) for x in range(w)), [])) for y in range(h)]
out = bytearray()
for y, row in enumerate(rows):
    prev = rows[y - 1] if y else bytes(len(row))
    f = y % 5
    out.append(f)
    for i, v in enumerate(row):
        a = row[i - n] if i >= n else 0
        b = prev[i]
        c = prev[i - n] if i >= n else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
        out.append((v - pred) % 256)
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
sys.stdout.buffer.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ct, 0, 0, 0))
    + chunk(b'IDAT', zlib.compress(bytes(out))) + chunk(b'IEND', b''))
"#
    );
    python(&script)
}

/// Reads a binary PPM (P6) or PGM (P5) as written by pdfimages: (width, height, samples per
/// pixel, samples).
fn read_pnm(path: &Path) -> (u32, u32, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        let dir = path.parent().expect("dir");
        let names: Vec<_> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        panic!(
            "cannot read {}: {e}; the directory has {names:?}",
            path.display()
        )
    });
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[3], "255", "8-bit samples");
    let channels = if fields[0] == "P6" { 3 } else { 1 };
    (
        fields[1].parse().expect("width"),
        fields[2].parse().expect("height"),
        channels,
        bytes[at + 1..].to_vec(),
    )
}

/// Renders a notice with the logo, extracts its images with pdfimages and compares every
/// sample with `logo_pixel`.
fn check_logo(color_type: u8) {
    let (w, h) = (120, 60);
    let mut notice = single_notice(Language::It);
    notice.creditor.logo_png = Some(logo_png(w, h, color_type));
    let pdf = write(&notice);
    let prefix = pdf.pdf.parent().expect("dir").join("img");
    run("pdfimages", &[pdf.path(), prefix.to_str().expect("utf-8")]);
    let (iw, ih, channels, rgb) = read_pnm(&prefix.with_file_name("img-000.ppm"));
    assert_eq!((iw, ih, channels), (w, h, 3));
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            assert_eq!(
                &rgb[i..i + 3],
                &logo_pixel(x, y)[..3],
                "colour at ({x}, {y})"
            );
        }
    }
    // poppler writes the soft mask as a PPM with equal channels.
    let mask = prefix.with_file_name("img-001.ppm");
    if color_type == 6 {
        let (mw, mh, channels, alpha) = read_pnm(&mask);
        assert_eq!((mw, mh), (w, h));
        for y in 0..h {
            for x in 0..w {
                assert_eq!(
                    alpha[(y * w + x) as usize * channels],
                    logo_pixel(x, y)[3],
                    "alpha at ({x}, {y})"
                );
            }
        }
    } else {
        assert!(!mask.exists(), "an opaque logo has no soft mask");
    }
    assert_eq!(pdf.qr_codes(), expected_payloads(&notice));
}

#[test]
fn an_rgba_logo_is_embedded_with_its_soft_mask() {
    check_logo(6);
}

#[test]
fn an_opaque_logo_keeps_its_png_data_and_decodes_to_the_same_pixels() {
    check_logo(2);
}

#[test]
fn invalid_notices_are_refused() {
    let mut notice = single_notice(Language::It);
    notice.subject = "x".repeat(91);
    assert!(render(&notice).is_err());
    let mut notice = single_notice(Language::It);
    notice.creditor.fiscal_code = "0000000020".into();
    assert!(render(&notice).is_err());
    let mut notice = single_notice(Language::It);
    notice.payment = Payment::Single(Installment {
        nav: "30100000000000014".into(),
        amount_cents: 1,
        due_date: None,
    });
    assert!(render(&notice).is_err());
    let mut notice = single_notice(Language::It);
    notice.payment = plan(1, true);
    assert!(render(&notice).is_err());
    let mut notice = single_notice(Language::It);
    notice.payment = plan(101, false);
    assert!(render(&notice).is_err());
    let mut notice = single_notice(Language::It);
    notice.creditor.logo_png = Some(b"not a png".to_vec());
    assert!(render(&notice).is_err());
    let mut notice = single_notice(Language::It);
    notice.debtor.full_name = "Mario 漢字".into();
    assert!(render(&notice).is_err());
}

#[test]
fn a_zip_of_notices_passes_python_zipfile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notices.zip");
    let file = std::fs::File::create(&path).expect("create zip");
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    let mut sizes = Vec::new();
    for i in 0..5 {
        let mut notice = single_notice(Language::It);
        notice.payment = Payment::Single(Installment {
            nav: format!("3010000000000{i:05}"),
            amount_cents: 100 + i,
            due_date: None,
        });
        let pdf = render(&notice).expect("render");
        sizes.push(pdf.len());
        zip.add(&format!("avvisi/avviso-{i}.pdf"), &pdf)
            .expect("add");
    }
    zip.add("LEGGIMI-è.txt", "ripetuto ".repeat(100).as_bytes())
        .expect("add");
    zip.finish().expect("finish");
    let script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, i.file_size, i.compress_type)\n";
    let listing = run(
        tools().to_str().expect("utf-8"),
        &["-c", script, path.to_str().expect("utf-8")],
    );
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 6, "{listing}");
    for (i, size) in sizes.iter().enumerate() {
        assert!(
            lines[i].starts_with(&format!("avvisi/avviso-{i}.pdf {size} ")),
            "{listing}"
        );
    }
    assert_eq!(lines[5], "LEGGIMI-è.txt 900 8");
    run("unzip", &["-tq", path.to_str().expect("utf-8")]);
}

/// Words (text, page, xMax, yMax) from `pdftotext -bbox`.
fn word_boxes(pdf: &Rendered) -> Vec<(String, usize, f32, f32)> {
    let html = run("pdftotext", &["-bbox", pdf.path(), "-"]);
    let mut page = 0;
    let mut words = Vec::new();
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            page += 1;
        }
        if let Some(rest) = line.strip_prefix("<word ") {
            let attr = |name: &str| -> f32 {
                let start = rest.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
                rest[start..start + rest[start..].find('"').expect("quote")]
                    .parse()
                    .expect("number")
            };
            let text = rest[rest.find('>').expect(">") + 1..]
                .trim_end_matches("</word>")
                .to_owned();
            words.push((text, page, attr("xMax"), attr("yMax")));
        }
    }
    words
}

#[test]
fn the_longest_fields_allowed_stay_inside_the_page() {
    let long = |word: &str, len: usize| {
        let mut s = String::new();
        while s.chars().count() + word.chars().count() < len {
            s.push_str(word);
        }
        s.trim().to_owned()
    };
    let notice = Notice {
        subject: long("Wassergebühr ", 90),
        language: Language::ItDe,
        creditor: Creditor {
            fiscal_code: "00000000201".into(),
            name: long("Gemeinde Mühlbach ", 100),
            sector: Some(long("Abteilung Wasser ", 100)),
            info: Some(long("Öffnungszeiten ", 200)),
            cbill: Some("ABCDEFGHIJKLMNOP".into()),
            logo_png: Some(logo_png(400, 100, 2)),
        },
        debtor: Debtor {
            fiscal_code: "MMMMMM00M00M000M".into(),
            full_name: long("Wolfgang Mühlmann ", 70),
            address: Some(long("Mühlgasse 1 ", 140)),
        },
        payment: plan(3, true),
    };
    let pdf = write(&notice);
    assert_eq!(pdf.pages(), 2);
    let words = word_boxes(&pdf);
    assert!(words.len() > 300, "{} words", words.len());
    for (text, page, x_max, y_max) in &words {
        assert!(
            *x_max <= 595.0 - 20.0 && *y_max <= 842.0 - 20.0,
            "{text:?} on page {page} ends at ({x_max}, {y_max})"
        );
    }
    assert_eq!(pdf.qr_codes(), expected_payloads(&notice));
}

#[test]
fn a_plan_of_a_hundred_installments_has_thirty_five_pages() {
    let notice = Notice {
        payment: plan(100, false),
        ..single_notice(Language::It)
    };
    let pdf = write(&notice);
    // Page 1, then 32 pages of three and two of two.
    assert_eq!(pdf.pages(), 35);
    let text = pdf.text();
    assert!(text.contains("RATA 100 di 100"), "{text}");
}
