//! Reading the first worksheet of an XLSX (Office Open XML SpreadsheetML) or ODS (OpenDocument
//! spreadsheet) upload as rows of text, one row at a time.
//!
//! Both formats are ZIP packages. The package itself is held in memory, up to
//! [`SheetLimits::max_bytes`] (256 MiB by default, like JSON uploads); the worksheet part is
//! inflated and parsed as a stream (ZIP entry → `DeflateDecoder` → `BufReader` →
//! `quick_xml::Reader`), so rows are never all materialised. The XLSX shared-string table is
//! held in memory, capped at `max_bytes` (text plus 32 bytes per string).
//!
//! Hostile packages: ZIP64, multi-disk and encrypted archives are refused; every entry must
//! inflate to the size its header declares (CRC-checked), no entry may declare more than
//! [`MAX_RATIO`]:1 over its compressed size (entries under 1 MiB excepted), and everything
//! inflated for one read is capped at [`SheetLimits::max_decompressed`] (1 GiB by default). XML
//! with a DOCTYPE is refused; only the five predefined entities and character references are
//! resolved.
//!
//! Values: text as written; numbers as written in the file (`<v>` / `office:value`, so `3.14`
//! whatever the display locale); booleans `true` / `false`; dates ISO `YYYY-MM-DD` (XLSX
//! numeric cells whose number format is a date format, from the 1900 serial with Excel's
//! fictitious 1900-02-29, or the 1904 one; ODS `office:date-value`, date part). Time-only
//! formats (built-in 18–21, 45–47, elapsed `[h]`) keep the number. A formula keeps its cached
//! value and is reported as a [`SheetNote`]. Rows whose cells are all empty are not yielded
//! (their numbers are skipped), and trailing empty cells are dropped, so LibreOffice's
//! 1024-column, million-row padding costs nothing.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};

use opendata::ingest::{IngestError, err};

/// Largest ratio an entry may declare between its inflated and compressed sizes.
pub const MAX_RATIO: u64 = 500;
/// Entries inflating to at most this many bytes are exempt from the ratio check.
const RATIO_FLOOR: u64 = 1024 * 1024;
/// Highest row number read (ODS repeats can address far beyond real sheets).
pub const MAX_ROW: u64 = 16 * 1024 * 1024;
const ODS_MIME: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// Which package a spreadsheet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SheetKind {
    Xlsx,
    Ods,
}

impl SheetKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Xlsx => "XLSX",
            Self::Ods => "ODS",
        }
    }
}

/// Bounds of a spreadsheet read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetLimits {
    /// Largest package (held in memory).
    pub max_bytes: usize,
    /// Most bytes inflated from the package in one read, all parts together.
    pub max_decompressed: u64,
    /// A non-empty cell beyond this many columns is an error.
    pub max_columns: usize,
    /// Longer cells are cut (and reported as `truncated-value`).
    pub max_field_bytes: usize,
}

impl Default for SheetLimits {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            max_decompressed: 1024 * 1024 * 1024,
            max_columns: 1_000,
            max_field_bytes: 1024 * 1024,
        }
    }
}

/// Something worth reporting about a cell that was read anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetNote {
    /// `formula-cell` or `truncated-value`.
    pub kind: &'static str,
    pub row: u64,
    /// 0-based column index.
    pub column: usize,
    pub message: String,
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column index.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Which spreadsheet a byte string is: a ZIP whose `mimetype` entry is the OpenDocument
/// spreadsheet type, or a ZIP with `xl/workbook.xml`.
pub fn sniff_kind(bytes: &[u8]) -> Option<SheetKind> {
    let zip = Zip::parse(Arc::from(bytes), 1024 * 1024).ok()?;
    zip.kind().ok()
}

// ---------------------------------------------------------------------------------------------
// ZIP

fn zip_err(message: impl Into<String>) -> IngestError {
    err("zip-error", None, None, message)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    data_start: usize,
}

struct Zip {
    data: Arc<[u8]>,
    entries: Vec<Entry>,
    inflated: Arc<AtomicU64>,
    max_inflated: u64,
}

