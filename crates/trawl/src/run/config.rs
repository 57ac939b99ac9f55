//! The `trawl run` configuration: one TOML file of named sources and sinks (like Vector's),
//! plus scoring, host attribution, intel and metrics. Every mistake is reported with its line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use trawl_stream::settings;

/// The whole file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub sources: BTreeMap<String, Spanned<SourceConfig>>,
    #[serde(default)]
    pub sinks: BTreeMap<String, Spanned<SinkConfig>>,
    #[serde(default)]
    pub score: ScoreConfig,
    #[serde(default)]
    pub attribution: AttributionConfig,
    #[serde(default)]
    pub intel: IntelConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The network's own names.
    #[serde(default)]
    pub networks: NetworksConfig,
    /// Alert rules and destinations (see `super::alerts` and trawl-alert).
    #[serde(default)]
    pub alerts: trawl_alert::AlertsConfig,
    /// The passive DNS store.
    #[serde(default)]
    pub pdns: PdnsConfig,
    /// Hourly/daily reports (see `super::reports`).
    pub reports: Option<Spanned<super::reports::ReportsConfig>>,
    /// State shared by the instances of a consumer group.
    #[serde(default)]
    pub state: StateConfig,
    /// Where checkpoints and attribution state are kept (default: `./trawl-state`).
    pub state_dir: Option<Spanned<PathBuf>>,
    /// Records per batch (default 10,000).
    pub batch_size: Option<usize>,
}

/// Where records come from: each kind's settings live beside it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// A Zeek log folder, followed through rotation (or read once with `once = true`).
    Folder(settings::FolderSettings),
    /// Zeek or dnsmasq lines on standard input.
    Stdin(settings::StdinSettings),
    /// A Kafka consumer group.
    Kafka(trawl_kafka::KafkaSourceSettings),
    /// A syslog listener for dnsmasq lines.
    Syslog(settings::SyslogSettings),
}

/// Where records go: each kind's settings live beside it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// Enriched logs under a folder, with the input's file names.
    Files(settings::FilesSettings),
    /// Standard output.
    Stdout(settings::StdoutSettings),
    /// A Kafka topic (Zeek JSON, optionally wrapped like the Zeek Kafka plugin's `tag_json`).
    Kafka(trawl_kafka::KafkaSinkSettings),
    /// ClickHouse over HTTP, a table per log type.
    Clickhouse(trawl_sinks::ClickHouseSettings),
    /// Elasticsearch or OpenSearch `_bulk`, an index per log type and day.
    Elasticsearch(trawl_sinks::ElasticsearchSettings),
    /// Splunk HTTP Event Collector.
    SplunkHec(trawl_sinks::SplunkHecSettings),
}

/// The domain scorer and its cache.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScoreConfig {
    /// A model file from `trawl model train` (default: the built-in model).
    pub model: Option<Spanned<PathBuf>>,
    /// Names kept in the in-process cache (default 100,000).
    pub cache_size: Option<usize>,
    /// A Redis URL for a cache shared by many instances (keys include the model fingerprint).
    pub redis: Option<Spanned<String>>,
    /// Seconds a cached score lives in Redis (default one day).
    pub redis_ttl: Option<u64>,
}

/// What the network owns.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NetworksConfig {
    /// The organisation's own DNS zones (`corp.example.com`, an Active Directory forest):
    /// names in them are not scored for phishing or DGA, whatever their labels look like.
    #[serde(default)]
    pub local_domains: Vec<Spanned<String>>,
    /// Local subnets with their names (`"10.20.0.0/16" = "office LAN"`), for the query
    /// functions `local()`, `network()` and `direction()`.
    #[serde(default)]
    pub subnets: BTreeMap<String, String>,
    /// zeekctl's networks.cfg, read as is (a subnet and a description a line).
    pub networks_cfg: Option<Spanned<PathBuf>>,
}

impl NetworksConfig {
    /// The local subnets: `subnets` and `networks_cfg` together, plus the networks.cfg-style
    /// file `extra`; the private ranges when none is given.
    pub fn networks(
        &self,
        extra: Option<&std::path::Path>,
    ) -> anyhow::Result<trawl_query::Networks> {
        use anyhow::Context;
        let mut n = trawl_query::Networks::empty();
        for (cidr, name) in &self.subnets {
            n.add(cidr, name)
                .map_err(|e| anyhow::anyhow!("[networks] subnets: {e}"))?;
        }
        let files = self
            .networks_cfg
            .iter()
            .map(|p| p.get_ref().as_path())
            .chain(extra);
        for path in files {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            n.add_cfg(&text)
                .map_err(|(line, e)| anyhow::anyhow!("{}:{line}: {e}", path.display()))?;
        }
        Ok(if n.is_empty() {
            trawl_query::Networks::private()
        } else {
            n
        })
    }

