//! Tests on the project's labelled lists. They read `$TRAWL_SHARED/domains/*.tsv`:
//! when TRAWL_SHARED is unset they print that they skipped; when it is set and a file is
//! missing they fail.

use std::path::PathBuf;
use trawl_score::train::{read_tsv, Labelled};
use trawl_score::{Model, Verdict};

fn shared_file(name: &str) -> Option<Vec<Labelled>> {
    let Some(dir) = std::env::var_os("TRAWL_SHARED") else {
        eprintln!("TRAWL_SHARED is not set: skipped");
        return None;
    };
    let path = PathBuf::from(dir).join("domains").join(name);
    match read_tsv(&path) {
        Ok(v) => Some(v),
        Err(e) => panic!(
            "TRAWL_SHARED is set but {} is unusable: {e}",
            path.display()
        ),
    }
}

fn sample(list: &[Labelled], step: usize) -> impl Iterator<Item = &Labelled> {
    list.iter().step_by(step)
}

#[test]
fn builtin_model_separates_the_lists() {
    let (Some(benign), Some(phish), Some(dga)) = (
        shared_file("benign.tsv"),
        shared_file("phish.tsv"),
        shared_file("dga.tsv"),
    ) else {
        return;
    };
    let m = Model::builtin().expect("built-in model");
    let col = |l: &[Labelled], step: usize, dga: bool| -> Vec<f32> {
        sample(l, step)
            .filter_map(|x| match m.score(&x.name) {
                Ok(Verdict::Scored(s)) => Some(if dga { s.dga } else { s.phish }),
                _ => None,
            })
            .collect()
    };
    let auc_p = trawl_score::eval::roc_auc(&col(&phish, 50, false), &col(&benign, 30, false));
    let auc_d = trawl_score::eval::roc_auc(&col(&dga, 30, true), &col(&benign, 30, true));
    // These names were in the training data: this checks the model is wired up, not how
    // well it generalises (see `trawl model eval` for that).
    assert!(auc_p > 0.95, "phishing AUC {auc_p}");
    assert!(auc_d > 0.97, "DGA AUC {auc_d}");
}

#[test]
fn every_listed_name_scores_without_panicking() {
    let Some(phish) = shared_file("phish.tsv") else {
        return;
    };
    let m = Model::builtin().expect("built-in model");
    for l in sample(&phish, 7) {
        if let Ok(Verdict::Scored(s)) = m.score(&l.name) {
            assert!((0.0..=1.0).contains(&s.phish) && (0.0..=1.0).contains(&s.dga));
        }
        let _ = m.explain(&l.name);
    }
}
