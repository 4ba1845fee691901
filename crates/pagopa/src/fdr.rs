//! The reporting flow `FlussoRiversamento` (schema `FlussoRiversamento_1_0_4.xsd`): the typed
//! flow, its checks against the schema's facets, and the writer. The types hold what is on the
//! wire (unescaped text, amounts in cents) so a reader can fill them too.
//!
//! Two deliberate departures from the letter of the documents, both towards the XSD:
//! - codes 4 (Stand-In) and 8 (Stand-In without RPT) are written although the 1.0.4 schema's
//!   enumeration lists only 0, 3 and 9 (the node's `develop` schema lists all five);
//!   [`OutcomeCode::in_xsd_1_0_4`] says which is which;
//! - Allegato A 1.3.1 wants a revoked line's amount negative, but `stImporto` is `\d+\.\d{2}`
//!   with a minimum of 0.01, so every amount here is positive and counts in the totals.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use self::text::{check_text, escape, euro};

/// Target namespace of `FlussoRiversamento_1_0_4.xsd`.
pub const NS: &str = "http://www.digitpa.gov.it/schemas/2011/Pagamenti/";

/// Largest amount of a line and of the flow total, in cents (`999999999.99`).
pub const MAX_AMOUNT_CENTS: i64 = 99_999_999_999;

/// `versioneOggetto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    V1_0,
    V1_1,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "1.0" => Some(Self::V1_0),
            "1.1" => Some(Self::V1_1),
            _ => None,
        }
    }
}

/// `tipoIdentificativoUnivoco` of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SenderKind {
    /// `G`: legal person (fiscal code or VAT number).
    LegalPerson,
    /// `A`: ABI code.
    Abi,
    /// `B`: BIC (ISO 9362).
    Bic,
}

impl SenderKind {
    pub fn code(self) -> char {
        match self {
            Self::LegalPerson => 'G',
            Self::Abi => 'A',
            Self::Bic => 'B',
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "G" => Some(Self::LegalPerson),
            "A" => Some(Self::Abi),
            "B" => Some(Self::Bic),
            _ => None,
        }
    }
}

/// `istitutoMittente`: the PSP that wrote the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub kind: SenderKind,
    /// `codiceIdentificativoUnivoco`, 1..35 characters.
    pub id: String,
    /// `denominazioneMittente`, 3..70 characters.
    pub name: Option<String>,
}

/// `istitutoRicevente`: the creditor body (always type `G`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiver {
    /// The ente's fiscal code, 1..35 characters.
    pub id: String,
    /// `denominazioneRicevente`, 1..140 characters.
    pub name: Option<String>,
}

/// `codiceEsitoSingoloPagamento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OutcomeCode {
    /// 0: paid.
    Paid,
    /// 3: revoked (storno).
    Revoked,
    /// 4: paid in Stand-In.
    StandIn,
    /// 8: paid in Stand-In without RPT.
    StandInNoRpt,
    /// 9: paid without RPT/receipt.
    NoRpt,
}

impl OutcomeCode {
    pub const ALL: [OutcomeCode; 5] = [
        Self::Paid,
        Self::Revoked,
        Self::StandIn,
        Self::StandInNoRpt,
        Self::NoRpt,
    ];

    pub fn code(self) -> u8 {
        match self {
            Self::Paid => 0,
            Self::Revoked => 3,
            Self::StandIn => 4,
            Self::StandInNoRpt => 8,
            Self::NoRpt => 9,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether `FlussoRiversamento_1_0_4.xsd` lists this code (it lacks 4 and 8).
    pub fn in_xsd_1_0_4(self) -> bool {
        matches!(self, Self::Paid | Self::Revoked | Self::NoRpt)
    }
}

/// One `datiSingoliPagamenti` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLine {
    /// `identificativoUnivocoVersamento`, 1..35 characters.
    pub iuv: String,
    /// `identificativoUnivocoRiscossione` (the receipt id / payment token), 1..35 characters.
    pub iur: String,
    /// `indiceDatiSingoloPagamento`, the transfer index 1..5.
    pub index: Option<u8>,
    /// `singoloImportoPagato`, 1..=[`MAX_AMOUNT_CENTS`].
    pub amount_cents: i64,
    pub outcome: OutcomeCode,
    /// `dataEsitoSingoloPagamento`.
    pub date: NaiveDate,
}

/// A `FlussoRiversamento`. The header totals are not stored: they are always the count and
/// the sum of `lines` ([`Flow::total_payments`], [`Flow::total_amount_cents`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub version: Version,
    /// `identificativoFlusso`, `[a-zA-Z0-9\-_]{1,35}`; see [`flow_id`].
    pub flow_id: String,
    /// `dataOraFlusso`, the node's local civil time without offset; written to the second.
    pub flow_date_time: NaiveDateTime,
    /// `identificativoUnivocoRegolamento`: the SCT's TRN or EndToEndId, 1..35 characters.
    pub regulation_id: String,
    /// `dataRegolamento`: the execution date of the SCT.
    pub regulation_date: NaiveDate,
    pub sender: Sender,
    /// `codiceBicBancaDiRiversamento`, 1..35 characters.
    pub bic_pouring_bank: Option<String>,
    pub receiver: Receiver,
    /// At least one.
    pub lines: Vec<FlowLine>,
}

