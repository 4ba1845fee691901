//! Readers of treasury and bank statements into one common form, [`Statement`]: the OPI
//! SIOPE+ giornale di cassa (1.7.1 and 1.8), ISO 20022 camt.053 and a documented CSV.
//!
//! The XML readers share a bounded tree builder of their own (the crate's `xml` module is
//! sized for SOAP messages, and carries no line numbers): a DOCTYPE (hence every entity but
//! the five predefined ones) and processing instructions are refused, and the document's
//! size, depth, element count and text are capped before anything is allocated for them
//! ([`MAX_BYTES`], [`MAX_DEPTH`], [`MAX_ELEMENTS`]) — enough for a journal of 100,000
//! movements. Refusals name the element's path, e.g.
//! `flusso_giornale_di_cassa/informazioni_conto_evidenza[1]/movimento_conto_evidenza[4]/importo`,
//! and the 1-based line where it starts; they never quote personal data.

use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use serde::Serialize;

use crate::opi::{
    self, Account, DocumentType, ExecutionType, Header, Journal, Movement, MovementKind,
    OperationType, Party, Provisional, StampDuty, Version,
};
use crate::read::ReadError;

/// Largest document accepted, in bytes.
pub const MAX_BYTES: usize = 256 << 20;
/// Deepest element nesting accepted (the root is depth 1).
pub const MAX_DEPTH: usize = 32;
/// Most elements in one document.
pub const MAX_ELEMENTS: usize = 5_000_000;
/// Most records in one CSV statement.
pub const MAX_CSV_RECORDS: usize = 1_000_000;

/// The format a statement was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StatementFormat {
    /// An OPI giornale di cassa valid against version 1.7.1 (and so against 1.8 too).
    Opi1_7_1,
    /// An OPI giornale di cassa valid only against version 1.8 (it uses `SEPA INSTANT CREDIT
    /// TRANSFER`), or read with the 1.8 hint.
    Opi1_8,
    /// ISO 20022 `camt.053.001.*`.
    Camt053,
    /// The CSV described at [`parse_csv`].
    Csv,
}

/// A statement in the common form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub format: StatementFormat,
    /// OPI: `identificativo_flusso_BT` (which carries the page, `#001#003`); camt.053:
    /// `<GrpHdr/MsgId>/<Stmt/Id>` (several statements: their ids joined with `+`); CSV:
    /// `csv-` and the 16 hex digits of the 64-bit FNV-1a hash of the file's bytes.
    pub document_id: String,
    /// OPI `codice_fiscale_ente`; camt.053 `Acct/Ownr/Id/OrgId/Othr/Id` of the first
    /// statement, when present; CSV none.
    pub ente_fiscal_code: Option<String>,
    /// OPI `data_riferimento_GdC`; camt.053 the first statement's `FrToDt/ToDtTm`, else its
    /// `CreDtTm`; CSV none.
    pub date: Option<NaiveDate>,
    /// OPI: the `ds:Signature` element, verbatim from the document (kept, never verified).
    pub signature: Option<String>,
    pub movements: Vec<BankMovement>,
}

/// One booked movement of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankMovement {
    /// Unique within the document and the same at every reading: OPI
    /// `<conto_evidenza>/<numero_movimento>`; camt.053 the entry's `AcctSvcrRef`, else its
    /// `NtryRef`, else `<account>/<1-based entry index in its statement>`; CSV the `id`
    /// column. When an XML document repeats one, the later ones get `#2`, `#3`… appended
    /// in document order.
    pub id: String,
    /// OPI `conto_evidenza`; camt.053 `Acct/Id/IBAN` (else `Acct/Id/Othr/Id`); CSV column.
    pub account: String,
    /// OPI `ENTRATA`, camt.053 `CRDT`, CSV `IN`.
    pub incoming: bool,
    /// Positive or zero, in cents.
    pub amount_cents: i64,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// OPI `causale`; camt.053 every `RmtInf/Ustrd` of the entry's transactions, then
    /// `AddtlNtryInf`, joined with line feeds; CSV column.
    pub causale: String,
    pub end_to_end_id: Option<String>,
    /// OPI `codice_riferimento_operazione`; camt.053 the entry's `AcctSvcrRef`, else the
    /// first transaction's `Refs/AcctSvcrRef`, else its `Refs/TxId`; CSV column.
    pub reference: Option<String>,
    /// OPI `tipo_operazione` `STORNATO` or a negative `importo`; camt.053 `RvslInd` true.
    pub reversal: bool,
}

/// Reads a statement of any of the three formats. XML (after an optional BOM and
/// whitespace, the document starts with `<`) is read by its root element: an OPI
/// `flusso_giornale_di_cassa` in no namespace (version as [`parse_opi`] says), or a camt.053
/// `Document` in a `urn:iso:std:iso:20022:tech:xsd:camt.053.001.*` namespace; any other root
/// is refused. Anything else is read as CSV.
pub fn parse(bytes: &[u8]) -> Result<Statement, ReadError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    if first != Some(&b'<') {
        return parse_csv(bytes);
    }
    let doc = Doc::parse(bytes)?;
    let root = doc.root();
    if doc.is(root, None, "flusso_giornale_di_cassa") {
        read_opi_doc(&doc, None).map(OpiDocument::into_statement)
    } else if doc.name(root) == "Document" && doc.ns(root).is_some_and(is_camt053) {
        read_camt053_doc(&doc)
    } else {
        Err(doc.refuse(
            root,
            show_name(doc.name(root)),
            "not an OPI giornale di cassa or a camt.053 statement",
        ))
    }
}

/// Reads an OPI giornale di cassa. The document does not say its version, and 1.8 only adds
/// `SEPA INSTANT CREDIT TRANSFER` to `tipo_esecuzione`: the format is 1.8 when a movement
/// uses it, else 1.7.1 (the oldest schema the document is valid against). Use
/// [`read_opi`] with a hint to hold a document to one version.
pub fn parse_opi(bytes: &[u8]) -> Result<Statement, ReadError> {
    read_opi(bytes, None).map(OpiDocument::into_statement)
}

/// Reads an ISO 20022 camt.053 statement, any `camt.053.001.NN` version (02, 04, 08 and
/// the others share what is read here). No schema is at hand, so the reader is tolerant but
/// safe: it reads the elements below by name in the document's namespace and ignores every
/// other one. It checks: the root `Document` in a camt.053 namespace with
/// `BkToCstmrStmt/GrpHdr/MsgId` (not empty) and at least one `Stmt`; each `Stmt` has an `Id`
/// and `Acct/Id/IBAN` (or `Acct/Id/Othr/Id`); each `Ntry` has `Amt` (an `xs:decimal` of at
/// most 18 digits, not negative, at most 2 significant decimals) with `Ccy="EUR"` (any other
/// currency is refused), `CdtDbtInd` `CRDT` or `DBIT`, `RvslInd` (if present) an
/// `xs:boolean`, and a `BookgDt` (else `ValDt`) with `Dt` or `DtTm`. Entries whose `Sts`
/// (text, or `Sts/Cd`) is other than `BOOK` (pending or information only) are skipped.
/// `EndToEndId` and the references come from the first `NtryDtls/TxDtls`; an `EndToEndId`
/// of `NOTPROVIDED` counts as none.
pub fn parse_camt053(bytes: &[u8]) -> Result<Statement, ReadError> {
    let doc = Doc::parse(bytes)?;
    read_camt053_doc(&doc)
}

/// An OPI giornale di cassa read whole: the typed journal and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpiDocument {
    /// The journal. Elements the writer's types do not model (the `sospeso_da_regolarizzare`,
    /// fees, `delegato`, `creditore_effettivo`, the client's address, the account and
    /// document totals, `dati_a_disposizione_BT`…) are checked against the schema and
    /// skipped; `version` is the hint, else as [`parse_opi`] says. Amounts are those the
    /// schema accepts, which may exceed [`opi::MAX_AMOUNT_CENTS`] (15 digits without
    /// decimals), and a negative `importo` is kept negative.
    pub journal: Journal,
    /// The `ds:Signature` element as written (the slice of the document from its start tag
    /// to its end tag; a namespace prefix declared on an ancestor is not repeated in it).
    pub signature: String,
    /// Whether the signature is the root's first child (else it is the last).
    pub signature_first: bool,
}

impl OpiDocument {
    /// The common form of the journal.
    pub fn into_statement(self) -> Statement {
        let format = match self.journal.version {
            Version::V1_7_1 => StatementFormat::Opi1_7_1,
            Version::V1_8 => StatementFormat::Opi1_8,
        };
        let mut ids = Unique::default();
        let movements = self
            .journal
            .accounts
            .iter()
            .flat_map(|a| a.movements.iter().map(move |m| (a, m)))
            .map(|(a, m)| BankMovement {
                id: ids.take(format!("{}/{}", a.code, m.number)),
                account: a.code.clone(),
                incoming: m.kind == MovementKind::Incoming,
                amount_cents: m.amount_cents.saturating_abs(),
                booking_date: m.booking_date,
                value_date: m.value_date,
                causale: m.causale.clone(),
                end_to_end_id: m.end_to_end_id.clone(),
                reference: m.operation_ref.clone(),
                reversal: m.operation == OperationType::Stornato || m.amount_cents < 0,
            })
            .collect();
        Statement {
            format,
            document_id: self.journal.bt_flow_id,
            ente_fiscal_code: Some(self.journal.header.ente_fiscal_code),
            date: Some(self.journal.date),
            signature: Some(self.signature),
            movements,
        }
    }
}

