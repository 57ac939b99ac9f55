//! Print scores and reasons for names: `explain MODEL NAME...` (JSON lines), or
//! `explain MODEL - < names` for one `name<TAB>phish<TAB>dga<TAB>reasons` line a name.

use std::io::BufRead;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((path, names)) = args.split_first() else {
        eprintln!("usage: explain MODEL NAME... | explain MODEL - < names");
        return Ok(());
    };
    let m = trawl_score::Model::load(path)?;
    if names.len() == 1 && names[0] == "-" {
        let t = m.thresholds();
        eprintln!("thresholds\t{}\t{}", t.phish, t.dga);
        let f = |v: Option<f32>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let n = line.split('\t').next().unwrap_or("");
            if let Ok(e) = m.explain(n) {
                println!(
                    "{n}\t{}\t{}\t{}",
                    f(e.phish_score),
                    f(e.dga_score),
                    e.reasons.join("; ")
                );
            }
        }
        return Ok(());
    }
    for n in names {
        match m.explain(n) {
            Ok(e) => println!("{}", serde_json::to_string(&e)?),
            Err(e) => println!("{n}: {e}"),
        }
    }
    Ok(())
}
