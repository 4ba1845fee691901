//! Where outbound requests may go. URLs that someone other than the operator chose (an ente's
//! callback today; later dataset pulls and identity-federation fetches) must not reach the
//! platform's own network: loopback, private, link-local, shared (CGNAT), unique-local,
//! multicast, unspecified, broadcast and other reserved destinations are refused (SSRF), unless
//! the operator allows a network for on-premises receivers (`SPORTELLO_OUTBOUND_ALLOW_CIDRS`).
//! The endpoints the operator configures (SMTP relay, push gateway) are not subject to it.
//!
//! The check runs on the literal host when a URL is configured ([`OutboundPolicy::check_url`])
//! and on every resolved address when connecting (the [`crate::HttpClient`] resolver), so a
//! name that resolves, or later re-resolves, to an internal address is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kernel::values::Cidr;

/// The kind of destination a refused address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Loopback,
    Private,
    LinkLocal,
    /// 100.64.0.0/10, carrier-grade NAT.
    Shared,
    /// fc00::/7.
    UniqueLocal,
    Multicast,
    Unspecified,
    Broadcast,
    /// Documentation, benchmarking, protocol-assignment and other special-purpose ranges.
    Reserved,
}

impl Category {
    /// How the category reads in an error.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback",
            Self::Private => "a private",
            Self::LinkLocal => "a link-local",
            Self::Shared => "a shared (carrier-grade NAT)",
            Self::UniqueLocal => "a unique-local",
            Self::Multicast => "a multicast",
            Self::Unspecified => "an unspecified",
            Self::Broadcast => "a broadcast",
            Self::Reserved => "a reserved",
        }
    }
}

/// A destination the policy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{address} is {} address, which outbound requests may not reach unless the operator allows it (SPORTELLO_OUTBOUND_ALLOW_CIDRS)", .category.as_str())]
pub struct Refused {
    pub address: IpAddr,
    pub category: Category,
}

/// The destinations outbound requests may reach. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// `false`: every destination is allowed (endpoints the operator configured).
    restricted: bool,
    /// Networks allowed even though they are internal (on-premises receivers).
    allow: Vec<Cidr>,
}

impl OutboundPolicy {
    /// Public destinations only, plus the networks in `allow`.
    pub fn restricted(allow: Vec<Cidr>) -> Self {
        Self {
            restricted: true,
            allow,
        }
    }

    /// Every destination: only for endpoints the operator configured.
    pub fn unrestricted() -> Self {
        Self {
            restricted: false,
            allow: Vec::new(),
        }
    }

    /// The networks allowed beyond public destinations.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allow
    }

    /// Whether a connection to `address` is allowed.
    pub fn check(&self, address: IpAddr) -> Result<(), Refused> {
        if !self.restricted || self.allow.iter().any(|c| c.contains(address)) {
            return Ok(());
        }
        match category(address) {
            None => Ok(()),
            Some(category) => Err(Refused { address, category }),
        }
    }

    /// The check at configuration time, on the URL's literal host: an IP address, or a name
    /// that is loopback by definition (`localhost`, `*.localhost`, RFC 6761). Other names are
    /// checked when they are resolved, at every connection.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        match url.host() {
            Some(url::Host::Ipv4(a)) => self.check(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => self.check(IpAddr::V6(a)),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    let v4 = self.check(IpAddr::V4(Ipv4Addr::LOCALHOST));
                    let v6 = self.check(IpAddr::V6(Ipv6Addr::LOCALHOST));
                    // Allowed when either loopback address is: the connection uses that one.
                    v4.or(v6)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }
}

/// The internal or special-purpose category of `address`, or `None` for a public address.
/// An IPv4 address carried in IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
/// `2002::/16`) is judged as the IPv4 address it reaches.
pub fn category(address: IpAddr) -> Option<Category> {
    match address.to_canonical() {
        IpAddr::V4(a) => category_v4(a),
        IpAddr::V6(a) => category_v6(a),
    }
}

fn category_v4(a: Ipv4Addr) -> Option<Category> {
    let [o0, o1, o2, _] = a.octets();
    let category = match (o0, o1, o2) {
        (0, _, _) => Category::Unspecified,
        (10, _, _) => Category::Private,
        (100, 64..=127, _) => Category::Shared,
        (127, _, _) => Category::Loopback,
        (169, 254, _) => Category::LinkLocal,
        (172, 16..=31, _) => Category::Private,
        (192, 168, _) => Category::Private,
        // IETF protocol assignments, documentation (TEST-NET-1/2/3), benchmarking.
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => {
            Category::Reserved
        }
        (224..=239, _, _) => Category::Multicast,
        _ if a.is_broadcast() => Category::Broadcast,
        (240..=255, _, _) => Category::Reserved,
        _ => return None,
    };
    Some(category)
}

