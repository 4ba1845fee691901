//! The OPI SIOPE+ "giornale di cassa" (`OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd` and `_V_1_8.xsd`,
//! both including `OPI_GLOBAL_V_1_6_1.xsd`): the treasury bank's daily journal of one ente's
//! cash accounts. Typed journal, its checks against the schemas' facets, and the writer.
//!
//! The two versions differ only in `tipo_esecuzione`: 1.8 adds `SEPA INSTANT CREDIT TRANSFER`.
//! The document has no namespace; the XML-DSig `Signature` is mandatory (first or last child):
//! we write it last, as a structurally valid placeholder (zero digest and value), because the
//! real one is the treasury bank's.

use base64::Engine as _;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::fdr::Writer;
use crate::fdr::text::{check_text, euro};

/// Largest absolute amount, in cents: `xs:decimal` with `totalDigits` 15, `fractionDigits` 2.
/// (The schema counts significant digits, so a few larger round amounts would pass it too;
/// we refuse them.)
pub const MAX_AMOUNT_CENTS: i64 = 999_999_999_999_999;
/// Largest `numero_movimento`, `numero_documento` and `numero_provvisorio`.
pub const MAX_NUMBER: u64 = 999_999_999_999_999_999;
/// XML-DSig namespace.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Schema version of the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    V1_7_1,
    V1_8,
}

impl Version {
    /// File name of the version's schema.
    pub fn schema_file(self) -> &'static str {
        match self {
            Self::V1_7_1 => "OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd",
            Self::V1_8 => "OPI_GIORNALE_DI_CASSA_V_1_8.xsd",
        }
    }
}

/// `testata_messaggio` (`ctTestata_messaggio` of the global schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// `codice_ABI_BT`: ABI of the treasury bank, `[0-9]{5}`.
    pub bank_abi: String,
    /// `data_ora_creazione_flusso`, local time without offset; written to the second.
    pub created_at: NaiveDateTime,
    /// `codice_ente`: the IPA code, `[A-Z0-9]{6}`.
    pub ente_ipa_code: String,
    /// `descrizione_ente`: the IPA name, not empty.
    pub ente_name: String,
    /// `codice_istat_ente` (SIOPE code), `[0-9]{9,15}`.
    pub ente_istat_code: String,
    /// `codice_fiscale_ente`, `[A-Z0-9]{11,16}`.
    pub ente_fiscal_code: String,
    /// `codice_tramite_ente`, `A2A-[0-9]{8}`.
    pub ente_a2a_code: String,
    /// `codice_tramite_BT`, `A2A-[0-9]{8}`.
    pub bank_a2a_code: String,
    /// `codice_ente_BT`: the bank's own code for the ente, not empty.
    pub ente_bank_code: String,
}

/// A `flusso_giornale_di_cassa`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub version: Version,
    pub header: Header,
    /// `identificativo_flusso_BT`, `GDC-[0-9]{8}[A-Za-z0-9]{10,50}#[0-9]{3}#[0-9]{3}`; see
    /// [`bt_flow_id`].
    pub bt_flow_id: String,
    /// `pagina`, 1..=9999999.
    pub page: u32,
    /// `pagine_totali`, 1..=9999999.
    pub total_pages: u32,
    /// `riferimento_ente`: a code agreed between ente and bank.
    pub ente_reference: Option<String>,
    /// `esercizio`, 1999..=2099.
    pub fiscal_year: u16,
    /// `data_riferimento_GdC`.
    pub date: NaiveDate,
    /// `informazioni_conto_evidenza`, at least one.
    pub accounts: Vec<Account>,
}

/// One `informazioni_conto_evidenza`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// `conto_evidenza`, 1..25 characters.
    pub code: String,
    /// `descrizione_conto_evidenza`, not empty.
    pub description: Option<String>,
    pub movements: Vec<Movement>,
    /// `saldo_precedente_conto_evidenza`. When set, the entry, exit and final balance totals
    /// of the account are written too, computed from the movements by their kind.
    pub opening_balance_cents: Option<i64>,
}

/// `tipo_movimento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MovementKind {
    /// `ENTRATA`.
    Incoming,
    /// `USCITA`.
    Outgoing,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "ENTRATA",
            Self::Outgoing => "USCITA",
        }
    }
}

