//! Leave-one-family-out: every DGA family in turn is kept out of training and scored by
//! the model that never saw it, against benign names that model never saw either.
//!
//! Why: the held-back set that judges the model has whole families that are not in the
//! lists, so a fixed set of seven held-out families says little about the next one; the
//! figures that carry over are those of families the model has not seen, all of them.
//!
//! Setting, per fold: benign and phishing names are split once by registered domain
//! (`seed`, `test_fraction`); the model trains on the training part of both and on every
//! DGA name except the fold's families; it is measured on the fold's families against the
//! test part of the benign names. [`families::MIXED`] feeds are never held out and stay
//! in training (unless `drop_mixed`), so a family that also hides inside a mixed feed
//! can leak into its own fold: `drop_mixed` measures without that.
//!
//! Pooled figures: every held-out DGA name is scored by its fold's model and compared with
//! the benign test names scored by the same model. Pooled ROC AUC is the share of
//! (held-out DGA name, benign name) pairs ranked right, i.e. the per-family ROC AUC
//! weighted by family size; pooled TPR at x% FPR is the share of held-out DGA names above
//! their own model's x%-FPR threshold. The macro figures weigh every family the same.

use super::families::{self, Family, FamilyKind};
use super::{fixed, frac_above, roc_auc, signed, threshold_at_fpr};
use crate::baseline::{Baseline, BaselineConfig};
use crate::error::TrainError;
use crate::model::Verdict;
use crate::train::{self, Dataset, Labelled, TrainConfig};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct LofoConfig {
    /// Seed of the benign/phishing split.
    pub seed: u64,
    /// Share of registered domains of benign and phishing names kept out for testing.
    pub test_fraction: f64,
    /// `None`: one fold per family. `Some(k)`: families dealt into `k` folds (largest
    /// first, in snake order so folds get similar numbers of names), each fold held out
    /// once: `k` trainings instead of one per family.
    pub folds: Option<usize>,
    /// Only these families (canonical names) are held out and reported; `None`: all.
    /// Lets a long run be split over several processes.
    pub only: Option<Vec<String>>,
    /// Leave the [`families::MIXED`] feeds out of every training.
    pub drop_mixed: bool,
    /// Train and score the reference baseline on every fold too.
    pub baseline: Option<BaselineConfig>,
}

impl Default for LofoConfig {
    fn default() -> Self {
        LofoConfig {
            seed: 42,
            test_fraction: 0.2,
            folds: None,
            only: None,
            drop_mixed: false,
            baseline: None,
        }
    }
}

/// One scorer's figures for one held-out family.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FamilyScore {
    /// Recall at the threshold where 1% of the benign test names score above it.
    pub recall_at_1pct: f64,
    /// Recall at the 0.1%-FPR threshold.
    pub recall_at_01pct: f64,
    /// ROC AUC of the family against the benign test names.
    pub auc: f64,
}

/// One held-out family.
#[derive(Debug, Clone, Serialize)]
pub struct LofoFamily {
    /// Canonical family name.
    pub family: String,
    /// Random-label, pronounceable or dictionary.
    pub kind: FamilyKind,
    /// Source tags merged into it.
    pub tags: Vec<String>,
    /// Names scored (usable names of the family).
    pub names: usize,
    /// Fold index (the family's own when one fold per family).
    pub fold: usize,
    /// trawl's model.
    pub model: FamilyScore,
    /// The reference baseline.
    pub baseline: Option<FamilyScore>,
}

/// Pooled figures over all held-out families of one scorer.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pooled {
    /// Held-out DGA names scored.
    pub names: usize,
    /// Share of (held-out name, benign name) pairs ranked right.
    pub auc: f64,
    /// Share of held-out names above their model's 1%-FPR threshold.
    pub tpr_at_1pct: f64,
    /// Share above the 0.1%-FPR threshold.
    pub tpr_at_01pct: f64,
    /// Mean over families of the family ROC AUC.
    pub macro_auc: f64,
    /// Mean over families of the recall at 1% FPR.
    pub macro_recall_at_1pct: f64,
    /// Mean over families of the recall at 0.1% FPR.
    pub macro_recall_at_01pct: f64,
}

