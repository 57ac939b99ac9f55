//! Character trigram model of benign labels: how likely a label's letters are, per char.
//!
//! Random (DGA) labels score far below benign ones. Stored in the model as a dense table
//! of log-probabilities, 38 symbols cubed (a-z, 0-9, `-`/`_`, and a boundary).

/// Symbols: 26 letters, 10 digits, hyphen (and underscore), boundary.
pub(crate) const SYMS: usize = 38;
/// Table length.
pub(crate) const TABLE_LEN: usize = SYMS * SYMS * SYMS;
pub(crate) const EDGE: usize = SYMS - 1;

/// Symbol of each byte: letters 0-25, digits 26-35, anything else 36.
pub(crate) const SYM: [u8; 256] = {
    let mut t = [36u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_digit() {
            t[b] = 26 + (c - b'0');
        } else if c.is_ascii_lowercase() {
            t[b] = c - b'a';
        }
        b += 1;
    }
    t
};

#[inline(always)]
fn sym(b: u8) -> usize {
    usize::from(SYM[usize::from(b)])
}

/// Train the table from labels (add-k smoothing so unseen trigrams stay finite).
pub(crate) fn train<'a>(labels: impl Iterator<Item = &'a [u8]>) -> Vec<f32> {
    let mut counts = vec![0u32; TABLE_LEN];
    for l in labels {
        let (mut a, mut b) = (EDGE, EDGE);
        for &c in l.iter().chain(std::iter::once(&b'.')) {
            let s = if c == b'.' { EDGE } else { sym(c) };
            counts[(a * SYMS + b) * SYMS + s] += 1;
            a = b;
            b = s;
        }
    }
    const K: f64 = 0.1;
    let mut table = vec![0f32; TABLE_LEN];
    for ctx in 0..SYMS * SYMS {
        let row = &counts[ctx * SYMS..(ctx + 1) * SYMS];
        let total: f64 = row.iter().map(|&c| f64::from(c)).sum::<f64>() + K * SYMS as f64;
        for (s, &c) in row.iter().enumerate() {
            table[ctx * SYMS + s] = ((f64::from(c) + K) / total).ln() as f32;
        }
    }
    table
}

/// Mean log-probability per character (including the end boundary) of `label`.
#[inline]
pub(crate) fn per_char(table: &[f32], label: &[u8]) -> f32 {
    if table.len() != TABLE_LEN || label.is_empty() {
        return 0.0;
    }
    let (mut a, mut b) = (EDGE, EDGE);
    let mut sum = 0f32;
    for &c in label {
        let s = sym(c);
        sum += table[(a * SYMS + b) * SYMS + s];
        a = b;
        b = s;
    }
    sum += table[(a * SYMS + b) * SYMS + EDGE];
    sum / (label.len() + 1) as f32
}
