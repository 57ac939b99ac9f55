//! The built-in sources and sinks as `trawl run`'s configuration file writes them
//! (`[sources.NAME] type = "folder"`, `"stdin"`, `"syslog"`; `[sinks.NAME] type = "files"`,
//! `"stdout"`), and how each is built for a run.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::files::{Declared, FileSink, FileSinkConfig, OutputFormat};
use crate::folder::{FolderConfig, FolderSource, Mode};
use crate::stdio::{StdinConfig, StdinSource, StdoutSink};
use crate::syslog::{SyslogConfig, SyslogSource};
use crate::{Metrics, StreamError};

/// What a run gives every source and sink it builds.
pub struct Context<'a> {
    /// Most records a source hands out at once.
    pub batch_size: usize,
    /// Where checkpoints are kept.
    pub state_dir: &'a Path,
    /// `--once`: folders are read to their end, file outputs start empty.
    pub once: bool,
    /// Where sources and sinks count what they do.
    pub metrics: &'a Metrics,
}

/// A Zeek log folder, followed through rotation (or read once with `once = true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderSettings {
    /// The folder (live logs in `current/`, dated archive folders, or flat `*.log`).
    pub path: PathBuf,
    /// Read every file to its end, then stop (no checkpoint).
    #[serde(default)]
    pub once: bool,
    /// Only these log types (e.g. `["dns", "conn", "dhcp"]`).
    pub types: Option<Vec<String>>,
}

impl FolderSettings {
    /// The source; `index` tells its checkpoint file from other sources'.
    pub fn build(&self, index: usize, ctx: &Context<'_>) -> Result<FolderSource, StreamError> {
        let mut c = folder_config(&self.path, self.once || ctx.once, index, ctx);
        c.filter.types = self.types.clone();
        FolderSource::new(c, ctx.metrics)
    }
}

/// A folder source's settings for a run: following resumes from a checkpoint under the state
/// folder, a one-shot pass reads everything again.
pub fn folder_config(path: &Path, once: bool, index: usize, ctx: &Context<'_>) -> FolderConfig {
    let mut c = FolderConfig::new(path);
    c.mode = if once { Mode::Once } else { Mode::Follow };
    c.checkpoint = (!once).then(|| ctx.state_dir.join(format!("checkpoint-{index}.json")));
    c.batch_size = ctx.batch_size;
    c
}

/// Zeek or dnsmasq lines on standard input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinSettings {}

impl StdinSettings {
    /// The source.
    pub fn build(&self, ctx: &Context<'_>) -> Result<StdinSource, StreamError> {
        let c = StdinConfig {
            batch_size: ctx.batch_size,
            ..StdinConfig::default()
        };
        StdinSource::new(c, ctx.metrics)
    }
}

/// A syslog listener for dnsmasq lines (RFC 3164/5424; UDP, TCP with newline or
/// octet-counting framing).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSettings {
    /// A UDP address to listen on (`127.0.0.1:5141`).
    pub udp: Option<String>,
    /// A TCP address to listen on.
    pub tcp: Option<String>,
}

impl SyslogSettings {
    /// The source, bound to its addresses.
    pub async fn build(&self, ctx: &Context<'_>) -> Result<SyslogSource, StreamError> {
        let parse = |a: &Option<String>| {
            a.iter()
                .map(|s| {
                    s.parse()
                        .map_err(|_| StreamError::Fatal(format!("{s:?} is not an address:port")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let c = SyslogConfig {
            udp: parse(&self.udp)?,
            tcp: parse(&self.tcp)?,
            ..SyslogConfig::default()
        };
        SyslogSource::bind(c, ctx.metrics).await
    }
}

/// Enriched logs under a folder, with the input's file names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSettings {
    /// The output folder.
    pub dir: PathBuf,
    /// `same` (default), `zeek` or `json`.
    #[serde(default)]
    pub format: OutputFormat,
}

impl FilesSettings {
    /// The sink; `declared` names the columns enrichment adds, for TSV headers.
    pub fn build(&self, declared: Declared, ctx: &Context<'_>) -> Result<FileSink, StreamError> {
        let mut c = FileSinkConfig::new(&self.dir);
        c.format = self.format;
        c.truncate = ctx.once;
        c.declared = Some(declared);
        FileSink::new(c)
    }
}

/// Standard output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSettings {
    /// `same` (default), `zeek` or `json`.
    #[serde(default)]
    pub format: OutputFormat,
}

impl StdoutSettings {
    /// The sink.
    pub fn build(&self) -> StdoutSink {
        StdoutSink::new(self.format)
    }
}
