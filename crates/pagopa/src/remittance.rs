//! The tolerant reader of a SEPA credit transfer's unstructured remittance (AT-05, the
//! `causale` a treasury journal or bank statement shows): which reporting flow, or which single
//! payment, the credit settles. A hand-written scanner (no regular expressions).
//!
//! What it recognises (SANP, reconciliation chapter):
//! - cumulative: `/PUR/LGPE-RIVERSAMENTO/URI/<flow id>`, optionally with `/TXT/<digits>/`
//!   before `URI` (as GovPay tolerates);
//! - single: `/RFS/<IUV>/<amount>[/TXT/…]` and `/RFB/<IUV>[/<amount>][/TXT/…]`.
//!
//! What it tolerates, because treasuries mangle the text:
//! - `.` in place of any `/`, repeated separators, and spaces or line breaks anywhere inside
//!   the markers (`/P UR/LGPE- RIVERSAMENTO/U RI/`); markers in any case;
//! - bank words before and after (`ACCREDITO BONIFICO RI1/PUR/… BONIFICO A VOSTRO FAVORE`);
//!   an `RFS`/`RFB` marker must not be the tail of a word (the character before its `R` is
//!   not a letter or digit);
//! - inside the flow id, see [`normalise_flow_id`]; inside a numeric or `RF` IUV, groups of at
//!   most four characters separated by single spaces (`0100 0000 0000 0001 7`).
//!
//! When a text holds both kinds, the cumulative one wins; of several occurrences of a kind,
//! the first that yields a valid identifier.

use std::iter::Peekable;
use std::str::CharIndices;

/// Longest flow id (`identificativoFlusso`, `[a-zA-Z0-9\-_]{1,35}`).
const MAX_FLOW_ID: usize = 35;
/// Most whitespace gaps bridged inside one flow id after its date.
const MAX_BRIDGES: usize = 2;

/// What a remittance says the credit settles.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Remittance {
    /// A cumulative transfer of the reporting flow `flow_id` (compacted, case as written).
    Flow { flow_id: String },
    /// The transfer of one payment.
    Single {
        kind: SingleKind,
        /// The IUV, upper case, without the spaces it may have been printed with.
        iuv: String,
        /// The amount written after the IUV, when there is a readable one (the `/RFS/` form
        /// requires it, but a missing or garbled amount does not hide the IUV).
        amount_cents: Option<i64>,
    },
}

/// The marker of a single-payment remittance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SingleKind {
    /// `/RFS/`: the IUV is a structured creditor reference the ente generated.
    Rfs,
    /// `/RFB/`: the IUV is in the ente's own format.
    Rfb,
}

/// Reads a remittance; `None` when it names no flow and no payment.
pub fn parse(text: &str) -> Option<Remittance> {
    let squeezed = Squeezed::new(text);
    for start in 0..squeezed.chars.len() {
        if let Some(at) = squeezed.cumulative_marker(start)
            && let Some((flow_id, _)) = scan_flow_id(text, at)
        {
            return Some(Remittance::Flow { flow_id });
        }
    }
    for start in 0..squeezed.chars.len() {
        if let Some((kind, at)) = squeezed.single_marker(text, start)
            && let Some((iuv, end)) = scan_iuv(text, at)
        {
            return Some(Remittance::Single {
                kind,
                iuv,
                amount_cents: scan_amount(text, end),
            });
        }
    }
    None
}

/// A flow id as a person or a bank may have written it, compacted: `Some` when `s` (trimmed)
/// is exactly one flow id under these rules, which are also those of [`parse`]:
/// - it starts with the date `YYYY-MM-DD`; whitespace (spaces, line breaks) between any of
///   the date's ten characters is dropped (`20 21-03-17…`);
/// - after the date comes a run of `[0-9A-Za-z_-]`; the id ends at the first character
///   outside that set, except that a whitespace gap followed by more id characters is
///   bridged (at most twice) when:
///   - the id read so far is not yet complete (it lacks the PSP part, or the `-` and the
///     sequence after it), or
///   - the gap is a bare line break (no spaces around it: a wrapped line) and the
///     continuation holds a digit;
///
///   so a word after a complete id (`… -S005147952 BONIFICO`, or on the next line) is never
///   swallowed, while `…-S00514⏎7952` is rejoined;
/// - the result matches `\d{4}-\d{2}-\d{2}[0-9A-Za-z_]+-[0-9A-Za-z_-]+` and has at most 35
///   characters.
pub fn normalise_flow_id(s: &str) -> Option<String> {
    let trimmed = s.trim_start();
    let skipped = s.len() - trimmed.len();
    let (id, end) = scan_flow_id(s, skipped)?;
    s[end..].trim().is_empty().then_some(id)
}

/// The text without whitespace, upper-cased (ASCII), `.` read as `/`, each character with
/// its byte offset in the original.
struct Squeezed {
    chars: Vec<(char, usize)>,
}

