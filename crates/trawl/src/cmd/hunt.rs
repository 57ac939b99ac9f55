//! `trawl hunt`: built-in hunts, each a few named queries of the query language.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use trawl_enrich::{addr_value, time_value, Attribution, AttributionConfig};
use trawl_query::hunts::{self, HUNTS};
use trawl_query::parse_query;
use trawl_query::scan::{Progress, Scan, ScanSummary};
use trawl_zeek::{Record, Scalar, Value, ZeekType};

use super::query::{report, select, writer, QueryFormat, ScanArgs};
use crate::inputs::Selection;

/// Arguments of `trawl hunt`.
#[derive(Args, Debug)]
#[command(after_help = "Hunts:
  software      outdated software: versions older than the newest seen for the same software
                on the network, or below a supported floor (Java 1.8, OpenSSH 8.0, IIS 8.5 ...)
  user-agents   user-agents of one client only; scripting tools, empty or odd user-agents
  domains       top registered domains and TLDs; rare registered domains ranked by how
                unexpected the scorer finds them
  dga           names most likely from a domain generation algorithm, with the clients that
                asked and their workstation names as of the lookups (the DHCP lease each
                client held then: dhcp.log, dnsmasq, known_devices, as `trawl run` does)

Examples:
  trawl hunt software /nsm/zeek/logs
  trawl hunt dga --since 24h /nsm/zeek/logs
  trawl hunt domains /var/log/dnsmasq.log  dnsmasq lines are dns records whatever the name
  trawl hunt domains --show-query          print the queries a hunt runs, to adapt them")]
pub struct HuntArgs {
    /// The hunt: software, user-agents, domains, talkers or dga.
    #[arg(value_name = "HUNT", value_parser = clap::builder::PossibleValuesParser::new(HUNTS.iter().map(|h| h.name)))]
    pub hunt: String,

    /// Files or folders to read (default: the current folder).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub scan: ScanArgs,

    /// Print the hunt's queries and exit.
    #[arg(long)]
    pub show_query: bool,

    /// Print no summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `trawl hunt`.
pub fn run(args: HuntArgs) -> Result<i32> {
    let Some(hunt) = hunts::by_name(&args.hunt) else {
        bail!("unknown hunt {}", args.hunt);
    };
    args.scan.site.apply()?;
    if args.show_query {
        for s in hunt.sections {
            println!(
                "# {}\n{}\n",
                s.title,
                s.query.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        return Ok(0);
    }
    let format = args.scan.format(std::io::stdout().is_terminal());
    let started = Instant::now();
    let mut total = ScanSummary::default();
    let mut out = std::io::stdout().lock();
    let mut rows_out = 0u64;
    for (i, section) in hunt.sections.iter().enumerate() {
        let q =
            parse_query(section.query).map_err(|e| anyhow::anyhow!("built-in hunt query: {e}"))?;
        let (rows, summary) = collect(&q, &args.paths, &args.scan.select)?;
        total.merge(summary);
        let rows = match hunt.name {
            "software" => hunts::outdated_software(&rows),
            "dga" => with_workstations(rows, &args.paths, &args.scan.select)?,
            _ => rows,
        };
        let path = format!(
            "hunt_{}{}",
            hunt.name.replace('-', "_"),
            if hunt.sections.len() > 1 {
                format!("_{}", i + 1)
            } else {
                String::new()
            }
        );
        let mut buf = Vec::new();
        if format == QueryFormat::Table {
            if i > 0 {
                buf.push(b'\n');
            }
            buf.extend_from_slice(format!("== {} ==\n", section.title).as_bytes());
            if rows.is_empty() {
                buf.extend_from_slice(b"(nothing found)\n");
            }
        }
        let mut w = writer(format);
        for mut r in rows {
            r.path = Cow::Owned(path.clone());
            w.record(&r, &mut buf);
            rows_out += 1;
        }
        w.finish(&mut buf);
        out.write_all(&buf)?;
    }
    out.flush()?;
    report(&total, rows_out, started, args.quiet);
    Ok(0)
}

/// Runs a query and keeps its (small: every hunt ends in `head` or a group table) result.
fn collect(
    q: &trawl_query::Query,
    paths: &[PathBuf],
    sel: &Selection,
) -> Result<(Vec<Record<'static>>, ScanSummary)> {
    let (inputs, check) = select(paths, sel, &q.types)?;
    if inputs.is_empty() {
        return Ok((Vec::new(), ScanSummary::default()));
    }
    let threads = sel
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let scan = Scan::from_inputs(inputs, threads).progress(Progress::Auto);
    let mut rows = Vec::new();
    let options = trawl_query::ops::Options::default();
    let summary = trawl_query::exec::run_with(q, &scan, check, &options, &mut |r| {
        rows.push(r);
        true
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for n in options.notes.list() {
        eprintln!("trawl: note: {n}");
    }
    Ok((rows, summary))
}

/// Adds the workstation names of the clients to the DGA rows, attributed as `trawl run` does:
/// the DHCP lease (dhcp.log, dnsmasq, known_devices) each client held at the row's first and
/// last lookup, not whoever held the address last.
fn with_workstations(
    rows: Vec<Record<'static>>,
    paths: &[PathBuf],
    sel: &Selection,
) -> Result<Vec<Record<'static>>> {
    let q = parse_query("dhcp, known_devices").map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut leases, _) = collect(&q, paths, sel)?;
    leases.sort_by_key(|r| r.get("ts").and_then(time_value).unwrap_or(0));
    let mut who = Attribution::new(AttributionConfig::default());
    for l in &leases {
        who.observe(l);
    }
    Ok(rows
        .into_iter()
        .map(|mut r| {
            let times: Vec<i64> = ["first", "last"]
                .iter()
                .filter_map(|k| r.get(k).and_then(time_value))
                .collect();
            let mut names: Vec<String> = Vec::new();
            if let Some(Value::List(items)) = r.get("clients") {
                for ip in items.iter().filter_map(addr_value) {
                    for &t in &times {
                        if let Some(n) = who.lookup(ip, t).and_then(|h| h.workstation) {
                            if !names.iter().any(|x| x == n) {
                                names.push(n.to_string());
                            }
                        }
                    }
                }
            }
            let ws = names
                .into_iter()
                .map(|n| Value::Str(Cow::Owned(n.into_bytes())))
                .collect();
            r.push(
                "workstations",
                ZeekType {
                    container: trawl_zeek::Container::Set,
                    scalar: Scalar::String,
                },
                Value::List(ws),
            );
            r
        })
        .collect())
}
