//! Reading an uploaded table in two streamed passes (the adapter spools the upload to a file
//! and opens it twice): `analyze` infers the Table Schema over the whole file, writes the
//! quality report and screens every cell for personal data; `load` hands each row, typed
//! after a [`Plan`], to a sink. A 1 GB CSV is never held in memory.
//!
//! CSV: the encoding is decided on the first 64 KiB (UTF-8 with or without BOM, else
//! Windows-1252, which covers ISO-8859-1's printable range); later invalid UTF-8 is replaced
//! and counted. The delimiter is the one of `,` `;` TAB `|` that splits the first lines into
//! the same number (> 1) of fields. Empty cells: empty or blank text, `NA`, `N/A`, `null`.
//! Types, narrowest first: integer (optional sign, digits, Italian thousands `1.234.567`),
//! number (`3,14` / `1.234,56` Italian or `3.14` / `1,234.56` English, one style per column),
//! boolean (`true/false`, `vero/falso`, `sì/si/no`), date (ISO `2024-12-31` or day-first
//! `31/12/2024`, `31-12-2024`, `31.12.2024`; never month-first), else string.
//!
//! JSON (an array of objects) and GeoJSON (a FeatureCollection) are read whole, up to
//! [`MAX_JSON_BYTES`] — a named limit: they are not streamed.
//!
//! XLSX and ODS: the first worksheet, read by the `sheet` adapter crate (given as
//! [`Options::sheets`]; XML stays out of the domain). The ZIP package is held in
//! memory (up to 256 MiB); the worksheet XML is inflated and parsed
//! row by row. Row 1 of the sheet (its first non-empty row) is the header; row numbers are the
//! sheet's own, so skipped empty rows keep later numbers true. Cells arrive as text the same
//! inference reads: numbers as stored (`3.14`), booleans `true`/`false`, date-formatted cells as
//! ISO dates. Formulas keep their last computed value and are listed as `formula-cell` issues;
//! cells over `max_field_bytes` are cut and listed as `truncated-value`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read;

use chrono::NaiveDate;

use crate::model::{
    Cell, ColumnStats, Field, FieldType, InputFormat, PiiFinding, QualityIssue, QualityReport,
    TableSchema,
};
use crate::pii::ColumnScreen;

pub use crate::pii::mask;

/// Largest JSON or GeoJSON upload read (in memory).
pub const MAX_JSON_BYTES: usize = 256 * 1024 * 1024;

/// Bounds of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_field_bytes: usize,
    pub max_columns: usize,
    pub max_listed_issues: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_field_bytes: 1024 * 1024,
            max_columns: 1_000,
            max_listed_issues: 100,
        }
    }
}

/// How to read a file.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: InputFormat,
    pub primary_key: Vec<String>,
    /// Given by an editor (or the published version for an append): cells are checked
    /// against it instead of inferring.
    pub schema: Option<TableSchema>,
    pub limits: Limits,
    /// Opens an XLSX or ODS upload (the `sheet` adapter's `open`); without it those formats
    /// are refused.
    pub sheets: Option<SheetOpener>,
}

/// Opens a spreadsheet upload as rows: the reader and the header as written.
pub type SheetOpener =
    fn(Box<dyn Read>, InputFormat, &Limits) -> Result<(Box<dyn Rows>, Vec<String>), IngestError>;

impl Default for Options {
    fn default() -> Self {
        Self {
            format: InputFormat::Csv,
            primary_key: Vec::new(),
            schema: None,
            limits: Limits::default(),
            sheets: None,
        }
    }
}

/// What the first pass found.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub schema: TableSchema,
    pub quality: QualityReport,
    pub findings: Vec<PiiFinding>,
}

/// Which source columns to keep, in which order, masked or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub columns: Vec<PlanColumn>,
}

/// One kept column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanColumn {
    pub source_index: usize,
    pub field: Field,
    pub mask: bool,
}

impl Plan {
    /// Every column as the schema has it.
    pub fn all(schema: &TableSchema) -> Plan {
        Plan {
            columns: schema
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| PlanColumn {
                    source_index: i,
                    field: f.clone(),
                    mask: false,
                })
                .collect(),
        }
    }

    /// The schema of the loaded table.
    pub fn schema(&self) -> TableSchema {
        TableSchema {
            fields: self.columns.iter().map(|c| c.field.clone()).collect(),
            primary_key: Vec::new(),
        }
    }
}