impl Squeezed {
    fn new(text: &str) -> Self {
        let chars = text
            .char_indices()
            .filter(|(_, c)| !c.is_whitespace())
            .map(|(at, c)| {
                (
                    if c == '.' {
                        '/'
                    } else {
                        c.to_ascii_uppercase()
                    },
                    at,
                )
            })
            .collect();
        Self { chars }
    }

    fn get(&self, pos: usize) -> Option<char> {
        self.chars.get(pos).map(|&(c, _)| c)
    }

    fn literal(&self, pos: usize, lit: &str) -> Option<usize> {
        let mut p = pos;
        for l in lit.chars() {
            if self.get(p)? != l {
                return None;
            }
            p += 1;
        }
        Some(p)
    }

    /// One or more separators.
    fn seps(&self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while self.get(p) == Some('/') {
            p += 1;
        }
        (p > pos).then_some(p)
    }

    /// `PUR/LGPE-RIVERSAMENTO/[TXT/<digits>/]URI/` at `start`: the byte offset of what follows.
    fn cumulative_marker(&self, start: usize) -> Option<usize> {
        let p = self.literal(start, "PUR")?;
        let p = self.seps(p)?;
        let mut p = self.literal(p, "LGPE")?;
        if matches!(self.get(p), Some('-' | '_' | '/')) {
            p += 1;
        }
        let p = self.literal(p, "RIVERSAMENTO")?;
        let mut p = self.seps(p)?;
        if let Some(q) = self.literal(p, "TXT").and_then(|q| self.seps(q)) {
            let digits = (q..).take_while(|&i| self.get(i).is_some_and(|c| c.is_ascii_digit()));
            let after = q + digits.count();
            if (q + 1..=q + 3).contains(&after)
                && let Some(r) = self.seps(after)
            {
                p = r;
            }
        }
        let p = self.literal(p, "URI")?;
        let p = self.seps(p)?;
        self.chars.get(p).map(|&(_, at)| at)
    }

