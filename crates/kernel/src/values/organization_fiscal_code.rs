//! `OrganizationFiscalCode`: the 11-digit fiscal code of an organization (partita IVA form), with its check digit verified.

use super::ValueError;

/// Number of digits of an organization fiscal code.
const LENGTH: usize = 11;

/// The numeric fiscal code of an organization (the same form as a partita IVA):
/// exactly 11 ASCII digits, the last one a check digit over the first 10.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrganizationFiscalCode(String);

impl OrganizationFiscalCode {
    /// Parses an organization fiscal code, checking its length, digits and check digit.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if input.len() != LENGTH || !input.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ValueError::new(
                "an organization fiscal code must be exactly 11 digits",
            ));
        }
        let bytes = input.as_bytes();
        if check_digit(&bytes[..LENGTH - 1]) != bytes[LENGTH - 1] {
            return Err(ValueError::new(
                "the check digit of an organization fiscal code (the 11th digit) does not match the first 10 digits",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The code, 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check digit (as an ASCII byte) of the first 10 digits: digits in odd positions
/// (1st, 3rd, ...) count as they are, digits in even positions are doubled, minus 9 when
/// the double exceeds 9; the check digit brings the sum to a multiple of 10.
fn check_digit(first_ten: &[u8]) -> u8 {
    let sum: u32 = first_ten
        .iter()
        .enumerate()
        .map(|(index, &byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 {
                digit
            } else if digit * 2 > 9 {
                digit * 2 - 9
            } else {
                digit * 2
            }
        })
        .sum();
    // The result is below 10, so the cast cannot truncate.
    b'0' + ((10 - sum % 10) % 10) as u8
}

super::text_value!(OrganizationFiscalCode);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(input: &str) -> String {
        OrganizationFiscalCode::parse(input).unwrap_err().reason
    }

    #[test]
    fn real_organization_codes_are_accepted() {
        // Check digits verified by computing them independently.
        for code in [
            "00441340122",
            "00488410010",
            "80003170661",
            "97735020584",
            "02438750586",
            "01114601006",
        ] {
            let parsed = OrganizationFiscalCode::parse(code).unwrap();
            assert_eq!(parsed.as_str(), code);
            assert_eq!(parsed.to_string(), code);
        }
    }

    #[test]
    fn the_check_digit_doubles_even_positions_and_subtracts_nine_above_nine() {
        assert_eq!(check_digit(b"0044134012"), b'2');
        assert_eq!(check_digit(b"8000317066"), b'1');
        assert_eq!(check_digit(b"0000000000"), b'0');
        // 5 in an even position: 10 - 9 = 1, so the sum is 1 and the check digit 9.
        assert_eq!(check_digit(b"0500000000"), b'9');
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        assert_eq!(
            reason("00441340123"),
            "the check digit of an organization fiscal code (the 11th digit) does not match the first 10 digits"
        );
    }

    #[test]
    fn anything_but_eleven_ascii_digits_is_refused() {
        for input in [
            "",
            "0044134012",
            "004413401222",
            "0044134012a",
            " 0044134012",
            "IT00441340122",
            "0044134012٢",
            "+0441340122",
        ] {
            assert_eq!(
                reason(input),
                "an organization fiscal code must be exactly 11 digits"
            );
        }
    }

    #[test]
    fn serde_uses_the_plain_string_and_refuses_invalid_codes() {
        let code = OrganizationFiscalCode::parse("00441340122").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"00441340122\"");
        assert_eq!(
            serde_json::from_str::<OrganizationFiscalCode>(&json).unwrap(),
            code
        );
        let error = serde_json::from_str::<OrganizationFiscalCode>("\"00441340123\"").unwrap_err();
        assert!(error.to_string().contains("check digit"));
        assert!(!error.to_string().contains("00441340123"));
        assert!(serde_json::from_str::<OrganizationFiscalCode>("441340122").is_err());
    }

    #[test]
    fn from_str_parses_like_parse() {
        assert_eq!(
            "00441340122".parse::<OrganizationFiscalCode>().unwrap(),
            OrganizationFiscalCode::parse("00441340122").unwrap()
        );
    }

    proptest! {
        #[test]
        fn ten_digits_with_their_computed_check_digit_are_accepted(first in "[0-9]{10}") {
            let check = char::from(check_digit(first.as_bytes()));
            let text = format!("{first}{check}");
            let code = OrganizationFiscalCode::parse(&text).unwrap();
            prop_assert_eq!(code.as_str(), text.as_str());
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(serde_json::from_str::<OrganizationFiscalCode>(&json).unwrap(), code);
        }

        #[test]
        fn changing_the_check_digit_makes_the_code_invalid(first in "[0-9]{10}", shift in 1u8..10) {
            let right = check_digit(first.as_bytes());
            let wrong = b'0' + (right - b'0' + shift) % 10;
            let text = format!("{first}{}", char::from(wrong));
            let reason = OrganizationFiscalCode::parse(&text).unwrap_err().reason;
            prop_assert!(reason.contains("check digit"));
            prop_assert!(!reason.contains(&text));
        }

        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            let _ = OrganizationFiscalCode::parse(&input);
        }
    }
}
