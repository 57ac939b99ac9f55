//! The reference baseline: character 1-5-gram TF-IDF + L2 logistic regression.
//!
//! Why it is here: the accuracy targets are stated against this plain model
//! (scikit-learn `TfidfVectorizer(analyzer='char', ngram_range=(1,5))` +
//! `LogisticRegression(C=10, class_weight='balanced')`, one model per task), and on an
//! independent held-back set it beat trawl's model on several random-label DGA families.
//! Having it in Rust lets `trawl model eval --baseline` score the very same split with both,
//! so every model change is compared with the reference in one run. It is an evaluation
//! tool, not a scorer: a few hundred MB while training and tens of thousands of names a
//! second, against trawl's one million.
//!
//! What it computes, as scikit-learn does with those settings:
//! - the name as listed (trimmed, lower-cased), every run of 1 to 5 characters;
//! - vocabulary: every n-gram of the training names, exact (ASCII n-grams are packed into
//!   a `u64`, others hashed to 63 bits);
//! - raw counts times smooth idf, `ln((1 + n) / (1 + df)) + 1`, rows scaled to unit L2
//!   norm; n-grams not in the vocabulary are ignored;
//! - logistic regression with an unpenalised intercept, minimising
//!   `sum_i s_i log(1 + exp(-y_i z_i)) / S + |w|^2 / (2 C S)` with balanced sample
//!   weights `s_i = n / (2 n_class)` and `S = sum s_i` (scikit-learn's scaled objective),
//!   by L-BFGS (10 corrections) from zero, stopped when the largest gradient component is
//!   at most `tol` or after `max_iter` iterations.
//!
//! `crates/trawl-score/scripts/baseline_check.py` checks the figures against scikit-learn
//! itself on one split.

use crate::error::TrainError;
use crate::train::{Dataset, Labelled};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// Settings of the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineConfig {
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub c: f64,
    /// Most L-BFGS iterations (scikit-learn's `max_iter`).
    pub max_iter: usize,
    /// Stop when the largest gradient component is at most this (scikit-learn's `tol`).
    pub tol: f64,
    /// Shortest n-gram.
    pub min_n: usize,
    /// Longest n-gram.
    pub max_n: usize,
}

impl Default for BaselineConfig {
    /// The reference configuration: 1-5-grams, `C = 10`, scikit-learn's `max_iter` (100)
    /// and `tol` (1e-4).
    fn default() -> Self {
        BaselineConfig {
            c: 10.0,
            max_iter: 100,
            tol: 1e-4,
            min_n: 1,
            max_n: 5,
        }
    }
}

