//! Feature extraction: hashed character n-grams plus binned hand-made features.
//!
//! Every feature is an indicator hashed into one weight table; binning the dense features
//! (length, entropy, trigram likelihood...) lets a linear model learn non-linear shapes.
//! Features are handed to a [`Sink`], so scoring sums weights on the fly and training
//! collects indices, with no intermediate vector on the scoring path.

use crate::lexicon::{self, LexHits};
use crate::markov;
use crate::normalize::{Parsed, SuffixKind};
use crate::prior;
use crate::punycode;
use crate::shape;
use crate::words::{self, Seg};

/// Namespace of registered-label n-grams (normalised by count^-0.35, see [`ngram_norm`]).
pub(crate) const NS_LABEL: usize = 0;
/// Namespace of subdomain n-grams (normalised by count^-0.35, see [`ngram_norm`]).
pub(crate) const NS_SUB: usize = 1;
/// Namespace of binned dense features (value 1).
pub(crate) const NS_DENSE: usize = 2;
/// Number of namespaces.
pub(crate) const N_NS: usize = 3;

/// Feature groups; each is also one line of explanation.
#[allow(missing_docs)]
pub(crate) mod tag {
    pub const NGRAM_LABEL: u8 = 0;
    pub const NGRAM_SUB: u8 = 1;
    pub const LEN_LABEL: u8 = 2;
    pub const LEN_NAME: u8 = 3;
    pub const NSUB: u8 = 4;
    pub const ENTROPY: u8 = 5;
    pub const DIGITS: u8 = 6;
    pub const VOWELS: u8 = 7;
    pub const CONS_RUN: u8 = 8;
    pub const DIGIT_RUN: u8 = 9;
    pub const HYPH_LABEL: u8 = 10;
    pub const HYPH_SUB: u8 = 11;
    pub const MARKOV_LABEL: u8 = 12;
    pub const MARKOV_SUB: u8 = 13;
    pub const SEG_COVER: u8 = 14;
    pub const SEG_WORDS: u8 = 15;
    pub const SUFFIX: u8 = 16;
    pub const TLD: u8 = 17;
    pub const SUFFIX_KIND: u8 = 18;
    pub const BRAND_SUB: u8 = 19;
    pub const BRAND_LABEL: u8 = 20;
    pub const BRAND_TYPO: u8 = 21;
    pub const BRAND_GLYPH: u8 = 22;
    pub const BRAND_OWNED: u8 = 23;
    pub const KW_SUB: u8 = 24;
    pub const KW_LABEL: u8 = 25;
    pub const KW_ID: u8 = 26;
    pub const PUNY: u8 = 27;
    pub const MIXED: u8 = 28;
    pub const SHAPE: u8 = 29;
    pub const SUB_LONGEST: u8 = 30;
    pub const PRIV_MARKOV: u8 = 31;
    pub const SWITCHES: u8 = 32;
    pub const REPEAT: u8 = 33;
    pub const IDN_BRAND: u8 = 34;
    pub const TLD_PRIOR: u8 = 35;
    pub const SUFFIX_PRIOR: u8 = 36;
    pub const PRIOR_SHAPE: u8 = 37;
    pub const SEG_CROSS: u8 = 38;
    pub const SEG_SHAPE: u8 = 39;
    pub const SUFFIX_UNSEEN: u8 = 40;
    pub const SUFFIX_PHISH: u8 = 41;
    pub const N: usize = 42;
}

/// Namespace of a tag.
pub(crate) fn ns_of(t: u8) -> usize {
    match t {
        tag::NGRAM_LABEL => NS_LABEL,
        tag::NGRAM_SUB => NS_SUB,
        _ => NS_DENSE,
    }
}

/// Multiplier of the n-gram and suffix hashes: odd, with well-spread bits, so the top bits
/// of a product depend on every bit of what was multiplied (multiply-shift hashing).
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// One n-gram hash step: fold a byte in and multiply, so the top `bits` bits of the result
/// are the table slot as they stand (one multiply an n-gram, no separate finalizer).
#[inline(always)]
fn gram_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(MIX)
}

