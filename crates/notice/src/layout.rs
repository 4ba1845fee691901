//! The notice's pages: a small canvas (top-down coordinates in points on A4) and the sections of
//! pagoPA's notice standard drawn on it.

use std::fmt::Write as _;

use crate::font::Encoder;
use crate::format::{format_amount_it, format_date, group_code, qr_payload};
use crate::labels::{self, Text};
use crate::qr;
use crate::{Installment, Language, Notice, NoticeError, Payment};

pub(crate) const PAGE_WIDTH: f32 = 595.0;
pub(crate) const PAGE_HEIGHT: f32 = 842.0;
const LEFT: f32 = 40.0;
const RIGHT: f32 = PAGE_WIDTH - 40.0;
const CONTENT: f32 = RIGHT - LEFT;
const COLUMN: f32 = 250.0;
const SECOND_COLUMN: f32 = RIGHT - COLUMN;
/// 25 mm, the printed size of the QR code in pagoPA's standard.
const QR_SIZE: f32 = 25.0 / 25.4 * 72.0;

/// A colour as PDF operands `r g b`.
type Rgb = &'static str;
const INK: Rgb = "0.09 0.11 0.15";
const GREY: Rgb = "0.36 0.4 0.45";
const BLUE: Rgb = "0 0.36 0.73";
const BAND: Rgb = "0.9 0.94 0.98";

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
const SMALL: Style = style(false, 7.0, INK);
const FIELD_LABEL: Style = style(false, 6.5, GREY);

/// How many installment slips each page after the first holds: three while three or more
/// remain, except that four remaining are split two and two, so no page holds a lone slip.
/// `2 → [2]`, `3 → [3]`, `4 → [2, 2]`, `5 → [3, 2]`, `7 → [3, 2, 2]`, `100 → [3 × 32, 2, 2]`.
pub fn installment_pages(count: usize) -> Vec<usize> {
    let mut pages = Vec::with_capacity(count / 3 + 2);
    let mut left = count;
    while left > 0 {
        let take = match left {
            4 => 2,
            n if n >= 3 => 3,
            n => n,
        };
        pages.push(take);
        left -= take;
    }
    pages
}

/// The logo's placement on the page, in points.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogoBox {
    pub width: f32,
    pub height: f32,
}

impl LogoBox {
    /// The largest box of the image's aspect ratio that fits 110 × 50 pt.
    pub(crate) fn fit(pixels_wide: u32, pixels_high: u32) -> LogoBox {
        let (w, h) = (pixels_wide as f32, pixels_high as f32);
        let scale = (110.0 / w).min(50.0 / h);
        LogoBox {
            width: w * scale,
            height: h * scale,
        }
    }
}

pub(crate) struct Canvas {
    pub regular: Encoder,
    pub bold: Encoder,
    lang: Language,
    logo: Option<LogoBox>,
    ops: String,
    pages: Vec<String>,
}

impl Canvas {
    pub(crate) fn new(
        regular: Encoder,
        bold: Encoder,
        lang: Language,
        logo: Option<LogoBox>,
    ) -> Canvas {
        Canvas {
            regular,
            bold,
            lang,
            logo,
            ops: String::with_capacity(16 * 1024),
            pages: Vec::new(),
        }
    }

    /// The content streams of the pages drawn.
    pub(crate) fn pages(&mut self) -> Vec<String> {
        if !self.ops.is_empty() {
            self.end_page();
        }
        std::mem::take(&mut self.pages)
    }

    fn end_page(&mut self) {
        let ops = std::mem::replace(&mut self.ops, String::with_capacity(16 * 1024));
        self.pages.push(ops);
    }

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

    /// Draws one line with its top at `top`; returns its width.
    fn text(&mut self, st: Style, x: f32, top: f32, text: &str) -> Result<f32, NoticeError> {
        let mut hex = String::with_capacity(text.len() * 4 + 2);
        let advance = self.encoder(st.bold).encode(text, &mut hex)?;
        let font = if st.bold { "BT /F2 " } else { "BT /F1 " };
        self.ops.push_str(font);
        num(&mut self.ops, st.size);
        self.ops.push_str("Tf ");
        self.ops.push_str(st.color);
        self.ops.push_str(" rg ");
        num(&mut self.ops, x);
        num(&mut self.ops, PAGE_HEIGHT - top - st.size);
        self.ops.push_str("Td ");
        self.ops.push_str(&hex);
        self.ops.push_str(" Tj ET\n");
        Ok(advance * st.size)
    }

