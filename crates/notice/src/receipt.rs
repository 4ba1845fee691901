//! The citizen's payment receipt ("ricevuta di pagamento"): one A4 page drawn from the pagoPA
//! receipt of a paid notice, with the creditor, a table of the payment's facts, its transfers to
//! the beneficiaries and a sentence saying who issued it.
//!
//! Every text that can be long wraps to a fixed number of lines and, when cut, ends with "…" at
//! a word boundary; codes shrink to fit their line. So whatever the (validated) input, the content
//! fits one page: the tests render the longest fields allowed with five transfers.

use std::fmt::Write as _;

use crate::font::{BOLD_FIRST_OBJECT, Encoder, REGULAR_FIRST_OBJECT};
use crate::format::{format_amount_it, group_code};
use crate::labels::{self, Text};
use crate::layout::{LogoBox, PAGE_HEIGHT, PAGE_WIDTH};
use crate::pdf::{PdfWriter, deflate, text_string};
use crate::{
    CATALOG, Creditor, FIRST_PAGE, IMAGE, INFO, Language, MAX_AMOUNT, NoticeError, PAGES, SMASK,
    check_optional, check_text, font, pdf, png,
};

/// A payment receipt to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptDocument {
    pub language: Language,
    /// The creditor institution, validated as on the notice.
    pub creditor: Creditor,
    /// The node's `receiptId`: 1 to 70 characters.
    pub receipt_id: String,
    /// The notice number (NAV): 18 digits, printed in groups of four.
    pub notice_number: String,
    /// The IUV: 1 to 35 letters or digits.
    pub iuv: String,
    /// What was paid for: 1 to 140 characters.
    pub description: String,
    /// The amount paid to the creditor, in euro cents: 1 to 99,999,999,999.
    pub amount_cents: i64,
    /// The payment service provider's commission, in euro cents: 0 to 99,999,999,999.
    pub fee_cents: Option<i64>,
    /// When it was paid, as the caller formats it (`"02/12/2026 10:31"`): 1 to 40 characters.
    pub paid_at: String,
    /// The debtor's name: 1 to 70 characters.
    pub debtor_name: String,
    /// The debtor's fiscal code: 1 to 16 letters or digits (or `ANONIMO`).
    pub debtor_code: String,
    /// Who paid, when not the debtor: 1 to 70 characters.
    pub payer_name: Option<String>,
    /// The payment service provider's name: 1 to 70 characters.
    pub psp_name: String,
    /// The payment service provider's `idPSP`: 1 to 35 characters.
    pub psp_id: String,
    /// How it was paid (card, bank account, …): 1 to 70 characters.
    pub payment_method: Option<String>,
    /// 1 to 5 transfers whose amounts add up to `amount_cents`.
    pub transfers: Vec<ReceiptTransfer>,
}

/// One transfer of the payment to a beneficiary institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptTransfer {
    /// The beneficiary's name: 1 to 140 characters.
    pub beneficiary_name: Option<String>,
    /// The beneficiary's fiscal code: 1 to 16 letters or digits.
    pub beneficiary_code: String,
    /// In euro cents: 1 to 99,999,999,999.
    pub amount_cents: i64,
    /// The remittance information (causale): 1 to 140 characters.
    pub remittance: String,
}

fn invalid(field: &'static str, reason: &'static str) -> NoticeError {
    NoticeError::Invalid { field, reason }
}

/// `code` has 1 to `max` ASCII letters or digits; `reason` says so for `field`.
fn check_code(
    field: &'static str,
    code: &str,
    max: usize,
    reason: &'static str,
) -> Result<(), NoticeError> {
    if code.is_empty() || code.len() > max || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(field, reason));
    }
    Ok(())
}

fn check_amount(cents: i64) -> Result<(), NoticeError> {
    if !(1..=MAX_AMOUNT).contains(&cents) {
        return Err(NoticeError::Amount(cents));
    }
    Ok(())
}

