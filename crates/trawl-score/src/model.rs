//! The model: weights, tables, file format, scoring and explanations.
//!
//! File format (all little-endian), version 6:
//! `b"TRAWLSCR"`, u32 version, u32 table bits, f32 bias\[2\], f32 scale\[2\],
//! f32 threshold\[2\], u32 n + f32\[n\] trigram table, u32 n + u64\[n\] word bit set,
//! u32 n + u16\[n\] suffix/TLD counts, u32 n + u16\[n\] established registered domains
//! ([`crate::popular`]), the DGA n-gram head ([`crate::grams`]: u32 bits, u32 longest
//! n-gram, f32 bias, scale\[2\], weight, gate, u32\[2^bits\]), i8\[2 * (2^bits + 2^14)\] weights (phish, dga
//! interleaved; n-gram slots then dense slots), u32 n + UTF-8 JSON training summary.
//! (Versions 1 to 3 hashed features differently, so they are refused; version 4 gives
//! binned features fixed slots and hashes n-grams with one multiply each.) Weights are i8:
//! half the cache footprint of i16, and the same ROC AUC to four decimals.
//! The fingerprint is a 64-bit hash of all bytes.

use crate::error::{ModelError, NameError};
use crate::features::{self, tag, Facts, Sink, Tables, N_NS};
use crate::grams::Head;
use crate::hash;
use crate::lexicon::{BRANDS, KEYWORDS};
use crate::markov;
use crate::normalize::{normalize, NameBuf, NameKind, Parsed, SuffixKind};
use crate::popular;
use crate::prior;
use crate::site::Site;
use crate::words;
use serde::Serialize;
use std::sync::OnceLock;

const MAGIC: &[u8; 8] = b"TRAWLSCR";
/// Current model format version.
pub const FORMAT_VERSION: u32 = 6;
/// Index of the phishing task in two-element arrays.
pub(crate) const PHISH: usize = 0;
/// Index of the DGA task in two-element arrays.
pub(crate) const DGA: usize = 1;

static BUILTIN_BYTES: &[u8] = include_bytes!("../model/default.model");

/// A trained scorer. Immutable, `Send + Sync`: share one behind an `Arc` or a `&'static`.
pub struct Model {
    bits: u32,
    weights: Box<[[i8; 2]]>,
    scale: [f32; 2],
    bias: [f32; 2],
    threshold: [f32; 2],
    markov: Box<[f32]>,
    words: Box<[u64]>,
    prior: Box<[u16]>,
    popular: Box<[u16]>,
    head: Head,
    summary: String,
    fingerprint: u64,
    size: usize,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("fingerprint", &self.fingerprint_hex())
            .field("bits", &self.bits)
            .field("size", &self.size)
            .finish()
    }
}

/// The two scores of a name, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Likelihood that the name serves phishing.
    pub phish: f32,
    /// Likelihood that the name came from a domain generation algorithm.
    pub dga: f32,
}

/// Outcome of scoring one valid name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// A host name with its scores.
    Scored(Scores),
    /// A name that is deliberately not scored (an IP literal or a reverse-DNS name).
    Unscored(NameKind),
}

impl Verdict {
    /// The scores, if the name was scored.
    pub fn scores(&self) -> Option<Scores> {
        match self {
            Verdict::Scored(s) => Some(*s),
            Verdict::Unscored(_) => None,
        }
    }
}

/// Scores plus the parts of the name and the reasons, in words.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The normalised name.
    pub name: String,
    /// Registered domain (label + public suffix).
    pub registered_domain: String,
    /// Public suffix.
    pub suffix: String,
    /// Whether the suffix is a hosting platform (PRIVATE section of the list).
    pub platform: bool,
    /// Phishing score, `None` when not scored.
    pub phish_score: Option<f32>,
    /// DGA score, `None` when not scored.
    pub dga_score: Option<f32>,
    /// Why, strongest first.
    pub reasons: Vec<String>,
}

impl Explanation {
    /// One JSON object: `name` (as given), `phish_score`, `dga_score`,
    /// `registered_domain`, `suffix`, `platform`, `reasons`.
    pub fn to_json(&self, given_name: &str) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            name: &'a str,
            phish_score: Option<f32>,
            dga_score: Option<f32>,
            registered_domain: &'a str,
            suffix: &'a str,
            platform: bool,
            reasons: &'a [String],
        }
        let round = |v: Option<f32>| v.map(|x| (x * 10_000.0).round() / 10_000.0);
        serde_json::to_string(&Line {
            name: given_name,
            phish_score: round(self.phish_score),
            dga_score: round(self.dga_score),
            registered_domain: &self.registered_domain,
            suffix: &self.suffix,
            platform: self.platform,
            reasons: &self.reasons,
        })
        .unwrap_or_default()
    }
}

