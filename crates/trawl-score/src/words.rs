//! Word segmentation: how much of a label is made of dictionary words.
//!
//! Dictionary DGAs (matsnu, rovnix, nymaim2, suppobox...) glue several words together and so
//! look pronounceable to a character model; "4 words covering 100% of 26 letters" is what
//! gives them away. The dictionary is stored in the model as a Bloom-style bit set
//! (2^21 bits, 3 probes), so lookups allocate nothing.

use crate::hash;

#[cfg(test)]
mod reference;

/// log2 of the bit-set size.
pub(crate) const WORD_BITS: u32 = 21;
/// Number of u64 words in the bit set.
pub(crate) const WORDS_LEN: usize = 1 << (WORD_BITS - 6);
const MIN_WORD: usize = 3;
const MAX_WORD: usize = 15;
const TAG_WORD: u8 = 0xd1;

/// Common two-letter English words (plus "a" and "i", handled in [`segment`]). Word lists leave them out (too many false splits in
/// a bit set), but dictionary DGAs that glue phrases together (rovnix: "thetruthsof...")
/// are full of them, so the segmenter knows these exactly.
const TWO_LETTER: &[&str] = &[
    "am", "an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me", "my", "no",
    "of", "on", "or", "so", "to", "up", "us", "we",
];

/// Bit table of [`TWO_LETTER`], indexed by `a * 26 + b`.
const TWO: [u64; 11] = {
    let mut t = [0u64; 11];
    let mut i = 0;
    while i < TWO_LETTER.len() {
        let w = TWO_LETTER[i].as_bytes();
        let c = (w[0] - b'a') as usize * 26 + (w[1] - b'a') as usize;
        t[c >> 6] |= 1 << (c & 63);
        i += 1;
    }
    t
};

/// The built-in word list (SCOWL `american-english`, 3-15 letters, lower-cased).
pub(crate) const BUILTIN: &str = include_str!("../data/words.txt");

#[inline(always)]
fn probes(h: u64) -> [usize; 3] {
    let h = hash::finish(h);
    let m = (1u64 << WORD_BITS) - 1;
    [
        (h & m) as usize,
        ((h >> 21) & m) as usize,
        ((h >> 42) & m) as usize,
    ]
}

/// Build the bit set from a newline-separated word list.
pub(crate) fn build(list: &str) -> Vec<u64> {
    let mut bits = vec![0u64; WORDS_LEN];
    for w in list.lines().map(str::trim) {
        if w.len() < MIN_WORD || w.len() > MAX_WORD || !w.bytes().all(|b| b.is_ascii_lowercase()) {
            continue;
        }
        for p in probes(hash::bytes(hash::seed(TAG_WORD), w.as_bytes())) {
            bits[p >> 6] |= 1 << (p & 63);
        }
    }
    bits
}

/// Whether the bit set holds the word hashed to `h`. The set is a fixed-size array, so
/// the probes (all below 2^WORD_BITS) need no bounds checks.
#[inline(always)]
fn contains(bits: &[u64; WORDS_LEN], h: u64) -> bool {
    probes(h)
        .iter()
        .all(|&p| bits[(p >> 6) % WORDS_LEN] & (1 << (p & 63)) != 0)
}

/// Exact tables of which 3- and 4-letter strings start some word of [`BUILTIN`]: they let
/// the segmenter stop extending a candidate word early, which prunes most of its probes.
struct Prefixes {
    p3: Vec<u64>,
    p4: Vec<u64>,
}

fn code(s: &[u8]) -> usize {
    s.iter()
        .fold(0usize, |a, &b| a * 26 + usize::from(b - b'a'))
}

fn prefixes() -> &'static Prefixes {
    static P: std::sync::OnceLock<Prefixes> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut p3 = vec![0u64; (26usize * 26 * 26).div_ceil(64)];
        let mut p4 = vec![0u64; (26usize * 26 * 26 * 26).div_ceil(64)];
        for w in BUILTIN.lines().map(str::trim) {
            let b = w.as_bytes();
            if b.len() < MIN_WORD || !b.iter().all(u8::is_ascii_lowercase) {
                continue;
            }
            let c = code(&b[..3]);
            p3[c >> 6] |= 1 << (c & 63);
            if b.len() >= 4 {
                let c = code(&b[..4]);
                p4[c >> 6] |= 1 << (c & 63);
            }
        }
        Prefixes { p3, p4 }
    })
}

/// Build the prefix tables now.
pub(crate) fn warm_up() {
    let _ = prefixes();
}

#[inline(always)]
fn bit(t: &[u64], c: usize) -> bool {
    t.get(c >> 6).is_some_and(|w| w & (1 << (c & 63)) != 0)
}

/// Result of segmenting one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seg {
    /// Letters covered by dictionary words.
    pub covered: u8,
    /// Number of words used.
    pub words: u8,
    /// How many of them are one- or two-letter words.
    pub short: u8,
}

/// A DP state packed so that "better" is one integer comparison: letters covered (bits
/// 16-23), 255 minus words used (bits 8-15), one- and two-letter words (bits 0-7, not
/// compared).
#[inline(always)]
fn key(covered: u32, words: u32, short: u32) -> u32 {
    covered << 16 | (255 - words) << 8 | short
}

/// Keep `cand` at `slot` if it covers more letters, or as many with fewer words.
#[inline(always)]
fn relax(slot: &mut u32, cand: u32) {
    if cand >> 8 > *slot >> 8 {
        *slot = cand;
    }
}