impl Zip {
    fn parse(data: Arc<[u8]>, max_inflated: u64) -> Result<Zip, IngestError> {
        let b = &data[..];
        if !b.starts_with(b"PK") {
            return Err(err(
                "not-a-spreadsheet",
                None,
                None,
                "the file is not a ZIP package (XLSX and ODS files are)",
            ));
        }
        if b.len() < 22 {
            return Err(zip_err("the ZIP package is cut short (under 22 bytes)"));
        }
        let lowest = b.len().saturating_sub(22 + 65_535);
        let eocd = (lowest..=b.len() - 22)
            .rev()
            .find(|&i| le32(b, i) == Some(0x0605_4b50))
            .ok_or_else(|| {
                zip_err(
                    "no end-of-central-directory record: the ZIP package is truncated or damaged",
                )
            })?;
        if eocd >= 20 && le32(b, eocd - 20) == Some(0x0706_4b50) {
            return Err(zip_err("ZIP64 packages are not supported"));
        }
        let field = |at: usize| le16(b, eocd + at).unwrap_or(0);
        let (disk, cd_disk, here, total) = (field(4), field(6), field(8), field(10));
        let cd_size = le32(b, eocd + 12).unwrap_or(0);
        let cd_off = le32(b, eocd + 16).unwrap_or(0);
        if here == 0xffff || total == 0xffff || cd_size == u32::MAX || cd_off == u32::MAX {
            return Err(zip_err("ZIP64 packages are not supported"));
        }
        if disk != 0 || cd_disk != 0 || here != total {
            return Err(zip_err("multi-volume ZIP packages are not supported"));
        }
        let (cd_off, cd_size) = (cd_off as usize, cd_size as usize);
        if cd_off.checked_add(cd_size).is_none_or(|end| end > eocd) {
            return Err(zip_err(
                "the central directory lies outside the file: the ZIP package is truncated or damaged",
            ));
        }
        let mut entries = Vec::with_capacity(usize::from(total));
        let mut at = cd_off;
        for i in 0..total {
            let bad = || zip_err(format!("central directory entry {} is damaged", i + 1));
            if le32(b, at) != Some(0x0201_4b50) {
                return Err(bad());
            }
            let flags = le16(b, at + 8).ok_or_else(bad)?;
            let method = le16(b, at + 10).ok_or_else(bad)?;
            let crc = le32(b, at + 16).ok_or_else(bad)?;
            let compressed = le32(b, at + 20).ok_or_else(bad)?;
            let size = le32(b, at + 24).ok_or_else(bad)?;
            let name_len = usize::from(le16(b, at + 28).ok_or_else(bad)?);
            let extra_len = usize::from(le16(b, at + 30).ok_or_else(bad)?);
            let comment_len = usize::from(le16(b, at + 32).ok_or_else(bad)?);
            let local = le32(b, at + 42).ok_or_else(bad)?;
            let name_bytes = b.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            at += 46 + name_len + extra_len + comment_len;
            if flags & 0x41 != 0 || method == 99 {
                return Err(zip_err(format!(
                    "entry \"{name}\" is encrypted; encrypted packages are not supported"
                )));
            }
            if compressed == u32::MAX || size == u32::MAX || local == u32::MAX {
                return Err(zip_err(format!(
                    "entry \"{name}\" uses ZIP64 sizes; ZIP64 packages are not supported"
                )));
            }
            let local = local as usize;
            if le32(b, local) != Some(0x0403_4b50) {
                return Err(zip_err(format!(
                    "entry \"{name}\" has no local header at offset {local}: the ZIP package is damaged"
                )));
            }
            let lname = usize::from(le16(b, local + 26).ok_or_else(bad)?);
            let lextra = usize::from(le16(b, local + 28).ok_or_else(bad)?);
            let data_start = local + 30 + lname + lextra;
            if data_start
                .checked_add(compressed as usize)
                .is_none_or(|end| end > b.len())
            {
                return Err(zip_err(format!(
                    "entry \"{name}\" is cut short: the ZIP package is truncated"
                )));
            }
            entries.push(Entry {
                name,
                method,
                crc,
                compressed: u64::from(compressed),
                size: u64::from(size),
                data_start,
            });
        }
        Ok(Zip {
            data,
            entries,
            inflated: Arc::new(AtomicU64::new(0)),
            max_inflated,
        })
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    fn open(&self, name: &str) -> Result<Option<EntryReader>, IngestError> {
        let Some(e) = self.entry(name) else {
            return Ok(None);
        };
        if e.size > RATIO_FLOOR && e.size > e.compressed.saturating_mul(MAX_RATIO) {
            return Err(err(
                "too-large",
                None,
                None,
                format!(
                    "entry \"{name}\" would inflate from {} to {} bytes, over {MAX_RATIO}:1: refused as a possible zip bomb",
                    e.compressed, e.size
                ),
            ));
        }
        if e.size > self.max_inflated {
            return Err(err(
                "too-large",
                None,
                None,
                format!(
                    "entry \"{name}\" inflates to {} bytes; at most {} are read",
                    e.size, self.max_inflated
                ),
            ));
        }
        let slice = Slice {
            data: Arc::clone(&self.data),
            pos: e.data_start,
            end: e.data_start + e.compressed as usize,
        };
        let src = match e.method {
            0 => {
                if e.compressed != e.size {
                    return Err(zip_err(format!(
                        "stored entry \"{name}\" declares {} bytes but holds {}",
                        e.size, e.compressed
                    )));
                }
                Source::Stored(slice)
            }
            8 => Source::Deflate(Box::new(flate2::read::DeflateDecoder::new(slice))),
            m => {
                return Err(zip_err(format!(
                    "entry \"{name}\" uses compression method {m}; only stored (0) and deflate (8) are supported"
                )));
            }
        };
        Ok(Some(EntryReader {
            src,
            name: name.to_owned(),
            declared: e.size,
            produced: 0,
            crc: flate2::Crc::new(),
            want_crc: e.crc,
            inflated: Arc::clone(&self.inflated),
            max_inflated: self.max_inflated,
            checked: false,
        }))
    }

    /// A small part read whole (`mimetype`).
    fn read_small(&self, name: &str, cap: u64) -> Result<Option<Vec<u8>>, IngestError> {
        let Some(r) = self.open(name)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        r.take(cap)
            .read_to_end(&mut out)
            .map_err(|e| io_to_ingest(&e, name))?;
        Ok(Some(out))
    }

    fn kind(&self) -> Result<SheetKind, IngestError> {
        if let Some(m) = self.read_small("mimetype", 256)? {
            if m.trim_ascii() == ODS_MIME.as_bytes() {
                return Ok(SheetKind::Ods);
            }
            return Err(err(
                "not-a-spreadsheet",
                None,
                None,
                format!(
                    "the package is \"{}\", not an OpenDocument spreadsheet",
                    String::from_utf8_lossy(m.trim_ascii())
                ),
            ));
        }
        if self.entry("xl/workbook.xml").is_some() {
            return Ok(SheetKind::Xlsx);
        }
        Err(err(
            "not-a-spreadsheet",
            None,
            None,
            "the ZIP package holds neither xl/workbook.xml (XLSX) nor an OpenDocument spreadsheet mimetype (ODS)",
        ))
    }
}

struct Slice {
    data: Arc<[u8]>,
    pos: usize,
    end: usize,
}

impl Read for Slice {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.end - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

enum Source {
    Stored(Slice),
    Deflate(Box<flate2::read::DeflateDecoder<Slice>>),
}

/// One entry's bytes, inflated, size-, CRC- and budget-checked.
struct EntryReader {
    src: Source,
    name: String,
    declared: u64,
    produced: u64,
    crc: flate2::Crc,
    want_crc: u32,
    inflated: Arc<AtomicU64>,
    max_inflated: u64,
    checked: bool,
}

fn io_err(e: IngestError) -> std::io::Error {
    std::io::Error::other(e)
}

/// The error a reader raised: ours, or a plain I/O one.
fn io_to_ingest(e: &std::io::Error, part: &str) -> IngestError {
    match e.get_ref().and_then(|i| i.downcast_ref::<IngestError>()) {
        Some(i) => i.clone(),
        None => zip_err(format!("entry \"{part}\" cannot be read: {e}")),
    }
}

impl Read for EntryReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match &mut self.src {
            Source::Stored(s) => s.read(buf)?,
            Source::Deflate(d) => d.read(buf).map_err(|e| {
                io_err(zip_err(format!(
                    "entry \"{}\" holds damaged deflate data: {e}",
                    self.name
                )))
            })?,
        };
        if n == 0 {
            if !self.checked && !buf.is_empty() {
                self.checked = true;
                if self.produced != self.declared {
                    return Err(io_err(zip_err(format!(
                        "entry \"{}\" inflates to {} bytes; its header declares {}",
                        self.name, self.produced, self.declared
                    ))));
                }
                if self.crc.sum() != self.want_crc {
                    return Err(io_err(zip_err(format!(
                        "entry \"{}\" fails its CRC-32 check: the package is damaged",
                        self.name
                    ))));
                }
            }
            return Ok(0);
        }
        self.produced += n as u64;
        if self.produced > self.declared {
            return Err(io_err(zip_err(format!(
                "entry \"{}\" inflates past the {} bytes its header declares",
                self.name, self.declared
            ))));
        }
        let total = self.inflated.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.max_inflated {
            return Err(io_err(err(
                "too-large",
                None,
                None,
                format!(
                    "the package inflates past {} bytes, the most read",
                    self.max_inflated
                ),
            )));
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// XML

type Xml = quick_xml::Reader<BufReader<EntryReader>>;

fn xml(r: EntryReader) -> Xml {
    let mut x = quick_xml::Reader::from_reader(BufReader::with_capacity(64 * 1024, r));
    let c = x.config_mut();
    c.trim_text(false);
    c.expand_empty_elements = false;
    c.check_end_names = true;
    x
}

fn source_err(part: &str, row: Option<u64>, message: impl std::fmt::Display) -> IngestError {
    err("source-error", row, None, format!("{part}: {message}"))
}

/// The next event, refusing DTDs and mapping errors to what and where.
fn next<'b>(
    x: &mut Xml,
    buf: &'b mut Vec<u8>,
    part: &str,
    row: Option<u64>,
) -> Result<Event<'b>, IngestError> {
    buf.clear();
    let pos = x.buffer_position();
    match x.read_event_into(buf) {
        Ok(Event::DocType(_)) => Err(source_err(
            part,
            row,
            "the XML has a DOCTYPE; DTDs are not accepted",
        )),
        Ok(e) => Ok(e),
        Err(quick_xml::Error::Io(e)) => Err(io_to_ingest(&e, part)),
        Err(e) => Err(source_err(
            part,
            row,
            format!("malformed XML near byte {pos}: {e}"),
        )),
    }
}

/// A reference in text: character references and the five predefined entities only.
fn resolve_ref(r: &BytesRef<'_>, part: &str, row: Option<u64>) -> Result<String, IngestError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(source_err(
                part,
                row,
                format!("invalid character reference &{};", &**r),
            )),
        };
    }
    quick_xml::escape::resolve_predefined_entity(r)
        .map(str::to_owned)
        .ok_or_else(|| {
            source_err(
                part,
                row,
                format!(
                    "undeclared entity &{};: only the five XML entities are accepted",
                    &**r
                ),
            )
        })
}

