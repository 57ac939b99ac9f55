//! DGA families for evaluation: one name per family across sources, the mixed feeds that
//! are no family, and which families are random-label, dictionary or pronounceable.
//!
//! Why: leave-one-family-out must hold a family out whole, so the same family listed by
//! two sources (or under two spellings) has to be one; and the targets single out
//! random-label families, so the report needs a rule that says which those are.

use crate::normalize::{normalize, NameBuf};
use crate::train::Labelled;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

/// Family names (the tag after the colon) that are another name of a family:
/// `(alias, family)`. `new_goz` is how one source spells `newgoz`; the `zeus` list of the
/// same source is newGOZ too (25-28 base-36 characters with about 10% `1`s under
/// .com/.net/.org/.biz, the same length, character and TLD distributions as `newgoz`).
pub const ALIASES: &[(&str, &str)] = &[("new_goz", "newgoz"), ("zeus", "newgoz")];

/// Tags that are a mix of many families rather than one (`netlab360_mixed`,
/// `others_dga`): never held out as a family; kept in training unless asked otherwise.
pub const MIXED: &[&str] = &["netlab360_mixed", "others_dga"];

/// The family of a tag's family part, after [`ALIASES`].
pub fn canonical(family: &str) -> &str {
    ALIASES
        .iter()
        .find(|(a, _)| *a == family)
        .map_or(family, |(_, f)| f)
}

/// Whether a (canonical) family name is one of the [`MIXED`] feeds.
pub fn is_mixed(family: &str) -> bool {
    MIXED.contains(&family)
}

/// How a family builds its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyKind {
    /// Random characters (letters, digits, hex, base-36...).
    RandomLabel,
    /// Pronounceable made-up words (consonant-vowel patterns).
    Pronounceable,
    /// Dictionary words glued together.
    Dictionary,
}

impl FamilyKind {
    /// Short name for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            FamilyKind::RandomLabel => "random",
            FamilyKind::Pronounceable => "pronounceable",
            FamilyKind::Dictionary => "dictionary",
        }
    }
}

/// Mean dictionary coverage at or above which a family is [`FamilyKind::Dictionary`].
pub const DICTIONARY_COVERAGE: f64 = 0.3;
/// Mean vowel/consonant alternation at or above which a family that is not dictionary
/// is [`FamilyKind::Pronounceable`].
pub const PRONOUNCEABLE_ALTERNATION: f64 = 0.5;
/// Names of a family that [`classify`] looks at (the first ones, in list order).
const SAMPLE: usize = 2000;
/// Shortest dictionary word that counts for coverage (shorter ones match random
/// letters too often).
const MIN_WORD: usize = 4;

fn dictionary() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        crate::words::BUILTIN
            .lines()
            .map(str::trim)
            .filter(|w| w.len() >= MIN_WORD)
            .collect()
    })
}

/// Share of `label`'s characters covered by dictionary words (`data/words.txt`, 4 letters
/// or more), with the words chosen to cover the most.
pub fn dictionary_coverage(label: &str) -> f64 {
    let (b, words) = (label.as_bytes(), dictionary());
    if b.is_empty() {
        return 0.0;
    }
    let mut best = vec![0usize; b.len() + 1];
    for i in 1..=b.len() {
        best[i] = best[i - 1];
        for j in i.saturating_sub(15)..=i.saturating_sub(MIN_WORD) {
            if i - j >= MIN_WORD {
                if let Ok(w) = std::str::from_utf8(&b[j..i]) {
                    if words.contains(w) {
                        best[i] = best[i].max(best[j] + i - j);
                    }
                }
            }
        }
    }
    best[b.len()] as f64 / b.len() as f64
}

/// Share of adjacent letter pairs of `label` where a vowel meets a consonant (pairs with a
/// digit or hyphen are skipped). Random letters: about 0.3; pronounceable labels: 0.6-0.8.
pub fn alternation(label: &str) -> Option<f64> {
    let vowel = |c: u8| b"aeiou".contains(&c);
    let (mut pairs, mut alt) = (0usize, 0usize);
    for w in label.as_bytes().windows(2) {
        if w[0].is_ascii_alphabetic() && w[1].is_ascii_alphabetic() {
            pairs += 1;
            alt += usize::from(vowel(w[0]) != vowel(w[1]));
        }
    }
    (pairs > 0).then(|| alt as f64 / pairs as f64)
}

