//! Batch uploads: splitting a streamed body into records (NDJSON lines, or CSV records whose
//! quoted fields may span lines), turning a CSV record into the `NewMessage` JSON it stands for,
//! and checking a message against its service exactly as a single submission is checked.

use serde_json::{Map, Value, json};

use crate::content::{MessageContent, NewMessage, Payee};
use crate::model::Service;

/// Largest record accepted (a message is at most ~10 KB of markdown).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

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
pub fn row_context(batch_id: &str, line: i64) -> String {
    format!("batch:{batch_id}:{line}")
}

/// Upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug)]
pub struct Splitter {
    format: Format,
    buf: Vec<u8>,
    in_quotes: bool,
    line: i64,
    start_line: i64,
}

/// A record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: i64,
    pub bytes: Vec<u8>,
    /// Longer than [`MAX_RECORD_BYTES`] (bytes truncated).
    pub too_long: bool,
}

impl Splitter {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            buf: Vec::new(),
            in_quotes: false,
            line: 1,
            start_line: 1,
        }
    }

    /// Feeds bytes; returns the records completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'"' && self.format == Format::Csv {
                self.in_quotes = !self.in_quotes;
            }
            if b == b'\n' {
                self.line += 1;
                if !self.in_quotes {
                    if let Some(r) = self.take() {
                        out.push(r);
                    }
                    self.start_line = self.line;
                    continue;
                }
            }
            if self.buf.len() <= MAX_RECORD_BYTES {
                self.buf.push(b);
            }
        }
        out
    }

    /// The last record, if the body did not end with a newline.
    pub fn finish(&mut self) -> Option<Record> {
        self.take()
    }

    fn take(&mut self) -> Option<Record> {
        let mut bytes = std::mem::take(&mut self.buf);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let too_long = bytes.len() > MAX_RECORD_BYTES;
        bytes.truncate(MAX_RECORD_BYTES);
        Some(Record {
            line: self.start_line,
            bytes,
            too_long,
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
        assert!(out[0].too_long);
        assert_eq!(out[0].bytes.len(), MAX_RECORD_BYTES);
    }
}
