//! The DGA n-gram head: a character 1-5-gram TF-IDF logistic regression on the registered
//! domain, hashed into one table, whose logit is averaged with the main model's DGA logit.
//!
//! Why a second scorer: the main model knows the listed families well, but on a family it
//! never saw, a plain n-gram regression ranks the family's random labels above the odd
//! random-looking benign name in a different order, and the mean of the two beats either
//! (leave-one-family-out in the crate README). It is trained as [`crate::baseline`] is
//! (balanced classes, `C = 10`, L-BFGS), with two changes that make it cheap to score:
//! n-grams are hashed to `2^bits` buckets (no vocabulary), and a row is normalised by
//! `sqrt(sum over occurrences of idf^2)` rather than by the exact L2 norm of the counts, so
//! scoring sums two numbers per n-gram occurrence with no de-duplication. Each bucket keeps
//! `idf * w` (i16) and `idf^2` (u16); buckets no training name used are zero, so unseen
//! n-grams count for nothing, as out-of-vocabulary ones do in scikit-learn.
//!
//! It only runs for names whose main DGA logit is at least the gate: a name the main model
//! finds plainly benign is not worth the table lookups.

use crate::baseline::{
    count_sorted, fit_balanced, par_map_buffered, training_docs, BaselineConfig, SparseRow,
};
use crate::error::{ModelError, TrainError};
use rayon::prelude::*;

/// Default longest n-gram, as the reference's. 4 saves a fifth of the lookups, but held
/// out families lost recall at 1% FPR (mean of twelve 0.830 -> 0.819).
pub(crate) const DEFAULT_MAX_N: u32 = 5;
/// Default log2 of the table size.
pub(crate) const DEFAULT_BITS: u32 = 20;

/// Calls `f` with the bucket of every 1..=`max_n`-byte n-gram of `text`, in order of
/// start, then length. One multiply an n-gram: the hash of a start's n-gram extends the one
/// before it by a byte (`(h ^ b) * K`, K odd and dense), and the top bits of a product depend
/// on every bit below them, so they are the bucket.
#[inline]
pub(crate) fn for_each_bucket(text: &[u8], bits: u32, max_n: usize, f: impl FnMut(usize)) {
    // A constant length lets the compiler unroll the windows.
    match max_n {
        4 => buckets_n::<4>(text, bits, f),
        5 => buckets_n::<5>(text, bits, f),
        _ => buckets(text, bits, max_n, f),
    }
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;
const H0: u64 = 0x243f_6a88_85a3_08d3;

#[inline(always)]
fn buckets_n<const N: usize>(text: &[u8], bits: u32, mut f: impl FnMut(usize)) {
    let shift = 64 - bits;
    let whole = text.len().saturating_sub(N - 1);
    for w in text.windows(N) {
        let mut h = H0;
        for &b in w {
            h = (h ^ u64::from(b)).wrapping_mul(K);
            f((h >> shift) as usize);
        }
    }
    // The last starts: shorter windows.
    for i in whole..text.len() {
        let mut h = H0;
        for &b in &text[i..] {
            h = (h ^ u64::from(b)).wrapping_mul(K);
            f((h >> shift) as usize);
        }
    }
}

fn buckets(text: &[u8], bits: u32, max_n: usize, mut f: impl FnMut(usize)) {
    let shift = 64 - bits;
    for i in 0..text.len() {
        let mut h = H0;
        for &b in &text[i..(i + max_n).min(text.len())] {
            h = (h ^ u64::from(b)).wrapping_mul(K);
            f((h >> shift) as usize);
        }
    }
}

/// The trained head, quantised.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Head {
    bits: u32,
    /// Longest n-gram.
    max_n: u32,
    /// `idf * w` (low 16 bits, i16) and `idf^2` (high 16 bits, u16) per bucket.
    table: Box<[u32]>,
    bias: f32,
    /// Scale of the `idf * w` and `idf^2` integers.
    scale: [f32; 2],
    /// Share of the head in the blended DGA logit.
    pub weight: f32,
    /// Main DGA logit below which the head is not consulted.
    pub gate: f32,
}

