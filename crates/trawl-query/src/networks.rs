//! The local networks: subnets with names, from a `trawl run` configuration's `[networks]`
//! or zeekctl's `networks.cfg`, behind the query functions `local`, `network` and
//! `direction`.

use std::net::IpAddr;
use std::sync::OnceLock;

use crate::functions::{canonical, in_subnet};

/// Local subnets, most specific first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks {
    nets: Vec<(IpAddr, u8, String)>,
}

/// The private and link-local ranges zeekctl's default networks.cfg lists, taken as local
/// when nothing is configured.
const PRIVATE: [(&str, &str); 7] = [
    ("10.0.0.0/8", "Private IP space"),
    ("172.16.0.0/12", "Private IP space"),
    ("192.168.0.0/16", "Private IP space"),
    ("100.64.0.0/10", "Shared address space (CGNAT)"),
    ("169.254.0.0/16", "Link-local"),
    ("fc00::/7", "Unique local addresses"),
    ("fe80::/10", "Link-local"),
];

fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let s = s.trim();
    let (a, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let ip: IpAddr = a
        .parse()
        .map_err(|_| format!("{s:?} is not a subnet (10.0.0.0/8, fd00::/8)"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b
            .parse::<u8>()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        None => max,
    };
    Ok((canonical(ip), bits))
}

impl Networks {
    /// No local subnet at all.
    pub fn empty() -> Networks {
        Networks::default()
    }

    /// The private ranges (RFC 1918, CGNAT, link-local, IPv6 unique local): the default.
    pub fn private() -> Networks {
        let mut n = Networks::default();
        for (cidr, name) in PRIVATE {
            // The table above is valid.
            let _ = n.add(cidr, name);
        }
        n
    }

    /// Adds a subnet (`10.20.0.0/16`, or an address for a /32) with its name.
    pub fn add(&mut self, cidr: &str, name: &str) -> Result<(), String> {
        let (ip, bits) = parse_cidr(cidr)?;
        self.nets.push((ip, bits, name.trim().to_string()));
        self.nets.sort_by_key(|n| std::cmp::Reverse(n.1));
        Ok(())
    }

    /// Reads zeekctl's networks.cfg: a subnet and an optional description a line, `#`
    /// comments, blank lines. An error names the line.
    pub fn add_cfg(&mut self, text: &str) -> Result<(), (usize, String)> {
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (cidr, name) = line
                .split_once(char::is_whitespace)
                .map_or((line, ""), |(c, n)| (c, n.trim()));
            self.add(cidr, name).map_err(|e| (i + 1, e))?;
        }
        Ok(())
    }

    /// Whether no subnet is listed.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// The name of the most specific local subnet holding `a` (empty if it has none).
    pub fn find(&self, a: IpAddr) -> Option<&str> {
        self.nets
            .iter()
            .find(|(n, bits, _)| in_subnet(a, *n, *bits))
            .map(|(_, _, name)| name.as_str())
    }

    /// Whether `a` is in a local subnet.
    pub fn is_local(&self, a: IpAddr) -> bool {
        self.find(a).is_some()
    }

    /// Which way a connection went: `outbound` (local to remote), `inbound`, `internal`
    /// (local to local) or `external` (neither end local).
    pub fn direction(&self, orig: IpAddr, resp: IpAddr) -> &'static str {
        match (self.is_local(orig), self.is_local(resp)) {
            (true, false) => "outbound",
            (false, true) => "inbound",
            (true, true) => "internal",
            (false, false) => "external",
        }
    }
}

static NETWORKS: OnceLock<Networks> = OnceLock::new();

/// The local networks for the rest of the process (the CLI sets them once, before a query
/// runs); until then, and if never set, the private ranges ([`Networks::private`]).
pub fn set_networks(n: Networks) {
    let _ = NETWORKS.set(n);
}

/// The local networks in force.
pub fn networks() -> &'static Networks {
    static PRIVATE_ONLY: OnceLock<Networks> = OnceLock::new();
    NETWORKS
        .get()
        .unwrap_or_else(|| PRIVATE_ONLY.get_or_init(Networks::private))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_most_specific_subnet_names_an_address() {
        let mut n = Networks::private();
        n.add("10.20.0.0/16", "office LAN").unwrap();
        assert_eq!(n.find(ip("10.20.0.101")), Some("office LAN"));
        assert_eq!(n.find(ip("10.9.0.1")), Some("Private IP space"));
        assert_eq!(n.find(ip("::ffff:10.20.0.5")), Some("office LAN"));
        assert_eq!(n.find(ip("8.8.8.8")), None);
        assert_eq!(n.direction(ip("10.20.0.101"), ip("8.8.8.8")), "outbound");
        assert_eq!(n.direction(ip("8.8.8.8"), ip("10.20.0.101")), "inbound");
        assert_eq!(
            n.direction(ip("10.20.0.101"), ip("192.168.1.1")),
            "internal"
        );
        assert_eq!(n.direction(ip("1.1.1.1"), ip("8.8.8.8")), "external");
    }

    #[test]
    fn reads_zeekctl_networks_cfg() {
        let cfg = "# List of local networks in CIDR notation, optionally followed by a\n\
                   # descriptive tag.\n\
                   10.0.0.0/8          Private IP space\n\
                   192.168.0.0/16      Private IP space\n\
                   \n\
                   2001:db8:1::/48\tlab v6   # trailing comment\n\
                   198.51.100.7\n";
        let mut n = Networks::empty();
        n.add_cfg(cfg).unwrap();
        assert_eq!(n.find(ip("2001:db8:1::9")), Some("lab v6"));
        assert_eq!(n.find(ip("198.51.100.7")), Some(""));
        assert!(!n.is_local(ip("172.16.0.1")));
        let mut bad = Networks::empty();
        assert_eq!(
            bad.add_cfg("10.0.0.0/8 ok\n10.0.0.0/33 no\n")
                .unwrap_err()
                .0,
            2
        );
    }
}
