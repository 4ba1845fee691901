//! Batch uploads: splitting a streamed body into records (NDJSON lines, or CSV records whose
//! quoted fields may span lines), turning a CSV record into the `NewMessage` JSON it stands for,
//! and checking a message against its service exactly as a single submission is checked.

use serde_json::{Map, Value, json};

use crate::content::{MessageContent, NewMessage, Payee};
use crate::model::Service;

/// Largest record accepted: a single submission's body may be 256 KiB (`POST /messages`), and
/// a line holds the same message plus its `fiscal_code` (or CSV quoting), so 4 KiB more.
pub const MAX_RECORD_BYTES: usize = 260 * 1024;

/// The CSV header Sportello documents; `fiscal_code`, `subject` and `markdown` are required,
/// the others may be absent or empty.
pub const CSV_COLUMNS: [&str; 10] = [
    "fiscal_code",
    "subject",
    "markdown",
    "due_date",
    "amount",
    "notice_number",
    "invalid_after_due_date",
    "payee_fiscal_code",
    "time_to_live",
    "feature_level_type",
];

/// The sealing context of a batch line: binds a sealed line to its batch and line number.
pub fn row_context(batch_id: &kernel::values::BatchId, line: i64) -> String {
    format!("batch:{batch_id}:{line}")
}

/// Upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ndjson" => Some(Self::Ndjson),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Splits a byte stream into records: at `\n` (a trailing `\r` is dropped), except inside a
/// double-quoted CSV field. Blank records are skipped but keep their line numbers.
///
/// A CSV quote opens a field only at the start of the field (RFC 4180), as [`csv_fields`] reads
/// it; a quote inside an unquoted field is text. A record whose quoted field spans lines but is
/// never closed properly (end of the upload, a closing quote not followed by a comma or the end
/// of the line, or more than [`MAX_RECORD_BYTES`] inside the quotes) would swallow the lines after
/// it: instead its first line is reported with [`Defect::UnclosedQuote`] and splitting resumes
/// at the next line, so every line gets its own outcome.
#[derive(Debug)]
pub struct Splitter {
    format: Format,
    buf: Vec<u8>,
    state: Csv,
    /// The current record has a newline inside quotes.
    spans_lines: bool,
    line: i64,
    start_line: i64,
    /// Bytes to split again (after an unclosed quote), before the rest of the input.
    replay: std::collections::VecDeque<u8>,
}

/// Where the CSV scanner is within a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csv {
    /// Outside quotes; `true` at the start of a field.
    Unquoted(bool),
    Quoted,
    /// A quote inside a quoted field: the end of the field, or the first half of `""`.
    QuoteInQuoted,
}

/// What is wrong with a record as split, before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// Longer than [`MAX_RECORD_BYTES`] (its bytes are truncated).
    TooLong,
    /// A quoted field opened on this line is not closed (its bytes are this line only).
    UnclosedQuote,
}

impl Defect {
    /// The reason a line with this defect is rejected, naming the line.
    pub fn reason(self, line: i64) -> String {
        match self {
            Self::TooLong => format!(
                "line {line}: the line is longer than {MAX_RECORD_BYTES} bytes, the most a \
                 line may hold"
            ),
            Self::UnclosedQuote => format!(
                "line {line}: a quoted field opened on this line is not closed (a closing quote \
                 must be followed by a comma or the end of the line); the next line is read as \
                 a new record"
            ),
        }
    }
}

/// A record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: i64,
    pub bytes: Vec<u8>,
    pub defect: Option<Defect>,
}