/// Everything a leave-one-family-out run gives.
#[derive(Debug, Clone, Serialize)]
pub struct LofoReport {
    /// What was run.
    pub config: LofoConfig,
    /// Aliases merged (`alias -> family`) as applied.
    pub aliases: Vec<(String, String)>,
    /// Mixed feeds found in the list (never held out).
    pub mixed: Vec<Family>,
    /// Training names shared by every fold: benign, phishing.
    pub train_names: [usize; 2],
    /// Benign test names (negatives of every fold).
    pub benign_test: usize,
    /// Folds trained.
    pub folds: usize,
    /// Per family, in the order of `sort` (worst model-minus-baseline recall first).
    pub families: Vec<LofoFamily>,
    /// trawl's model over all held-out families.
    pub model: Pooled,
    /// The baseline over all held-out families.
    pub baseline: Option<Pooled>,
    /// Wall-clock seconds for the whole run.
    pub seconds: f64,
}

/// Scores of one scorer on one fold: benign test names, then each held-out family's names.
struct FoldScores {
    benign: Vec<f32>,
    families: Vec<Vec<f32>>,
}

fn family_score(pos: &[f32], benign: &[f32], t1: f32, t01: f32) -> FamilyScore {
    FamilyScore {
        recall_at_1pct: frac_above(pos, t1),
        recall_at_01pct: frac_above(pos, t01),
        auc: roc_auc(pos, benign),
    }
}

/// Deal families (indexes into `fams`) into `k` folds: largest first, snake order.
pub fn deal(fams: &[Family], k: usize) -> Vec<Vec<usize>> {
    let k = k.clamp(1, fams.len().max(1));
    let mut order: Vec<usize> = (0..fams.len()).collect();
    order.sort_by(|&a, &b| fams[b].names.cmp(&fams[a].names).then(a.cmp(&b)));
    let mut folds = vec![Vec::new(); k];
    for (i, f) in order.into_iter().enumerate() {
        let round = i / k;
        let j = if round % 2 == 0 { i % k } else { k - 1 - i % k };
        folds[j].push(f);
    }
    folds.retain(|f| !f.is_empty());
    folds
}

