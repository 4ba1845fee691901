//! A small, bounded XML tree reader over quick-xml, for documents that come from outside: the
//! namespaces are resolved, a DOCTYPE (and so every entity but the five predefined ones) is
//! refused, processing instructions other than the declaration are refused, and depth, element
//! count and text size are limited before anything is allocated for them. The tree is built
//! without recursion. Error messages never quote the document.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, Event};
use quick_xml::name::ResolveResult;

/// Deepest element nesting accepted (the root is depth 1).
pub(crate) const MAX_DEPTH: usize = 24;
/// Most elements in one document.
pub(crate) const MAX_ELEMENTS: usize = 20_000;
/// Most text, in bytes, in one document (all text nodes and attribute values together).
pub(crate) const MAX_TEXT: usize = 1 << 20;

/// The bounds of one kind of document; [`Limits::DEFAULT`] for SOAP messages, larger ones for
/// the reporting flows a reader asks for with [`parse_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Deepest element nesting (the root is depth 1).
    pub depth: usize,
    /// Most elements.
    pub elements: usize,
    /// Most text, in bytes (all text nodes and attribute values together).
    pub text: usize,
}

impl Limits {
    /// The limits of [`parse`]: [`MAX_DEPTH`], [`MAX_ELEMENTS`], [`MAX_TEXT`].
    pub const DEFAULT: Limits = Limits {
        depth: MAX_DEPTH,
        elements: MAX_ELEMENTS,
        text: MAX_TEXT,
    };
}

/// Why a document could not be read into a tree, and the 1-based line where the reader was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XmlError {
    pub why: String,
    pub line: u32,
}

/// An element: resolved namespace, local name, attributes, text and child elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// The namespace the name resolves to; `None` for no namespace.
    pub ns: Option<String>,
    pub name: String,
    /// The attributes other than namespace declarations.
    pub attributes: Vec<Attribute>,
    /// The character content. When the element has child elements and the text between them is
    /// only whitespace, this is empty; otherwise it is the concatenated text, as written
    /// (references resolved, line ends normalised).
    pub text: String,
    pub children: Vec<Element>,
    /// The 1-based line of the start tag in the document.
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

impl Element {
    fn new(ns: Option<String>, name: String, attributes: Vec<Attribute>, line: u32) -> Self {
        Self {
            ns,
            name,
            attributes,
            text: String::new(),
            children: Vec::new(),
            line,
        }
    }

    /// Whether the element is `name` in namespace `ns`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// The value of an unqualified attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }
}

/// Whether `c` may appear in an XML 1.0 document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `s` is made only of XML whitespace (space, tab, CR, LF).
pub(crate) fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Reads a whole document into its root element, within [`Limits::DEFAULT`].
pub(crate) fn parse(input: &[u8]) -> Result<Element, String> {
    parse_with(input, Limits::DEFAULT).map_err(|e| e.why)
}

/// Reads a whole document into its root element, within `limits`; the error says the line.
pub(crate) fn parse_with(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| XmlError {
        why: format!(
            "the document is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ),
        line: line_at(input, e.valid_up_to()),
    })?;
    let mut builder = Builder {
        limits,
        stack: Vec::new(),
        root: None,
        elements: 0,
        text_bytes: 0,
        seen_event: false,
        line: 1,
        counted_to: 0,
    };
    let mut reader = NsReader::from_str(text);
    match builder.run(text, &mut reader) {
        Ok(root) => Ok(root),
        Err(why) => {
            let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            Err(XmlError {
                why,
                line: line_at(input, at.min(input.len())),
            })
        }
    }
}

/// The 1-based line of byte `offset` of `input`.
pub(crate) fn line_at(input: &[u8], offset: usize) -> u32 {
    let end = offset.min(input.len());
    let newlines = input[..end].iter().filter(|&&b| b == b'\n').count();
    u32::try_from(newlines).map_or(u32::MAX, |n| n.saturating_add(1))
}

struct Builder {
    limits: Limits,
    /// The open elements, the innermost last.
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
    text_bytes: usize,
    seen_event: bool,
    /// The line of byte `counted_to` of the document.
    line: u32,
    counted_to: usize,
}

impl Builder {
    /// The line of byte `at`, counting forward from the last position asked for.
    fn line_of(&mut self, text: &str, at: u64) -> u32 {
        let at = usize::try_from(at).unwrap_or(usize::MAX).min(text.len());
        if at > self.counted_to {
            let newlines = text.as_bytes()[self.counted_to..at]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line = self
                .line
                .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.counted_to = at;
        }
        self.line
    }