/// Collects features and sums quantised weights per namespace: the scoring hot path.
struct Acc<'a> {
    w: &'a [[i8; 2]],
    acc: [[i32; 2]; N_NS],
}

impl Sink for Acc<'_> {
    #[inline(always)]
    fn put(&mut self, ns: usize, _tag: u8, i: usize) {
        debug_assert!(i < self.w.len());
        // SAFETY: the extractor gives n-gram slots below 2^bits (the top `bits` bits of a
        // u64) and dense slots below 2^bits + DENSE_LEN (masked or shifted into their
        // region), and every `Model` holds exactly `table_len(bits)` = 2^bits + DENSE_LEN
        // weights (`from_bytes` reads that many and is the only constructor). This is the
        // innermost line of scoring: no bounds check.
        let w = unsafe { *self.w.get_unchecked(i) };
        let a = &mut self.acc[ns];
        a[0] += i32::from(w[0]);
        a[1] += i32::from(w[1]);
    }
}

/// Like [`Acc`] but per feature group, for explanations.
struct TagAcc<'a> {
    w: &'a [[i8; 2]],
    acc: [[i32; 2]; tag::N],
}

impl Sink for TagAcc<'_> {
    fn put(&mut self, _ns: usize, t: u8, i: usize) {
        let w = self.w[i];
        if let Some(a) = self.acc.get_mut(usize::from(t)) {
            a[0] += i32::from(w[0]);
            a[1] += i32::from(w[1]);
        }
    }
}

/// Logit subtracted from both scores of a name under an established registered domain:
/// odds divided by about 150. Such a domain was popular enough to be listed and hosted no
/// listed phishing or DGA name; it would take a compromise to make it either.
const ESTABLISHED_SHIFT: f32 = 5.0;

/// A subdomain label this random (benign-trigram likelihood per char) or more, of
/// [`SUB_MIN_LEN`]+ chars, under a registered domain that is not established is also scored
/// as if it were a registered label ([`Model::sub_candidate`]).
const SUB_RANDOM: f32 = -4.0;
/// Logit taken off a subdomain label's DGA score: under a domain that is not established
/// but may well be benign (an analytics or tracking service), only an overwhelming score
/// counts.
const SUB_PENALTY: f32 = 2.0;
/// Shortest subdomain label so judged: short random labels (`e3396`, `x`) are everyday host
/// and shard names.
const SUB_MIN_LEN: usize = 12;