    /// The zones as a [`trawl_score::Site`]; an invalid zone is an error.
    pub fn site(&self) -> anyhow::Result<trawl_score::Site> {
        trawl_score::Site::with_zones(self.local_domains.iter().map(|z| z.get_ref().as_str()))
            .map_err(|(z, e)| anyhow::anyhow!("[networks] local_domains: {z:?}: {e}"))
    }
}

/// `[state]`: what the instances of one consumer group share.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `redis://host:port/db`: DHCP leases and known devices are shared through it, so every
    /// instance attributes a record to the same workstation whichever partition held the lease.
    pub redis: Option<Spanned<String>>,
    /// Key prefix in Redis (default `trawl`): instances with the same prefix share.
    pub prefix: Option<String>,
}

/// The passive DNS store `trawl run` keeps (and `trawl pdns` reads).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PdnsConfig {
    /// Keep it (default false; `trawl run --pdns` too).
    pub enabled: Option<bool>,
    /// The SQLite file (default `pdns.sqlite` in state_dir).
    pub store: Option<Spanned<PathBuf>>,
    /// Clients kept per fact (default 16; 0 keeps none, for privacy).
    pub max_clients: Option<usize>,
    /// Seconds between writes to the store (default 10): answers repeated within that time
    /// cost one write; a crash loses at most this much (the logs are untouched).
    pub flush_seconds: Option<u64>,
    /// This sensor's name, given as `sensor_id` in `trawl pdns` output.
    pub sensor_id: Option<String>,
}

impl PdnsConfig {
    /// Clients kept per fact when not configured.
    pub const DEFAULT_MAX_CLIENTS: usize = 16;

    /// Where the store is, for a configuration whose state folder is `state_dir`.
    pub fn store_path(&self, state_dir: &std::path::Path) -> PathBuf {
        self.store
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or_else(|| state_dir.join("pdns.sqlite"))
    }

    /// Clients kept per fact.
    pub fn max_clients(&self) -> usize {
        self.max_clients.unwrap_or(Self::DEFAULT_MAX_CLIENTS)
    }

    /// Time between writes to the store.
    pub fn flush_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.flush_seconds.unwrap_or(10))
    }
}

/// Host attribution: IP to MAC to workstation.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AttributionConfig {
    /// A CSV of `ip` or `mac`, `hostname`, `owner`.
    pub inventory: Option<Spanned<PathBuf>>,
    /// Lease length when dnsmasq or a log does not say (seconds, default 86,400).
    pub default_lease: Option<u64>,
}

/// Intel files in Zeek's intel-framework format.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    #[serde(default)]
    pub files: Vec<Spanned<PathBuf>>,
}

/// The Prometheus endpoint.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address for `/metrics`, e.g. `127.0.0.1:9464` (default: none).
    pub listen: Option<Spanned<String>>,
}

/// A mistake in the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

fn position(text: &str, span: &Range<usize>) -> (usize, usize) {
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

fn at(text: &str, span: &Range<usize>, message: impl Into<String>) -> ConfigError {
    let (line, column) = position(text, span);
    ConfigError {
        line,
        column,
        message: message.into(),
    }
}

/// Parses and checks a configuration; every mistake found is returned, each with its line.
pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        vec![at(text, &span, e.message().to_string())]
    })?;
    let errors = check(&config, text);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

