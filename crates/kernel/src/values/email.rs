//! `Email`: an email address, checked with pragmatic rules, with its domain lowercased.

use super::ValueError;

/// Characters never accepted in the local part (before the `@`).
const FORBIDDEN_IN_LOCAL_PART: &[char] = &['<', '>', '(', ')', '[', ']', ',', ';', ':', '"'];

/// An email address, checked with pragmatic rules rather than the full RFC 5322 grammar:
///
/// - 3 to 254 characters, exactly one `@`;
/// - local part (before the `@`): 1 to 64 characters, no whitespace, no control
///   characters, none of `< > ( ) [ ] , ; : "`, and no dot at its start, at its end or
///   next to another dot (quoted local parts are not supported);
/// - domain (after the `@`): at least two labels separated by dots, each of 1 to 63
///   characters among `A-Z a-z 0-9 -`, not starting or ending with `-`; the last label
///   (the top-level domain) is at least 2 letters. Internationalised domains must be
///   written in their ASCII (`xn--`) form, and a top-level domain in that form is not
///   accepted.
///
/// The local part keeps its case (it may be case sensitive); the domain is lowercased.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email {
    /// The normalised address.
    address: String,
    /// Byte index of the `@` in `address`.
    at: usize,
}

impl Email {
    /// Parses an email address, lowercasing its domain.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let length = input.chars().count();
        if !(3..=254).contains(&length) {
            return Err(ValueError::new(
                "an email address must be from 3 to 254 characters long",
            ));
        }
        let Some((local, domain)) = input.split_once('@') else {
            return Err(ValueError::new("an email address must contain an @"));
        };
        if domain.contains('@') {
            return Err(ValueError::new(
                "an email address must contain exactly one @",
            ));
        }
        check_local_part(local)?;
        check_domain(domain)?;
        Ok(Self {
            address: format!("{local}@{}", domain.to_ascii_lowercase()),
            at: local.len(),
        })
    }

    /// The address, with its domain lowercased.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, with its original case.
    pub fn local_part(&self) -> &str {
        self.address.get(..self.at).unwrap_or_default()
    }

    /// The part after the `@`, lowercased.
    pub fn domain(&self) -> &str {
        self.address.get(self.at + 1..).unwrap_or_default()
    }
}