/// A field of a flow that the schema would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FlowError {
    /// The element's name (with the line number for `datiSingoliPagamenti`).
    pub field: String,
    pub problem: String,
}

impl FlowError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl Flow {
    /// `numeroTotalePagamenti`.
    pub fn total_payments(&self) -> usize {
        self.lines.len()
    }

    /// `importoTotalePagamenti`, in cents.
    pub fn total_amount_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.amount_cents).sum()
    }

    /// Checks every facet of the 1.0.4 schema except the outcome enumeration (codes 4 and 8
    /// are accepted; see the module documentation). A flow that passes renders valid.
    pub fn validate(&self) -> Result<(), FlowError> {
        check_flow_id(&self.flow_id)?;
        text35("identificativoUnivocoRegolamento", &self.regulation_id)?;
        text35("codiceIdentificativoUnivoco", &self.sender.id)?;
        if let Some(name) = &self.sender.name {
            text_range("denominazioneMittente", name, 3, 70)?;
        }
        if let Some(bic) = &self.bic_pouring_bank {
            text35("codiceBicBancaDiRiversamento", bic)?;
        }
        text35("identificativoUnivocoRicevente", &self.receiver.id)?;
        if let Some(name) = &self.receiver.name {
            text_range("denominazioneRicevente", name, 1, 140)?;
        }
        if self.lines.is_empty() {
            return Err(FlowError::new(
                "datiSingoliPagamenti",
                "a flow needs at least one line",
            ));
        }
        for (i, line) in self.lines.iter().enumerate() {
            let at = |name: &str| format!("datiSingoliPagamenti[{}].{name}", i + 1);
            text35(&at("identificativoUnivocoVersamento"), &line.iuv)?;
            text35(&at("identificativoUnivocoRiscossione"), &line.iur)?;
            if let Some(index) = line.index
                && !(1..=5).contains(&index)
            {
                return Err(FlowError::new(
                    at("indiceDatiSingoloPagamento"),
                    format!("{index} is outside 1..5"),
                ));
            }
            if !(1..=MAX_AMOUNT_CENTS).contains(&line.amount_cents) {
                return Err(FlowError::new(
                    at("singoloImportoPagato"),
                    format!("{} is outside 0.01..999999999.99", line.amount_cents),
                ));
            }
        }
        let total = self.total_amount_cents();
        if total > MAX_AMOUNT_CENTS {
            return Err(FlowError::new(
                "importoTotalePagamenti",
                format!("{} exceeds 999999999.99", euro(total)),
            ));
        }
        Ok(())
    }
}

fn check_flow_id(id: &str) -> Result<(), FlowError> {
    let ok = (1..=35).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FlowError::new(
            "identificativoFlusso",
            format!("{id:?} does not match [a-zA-Z0-9\\-_]{{1,35}}"),
        ))
    }
}

fn text35(field: &str, value: &str) -> Result<(), FlowError> {
    text_range(field, value, 1, 35)
}

fn text_range(field: &str, value: &str, min: usize, max: usize) -> Result<(), FlowError> {
    check_text(value, min, Some(max)).map_err(|problem| FlowError::new(field, problem))
}

/// The SACI identifier `<dataRegolamento YYYY-MM-DD><PSP id>-<n>`; refuses a PSP id with
/// characters outside `[a-zA-Z0-9\-_]` or a result longer than 35 characters.
pub fn flow_id(regulation_date: NaiveDate, psp_id: &str, n: u64) -> Result<String, FlowError> {
    if psp_id.is_empty() {
        return Err(FlowError::new("identificativoFlusso", "empty PSP id"));
    }
    let id = format!("{}{psp_id}-{n}", regulation_date.format("%Y-%m-%d"));
    check_flow_id(&id)?;
    Ok(id)
}