/// Classify a family from its registered labels: [`FamilyKind::Dictionary`] when
/// dictionary words cover on average at least [`DICTIONARY_COVERAGE`] of a label, else
/// [`FamilyKind::Pronounceable`] when vowels and consonants alternate in at least
/// [`PRONOUNCEABLE_ALTERNATION`] of letter pairs on average, else
/// [`FamilyKind::RandomLabel`]. Returns the kind, mean coverage and mean alternation.
pub fn classify<'a>(labels: impl IntoIterator<Item = &'a str>) -> (FamilyKind, f64, f64) {
    let (mut n, mut cov, mut na, mut alt) = (0usize, 0f64, 0usize, 0f64);
    for l in labels.into_iter().take(SAMPLE) {
        n += 1;
        cov += dictionary_coverage(l);
        if let Some(a) = alternation(l) {
            na += 1;
            alt += a;
        }
    }
    let cov = if n > 0 { cov / n as f64 } else { 0.0 };
    let alt = if na > 0 { alt / na as f64 } else { 0.0 };
    let kind = if cov >= DICTIONARY_COVERAGE {
        FamilyKind::Dictionary
    } else if alt >= PRONOUNCEABLE_ALTERNATION {
        FamilyKind::Pronounceable
    } else {
        FamilyKind::RandomLabel
    };
    (kind, cov, alt)
}

/// One DGA family of a list, its sources merged.
#[derive(Debug, Clone, Serialize)]
pub struct Family {
    /// Canonical family name.
    pub name: String,
    /// The tags merged into it (`source:family`), sorted.
    pub tags: Vec<String>,
    /// Names listed.
    pub names: usize,
    /// Whether this is a [`MIXED`] feed rather than a family.
    pub mixed: bool,
    /// Random-label, pronounceable or dictionary.
    pub kind: FamilyKind,
    /// Mean dictionary coverage of its registered labels.
    pub coverage: f64,
    /// Mean vowel/consonant alternation of its registered labels.
    pub alternation: f64,
}

/// The families of a DGA list, by canonical name (sorted), classified.
pub fn group(dga: &[Labelled]) -> Vec<Family> {
    let mut by: BTreeMap<&str, (Vec<&str>, Vec<String>, usize)> = BTreeMap::new();
    let mut buf = NameBuf::new();
    for l in dga {
        let e = by.entry(canonical(l.family())).or_default();
        e.2 += 1;
        if !e.0.contains(&l.tag.as_str()) {
            e.0.push(&l.tag);
        }
        if e.1.len() < SAMPLE {
            if let Ok(p) = normalize(&l.name, &mut buf) {
                e.1.push(p.label.to_string());
            }
        }
    }
    by.into_iter()
        .map(|(name, (mut tags, labels, names))| {
            tags.sort_unstable();
            let (kind, coverage, alternation) = classify(labels.iter().map(String::as_str));
            Family {
                name: name.to_string(),
                names,
                tags: tags.into_iter().map(str::to_string).collect(),
                mixed: is_mixed(name),
                kind,
                coverage,
                alternation,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(name: &str, tag: &str) -> Labelled {
        Labelled {
            name: name.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn aliases_and_sources_merge() {
        let list = vec![
            l("1abc2def3ghi4jkl5mno6pqr.com", "a:new_goz"),
            l("1zyx2wvu3tsr4qpo5nml6kji.net", "b:newgoz"),
            l("1qwe2rty3uio4pas5dfg6hjk.org", "a:zeus"),
            l("xkqzjvwpt.ru", "a:tinba"),
            l("qzxvbnmkj.com", "b:tinba"),
            l("whatever.com", "p:netlab360_mixed"),
        ];
        let f = group(&list);
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["netlab360_mixed", "newgoz", "tinba"]);
        assert_eq!(f[1].names, 3);
        assert_eq!(f[1].tags, ["a:new_goz", "a:zeus", "b:newgoz"]);
        assert_eq!(f[2].tags, ["a:tinba", "b:tinba"]);
        assert!(f[0].mixed && !f[1].mixed);
        assert_eq!(canonical("zeus"), "newgoz");
        assert_eq!(canonical("conficker"), "conficker");
    }

    #[test]
    fn kinds_by_rule() {
        let (k, cov, _) = classify(["mousefollowfeelinterview", "bottleleadattractissue"]);
        assert_eq!(k, FamilyKind::Dictionary, "{cov}");
        let (k, _, alt) = classify(["purycaq", "ganyrys", "vowycut", "bumugadaf"]);
        assert_eq!(k, FamilyKind::Pronounceable, "{alt}");
        let (k, ..) = classify(["xhmllte", "tzscvg", "kowrlmzqm", "0ed0bfe1daac3"]);
        assert_eq!(k, FamilyKind::RandomLabel);
        assert_eq!(alternation("12-3"), None);
        assert_eq!(dictionary_coverage(""), 0.0);
    }
}
