//! Train or evaluate a model without the `trawl` binary.
//!
//! ```text
//! cargo run --release -p trawl-score --example model -- train DIR OUT.model
//! cargo run --release -p trawl-score --example model -- eval DIR
//! ```

use trawl_score::train::{self, Dataset, TrainConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = TrainConfig::default();
    // Overrides for experiments.
    let env = |k: &str| std::env::var(k).ok();
    if let Some(v) = env("EPOCHS") {
        cfg.epochs = v.parse()?;
    }
    if let Some(v) = env("LR") {
        cfg.lr = v.parse()?;
    }
    if let Some(v) = env("BITS") {
        cfg.bits = v.parse()?;
    }
    if let Some(v) = env("L2") {
        cfg.l2 = v.parse()?;
    }
    if let Some(v) = env("DROP") {
        cfg.dropout = v.parse()?;
    }
    if let Some(v) = env("FAMB") {
        cfg.family_balance = v.parse()?;
    }
    if let Some(v) = env("GEN") {
        cfg.generic_epochs = v.parse()?;
    }
    if let Some(v) = env("AUGS") {
        cfg.augment_share = v.parse()?;
    }
    if let Some(v) = env("SYN") {
        cfg.synthetic = v.parse()?;
    }
    if let Some(v) = env("SYNW") {
        cfg.synthetic_words = v == "1";
    }
    if let Some(v) = env("SEED") {
        cfg.seed = v.parse()?;
    }
    if let Some(v) = env("SYNX") {
        cfg.synthetic_extra = v.parse()?;
    }
    if let Some(v) = env("SYNP") {
        cfg.synthetic_phrases = v.parse()?;
    }
    if let Some(v) = env("AUGR") {
        cfg.augment_real = v.parse()?;
    }
    if let Some(v) = env("DGAPLAT") {
        cfg.synthetic_dga_platforms = v == "1";
    }
    if let Some(v) = env("AUG") {
        cfg.augment = v == "1";
    }
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
        _ => eprintln!("usage: model train DIR OUT | model eval DIR"),
    }
    Ok(())
}
