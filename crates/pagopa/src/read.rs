//! What a reader of an incoming document says when it refuses it: the element at fault (a path
//! such as `FlussoRiversamento/datiSingoliPagamenti[3]/singoloImportoPagato`, or a JSON pointer,
//! or a CSV column), the line of the document where it is (1-based, when known) and why. The
//! message never quotes personal data.

use serde::Serialize;

/// A document refused whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{element}: {why}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ReadError {
    /// 1-based line of the document, when the reader knows it.
    pub line: Option<u32>,
    /// The element, field or column at fault.
    pub element: String,
    /// Why it is refused.
    pub why: String,
}

impl ReadError {
    pub fn new(line: Option<u32>, element: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            line,
            element: element.into(),
            why: why.into(),
        }
    }
}
