//! Turning the paths on the command line into sources to read.

use std::io::Read;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use trawl_input::{discover, Filter, LogFile};
use trawl_zeek::{Item, LogReader, Record};

use crate::report::FileReport;

/// Which inputs to read: shared by every command that reads logs.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files or folders to read (folders recursively, Zeek's `current/` and dated archive
    /// folders included; .gz and .zst transparently). `-` or nothing reads stdin.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub select: Selection,
}

/// Which of the found files to read, and how many at once.
#[derive(Args, Debug, Clone)]
pub struct Selection {
    /// Only these log types, by file name (e.g. `dns,conn`).
    #[arg(
        long = "type",
        short = 't',
        value_delimiter = ',',
        value_name = "TYPES"
    )]
    pub types: Option<Vec<String>>,

    /// Skip rotated files that end before this time (`2024-04-12`, `2024-04-12T09:00`,
    /// RFC 3339, epoch seconds, or `2h` for two hours ago). Chosen by file name, before opening.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Skip rotated files that start at or after this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Files read at once (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

/// The network's own zones, for commands that score names.
#[derive(Args, Debug, Clone, Default)]
pub struct SiteArgs {
    /// One of this network's own DNS zones (repeatable; `corp.example.com`, `lan`): names in
    /// it are not scored for phishing or DGA. Added to `[networks] local_domains` of --config.
    #[arg(long = "local-domain", value_name = "ZONE")]
    pub local_domains: Vec<String>,
    /// A `trawl run` configuration whose `[networks]` apply (local domains and subnets).
    #[arg(long = "config", short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Local subnets in zeekctl's networks.cfg format (a subnet and a name a line), for
    /// `local()`, `network()` and `direction()` [default: the configuration's, else the
    /// private ranges].
    #[arg(long = "networks", value_name = "FILE")]
    pub networks: Option<PathBuf>,
}

impl SiteArgs {
    fn networks_config(&self) -> Result<Option<crate::run::config::NetworksConfig>> {
        Ok(match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let cfg: crate::run::config::Config = toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
                Some(cfg.networks)
            }
            None => None,
        })
    }

    /// The zones given, as a [`trawl_score::Site`].
    pub fn site(&self) -> Result<trawl_score::Site> {
        site_of(&self.local_domains, self.networks_config()?.as_ref())
    }

    /// Sets the process's local zones and subnets (for scoring and the query functions).
    pub fn apply(&self) -> Result<()> {
        let cfg = self.networks_config()?.unwrap_or_default();
        trawl_query::set_site(site_of(&self.local_domains, Some(&cfg))?);
        trawl_query::set_networks(cfg.networks(self.networks.as_deref())?);
        Ok(())
    }
}

/// The zones named on the command line plus a configuration's `[networks] local_domains`.
pub fn site_of(
    local_domains: &[String],
    networks: Option<&crate::run::config::NetworksConfig>,
) -> Result<trawl_score::Site> {
    let configured = networks
        .into_iter()
        .flat_map(|n| n.local_domains.iter().map(|z| z.get_ref().as_str()));
    let zones: Vec<&str> = local_domains
        .iter()
        .map(String::as_str)
        .chain(configured)
        .collect();
    trawl_score::Site::with_zones(zones)
        .map_err(|(z, e)| anyhow::anyhow!("local domain {z:?}: {e}"))
}

impl Selection {
    /// `--since` and `--until` as Unix nanoseconds (relative bounds such as `2h` count back
    /// from now).
    pub fn bounds(&self) -> Result<(Option<i64>, Option<i64>)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let bound = |s: &Option<String>| -> Result<Option<i64>> {
            Ok(s.as_deref()
                .map(|s| trawl_input::parse_time_bound(s, now))
                .transpose()?)
        };
        Ok((bound(&self.since)?, bound(&self.until)?))
    }
}

/// One input to read.
#[derive(Debug, Clone)]
pub enum Source {
    Stdin,
    File(LogFile),
}

impl Source {
    /// How the source is named in reports.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".into(),
            Source::File(f) => f.path.display().to_string(),
        }
    }

    /// The log type the file name suggests, for JSON records that carry none.
    pub fn log_type(&self) -> Option<&str> {
        match self {
            Source::Stdin => None,
            Source::File(f) => f.log_type.as_deref(),
        }
    }

    /// Opens the source, decompressing as needed.
    pub fn open(&self) -> Result<Box<dyn Read + Send>> {
        Ok(match self {
            Source::Stdin => trawl_input::open_reader(std::io::stdin())?,
            Source::File(f) => trawl_input::open(&f.path)?,
        })
    }

    /// Its records in order (`trawl alert test`, `trawl model review`): bad lines, value
    /// problems and a failure to open or read are counted in `report`, never dropped.
    pub fn records<'r>(&self, report: &'r mut FileReport) -> Records<'r> {
        let reader = match self.open() {
            Ok(input) => Some(
                LogReader::new(input)
                    .default_path(self.log_type().unwrap_or("unknown"))
                    .reference_time(self.reference_time()),
            ),
            Err(e) => {
                report.failed = Some(format!("{e:#}"));
                None
            }
        };
        Records { reader, report }
    }

    /// The file's modification time (syslog dates without a year are placed before it).
    pub fn reference_time(&self) -> i64 {
        let t = match self {
            Source::File(f) => std::fs::metadata(&f.path).and_then(|m| m.modified()).ok(),
            Source::Stdin => None,
        }
        .unwrap_or_else(SystemTime::now);
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64)
    }
}

/// Resolves the command line into sources, and the paths that could not be read.
pub fn resolve(args: &InputArgs) -> Result<(Vec<Source>, Vec<String>)> {
    let (since, until) = args.select.bounds()?;
    let filter = Filter {
        types: args.select.types.clone(),
        since,
        until,
    };
    let mut sources = Vec::new();
    let paths: Vec<PathBuf> = args
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    if args.paths.is_empty() || paths.len() < args.paths.len() {
        sources.push(Source::Stdin);
    }
    let mut problems = Vec::new();
    if !paths.is_empty() {
        let found = discover(&paths, &filter)?;
        problems.extend(found.problems.iter().map(|p| p.to_string()));
        sources.extend(found.files.into_iter().map(Source::File));
    }
    Ok((sources, problems))
}

/// Worker threads to use.
pub fn threads(args: &InputArgs) -> usize {
    args.select
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1)
}

/// The records of one source ([`Source::records`]).
pub struct Records<'r> {
    /// `None` once the input ended or failed.
    reader: Option<LogReader<Box<dyn Read + Send>>>,
    report: &'r mut FileReport,
}

impl Iterator for Records<'_> {
    type Item = Record<'static>;

    fn next(&mut self) -> Option<Record<'static>> {
        loop {
            let item = self.reader.as_mut()?.records().next();
            match item {
                Some(Ok(Item::Record {
                    record, problems, ..
                })) => {
                    self.report.record(&record.path, problems.len() as u64);
                    for p in &problems {
                        self.report.problem(p);
                    }
                    return Some(record);
                }
                Some(Ok(Item::Bad {
                    line,
                    raw,
                    reason,
                    problems,
                })) => {
                    for p in &problems {
                        self.report.problem(p);
                    }
                    self.report.bad_line(line, &raw, &reason);
                }
                Some(Err(e)) => {
                    self.report.failed = Some(e.to_string());
                    self.reader = None;
                }
                None => self.reader = None,
            }
        }
    }
}
