//! `NoticeNumber`: a pagoPA notice number (numero avviso, NAV) of 18 digits.

use super::ValueError;

/// Number of digits of a notice number.
const LENGTH: usize = 18;

/// Exclusive upper bound of the 13-digit IUV base of an aux digit 3 notice number.
const BASE13_LIMIT: u64 = 10_000_000_000_000;

/// A pagoPA notice number (numero avviso, NAV): exactly 18 ASCII digits, the first of
/// which (the aux digit) is 0, 1, 2 or 3.
///
/// The layouts (SACI, "Generazione dell'Identificativo Univoco di Versamento"):
/// - aux 0: `0` ‖ application code (2) ‖ IUV base (13) ‖ check digits (2);
/// - aux 1: `1` ‖ IUV (17), with no check digits;
/// - aux 2: `2` ‖ IUV base (15) ‖ check digits (2);
/// - aux 3: `3` ‖ segregation code (2) ‖ IUV base (13) ‖ check digits (2).
///
/// Wherever there are check digits they must equal the first 16 digits, read as a decimal
/// number, modulo 93.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoticeNumber(String);

impl NoticeNumber {
    /// Parses a notice number, checking its digits, aux digit and (for aux digits 0, 2
    /// and 3) its check digits.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        if input.len() != LENGTH || !input.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ValueError::new("a notice number must be exactly 18 digits"));
        }
        let bytes = input.as_bytes();
        match bytes[0] {
            b'1' => {}
            aux @ (b'0' | b'2' | b'3') => {
                let (first_sixteen, check) = input.split_at(LENGTH - 2);
                if check_digits(decimal(first_sixteen)) != check {
                    return Err(ValueError::new(format!(
                        "the check digits of a notice number with aux digit {} (its last 2 \
                         digits) do not match the first 16 digits",
                        char::from(aux)
                    )));
                }
            }
            _ => {
                return Err(ValueError::new(
                    "the first digit of a notice number (the aux digit) must be 0, 1, 2 or 3",
                ));
            }
        }
        Ok(Self(input.to_owned()))
    }

    /// Builds an aux digit 3 notice number from its segregation code (0..=99) and its
    /// 13-digit IUV base (below 10^13), computing the check digits.
    pub fn build_aux3(segregation: u8, base13: u64) -> Result<Self, ValueError> {
        if segregation > 99 {
            return Err(ValueError::new(
                "the segregation code of a notice number must be from 0 to 99",
            ));
        }
        if base13 >= BASE13_LIMIT {
            return Err(ValueError::new(
                "the IUV base of a notice number must have at most 13 digits",
            ));
        }
        let first_sixteen = 3 * 100 * BASE13_LIMIT + u64::from(segregation) * BASE13_LIMIT + base13;
        Ok(Self(format!(
            "{first_sixteen:016}{}",
            check_digits(first_sixteen)
        )))
    }

    /// The aux digit: the first digit, from 0 to 3.
    pub fn aux_digit(&self) -> u8 {
        self.0.as_bytes().first().map_or(0, |byte| byte - b'0')
    }

    /// The notice number, 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Value of a string of at most 19 ASCII digits (already checked).
fn decimal(digits: &str) -> u64 {
    digits
        .bytes()
        .fold(0, |value, byte| value * 10 + u64::from(byte - b'0'))
}

/// The two check digits of the first 16 digits of a notice number (aux digits 0, 2, 3).
fn check_digits(first_sixteen: u64) -> String {
    format!("{:02}", first_sixteen % 93)
}

