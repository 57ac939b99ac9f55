//! A counting hash table for byte keys, built for the `count_values` hot loop.
//!
//! Keys live in one arena (no allocation per key, and the frequent keys, met first, sit
//! together); a slot keeps the full 64-bit hash, so a probe compares key bytes only when the
//! hashes agree. Linear probing at most half full. With ~200,000 distinct names and 1.8
//! million lookups this is about twice as fast as a `HashMap<Box<[u8]>, u64>`.

use std::hash::BuildHasher;

/// A slot: empty when `count == 0`.
#[derive(Clone, Copy, Default)]
struct Slot {
    hash: u64,
    count: u64,
    off: u32,
    len: u32,
}

/// Counts of byte keys.
pub(crate) struct KeyTable {
    slots: Vec<Slot>,
    arena: Vec<u8>,
    len: usize,
    hasher: foldhash::fast::FixedState,
    /// Keys that do not fit the arena's 32-bit offsets (only past 4 GiB of distinct keys).
    overflow: std::collections::HashMap<Vec<u8>, u64>,
}

const MIN_SLOTS: usize = 1024;

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable {
            slots: vec![Slot::default(); MIN_SLOTS],
            arena: Vec::new(),
            len: 0,
            hasher: foldhash::fast::FixedState::with_seed(0x7261_776c_7363_616e),
            overflow: std::collections::HashMap::new(),
        }
    }
}

/// Byte equality, 8 bytes at a time (keys are short; a library call costs more than this).
#[inline(always)]
fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        if x != y {
            return false;
        }
    }
    ca.remainder() == cb.remainder()
}

#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl KeyTable {
    /// Distinct keys.
    pub fn len(&self) -> usize {
        self.len + self.overflow.len()
    }

    /// The slot holding `key`, if any.
    fn find(&self, h: u64, key: &[u8]) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            let s = &self.slots[i];
            if s.count == 0 {
                return None;
            }
            if s.hash == h && eq(&self.arena[s.off as usize..(s.off + s.len) as usize], key) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The count of `key` (0 if absent).
    pub fn get(&self, key: &[u8]) -> u64 {
        let h = self.hasher.hash_one(key);
        match self.find(h, key) {
            Some(i) => self.slots[i].count,
            None => self.overflow.get(key).copied().unwrap_or(0),
        }
    }

    /// Removes `key`, returning its count.
    pub fn remove(&mut self, key: &[u8]) -> Option<u64> {
        let h = self.hasher.hash_one(key);
        let Some(mut i) = self.find(h, key) else {
            return self.overflow.remove(key);
        };
        let count = self.slots[i].count;
        self.slots[i] = Slot::default();
        self.len -= 1;
        // Backward-shift deletion keeps every probe chain unbroken.
        let mask = self.slots.len() - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            if self.slots[j].count == 0 {
                break;
            }
            let home = (self.slots[j].hash as usize) & mask;
            // Move slot j back to the hole at i unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.slots[i] = self.slots[j];
                self.slots[j] = Slot::default();
                i = j;
            }
        }
        Some(count)
    }

    /// The hash [`KeyTable::add_hashed`] wants for `key`.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Asks the CPU to fetch the slot of hash `h` (so a batch of lookups waits for memory
    /// once, not once each).
    #[inline]
    pub fn prefetch_slot(&self, h: u64) {
        let i = (h as usize) & (self.slots.len() - 1);
        prefetch(self.slots.as_ptr().wrapping_add(i).cast());
    }

    /// Asks the CPU to fetch the key bytes of the first slot probed for `h` (after
    /// [`KeyTable::prefetch_slot`], when the slot itself is likely in cache).
    #[inline]
    pub fn prefetch_key(&self, h: u64) {
        let s = &self.slots[(h as usize) & (self.slots.len() - 1)];
        if s.count != 0 && s.hash == h {
            prefetch(self.arena.as_ptr().wrapping_add(s.off as usize));
        }
    }

    /// Adds `n` to the count of `key`. Returns true if the key was new.
    #[inline]
    pub fn add(&mut self, key: &[u8], n: u64) -> bool {
        let h = self.hasher.hash_one(key);
        self.add_hashed(key, h, n)
    }

    /// [`KeyTable::add`] with the key's hash from [`KeyTable::hash`].
    #[inline]
    pub fn add_hashed(&mut self, key: &[u8], h: u64, n: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            let s = &mut self.slots[i];
            if s.count == 0 {
                break;
            }
            if s.hash == h {
                let (o, l) = (s.off as usize, s.len as usize);
                if eq(&self.arena[o..o + l], key) {
                    s.count += n;
                    return false;
                }
            }
            i = (i + 1) & mask;
        }
        self.insert_at(i, h, key, n);
        true
    }

    #[cold]
    fn insert_at(&mut self, i: usize, h: u64, key: &[u8], n: u64) {
        let off = self.arena.len();
        if off + key.len() > u32::MAX as usize || key.len() > u32::MAX as usize {
            *self.overflow.entry(key.to_vec()).or_insert(0) += n;
            return;
        }
        self.arena.extend_from_slice(key);
        self.slots[i] = Slot {
            hash: h,
            count: n,
            off: off as u32,
            len: key.len() as u32,
        };
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|s| s.count > 0) {
            let mut i = (s.hash as usize) & mask;
            while self.slots[i].count != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Adds every count of `other` (same hasher: stored hashes are reused, and the slots are
    /// prefetched a batch ahead).
    pub fn merge_from(&mut self, other: &KeyTable) {
        const AHEAD: usize = 16;
        let live: Vec<&Slot> = other.slots.iter().filter(|s| s.count > 0).collect();
        for (i, s) in live.iter().enumerate() {
            if let Some(n) = live.get(i + AHEAD) {
                self.prefetch_slot(n.hash);
            }
            let key = &other.arena[s.off as usize..(s.off + s.len) as usize];
            self.add_hashed(key, s.hash, s.count);
        }
        for (k, &c) in &other.overflow {
            self.add(k, c);
        }
    }

    /// Every key with its count.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.count > 0)
            .map(|s| {
                (
                    &self.arena[s.off as usize..(s.off + s.len) as usize],
                    s.count,
                )
            })
            .chain(self.overflow.iter().map(|(k, &c)| (k.as_slice(), c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn counts_like_a_hash_map() {
        let mut t = KeyTable::default();
        let mut m: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut seed = 1u64;
        for _ in 0..50_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = format!("k{}", (seed >> 33) % 5000).into_bytes();
            t.add(&k, 1);
            *m.entry(k).or_insert(0) += 1;
        }
        t.add(b"", 2);
        *m.entry(Vec::new()).or_insert(0) += 2;
        for i in (0..5000).step_by(3) {
            let k = format!("k{i}").into_bytes();
            assert_eq!(t.remove(&k), m.remove(&k));
        }
        for (k, c) in &m {
            assert_eq!(t.get(k), *c);
        }
        let got: HashMap<Vec<u8>, u64> = t.iter().map(|(k, c)| (k.to_vec(), c)).collect();
        assert_eq!(got, m);
        assert_eq!(t.len(), m.len());
        let mut u = KeyTable::default();
        u.add(b"k1", 5);
        u.add(b"new", 1);
        u.merge_from(&t);
        *m.entry(b"k1".to_vec()).or_insert(0) += 5;
        *m.entry(b"new".to_vec()).or_insert(0) += 1;
        let got: HashMap<Vec<u8>, u64> = u.iter().map(|(k, c)| (k.to_vec(), c)).collect();
        assert_eq!(got, m);
    }
}