    fn run(&mut self, text: &str, reader: &mut NsReader<&[u8]>) -> Result<Element, String> {
        loop {
            let at = reader.buffer_position();
            let (ns, event) = match reader.read_resolved_event() {
                Ok((ns, event)) => (resolve(ns)?, event),
                Err(e) => {
                    return Err(format!(
                        "not well-formed XML ({}) at byte {}",
                        error_kind(&e),
                        reader.error_position()
                    ));
                }
            };
            let first = !self.seen_event;
            self.seen_event = true;
            match event {
                Event::Start(start) => {
                    let line = self.line_of(text, at);
                    let el = self.open(reader, ns, &start, line)?;
                    self.stack.push(el);
                }
                Event::Empty(start) => {
                    let line = self.line_of(text, at);
                    let el = self.open(reader, ns, &start, line)?;
                    self.close(el);
                }
                Event::End(_) => {
                    let Some(mut el) = self.stack.pop() else {
                        return Err(format!(
                            "not well-formed XML (end tag without start) at byte {at}"
                        ));
                    };
                    if !el.children.is_empty() && is_xml_whitespace(&el.text) {
                        el.text.clear();
                    }
                    self.close(el);
                }
                Event::Text(t) => self.text(&t.xml10_content(), at)?,
                Event::CData(t) => self.text(&t.xml10_content(), at)?,
                Event::GeneralRef(r) => {
                    let c = resolve_reference(&r, at)?;
                    let mut buf = [0u8; 4];
                    self.text(c.encode_utf8(&mut buf), at)?;
                }
                Event::Comment(_) => {}
                Event::Decl(decl) => {
                    if !first {
                        return Err(format!("misplaced XML declaration at byte {at}"));
                    }
                    if let Some(encoding) = decl.encoding() {
                        let encoding =
                            encoding.map_err(|_| "malformed XML declaration".to_owned())?;
                        if !encoding.eq_ignore_ascii_case("utf-8") {
                            return Err("only UTF-8 documents are accepted".to_owned());
                        }
                    }
                }
                Event::PI(_) => {
                    return Err(format!(
                        "processing instructions are not accepted (byte {at})"
                    ));
                }
                Event::DocType(_) => {
                    return Err(format!("a DOCTYPE is not accepted (byte {at})"));
                }
                Event::Eof => break,
            }
        }
        if !self.stack.is_empty() {
            return Err("not well-formed XML (the document ends inside an element)".to_owned());
        }
        self.root
            .take()
            .ok_or_else(|| "not XML: the document has no element".to_owned())
    }

    fn open(
        &mut self,
        reader: &NsReader<&[u8]>,
        ns: Option<String>,
        start: &quick_xml::events::BytesStart<'_>,
        line: u32,
    ) -> Result<Element, String> {
        if self.root.is_some() {
            return Err("not well-formed XML (more than one root element)".to_owned());
        }
        if self.stack.len() >= self.limits.depth {
            return Err(format!(
                "the document nests elements deeper than {} levels",
                self.limits.depth
            ));
        }
        self.elements += 1;
        if self.elements > self.limits.elements {
            return Err(format!(
                "the document has more than {} elements",
                self.limits.elements
            ));
        }
        let name = start.local_name().as_ref().to_owned();
        let mut attributes = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|_| "not well-formed XML (malformed attribute)".to_owned())?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|_| "not well-formed XML (bad reference in an attribute)".to_owned())?;
            if !value.chars().all(is_xml_char) {
                return Err("a character not allowed in XML appears in an attribute".to_owned());
            }
            self.count_text(value.len())?;
            let (ans, local) = reader.resolver().resolve_attribute(attr.key);
            let ans = resolve(ans)?;
            attributes.push(Attribute {
                ns: ans,
                name: local.as_ref().to_owned(),
                value: value.into_owned(),
            });
        }
        Ok(Element::new(ns, name, attributes, line))
    }

    fn close(&mut self, el: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
    }

    fn text(&mut self, text: &str, at: u64) -> Result<(), String> {
        if let Some(bad) = text.chars().position(|c| !is_xml_char(c)) {
            return Err(format!(
                "a character not allowed in XML appears near byte {}",
                at + bad as u64
            ));
        }
        if self.stack.is_empty() {
            return if is_xml_whitespace(text) {
                Ok(())
            } else {
                Err(format!(
                    "not well-formed XML (text outside the root element) at byte {at}"
                ))
            };
        }
        self.count_text(text.len())?;
        if let Some(el) = self.stack.last_mut() {
            el.text.push_str(text);
        }
        Ok(())
    }

    fn count_text(&mut self, len: usize) -> Result<(), String> {
        self.text_bytes += len;
        if self.text_bytes > self.limits.text {
            return Err(format!(
                "the document has more than {} bytes of text",
                self.limits.text
            ));
        }
        Ok(())
    }
}