fn check_local_part(local: &str) -> Result<(), ValueError> {
    if local.is_empty() {
        return Err(ValueError::new(
            "the part of an email address before the @ must not be empty",
        ));
    }
    if local.chars().count() > 64 {
        return Err(ValueError::new(
            "the part of an email address before the @ must be at most 64 characters long",
        ));
    }
    let forbidden =
        |c: char| c.is_whitespace() || c.is_control() || FORBIDDEN_IN_LOCAL_PART.contains(&c);
    if local.chars().any(forbidden) {
        return Err(ValueError::new(
            "the part of an email address before the @ must not contain spaces, control \
             characters or any of < > ( ) [ ] , ; : \"",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(ValueError::new(
            "the part of an email address before the @ must not start or end with a dot \
             or contain two dots in a row",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), ValueError> {
    if !domain.contains('.') {
        return Err(ValueError::new(
            "the domain of an email address (after the @) must contain at least one dot",
        ));
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(ValueError::new(
                "the domain of an email address (after the @) must not start or end with a dot \
                 or contain two dots in a row",
            ));
        }
        if !label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        {
            return Err(ValueError::new(
                "the domain of an email address (after the @) may only contain letters A to Z, \
                 digits, hyphens and dots",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(ValueError::new(
                "each part of the domain of an email address (between dots) must not start or \
                 end with a hyphen",
            ));
        }
        if label.len() > 63 {
            return Err(ValueError::new(
                "each part of the domain of an email address (between dots) must be at most 63 \
                 characters long",
            ));
        }
    }
    let top_level = domain.rsplit('.').next().unwrap_or_default();
    if top_level.len() < 2 || !top_level.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        return Err(ValueError::new(
            "the last part of the domain of an email address (the top-level domain) must be \
             at least 2 letters",
        ));
    }
    Ok(())
}

super::text_value!(Email);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason(input: &str) -> String {
        Email::parse(input).unwrap_err().reason
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for address in [
            "mario.rossi@example.it",
            "a@b.co",
            "first.last+tag@sub.domain.example.org",
            "user_name-1@my-domain.com",
            "o'brien@example.ie",
            "x@xn--bcher-kva.example",
            "utente@123.example.com",
            "àccènto@example.it",
        ] {
            let email = Email::parse(address).unwrap();
            assert_eq!(email.as_str(), address);
            assert_eq!(email.to_string(), address);
        }
    }

    #[test]
    fn the_domain_is_lowercased_and_the_local_part_keeps_its_case() {
        let email = Email::parse("Mario.Rossi@Example.IT").unwrap();
        assert_eq!(email.as_str(), "Mario.Rossi@example.it");
        assert_eq!(email.local_part(), "Mario.Rossi");
        assert_eq!(email.domain(), "example.it");
        assert_eq!(email, Email::parse("Mario.Rossi@EXAMPLE.it").unwrap());
        assert_ne!(email, Email::parse("mario.rossi@example.it").unwrap());
    }

    #[test]
    fn addresses_of_the_wrong_length_are_refused() {
        assert_eq!(
            reason("a@"),
            "an email address must be from 3 to 254 characters long"
        );
        let long = format!("user@{}.com", "a".repeat(246));
        assert_eq!(long.len(), 255);
        assert!(reason(&long).contains("from 3 to 254 characters"));
    }

    #[test]
    fn addresses_without_exactly_one_at_are_refused() {
        assert_eq!(
            reason("mario.example.it"),
            "an email address must contain an @"
        );
        assert_eq!(
            reason("mario@rossi@example.it"),
            "an email address must contain exactly one @"
        );
    }

    #[test]
    fn an_empty_or_too_long_local_part_is_refused() {
        assert!(reason("@example.it").contains("must not be empty"));
        let long = format!("{}@example.it", "a".repeat(65));
        assert!(reason(&long).contains("at most 64 characters"));
        assert!(Email::parse(&format!("{}@example.it", "a".repeat(64))).is_ok());
    }

    #[test]
    fn forbidden_characters_in_the_local_part_are_refused() {
        for address in [
            "mario rossi@example.it",
            "mario\trossi@example.it",
            "mario\u{0}@example.it",
            "<mario>@example.it",
            "mario(x)@example.it",
            "mario[1]@example.it",
            "mario,rossi@example.it",
            "mario;rossi@example.it",
            "mario:rossi@example.it",
            "\"mario\"@example.it",
        ] {
            assert!(
                reason(address).contains("must not contain spaces"),
                "{address}"
            );
        }
    }

    #[test]
    fn misplaced_dots_in_the_local_part_are_refused() {
        for address in [
            ".mario@example.it",
            "mario.@example.it",
            "ma..rio@example.it",
        ] {
            assert!(reason(address).contains("two dots in a row"), "{address}");
        }
    }

    #[test]
    fn invalid_domains_are_refused() {
        assert_eq!(
            reason("mario@localhost"),
            "the domain of an email address (after the @) must contain at least one dot"
        );
        for address in [
            "mario@.example.it",
            "mario@example.it.",
            "mario@example..it",
        ] {
            assert!(reason(address).contains("two dots in a row"), "{address}");
        }
        for address in ["mario@exa_mple.it", "mario@exam ple.it", "mario@èxample.it"] {
            assert!(
                reason(address).contains("may only contain letters"),
                "{address}"
            );
        }
        for address in [
            "mario@-example.it",
            "mario@example-.it",
            "mario@example.-it",
        ] {
            assert!(reason(address).contains("hyphen"), "{address}");
        }
        let long_label = format!("mario@{}.it", "a".repeat(64));
        assert!(reason(&long_label).contains("at most 63 characters"));
        assert!(Email::parse(&format!("mario@{}.it", "a".repeat(63))).is_ok());
    }

    #[test]
    fn a_top_level_domain_that_is_not_two_letters_or_more_is_refused() {
        for address in ["mario@example.i", "mario@example.123", "mario@example.c0m"] {
            assert_eq!(
                reason(address),
                "the last part of the domain of an email address (the top-level domain) must be \
                 at least 2 letters",
                "{address}"
            );
        }
    }

    #[test]
    fn reasons_never_contain_the_input() {
        for address in [
            "mario rossi@example.it",
            "mario@localhost",
            "mario@example.i",
            "mario@rossi@example.it",
        ] {
            let reason = reason(address);
            assert!(!reason.contains("mario"), "{reason}");
            assert!(!reason.contains("example"), "{reason}");
        }
    }

    #[test]
    fn serde_uses_the_normalised_string_and_refuses_invalid_addresses() {
        let email: Email = serde_json::from_str("\"Mario@Example.IT\"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"Mario@example.it\""
        );
        let error = serde_json::from_str::<Email>("\"mario@localhost\"").unwrap_err();
        assert!(error.to_string().contains("at least one dot"));
        assert!(!error.to_string().contains("mario"));
    }

    #[test]
    fn from_str_parses_like_parse() {
        assert_eq!(
            "a@b.co".parse::<Email>().unwrap(),
            Email::parse("a@b.co").unwrap()
        );
    }

    proptest! {
        #[test]
        fn generated_valid_addresses_are_accepted_and_round_trip(
            local in "[A-Za-z0-9_+-]{1,20}(\\.[A-Za-z0-9_+-]{1,20}){0,2}",
            labels in prop::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", 1..4),
            top_level in "[A-Za-z]{2,6}"
        ) {
            let input = format!("{local}@{}.{top_level}", labels.join("."));
            let email = Email::parse(&input).unwrap();
            prop_assert_eq!(email.local_part(), local.as_str());
            prop_assert_eq!(email.domain(), input[local.len() + 1..].to_ascii_lowercase());
            prop_assert_eq!(&email.to_string().parse::<Email>().unwrap(), &email);
            let json = serde_json::to_string(&email).unwrap();
            prop_assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), email);
        }

        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(email.as_str().len(), input.len());
            }
        }
    }
}
