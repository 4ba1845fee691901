//! `FiscalCode`: an Italian personal fiscal code (codice fiscale), with its check character verified.

use super::ValueError;

/// An Italian personal fiscal code (codice fiscale) of 16 uppercase characters.
///
/// Accepted codes match the shape used by the IO API
/// (`^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$`),
/// including omocodic codes (where digits are replaced by the letters
/// `L M N P Q R S T U V` for 0 to 9), have a valid month letter, a day of birth
/// in 1..=31 (men) or 41..=71 (women), and a correct check character.
///
/// Lowercase input is refused, not uppercased: callers must send the canonical form.
///
/// The only exception is the IO sandbox code [`FiscalCode::SANDBOX`], which is accepted
/// even though it does not satisfy these rules.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FiscalCode(String);

/// Number of characters of a personal fiscal code.
const LENGTH: usize = 16;

/// Month letters, January to December.
const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";

/// Letters that replace the digits 0 to 9 in omocodic codes.
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";

/// Values of `0..=9` and `A..=Z` in odd positions (1st, 3rd, ...) for the check character.
/// A digit has the same value as the letter with the same index (0 as A, 1 as B, ...).
const ODD_POSITION_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// What each of the first 15 positions may hold; the 16th is the check letter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// `A-Z`.
    Letter,
    /// `0-9` or an omocodia letter.
    Digit,
    /// A month letter.
    Month,
}

const LAYOUT: [Slot; LENGTH] = [
    Slot::Letter,
    Slot::Letter,
    Slot::Letter,
    Slot::Letter,
    Slot::Letter,
    Slot::Letter,
    Slot::Digit,
    Slot::Digit,
    Slot::Month,
    Slot::Digit,
    Slot::Digit,
    Slot::Letter,
    Slot::Digit,
    Slot::Digit,
    Slot::Digit,
    Slot::Letter,
];

impl FiscalCode {
    /// The fiscal code used by the IO sandbox; accepted although it is not a valid code.
    pub const SANDBOX: &str = "AAAAAA00A00A000A";

