//! Quick single-thread throughput check: `throughput FILE.tsv [MODEL]`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = std::fs::read_to_string(args.first().ok_or("usage: throughput FILE [MODEL]")?)?;
    let names: Vec<&str> = text.lines().filter_map(|l| l.split('\t').next()).collect();
    let owned;
    let m = match args.get(1) {
        Some(p) => {
            owned = trawl_score::Model::load(p)?;
            &owned
        }
        None => trawl_score::Model::builtin()?,
    };
    trawl_score::warm_up();
    // Best of several rounds: the machine may be shared.
    let mut best = f64::MAX;
    let mut sum = 0f32;
    for _ in 0..7 {
        let start = Instant::now();
        for n in &names {
            if let Ok(trawl_score::Verdict::Scored(s)) = m.score(n) {
                sum += s.phish + s.dga;
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let total = names.len() as f64;
    println!(
        "{:.0} names/s ({:.0} ns/name, best of 7 rounds, checksum {sum:.1})",
        total / best,
        best * 1e9 / total
    );
    Ok(())
}
