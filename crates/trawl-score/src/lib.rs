//! # trawl-score
//!
//! Scores DNS names for **phishing** and **DGA** (domain generation algorithm) likelihood,
//! each in [0, 1], with reasons in words, in about 5,600 instructions a name on one core
//! (see the crate README for names per second).
//!
//! ```no_run
//! let model = trawl_score::Model::builtin()?;
//! if let trawl_score::Verdict::Scored(s) = model.score("paypal.com.secure-login.example.xyz")? {
//!     println!("phish {:.2} dga {:.2}", s.phish, s.dga);
//! }
//! let why = model.explain("paypal.com.secure-login.example.xyz")?;
//! println!("{:?}", why.reasons);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How it works:
//! - [`normalize()`] lower-cases, converts IDN to punycode, checks the name, recognises IP
//!   literals and reverse-DNS names (not scored), splits the registered domain off with the
//!   Public Suffix List (both ICANN and PRIVATE sections, so hosting platforms such as
//!   `000webhostapp.com` or `github.io` are suffixes), and strips common host labels (`www`).
//! - Features: character 2-5-grams of the registered label and of the subdomain (hashed,
//!   kept apart), a benign character-trigram likelihood, dictionary-word segmentation, entropy,
//!   length, digit/vowel/consonant-run shapes, label counts, brands (in a subdomain, inside an
//!   unrelated label, one edit away, or spelled with look-alikes), phishing keywords,
//!   hyphens, suffix/TLD/platform priors and per-class suffix counts, punycode and mixed
//!   scripts.
//! - Names nobody registers (service records, single labels, non-public suffixes, reverse
//!   zones, a network's own zones: [`Site`]) are not scored; a name under an established
//!   registered domain (a table built into the model) is judged by that domain alone.
//! - Two logistic regressions over one hashed weight table, quantised to i8; the DGA logit
//!   is blended with a character n-gram TF-IDF regression on the registered domain
//!   (`grams`), which ranks families never trained on better.
//!   [`Model::score`] allocates nothing for ASCII names; [`Model::explain`] allocates and
//!   says why.
//! - [`train::train`] fits a model from labelled lists, deterministically;
//!   [`eval::evaluate`] measures one, [`eval::seeds`] over several split seeds and
//!   [`eval::lofo`] leaving each DGA family out; [`baseline`] is the reference TF-IDF model
//!   they compare against.

#![warn(missing_docs)]

pub mod baseline;
mod error;
pub mod eval;
mod features;
mod grams;
mod hash;
mod lexicon;
mod markov;
mod model;
mod normalize;
mod popular;
mod prior;
mod punycode;
mod shape;
mod site;
#[cfg(test)]
mod testdata;
pub mod train;
mod words;

pub use error::{ModelError, NameError, TrainError};
pub use hash::fingerprint;
pub use lexicon::{BRANDS, KEYWORDS};
pub use model::{Explanation, Model, Scores, Verdict, FORMAT_VERSION};
pub use normalize::{
    normalize, NameBuf, NameKind, Parsed, SuffixKind, EXTRA_PLATFORMS, HOST_LABELS, MAX_LABEL_LEN,
    MAX_NAME_LEN,
};
pub use site::Site;

/// Build lazily initialised tables (the brand automaton) now, so the first scored name does
/// not pay for it.
pub fn warm_up() {
    lexicon::warm_up();
    features::warm_up();
}
