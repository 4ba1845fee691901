//! Reading the spreadsheets `scripts/make-sheet-fixtures.py` wrote with openpyxl, XlsxWriter
//! and odfpy. Expected values are the ones the script wrote.
#![allow(
    clippy::approx_constant,
    reason = "3.14 is the price the fixtures hold, not an approximation of pi"
)]

use opendata::ingest::{Options, Plan, analyze, load};
use opendata::model::{Cell, FieldType, InputFormat};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn opts(format: InputFormat) -> Options {
    Options {
        format,
        sheets: Some(sheet::open),
        ..Options::default()
    }
}

fn types(a: &opendata::ingest::Analysis) -> Vec<(String, FieldType)> {
    a.schema
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.field_type))
        .collect()
}

fn loaded(name: &str, format: InputFormat) -> Vec<(u64, Vec<Cell>)> {
    let o = opts(format);
    let a = analyze(std::io::Cursor::new(fixture(name)), &o).expect("analysable");
    let mut out = Vec::new();
    load(
        std::io::Cursor::new(fixture(name)),
        &o,
        &Plan::all(&a.schema),
        |row, cells| {
            out.push((row, cells.to_vec()));
            Ok::<(), ()>(())
        },
    )
    .expect("loadable");
    out
}

fn date(y: i32, m: u32, d: u32) -> Cell {
    Cell::Date(chrono::NaiveDate::from_ymd_opt(y, m, d).expect("a real date"))
}

#[test]
fn openpyxl_table_types_gaps_and_dates() {
    let a = analyze(
        std::io::Cursor::new(fixture("table.xlsx")),
        &opts(InputFormat::Xlsx),
    )
    .expect("analysable");
    assert_eq!(
        types(&a),
        vec![
            ("nome".to_owned(), FieldType::String),
            ("n".to_owned(), FieldType::Integer),
            ("prezzo".to_owned(), FieldType::Number),
            ("attivo".to_owned(), FieldType::Boolean),
            ("column_5".to_owned(), FieldType::String),
            ("data".to_owned(), FieldType::Date),
        ]
    );
    assert_eq!(a.schema.fields[2].decimal_char, Some('.'));
    assert_eq!(a.quality.row_count, 4);
    assert_eq!(a.quality.encoding, "UTF-8");
    assert_eq!(a.quality.delimiter, None);
    assert!(
        a.quality
            .issues
            .iter()
            .any(|i| i.kind == "blank-label" && i.column.as_deref() == Some("column_5")),
        "{:?}",
        a.quality.issues
    );
    assert!(!a.quality.issues.iter().any(|i| i.kind == "missing-cell"));

    let rows = loaded("table.xlsx", InputFormat::Xlsx);
    let numbers: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, [2, 3, 4, 6]);
    assert_eq!(
        rows[0].1,
        vec![
            Cell::Text("Perché Città".into()),
            Cell::Integer(42),
            Cell::Number(3.14),
            Cell::Boolean(true),
            Cell::Null,
            date(2024, 12, 31),
        ]
    );
    assert_eq!(rows[2].1[1], Cell::Null);
    assert_eq!(rows[2].1[5], date(1900, 3, 1));
    assert_eq!(rows[3].1[1], Cell::Integer(-3));
    assert_eq!(rows[3].1[5], date(2000, 2, 29));
}

#[test]
fn xlsxwriter_shared_strings_rich_text_and_formula() {
    let a = analyze(
        std::io::Cursor::new(fixture("formula.xlsx")),
        &opts(InputFormat::Xlsx),
    )
    .expect("analysable");
    assert_eq!(
        types(&a),
        vec![
            ("voce".to_owned(), FieldType::String),
            ("importo".to_owned(), FieldType::Number),
            ("giorno".to_owned(), FieldType::Date),
        ]
    );
    assert_eq!(a.quality.row_count, 3);
    let formulas: Vec<(Option<u64>, Option<&str>)> = a
        .quality
        .issues
        .iter()
        .filter(|i| i.kind == "formula-cell")
        .map(|i| (i.row, i.column.as_deref()))
        .collect();
    assert_eq!(formulas, [(Some(4), Some("importo"))]);
    let f = a
        .quality
        .issues
        .iter()
        .find(|i| i.kind == "formula-cell")
        .expect("a formula issue");
    assert!(
        f.message.contains("B4") && f.message.contains("=SUM(B2:B3)"),
        "{f:?}"
    );

    let rows = loaded("formula.xlsx", InputFormat::Xlsx);
    assert_eq!(
        rows,
        vec![
            (
                2,
                vec![
                    Cell::Text("Perché Città".into()),
                    Cell::Number(1.5),
                    date(2024, 2, 29)
                ]
            ),
            (
                3,
                vec![
                    Cell::Text("b & c <d>".into()),
                    Cell::Number(2.0),
                    date(2023, 6, 15)
                ]
            ),
            (
                4,
                vec![Cell::Text("totale".into()), Cell::Number(3.5), Cell::Null]
            ),
        ]
    );
}

#[test]
fn odfpy_table_repeats_text_runs_and_formula() {
    let a = analyze(
        std::io::Cursor::new(fixture("table.ods")),
        &opts(InputFormat::Ods),
    )
    .expect("analysable");
    assert_eq!(
        types(&a),
        vec![
            ("nome".to_owned(), FieldType::String),
            ("n".to_owned(), FieldType::Integer),
            ("prezzo".to_owned(), FieldType::Number),
            ("attivo".to_owned(), FieldType::Boolean),
            ("data".to_owned(), FieldType::Date),
        ]
    );
    assert_eq!(a.quality.row_count, 4);
    let formulas: Vec<(Option<u64>, Option<&str>)> = a
        .quality
        .issues
        .iter()
        .filter(|i| i.kind == "formula-cell")
        .map(|i| (i.row, i.column.as_deref()))
        .collect();
    assert_eq!(formulas, [(Some(8), Some("data"))]);

    let rows = loaded("table.ods", InputFormat::Ods);
    let numbers: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, [2, 3, 4, 8]);
    assert_eq!(
        rows[0].1,
        vec![
            Cell::Text("Perché  Città".into()),
            Cell::Integer(42),
            Cell::Number(3.14),
            Cell::Boolean(true),
            date(2024, 12, 31),
        ]
    );
    assert_eq!(rows[1].1, rows[2].1);
    assert_eq!(rows[1].1[0], Cell::Text("riga\ndoppia".into()));
    assert_eq!(rows[1].1[4], date(2025, 1, 1));
    assert_eq!(
        rows[3].1,
        vec![
            Cell::Text("Ultima".into()),
            Cell::Null,
            Cell::Null,
            Cell::Boolean(true),
            date(2025, 2, 3),
        ]
    );
}

#[test]
fn a_declared_format_must_match_the_package() {
    let e = analyze(
        std::io::Cursor::new(fixture("table.ods")),
        &opts(InputFormat::Xlsx),
    )
    .expect_err("an ODS is not an XLSX");
    assert_eq!(e.kind, "not-a-spreadsheet");
    let e = analyze(&b"a,b\n1,2\n"[..], &opts(InputFormat::Ods)).expect_err("a CSV is not an ODS");
    assert_eq!(e.kind, "not-a-spreadsheet");
}