/// `tipo_documento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DocumentType {
    Reversale,
    Mandato,
    /// A credit received without an order of the ente (how pagoPA remittances arrive).
    SospesoEntrata,
    SospesoUscita,
    Anticipazione,
    Giroconto,
    FondoDiCassa,
    DeficitDiCassa,
}

impl DocumentType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reversale => "REVERSALE",
            Self::Mandato => "MANDATO",
            Self::SospesoEntrata => "SOSPESO ENTRATA",
            Self::SospesoUscita => "SOSPESO USCITA",
            Self::Anticipazione => "ANTICIPAZIONE",
            Self::Giroconto => "GIROCONTO",
            Self::FondoDiCassa => "FONDO DI CASSA",
            Self::DeficitDiCassa => "DEFICIT DI CASSA",
        }
    }
}

/// `tipo_operazione`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperationType {
    Eseguito,
    Stornato,
    Regolarizzato,
    Ripristinato,
}

impl OperationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eseguito => "ESEGUITO",
            Self::Stornato => "STORNATO",
            Self::Regolarizzato => "REGOLARIZZATO",
            Self::Ripristinato => "RIPRISTINATO",
        }
    }
}

/// `tipo_esecuzione`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionType {
    AccreditoBancaDItalia,
    AccreditoContoCorrentePostale,
    AccreditoTesoreriaProvincialeStato,
    AddebitoPreautorizzato,
    AssegnoBancarioEPostale,
    AssegnoCircolare,
    AssegnoDiTraenza,
    AvvisoPagopa,
    BonificoEsteroEuro,
    Cassa,
    Compensazione,
    DisposizioneDocumentoEsterno,
    F24ep,
    PrelievoDaCcPostale,
    Regolarizzazione,
    SepaCreditTransfer,
    /// Only in version 1.8.
    SepaInstantCreditTransfer,
    Sostituzione,
}

impl ExecutionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccreditoBancaDItalia => "ACCREDITO BANCA D'ITALIA",
            Self::AccreditoContoCorrentePostale => "ACCREDITO CONTO CORRENTE POSTALE",
            Self::AccreditoTesoreriaProvincialeStato => "ACCREDITO TESORERIA PROVINCIALE STATO",
            Self::AddebitoPreautorizzato => "ADDEBITO PREAUTORIZZATO",
            Self::AssegnoBancarioEPostale => "ASSEGNO BANCARIO E POSTALE",
            Self::AssegnoCircolare => "ASSEGNO CIRCOLARE",
            Self::AssegnoDiTraenza => "ASSEGNO DI TRAENZA PER COMMUTAZIONE EX ART 219 TUEL",
            Self::AvvisoPagopa => "AVVISO PAGOPA",
            Self::BonificoEsteroEuro => "BONIFICO ESTERO EURO",
            Self::Cassa => "CASSA",
            Self::Compensazione => "COMPENSAZIONE",
            Self::DisposizioneDocumentoEsterno => "DISPOSIZIONE DOCUMENTO ESTERNO",
            Self::F24ep => "F24EP",
            Self::PrelievoDaCcPostale => "PRELIEVO DA CC POSTALE",
            Self::Regolarizzazione => "REGOLARIZZAZIONE",
            Self::SepaCreditTransfer => "SEPA CREDIT TRANSFER",
            Self::SepaInstantCreditTransfer => "SEPA INSTANT CREDIT TRANSFER",
            Self::Sostituzione => "SOSTITUZIONE",
        }
    }

    /// Whether the version's schema lists this value.
    pub fn allowed_in(self, version: Version) -> bool {
        self != Self::SepaInstantCreditTransfer || version == Version::V1_8
    }
}

/// `assoggettamento_bollo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StampDuty {
    Exempt,
    ChargedToEnte,
    ChargedToClient,
}

impl StampDuty {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exempt => "ESENTE BOLLO",
            Self::ChargedToEnte => "ASSOGGETTATO BOLLO A CARICO ENTE",
            Self::ChargedToClient => "ASSOGGETTATO BOLLO A CARICO CLIENTE",
        }
    }
}

