//! The shape of a label: counts, runs, entropy and the benign-trigram likelihood.
//!
//! Labels are at most 63 bytes, so the per-class counts and runs come from 64-bit masks
//! (one bit a byte; SSE2 builds them 16 bytes at a time on x86-64): popcounts and
//! run lengths instead of a branchy pass per byte. Only the histogram (for entropy) and
//! the trigram sum stay a loop over the bytes, and they share it. [`scalar`] is the plain
//! one-byte-at-a-time version, used for longer texts and as the tests' reference.

use crate::markov;

/// Counts, runs and entropy of a label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    pub digits: u8,
    pub letters: u8,
    pub vowels: u8,
    pub hyphens: u8,
    pub cons_run: u8,
    pub digit_run: u8,
    pub switches: u8,
    pub repeat: u8,
    pub entropy: f32,
    pub hex: bool,
}

/// `c * log2(c)` for c in 0..256.
pub(crate) fn clog2() -> &'static [f32; 256] {
    static T: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t = [0f32; 256];
        for (c, v) in t.iter_mut().enumerate().skip(1) {
            *v = c as f32 * (c as f32).log2();
        }
        t
    })
}

/// Histogram slot of a byte: its symbol in the trigram table (letters 0-25, digits 26-35,
/// anything else 36).
const SLOT: [u8; 256] = markov::SYM;

/// Entropy from a histogram: H = log2(n) - (1/n) * sum(c * log2 c), with c * log2 c from
/// a table. Empty slots add 0.0, which leaves a float sum unchanged, so only the seen
/// ones are added, in slot order.
#[inline]
fn entropy(hist: &[u8; 40], mut seen: u64, n: usize) -> f32 {
    if n == 0 {
        return 0.0;
    }
    let clog = clog2();
    let mut sum = -0.0f32;
    while seen != 0 {
        let i = seen.trailing_zeros() as usize;
        sum += clog[usize::from(hist[i % 40])];
        seen &= seen - 1;
    }
    clog[n.min(255)] / n as f32 - sum / n as f32
}

/// Length of the longest run of set bits.
#[inline(always)]
fn longest_run(mut x: u64) -> u8 {
    let mut k = 0u8;
    while x != 0 {
        x &= x << 1;
        k += 1;
    }
    k
}

/// Per-class bit masks of up to 64 bytes: bit `i` describes byte `i`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Masks {
    digit: u64,
    letter: u64,
    vowel: u64,
    /// Hex digits (`0-9a-fA-F`).
    hex: u64,
    /// Byte `i` equals byte `i + 1` (both inside the text).
    same_next: u64,
}

/// [`Masks`] of `l` (at most 64 bytes), 16 bytes a step.
#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(l: &[u8]) -> Masks {
    use std::arch::x86_64::*;
    let n = l.len().min(64);
    // Zero padding: 0 is in no class and equals no byte of a name.
    let mut buf = [0u8; 80];
    buf[..n].copy_from_slice(&l[..n]);
    let mut m = Masks::default();
    // SAFETY: SSE2 is part of the x86-64 baseline; every load reads 16 bytes starting at
    // most at offset 16 * 3 + 1 = 49, inside the 80-byte buffer.
    unsafe {
        let p = buf.as_ptr();
        let in_range = |v: __m128i, lo: u8, hi: u8| {
            // Bytes of a name are ASCII, but any byte works: >= 0x80 is negative as i8
            // and falls in no range here.
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8((lo - 1) as i8)),
                _mm_cmplt_epi8(v, _mm_set1_epi8((hi + 1) as i8)),
            )
        };
        let eq = |v: __m128i, c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let bits = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16);
        for k in 0..n.div_ceil(16) {
            let v = _mm_loadu_si128(p.add(16 * k).cast());
            let next = _mm_loadu_si128(p.add(16 * k + 1).cast());
            let digit = in_range(v, b'0', b'9');
            let letter = in_range(v, b'a', b'z');
            let vowel = _mm_or_si128(
                _mm_or_si128(eq(v, b'a'), eq(v, b'e')),
                _mm_or_si128(_mm_or_si128(eq(v, b'i'), eq(v, b'o')), eq(v, b'u')),
            );
            let hex = _mm_or_si128(
                digit,
                _mm_or_si128(in_range(v, b'a', b'f'), in_range(v, b'A', b'F')),
            );
            let sh = 16 * k as u32;
            m.digit |= bits(digit) << sh;
            m.letter |= bits(letter) << sh;
            m.vowel |= bits(vowel) << sh;
            m.hex |= bits(hex) << sh;
            m.same_next |= bits(_mm_cmpeq_epi8(v, next)) << sh;
        }
    }
    // Only pairs inside the text.
    m.same_next &= if n == 64 { !0 } else { (1u64 << n) - 1 } >> 1;
    m
}