fn resolve(ns: ResolveResult<'_>) -> Result<Option<String>, String> {
    match ns {
        ResolveResult::Bound(ns) if ns.0.is_empty() => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(ns.0.to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => {
            Err("not well-formed XML (undeclared namespace prefix)".to_owned())
        }
    }
}

fn resolve_reference(r: &BytesRef<'_>, at: u64) -> Result<char, String> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            _ => Err(format!("a bad character reference at byte {at}")),
        };
    }
    match quick_xml::escape::resolve_predefined_entity(r) {
        Some(s) => s
            .chars()
            .next()
            .ok_or_else(|| format!("an undefined entity at byte {at}")),
        None => Err(format!(
            "an undefined entity reference at byte {at} (only the five predefined ones are accepted)"
        )),
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

/// A schema violation found while walking a tree: the path of the element at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub path: String,
    pub why: String,
    /// The 1-based line of the element at fault (or of where it is missing), when known.
    pub line: Option<u32>,
}

impl Fail {
    pub fn describe(&self) -> String {
        format!("{}: {}", self.path, self.why)
    }
}

pub(crate) type Checked<T> = Result<T, Fail>;

/// An element being checked against a schema: where it is and how its values may be quoted.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub el: &'a Element,
    pub path: String,
    /// Under a debtor or payer: values are personal data and are never quoted in an error.
    pub private: bool,
    /// Besides no namespace, the namespace children may be qualified with (a document written
    /// with a default namespace qualifies the children the schema leaves unqualified).
    pub alt_ns: Option<&'static str>,
}

impl<'a> Node<'a> {
    pub fn root(el: &'a Element, alt_ns: Option<&'static str>) -> Self {
        Self {
            el,
            path: show_name(&el.name),
            private: false,
            alt_ns,
        }
    }

    /// The same node, whose values (and those below it) are personal data.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    pub fn fail(&self, why: impl Into<String>) -> Fail {
        Fail {
            path: self.path.clone(),
            why: why.into(),
            line: Some(self.el.line),
        }
    }

    /// A value for an error message: quoted and truncated, followed by a space; nothing at all
    /// for personal data.
    pub fn quote(&self, value: &str) -> String {
        if self.private {
            return String::new();
        }
        let mut shown: String = value.chars().take(40).collect();
        if value.chars().nth(40).is_some() {
            shown.push('…');
        }
        format!("{shown:?} ")
    }

    /// The children of a complex element, to be consumed in schema order.
    pub fn seq(&self) -> Checked<Seq<'a>> {
        if !is_xml_whitespace(&self.el.text) {
            return Err(self.fail("text is not allowed in this element"));
        }
        Ok(Seq {
            parent: self.clone(),
            pos: 0,
        })
    }

    /// The text of a simple element, as written.
    pub fn text(&self) -> Checked<&'a str> {
        if !self.el.children.is_empty() {
            return Err(self.fail("child elements are not allowed in this element"));
        }
        Ok(&self.el.text)
    }
}

/// A cursor over the child elements of a complex element, matching a `sequence`.
pub(crate) struct Seq<'a> {
    parent: Node<'a>,
    pos: usize,
}

impl<'a> Seq<'a> {
    fn child(&self, el: &'a Element, shown: String) -> Node<'a> {
        Node {
            el,
            path: format!("{}/{}", self.parent.path, shown),
            private: self.parent.private,
            alt_ns: self.parent.alt_ns,
        }
    }

    /// Whether the next child is `name` in `ns` (`None`: unqualified, or in the alternative
    /// namespace). A child with that name in another namespace is an error.
    fn next_is(&self, ns: Option<&str>, name: &str) -> Checked<bool> {
        let Some(el) = self.parent.el.children.get(self.pos) else {
            return Ok(false);
        };
        if el.name != name {
            return Ok(false);
        }
        let ok = match ns {
            Some(ns) => el.ns.as_deref() == Some(ns),
            None => el.ns.is_none() || el.ns.as_deref() == self.parent.alt_ns,
        };
        if ok {
            return Ok(true);
        }
        let shown = el.ns.as_deref().map_or_else(
            || "no namespace".to_owned(),
            |n| format!("namespace {:?}", truncate(n, 80)),
        );
        let expected = match ns.or(self.parent.alt_ns) {
            Some(n) if ns.is_some() => format!("namespace {n:?}"),
            Some(n) => format!("no namespace or {n:?}"),
            None => "no namespace".to_owned(),
        };
        Err(self
            .child(el, show_name(name))
            .fail(format!("the element is in {shown}, expected {expected}")))
    }

    /// The next child if it is `name` (optional element).
    pub fn opt(&mut self, name: &str) -> Checked<Option<Node<'a>>> {
        self.opt_in(None, name)
    }

