//! Train or evaluate a model without the `trawl` binary.
//!
//! ```text
//! cargo run --release -p trawl-score --example model -- train DIR OUT.model
//! cargo run --release -p trawl-score --example model -- eval DIR
//! cargo run --release -p trawl-score --example model -- eval DIR --seeds 42,1,2,3,4,7 --baseline
//! cargo run --release -p trawl-score --example model -- eval DIR --lofo --baseline [--json]
//! cargo run --release -p trawl-score --example model -- baseline-check DIR OUTDIR
//! cargo run --release -p trawl-score --example model -- families DIR
//! ```
//!
//! `eval` flags as `trawl model eval`: `--seeds LIST`, `--baseline`, `--lofo`,
//! `--lofo-folds K`, `--families LIST`, `--drop-mixed`, `--json` (or `JSON_OUT=FILE` in the
//! environment: the tables on stdout and the JSON in FILE). `baseline-check` writes
//! the seed-42 split and the Rust baseline's figures on it for
//! `scripts/baseline_check.py`, which compares them with scikit-learn.

use trawl_score::baseline::{Baseline, BaselineConfig};
use trawl_score::eval::{lofo, seeds, task_metrics};
use trawl_score::train::{self, Dataset, TrainConfig};

/// Value of `--flag VALUE` among `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn names(l: &[train::Labelled]) -> Vec<&str> {
    l.iter().map(|x| x.name.as_str()).collect()
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Prints a report as JSON (`as_json`) or as tables, and writes the JSON to the file
/// `JSON_OUT` names, if set.
fn show(r: &dyn std::fmt::Display, json: String, as_json: bool) -> std::io::Result<()> {
    if as_json {
        println!("{json}");
    } else {
        print!("{r}");
    }
    if let Ok(path) = std::env::var("JSON_OUT") {
        std::fs::write(path, json)?;
    }
    Ok(())
}

/// `KEY=VALUE` in the environment overrides a setting, for experiments.
fn env_parse<T: std::str::FromStr>(key: &str, slot: &mut T) -> Result<(), T::Err> {
    if let Ok(v) = std::env::var(key) {
        *slot = v.parse()?;
    }
    Ok(())
}