/// A file that cannot be read as a table: what, where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}{}{}: {message}", .row.map(|r| format!(" at row {r}")).unwrap_or_default(), .column.as_ref().map(|c| format!(", column \"{c}\"")).unwrap_or_default())]
pub struct IngestError {
    pub kind: String,
    pub row: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

pub fn err(
    kind: &str,
    row: Option<u64>,
    column: Option<&str>,
    message: impl Into<String>,
) -> IngestError {
    IngestError {
        kind: kind.to_owned(),
        row,
        column: column.map(str::to_owned),
        message: message.into(),
    }
}

/// A failed load: the file, or the sink.
#[derive(Debug)]
pub enum LoadError<E> {
    Ingest(IngestError),
    Sink(E),
}

/// Text safe to open in a spreadsheet: a leading `=`, `+`, `-` or `@` is prefixed with `'`.
pub fn csv_safe(text: &str) -> Cow<'_, str> {
    if is_formula(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn is_formula(t: &str) -> bool {
    let mut c = t.chars();
    matches!(c.next(), Some('=' | '+' | '-' | '@'))
        && c.next()
            .is_some_and(|n| n.is_ascii_alphabetic() || n == '(')
}

fn is_empty(t: &str) -> bool {
    let t = t.trim();
    t.is_empty() || matches!(t, "NA" | "N/A" | "n/a" | "null" | "NULL")
}

const W1252: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf8Bom => "UTF-8 (BOM)",
            Self::Windows1252 => "windows-1252",
        }
    }

    fn decode<'a>(self, b: &'a [u8], repairs: &mut u64) -> Cow<'a, str> {
        match self {
            Self::Windows1252 => {
                if b.is_ascii() {
                    Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default())
                } else {
                    Cow::Owned(
                        b.iter()
                            .map(|&x| match x {
                                0x80..=0x9f => W1252[usize::from(x - 0x80)],
                                _ => char::from(x),
                            })
                            .collect(),
                    )
                }
            }
            _ => match std::str::from_utf8(b) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => {
                    *repairs += 1;
                    String::from_utf8_lossy(b)
                }
            },
        }
    }
}

/// Reads the first 64 KiB, decides encoding and delimiter, and returns a reader of the whole
/// input (BOM skipped).
fn sniff<R: Read>(mut input: R) -> Result<(Encoding, u8, impl Read), IngestError> {
    let mut prefix = Vec::with_capacity(65_536);
    (&mut input)
        .take(65_536)
        .read_to_end(&mut prefix)
        .map_err(|e| {
            err(
                "source-error",
                None,
                None,
                format!("the file cannot be read: {e}"),
            )
        })?;
    if prefix.iter().all(u8::is_ascii_whitespace) {
        return Err(err("empty-file", None, None, "the file has no content"));
    }
    let (encoding, skip) = if prefix.starts_with(&[0xef, 0xbb, 0xbf]) {
        (Encoding::Utf8Bom, 3)
    } else {
        // A cut multi-byte sequence at the end of the prefix is not a fault.
        let valid = match std::str::from_utf8(&prefix) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && prefix.len() == 65_536,
        };
        (
            if valid {
                Encoding::Utf8
            } else {
                Encoding::Windows1252
            },
            0,
        )
    };
    let body = &prefix[skip..];
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').take(11).collect();
    let lines = if lines.len() > 1 && body.len() == 65_536 - skip {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let counts: Vec<usize> = lines
            .iter()
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .map(|l| {
                let mut n = 0;
                let mut quoted = false;
                for &c in *l {
                    if c == b'"' {
                        quoted = !quoted;
                    } else if c == d && !quoted {
                        n += 1;
                    }
                }
                n
            })
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first > 0 && counts.iter().all(|c| *c == first) && first > best.1 {
            best = (d, first);
        }
    }
    if best.1 == 0 {
        // One column, or no consistent split: the delimiter that appears most on the header.
        let header = lines.first().copied().unwrap_or_default();
        best.0 = [b',', b';', b'\t', b'|']
            .into_iter()
            .max_by_key(|d| header.iter().filter(|c| *c == d).count())
            .unwrap_or(b',');
    }
    let rest = std::io::Cursor::new(prefix[skip..].to_vec()).chain(input);
    Ok((encoding, best.0, rest))
}

fn parse_int(t: &str) -> Option<i64> {
    let t = t.trim();
    if let Ok(v) = t.parse::<i64>() {
        if t.starts_with('+') || (t.len() > 1 && t.starts_with('0') && !t.starts_with("0.")) {
            // Leading zeros (codes such as CAP or ISTAT codes) stay text.
            return None;
        }
        return Some(v);
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    let groups: Vec<&str> = digits.split('.').collect();
    if groups.len() >= 2
        && (1..=3).contains(&groups[0].len())
        && !groups[0].starts_with('0')
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
    {
        let v: i64 = groups.concat().parse().ok()?;
        return Some(if t.starts_with('-') { -v } else { v });
    }
    None
}

/// A number in the style with `decimal` as decimal separator (the other one groups thousands).
fn parse_number(t: &str, decimal: char) -> Option<f64> {
    let t = t.trim();
    let group = if decimal == ',' { '.' } else { ',' };
    let body = t.strip_prefix('-').unwrap_or(t);
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == decimal || c == group)
    {
        return None;
    }
    let (int_part, frac) = match body.split_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if frac.is_some_and(|f| f.is_empty() || f.contains(decimal) || f.contains(group)) {
        return None;
    }
    if int_part.contains(group) {
        let groups: Vec<&str> = int_part.split(group).collect();
        if !(1..=3).contains(&groups[0].len()) || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
    } else if int_part.is_empty() || (int_part.len() > 1 && int_part.starts_with('0')) {
        // Leading zeros (ISTAT codes, CAP) stay text.
        return None;
    }
    let plain = format!(
        "{}{}{}",
        if t.starts_with('-') { "-" } else { "" },
        int_part.replace(group, ""),
        frac.map(|f| format!(".{f}")).unwrap_or_default()
    );
    plain.parse().ok()
}

fn parse_bool(t: &str) -> Option<bool> {
    match t.trim().to_lowercase().as_str() {
        "true" | "vero" | "sì" | "si" => Some(true),
        "false" | "falso" | "no" => Some(false),
        _ => None,
    }
}