impl Head {
    /// The head's logit for `text` (a registered domain as normalised).
    #[inline]
    pub(crate) fn logit(&self, text: &[u8]) -> f32 {
        let (mut a, mut b) = (0i32, 0u32);
        let t = &self.table;
        for_each_bucket(text, self.bits, self.max_n as usize, |k| {
            debug_assert!(k < t.len());
            // SAFETY: buckets are the top `bits` bits of a u64, so below 2^bits, and every
            // `Head` holds exactly 2^bits entries (`decode` checks the length, `train`
            // allocates that many; there is no other constructor). Innermost line of the
            // head: no bounds check.
            let e = unsafe { *t.get_unchecked(k) };
            // At most 5 * 253 n-grams: i16 and u16 sums fit 32 bits.
            a += i32::from(e as u16 as i16);
            b += e >> 16;
        });
        if b == 0 {
            return self.bias;
        }
        self.bias + a as f32 * self.scale[0] / (b as f32 * self.scale[1]).sqrt()
    }

    /// The DGA logit of a name whose main DGA logit is `main`: blended with the head's
    /// when at or above the gate.
    #[inline]
    pub(crate) fn blend(&self, main: f32, text: &[u8]) -> f32 {
        if main < self.gate {
            return main;
        }
        (1.0 - self.weight) * main + self.weight * self.logit(text)
    }

    /// Serialise: u32 bits, u32 longest n-gram, f32 bias, scale\[2\], weight, gate,
    /// u32\[2^bits\] table.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bits.to_le_bytes());
        out.extend_from_slice(&self.max_n.to_le_bytes());
        for v in [
            self.bias,
            self.scale[0],
            self.scale[1],
            self.weight,
            self.gate,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for e in self.table.iter() {
            out.extend_from_slice(&e.to_le_bytes());
        }
    }

    /// Rebuild from what [`Head::encode`] wrote: `bits`, the longest n-gram, the five
    /// floats (bias, scales, weight, gate) and the table's bytes.
    pub(crate) fn decode(
        bits: u32,
        max_n: u32,
        v: [f32; 5],
        raw: &[u8],
    ) -> Result<Head, ModelError> {
        if !(8..=24).contains(&bits) || !(1..=8).contains(&max_n) || raw.len() != 4 << bits {
            return Err(ModelError::Corrupt("n-gram head size"));
        }
        let table = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Head {
            bits,
            max_n,
            table,
            bias: v[0],
            scale: [v[1], v[2]],
            weight: v[3],
            gate: v[4],
        })
    }
}

/// Sorted (bucket, count) pairs of a text's n-grams.
fn counted(text: &[u8], bits: u32, max_n: usize, buf: &mut Vec<u32>) -> Vec<(u32, u32)> {
    buf.clear();
    for_each_bucket(text, bits, max_n, |k| buf.push(k as u32));
    count_sorted(buf)
}

