//! Shared by the pagopa test binaries (each declares `mod support;`): the tools of
//! `scripts/test-tools.sh` (libxml2's `xmllint`, Python), the schema validator, the official
//! schemas' paths and XPath helpers; [`samples`] holds the SOAP samples and strategies.
#![allow(dead_code, reason = "each test binary uses a part of these helpers")]

pub mod samples;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use pagopa::{NS_PA_FOR_NODE, NS_SOAP_ENV, opi};

pub const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// A file of the official pagoPA reference material (schemas, WSDL).
pub fn reference(rel: &str) -> PathBuf {
    Path::new(MANIFEST)
        .join("../../../shared/reference/pagopa")
        .join(rel)
}

pub fn pa_for_node_xsd() -> PathBuf {
    reference("wsdl/xsd/paForNode.xsd")
}

pub fn envelope_xsd() -> PathBuf {
    reference("xsd-common/envelope.xsd")
}

pub fn marca_da_bollo_xsd() -> PathBuf {
    reference("xsd-common/MarcaDaBollo.xsd")
}

pub fn fdr_xsd() -> PathBuf {
    reference("xsd-common/FlussoRiversamento_1_0_4.xsd")
}

pub fn opi_xsd(version: opi::Version) -> PathBuf {
    reference("treasury").join(version.schema_file())
}

/// Installs xmllint and Python once per test binary; returns the Python interpreter.
pub fn tools() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = Path::new(MANIFEST).join("../../scripts/test-tools.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/test-tools.sh");
        assert!(
            out.status.success(),
            "test-tools failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).expect("utf-8 output of test-tools.sh");
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("test-tools.sh prints the Python interpreter")
                .trim(),
        )
    })
}

/// Validates every document with one `xmllint` run; one result per document, with the
/// validator's messages about that document on failure.
pub fn xmllint(xsd: &Path, docs: &[String]) -> Vec<Result<(), String>> {
    assert!(!docs.is_empty(), "no documents to validate");
    tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let paths: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.path().join(format!("doc-{i}.xml"));
            std::fs::write(&path, doc).expect("write document");
            path
        })
        .collect();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .args(&paths)
        .output()
        .expect("run xmllint");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("failed to compile"),
        "schema did not compile: {stderr}"
    );
    let results: Vec<Result<(), String>> = paths
        .iter()
        .map(|p| {
            let p = p.display().to_string();
            if stderr.lines().any(|l| l == format!("{p} validates")) {
                Ok(())
            } else {
                // `doc-1.xml` is a prefix of `doc-10.xml`: a message of this document goes on
                // with a colon or a space.
                Err(stderr
                    .lines()
                    .filter(|l| {
                        l.strip_prefix(&p)
                            .is_some_and(|rest| rest.starts_with([':', ' ']))
                    })
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
        })
        .collect();
    assert_eq!(
        out.status.success(),
        results.iter().all(Result::is_ok),
        "xmllint's exit status ({}) disagrees with its messages: {stderr}",
        out.status
    );
    results
}

/// [`xmllint`] for documents that must all be valid: the error lists what xmllint said and
/// the documents at fault.
pub fn validate(schema: &Path, docs: &[String]) -> Result<(), String> {
    let mut report = String::new();
    for (i, r) in xmllint(schema, docs).into_iter().enumerate() {
        if let Err(e) = r {
            report.push_str(&format!("{e}\n--- document {i}:\n{}\n", docs[i]));
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

/// Panics, naming the document and what xmllint said, unless every document is valid.
pub fn assert_valid(xsd: &Path, docs: &[String]) {
    for (i, r) in xmllint(xsd, docs).into_iter().enumerate() {
        if let Err(e) = r {
            panic!("document {i} is invalid: {e}\n{}", docs[i]);
        }
    }
}

/// Validates whole envelopes: a schema importing both `envelope.xsd` and `paForNode.xsd`, so
/// the Envelope is checked strictly and the Body's content (`processContents="lax"`) against
/// the paForNode declarations.
pub fn validate_envelopes(docs: &[String]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("envelope-and-paForNode.xsd");
    std::fs::write(
        &schema,
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="{NS_SOAP_ENV}" schemaLocation="{}"/>
  <xs:import namespace="{NS_PA_FOR_NODE}" schemaLocation="{}"/>
</xs:schema>"#,
            envelope_xsd().display(),
            pa_for_node_xsd().display()
        ),
    )
    .expect("write wrapper schema");
    validate(&schema, docs)
}

/// The Body's single child of one of our envelopes, as a document of its own (its namespace
/// is declared on it).
pub fn body_child(envelope: &str) -> String {
    let start = envelope
        .find("<soapenv:Body>")
        .expect("a soapenv:Body start tag")
        + "<soapenv:Body>".len();
    let end = envelope
        .rfind("</soapenv:Body>")
        .expect("a soapenv:Body end tag");
    envelope[start..end].to_owned()
}

/// Runs an XPath expression over a document with `xmllint --xpath`; its answer without the
/// line feed xmllint ends it with.
pub fn xpath(doc: &str, expr: &str) -> String {
    tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doc.xml");
    std::fs::write(&path, doc).expect("write document");
    let out = Command::new("xmllint")
        .arg("--nonet")
        .arg("--xpath")
        .arg(expr)
        .arg(&path)
        .output()
        .expect("run xmllint");
    assert!(
        out.status.success(),
        "xmllint --xpath {expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 xpath answer");
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

/// The text of the first element with this local name, as `xmllint --xpath` reads it.
pub fn xpath_text(doc: &str, local_name: &str) -> String {
    xpath(
        doc,
        &format!("string((//*[local-name()='{local_name}'])[1])"),
    )
}

/// The texts of all elements with this local name, in document order.
pub fn xpath_texts(doc: &str, local_name: &str) -> Vec<String> {
    let n: usize = xpath(doc, &format!("count(//*[local-name()='{local_name}'])"))
        .trim()
        .parse()
        .expect("a count");
    (1..=n)
        .map(|i| {
            xpath(
                doc,
                &format!("string((//*[local-name()='{local_name}'])[{i}])"),
            )
        })
        .collect()
}
