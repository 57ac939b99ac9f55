//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `$TRAWL_SHARED`, or `None` (the test then says it skipped).
pub fn shared(test: &str) -> Option<PathBuf> {
    match std::env::var_os("TRAWL_SHARED") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped {test}: TRAWL_SHARED unset");
            None
        }
    }
}

/// A path under `$TRAWL_SHARED` that must exist when the variable is set.
pub fn need(root: &std::path::Path, rel: &str) -> PathBuf {
    let p = root.join(rel);
    assert!(
        p.exists(),
        "TRAWL_SHARED is set but {} is missing",
        p.display()
    );
    p
}

/// Runs the trawl binary.
pub fn trawl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .output()
        .expect("run trawl")
}

/// Runs the trawl binary and fails the test unless it succeeds: its stdout and stderr.
pub fn trawl_ok(args: &[&str]) -> (String, String) {
    let out = trawl(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "trawl {args:?}: {err}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), err)
}

/// Writes `text` to `name` in `dir` (a test's configuration, say) and returns its path.
pub fn write_file(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Files under `root`, recursively and sorted, leaving out pcap folders (`Traces`) and files
/// with one of the `skip` extensions.
pub fn files_under(root: &std::path::Path, skip: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name() != Some("Traces".as_ref()) {
                    stack.push(p);
                }
            } else if !p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| skip.contains(&e))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
