//! `trawl run`: the streaming pipeline, and `trawl config check`.

pub mod config;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

/// `trawl config ...`
#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Check a `trawl run` configuration; every mistake is reported with its line.
    Check {
        /// The configuration file (TOML).
        file: PathBuf,
    },
}

/// Runs `trawl config ...`.
pub fn run_config(cmd: ConfigCmd) -> Result<i32> {
    match cmd {
        ConfigCmd::Check { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            match config::parse(&text) {
                Ok(c) => {
                    let n = |k: usize, what: &str| {
                        format!("{k} {what}{}", if k == 1 { "" } else { "s" })
                    };
                    let mut parts = vec![n(c.sources.len(), "source"), n(c.sinks.len(), "sink")];
                    if !c.alerts.rules.is_empty() {
                        parts.push(n(c.alerts.rules.len(), "alert rule"));
                        parts.push(n(c.alerts.destinations.len(), "alert destination"));
                    }
                    println!("{}: ok ({})", file.display(), parts.join(", "));
                    Ok(0)
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}:{}:{}: {}", file.display(), e.line, e.column, e.message);
                    }
                    Ok(2)
                }
            }
        }
    }
}
pub mod alerts;
pub mod cmd;
pub mod reports;