    /// `RFS/` or `RFB/` at `start`, not the tail of a word: the kind and the byte offset of
    /// what follows.
    fn single_marker(&self, text: &str, start: usize) -> Option<(SingleKind, usize)> {
        let p = self.literal(start, "RF")?;
        let kind = match self.get(p)? {
            'S' => SingleKind::Rfs,
            'B' => SingleKind::Rfb,
            _ => return None,
        };
        let (_, r_at) = self.chars[start];
        if text[..r_at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return None;
        }
        let p = self.seps(p + 1)?;
        self.chars.get(p).map(|&(_, at)| (kind, at))
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn is_line_break(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// Whether `id` (date included) already matches the whole flow id shape.
fn is_complete(id: &str) -> bool {
    let Some(body) = id.get(10..) else {
        return false;
    };
    match body.find('-') {
        Some(k) => k >= 1 && k + 1 < body.len(),
        None => false,
    }
}

fn has_flow_id_shape(id: &str) -> bool {
    let b = id.as_bytes();
    let date_ok = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    date_ok && id.len() <= MAX_FLOW_ID && id.chars().all(is_id_char) && is_complete(id)
}

/// The flow id starting at byte `at` of `text` (see [`normalise_flow_id`]), and the byte
/// offset just after it.
fn scan_flow_id(text: &str, at: usize) -> Option<(String, usize)> {
    let mut it = text[at..].char_indices().peekable();
    let mut id = String::new();
    let mut end = at;
    // The date: ten characters, whitespace between them dropped.
    while id.len() < 10 {
        let (i, c) = it.next()?;
        if c.is_whitespace() && !id.is_empty() {
            continue;
        }
        let want_dash = id.len() == 4 || id.len() == 7;
        let ok = if want_dash {
            c == '-'
        } else {
            c.is_ascii_digit()
        };
        if !ok {
            return None;
        }
        id.push(c);
        end = at + i + c.len_utf8();
    }
    let mut bridges = 0;
    loop {
        while let Some(&(i, c)) = it.peek() {
            if !is_id_char(c) {
                break;
            }
            id.push(c);
            end = at + i + 1;
            it.next();
        }
        let Some(&(_, c)) = it.peek() else { break };
        if !c.is_whitespace() || bridges == MAX_BRIDGES {
            break;
        }
        // A whitespace gap: look past it without consuming, then decide.
        let mut ahead = it.clone();
        let mut bare_line_break = true;
        while let Some(&(_, c)) = ahead.peek() {
            if !c.is_whitespace() {
                break;
            }
            bare_line_break &= is_line_break(c);
            ahead.next();
        }
        let continuation: String = run(&mut ahead.clone());
        if continuation.is_empty() {
            break;
        }
        let bridge = !is_complete(&id)
            || (bare_line_break
                && continuation.bytes().any(|b| b.is_ascii_digit())
                && id.len() + continuation.len() <= MAX_FLOW_ID);
        if !bridge {
            break;
        }
        bridges += 1;
        it = ahead;
    }
    has_flow_id_shape(&id).then_some((id, end))
}

/// The run of id characters at the cursor.
fn run(it: &mut Peekable<CharIndices<'_>>) -> String {
    let mut s = String::new();
    while let Some(&(_, c)) = it.peek() {
        if !is_id_char(c) {
            break;
        }
        s.push(c);
        it.next();
    }
    s
}

/// The IUV starting at byte `at`: 15..17 digits, or an `RF` creditor reference of 15..25
/// letters and digits (`RF`, two check digits, the reference); groups of at most four
/// characters separated by single spaces are rejoined. Returns it upper-cased with the byte
/// offset after it.
fn scan_iuv(text: &str, at: usize) -> Option<(String, usize)> {
    let rest = &text[at..];
    let reference = rest.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("RF"));
    let (class, max): (fn(char) -> bool, usize) = if reference {
        (|c| c.is_ascii_alphanumeric(), 25)
    } else {
        (|c| c.is_ascii_digit(), 17)
    };
    let mut iuv = String::new();
    let mut end = at;
    let mut groups_short = true;
    let mut pos = 0;
    loop {
        let group: &str = {
            let len = rest[pos..]
                .find(|c: char| !class(c))
                .unwrap_or(rest.len() - pos);
            &rest[pos..pos + len]
        };
        if group.is_empty() {
            break;
        }
        groups_short &= group.len() <= 4;
        iuv.push_str(group);
        pos += group.len();
        end = at + pos;
        // A single space, then another short group that keeps the IUV within its length.
        let Some(after) = rest[pos..].strip_prefix(' ') else {
            break;
        };
        let next_len = after.find(|c: char| !class(c)).unwrap_or(after.len());
        if !groups_short || next_len == 0 || next_len > 4 || iuv.len() + next_len > max {
            break;
        }
        pos += 1;
    }
    let iuv = iuv.to_ascii_uppercase();
    let ok = if reference {
        (15..=25).contains(&iuv.len()) && iuv.as_bytes()[2..4].iter().all(u8::is_ascii_digit)
    } else {
        (15..=17).contains(&iuv.len())
    };
    // An IUV glued to more letters or digits is something else.
    let glued = text[end..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    (ok && !glued).then_some((iuv, end))
}

/// The amount after an IUV: separators and spaces, then `123`, `123.45`, `123,45` or
/// `1.234,56`; exact cents. `None` when there is no readable amount.
fn scan_amount(text: &str, at: usize) -> Option<i64> {
    let rest = &text[at..];
    let trimmed = rest.trim_start_matches(|c: char| c == '/' || c == '.' || c.is_whitespace());
    if trimmed.len() == rest.len() {
        return None;
    }
    let b = trimmed.as_bytes();
    let digits_at = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    // Italian grouping: 1.234.567,89
    let lead = digits_at(0);
    if lead == 0 || lead > 13 {
        return None;
    }
    let mut int = String::from(&trimmed[..lead]);
    let mut i = lead;
    if lead <= 3 {
        let mut j = i;
        let mut grouped = String::new();
        while b.get(j) == Some(&b'.') && digits_at(j + 1) == 3 {
            grouped.push_str(&trimmed[j + 1..j + 4]);
            j += 4;
        }
        if !grouped.is_empty() && b.get(j) == Some(&b',') && (1..=2).contains(&digits_at(j + 1)) {
            int.push_str(&grouped);
            i = j;
        }
    }
    let mut frac = String::new();
    if matches!(b.get(i), Some(b'.' | b',')) {
        let n = digits_at(i + 1);
        if n > 2 {
            return None;
        }
        if n > 0 {
            frac.push_str(&trimmed[i + 1..i + 1 + n]);
            i += 1 + n;
        }
    }
    if b.get(i).is_some_and(u8::is_ascii_digit) || int.len() > 13 {
        return None;
    }
    while frac.len() < 2 {
        frac.push('0');
    }
    let cents: i64 = format!("{int}{frac}").parse().ok()?;
    Some(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completeness_rule_needs_a_psp_part_and_a_sequence() {
        assert!(!is_complete("2021-03-17"));
        assert!(!is_complete("2021-03-17ABC"));
        assert!(!is_complete("2021-03-17ABC-"));
        assert!(!is_complete("2021-03-17-ABC"));
        assert!(is_complete("2021-03-17ABC-1"));
    }

    #[test]
    fn amounts_are_exact_cents() {
        assert_eq!(scan_amount("/123.45", 0), Some(12_345));
        assert_eq!(scan_amount("/123,4/TXT", 0), Some(12_340));
        assert_eq!(scan_amount(".1.234,56", 0), Some(123_456));
        assert_eq!(scan_amount("/12/TXT", 0), Some(1_200));
        assert_eq!(scan_amount("/12.345", 0), None);
        assert_eq!(scan_amount("/TXT/1", 0), None);
        assert_eq!(scan_amount("12", 0), None);
    }
}
