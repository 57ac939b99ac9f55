//! `trawl cut` (being written).
use anyhow::Result;
use clap::Args;

/// Arguments of `trawl cut`.
#[derive(Args, Debug)]
pub struct CutArgs {
    /// Columns.
    pub columns: Vec<String>,
}

/// Runs `trawl cut`.
pub fn run(_args: CutArgs) -> Result<i32> {
    Ok(0)
}