/// FNV-1a, for the rare n-grams that do not fit a packed key.
fn fnv(s: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in s {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Keys of every `min_n..=max_n`-character n-gram of `name` (lower-cased), unsorted.
/// An ASCII n-gram of up to 7 bytes is packed exactly: its bytes, then its length in the
/// top byte. Longer or non-ASCII ones get a 63-bit hash with the top bit set.
fn ngram_keys(name: &str, min_n: usize, max_n: usize, out: &mut Vec<u64>) {
    out.clear();
    let lower = name.trim().to_lowercase();
    if lower.is_ascii() && max_n <= 7 {
        let b = lower.as_bytes();
        for n in min_n.max(1)..=max_n.min(b.len()) {
            for w in b.windows(n) {
                let mut k = (n as u64) << 56;
                for (i, &c) in w.iter().enumerate() {
                    k |= u64::from(c) << (8 * i);
                }
                out.push(k);
            }
        }
    } else {
        // Character (not byte) n-grams, as scikit-learn counts them.
        let starts: Vec<usize> = lower
            .char_indices()
            .map(|(i, _)| i)
            .chain([lower.len()])
            .collect();
        let chars = starts.len() - 1;
        for n in min_n.max(1)..=max_n.min(chars) {
            for i in 0..=chars - n {
                let s = &lower.as_bytes()[starts[i]..starts[i + n]];
                let packed = s.len() <= 7 && s.is_ascii();
                out.push(if packed {
                    let mut k = (n as u64) << 56;
                    for (j, &c) in s.iter().enumerate() {
                        k |= u64::from(c) << (8 * j);
                    }
                    k
                } else {
                    (1 << 63) | (fnv(s) >> 1)
                });
            }
        }
    }
}

/// Sorted (key, count) pairs of a name's n-grams.
fn counted(name: &str, min_n: usize, max_n: usize, buf: &mut Vec<u64>) -> Vec<(u64, u32)> {
    ngram_keys(name, min_n, max_n, buf);
    count_sorted(buf)
}

/// Sorts `keys` and counts each: (key, count) pairs, keys ascending.
pub(crate) fn count_sorted<K: Ord + Copy>(keys: &mut [K]) -> Vec<(K, u32)> {
    keys.sort_unstable();
    let mut out: Vec<(K, u32)> = Vec::with_capacity(keys.len());
    for &k in keys.iter() {
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

/// A fitted TF-IDF vectoriser: sorted vocabulary keys and their idf.
#[derive(Debug, Clone)]
pub struct Tfidf {
    /// Vocabulary keys, sorted; a key's index is its column.
    keys: Vec<u64>,
    /// Column of every key.
    index: FxHashMap<u64, u32>,
    idf: Vec<f32>,
    min_n: usize,
    max_n: usize,
}

/// `neg` then `pos`, the documents a task trains on; neither may be empty (`positive`
/// names the positive class in the error).
pub(crate) fn training_docs<'a>(
    neg: &[&'a str],
    pos: &[&'a str],
    positive: &'static str,
) -> Result<Vec<&'a str>, TrainError> {
    if neg.is_empty() {
        return Err(TrainError::NoData("benign"));
    }
    if pos.is_empty() {
        return Err(TrainError::NoData(positive));
    }
    Ok(neg.iter().chain(pos).copied().collect())
}

/// `f` of each item, in order, computed in parallel chunks that each reuse one scratch
/// buffer (a fresh one per chunk).
pub(crate) fn par_map_buffered<T: Sync, B: Default, R: Send>(
    items: &[T],
    f: impl Fn(&T, &mut B) -> R + Sync,
) -> Vec<R> {
    items
        .par_chunks(4096)
        .flat_map_iter(|chunk| {
            let mut buf = B::default();
            chunk.iter().map(|x| f(x, &mut buf)).collect::<Vec<_>>()
        })
        .collect()
}

/// A sparse row: (column, value) with columns ascending.
pub(crate) type SparseRow = Vec<(u32, f32)>;

impl Tfidf {
    /// Learn the vocabulary and idf of `docs`.
    pub fn fit(docs: &[&str], min_n: usize, max_n: usize) -> Tfidf {
        let mut all: Vec<u64> = docs
            .par_chunks(4096)
            .flat_map_iter(|chunk| {
                let mut buf = Vec::new();
                let mut keys = Vec::new();
                for d in chunk {
                    keys.extend(counted(d, min_n, max_n, &mut buf).into_iter().map(|p| p.0));
                }
                keys
            })
            .collect();
        all.par_sort_unstable();
        let n = docs.len() as f64;
        let (mut keys, mut idf) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < all.len() {
            let mut j = i;
            while j < all.len() && all[j] == all[i] {
                j += 1;
            }
            keys.push(all[i]);
            idf.push((((1.0 + n) / (1.0 + (j - i) as f64)).ln() + 1.0) as f32);
            i = j;
        }
        let index = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect();
        Tfidf {
            keys,
            index,
            idf,
            min_n,
            max_n,
        }
    }

    /// Number of n-grams in the vocabulary.
    pub fn vocabulary_len(&self) -> usize {
        self.keys.len()
    }

    /// The L2-normalised TF-IDF row of `name`.
    fn row(&self, name: &str, buf: &mut Vec<u64>) -> SparseRow {
        let mut row: SparseRow = counted(name, self.min_n, self.max_n, buf)
            .into_iter()
            .filter_map(|(k, c)| {
                let i = *self.index.get(&k)?;
                Some((i, c as f32 * self.idf[i as usize]))
            })
            .collect();
        let norm = row
            .iter()
            .map(|&(_, v)| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            for (_, v) in &mut row {
                *v = (f64::from(*v) / norm) as f32;
            }
        }
        row
    }
}

/// Rows in compressed sparse row form, and the same matrix by column.
struct Matrix {
    ptr: Vec<usize>,
    col: Vec<u32>,
    val: Vec<f32>,
    cptr: Vec<usize>,
    crow: Vec<u32>,
    cval: Vec<f32>,
}

impl Matrix {
    fn new(rows: Vec<SparseRow>, cols: usize) -> Matrix {
        let nnz: usize = rows.iter().map(Vec::len).sum();
        let mut ptr = Vec::with_capacity(rows.len() + 1);
        let (mut col, mut val) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        let mut count = vec![0usize; cols + 1];
        ptr.push(0);
        for r in &rows {
            for &(c, v) in r {
                col.push(c);
                val.push(v);
                count[c as usize + 1] += 1;
            }
            ptr.push(col.len());
        }
        for i in 1..=cols {
            count[i] += count[i - 1];
        }
        let cptr = count.clone();
        let (mut crow, mut cval) = (vec![0u32; nnz], vec![0f32; nnz]);
        let mut next = count;
        for (r, row) in rows.iter().enumerate() {
            for &(c, v) in row {
                let k = next[c as usize];
                crow[k] = r as u32;
                cval[k] = v;
                next[c as usize] += 1;
            }
        }
        Matrix {
            ptr,
            col,
            val,
            cptr,
            crow,
            cval,
        }
    }

    fn rows(&self) -> usize {
        self.ptr.len() - 1
    }

    /// `X v` (row dot products).
    fn mul(&self, v: &[f64]) -> Vec<f64> {
        (0..self.rows())
            .into_par_iter()
            .with_min_len(4096)
            .map(|r| {
                (self.ptr[r]..self.ptr[r + 1])
                    .map(|k| f64::from(self.val[k]) * v[self.col[k] as usize])
                    .sum()
            })
            .collect()
    }

    /// `X^T r` (column dot products; by column, so the sum order is fixed).
    fn tmul(&self, r: &[f64], out: &mut [f64]) {
        out.par_iter_mut()
            .with_min_len(4096)
            .enumerate()
            .for_each(|(c, o)| {
                *o = (self.cptr[c]..self.cptr[c + 1])
                    .map(|k| f64::from(self.cval[k]) * r[self.crow[k] as usize])
                    .sum();
            });
    }
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Vector operations split into fixed chunks, so that sums are added in the same order
/// however rayon schedules them: the same data gives the same weights bit for bit.
const CHUNK: usize = 1 << 15;

/// Sum of `f(i)` over `0..n`, in fixed chunks.
fn psum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).map(&f).sum())
        .collect();
    parts.iter().sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    psum(a.len(), |i| a[i] * b[i])
}

/// `y += a x`.
fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| {
            for (p, q) in y.iter_mut().zip(x) {
                *p += a * q;
            }
        });
}