/// Reads an OPI giornale di cassa against every facet of the 1.7.1 / 1.8 schemas (and
/// `OPI_GLOBAL_V_1_6_1.xsd`) for the elements it contains: sequence order, cardinalities,
/// patterns, lengths, enumerations, ranges, `totalDigits`/`fractionDigits`, dates. With
/// `Some(version)`, that version's enumeration of `tipo_esecuzione` applies; with `None`,
/// see [`parse_opi`]. The mandatory `ds:Signature` must be the first or the last child of
/// the root, in the XML-DSig namespace, and begin with `SignedInfo` and `SignatureValue`
/// (optionally `KeyInfo`, then `Object`s); deeper it is not checked and never verified.
pub fn read_opi(bytes: &[u8], version: Option<Version>) -> Result<OpiDocument, ReadError> {
    let doc = Doc::parse(bytes)?;
    read_opi_doc(&doc, version)
}

fn is_camt053(ns: &str) -> bool {
    ns.strip_prefix("urn:iso:std:iso:20022:tech:xsd:camt.053.001.")
        .is_some_and(|v| !v.is_empty() && v.len() <= 2 && v.bytes().all(|b| b.is_ascii_digit()))
}

/// Gives repeated ids a `#n` suffix.
#[derive(Default)]
struct Unique {
    seen: std::collections::HashMap<String, u32>,
}

impl Unique {
    fn take(&mut self, id: String) -> String {
        let n = self.seen.entry(id.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { id } else { format!("{id}#{n}") }
    }
}

// ---------------------------------------------------------------------------------------
// The bounded tree.

const NONE: u32 = u32::MAX;

/// One element of the tree: offsets into the source and into the text buffer.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Index in `Doc::namespaces`; 0 is no namespace.
    ns: u16,
    name_start: u32,
    name_len: u16,
    /// Byte offsets of the element in the source: its `<` and just after its end tag.
    start: u32,
    end: u32,
    text_start: u32,
    text_len: u32,
    /// Whether non-whitespace text appears directly inside an element that has children.
    mixed: bool,
    attr_start: u32,
    attr_len: u16,
    first_child: u32,
    next_sibling: u32,
}

#[derive(Debug, Clone)]
struct Attr {
    ns: u16,
    name: String,
    value: String,
}

/// A document read into a flat tree.
struct Doc<'s> {
    src: &'s str,
    nodes: Vec<Node>,
    namespaces: Vec<String>,
    attrs: Vec<Attr>,
    text: String,
}

/// An element being built.
struct Open {
    node: u32,
    last_child: u32,
    text: String,
}

fn xml_refusal(why: impl Into<String>) -> ReadError {
    ReadError::new(None, "(document)", why)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_xml_ws(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn line_at(src: &str, offset: usize) -> u32 {
    let upto = src.as_bytes().get(..offset).unwrap_or(src.as_bytes());
    let lines = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    u32::try_from(lines).unwrap_or(u32::MAX)
}

fn small(n: usize) -> u32 {
    // Every offset is below MAX_BYTES, checked before reading.
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'s> Doc<'s> {
    fn parse(bytes: &'s [u8]) -> Result<Self, ReadError> {
        if bytes.len() > MAX_BYTES {
            return Err(xml_refusal(format!(
                "the document is larger than {MAX_BYTES} bytes"
            )));
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let src = std::str::from_utf8(bytes).map_err(|e| {
            let line = line_at(
                std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
                e.valid_up_to(),
            );
            ReadError::new(Some(line), "(document)", "the document is not UTF-8")
        })?;
        let mut doc = Doc {
            src,
            nodes: Vec::new(),
            namespaces: vec![String::new()],
            attrs: Vec::new(),
            text: String::new(),
        };
        doc.build()?;
        Ok(doc)
    }

    fn at_line(&self, offset: u64, why: impl Into<String>) -> ReadError {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        ReadError::new(Some(line_at(self.src, offset)), "(document)", why)
    }

    fn intern(&mut self, ns: ResolveResult<'_>, at: u64) -> Result<u16, ReadError> {
        let ns = match ns {
            ResolveResult::Bound(ns) if ns.0.is_empty() => return Ok(0),
            ResolveResult::Bound(ns) => ns.0,
            ResolveResult::Unbound => return Ok(0),
            ResolveResult::Unknown(_) => {
                return Err(self.at_line(at, "not well-formed XML (undeclared namespace prefix)"));
            }
        };
        if let Some(i) = self.namespaces.iter().position(|n| n == ns) {
            return u16::try_from(i).map_err(|_| self.at_line(at, "too many namespaces"));
        }
        if self.namespaces.len() >= 256 {
            return Err(self.at_line(at, "the document uses more than 255 namespaces"));
        }
        self.namespaces.push(ns.to_owned());
        u16::try_from(self.namespaces.len() - 1)
            .map_err(|_| self.at_line(at, "too many namespaces"))
    }

    fn build(&mut self) -> Result<(), ReadError> {
        let src = self.src;
        let mut reader = NsReader::from_str(src);
        let mut stack: Vec<Open> = Vec::new();
        let mut root_done = false;
        let mut first = true;
        loop {
            let at = reader.buffer_position();
            let (ns, event) = match reader.read_resolved_event() {
                Ok((ns, event)) => {
                    let ns = match &event {
                        Event::Start(_) | Event::Empty(_) => self.intern(ns, at)?,
                        _ => 0,
                    };
                    (ns, event)
                }
                Err(e) => {
                    return Err(self.at_line(
                        reader.error_position(),
                        format!("not well-formed XML ({})", error_kind(&e)),
                    ));
                }
            };
            let was_first = first;
            first = false;
            match event {
                Event::Start(start) | Event::Empty(start) if root_done => {
                    let _ = start;
                    return Err(
                        self.at_line(at, "not well-formed XML (more than one root element)")
                    );
                }
                Event::Start(start) => {
                    let node = self.open(&reader, ns, &start, at, stack.len())?;
                    self.link(&mut stack, node);
                    stack.push(Open {
                        node,
                        last_child: NONE,
                        text: String::new(),
                    });
                }
                Event::Empty(start) => {
                    let node = self.open(&reader, ns, &start, at, stack.len())?;
                    self.link(&mut stack, node);
                    let end = small(usize::try_from(reader.buffer_position()).unwrap_or(0));
                    self.finish(node, String::new(), end);
                    if stack.is_empty() {
                        root_done = true;
                    }
                }
                Event::End(_) => {
                    let Some(open) = stack.pop() else {
                        return Err(self.at_line(at, "not well-formed XML (end tag without start)"));
                    };
                    let end = small(usize::try_from(reader.buffer_position()).unwrap_or(0));
                    self.finish(open.node, open.text, end);
                    if stack.is_empty() {
                        root_done = true;
                    }
                }
                Event::Text(t) => self.add_text(&mut stack, &t.xml10_content(), at)?,
                Event::CData(t) => self.add_text(&mut stack, &t.xml10_content(), at)?,
                Event::GeneralRef(r) => {
                    let c = self.reference(&r, at)?;
                    let mut buf = [0u8; 4];
                    self.add_text(&mut stack, c.encode_utf8(&mut buf), at)?;
                }
                Event::Comment(_) => {}
                Event::Decl(decl) => {
                    if !was_first {
                        return Err(self.at_line(at, "misplaced XML declaration"));
                    }
                    if let Some(enc) = decl.encoding() {
                        let enc = enc.map_err(|_| self.at_line(at, "malformed XML declaration"))?;
                        if !enc.eq_ignore_ascii_case("utf-8") {
                            return Err(self.at_line(at, "only UTF-8 documents are accepted"));
                        }
                    }
                }
                Event::PI(_) => {
                    return Err(self.at_line(at, "processing instructions are not accepted"));
                }
                Event::DocType(_) => {
                    return Err(self.at_line(at, "a DOCTYPE is not accepted"));
                }
                Event::Eof => break,
            }
        }
        if !stack.is_empty() {
            return Err(xml_refusal(
                "not well-formed XML (the document ends inside an element)",
            ));
        }
        if self.nodes.is_empty() {
            return Err(xml_refusal("not XML: the document has no element"));
        }
        Ok(())
    }

    fn open(
        &mut self,
        reader: &NsReader<&[u8]>,
        ns: u16,
        start: &BytesStart<'_>,
        at: u64,
        depth: usize,
    ) -> Result<u32, ReadError> {
        if depth >= MAX_DEPTH {
            return Err(self.at_line(
                at,
                format!("the document nests elements deeper than {MAX_DEPTH} levels"),
            ));
        }
        if self.nodes.len() >= MAX_ELEMENTS {
            return Err(self.at_line(
                at,
                format!("the document has more than {MAX_ELEMENTS} elements"),
            ));
        }
        let local = start.local_name();
        let local = local.as_ref();
        // The local name is a slice of the source: find its offset.
        let base = self.src.as_ptr() as usize;
        let name_start = (local.as_ptr() as usize).wrapping_sub(base);
        let name_len = u16::try_from(local.len())
            .map_err(|_| self.at_line(at, "an element name is too long"))?;
        if name_start
            .checked_add(local.len())
            .is_none_or(|e| e > self.src.len())
        {
            return Err(self.at_line(at, "an element name could not be located"));
        }
        let attr_start = small(self.attrs.len());
        for attr in start.attributes() {
            let attr =
                attr.map_err(|_| self.at_line(at, "not well-formed XML (malformed attribute)"))?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|_| {
                    self.at_line(at, "not well-formed XML (bad reference in an attribute)")
                })?;
            if !value.chars().all(is_xml_char) {
                return Err(self.at_line(at, "a character not allowed in XML is in an attribute"));
            }
            let (ans, key) = reader.resolver().resolve_attribute(attr.key);
            let ans = self.intern(ans, at)?;
            let name = key.as_ref().to_owned();
            self.attrs.push(Attr {
                ns: ans,
                name,
                value: value.into_owned(),
            });
        }
        let attr_len = u16::try_from(self.attrs.len() - attr_start as usize)
            .map_err(|_| self.at_line(at, "an element has too many attributes"))?;
        let at = small(usize::try_from(at).unwrap_or(0));
        self.nodes.push(Node {
            ns,
            name_start: small(name_start),
            name_len,
            start: at,
            end: at,
            text_start: 0,
            text_len: 0,
            mixed: false,
            attr_start,
            attr_len,
            first_child: NONE,
            next_sibling: NONE,
        });
        Ok(small(self.nodes.len() - 1))
    }

    fn link(&mut self, stack: &mut [Open], node: u32) {
        if let Some(parent) = stack.last_mut() {
            if parent.last_child == NONE {
                self.nodes[parent.node as usize].first_child = node;
            } else {
                self.nodes[parent.last_child as usize].next_sibling = node;
            }
            parent.last_child = node;
        }
    }

    fn finish(&mut self, node: u32, text: String, end: u32) {
        let has_children = self.nodes[node as usize].first_child != NONE;
        let n = &mut self.nodes[node as usize];
        n.end = end;
        if has_children {
            n.mixed = !is_xml_ws(&text);
            if !n.mixed {
                return;
            }
        }
        n.text_start = small(self.text.len());
        n.text_len = small(text.len());
        self.text.push_str(&text);
    }

    fn add_text(&mut self, stack: &mut [Open], text: &str, at: u64) -> Result<(), ReadError> {
        if text.chars().any(|c| !is_xml_char(c)) {
            return Err(self.at_line(at, "a character not allowed in XML"));
        }
        match stack.last_mut() {
            Some(open) => open.text.push_str(text),
            None if is_xml_ws(text) => {}
            None => return Err(self.at_line(at, "not well-formed XML (text outside the root)")),
        }
        Ok(())
    }

    fn reference(&self, r: &BytesRef<'_>, at: u64) -> Result<char, ReadError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) if is_xml_char(c) => Ok(c),
                _ => Err(self.at_line(at, "a bad character reference")),
            };
        }
        quick_xml::escape::resolve_predefined_entity(r)
            .and_then(|s| s.chars().next())
            .ok_or_else(|| {
                self.at_line(
                    at,
                    "an undefined entity reference (only the five predefined ones are accepted)",
                )
            })
    }

    // Accessors.

    fn root(&self) -> u32 {
        0
    }

    fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    fn name(&self, n: u32) -> &'s str {
        let node = self.node(n);
        let s = node.name_start as usize;
        self.src.get(s..s + node.name_len as usize).unwrap_or("")
    }

    fn ns(&self, n: u32) -> Option<&str> {
        match self.node(n).ns {
            0 => None,
            i => self.namespaces.get(i as usize).map(String::as_str),
        }
    }

    fn is(&self, n: u32, ns: Option<&str>, name: &str) -> bool {
        self.name(n) == name && self.ns(n) == ns
    }

    fn text(&self, n: u32) -> &str {
        let node = self.node(n);
        let s = node.text_start as usize;
        self.text.get(s..s + node.text_len as usize).unwrap_or("")
    }

    fn attrs(&self, n: u32) -> &[Attr] {
        let node = self.node(n);
        let s = node.attr_start as usize;
        self.attrs.get(s..s + node.attr_len as usize).unwrap_or(&[])
    }

    fn children(&self, n: u32) -> Children<'_, 's> {
        Children {
            doc: self,
            next: self.node(n).first_child,
        }
    }

    fn line(&self, n: u32) -> u32 {
        line_at(self.src, self.node(n).start as usize)
    }

    fn source(&self, n: u32) -> &'s str {
        let node = self.node(n);
        self.src
            .get(node.start as usize..node.end as usize)
            .unwrap_or("")
    }

    fn refuse(&self, n: u32, path: impl Into<String>, why: impl Into<String>) -> ReadError {
        ReadError::new(Some(self.line(n)), path, why)
    }
}