/// The creditor's checks of [`crate::render`]'s validation.
fn check_creditor(creditor: &Creditor) -> Result<(), NoticeError> {
    if creditor.fiscal_code.len() != 11 || !creditor.fiscal_code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid("creditor.fiscal_code", "must be 11 digits"));
    }
    check_text("creditor.name", &creditor.name, 100)?;
    check_optional("creditor.sector", creditor.sector.as_deref(), 100)?;
    check_optional("creditor.info", creditor.info.as_deref(), 200)?;
    if let Some(cbill) = &creditor.cbill {
        check_code(
            "creditor.cbill",
            cbill,
            16,
            "must be 1 to 16 letters or digits",
        )?;
    }
    Ok(())
}

fn validate(doc: &ReceiptDocument) -> Result<(), NoticeError> {
    check_creditor(&doc.creditor)?;
    check_text("receipt_id", &doc.receipt_id, 70)?;
    if doc.notice_number.len() != 18 || !doc.notice_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("notice_number", "must be 18 digits"));
    }
    check_code("iuv", &doc.iuv, 35, "must be 1 to 35 letters or digits")?;
    check_text("description", &doc.description, 140)?;
    check_amount(doc.amount_cents)?;
    if let Some(fee) = doc.fee_cents
        && !(0..=MAX_AMOUNT).contains(&fee)
    {
        return Err(invalid("fee_cents", "must be 0 to 99999999999 cents"));
    }
    check_text("paid_at", &doc.paid_at, 40)?;
    check_text("debtor_name", &doc.debtor_name, 70)?;
    check_code(
        "debtor_code",
        &doc.debtor_code,
        16,
        "must be 1 to 16 letters or digits",
    )?;
    check_optional("payer_name", doc.payer_name.as_deref(), 70)?;
    check_text("psp_name", &doc.psp_name, 70)?;
    check_text("psp_id", &doc.psp_id, 35)?;
    check_optional("payment_method", doc.payment_method.as_deref(), 70)?;
    if !(1..=5).contains(&doc.transfers.len()) {
        return Err(invalid("transfers", "1 to 5 transfers are allowed"));
    }
    for transfer in &doc.transfers {
        check_optional(
            "transfers.beneficiary_name",
            transfer.beneficiary_name.as_deref(),
            140,
        )?;
        check_code(
            "transfers.beneficiary_code",
            &transfer.beneficiary_code,
            16,
            "must be 1 to 16 letters or digits",
        )?;
        check_amount(transfer.amount_cents)?;
        check_text("transfers.remittance", &transfer.remittance, 140)?;
    }
    // At most 5 × MAX_AMOUNT: no overflow.
    let total: i64 = doc.transfers.iter().map(|t| t.amount_cents).sum();
    if total != doc.amount_cents {
        return Err(invalid(
            "transfers",
            "the transfers' amounts must add up to amount_cents",
        ));
    }
    Ok(())
}

const fn t(it: &'static str, de: &'static str, en: &'static str) -> Text {
    Text { it, de, en }
}

const TITLE: Text = t(
    "Ricevuta di pagamento",
    "Zahlungsquittung",
    "Payment receipt",
);
const FACTS: Text = t("DATI DEL PAGAMENTO", "ZAHLUNGSDATEN", "PAYMENT DETAILS");
const IUV: Text = t(
    "Identificativo univoco di versamento (IUV)",
    "Eindeutige Zahlungskennung (IUV)",
    "Unique payment identifier (IUV)",
);
const RECEIPT_ID: Text = t("Identificativo ricevuta", "Quittungskennung", "Receipt ID");
const FEE: Text = t(
    "Commissione del prestatore",
    "Provision des Zahlungsdienstleisters",
    "Provider's fee",
);
const TOTAL: Text = t("Totale pagato", "Gezahlter Gesamtbetrag", "Total paid");
const PAID_AT: Text = t(
    "Data e ora del pagamento",
    "Datum und Uhrzeit",
    "Date and time",
);
const DEBTOR: Text = t("Debitore", "Schuldner", "Debtor");
const PAYER: Text = t("Pagatore", "Einzahler", "Payer");
const PSP: Text = t(
    "Prestatore di servizi di pagamento",
    "Zahlungsdienstleister",
    "Payment service provider",
);
const METHOD: Text = t("Metodo di pagamento", "Zahlungsart", "Payment method");
const TRANSFERS: Text = t(
    "RIPARTIZIONE DEL PAGAMENTO",
    "AUFTEILUNG DER ZAHLUNG",
    "PAYMENT BREAKDOWN",
);
const BENEFICIARY: Text = t("Beneficiario", "Begünstigter", "Beneficiary");
const REMITTANCE: Text = t("Causale", "Zahlungsgrund", "Remittance");