/// The scaled, class-balanced, L2-penalised logistic loss.
struct Objective<'a> {
    x: &'a Matrix,
    /// Positive or not.
    y: Vec<bool>,
    /// Sample weights divided by their sum.
    s: Vec<f64>,
    /// Penalty factor `1 / (C S)`.
    alpha: f64,
}

impl Objective<'_> {
    /// Data part of the loss at margins `z + t dz` (bias included).
    fn data_loss(&self, z: &[f64], dz: &[f64], t: f64) -> f64 {
        psum(z.len(), |i| {
            let m = z[i] + t * dz[i];
            self.s[i] * softplus(if self.y[i] { -m } else { m })
        })
    }

    /// Gradient at margins `z` and weights `w`, into `g` (weights, then bias).
    fn grad(&self, z: &[f64], w: &[f64], g: &mut [f64]) {
        let r: Vec<f64> = z
            .par_iter()
            .with_min_len(CHUNK)
            .zip(self.y.par_iter().zip(self.s.par_iter()))
            .map(|(&z, (&y, &s))| s * (sigmoid(z) - if y { 1.0 } else { 0.0 }))
            .collect();
        let d = w.len();
        self.x.tmul(&r, &mut g[..d]);
        axpy(&mut g[..d], self.alpha, w);
        g[d] = r.iter().sum();
    }
}