/// [`Masks`] of `l` (at most 64 bytes), a byte at a time (targets without SSE2).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks(l: &[u8]) -> Masks {
    masks_scalar(l)
}

/// [`Masks`] of `l` (at most 64 bytes), a byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn masks_scalar(l: &[u8]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in l.iter().take(64).enumerate() {
        let bit = 1u64 << i;
        let set = |cond: bool| if cond { bit } else { 0 };
        m.digit |= set(b.is_ascii_digit());
        m.letter |= set(b.is_ascii_lowercase());
        m.vowel |= set(matches!(b, b'a' | b'e' | b'i' | b'o' | b'u'));
        m.hex |= set(b.is_ascii_hexdigit());
        m.same_next |= set(l.get(i + 1) == Some(&b));
    }
    m
}

/// Shape of `l` and its benign-trigram likelihood per char ([`markov::per_char`]), in
/// one pass over the bytes.
#[inline]
pub(crate) fn label(l: &[u8], table: &[f32]) -> (Shape, f32) {
    if l.len() > 64 || table.len() != markov::TABLE_LEN {
        return (scalar(l), markov::per_char(table, l));
    }
    let n = l.len();
    // Histogram and trigram sum: the only per-byte work left.
    let mut hist = [0u8; 40];
    let mut seen = 0u64;
    let (mut a, mut b) = (markov::EDGE, markov::EDGE);
    let mut sum = 0f32;
    for &c in l {
        let s = usize::from(SLOT[usize::from(c)]);
        hist[s] += 1;
        seen |= 1 << s;
        // a, b, s < SYMS: in bounds (checked length above).
        sum += table[(a * markov::SYMS + b) * markov::SYMS + s];
        a = b;
        b = s;
    }
    let m = if n == 0 {
        0.0
    } else {
        sum += table[(a * markov::SYMS + b) * markov::SYMS + markov::EDGE];
        sum / (n + 1) as f32
    };

    let k = masks(l);
    let valid = if n == 64 { !0 } else { (1u64 << n) - 1 };
    let digits = k.digit.count_ones() as u8;
    let letters = k.letter.count_ones() as u8;
    let vowels = k.vowel.count_ones() as u8;
    let cons = k.letter & !k.vowel;
    // Letter/digit switches: a digit after a letter or a letter after a digit.
    let switches = (((k.digit << 1) & k.letter) | ((k.letter << 1) & k.digit)).count_ones();
    // Longest run of equal bytes: pairs of equal neighbours inside the text, plus one.
    let repeat = if n == 0 {
        0
    } else {
        1 + longest_run(k.same_next)
    };
    let shape = Shape {
        digits,
        letters,
        vowels,
        hyphens: n as u8 - digits - letters,
        cons_run: longest_run(cons),
        digit_run: longest_run(k.digit),
        switches: switches as u8,
        repeat,
        entropy: entropy(&hist, seen, n),
        hex: k.hex == valid && digits > 0 && letters > 0 && n >= 8,
    };
    (shape, m)
}

/// Byte kinds of the scalar pass.
const K_OTHER: u8 = 0;
const K_DIGIT: u8 = 1;
const K_CONS: u8 = 2;
const K_VOWEL: u8 = 3;

