//! [`Front`]: a small set-associative table of outcomes in front of the [`LocalCache`], for
//! scoring without reasons (the TSV path): one cache line a lookup, no allocation, no key
//! comparison through a pointer.
//!
//! A name is known by two independent 64-bit hashes (seeded per process): one picks the set,
//! the other is the tag stored in the slot. Two different names share a slot and a tag with a
//! probability of about 2^-64 per lookup and the seeds are secret, so in practice never; were
//! it to happen, one name would get another's scores.
//!
//! Each set holds four slots in one 64-byte line, most recently used first: a hit moves the
//! slot to the front, an insert drops the last one.
//!
//! [`LocalCache`]: crate::cache::LocalCache

use std::hash::BuildHasher;

use quick_cache::DefaultHashBuilder;

use crate::cache::Outcome;

const WAYS: usize = 4;
/// `phish` of a slot holding a name that was not scored (IP literal, reverse-DNS name).
const UNSCORED: f32 = -1.0;
/// `phish` of a slot holding an invalid name.
const INVALID: f32 = -2.0;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// 0: empty (tags are made odd).
    tag: u64,
    phish: f32,
    dga: f32,
}

#[derive(Clone, Copy, Default)]
#[repr(align(64))]
struct Set([Slot; WAYS]);

/// The table; see the module docs.
pub(crate) struct Front {
    sets: Box<[Set]>,
    mask: u64,
    index: DefaultHashBuilder,
    check: DefaultHashBuilder,
}

/// Where a name sits: its set and tag, computed once for a lookup and the insert after it.
#[derive(Clone, Copy)]
pub(crate) struct Key {
    set: usize,
    tag: u64,
}

impl Front {
    /// A table of about `capacity` names (a power of two of sets, at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1).next_power_of_two();
        Front {
            sets: vec![Set::default(); sets].into_boxed_slice(),
            mask: sets as u64 - 1,
            index: DefaultHashBuilder::default(),
            check: DefaultHashBuilder::default(),
        }
    }

    #[inline]
    pub(crate) fn key(&self, name: &str) -> Key {
        let set = (self.index.hash_one(name.as_bytes()) & self.mask) as usize;
        let tag = self.check.hash_one(name.as_bytes()) | 1;
        Key { set, tag }
    }

    #[inline]
    pub(crate) fn get(&mut self, k: Key) -> Option<Outcome> {
        let set = &mut self.sets[k.set].0;
        let i = set.iter().position(|s| s.tag == k.tag)?;
        let slot = set[i];
        if i > 0 {
            set.copy_within(0..i, 1);
            set[0] = slot;
        }
        Some(match slot.phish {
            p if p == UNSCORED => Outcome::Unscored,
            p if p == INVALID => Outcome::Invalid,
            phish => Outcome::Scored {
                phish,
                dga: slot.dga,
            },
        })
    }

    #[inline]
    pub(crate) fn put(&mut self, k: Key, outcome: Outcome) {
        let (phish, dga) = match outcome {
            Outcome::Scored { phish, dga } => (phish, dga),
            Outcome::Unscored => (UNSCORED, 0.0),
            Outcome::Invalid => (INVALID, 0.0),
        };
        let set = &mut self.sets[k.set].0;
        set.copy_within(0..WAYS - 1, 1);
        set[0] = Slot {
            tag: k.tag,
            phish,
            dga,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_the_least_recent_goes() {
        // One set: every name competes for the same four slots.
        let mut f = Front::new(1);
        let names: Vec<String> = (0..5).map(|i| format!("n{i}.example")).collect();
        let keys: Vec<Key> = names.iter().map(|n| f.key(n)).collect();
        f.put(keys[0], Outcome::Unscored);
        f.put(keys[1], Outcome::Invalid);
        f.put(
            keys[2],
            Outcome::Scored {
                phish: 0.25,
                dga: 0.5,
            },
        );
        f.put(keys[3], Outcome::Unscored);
        assert_eq!(f.get(keys[0]), Some(Outcome::Unscored)); // now most recent
        assert_eq!(f.get(keys[1]), Some(Outcome::Invalid));
        f.put(keys[4], Outcome::Unscored); // drops names[2], the least recently used
        assert_eq!(f.get(keys[2]), None);
        assert_eq!(f.get(keys[0]), Some(Outcome::Unscored));
        assert_eq!(f.get(keys[3]), Some(Outcome::Unscored));
        assert_eq!(f.get(keys[4]), Some(Outcome::Unscored));
        assert_eq!(f.key(&names[2]).tag, keys[2].tag);
    }
}
