//! The usual split (20% of registered domains tested, some DGA families held out whole)
//! repeated over several seeds, each optionally beside the reference baseline trained and
//! scored on the same split.
//!
//! Why: the split is grouped and some groups are large, so one seed is one draw; the
//! spread over seeds says how much a difference between two models means.

use super::families::{self, FamilyKind};
use super::{evaluate_scored, fixed, score_baseline, score_model, signed, EvalReport, TaskMetrics};
use crate::baseline::{Baseline, BaselineConfig};
use crate::error::TrainError;
use crate::train::{self, Dataset, TrainConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct SeedsConfig {
    /// Split seeds; each also seeds training (`TrainConfig::seed`), as `--seed` does.
    pub seeds: Vec<u64>,
    /// Share of registered domains in the test part.
    pub test_fraction: f64,
    /// DGA families held out of training entirely.
    pub held_out: Vec<String>,
    /// Train and score the reference baseline on each split too.
    pub baseline: Option<BaselineConfig>,
}

/// One seed's results.
#[derive(Debug, Clone, Serialize)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// trawl's model.
    pub model: EvalReport,
    /// The baseline on the same names (alert threshold: probability 0.5).
    pub baseline: Option<EvalReport>,
    /// Seconds to train trawl's model.
    pub model_seconds: f64,
    /// Seconds to train the baseline (both tasks).
    pub baseline_seconds: Option<f64>,
}