/// `cliente`: the payer (for an entry) or the payee (for an exit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// `anagrafica_cliente`, not empty.
    pub name: String,
    /// `codice_fiscale_cliente`, 1..35 characters.
    pub tax_code: Option<String>,
}

/// One `sospeso` regularised by the movement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisional {
    /// `numero_provvisorio`, 1..=[`MAX_NUMBER`].
    pub number: u64,
    /// `importo_provvisorio`, at least 0.01.
    pub amount_cents: i64,
}

/// One `movimento_conto_evidenza` (the optional elements not modelled are not written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// `identificativo_flusso`, `[a-zA-Z0-9#_\-\.]{1,70}`: the ente's OPI flow the document
    /// came in (for a sospeso, which has none, the bank's journal id).
    pub ente_flow_id: String,
    /// `numero_movimento`.
    pub number: u64,
    pub kind: MovementKind,
    pub document: DocumentType,
    pub operation: OperationType,
    /// `numero_documento` (for a sospeso, its provisional number).
    pub document_number: u64,
    /// `progressivo_documento`: 0 for sospesi, giroconti and the like.
    pub document_progressive: u64,
    /// `importo`, `|amount| <=` [`MAX_AMOUNT_CENTS`].
    pub amount_cents: i64,
    /// `numero_bolletta_quietanza`.
    pub receipt_number: Option<u64>,
    /// `data_movimento`.
    pub booking_date: NaiveDate,
    /// `data_movimento_siope`.
    pub siope_date: NaiveDate,
    /// `data_valuta_ente`.
    pub value_date: Option<NaiveDate>,
    pub execution: ExecutionType,
    /// `coordinate`: the counterpart's account (IBAN), not empty.
    pub coordinates: Option<String>,
    /// `codice_riferimento_operazione` (the TRN), not empty.
    pub operation_ref: Option<String>,
    /// `end_to_end_id`, 1..35 characters.
    pub end_to_end_id: Option<String>,
    pub stamp_duty: StampDuty,
    pub client: Party,
    /// `causale`: free text, not empty (the schema sets no maximum).
    pub causale: String,
    /// `sospeso`, at most 1000.
    pub provisionals: Vec<Provisional>,
}

/// A field of a journal that the schema would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct JournalError {
    pub field: String,
    pub problem: String,
}

impl JournalError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

fn text(field: &str, value: &str, min: usize, max: Option<usize>) -> Result<(), JournalError> {
    check_text(value, min, max).map_err(|p| JournalError::new(field, p))
}

