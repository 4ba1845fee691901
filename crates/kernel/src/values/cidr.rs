//! `Cidr`: an IPv4 or IPv6 network in CIDR notation, normalised to its network address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueError;

/// An IPv4 or IPv6 network: `a.b.c.d/n` (n from 0 to 32), `x::y/n` (n from 0 to 128),
/// or a bare address, meaning that single host (`/32` or `/128`).
///
/// Normalisation:
/// - host bits are accepted and cleared: `10.1.2.3/8` is the network `10.0.0.0/8`;
/// - an IPv4-mapped IPv6 network with a prefix of at least 96 (`::ffff:a.b.c.d/n`) is
///   the IPv4 network `a.b.c.d/(n - 96)`, so `::ffff:0:0/96` is `0.0.0.0/0`.
///
/// [`Cidr::contains`] reads an IPv4-mapped IPv6 address as the IPv4 address it
/// carries. Otherwise IPv4 addresses only belong to IPv4 networks and IPv6 addresses to
/// IPv6 networks: `::/0` does not contain IPv4 clients.
///
/// `Display` (and serialization) is the canonical form: `10.0.0.0/8`, `2001:db8::/32`,
/// and `1.2.3.4/32` for a single host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network address, with every host bit cleared.
    network: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    prefix: u8,
}

impl Cidr {
    /// Parses a network in CIDR notation, or a bare address as a single host.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let (address, prefix) = match input.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (input, None),
        };
        let address: IpAddr = address.parse().map_err(|_| {
            ValueError::new(
                "a network must be an IPv4 or IPv6 address, optionally followed by / and a prefix length",
            )
        })?;
        let max = max_prefix(address);
        let prefix = match prefix {
            None => max,
            Some(prefix) => parse_prefix(prefix, max).ok_or_else(|| {
                ValueError::new(if address.is_ipv4() {
                    "the prefix length of an IPv4 network must be a number from 0 to 32"
                } else {
                    "the prefix length of an IPv6 network must be a number from 0 to 128"
                })
            })?,
        };
        Ok(Self::normalised(address, prefix))
    }

    /// The network with host bits cleared and IPv4-mapped networks turned into IPv4.
    /// `prefix` is at most the maximum for the address family.
    fn normalised(address: IpAddr, prefix: u8) -> Self {
        match address {
            IpAddr::V4(address) => Self {
                network: IpAddr::V4(mask_v4(address, prefix)),
                prefix,
            },
            IpAddr::V6(address) => {
                let network = mask_v6(address, prefix);
                match network.to_ipv4_mapped() {
                    Some(mapped) if prefix >= 96 => Self {
                        network: IpAddr::V4(mapped),
                        prefix: prefix - 96,
                    },
                    _ => Self {
                        network: IpAddr::V6(network),
                        prefix,
                    },
                }
            }
        }
    }

    /// The network address (every host bit cleared).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` belongs to this network. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is matched as the IPv4 address `a.b.c.d`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => mask_v4(ip, self.prefix) == network,
            (IpAddr::V6(network), IpAddr::V6(ip)) => mask_v6(ip, self.prefix) == network,
            _ => false,
        }
    }
}

/// The longest prefix for the family of `address`.
fn max_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// A prefix length of 1 to 3 ASCII digits, at most `max`.
fn parse_prefix(text: &str, max: u8) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|prefix| *prefix <= max)
}

/// `address` with the bits after the first `prefix` cleared.
fn mask_v4(address: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(address.to_bits() & mask)
}