fn check(c: &Config, text: &str) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for z in &c.networks.local_domains {
        if let Err((_, e)) = trawl_score::Site::with_zones([z.get_ref()]) {
            errors.push(at(
                text,
                &z.span(),
                format!("local_domains: {:?} is not a DNS zone: {e}", z.get_ref()),
            ));
        }
    }
    if let Some(r) = &c.reports {
        for e in super::reports::check(r.get_ref(), c) {
            errors.push(at(text, &r.span(), format!("reports: {e}")));
        }
    }
    if c.sources.is_empty() {
        errors.push(at(
            text,
            &(0..0),
            "no [sources.NAME] section: nothing to read",
        ));
    }
    if c.sinks.is_empty() {
        errors.push(at(
            text,
            &(0..0),
            "no [sinks.NAME] section: nothing to write to",
        ));
    }
    // Section values lose their spans inside tagged enums: find the key's line in its section.
    let key_at = |section: &Range<usize>, key: &str| -> Range<usize> {
        let body = &text[section.start.min(text.len())..section.end.min(text.len())];
        let mut off = section.start;
        for line in body.split_inclusive('\n') {
            let t = line.trim_start();
            if t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
            {
                return off..off + line.len();
            }
            off += line.len();
        }
        section.clone()
    };
    let addr = |v: &str, span: Range<usize>, errors: &mut Vec<ConfigError>| {
        if v.parse::<std::net::SocketAddr>().is_err() {
            errors.push(at(
                text,
                &span,
                format!("{v:?} is not an address:port such as 127.0.0.1:5141"),
            ));
        }
    };
    let url = |v: &str, span: Range<usize>, errors: &mut Vec<ConfigError>| {
        if !(v.starts_with("http://") || v.starts_with("https://")) {
            errors.push(at(
                text,
                &span,
                format!("{v:?} is not an http:// or https:// URL"),
            ));
        }
    };
    for src in c.sources.values() {
        let sec = src.span();
        match src.get_ref() {
            SourceConfig::Folder(settings::FolderSettings { path, .. }) => {
                if !path.is_dir() {
                    errors.push(at(
                        text,
                        &key_at(&sec, "path"),
                        format!("{} is not a folder", path.display()),
                    ));
                }
            }
            SourceConfig::Kafka(k) => {
                if k.topics.is_empty() {
                    errors.push(at(
                        text,
                        &key_at(&sec, "topics"),
                        "a Kafka source needs at least one topic",
                    ));
                }
            }
            SourceConfig::Syslog(settings::SyslogSettings { udp, tcp }) => {
                if udp.is_none() && tcp.is_none() {
                    errors.push(at(
                        text,
                        &sec,
                        "a syslog source needs `udp` or `tcp` (e.g. \"127.0.0.1:5141\")",
                    ));
                }
                if let Some(a) = udp {
                    addr(a, key_at(&sec, "udp"), &mut errors);
                }
                if let Some(a) = tcp {
                    addr(a, key_at(&sec, "tcp"), &mut errors);
                }
            }
            SourceConfig::Stdin(_) => {}
        }
    }
    for sink in c.sinks.values() {
        match sink.get_ref() {
            SinkConfig::Clickhouse(trawl_sinks::ClickHouseSettings { url: u, .. })
            | SinkConfig::Elasticsearch(trawl_sinks::ElasticsearchSettings { url: u, .. })
            | SinkConfig::SplunkHec(trawl_sinks::SplunkHecSettings { url: u, .. }) => {
                url(u, key_at(&sink.span(), "url"), &mut errors)
            }
            SinkConfig::Files(_) | SinkConfig::Stdout(_) | SinkConfig::Kafka(_) => {}
        }
    }
    if let Some(r) = &c.state.redis {
        if !r.get_ref().starts_with("redis://") && !r.get_ref().starts_with("rediss://") {
            errors.push(at(text, &r.span(), "redis must be a redis:// URL"));
        }
    }
    if let Some(r) = &c.score.redis {
        if !r.get_ref().starts_with("redis://") && !r.get_ref().starts_with("rediss://") {
            errors.push(at(text, &r.span(), "redis must be a redis:// URL"));
        }
    }
    if let Some(m) = &c.score.model {
        if !m.get_ref().is_file() {
            errors.push(at(
                text,
                &m.span(),
                format!("model file {} not found", m.get_ref().display()),
            ));
        }
    }
    for f in c.intel.files.iter().chain(c.attribution.inventory.iter()) {
        if !f.get_ref().is_file() {
            errors.push(at(
                text,
                &f.span(),
                format!("{} not found", f.get_ref().display()),
            ));
        }
    }
    if let Some(l) = &c.metrics.listen {
        addr(l.get_ref(), l.span(), &mut errors);
    }
    errors.extend(super::alerts::check(&c.alerts, text));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_come_with_their_line() {
        let text = "[sources.z]\ntype = \"folder\"\npath = \"/nonexistent/zeek\"\n\n[sinks.out]\ntype = \"stdout\"\n\n[metrics]\nlisten = \"localhost\"\n";
        let errs = parse(text).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("not a folder"));
        assert_eq!(errs[1].line, 9);
    }

    #[test]
    fn unknown_keys_and_types_are_named() {
        let errs = parse("[sinks.out]\ntype = \"stdout\"\nformt = \"json\"\n").unwrap_err();
        assert_eq!(errs[0].line, 1, "{errs:?}");
        assert!(errs[0].message.contains("formt"), "{errs:?}");
        let errs = parse("[sources.a]\ntype = \"ftp\"\n").unwrap_err();
        assert!(errs[0].message.contains("ftp"), "{errs:?}");
    }
}

#[cfg(test)]
mod example {
    #[test]
    fn the_example_configuration_checks_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("trawl.example.toml")).unwrap();
        std::env::set_current_dir(&root).unwrap();
        let c = super::parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((c.sources.len(), c.sinks.len()), (1, 1));
    }
}
