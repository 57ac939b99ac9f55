//! `trawl run`: builds the pipeline from the configuration (or from the command line) and runs
//! it until the input ends (`--once`) or SIGINT/SIGTERM, then drains, commits and flushes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use trawl_enrich::{EnrichConfig, Enricher, Intel, Inventory, ModelRef, RedisConfig};
use trawl_stream::files::{Declared, OutputFormat};
use trawl_stream::folder::FolderSource;
use trawl_stream::settings;
use trawl_stream::{Metrics, Pipeline, Shutdown, Sink, Source};

use super::config::{self, Config, SinkConfig, SourceConfig};
use trawl_enrich::Enrich;

/// Output format of enriched logs.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RunFormat {
    /// Zeek TSV for TSV input (added columns declared in #fields/#types), JSON otherwise.
    Same,
    /// Everything as Zeek TSV.
    Zeek,
    /// Everything as Zeek JSON.
    Json,
}

/// Arguments of `trawl run`.
#[derive(Args, Debug)]
#[command(
    after_help = "Without --config, trawl follows the given Zeek log folders (current/ through hourly
rotation) and writes enriched logs beside each, in FOLDER.trawl/ (or --out DIR), with the input's
file names and format: no service needed. With --config, sources and sinks come from the file
(see trawl.example.toml; check it with `trawl config check FILE`).

Examples:
  trawl run --once samples/zeek --out /tmp/enriched    enrich what is there, then exit
  trawl run /nsm/zeek/logs                             follow, write to /nsm/zeek/logs.trawl/
  trawl run --config /etc/trawl/trawl.toml             Kafka, syslog, ClickHouse ...

Every record gets phish_score/dga_score (DNS), mac/workstation (any record with an originator
address, from DHCP leases valid at the record's own ts) and intel hits. Positions are committed
only after every sink wrote a batch: a restart resumes where the last commit stopped."
)]
pub struct RunArgs {
    /// A configuration file (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Zeek log folders (or files) to enrich when no configuration is given.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Process what is there now, write it, and exit (no following).
    #[arg(long)]
    pub once: bool,

    /// Where enriched logs go [default: FOLDER.trawl beside the first folder].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Output format of enriched logs.
    #[arg(long, value_enum, default_value = "same")]
    pub format: RunFormat,

    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Log as JSON lines instead of text (level with TRAWL_LOG, e.g. TRAWL_LOG=debug).
    #[arg(long)]
    pub log_json: bool,

    /// Keep the passive DNS store (pdns.sqlite in the state folder; `[pdns] enabled = true` in
    /// a configuration); query it with `trawl pdns`.
    #[arg(long)]
    pub pdns: bool,
}

/// Runs `trawl run`.
pub fn run(args: RunArgs) -> Result<i32> {
    init_logs(args.log_json);
    let (cfg, base) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let cfg = config::parse(&text).map_err(|errs| {
                let lines: Vec<String> = errs
                    .iter()
                    .map(|e| format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))
                    .collect();
                anyhow::anyhow!("the configuration has mistakes:\n{}", lines.join("\n"))
            })?;
            (cfg, None)
        }
        None => {
            if args.paths.is_empty() {
                bail!("give Zeek log folders to enrich, or --config FILE (see `trawl run --help`)");
            }
            let out = match &args.out {
                Some(o) => o.clone(),
                None => beside(&args.paths[0])?,
            };
            (Config::default(), Some(out))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args, cfg, base))
}

fn beside(path: &Path) -> Result<PathBuf> {
    let abs = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "logs".into());
    Ok(abs.with_file_name(format!("{name}.trawl")))
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAWL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal, never into a journal or a log file.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

