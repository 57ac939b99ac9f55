//! `trawl`: Zeek and DNS logs in; answers, enriched records and alerts out.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod inputs;
mod report;
mod run;
mod table;

// glibc's allocator was a sixth of the CPU of `trawl run` into an HTTP sink (many short-lived
// buffers freed on another thread than the one that made them); mimalloc takes that in stride
// (see `tune_allocator`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's `mi_option_get` and `mi_option_set` (in the library the allocator above links).
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in the `mi_option_e` of mimalloc.h (v2 and v3; the enum only
/// grows at its end).
const MI_PURGE_DELAY: std::ffi::c_int = 15;

/// A pipeline frees each batch's buffers and allocates the next one's moments later. With
/// mimalloc's defaults (freed memory purged after 10 ms, in transparent huge pages) the
/// kernel zeroed fresh pages, 2 MiB at a time, for a fifth of the CPU of `trawl run` into
/// ClickHouse. So mimalloc is built without huge pages (`no_thp`: decided before it starts)
/// and freed memory goes back to the OS after ten seconds unused. `MIMALLOC_PURGE_DELAY` in
/// the environment still decides.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an option; mimalloc allows this at any time.
        unsafe { mi_option_set(MI_PURGE_DELAY, 10_000) };
    }
}

/// Zeek and DNS logs in; answers, enriched records and alerts out.
///
/// trawl reads Zeek logs as real deployments write them (TSV with any header variant, JSON,
/// JSON-streaming, tag_json, gzip and zstd, Zeek's dated archive folders) and dnsmasq query
/// logs, and never drops a record in silence: what it cannot read is reported with file, line
/// and reason and counted in a summary on stderr.
#[derive(Parser)]
#[command(
    name = "trawl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read logs in any supported format and write them out (Zeek TSV, JSON, CSV or a table).
    Cat(cmd::cat::CatArgs),
    /// Print chosen columns, like zeek-cut, from TSV, JSON, gzip and folders.
    Cut(cmd::cut::CutArgs),
    /// Every record about one uid, file id, hash, address or name, in time order.
    Pivot(cmd::pivot::PivotArgs),
    /// Stream logs through scoring and host attribution to files, Kafka, ClickHouse ...
    Run(run::cmd::RunArgs),
    /// Work with `trawl run` configurations.
    #[command(subcommand)]
    Config(run::ConfigCmd),
    /// Ask a question of log folders in the trawl query language: `dns | top 25 query`.
    Query(cmd::query::QueryArgs),
    /// Built-in hunts: outdated software, odd user-agents, rare domains, top talkers, DGA names.
    Hunt(cmd::hunt::HuntArgs),
    /// Passive DNS: what a name resolved to and when, which names pointed at an address.
    Pdns(cmd::pdns::PdnsArgs),
    /// The hourly or daily report: top talkers, services, bytes in/out, connection states,
    /// top domains, NXDOMAIN per client, highest scores, alerts, outdated software, changes.
    Report(cmd::report::ReportArgs),
    /// Alert rules: dry-run them over logs; mute, list and unmute alerts.
    #[command(subcommand)]
    Alert(cmd::alert::AlertCmd),
    // @score-variants
    /// Score DNS names for phishing and DGA likelihood, with reasons.
    Score(cmd::score::ScoreArgs),
    /// Train, evaluate and inspect the name-scoring model.
    #[command(subcommand)]
    Model(cmd::score::ModelCmd),
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cat(args) => cmd::cat::run(args),
        Command::Cut(args) => cmd::cut::run(args),
        Command::Pivot(args) => cmd::pivot::run(args),
        Command::Run(args) => run::cmd::run(args),
        Command::Config(cmd) => run::run_config(cmd),
        Command::Query(args) => cmd::query::run(args),
        Command::Hunt(args) => cmd::hunt::run(args),
        Command::Pdns(args) => cmd::pdns::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Alert(cmd) => cmd::alert::run(cmd),
        // @score-dispatch
        Command::Score(args) => cmd::score::run_score(args),
        Command::Model(cmd) => cmd::score::run_model(cmd),
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            if report::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("trawl: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number `tune_allocator` sets still names the option it means: its
    /// default (tests do not run `main`), 10 ms in release builds of mimalloc and 1,000 in
    /// debug ones; the options around it default to 0 or 1.
    #[test]
    fn allocator_option_is_the_one_meant() {
        // SAFETY: reads an option.
        let delay = unsafe { mi_option_get(MI_PURGE_DELAY) };
        assert!(delay == 10 || delay == 1000, "{delay}");
    }
}