/// log2 of the dense region: binned features at fixed offsets in its first half
/// ([`DIRECT_LEN`]), suffix and TLD identities hashed into its second half.
pub(crate) const DENSE_BITS: u32 = 14;
/// Number of weight slots of the dense region, after the `2^bits` n-gram slots: no rare
/// n-gram lands on a weight every `.com` name uses.
pub(crate) const DENSE_LEN: usize = 1 << DENSE_BITS;
/// Slots of the binned features: each (tag, bin) has its own, so they never collide.
const DIRECT_LEN: usize = DENSE_LEN / 2;
/// log2 of the slots of the suffix and TLD identities.
const IDENT_BITS: u32 = DENSE_BITS - 1;

/// Length of a weight table with `2^bits` n-gram slots.
pub(crate) fn table_len(bits: u32) -> usize {
    (1usize << bits) + DENSE_LEN
}

/// Number of bins of each binned feature (its largest bin + 1); 0 for the n-gram and
/// identity tags. [`dense`] checks bins against it in debug builds.
const SPAN: [u16; tag::N] = {
    let brands = crate::lexicon::BRANDS.len() as u16 + 1;
    let mut s = [0u16; tag::N];
    s[tag::LEN_LABEL as usize] = 41;
    s[tag::LEN_NAME as usize] = 41;
    s[tag::NSUB as usize] = 9;
    s[tag::ENTROPY as usize] = 24 * 8 + 6;
    s[tag::DIGITS as usize] = 11;
    s[tag::VOWELS as usize] = 10 * 8 + 6;
    s[tag::CONS_RUN as usize] = 11;
    s[tag::DIGIT_RUN as usize] = 11;
    s[tag::HYPH_LABEL as usize] = 6;
    s[tag::HYPH_SUB as usize] = 7;
    s[tag::MARKOV_LABEL as usize] = 20 * 8 + 6;
    s[tag::MARKOV_SUB as usize] = 20 * 8 + 6;
    s[tag::SEG_COVER as usize] = 10 * 8 + 6;
    s[tag::SEG_WORDS as usize] = 8 * 8 + 6;
    s[tag::SUFFIX_KIND as usize] = 3 * 16 + 9;
    s[tag::BRAND_SUB as usize] = brands;
    s[tag::BRAND_LABEL as usize] = brands;
    s[tag::BRAND_TYPO as usize] = brands;
    s[tag::BRAND_GLYPH as usize] = brands;
    s[tag::BRAND_OWNED as usize] = 1;
    s[tag::KW_SUB as usize] = 5;
    s[tag::KW_LABEL as usize] = 5;
    s[tag::KW_ID as usize] = crate::lexicon::KEYWORDS.len() as u16;
    s[tag::PUNY as usize] = 1;
    s[tag::MIXED as usize] = 1;
    s[tag::SHAPE as usize] = 16;
    s[tag::SUB_LONGEST as usize] = 31;
    s[tag::PRIV_MARKOV as usize] = 3 * 32 + 21;
    s[tag::SWITCHES as usize] = 11;
    s[tag::REPEAT as usize] = 6;
    s[tag::IDN_BRAND as usize] = brands;
    s[tag::TLD_PRIOR as usize] = 16 * 8 + 6;
    s[tag::SUFFIX_PRIOR as usize] = 16 * 4 + 4;
    s[tag::PRIOR_SHAPE as usize] = 16 * 64 + 64;
    s[tag::SEG_CROSS as usize] = 4 * 64 + 7 * 8 + 6;
    s[tag::SEG_SHAPE as usize] = 9 * 4 + 4;
    s[tag::SUFFIX_UNSEEN as usize] = 16;
    s[tag::SUFFIX_PHISH as usize] = (16 * 17 + 16) * 4 + 4;
    s
};

/// Offset of each binned feature's first slot in the direct region.
const OFF: [u16; tag::N] = {
    let mut o = [0u16; tag::N];
    let mut acc = 0u16;
    let mut i = 0;
    while i < tag::N {
        o[i] = acc;
        acc += SPAN[i];
        i += 1;
    }
    assert!(
        acc as usize <= DIRECT_LEN,
        "binned features overflow the direct region"
    );
    o
};