/// The footer: who issued the receipt, from what.
const ISSUED_BY: Text = t(
    "Ricevuta emessa dall'ente creditore sulla base della ricevuta telematica del pagamento rilasciata da pagoPA.",
    "Quittung ausgestellt vom Zahlungsempfänger auf der Grundlage der elektronischen Zahlungsquittung von pagoPA.",
    "Receipt issued by the creditor on the basis of the electronic payment receipt issued by pagoPA.",
);

fn euro(cents: i64) -> String {
    format!("€ {}", format_amount_it(cents))
}

const LEFT: f32 = 40.0;
const RIGHT: f32 = PAGE_WIDTH - 40.0;
const CONTENT: f32 = RIGHT - LEFT;
/// The facts table: labels on the left, values from `VALUE_X`.
const LABEL_WIDTH: f32 = 160.0;
const VALUE_X: f32 = LEFT + LABEL_WIDTH + 10.0;
const VALUE_WIDTH: f32 = RIGHT - VALUE_X;
/// The transfers table: beneficiary, remittance, amount (right-aligned).
const BENEFICIARY_WIDTH: f32 = 190.0;
const AMOUNT_WIDTH: f32 = 95.0;
const REMITTANCE_X: f32 = LEFT + BENEFICIARY_WIDTH + 10.0;
const REMITTANCE_WIDTH: f32 = RIGHT - AMOUNT_WIDTH - 10.0 - REMITTANCE_X;
/// Codes shrink to fit their line down to this size before they wrap.
const MIN_CODE_SIZE: f32 = 6.0;

type Rgb = &'static str;
const INK: Rgb = "0.09 0.11 0.15";
const GREY: Rgb = "0.36 0.4 0.45";
const BLUE: Rgb = "0 0.36 0.73";
const RULE: Rgb = "0.82 0.85 0.89";

#[derive(Debug, Clone, Copy)]
struct Style {
    bold: bool,
    size: f32,
    color: Rgb,
}

const fn style(bold: bool, size: f32, color: Rgb) -> Style {
    Style { bold, size, color }
}

const SECTION: Style = style(true, 7.5, BLUE);
const NAME: Style = style(true, 11.0, INK);
const BODY: Style = style(false, 9.0, INK);
const STRONG: Style = style(true, 9.0, INK);
const SMALL: Style = style(false, 7.0, INK);
const LABEL: Style = style(false, 7.5, GREY);
const CELL: Style = style(false, 8.5, INK);
const CELL_STRONG: Style = style(true, 8.5, INK);
const CELL_CODE: Style = style(false, 7.5, GREY);

impl Style {
    fn grey(self) -> Style {
        Style {
            color: GREY,
            ..self
        }
    }

    fn line_height(self) -> f32 {
        self.size * 1.25
    }
}

/// The page being drawn: top-down coordinates in points.
struct Page {
    regular: Encoder,
    bold: Encoder,
    lang: Language,
    ops: String,
}

impl Page {
    fn encoder(&mut self, bold: bool) -> &mut Encoder {
        if bold {
            &mut self.bold
        } else {
            &mut self.regular
        }
    }

    fn width(&mut self, st: Style, text: &str) -> Result<f32, NoticeError> {
        self.encoder(st.bold).width(text, st.size)
    }

    /// Draws one line with its top at `top`.
    fn text(&mut self, st: Style, x: f32, top: f32, text: &str) -> Result<(), NoticeError> {
        let mut hex = String::with_capacity(text.len() * 4 + 2);
        self.encoder(st.bold).encode(text, &mut hex)?;
        let font = if st.bold { "F2" } else { "F1" };
        let _ = writeln!(
            self.ops,
            "BT /{font} {:.2} Tf {} rg {x:.2} {:.2} Td {hex} Tj ET",
            st.size,
            st.color,
            PAGE_HEIGHT - top - st.size
        );
        Ok(())
    }

