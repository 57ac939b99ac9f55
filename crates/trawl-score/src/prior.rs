//! How common a suffix and a TLD are among benign names, and whether training saw them at all.
//!
//! Each DGA family and phishing campaign uses its own handful of TLDs, so a weight per TLD
//! only helps with TLDs seen in training. What generalises is the other side: the TLDs that
//! benign traffic uses. "A random 4-character label under a TLD that benign names almost
//! never use" holds for families the model never saw. The counts come from the benign
//! training list and are stored in the model as a small hashed table of saturating u16
//! counts (2^16 slots: about 700 TLDs and a few thousand suffixes per tag, few collisions).
//!
//! Two more counts per suffix: of all training names, so that a suffix no training name
//! used gets an "unseen" feature instead of whatever weight its hash bucket shares with
//! another suffix; and of phishing names, crossed with the benign count, so that "a
//! hosting platform full of phishing and rare in benign traffic" is one learnt shape.

use crate::hash;

/// log2 of the table size.
pub(crate) const PRIOR_BITS: u32 = 16;
/// Table length.
pub(crate) const PRIOR_LEN: usize = 1 << PRIOR_BITS;
/// Hash seed of TLD entries.
pub(crate) const TAG_TLD: u8 = 0xe1;
/// Hash seed of public-suffix entries.
pub(crate) const TAG_SUFFIX: u8 = 0xe2;
/// Hash seed of TLD entries counted over all training names.
pub(crate) const TAG_TLD_ALL: u8 = 0xe3;
/// Hash seed of suffix entries counted over all training names.
pub(crate) const TAG_SUFFIX_ALL: u8 = 0xe4;
/// Hash seed of suffix entries counted over phishing names.
pub(crate) const TAG_SUFFIX_PHISH: u8 = 0xe5;

/// Hash of a suffix or TLD string: computed once a name and shared by its counts (one
/// slot per tag, [`slot`]) and its identity feature.
#[inline]
pub(crate) fn key(s: &[u8]) -> u64 {
    hash::bytes(hash::seed(0xe0), s)
}

/// Slot of `key` under `tag`: the tag is mixed in, then multiply-shift.
#[inline(always)]
fn slot(tag: u8, key: u64) -> usize {
    let h = (key ^ u64::from(tag).wrapping_mul(0x0101_0101_0101_0101))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - PRIOR_BITS)) as usize
}

/// Count of the string hashed to `key` (a TLD or a suffix, per `tag`) in the table; 0 for
/// a malformed table.
#[inline]
pub(crate) fn count(table: &[u16], tag: u8, key: u64) -> u16 {
    table.get(slot(tag, key)).copied().unwrap_or(0)
}

/// The TLD of a suffix (its last label).
#[inline]
pub(crate) fn tld_of(suffix: &[u8]) -> &[u8] {
    match suffix.iter().rposition(|&b| b == b'.') {
        Some(i) => &suffix[i + 1..],
        None => suffix,
    }
}

/// Log-scale bin of a count: 0 for none, else 1 + floor(log2(count)) (1..=16).
#[inline(always)]
pub(crate) fn bin(c: u16) -> u32 {
    16 - c.leading_zeros()
}

/// Training classes whose suffixes are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Benign,
    Phish,
    Dga,
}

/// Count the suffixes and TLDs of labelled names.
pub(crate) fn build<'a>(suffixes: impl Iterator<Item = (Class, &'a [u8])>) -> Vec<u16> {
    let mut t = vec![0u16; PRIOR_LEN];
    for (class, s) in suffixes {
        if s.is_empty() {
            continue;
        }
        let tld = tld_of(s);
        let (sk, tk) = (key(s), key(tld));
        let mut add = |tag: u8, k: u64| {
            let c = &mut t[slot(tag, k)];
            *c = c.saturating_add(1);
        };
        add(TAG_SUFFIX_ALL, sk);
        add(TAG_TLD_ALL, tk);
        match class {
            Class::Benign => {
                add(TAG_SUFFIX, sk);
                add(TAG_TLD, tk);
            }
            Class::Phish => add(TAG_SUFFIX_PHISH, sk),
            Class::Dga => {}
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bins() {
        let names: [&[u8]; 4] = [b"com", b"com", b"co.uk", b"github.io"];
        let t = build(
            names
                .into_iter()
                .map(|s| (Class::Benign, s))
                .chain([(Class::Phish, &b"github.io"[..]), (Class::Dga, b"cx")]),
        );
        assert_eq!(count(&t, TAG_SUFFIX_PHISH, key(b"github.io")), 1);
        assert_eq!(count(&t, TAG_SUFFIX_ALL, key(b"github.io")), 2);
        assert_eq!(count(&t, TAG_TLD_ALL, key(b"cx")), 1);
        assert_eq!(count(&t, TAG_TLD, key(b"com")), 2);
        assert_eq!(count(&t, TAG_TLD, key(b"uk")), 1);
        assert_eq!(count(&t, TAG_SUFFIX, key(b"co.uk")), 1);
        assert_eq!(count(&t, TAG_TLD, key(b"io")), 1);
        assert_eq!(count(&t, TAG_TLD, key(b"cx")), 0);
        assert_eq!(count(&[], TAG_TLD, key(b"com")), 0);
        assert_eq!(
            (bin(0), bin(1), bin(2), bin(3), bin(u16::MAX)),
            (0, 1, 2, 2, 16)
        );
        assert_eq!(tld_of(b"com.sv"), b"sv");
    }
}