/// Slot of bin `bin` of binned feature `t`, for a table with `2^bits` n-gram slots. The
/// mask keeps an out-of-span bin (a bug, caught by the debug assertion) inside the region.
#[inline(always)]
fn dense_slot(bits: u32, t: u8, bin: u32) -> usize {
    debug_assert!(bin < u32::from(SPAN[usize::from(t)]), "tag {t} bin {bin}");
    (1usize << bits) + ((usize::from(OFF[usize::from(t)]) + bin as usize) & (DIRECT_LEN - 1))
}

/// Slot of a suffix or TLD identity: `key` is [`prior::key`] of the string.
#[inline(always)]
fn ident_slot(bits: u32, t: u8, key: u64) -> usize {
    let h = (key ^ u64::from(t).wrapping_mul(0x0101_0101_0101_0101)).wrapping_mul(MIX);
    (1usize << bits) + DIRECT_LEN + (h >> (64 - IDENT_BITS)) as usize
}

/// Labels whose benign-trigram likelihood per char is at or below this are not segmented
/// (ROC AUC unchanged to three decimals on both tasks; segmentation was 18% of scoring).
const SEG_MIN_MARKOV: f32 = -3.0;

/// Longest subdomain suffix (in bytes, nearest the registered domain) that gets n-grams:
/// very long phishing subdomains say what they have to say early, and this bounds the cost.
const MAX_SUB_NGRAM: usize = 80;

/// Longest character n-gram.
const MAX_N: usize = 5;

/// Receives features.
pub(crate) trait Sink {
    /// One indicator feature: namespace, group tag and weight slot. Slots are below
    /// [`table_len`] of the [`Tables::bits`] the extractor was given.
    fn put(&mut self, ns: usize, tag: u8, slot: usize);
}

/// Model tables the extractor needs besides the weights.
#[derive(Clone, Copy)]
pub(crate) struct Tables<'a> {
    /// log2 of the n-gram slots of the weight table.
    pub bits: u32,
    pub markov: &'a [f32],
    pub words: &'a [u64],
    /// Suffix/TLD counts ([`prior`]).
    pub prior: &'a [u16],
    /// Training on names the counts came from, of this class: count each name's own suffix
    /// out (leave-one-out), so training sees the counts a new name would get.
    pub loo: Option<prior::Class>,
}

/// Measured values, kept for explanations and for the namespace normalisation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    pub counts: [u16; 2],
    pub label_len: u8,
    pub markov_label: f32,
    pub markov_sub: Option<f32>,
    /// Where the most random-looking subdomain label (of 4+ chars) is: byte offset in
    /// [`Parsed::subdomain`] and length.
    pub sub_worst: Option<(u8, u8)>,
    pub entropy: f32,
    pub digits: u8,
    pub cons_run: u8,
    pub hyph_label: u8,
    pub hyph_sub: u8,
    pub nsub: u8,
    pub seg: Seg,
    pub lex: LexHits,
    pub puny: bool,
    pub mixed: bool,
    pub idn_brand: Option<u16>,
    pub tld_count: u16,
    pub suffix_benign: u16,
    pub suffix_phish: u16,
    pub suffix_seen: bool,
}

#[inline(always)]
fn dense<S: Sink>(s: &mut S, bits: u32, t: u8, bin: u32) {
    s.put(NS_DENSE, t, dense_slot(bits, t, bin));
}

/// Length bucket used to cross likelihood features with length (short labels are noisy).
#[inline(always)]
fn len_bucket(n: usize) -> u32 {
    match n {
        0..=5 => 0,
        6..=8 => 1,
        9..=12 => 2,
        13..=16 => 3,
        17..=24 => 4,
        _ => 5,
    }
}

/// Longest text [`ngrams`] looks at: a label is at most 63 bytes and the subdomain part is
/// cut to [`MAX_SUB_NGRAM`], so this never shortens a text (it bounds the stack buffer).
const MAX_NGRAM_TEXT: usize = 92;