fn category_v6(a: Ipv6Addr) -> Option<Category> {
    let bits = a.to_bits();
    let segments = a.segments();
    let in_net = |network: u128, prefix: u32| (bits ^ network) >> (128 - prefix) == 0;
    if a.is_unspecified() {
        return Some(Category::Unspecified);
    }
    if a.is_loopback() {
        return Some(Category::Loopback);
    }
    // NAT64 (well-known prefix) and 6to4 reach the IPv4 address they carry.
    if in_net(0x0064_ff9b << 96, 96) {
        return category_v4(Ipv4Addr::from_bits(bits as u32));
    }
    if segments[0] == 0x2002 {
        return category_v4(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    let category = if in_net(0, 96) {
        // IPv4-compatible addresses (deprecated) and the rest of ::/96.
        Category::Reserved
    } else if in_net(0xfc00 << 112, 7) {
        Category::UniqueLocal
    } else if in_net(0xfe80 << 112, 10) {
        Category::LinkLocal
    } else if in_net(0xfec0 << 112, 10) {
        // Site-local (deprecated): private by intent.
        Category::Private
    } else if in_net(0xff00 << 112, 8) {
        Category::Multicast
    } else if in_net(0x0064_ff9b_0001 << 80, 48) {
        // Local-use NAT64.
        Category::Private
    } else if in_net(0x2001_0db8 << 96, 32)
        || in_net(0x0100 << 112, 64)
        || in_net(0x2001 << 112, 23)
    {
        // Documentation, discard-only, IETF protocol assignments (Teredo included).
        Category::Reserved
    } else {
        return None;
    };
    Some(category)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_and_special_destinations_are_refused_by_default() {
        let policy = OutboundPolicy::restricted(Vec::new());
        for (address, expected) in [
            ("127.0.0.1", Category::Loopback),
            ("127.255.0.9", Category::Loopback),
            ("::1", Category::Loopback),
            ("::ffff:127.0.0.1", Category::Loopback),
            ("0.0.0.0", Category::Unspecified),
            ("0.1.2.3", Category::Unspecified),
            ("::", Category::Unspecified),
            ("10.1.2.3", Category::Private),
            ("172.16.0.1", Category::Private),
            ("172.31.255.255", Category::Private),
            ("192.168.1.1", Category::Private),
            ("::ffff:192.168.1.1", Category::Private),
            ("100.64.0.1", Category::Shared),
            ("100.127.255.255", Category::Shared),
            ("169.254.169.254", Category::LinkLocal),
            ("fe80::1", Category::LinkLocal),
            ("fc00::1", Category::UniqueLocal),
            ("fd12:3456::1", Category::UniqueLocal),
            ("224.0.0.1", Category::Multicast),
            ("239.255.255.250", Category::Multicast),
            ("ff02::1", Category::Multicast),
            ("255.255.255.255", Category::Broadcast),
            ("240.0.0.1", Category::Reserved),
            ("192.0.2.1", Category::Reserved),
            ("198.18.0.1", Category::Reserved),
            ("2001:db8::1", Category::Reserved),
            ("::7f00:1", Category::Reserved),
            ("64:ff9b::7f00:1", Category::Loopback),
            ("64:ff9b::a9fe:a9fe", Category::LinkLocal),
            ("2002:7f00:1::", Category::Loopback),
            ("2002:c0a8:101::1", Category::Private),
        ] {
            let refused = policy.check(ip(address)).unwrap_err();
            assert_eq!(refused.category, expected, "{address}");
            assert_eq!(refused.address, ip(address));
        }
    }

    #[test]
    fn public_destinations_are_allowed() {
        let policy = OutboundPolicy::restricted(Vec::new());
        for address in [
            "1.1.1.1",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.0.1",
            "223.255.255.255",
            "2a00:1450:4002:80a::200e",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert_eq!(policy.check(ip(address)), Ok(()), "{address}");
        }
    }

    #[test]
    fn the_operator_allow_list_opens_internal_networks_and_only_them() {
        let policy = OutboundPolicy::restricted(vec![
            Cidr::parse("127.0.0.0/8").unwrap(),
            Cidr::parse("10.1.0.0/16").unwrap(),
        ]);
        for allowed in ["127.0.0.1", "::ffff:127.0.0.1", "10.1.200.3"] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
        for refused in ["10.2.0.1", "::1", "169.254.169.254"] {
            assert!(policy.check(ip(refused)).is_err(), "{refused}");
        }
        let open = OutboundPolicy::unrestricted();
        assert_eq!(open.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(open.check(ip("169.254.169.254")), Ok(()));
    }

    #[test]
    fn urls_are_checked_on_their_literal_host() {
        let policy = OutboundPolicy::restricted(Vec::new());
        let check = |u: &str| policy.check_url(&url::Url::parse(u).unwrap());
        for refused in [
            "http://127.0.0.1:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:5432/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://[::1]:6379/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::]/",
            "http://0.0.0.0/",
            // The URL standard reads these as 127.0.0.1.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
        ] {
            assert!(check(refused).is_err(), "{refused}");
        }
        for allowed in [
            "https://ente.example.it/hook",
            "https://93.184.216.34/hook",
            "https://localhost.example.it/",
        ] {
            assert_eq!(check(allowed), Ok(()), "{allowed}");
        }
        let on_premises = OutboundPolicy::restricted(vec![Cidr::parse("127.0.0.0/8").unwrap()]);
        assert_eq!(
            on_premises.check_url(&url::Url::parse("http://localhost:9000/").unwrap()),
            Ok(())
        );
    }

    #[test]
    fn a_refusal_says_what_and_how_to_allow_it() {
        let refused = OutboundPolicy::restricted(Vec::new())
            .check(ip("169.254.169.254"))
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "169.254.169.254 is a link-local address, which outbound requests may not reach \
             unless the operator allows it (SPORTELLO_OUTBOUND_ALLOW_CIDRS)"
        );
    }
}