    /// The next child, which must be `name` (required element).
    pub fn req(&mut self, name: &str) -> Checked<Node<'a>> {
        self.req_in(None, name)
    }

    pub fn opt_in(&mut self, ns: Option<&str>, name: &str) -> Checked<Option<Node<'a>>> {
        if !self.next_is(ns, name)? {
            return Ok(None);
        }
        let el = &self.parent.el.children[self.pos];
        self.pos += 1;
        Ok(Some(self.child(el, show_name(name))))
    }

    pub fn req_in(&mut self, ns: Option<&str>, name: &str) -> Checked<Node<'a>> {
        if let Some(node) = self.opt_in(ns, name)? {
            return Ok(node);
        }
        let (why, line) = match self.parent.el.children.get(self.pos) {
            Some(other) => (
                format!("missing (found {} instead)", show_name(&other.name)),
                other.line,
            ),
            None => ("missing".to_owned(), self.parent.el.line),
        };
        Err(Fail {
            path: format!("{}/{}", self.parent.path, show_name(name)),
            why,
            line: Some(line),
        })
    }

    /// One to `max` consecutive `name` children; each path gets its 1-based index.
    pub fn many(&mut self, name: &str, max: usize) -> Checked<Vec<Node<'a>>> {
        let mut items = Vec::new();
        let first = self.req(name)?;
        items.push(first);
        while let Some(mut node) = self.opt(name)? {
            if items.len() == max {
                return Err(Fail {
                    path: format!("{}/{}", self.parent.path, show_name(name)),
                    why: format!("more than {max} {name} elements"),
                    line: Some(node.el.line),
                });
            }
            node.path = format!(
                "{}/{}[{}]",
                self.parent.path,
                show_name(name),
                items.len() + 1
            );
            items.push(node);
        }
        if items.len() > 1 {
            items[0].path = format!("{}/{}[1]", self.parent.path, show_name(name));
        }
        Ok(items)
    }

    /// The local name of the next child, if any.
    pub fn peek_name(&self) -> Option<&'a str> {
        self.parent
            .el
            .children
            .get(self.pos)
            .map(|e| e.name.as_str())
    }

    /// No children may follow.
    pub fn end(self) -> Checked<()> {
        match self.parent.el.children.get(self.pos) {
            Some(el) => Err(self
                .child(el, show_name(&el.name))
                .fail("unexpected element here")),
            None => Ok(()),
        }
    }
}

/// An element name fit for an error message: the name if it looks like one, else a placeholder.
pub(crate) fn show_name(name: &str) -> String {
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

/// The first `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_text_and_references_are_resolved() {
        let el = parse(
            br#"<?xml version="1.0"?><a:r xmlns:a="urn:a" xmlns="urn:d"><c x="1">x &lt;&#65;&#x42;<![CDATA[<z>]]></c>
            <e xmlns=""/><!-- c --></a:r>"#,
        )
        .expect("parses");
        assert!(el.is("urn:a", "r"));
        assert_eq!(el.text, "");
        assert_eq!(el.children.len(), 2);
        assert!(el.children[0].is("urn:d", "c"));
        assert_eq!(el.children[0].text, "x <AB<z>");
        assert_eq!(el.children[0].attribute("x"), Some("1"));
        assert_eq!(el.children[1].ns, None);
    }

    #[test]
    fn a_doctype_an_entity_or_a_processing_instruction_is_refused() {
        for doc in [
            &br#"<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>"#[..],
            br"<r>&e;</r>",
            br"<r><?pi x?></r>",
            br"<r>&#0;</r>",
            b"<r>\x01</r>",
            br"<r/><r/>",
            br"<r>",
            br"text",
            br"",
            b"\xff<r/>",
            br#"<?xml version="1.0" encoding="ISO-8859-1"?><r/>"#,
            br"<p:r/>",
        ] {
            assert!(parse(doc).is_err(), "{}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn elements_and_errors_know_their_line() {
        let el = parse(b"<?xml version=\"1.0\"?>\n<r>\n  <a/>\n\n  <b>x\ny</b><c/>\n</r>")
            .expect("parses");
        assert_eq!(el.line, 2);
        let lines: Vec<u32> = el.children.iter().map(|c| c.line).collect();
        assert_eq!(lines, [3, 5, 6]);
        let err = parse_with(b"<r>\n<a>\n</b></r>", Limits::DEFAULT).expect_err("ill-formed");
        assert_eq!(err.line, 3);
    }

    #[test]
    fn larger_limits_can_be_asked_for() {
        let many = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS));
        let limits = Limits {
            elements: MAX_ELEMENTS + 1,
            ..Limits::DEFAULT
        };
        assert!(parse_with(many.as_bytes(), limits).is_ok());
        let err = parse_with(many.as_bytes(), Limits::DEFAULT).expect_err("too many");
        assert!(err.why.contains("elements"), "{}", err.why);
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(deep.as_bytes()).is_err());
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
        let many = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS));
        assert!(parse(many.as_bytes()).is_err());
        let big = format!("<r>{}</r>", "x".repeat(MAX_TEXT + 1));
        assert!(parse(big.as_bytes()).is_err());
    }
}
