//! A minimal PDF file writer: numbered objects, Flate streams, the cross-reference table.

use std::fmt::Write as _;

/// Deflates `data` into a zlib stream, as `/FlateDecode` reads it, at `level` (1 fast … 10 small).
pub(crate) fn deflate(data: &[u8], level: u8) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, level)
}

/// For what is written once per process (font subsets): the smallest output.
pub(crate) const ONCE: u8 = 10;
/// For what is written per notice (page contents).
pub(crate) const PER_NOTICE: u8 = 1;

/// A complete stream object `num 0 obj << /Length … dict >> stream … endstream endobj`.
pub(crate) fn stream_object(num: u32, dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + dict.len() + 64);
    out.extend_from_slice(
        format!("{num} 0 obj\n<< /Length {} {dict} >>\nstream\n", data.len()).as_bytes(),
    );
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    out
}

/// A PDF file being written object by object.
pub(crate) struct PdfWriter {
    buf: Vec<u8>,
    offsets: Vec<(u32, usize)>,
}

impl PdfWriter {
    pub(crate) fn new(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        PdfWriter {
            buf,
            offsets: Vec::new(),
        }
    }

    /// Appends an already serialised object numbered `num`.
    pub(crate) fn raw(&mut self, num: u32, object: &[u8]) {
        self.offsets.push((num, self.buf.len()));
        self.buf.extend_from_slice(object);
    }

    /// Appends a dictionary (or other non-stream) object.
    pub(crate) fn object(&mut self, num: u32, body: &str) {
        self.offsets.push((num, self.buf.len()));
        let _ = write!(Appender(&mut self.buf), "{num} 0 obj\n{body}\nendobj\n");
    }

    /// Appends a stream object; `dict` holds the entries other than `/Length`.
    pub(crate) fn stream(&mut self, num: u32, dict: &str, data: &[u8]) {
        self.offsets.push((num, self.buf.len()));
        let _ = write!(
            Appender(&mut self.buf),
            "{num} 0 obj\n<< /Length {} {dict} >>\nstream\n",
            data.len()
        );
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// Writes the cross-reference table and trailer; objects not written are free entries.
    pub(crate) fn finish(mut self, root: u32, info: Option<u32>) -> Vec<u8> {
        self.offsets.sort_unstable();
        let size = self.offsets.last().map_or(1, |(n, _)| n + 1);
        let xref = self.buf.len();
        let mut table = String::with_capacity(20 * size as usize + 128);
        let _ = write!(table, "xref\n0 {size}\n0000000000 65535 f \n");
        let mut next = self.offsets.iter().peekable();
        for num in 1..size {
            match next.peek() {
                Some((n, offset)) if *n == num => {
                    let _ = writeln!(table, "{offset:010} 00000 n ");
                    next.next();
                }
                _ => table.push_str("0000000000 65535 f \n"),
            }
        }
        let _ = write!(table, "trailer\n<< /Size {size} /Root {root} 0 R");
        if let Some(info) = info {
            let _ = write!(table, " /Info {info} 0 R");
        }
        let _ = write!(table, " >>\nstartxref\n{xref}\n%%EOF\n");
        self.buf.extend_from_slice(table.as_bytes());
        self.buf
    }
}

/// `fmt::Write` into a byte buffer.
struct Appender<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Appender<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A PDF text string for the document information: UTF-16BE with a byte-order mark, in hex.
pub(crate) fn text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}
