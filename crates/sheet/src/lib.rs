//! Sportello's spreadsheet reader (adapter, no I/O): the first worksheet of an XLSX or ODS
//! upload as rows for `opendata::ingest`, given to it as [`open`] in
//! `opendata::ingest::Options::sheets`. The parsing (ZIP, XML) is in [`reader`]; XML stays out
//! of the pure domain crate.

pub mod reader;

use std::io::Read;

use opendata::ingest::{IngestError, Limits, Rows, column_names, err};
use opendata::model::{InputFormat, QualityIssue};

pub use reader::{SheetKind, SheetLimits, SheetReader};

/// Opens an XLSX or ODS upload (`format` says which): the rows and the header as written.
pub fn open(
    input: Box<dyn Read>,
    format: InputFormat,
    limits: &Limits,
) -> Result<(Box<dyn Rows>, Vec<String>), IngestError> {
    let kind = match format {
        InputFormat::Xlsx => SheetKind::Xlsx,
        InputFormat::Ods => SheetKind::Ods,
        other => {
            return Err(err(
                "unsupported-format",
                None,
                None,
                format!("{other:?} is not a spreadsheet format"),
            ));
        }
    };
    let rows = SheetRows::open(input, kind, limits)?;
    let header = rows.header.clone();
    Ok((Box::new(rows), header))
}

/// The first worksheet of an XLSX or ODS upload.
struct SheetRows {
    reader: SheetReader,
    header: Vec<String>,
    names: Vec<String>,
    notes: Vec<QualityIssue>,
}

impl SheetRows {
    fn open(mut input: impl Read, kind: SheetKind, limits: &Limits) -> Result<Self, IngestError> {
        let sheet_limits = SheetLimits {
            max_columns: limits.max_columns,
            max_field_bytes: limits.max_field_bytes,
            ..SheetLimits::default()
        };
        let mut buf = Vec::new();
        (&mut input)
            .take(sheet_limits.max_bytes as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err("source-error", None, None, e.to_string()))?;
        if buf.is_empty() {
            return Err(err("empty-file", None, None, "the file has no content"));
        }
        let mut reader = SheetReader::open(buf, &sheet_limits)?;
        if reader.kind() != kind {
            return Err(err(
                "not-a-spreadsheet",
                None,
                None,
                format!(
                    "the file is an {} spreadsheet, not {}",
                    reader.kind().name(),
                    kind.name()
                ),
            ));
        }
        let mut header = Vec::new();
        if reader.next_row(&mut header)?.is_none() {
            return Err(err(
                "no-header",
                Some(1),
                None,
                "the first worksheet is empty: no header row",
            ));
        }
        let names = column_names(&header);
        let mut rows = SheetRows {
            reader,
            header,
            names,
            notes: Vec::new(),
        };
        rows.collect_notes();
        Ok(rows)
    }

    fn collect_notes(&mut self) {
        for n in self.reader.drain_notes() {
            self.notes.push(QualityIssue {
                kind: n.kind.to_owned(),
                row: Some(n.row),
                column: Some(
                    self.names
                        .get(n.column)
                        .cloned()
                        .unwrap_or_else(|| reader::column_letter(n.column)),
                ),
                message: n.message,
            });
        }
    }
}

impl Rows for SheetRows {
    fn next_row(&mut self, cells: &mut Vec<String>) -> Result<Option<u64>, IngestError> {
        let row = self.reader.next_row(cells)?;
        self.collect_notes();
        if row.is_some() && cells.len() < self.names.len() {
            // A worksheet does not store trailing empty cells.
            cells.resize(self.names.len(), String::new());
        }
        Ok(row)
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
    fn drain_notes(&mut self) -> Vec<QualityIssue> {
        std::mem::take(&mut self.notes)
    }
}