/// L-BFGS on `obj` from zero; returns the weights and the bias. Deterministic.
///
/// Like scipy's L-BFGS-B as scikit-learn calls it: 10 corrections, first step
/// `1 / |g|`, stop at `max |g_i| <= tol`, at a relative loss change of at most
/// `64 eps`, or after `max_iter` iterations. The step is found by backtracking from 1
/// (Armijo rule) rather than scipy's Wolfe search, so the iterates differ a little.
fn lbfgs(obj: &Objective<'_>, dims: usize, cfg: &BaselineConfig) -> (Vec<f64>, f64) {
    const M: usize = 10;
    let n = obj.x.rows();
    let mut x = vec![0f64; dims + 1];
    let mut z = vec![0f64; n];
    let zero = vec![0f64; n];
    let mut f = obj.data_loss(&z, &zero, 0.0);
    let mut g = vec![0f64; dims + 1];
    obj.grad(&z, &x[..dims], &mut g);
    let mut hist: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let mut gnew = vec![0f64; dims + 1];
    for iter in 0..cfg.max_iter {
        if g.iter().fold(0f64, |m, v| m.max(v.abs())) <= cfg.tol {
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut d = g.clone();
        let mut a = vec![0f64; hist.len()];
        for (i, (s, y, rho)) in hist.iter().enumerate().rev() {
            a[i] = rho * dot(s, &d);
            axpy(&mut d, -a[i], y);
        }
        let gamma = hist
            .back()
            .map_or(1.0, |(s, y, _)| dot(s, y) / dot(y, y).max(1e-300));
        d.par_iter_mut().for_each(|v| *v *= gamma);
        for (i, (s, y, rho)) in hist.iter().enumerate() {
            let b = rho * dot(y, &d);
            axpy(&mut d, a[i] - b, s);
        }
        d.par_iter_mut().for_each(|v| *v = -*v);
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (should not happen on a convex loss): restart.
            hist.clear();
            d = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        // Margins move linearly along d, and so does the penalty's quadratic, so trial
        // steps cost one pass over the margins, not over X.
        let mut dz = obj.x.mul(&d[..dims]);
        dz.par_iter_mut().for_each(|v| *v += d[dims]);
        let (ww, wd, dd) = (
            dot(&x[..dims], &x[..dims]),
            dot(&x[..dims], &d[..dims]),
            dot(&d[..dims], &d[..dims]),
        );
        let penalty = |t: f64| 0.5 * obj.alpha * (ww + 2.0 * t * wd + t * t * dd);
        let mut t = if iter == 0 {
            1.0 / dot(&d, &d).sqrt()
        } else {
            1.0
        };
        let mut fnew;
        let mut tries = 0;
        loop {
            fnew = obj.data_loss(&z, &dz, t) + penalty(t);
            if fnew <= f + 1e-4 * t * slope || tries >= 50 {
                break;
            }
            t *= 0.5;
            tries += 1;
        }
        axpy(&mut x, t, &d);
        axpy(&mut z, t, &dz);
        obj.grad(&z, &x[..dims], &mut gnew);
        // s = t d, y = g_new - g.
        d.par_iter_mut().for_each(|v| *v *= t);
        let mut y = gnew.clone();
        axpy(&mut y, -1.0, &g);
        let sy = dot(&d, &y);
        if sy > 1e-12 {
            if hist.len() == M {
                hist.pop_front();
            }
            hist.push_back((d, y, 1.0 / sy));
        }
        let rel = (f - fnew) / f.abs().max(fnew.abs()).max(1.0);
        f = fnew;
        std::mem::swap(&mut g, &mut gnew);
        if rel <= 64.0 * f64::EPSILON {
            break;
        }
    }
    let b = x[dims];
    x.truncate(dims);
    (x, b)
}

/// Class-balanced L2 logistic regression on `rows` (`dims` columns), the first `n_neg` of
/// them negative: weights and bias.
pub(crate) fn fit_balanced(
    rows: Vec<SparseRow>,
    dims: usize,
    n_neg: usize,
    cfg: &BaselineConfig,
) -> (Vec<f64>, f64) {
    let n = rows.len();
    let x = Matrix::new(rows, dims);
    let (nn, np) = (n_neg as f64, (n - n_neg) as f64);
    // Balanced weights n / (2 n_class), divided by their sum n.
    let y: Vec<bool> = (0..n).map(|i| i >= n_neg).collect();
    let s: Vec<f64> = y
        .iter()
        .map(|&y| if y { 0.5 / np } else { 0.5 / nn })
        .collect();
    let obj = Objective {
        x: &x,
        y,
        s,
        alpha: 1.0 / (cfg.c * (nn + np)),
    };
    lbfgs(&obj, dims, cfg)
}

/// One task's baseline: vectoriser and logistic-regression weights.
#[derive(Debug, Clone)]
pub struct TaskModel {
    tfidf: Tfidf,
    w: Vec<f32>,
    b: f32,
}

impl TaskModel {
    /// Fit the vectoriser on `neg` and `pos` together, then the regression.
    pub fn train(
        neg: &[&str],
        pos: &[&str],
        cfg: &BaselineConfig,
    ) -> Result<TaskModel, TrainError> {
        let docs = training_docs(neg, pos, "positive")?;
        let tfidf = Tfidf::fit(&docs, cfg.min_n, cfg.max_n);
        let rows: Vec<SparseRow> = par_map_buffered(&docs, |d, buf| tfidf.row(d, buf));
        let (w, b) = fit_balanced(rows, tfidf.vocabulary_len(), neg.len(), cfg);
        Ok(TaskModel {
            tfidf,
            w: w.into_iter().map(|v| v as f32).collect(),
            b: b as f32,
        })
    }

    /// The decision value `w . x + b` (log-odds; monotone in the probability, and without
    /// the ties a probability rounded to `f32` gets near 0 and 1).
    pub fn score(&self, name: &str) -> f32 {
        let mut buf = Vec::new();
        self.score_with(name, &mut buf)
    }

    fn score_with(&self, name: &str, buf: &mut Vec<u64>) -> f32 {
        let z: f64 = self
            .tfidf
            .row(name, buf)
            .iter()
            .map(|&(c, v)| f64::from(v) * f64::from(self.w[c as usize]))
            .sum();
        (z + f64::from(self.b)) as f32
    }

    /// Scores of many names, in parallel.
    pub fn score_all(&self, names: &[&str]) -> Vec<f32> {
        par_map_buffered(names, |n, buf| self.score_with(n, buf))
    }

    /// Number of n-grams in the vocabulary.
    pub fn vocabulary_len(&self) -> usize {
        self.tfidf.vocabulary_len()
    }
}

fn names(list: &[Labelled]) -> Vec<&str> {
    list.iter().map(|l| l.name.as_str()).collect()
}

/// The baseline for both tasks, each with its own vectoriser (fitted on benign + that
/// task's positives), as two separate scikit-learn pipelines would be.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Phishing vs benign.
    pub phish: TaskModel,
    /// DGA vs benign.
    pub dga: TaskModel,
}