fn local<'a>(e: &'a BytesStart<'_>) -> &'a str {
    e.local_name().into_inner()
}

/// An attribute by local name (any prefix but LibreOffice's `calcext:` / `loext:`).
fn attr(
    e: &BytesStart<'_>,
    name: &str,
    part: &str,
    row: Option<u64>,
) -> Result<Option<String>, IngestError> {
    for a in e.attributes() {
        let a = a.map_err(|x| source_err(part, row, format!("malformed attribute: {x}")))?;
        let key = a.key;
        if key.local_name().into_inner() != name
            || matches!(
                key.prefix().map(|p| p.into_inner()),
                Some("calcext" | "loext")
            )
        {
            continue;
        }
        let v = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|x| source_err(part, row, format!("attribute {}: {x}", key.0)))?;
        return Ok(Some(v.into_owned()));
    }
    Ok(None)
}

/// Text accumulated up to a cap; the full length is counted.
#[derive(Default)]
struct Capped {
    text: String,
    len: usize,
}

impl Capped {
    fn push(&mut self, s: &str, cap: usize) {
        self.len += s.len();
        if self.text.len() < cap {
            let mut end = (cap - self.text.len()).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&s[..end]);
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.len = 0;
    }
}

/// Places a non-empty value at a column, filling a gap with empty cells.
fn place(
    cells: &mut Vec<String>,
    col: usize,
    value: String,
    max_columns: usize,
    row: u64,
) -> Result<(), IngestError> {
    if value.is_empty() {
        return Ok(());
    }
    if col >= max_columns {
        return Err(err(
            "too-many-columns",
            Some(row),
            Some(&column_letter(col)),
            format!(
                "a value in column {}; at most {max_columns} columns are read",
                col + 1
            ),
        ));
    }
    if col < cells.len() {
        cells[col] = value;
    } else {
        cells.resize(col, String::new());
        cells.push(value);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The reader

/// Rows of the first worksheet, one at a time.
pub struct SheetReader {
    kind: SheetKind,
    inner: Inner,
    notes: Vec<SheetNote>,
    limits: SheetLimits,
}

enum Inner {
    Xlsx(Box<XlsxSheet>),
    Ods(Box<OdsSheet>),
}

impl SheetReader {
    /// Opens the package (sniffing its kind) and the first worksheet.
    pub fn open(bytes: Vec<u8>, limits: &SheetLimits) -> Result<SheetReader, IngestError> {
        if bytes.len() > limits.max_bytes {
            return Err(err(
                "too-large",
                None,
                None,
                format!(
                    "spreadsheets are read whole: at most {} bytes",
                    limits.max_bytes
                ),
            ));
        }
        let zip = Zip::parse(Arc::from(bytes), limits.max_decompressed)?;
        let kind = zip.kind()?;
        let inner = match kind {
            SheetKind::Xlsx => Inner::Xlsx(Box::new(XlsxSheet::open(&zip, limits)?)),
            SheetKind::Ods => Inner::Ods(Box::new(OdsSheet::open(&zip)?)),
        };
        Ok(SheetReader {
            kind,
            inner,
            notes: Vec::new(),
            limits: *limits,
        })
    }

    pub fn kind(&self) -> SheetKind {
        self.kind
    }

    /// The next row with a non-empty cell: its cells (trailing empty ones dropped) and its
    /// 1-based row number in the sheet; `None` at the end of the worksheet.
    pub fn next_row(&mut self, cells: &mut Vec<String>) -> Result<Option<u64>, IngestError> {
        match &mut self.inner {
            Inner::Xlsx(x) => x.next_row(cells, &mut self.notes, &self.limits),
            Inner::Ods(o) => o.next_row(cells, &mut self.notes, &self.limits),
        }
    }

    /// Notes gathered since the last call.
    pub fn drain_notes(&mut self) -> Vec<SheetNote> {
        std::mem::take(&mut self.notes)
    }
}

fn truncated_note(notes: &mut Vec<SheetNote>, row: u64, col: usize, len: usize, cap: usize) {
    notes.push(SheetNote {
        kind: "truncated-value",
        row,
        column: col,
        message: format!("{len} bytes; cut at {cap}"),
    });
}

fn formula_note(notes: &mut Vec<SheetNote>, row: u64, col: usize, formula: &str, cached: bool) {
    let mut f: String = formula.chars().take(200).collect();
    if f.len() < formula.len() {
        f.push('…');
    }
    notes.push(SheetNote {
        kind: "formula-cell",
        row,
        column: col,
        message: format!(
            "cell {}{row} holds the formula {f}; {}",
            column_letter(col),
            if cached {
                "its last computed value was read"
            } else {
                "it has no computed value, so the cell is empty"
            }
        ),
    });
}

// ---------------------------------------------------------------------------------------------
// XLSX

struct XlsxSheet {
    xml: Xml,
    part: String,
    buf: Vec<u8>,
    shared: Vec<String>,
    /// Shared strings cut at the field cap, with their full length.
    shared_cut: HashMap<usize, usize>,
    date_styles: Vec<bool>,
    date1904: bool,
    last_row: u64,
    done: bool,
}

/// `xl/` + a relationship target (relative to `xl/`, or absolute from the package root).
fn resolve_target(target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(abs) => abs.to_owned(),
        None => format!("xl/{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn required(zip: &Zip, name: &str) -> Result<EntryReader, IngestError> {
    zip.open(name)?.ok_or_else(|| {
        err(
            "not-a-spreadsheet",
            None,
            None,
            format!("the package has no {name}"),
        )
    })
}

/// Whether a number format shows a date.
fn is_date_format(id: u32, custom: &HashMap<u32, String>) -> bool {
    if let Some(code) = custom.get(&id) {
        return is_date_code(code);
    }
    // 14–17 and 22 are the built-in date (and date-time) formats; 27–36 and 50–58 the East
    // Asian ones. 18–21 and 45–47 are times of day.
    matches!(id, 14..=17 | 22 | 27..=36 | 50..=58)
}

fn is_date_code(code: &str) -> bool {
    let mut plain = String::new();
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                }
            }
            '\\' | '_' | '*' => {
                chars.next();
            }
            '[' => {
                let mut inner = String::new();
                for q in chars.by_ref() {
                    if q == ']' {
                        break;
                    }
                    inner.push(q);
                }
                let i = inner.to_ascii_lowercase();
                if !i.is_empty() && i.chars().all(|c| matches!(c, 'h' | 'm' | 's')) {
                    // Elapsed time: a duration, not a date.
                    return false;
                }
            }
            c => plain.push(c.to_ascii_lowercase()),
        }
    }
    plain.contains('d')
        || plain.contains('y')
        || (plain.contains('m') && !plain.contains('h') && !plain.contains('s'))
}