fn pattern(field: &str, value: &str, ok: bool, shape: &str) -> Result<(), JournalError> {
    if ok {
        Ok(())
    } else {
        Err(JournalError::new(
            field,
            format!("{value:?} does not match {shape}"),
        ))
    }
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn upper_alnum(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn a2a(s: &str) -> bool {
    s.strip_prefix("A2A-")
        .is_some_and(|rest| rest.len() == 8 && digits(rest))
}

fn bt_flow_id_ok(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("GDC-") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('#').collect();
    let [head, page, pages] = parts.as_slice() else {
        return false;
    };
    s.len() <= 70
        && head.len() >= 18
        && head.len() <= 58
        && head.is_char_boundary(8)
        && digits(&head[..8])
        && head[8..].bytes().all(|b| b.is_ascii_alphanumeric())
        && page.len() == 3
        && digits(page)
        && pages.len() == 3
        && digits(pages)
}

fn amount(field: &str, cents: i64, min: i64) -> Result<(), JournalError> {
    if (min..=MAX_AMOUNT_CENTS).contains(&cents) {
        Ok(())
    } else {
        Err(JournalError::new(
            field,
            format!(
                "{} is outside {}..{}",
                euro(cents),
                euro(min),
                euro(MAX_AMOUNT_CENTS)
            ),
        ))
    }
}

fn number(field: &str, n: u64, min: u64) -> Result<(), JournalError> {
    if (min..=MAX_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(JournalError::new(
            field,
            format!("{n} is outside {min}..{MAX_NUMBER}"),
        ))
    }
}

/// The bank's journal identifier `GDC-<YYYYMMDD><code>#<page 3 digits>#<pages 3 digits>`;
/// `code` is 10..50 ASCII letters and digits, pages at most 999.
pub fn bt_flow_id(
    date: NaiveDate,
    code: &str,
    page: u32,
    total_pages: u32,
) -> Result<String, JournalError> {
    let id = format!(
        "GDC-{}{code}#{page:03}#{total_pages:03}",
        date.format("%Y%m%d")
    );
    pattern(
        "identificativo_flusso_BT",
        &id,
        bt_flow_id_ok(&id),
        "GDC-[0-9]{8}[A-Za-z0-9]{10,50}#[0-9]{3}#[0-9]{3}",
    )?;
    Ok(id)
}

impl Journal {
    /// Checks every facet of the version's schema for the modelled elements. A journal that
    /// passes renders valid.
    pub fn validate(&self) -> Result<(), JournalError> {
        let h = &self.header;
        pattern(
            "codice_ABI_BT",
            &h.bank_abi,
            h.bank_abi.len() == 5 && digits(&h.bank_abi),
            "[0-9]{5}",
        )?;
        pattern(
            "codice_ente",
            &h.ente_ipa_code,
            h.ente_ipa_code.len() == 6 && upper_alnum(&h.ente_ipa_code),
            "[A-Z0-9]{6}",
        )?;
        text("descrizione_ente", &h.ente_name, 1, None)?;
        pattern(
            "codice_istat_ente",
            &h.ente_istat_code,
            (9..=15).contains(&h.ente_istat_code.len()) && digits(&h.ente_istat_code),
            "[0-9]{9,15}",
        )?;
        pattern(
            "codice_fiscale_ente",
            &h.ente_fiscal_code,
            (11..=16).contains(&h.ente_fiscal_code.len()) && upper_alnum(&h.ente_fiscal_code),
            "[A-Z0-9]{11,16}",
        )?;
        pattern(
            "codice_tramite_ente",
            &h.ente_a2a_code,
            a2a(&h.ente_a2a_code),
            "A2A-[0-9]{8}",
        )?;
        pattern(
            "codice_tramite_BT",
            &h.bank_a2a_code,
            a2a(&h.bank_a2a_code),
            "A2A-[0-9]{8}",
        )?;
        text("codice_ente_BT", &h.ente_bank_code, 1, None)?;
        pattern(
            "identificativo_flusso_BT",
            &self.bt_flow_id,
            bt_flow_id_ok(&self.bt_flow_id),
            "GDC-[0-9]{8}[A-Za-z0-9]{10,50}#[0-9]{3}#[0-9]{3}",
        )?;
        for (field, n) in [("pagina", self.page), ("pagine_totali", self.total_pages)] {
            if !(1..=9_999_999).contains(&n) {
                return Err(JournalError::new(
                    field,
                    format!("{n} is outside 1..9999999"),
                ));
            }
        }
        if self.page > self.total_pages {
            return Err(JournalError::new(
                "pagina",
                format!("page {} of {}", self.page, self.total_pages),
            ));
        }
        if let Some(r) = &self.ente_reference {
            text("riferimento_ente", r, 0, None)?;
        }
        if !(1999..=2099).contains(&self.fiscal_year) {
            return Err(JournalError::new(
                "esercizio",
                format!("{} is outside 1999..2099", self.fiscal_year),
            ));
        }
        if self.accounts.is_empty() {
            return Err(JournalError::new(
                "informazioni_conto_evidenza",
                "at least one account is needed",
            ));
        }
        for account in &self.accounts {
            text("conto_evidenza", &account.code, 1, Some(25))?;
            if let Some(d) = &account.description {
                text("descrizione_conto_evidenza", d, 1, None)?;
            }
            if let Some(b) = account.opening_balance_cents {
                amount("saldo_precedente_conto_evidenza", b, -MAX_AMOUNT_CENTS)?;
                let (entries, exits, last) = account.totals(b);
                amount("totale_entrate_conto_evidenza", entries, -MAX_AMOUNT_CENTS)?;
                amount("totale_uscite_conto_evidenza", exits, -MAX_AMOUNT_CENTS)?;
                amount("saldo_finale_conto_evidenza", last, -MAX_AMOUNT_CENTS)?;
            }
            for m in &account.movements {
                self.validate_movement(m)?;
            }
        }
        Ok(())
    }

    fn validate_movement(&self, m: &Movement) -> Result<(), JournalError> {
        let f = |name: &str| format!("movimento_conto_evidenza[{}].{name}", m.number);
        let id = &m.ente_flow_id;
        pattern(
            &f("identificativo_flusso"),
            id,
            (1..=70).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"#_-.".contains(&b)),
            "[a-zA-Z0-9#_\\-\\.]{1,70}",
        )?;
        number(&f("numero_movimento"), m.number, 0)?;
        number(&f("numero_documento"), m.document_number, 0)?;
        amount(&f("importo"), m.amount_cents, -MAX_AMOUNT_CENTS)?;
        if !m.execution.allowed_in(self.version) {
            return Err(JournalError::new(
                f("tipo_esecuzione"),
                format!("{:?} needs version 1.8", m.execution.as_str()),
            ));
        }
        if let Some(c) = &m.coordinates {
            text(&f("coordinate"), c, 1, None)?;
        }
        if let Some(r) = &m.operation_ref {
            text(&f("codice_riferimento_operazione"), r, 1, None)?;
        }
        if let Some(e) = &m.end_to_end_id {
            text(&f("end_to_end_id"), e, 1, Some(35))?;
        }
        text(&f("anagrafica_cliente"), &m.client.name, 1, None)?;
        if let Some(t) = &m.client.tax_code {
            text(&f("codice_fiscale_cliente"), t, 1, Some(35))?;
        }
        text(&f("causale"), &m.causale, 1, None)?;
        if m.provisionals.len() > 1000 {
            return Err(JournalError::new(f("sospeso"), "more than 1000"));
        }
        for p in &m.provisionals {
            number(&f("numero_provvisorio"), p.number, 1)?;
            amount(&f("importo_provvisorio"), p.amount_cents, 1)?;
        }
        Ok(())
    }
}

impl Account {
    /// (entries, exits, final balance) from an opening balance.
    fn totals(&self, opening: i64) -> (i64, i64, i64) {
        let sum = |kind| {
            self.movements
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| m.amount_cents)
                .fold(0i64, i64::saturating_add)
        };
        let entries = sum(MovementKind::Incoming);
        let exits = sum(MovementKind::Outgoing);
        (
            entries,
            exits,
            opening.saturating_add(entries).saturating_sub(exits),
        )
    }
}

