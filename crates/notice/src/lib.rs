//! pagoPA payment notices ("avvisi di pagamento") as PDF files, laid out after pagoPA's notice
//! standard: header with the ente's logo and the subject on every page, creditor and recipient,
//! amount and due date, payment channels, and per installment a slip with the QR code
//! (`PAGOPA|002|…`, ECC level M, 25 mm), the grouped notice code and the creditor's fiscal code.
//!
//! Pages (A4): page 1 holds the header, the parties, amount and due date, the channels and,
//! when there is one, the single-payment slip. A plan's installments follow on the next pages,
//! three per page while three or more remain, except that four remaining are split two and two
//! ([`installment_pages`]): a single payment takes one page, a plan of 3 with a single option two.
//!
//! Pure: no I/O, no async. Fonts (DejaVu Sans, embedded as subsets) are prepared once per
//! process, so rendering a notice is mostly writing its content stream. [`ZipWriter`] packs
//! many notices into one archive. Throughput: `cargo run --release -p notice --bin notice-bench`.

mod font;
mod format;
mod labels;
mod layout;
mod pdf;
mod png;
mod qr;
mod receipt;
mod zip;

use chrono::NaiveDate;

pub use format::{format_amount_it, group_code, qr_payload};
pub use layout::installment_pages;
pub use receipt::{ReceiptDocument, ReceiptTransfer, render_receipt};
pub use zip::{Compression, ZipWriter};

use font::{BOLD_FIRST_OBJECT, Encoder, REGULAR_FIRST_OBJECT};
use layout::{Canvas, LogoBox, PAGE_HEIGHT, PAGE_WIDTH};
use pdf::{PdfWriter, deflate, text_string};

/// The notice's language: Italian, or Italian with a second language after each text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Italian only.
    #[default]
    It,
    /// Italian and German.
    ItDe,
    /// Italian and English.
    ItEn,
}

/// The creditor institution (ente creditore).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Creditor {
    /// `ENTE.CF`: 11 digits.
    pub fiscal_code: String,
    /// `ENTE.NOME`: at most 100 characters.
    pub name: String,
    /// `ENTE.SETTORE`: the organisational unit, at most 100 characters.
    pub sector: Option<String>,
    /// `ENTE.INFO`: contacts and the like, at most 200 characters.
    pub info: Option<String>,
    /// `ENTE.CBILL`: the interbank code, at most 16 letters or digits.
    pub cbill: Option<String>,
    /// `ENTE.LOGO`: a PNG (8-bit gray, RGB, gray+alpha or RGBA; palette; not interlaced).
    pub logo_png: Option<Vec<u8>>,
}

/// The notice's recipient (destinatario).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Debtor {
    /// `DESTINATARIO.CF`: 1 to 16 letters or digits (a fiscal code, a VAT number, `ANONIMO`).
    pub fiscal_code: String,
    /// `DESTINATARIO.NOMECOMPLETO`: at most 70 characters.
    pub full_name: String,
    /// `DESTINATARIO.INDIRIZZO`: at most 140 characters.
    pub address: Option<String>,
}

/// One payable amount: the single payment or an installment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installment {
    /// The notice number (NAV): 18 digits.
    pub nav: String,
    /// In euro cents: 1 to 99,999,999,999 (999.999.999,99 euro).
    pub amount_cents: i64,
    /// `None` prints the "senza scadenza" (no due date) variant.
    pub due_date: Option<NaiveDate>,
}

/// What the notice asks to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// One payment.
    Single(Installment),
    /// 2 to 100 installments, optionally with a single payment as an alternative.
    Plan {
        single: Option<Installment>,
        installments: Vec<Installment>,
    },
}

/// A payment notice to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `AVVISO.OGGETTO`: 1 to 90 characters.
    pub subject: String,
    pub language: Language,
    pub creditor: Creditor,
    pub debtor: Debtor,
    pub payment: Payment,
}

/// Why a notice cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} has {len} characters, more than the {max} allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} is not valid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error("amount of {0} cents is outside 1..=99999999999")]
    Amount(i64),
    #[error("a plan has {0} installments; 2 to 100 are allowed")]
    InstallmentCount(usize),
    #[error("the font has no glyph for {0:?}")]
    UnsupportedCharacter(char),
    #[error("logo: {0}")]
    Logo(String),
    #[error("font: {0}")]
    Font(String),
    #[error("QR code: {0}")]
    Qr(String),
}

const MAX_AMOUNT: i64 = 99_999_999_999;

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), NoticeError> {
    if text.trim().is_empty() {
        return Err(NoticeError::Empty { field });
    }
    let len = text.chars().count();
    if len > max {
        return Err(NoticeError::TooLong { field, len, max });
    }
    if text.chars().any(char::is_control) {
        return Err(NoticeError::Invalid {
            field,
            reason: "contains control characters",
        });
    }
    Ok(())
}

fn check_optional(field: &'static str, text: Option<&str>, max: usize) -> Result<(), NoticeError> {
    text.map_or(Ok(()), |t| check_text(field, t, max))
}