    /// Parses a personal fiscal code, checking its shape, month, day and check character.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if input == Self::SANDBOX {
            return Ok(Self(input.to_owned()));
        }
        let count = input.chars().count();
        if count != LENGTH {
            return Err(ValueError::new(format!(
                "a fiscal code must be exactly {LENGTH} characters long, not {count}"
            )));
        }
        for (index, (character, slot)) in input.chars().zip(LAYOUT).enumerate() {
            check_character_at(index + 1, character, slot)?;
        }
        // Every character is now ASCII, so bytes and characters coincide.
        let bytes = input.as_bytes();
        let day = digit_value(bytes[9]) * 10 + digit_value(bytes[10]);
        if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
            return Err(ValueError::new(
                "the day of birth of a fiscal code (characters 10 and 11) must be from 01 to 31, \
                 or from 41 to 71 for women",
            ));
        }
        if check_character(&bytes[..LENGTH - 1]) != bytes[LENGTH - 1] {
            return Err(ValueError::new(
                "the check character of a fiscal code (character 16) does not match the first 15 characters",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The code, 16 uppercase characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the IO sandbox code [`FiscalCode::SANDBOX`].
    pub fn is_sandbox(&self) -> bool {
        self.0 == Self::SANDBOX
    }
}

/// Checks that the character at `position` (1-based) fits its slot.
fn check_character_at(position: usize, character: char, slot: Slot) -> Result<(), ValueError> {
    let fits = match slot {
        Slot::Letter => character.is_ascii_uppercase(),
        Slot::Digit => {
            character.is_ascii_digit()
                || (character.is_ascii() && OMOCODIA_LETTERS.contains(&(character as u8)))
        }
        Slot::Month => {
            if character.is_ascii_uppercase() && !MONTH_LETTERS.contains(&(character as u8)) {
                return Err(ValueError::new(
                    "the month letter of a fiscal code (character 9) must be one of \
                     A B C D E H L M P R S T",
                ));
            }
            character.is_ascii_uppercase()
        }
    };
    if fits {
        return Ok(());
    }
    let expected = match slot {
        Slot::Letter | Slot::Month => "an uppercase letter from A to Z",
        Slot::Digit => "a digit or one of the letters L M N P Q R S T U V",
    };
    let hint = if character.is_lowercase() {
        " (lowercase letters are not accepted)"
    } else {
        ""
    };
    Err(ValueError::new(format!(
        "character {position} of a fiscal code must be {expected}{hint}"
    )))
}

/// Value of a digit or omocodia letter, already known to be one of them.
fn digit_value(byte: u8) -> u32 {
    if byte.is_ascii_digit() {
        u32::from(byte - b'0')
    } else {
        OMOCODIA_LETTERS
            .iter()
            .position(|&letter| letter == byte)
            .map_or(0, |value| value as u32)
    }
}

/// Index of an uppercase letter or digit: `A`/`0` is 0, `B`/`1` is 1, ..., `Z` is 25.
fn alphanumeric_index(byte: u8) -> usize {
    if byte.is_ascii_digit() {
        usize::from(byte - b'0')
    } else {
        usize::from(byte.saturating_sub(b'A')).min(25)
    }
}

/// The check character of the first 15 characters (uppercase ASCII letters and digits),
/// with the official algorithm: odd positions use a table, even positions the plain index,
/// and the sum modulo 26 gives the letter.
fn check_character(first_fifteen: &[u8]) -> u8 {
    let sum: u32 = first_fifteen
        .iter()
        .enumerate()
        .map(|(index, &byte)| {
            let value = alphanumeric_index(byte);
            if index % 2 == 0 {
                ODD_POSITION_VALUES[value]
            } else {
                value as u32
            }
        })
        .sum();
    // The remainder is below 26, so the cast cannot truncate.
    b'A' + (sum % 26) as u8
}

super::text_value!(FiscalCode);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Appends the computed check character to 15 characters.
    fn with_check(first_fifteen: &str) -> String {
        let check = check_character(first_fifteen.as_bytes());
        format!("{first_fifteen}{}", char::from(check))
    }

    fn reason(input: &str) -> String {
        FiscalCode::parse(input).unwrap_err().reason
    }

    #[test]
    fn a_well_known_valid_code_is_accepted() {
        let code = FiscalCode::parse("RSSMRA85T10A562S").unwrap();
        assert_eq!(code.as_str(), "RSSMRA85T10A562S");
        assert_eq!(code.to_string(), "RSSMRA85T10A562S");
        assert!(!code.is_sandbox());
    }

    #[test]
    fn other_valid_codes_for_men_and_women_are_accepted() {
        for code in ["BNCGPP80A01H501E", "VRDLGU90E45F205U", "MRARSS72H48Z404D"] {
            assert!(FiscalCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn the_check_character_is_computed_with_the_official_algorithm() {
        assert_eq!(with_check("RSSMRA85T10A562"), "RSSMRA85T10A562S");
        assert_eq!(with_check("BNCGPP80A01H501"), "BNCGPP80A01H501E");
    }

    #[test]
    fn an_omocodic_code_with_a_correct_check_character_is_accepted() {
        // Digits of RSSMRA85T10A562S replaced from the right, check character recomputed.
        for code in [
            "RSSMRA85T10A56NH",
            "RSSMRA85T10A5SNT",
            "RSSMRA85T10ARSNO",
            "RSSMRA85T1LARSNR",
            "RSSMRA85TMLARSNC",
            "RSSMRA8RTMLARSNO",
            "RSSMRAURTMLARSNL",
        ] {
            assert!(FiscalCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn omocodic_variants_built_from_the_right_are_accepted() {
        let mut chars: Vec<u8> = b"VRDLGU90E45F205".to_vec();
        for position in [14, 13, 12, 10, 9, 7, 6] {
            let digit = usize::from(chars[position] - b'0');
            chars[position] = OMOCODIA_LETTERS[digit];
            let code = with_check(std::str::from_utf8(&chars).unwrap());
            assert!(FiscalCode::parse(&code).is_ok(), "{code}");
        }
    }

    #[test]
    fn an_omocodic_code_with_the_original_check_character_is_refused() {
        assert!(FiscalCode::parse("RSSMRA85T10A56NS").is_err());
    }

    #[test]
    fn the_sandbox_code_is_accepted_and_recognised() {
        let code = FiscalCode::parse(FiscalCode::SANDBOX).unwrap();
        assert!(code.is_sandbox());
        assert_eq!(code.as_str(), "AAAAAA00A00A000A");
    }

    #[test]
    fn a_code_of_the_wrong_length_is_refused_with_the_length_reason() {
        assert_eq!(
            reason("RSSMRA85T10A562"),
            "a fiscal code must be exactly 16 characters long, not 15"
        );
        assert_eq!(
            reason(""),
            "a fiscal code must be exactly 16 characters long, not 0"
        );
        assert!(reason("RSSMRA85T10A562SS").contains("exactly 16 characters"));
    }

    #[test]
    fn lowercase_input_is_refused_and_not_uppercased() {
        assert_eq!(
            reason("rssmra85t10a562s"),
            "character 1 of a fiscal code must be an uppercase letter from A to Z \
             (lowercase letters are not accepted)"
        );
        assert!(reason("RSSMRA85T10a562S").starts_with("character 12 "));
    }

    #[test]
    fn a_wrong_character_is_reported_with_its_one_based_position() {
        assert_eq!(
            reason("RSSMRA8XT10A562S"),
            "character 8 of a fiscal code must be a digit or one of the letters L M N P Q R S T U V"
        );
        assert!(reason("RSSM4A85T10A562S").starts_with("character 5 "));
        assert!(reason("RSSMRA85T10A56 S").starts_with("character 15 "));
        assert!(reason("RSSMRA85T10A5621").starts_with("character 16 "));
        assert!(reason("RSSMRA8èT10A562S").starts_with("character 8 "));
        assert!(reason("RSSMRA85110A562S").starts_with("character 9 "));
    }

    #[test]
    fn a_letter_that_is_not_a_month_is_refused_as_an_invalid_month() {
        let code = with_check("RSSMRA85Z10A562");
        assert_eq!(
            reason(&code),
            "the month letter of a fiscal code (character 9) must be one of A B C D E H L M P R S T"
        );
    }

    #[test]
    fn a_day_outside_the_allowed_ranges_is_refused() {
        for first_fifteen in [
            "RSSMRA85T00A562",
            "RSSMRA85T32A562",
            "RSSMRA85T40A562",
            "RSSMRA85T72A562",
            "RSSMRA85T99A562",
            "RSSMRA85TLLA562",
        ] {
            let code = with_check(first_fifteen);
            assert!(reason(&code).starts_with("the day of birth"), "{code}");
        }
        for first_fifteen in [
            "RSSMRA85T01A562",
            "RSSMRA85T31A562",
            "RSSMRA85T41A562",
            "RSSMRA85T71A562",
        ] {
            assert!(FiscalCode::parse(&with_check(first_fifteen)).is_ok());
        }
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        assert_eq!(
            reason("RSSMRA85T10A562T"),
            "the check character of a fiscal code (character 16) does not match the first 15 characters"
        );
    }

    #[test]
    fn reasons_never_contain_the_input() {
        for input in [
            "RSSMRA85T10A562T",
            "rssmra85t10a562s",
            "RSSMRA85T00A562S",
            "RSSMRA85Z10A562S",
            "RSSMRA85T10A562",
        ] {
            let reason = reason(input);
            assert!(!reason.contains(input), "{reason}");
            assert!(!reason.contains("RSSMRA"), "{reason}");
        }
    }

    #[test]
    fn serde_uses_the_plain_string_and_refuses_invalid_codes() {
        let code = FiscalCode::parse("RSSMRA85T10A562S").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"RSSMRA85T10A562S\"");
        assert_eq!(serde_json::from_str::<FiscalCode>(&json).unwrap(), code);
        let error = serde_json::from_str::<FiscalCode>("\"RSSMRA85T10A562T\"").unwrap_err();
        assert!(error.to_string().contains("check character"));
        assert!(!error.to_string().contains("RSSMRA"));
    }

    #[test]
    fn from_str_parses_like_parse() {
        let code: FiscalCode = "RSSMRA85T10A562S".parse().unwrap();
        assert_eq!(code, FiscalCode::parse("RSSMRA85T10A562S").unwrap());
        assert!("RSSMRA85T10A562T".parse::<FiscalCode>().is_err());
    }

    fn letter() -> impl Strategy<Value = char> {
        (0u8..26).prop_map(|offset| char::from(b'A' + offset))
    }

    /// A digit, possibly written as its omocodia letter.
    fn encode_digit(digit: u8, omocodic: bool) -> char {
        if omocodic {
            char::from(OMOCODIA_LETTERS[usize::from(digit)])
        } else {
            char::from(b'0' + digit)
        }
    }

    fn digit_like() -> impl Strategy<Value = char> {
        (0u8..10, any::<bool>()).prop_map(|(digit, omocodic)| encode_digit(digit, omocodic))
    }

    /// The first 15 characters of a structurally valid code.
    fn first_fifteen() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(letter(), 6),
            prop::collection::vec(digit_like(), 2),
            0usize..12,
            prop_oneof![1u8..=31, 41u8..=71],
            (any::<bool>(), any::<bool>()),
            letter(),
            prop::collection::vec(digit_like(), 3),
        )
            .prop_map(
                |(surname_name, year, month, day, (tens_omocodic, units_omocodic), town, code)| {
                    let mut text: String = surname_name.into_iter().collect();
                    text.extend(year);
                    text.push(char::from(MONTH_LETTERS[month]));
                    text.push(encode_digit(day / 10, tens_omocodic));
                    text.push(encode_digit(day % 10, units_omocodic));
                    text.push(town);
                    text.extend(code);
                    text
                },
            )
    }

    proptest! {
        #[test]
        fn any_structurally_valid_code_with_its_check_character_is_accepted_and_round_trips(
            first in first_fifteen()
        ) {
            let text = with_check(&first);
            let code = FiscalCode::parse(&text).unwrap();
            prop_assert_eq!(&code.to_string(), &text);
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(&serde_json::from_str::<FiscalCode>(&json).unwrap(), &code);
            prop_assert_eq!(text.parse::<FiscalCode>().unwrap(), code);
        }

        #[test]
        fn any_other_check_character_is_refused(first in first_fifteen(), shift in 1u8..26) {
            let right = check_character(first.as_bytes());
            let wrong = b'A' + (right - b'A' + shift) % 26;
            let text = format!("{first}{}", char::from(wrong));
            let reason = FiscalCode::parse(&text).unwrap_err().reason;
            prop_assert!(reason.contains("check character"));
        }

        #[test]
        fn a_lowercased_valid_code_is_refused(first in first_fifteen()) {
            let text = with_check(&first).to_lowercase();
            prop_assert!(FiscalCode::parse(&text).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics_and_reasons_never_echo_it(
            input in prop_oneof![any::<String>(), "[A-Z0-9a-z]{16}"]
        ) {
            if let Err(error) = FiscalCode::parse(&input) {
                prop_assert!(input.len() < 4 || !error.reason.contains(&input));
            }
        }
    }
}