fn parse_date(t: &str) -> Option<NaiveDate> {
    let t = t.trim();
    if t.len() < 8 || t.len() > 10 {
        return None;
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .filter(|_| t.as_bytes().get(4) == Some(&b'-'))
        .or_else(|| {
            ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
                .into_iter()
                .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
        })
}

/// Per-column counts of the inference.
#[derive(Debug, Clone, Default)]
struct Infer {
    /// Numbers as a program writes them (see [`Rows::canonical_numbers`]).
    canonical: bool,
    non_empty: u64,
    empty: u64,
    int: u64,
    num_it: u64,
    num_en: u64,
    boolean: u64,
    date: u64,
    /// First rows breaking each narrow type: int, number, boolean, date.
    breaks: [Vec<u64>; 4],
}

impl Infer {
    fn feed(&mut self, t: &str, row: u64) {
        if is_empty(t) {
            self.empty += 1;
            return;
        }
        self.non_empty += 1;
        let int = parse_int(t).is_some() && !(self.canonical && t.contains(['.', ','].as_slice()));
        let it = !self.canonical && (int || parse_number(t, ',').is_some());
        let en = int || parse_number(t, '.').is_some();
        let b = parse_bool(t).is_some();
        let d = parse_date(t).is_some();
        self.int += u64::from(int);
        self.num_it += u64::from(it);
        self.num_en += u64::from(en);
        self.boolean += u64::from(b);
        self.date += u64::from(d);
        for (i, ok) in [int, it || en, b, d].into_iter().enumerate() {
            if !ok && self.breaks[i].len() < 5 {
                self.breaks[i].push(row);
            }
        }
    }

    fn decide(&self) -> (FieldType, Option<char>) {
        let n = self.non_empty;
        if n == 0 {
            return (FieldType::String, None);
        }
        if self.int == n {
            (FieldType::Integer, None)
        } else if self.num_it == n {
            (FieldType::Number, Some(','))
        } else if self.num_en == n {
            (FieldType::Number, Some('.'))
        } else if self.boolean == n {
            (FieldType::Boolean, None)
        } else if self.date == n {
            (FieldType::Date, None)
        } else {
            (FieldType::String, None)
        }
    }

    /// A narrower type most cells (≥ 90%) fit, and the cells that break it.
    fn conflict(&self) -> Option<(FieldType, u64, &[u64])> {
        let n = self.non_empty;
        let num = self.num_it.max(self.num_en);
        [
            (FieldType::Integer, self.int, 0),
            (FieldType::Number, num, 1),
            (FieldType::Boolean, self.boolean, 2),
            (FieldType::Date, self.date, 3),
        ]
        .into_iter()
        .find(|(_, ok, _)| *ok < n && *ok * 10 >= n * 9 && n >= 10)
        .map(|(t, ok, i)| (t, n - ok, self.breaks[i].as_slice()))
    }
}

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Integer => "integer",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::String => "string",
    }
}

/// Converts one cell after its field; `None` when it does not fit.
fn convert(t: &str, field: &Field) -> Option<Cell> {
    if t.trim().is_empty() {
        return Some(Cell::Null);
    }
    // Markers such as `NA` are empty in typed columns but text in a string column (`NA` is
    // also Napoli's province code).
    if is_empty(t) && field.field_type != FieldType::String {
        return Some(Cell::Null);
    }
    Some(match field.field_type {
        FieldType::Integer => Cell::Integer(parse_int(t)?),
        // The column's own style decides: `1.234` is 1234 in an Italian-style column and
        // 1.234 in an English-style one.
        FieldType::Number => Cell::Number(parse_number(t, field.decimal_char.unwrap_or('.'))?),
        FieldType::Boolean => Cell::Boolean(parse_bool(t)?),
        FieldType::Date => Cell::Date(parse_date(t)?),
        FieldType::String => Cell::Text(t.to_owned()),
    })
}

struct Issues {
    listed: Vec<QualityIssue>,
    count: u64,
    max: usize,
}

impl Issues {
    fn push(&mut self, kind: &str, row: Option<u64>, column: Option<&str>, message: String) {
        self.count += 1;
        if self.listed.len() < self.max {
            self.listed.push(QualityIssue {
                kind: kind.to_owned(),
                row,
                column: column.map(str::to_owned),
                message,
            });
        }
    }
}

/// The rows of a source, decoded: the header, then each record with its row number. Public so
/// that an adapter can read a format the domain does not parse itself (XLSX and ODS, in the
/// `sheet` crate: XML stays out of the domain).
pub trait Rows {
    /// The next record's cells (decoded), row number; `None` at the end.
    fn next_row(&mut self, cells: &mut Vec<String>) -> Result<Option<u64>, IngestError>;
    fn encoding(&self) -> &'static str;
    fn delimiter(&self) -> Option<String>;
    fn repairs(&self) -> u64;
    /// Issues the reader found in the rows read so far (spreadsheet formulas, cut cells).
    fn drain_notes(&mut self) -> Vec<QualityIssue> {
        Vec::new()
    }
    /// Whether numbers arrive as written by a program (`1234.5`: JSON), never with Italian
    /// separators, so `1.234` is one point two three four, not 1234.
    fn canonical_numbers(&self) -> bool {
        false
    }
}

struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    encoding: Encoding,
    delimiter: u8,
    raw_header: Vec<String>,
    repairs: u64,
    /// Empty lines the CSV parser stepped over (it skips them, and does not count them in
    /// its line numbers), reported as `blank-row`.
    notes: Vec<QualityIssue>,
}

/// Empty lines beyond this many in one file are counted in one note, not one each.
const MAX_BLANK_NOTES: usize = 100;

/// The column names a header gives (blank ones named, duplicates numbered), as the CSV reader
/// makes them.
pub fn column_names(raw: &[String]) -> Vec<String> {
    unique_names(raw, &mut None)
}

fn unique_names(raw: &[String], issues: &mut Option<&mut Issues>) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let mut n = name.trim().to_owned();
        if n.is_empty() {
            n = format!("column_{}", i + 1);
            if let Some(is) = issues.as_deref_mut() {
                is.push(
                    "blank-label",
                    Some(1),
                    Some(&n),
                    format!("column {} has no name; named {n}", i + 1),
                );
            }
        }
        if seen.contains(&n) {
            let mut k = 2;
            while seen.contains(&format!("{n}_{k}")) {
                k += 1;
            }
            let renamed = format!("{n}_{k}");
            if let Some(is) = issues.as_deref_mut() {
                is.push(
                    "duplicate-label",
                    Some(1),
                    Some(&n),
                    format!("the name \"{n}\" repeats; named {renamed}"),
                );
            }
            n = renamed;
        }
        seen.insert(n.clone());
        out.push(n);
    }
    out
}

impl<R: Read> CsvRows<R> {
    fn open(
        input: impl Read + 'static,
        limits: &Limits,
    ) -> Result<CsvRows<Box<dyn Read>>, IngestError> {
        let (encoding, delimiter, rest) = sniff(input)?;
        let rest: Box<dyn Read> = Box::new(rest);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(rest);
        let mut record = csv::ByteRecord::new();
        let mut repairs = 0;
        let has = reader
            .read_byte_record(&mut record)
            .map_err(|e| err("source-error", Some(1), None, e.to_string()))?;
        if !has {
            return Err(err(
                "no-header",
                Some(1),
                None,
                "the file has no header row",
            ));
        }
        if record.len() > limits.max_columns {
            return Err(err(
                "too-many-columns",
                Some(1),
                None,
                format!("{} columns; at most {}", record.len(), limits.max_columns),
            ));
        }
        let raw: Vec<String> = record
            .iter()
            .map(|f| encoding.decode(f, &mut repairs).into_owned())
            .collect();
        Ok(CsvRows {
            reader,
            record,
            encoding,
            delimiter,
            raw_header: raw,
            repairs,
            notes: Vec::new(),
        })
    }
}

impl<R: Read> Rows for CsvRows<R> {
    fn next_row(&mut self, cells: &mut Vec<String>) -> Result<Option<u64>, IngestError> {
        let line = self.reader.position().line();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                cells.clear();
                for f in self.record.iter() {
                    cells.push(self.encoding.decode(f, &mut self.repairs).into_owned());
                }
                // The parser skips empty lines and reports the record where they began; its
                // line after the record is right, so the record's own first line is that less
                // the lines the record spans (one, plus its quoted line breaks).
                let inner = self
                    .record
                    .iter()
                    .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
                    .sum::<u64>();
                let at = self
                    .reader
                    .position()
                    .line()
                    .saturating_sub(1 + inner)
                    .max(line);
                for empty in line..at {
                    if self.notes.len() < MAX_BLANK_NOTES {
                        self.notes.push(QualityIssue {
                            kind: "blank-row".into(),
                            row: Some(empty),
                            column: None,
                            message: "the row is empty and was skipped".into(),
                        });
                    }
                }
                Ok(Some(at))
            }
            Err(e) => Err(err(
                "source-error",
                Some(line),
                None,
                format!("the CSV cannot be read: {e}"),
            )),
        }
    }

    fn encoding(&self) -> &'static str {
        self.encoding.name()
    }

    fn delimiter(&self) -> Option<String> {
        Some(match self.delimiter {
            b'\t' => "\\t".to_owned(),
            d => char::from(d).to_string(),
        })
    }

    fn repairs(&self) -> u64 {
        self.repairs
    }

    fn drain_notes(&mut self) -> Vec<QualityIssue> {
        std::mem::take(&mut self.notes)
    }
}

/// JSON objects read with their keys in the order written (serde_json's map sorts them).
mod json_order {
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// An object's members in order.
    pub struct Object(pub Vec<(String, serde_json::Value)>);

    struct ObjectVisitor;

    impl<'de> Visitor<'de> for ObjectVisitor {
        type Value = Object;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                match out
                    .iter_mut()
                    .find(|(seen, _): &&mut (String, _)| *seen == k)
                {
                    // A repeated key: the last one counts, as serde_json's map does.
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
            Ok(Object(out))
        }
    }