/// Train the head on registered domains: `neg` benign, `pos` DGA.
pub(crate) fn train(
    neg: &[&str],
    pos: &[&str],
    bits: u32,
    max_n: u32,
    weight: f32,
    gate: f32,
    cfg: &BaselineConfig,
) -> Result<Head, TrainError> {
    let docs = training_docs(neg, pos, "DGA")?;
    let grams: Vec<Vec<(u32, u32)>> = par_map_buffered(&docs, |d, buf| {
        counted(d.as_bytes(), bits, max_n as usize, buf)
    });
    // Document frequency per bucket; columns are the buckets some name used.
    let size = 1usize << bits;
    let mut df = vec![0u32; size];
    for g in &grams {
        for &(k, _) in g {
            df[k as usize] += 1;
        }
    }
    let mut column = vec![u32::MAX; size];
    let mut buckets = Vec::new();
    for (k, &d) in df.iter().enumerate() {
        if d > 0 {
            column[k] = buckets.len() as u32;
            buckets.push(k);
        }
    }
    let n = docs.len() as f64;
    let idf: Vec<f64> = df
        .iter()
        .map(|&d| ((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0)
        .collect();
    let rows: Vec<SparseRow> = grams
        .par_iter()
        .map(|g| {
            let norm = g
                .iter()
                .map(|&(k, c)| f64::from(c) * idf[k as usize].powi(2))
                .sum::<f64>()
                .sqrt();
            g.iter()
                .map(|&(k, c)| {
                    let v = f64::from(c) * idf[k as usize] / norm;
                    (column[k as usize], v as f32)
                })
                .collect::<SparseRow>()
        })
        .collect();
    // Columns ascend with buckets, and rows were sorted by bucket.
    let (w, b) = fit_balanced(rows, buckets.len(), neg.len(), cfg);
    // Quantise idf * w and idf^2.
    let a: Vec<f64> = buckets.iter().zip(&w).map(|(&k, &w)| idf[k] * w).collect();
    let amax = a.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
    let bmax = buckets
        .iter()
        .map(|&k| idf[k] * idf[k])
        .fold(1e-12, f64::max);
    let scale = [amax / 32767.0, bmax / 65535.0];
    let mut table = vec![0u32; size].into_boxed_slice();
    for (j, &k) in buckets.iter().enumerate() {
        let qa = (a[j] / scale[0]).round().clamp(-32767.0, 32767.0) as i16;
        // At least 1: a bucket some name used is in the vocabulary.
        let qb = ((idf[k] * idf[k]) / scale[1]).round().clamp(1.0, 65535.0) as u16;
        table[k] = u32::from(qa as u16) | (u32::from(qb) << 16);
    }
    Ok(Head {
        bits,
        max_n,
        table,
        bias: b as f32,
        scale: [scale[0] as f32, scale[1] as f32],
        weight,
        gate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_every_1_to_5_gram() {
        let mut n = 0;
        for_each_bucket(b"abcdef", 20, 5, |_| n += 1);
        // 6 + 5 + 4 + 3 + 2 n-grams.
        assert_eq!(n, 20);
        // The unrolled and the general loops give the same buckets in the same order.
        for text in [&b""[..], b"a", b"abc", b"abcdefgh.com"] {
            for n in [4, 5] {
                let (mut x, mut y) = (Vec::new(), Vec::new());
                for_each_bucket(text, 16, n, |k| x.push(k));
                buckets(text, 16, n, |k| y.push(k));
                assert_eq!(x, y);
            }
        }
        let mut a = Vec::new();
        for_each_bucket(b"xab", 20, 5, |k| a.push(k));
        let mut b = Vec::new();
        for_each_bucket(b"ab", 20, 5, |k| b.push(k));
        // "ab"'s n-grams are among "xab"'s: a, ab, b.
        assert!(b.iter().all(|k| a.contains(k)));
    }

    #[test]
    fn separates_random_from_words_and_round_trips() {
        let neg = [
            "google.com",
            "example.org",
            "wikipedia.org",
            "mailserver.net",
            "shopping.com",
        ];
        let pos = [
            "xkqzjvw.com",
            "qpzmxk.net",
            "zzkqjxv.org",
            "vkxqzpj.com",
            "jqxzkvm.net",
        ];
        let h = train(&neg, &pos, 12, 4, 0.5, -99.0, &BaselineConfig::default()).unwrap();
        assert!(h.logit(b"kqzjvxp.com") > h.logit(b"mailshop.org"));
        let mut bytes = Vec::new();
        h.encode(&mut bytes);
        let word = |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
        let v = [2, 3, 4, 5, 6].map(|i| f32::from_bits(word(i)));
        assert_eq!(Head::decode(word(0), word(1), v, &bytes[28..]).unwrap(), h);
        assert!(Head::decode(word(0), word(1), v, &bytes[32..]).is_err());
    }
}