/// `address` with the bits after the first `prefix` cleared.
fn mask_v6(address: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ipv6Addr::from(address.to_bits() & mask)
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cidr(text: &str) -> Cidr {
        Cidr::parse(text).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_and_ipv6_networks_are_displayed_in_canonical_form() {
        assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(cidr("2001:0DB8:0000::/32").to_string(), "2001:db8::/32");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("::/0").to_string(), "::/0");
    }

    #[test]
    fn a_bare_address_is_a_single_host() {
        assert_eq!(cidr("1.2.3.4").to_string(), "1.2.3.4/32");
        assert_eq!(cidr("2001:db8::1").to_string(), "2001:db8::1/128");
        assert!(cidr("1.2.3.4").contains(ip("1.2.3.4")));
        assert!(!cidr("1.2.3.4").contains(ip("1.2.3.5")));
    }

    #[test]
    fn host_bits_are_accepted_and_cleared() {
        let network = cidr("10.1.2.3/8");
        assert_eq!(network.to_string(), "10.0.0.0/8");
        assert_eq!(network.network(), ip("10.0.0.0"));
        assert_eq!(network.prefix_len(), 8);
        assert_eq!(network, cidr("10.0.0.0/8"));
        assert_eq!(cidr("2001:db8:abcd::1/32").to_string(), "2001:db8::/32");
        assert_eq!(cidr("192.168.1.77/0").to_string(), "0.0.0.0/0");
    }

    #[test]
    fn ipv4_mapped_networks_become_ipv4_networks() {
        assert_eq!(cidr("::ffff:10.1.2.3/104").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("::ffff:1.2.3.4").to_string(), "1.2.3.4/32");
        assert_eq!(cidr("::ffff:0:0/96").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("::ffff:0:0/95").to_string(), "::fffe:0:0/95");
    }

    #[test]
    fn contains_checks_the_prefix_bits_only() {
        let network = cidr("192.168.0.0/16");
        assert!(network.contains(ip("192.168.0.1")));
        assert!(network.contains(ip("192.168.255.255")));
        assert!(!network.contains(ip("192.169.0.1")));
        let network = cidr("2001:db8::/32");
        assert!(network.contains(ip("2001:db8:1::42")));
        assert!(!network.contains(ip("2001:db9::1")));
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_matches_ipv4_networks() {
        assert!(cidr("10.0.0.0/8").contains(ip("::ffff:10.20.30.40")));
        assert!(!cidr("10.0.0.0/8").contains(ip("::ffff:11.20.30.40")));
        assert!(cidr("::ffff:0:0/96").contains(ip("10.20.30.40")));
    }

    #[test]
    fn families_do_not_mix_otherwise() {
        assert!(!cidr("::/0").contains(ip("10.0.0.1")));
        assert!(!cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(cidr("0.0.0.0/0").contains(ip("10.0.0.1")));
        assert!(cidr("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn invalid_addresses_are_refused() {
        for input in [
            "",
            "/8",
            "10.0.0/8",
            "10.0.0.256/8",
            " 10.0.0.0/8",
            "10.0.0.0 /8",
            "fe80::1%eth0/64",
            "example.org/24",
        ] {
            let reason = Cidr::parse(input).unwrap_err().reason;
            assert!(reason.starts_with("a network must be"), "{input}: {reason}");
        }
    }

    #[test]
    fn invalid_prefix_lengths_are_refused() {
        for input in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/0008",
            "10.0.0.0/ 8",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(
                Cidr::parse(input).unwrap_err().reason,
                "the prefix length of an IPv4 network must be a number from 0 to 32",
                "{input}"
            );
        }
        for input in ["::/129", "::/256", "::/x"] {
            assert_eq!(
                Cidr::parse(input).unwrap_err().reason,
                "the prefix length of an IPv6 network must be a number from 0 to 128",
                "{input}"
            );
        }
        assert_eq!(cidr("10.0.0.0/08").prefix_len(), 8);
    }

    #[test]
    fn serde_uses_the_canonical_string_and_refuses_invalid_networks() {
        let network = cidr("10.1.2.3/8");
        let json = serde_json::to_string(&network).unwrap();
        assert_eq!(json, "\"10.0.0.0/8\"");
        assert_eq!(serde_json::from_str::<Cidr>(&json).unwrap(), network);
        let error = serde_json::from_str::<Cidr>("\"10.0.0.0/33\"").unwrap_err();
        assert!(error.to_string().contains("prefix length"));
        assert!(!error.to_string().contains("10.0.0.0"));
    }

    #[test]
    fn from_str_parses_like_parse() {
        assert_eq!("10.0.0.0/8".parse::<Cidr>().unwrap(), cidr("10.0.0.0/8"));
    }

    proptest! {
        #[test]
        fn any_ipv4_network_contains_its_own_address(bits in any::<u32>(), prefix in 0u8..=32) {
            let address = Ipv4Addr::from(bits);
            let network = Cidr::parse(&format!("{address}/{prefix}")).unwrap();
            prop_assert!(network.contains(IpAddr::V4(address)));
            prop_assert!(network.contains(IpAddr::V6(address.to_ipv6_mapped())));
        }

        #[test]
        fn an_ipv4_network_does_not_contain_an_address_differing_in_the_first_prefix_bit(
            bits in any::<u32>(),
            prefix in 1u8..=32
        ) {
            let address = Ipv4Addr::from(bits);
            let network = Cidr::parse(&format!("{address}/{prefix}")).unwrap();
            let other = Ipv4Addr::from(bits ^ (1 << 31));
            prop_assert!(!network.contains(IpAddr::V4(other)));
            let last_prefix_bit = Ipv4Addr::from(bits ^ (1 << (32 - u32::from(prefix))));
            prop_assert!(!network.contains(IpAddr::V4(last_prefix_bit)));
        }

        #[test]
        fn any_ipv6_network_contains_its_own_address(bits in any::<u128>(), prefix in 0u8..=128) {
            let address = Ipv6Addr::from(bits);
            let network = Cidr::parse(&format!("{address}/{prefix}")).unwrap();
            prop_assert!(network.contains(IpAddr::V6(address)));
        }

        #[test]
        fn an_ipv6_network_does_not_contain_an_address_differing_in_the_first_prefix_bit(
            bits in any::<u128>(),
            prefix in 1u8..=128
        ) {
            // Stay out of ::ffff:0:0/96 (which becomes an IPv4 network) by setting a high bit.
            let bits = bits | (1 << 127);
            let address = Ipv6Addr::from(bits);
            let network = Cidr::parse(&format!("{address}/{prefix}")).unwrap();
            let other = Ipv6Addr::from(bits ^ (1 << 127));
            prop_assert!(!network.contains(IpAddr::V6(other)));
        }

        #[test]
        fn display_round_trips_through_parse_and_serde(bits in any::<u32>(), prefix in 0u8..=32) {
            let network = Cidr::parse(&format!("{}/{prefix}", Ipv4Addr::from(bits))).unwrap();
            prop_assert_eq!(network.to_string().parse::<Cidr>().unwrap(), network);
            let json = serde_json::to_string(&network).unwrap();
            prop_assert_eq!(serde_json::from_str::<Cidr>(&json).unwrap(), network);
        }

        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            let _ = Cidr::parse(&input);
        }
    }
}