/// Per-namespace normalisation: n-gram namespaces by count^-0.35, dense by 1.
#[inline]
pub(crate) fn ns_norms(f: &Facts) -> [f32; N_NS] {
    [
        features::ngram_norm(f.counts[0]),
        features::ngram_norm(f.counts[1]),
        1.0,
    ]
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Parts a model is assembled from (used by training).
pub(crate) struct Parts {
    pub bits: u32,
    pub weights: Vec<[f32; 2]>,
    pub bias: [f32; 2],
    pub threshold: [f32; 2],
    pub markov: Vec<f32>,
    pub words: Vec<u64>,
    pub prior: Vec<u16>,
    pub popular: Vec<u16>,
    pub head: Head,
    pub summary: String,
}

impl Model {
    /// The model built into this binary (trained on the project's labelled lists).
    pub fn builtin() -> Result<&'static Model, ModelError> {
        static M: OnceLock<Option<Model>> = OnceLock::new();
        M.get_or_init(|| Model::from_bytes(BUILTIN_BYTES).ok())
            .as_ref()
            .ok_or(ModelError::NoDefault)
    }

    /// Read a model file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path)?;
        Model::from_bytes(&bytes)
    }

    /// Parse model bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Model, ModelError> {
        let mut r = Reader { b, at: 0 };
        if r.take(8)? != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let version = r.u32()?;
        if version != FORMAT_VERSION {
            return Err(ModelError::Version(version));
        }
        let bits = r.u32()?;
        if !(10..=24).contains(&bits) {
            return Err(ModelError::Corrupt("table size"));
        }
        let bias = [r.f32()?, r.f32()?];
        let scale = [r.f32()?, r.f32()?];
        let threshold = [r.f32()?, r.f32()?];
        let markov = r.table(markov::TABLE_LEN, "trigram table size", Reader::f32)?;
        let words = r.table(words::WORDS_LEN, "word set size", Reader::u64)?;
        let prior = r.table(prior::PRIOR_LEN, "suffix count table size", Reader::u16)?;
        let popular = r.table(
            popular::POP_LEN,
            "established-domain table size",
            Reader::u16,
        )?;
        let (head_bits, max_n) = (r.u32()?, r.u32()?);
        let v = [r.f32()?, r.f32()?, r.f32()?, r.f32()?, r.f32()?];
        let raw = r.take(4usize.checked_shl(head_bits).unwrap_or(usize::MAX))?;
        let head = Head::decode(head_bits, max_n, v, raw)?;
        let raw = r.take(features::table_len(bits) * 2)?;
        let weights = raw
            .chunks_exact(2)
            .map(|c| [c[0] as i8, c[1] as i8])
            .collect::<Box<[[i8; 2]]>>();
        let n = r.u32()? as usize;
        let summary = std::str::from_utf8(r.take(n)?)
            .map_err(|_| ModelError::Corrupt("summary is not UTF-8"))?
            .to_string();
        if r.at != b.len() {
            return Err(ModelError::Corrupt("trailing bytes"));
        }
        Ok(Model {
            bits,
            weights,
            scale,
            bias,
            threshold,
            markov,
            words,
            prior,
            popular,
            head,
            summary,
            fingerprint: hash::fingerprint(b),
            size: b.len(),
        })
    }

    /// Quantise trained weights and serialise them.
    pub(crate) fn encode(p: &Parts) -> Vec<u8> {
        let mut scale = [0f32; 2];
        for t in 0..2 {
            let max = p.weights.iter().map(|w| w[t].abs()).fold(0f32, f32::max);
            scale[t] = if max > 0.0 { max / 127.0 } else { 1.0 };
        }
        let mut out = Vec::with_capacity(features::table_len(p.bits) * 2 + 600_000);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&p.bits.to_le_bytes());
        for v in p.bias.iter().chain(&scale).chain(&p.threshold) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(p.markov.len() as u32).to_le_bytes());
        for v in &p.markov {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(p.words.len() as u32).to_le_bytes());
        for v in &p.words {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(p.prior.len() as u32).to_le_bytes());
        for v in &p.prior {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(p.popular.len() as u32).to_le_bytes());
        for v in &p.popular {
            out.extend_from_slice(&v.to_le_bytes());
        }
        p.head.encode(&mut out);
        for w in &p.weights {
            for t in 0..2 {
                let q = (w[t] / scale[t]).round().clamp(-127.0, 127.0) as i8;
                out.extend_from_slice(&q.to_le_bytes());
            }
        }
        out.extend_from_slice(&(p.summary.len() as u32).to_le_bytes());
        out.extend_from_slice(p.summary.as_bytes());
        out
    }

    /// Serialise the model (byte-identical to the file it was read from).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.bits.to_le_bytes());
        for v in self.bias.iter().chain(&self.scale).chain(&self.threshold) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.markov.len() as u32).to_le_bytes());
        for v in self.markov.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.words.len() as u32).to_le_bytes());
        for v in self.words.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.prior.len() as u32).to_le_bytes());
        for v in self.prior.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.popular.len() as u32).to_le_bytes());
        for v in self.popular.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        self.head.encode(&mut out);
        for w in self.weights.iter() {
            out.extend_from_slice(&w[0].to_le_bytes());
            out.extend_from_slice(&w[1].to_le_bytes());
        }
        out.extend_from_slice(&(self.summary.len() as u32).to_le_bytes());
        out.extend_from_slice(self.summary.as_bytes());
        out
    }

    /// 64-bit hash of the model bytes: use it in cache keys so a new model never reuses
    /// scores of the old one.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// [`Model::fingerprint`] as 16 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }

    /// Size of the model file in bytes.
    pub fn size_bytes(&self) -> usize {
        self.size
    }

    /// Alert thresholds (phish, dga) chosen at training time.
    pub fn thresholds(&self) -> Scores {
        Scores {
            phish: self.threshold[PHISH],
            dga: self.threshold[DGA],
        }
    }

    /// Training summary (JSON text written by the trainer).
    pub fn summary(&self) -> &str {
        &self.summary
    }

    pub(crate) fn tables(&self) -> Tables<'_> {
        Tables {
            bits: self.bits,
            markov: &self.markov,
            words: &self.words,
            prior: &self.prior,
            loo: None,
        }
    }

    /// What the model judges of a name, and the tier (1..=15) of its registered domain in
    /// the established-domain table (0: not established). Under an established registered
    /// domain that is the registered domain alone: its subdomains are its owner's naming.
    /// A site on a hosting platform is its user's and never established, unless the
    /// platform is infrastructure whose labels the provider assigns
    /// (`d13vvqr7dxay1j.cloudfront.net`, `safebrowsing.googleapis.com`): then what is judged
    /// is the platform's own domain (the suffix's last two or three labels).
    #[inline]
    fn judged<'a>(&self, p: &Parsed<'a>) -> (Parsed<'a>, u8) {
        let tier = |d: &str| popular::tier(&self.popular, popular::key(d.as_bytes()));
        if p.suffix_kind != SuffixKind::Private {
            return match tier(p.registered) {
                0 => (*p, 0),
                t => (p.registered_only(), t),
            };
        }
        for n in [2, 3] {
            if let Some(d) = last_labels(p.suffix, n) {
                if tier(d) == popular::INFRA {
                    return (Parsed::bare(d), popular::INFRA);
                }
            }
        }
        (*p, 0)
    }

    /// Raw logits of a parsed, scorable name (no allocation).
    #[inline]
    pub(crate) fn logits(&self, p: &Parsed<'_>) -> [f32; 2] {
        let (p, tier) = self.judged(p);
        let (mut out, facts) = self.raw_logits(&p);
        if tier > 0 {
            for o in &mut out {
                *o -= ESTABLISHED_SHIFT;
            }
            return out;
        }
        out[DGA] = self.dga_blend(out[DGA], &p);
        if let Some((dga, _)) = self.sub_candidate(&p, &facts) {
            out[DGA] = out[DGA].max(dga);
        }
        out
    }

    /// A random-looking subdomain label under a registered domain that is not established
    /// is what a generator made, just as a random registered label is: its DGA logit as if
    /// it had been registered under the name's suffix (`x837fnv9ebfj38390nf78d7.ru` for
    /// `x837fnv9ebfj38390nf78d7.evil-domain.ru`), with the label. `None` when no subdomain
    /// label of [`SUB_MIN_LEN`]+ chars is at or below [`SUB_RANDOM`] per char.
    #[inline]
    fn sub_candidate<'a>(&self, p: &Parsed<'a>, f: &Facts) -> Option<(f32, &'a str)> {
        let (at, len) = f.sub_worst?;
        if f.markov_sub? > SUB_RANDOM || usize::from(len) < SUB_MIN_LEN || p.suffix.is_empty() {
            return None;
        }
        let label = p
            .subdomain
            .get(usize::from(at)..usize::from(at) + usize::from(len))?;
        if !could_be_registered(label) {
            return None;
        }
        let mut text = [0u8; 256];
        let n = label.len() + 1 + p.suffix.len();
        let out = text.get_mut(..n)?;
        out[..label.len()].copy_from_slice(label.as_bytes());
        out[label.len()] = b'.';
        out[label.len() + 1..].copy_from_slice(p.suffix.as_bytes());
        let cand = std::str::from_utf8(out).ok()?;
        let mut buf = NameBuf::new();
        let q = normalize(cand, &mut buf).ok()?;
        if !q.is_scorable() {
            return None;
        }
        let raw = self.raw_logits(&q).0[DGA];
        Some((self.dga_blend(raw, &q) - SUB_PENALTY, label))
    }

    /// The DGA logit `main` of `p` blended with the n-gram head's ([`crate::grams`]).
    ///
    /// For every name, not only random-looking ones: most of what the head brings on
    /// families never trained on is that it pulls benign names the main model scores high
    /// (random-looking or not) back down. Skipping labels made of words, short labels and
    /// platform sites kept the split's DGA ROC AUC at 0.990 but left 13 of 14 random-label
    /// families below the reference at 1% FPR, against 2 of 20 blending every name.
    #[inline]
    fn dga_blend(&self, main: f32, p: &Parsed<'_>) -> f32 {
        self.head.blend(main, p.registered.as_bytes())
    }

    /// Logits of the name's own features, without the established-domain rule.
    #[inline]
    fn raw_logits(&self, p: &Parsed<'_>) -> ([f32; 2], Facts) {
        let mut acc = Acc {
            w: &self.weights,
            acc: [[0; 2]; N_NS],
        };
        let facts = features::extract(p, &self.tables(), &mut acc);
        let norms = ns_norms(&facts);
        let mut out = self.bias;
        for (t, o) in out.iter_mut().enumerate() {
            let mut sum = 0f32;
            for (a, n) in acc.acc.iter().zip(norms) {
                sum += a[t] as f32 * n;
            }
            *o += sum * self.scale[t];
        }
        (out, facts)
    }

    /// Score a parsed name (no allocation).
    #[inline]
    pub fn score_parsed(&self, p: &Parsed<'_>) -> Verdict {
        if !p.is_scorable() {
            return Verdict::Unscored(p.kind);
        }
        let l = self.logits(p);
        Verdict::Scored(Scores {
            phish: sigmoid(l[PHISH]),
            dga: sigmoid(l[DGA]),
        })
    }

    /// Normalise and score one name. Allocates nothing for ASCII names.
    #[inline]
    pub fn score(&self, name: &str) -> Result<Verdict, NameError> {
        self.score_in(name, &Site::EMPTY)
    }

    /// [`Model::score`] for a name seen on a network that knows its own zones ([`Site`]):
    /// names in them are [`NameKind::OwnZone`] and not scored.
    #[inline]
    pub fn score_in(&self, name: &str, site: &Site) -> Result<Verdict, NameError> {
        let mut buf = NameBuf::new();
        let mut p = normalize(name, &mut buf)?;
        p.kind = site.kind(p.kind, p.name);
        Ok(self.score_parsed(&p))
    }

    /// Scores plus reasons in words (allocates; use [`Model::score`] on the hot path).
    pub fn explain(&self, name: &str) -> Result<Explanation, NameError> {
        self.explain_in(name, &Site::EMPTY)
    }

    /// [`Model::explain`] for a name seen on a network that knows its own zones.
    pub fn explain_in(&self, name: &str, site: &Site) -> Result<Explanation, NameError> {
        let mut buf = NameBuf::new();
        let mut p = normalize(name, &mut buf)?;
        p.kind = site.kind(p.kind, p.name);
        let mut e = Explanation {
            name: p.name.to_string(),
            registered_domain: p.registered.to_string(),
            suffix: p.suffix.to_string(),
            platform: p.suffix_kind == SuffixKind::Private,
            phish_score: None,
            dga_score: None,
            reasons: Vec::new(),
        };
        if p.kind == NameKind::OwnZone {
            e.reasons
                .push(Site::reason(site.zone_of(p.name).unwrap_or(p.registered)));
            return Ok(e);
        }
        if let Some(r) = p.kind.unscored_reason(&p) {
            e.reasons.push(r);
            return Ok(e);
        }
        let l = self.logits(&p);
        let scores = [sigmoid(l[PHISH]), sigmoid(l[DGA])];
        e.phish_score = Some(scores[PHISH]);
        e.dga_score = Some(scores[DGA]);
        let (p, tier) = self.judged(&p);
        if tier > 0 {
            let what = if tier == popular::INFRA {
                "an infrastructure domain (CDN, cloud, OS vendor, package mirror: built-in list)"
                    .to_string()
            } else {
                format!("an established domain (built-in popularity list, tier {tier} of 14)")
            };
            e.reasons.push(format!(
                "{} is {what}: judged by its registered domain alone{}",
                p.registered,
                if p.name.len() < e.name.len() {
                    ", its labels are its owner's naming"
                } else {
                    ""
                }
            ));
        }
        let mut acc = TagAcc {
            w: &self.weights,
            acc: [[0; 2]; tag::N],
        };
        let f = features::extract(&p, &self.tables(), &mut acc);
        let norms = ns_norms(&f);
        if tier == 0 {
            let raw = self.raw_logits(&p).0[DGA];
            let own = self.dga_blend(raw, &p);
            if own > raw + 0.4 && sigmoid(own) >= 0.5 {
                e.reasons.push(format!(
                    "the character n-grams of {} are like those of DGA names (n-gram regression)",
                    p.registered
                ));
            }
            if let Some((dga, label)) = self.sub_candidate(&p, &f) {
                if dga > own && sigmoid(dga) >= 0.5 {
                    e.reasons.push(format!(
                        "random-looking label \"{label}\" under {}, which is not an established domain: as a registered name it scores dga {:.3}",
                        p.registered,
                        sigmoid(dga)
                    ));
                }
            }
        }
        // Contributions per group and task, in logit units.
        let mut contrib: Vec<(f32, usize, u8)> = Vec::new();
        for (t, a) in acc.acc.iter().enumerate() {
            let n = norms[features::ns_of(t as u8)];
            for task in [PHISH, DGA] {
                let c = a[task] as f32 * n * self.scale[task];
                contrib.push((c, task, t as u8));
            }
        }
        contrib.sort_by(|a, b| b.0.total_cmp(&a.0));
        for &(c, task, t) in &contrib {
            // Explain the scores that are high, with the groups that pushed them up.
            if c < 0.4 || scores[task] < 0.5 || e.reasons.len() >= 5 {
                continue;
            }
            if let Some(r) = reason(t, task, &p, &f) {
                if !e.reasons.contains(&r) {
                    e.reasons.push(r);
                }
            }
        }
        if e.reasons.is_empty() {
            e.reasons.push(if scores.iter().any(|&s| s >= 0.5) {
                "many weak signals".into()
            } else {
                "no strong phishing or DGA signal".into()
            });
        }
        Ok(e)
    }
}