struct Children<'d, 's> {
    doc: &'d Doc<'s>,
    next: u32,
}

impl Iterator for Children<'_, '_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.next == NONE {
            return None;
        }
        let n = self.next;
        self.next = self.doc.node(n).next_sibling;
        Some(n)
    }
}

fn error_kind(e: &quick_xml::Error) -> &'static str {
    use quick_xml::Error as E;
    match e {
        E::Io(_) => "read error",
        E::Syntax(_) => "syntax error",
        E::IllFormed(_) => "ill-formed",
        E::InvalidAttr(_) => "malformed attribute",
        E::Encoding(_) => "encoding error",
        E::Escape(_) => "bad reference",
        E::Namespace(_) => "namespace error",
    }
}

/// An element name fit for an error message.
fn show_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if plain {
        name.to_owned()
    } else {
        "(an element)".to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// Walking a tree against a schema's sequences.

/// A child element found where the schema expects it, with how to name it in an error.
#[derive(Clone, Copy)]
struct El<'p> {
    n: u32,
    parent: &'p str,
    name: &'static str,
    /// 1-based position among its repeated siblings, for elements that may repeat.
    index: Option<usize>,
}

impl El<'_> {
    fn path(&self) -> String {
        match self.index {
            Some(i) => format!("{}/{}[{i}]", self.parent, self.name),
            None => format!("{}/{}", self.parent, self.name),
        }
    }
}

/// A cursor over the children of an element, matching an `xs:sequence`.
struct Seq<'d, 's, 'p> {
    doc: &'d Doc<'s>,
    parent: u32,
    path: &'p str,
    next: u32,
    /// The namespace unqualified names are expected in (`None`: no namespace).
    ns: Option<&'d str>,
}

type R<T> = Result<T, ReadError>;

impl<'d, 's, 'p> Seq<'d, 's, 'p> {
    fn new(doc: &'d Doc<'s>, parent: u32, path: &'p str, ns: Option<&'d str>) -> R<Self> {
        if doc.node(parent).mixed {
            return Err(doc.refuse(parent, path, "text is not allowed in this element"));
        }
        Ok(Self {
            doc,
            parent,
            path,
            next: doc.node(parent).first_child,
            ns,
        })
    }

    fn peek(&self) -> Option<u32> {
        (self.next != NONE).then_some(self.next)
    }

