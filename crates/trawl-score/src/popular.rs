//! Established registered domains: a compact set built into the model.
//!
//! A DGA registers registered domains, and a phishing site lives in a registered domain or
//! in a user's site on a hosting platform. Labels that the owner of an established domain
//! puts under it (CDN distribution IDs such as `d13vvqr7dxay1j.cloudfront.net`, cloud host
//! names, DNSCrypt certificate names, mirrors, wikis) are that owner's naming, not an
//! attacker's: the model judges such a name by its registered domain alone and knows the
//! domain is established. Which domains are established comes from the benign training
//! lists (the registered domains of their names, with how many names each had), minus
//! every domain that phishing names used too (link shorteners, mail-tracking and storage
//! services: they serve other people's content, so their subdomains are not the owner's).
//!
//! The set is an open-addressing table of 16-bit entries: a 12-bit fingerprint and a 4-bit
//! tier (log-scale count of listed names). With the slot index the fingerprint gives 29
//! bits, so a domain that is not in the set matches by accident about once in 4,000
//! lookups at the load used (under 0.5); such a name is judged as established. The table
//! is 2^[`POP_BITS`] entries, 256 KiB.

use crate::hash;

/// log2 of the number of table entries.
pub(crate) const POP_BITS: u32 = 17;
/// Table length.
pub(crate) const POP_LEN: usize = 1 << POP_BITS;
/// Longest probe sequence; the builder leaves out (and counts) what would need more.
const MAX_PROBE: usize = 64;

/// Tier of the infrastructure domains ([`INFRASTRUCTURE`]); listed domains get 1..=14.
pub(crate) const INFRA: u8 = 15;

/// Registered domains of Internet infrastructure (CDNs, clouds, OS updates, certificate
/// revocation, DNS service, package mirrors): see the file's own header.
pub(crate) const INFRASTRUCTURE: &str = include_str!("../data/infrastructure.txt");

/// Hash of a registered domain.
#[inline]
pub(crate) fn key(registered: &[u8]) -> u64 {
    hash::finish(hash::bytes(hash::seed(0xd0), registered))
}

#[inline(always)]
fn parts(h: u64) -> (usize, u16) {
    let slot = (h >> (64 - POP_BITS)) as usize;
    // Never 0, so an entry is never empty.
    let fp = ((h >> 8) & 0xfff) as u16 | 1;
    (slot, fp)
}

/// Tier of a domain with `count` listed names: 1 + floor(log2(count)), at most 15.
#[inline]
pub(crate) fn tier_of(count: u32) -> u8 {
    (32 - count.max(1).leading_zeros()).min(15) as u8
}

/// The tier of `registered` (1..=15) if it is in `table`, else 0.
#[inline]
pub(crate) fn tier(table: &[u16], key: u64) -> u8 {
    if table.len() != POP_LEN {
        return 0;
    }
    let (slot, fp) = parts(key);
    for i in 0..MAX_PROBE {
        // In bounds: the mask keeps the index below POP_LEN, which the length check made
        // the table's length.
        let e = table[(slot + i) & (POP_LEN - 1)];
        if e == 0 {
            return 0;
        }
        if e >> 4 == fp {
            return (e & 15) as u8;
        }
    }
    0
}

/// Build the table from (registered domain, tier) pairs, each domain once.
/// Returns the table and how many domains did not fit (a probe sequence over
/// [`MAX_PROBE`]); the builder keeps the load under one half, so that is none in practice.
pub(crate) fn build<'a>(domains: impl Iterator<Item = (&'a [u8], u8)>) -> (Vec<u16>, usize) {
    let mut t = vec![0u16; POP_LEN];
    let mut dropped = 0;
    for (d, tier) in domains {
        let (slot, fp) = parts(key(d));
        let entry = (fp << 4) | u16::from(tier.clamp(1, 15));
        let mut placed = false;
        for i in 0..MAX_PROBE {
            let e = &mut t[(slot + i) & (POP_LEN - 1)];
            if *e == 0 || *e >> 4 == fp {
                // Same fingerprint in the same probe run: indistinguishable, keep the higher tier.
                *e = (*e).max(entry);
                placed = true;
                break;
            }
        }
        dropped += usize::from(!placed);
    }
    (t, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_tiers() {
        let names: Vec<(String, u32)> = (0..50_000)
            .map(|i| (format!("site{i}.example{}", i % 7), 1 + i % 40))
            .collect();
        let (t, dropped) = build(names.iter().map(|(n, c)| (n.as_bytes(), tier_of(*c))));
        assert_eq!(dropped, 0);
        for (n, c) in &names {
            assert!(tier(&t, key(n.as_bytes())) >= tier_of(*c), "{n}");
        }
        let false_hits = (0..100_000)
            .filter(|i| tier(&t, key(format!("other{i}.test").as_bytes())) > 0)
            .count();
        assert!(false_hits < 100, "{false_hits} false hits in 100,000");
        assert_eq!(
            (tier_of(0), tier_of(1), tier_of(3), tier_of(4)),
            (1, 1, 2, 3)
        );
        assert_eq!(tier(&[], key(b"x.com")), 0);
    }
}
