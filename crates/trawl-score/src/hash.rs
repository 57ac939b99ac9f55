//! Small, fixed, non-allocating hashes and a seeded RNG.
//!
//! The hashes are part of the model format: changing them invalidates every trained model,
//! so they are written out here instead of borrowed from a crate whose output may change.

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// One FNV-1a step: fold a byte into a running hash.
#[inline(always)]
pub(crate) fn step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
}

/// Seed of a running hash for a feature namespace (`tag`).
#[inline(always)]
pub(crate) fn seed(tag: u8) -> u64 {
    step(FNV_OFFSET, tag)
}

/// FNV-1a over a byte string, starting from `h`.
#[inline]
pub(crate) fn bytes(mut h: u64, s: &[u8]) -> u64 {
    for &b in s {
        h = step(h, b);
    }
    h
}

/// Final avalanche (from SplitMix64) so the top bits are usable as a table index.
#[inline(always)]
pub(crate) fn finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 64-bit fingerprint of a byte string (FNV-1a, then avalanched).
pub fn fingerprint(data: &[u8]) -> u64 {
    finish(bytes(FNV_OFFSET, data))
}

/// SplitMix64: a tiny seeded generator, so training is reproducible without a `rand` crate.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        finish(self.0)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant here.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Fisher-Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}
