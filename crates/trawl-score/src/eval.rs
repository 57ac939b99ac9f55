//! Evaluation: ROC AUC, TPR at fixed FPR, precision/recall at the alert threshold, and
//! per-family recall for DGA names; over several split seeds ([`seeds`]) and leaving each
//! DGA family out of training in turn ([`lofo`]), each optionally beside the reference
//! baseline ([`crate::baseline`]) scored on the same split.
//!
//! Why here and not in the binary: `trawl model eval` and the `model` example share it, so
//! figures in the README can be rerun either way.

pub mod families;
pub mod lofo;
pub mod seeds;

use crate::baseline::Baseline;
use crate::model::{Model, Verdict};
use crate::train::{Dataset, Labelled};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Metrics of one task (phishing or DGA against benign).
#[derive(Debug, Clone, Serialize)]
pub struct TaskMetrics {
    /// Positive (threat) names scored.
    pub positives: usize,
    /// Benign names scored.
    pub negatives: usize,
    /// Area under the ROC curve.
    pub auc: f64,
    /// True-positive rate at 1% false-positive rate.
    pub tpr_at_1pct: f64,
    /// True-positive rate at 0.1% false-positive rate.
    pub tpr_at_01pct: f64,
    /// Score threshold that gives 1% FPR on these benign names.
    pub threshold_1pct: f32,
    /// The model's alert threshold.
    pub alert_threshold: f32,
    /// Precision at the alert threshold (with this set's class ratio).
    pub precision: f64,
    /// Recall at the alert threshold.
    pub recall: f64,
    /// False-positive rate at the alert threshold.
    pub fpr: f64,
}

/// Recall of one DGA family.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyRecall {
    /// Family name (tag after the colon).
    pub family: String,
    /// Names of this family in the test set.
    pub names: usize,
    /// Recall at the alert threshold.
    pub recall: f64,
    /// Recall at the 1%-FPR threshold.
    pub recall_at_1pct: f64,
    /// Whether the family was held out of training entirely.
    pub held_out: bool,
}

/// Everything `trawl model eval` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Model fingerprint, or what else scored (`baseline`).
    pub fingerprint: String,
    /// Phishing vs benign.
    pub phish: TaskMetrics,
    /// DGA vs benign.
    pub dga: TaskMetrics,
    /// Same as `dga`, restricted to families seen in training (when some were held out).
    pub dga_seen: Option<TaskMetrics>,
    /// Same as `dga`, restricted to held-out families (if any).
    pub dga_held_out: Option<TaskMetrics>,
    /// DGA recall per family, worst first.
    pub families: Vec<FamilyRecall>,
    /// Names that did not normalise or are not scorable.
    pub skipped: usize,
}

/// ROC AUC by the rank-sum formula, with ties counted half.
pub fn roc_auc(pos: &[f32], neg: &[f32]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += avg * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// Threshold at which at most `fpr` of `neg` score strictly above it.
pub fn threshold_at_fpr(neg: &[f32], fpr: f64) -> f32 {
    let mut s = neg.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let k = (fpr * s.len() as f64).floor() as usize;
    s.get(k).copied().unwrap_or(1.0)
}

/// Share of `v` strictly above `t`.
pub fn frac_above(v: &[f32], t: f32) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().filter(|&&s| s > t).count() as f64 / v.len() as f64
}

/// Metrics of positive vs negative scores at an alert threshold.
pub fn task_metrics(pos: &[f32], neg: &[f32], alert: f32) -> TaskMetrics {
    let t1 = threshold_at_fpr(neg, 0.01);
    let t01 = threshold_at_fpr(neg, 0.001);
    let tp = pos.iter().filter(|&&s| s >= alert).count() as f64;
    let fp = neg.iter().filter(|&&s| s >= alert).count() as f64;
    TaskMetrics {
        positives: pos.len(),
        negatives: neg.len(),
        auc: roc_auc(pos, neg),
        tpr_at_1pct: frac_above(pos, t1),
        tpr_at_01pct: frac_above(pos, t01),
        threshold_1pct: t1,
        alert_threshold: alert,
        precision: if tp + fp > 0.0 {
            tp / (tp + fp)
        } else {
            f64::NAN
        },
        recall: tp / pos.len().max(1) as f64,
        fpr: fp / neg.len().max(1) as f64,
    }
}

