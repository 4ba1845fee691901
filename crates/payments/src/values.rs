//! Parsed values of the payments domain. Every constructor checks its input; reasons never
//! echo it (IBANs and identifiers can be personal data).

use kernel::values::{NoticeNumber, ValueError};
use serde::{Deserialize, Serialize};

/// Longest IUPD accepted. GPD's column is free text; its own tests use 35 characters.
pub const IUPD_MAX: usize = 140;

/// The identifier of a debt position inside its ente (IUPD): 1 to 140 printable ASCII
/// characters without `/`, `?`, `#`, `%` or spaces, so it is safe in a URL path segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iupd(String);

impl Iupd {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let n = input.chars().count();
        if n == 0 || n > IUPD_MAX {
            return Err(ValueError::new(format!(
                "an IUPD must be 1 to {IUPD_MAX} characters long (got {n})"
            )));
        }
        let ok = |c: char| c.is_ascii_graphic() && !matches!(c, '/' | '?' | '#' | '%' | '\\');
        if !input.chars().all(ok) {
            return Err(ValueError::new(
                "an IUPD may contain only printable ASCII characters other than space, \
                 '/', '\\', '?', '#' and '%'",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A segregation code: two digits naming the intermediary or organisational unit that
/// issued a notice (the 2nd and 3rd digit of an aux-3 notice number). PagoPA assigns them;
/// any two digits are accepted, the reserved ones are reported by [`SegregationCode::reserved`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SegregationCode(u8);

impl SegregationCode {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let b = input.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new(
                "a segregation code must be exactly 2 digits",
            ));
        }
        Ok(Self((b[0] - b'0') * 10 + (b[1] - b'0')))
    }

    pub fn new(code: u8) -> Result<Self, ValueError> {
        if code > 99 {
            return Err(ValueError::new("a segregation code is from 00 to 99"));
        }
        Ok(Self(code))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// The centralised service a code is reserved for (SACI, table 1), or `None`; codes
    /// above 45 that are not in the table are outside the range PagoPA assigns.
    pub fn reserved(self) -> Option<&'static str> {
        Some(match self.0 {
            99 => "reserved for CIE (Ministero dell'Interno)",
            98 => "reserved for ANPR certificates",
            97 => "reserved for SUAP (Unioncamere)",
            96 => "reserved for ACI bollo",
            85 => "reserved for TARI/TEFA subsidiarity (PagoPA)",
            81 => "reserved for PagoPA",
            47 => "reserved for Canone Unico (PagoPA)",
            46..=99 => "outside the range 00-45 PagoPA assigns to intermediaries",
            _ => return None,
        })
    }

    /// The segregation code of an aux-3 notice number.
    pub fn of_notice(nav: &NoticeNumber) -> Option<Self> {
        let s = nav.as_str().as_bytes();
        (s[0] == b'3').then(|| Self((s[1] - b'0') * 10 + (s[2] - b'0')))
    }
}

impl std::fmt::Display for SegregationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// Parses `NN[,NN…]`, as GPD's `segregationCodes` query parameter and the CLI take them.
pub fn parse_segregation_list(input: &str) -> Result<Vec<SegregationCode>, ValueError> {
    let mut out = Vec::new();
    for part in input.split(',') {
        let code = SegregationCode::parse(part.trim()).map_err(|_| {
            ValueError::new("segregation codes are two digits each, comma separated (NN,NN)")
        })?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// An IBAN: 15 to 34 characters, two letters (country), two check digits and an
/// alphanumeric account part, with the ISO 13616 mod-97 check. Italian IBANs must be 27
/// characters long. Stored upper case, without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

impl Iban {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s: String = input
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        if !(15..=34).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ValueError::new(
                "an IBAN must be 15 to 34 letters and digits (GPD allows 35; no IBAN is that long)",
            ));
        }
        let b = s.as_bytes();
        if !b[0].is_ascii_uppercase()
            || !b[1].is_ascii_uppercase()
            || !b[2].is_ascii_digit()
            || !b[3].is_ascii_digit()
        {
            return Err(ValueError::new(
                "an IBAN starts with a two-letter country code and two check digits",
            ));
        }
        if &s[..2] == "IT" && s.len() != 27 {
            return Err(ValueError::new(
                "an Italian IBAN must be exactly 27 characters",
            ));
        }
        if mod97(&s) != 1 {
            return Err(ValueError::new(
                "the IBAN's check digits do not match (ISO 13616 mod-97 check)",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The IBAN read from its 5th character on, then the first four, letters as 10..35, mod 97.
fn mod97(iban: &str) -> u32 {
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut rem: u32 = 0;
    for b in rearranged {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            let v = u32::from(b - b'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem
}

/// Computes the two check digits for a country code and account part (used by tests and
/// fixtures to build valid IBANs).
pub fn iban_with_check(country: &str, bban: &str) -> String {
    let probe = format!("{country}00{bban}");
    let rem = mod97(&probe);
    format!("{country}{:02}{bban}", 98 - rem)
}

/// The legal reasons a taxonomy code may name.
pub const LEGAL_REASONS: [&str; 5] = ["IM", "TS", "SP", "SA", "AP"];

/// A taxonomy code (`transferCategory`): `9/` (or the RTP prefixes `6/`, `7/`, `8/`), EC type
/// (2 digits), macro area (2 digits), service type (3 digits), legal reason (`IM|TS|SP|SA|AP`)
/// and a final `/`, e.g. `9/0101002IM/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaxonomyCode(String);

impl TaxonomyCode {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let b = input.as_bytes();
        let shape = b.len() == 12
            && matches!(b[0], b'6'..=b'9')
            && b[1] == b'/'
            && b[2..9].iter().all(u8::is_ascii_digit)
            && b[11] == b'/';
        if !shape {
            return Err(ValueError::new(
                "a taxonomy code is 9/ (or 6/, 7/, 8/), EC type (2 digits), macro area \
                 (2 digits), service type (3 digits), legal reason and '/', e.g. 9/0101002IM/",
            ));
        }
        if !LEGAL_REASONS.contains(&&input[9..11]) {
            return Err(ValueError::new(
                "the legal reason of a taxonomy code must be IM, TS, SP, SA or AP",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digital stamp (marca da bollo digitale) paid instead of a transfer to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Base64 SHA-256 of the stamped document.
    pub hash_document: String,
    /// Always `01` (the only value the node's XSD allows).
    pub stamp_type: String,
    /// The province of residence of the debtor, two upper-case letters.
    pub provincial_residence: String,
}

/// One key/value pair of metadata (at most 10 per option or transfer, keys unique).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub key: String,
    pub value: String,
}

/// Most metadata pairs per option or transfer.
pub const METADATA_MAX: usize = 10;

macro_rules! text_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
text_serde!(Iupd);
text_serde!(Iban);
text_serde!(TaxonomyCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_known_good_and_bad() {
        // The IBAN on the Agenzia delle Entrate's F24 example and the ECBS sample.
        assert!(Iban::parse("IT60X0542811101000000123456").is_ok());
        assert!(Iban::parse("GB82 WEST 1234 5698 7654 32").is_ok());
        assert!(Iban::parse("IT60X0542811101000000123457").is_err());
        assert!(Iban::parse("IT60X054281110100000012345").is_err());
        assert!(Iban::parse("1T60X0542811101000000123456").is_err());
    }

    #[test]
    fn taxonomy() {
        assert!(TaxonomyCode::parse("9/0101002IM/").is_ok());
        assert!(TaxonomyCode::parse("6/0101002TS/").is_ok());
        assert!(TaxonomyCode::parse("5/0101002IM/").is_err());
        assert!(TaxonomyCode::parse("9/0101002XX/").is_err());
        assert!(TaxonomyCode::parse("9/0101002IM").is_err());
        assert!(TaxonomyCode::parse("9/01010A2IM/").is_err());
    }

    #[test]
    fn segregation() {
        assert_eq!(
            SegregationCode::parse("07").map(SegregationCode::get),
            Ok(7)
        );
        assert!(SegregationCode::parse("7").is_err());
        assert!(SegregationCode::parse("47").is_ok_and(|c| c.reserved().is_some()));
        assert!(SegregationCode::parse("12").is_ok_and(|c| c.reserved().is_none()));
        assert_eq!(parse_segregation_list("01, 02,01").map(|v| v.len()), Ok(2));
    }

    proptest::proptest! {
        #[test]
        fn built_ibans_pass_and_one_changed_digit_fails(bban in "[0-9]{23}", pos in 0usize..23, d in 1u8..10) {
            let good = iban_with_check("IT", &format!("X{}", &bban[..22]));
            proptest::prop_assert!(Iban::parse(&good).is_ok());
            let mut bytes = good.into_bytes();
            let i = 5 + (pos % 22);
            bytes[i] = b'0' + ((bytes[i] - b'0' + d) % 10);
            let bad = String::from_utf8(bytes).unwrap_or_default();
            proptest::prop_assert!(Iban::parse(&bad).is_err());
        }
    }
}
