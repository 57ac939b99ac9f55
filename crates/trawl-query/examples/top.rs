//! The scan's counting fast path on its own, for benchmarks until `trawl query` uses it:
//! `cargo run --release -p trawl-query --example top -- COLUMN N FILE...` prints the N most
//! frequent values of COLUMN as `count value` (DuckDB's `duck_top.py` format).

use std::io::Write;
use std::path::PathBuf;

use trawl_query::scan::{count_values, Scan};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(column), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: top COLUMN N FILE...");
        std::process::exit(2);
    };
    let n: usize = n.parse().unwrap_or(25);
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let threads = std::env::var("TRAWL_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let scan = if paths.is_empty() {
        Scan::stdin(threads)
    } else {
        Scan::from_paths(&paths, threads)
    };
    let (counts, summary) = match count_values(&scan, &column) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("top: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout().lock();
    for (v, c) in counts.top(n) {
        let v = v.map_or_else(
            || "-".to_string(),
            |v| String::from_utf8_lossy(v).into_owned(),
        );
        let _ = writeln!(out, "{c} {v}");
    }
    for p in &summary.problems {
        eprintln!("top: {p}");
    }
    if summary.problems_total > summary.problems.len() as u64 {
        eprintln!(
            "top: {} more problems",
            summary.problems_total - summary.problems.len() as u64
        );
    }
}