/// A test set's scores by one scorer, per class and in list order: `[phish, dga]`, or
/// `None` for a name it did not score (invalid, IP literal, reverse DNS).
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// Scores of `test.benign`.
    pub benign: Vec<Option<[f32; 2]>>,
    /// Scores of `test.phish`.
    pub phish: Vec<Option<[f32; 2]>>,
    /// Scores of `test.dga`.
    pub dga: Vec<Option<[f32; 2]>>,
}

fn scores(model: &Model, list: &[Labelled]) -> Vec<Option<[f32; 2]>> {
    list.par_iter()
        .map(|l| match model.score(&l.name) {
            Ok(Verdict::Scored(s)) => Some([s.phish, s.dga]),
            _ => None,
        })
        .collect()
}

/// Score every name of `test` with `model`.
pub fn score_model(model: &Model, test: &Dataset) -> Scored {
    Scored {
        benign: scores(model, &test.benign),
        phish: scores(model, &test.phish),
        dga: scores(model, &test.dga),
    }
}

/// Score `test` with the reference baseline, only the names that `like` scored, so that
/// both are measured on the very same names.
pub fn score_baseline(b: &Baseline, test: &Dataset, like: &Scored) -> Scored {
    let one = |list: &[Labelled], like: &[Option<[f32; 2]>]| -> Vec<Option<[f32; 2]>> {
        let names: Vec<&str> = list.iter().map(|l| l.name.as_str()).collect();
        let (p, d) = rayon::join(|| b.phish.score_all(&names), || b.dga.score_all(&names));
        like.iter()
            .enumerate()
            .map(|(i, s)| s.map(|_| [p[i], d[i]]))
            .collect()
    };
    Scored {
        benign: one(&test.benign, &like.benign),
        phish: one(&test.phish, &like.phish),
        dga: one(&test.dga, &like.dga),
    }
}

/// Evaluate `model` on `test`; `held_out` names DGA families absent from training.
pub fn evaluate(model: &Model, test: &Dataset, held_out: &[String]) -> EvalReport {
    let th = model.thresholds();
    evaluate_scored(
        &model.fingerprint_hex(),
        &score_model(model, test),
        test,
        [th.phish, th.dga],
        held_out,
    )
}

/// Metrics of scores `sc` of `test` (from any scorer) with alert thresholds `alert`
/// (phish, dga). DGA families are grouped by [`families::canonical`] name.
pub fn evaluate_scored(
    scorer: &str,
    sc: &Scored,
    test: &Dataset,
    alert: [f32; 2],
    held_out: &[String],
) -> EvalReport {
    let (sb, sp, sd) = (&sc.benign, &sc.phish, &sc.dga);
    let skipped = [sb, sp, sd]
        .iter()
        .map(|v| v.iter().filter(|s| s.is_none()).count())
        .sum();
    let col =
        |v: &[Option<[f32; 2]>], t: usize| v.iter().flatten().map(|s| s[t]).collect::<Vec<_>>();
    let (bp, bd) = (col(sb, 0), col(sb, 1));
    let phish = task_metrics(&col(sp, 0), &bp, alert[0]);
    let dga = task_metrics(&col(sd, 1), &bd, alert[1]);
    let t1 = dga.threshold_1pct;
    let held_out: Vec<&str> = held_out.iter().map(|h| families::canonical(h)).collect();
    let is_held = |f: &str| held_out.contains(&f);

    let mut fam: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    for (l, s) in test.dga.iter().zip(sd) {
        if let Some(s) = s {
            fam.entry(families::canonical(l.family()))
                .or_default()
                .push(s[1]);
        }
    }
    let mut families: Vec<FamilyRecall> = fam
        .iter()
        .map(|(f, v)| FamilyRecall {
            family: f.to_string(),
            names: v.len(),
            recall: v.iter().filter(|&&s| s >= alert[1]).count() as f64 / v.len() as f64,
            recall_at_1pct: frac_above(v, t1),
            held_out: is_held(f),
        })
        .collect();
    families.sort_by(|a, b| a.recall_at_1pct.total_cmp(&b.recall_at_1pct));
    let held: Vec<f32> = fam
        .iter()
        .filter(|(f, _)| is_held(f))
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let seen: Vec<f32> = fam
        .iter()
        .filter(|(f, _)| !is_held(f))
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let dga_held_out = (!held.is_empty()).then(|| task_metrics(&held, &bd, alert[1]));
    let dga_seen = (!held.is_empty()).then(|| task_metrics(&seen, &bd, alert[1]));
    EvalReport {
        fingerprint: scorer.to_string(),
        phish,
        dga,
        dga_seen,
        dga_held_out,
        families,
        skipped,
    }
}