async fn run_async(args: RunArgs, cfg: Config, default_out: Option<PathBuf>) -> Result<i32> {
    let metrics = Arc::new(Metrics::default());
    let shutdown = Shutdown::default();
    shutdown.on_signals();
    // With alert rules, smaller batches: a source that never goes quiet (stdin) fills a whole
    // batch before the rules see its first record (10,000 at 10,000 records/s: 1 s).
    let batch_size = cfg.batch_size.unwrap_or(if cfg.alerts.rules.is_empty() {
        10_000
    } else {
        1_000
    });
    let state_dir = match (&cfg.state_dir, &default_out) {
        (Some(d), _) => d.get_ref().clone(),
        (None, Some(out)) => out.join(".trawl"),
        (None, None) => PathBuf::from("trawl-state"),
    };
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;

    let mut pipeline = Pipeline::new(metrics.clone());
    let mut json_out = false;
    // File outputs declare what enrichment adds before their first row; the enricher is
    // built once every sink is known (JSON outputs turn reasons on), before any is written.
    let schema = Arc::new(std::sync::OnceLock::<trawl_enrich::Schema>::new());
    let declared = {
        let schema = schema.clone();
        Declared(Arc::new(move |log_type: &str, own: &[String]| {
            schema.get().map_or_else(Vec::new, |s| {
                s.declared(log_type, own)
                    .into_iter()
                    .map(|(n, t)| (n.to_string(), t))
                    .collect()
            })
        }))
    };
    let ctx = settings::Context {
        batch_size,
        state_dir: &state_dir,
        once: args.once,
        metrics: &metrics,
    };
    if let Some(out) = &default_out {
        for (i, path) in args.paths.iter().enumerate() {
            let c = settings::folder_config(path, args.once, i, &ctx);
            let s =
                FolderSource::new(c, &metrics).with_context(|| format!("{}", path.display()))?;
            pipeline = pipeline.source(Box::new(s));
        }
        let format = match args.format {
            RunFormat::Same => OutputFormat::Native,
            RunFormat::Zeek => OutputFormat::Tsv,
            RunFormat::Json => OutputFormat::Json,
        };
        json_out = matches!(args.format, RunFormat::Json);
        let files = settings::FilesSettings {
            dir: out.clone(),
            format,
        };
        pipeline = pipeline.sink(Box::new(files.build(declared.clone(), &ctx)?));
        eprintln!("trawl run: writing enriched logs under {}", out.display());
    }
    for (i, (name, src)) in cfg.sources.iter().enumerate() {
        let what = || format!("source {name}");
        let s: Box<dyn Source> = match src.get_ref() {
            SourceConfig::Folder(f) => Box::new(f.build(i, &ctx).with_context(what)?),
            SourceConfig::Stdin(s) => Box::new(s.build(&ctx).with_context(what)?),
            SourceConfig::Syslog(s) => Box::new(s.build(&ctx).await.with_context(what)?),
            SourceConfig::Kafka(k) => {
                Box::new(k.build(batch_size, metrics.clone()).with_context(what)?)
            }
        };
        pipeline = pipeline.source(s);
    }
    for (name, sink) in &cfg.sinks {
        let s: Box<dyn Sink> = match sink.get_ref() {
            SinkConfig::Files(f) => {
                json_out |= f.format == OutputFormat::Json;
                let sink = f.build(declared.clone(), &ctx);
                Box::new(sink.with_context(|| format!("sink {name}"))?)
            }
            SinkConfig::Stdout(o) => {
                json_out |= o.format == OutputFormat::Json;
                Box::new(o.build())
            }
            SinkConfig::Kafka(k) => {
                json_out = true;
                Box::new(
                    k.build(metrics.clone())
                        .with_context(|| format!("sink {name}"))?,
                )
            }
            // The HTTP sinks retry, spool and dead-letter under the state folder.
            SinkConfig::Clickhouse(c) => {
                json_out = true;
                http_sink(
                    name,
                    c.build(http_options(&state_dir, name), Some(&metrics)),
                )?
            }
            SinkConfig::Elasticsearch(c) => {
                json_out = true;
                http_sink(
                    name,
                    c.build(http_options(&state_dir, name), Some(&metrics)),
                )?
            }
            SinkConfig::SplunkHec(c) => {
                json_out = true;
                http_sink(
                    name,
                    c.build(http_options(&state_dir, name), Some(&metrics)),
                )?
            }
        };
        pipeline = pipeline.sink(s);
    }

    // Alert rules may ask `local()`, `network()`, `direction()`.
    trawl_query::set_networks(cfg.networks.networks(None)?);
    let enricher = enricher(&cfg, &state_dir, json_out)?;
    let _ = schema.set(enricher.schema());
    let mut enrich = Enrich::new(enricher, &metrics);
    if let Some(url) = &cfg.state.redis {
        let prefix = cfg.state.prefix.as_deref().unwrap_or("trawl");
        let shared =
            trawl_enrich::SharedLeases::new(&RedisConfig::new(url.get_ref().clone()), prefix)
                .map_err(|e| anyhow::anyhow!("[state] redis: {e}"))?;
        enrich = enrich.with_shared(shared);
    }
    pipeline = pipeline.transform(Arc::new(enrich));
    // Off unless asked for: on names that rarely repeat, SQLite's upserts cost more than
    // the rest of the pipeline (see the README's passive DNS section).
    if args.pdns || cfg.pdns.enabled == Some(true) {
        let path = cfg.pdns.store_path(&state_dir);
        let store = trawl_pdns::Store::open(&path)?;
        let step = Arc::new(trawl_pdns::PdnsStep::new(
            store,
            cfg.pdns.max_clients(),
            cfg.pdns.flush_every(),
            &metrics,
        ));
        pipeline = pipeline.transform(step.clone());
        // Answers of a feed that went quiet are written when due, not at the next batch.
        let stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.wait() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => step.flush_if_due(),
                }
            }
        });
    }
    // Alert rules run on enriched records; delivery runs beside the pipeline.
    let shared_names = match &cfg.state.redis {
        Some(url) => Some(
            trawl_enrich::SharedNames::new(
                &RedisConfig::new(url.get_ref().clone()),
                cfg.state.prefix.as_deref().unwrap_or("trawl"),
            )
            .map_err(|e| anyhow::anyhow!("[state] redis: {e}"))?,
        ),
        None => None,
    };
    let alerting = super::alerts::Alerting::start(&cfg.alerts, &state_dir, &metrics, shared_names)?;
    if let Some(a) = &alerting {
        pipeline = pipeline.transform(a.transform());
        a.tick_every_second(shutdown.clone());
    }

    if let Some(addr) = args
        .metrics
        .clone()
        .or_else(|| cfg.metrics.listen.as_ref().map(|l| l.get_ref().clone()))
    {
        serve_metrics(&addr, metrics.clone(), shutdown.clone()).await?;
    }
    let reports = super::reports::Reports::new(&cfg, &state_dir, &args.paths)?;
    if reports.is_some() {
        trawl_query::set_site(crate::inputs::site_of(&[], Some(&cfg.networks))?);
    }
    let reports = reports.map(|r| r.start(shutdown.clone()));
    let started = std::time::Instant::now();
    let summary = pipeline.run(shutdown).await?;
    if let Some(r) = reports {
        r.finish().await;
    }
    if let Some(a) = alerting {
        a.finish().await;
    }
    let secs = started.elapsed().as_secs_f64();
    let problems = metrics.total("trawl_source_errors_total");
    eprintln!(
        "trawl run: {} records in {} batches, {:.1} s ({:.0} records/s){}",
        crate::report::thousands(summary.records),
        summary.batches,
        secs,
        summary.records as f64 / secs.max(1e-9),
        match problems {
            0 => String::new(),
            1 => ", 1 problem (reported above)".to_string(),
            n => format!(
                ", {} problems (reported above)",
                crate::report::thousands(n)
            ),
        }
    );
    Ok(0)
}