    /// The byte length of the longest prefix of `text` (at least one character) within `width`.
    fn fitting_prefix(&mut self, st: Style, width: f32, text: &str) -> Result<usize, NoticeError> {
        let mut end = 0;
        let mut used = 0.0;
        for (i, ch) in text.char_indices() {
            let w = self.width(st, ch.encode_utf8(&mut [0; 4]))?;
            if used + w > width && end > 0 {
                break;
            }
            used += w;
            end = i + ch.len_utf8();
        }
        Ok(end)
    }

    /// Splits `text` into at most `max_lines` lines no wider than `width`, breaking between words
    /// (a word wider than a line is split). When more lines would be needed, the last one ends
    /// with "…" after its last whole word that leaves room for it.
    fn wrap(
        &mut self,
        st: Style,
        width: f32,
        text: &str,
        max_lines: usize,
    ) -> Result<Vec<String>, NoticeError> {
        let space = self.width(st, " ")?;
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_width = 0.0;
        for word in text.split_whitespace() {
            let mut rest = word;
            let mut rest_width = self.width(st, rest)?;
            while rest_width > width {
                let cut = self.fitting_prefix(st, width, rest)?;
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                lines.push(rest[..cut].to_owned());
                rest = &rest[cut..];
                rest_width = self.width(st, rest)?;
            }
            if rest.is_empty() {
                continue;
            }
            if !line.is_empty() && line_width + space + rest_width > width {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            if !line.is_empty() {
                line.push(' ');
                line_width += space;
            }
            line.push_str(rest);
            line_width += rest_width;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            if let Some(last) = lines.pop() {
                lines.push(self.with_ellipsis(st, width, &last)?);
            }
        }
        Ok(lines)
    }

    /// `line` with "…" appended within `width`: whole words are dropped to make room, and only
    /// a line of a single word is cut inside it.
    fn with_ellipsis(&mut self, st: Style, width: f32, line: &str) -> Result<String, NoticeError> {
        let mut kept = line.trim_end().to_owned();
        loop {
            let candidate = format!("{kept}…");
            if kept.is_empty() || self.width(st, &candidate)? <= width {
                return Ok(candidate);
            }
            match kept.rfind(' ') {
                Some(at) => kept.truncate(at),
                None => {
                    kept.pop();
                }
            }
        }
    }

    /// Draws `text` wrapped to `width` in at most `max_lines` lines; returns the top of the next.
    fn para(
        &mut self,
        st: Style,
        x: f32,
        top: f32,
        width: f32,
        text: &str,
        max_lines: usize,
    ) -> Result<f32, NoticeError> {
        let mut y = top;
        for line in self.wrap(st, width, text, max_lines)? {
            self.text(st, x, y, &line)?;
            y += st.line_height();
        }
        Ok(y)
    }

    /// Draws a code (no spaces to break at) on one line, smaller if need be; only a code too long
    /// even at `MIN_CODE_SIZE` wraps, at that size. Right-aligned at `x + width` when `right`.
    fn code(
        &mut self,
        st: Style,
        x: f32,
        top: f32,
        width: f32,
        text: &str,
        right: bool,
    ) -> Result<f32, NoticeError> {
        let natural = self.width(st, text)?;
        let size = if natural > width {
            st.size * width / natural
        } else {
            st.size
        };
        if size < MIN_CODE_SIZE {
            let small = Style {
                size: MIN_CODE_SIZE,
                ..st
            };
            return self.para(small, x, top, width, text, 3);
        }
        let fitted = Style { size, ..st };
        let drawn = self.width(fitted, text)?;
        let x = if right { x + width - drawn } else { x };
        self.text(fitted, x, top + (st.size - size), text)?;
        Ok(top + st.line_height())
    }

    /// A label: Italian, then (bilingual) the second language in grey on the same line when both
    /// fit, below otherwise. Returns the top of what follows.
    fn label(
        &mut self,
        st: Style,
        x: f32,
        top: f32,
        width: f32,
        text: Text,
    ) -> Result<f32, NoticeError> {
        let joined = text.label(self.lang);
        match text.second(self.lang) {
            Some(second) if self.width(st, &joined)? > width => {
                let y = self.para(st, x, top, width, text.it, 2)?;
                self.para(st.grey(), x, y, width, second, 2)
            }
            _ => self.para(st, x, top, width, &joined, 2),
        }
    }

    fn rule(&mut self, color: Rgb, width: f32, top: f32) {
        let y = PAGE_HEIGHT - top;
        let _ = writeln!(
            self.ops,
            "{color} RG {width} w {LEFT} {y:.2} m {RIGHT} {y:.2} l S"
        );
    }
}

/// One value of a row of the facts table.
enum Value {
    Text(Style, String, usize),
    Code(Style, String),
}

/// A row of the facts table: the label on the left, the values one under the other on the
/// right, a hairline below. Returns the top of the next row.
fn row(p: &mut Page, top: f32, label: Text, values: &[Value]) -> Result<f32, NoticeError> {
    let label_bottom = p.label(LABEL, LEFT, top + 1.0, LABEL_WIDTH, label)?;
    let mut y = top;
    for value in values {
        y = match value {
            Value::Text(st, text, lines) => p.para(*st, VALUE_X, y, VALUE_WIDTH, text, *lines)?,
            Value::Code(st, text) => p.code(*st, VALUE_X, y, VALUE_WIDTH, text, false)?,
        };
    }
    let bottom = label_bottom.max(y) + 2.5;
    p.rule(RULE, 0.5, bottom);
    Ok(bottom + 4.0)
}

fn header(p: &mut Page, logo: Option<LogoBox>) -> Result<f32, NoticeError> {
    let top = 32.0;
    let mut x = LEFT;
    let mut bottom = top;
    if let Some(logo) = logo {
        let _ = writeln!(
            p.ops,
            "q {:.2} 0 0 {:.2} {LEFT} {:.2} cm /Im1 Do Q",
            logo.width,
            logo.height,
            PAGE_HEIGHT - top - logo.height
        );
        x += logo.width + 14.0;
        bottom = top + logo.height;
    }
    let title = style(true, 18.0, INK);
    p.text(title, x, top, TITLE.it)?;
    let mut y = top + title.line_height();
    if let Some(second) = TITLE.second(p.lang) {
        let subtitle = style(false, 12.0, GREY);
        p.text(subtitle, x, y, second)?;
        y += subtitle.line_height();
    }
    let y = bottom.max(y) + 6.0;
    p.rule(BLUE, 1.0, y);
    Ok(y + 12.0)
}

fn creditor(p: &mut Page, creditor: &Creditor, top: f32) -> Result<f32, NoticeError> {
    let mut y = p.label(SECTION, LEFT, top, CONTENT, labels::CREDITOR)? + 2.0;
    y = p.para(NAME, LEFT, y, CONTENT, &creditor.name, 2)?;
    if let Some(sector) = &creditor.sector {
        y = p.para(BODY, LEFT, y, CONTENT, sector, 2)?;
    }
    let cf = format!(
        "{} {}",
        labels::FISCAL_CODE.label(p.lang),
        creditor.fiscal_code
    );
    y = p.para(BODY, LEFT, y, CONTENT, &cf, 1)?;
    if let Some(info) = &creditor.info {
        y = p.para(SMALL, LEFT, y + 1.0, CONTENT, info, 2)?;
    }
    Ok(y + 12.0)
}

fn facts(p: &mut Page, doc: &ReceiptDocument, top: f32) -> Result<f32, NoticeError> {
    let mut y = p.label(SECTION, LEFT, top, CONTENT, FACTS)? + 3.0;
    p.rule(RULE, 0.5, y);
    y += 4.0;
    let code = |text: String| Value::Code(STRONG, text);
    y = row(p, y, labels::CODE, &[code(group_code(&doc.notice_number))])?;
    y = row(p, y, IUV, &[code(doc.iuv.clone())])?;
    y = row(p, y, RECEIPT_ID, &[code(doc.receipt_id.clone())])?;
    let description = Value::Text(BODY, doc.description.clone(), 4);
    y = row(p, y, labels::SUBJECT, &[description])?;
    y = row(p, y, labels::AMOUNT, &[code(euro(doc.amount_cents))])?;
    if let Some(fee) = doc.fee_cents {
        y = row(p, y, FEE, &[Value::Code(BODY, euro(fee))])?;
        y = row(p, y, TOTAL, &[code(euro(doc.amount_cents + fee))])?;
    }
    y = row(p, y, PAID_AT, &[Value::Text(BODY, doc.paid_at.clone(), 1)])?;
    let debtor = [
        Value::Text(BODY, doc.debtor_name.clone(), 2),
        Value::Code(BODY.grey(), doc.debtor_code.to_uppercase()),
    ];
    y = row(p, y, DEBTOR, &debtor)?;
    if let Some(payer) = &doc.payer_name {
        y = row(p, y, PAYER, &[Value::Text(BODY, payer.clone(), 2)])?;
    }
    let psp = [
        Value::Text(BODY, doc.psp_name.clone(), 2),
        Value::Code(BODY.grey(), doc.psp_id.clone()),
    ];
    y = row(p, y, PSP, &psp)?;
    if let Some(method) = &doc.payment_method {
        y = row(p, y, METHOD, &[Value::Text(BODY, method.clone(), 1)])?;
    }
    Ok(y + 8.0)
}

fn transfers(p: &mut Page, doc: &ReceiptDocument, top: f32) -> Result<f32, NoticeError> {
    let mut y = p.label(SECTION, LEFT, top, CONTENT, TRANSFERS)? + 3.0;
    let a = p.label(LABEL, LEFT, y, BENEFICIARY_WIDTH, BENEFICIARY)?;
    let b = p.label(LABEL, REMITTANCE_X, y, REMITTANCE_WIDTH, REMITTANCE)?;
    let amount = labels::AMOUNT.label(p.lang);
    p.code(LABEL, RIGHT - AMOUNT_WIDTH, y, AMOUNT_WIDTH, &amount, true)?;
    y = a.max(b) + 2.0;
    p.rule(RULE, 0.5, y);
    y += 4.0;
    for transfer in &doc.transfers {
        let mut left = y;
        if let Some(name) = &transfer.beneficiary_name {
            left = p.para(CELL_STRONG, LEFT, left, BENEFICIARY_WIDTH, name, 2)?;
        }
        let code = transfer.beneficiary_code.to_uppercase();
        left = p.code(CELL_CODE, LEFT, left, BENEFICIARY_WIDTH, &code, false)?;
        let middle = p.para(
            CELL,
            REMITTANCE_X,
            y,
            REMITTANCE_WIDTH,
            &transfer.remittance,
            3,
        )?;
        let amount = euro(transfer.amount_cents);
        let x = RIGHT - AMOUNT_WIDTH;
        let right = p.code(CELL_STRONG, x, y, AMOUNT_WIDTH, &amount, true)?;
        y = left.max(middle).max(right) + 2.5;
        p.rule(RULE, 0.5, y);
        y += 4.0;
    }
    Ok(y + 8.0)
}

fn footer(p: &mut Page, top: f32) -> Result<f32, NoticeError> {
    p.rule(BLUE, 1.0, top);
    let mut y = p.para(SMALL, LEFT, top + 6.0, CONTENT, ISSUED_BY.it, 2)?;
    if let Some(second) = ISSUED_BY.second(p.lang) {
        y = p.para(SMALL.grey(), LEFT, y, CONTENT, second, 2)?;
    }
    Ok(y)
}

/// Renders `doc` as a one-page A4 PDF file (fonts embedded).
pub fn render_receipt(doc: &ReceiptDocument) -> Result<Vec<u8>, NoticeError> {
    validate(doc)?;
    let (regular, bold) = font::fonts()?;
    let logo = doc
        .creditor
        .logo_png
        .as_deref()
        .map(png::prepare)
        .transpose()?;
    let placement = logo
        .as_ref()
        .map(|image| LogoBox::fit(image.width, image.height));
    let mut page = Page {
        regular: Encoder::new(regular),
        bold: Encoder::new(bold),
        lang: doc.language,
        ops: String::with_capacity(16 * 1024),
    };
    let mut y = header(&mut page, placement)?;
    y = creditor(&mut page, &doc.creditor, y)?;
    y = facts(&mut page, doc, y)?;
    y = transfers(&mut page, doc, y)?;
    footer(&mut page, y)?;

    // The same object numbers as a notice's, with one page.
    let mut out = PdfWriter::new(64 * 1024);
    out.object(CATALOG, &format!("<< /Type /Catalog /Pages {PAGES} 0 R >>"));
    out.object(
        PAGES,
        &format!("<< /Type /Pages /Kids [{FIRST_PAGE} 0 R] /Count 1 >>"),
    );
    for (num, object) in page
        .regular
        .objects()?
        .iter()
        .chain(page.bold.objects()?.iter())
    {
        out.raw(*num, object);
    }
    let title = format!("{} {}", TITLE.it, doc.receipt_id);
    out.object(
        INFO,
        &format!(
            "<< /Title {} /Author {} /Producer (Sportello notice) >>",
            text_string(&title),
            text_string(&doc.creditor.name)
        ),
    );
    let mut resources =
        format!("/Font << /F1 {REGULAR_FIRST_OBJECT} 0 R /F2 {BOLD_FIRST_OBJECT} 0 R >>");
    if let Some(image) = &logo {
        resources.push_str(&format!(" /XObject << /Im1 {IMAGE} 0 R >>"));
        match &image.smask {
            Some(mask) => {
                out.stream(
                    IMAGE,
                    &format!("{} /SMask {SMASK} 0 R", image.dict),
                    &image.data,
                );
                out.stream(
                    SMASK,
                    &format!(
                        "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                        image.width, image.height
                    ),
                    mask,
                );
            }
            None => out.stream(IMAGE, &image.dict, &image.data),
        }
    }
    out.object(
        FIRST_PAGE,
        &format!(
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] /Resources << {resources} >> /Contents {} 0 R >>",
            FIRST_PAGE + 1
        ),
    );
    out.stream(
        FIRST_PAGE + 1,
        "/Filter /FlateDecode",
        &deflate(page.ops.as_bytes(), pdf::PER_NOTICE),
    );
    Ok(out.finish(CATALOG, Some(INFO)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lang: Language) -> Page {
        let (regular, bold) = font::fonts().expect("fonts load");
        Page {
            regular: Encoder::new(regular),
            bold: Encoder::new(bold),
            lang,
            ops: String::new(),
        }
    }

    #[test]
    fn wrapped_text_is_cut_after_a_whole_word_with_an_ellipsis() {
        let mut p = page(Language::It);
        let text = "alpha beta gamma delta epsilon zeta eta theta iota kappa";
        let all = p.wrap(BODY, 80.0, text, 10).expect("wraps");
        assert!(all.len() > 2, "{all:?}");
        assert_eq!(all.join(" "), text);
        let cut = p.wrap(BODY, 80.0, text, 2).expect("wraps");
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[0], all[0]);
        let last = cut[1].strip_suffix('…').expect("ends with an ellipsis");
        assert!(text.starts_with(&format!("{} {last}", cut[0])), "{cut:?}");
        let words: Vec<&str> = text.split(' ').collect();
        assert!(last.split(' ').all(|w| words.contains(&w)), "{cut:?}");
        for line in &cut {
            assert!(p.width(BODY, line).expect("width") <= 80.0, "{line:?}");
        }
    }

    #[test]
    fn a_single_word_too_long_for_its_lines_is_cut_with_an_ellipsis() {
        let mut p = page(Language::It);
        let word = "x".repeat(200);
        let lines = p.wrap(BODY, 50.0, &word, 2).expect("wraps");
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'));
        assert!(p.width(BODY, &lines[1]).expect("width") <= 50.0);
    }
}