super::text_value!(NoticeNumber);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(input: &str) -> String {
        NoticeNumber::parse(input).unwrap_err().reason
    }

    #[test]
    fn known_aux_digit_3_numbers_with_correct_check_digits_are_accepted() {
        for text in ["301000000000000144", "347123456789012389"] {
            let number = NoticeNumber::parse(text).unwrap();
            assert_eq!(number.as_str(), text);
            assert_eq!(number.to_string(), text);
            assert_eq!(number.aux_digit(), 3);
        }
    }

    /// Notice numbers printed on real notices, from the QR-code tests of pagoPA's own
    /// io-pagopa-commons (`PAGOPA|002|<NAV>|…`): not computed by this crate.
    #[test]
    fn real_notice_numbers_with_aux_digits_0_and_3_are_accepted() {
        for (text, aux) in [("001721265093769322", 0), ("302032002700000251", 3)] {
            assert_eq!(NoticeNumber::parse(text).unwrap().aux_digit(), aux);
        }
    }

    #[test]
    fn aux_digit_1_numbers_have_no_check_digits() {
        for text in [
            "100000000000000000",
            "101234567890123456",
            "199999999999999999",
        ] {
            assert_eq!(NoticeNumber::parse(text).unwrap().aux_digit(), 1);
        }
    }

    #[test]
    fn aux_digits_0_and_2_carry_mod_93_check_digits_too() {
        // The real aux 0 notice above (0 ‖ application code 01 ‖ base13 7212650937693 ‖ 22)
        // with other check digits.
        assert!(reason("001721265093769323").contains("aux digit 0"));
        assert!(reason("001721265093769300").contains("check digits"));
        // 2 ‖ base15 000000000000001: 2,000,000,000,000,001 = 93 × 21,505,376,344,086 + 3,
        // worked out by hand, so the check digits are 03.
        assert_eq!(
            NoticeNumber::parse("200000000000000103")
                .unwrap()
                .aux_digit(),
            2
        );
        assert_eq!(
            reason("200000000000000104"),
            "the check digits of a notice number with aux digit 2 (its last 2 digits) \
             do not match the first 16 digits"
        );
        // io-pagopa-commons's synthetic aux 0 and 2 examples ("…22") only test the layout: their
        // check digits are wrong, and they are refused.
        for text in ["011012345678901222", "201234567890123422"] {
            assert!(reason(text).contains("check digits"), "{text}");
        }
    }

    #[test]
    fn build_aux3_computes_the_check_digits() {
        assert_eq!(
            NoticeNumber::build_aux3(1, 1).unwrap().as_str(),
            "301000000000000144"
        );
        assert_eq!(
            NoticeNumber::build_aux3(47, 1_234_567_890_123)
                .unwrap()
                .as_str(),
            "347123456789012389"
        );
        assert_eq!(
            NoticeNumber::build_aux3(0, 0).unwrap().as_str(),
            format!("3000000000000000{:02}", 3_000_000_000_000_000u64 % 93)
        );
    }

    #[test]
    fn build_aux3_refuses_out_of_range_parts() {
        assert_eq!(
            NoticeNumber::build_aux3(100, 1).unwrap_err().reason,
            "the segregation code of a notice number must be from 0 to 99"
        );
        assert_eq!(
            NoticeNumber::build_aux3(1, 10_000_000_000_000)
                .unwrap_err()
                .reason,
            "the IUV base of a notice number must have at most 13 digits"
        );
        assert!(NoticeNumber::build_aux3(99, 9_999_999_999_999).is_ok());
    }

    #[test]
    fn wrong_check_digits_for_aux_digit_3_are_refused() {
        assert_eq!(
            reason("301000000000000145"),
            "the check digits of a notice number with aux digit 3 (its last 2 digits) \
             do not match the first 16 digits"
        );
        assert!(reason("301000000000000154").contains("check digits"));
    }

    #[test]
    fn an_aux_digit_above_3_is_refused() {
        for text in ["401000000000000144", "901000000000000144"] {
            assert_eq!(
                reason(text),
                "the first digit of a notice number (the aux digit) must be 0, 1, 2 or 3"
            );
        }
    }

    #[test]
    fn anything_but_eighteen_ascii_digits_is_refused() {
        for input in [
            "",
            "30100000000000014",
            "3010000000000001444",
            "30100000000000014a",
            "301000000000000 44",
            "+01000000000000144",
            "30100000000000014٤",
        ] {
            assert_eq!(reason(input), "a notice number must be exactly 18 digits");
        }
    }

    #[test]
    fn serde_uses_the_plain_string_and_refuses_invalid_numbers() {
        let number = NoticeNumber::parse("301000000000000144").unwrap();
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"301000000000000144\"");
        assert_eq!(serde_json::from_str::<NoticeNumber>(&json).unwrap(), number);
        let error = serde_json::from_str::<NoticeNumber>("\"301000000000000145\"").unwrap_err();
        assert!(error.to_string().contains("check digits"));
        assert!(!error.to_string().contains("301000000000000145"));
    }

    #[test]
    fn from_str_parses_like_parse() {
        assert_eq!(
            "301000000000000144".parse::<NoticeNumber>().unwrap(),
            NoticeNumber::parse("301000000000000144").unwrap()
        );
    }

    proptest! {
        #[test]
        fn build_aux3_results_parse_back_and_round_trip(
            segregation in 0u8..=99,
            base13 in 0u64..BASE13_LIMIT
        ) {
            let number = NoticeNumber::build_aux3(segregation, base13).unwrap();
            prop_assert_eq!(number.aux_digit(), 3);
            let text = number.to_string();
            prop_assert_eq!(&text[1..3], format!("{segregation:02}"));
            prop_assert_eq!(&text[3..16], format!("{base13:013}"));
            prop_assert_eq!(&NoticeNumber::parse(&text).unwrap(), &number);
            let json = serde_json::to_string(&number).unwrap();
            prop_assert_eq!(serde_json::from_str::<NoticeNumber>(&json).unwrap(), number);
        }

        #[test]
        fn altering_a_check_digit_of_an_aux_digit_3_number_makes_it_invalid(
            segregation in 0u8..=99,
            base13 in 0u64..BASE13_LIMIT,
            position in 16usize..18,
            shift in 1u8..10
        ) {
            let text = NoticeNumber::build_aux3(segregation, base13).unwrap().to_string();
            let mut bytes = text.into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + shift) % 10;
            let altered = String::from_utf8(bytes).unwrap();
            prop_assert!(NoticeNumber::parse(&altered).unwrap_err().reason.contains("check digits"));
        }

        #[test]
        fn any_eighteen_digits_with_aux_digit_1_are_accepted(text in "1[0-9]{17}") {
            prop_assert!(NoticeNumber::parse(&text).is_ok());
        }

        #[test]
        fn aux_0_and_2_numbers_parse_exactly_when_their_check_digits_are_the_remainder(
            aux in prop::sample::select(vec![0u64, 2]),
            body in 0u64..1_000_000_000_000_000,
            check in 0u64..100
        ) {
            let first_sixteen = aux * 1_000_000_000_000_000 + body;
            let text = format!("{first_sixteen:016}{check:02}");
            prop_assert_eq!(NoticeNumber::parse(&text).is_ok(), first_sixteen % 93 == check);
        }

        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            let _ = NoticeNumber::parse(&input);
        }
    }
}