/// A built HTTP sink, or the reason it could not be built.
fn http_sink<S: Sink + 'static>(
    name: &str,
    built: Result<S, trawl_sinks::SinkError>,
) -> Result<Box<dyn Sink>> {
    Ok(Box::new(built.with_context(|| format!("sink {name}"))?))
}

/// Retries, then a spool and a dead-letter file under the state folder, per sink.
fn http_options(state: &Path, name: &str) -> trawl_sinks::HttpOptions {
    trawl_sinks::HttpOptions {
        spool: Some(trawl_sinks::SpoolOptions::new(
            state.join("spool").join(name),
        )),
        dead_letter: Some(state.join(format!("dead-letter-{name}.ndjson"))),
        ..trawl_sinks::HttpOptions::default()
    }
}

pub(crate) fn enricher(cfg: &Config, state: &Path, reasons: bool) -> Result<Enricher> {
    let model = match &cfg.score.model {
        Some(p) => ModelRef::Shared(Arc::new(
            trawl_score::Model::load(p.get_ref())
                .with_context(|| format!("model {}", p.get_ref().display()))?,
        )),
        None => ModelRef::Static(trawl_score::Model::builtin().context("the built-in model")?),
    };
    let mut intel = None;
    for f in &cfg.intel.files {
        let i = intel.get_or_insert_with(Intel::new);
        i.load(f.get_ref())
            .with_context(|| format!("intel {}", f.get_ref().display()))?;
    }
    let inventory = match &cfg.attribution.inventory {
        Some(p) => Some(
            Inventory::load(p.get_ref())
                .with_context(|| format!("inventory {}", p.get_ref().display()))?,
        ),
        None => None,
    };
    let mut attribution = trawl_enrich::AttributionConfig::default();
    if let Some(s) = cfg.attribution.default_lease {
        attribution.default_lease = Duration::from_secs(s);
    }
    let redis = cfg.score.redis.as_ref().map(|r| {
        let mut c = RedisConfig::new(r.get_ref().clone());
        if let Some(ttl) = cfg.score.redis_ttl {
            c.ttl = Some(Duration::from_secs(ttl));
        }
        c
    });
    Ok(Enricher::new(EnrichConfig {
        reasons,
        model: Some(model),
        site: cfg.networks.site()?,
        cache_capacity: cfg.score.cache_size.unwrap_or(100_000),
        redis,
        attribution,
        store: Some(state.join("hosts.sqlite")),
        inventory,
        intel,
        ..EnrichConfig::default()
    })?)
}

async fn serve_metrics(addr: &str, metrics: Arc<Metrics>, shutdown: Shutdown) -> Result<()> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("metrics: cannot listen on {addr}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move { ([("content-type", "text/plain; version=0.0.4")], m.render()) }
        }),
    );
    tracing::info!(%addr, "serving /metrics");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await;
    });
    Ok(())
}