/// An Excel serial day number as an ISO date; `None` for times of day, the fictitious
/// 1900-02-29 and out-of-range values.
pub fn serial_to_iso(serial: f64, date1904: bool) -> Option<String> {
    if !serial.is_finite() || !(0.0..3_000_000.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let (base, offset) = if date1904 {
        (NaiveDate::from_ymd_opt(1904, 1, 1)?, days)
    } else if days == 0 || days == 60 {
        // Serial 0 is a time of day (Excel shows 1900-01-00).
        // Excel counts a 29 February 1900 that never was.
        return None;
    } else if days < 60 {
        (NaiveDate::from_ymd_opt(1899, 12, 31)?, days)
    } else {
        (NaiveDate::from_ymd_opt(1899, 12, 30)?, days)
    };
    let d = base.checked_add_signed(chrono::Duration::days(offset))?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// `B3` → (column 1, row 3).
fn parse_ref(r: &str) -> Option<(usize, Option<u64>)> {
    let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let mut col = 0usize;
    for b in r[..letters].bytes() {
        col = col * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1);
    }
    let row = r[letters..].parse().ok();
    Some((col - 1, row))
}

impl XlsxSheet {
    fn open(zip: &Zip, limits: &SheetLimits) -> Result<XlsxSheet, IngestError> {
        // The workbook: the first sheet's relationship id, and the date system.
        let part = "xl/workbook.xml";
        let mut x = xml(required(zip, part)?);
        let mut buf = Vec::new();
        let mut rid = None;
        let mut date1904 = false;
        loop {
            match next(&mut x, &mut buf, part, None)? {
                Event::Start(e) | Event::Empty(e) => match local(&e) {
                    "workbookPr" => {
                        date1904 = matches!(
                            attr(&e, "date1904", part, None)?.as_deref(),
                            Some("1" | "true")
                        );
                    }
                    "sheet" if rid.is_none() => {
                        rid = Some(attr(&e, "id", part, None)?.ok_or_else(|| {
                            source_err(part, None, "the first <sheet> has no r:id")
                        })?);
                    }
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
        }
        let rid = rid.ok_or_else(|| {
            err(
                "not-a-spreadsheet",
                None,
                None,
                "the workbook lists no worksheet",
            )
        })?;
        // The relationships: the sheet part, the shared strings and the styles.
        let part = "xl/_rels/workbook.xml.rels";
        let mut x = xml(required(zip, part)?);
        let mut sheet = None;
        let mut shared = "xl/sharedStrings.xml".to_owned();
        let mut styles = "xl/styles.xml".to_owned();
        loop {
            match next(&mut x, &mut buf, part, None)? {
                Event::Start(e) | Event::Empty(e) if local(&e) == "Relationship" => {
                    let id = attr(&e, "Id", part, None)?;
                    let ty = attr(&e, "Type", part, None)?.unwrap_or_default();
                    let Some(target) = attr(&e, "Target", part, None)? else {
                        continue;
                    };
                    if id.as_deref() == Some(rid.as_str()) {
                        sheet = Some(resolve_target(&target));
                    } else if ty.ends_with("/sharedStrings") {
                        shared = resolve_target(&target);
                    } else if ty.ends_with("/styles") {
                        styles = resolve_target(&target);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let sheet = sheet.ok_or_else(|| {
            source_err(
                part,
                None,
                format!("no relationship {rid} for the first worksheet"),
            )
        })?;
        let (shared, shared_cut) = read_shared(zip, &shared, limits)?;
        let date_styles = read_styles(zip, &styles)?;
        Ok(XlsxSheet {
            xml: xml(required(zip, &sheet)?),
            part: sheet,
            buf: Vec::new(),
            shared,
            shared_cut,
            date_styles,
            date1904,
            last_row: 0,
            done: false,
        })
    }

    fn next_row(
        &mut self,
        cells: &mut Vec<String>,
        notes: &mut Vec<SheetNote>,
        limits: &SheetLimits,
    ) -> Result<Option<u64>, IngestError> {
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.rows(cells, notes, limits, &mut buf);
        self.buf = buf;
        if r.is_err() {
            self.done = true;
        }
        r
    }

    fn rows(
        &mut self,
        cells: &mut Vec<String>,
        notes: &mut Vec<SheetNote>,
        limits: &SheetLimits,
        buf: &mut Vec<u8>,
    ) -> Result<Option<u64>, IngestError> {
        let part = self.part.clone();
        let mut row: Option<u64> = None;
        let mut cursor = 0usize;
        loop {
            let ev = next(&mut self.xml, buf, &part, row)?;
            let is_start = matches!(ev, Event::Start(_));
            match ev {
                Event::Start(e) | Event::Empty(e) if local(&e) == "row" => {
                    let n = match attr(&e, "r", &part, row)? {
                        Some(r) => r.trim().parse::<u64>().map_err(|_| {
                            source_err(
                                &part,
                                Some(self.last_row + 1),
                                format!("bad row number \"{r}\""),
                            )
                        })?,
                        None => self.last_row + 1,
                    };
                    if n > MAX_ROW {
                        return Err(err(
                            "too-large",
                            Some(n),
                            None,
                            format!("row {n}; at most {MAX_ROW} rows are read"),
                        ));
                    }
                    self.last_row = n;
                    cells.clear();
                    cursor = 0;
                    // An empty <row/> has no cells: nothing to yield.
                    row = is_start.then_some(n);
                }
                Event::Empty(e) if local(&e) == "c" => {
                    if let Some((col, _)) =
                        attr(&e, "r", &part, row)?.as_deref().and_then(parse_ref)
                    {
                        cursor = col;
                    }
                    cursor += 1;
                }
                Event::Start(e) if local(&e) == "c" => {
                    let rowno = row.unwrap_or(self.last_row);
                    let col = match attr(&e, "r", &part, row)?.as_deref().and_then(parse_ref) {
                        Some((c, _)) => c,
                        None => cursor,
                    };
                    cursor = col + 1;
                    let t = attr(&e, "t", &part, row)?.unwrap_or_else(|| "n".into());
                    let style: Option<usize> =
                        attr(&e, "s", &part, row)?.and_then(|s| s.trim().parse().ok());
                    let (value, cut, formula) = self.cell(&part, rowno, &t, style, limits, buf)?;
                    if let Some(len) = cut {
                        truncated_note(notes, rowno, col, len, limits.max_field_bytes);
                    }
                    if let Some(f) = formula {
                        formula_note(notes, rowno, col, &f, !value.is_empty());
                    }
                    place(cells, col, value, limits.max_columns, rowno)?;
                }
                Event::End(e) if e.local_name().into_inner() == "row" => {
                    if let Some(n) = row.take()
                        && !cells.is_empty()
                    {
                        return Ok(Some(n));
                    }
                }
                Event::End(e) if e.local_name().into_inner() == "sheetData" => {
                    self.done = true;
                    return Ok(None);
                }
                Event::Eof => {
                    self.done = true;
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    /// One `<c>`'s value (after its start tag), whether it was cut (full length), its formula.
    fn cell(
        &mut self,
        part: &str,
        row: u64,
        t: &str,
        style: Option<usize>,
        limits: &SheetLimits,
        buf: &mut Vec<u8>,
    ) -> Result<(String, Option<usize>, Option<String>), IngestError> {
        let cap = limits.max_field_bytes;
        let mut v = Capped::default();
        let mut inline = Capped::default();
        let mut formula: Option<Capped> = None;
        // Which text is being read: 1 = <v>, 2 = <is>…<t>, 3 = <f>.
        let mut target = 0u8;
        let mut in_is = false;
        let mut in_rph = false;
        loop {
            match next(&mut self.xml, buf, part, Some(row))? {
                Event::Start(e) => match local(&e) {
                    "v" => target = 1,
                    "is" => in_is = true,
                    "rPh" => in_rph = true,
                    "t" if in_is && !in_rph => target = 2,
                    "f" => {
                        formula = Some(Capped::default());
                        target = 3;
                    }
                    _ => {}
                },
                Event::Empty(e) if local(&e) == "f" && formula.is_none() => {
                    // A shared formula's later cells: `<f t="shared" si="0"/>`.
                    let mut f = Capped::default();
                    f.push("(shared formula)", 64);
                    formula = Some(f);
                }
                Event::End(e) => match e.local_name().into_inner() {
                    "c" => break,
                    "is" => in_is = false,
                    "rPh" => in_rph = false,
                    "v" | "t" | "f" => target = 0,
                    _ => {}
                },
                Event::Text(tx) => {
                    let s = tx.xml10_content();
                    self.push_text(target, &s, cap, &mut v, &mut inline, formula.as_mut());
                }
                Event::CData(cd) => {
                    let s = cd.xml10_content();
                    self.push_text(target, &s, cap, &mut v, &mut inline, formula.as_mut());
                }
                Event::GeneralRef(r) => {
                    let s = resolve_ref(&r, part, Some(row))?;
                    self.push_text(target, &s, cap, &mut v, &mut inline, formula.as_mut());
                }
                Event::Eof => {
                    return Err(source_err(
                        part,
                        Some(row),
                        "the worksheet ends inside a cell",
                    ));
                }
                _ => {}
            }
        }
        let formula = formula.map(|f| format!("={}", f.text));
        let cut = |c: &Capped| (c.len > c.text.len()).then_some(c.len);
        let value = match t {
            "s" => {
                let idx: usize = v.text.trim().parse().map_err(|_| {
                    source_err(
                        part,
                        Some(row),
                        format!("bad shared string index \"{}\"", v.text),
                    )
                })?;
                let s = self.shared.get(idx).ok_or_else(|| {
                    source_err(
                        part,
                        Some(row),
                        format!(
                            "shared string {idx} does not exist ({} are defined)",
                            self.shared.len()
                        ),
                    )
                })?;
                return Ok((s.clone(), self.shared_cut.get(&idx).copied(), formula));
            }
            "inlineStr" => return Ok((inline.text.clone(), cut(&inline), formula)),
            "b" => match v.text.trim() {
                "1" => "true".to_owned(),
                "0" => "false".to_owned(),
                other => other.to_owned(),
            },
            "d" => {
                let s = v.text.trim();
                match s
                    .get(..10)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                {
                    Some(d) => d.format("%Y-%m-%d").to_string(),
                    None => s.to_owned(),
                }
            }
            "n" => {
                let s = v.text.trim();
                let is_date = style
                    .and_then(|i| self.date_styles.get(i).copied())
                    .unwrap_or(false);
                match s.parse::<f64>().ok().filter(|_| is_date) {
                    Some(x) => serial_to_iso(x, self.date1904).unwrap_or_else(|| s.to_owned()),
                    None => s.to_owned(),
                }
            }
            // `str` (a formula's text), `e` (an error such as #DIV/0!), anything else.
            _ => return Ok((v.text.clone(), cut(&v), formula)),
        };
        Ok((value, cut(&v), formula))
    }

    fn push_text(
        &self,
        target: u8,
        s: &str,
        cap: usize,
        v: &mut Capped,
        inline: &mut Capped,
        formula: Option<&mut Capped>,
    ) {
        match target {
            1 => v.push(s, cap),
            2 => inline.push(s, cap),
            3 => {
                if let Some(f) = formula {
                    f.push(s, 4096);
                }
            }
            _ => {}
        }
    }
}

fn read_shared(
    zip: &Zip,
    part: &str,
    limits: &SheetLimits,
) -> Result<(Vec<String>, HashMap<usize, usize>), IngestError> {
    let mut out = Vec::new();
    let mut cut = HashMap::new();
    let Some(r) = zip.open(part)? else {
        return Ok((out, cut));
    };
    let mut x = xml(r);
    let mut buf = Vec::new();
    let mut cur = Capped::default();
    let (mut in_si, mut in_t, mut in_rph) = (false, false, false);
    let mut held = 0usize;
    loop {
        match next(&mut x, &mut buf, part, None)? {
            Event::Start(e) => match local(&e) {
                "si" => {
                    in_si = true;
                    cur.clear();
                }
                "rPh" => in_rph = true,
                "t" if in_si && !in_rph => in_t = true,
                _ => {}
            },
            Event::Empty(e) if local(&e) == "si" => out.push(String::new()),
            Event::End(e) => match e.local_name().into_inner() {
                "si" => {
                    in_si = false;
                    held += cur.text.len() + 32;
                    if held > limits.max_bytes {
                        return Err(err(
                            "too-large",
                            None,
                            None,
                            format!(
                                "{part}: the shared strings take over {} bytes, the most held in memory",
                                limits.max_bytes
                            ),
                        ));
                    }
                    if cur.len > cur.text.len() {
                        cut.insert(out.len(), cur.len);
                    }
                    out.push(std::mem::take(&mut cur.text));
                    cur.clear();
                }
                "rPh" => in_rph = false,
                "t" => in_t = false,
                _ => {}
            },
            Event::Text(t) if in_t => cur.push(&t.xml10_content(), limits.max_field_bytes),
            Event::CData(t) if in_t => cur.push(&t.xml10_content(), limits.max_field_bytes),
            Event::GeneralRef(r) if in_t => {
                cur.push(&resolve_ref(&r, part, None)?, limits.max_field_bytes);
            }
            Event::GeneralRef(r) => {
                resolve_ref(&r, part, None)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok((out, cut))
}

/// For each cell format (`cellXfs` index), whether it shows a date.
fn read_styles(zip: &Zip, part: &str) -> Result<Vec<bool>, IngestError> {
    let Some(r) = zip.open(part)? else {
        return Ok(Vec::new());
    };
    let mut x = xml(r);
    let mut buf = Vec::new();
    let mut custom: HashMap<u32, String> = HashMap::new();
    let mut xfs: Vec<u32> = Vec::new();
    let mut in_cell_xfs = false;
    loop {
        match next(&mut x, &mut buf, part, None)? {
            Event::Start(e) | Event::Empty(e) => match local(&e) {
                "numFmt" => {
                    let id = attr(&e, "numFmtId", part, None)?.and_then(|v| v.trim().parse().ok());
                    if let (Some(id), Some(code)) = (id, attr(&e, "formatCode", part, None)?) {
                        custom.insert(id, code);
                    }
                }
                "cellXfs" => in_cell_xfs = true,
                "xf" if in_cell_xfs => {
                    let id = attr(&e, "numFmtId", part, None)?
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    xfs.push(id);
                }
                _ => {}
            },
            Event::End(e) if e.local_name().into_inner() == "cellXfs" => in_cell_xfs = false,
            Event::GeneralRef(r) => {
                resolve_ref(&r, part, None)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(xfs.iter().map(|id| is_date_format(*id, &custom)).collect())
}

// ---------------------------------------------------------------------------------------------
// ODS

struct OdsSheet {
    xml: Xml,
    buf: Vec<u8>,
    /// Depth of `table:table` elements: 0 before the first, 1 inside it.
    depth: u32,
    /// The number of the next row.
    next_row: u64,
    /// A repeated non-empty row still to yield: cells, times left.
    repeat: Option<(Vec<String>, u64)>,
    done: bool,
}

const CONTENT: &str = "content.xml";

fn repeat_attr(e: &BytesStart<'_>, name: &str, row: u64) -> Result<u64, IngestError> {
    match attr(e, name, CONTENT, Some(row))? {
        None => Ok(1),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(|n| n.max(1))
            .map_err(|_| source_err(CONTENT, Some(row), format!("bad {name} \"{v}\""))),
    }
}

impl OdsSheet {
    fn open(zip: &Zip) -> Result<OdsSheet, IngestError> {
        Ok(OdsSheet {
            xml: xml(required(zip, CONTENT)?),
            buf: Vec::new(),
            depth: 0,
            next_row: 1,
            repeat: None,
            done: false,
        })
    }

    fn next_row(
        &mut self,
        cells: &mut Vec<String>,
        notes: &mut Vec<SheetNote>,
        limits: &SheetLimits,
    ) -> Result<Option<u64>, IngestError> {
        if let Some((row, left)) = &mut self.repeat {
            cells.clone_from(row);
            *left -= 1;
            if *left == 0 {
                self.repeat = None;
            }
            let n = self.next_row;
            self.next_row += 1;
            return Ok(Some(n));
        }
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.rows(cells, notes, limits, &mut buf);
        self.buf = buf;
        if r.is_err() {
            self.done = true;
        }
        r
    }

    fn rows(
        &mut self,
        cells: &mut Vec<String>,
        notes: &mut Vec<SheetNote>,
        limits: &SheetLimits,
        buf: &mut Vec<u8>,
    ) -> Result<Option<u64>, IngestError> {
        let mut in_row: Option<u64> = None;
        let mut col = 0usize;
        loop {
            let ev = next(&mut self.xml, buf, CONTENT, in_row.map(|_| self.next_row))?;
            let is_start = matches!(ev, Event::Start(_));
            match ev {
                Event::Start(e) if local(&e) == "table" => {
                    self.depth += 1;
                }
                Event::Empty(e) if local(&e) == "table" && self.depth == 0 => {
                    self.done = true;
                    return Ok(None);
                }
                Event::End(e) if e.local_name().into_inner() == "table" => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.done = true;
                        return Ok(None);
                    }
                }
                Event::Start(e) | Event::Empty(e)
                    if self.depth == 1 && local(&e) == "table-row" =>
                {
                    let repeat = repeat_attr(&e, "number-rows-repeated", self.next_row)?;
                    if !is_start {
                        self.next_row = self.next_row.saturating_add(repeat);
                        continue;
                    }
                    cells.clear();
                    col = 0;
                    in_row = Some(repeat);
                }
                Event::Start(e) | Event::Empty(e)
                    if self.depth == 1
                        && in_row.is_some()
                        && matches!(local(&e), "table-cell" | "covered-table-cell") =>
                {
                    let row = self.next_row;
                    let reps = repeat_attr(&e, "number-columns-repeated", row)?;
                    let ty = attr(&e, "value-type", CONTENT, Some(row))?.unwrap_or_default();
                    let pick = |name: &str| attr(&e, name, CONTENT, Some(row));
                    let typed = match ty.as_str() {
                        "float" | "percentage" | "currency" => pick("value")?,
                        "date" => pick("date-value")?.map(|d| match d.get(..10) {
                            Some(day) if d.len() > 10 && d.as_bytes()[10] == b'T' => day.to_owned(),
                            _ => d,
                        }),
                        "boolean" => pick("boolean-value")?,
                        "string" => pick("string-value")?,
                        _ => None,
                    };
                    let formula = pick("formula")?;
                    let text = if is_start {
                        Some(self.cell_text(row, limits.max_field_bytes, buf)?)
                    } else {
                        None
                    };
                    let (value, cut) = match (typed, text) {
                        (Some(v), _) => {
                            let mut c = Capped::default();
                            c.push(&v, limits.max_field_bytes);
                            (c.text, (c.len > limits.max_field_bytes).then_some(c.len))
                        }
                        (None, Some(c)) => {
                            let cut = (c.len > c.text.len()).then_some(c.len);
                            (c.text, cut)
                        }
                        (None, None) => (String::new(), None),
                    };
                    if value.is_empty() {
                        // Empty runs, however long, cost nothing unless a value follows.
                        col = col.saturating_add(usize::try_from(reps).unwrap_or(usize::MAX));
                    } else {
                        let reps = usize::try_from(reps).unwrap_or(usize::MAX);
                        if col.saturating_add(reps) > limits.max_columns {
                            return Err(err(
                                "too-many-columns",
                                Some(row),
                                Some(&column_letter(col.min(limits.max_columns))),
                                format!(
                                    "values up to column {}; at most {} columns are read",
                                    col.saturating_add(reps),
                                    limits.max_columns
                                ),
                            ));
                        }
                        if let Some(f) = &formula {
                            formula_note(notes, row, col, f, true);
                        }
                        if let Some(len) = cut {
                            truncated_note(notes, row, col, len, limits.max_field_bytes);
                        }
                        for k in 0..reps {
                            place(cells, col + k, value.clone(), limits.max_columns, row)?;
                        }
                        col += reps;
                    }
                    if value.is_empty()
                        && let Some(f) = &formula
                    {
                        formula_note(notes, row, col.saturating_sub(1), f, false);
                    }
                }
                Event::End(e) if self.depth == 1 && e.local_name().into_inner() == "table-row" => {
                    let Some(repeat) = in_row.take() else {
                        continue;
                    };
                    let n = self.next_row;
                    if cells.is_empty() {
                        self.next_row = n.saturating_add(repeat);
                        continue;
                    }
                    if n.saturating_add(repeat - 1) > MAX_ROW {
                        return Err(err(
                            "too-large",
                            Some(n),
                            None,
                            format!(
                                "rows up to {}; at most {MAX_ROW} rows are read",
                                n.saturating_add(repeat - 1)
                            ),
                        ));
                    }
                    self.next_row = n + 1;
                    if repeat > 1 {
                        self.repeat = Some((cells.clone(), repeat - 1));
                    }
                    return Ok(Some(n));
                }
                Event::GeneralRef(r) => {
                    resolve_ref(&r, CONTENT, Some(self.next_row))?;
                }
                Event::Eof => {
                    self.done = true;
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    /// The text of a cell (after its start tag): paragraphs joined by `\n`, `<text:s>` runs
    /// of spaces, tabs and line breaks; annotations skipped.
    fn cell_text(
        &mut self,
        row: u64,
        cap: usize,
        buf: &mut Vec<u8>,
    ) -> Result<Capped, IngestError> {
        let mut out = Capped::default();
        let mut depth = 0u32;
        let mut skip = 0u32;
        let mut paragraphs = 0u32;
        loop {
            match next(&mut self.xml, buf, CONTENT, Some(row))? {
                Event::Start(e) => {
                    depth += 1;
                    let name = local(&e);
                    if skip > 0 || name == "annotation" {
                        skip += 1;
                        continue;
                    }
                    if name == "p" || name == "h" {
                        if paragraphs > 0 {
                            out.push("\n", cap);
                        }
                        paragraphs += 1;
                    }
                }
                Event::Empty(e) => {
                    if skip > 0 {
                        continue;
                    }
                    match local(&e) {
                        "s" => {
                            let n = attr(&e, "c", CONTENT, Some(row))?
                                .and_then(|c| c.trim().parse::<usize>().ok())
                                .unwrap_or(1)
                                .min(cap.saturating_add(1));
                            out.push(&" ".repeat(n), cap);
                        }
                        "tab" => out.push("\t", cap),
                        "line-break" => out.push("\n", cap),
                        "p" | "h" => {
                            if paragraphs > 0 {
                                out.push("\n", cap);
                            }
                            paragraphs += 1;
                        }
                        _ => {}
                    }
                }
                Event::End(_) => {
                    if depth == 0 {
                        return Ok(out);
                    }
                    depth -= 1;
                    skip = skip.saturating_sub(1);
                }
                Event::Text(t) if skip == 0 && depth > 0 => {
                    out.push(&t.xml10_content(), cap);
                }
                Event::CData(t) if skip == 0 && depth > 0 => {
                    out.push(&t.xml10_content(), cap);
                }
                Event::GeneralRef(r) => {
                    let s = resolve_ref(&r, CONTENT, Some(row))?;
                    if skip == 0 && depth > 0 {
                        out.push(&s, cap);
                    }
                }
                Event::Eof => {
                    return Err(source_err(
                        CONTENT,
                        Some(row),
                        "the document ends inside a cell",
                    ));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A ZIP package built by hand: (name, content, deflate?).
    fn zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, deflate) in entries {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let body = if *deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).expect("deflating into a Vec cannot fail");
                e.finish().expect("deflating into a Vec cannot fail")
            } else {
                data.to_vec()
            };
            let method: u16 = if *deflate { 8 } else { 0 };
            let offset = out.len() as u32;
            let mut common = Vec::new();
            common.extend_from_slice(&20u16.to_le_bytes()); // version needed
            common.extend_from_slice(&0u16.to_le_bytes()); // flags
            common.extend_from_slice(&method.to_le_bytes());
            common.extend_from_slice(&[0; 4]); // time, date
            common.extend_from_slice(&crc.sum().to_le_bytes());
            common.extend_from_slice(&(body.len() as u32).to_le_bytes());
            common.extend_from_slice(&(data.len() as u32).to_le_bytes());
            common.extend_from_slice(&(name.len() as u16).to_le_bytes());
            common.extend_from_slice(&0u16.to_le_bytes()); // extra
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&common);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes()); // version made by
            central.extend_from_slice(&common);
            central.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
            central.extend_from_slice(&[0; 4]); // external attributes
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let n = entries.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    const WORKBOOK: &[u8] = br#"<?xml version="1.0"?><workbook xmlns:r="urn:r"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const RELS: &[u8] = br#"<Relationships><Relationship Id="rId1" Type="urn:x/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

    fn xlsx(sheet: &str) -> Vec<u8> {
        xlsx_with(sheet, None)
    }

    fn xlsx_with(sheet: &str, shared: Option<&str>) -> Vec<u8> {
        let mut e: Vec<(&str, &[u8], bool)> = vec![
            ("xl/workbook.xml", WORKBOOK, true),
            ("xl/_rels/workbook.xml.rels", RELS, false),
            ("xl/worksheets/sheet1.xml", sheet.as_bytes(), true),
        ];
        if let Some(s) = shared {
            e.push(("xl/sharedStrings.xml", s.as_bytes(), true));
        }
        zip(&e)
    }

    fn ods(content: &str) -> Vec<u8> {
        zip(&[
            ("mimetype", ODS_MIME.as_bytes(), false),
            ("content.xml", content.as_bytes(), true),
        ])
    }

    fn read_all(
        bytes: Vec<u8>,
        limits: &SheetLimits,
    ) -> Result<Vec<(u64, Vec<String>)>, IngestError> {
        let mut r = SheetReader::open(bytes, limits)?;
        let mut out = Vec::new();
        let mut cells = Vec::new();
        while let Some(n) = r.next_row(&mut cells)? {
            out.push((n, cells.clone()));
        }
        Ok(out)
    }

    fn rows(bytes: Vec<u8>) -> Vec<(u64, Vec<String>)> {
        read_all(bytes, &SheetLimits::default()).expect("the test package is readable")
    }

    fn fails(bytes: Vec<u8>, limits: &SheetLimits) -> IngestError {
        match read_all(bytes, limits) {
            Ok(r) => panic!("expected an error, read {r:?}"),
            Err(e) => e,
        }
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn xlsx_gaps_missing_rows_shared_and_inline_strings() {
        let shared = r#"<sst><si><t>nome</t></si><si><r><t>Perch</t></r><r><t>é</t></r><rPh><t>PHONETIC</t></rPh></si><si/></sst>"#;
        let sheet = r#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>x &amp; y &#233;</t></is></c></row>
            <row r="2"/>
            <row r="4"><c r="B4" t="b"><v>1</v></c><c r="C4" t="s"><v>1</v></c><c r="D4" s="0"/></row>
            <row><c t="n"><v>3.14</v></c><c t="e"><v>#DIV/0!</v></c></row>
        </sheetData></worksheet>"#;
        assert_eq!(
            rows(xlsx_with(sheet, Some(shared))),
            vec![
                (1, strs(&["nome", "", "x & y é"])),
                (4, strs(&["", "true", "Perché"])),
                (5, strs(&["3.14", "#DIV/0!"])),
            ]
        );
    }

    #[test]
    fn a_doctype_is_refused() {
        let sheet = r#"<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY boom "BOOM">]><worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>&boom;</t></is></c></row></sheetData></worksheet>"#;
        let e = fails(xlsx(sheet), &SheetLimits::default());
        assert_eq!(e.kind, "source-error");
        assert!(e.message.contains("DTDs are not accepted"), "{e}");
    }

    #[test]
    fn an_undeclared_entity_is_refused() {
        let sheet = r#"<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>&boom;</t></is></c></row></sheetData></worksheet>"#;
        let e = fails(xlsx(sheet), &SheetLimits::default());
        assert_eq!(e.kind, "source-error");
        assert!(e.message.contains("undeclared entity &boom;"), "{e}");
    }

    #[test]
    fn a_truncated_package_is_a_zip_error() {
        let mut b = xlsx("<worksheet><sheetData/></worksheet>");
        b.truncate(b.len() / 2);
        let e = fails(b, &SheetLimits::default());
        assert_eq!(e.kind, "zip-error");
        assert!(e.message.contains("truncated"), "{e}");
    }

    #[test]
    fn a_high_ratio_entry_is_refused_before_inflating() {
        let zeros = vec![b' '; 8 * 1024 * 1024];
        let b = zip(&[
            ("xl/workbook.xml", &zeros, true),
            ("xl/_rels/workbook.xml.rels", RELS, false),
        ]);
        let e = fails(b, &SheetLimits::default());
        assert_eq!(e.kind, "too-large");
        assert!(e.message.contains("zip bomb"), "{e}");
    }

    #[test]
    fn the_total_inflated_bytes_are_capped() {
        let mut sheet = String::from("<worksheet><sheetData>");
        for i in 1..=200 {
            sheet.push_str(&format!("<row r=\"{i}\"><c><v>{i}</v></c></row>"));
        }
        sheet.push_str("</sheetData></worksheet>");
        // Each part is under the cap; together they are over it.
        let mut shared = String::from("<sst>");
        for _ in 0..100 {
            shared.push_str("<si><t>testo condiviso</t></si>");
        }
        shared.push_str("</sst>");
        let limits = SheetLimits {
            max_decompressed: 9_000,
            ..SheetLimits::default()
        };
        let e = fails(xlsx_with(&sheet, Some(&shared)), &limits);
        assert_eq!(e.kind, "too-large");
        assert!(e.message.contains("inflates past 9000 bytes"), "{e}");
    }

    #[test]
    fn an_entry_larger_than_declared_is_refused() {
        let mut b = xlsx(
            "<worksheet><sheetData><row r=\"1\"><c><v>1</v></c></row></sheetData></worksheet>",
        );
        // Lower the declared size of the last entry (the sheet) in the central directory.
        let cd = b
            .windows(4)
            .rposition(|w| w == 0x0201_4b50u32.to_le_bytes())
            .expect("a central directory entry");
        b[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
        let e = fails(b, &SheetLimits::default());
        assert_eq!(e.kind, "zip-error");
        assert!(e.message.contains("declares"), "{e}");
    }

    #[test]
    fn encrypted_entries_are_refused() {
        let mut b = xlsx("<worksheet/>");
        let cd = b
            .windows(4)
            .position(|w| w == 0x0201_4b50u32.to_le_bytes())
            .expect("a central directory entry");
        b[cd + 8] |= 1;
        let e = fails(b, &SheetLimits::default());
        assert_eq!(e.kind, "zip-error");
        assert!(e.message.contains("encrypted"), "{e}");
    }

    #[test]
    fn not_a_zip_and_a_zip_without_workbook_are_not_spreadsheets() {
        let e = fails(b"a,b\n1,2\n".to_vec(), &SheetLimits::default());
        assert_eq!(e.kind, "not-a-spreadsheet");
        assert_eq!(sniff_kind(b"a,b\n1,2\n"), None);
        let b = zip(&[("hello.txt", b"ciao", false)]);
        assert_eq!(sniff_kind(&b), None);
        let e = fails(b, &SheetLimits::default());
        assert_eq!(e.kind, "not-a-spreadsheet");
        assert!(e.message.contains("xl/workbook.xml"), "{e}");
    }

    #[test]
    fn kinds_are_sniffed() {
        assert_eq!(sniff_kind(&xlsx("<worksheet/>")), Some(SheetKind::Xlsx));
        assert_eq!(sniff_kind(&ods("<x/>")), Some(SheetKind::Ods));
        let odt = zip(&[(
            "mimetype",
            b"application/vnd.oasis.opendocument.text",
            false,
        )]);
        assert_eq!(sniff_kind(&odt), None);
    }

    #[test]
    fn ods_repeats_are_bounded_and_text_runs_kept() {
        let content = r#"<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body><office:spreadsheet>
            <table:table table:name="A">
              <table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="3"/>b</text:p><text:p>c<text:tab/>d</text:p><office:annotation><text:p>nota</text:p></office:annotation></table:table-cell><table:table-cell table:number-columns-repeated="16000"/></table:table-row>
              <table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>
              <table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="2"/><table:table-cell office:value-type="float" office:value="1.5" table:number-columns-repeated="2"><text:p>1,5</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16380"/></table:table-row>
              <table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>
            </table:table>
            <table:table table:name="B"><table:table-row><table:table-cell office:value-type="string"><text:p>no</text:p></table:table-cell></table:table-row></table:table>
            </office:spreadsheet></office:body></office:document-content>"#;
        assert_eq!(
            rows(ods(content)),
            vec![
                (1, strs(&["a   b\nc\td"])),
                (1_000_002, strs(&["", "", "1.5", "1.5"])),
                (1_000_003, strs(&["", "", "1.5", "1.5"])),
            ]
        );
    }

    #[test]
    fn a_value_beyond_the_column_cap_is_an_error() {
        let content = r#"<r xmlns:table="t" xmlns:office="o"><table:table><table:table-row><table:table-cell table:number-columns-repeated="5000"/><table:table-cell office:value-type="float" office:value="1"/></table:table-row></table:table></r>"#;
        let e = fails(ods(content), &SheetLimits::default());
        assert_eq!(e.kind, "too-many-columns");
        assert_eq!(e.row, Some(1));
    }

    #[test]
    fn long_cells_are_cut_and_noted() {
        let sheet = r#"<worksheet><sheetData><row r="1"><c r="B1" t="inlineStr"><is><t>abcdefgh</t></is></c></row></sheetData></worksheet>"#;
        let limits = SheetLimits {
            max_field_bytes: 4,
            ..SheetLimits::default()
        };
        let mut r = SheetReader::open(xlsx(sheet), &limits).expect("readable");
        let mut cells = Vec::new();
        assert_eq!(r.next_row(&mut cells).expect("a row"), Some(1));
        assert_eq!(cells, strs(&["", "abcd"]));
        let notes = r.drain_notes();
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].kind, notes[0].row, notes[0].column),
            ("truncated-value", 1, 1)
        );
        assert!(notes[0].message.starts_with("8 bytes"), "{notes:?}");
    }

    #[test]
    fn serials_follow_excel_including_its_1900_leap_day() {
        assert_eq!(serial_to_iso(1.0, false).as_deref(), Some("1900-01-01"));
        assert_eq!(serial_to_iso(59.0, false).as_deref(), Some("1900-02-28"));
        assert_eq!(serial_to_iso(60.0, false), None);
        assert_eq!(serial_to_iso(61.0, false).as_deref(), Some("1900-03-01"));
        assert_eq!(
            serial_to_iso(45657.75, false).as_deref(),
            Some("2024-12-31")
        );
        assert_eq!(serial_to_iso(0.5, false), None);
        assert_eq!(serial_to_iso(0.0, true).as_deref(), Some("1904-01-01"));
        assert_eq!(serial_to_iso(-1.0, false), None);
    }

    #[test]
    fn date_formats_are_told_from_times_and_numbers() {
        assert!(is_date_code("yyyy-mm-dd"));
        assert!(is_date_code("d mmm yyyy"));
        assert!(is_date_code("[$-410]mmmm"));
        assert!(is_date_code("dd/mm/yyyy hh:mm"));
        assert!(!is_date_code("h:mm"));
        assert!(!is_date_code("[h]:mm:ss"));
        assert!(!is_date_code("#,##0.00 \"days\""));
        assert!(!is_date_code("0.00%"));
        let none = HashMap::new();
        assert!(is_date_format(14, &none));
        assert!(is_date_format(22, &none));
        assert!(!is_date_format(20, &none));
        assert!(!is_date_format(2, &none));
    }

    #[test]
    fn column_letters_and_references() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(parse_ref("AB12"), Some((27, Some(12))));
        assert_eq!(parse_ref("12"), None);
    }
}