/// Character n-grams (2..=5, with `^`/`$` boundaries) of `text`; returns how many.
/// Single characters are left to the shape features.
#[inline]
fn ngrams<S: Sink, const NS: usize>(text: &[u8], bits: u32, t: u8, ctx: u8, s: &mut S) -> u16 {
    let mut buf = [0u8; MAX_NGRAM_TEXT + 4];
    let n = text.len().min(MAX_NGRAM_TEXT);
    buf[0] = b'^';
    buf[1..=n].copy_from_slice(&text[..n]);
    buf[n + 1] = b'$';
    let m = n + 2;
    let seed = gram_step(gram_step(0, t), ctx);
    let slot = |h: u64| (h >> (64 - bits)) as usize;
    // From each start, the 2..=MAX_N-grams that fit: one running hash per start. Starts
    // with all four lengths in the text go without per-length bounds.
    let full = m.saturating_sub(MAX_N - 1);
    for w in buf[..m].windows(MAX_N).take(full) {
        let mut h = gram_step(seed, w[0]);
        h = gram_step(h, w[1]);
        s.put(NS, t, slot(h));
        h = gram_step(h, w[2]);
        s.put(NS, t, slot(h));
        h = gram_step(h, w[3]);
        s.put(NS, t, slot(h));
        h = gram_step(h, w[4]);
        s.put(NS, t, slot(h));
    }
    for i in full..m - 1 {
        let mut h = gram_step(seed, buf[i]);
        for &b in &buf[i + 1..m] {
            h = gram_step(h, b);
            s.put(NS, t, slot(h));
        }
    }
    // Every start i < m - 1 gives min(MAX_N, m - i) - 1 n-grams.
    (full * (MAX_N - 1) + (m - 1 - full) * (m - full) / 2) as u16
}

/// Exponent of the n-gram namespaces' normalisation: a label's n-gram weights are summed
/// and divided by count^0.35, between a plain sum (long labels dominate) and a mean
/// (1/count: a long label counts as much as a short one); 0.35 did best on held-out data
/// (0.5, the usual 1/sqrt, was 0.001-0.002 ROC AUC lower on both tasks).
const NGRAM_NORM_POW: f32 = 0.35;

/// count^-[`NGRAM_NORM_POW`], from a table for the counts a name can give.
#[inline]
pub(crate) fn ngram_norm(count: u16) -> f32 {
    static T: std::sync::OnceLock<Box<[f32]>> = std::sync::OnceLock::new();
    let t = T.get_or_init(|| {
        (0..512u32)
            .map(|c| {
                if c == 0 {
                    0.0
                } else {
                    (c as f32).powf(-NGRAM_NORM_POW)
                }
            })
            .collect()
    });
    match t.get(usize::from(count)) {
        Some(&v) => v,
        None => f32::from(count).powf(-NGRAM_NORM_POW),
    }
}

/// Whether `name` contains `xn--` (a byte loop: cheaper than a substring searcher).
#[inline]
fn has_xn(name: &[u8]) -> bool {
    name.windows(4)
        .any(|w| w[0] == b'x' && w[1] == b'n' && w[2] == b'-' && w[3] == b'-')
}

/// Build lazily initialised tables now.
pub(crate) fn warm_up() {
    let _ = shape::clog2();
    let _ = ngram_norm(1);
    words::warm_up();
}

/// Look at `xn--` labels: punycode, mixed scripts, brands spelled with look-alikes.
fn idn(name: &str, f: &mut Facts) {
    for lab in name.split('.') {
        let Some(rest) = lab.strip_prefix("xn--") else {
            continue;
        };
        f.puny = true;
        let mut cps = ['\0'; punycode::MAX_CPS];
        let Some(n) = punycode::decode(rest.as_bytes(), &mut cps) else {
            continue;
        };
        let (mut latin, mut cyr, mut greek) = (false, false, false);
        let mut folded = [0u8; punycode::MAX_CPS];
        let mut all_fold = true;
        for (i, &c) in cps[..n].iter().enumerate() {
            match c as u32 {
                0x61..=0x7a | 0xc0..=0x24f => latin = true,
                0x370..=0x3ff => greek = true,
                0x400..=0x52f => cyr = true,
                _ => {}
            }
            folded[i] = if c.is_ascii() {
                c as u8
            } else if let Some(a) = lexicon::confusable(c) {
                a as u8
            } else {
                all_fold = false;
                b'?'
            };
        }
        f.mixed |= u8::from(latin) + u8::from(cyr) + u8::from(greek) > 1;
        if all_fold && f.idn_brand.is_none() {
            f.idn_brand = lexicon::brand_in(&folded[..n]);
        }
    }
}

