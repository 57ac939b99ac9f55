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
                    println!(
                        "{}: ok ({} source{}, {} sink{})",
                        file.display(),
                        c.sources.len(),
                        if c.sources.len() == 1 { "" } else { "s" },
                        c.sinks.len(),
                        if c.sinks.len() == 1 { "" } else { "s" }
                    );
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
pub mod enrich;