/// Whether a subdomain label could have been a generated registered label: host names
/// hold no `_`, and a run of 16+ hex digits is an object ID or a hash (`ui-721249b2...`,
/// `a21ed24aedde648804e7-...rackcdn.com`), which generators of registered names do not
/// make.
fn could_be_registered(label: &str) -> bool {
    let (mut run, mut longest_run, mut token, mut longest_token) = (0, 0, 0, 0);
    for b in label.bytes() {
        if b == b'_' {
            return false;
        }
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        longest_run = longest_run.max(run);
        token = if b == b'-' { 0 } else { token + 1 };
        longest_token = longest_token.max(token);
    }
    // Hex IDs and hashes (`17d98a5e`, `a21ed24aedde648804e7`), and structured names of
    // short hyphenated tokens (`ipv4-c074-dus002-ix`): machine naming, not generated
    // registered labels.
    longest_run < label.len().min(16) && longest_token >= SUB_MIN_LEN
}

/// The last `n` labels of `s`, when it has at least `n`.
fn last_labels(s: &str, n: usize) -> Option<&str> {
    let mut end_dots = s.rmatch_indices('.').map(|(i, _)| i);
    match end_dots.nth(n - 1) {
        Some(i) => s.get(i + 1..),
        None => (s.split('.').count() == n).then_some(s),
    }
}

