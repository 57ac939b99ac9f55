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

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