impl Baseline {
    /// Train both tasks on `data`.
    pub fn train(data: &Dataset, cfg: &BaselineConfig) -> Result<Baseline, TrainError> {
        let benign = names(&data.benign);
        Ok(Baseline {
            phish: TaskModel::train(&benign, &names(&data.phish), cfg)?,
            dga: TaskModel::train(&benign, &names(&data.dga), cfg)?,
        })
    }

    /// Train only the DGA task (for leave-one-family-out, where phishing is not measured).
    pub fn train_dga(data: &Dataset, cfg: &BaselineConfig) -> Result<TaskModel, TrainError> {
        TaskModel::train(&names(&data.benign), &names(&data.dga), cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngrams_like_scikit_learn() {
        let mut out = Vec::new();
        ngram_keys("AbC", 1, 5, &mut out);
        // a, b, c, ab, bc, abc: lower-cased, no padding, n capped at the length.
        assert_eq!(out.len(), 6);
        let mut again = Vec::new();
        ngram_keys("abc", 1, 5, &mut again);
        assert_eq!(out, again);
        // Non-ASCII names count characters, not bytes.
        ngram_keys("bücher", 1, 1, &mut out);
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn idf_is_smooth() {
        let t = Tfidf::fit(&["ab", "a"], 1, 2);
        // a in 2 of 2 docs: ln(3/3) + 1 = 1; b and ab in 1: ln(3/2) + 1.
        let mut buf = Vec::new();
        let a = t.keys.binary_search(&{
            ngram_keys("a", 1, 1, &mut buf);
            buf[0]
        });
        assert_eq!(t.idf[a.unwrap()], 1.0);
        assert_eq!(t.vocabulary_len(), 3);
        let row = t.row("ab", &mut buf);
        let norm: f32 = row.iter().map(|p| p.1 * p.1).sum();
        assert!((norm - 1.0).abs() < 1e-6);
        // Unknown n-grams are dropped.
        assert!(t.row("zz", &mut buf).is_empty());
    }

    fn toy() -> (Vec<String>, Vec<String>) {
        let benign: Vec<String> = crate::testdata::POPULAR_LABELS
            .iter()
            .chain(&["instagram"])
            .map(|s| format!("{s}.com"))
            .collect();
        let dga: Vec<String> = [
            "xkqzjvwpt",
            "qzxvbnmkj",
            "jxqzvkwpr",
            "zqxjkvbnw",
            "wqzxjvkpq",
            "kzqxjwvbn",
            "vxqzjkwpm",
            "qjzxkvwbt",
            "xzqjvkbwn",
            "jqxzwvkpb",
        ]
        .iter()
        .map(|s| format!("{s}.com"))
        .collect();
        (benign, dga)
    }

    #[test]
    fn separates_a_toy_set_deterministically() {
        let (benign, dga) = toy();
        let b: Vec<&str> = benign.iter().map(String::as_str).collect();
        let d: Vec<&str> = dga.iter().map(String::as_str).collect();
        let cfg = BaselineConfig::default();
        let m = TaskModel::train(&b, &d, &cfg).unwrap();
        let sb = m.score_all(&b);
        let sd = m.score_all(&d);
        let max_b = sb.iter().fold(f32::MIN, |a, &v| a.max(v));
        let min_d = sd.iter().fold(f32::MAX, |a, &v| a.min(v));
        assert!(min_d > max_b, "{sb:?} {sd:?}");
        // Unseen names: random consonants score above an ordinary word.
        assert!(m.score("wxqkzjvbp.com") > m.score("wordpress.com"));
        // Same data, same weights, bit for bit.
        let again = TaskModel::train(&b, &d, &cfg).unwrap();
        assert_eq!(m.w, again.w);
        assert_eq!(m.b.to_bits(), again.b.to_bits());
        assert_eq!(m.score_all(&d), again.score_all(&d));
    }

    #[test]
    fn empty_class_is_an_error() {
        let cfg = BaselineConfig::default();
        assert!(TaskModel::train(&[], &["a.com"], &cfg).is_err());
        assert!(TaskModel::train(&["a.com"], &[], &cfg).is_err());
    }
}
