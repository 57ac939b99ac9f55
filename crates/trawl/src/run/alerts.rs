//! Alerts in `trawl run`: the `[alerts]` part of the configuration (rules and destinations,
//! see trawl-alert), checked with the rest, and the pipeline step that runs the rules over
//! every enriched record and hands what fires to the delivery tasks.
//!
//! The step writes each alert to the store's outbox and wakes the destinations' tasks; it
//! never waits for a destination, so a slow or dead one cannot hold the pipeline up.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use trawl_alert::{AlertsConfig, Clock, DeliveryOptions, Dispatcher, Engine, Store};
use trawl_stream::metrics::{Counter, Gauge};
use trawl_stream::{Event, Metrics, Projection, Shutdown, Transform};
use trawl_zeek::Record;

use super::config::ConfigError;

/// The alert store's file: `[alerts] store`, or `alerts.sqlite` in the state folder.
pub fn store_path(cfg: &AlertsConfig, state_dir: &Path) -> PathBuf {
    cfg.store
        .clone()
        .unwrap_or_else(|| state_dir.join("alerts.sqlite"))
}

/// First-seen domains kept in Redis for the whole consumer group (`[state] redis`).
struct Seen(trawl_enrich::SharedNames);

impl trawl_alert::SharedSeen for Seen {
    fn first_seen(&mut self, name: &str, ts: f64, host: Option<&str>) -> Result<bool, String> {
        self.0.first_seen(name, ts, host)
    }
}

/// Checks the `[alerts]` part: rules compile (conditions in the query language), templates
/// parse, destinations are complete. Secrets are not read here (the machine that checks may
/// not have them). Each mistake is placed at its section's key.
pub fn check(cfg: &AlertsConfig, text: &str) -> Vec<ConfigError> {
    if cfg.rules.is_empty() && cfg.destinations.is_empty() {
        return Vec::new();
    }
    let mut errors = Vec::new();
    let store = match Store::in_memory() {
        Ok(s) => s,
        Err(e) => {
            errors.push(ConfigError {
                line: 1,
                column: 1,
                message: e.to_string(),
            });
            return errors;
        }
    };
    if let Err(errs) = Engine::new(cfg, store, trawl_alert::routes(cfg), Clock::Wall) {
        for e in errs {
            errors.push(place(text, &e));
        }
    }
    for (name, d) in &cfg.destinations {
        if let Err(e) = trawl_alert::dest::check(name, d) {
            errors.push(place(text, &e));
        }
    }
    errors
}

/// Finds the line of `[alerts.SECTION]`'s `key` (or the section header, or `[alerts]`).
fn place(text: &str, e: &trawl_alert::ConfigError) -> ConfigError {
    let header = if e.section.is_empty() {
        "[alerts]".to_string()
    } else {
        format!("[alerts.{}]", e.section)
    };
    let mut line_no = 1;
    let mut found = None;
    let mut in_section = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_section = t.starts_with(&header);
            if in_section && found.is_none() {
                found = Some(i + 1);
            }
        } else if in_section
            && t.strip_prefix(e.key.as_str())
                .is_some_and(|r| r.trim_start().starts_with('='))
        {
            found = Some(i + 1);
            break;
        }
    }
    if let Some(l) = found {
        line_no = l;
    }
    // Query errors span lines (the text, a caret, a hint): keep them, indented.
    let message = format!("{}: {}", e.key, e.message.replace('\n', "\n    "));
    ConfigError {
        line: line_no,
        column: 1,
        message,
    }
}

/// Alerting for one `trawl run`: the rules' step and the delivery tasks.
pub struct Alerting {
    step: Arc<AlertStep>,
    dispatcher: Arc<Dispatcher>,
    drain: Duration,
}