fn check_installment(field: &'static str, inst: &Installment) -> Result<(), NoticeError> {
    if inst.nav.len() != 18 || !inst.nav.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoticeError::Invalid {
            field,
            reason: "the notice number (NAV) must be 18 digits",
        });
    }
    if !(1..=MAX_AMOUNT).contains(&inst.amount_cents) {
        return Err(NoticeError::Amount(inst.amount_cents));
    }
    Ok(())
}

fn validate(notice: &Notice) -> Result<(), NoticeError> {
    check_text("subject", &notice.subject, 90)?;
    let creditor = &notice.creditor;
    if creditor.fiscal_code.len() != 11 || !creditor.fiscal_code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(NoticeError::Invalid {
            field: "creditor.fiscal_code",
            reason: "must be 11 digits",
        });
    }
    check_text("creditor.name", &creditor.name, 100)?;
    check_optional("creditor.sector", creditor.sector.as_deref(), 100)?;
    check_optional("creditor.info", creditor.info.as_deref(), 200)?;
    if let Some(cbill) = &creditor.cbill
        && (cbill.is_empty()
            || cbill.len() > 16
            || !cbill.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(NoticeError::Invalid {
            field: "creditor.cbill",
            reason: "must be 1 to 16 letters or digits",
        });
    }
    let debtor = &notice.debtor;
    let cf = &debtor.fiscal_code;
    if cf.is_empty() || cf.len() > 16 || !cf.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(NoticeError::Invalid {
            field: "debtor.fiscal_code",
            reason: "must be 1 to 16 letters or digits",
        });
    }
    check_text("debtor.full_name", &debtor.full_name, 70)?;
    check_optional("debtor.address", debtor.address.as_deref(), 140)?;
    match &notice.payment {
        Payment::Single(single) => check_installment("payment", single),
        Payment::Plan {
            single,
            installments,
        } => {
            if !(2..=100).contains(&installments.len()) {
                return Err(NoticeError::InstallmentCount(installments.len()));
            }
            if let Some(single) = single {
                check_installment("payment.single", single)?;
            }
            installments
                .iter()
                .try_for_each(|i| check_installment("payment.installments", i))
        }
    }
}

const CATALOG: u32 = 1;
const PAGES: u32 = 2;
const INFO: u32 = 13;
const IMAGE: u32 = 14;
const SMASK: u32 = 15;
const FIRST_PAGE: u32 = 16;

/// Renders `notice` as a PDF file (A4, fonts embedded).
pub fn render(notice: &Notice) -> Result<Vec<u8>, NoticeError> {
    validate(notice)?;
    let (regular, bold) = font::fonts()?;
    let logo = notice
        .creditor
        .logo_png
        .as_deref()
        .map(png::prepare)
        .transpose()?;
    let placement = logo
        .as_ref()
        .map(|image| LogoBox::fit(image.width, image.height));
    let mut canvas = Canvas::new(
        Encoder::new(regular),
        Encoder::new(bold),
        notice.language,
        placement,
    );
    layout::draw(&mut canvas, notice)?;
    let pages = canvas.pages();

    let mut pdf = PdfWriter::new(96 * 1024);
    pdf.object(CATALOG, &format!("<< /Type /Catalog /Pages {PAGES} 0 R >>"));
    let kids: Vec<String> = (0..pages.len() as u32)
        .map(|i| format!("{} 0 R", FIRST_PAGE + 2 * i))
        .collect();
    pdf.object(
        PAGES,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    for (num, object) in canvas
        .regular
        .objects()?
        .iter()
        .chain(canvas.bold.objects()?.iter())
    {
        pdf.raw(*num, object);
    }
    pdf.object(
        INFO,
        &format!(
            "<< /Title {} /Author {} /Producer (Sportello notice) >>",
            text_string(&notice.subject),
            text_string(&notice.creditor.name)
        ),
    );
    let mut resources =
        format!("/Font << /F1 {REGULAR_FIRST_OBJECT} 0 R /F2 {BOLD_FIRST_OBJECT} 0 R >>");
    if let Some(image) = &logo {
        resources.push_str(&format!(" /XObject << /Im1 {IMAGE} 0 R >>"));
        match &image.smask {
            Some(mask) => {
                pdf.stream(
                    IMAGE,
                    &format!("{} /SMask {SMASK} 0 R", image.dict),
                    &image.data,
                );
                pdf.stream(
                    SMASK,
                    &format!(
                        "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                        image.width, image.height
                    ),
                    mask,
                );
            }
            None => pdf.stream(IMAGE, &image.dict, &image.data),
        }
    }
    for (i, content) in pages.iter().enumerate() {
        let page = FIRST_PAGE + 2 * i as u32;
        pdf.object(
            page,
            &format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] /Resources << {resources} >> /Contents {} 0 R >>",
                page + 1
            ),
        );
        pdf.stream(
            page + 1,
            "/Filter /FlateDecode",
            &deflate(content.as_bytes(), pdf::PER_NOTICE),
        );
    }
    Ok(pdf.finish(CATALOG, Some(INFO)))
}