/// Writes the XML declaration and the `flusso_giornale_di_cassa` document, with the
/// placeholder signature last. Valid against `journal.version`'s schema when
/// [`Journal::validate`] passes.
pub fn render(journal: &Journal) -> String {
    let mut w = Writer::default();
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.raw("<flusso_giornale_di_cassa>\n");
    let h = &journal.header;
    w.open(1, "testata_messaggio");
    w.leaf(2, "codice_ABI_BT", &h.bank_abi);
    w.leaf(
        2,
        "data_ora_creazione_flusso",
        &h.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    );
    w.leaf(2, "codice_ente", &h.ente_ipa_code);
    w.leaf(2, "descrizione_ente", &h.ente_name);
    w.leaf(2, "codice_istat_ente", &h.ente_istat_code);
    w.leaf(2, "codice_fiscale_ente", &h.ente_fiscal_code);
    w.leaf(2, "codice_tramite_ente", &h.ente_a2a_code);
    w.leaf(2, "codice_tramite_BT", &h.bank_a2a_code);
    w.leaf(2, "codice_ente_BT", &h.ente_bank_code);
    w.close(1, "testata_messaggio");
    w.leaf(1, "identificativo_flusso_BT", &journal.bt_flow_id);
    w.leaf(1, "pagina", &journal.page.to_string());
    w.leaf(1, "pagine_totali", &journal.total_pages.to_string());
    if let Some(r) = &journal.ente_reference {
        w.leaf(1, "riferimento_ente", r);
    }
    w.leaf(1, "esercizio", &journal.fiscal_year.to_string());
    w.leaf(1, "data_riferimento_GdC", &journal.date.to_string());
    for account in &journal.accounts {
        w.open(1, "informazioni_conto_evidenza");
        w.leaf(2, "conto_evidenza", &account.code);
        if let Some(d) = &account.description {
            w.leaf(2, "descrizione_conto_evidenza", d);
        }
        for m in &account.movements {
            render_movement(&mut w, m);
        }
        if let Some(opening) = account.opening_balance_cents {
            let (entries, exits, last) = account.totals(opening);
            w.leaf(2, "saldo_precedente_conto_evidenza", &euro(opening));
            w.leaf(2, "totale_entrate_conto_evidenza", &euro(entries));
            w.leaf(2, "totale_uscite_conto_evidenza", &euro(exits));
            w.leaf(2, "saldo_finale_conto_evidenza", &euro(last));
        }
        w.close(1, "informazioni_conto_evidenza");
    }
    render_signature(&mut w);
    w.raw("</flusso_giornale_di_cassa>\n");
    w.finish()
}