/// Extract all features of a parsed (scorable) name into `s`.
pub(crate) fn extract<S: Sink>(p: &Parsed<'_>, t: &Tables<'_>, s: &mut S) -> Facts {
    let mut f = Facts::default();
    let bits = t.bits;
    let label = p.label.as_bytes();
    let sub = p.subdomain.as_bytes();
    f.label_len = label.len().min(255) as u8;

    // Character n-grams, registered label and subdomain kept apart.
    // The same letters mean different things in a bought domain, in a user's site name on
    // a platform and next to a subdomain: label n-grams get one weight set per context.
    let ctx = match (p.suffix_kind, sub.is_empty()) {
        (SuffixKind::Private, _) => 2,
        (_, true) => 0,
        (_, false) => 1,
    };
    f.counts[0] = ngrams::<S, NS_LABEL>(label, bits, tag::NGRAM_LABEL, ctx, s);
    if !sub.is_empty() {
        let from = sub.len().saturating_sub(MAX_SUB_NGRAM);
        f.counts[1] = ngrams::<S, NS_SUB>(&sub[from..], bits, tag::NGRAM_SUB, 0, s);
    }

    // Shape of the registered label.
    let (sh, m) = shape::label(label, t.markov);
    let lb = len_bucket(label.len());
    dense(s, bits, tag::LEN_LABEL, label.len().min(40) as u32);
    let host_len = sub.len() + p.registered.len();
    dense(s, bits, tag::LEN_NAME, (host_len / 4).min(40) as u32);
    f.entropy = sh.entropy;
    dense(
        s,
        bits,
        tag::ENTROPY,
        ((sh.entropy * 4.0) as u32).min(24) * 8 + lb,
    );
    f.digits = sh.digits;
    let ratio = |a: u8, b: usize| (usize::from(a) * 10).checked_div(b).unwrap_or(0) as u32;
    dense(s, bits, tag::DIGITS, ratio(sh.digits, label.len()));
    dense(
        s,
        bits,
        tag::VOWELS,
        ratio(sh.vowels, usize::from(sh.letters)) * 8 + lb,
    );
    f.cons_run = sh.cons_run;
    dense(s, bits, tag::CONS_RUN, u32::from(sh.cons_run.min(10)));
    dense(s, bits, tag::DIGIT_RUN, u32::from(sh.digit_run.min(10)));
    f.hyph_label = sh.hyphens;
    dense(s, bits, tag::HYPH_LABEL, u32::from(sh.hyphens.min(5)));
    dense(s, bits, tag::SWITCHES, u32::from(sh.switches.min(10)));
    dense(s, bits, tag::REPEAT, u32::from(sh.repeat.min(5)));
    // A `_` anywhere in the name: the host labels stripped off it never hold one.
    let shape_bits = u32::from(label.first().is_some_and(u8::is_ascii_digit))
        | u32::from(sh.letters == 0) << 1
        | u32::from(sh.hex) << 2
        | u32::from(p.subdomain.contains('_') || p.registered.contains('_')) << 3;
    dense(s, bits, tag::SHAPE, shape_bits);

    // Likelihood under the benign trigram model, crossed with length.
    f.markov_label = m;
    let mbin = ((-m * 2.0) as u32).min(20);
    dense(s, bits, tag::MARKOV_LABEL, mbin * 8 + lb);

    // Dictionary-word coverage (dictionary DGAs), crossed with length.
    // Only labels long enough to hold several words are worth segmenting, and not those
    // the trigram model already finds random (a third of DGA names): words are not what
    // gives those away, and segmenting them is the costliest step of scoring.
    let seg = if sh.letters >= 10 && m > SEG_MIN_MARKOV {
        words::segment(t.words, label)
    } else {
        Seg::default()
    };
    f.seg = seg;
    let cover = if sh.letters == 0 {
        0
    } else {
        u32::from(seg.covered) * 10 / u32::from(sh.letters)
    };
    dense(s, bits, tag::SEG_COVER, cover * 8 + lb);
    dense(
        s,
        bits,
        tag::SEG_WORDS,
        u32::from(seg.words.min(8)) * 8 + lb,
    );
    // Coverage, word count and length together: benign compounds are two or three words,
    // generated phrases four to eight.
    dense(
        s,
        bits,
        tag::SEG_CROSS,
        (cover / 2).min(4) * 64 + u32::from(seg.words.min(7)) * 8 + lb,
    );
    if seg.words >= 2 {
        // Mean word length and share of two-letter words ("of", "to", "the" glue).
        let mean = (u32::from(seg.covered) / u32::from(seg.words)).min(9);
        let short = (u32::from(seg.short) * 4 / u32::from(seg.words)).min(3);
        dense(s, bits, tag::SEG_SHAPE, mean * 4 + short);
    }

    // Subdomain shape.
    let nsub = p.subdomain_labels();
    f.nsub = nsub.min(255) as u8;
    let mut longest = 0usize;
    let mut worst: Option<(f32, usize)> = None;
    let mut hyph_sub = 0u8;
    if !sub.is_empty() {
        let mut at = 0usize;
        for l in p.subdomain.split('.') {
            longest = longest.max(l.len());
            hyph_sub = hyph_sub.saturating_add(l.bytes().filter(|&b| b == b'-').count() as u8);
            if l.len() >= 4 {
                let lm = markov::per_char(t.markov, l.as_bytes());
                if worst.map_or(true, |(w, _)| lm < w) {
                    worst = Some((lm, l.len()));
                    f.sub_worst = Some((at.min(255) as u8, l.len().min(255) as u8));
                }
            }
            at += l.len() + 1;
        }
    }
    f.hyph_sub = hyph_sub;
    dense(s, bits, tag::NSUB, nsub.min(8) as u32);
    dense(s, bits, tag::SUB_LONGEST, (longest / 2).min(30) as u32);
    dense(s, bits, tag::HYPH_SUB, u32::from(hyph_sub.min(6)));
    if let Some((wm, wl)) = worst {
        f.markov_sub = Some(wm);
        dense(
            s,
            bits,
            tag::MARKOV_SUB,
            ((-wm * 2.0) as u32).min(20) * 8 + len_bucket(wl),
        );
    }

    // Suffix and TLD priors; hosting platforms are PRIVATE-section suffixes. A suffix or
    // TLD that no training name used gets no identity weight: its hash bucket would only
    // hold some other suffix's weight.
    let sfx = p.suffix.as_bytes();
    let tld = prior::tld_of(sfx);
    let kind = match p.suffix_kind {
        SuffixKind::Icann => 0,
        SuffixKind::Private => 1,
        SuffixKind::Unknown => 2,
        SuffixKind::None => 3,
    };
    let own = |c: prior::Class| u16::from(t.loo == Some(c));
    let any = u16::from(t.loo.is_some());
    // One hash per string serves all its counts and its identity slot.
    let (sk, tk) = (prior::key(sfx), prior::key(tld));
    let count = |tag: u8, key: u64, out: u16| prior::count(t.prior, tag, key).saturating_sub(out);
    let sfx_seen = count(prior::TAG_SUFFIX_ALL, sk, any) > 0;
    let tld_seen = count(prior::TAG_TLD_ALL, tk, any) > 0;
    if sfx_seen {
        s.put(NS_DENSE, tag::SUFFIX, ident_slot(bits, tag::SUFFIX, sk));
    }
    if tld_seen {
        s.put(NS_DENSE, tag::TLD, ident_slot(bits, tag::TLD, tk));
    }
    dense(
        s,
        bits,
        tag::SUFFIX_UNSEEN,
        u32::from(sfx_seen) * 8 + u32::from(tld_seen) * 4 + kind,
    );
    dense(s, bits, tag::SUFFIX_KIND, kind * 16 + nsub.min(8) as u32);
    dense(s, bits, tag::PRIV_MARKOV, kind * 32 + mbin);

    // How common the TLD and suffix are among benign names, alone and with the label's
    // shape: this carries over to TLDs that no training family used. And how common the
    // suffix is among phishing names, against the benign count.
    let tld_c = count(prior::TAG_TLD, tk, own(prior::Class::Benign));
    let sfx_c = count(prior::TAG_SUFFIX, sk, own(prior::Class::Benign));
    let phish_c = count(prior::TAG_SUFFIX_PHISH, sk, own(prior::Class::Phish));
    f.tld_count = tld_c;
    f.suffix_phish = phish_c;
    f.suffix_benign = sfx_c;
    f.suffix_seen = sfx_seen;
    let (tb, sb, pb) = (prior::bin(tld_c), prior::bin(sfx_c), prior::bin(phish_c));
    dense(s, bits, tag::TLD_PRIOR, tb * 8 + lb);
    dense(s, bits, tag::SUFFIX_PRIOR, sb * 4 + kind);
    dense(s, bits, tag::SUFFIX_PHISH, (pb * 17 + sb) * 4 + kind);
    dense(
        s,
        bits,
        tag::PRIOR_SHAPE,
        tb * 64 + (mbin / 3).min(7) * 8 + u32::from(sh.digits > 0) * 4 + nsub.min(3) as u32,
    );

    // Brands and keywords.
    let lex = lexicon::scan(p.label, p.subdomain);
    f.lex = lex;
    let brand = |s: &mut S, t: u8, id: Option<u16>| {
        if let Some(id) = id {
            dense(s, bits, t, 0);
            dense(s, bits, t, u32::from(id) + 1);
        }
    };
    brand(s, tag::BRAND_SUB, lex.brand_sub);
    brand(s, tag::BRAND_LABEL, lex.brand_label);
    brand(s, tag::BRAND_TYPO, lex.brand_typo);
    brand(s, tag::BRAND_GLYPH, lex.brand_glyph);
    if lex.owned {
        dense(s, bits, tag::BRAND_OWNED, 0);
    }
    dense(s, bits, tag::KW_SUB, u32::from(lex.kw_sub.min(4)));
    dense(s, bits, tag::KW_LABEL, u32::from(lex.kw_label.min(4)));
    if let Some(k) = lex.kw_first {
        dense(s, bits, tag::KW_ID, u32::from(k));
    }

    // Internationalised names.
    if has_xn(p.name.as_bytes()) {
        idn(p.name, &mut f);
        dense(s, bits, tag::PUNY, 0);
        if f.mixed {
            dense(s, bits, tag::MIXED, 0);
        }
        brand(s, tag::IDN_BRAND, f.idn_brand);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize, NameBuf};

    struct Slots(Vec<(u8, usize)>);

    impl Sink for Slots {
        fn put(&mut self, _ns: usize, t: u8, slot: usize) {
            self.0.push((t, slot));
        }
    }

    /// Names at the edges of every bin: the debug assertion in `dense_slot` checks each bin
    /// against its span, and every slot must fall inside the table.
    #[test]
    fn bins_stay_in_their_spans() {
        let m = crate::Model::builtin().unwrap();
        let long_sub = ["a-b-c-d-e-f-g-h"; 12].join(".");
        let names = [
            "a".repeat(63) + ".com",
            "0123456789".repeat(6) + ".xyz",
            "bcdfghjklmnpqrstvwxz".repeat(3) + ".ru",
            "a-b-c-d-e-f-g-h-i-j-k-l.co.uk".to_string(),
            format!("{long_sub}.paypal-login-secure-verify.github.io"),
            "xn--pypal-4ve.com".to_string(),
            "xn--80ak6aa92e.xn--p1ai".to_string(),
            "stomachconnectadjustestimatethetruthsof.net".to_string(),
            "x.y".to_string(),
            "q.unknowntld".to_string(),
            "a_b.c_d.example.org".to_string(),
            "ab1cd2ef3gh4ij5kl6mn7op8qr9st0uv.duckdns.org".to_string(),
        ];
        for n in &names {
            let mut buf = NameBuf::new();
            let p = normalize(n, &mut buf).unwrap();
            let mut s = Slots(Vec::new());
            extract(&p, &m.tables(), &mut s);
            let len = table_len(m.tables().bits);
            assert!(s.0.iter().all(|&(_, i)| i < len), "{n}");
        }
        // The offsets tile the direct region without overlap.
        for t in 1..tag::N {
            assert!(OFF[t] >= OFF[t - 1] + SPAN[t - 1] || SPAN[t - 1] == 0);
        }
    }
}