/// Mean, smallest and largest of one figure over the seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(v: &[f64]) -> Spread {
        let v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Spread {
                mean: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        Spread {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// One figure over the seeds: trawl's model, the baseline, and model minus baseline
/// (per seed, then spread).
#[derive(Debug, Clone, Serialize)]
pub struct MetricSpread {
    /// Which test set and metric (`phish auc`, `dga tpr@0.1%`...).
    pub metric: String,
    /// Per seed, in seed order.
    pub model: Vec<f64>,
    /// Spread of `model`.
    pub model_spread: Spread,
    /// Per seed, the baseline.
    pub baseline: Option<Vec<f64>>,
    /// Spread of `baseline`.
    pub baseline_spread: Option<Spread>,
    /// Spread of model minus baseline.
    pub diff_spread: Option<Spread>,
}

/// One DGA family's recall at 1% FPR over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct FamilySpread {
    /// Canonical family name.
    pub family: String,
    /// Random-label, pronounceable or dictionary (see [`families::classify`]).
    pub kind: FamilyKind,
    /// Held out of training.
    pub held_out: bool,
    /// A mix of families ([`families::MIXED`]), not one.
    pub mixed: bool,
    /// Test names (mean over seeds).
    pub names: f64,
    /// trawl's recall at its 1%-FPR threshold, mean over seeds.
    pub model: f64,
    /// The baseline's, mean over seeds.
    pub baseline: Option<f64>,
}

/// Everything a multi-seed run gives.
#[derive(Debug, Clone, Serialize)]
pub struct SeedsReport {
    /// What was run.
    pub config: SeedsConfig,
    /// Per seed.
    pub runs: Vec<SeedRun>,
    /// Headline figures over the seeds.
    pub summary: Vec<MetricSpread>,
    /// DGA recall at 1% FPR per family, mean over seeds, worst model-minus-baseline first.
    pub families: Vec<FamilySpread>,
}

/// Run the split, train and evaluate for every seed of `sc` (training settings from `cfg`,
/// its seed replaced). `progress` gets a line per trained model.
pub fn run(
    data: &Dataset,
    cfg: &TrainConfig,
    sc: &SeedsConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<SeedsReport, TrainError> {
    let mut runs = Vec::new();
    for &seed in &sc.seeds {
        let (tr, te) = train::split(data, sc.test_fraction, seed, &sc.held_out);
        let c = TrainConfig {
            seed,
            ..cfg.clone()
        };
        let t = Instant::now();
        let m = train::train(&tr, &c)?;
        let model_seconds = t.elapsed().as_secs_f64();
        let ms = score_model(&m, &te);
        let th = m.thresholds();
        let model = evaluate_scored(
            &m.fingerprint_hex(),
            &ms,
            &te,
            [th.phish, th.dga],
            &sc.held_out,
        );
        progress(&format!(
            "seed {seed}: model {} trained in {model_seconds:.1} s on {}/{}/{} names",
            model.fingerprint,
            tr.benign.len(),
            tr.phish.len(),
            tr.dga.len()
        ));
        let (baseline, baseline_seconds) = match &sc.baseline {
            Some(bc) => {
                let t = Instant::now();
                let b = Baseline::train(&tr, bc)?;
                let secs = t.elapsed().as_secs_f64();
                progress(&format!(
                    "seed {seed}: baseline trained in {secs:.1} s ({} / {} n-grams)",
                    b.phish.vocabulary_len(),
                    b.dga.vocabulary_len()
                ));
                let bs = score_baseline(&b, &te, &ms);
                (
                    Some(evaluate_scored(
                        "baseline",
                        &bs,
                        &te,
                        [0.0, 0.0],
                        &sc.held_out,
                    )),
                    Some(secs),
                )
            }
            None => (None, None),
        };
        runs.push(SeedRun {
            seed,
            model,
            baseline,
            model_seconds,
            baseline_seconds,
        });
    }
    let kinds: BTreeMap<String, FamilyKind> = families::group(&data.dga)
        .into_iter()
        .map(|f| (f.name, f.kind))
        .collect();
    Ok(summarise(sc.clone(), runs, &kinds))
}

/// Which test set of a report a figure comes from.
type Pick = fn(&EvalReport) -> Option<&TaskMetrics>;
/// Which figure of that test set.
type Get = fn(&TaskMetrics) -> f64;

/// The figures the summary tracks.
const METRICS: &[(&str, Pick, Get)] = &[
    ("phish ROC AUC", |r| Some(&r.phish), |m| m.auc),
    ("phish TPR@1%", |r| Some(&r.phish), |m| m.tpr_at_1pct),
    ("phish TPR@0.1%", |r| Some(&r.phish), |m| m.tpr_at_01pct),
    ("DGA ROC AUC", |r| Some(&r.dga), |m| m.auc),
    ("DGA TPR@1%", |r| Some(&r.dga), |m| m.tpr_at_1pct),
    ("DGA TPR@0.1%", |r| Some(&r.dga), |m| m.tpr_at_01pct),
    ("DGA seen ROC AUC", |r| r.dga_seen.as_ref(), |m| m.auc),
    (
        "DGA held-out ROC AUC",
        |r| r.dga_held_out.as_ref(),
        |m| m.auc,
    ),
    (
        "DGA held-out TPR@1%",
        |r| r.dga_held_out.as_ref(),
        |m| m.tpr_at_1pct,
    ),
    (
        "DGA held-out TPR@0.1%",
        |r| r.dga_held_out.as_ref(),
        |m| m.tpr_at_01pct,
    ),
];

fn summarise(
    config: SeedsConfig,
    runs: Vec<SeedRun>,
    kinds: &BTreeMap<String, FamilyKind>,
) -> SeedsReport {
    let with_baseline = runs.iter().all(|r| r.baseline.is_some()) && !runs.is_empty();
    let mut summary = Vec::new();
    for (name, pick, get) in METRICS {
        let model: Vec<f64> = runs
            .iter()
            .map(|r| pick(&r.model).map_or(f64::NAN, get))
            .collect();
        if model.iter().all(|v| v.is_nan()) {
            continue;
        }
        let baseline: Option<Vec<f64>> = with_baseline.then(|| {
            runs.iter()
                .map(|r| r.baseline.as_ref().and_then(pick).map_or(f64::NAN, get))
                .collect()
        });
        let diff: Option<Vec<f64>> = baseline
            .as_ref()
            .map(|b| model.iter().zip(b).map(|(m, b)| m - b).collect());
        summary.push(MetricSpread {
            metric: name.to_string(),
            model_spread: Spread::of(&model),
            model,
            baseline_spread: baseline.as_deref().map(Spread::of),
            baseline,
            diff_spread: diff.as_deref().map(Spread::of),
        });
    }
    // Per family: mean recall at 1% FPR over the seeds where it was tested.
    // Per family: held out at some seed; test names, model and baseline recall per seed.
    type Acc = (bool, Vec<f64>, Vec<f64>, Vec<f64>);
    let mut fam: BTreeMap<String, Acc> = BTreeMap::new();
    for r in &runs {
        let base: BTreeMap<&str, f64> = r
            .baseline
            .iter()
            .flat_map(|b| &b.families)
            .map(|f| (f.family.as_str(), f.recall_at_1pct))
            .collect();
        for f in &r.model.families {
            let e = fam.entry(f.family.clone()).or_default();
            e.0 |= f.held_out;
            e.1.push(f.names as f64);
            e.2.push(f.recall_at_1pct);
            if let Some(b) = base.get(f.family.as_str()) {
                e.3.push(*b);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut families: Vec<FamilySpread> = fam
        .into_iter()
        .map(|(family, (held_out, n, m, b))| FamilySpread {
            kind: kinds
                .get(&family)
                .copied()
                .unwrap_or(FamilyKind::RandomLabel),
            mixed: families::is_mixed(&family),
            family,
            held_out,
            names: mean(&n),
            model: mean(&m),
            baseline: (with_baseline && !b.is_empty()).then(|| mean(&b)),
        })
        .collect();
    families.sort_by(|a, b| {
        let d = |f: &FamilySpread| f.model - f.baseline.unwrap_or(f.model);
        d(a).total_cmp(&d(b)).then(a.model.total_cmp(&b.model))
    });
    SeedsReport {
        config,
        runs,
        summary,
        families,
    }
}

impl SeedsReport {
    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Markdown tables: figures per seed (model, baseline, difference), the spread, and DGA
/// recall at 1% FPR per family with the families where the model is below the baseline
/// marked.
impl fmt::Display for SeedsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seeds: Vec<String> = self.runs.iter().map(|r| r.seed.to_string()).collect();
        let fps: Vec<&str> = self
            .runs
            .iter()
            .map(|r| r.model.fingerprint.as_str())
            .collect();
        writeln!(
            f,
            "split seeds {} (test {:.0}% of registered domains; held-out DGA families: {}); models {}",
            seeds.join(","),
            self.config.test_fraction * 100.0,
            if self.config.held_out.is_empty() {
                "none".to_string()
            } else {
                self.config.held_out.join(",")
            },
            fps.join(",")
        )?;
        if let Some(r) = self.runs.first() {
            writeln!(
                f,
                "test names at seed {}: {} benign, {} phishing, {} DGA",
                r.seed, r.model.phish.negatives, r.model.phish.positives, r.model.dga.positives
            )?;
        }
        writeln!(f)?;
        let base = self.runs.iter().all(|r| r.baseline.is_some()) && !self.runs.is_empty();
        let mut head = String::from("| metric | scorer |");
        let mut rule = String::from("|---|---|");
        for s in &seeds {
            let _ = write!(head, " {s} |");
            rule.push_str("---|");
        }
        head.push_str(" mean | min | max |");
        rule.push_str("---|---|---|");
        writeln!(f, "{head}\n{rule}")?;
        for m in &self.summary {
            let row = |f: &mut fmt::Formatter<'_>,
                       who: &str,
                       v: &[f64],
                       s: &Spread,
                       fmt_v: &dyn Fn(f64) -> String| {
                let mut line = format!("| {} | {who} |", m.metric);
                for x in v {
                    let _ = write!(line, " {} |", fmt_v(*x));
                }
                let _ = write!(
                    line,
                    " **{}** | {} | {} |",
                    fmt_v(s.mean),
                    fmt_v(s.min),
                    fmt_v(s.max)
                );
                writeln!(f, "{line}")
            };
            let fv = |x: f64| {
                if m.metric.contains("AUC") {
                    fixed(x, 4)
                } else {
                    fixed(x, 3)
                }
            };
            row(f, "model", &m.model, &m.model_spread, &fv)?;
            if let (Some(b), Some(bs), Some(ds)) = (&m.baseline, &m.baseline_spread, &m.diff_spread)
            {
                row(f, "baseline", b, bs, &fv)?;
                let d: Vec<f64> = m.model.iter().zip(b).map(|(a, b)| a - b).collect();
                let dig = if m.metric.contains("AUC") { 4 } else { 3 };
                row(f, "model - baseline", &d, ds, &|x| signed(x, dig))?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "DGA recall at each scorer's 1%-FPR threshold, mean over the seeds (* = held out of training; kind: see families::classify){}:",
            if base { "; ! = random-label family where the model is below the baseline" } else { "" }
        )?;
        writeln!(f)?;
        if base {
            writeln!(
                f,
                "| family | kind | test names | model | baseline | model - baseline |\n|---|---|---|---|---|---|"
            )?;
        } else {
            writeln!(
                f,
                "| family | kind | test names | model |\n|---|---|---|---|"
            )?;
        }
        for r in &self.families {
            let name = format!("{}{}", r.family, if r.held_out { " *" } else { "" });
            let kind = if r.mixed { "mixed" } else { r.kind.as_str() };
            match r.baseline {
                Some(b) if base => {
                    let flag = !r.mixed && r.kind == FamilyKind::RandomLabel && r.model < b;
                    writeln!(
                        f,
                        "| {name}{} | {} | {:.0} | {} | {} | {} |",
                        if flag { " !" } else { "" },
                        kind,
                        r.names,
                        fixed(r.model, 3),
                        fixed(b, 3),
                        signed(r.model - b, 3)
                    )?;
                }
                _ if base => writeln!(
                    f,
                    "| {name} | {} | {:.0} | {} | - | - |",
                    kind,
                    r.names,
                    fixed(r.model, 3)
                )?,
                _ => writeln!(
                    f,
                    "| {name} | {} | {:.0} | {} |",
                    kind,
                    r.names,
                    fixed(r.model, 3)
                )?,
            }
        }
        Ok(())
    }
}