impl Alerting {
    /// Sets alerting up from `[alerts]`; `None` when there are no rules.
    pub fn start(
        cfg: &AlertsConfig,
        state_dir: &Path,
        metrics: &Metrics,
        shared: Option<trawl_enrich::SharedNames>,
    ) -> Result<Option<Alerting>> {
        if cfg.rules.is_empty() {
            return Ok(None);
        }
        let path = store_path(cfg, state_dir);
        let store =
            Store::open(&path).with_context(|| format!("alert store {}", path.display()))?;
        let dests = trawl_alert::destinations(cfg).map_err(errors)?;
        let mut engine = Engine::new(cfg, store.clone(), trawl_alert::routes(cfg), Clock::Wall)
            .map_err(errors)?;
        if let Some(s) = shared {
            engine = engine.with_shared_seen(Box::new(Seen(s)));
        }
        let opts = DeliveryOptions {
            max_backoff: cfg.retry_max.unwrap_or(Duration::from_secs(30)),
            ..DeliveryOptions::default()
        };
        let dispatcher = Arc::new(Dispatcher::start(store, dests, opts));
        let step = Arc::new(AlertStep::new(
            engine,
            Output::Dispatch(dispatcher.clone()),
            &trawl_alert::template_fields(cfg),
            metrics,
        ));
        tracing::info!(rules = cfg.rules.len(), destinations = cfg.destinations.len(), store = %path.display(), "alerting on");
        Ok(Some(Alerting {
            step,
            dispatcher,
            drain: cfg.drain_timeout.unwrap_or(Duration::from_secs(30)),
        }))
    }

    /// The pipeline step (after enrichment).
    pub fn transform(&self) -> Arc<dyn Transform> {
        self.step.clone()
    }

    /// Closes aggregation windows and sends the digests due, once a second; keeps the
    /// metrics current.
    pub fn tick_every_second(&self, shutdown: Shutdown) {
        let step = self.step.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = t.tick() => step.tick(),
                    _ = shutdown.wait() => return,
                }
            }
        });
    }

    /// End of the run: summaries of open windows go out, then delivery gets `drain_timeout`
    /// to empty the outbox; what is left waits there for the next run.
    pub async fn finish(self) {
        self.step.finish();
        let ok = self.dispatcher.drain(self.drain).await;
        self.step.update_metrics();
        if !ok {
            let n = self.dispatcher.pending();
            eprintln!(
                "trawl run: {} not delivered yet; {} in the outbox and sent by the next run",
                trawl_alert::alert::plural(n, "alert", "alerts"),
                if n == 1 { "it stays" } else { "they stay" }
            );
        }
        if let Ok(d) = Arc::try_unwrap(self.dispatcher) {
            d.stop().await;
        }
    }
}

fn errors(errs: Vec<trawl_alert::ConfigError>) -> anyhow::Error {
    let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    anyhow::anyhow!("alerts: {}", lines.join("\n"))
}

/// Where fired alerts go.
pub enum Output {
    /// To the delivery tasks (they are already in the outbox: wake the tasks).
    Dispatch(Arc<Dispatcher>),
    /// Printed as JSON lines (`trawl alert test`).
    Print,
}

/// The rules as a pipeline step.
pub struct AlertStep {
    /// Some rule carries whole records (`fields = ["*"]`): no projection.
    whole: bool,
    inner: Mutex<(Engine, Projection)>,
    output: Output,
    m: AlertMetrics,
}

struct AlertMetrics {
    records: Counter,
    fired: Gauge,
    muted: Gauge,
    deduplicated: Gauge,
    aggregated: Gauge,
    digests: Gauge,
    outbox: Gauge,
    per_dest: Vec<(Gauge, Gauge, Gauge)>,
}