/// Run leave-one-family-out. `progress` gets a line per fold.
pub fn run(
    data: &Dataset,
    cfg: &TrainConfig,
    lc: &LofoConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<LofoReport, TrainError> {
    let start = Instant::now();
    let all = families::group(&data.dga);
    let (mixed, mut fams): (Vec<Family>, Vec<Family>) = all.into_iter().partition(|f| f.mixed);
    if let Some(only) = &lc.only {
        let only: Vec<&str> = only.iter().map(|s| families::canonical(s)).collect();
        fams.retain(|f| only.contains(&f.name.as_str()));
    }
    if fams.is_empty() {
        return Err(TrainError::NoData("DGA family to hold out"));
    }
    let folds: Vec<Vec<usize>> = match lc.folds {
        Some(k) => deal(&fams, k),
        None => (0..fams.len()).map(|i| vec![i]).collect(),
    };
    let (tr, te) = train::split(
        &Dataset {
            benign: data.benign.clone(),
            phish: data.phish.clone(),
            dga: Vec::new(),
        },
        lc.test_fraction,
        lc.seed,
        &[],
    );
    let benign_names: Vec<&str> = te.benign.iter().map(|l| l.name.as_str()).collect();

    let mut model_scores: Vec<Option<FoldScores>> = Vec::new();
    let mut base_scores: Vec<Option<FoldScores>> = Vec::new();
    let mut fold_of = vec![0usize; fams.len()];
    for (fi, fold) in folds.iter().enumerate() {
        for &i in fold {
            fold_of[i] = fi;
        }
        let out: Vec<&str> = fold.iter().map(|&i| fams[i].name.as_str()).collect();
        let keep = |l: &Labelled| {
            let f = families::canonical(l.family());
            !(out.contains(&f) || lc.drop_mixed && families::is_mixed(f))
        };
        let train_set = Dataset {
            benign: tr.benign.clone(),
            phish: tr.phish.clone(),
            dga: data.dga.iter().filter(|l| keep(l)).cloned().collect(),
        };
        let held: Vec<Vec<&str>> = out
            .iter()
            .map(|f| {
                data.dga
                    .iter()
                    .filter(|l| families::canonical(l.family()) == *f)
                    .map(|l| l.name.as_str())
                    .collect()
            })
            .collect();
        let t = Instant::now();
        let m = train::train(&train_set, cfg)?;
        let ms = t.elapsed().as_secs_f64();
        // Only names trawl scores count, for both scorers (the same names).
        let score = |n: &str| match m.score(n) {
            Ok(Verdict::Scored(s)) => Some(s.dga),
            _ => None,
        };
        let bm: Vec<Option<f32>> = benign_names.par_iter().map(|n| score(n)).collect();
        let hm: Vec<Vec<Option<f32>>> = held
            .iter()
            .map(|h| h.par_iter().map(|n| score(n)).collect())
            .collect();
        let flat = |v: &[Option<f32>]| v.iter().flatten().copied().collect::<Vec<f32>>();
        model_scores.push(Some(FoldScores {
            benign: flat(&bm),
            families: hm.iter().map(|v| flat(v)).collect(),
        }));
        let mut line = format!(
            "fold {}/{} ({}): model {:.1} s",
            fi + 1,
            folds.len(),
            out.join(","),
            ms
        );
        if let Some(bc) = &lc.baseline {
            let t = Instant::now();
            let b = Baseline::train_dga(&train_set, bc)?;
            let bs = t.elapsed().as_secs_f64();
            let pick = |scores: Vec<f32>, like: &[Option<f32>]| -> Vec<f32> {
                scores
                    .into_iter()
                    .zip(like)
                    .filter(|(_, l)| l.is_some())
                    .map(|(s, _)| s)
                    .collect()
            };
            base_scores.push(Some(FoldScores {
                benign: pick(b.score_all(&benign_names), &bm),
                families: held
                    .iter()
                    .zip(&hm)
                    .map(|(h, like)| pick(b.score_all(h), like))
                    .collect(),
            }));
            line.push_str(&format!(", baseline {bs:.1} s"));
        } else {
            base_scores.push(None);
        }
        // Each family's figures as soon as its fold is done, so a long run that is
        // stopped still says something.
        let figures = |s: &FoldScores, j: usize| {
            let (t1, t01) = (
                threshold_at_fpr(&s.benign, 0.01),
                threshold_at_fpr(&s.benign, 0.001),
            );
            let x = family_score(&s.families[j], &s.benign, t1, t01);
            format!(
                "recall@1% {:.3} recall@0.1% {:.3} ROC AUC {:.4}",
                x.recall_at_1pct, x.recall_at_01pct, x.auc
            )
        };
        for (j, f) in out.iter().enumerate() {
            let m = model_scores.last().and_then(Option::as_ref);
            let b = base_scores.last().and_then(Option::as_ref);
            if let Some(m) = m {
                line.push_str(&format!("\n  {f}: model {}", figures(m, j)));
            }
            if let Some(b) = b {
                line.push_str(&format!("; baseline {}", figures(b, j)));
            }
        }
        progress(&line);
    }

    // Per family and pooled figures.
    let mut out = Vec::new();
    let mut pooled_m = Acc::default();
    let mut pooled_b = Acc::default();
    for (fi, fold) in folds.iter().enumerate() {
        let ms = model_scores[fi].as_ref().expect("every fold scored");
        let (m1, m01) = (
            threshold_at_fpr(&ms.benign, 0.01),
            threshold_at_fpr(&ms.benign, 0.001),
        );
        let bs = base_scores[fi].as_ref();
        let bt = bs.map(|b| {
            (
                threshold_at_fpr(&b.benign, 0.01),
                threshold_at_fpr(&b.benign, 0.001),
            )
        });
        for (j, &i) in fold.iter().enumerate() {
            let pos = &ms.families[j];
            let model = family_score(pos, &ms.benign, m1, m01);
            pooled_m.add(pos.len(), &model);
            let baseline = bs.zip(bt).map(|(b, (t1, t01))| {
                let s = family_score(&b.families[j], &b.benign, t1, t01);
                pooled_b.add(b.families[j].len(), &s);
                s
            });
            let f = &fams[i];
            out.push(LofoFamily {
                family: f.name.clone(),
                kind: f.kind,
                tags: f.tags.clone(),
                names: pos.len(),
                fold: fold_of[i],
                model,
                baseline,
            });
        }
    }
    sort(&mut out);
    Ok(LofoReport {
        config: lc.clone(),
        aliases: families::ALIASES
            .iter()
            .map(|(a, f)| (a.to_string(), f.to_string()))
            .collect(),
        mixed,
        train_names: [tr.benign.len(), tr.phish.len()],
        benign_test: model_scores
            .first()
            .and_then(|s| s.as_ref())
            .map_or(0, |s| s.benign.len()),
        folds: folds.len(),
        families: out,
        model: pooled_m.finish(),
        baseline: lc.baseline.as_ref().map(|_| pooled_b.finish()),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Worst model-minus-baseline recall at 1% FPR first (model recall when no baseline).
fn sort(v: &mut [LofoFamily]) {
    let key =
        |f: &LofoFamily| f.model.recall_at_1pct - f.baseline.map_or(0.0, |b| b.recall_at_1pct);
    v.sort_by(|a, b| {
        key(a)
            .total_cmp(&key(b))
            .then(a.model.recall_at_1pct.total_cmp(&b.model.recall_at_1pct))
            .then(a.family.cmp(&b.family))
    });
}

/// Running sums for [`Pooled`].
#[derive(Default)]
struct Acc {
    names: usize,
    auc: f64,
    r1: f64,
    r01: f64,
    families: usize,
    m_auc: f64,
    m_r1: f64,
    m_r01: f64,
}

impl Acc {
    fn add(&mut self, n: usize, s: &FamilyScore) {
        if n == 0 {
            return;
        }
        let w = n as f64;
        self.names += n;
        self.auc += w * s.auc;
        self.r1 += w * s.recall_at_1pct;
        self.r01 += w * s.recall_at_01pct;
        self.families += 1;
        self.m_auc += s.auc;
        self.m_r1 += s.recall_at_1pct;
        self.m_r01 += s.recall_at_01pct;
    }

    fn finish(&self) -> Pooled {
        let (n, k) = (self.names.max(1) as f64, self.families.max(1) as f64);
        Pooled {
            names: self.names,
            auc: self.auc / n,
            tpr_at_1pct: self.r1 / n,
            tpr_at_01pct: self.r01 / n,
            macro_auc: self.m_auc / k,
            macro_recall_at_1pct: self.m_r1 / k,
            macro_recall_at_01pct: self.m_r01 / k,
        }
    }
}

impl LofoReport {
    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Random-label families where the model's recall at 1% FPR is below the baseline's.
    pub fn random_label_losses(&self) -> impl Iterator<Item = &LofoFamily> {
        self.families.iter().filter(|f| {
            f.kind == FamilyKind::RandomLabel
                && f.baseline
                    .is_some_and(|b| f.model.recall_at_1pct < b.recall_at_1pct)
        })
    }
}

/// Markdown tables: pooled figures, then every family (worst first).
impl fmt::Display for LofoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "leave-one-family-out: {} families in {} folds; split seed {} (benign test {} names; training {} benign, {} phishing); mixed feeds {} ({}); aliases {}; {:.0} s",
            self.families.len(),
            self.folds,
            self.config.seed,
            self.benign_test,
            self.train_names[0],
            self.train_names[1],
            if self.config.drop_mixed { "left out of training" } else { "kept in training" },
            self.mixed
                .iter()
                .map(|m| format!("{} {}", m.name, m.names))
                .collect::<Vec<_>>()
                .join(", "),
            self.aliases
                .iter()
                .map(|(a, b)| format!("{a}->{b}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.seconds
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| pooled over held-out families | names | ROC AUC | TPR@1% | TPR@0.1% | macro ROC AUC | macro recall@1% | macro recall@0.1% |\n|---|---|---|---|---|---|---|---|"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, who: &str, p: &Pooled| {
            writeln!(
                f,
                "| {who} | {} | {:.4} | {} | {} | {:.4} | {} | {} |",
                p.names,
                p.auc,
                fixed(p.tpr_at_1pct, 3),
                fixed(p.tpr_at_01pct, 3),
                p.macro_auc,
                fixed(p.macro_recall_at_1pct, 3),
                fixed(p.macro_recall_at_01pct, 3)
            )
        };
        row(f, "model", &self.model)?;
        if let Some(b) = &self.baseline {
            row(f, "baseline", b)?;
            writeln!(
                f,
                "| model - baseline | | {:+.4} | {} | {} | {:+.4} | {} | {} |",
                self.model.auc - b.auc,
                signed(self.model.tpr_at_1pct - b.tpr_at_1pct, 3),
                signed(self.model.tpr_at_01pct - b.tpr_at_01pct, 3),
                self.model.macro_auc - b.macro_auc,
                signed(self.model.macro_recall_at_1pct - b.macro_recall_at_1pct, 3),
                signed(
                    self.model.macro_recall_at_01pct - b.macro_recall_at_01pct,
                    3
                )
            )?;
        }
        writeln!(f)?;
        if self.baseline.is_some() {
            let losses: Vec<String> = self
                .random_label_losses()
                .map(|x| x.family.clone())
                .collect();
            writeln!(
                f,
                "random-label families where the model's recall at 1% FPR is below the baseline's ({}): {}",
                losses.len(),
                if losses.is_empty() { "none".to_string() } else { losses.join(", ") }
            )?;
            writeln!(f)?;
            writeln!(
                f,
                "| family | kind | names | recall@1% model | baseline | diff | recall@0.1% model | baseline | diff | ROC AUC model | baseline | diff |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
            )?;
        } else {
            writeln!(
                f,
                "| family | kind | names | recall@1% | recall@0.1% | ROC AUC |\n|---|---|---|---|---|---|"
            )?;
        }
        for x in &self.families {
            let m = &x.model;
            match &x.baseline {
                Some(b) => {
                    let flag =
                        x.kind == FamilyKind::RandomLabel && m.recall_at_1pct < b.recall_at_1pct;
                    writeln!(
                        f,
                        "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {:.4} | {:.4} | {:+.4} |",
                        x.family,
                        if flag { " !" } else { "" },
                        x.kind.as_str(),
                        x.names,
                        fixed(m.recall_at_1pct, 3),
                        fixed(b.recall_at_1pct, 3),
                        signed(m.recall_at_1pct - b.recall_at_1pct, 3),
                        fixed(m.recall_at_01pct, 3),
                        fixed(b.recall_at_01pct, 3),
                        signed(m.recall_at_01pct - b.recall_at_01pct, 3),
                        m.auc,
                        b.auc,
                        m.auc - b.auc
                    )?;
                }
                None => writeln!(
                    f,
                    "| {} | {} | {} | {} | {} | {:.4} |",
                    x.family,
                    x.kind.as_str(),
                    x.names,
                    fixed(m.recall_at_1pct, 3),
                    fixed(m.recall_at_01pct, 3),
                    m.auc
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam(name: &str, names: usize) -> Family {
        Family {
            name: name.into(),
            tags: vec![format!("s:{name}")],
            names,
            mixed: false,
            kind: FamilyKind::RandomLabel,
            coverage: 0.0,
            alternation: 0.3,
        }
    }

    fn lab(name: String, tag: &str) -> Labelled {
        Labelled {
            name,
            tag: tag.into(),
        }
    }

    /// Tiny lists: every family is held out once, sources and aliases merged, mixed feeds
    /// never held out, both scorers on the same names.
    #[test]
    fn every_family_held_out_once() {
        let more = ["weather", "garden", "travel", "school", "market", "coffee"];
        let words = crate::testdata::POPULAR_LABELS.iter().chain(&more);
        let mut data = Dataset::default();
        for (i, w) in words.enumerate() {
            for tld in ["com", "org", "net"] {
                data.benign.push(lab(format!("{w}{i}.{tld}"), "b:top"));
            }
            data.phish
                .push(lab(format!("{w}-login-verify{i}.xyz"), "p:list"));
        }
        let rnd = |seed: u64, n: usize| -> String {
            let mut x = seed;
            (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + ((x >> 33) % 26) as u8)
                })
                .collect()
        };
        for i in 0..12u64 {
            data.dga.push(lab(format!("{}.ru", rnd(i, 12)), "a:tinba"));
            data.dga
                .push(lab(format!("{}.com", rnd(100 + i, 12)), "b:tinba"));
            data.dga
                .push(lab(format!("1{}.net", rnd(200 + i, 25)), "a:new_goz"));
            data.dga
                .push(lab(format!("1{}.org", rnd(300 + i, 25)), "b:newgoz"));
            data.dga.push(lab(
                format!("{}.biz", rnd(400 + i, 10)),
                "c:netlab360_mixed",
            ));
        }
        let cfg = TrainConfig {
            synthetic: 0,
            synthetic_extra: 0,
            bits: 14,
            ..TrainConfig::default()
        };
        let lc = LofoConfig {
            test_fraction: 0.3,
            baseline: Some(BaselineConfig::default()),
            ..LofoConfig::default()
        };
        let r = run(&data, &cfg, &lc, &mut |_| {}).unwrap();
        assert_eq!(r.folds, 2);
        let mut fams: Vec<(&str, usize, usize)> = r
            .families
            .iter()
            .map(|f| (f.family.as_str(), f.names, f.tags.len()))
            .collect();
        fams.sort_unstable();
        assert_eq!(fams, [("newgoz", 24, 2), ("tinba", 24, 2)]);
        assert_eq!(r.mixed.len(), 1);
        assert_eq!(r.model.names, 48);
        assert_eq!(r.baseline.unwrap().names, 48);
        assert!(r.benign_test > 0);
        // The same run again gives the same figures.
        let again = run(&data, &cfg, &lc, &mut |_| {}).unwrap();
        assert_eq!(r.model.auc, again.model.auc);
        assert_eq!(r.baseline.unwrap().auc, again.baseline.unwrap().auc);
        // Restricted to one family: one fold.
        let one = LofoConfig {
            only: Some(vec!["zeus".into()]),
            baseline: None,
            ..lc
        };
        let r = run(&data, &cfg, &one, &mut |_| {}).unwrap();
        assert_eq!(r.families.len(), 1);
        assert_eq!(r.families[0].family, "newgoz");
    }

    #[test]
    fn folds_cover_every_family_once_balanced() {
        let fams: Vec<Family> = [("a", 100), ("b", 90), ("c", 50), ("d", 40), ("e", 5)]
            .iter()
            .map(|(n, c)| fam(n, *c))
            .collect();
        let folds = deal(&fams, 2);
        assert_eq!(folds, vec![vec![0, 3, 4], vec![1, 2]]);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        // More folds than families: one family each.
        assert_eq!(deal(&fams, 9).len(), 5);
    }
}
