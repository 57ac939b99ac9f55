//! Print each name's scores with their exact f32 bits, to compare two builds or models:
//! `dump FILE... > scores.tsv` (first column of each line is the name).

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let m = trawl_score::Model::builtin()?;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path)?;
        for name in text.lines().filter_map(|l| l.split('\t').next()) {
            match m.score(name) {
                Ok(trawl_score::Verdict::Scored(s)) => writeln!(
                    out,
                    "{name}\t{:08x}\t{:08x}\t{:.6}\t{:.6}",
                    s.phish.to_bits(),
                    s.dga.to_bits(),
                    s.phish,
                    s.dga
                )?,
                Ok(trawl_score::Verdict::Unscored(k)) => writeln!(out, "{name}\t{k:?}")?,
                Err(e) => writeln!(out, "{name}\terror: {e}")?,
            }
        }
    }
    Ok(())
}
