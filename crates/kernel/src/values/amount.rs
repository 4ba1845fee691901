//! `AmountCents`: a payment amount in euro cents, within the range pagoPA accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueError;

/// A payment amount in euro cents, from 1 cent to 9 999 999 999 cents
/// (99 999 999.99 euro, the pagoPA maximum).
///
/// Serialized as a JSON integer; deserializing goes through [`AmountCents::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AmountCents(u64);

impl AmountCents {
    /// The smallest accepted amount, in cents.
    pub const MIN: u64 = 1;

    /// The largest accepted amount, in cents (the pagoPA maximum).
    pub const MAX: u64 = 9_999_999_999;

    /// An amount of `cents`, which must be from 1 to 9 999 999 999.
    pub fn new(cents: u64) -> Result<Self, ValueError> {
        if cents < Self::MIN {
            return Err(ValueError::new("an amount must be at least 1 cent"));
        }
        if cents > Self::MAX {
            return Err(ValueError::new(
                "an amount must be at most 9999999999 cents (99,999,999.99 euro)",
            ));
        }
        Ok(Self(cents))
    }

    /// The amount in cents.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for AmountCents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Parses a whole number of cents written with ASCII digits only (no sign, no
/// separators, no decimal point).
impl FromStr for AmountCents {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() || !input.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ValueError::new(
                "an amount must be a whole number of euro cents written with digits only",
            ));
        }
        // Only digits remain, so the only possible failure is overflow: too large anyway.
        let cents = input.parse::<u64>().unwrap_or(u64::MAX);
        Self::new(cents)
    }
}

impl Serialize for AmountCents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for AmountCents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let cents = u64::deserialize(deserializer)?;
        Self::new(cents).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_from_one_cent_to_the_pagopa_maximum_are_accepted() {
        assert_eq!(AmountCents::new(1).unwrap().get(), 1);
        assert_eq!(AmountCents::new(12_345).unwrap().get(), 12_345);
        assert_eq!(
            AmountCents::new(9_999_999_999).unwrap().get(),
            9_999_999_999
        );
    }

    #[test]
    fn zero_is_refused() {
        assert_eq!(
            AmountCents::new(0).unwrap_err().reason,
            "an amount must be at least 1 cent"
        );
    }

    #[test]
    fn an_amount_above_the_pagopa_maximum_is_refused() {
        for cents in [10_000_000_000, u64::MAX] {
            assert_eq!(
                AmountCents::new(cents).unwrap_err().reason,
                "an amount must be at most 9999999999 cents (99,999,999.99 euro)"
            );
        }
    }

    #[test]
    fn from_str_accepts_plain_digits_only() {
        assert_eq!("150".parse::<AmountCents>().unwrap().get(), 150);
        assert_eq!("0000150".parse::<AmountCents>().unwrap().get(), 150);
        for input in ["", "+150", "-150", "1.50", "1,50", " 150", "150 ", "١٥٠"] {
            assert_eq!(
                input.parse::<AmountCents>().unwrap_err().reason,
                "an amount must be a whole number of euro cents written with digits only"
            );
        }
        assert!(
            "0".parse::<AmountCents>()
                .unwrap_err()
                .reason
                .contains("at least")
        );
        assert!(
            "99999999999999999999999"
                .parse::<AmountCents>()
                .unwrap_err()
                .reason
                .contains("at most")
        );
    }

    #[test]
    fn display_is_the_number_of_cents() {
        assert_eq!(AmountCents::new(12_345).unwrap().to_string(), "12345");
    }

    #[test]
    fn serde_uses_a_json_integer_and_refuses_out_of_range_amounts() {
        let amount = AmountCents::new(12_345).unwrap();
        assert_eq!(serde_json::to_string(&amount).unwrap(), "12345");
        assert_eq!(
            serde_json::from_str::<AmountCents>("12345").unwrap(),
            amount
        );
        let error = serde_json::from_str::<AmountCents>("0").unwrap_err();
        assert!(error.to_string().contains("at least 1 cent"));
        assert!(serde_json::from_str::<AmountCents>("10000000000").is_err());
        assert!(serde_json::from_str::<AmountCents>("-1").is_err());
        assert!(serde_json::from_str::<AmountCents>("1.5").is_err());
        assert!(serde_json::from_str::<AmountCents>("\"150\"").is_err());
    }

    proptest! {
        #[test]
        fn every_amount_in_range_round_trips(cents in AmountCents::MIN..=AmountCents::MAX) {
            let amount = AmountCents::new(cents).unwrap();
            prop_assert_eq!(amount.to_string().parse::<AmountCents>().unwrap(), amount);
            let json = serde_json::to_string(&amount).unwrap();
            prop_assert_eq!(serde_json::from_str::<AmountCents>(&json).unwrap(), amount);
        }

        #[test]
        fn every_amount_above_the_maximum_is_refused(cents in (AmountCents::MAX + 1)..) {
            prop_assert!(AmountCents::new(cents).is_err());
        }
    }
}