/// Writes the XML declaration and the `FlussoRiversamento` document. It writes what it is
/// given: the result is valid against the schema when [`Flow::validate`] passes (and, with
/// the official 1.0.4 file, when no line has code 4 or 8).
pub fn render(flow: &Flow) -> String {
    let mut w = Writer::default();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.raw(&format!("<FlussoRiversamento xmlns=\"{NS}\">\n"));
    w.leaf(1, "versioneOggetto", flow.version.as_str());
    w.leaf(1, "identificativoFlusso", &flow.flow_id);
    w.leaf(
        1,
        "dataOraFlusso",
        &flow.flow_date_time.format("%Y-%m-%dT%H:%M:%S").to_string(),
    );
    w.leaf(1, "identificativoUnivocoRegolamento", &flow.regulation_id);
    w.leaf(1, "dataRegolamento", &flow.regulation_date.to_string());
    w.open(1, "istitutoMittente");
    w.open(2, "identificativoUnivocoMittente");
    w.leaf(
        3,
        "tipoIdentificativoUnivoco",
        &flow.sender.kind.code().to_string(),
    );
    w.leaf(3, "codiceIdentificativoUnivoco", &flow.sender.id);
    w.close(2, "identificativoUnivocoMittente");
    if let Some(name) = &flow.sender.name {
        w.leaf(2, "denominazioneMittente", name);
    }
    w.close(1, "istitutoMittente");
    if let Some(bic) = &flow.bic_pouring_bank {
        w.leaf(1, "codiceBicBancaDiRiversamento", bic);
    }
    w.open(1, "istitutoRicevente");
    w.open(2, "identificativoUnivocoRicevente");
    w.leaf(3, "tipoIdentificativoUnivoco", "G");
    w.leaf(3, "codiceIdentificativoUnivoco", &flow.receiver.id);
    w.close(2, "identificativoUnivocoRicevente");
    if let Some(name) = &flow.receiver.name {
        w.leaf(2, "denominazioneRicevente", name);
    }
    w.close(1, "istitutoRicevente");
    w.leaf(
        1,
        "numeroTotalePagamenti",
        &flow.total_payments().to_string(),
    );
    w.leaf(
        1,
        "importoTotalePagamenti",
        &euro(flow.total_amount_cents()),
    );
    for line in &flow.lines {
        w.open(1, "datiSingoliPagamenti");
        w.leaf(2, "identificativoUnivocoVersamento", &line.iuv);
        w.leaf(2, "identificativoUnivocoRiscossione", &line.iur);
        if let Some(index) = line.index {
            w.leaf(2, "indiceDatiSingoloPagamento", &index.to_string());
        }
        w.leaf(2, "singoloImportoPagato", &euro(line.amount_cents));
        w.leaf(
            2,
            "codiceEsitoSingoloPagamento",
            &line.outcome.code().to_string(),
        );
        w.leaf(2, "dataEsitoSingoloPagamento", &line.date.to_string());
        w.close(1, "datiSingoliPagamenti");
    }
    w.raw("</FlussoRiversamento>\n");
    w.finish()
}

impl fmt::Display for OutcomeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// An indenting writer of elements whose text is escaped (shared with [`crate::opi`]).
#[derive(Default)]
pub(crate) struct Writer {
    out: String,
}

impl Writer {
    pub(crate) fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    pub(crate) fn open(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    pub(crate) fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    pub(crate) fn leaf(&mut self, depth: usize, name: &str, value: &str) {
        self.indent(depth);
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape(&mut self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Text rules shared by the writers of this crate's documents.
pub(crate) mod text {
    /// Appends `value` escaped for element content. `\r` becomes a character reference so that
    /// a reader's line-end normalisation keeps it.
    pub(crate) fn escape(out: &mut String, value: &str) {
        for c in value.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '\r' => out.push_str("&#13;"),
                c => out.push(c),
            }
        }
    }

    /// Euro cents as `\d+\.\d{2}` (with a leading `-` when negative).
    pub(crate) fn euro(cents: i64) -> String {
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// A character XML 1.0 can carry.
    pub(crate) fn is_xml_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    }

    /// Length in characters within `min..=max` (as XSD `minLength`/`maxLength` count) and only
    /// XML characters.
    pub(crate) fn check_text(value: &str, min: usize, max: Option<usize>) -> Result<(), String> {
        if let Some(c) = value.chars().find(|&c| !is_xml_char(c)) {
            return Err(format!("U+{:04X} cannot appear in XML", u32::from(c)));
        }
        let len = value.chars().count();
        if len < min {
            return Err(format!("{len} characters, at least {min} needed"));
        }
        if let Some(max) = max
            && len > max
        {
            return Err(format!("{len} characters, at most {max} allowed"));
        }
        Ok(())
    }
}