impl Splitter {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            buf: Vec::new(),
            state: Csv::Unquoted(true),
            spans_lines: false,
            line: 1,
            start_line: 1,
            replay: std::collections::VecDeque::new(),
        }
    }

    /// Feeds bytes; returns the records completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        let mut input = bytes.iter().copied();
        loop {
            let b = match self.replay.pop_front() {
                Some(b) => b,
                None => match input.next() {
                    Some(b) => b,
                    None => break,
                },
            };
            self.step(b, &mut out);
        }
        out
    }

    /// The records left when the body ends (the last one may lack its newline).
    pub fn finish(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        loop {
            out.extend(self.push(&[]));
            if self.spans_lines && matches!(self.state, Csv::Quoted) {
                // The upload ended inside quotes opened on an earlier line.
                self.resync(&mut out);
                continue;
            }
            out.extend(self.take(None));
            return out;
        }
    }

    fn step(&mut self, b: u8, out: &mut Vec<Record>) {
        if self.format == Format::Ndjson {
            if b == b'\n' {
                self.end_record(out);
            } else {
                self.keep(b);
            }
            return;
        }
        if b == b'\n' && !self.spans_lines && self.buf.len() > MAX_RECORD_BYTES {
            // Bytes of this over-long record were dropped, so quotes can no longer be followed:
            // it ends with its line.
            self.end_record(out);
            return;
        }
        match (self.state, b) {
            (Csv::Unquoted(_), b'\n') | (Csv::QuoteInQuoted, b'\n') => self.end_record(out),
            (Csv::Unquoted(true), b'"') => {
                self.state = Csv::Quoted;
                self.keep(b);
            }
            (Csv::Unquoted(_), b',') | (Csv::QuoteInQuoted, b',') => {
                self.state = Csv::Unquoted(true);
                self.keep(b);
            }
            (Csv::Unquoted(_), _) => {
                self.state = Csv::Unquoted(false);
                self.keep(b);
            }
            (Csv::Quoted, b'"') => {
                self.state = Csv::QuoteInQuoted;
                self.keep(b);
            }
            (Csv::Quoted, _) => {
                if b == b'\n' {
                    self.line += 1;
                    self.spans_lines = true;
                }
                self.keep(b);
                if self.spans_lines && self.buf.len() > MAX_RECORD_BYTES {
                    self.resync(out);
                }
            }
            (Csv::QuoteInQuoted, b'"') => {
                self.state = Csv::Quoted;
                self.keep(b);
            }
            (Csv::QuoteInQuoted, b'\r') => {
                // `"\r\n` ends the record; `take` drops the `\r`.
                self.state = Csv::Unquoted(false);
                self.keep(b);
            }
            (Csv::QuoteInQuoted, _) => {
                self.keep(b);
                if self.spans_lines {
                    self.resync(out);
                } else {
                    // One line: `csv_fields` reports the stray quote.
                    self.state = Csv::Unquoted(false);
                }
            }
        }
    }

    fn keep(&mut self, b: u8) {
        if self.buf.len() <= MAX_RECORD_BYTES {
            self.buf.push(b);
        }
    }

    fn end_record(&mut self, out: &mut Vec<Record>) {
        self.line += 1;
        out.extend(self.take(None));
        self.start_line = self.line;
    }

    /// Reports the current record's first line as an unclosed quote and splits again from the
    /// line after it.
    fn resync(&mut self, out: &mut Vec<Record>) {
        let buf = std::mem::take(&mut self.buf);
        let cut = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
        let (first, rest) = buf.split_at(cut);
        self.buf = first.to_vec();
        out.extend(self.take(Some(Defect::UnclosedQuote)));
        let rest = rest.get(1..).unwrap_or_default();
        for &b in rest.iter().rev() {
            self.replay.push_front(b);
        }
        self.start_line += 1;
        self.line = self.start_line;
    }

    fn take(&mut self, defect: Option<Defect>) -> Option<Record> {
        let mut bytes = std::mem::take(&mut self.buf);
        self.state = Csv::Unquoted(true);
        self.spans_lines = false;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if defect.is_none() && bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let defect = defect.or((bytes.len() > MAX_RECORD_BYTES).then_some(Defect::TooLong));
        bytes.truncate(MAX_RECORD_BYTES);
        Some(Record {
            line: self.start_line,
            bytes,
            defect,
        })
    }
}

/// The fields of one CSV record (RFC 4180: comma separated, `""` inside quotes is a quote).
pub fn csv_fields(record: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = record.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err(
                            "a quoted field must end at a comma or the end of the record".into(),
                        );
                    }
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Checks a CSV header: the documented columns, in any order, with the required ones present.
pub fn csv_header(record: &str) -> Result<Vec<String>, String> {
    let names = csv_fields(record)?;
    for n in &names {
        if !CSV_COLUMNS.contains(&n.trim()) {
            return Err(format!(
                "unknown column `{}`; the columns are {}",
                n.trim(),
                CSV_COLUMNS.join(", ")
            ));
        }
    }
    for (i, n) in names.iter().enumerate() {
        if names[..i].iter().any(|m| m.trim() == n.trim()) {
            return Err(format!("the column `{}` appears more than once", n.trim()));
        }
    }
    for required in ["fiscal_code", "subject", "markdown"] {
        if !names.iter().any(|n| n.trim() == required) {
            return Err(format!("the header lacks the required column `{required}`"));
        }
    }
    Ok(names.into_iter().map(|n| n.trim().to_owned()).collect())
}

