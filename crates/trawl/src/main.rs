//! `trawl`: Zeek and DNS logs in; answers, enriched records and alerts out.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod inputs;
mod report;
mod run;
mod table;

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