/// Best segmentation: most letters covered, then fewest words. O(len * 10) probes.
pub(crate) fn segment(bits: &[u64], label: &[u8]) -> Seg {
    let n = label.len().min(63);
    let Ok(bits) = <&[u64; WORDS_LEN]>::try_from(bits) else {
        return Seg::default();
    };
    if n < MIN_WORD {
        return Seg::default();
    }
    let label = &label[..n];
    let pre = prefixes();
    // run[i]: letters from i on, up to MAX_WORD (a word ends at the first non-letter).
    let mut run = [0u8; 65];
    for i in (0..n).rev() {
        run[i] = if label[i].is_ascii_lowercase() {
            (run[i + 1] + 1).min(MAX_WORD as u8)
        } else {
            0
        };
    }
    // dp[i] = best packed state for the prefix of length i.
    let mut dp = [key(0, 0, 0); 65];
    // What a word adds to a state: letters covered, one more word (one less in bits
    // 8-15), and for "a", "i" and the two-letter words one more short word.
    let word = |len: u32| (len << 16).wrapping_sub(1 << 8);
    let one = word(1) + 1;
    let two = word(2) + 1;
    for i in 0..n {
        let cur = dp[i];
        // Every position is reachable by leaving a letter uncovered.
        relax(&mut dp[i + 1], cur);
        let lim = usize::from(run[i]);
        if lim == 0 {
            continue;
        }
        let w = &label[i..i + lim];
        let b0 = w[0];
        if b0 == b'a' || b0 == b'i' {
            // "a" and "i": the one-letter words.
            relax(&mut dp[i + 1], cur.wrapping_add(one));
        }
        if lim < 2 {
            continue;
        }
        let mut c = usize::from(b0 - b'a') * 26 + usize::from(w[1] - b'a');
        if bit(&TWO, c) {
            relax(&mut dp[i + 2], cur.wrapping_add(two));
        }
        if lim < MIN_WORD {
            continue;
        }
        let mut h = hash::step(hash::step(hash::seed(TAG_WORD), b0), w[1]);
        for (k, &b) in w.iter().enumerate().skip(2) {
            h = hash::step(h, b);
            let len = k + 1;
            if len <= 4 {
                c = c * 26 + usize::from(b - b'a');
                if (len == 3 && !bit(&pre.p3, c)) || (len == 4 && !bit(&pre.p4, c)) {
                    break;
                }
            }
            if contains(bits, h) {
                let cand = cur.wrapping_add(word(len as u32));
                relax(&mut dp[(i + len).min(64)], cand);
            }
        }
    }
    let best = dp[n];
    Seg {
        covered: (best >> 16) as u8,
        words: (255 - ((best >> 8) & 0xff)) as u8,
        short: best as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segmenter agrees exactly with the reference: on the built-in set, and on dense
    /// random sets whose many false positives any pruning must not hide.
    #[test]
    fn segment_matches_reference() {
        let mut rng = crate::hash::SplitMix::new(5);
        let half: Vec<u64> = (0..WORDS_LEN).map(|_| rng.next_u64()).collect();
        let most: Vec<u64> = half.iter().map(|&x| x | rng.next_u64()).collect();
        let sets = [build(BUILTIN), half, most];
        let words: Vec<&str> = BUILTIN.lines().collect();
        let short = ["a", "i", "of", "the", "to", "in", "on", "my"];
        let junk = b"aeioulnrstpcmdygbkfhwvxzq0123456789-_";
        let mut labels: Vec<Vec<u8>> = vec![b"".to_vec(), b"ab".to_vec(), b"abc".to_vec()];
        for _ in 0..30_000 {
            let mut t = Vec::new();
            for _ in 0..1 + rng.below(8) {
                match rng.below(6) {
                    0..=2 => t.extend_from_slice(words[rng.below(words.len())].as_bytes()),
                    3 => t.extend_from_slice(short[rng.below(short.len())].as_bytes()),
                    4 => {
                        for _ in 0..1 + rng.below(6) {
                            t.push(junk[rng.below(junk.len())]);
                        }
                    }
                    _ => {
                        for _ in 0..1 + rng.below(20) {
                            t.push(b'a' + rng.below(26) as u8);
                        }
                    }
                }
            }
            labels.push(t);
        }
        for _ in 0..2_000 {
            let n = rng.below(80);
            labels.push((0..n).map(|_| rng.below(256) as u8).collect());
        }
        let mut covered = 0usize;
        for (k, bits) in sets.iter().enumerate() {
            for l in &labels {
                let got = segment(bits, l);
                let want = reference::segment(bits, l);
                assert_eq!(got, want, "set {k} {:?}", String::from_utf8_lossy(l));
                covered += usize::from(got.covered);
            }
        }
        assert!(covered > 100_000, "{covered}");
    }

    #[test]
    fn segments_dictionary_names() {
        let bits = build(BUILTIN);
        let s = segment(&bits, b"stomachconnectadjustestimate");
        assert_eq!(s.covered, 28);
        assert!(s.words >= 4 && s.words <= 5, "{s:?}");
        let r = segment(&bits, b"xkqzjvbwpt");
        assert!(r.covered <= 3, "{r:?}");
        assert_eq!(segment(&bits, b"ab"), Seg::default());
    }
}
