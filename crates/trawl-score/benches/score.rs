//! Scoring throughput on names from the labelled lists, one thread.
//!
//! Reads `$TRAWL_SHARED/domains/*.tsv` (default `../../shared` relative to this crate);
//! skips with a message if the files are not there.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;

fn names() -> Option<Vec<String>> {
    let base = std::env::var_os("TRAWL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let mut out = Vec::new();
    for f in ["benign.tsv", "phish.tsv", "dga.tsv"] {
        let text = std::fs::read_to_string(base.join("domains").join(f)).ok()?;
        // Every 7th name: a mix of all classes, large enough to defeat the branch predictor.
        out.extend(
            text.lines()
                .step_by(7)
                .filter_map(|l| l.split('\t').next())
                .map(str::to_string),
        );
    }
    // Interleave classes deterministically.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    Some(out)
}

fn bench(c: &mut Criterion) {
    let Some(names) = names() else {
        eprintln!("score bench: shared/domains not found (set TRAWL_SHARED); skipped");
        return;
    };
    let model = match trawl_score::Model::builtin() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("score bench: {e}; skipped");
            return;
        }
    };
    trawl_score::warm_up();
    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.sample_size(20);
    g.bench_function("score_names", |b| {
        b.iter(|| {
            let mut sum = 0f32;
            for n in &names {
                if let Ok(v) = model.score(black_box(n)) {
                    if let Some(s) = v.scores() {
                        sum += s.phish + s.dga;
                    }
                }
            }
            black_box(sum)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