/// Kind of a byte.
#[inline(always)]
fn kind(b: u8) -> u8 {
    if b.is_ascii_digit() {
        K_DIGIT
    } else if matches!(b, b'a' | b'e' | b'i' | b'o' | b'u') {
        K_VOWEL
    } else if b.is_ascii_lowercase() {
        K_CONS
    } else {
        K_OTHER
    }
}

/// Shape of any text, one byte at a time (labels over 64 bytes; the tests' reference).
pub(crate) fn scalar(l: &[u8]) -> Shape {
    let l = &l[..l.len().min(255)];
    let mut hist = [0u8; 40];
    let mut seen = 0u64;
    let mut kinds = [0u8; 4];
    let (mut cr, mut dr, mut rr) = (0u8, 0u8, 0u8);
    let (mut cons_run, mut digit_run, mut repeat, mut switches) = (0u8, 0u8, 0u8, 0u8);
    let mut prev = 0u8;
    // The byte 0 never occurs in a name, so the first byte never repeats "prev".
    let mut pkind = K_OTHER;
    let mut hex = true;
    for &b in l {
        let k = kind(b);
        let slot = usize::from(SLOT[usize::from(b)]);
        kinds[usize::from(k)] += 1;
        hist[slot] += 1;
        seen |= 1 << slot;
        hex &= b.is_ascii_hexdigit();
        dr = if k == K_DIGIT { dr + 1 } else { 0 };
        cr = if k == K_CONS { cr + 1 } else { 0 };
        rr = if b == prev { rr + 1 } else { 1 };
        let letter = |k: u8| k == K_CONS || k == K_VOWEL;
        if (pkind == K_DIGIT && letter(k)) || (letter(pkind) && k == K_DIGIT) {
            switches = switches.saturating_add(1);
        }
        prev = b;
        pkind = k;
        cons_run = cons_run.max(cr);
        digit_run = digit_run.max(dr);
        repeat = repeat.max(rr);
    }
    let digits = kinds[usize::from(K_DIGIT)];
    let vowels = kinds[usize::from(K_VOWEL)];
    let letters = kinds[usize::from(K_CONS)] + vowels;
    Shape {
        digits,
        letters,
        vowels,
        hyphens: kinds[usize::from(K_OTHER)],
        cons_run,
        digit_run,
        switches,
        repeat,
        entropy: entropy(&hist, seen, l.len()),
        hex: hex && digits > 0 && letters > 0 && l.len() >= 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SplitMix;

    fn table() -> Vec<f32> {
        markov::train(
            ["example", "google", "mail", "a1-b2"]
                .iter()
                .map(|s| s.as_bytes()),
        )
    }

    #[test]
    fn masks_agree_with_bytes() {
        let mut rng = SplitMix::new(7);
        for _ in 0..20_000 {
            let n = rng.below(65);
            let l: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            assert_eq!(masks(&l), masks_scalar(&l), "{l:?}");
        }
    }

    #[test]
    fn fast_pass_equals_scalar() {
        let t = table();
        let mut rng = SplitMix::new(11);
        let alphabet = b"abcdeefghiijklmnoopqrstuuvwxyz0123456789--_aaaxx";
        for round in 0..50_000 {
            let n = rng.below(65);
            let l: Vec<u8> = if round % 10 == 0 {
                (0..n).map(|_| rng.below(256) as u8).collect()
            } else {
                (0..n)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            };
            let (s, m) = label(&l, &t);
            let r = scalar(&l);
            assert_eq!(s, r, "{:?}", String::from_utf8_lossy(&l));
            assert_eq!(s.entropy.to_bits(), r.entropy.to_bits());
            assert_eq!(m.to_bits(), markov::per_char(&t, &l).to_bits());
        }
    }

    #[test]
    fn known_shapes() {
        let t = table();
        let (s, _) = label(b"aab00-9x", &t);
        assert_eq!((s.digits, s.letters, s.vowels, s.hyphens), (3, 4, 2, 1));
        assert_eq!(
            (s.digit_run, s.repeat, s.switches, s.cons_run),
            (2, 2, 2, 1)
        );
        assert!(!s.hex);
        assert!(label(b"deadbeef01", &t).0.hex);
        assert_eq!(label(b"", &t).0, scalar(b""));
    }
}