/// The `NewMessage` JSON a CSV record stands for.
pub fn csv_to_json(header: &[String], record: &str) -> Result<Value, String> {
    let fields = csv_fields(record)?;
    if fields.len() != header.len() {
        return Err(format!(
            "{} fields, but the header has {} columns",
            fields.len(),
            header.len()
        ));
    }
    let get = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .map(|i| fields[i].as_str())
            .filter(|v| !v.is_empty())
    };
    let number = |name: &str| -> Result<Option<Value>, String> {
        get(name)
            .map(|v| {
                v.parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("{name} must be an integer"))
            })
            .transpose()
    };
    let mut content = Map::new();
    for name in ["subject", "markdown", "due_date"] {
        if let Some(v) = get(name) {
            content.insert(name.into(), json!(v));
        }
    }
    if get("amount").is_some() || get("notice_number").is_some() {
        let mut payment = Map::new();
        if let Some(a) = number("amount")? {
            payment.insert("amount".into(), a);
        }
        if let Some(n) = get("notice_number") {
            payment.insert("notice_number".into(), json!(n));
        }
        if let Some(flag) = get("invalid_after_due_date") {
            payment.insert(
                "invalid_after_due_date".into(),
                json!(matches!(flag, "true" | "TRUE" | "1")),
            );
        }
        if let Some(p) = get("payee_fiscal_code") {
            payment.insert("payee".into(), json!({ "fiscal_code": p }));
        }
        content.insert("payment_data".into(), Value::Object(payment));
    }
    let mut message = Map::new();
    if let Some(fc) = get("fiscal_code") {
        message.insert("fiscal_code".into(), json!(fc));
    }
    if let Some(ttl) = number("time_to_live")? {
        message.insert("time_to_live".into(), ttl);
    }
    if let Some(level) = get("feature_level_type") {
        message.insert("feature_level_type".into(), json!(level));
    }
    message.insert("content".into(), Value::Object(content));
    Ok(Value::Object(message))
}

/// Why a message cannot be sent by a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRefusal {
    /// Draft service, recipient neither authorized nor the sandbox code.
    RecipientForbidden,
    /// Payment above the service's maximum: `(amount, maximum)`.
    AmountTooHigh(u64, u64),
}

impl std::fmt::Display for ServiceRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RecipientForbidden => f.write_str(
                "recipient forbidden: the service is not published and the recipient is not \
                 among its authorized recipients",
            ),
            Self::AmountTooHigh(a, m) => write!(
                f,
                "The requested amount ({a} cents) exceeds the maximum allowed for this service \
                 ({m} cents)"
            ),
        }
    }
}