fn render_movement(w: &mut Writer, m: &Movement) {
    w.open(2, "movimento_conto_evidenza");
    w.leaf(3, "identificativo_flusso", &m.ente_flow_id);
    w.leaf(3, "numero_movimento", &m.number.to_string());
    w.leaf(3, "tipo_movimento", m.kind.as_str());
    w.leaf(3, "tipo_documento", m.document.as_str());
    w.leaf(3, "tipo_operazione", m.operation.as_str());
    w.leaf(3, "numero_documento", &m.document_number.to_string());
    w.leaf(
        3,
        "progressivo_documento",
        &m.document_progressive.to_string(),
    );
    w.leaf(3, "importo", &euro(m.amount_cents));
    if let Some(n) = m.receipt_number {
        w.leaf(3, "numero_bolletta_quietanza", &n.to_string());
    }
    w.leaf(3, "data_movimento", &m.booking_date.to_string());
    w.leaf(3, "data_movimento_siope", &m.siope_date.to_string());
    if let Some(d) = m.value_date {
        w.leaf(3, "data_valuta_ente", &d.to_string());
    }
    w.leaf(3, "tipo_esecuzione", m.execution.as_str());
    if let Some(c) = &m.coordinates {
        w.leaf(3, "coordinate", c);
    }
    if let Some(r) = &m.operation_ref {
        w.leaf(3, "codice_riferimento_operazione", r);
    }
    if let Some(e) = &m.end_to_end_id {
        w.leaf(3, "end_to_end_id", e);
    }
    w.leaf(3, "assoggettamento_bollo", m.stamp_duty.as_str());
    w.open(3, "cliente");
    w.leaf(4, "anagrafica_cliente", &m.client.name);
    if let Some(t) = &m.client.tax_code {
        w.leaf(4, "codice_fiscale_cliente", t);
    }
    w.close(3, "cliente");
    w.leaf(3, "causale", &m.causale);
    for p in &m.provisionals {
        w.open(3, "sospeso");
        w.leaf(4, "numero_provvisorio", &p.number.to_string());
        w.leaf(4, "importo_provvisorio", &euro(p.amount_cents));
        w.close(3, "sospeso");
    }
    w.close(2, "movimento_conto_evidenza");
}

fn render_signature(w: &mut Writer) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let digest = b64.encode([0u8; 32]);
    let value = b64.encode([0u8; 256]);
    w.raw(&format!("  <ds:Signature xmlns:ds=\"{NS_DSIG}\">\n"));
    w.raw("    <ds:SignedInfo>\n");
    w.raw(
        "      <ds:CanonicalizationMethod \
         Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\n",
    );
    w.raw(
        "      <ds:SignatureMethod \
         Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\n",
    );
    w.raw("      <ds:Reference URI=\"\">\n");
    w.raw("        <ds:Transforms>\n");
    w.raw(
        "          <ds:Transform \
         Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\n",
    );
    w.raw("        </ds:Transforms>\n");
    w.raw("        <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\n");
    w.raw(&format!(
        "        <ds:DigestValue>{digest}</ds:DigestValue>\n"
    ));
    w.raw("      </ds:Reference>\n");
    w.raw("    </ds:SignedInfo>\n");
    w.raw(&format!(
        "    <ds:SignatureValue>{value}</ds:SignatureValue>\n"
    ));
    w.raw("  </ds:Signature>\n");
}