    fn opt_in(&mut self, ns: Option<&str>, name: &'static str) -> R<Option<El<'p>>> {
        let Some(n) = self.peek() else {
            return Ok(None);
        };
        if self.doc.name(n) != name {
            return Ok(None);
        }
        let el = El {
            n,
            parent: self.path,
            name,
            index: None,
        };
        if self.doc.ns(n) != ns {
            let found = self.doc.ns(n).map_or_else(
                || "no namespace".to_owned(),
                |s| format!("namespace {:?}", truncate(s, 80)),
            );
            let want = ns.map_or_else(|| "no namespace".to_owned(), |s| format!("namespace {s:?}"));
            return Err(self.doc.refuse(
                n,
                el.path(),
                format!("the element is in {found}, expected {want}"),
            ));
        }
        self.next = self.doc.node(n).next_sibling;
        Ok(Some(el))
    }

    fn opt(&mut self, name: &'static str) -> R<Option<El<'p>>> {
        self.opt_in(self.ns, name)
    }

    fn req_in(&mut self, ns: Option<&str>, name: &'static str) -> R<El<'p>> {
        if let Some(el) = self.opt_in(ns, name)? {
            return Ok(el);
        }
        let path = format!("{}/{name}", self.path);
        Err(match self.peek() {
            Some(other) => self.doc.refuse(
                other,
                path,
                format!(
                    "missing (found {} instead)",
                    show_name(self.doc.name(other))
                ),
            ),
            None => self.doc.refuse(self.parent, path, "missing"),
        })
    }

    fn req(&mut self, name: &'static str) -> R<El<'p>> {
        self.req_in(self.ns, name)
    }

    /// `min..=max` consecutive `name` children, each with its index.
    fn many(&mut self, name: &'static str, min: usize, max: usize) -> R<Vec<El<'p>>> {
        let mut items = Vec::new();
        while let Some(mut el) = self.opt(name)? {
            el.index = Some(items.len() + 1);
            if items.len() == max {
                return Err(self.doc.refuse(
                    el.n,
                    el.path(),
                    format!("more than {max} {name} elements"),
                ));
            }
            items.push(el);
        }
        if items.len() < min {
            self.req(name)?;
        }
        Ok(items)
    }

    /// No children may follow.
    fn end(self) -> R<()> {
        match self.peek() {
            Some(n) => Err(self.doc.refuse(
                n,
                format!("{}/{}", self.path, show_name(self.doc.name(n))),
                "unexpected element here",
            )),
            None => Ok(()),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// Trims XML whitespace (the `collapse` facet of the non-string types).
fn collapse(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// An `xs:decimal` in cents, or why not: at most two significant decimals, at most
/// `total_digits` significant digits.
fn decimal_cents(s: &str, total_digits: usize) -> Result<i64, &'static str> {
    let s = collapse(s);
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err("is not a decimal number");
    }
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if frac.len() > 2 {
        return Err("has more than 2 decimals");
    }
    if int.len() + frac.len() > total_digits {
        return Err("has too many digits");
    }
    let mut cents: i64 = 0;
    for b in int
        .bytes()
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', 2 - frac.len()))
    {
        cents = cents
            .checked_mul(10)
            .and_then(|c| c.checked_add(i64::from(b - b'0')))
            .ok_or("is too large")?;
    }
    Ok(if neg { -cents } else { cents })
}

/// An `xs:nonNegativeInteger` that fits in `u64`.
fn non_negative(s: &str) -> Option<u64> {
    let s = collapse(s);
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    digits.parse().ok()
}

/// Whether `s` is an XSD timezone (`Z`, `+hh:mm`, `-hh:mm`) or empty.
fn timezone_ok(s: &str) -> bool {
    if s.is_empty() || s == "Z" {
        return true;
    }
    let b = s.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return false;
    }
    let num = |x: &[u8]| {
        x.iter()
            .all(u8::is_ascii_digit)
            .then(|| x.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    };
    match (num(&b[1..3]), num(&b[4..6])) {
        (Some(h), Some(m)) => h < 14 && m < 60 || h == 14 && m == 0,
        _ => false,
    }
}

/// An `xs:date` (`YYYY-MM-DD`, optional timezone, which is ignored).
fn xsd_date(s: &str) -> Option<NaiveDate> {
    let s = collapse(s);
    let (date, tz) = (s.get(..10)?, s.get(10..)?);
    let b = date.as_bytes();
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    if !shape || !timezone_ok(tz) {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// An `xs:dateTime` as written (the timezone, if any, ignored); `24:00:00` is the next
/// midnight.
fn xsd_date_time(s: &str) -> Option<NaiveDateTime> {
    let s = collapse(s);
    let date = xsd_date(s.get(..10)?)?;
    let rest = s.get(10..)?.strip_prefix('T')?;
    let time = rest.get(..8)?;
    let mut tail = rest.get(8..)?;
    let t = time.as_bytes();
    let shape = t.iter().enumerate().all(|(i, c)| match i {
        2 | 5 => *c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape {
        return None;
    }
    let two = |i: usize| u32::from(t[i] - b'0') * 10 + u32::from(t[i + 1] - b'0');
    let (h, m, sec) = (two(0), two(3), two(6));
    let mut nanos = 0u32;
    if let Some(f) = tail.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let digits = &f[..n];
        let padded: String = digits
            .chars()
            .chain(std::iter::repeat('0'))
            .take(9)
            .collect();
        nanos = padded.parse().ok()?;
        tail = &f[n..];
    }
    if !timezone_ok(tail) {
        return None;
    }
    if h == 24 {
        return (m == 0 && sec == 0 && nanos == 0)
            .then(|| date.succ_opt())
            .flatten()
            .and_then(|d| d.and_hms_opt(0, 0, 0));
    }
    date.and_hms_nano_opt(h, m, sec, nanos)
}

// ---------------------------------------------------------------------------------------
// OPI giornale di cassa.

const ROOT: &str = "flusso_giornale_di_cassa";
const MAX18: u64 = opi::MAX_NUMBER;
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

const MOVEMENT_KINDS: [(&str, MovementKind); 2] = [
    ("ENTRATA", MovementKind::Incoming),
    ("USCITA", MovementKind::Outgoing),
];
const DOCUMENT_TYPES: [DocumentType; 8] = [
    DocumentType::Reversale,
    DocumentType::Mandato,
    DocumentType::SospesoEntrata,
    DocumentType::SospesoUscita,
    DocumentType::Anticipazione,
    DocumentType::Giroconto,
    DocumentType::FondoDiCassa,
    DocumentType::DeficitDiCassa,
];
const OPERATION_TYPES: [OperationType; 4] = [
    OperationType::Eseguito,
    OperationType::Stornato,
    OperationType::Regolarizzato,
    OperationType::Ripristinato,
];
const EXECUTION_TYPES: [ExecutionType; 18] = [
    ExecutionType::AccreditoBancaDItalia,
    ExecutionType::AccreditoContoCorrentePostale,
    ExecutionType::AccreditoTesoreriaProvincialeStato,
    ExecutionType::AddebitoPreautorizzato,
    ExecutionType::AssegnoBancarioEPostale,
    ExecutionType::AssegnoCircolare,
    ExecutionType::AssegnoDiTraenza,
    ExecutionType::AvvisoPagopa,
    ExecutionType::BonificoEsteroEuro,
    ExecutionType::Cassa,
    ExecutionType::Compensazione,
    ExecutionType::DisposizioneDocumentoEsterno,
    ExecutionType::F24ep,
    ExecutionType::PrelievoDaCcPostale,
    ExecutionType::Regolarizzazione,
    ExecutionType::SepaCreditTransfer,
    ExecutionType::SepaInstantCreditTransfer,
    ExecutionType::Sostituzione,
];
const STAMP_DUTIES: [StampDuty; 3] = [
    StampDuty::Exempt,
    StampDuty::ChargedToEnte,
    StampDuty::ChargedToClient,
];

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn upper_alnum(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn a2a(s: &str) -> bool {
    s.strip_prefix("A2A-")
        .is_some_and(|r| r.len() == 8 && digits(r))
}

fn bt_flow_id_ok(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("GDC-") else {
        return false;
    };
    let mut parts = rest.split('#');
    let (Some(head), Some(page), Some(pages), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    s.len() <= 70
        && (18..=58).contains(&head.len())
        && head.is_char_boundary(8)
        && digits(&head[..8])
        && head[8..].bytes().all(|b| b.is_ascii_alphanumeric())
        && page.len() == 3
        && digits(page)
        && pages.len() == 3
        && digits(pages)
}

/// Reads the leaves of an OPI document.
struct Opi<'d, 's> {
    doc: &'d Doc<'s>,
}

impl<'d, 's> Opi<'d, 's> {
    fn fail(&self, el: &El<'_>, why: impl Into<String>) -> ReadError {
        self.doc.refuse(el.n, el.path(), why)
    }

    fn no_attrs(&self, el: &El<'_>) -> R<()> {
        if self.doc.attrs(el.n).is_empty() {
            Ok(())
        } else {
            Err(self.fail(el, "attributes are not allowed on this element"))
        }
    }

    /// A complex element: no attributes; its children as a sequence.
    fn complex<'p>(&self, el: &El<'_>, path: &'p str) -> R<Seq<'d, 's, 'p>> {
        self.no_attrs(el)?;
        Seq::new(self.doc, el.n, path, None)
    }

    fn leaf(&self, el: &El<'_>) -> R<&'d str> {
        self.no_attrs(el)?;
        if self.doc.node(el.n).first_child != NONE {
            return Err(self.fail(el, "child elements are not allowed in this element"));
        }
        Ok(self.doc.text(el.n))
    }

    fn string(&self, el: &El<'_>, min: usize, max: Option<usize>) -> R<String> {
        let v = self.leaf(el)?;
        let len = v.chars().count();
        if len < min {
            return Err(self.fail(el, format!("{len} characters, at least {min} needed")));
        }
        if let Some(max) = max
            && len > max
        {
            return Err(self.fail(el, format!("{len} characters, at most {max} allowed")));
        }
        Ok(v.to_owned())
    }

    fn opt_string(&self, el: Option<El<'_>>, min: usize, max: Option<usize>) -> R<Option<String>> {
        el.map(|el| self.string(&el, min, max)).transpose()
    }

    fn pattern(&self, el: &El<'_>, ok: fn(&str) -> bool, shape: &str) -> R<String> {
        let v = self.leaf(el)?;
        if ok(v) {
            Ok(v.to_owned())
        } else {
            Err(self.fail(el, format!("does not match {shape}")))
        }
    }

    fn choice<T: Copy>(&self, el: &El<'_>, options: &[(&str, T)]) -> R<T> {
        let v = self.leaf(el)?;
        options
            .iter()
            .find(|(s, _)| *s == v)
            .map(|&(_, t)| t)
            .ok_or_else(|| self.fail(el, "is not one of the values the schema lists"))
    }

    fn words(&self, el: &El<'_>, options: &[&str]) -> R<()> {
        let v = self.leaf(el)?;
        if options.contains(&v) {
            Ok(())
        } else {
            Err(self.fail(el, "is not one of the values the schema lists"))
        }
    }

    /// An amount, `totalDigits` 15 and `fractionDigits` 2, at least `min` cents.
    fn amount(&self, el: &El<'_>, min: Option<i64>) -> R<i64> {
        let v = self.leaf(el)?;
        let cents = decimal_cents(v, 15).map_err(|why| self.fail(el, why))?;
        if let Some(min) = min
            && cents < min
        {
            return Err(self.fail(
                el,
                format!("is below the minimum {}", crate::fdr::text::euro(min)),
            ));
        }
        Ok(cents)
    }

    fn opt_amount(&self, el: Option<El<'_>>, min: Option<i64>) -> R<Option<i64>> {
        el.map(|el| self.amount(&el, min)).transpose()
    }

    fn int(&self, el: &El<'_>, min: u64, max: u64) -> R<u64> {
        let v = self.leaf(el)?;
        match non_negative(v) {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            Some(_) => Err(self.fail(el, format!("is outside {min}..{max}"))),
            None if collapse(v).bytes().all(|b| b.is_ascii_digit()) && !collapse(v).is_empty() => {
                Err(self.fail(el, format!("is outside {min}..{max}")))
            }
            None => Err(self.fail(el, "is not a non-negative integer")),
        }
    }

    fn date(&self, el: &El<'_>) -> R<NaiveDate> {
        let v = self.leaf(el)?;
        xsd_date(v).ok_or_else(|| self.fail(el, "is not a date (YYYY-MM-DD)"))
    }

    fn opt_date(&self, el: Option<El<'_>>) -> R<Option<NaiveDate>> {
        el.map(|el| self.date(&el)).transpose()
    }
}

fn read_opi_doc(doc: &Doc<'_>, hint: Option<Version>) -> R<OpiDocument> {
    let root = doc.root();
    if !doc.is(root, None, ROOT) {
        return Err(doc.refuse(
            root,
            show_name(doc.name(root)),
            "the root is not flusso_giornale_di_cassa (in no namespace)",
        ));
    }
    for a in doc.attrs(root) {
        let allowed = (a.ns == 0 && a.name == "Id")
            || (doc.namespaces.get(a.ns as usize).is_some_and(|n| n == XSI)
                && matches!(
                    a.name.as_str(),
                    "schemaLocation" | "noNamespaceSchemaLocation"
                ));
        if !allowed {
            return Err(doc.refuse(root, ROOT, "an attribute the schema does not allow"));
        }
    }
    let o = Opi { doc };
    let mut seq = Seq::new(doc, root, ROOT, None)?;
    let signature_first = seq.peek().is_some_and(|n| doc.name(n) == "Signature");
    let mut signature = None;
    if signature_first {
        signature = Some(seq.req_in(Some(opi::NS_DSIG), "Signature")?);
    }
    let header = read_header(&o, &mut seq)?;
    let bt = seq.req("identificativo_flusso_BT")?;
    let bt_flow_id = o.pattern(
        &bt,
        bt_flow_id_ok,
        "GDC-[0-9]{8}[A-Za-z0-9]{10,50}#[0-9]{3}#[0-9]{3} (at most 70 characters)",
    )?;
    let page = o.int(&seq.req("pagina")?, 1, 9_999_999)?;
    let total_pages = o.int(&seq.req("pagine_totali")?, 1, 9_999_999)?;
    let ente_reference = o.opt_string(seq.opt("riferimento_ente")?, 0, None)?;
    let fiscal_year = o.int(&seq.req("esercizio")?, 1999, 2099)?;
    let date = o.date(&seq.req("data_riferimento_GdC")?)?;
    let mut accounts = Vec::new();
    let mut instant = false;
    for el in seq.many("informazioni_conto_evidenza", 1, usize::MAX)? {
        accounts.push(read_account(&o, &el, hint, &mut instant)?);
    }
    for name in [
        "saldo_complessivo_precedente",
        "totale_complessivo_entrate",
        "totale_complessivo_uscite",
        "saldo_complessivo_finale",
    ] {
        o.opt_amount(seq.opt(name)?, None)?;
    }
    if let Some(el) = seq.opt("totali_esercizio")? {
        let path = el.path();
        let mut s = o.complex(&el, &path)?;
        for name in [
            "fondo_di_cassa",
            "totale_reversali_riscosse",
            "totale_sospesi_entrata",
            "totale_entrate",
            "deficit_di_cassa",
            "totale_mandati_pagati",
            "totale_sospesi_uscita",
            "totale_uscite",
        ] {
            o.amount(&s.req(name)?, Some(0))?;
        }
        o.amount(&s.req("saldo_esercizio")?, None)?;
        s.end()?;
    }
    if let Some(el) = seq.opt("totali_disponibilita_liquide")? {
        let path = el.path();
        let mut s = o.complex(&el, &path)?;
        o.amount(&s.req("saldo_conti_correnti")?, None)?;
        o.opt_amount(s.opt("saldo_conti_BI")?, Some(0))?;
        for name in [
            "totale_conti",
            "vincoli_conti_correnti",
            "vincoli_conti_BI",
            "totale_vincoli",
            "svincoli_conti_correnti",
            "svincoli_conti_BI",
            "totale_svincoli",
        ] {
            o.opt_amount(s.opt(name)?, None)?;
        }
        o.amount(&s.req("anticipazione_accordata")?, Some(0))?;
        o.amount(&s.req("anticipazione_utilizzata")?, Some(0))?;
        o.opt_amount(s.opt("totale_somme_bloccate_riservate")?, None)?;
        o.amount(&s.req("disponibilita")?, None)?;
        s.end()?;
    }
    if !signature_first {
        signature = Some(seq.req_in(Some(opi::NS_DSIG), "Signature")?);
    }
    seq.end()?;
    let Some(signature) = signature else {
        return Err(doc.refuse(root, format!("{ROOT}/Signature"), "missing"));
    };
    check_signature(doc, &signature)?;
    let version = hint.unwrap_or(if instant {
        Version::V1_8
    } else {
        Version::V1_7_1
    });
    let journal = Journal {
        version,
        header,
        bt_flow_id,
        page: u32::try_from(page).unwrap_or(u32::MAX),
        total_pages: u32::try_from(total_pages).unwrap_or(u32::MAX),
        ente_reference,
        fiscal_year: u16::try_from(fiscal_year).unwrap_or(u16::MAX),
        date,
        accounts,
    };
    Ok(OpiDocument {
        journal,
        signature: doc.source(signature.n).to_owned(),
        signature_first,
    })
}

/// `ds:Signature`: its first level only (`SignedInfo`, `SignatureValue`, `KeyInfo?`,
/// `Object*`), never verified.
fn check_signature(doc: &Doc<'_>, el: &El<'_>) -> R<()> {
    let path = el.path();
    let ds = Some(opi::NS_DSIG);
    let mut s = Seq::new(doc, el.n, &path, ds)?;
    s.req("SignedInfo")?;
    s.req("SignatureValue")?;
    s.opt("KeyInfo")?;
    while s.opt("Object")?.is_some() {}
    s.end()
}

fn read_header(o: &Opi<'_, '_>, seq: &mut Seq<'_, '_, '_>) -> R<Header> {
    let el = seq.req("testata_messaggio")?;
    let path = el.path();
    let mut s = o.complex(&el, &path)?;
    let bank_abi = o.pattern(
        &s.req("codice_ABI_BT")?,
        |v| v.len() == 5 && digits(v),
        "[0-9]{5}",
    )?;
    let created = s.req("data_ora_creazione_flusso")?;
    let created_at = xsd_date_time(o.leaf(&created)?)
        .ok_or_else(|| o.fail(&created, "is not a date and time (YYYY-MM-DDThh:mm:ss)"))?;
    let ente_ipa_code = o.pattern(
        &s.req("codice_ente")?,
        |v| v.len() == 6 && upper_alnum(v),
        "[A-Z0-9]{6}",
    )?;
    let ente_name = o.string(&s.req("descrizione_ente")?, 1, None)?;
    let ente_istat_code = o.pattern(
        &s.req("codice_istat_ente")?,
        |v| (9..=15).contains(&v.len()) && digits(v),
        "[0-9]{9,15}",
    )?;
    let ente_fiscal_code = o.pattern(
        &s.req("codice_fiscale_ente")?,
        |v| (11..=16).contains(&v.len()) && upper_alnum(v),
        "[A-Z0-9]{11,16}",
    )?;
    let ente_a2a_code = o.pattern(&s.req("codice_tramite_ente")?, a2a, "A2A-[0-9]{8}")?;
    let bank_a2a_code = o.pattern(&s.req("codice_tramite_BT")?, a2a, "A2A-[0-9]{8}")?;
    let ente_bank_code = o.string(&s.req("codice_ente_BT")?, 1, None)?;
    s.end()?;
    Ok(Header {
        bank_abi,
        created_at,
        ente_ipa_code,
        ente_name,
        ente_istat_code,
        ente_fiscal_code,
        ente_a2a_code,
        bank_a2a_code,
        ente_bank_code,
    })
}

fn read_account(
    o: &Opi<'_, '_>,
    el: &El<'_>,
    hint: Option<Version>,
    instant: &mut bool,
) -> R<Account> {
    let path = el.path();
    let mut s = o.complex(el, &path)?;
    let code = o.string(&s.req("conto_evidenza")?, 1, Some(25))?;
    let description = o.opt_string(s.opt("descrizione_conto_evidenza")?, 1, None)?;
    let mut movements = Vec::new();
    for m in s.many("movimento_conto_evidenza", 0, usize::MAX)? {
        movements.push(read_movement(o, &m, hint, instant)?);
    }
    let opening_balance_cents = o.opt_amount(s.opt("saldo_precedente_conto_evidenza")?, None)?;
    for name in [
        "totale_entrate_conto_evidenza",
        "totale_uscite_conto_evidenza",
        "saldo_finale_conto_evidenza",
    ] {
        o.opt_amount(s.opt(name)?, None)?;
    }
    s.end()?;
    Ok(Account {
        code,
        description,
        movements,
        opening_balance_cents,
    })
}

fn id_flusso_ok(v: &str) -> bool {
    (1..=70).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"#_-.".contains(&b))
}

fn state_ok(v: &str) -> bool {
    v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase())
}

fn read_movement(
    o: &Opi<'_, '_>,
    el: &El<'_>,
    hint: Option<Version>,
    instant: &mut bool,
) -> R<Movement> {
    let path = el.path();
    let mut s = o.complex(el, &path)?;
    let ente_flow_id = o.pattern(
        &s.req("identificativo_flusso")?,
        id_flusso_ok,
        "[a-zA-Z0-9#_\\-\\.]{1,70}",
    )?;
    let number = o.int(&s.req("numero_movimento")?, 0, MAX18)?;
    let kind = o.choice(&s.req("tipo_movimento")?, &MOVEMENT_KINDS)?;
    let documents = DOCUMENT_TYPES.map(|d| (d.as_str(), d));
    let document = o.choice(&s.req("tipo_documento")?, &documents)?;
    let operations = OPERATION_TYPES.map(|d| (d.as_str(), d));
    let operation = o.choice(&s.req("tipo_operazione")?, &operations)?;
    let document_number = o.int(&s.req("numero_documento")?, 0, MAX18)?;
    if let Some(sr) = s.opt("sospeso_da_regolarizzare")? {
        let p = sr.path();
        let mut q = o.complex(&sr, &p)?;
        o.date(&q.req("data_effettiva_sospeso")?)?;
        o.pattern(
            &q.req("codice_gestionale_provvisorio")?,
            |v| (v.len() == 4 || v.len() == 10) && digits(v),
            "\\d{4} or \\d{10}",
        )?;
        q.end()?;
    }
    o.opt_string(s.opt("tipologia_pagamento_funzionario_delegato")?, 0, None)?;
    o.opt_string(s.opt("numero_pagamento_funzionario_delegato")?, 0, None)?;
    let document_progressive = o.int(&s.req("progressivo_documento")?, 0, u64::MAX)?;
    let amount_cents = o.amount(&s.req("importo")?, None)?;
    o.opt_amount(s.opt("importo_ritenute")?, Some(1))?;
    let receipt_number = s
        .opt("numero_bolletta_quietanza")?
        .map(|e| o.int(&e, 0, u64::MAX))
        .transpose()?;
    if let Some(e) = s.opt("numero_bolletta_quietanza_storno")? {
        o.int(&e, 0, u64::MAX)?;
    }
    let booking_date = o.date(&s.req("data_movimento")?)?;
    let siope_date = o.date(&s.req("data_movimento_siope")?)?;
    let value_date = o.opt_date(s.opt("data_valuta_ente")?)?;
    let ex = s.req("tipo_esecuzione")?;
    let executions = EXECUTION_TYPES.map(|d| (d.as_str(), d));
    let execution = o.choice(&ex, &executions)?;
    if execution == ExecutionType::SepaInstantCreditTransfer {
        if hint == Some(Version::V1_7_1) {
            return Err(o.fail(&ex, "SEPA INSTANT CREDIT TRANSFER needs version 1.8"));
        }
        *instant = true;
    }
    let coordinates = o.opt_string(s.opt("coordinate")?, 1, None)?;
    let operation_ref = o.opt_string(s.opt("codice_riferimento_operazione")?, 1, None)?;
    let end_to_end_id = o.opt_string(s.opt("end_to_end_id")?, 1, Some(35))?;
    o.opt_string(s.opt("codice_riferimento_interno")?, 1, Some(60))?;
    if let Some(e) = s.opt("tipo_contabilita")? {
        o.words(&e, &["FRUTTIFERO", "INFRUTTIFERO"])?;
    }
    if let Some(e) = s.opt("destinazione")? {
        o.words(&e, &["LIBERA", "VINCOLATA"])?;
    }
    let duties = STAMP_DUTIES.map(|d| (d.as_str(), d));
    let stamp_duty = o.choice(&s.req("assoggettamento_bollo")?, &duties)?;
    o.opt_amount(s.opt("importo_bollo")?, Some(1))?;
    if let Some(e) = s.opt("assoggettamento_spese")? {
        o.words(
            &e,
            &[
                "ESENTE SPESE",
                "ASSOGGETTAMENTO SPESE A CARICO ENTE",
                "ASSOGGETTAMENTO SPESE A CARICO CLIENTE",
            ],
        )?;
    }
    o.opt_amount(s.opt("importo_spese")?, Some(1))?;
    if let Some(e) = s.opt("assoggettamento_commissioni")? {
        o.words(
            &e,
            &[
                "ASSOGGETTAMENTO COMMISSIONI A CARICO ENTE",
                "ASSOGGETTAMENTO COMMISSIONI A CARICO CLIENTE",
            ],
        )?;
    }
    o.opt_amount(s.opt("importo_commissioni")?, Some(1))?;
    let client = read_party(o, &s.req("cliente")?, "cliente", true)?;
    if let Some(e) = s.opt("delegato")? {
        read_party(o, &e, "delegato", false)?;
    }
    if let Some(e) = s.opt("creditore_effettivo")? {
        read_party(o, &e, "creditore_effettivo", true)?;
    }
    let causale = o.string(&s.req("causale")?, 1, None)?;
    let mut provisionals = Vec::new();
    for p in s.many("sospeso", 0, 1000)? {
        let pp = p.path();
        let mut q = o.complex(&p, &pp)?;
        let number = o.int(&q.req("numero_provvisorio")?, 1, MAX18)?;
        let amount_cents = o.amount(&q.req("importo_provvisorio")?, Some(1))?;
        q.end()?;
        provisionals.push(Provisional {
            number,
            amount_cents,
        });
    }
    if let Some(e) = s.opt("dati_a_disposizione_BT")? {
        // `anyTAG`: mixed content, any elements, skipped; no attributes on itself.
        o.no_attrs(&e)?;
    }
    s.end()?;
    Ok(Movement {
        ente_flow_id,
        number,
        kind,
        document,
        operation,
        document_number,
        document_progressive,
        amount_cents,
        receipt_number,
        booking_date,
        siope_date,
        value_date,
        execution,
        coordinates,
        operation_ref,
        end_to_end_id,
        stamp_duty,
        client: Party {
            name: client.0,
            tax_code: client.1,
        },
        causale,
        provisionals,
    })
}

/// `cliente`, `delegato` or `creditore_effettivo` (`suffix`): name and tax code. The
/// `delegato` has no VAT number and may have an empty name.
fn read_party(
    o: &Opi<'_, '_>,
    el: &El<'_>,
    suffix: &'static str,
    full: bool,
) -> R<(String, Option<String>)> {
    let path = el.path();
    let mut s = o.complex(el, &path)?;
    let names = party_names(suffix);
    let name = o.string(&s.req(names[0])?, usize::from(full), None)?;
    o.opt_string(s.opt(names[1])?, 0, None)?;
    o.opt_string(s.opt(names[2])?, 1, Some(16))?;
    o.opt_string(s.opt(names[3])?, 0, None)?;
    o.opt_string(s.opt(names[4])?, 0, None)?;
    if let Some(e) = s.opt(names[5])? {
        o.pattern(&e, state_ok, "[A-Z]{2}")?;
    }
    if full {
        o.opt_string(s.opt(names[6])?, 1, Some(35))?;
    }
    let tax_code = o.opt_string(s.opt(names[7])?, 1, Some(35))?;
    s.end()?;
    Ok((name, tax_code))
}

/// The element names of a party, in schema order.
fn party_names(suffix: &str) -> [&'static str; 8] {
    match suffix {
        "delegato" => [
            "anagrafica_delegato",
            "indirizzo_delegato",
            "cap_delegato",
            "localita_delegato",
            "provincia_delegato",
            "stato_delegato",
            "partita_iva_delegato",
            "codice_fiscale_delegato",
        ],
        "creditore_effettivo" => [
            "anagrafica_creditore_effettivo",
            "indirizzo_creditore_effettivo",
            "cap_creditore_effettivo",
            "localita_creditore_effettivo",
            "provincia_creditore_effettivo",
            "stato_creditore_effettivo",
            "partita_iva_creditore_effettivo",
            "codice_fiscale_creditore_effettivo",
        ],
        _ => [
            "anagrafica_cliente",
            "indirizzo_cliente",
            "cap_cliente",
            "localita_cliente",
            "provincia_cliente",
            "stato_cliente",
            "partita_iva_cliente",
            "codice_fiscale_cliente",
        ],
    }
}

// ---------------------------------------------------------------------------------------
// camt.053.

struct Camt<'d, 's> {
    doc: &'d Doc<'s>,
    ns: Option<&'d str>,
}

impl Camt<'_, '_> {
    fn child(&self, n: u32, name: &str) -> Option<u32> {
        self.doc
            .children(n)
            .find(|&c| self.doc.name(c) == name && self.doc.ns(c) == self.ns)
    }

    fn all(&self, n: u32, name: &'static str) -> impl Iterator<Item = u32> + '_ {
        self.doc
            .children(n)
            .filter(move |&c| self.doc.name(c) == name && self.doc.ns(c) == self.ns)
    }

    fn path_child(&self, n: u32, names: &[&str]) -> Option<u32> {
        names.iter().try_fold(n, |at, name| self.child(at, name))
    }

    fn text(&self, n: u32) -> String {
        collapse(self.doc.text(n)).to_owned()
    }

    fn opt_text(&self, n: u32, names: &[&str]) -> Option<String> {
        self.path_child(n, names)
            .map(|c| self.text(c))
            .filter(|t| !t.is_empty())
    }

    /// `Dt` or `DtTm` under `n`.
    fn date(&self, n: u32, path: &str) -> R<NaiveDate> {
        if let Some(d) = self.child(n, "Dt") {
            return xsd_date(self.doc.text(d))
                .ok_or_else(|| self.doc.refuse(d, format!("{path}/Dt"), "is not a date"));
        }
        if let Some(d) = self.child(n, "DtTm") {
            return xsd_date_time(self.doc.text(d))
                .map(|t| t.date())
                .ok_or_else(|| {
                    self.doc
                        .refuse(d, format!("{path}/DtTm"), "is not a date and time")
                });
        }
        Err(self.doc.refuse(n, path, "has neither Dt nor DtTm"))
    }
}

fn read_camt053_doc(doc: &Doc<'_>) -> R<Statement> {
    let root = doc.root();
    let Some(ns) = doc.ns(root).filter(|ns| is_camt053(ns)) else {
        return Err(doc.refuse(root, "Document", "not in a camt.053.001 namespace"));
    };
    if doc.name(root) != "Document" {
        return Err(doc.refuse(root, show_name(doc.name(root)), "the root is not Document"));
    }
    let c = Camt { doc, ns: Some(ns) };
    let missing = |n: u32, path: &str| doc.refuse(n, path, "missing");
    let bk = c
        .child(root, "BkToCstmrStmt")
        .ok_or_else(|| missing(root, "Document/BkToCstmrStmt"))?;
    let base = "Document/BkToCstmrStmt";
    let msg_id = c
        .opt_text(bk, &["GrpHdr", "MsgId"])
        .ok_or_else(|| missing(bk, "Document/BkToCstmrStmt/GrpHdr/MsgId"))?;
    let stmts: Vec<u32> = c.all(bk, "Stmt").collect();
    if stmts.is_empty() {
        return Err(missing(bk, "Document/BkToCstmrStmt/Stmt"));
    }
    let mut ids = Unique::default();
    let mut movements = Vec::new();
    let mut stmt_ids = Vec::new();
    let mut ente_fiscal_code = None;
    let mut date = None;
    for (si, &stmt) in stmts.iter().enumerate() {
        let spath = format!("{base}/Stmt[{}]", si + 1);
        let stmt_id = c
            .opt_text(stmt, &["Id"])
            .ok_or_else(|| missing(stmt, &format!("{spath}/Id")))?;
        stmt_ids.push(stmt_id);
        let acct = c
            .child(stmt, "Acct")
            .ok_or_else(|| missing(stmt, &format!("{spath}/Acct")))?;
        let account = c
            .opt_text(acct, &["Id", "IBAN"])
            .or_else(|| c.opt_text(acct, &["Id", "Othr", "Id"]))
            .ok_or_else(|| missing(acct, &format!("{spath}/Acct/Id/IBAN")))?;
        if si == 0 {
            ente_fiscal_code = c.opt_text(acct, &["Ownr", "Id", "OrgId", "Othr", "Id"]);
            date = match c.path_child(stmt, &["FrToDt", "ToDtTm"]) {
                Some(t) => xsd_date_time(doc.text(t)).map(|t| t.date()),
                None => c
                    .child(stmt, "CreDtTm")
                    .and_then(|t| xsd_date_time(doc.text(t)))
                    .map(|t| t.date()),
            };
        }
        for (ei, ntry) in c.all(stmt, "Ntry").enumerate() {
            let epath = format!("{spath}/Ntry[{}]", ei + 1);
            if let Some(m) = read_entry(&c, ntry, &epath, &account, ei + 1)? {
                let id = ids.take(m.id.clone());
                movements.push(BankMovement { id, ..m });
            }
        }
    }
    Ok(Statement {
        format: StatementFormat::Camt053,
        document_id: format!("{msg_id}/{}", stmt_ids.join("+")),
        ente_fiscal_code,
        date,
        signature: None,
        movements,
    })
}

fn read_entry(
    c: &Camt<'_, '_>,
    ntry: u32,
    path: &str,
    account: &str,
    index: usize,
) -> R<Option<BankMovement>> {
    let doc = c.doc;
    if let Some(sts) = c.child(ntry, "Sts") {
        let code = c
            .child(sts, "Cd")
            .map_or_else(|| c.text(sts), |cd| c.text(cd));
        if code != "BOOK" {
            return Ok(None);
        }
    }
    let amt = c
        .child(ntry, "Amt")
        .ok_or_else(|| doc.refuse(ntry, format!("{path}/Amt"), "missing"))?;
    let apath = format!("{path}/Amt");
    let ccy = doc
        .attrs(amt)
        .iter()
        .find(|a| a.ns == 0 && a.name == "Ccy")
        .map(|a| a.value.as_str());
    match ccy {
        Some("EUR") => {}
        Some(_) => return Err(doc.refuse(amt, apath, "only amounts in EUR are accepted")),
        None => return Err(doc.refuse(amt, apath, "the Ccy attribute is missing")),
    }
    let amount_cents = decimal_cents(doc.text(amt), 18).map_err(|why| {
        let why = if why == "has more than 2 decimals" {
            "has more than 2 decimals (not a whole number of cents)"
        } else {
            why
        };
        doc.refuse(amt, apath.clone(), why)
    })?;
    if amount_cents < 0 {
        return Err(doc.refuse(amt, apath, "is negative"));
    }
    let ind = c
        .child(ntry, "CdtDbtInd")
        .ok_or_else(|| doc.refuse(ntry, format!("{path}/CdtDbtInd"), "missing"))?;
    let incoming = match c.text(ind).as_str() {
        "CRDT" => true,
        "DBIT" => false,
        _ => {
            return Err(doc.refuse(ind, format!("{path}/CdtDbtInd"), "is neither CRDT nor DBIT"));
        }
    };
    let reversal = match c.child(ntry, "RvslInd") {
        None => false,
        Some(r) => match c.text(r).as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(doc.refuse(r, format!("{path}/RvslInd"), "is not a boolean")),
        },
    };
    let value_date = c
        .child(ntry, "ValDt")
        .map(|v| c.date(v, &format!("{path}/ValDt")))
        .transpose()?;
    let booking_date = match c.child(ntry, "BookgDt") {
        Some(b) => c.date(b, &format!("{path}/BookgDt"))?,
        None => value_date.ok_or_else(|| doc.refuse(ntry, format!("{path}/BookgDt"), "missing"))?,
    };
    let entry_ref = c.opt_text(ntry, &["AcctSvcrRef"]);
    let ntry_ref = c.opt_text(ntry, &["NtryRef"]);
    let tx = c.path_child(ntry, &["NtryDtls", "TxDtls"]);
    let tx_text = |names: &[&str]| tx.and_then(|t| c.opt_text(t, names));
    let end_to_end_id = tx_text(&["Refs", "EndToEndId"]).filter(|e| e != "NOTPROVIDED");
    let reference = entry_ref
        .clone()
        .or_else(|| tx_text(&["Refs", "AcctSvcrRef"]))
        .or_else(|| tx_text(&["Refs", "TxId"]));
    let mut lines = Vec::new();
    for dtls in c.all(ntry, "NtryDtls") {
        for t in c.all(dtls, "TxDtls") {
            if let Some(rmt) = c.child(t, "RmtInf") {
                lines.extend(c.all(rmt, "Ustrd").map(|u| doc.text(u).to_owned()));
            }
        }
    }
    if let Some(a) = c.child(ntry, "AddtlNtryInf") {
        lines.push(doc.text(a).to_owned());
    }
    let id = entry_ref
        .or(ntry_ref)
        .unwrap_or_else(|| format!("{account}/{index}"));
    Ok(Some(BankMovement {
        id,
        account: account.to_owned(),
        incoming,
        amount_cents,
        booking_date,
        value_date,
        causale: lines.join("\n"),
        end_to_end_id,
        reference,
        reversal,
    }))
}

// ---------------------------------------------------------------------------------------
// CSV.

/// The columns of the documented CSV, in the suggested order.
pub const CSV_HEADER: &str =
    "id,account,direction,amount,booking_date,value_date,causale,end_to_end_id,reference";

const CSV_REQUIRED: [&str; 5] = ["id", "account", "direction", "amount", "booking_date"];

/// Reads the documented CSV statement:
///
/// - **Encoding**: UTF-8, with or without a byte-order mark.
/// - **Delimiter**: `;` when the header line contains one (outside quotes), else `,`.
/// - **Quoting** (RFC 4180): a field may be enclosed in double quotes, and must be when it
///   holds the delimiter, a quote or a line break; a quote inside is written twice (`""`).
///   Nothing may follow a closing quote but the delimiter or the end of the line, and a quote
///   may not appear inside an unquoted field. Lines end with CRLF or LF; empty lines are
///   skipped.
/// - **Header**: the first line names the columns, in any order, case-insensitive, spaces
///   around names ignored: `id`, `account`, `direction`, `amount` and `booking_date` are
///   required; `value_date`, `causale`, `end_to_end_id` and `reference` are optional (see
///   [`CSV_HEADER`]). An unknown or repeated column is refused. Every line has as many
///   fields as the header.
/// - **Fields** (spaces around them ignored, except in `causale`, kept as written):
///   - `id`: not empty, unique in the file; becomes [`BankMovement::id`];
///   - `account`: not empty (the IBAN or account code);
///   - `direction`: `IN` (a credit) or `OUT` (a debit), any case;
///   - `amount`: the positive amount in euro, digits with up to two decimals after `.`
///     (or after `,` when the delimiter is `;`), no sign, no thousands separators, at most
///     15 digits before the decimals: `1234.56`, `1234,56`, `12`;
///   - `booking_date` and `value_date` (empty: none): `YYYY-MM-DD` or `DD/MM/YYYY`;
///   - `causale`: free text, may be empty;
///   - `end_to_end_id`, `reference`: empty means none.
///
/// Reversals are not expressed (`reversal` is false). The document id is `csv-` followed by
/// the 16 lower-case hex digits of the 64-bit FNV-1a hash of the file's bytes, so the same
/// file always has the same id. Refusals give the line (1-based) and the column name.
pub fn parse_csv(bytes: &[u8]) -> Result<Statement, ReadError> {
    if bytes.len() > MAX_BYTES {
        return Err(ReadError::new(
            None,
            "(file)",
            format!("the file is larger than {MAX_BYTES} bytes"),
        ));
    }
    let document_id = format!("csv-{:016x}", fnv1a(bytes));
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ReadError::new(
            Some(u32::try_from(line).unwrap_or(u32::MAX)),
            "(file)",
            "the file is not UTF-8",
        )
    })?;
    let first_line = text.split('\n').next().unwrap_or("");
    let delimiter = if header_has_semicolon(first_line) {
        ';'
    } else {
        ','
    };
    let records = csv_records(text, delimiter)?;
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Err(ReadError::new(Some(1), "(header)", "the file is empty"));
    };
    let columns = csv_columns(&header)?;
    let col = |name: &str| columns.iter().position(|c| c == name);
    let mut seen = std::collections::HashSet::new();
    let mut movements = Vec::new();
    for record in records {
        if movements.len() == MAX_CSV_RECORDS {
            return Err(ReadError::new(
                Some(record.line),
                "(file)",
                format!("more than {MAX_CSV_RECORDS} records"),
            ));
        }
        if record.fields.len() != columns.len() {
            return Err(ReadError::new(
                Some(record.line),
                "(record)",
                format!(
                    "{} fields, the header has {}",
                    record.fields.len(),
                    columns.len()
                ),
            ));
        }
        let field = |name: &str| -> Option<(&str, u32, usize)> {
            col(name).map(|i| (record.fields[i].0.as_str(), record.fields[i].1, i + 1))
        };
        let fail = |name: &str, why: &str| {
            let (line, n) = field(name).map_or((record.line, 0), |(_, l, n)| (l, n));
            ReadError::new(Some(line), name, format!("{why} (column {n})"))
        };
        let trimmed = |name: &str| field(name).map(|(v, _, _)| v.trim()).unwrap_or("");
        let id = trimmed("id");
        if id.is_empty() {
            return Err(fail("id", "is empty"));
        }
        if !seen.insert(id.to_owned()) {
            return Err(fail("id", "repeats the id of an earlier line"));
        }
        let account = trimmed("account");
        if account.is_empty() {
            return Err(fail("account", "is empty"));
        }
        let incoming = match trimmed("direction").to_ascii_uppercase().as_str() {
            "IN" => true,
            "OUT" => false,
            _ => return Err(fail("direction", "is neither IN nor OUT")),
        };
        let amount_cents = csv_amount(trimmed("amount"), delimiter == ';')
            .ok_or_else(|| fail("amount", "is not an amount like 1234.56"))?;
        let booking_date = csv_date(trimmed("booking_date"))
            .ok_or_else(|| fail("booking_date", "is not a date YYYY-MM-DD or DD/MM/YYYY"))?;
        let value_date = match trimmed("value_date") {
            "" => None,
            v => Some(
                csv_date(v)
                    .ok_or_else(|| fail("value_date", "is not a date YYYY-MM-DD or DD/MM/YYYY"))?,
            ),
        };
        let none_if_empty = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        movements.push(BankMovement {
            id: id.to_owned(),
            account: account.to_owned(),
            incoming,
            amount_cents,
            booking_date,
            value_date,
            causale: field("causale")
                .map(|(v, _, _)| v.to_owned())
                .unwrap_or_default(),
            end_to_end_id: none_if_empty(trimmed("end_to_end_id")),
            reference: none_if_empty(trimmed("reference")),
            reversal: false,
        });
    }
    Ok(Statement {
        format: StatementFormat::Csv,
        document_id,
        ente_fiscal_code: None,
        date: None,
        signature: None,
        movements,
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn header_has_semicolon(line: &str) -> bool {
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// A record: its fields, each with the line it starts on, and its first line.
struct Record {
    fields: Vec<(String, u32)>,
    line: u32,
}

fn csv_records(text: &str, delimiter: char) -> R<Vec<Record>> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line: u32 = 1;
    loop {
        if chars.peek().is_none() {
            break;
        }
        let start_line = line;
        let mut fields = Vec::new();
        let mut any_quote = false;
        loop {
            let field_line = line;
            let mut value = String::new();
            let column = fields.len() + 1;
            if chars.peek() == Some(&'"') {
                any_quote = true;
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(ReadError::new(
                                Some(field_line),
                                format!("(column {column})"),
                                "a quoted field is not closed",
                            ));
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            value.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            value.push(c);
                        }
                    }
                }
                match chars.peek() {
                    None | Some('\n' | '\r') => {}
                    Some(&c) if c == delimiter => {}
                    Some(_) => {
                        return Err(ReadError::new(
                            Some(line),
                            format!("(column {column})"),
                            "text after a closing quote",
                        ));
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == delimiter || c == '\n' || c == '\r' {
                        break;
                    }
                    if c == '"' {
                        return Err(ReadError::new(
                            Some(line),
                            format!("(column {column})"),
                            "a quote inside an unquoted field",
                        ));
                    }
                    value.push(c);
                    chars.next();
                }
            }
            fields.push((value, field_line));
            match chars.next() {
                Some(c) if c == delimiter => continue,
                Some('\r') => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line += 1;
                    break;
                }
                Some('\n') => {
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        let blank = !any_quote && fields.len() == 1 && fields[0].0.trim().is_empty();
        if !blank {
            records.push(Record {
                fields,
                line: start_line,
            });
        }
    }
    Ok(records)
}

fn csv_columns(header: &Record) -> R<Vec<String>> {
    const KNOWN: [&str; 9] = [
        "id",
        "account",
        "direction",
        "amount",
        "booking_date",
        "value_date",
        "causale",
        "end_to_end_id",
        "reference",
    ];
    let mut columns: Vec<String> = Vec::new();
    for (i, (name, line)) in header.fields.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        let at = |why: String| ReadError::new(Some(*line), format!("(column {})", i + 1), why);
        if !KNOWN.contains(&name.as_str()) {
            return Err(at(format!("unknown column; the columns are {CSV_HEADER}")));
        }
        if columns.contains(&name) {
            return Err(at(format!("the column {name} appears twice")));
        }
        columns.push(name);
    }
    for required in CSV_REQUIRED {
        if !columns.iter().any(|c| c == required) {
            return Err(ReadError::new(
                Some(header.line),
                required,
                "the header lacks this required column",
            ));
        }
    }
    Ok(columns)
}

fn csv_amount(v: &str, comma: bool) -> Option<i64> {
    let (int, frac) = match v.find(|c| c == '.' || (comma && c == ',')) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, ""),
    };
    let ok = !int.is_empty()
        && int.len() <= 15
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (frac.is_empty() != v.contains(['.', ',']));
    if !ok {
        return None;
    }
    let mut cents: i64 = int.parse().ok()?;
    let frac_cents: i64 = format!("{frac:0<2}").parse().ok()?;
    cents = cents.checked_mul(100)?.checked_add(frac_cents)?;
    Some(cents)
}

fn csv_date(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    let shape = |dash: &[usize], sep: u8| {
        b.len() == 10
            && b.iter().enumerate().all(|(i, &c)| {
                if dash.contains(&i) {
                    c == sep
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    if shape(&[4, 7], b'-') {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()
    } else if shape(&[2, 5], b'/') {
        NaiveDate::parse_from_str(v, "%d/%m/%Y").ok()
    } else {
        None
    }
}