    fn text_right(
        &mut self,
        st: Style,
        right: f32,
        top: f32,
        text: &str,
    ) -> Result<(), NoticeError> {
        let width = self.width(st, text)?;
        self.text(st, right - width, top, text)?;
        Ok(())
    }

    /// Splits `text` into lines no wider than `width` (a word wider than a line is cut).
    fn wrap(&mut self, st: Style, width: f32, text: &str) -> Result<Vec<String>, NoticeError> {
        let space = self.width(st, " ")?;
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_width = 0.0;
        for word in text.split_whitespace() {
            let mut word_width = self.width(st, word)?;
            let mut word = word.to_owned();
            while word_width > width {
                // Cut the longest prefix that fits.
                let mut prefix = String::new();
                let mut prefix_width = 0.0;
                for ch in word.chars() {
                    let w = self.width(st, ch.encode_utf8(&mut [0; 4]))?;
                    if prefix_width + w > width && !prefix.is_empty() {
                        break;
                    }
                    prefix.push(ch);
                    prefix_width += w;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                lines.push(prefix.clone());
                word = word[prefix.len()..].to_owned();
                word_width = self.width(st, &word)?;
                line_width = 0.0;
            }
            if word.is_empty() {
                continue;
            }
            if !line.is_empty() && line_width + space + word_width > width {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            if !line.is_empty() {
                line.push(' ');
                line_width += space;
            }
            line.push_str(&word);
            line_width += word_width;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        Ok(lines)
    }

    /// Draws `text` wrapped to `width` from `top`; returns the top of the next line.
    fn para(
        &mut self,
        st: Style,
        x: f32,
        top: f32,
        width: f32,
        text: &str,
    ) -> Result<f32, NoticeError> {
        let mut y = top;
        for line in self.wrap(st, width, text)? {
            self.text(st, x, y, &line)?;
            y += st.size * 1.25;
        }
        Ok(y)
    }

    /// A fixed text: Italian, then (bilingual notices) the second language in grey.
    fn para_text(
        &mut self,
        st: Style,
        x: f32,
        top: f32,
        width: f32,
        text: Text,
    ) -> Result<f32, NoticeError> {
        let mut y = self.para(st, x, top, width, text.it)?;
        if let Some(second) = text.second(self.lang) {
            y = self.para(Style { color: GREY, ..st }, x, y + 1.0, width, second)?;
        }
        Ok(y)
    }

    fn fill(&mut self, color: Rgb, x: f32, top: f32, w: f32, h: f32) {
        self.rect(x, top, w, h);
        let _ = writeln!(self.ops, "{color} rg f");
    }

    fn frame(&mut self, color: Rgb, x: f32, top: f32, w: f32, h: f32) {
        self.rect(x, top, w, h);
        let _ = writeln!(self.ops, "{color} RG 0.75 w S");
    }

    fn rect(&mut self, x: f32, top: f32, w: f32, h: f32) {
        for v in [x, PAGE_HEIGHT - top - h, w, h] {
            num(&mut self.ops, v);
        }
        self.ops.push_str("re ");
    }

    fn rule(&mut self, top: f32) {
        let y = PAGE_HEIGHT - top;
        let _ = writeln!(self.ops, "{BLUE} RG 1 w {LEFT} {y:.2} m {RIGHT} {y:.2} l S");
    }

    /// The QR code of `payload` as one path of black rectangles, one per run of dark modules in
    /// a row. The page around it is white, which gives the quiet zone.
    fn qr(&mut self, payload: &str, x: f32, top: f32, size: f32) -> Result<(), NoticeError> {
        let code = qr::encode(payload.as_bytes())?;
        // Drawn in module units: the transformation puts the top-left module at (x, top).
        let module = size / qr::SIZE as f32;
        self.ops.push_str("q ");
        for v in [module, 0.0, 0.0, module, x, PAGE_HEIGHT - top - size] {
            num(&mut self.ops, v);
        }
        self.ops.push_str("cm 0 0 0 rg\n");
        for row in 0..qr::SIZE {
            let y = qr::SIZE - 1 - row;
            let mut col = 0;
            while col < qr::SIZE {
                if code.dark(col, row) {
                    let start = col;
                    while col < qr::SIZE && code.dark(col, row) {
                        col += 1;
                    }
                    let _ = writeln!(self.ops, "{start} {y} {} 1 re", col - start);
                } else {
                    col += 1;
                }
            }
        }
        self.ops.push_str("f Q\n");
        Ok(())
    }
}

/// Appends `value` with three decimals (trailing zeros dropped) and a space. Faster than
/// `{:.3}`, which matters with a few hundred numbers per page.
fn num(out: &mut String, value: f32) {
    let milli = (f64::from(value) * 1000.0).round() as i64;
    if milli < 0 {
        out.push('-');
    }
    let milli = milli.unsigned_abs();
    let _ = write!(out, "{}", milli / 1000);
    let mut frac = milli % 1000;
    if frac != 0 {
        out.push('.');
        let mut digits = 3;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        let _ = write!(out, "{frac:0digits$}");
    }
    out.push(' ');
}

/// Draws every page of `notice`.
pub(crate) fn draw(c: &mut Canvas, notice: &Notice) -> Result<(), NoticeError> {
    let mut y = header(c, notice)?;
    y = parties(c, notice, y)?;
    y = amounts(c, notice, y)?;
    let (single, installments): (Option<&Installment>, &[Installment]) = match &notice.payment {
        Payment::Single(single) => (Some(single), &[]),
        Payment::Plan {
            single,
            installments,
        } => (single.as_ref(), installments.as_slice()),
    };
    let use_part = if installments.is_empty() {
        labels::USE_PART_SINGLE
    } else {
        labels::USE_PART_PLAN
    };
    y = c.para_text(style(true, 8.5, INK), LEFT, y, CONTENT, use_part)? + 6.0;
    if let Some(single) = single {
        y = section(c, labels::PAYMENT_DATA, y)?;
        slip(c, notice, &labels::SINGLE.label(c.lang), single, y)?;
    }
    let total = installments.len();
    let mut next = 0;
    for count in installment_pages(total) {
        c.end_page();
        let mut y = header(c, notice)?;
        y = section(c, labels::PAYMENT_DATA, y)?;
        for (i, installment) in installments[next..next + count].iter().enumerate() {
            let title = labels::installment(c.lang, next + i + 1, total);
            y = slip(c, notice, &title, installment, y)?;
        }
        next += count;
    }
    Ok(())
}

fn header(c: &mut Canvas, notice: &Notice) -> Result<f32, NoticeError> {
    let top = 32.0;
    let mut x = LEFT;
    let mut bottom = top;
    if let Some(logo) = c.logo {
        let _ = writeln!(
            c.ops,
            "q {:.2} 0 0 {:.2} {LEFT} {:.2} cm /Im1 Do Q",
            logo.width,
            logo.height,
            PAGE_HEIGHT - top - logo.height
        );
        x += logo.width + 14.0;
        bottom = top + logo.height;
    }
    c.text(SECTION, x, top, &labels::NOTICE.label(c.lang))?;
    let y = c.para(
        style(true, 14.0, INK),
        x,
        top + 13.0,
        RIGHT - x,
        &notice.subject,
    )?;
    let y = bottom.max(y) + 6.0;
    c.rule(y);
    Ok(y + 14.0)
}

fn section(c: &mut Canvas, text: Text, y: f32) -> Result<f32, NoticeError> {
    c.text(SECTION, LEFT, y, &text.label(c.lang))?;
    Ok(y + 14.0)
}

/// A section label in a column: `"it / de"` on one line, or the two languages on two lines
/// when that is too wide. Returns the top of what follows.
fn column_label(c: &mut Canvas, x: f32, y: f32, label: Text) -> Result<f32, NoticeError> {
    let joined = label.label(c.lang);
    match label.second(c.lang) {
        Some(second) if c.width(SECTION, &joined)? > COLUMN => {
            let y = c.para(SECTION, x, y, COLUMN, label.it)?;
            c.para(SECTION, x, y, COLUMN, second)
        }
        _ => c.para(SECTION, x, y, COLUMN, &joined),
    }
}

/// A block under a section label: lines of `(style, text)` wrapped to the column.
fn block(
    c: &mut Canvas,
    x: f32,
    y: f32,
    label: Text,
    lines: &[(Style, String)],
) -> Result<f32, NoticeError> {
    let mut y = column_label(c, x, y, label)? + 3.0;
    for (st, text) in lines {
        y = c.para(*st, x, y, COLUMN, text)? + 1.0;
    }
    Ok(y)
}

fn parties(c: &mut Canvas, notice: &Notice, y: f32) -> Result<f32, NoticeError> {
    let cf = labels::FISCAL_CODE.label(c.lang);
    let creditor = &notice.creditor;
    let mut lines = vec![(NAME, creditor.name.clone())];
    if let Some(sector) = &creditor.sector {
        lines.push((BODY, sector.clone()));
    }
    lines.push((BODY, format!("{cf} {}", creditor.fiscal_code)));
    if let Some(info) = &creditor.info {
        lines.push((SMALL, info.clone()));
    }
    let left = block(c, LEFT, y, labels::CREDITOR, &lines)?;
    let debtor = &notice.debtor;
    let mut lines = vec![
        (NAME, debtor.full_name.clone()),
        (BODY, format!("{cf} {}", debtor.fiscal_code.to_uppercase())),
    ];
    if let Some(address) = &debtor.address {
        lines.push((BODY, address.clone()));
    }
    let right = block(c, SECOND_COLUMN, y, labels::DEBTOR, &lines)?;
    Ok(left.max(right) + 12.0)
}

fn due(lang: Language, date: Option<chrono::NaiveDate>) -> String {
    match date {
        Some(date) => format!("{} {}", labels::BY.label(lang), format_date(date)),
        None => labels::NO_DUE_DATE.label(lang),
    }
}

fn amounts(c: &mut Canvas, notice: &Notice, top: f32) -> Result<f32, NoticeError> {
    let lang = c.lang;
    let mut y = column_label(c, LEFT, top, labels::HOW_MUCH)? + 4.0;
    let big = style(true, 16.0, INK);
    let (amount, date, info) = match &notice.payment {
        Payment::Single(single) => (
            single.amount_cents,
            Some(due(lang, single.due_date)),
            Vec::new(),
        ),
        Payment::Plan {
            single: Some(single),
            installments,
        } => (
            single.amount_cents,
            Some(due(lang, single.due_date)),
            labels::plan_info(lang, true, installments.len()),
        ),
        Payment::Plan {
            single: None,
            installments,
        } => {
            y = c.para(BODY, LEFT, y, COLUMN, &labels::TOTAL.label(lang))?;
            let total = installments.iter().map(|i| i.amount_cents).sum();
            (
                total,
                None,
                labels::plan_info(lang, false, installments.len()),
            )
        }
    };
    c.text(big, LEFT, y, &format!("{} Euro", format_amount_it(amount)))?;
    y += 21.0;
    if let Some(date) = date {
        y = c.para(style(true, 10.0, INK), LEFT, y, COLUMN, &date)? + 2.0;
    }
    for line in info {
        y = c.para(style(false, 8.5, INK), LEFT, y, COLUMN, &line)?;
    }
    let left = c.para_text(SMALL, LEFT, y + 4.0, COLUMN, labels::UPDATED_AMOUNT)?;

    let mut y = column_label(c, SECOND_COLUMN, top, labels::WHERE)? + 4.0;
    for (title, text) in [
        (labels::ONLINE, labels::ONLINE_TEXT),
        (labels::IN_PERSON, labels::IN_PERSON_TEXT),
    ] {
        y = c.para(
            style(true, 8.0, INK),
            SECOND_COLUMN,
            y,
            COLUMN,
            &title.label(lang),
        )? + 1.0;
        y = c.para_text(SMALL, SECOND_COLUMN, y, COLUMN, text)? + 5.0;
    }
    Ok(left.max(y) + 10.0)
}

/// One field of a slip: a small grey label over its value.
fn field(
    c: &mut Canvas,
    x: f32,
    y: f32,
    width: f32,
    label: Text,
    value: &str,
    st: Style,
) -> Result<f32, NoticeError> {
    let y = c.para(FIELD_LABEL, x, y, width, &label.label(c.lang))? + 0.5;
    c.para(st, x, y, width, value)
}

/// The payment data of one installment (or the single payment): a titled band, the QR code
/// and the fields. Returns the top of what follows.
fn slip(
    c: &mut Canvas,
    notice: &Notice,
    title: &str,
    inst: &Installment,
    top: f32,
) -> Result<f32, NoticeError> {
    let lang = c.lang;
    let amount = format!("{} Euro", format_amount_it(inst.amount_cents));
    let band = style(true, 9.0, INK);
    c.fill(BAND, LEFT, top, CONTENT, 20.0);
    c.text(band, LEFT + 8.0, top + 5.5, title)?;
    c.text_right(
        band,
        RIGHT - 8.0,
        top + 5.5,
        &format!("{amount}   {}", due(lang, inst.due_date)),
    )?;

    let payload = qr_payload(&inst.nav, &notice.creditor.fiscal_code, inst.amount_cents);
    let qr_top = top + 30.0;
    c.qr(&payload, LEFT + 10.0, qr_top, QR_SIZE)?;
    let qr_bottom = c.para_text(
        style(false, 6.0, GREY),
        LEFT + 10.0,
        qr_top + QR_SIZE + 4.0,
        QR_SIZE,
        labels::SCAN,
    )?;

    let x = LEFT + 10.0 + QR_SIZE + 18.0;
    let width = RIGHT - 10.0 - x;
    let half = (width - 12.0) / 2.0;
    let x2 = x + half + 12.0;
    let value = style(false, 9.0, INK);
    let strong = style(true, 9.5, INK);
    let creditor = &notice.creditor;
    let mut y = top + 28.0;
    let a = field(
        c,
        x,
        y,
        half,
        labels::RECIPIENT,
        &notice.debtor.full_name,
        value,
    )?;
    let b = field(
        c,
        x2,
        y,
        half,
        labels::CREDITOR_FIELD,
        &creditor.name,
        value,
    )?;
    y = a.max(b) + 4.0;
    y = field(c, x, y, width, labels::SUBJECT, &notice.subject, value)? + 4.0;
    let a = field(c, x, y, half, labels::CODE, &group_code(&inst.nav), strong)?;
    let b = field(
        c,
        x2,
        y,
        half,
        labels::CREDITOR_CF,
        &creditor.fiscal_code,
        strong,
    )?;
    y = a.max(b) + 4.0;
    let a = field(c, x, y, half, labels::AMOUNT, &amount, strong)?;
    let b = match &creditor.cbill {
        Some(cbill) => field(c, x2, y, half, labels::CBILL, &cbill.to_uppercase(), strong)?,
        None => y,
    };
    y = a.max(b);
    let height = y.max(qr_bottom) + 8.0 - top;
    c.frame(BLUE, LEFT, top, CONTENT, height);
    Ok(top + height + 12.0)
}

#[cfg(test)]
mod tests {
    use super::{installment_pages, num};

    #[test]
    fn numbers_are_written_with_up_to_three_decimals() {
        let mut out = String::new();
        for v in [0.0, 1.0, 2.5, 2.147, -3.25, 841.9996, 0.05] {
            num(&mut out, v);
        }
        assert_eq!(out, "0 1 2.5 2.147 -3.25 842 0.05 ");
    }

    #[test]
    fn installments_fill_pages_of_three_without_a_lone_slip() {
        assert_eq!(installment_pages(0), Vec::<usize>::new());
        assert_eq!(installment_pages(2), vec![2]);
        assert_eq!(installment_pages(3), vec![3]);
        assert_eq!(installment_pages(4), vec![2, 2]);
        assert_eq!(installment_pages(5), vec![3, 2]);
        assert_eq!(installment_pages(6), vec![3, 3]);
        assert_eq!(installment_pages(7), vec![3, 2, 2]);
        for n in 2..=100 {
            let pages = installment_pages(n);
            assert_eq!(pages.iter().sum::<usize>(), n);
            assert!(pages.iter().all(|&p| p == 2 || p == 3), "{n}: {pages:?}");
        }
    }
}
