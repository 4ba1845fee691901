//! Personal-data screening of table columns: fiscal codes of persons (with the check
//! character), e-mail addresses and IBANs (mod-97) flag a column at the first match; phone
//! numbers, person names and street addresses when at least 30% of a column's non-empty cells
//! look like one. Findings carry counts and masked examples, never raw values.

use crate::model::{PiiFinding, PiiKind};

/// The kind of personal data a single value certainly is, for the strong kinds.
pub fn scan_value(s: &str) -> Option<PiiKind> {
    let t = s.trim();
    if t.len() == 16 && kernel::values::FiscalCode::parse(t).is_ok() {
        return Some(PiiKind::FiscalCode);
    }
    if is_email(t) {
        return Some(PiiKind::Email);
    }
    if is_iban(t) {
        return Some(PiiKind::Iban);
    }
    None
}

fn is_email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !t.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn is_iban(t: &str) -> bool {
    let s: String = t.chars().filter(|c| *c != ' ').collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let b = s.as_bytes();
    if !b[0].is_ascii_uppercase() || !b[1].is_ascii_uppercase() {
        return false;
    }
    if !b[2].is_ascii_digit() || !b[3].is_ascii_digit() {
        return false;
    }
    if s.starts_with("IT") && s.len() != 27 {
        return false;
    }
    let mut rem: u32 = 0;
    for c in s[4..].chars().chain(s[..4].chars()) {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn is_phone(t: &str) -> bool {
    let mut s = t.trim();
    for p in ["+39", "0039"] {
        if let Some(rest) = s.strip_prefix(p) {
            s = rest.trim_start();
        }
    }
    if !s.chars().all(|c| c.is_ascii_digit() || " .-/".contains(c)) {
        return false;
    }
    let groups: Vec<&str> = s
        .split(|c: char| " .-/".contains(c))
        .filter(|g| !g.is_empty())
        .collect();
    // A day-first or ISO date (`01/02/2020`, `2020-02-01`) and a decimal below one
    // (`0.12345`) are digits and separators too; an Italian prefix has two digits or more.
    let date_shape = groups.len() == 3
        && matches!(
            groups
                .iter()
                .map(|g| g.len())
                .collect::<Vec<_>>()
                .as_slice(),
            [1 | 2, 1 | 2, 2 | 4] | [4, 1 | 2, 1 | 2]
        );
    if date_shape || groups.first() == Some(&"0") {
        return false;
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let separated = s.chars().any(|c| " .-/".contains(c)) || t.starts_with('+');
    (digits.starts_with('3') && (9..=10).contains(&digits.len()) && separated)
        || (digits.starts_with('0') && (6..=11).contains(&digits.len()) && separated)
}

const STREET: &[&str] = &[
    "via ",
    "v.le ",
    "viale ",
    "piazza ",
    "p.zza ",
    "piazzale ",
    "corso ",
    "c.so ",
    "largo ",
    "vicolo ",
    "strada ",
    "località ",
    "loc. ",
    "contrada ",
    "borgo ",
    "lungomare ",
];

fn is_address(t: &str) -> bool {
    let l = t.trim().to_lowercase();
    STREET.iter().any(|p| l.starts_with(p)) && l.split_whitespace().count() >= 2
}

const FIRST_NAMES: &str = include_str!("pii_first_names.txt");

fn first_names() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        FIRST_NAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn is_person_name(t: &str) -> bool {
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.is_empty() || words.len() > 4 {
        return false;
    }
    if !words.iter().all(|w| {
        w.chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
    }) {
        return false;
    }
    let names = first_names();
    words
        .iter()
        .any(|w| names.contains(w.to_lowercase().as_str()))
        && (words.len() >= 2 || names.contains(t.to_lowercase().as_str()))
}

/// Masks a value: the first three and the last character kept for values of six or more
/// characters, everything else replaced by `*`.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 6 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 4));
    out.push(chars[chars.len() - 1]);
    out
}

const KINDS: [PiiKind; 6] = [
    PiiKind::FiscalCode,
    PiiKind::Email,
    PiiKind::Iban,
    PiiKind::Phone,
    PiiKind::PersonName,
    PiiKind::StreetAddress,
];

/// The screening of one column, fed cell by cell.
#[derive(Debug, Default, Clone)]
pub struct ColumnScreen {
    non_empty: u64,
    counts: [u64; 6],
    examples: [Vec<String>; 6],
    name_hint: bool,
}

impl ColumnScreen {
    /// A screen for a column with this header (a header such as `nome` or `cognome` lowers the
    /// threshold for names).
    pub fn new(header: &str) -> Self {
        let h = header.to_lowercase();
        Self {
            name_hint: [
                "nome",
                "cognome",
                "name",
                "surname",
                "nominativo",
                "intestatario",
            ]
            .iter()
            .any(|k| h.contains(k)),
            ..Self::default()
        }
    }

    /// Looks at one non-empty cell.
    pub fn feed(&mut self, cell: &str) {
        let t = cell.trim();
        if t.is_empty() {
            return;
        }
        self.non_empty += 1;
        let kind = scan_value(t).or_else(|| {
            if is_phone(t) {
                Some(PiiKind::Phone)
            } else if is_address(t) {
                Some(PiiKind::StreetAddress)
            } else if is_person_name(t) {
                Some(PiiKind::PersonName)
            } else {
                None
            }
        });
        if let Some(k) = kind {
            let i = KINDS.iter().position(|x| *x == k).unwrap_or(0);
            self.counts[i] += 1;
            if self.examples[i].len() < 3 {
                self.examples[i].push(mask(t));
            }
        }
    }

    /// The findings of the column.
    pub fn finish(self, column: &str) -> Vec<PiiFinding> {
        let mut out = Vec::new();
        for (i, kind) in KINDS.iter().enumerate() {
            let n = self.counts[i];
            if n == 0 {
                continue;
            }
            let strong = matches!(kind, PiiKind::FiscalCode | PiiKind::Email | PiiKind::Iban);
            let share = n as f64 / self.non_empty.max(1) as f64;
            let threshold = if *kind == PiiKind::PersonName && self.name_hint {
                0.1
            } else {
                0.3
            };
            if strong || share >= threshold {
                out.push(PiiFinding {
                    column: column.to_owned(),
                    kind: *kind,
                    cells: n,
                    examples: self.examples[i].clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fiscal_code_with_the_right_check_character_is_personal_data() {
        assert_eq!(scan_value("RSSMRA80A01H501U"), Some(PiiKind::FiscalCode));
        assert_eq!(scan_value("RSSMRA80A01H501X"), None);
    }

    #[test]
    fn ibans_are_checked_with_mod_97() {
        assert!(is_iban("IT60X0542811101000000123456"));
        assert!(!is_iban("IT60X0542811101000000123457"));
    }

    #[test]
    fn a_column_of_city_names_is_not_flagged_as_names() {
        let mut s = ColumnScreen::new("comune");
        for c in ["Roma", "Milano", "Napoli", "Varese"] {
            s.feed(c);
        }
        assert!(s.finish("comune").is_empty());
    }

    #[test]
    fn a_column_of_person_names_is_flagged_with_masked_examples() {
        let mut s = ColumnScreen::new("beneficiario");
        for c in ["Mario Rossi", "Giulia Bianchi", "Luca Verdi"] {
            s.feed(c);
        }
        let f = s.finish("beneficiario");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, PiiKind::PersonName);
        assert!(f[0].examples.iter().all(|e| !e.contains("Rossi")));
    }

    #[test]
    fn phones_and_addresses_are_recognised() {
        assert!(is_phone("+39 333 1234567"));
        assert!(is_phone("0332 255111"));
        assert!(!is_phone("2024"));
        assert!(is_phone("0332/255111"));
        assert!(is_phone("02 8888 1234"));
        // Dates and decimals are not telephone numbers.
        assert!(!is_phone("01/02/2020"));
        assert!(!is_phone("31.12.2024"));
        assert!(!is_phone("2024-01-31"));
        assert!(!is_phone("0.12345"));
        assert!(is_address("Via Roma 12"));
        assert!(!is_address("Viabilità"));
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask("RSSMRA80A01H501U"), "RSS************U");
        assert_eq!(mask("abc"), "***");
    }
}