/// `KEY=1` in the environment turns a setting on, any other value off.
fn env_flag(key: &str, slot: &mut bool) {
    if let Ok(v) = std::env::var(key) {
        *slot = v == "1";
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = TrainConfig::default();
    let env = |k: &str| std::env::var(k).ok();
    // Overrides for experiments.
    env_parse("EPOCHS", &mut cfg.epochs)?;
    env_parse("LR", &mut cfg.lr)?;
    env_parse("BITS", &mut cfg.bits)?;
    env_parse("L2", &mut cfg.l2)?;
    env_parse("DROP", &mut cfg.dropout)?;
    env_parse("FAMB", &mut cfg.family_balance)?;
    env_parse("GEN", &mut cfg.generic_epochs)?;
    env_parse("AUGS", &mut cfg.augment_share)?;
    env_parse("SYN", &mut cfg.synthetic)?;
    env_flag("SYNW", &mut cfg.synthetic_words);
    env_parse("SEED", &mut cfg.seed)?;
    env_parse("SYNX", &mut cfg.synthetic_extra)?;
    env_parse("SYNP", &mut cfg.synthetic_phrases)?;
    env_parse("AUGR", &mut cfg.augment_real)?;
    env_flag("DGAPLAT", &mut cfg.synthetic_dga_platforms);
    env_parse("HEADW", &mut cfg.head_weight)?;
    env_parse("HEADG", &mut cfg.head_gate)?;
    env_parse("HEADN", &mut cfg.head_max_n)?;
    env_parse("HEADB", &mut cfg.head_bits)?;
    env_flag("AUG", &mut cfg.augment);
    match args.first().map(String::as_str) {
        Some("train") if args.len() == 3 => {
            let data = Dataset::load_dir(&args[1])?;
            let m = train::train(&data, &cfg)?;
            std::fs::write(&args[2], m.to_bytes())?;
            println!(
                "{} {} bytes\n{}",
                m.fingerprint_hex(),
                m.size_bytes(),
                m.summary()
            );
        }
        Some("eval") if args.len() > 2 => {
            let data = Dataset::load_dir(&args[1])?;
            let rest = &args[2..];
            let has = |f: &str| rest.iter().any(|a| a == f);
            let held = list(
                &env("HELD").unwrap_or_else(|| "rovnix,gozi,kraken,qsnatch,pitou,proslikefan,tufik".into()),
            );
            // BITER / BTOL: the baseline's L-BFGS stopping rule (scikit-learn's max_iter, tol).
            let mut bc = BaselineConfig::default();
            env_parse("BITER", &mut bc.max_iter)?;
            env_parse("BTOL", &mut bc.tol)?;
            let baseline = has("--baseline").then_some(bc);
            let json = has("--json");
            let mut progress = |s: &str| eprintln!("{s}");
            if has("--lofo") || flag(rest, "--lofo-folds").is_some() {
                let lc = lofo::LofoConfig {
                    seed: cfg.seed,
                    folds: flag(rest, "--lofo-folds").map(str::parse).transpose()?,
                    only: flag(rest, "--families").map(list),
                    drop_mixed: has("--drop-mixed"),
                    baseline,
                    ..lofo::LofoConfig::default()
                };
                let r = lofo::run(&data, &cfg, &lc, &mut progress)?;
                show(&r, r.to_json(), json)?;
            } else {
                let sc = seeds::SeedsConfig {
                    seeds: flag(rest, "--seeds")
                        .map(|v| list(v).iter().map(|s| s.parse()).collect::<Result<Vec<u64>, _>>())
                        .transpose()?
                        .unwrap_or_else(|| vec![cfg.seed]),
                    test_fraction: 0.2,
                    held_out: held,
                    baseline,
                };
                let r = seeds::run(&data, &cfg, &sc, &mut progress)?;
                show(&r, r.to_json(), json)?;
            }
        }
        Some("families") if args.len() == 2 => {
            // The DGA families as evaluation groups them, with the figures of the kind rule.
            let data = Dataset::load_dir(&args[1])?;
            println!("| family | names | kind | dictionary coverage | alternation | tags |\n|---|---|---|---|---|---|");
            for f in trawl_score::eval::families::group(&data.dga) {
                println!(
                    "| {} | {} | {} | {:.2} | {:.2} | {} |",
                    f.name,
                    f.names,
                    if f.mixed { "mixed" } else { f.kind.as_str() },
                    f.coverage,
                    f.alternation,
                    f.tags.join(" ")
                );
            }
        }
        Some("baseline-check") if args.len() == 3 => {
            // The seed-42 split with the default held-out families, as `trawl model eval`.
            let data = Dataset::load_dir(&args[1])?;
            let held = list("rovnix,gozi,kraken,qsnatch,pitou,proslikefan,tufik");
            let (tr, te) = train::split(&data, 0.2, 42, &held);
            let out = std::path::Path::new(&args[2]);
            std::fs::create_dir_all(out)?;
            for (file, set) in [("train.tsv", &tr), ("test.tsv", &te)] {
                let mut text = String::new();
                for (class, list) in [("benign", &set.benign), ("phish", &set.phish), ("dga", &set.dga)] {
                    for l in list {
                        text.push_str(&format!("{}\t{class}\n", l.name));
                    }
                }
                std::fs::write(out.join(file), text)?;
            }
            let bc = BaselineConfig {
                max_iter: env("MAXITER").map(|v| v.parse()).transpose()?.unwrap_or(100),
                tol: env("TOL").map(|v| v.parse()).transpose()?.unwrap_or(1e-4),
                ..BaselineConfig::default()
            };
            let t = std::time::Instant::now();
            let b = Baseline::train(&tr, &bc)?;
            let secs = t.elapsed().as_secs_f64();
            let (nb, np, nd) = (names(&te.benign), names(&te.phish), names(&te.dga));
            let phish = task_metrics(&b.phish.score_all(&np), &b.phish.score_all(&nb), 0.0);
            let dga = task_metrics(&b.dga.score_all(&nd), &b.dga.score_all(&nb), 0.0);
            let json = serde_json::json!({
                "train_seconds": secs,
                "vocabulary": [b.phish.vocabulary_len(), b.dga.vocabulary_len()],
                "phish": {"auc": phish.auc, "tpr_at_1pct": phish.tpr_at_1pct, "tpr_at_01pct": phish.tpr_at_01pct},
                "dga": {"auc": dga.auc, "tpr_at_1pct": dga.tpr_at_1pct, "tpr_at_01pct": dga.tpr_at_01pct},
            });
            std::fs::write(out.join("rust.json"), json.to_string())?;
            println!("{json}");
        }
        Some("eval") if args.len() == 2 => {
            let data = Dataset::load_dir(&args[1])?;
            let held: Vec<String> = env("HELD")
                .unwrap_or_else(|| "rovnix,gozi,kraken,qsnatch,pitou,proslikefan,tufik".into())
                .split(',')
                .map(|s| s.to_string())
                .collect();
            let (tr, te) = train::split(&data, 0.2, cfg.seed, &held);
            let m = train::train(&tr, &cfg)?;
            print!("{}", trawl_score::eval::evaluate(&m, &te, &held));
            if let Some(path) = env("SAVE") {
                std::fs::write(path, m.to_bytes())?;
            }
            if let Some(path) = env("DUMP") {
                let mut out = String::new();
                for (class, list) in [
                    ("benign", &te.benign),
                    ("phish", &te.phish),
                    ("dga", &te.dga),
                ] {
                    for l in list {
                        if let Ok(trawl_score::Verdict::Scored(s)) = m.score(&l.name) {
                            out.push_str(&format!(
                                "{}\t{class}\t{}\t{:.4}\t{:.4}\n",
                                l.name, l.tag, s.phish, s.dga
                            ));
                        }
                    }
                }
                std::fs::write(path, out)?;
            }
        }
        _ => eprintln!(
            "usage: model train DIR OUT | model eval DIR [--seeds LIST] [--baseline] [--lofo] [--lofo-folds K] [--families LIST] [--drop-mixed] [--json] | model baseline-check DIR OUTDIR | model families DIR"
        ),
    }
    Ok(())
}