/// One reason in words for a feature group that raised a task's score.
fn reason(t: u8, task: usize, p: &Parsed<'_>, f: &Facts) -> Option<String> {
    let what = if task == PHISH { "phishing" } else { "DGA" };
    let brand = |id: Option<u16>| id.and_then(|i| BRANDS.get(usize::from(i))).copied();
    Some(match t {
        tag::NGRAM_LABEL => format!(
            "registered label \"{}\" has character n-grams typical of {what} names",
            p.label
        ),
        tag::NGRAM_SUB => format!(
            "subdomain \"{}\" has character n-grams typical of {what} names",
            p.subdomain
        ),
        tag::MARKOV_LABEL | tag::PRIV_MARKOV => format!(
            "random-looking label: n-gram likelihood {:.1} per char",
            f.markov_label
        ),
        tag::MARKOV_SUB => format!(
            "random-looking subdomain label: n-gram likelihood {:.1} per char",
            f.markov_sub.unwrap_or(0.0)
        ),
        tag::ENTROPY => format!("high character entropy ({:.2} bits per char)", f.entropy),
        tag::SEG_COVER | tag::SEG_WORDS | tag::SEG_CROSS | tag::SEG_SHAPE if f.seg.words >= 2 => {
            format!(
                "label made of {} dictionary words ({} of {} chars)",
                f.seg.words, f.seg.covered, f.label_len
            )
        }
        tag::LEN_LABEL => format!("long registered label ({} chars)", f.label_len),
        tag::LEN_NAME => format!("long name ({} chars)", p.name.len()),
        tag::DIGITS if f.digits > 0 => {
            format!("{} digits in the registered label", f.digits)
        }
        tag::CONS_RUN => format!("run of {} consonants", f.cons_run),
        tag::HYPH_LABEL if f.hyph_label > 0 => {
            format!("{} hyphens in the registered label", f.hyph_label)
        }
        tag::HYPH_SUB if f.hyph_sub > 0 => format!("{} hyphens in the subdomain", f.hyph_sub),
        tag::NSUB if f.nsub > 0 => format!("{} subdomain labels", f.nsub),
        tag::SUFFIX | tag::SUFFIX_KIND if p.suffix_kind == SuffixKind::Private => format!(
            "on hosting platform {} (public-suffix PRIVATE section)",
            p.suffix
        ),
        tag::TLD_PRIOR | tag::SUFFIX_PRIOR | tag::PRIOR_SHAPE => {
            let tld = p.suffix.rsplit('.').next().unwrap_or(p.suffix);
            match f.tld_count {
                0 => format!("TLD .{tld} never seen among benign names"),
                c if c < 64 => format!("TLD .{tld} is rare among benign names ({c} seen)"),
                // A common TLD: the weight came from the label's shape under it, which
                // other reasons already say.
                _ => return None,
            }
        }
        tag::SUFFIX_UNSEEN if !f.suffix_seen => {
            format!("suffix .{} is in none of the training lists", p.suffix)
        }
        tag::SUFFIX_PHISH if task == PHISH => format!(
            "suffix .{}: {} phishing and {} benign names in training",
            p.suffix, f.suffix_phish, f.suffix_benign
        ),
        tag::SUFFIX | tag::TLD | tag::SUFFIX_KIND => {
            format!("suffix .{} is common in {what} names", p.suffix)
        }
        tag::BRAND_SUB => format!(
            "brand \"{}\" in a subdomain of an unrelated domain",
            brand(f.lex.brand_sub)?
        ),
        tag::BRAND_LABEL => format!(
            "brand \"{}\" inside an unrelated registered label",
            brand(f.lex.brand_label)?
        ),
        tag::BRAND_TYPO => format!(
            "a label is one edit away from brand \"{}\"",
            brand(f.lex.brand_typo)?
        ),
        tag::BRAND_GLYPH => format!(
            "brand \"{}\" spelled with look-alike characters",
            brand(f.lex.brand_glyph)?
        ),
        tag::IDN_BRAND => format!(
            "brand \"{}\" spelled with look-alike Unicode letters",
            brand(f.idn_brand)?
        ),
        tag::KW_SUB | tag::KW_LABEL | tag::KW_ID => format!(
            "phishing keyword \"{}\"",
            f.lex.kw_first.and_then(|k| KEYWORDS.get(usize::from(k)))?
        ),
        tag::PUNY => "punycode (internationalised) label".into(),
        tag::MIXED => "mixed scripts in an internationalised label".into(),
        tag::SHAPE | tag::SWITCHES | tag::DIGIT_RUN | tag::REPEAT | tag::VOWELS => {
            format!("unusual mix of letters and digits in \"{}\"", p.label)
        }
        tag::SUB_LONGEST => "long subdomain label".into(),
        _ => return None,
    })
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).ok_or(ModelError::Corrupt("size"))?;
        let s = self
            .b
            .get(self.at..end)
            .ok_or(ModelError::Corrupt("truncated"))?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u16(&mut self) -> Result<u16, ModelError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    /// A table stored as its length, then its items; the length must be `len`, else
    /// the model is corrupt in the way `what` names.
    fn table<T>(
        &mut self,
        len: usize,
        what: &'static str,
        item: fn(&mut Self) -> Result<T, ModelError>,
    ) -> Result<Box<[T]>, ModelError> {
        if self.u32()? as usize != len {
            return Err(ModelError::Corrupt(what));
        }
        (0..len).map(|_| item(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn model_is_send_sync() {
        assert_send_sync::<Model>();
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(matches!(
            Model::from_bytes(b"nope"),
            Err(ModelError::Corrupt(_))
        ));
        assert!(matches!(
            Model::from_bytes(b"XXXXXXXXabcdefgh"),
            Err(ModelError::BadMagic)
        ));
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&9u32.to_le_bytes());
        assert!(matches!(Model::from_bytes(&v), Err(ModelError::Version(9))));
    }
}