impl EvalReport {
    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn write_task(f: &mut fmt::Formatter<'_>, name: &str, m: &TaskMetrics) -> fmt::Result {
    writeln!(
        f,
        "{name:<22} n={}/{}  ROC AUC {:.4}  TPR@1%FPR {:.3}  TPR@0.1%FPR {:.3}  | at alert threshold {:.2}: precision {:.3} recall {:.3} FPR {:.4}",
        m.positives, m.negatives, m.auc, m.tpr_at_1pct, m.tpr_at_01pct, m.alert_threshold,
        m.precision, m.recall, m.fpr
    )
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model {}", self.fingerprint)?;
        write_task(f, "phishing vs benign", &self.phish)?;
        write_task(f, "DGA vs benign", &self.dga)?;
        if let Some(h) = &self.dga_seen {
            write_task(f, "DGA, seen families", h)?;
        }
        if let Some(h) = &self.dga_held_out {
            write_task(f, "DGA, held-out families", h)?;
        }
        writeln!(
            f,
            "DGA recall per family (worst first; * = held out of training):"
        )?;
        writeln!(
            f,
            "  {:<28} {:>6} {:>9} {:>11}",
            "family", "names", "@alert", "@1%FPR"
        )?;
        for r in &self.families {
            writeln!(
                f,
                "  {:<28} {:>6} {:>9.3} {:>11.3}",
                format!("{}{}", r.family, if r.held_out { " *" } else { "" }),
                r.names,
                r.recall,
                r.recall_at_1pct
            )?;
        }
        if self.skipped > 0 {
            writeln!(
                f,
                "skipped {} names that are invalid or not scorable",
                self.skipped
            )?;
        }
        Ok(())
    }
}

/// A figure for the report tables: `digits` decimals, `-` when there is none (NaN).
fn fixed(v: f64, digits: usize) -> String {
    figure(v, digits, false)
}

/// A difference for the report tables: as [`fixed`], with its sign always shown.
fn signed(v: f64, digits: usize) -> String {
    figure(v, digits, true)
}

fn figure(v: f64, digits: usize, sign: bool) -> String {
    match (v.is_nan(), sign) {
        (true, _) => "-".into(),
        (false, true) => format!("{v:+.digits$}"),
        (false, false) => format!("{v:.digits$}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_basics() {
        assert_eq!(roc_auc(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        assert_eq!(roc_auc(&[0.1], &[0.9]), 0.0);
        assert_eq!(roc_auc(&[0.5], &[0.5]), 0.5);
    }

    #[test]
    fn threshold_for_fpr() {
        let neg: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let t = threshold_at_fpr(&neg, 0.01);
        assert!((frac_above(&neg, t) - 0.01).abs() < 0.002);
    }
}
