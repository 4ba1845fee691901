//! `MessageId` and `ServiceId`: identifiers that are ULIDs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

use super::ValueError;

/// Number of characters of a ULID in Crockford base32.
const ULID_LENGTH: usize = 26;

/// Parses a ULID: 26 Crockford base32 characters (`0-9`, `A-Z` without `I L O U`),
/// in either case, the first one from 0 to 7 so the value fits in 128 bits.
/// `what` names the identifier in error reasons.
fn parse_ulid(input: &str, what: &str) -> Result<Ulid, ValueError> {
    if input.chars().count() != ULID_LENGTH {
        return Err(ValueError::new(format!(
            "a {what} must be exactly {ULID_LENGTH} characters long"
        )));
    }
    let is_crockford = |byte: u8| {
        let upper = byte.to_ascii_uppercase();
        upper.is_ascii_digit() || (upper.is_ascii_uppercase() && !b"ILOU".contains(&upper))
    };
    if !input.bytes().all(is_crockford) {
        return Err(ValueError::new(format!(
            "a {what} may only contain the Crockford base32 characters: \
             digits and the letters A to Z except I, L, O and U"
        )));
    }
    if !matches!(input.as_bytes().first(), Some(b'0'..=b'7')) {
        return Err(ValueError::new(format!(
            "a {what} must start with a digit from 0 to 7"
        )));
    }
    Ulid::from_string(input).map_err(|_| ValueError::new(format!("a {what} is not a valid ULID")))
}

/// Defines an identifier newtype over [`Ulid`].
macro_rules! ulid_id {
    ($(#[$attribute:meta])* $name:ident, $what:literal) => {
        $(#[$attribute])*
        ///
        /// Parsing accepts 26 Crockford base32 characters in either case; `Display` and
        /// serialization use the canonical uppercase form. Ordered by creation time
        /// (millisecond precision), then randomly.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// A fresh identifier (current time and random bits).
            #[allow(clippy::new_without_default, reason = "a default id would be ambiguous: nil or fresh")]
            pub fn new() -> Self {
                Self(Ulid::new())
            }

            #[doc = concat!("Parses a ", $what, ": 26 Crockford base32 characters, in either case.")]
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                parse_ulid(input, $what).map(Self)
            }

            /// A fresh identifier for a record created at `at` (the clock's time, so that ids
            /// order like the clock in tests too) with random bits.
            pub fn new_at(at: chrono::DateTime<chrono::Utc>) -> Self {
                Self(Ulid::from_datetime(at.into()))
            }

            /// Wraps an existing ULID; every ULID is a valid identifier.
            pub const fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }

            /// The underlying ULID.
            pub const fn as_ulid(&self) -> Ulid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(
    /// The identifier of a message.
    MessageId,
    "message id"
);

ulid_id!(
    /// The identifier of a service (a sender of messages).
    ServiceId,
    "service id"
);

ulid_id!(
    /// The identifier of a batch of messages uploaded at once.
    BatchId,
    "batch id"
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CANONICAL: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    #[test]
    fn a_canonical_ulid_is_accepted_and_displayed_unchanged() {
        let id = MessageId::parse(CANONICAL).unwrap();
        assert_eq!(id.to_string(), CANONICAL);
        assert_eq!(id.as_ulid(), Ulid::from_string(CANONICAL).unwrap());
    }

    #[test]
    fn lowercase_input_is_accepted_and_displayed_in_uppercase() {
        let id = ServiceId::parse(&CANONICAL.to_lowercase()).unwrap();
        assert_eq!(id.to_string(), CANONICAL);
        assert_eq!(id, ServiceId::parse(CANONICAL).unwrap());
    }

    #[test]
    fn a_wrong_length_is_refused() {
        assert_eq!(
            MessageId::parse("01ARZ3NDEKTSV4RRFFQ69G5FA")
                .unwrap_err()
                .reason,
            "a message id must be exactly 26 characters long"
        );
        assert!(
            ServiceId::parse("")
                .unwrap_err()
                .reason
                .starts_with("a service id ")
        );
    }

    #[test]
    fn characters_outside_crockford_base32_are_refused() {
        for input in [
            "01ARZ3NDEKTSV4RRFFQ69G5FAI",
            "01ARZ3NDEKTSV4RRFFQ69G5FAL",
            "01ARZ3NDEKTSV4RRFFQ69G5FAO",
            "01ARZ3NDEKTSV4RRFFQ69G5FAU",
            "01ARZ3NDEKTSV4RRFFQ69G5FA-",
            "01ARZ3NDEKTSV4RRFFQ69G5FAé",
        ] {
            let reason = MessageId::parse(input).unwrap_err().reason;
            assert!(reason.contains("Crockford base32"), "{reason}");
        }
    }

    #[test]
    fn a_value_larger_than_128_bits_is_refused() {
        assert_eq!(
            MessageId::parse("81ARZ3NDEKTSV4RRFFQ69G5FAV")
                .unwrap_err()
                .reason,
            "a message id must start with a digit from 0 to 7"
        );
        assert!(MessageId::parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ").is_ok());
    }

    #[test]
    fn fresh_ids_are_distinct_and_parse_back() {
        let first = MessageId::new();
        let second = MessageId::new();
        assert_ne!(first, second);
        assert_eq!(MessageId::parse(&first.to_string()).unwrap(), first);
        assert_eq!(
            ServiceId::from_ulid(first.as_ulid()).as_ulid(),
            first.as_ulid()
        );
    }

    #[test]
    fn ids_are_ordered_by_their_ulid() {
        let earlier = MessageId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
        let later = MessageId::parse("01BX5ZZKBKACTAV9WEVGEMMVRZ").unwrap();
        assert!(earlier < later);
    }

    #[test]
    fn serde_uses_the_canonical_string_and_refuses_invalid_ids() {
        let id = MessageId::parse(CANONICAL).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{CANONICAL}\""));
        assert_eq!(serde_json::from_str::<MessageId>(&json).unwrap(), id);
        let error = serde_json::from_str::<MessageId>("\"not-an-id\"").unwrap_err();
        assert!(error.to_string().contains("26 characters"));
        assert!(!error.to_string().contains("not-an-id"));
    }

    proptest! {
        #[test]
        fn every_ulid_round_trips_through_display_parse_and_serde(value in any::<u128>()) {
            let id = ServiceId::from_ulid(Ulid(value));
            let text = id.to_string();
            prop_assert_eq!(text.parse::<ServiceId>().unwrap(), id);
            prop_assert_eq!(ServiceId::parse(&text.to_lowercase()).unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<ServiceId>(&json).unwrap(), id);
        }

        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            let _ = MessageId::parse(&input);
        }
    }
}