    impl<'de> Deserialize<'de> for Object {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(ObjectVisitor)
        }
    }

    /// An array item: an object, or anything else (refused by the caller with its position).
    pub enum Item {
        Object(Vec<(String, serde_json::Value)>),
        Other,
    }

    struct ItemVisitor;

    impl<'de> Visitor<'de> for ItemVisitor {
        type Value = Item;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item, A::Error> {
            Ok(Item::Object(ObjectVisitor.visit_map(map)?.0))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Item::Other)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Item, E> {
            Ok(Item::Other)
        }
    }

    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ItemVisitor)
        }
    }

    /// A GeoJSON FeatureCollection: what the reader needs of it.
    #[derive(Deserialize)]
    pub struct Collection {
        #[serde(rename = "type")]
        pub kind: Option<String>,
        #[serde(default)]
        pub features: Vec<Feature>,
    }

    #[derive(Deserialize)]
    pub struct Feature {
        pub properties: Option<Object>,
        #[serde(default)]
        pub geometry: serde_json::Value,
    }
}

struct JsonRows {
    header: Vec<String>,
    rows: std::vec::IntoIter<Vec<String>>,
    row: u64,
}

impl JsonRows {
    fn open(mut input: impl Read, geo: bool) -> Result<Self, IngestError> {
        let mut buf = Vec::new();
        (&mut input)
            .take(MAX_JSON_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err("source-error", None, None, e.to_string()))?;
        if buf.len() > MAX_JSON_BYTES {
            return Err(err(
                "too-large",
                None,
                None,
                format!("JSON uploads are read whole: at most {MAX_JSON_BYTES} bytes"),
            ));
        }
        let syntax = |e: serde_json::Error| {
            err(
                "json-syntax",
                Some(e.line() as u64),
                None,
                format!(
                    "invalid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        };
        // Objects keep their keys in the order written, so columns come in first-seen order.
        let items: Vec<Vec<(String, serde_json::Value)>> = if geo {
            let collection: json_order::Collection = serde_json::from_slice(&buf).map_err(|e| {
                if e.is_data() {
                    err(
                        "not-a-table",
                        Some(e.line() as u64),
                        None,
                        format!("a GeoJSON FeatureCollection is expected: {e}"),
                    )
                } else {
                    syntax(e)
                }
            })?;
            if collection.kind.as_deref() != Some("FeatureCollection") {
                return Err(err(
                    "not-a-table",
                    None,
                    None,
                    "a GeoJSON FeatureCollection is expected",
                ));
            }
            collection
                .features
                .into_iter()
                .map(|f| {
                    let mut m = f.properties.map(|p| p.0).unwrap_or_default();
                    m.retain(|(k, _)| k != "geometry");
                    m.push(("geometry".into(), f.geometry));
                    m
                })
                .collect()
        } else {
            let list: Vec<json_order::Item> = match serde_json::from_slice(&buf) {
                Ok(list) => list,
                Err(e) if e.is_data() => {
                    return Err(err(
                        "not-a-table",
                        None,
                        None,
                        "a JSON array of objects is expected",
                    ));
                }
                Err(e) => return Err(syntax(e)),
            };
            list.into_iter()
                .enumerate()
                .map(|(i, x)| match x {
                    json_order::Item::Object(m) => Ok(m),
                    json_order::Item::Other => Err(err(
                        "not-a-table",
                        Some(i as u64 + 1),
                        None,
                        format!("item {} is not an object", i + 1),
                    )),
                })
                .collect::<Result<_, _>>()?
        };
        let mut header: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for m in &items {
            for (k, _) in m {
                if !index.contains_key(k) {
                    index.insert(k.clone(), header.len());
                    header.push(k.clone());
                }
            }
        }
        let rows: Vec<Vec<String>> = items
            .into_iter()
            .map(|m| {
                let mut cells = vec![String::new(); header.len()];
                for (k, v) in m {
                    let text = match v {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if let Some(&i) = index.get(&k) {
                        cells[i] = text;
                    }
                }
                cells
            })
            .collect();
        Ok(Self {
            header,
            rows: rows.into_iter(),
            row: 1,
        })
    }
}

impl Rows for JsonRows {
    fn next_row(&mut self, cells: &mut Vec<String>) -> Result<Option<u64>, IngestError> {
        match self.rows.next() {
            None => Ok(None),
            Some(r) => {
                self.row += 1;
                *cells = r;
                Ok(Some(self.row))
            }
        }
    }
    fn encoding(&self) -> &'static str {
        "UTF-8"
    }
    fn delimiter(&self) -> Option<String> {
        None
    }
    fn repairs(&self) -> u64 {
        0
    }
    fn canonical_numbers(&self) -> bool {
        true
    }
}

fn open_rows(
    input: impl Read + 'static,
    opts: &Options,
) -> Result<(Box<dyn Rows>, Vec<String>), IngestError> {
    Ok(match opts.format {
        InputFormat::Csv => {
            let r = CsvRows::<Box<dyn Read>>::open(input, &opts.limits)?;
            let raw = r.raw_header.clone();
            (Box::new(r), raw)
        }
        InputFormat::Json => {
            let r = JsonRows::open(input, false)?;
            let raw = r.header.clone();
            (Box::new(r), raw)
        }
        InputFormat::GeoJson => {
            let r = JsonRows::open(input, true)?;
            let raw = r.header.clone();
            (Box::new(r), raw)
        }
        InputFormat::Xlsx | InputFormat::Ods => {
            let open = opts.sheets.ok_or_else(|| {
                err(
                    "unsupported-format",
                    None,
                    None,
                    "this reader was not given a spreadsheet reader",
                )
            })?;
            open(Box::new(input), opts.format, &opts.limits)?
        }
    })
}

/// The first pass: schema, quality report and personal-data findings.
pub fn analyze<R: Read + 'static>(input: R, opts: &Options) -> Result<Analysis, IngestError> {
    let (mut rows, raw) = open_rows(input, opts)?;
    let mut issues = Issues {
        listed: Vec::new(),
        count: 0,
        max: opts.limits.max_listed_issues,
    };
    let names = unique_names(&raw, &mut Some(&mut issues));
    let width = names.len();
    let given: Option<&TableSchema> = opts.schema.as_ref();
    if let Some(s) = given {
        let expected: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        let got: Vec<&str> = names.iter().map(String::as_str).collect();
        if expected != got {
            return Err(err(
                "label-mismatch",
                Some(1),
                None,
                format!(
                    "the header has columns [{}]; expected [{}]",
                    got.join(", "),
                    expected.join(", ")
                ),
            ));
        }
    }
    let mut infer = vec![
        Infer {
            canonical: rows.canonical_numbers(),
            ..Infer::default()
        };
        width
    ];
    let mut screens: Vec<ColumnScreen> = names.iter().map(|n| ColumnScreen::new(n)).collect();
    let key_idx: Vec<usize> = opts
        .primary_key
        .iter()
        .filter_map(|k| names.iter().position(|n| n == k))
        .collect();
    let mut keys: HashSet<u64> = HashSet::new();
    let mut duplicate_keys = 0;
    let mut row_count = 0;
    let mut type_errors = vec![0u64; width];
    let mut cells = Vec::new();
    let mut notes = rows.drain_notes();
    loop {
        let next = rows.next_row(&mut cells)?;
        notes.extend(rows.drain_notes());
        for n in notes.drain(..) {
            issues.push(&n.kind, n.row, n.column.as_deref(), n.message);
        }
        let Some(row) = next else {
            break;
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            issues.push(
                "blank-row",
                Some(row),
                None,
                "the row is blank and was skipped".into(),
            );
            continue;
        }
        row_count += 1;
        if cells.len() > width {
            issues.push(
                "extra-cell",
                Some(row),
                None,
                format!(
                    "{} cells; the header has {width} columns (extra cells dropped)",
                    cells.len()
                ),
            );
        } else if cells.len() < width {
            issues.push(
                "missing-cell",
                Some(row),
                names.get(cells.len()).map(String::as_str),
                format!(
                    "{} cells; the header has {width} columns (missing cells empty)",
                    cells.len()
                ),
            );
        }
        for i in 0..width {
            let raw = cells.get(i).map(String::as_str).unwrap_or("");
            let mut t = raw;
            if t.len() > opts.limits.max_field_bytes {
                issues.push(
                    "truncated-value",
                    Some(row),
                    Some(&names[i]),
                    format!("{} bytes; cut at {}", t.len(), opts.limits.max_field_bytes),
                );
                let mut end = opts.limits.max_field_bytes;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t = &t[..end];
            }
            if is_formula(t) {
                issues.push("formula-cell", Some(row), Some(&names[i]), "the cell looks like a spreadsheet formula; kept as text, downloads prefix it with '".into());
            }
            infer[i].feed(t, row);
            screens[i].feed(t);
            if let Some(s) = given
                && convert(t, &s.fields[i]).is_none()
            {
                type_errors[i] += 1;
                issues.push(
                    "type-error",
                    Some(row),
                    Some(&names[i]),
                    format!("not a valid {}", type_name(s.fields[i].field_type)),
                );
            }
        }
        if !key_idx.is_empty() {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for &k in &key_idx {
                cells.get(k).map(String::as_str).unwrap_or("").hash(&mut h);
            }
            if !keys.insert(h.finish()) {
                duplicate_keys += 1;
                issues.push(
                    "unique-error",
                    Some(row),
                    None,
                    "the primary key repeats an earlier row".into(),
                );
            }
        }
    }
    let repairs = rows.repairs();
    if repairs > 0 {
        issues.push(
            "encoding-repair",
            None,
            None,
            format!(
                "{repairs} cells had bytes invalid in {}; replaced",
                rows.encoding()
            ),
        );
    }
    let mut fields = Vec::with_capacity(width);
    let mut columns = Vec::with_capacity(width);
    for (i, name) in names.iter().enumerate() {
        let (t, dec) = match given {
            Some(s) => (s.fields[i].field_type, s.fields[i].decimal_char),
            None => infer[i].decide(),
        };
        let mut conflicts = type_errors[i];
        if given.is_none()
            && t == FieldType::String
            && let Some((narrow, bad, rows)) = infer[i].conflict()
        {
            conflicts = bad;
            issues.push(
                "type-conflict",
                rows.first().copied(),
                Some(name),
                format!(
                    "{bad} cells are not {}, which the other cells of the column are (rows {}); kept as text",
                    type_name(narrow),
                    rows.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        fields.push(Field {
            name: name.clone(),
            field_type: t,
            description: None,
            rdf_property: None,
            decimal_char: dec,
        });
        columns.push(ColumnStats {
            name: name.clone(),
            field_type: t,
            empty_cells: infer[i].empty,
            type_conflicts: conflicts,
        });
    }
    let findings: Vec<PiiFinding> = screens
        .into_iter()
        .zip(&names)
        .flat_map(|(s, n)| s.finish(n))
        .collect();
    let quality = QualityReport {
        row_count,
        encoding: rows.encoding().to_owned(),
        delimiter: rows.delimiter(),
        empty_cells: infer.iter().map(|x| x.empty).sum(),
        columns,
        duplicate_keys,
        encoding_repairs: repairs,
        issues: issues.listed,
        issue_count: issues.count,
    };
    Ok(Analysis {
        schema: TableSchema {
            fields,
            primary_key: opts.primary_key.clone(),
        },
        quality,
        findings,
    })
}

/// The second pass: each non-blank row typed after `plan`, in file order.
pub fn load<R: Read + 'static, E>(
    input: R,
    opts: &Options,
    plan: &Plan,
    mut sink: impl FnMut(u64, &[Cell]) -> Result<(), E>,
) -> Result<u64, LoadError<E>> {
    let (mut rows, _) = open_rows(input, opts).map_err(LoadError::Ingest)?;
    let mut cells = Vec::new();
    let mut out: Vec<Cell> = Vec::with_capacity(plan.columns.len());
    let mut n = 0;
    while let Some(row) = rows.next_row(&mut cells).map_err(LoadError::Ingest)? {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.clear();
        for c in &plan.columns {
            let mut t = cells.get(c.source_index).map(String::as_str).unwrap_or("");
            if t.len() > opts.limits.max_field_bytes {
                let mut end = opts.limits.max_field_bytes;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t = &t[..end];
            }
            if c.mask {
                out.push(if is_empty(t) {
                    Cell::Null
                } else {
                    Cell::Text(mask(t.trim()))
                });
                continue;
            }
            match convert(t, &c.field) {
                Some(cell) => out.push(cell),
                None => {
                    return Err(LoadError::Ingest(err(
                        "type-error",
                        Some(row),
                        Some(&c.field.name),
                        format!("not a valid {}", type_name(c.field.field_type)),
                    )));
                }
            }
        }
        sink(row, &out).map_err(LoadError::Sink)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on a bad fixture"
)]
mod tests {
    use super::*;

    fn analyze_str(s: &'static str) -> Analysis {
        analyze(s.as_bytes(), &Options::default()).unwrap()
    }

    #[test]
    fn italian_decimals_day_first_dates_and_semicolons_are_inferred() {
        let a = analyze_str("a;b;c;d\n1;1.234,5;31/12/2024;x\n2;3,25;01/01/2025;y\n");
        let t: Vec<FieldType> = a.schema.fields.iter().map(|f| f.field_type).collect();
        assert_eq!(
            t,
            [
                FieldType::Integer,
                FieldType::Number,
                FieldType::Date,
                FieldType::String
            ]
        );
        assert_eq!(a.schema.fields[1].decimal_char, Some(','));
        assert_eq!(a.quality.delimiter.as_deref(), Some(";"));
    }

    #[test]
    fn a_late_bad_cell_is_a_type_conflict_not_a_failure() {
        let mut s = String::from("n\n");
        for i in 0..20 {
            s.push_str(&format!("{i}\n"));
        }
        s.push_str("dodici\n");
        let a = analyze(std::io::Cursor::new(s.into_bytes()), &Options::default()).unwrap();
        assert_eq!(a.schema.fields[0].field_type, FieldType::String);
        let issue = a
            .quality
            .issues
            .iter()
            .find(|i| i.kind == "type-conflict")
            .unwrap();
        assert_eq!(issue.row, Some(22));
    }

    #[test]
    fn windows_1252_text_is_decoded() {
        let a = analyze(&b"citt\xe0\nForl\xec\n"[..], &Options::default()).unwrap();
        assert_eq!(a.quality.encoding, "windows-1252");
        assert_eq!(a.schema.fields[0].name, "città");
    }

    #[test]
    fn ragged_rows_blank_labels_and_formulas_are_reported_with_rows() {
        let a = analyze_str("a,,a\n1,2,3,4\n1\n=SUM(A1),2,3\n");
        let kinds: Vec<(&str, Option<u64>)> = a
            .quality
            .issues
            .iter()
            .map(|i| (i.kind.as_str(), i.row))
            .collect();
        assert!(kinds.contains(&("blank-label", Some(1))), "{kinds:?}");
        assert!(kinds.contains(&("duplicate-label", Some(1))), "{kinds:?}");
        assert!(kinds.contains(&("extra-cell", Some(2))), "{kinds:?}");
        assert!(kinds.contains(&("missing-cell", Some(3))), "{kinds:?}");
        assert!(kinds.contains(&("formula-cell", Some(4))), "{kinds:?}");
        assert_eq!(csv_safe("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn load_types_cells_and_drops_or_masks_planned_columns() {
        let src = "id;cf;importo\n1;RSSMRA80A01H501U;1,5\n";
        let a = analyze(src.as_bytes(), &Options::default()).unwrap();
        assert_eq!(a.findings[0].column, "cf");
        let mut plan = Plan::all(&a.schema);
        plan.columns[1].mask = true;
        let mut got = Vec::new();
        load(src.as_bytes(), &Options::default(), &plan, |_, c| {
            got.push(c.to_vec());
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(
            got[0],
            vec![
                Cell::Integer(1),
                Cell::Text("RSS************U".into()),
                Cell::Number(1.5)
            ]
        );
    }

    #[test]
    fn codes_with_leading_zeros_markers_and_english_thousands_keep_their_values() {
        let src = "cod;sigla;v\n058091;NA;1.234\n012133;MI;2.5\n";
        let a = analyze(src.as_bytes(), &Options::default()).unwrap();
        let t: Vec<FieldType> = a.schema.fields.iter().map(|f| f.field_type).collect();
        assert_eq!(t, [FieldType::String, FieldType::String, FieldType::Number]);
        let mut got = Vec::new();
        load(
            src.as_bytes(),
            &Options::default(),
            &Plan::all(&a.schema),
            |_, c| {
                got.push(c.to_vec());
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(
            got[0],
            vec![
                Cell::Text("058091".into()),
                Cell::Text("NA".into()),
                Cell::Number(1.234)
            ]
        );
    }

    #[test]
    fn broken_json_names_line_and_column() {
        let e = analyze(
            &b"[\n{\"a\": 1,}\n]"[..],
            &Options {
                format: InputFormat::Json,
                ..Options::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, "json-syntax");
        assert_eq!(e.row, Some(2));
    }

    #[test]
    fn geojson_features_become_rows_with_their_geometry() {
        let src = br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[8.8,45.8]},"properties":{"nome":"Biblioteca"}}]}"#;
        let a = analyze(
            &src[..],
            &Options {
                format: InputFormat::GeoJson,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(a.quality.row_count, 1);
        assert!(a.schema.fields.iter().any(|f| f.name == "geometry"));
    }

    fn json(src: &str) -> Analysis {
        analyze(
            std::io::Cursor::new(src.as_bytes().to_vec()),
            &Options {
                format: InputFormat::Json,
                ..Options::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn empty_csv_lines_are_reported_and_later_rows_keep_their_numbers() {
        let a = analyze(
            std::io::Cursor::new(b"id,v\n1,a\n\n\n1,b\n".to_vec()),
            &Options {
                primary_key: vec!["id".into()],
                ..Options::default()
            },
        )
        .unwrap();
        let at: Vec<(&str, Option<u64>)> = a
            .quality
            .issues
            .iter()
            .map(|i| (i.kind.as_str(), i.row))
            .collect();
        assert!(at.contains(&("blank-row", Some(3))), "{at:?}");
        assert!(at.contains(&("blank-row", Some(4))), "{at:?}");
        // The repeated key is on line 5 of the file.
        assert!(at.contains(&("unique-error", Some(5))), "{at:?}");
        assert_eq!(a.quality.row_count, 2);
    }

    #[test]
    fn json_columns_come_in_first_seen_order() {
        let a = json(r#"[{"zeta": 1, "alfa": "x"}, {"alfa": "y", "mezzo": true, "zeta": 2}]"#);
        let names: Vec<&str> = a.schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alfa", "mezzo"]);
        assert_eq!(a.quality.row_count, 2);
    }

    #[test]
    fn json_numbers_are_never_read_with_italian_separators() {
        // As CSV text in an Italian-style column 1.234 would be 1234; a JSON number is 1.234.
        let a = json(r#"[{"v": 1.234, "n": 7}, {"v": 5.678, "n": 1234}]"#);
        assert_eq!(a.schema.fields[0].field_type, FieldType::Number);
        assert_eq!(a.schema.fields[0].decimal_char, Some('.'));
        assert_eq!(a.schema.fields[1].field_type, FieldType::Integer);
        let mut got = Vec::new();
        load(
            std::io::Cursor::new(br#"[{"v": 1.234, "n": 7}, {"v": 5.678, "n": 1234}]"#.to_vec()),
            &Options {
                format: InputFormat::Json,
                ..Options::default()
            },
            &Plan::all(&a.schema),
            |_, cells: &[Cell]| {
                got.push(cells.to_vec());
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(got[0], [Cell::Number(1.234), Cell::Integer(7)]);
        assert_eq!(got[1], [Cell::Number(5.678), Cell::Integer(1234)]);
    }

    #[test]
    fn json_that_is_not_an_array_of_objects_is_not_a_table() {
        for (src, row) in [(r#"{"a": 1}"#, None), (r#"[{"a": 1}, 3]"#, Some(2))] {
            let e = analyze(
                std::io::Cursor::new(src.as_bytes().to_vec()),
                &Options {
                    format: InputFormat::Json,
                    ..Options::default()
                },
            )
            .unwrap_err();
            assert_eq!((e.kind.as_str(), e.row), ("not-a-table", row), "{src}");
        }
    }

    #[test]
    fn a_given_schema_is_enforced_by_load() {
        let src = "n\n1\nx\n";
        let schema = TableSchema {
            fields: vec![Field {
                name: "n".into(),
                field_type: FieldType::Integer,
                description: None,
                rdf_property: None,
                decimal_char: None,
            }],
            primary_key: vec![],
        };
        let opts = Options {
            schema: Some(schema.clone()),
            ..Options::default()
        };
        let a = analyze(src.as_bytes(), &opts).unwrap();
        assert_eq!(a.quality.columns[0].type_conflicts, 1);
        let e = load(src.as_bytes(), &opts, &Plan::all(&schema), |_, _| {
            Ok::<(), ()>(())
        })
        .unwrap_err();
        assert!(matches!(e, LoadError::Ingest(ref i) if i.row == Some(3)));
    }
}
