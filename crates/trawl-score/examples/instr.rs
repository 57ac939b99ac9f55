//! Instruction-count harness for `valgrind --tool=callgrind`: scores the first N names of a
//! file R times. Run it with R=1 and R=8: (I8 - I1) / (7 * N) is the cost of one name,
//! without start-up and model loading.
//!
//! `valgrind --tool=callgrind target/release/examples/instr FILE N R`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = std::fs::read_to_string(args.first().ok_or("usage: instr FILE N R")?)?;
    let n: usize = args.get(1).map_or(Ok(20_000), |s| s.parse())?;
    let rounds: usize = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split('\t').next())
        .take(n)
        .collect();
    let m = trawl_score::Model::builtin()?;
    trawl_score::warm_up();
    let mut sum = 0f32;
    for _ in 0..rounds {
        for name in &names {
            if let Ok(trawl_score::Verdict::Scored(s)) = m.score(std::hint::black_box(name)) {
                sum += s.phish + s.dga;
            }
        }
    }
    println!("{sum}");
    Ok(())
}