/// Applies the service's rules to a validated message: recipient, maximum amount, and the
/// payee default (the service's organization). Returns the content to store.
pub fn for_service(
    service: &Service,
    message: &NewMessage,
) -> Result<MessageContent, ServiceRefusal> {
    if !service.may_address(&message.fiscal_code) {
        return Err(ServiceRefusal::RecipientForbidden);
    }
    let mut content = message.content.clone();
    if let Some(payment) = content.payment_data.as_mut() {
        let amount = payment.amount.get();
        if amount > service.max_allowed_payment_amount {
            return Err(ServiceRefusal::AmountTooHigh(
                amount,
                service.max_allowed_payment_amount,
            ));
        }
        if payment.payee.is_none() {
            payment.payee = Some(Payee {
                fiscal_code: service.organization_fiscal_code.clone(),
            });
        }
    }
    Ok(content)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_splits_at_newlines_keeping_line_numbers_and_skipping_blanks() {
        let mut s = Splitter::new(Format::Ndjson);
        let mut out = s.push(b"{\"a\":1}\r\n\n{\"b\"");
        out.extend(s.push(b":2}\n{\"c\":3}"));
        out.extend(s.finish());
        let lines: Vec<(i64, String)> = out
            .iter()
            .map(|r| (r.line, String::from_utf8(r.bytes.clone()).unwrap()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "{\"a\":1}".into()),
                (3, "{\"b\":2}".into()),
                (4, "{\"c\":3}".into())
            ]
        );
    }

    #[test]
    fn a_quoted_csv_field_may_span_lines_and_escape_quotes() {
        let mut s = Splitter::new(Format::Csv);
        let out = s.push(b"fiscal_code,subject,markdown\nA,\"Oggetto \"\"citato\"\"\",\"riga 1\nriga 2\"\nB,x,y\n");
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].line, 2);
        assert_eq!(out[2].line, 4);
        let f = csv_fields(std::str::from_utf8(&out[1].bytes).unwrap()).unwrap();
        assert_eq!(f, ["A", "Oggetto \"citato\"", "riga 1\nriga 2"]);
    }

    #[test]
    fn a_csv_record_becomes_the_new_message_json() {
        let header =
            csv_header("fiscal_code,subject,markdown,amount,notice_number,due_date").unwrap();
        let v = csv_to_json(
            &header,
            "AAAAAA00A00A000A,Oggetto,Testo,123,301000000000000144,",
        )
        .unwrap();
        assert_eq!(v["fiscal_code"], "AAAAAA00A00A000A");
        assert_eq!(v["content"]["payment_data"]["amount"], 123);
        assert!(v["content"].get("due_date").is_none());
        assert!(
            csv_to_json(&header, "a,b")
                .unwrap_err()
                .contains("2 fields")
        );
        assert!(
            csv_header("fiscal_code,subject")
                .unwrap_err()
                .contains("markdown")
        );
        assert!(
            csv_header("fiscal_code,subject,markdown,color")
                .unwrap_err()
                .contains("color")
        );
    }

    #[test]
    fn oversized_records_are_flagged_not_kept_whole() {
        let mut s = Splitter::new(Format::Ndjson);
        let big = vec![b'x'; MAX_RECORD_BYTES + 10];
        let mut out = s.push(&big);
        out.extend(s.push(b"\n"));
        assert_eq!(out[0].defect, Some(Defect::TooLong));
        assert_eq!(out[0].bytes.len(), MAX_RECORD_BYTES);
    }

    fn split_csv(input: &[u8]) -> Vec<(i64, String, Option<Defect>)> {
        let mut s = Splitter::new(Format::Csv);
        // Byte by byte, to show the result does not depend on how the body is chunked.
        let mut out: Vec<Record> = input.iter().flat_map(|b| s.push(&[*b])).collect();
        out.extend(s.finish());
        out.into_iter()
            .map(|r| (r.line, String::from_utf8(r.bytes).unwrap(), r.defect))
            .collect()
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_line_and_the_next_lines_are_split_again() {
        let got = split_csv(b"h\nA,\"open,x\nB,y\nC,\"q\",z\nD,w\n");
        assert_eq!(
            got,
            [
                (1, "h".into(), None),
                (2, "A,\"open,x".into(), Some(Defect::UnclosedQuote)),
                (3, "B,y".into(), None),
                (4, "C,\"q\",z".into(), None),
                (5, "D,w".into(), None),
            ]
        );
        // At the end of the upload.
        let got = split_csv(b"h\r\nA,\"open\r\nB,y\r\n");
        assert_eq!(
            got,
            [
                (1, "h".into(), None),
                (2, "A,\"open".into(), Some(Defect::UnclosedQuote)),
                (3, "B,y".into(), None),
            ]
        );
        assert!(Defect::UnclosedQuote.reason(2).contains("line 2"));
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_text_and_does_not_span_lines() {
        let got = split_csv(b"A,Oggetto \"citato\" qui,x\nB,y\n");
        assert_eq!(
            got,
            [
                (1, "A,Oggetto \"citato\" qui,x".into(), None),
                (2, "B,y".into(), None)
            ]
        );
        let f = csv_fields("A,Oggetto \"citato\" qui,x").unwrap();
        assert_eq!(f[1], "Oggetto \"citato\" qui");
    }

    #[test]
    fn a_quoted_field_longer_than_the_limit_is_cut_at_its_first_line() {
        let mut input = b"A,\"x\n".to_vec();
        input.extend(vec![b'y'; MAX_RECORD_BYTES + 5]);
        input.extend(b"\nB,z\n");
        let mut s = Splitter::new(Format::Csv);
        let mut out = s.push(&input);
        out.extend(s.finish());
        let got: Vec<(i64, Option<Defect>)> = out.iter().map(|r| (r.line, r.defect)).collect();
        assert_eq!(
            got,
            [
                (1, Some(Defect::UnclosedQuote)),
                (2, Some(Defect::TooLong)),
                (3, None)
            ]
        );
    }

    #[test]
    fn a_csv_header_may_not_repeat_a_column() {
        let e = csv_header("fiscal_code,subject,markdown, subject").unwrap_err();
        assert!(e.contains("`subject`"), "{e}");
    }
}