impl AlertStep {
    /// A step running `engine`'s rules; `extra` fields are read too (destination templates).
    pub fn new(engine: Engine, output: Output, extra: &[String], metrics: &Metrics) -> AlertStep {
        // Projection names live as long as the process: a handful, from the configuration.
        let names: Vec<&'static str> = engine
            .reads(extra)
            .into_iter()
            .map(|s| &*Box::leak(s.into_boxed_str()))
            .collect();
        let g = |n: &str, h: &str| metrics.gauge(n, h, &[]);
        let per_dest = match &output {
            Output::Dispatch(d) => d
                .stats()
                .iter()
                .map(|(name, _)| {
                    let l = [("destination", *name)];
                    (
                        metrics.gauge("trawl_alert_sent", "Alerts a destination accepted.", &l),
                        metrics.gauge(
                            "trawl_alert_retries",
                            "Failed delivery attempts (retried).",
                            &l,
                        ),
                        metrics.gauge(
                            "trawl_alert_refused",
                            "Alerts a destination refused for good.",
                            &l,
                        ),
                    )
                })
                .collect(),
            Output::Print => Vec::new(),
        };
        let whole = names.contains(&"*");
        AlertStep {
            whole,
            inner: Mutex::new((engine, Projection::new(&names))),
            output,
            m: AlertMetrics {
                records: metrics.counter(
                    "trawl_alert_records_total",
                    "Records the alert rules looked at.",
                    &[],
                ),
                fired: g("trawl_alerts_fired", "Alerts fired (summaries included)."),
                muted: g("trawl_alerts_muted", "Rule matches silenced by a mute."),
                deduplicated: g(
                    "trawl_alerts_deduplicated",
                    "Rule matches inside their key's quiet window.",
                ),
                aggregated: g("trawl_alerts_aggregated", "Alerts folded into a summary."),
                digests: g(
                    "trawl_alert_digests",
                    "Digests of the repeats inside dedup windows sent (one per rule and period).",
                ),
                outbox: g(
                    "trawl_alert_outbox_pending",
                    "Alerts waiting in the outbox.",
                ),
                per_dest,
            },
        }
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, (Engine, Projection)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the rules over a batch (synchronously).
    pub fn run(&self, events: &[Event]) {
        let mut inner = self.engine();
        let (engine, projection) = &mut *inner;
        // A mute written by `trawl alert mute` counts from this batch on.
        engine.refresh_mutes();
        // One store transaction for the batch, committed before delivery is woken.
        engine.begin_batch();
        let mut fired = 0;
        for e in events {
            // Added fields are part of either form.
            let rec: Record<'static> = if self.whole {
                e.to_record()
            } else {
                let mut r = e.project_with(projection);
                r.fields.extend(e.extra.iter().cloned());
                r
            };
            let alerts = engine.process(&rec);
            fired += alerts.len();
            if let Output::Print = self.output {
                print(&alerts);
            }
        }
        engine.end_batch();
        drop(inner);
        self.m.records.add(events.len() as u64);
        if fired > 0 {
            if let Output::Dispatch(d) = &self.output {
                d.wake();
            }
        }
    }

    fn tick(&self) {
        let summaries = self.engine().0.tick(trawl_alert::alert::now());
        self.emit(summaries);
        self.update_metrics();
    }

    /// Closes every aggregation window (end of input) and saves learnt state.
    pub fn finish(&self) {
        let summaries = self.engine().0.finish();
        self.emit(summaries);
    }

    fn emit(&self, alerts: Vec<trawl_alert::Alert>) {
        if alerts.is_empty() {
            return;
        }
        match &self.output {
            Output::Print => print(&alerts),
            Output::Dispatch(d) => d.wake(),
        }
    }

    fn update_metrics(&self) {
        let s = self.engine().0.stats();
        self.m.fired.set(s.fired);
        self.m.muted.set(s.muted);
        self.m.deduplicated.set(s.deduplicated);
        self.m.aggregated.set(s.aggregated);
        self.m.digests.set(s.digests);
        if let Output::Dispatch(d) = &self.output {
            self.m.outbox.set(d.pending());
            for ((sent, retries, refused), (_, st)) in self.m.per_dest.iter().zip(d.stats()) {
                use std::sync::atomic::Ordering::Relaxed;
                sent.set(st.sent.load(Relaxed));
                retries.set(st.retries.load(Relaxed));
                refused.set(st.refused.load(Relaxed));
            }
        }
    }

    /// What the engine did.
    pub fn stats(&self) -> trawl_alert::Stats {
        self.engine().0.stats()
    }
}

fn print(alerts: &[trawl_alert::Alert]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for a in alerts {
        let _ = writeln!(out, "{}", a.to_json_line());
    }
}

#[async_trait]
impl Transform for AlertStep {
    fn name(&self) -> &str {
        "alerts"
    }

    async fn apply(&self, events: &mut [Event]) {
        // SQLite writes and rule evaluation are blocking work: keep the runtime free.
        tokio::task::block_in_place(|| self.run(events));
    }

    async fn committed(&self) {
        tokio::task::block_in_place(|| self.engine().0.save());
    }
}
