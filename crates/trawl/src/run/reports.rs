//! `[reports]` in `trawl run`: each period's report is made once the period has ended (and
//! `delay` has passed for late records), sent to its destinations and written to `dir`.
//! What each destination got is kept in `reports.json` in the state folder, so a restart
//! catches up on periods it missed and never sends one twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;
use trawl_alert::dest::SendError;
use trawl_alert::Destination;
use trawl_query::scan::Progress;
use trawl_report::period::every_text;
use trawl_report::Period;
use trawl_stream::Shutdown;

use crate::cmd::report::now_secs;

use super::config::{Config, SourceConfig};

/// `[reports]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// Period lengths: `"1h"`, `"1d"`, or both as a list. Hours start on the hour, days at
    /// 00:00 UTC.
    pub every: Option<Every>,
    /// Destinations of `[alerts.destinations]` that get each report: email gets text and
    /// HTML, Slack a summary, a webhook or file the JSON.
    #[serde(default)]
    pub destinations: Vec<String>,
    /// A folder each report is written into, as `.txt`, `.html` and `.json`.
    pub dir: Option<PathBuf>,
    /// The logs to report on (default: the folder sources' folders, or the folders on the
    /// command line).
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// How long after a period ends its report is made: records of a period keep arriving
    /// a little after it (default `2m`).
    pub delay: Option<String>,
    /// At most this many missed periods are made after a restart (default 24; older ones
    /// are skipped with a warning).
    pub catch_up: Option<u32>,
}

/// One period length or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Every {
    One(String),
    Many(Vec<String>),
}

impl ReportsConfig {
    fn every(&self) -> Vec<&str> {
        match &self.every {
            None => Vec::new(),
            Some(Every::One(s)) => vec![s.as_str()],
            Some(Every::Many(v)) => v.iter().map(String::as_str).collect(),
        }
    }

    fn delay(&self) -> Result<i64, String> {
        match &self.delay {
            None => Ok(120),
            Some(d) => trawl_alert::duration::parse(d).map(|d| d.as_secs() as i64),
        }
    }
}

/// The mistakes in `[reports]`, each one line.
pub fn check(r: &ReportsConfig, c: &Config) -> Vec<String> {
    let mut errors = Vec::new();
    if r.every().is_empty() {
        errors.push("`every` is missing: say how often, e.g. every = \"1h\"".to_string());
    }
    for e in r.every() {
        if let Err(x) = trawl_report::parse_every(e) {
            errors.push(x.to_string());
        }
    }
    if let Err(e) = r.delay() {
        errors.push(format!("delay: {e}"));
    }
    for d in &r.destinations {
        if !c.alerts.destinations.contains_key(d) {
            errors.push(format!(
                "no destination named {d:?} in [alerts.destinations]"
            ));
        }
    }
    if r.destinations.is_empty() && r.dir.is_none() {
        errors.push("neither `destinations` nor `dir`: the reports would go nowhere".into());
    }
    errors
}

/// What was delivered: period length -> target -> end of the last period it got.
type State = BTreeMap<String, BTreeMap<String, i64>>;

enum Target {
    Dest(Box<dyn Destination>),
    Dir(PathBuf),
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Dest(d) => d.name().to_string(),
            // Not a destination's name: those are TOML keys of [alerts.destinations].
            Target::Dir(d) => format!("dir:{}", d.display()),
        }
    }
}

/// The report scheduler of a run.
pub struct Reports {
    every: Vec<i64>,
    targets: Vec<Target>,
    paths: Vec<PathBuf>,
    state_path: PathBuf,
    alerts_db: PathBuf,
    pdns_db: PathBuf,
    delay: i64,
    catch_up: i64,
}

/// The report task of a running `trawl run`.
pub struct Running {
    task: tokio::task::JoinHandle<()>,
    finish: Arc<tokio::sync::Notify>,
}

impl Running {
    /// The sources have ended (`--once`): makes the reports due now, waiting for a delivery
    /// under way rather than cutting it off, then stops.
    pub async fn finish(self) {
        self.finish.notify_one();
        let _ = self.task.await;
    }
}

impl Reports {
    /// The scheduler `[reports]` asks for (`None` without the section). `cli_paths` are the
    /// folders of a run without a configuration.
    pub fn new(cfg: &Config, state_dir: &Path, cli_paths: &[PathBuf]) -> Result<Option<Reports>> {
        let Some(r) = cfg.reports.as_ref().map(|r| r.get_ref()) else {
            return Ok(None);
        };
        let every = r
            .every()
            .iter()
            .map(|e| trawl_report::parse_every(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut targets = Vec::new();
        for name in &r.destinations {
            let d = cfg
                .alerts
                .destinations
                .get(name)
                .with_context(|| format!("reports: no destination named {name:?}"))?;
            targets.push(Target::Dest(
                trawl_alert::dest::build(name, d).map_err(|e| anyhow::anyhow!("{e}"))?,
            ));
        }
        if let Some(d) = &r.dir {
            targets.push(Target::Dir(d.clone()));
        }
        let mut paths = r.paths.clone();
        if paths.is_empty() {
            paths.extend(cfg.sources.values().filter_map(|s| match s.get_ref() {
                SourceConfig::Folder(f) => Some(f.path.clone()),
                _ => None,
            }));
            paths.extend(cli_paths.iter().cloned());
        }
        if paths.is_empty() {
            anyhow::bail!("reports: no folder to report on: set `paths` in [reports]");
        }
        Ok(Some(Reports {
            every,
            targets,
            paths,
            state_path: state_dir.join("reports.json"),
            alerts_db: super::alerts::store_path(&cfg.alerts, state_dir),
            pdns_db: cfg.pdns.store_path(state_dir),
            delay: r
                .delay()
                .map_err(|e| anyhow::anyhow!("reports: delay: {e}"))?,
            catch_up: i64::from(r.catch_up.unwrap_or(24)),
        }))
    }

    /// Runs beside the pipeline until `shutdown` (stops at once) or [`Running::finish`].
    pub fn start(self, shutdown: Shutdown) -> Running {
        let finish = Arc::new(tokio::sync::Notify::new());
        let finishing = finish.clone();
        let task = tokio::spawn(async move {
            let me = Arc::new(self);
            let mut state: State = std::fs::read(&me.state_path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let mut backoff: BTreeMap<String, (i64, u64)> = BTreeMap::new();
            loop {
                me.tick(&mut state, &mut backoff).await;
                tokio::select! {
                    _ = shutdown.wait() => return,
                    _ = finishing.notified() => {
                        me.tick(&mut state, &mut backoff).await;
                        return;
                    }
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        Running { task, finish }
    }

    fn save(&self, state: &State) {
        let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
        if let Err(e) = crate::cmd::report::write_atomic(&self.state_path, &bytes) {
            tracing::error!("reports: {e:#}");
        }
    }

    /// Makes and delivers every report that is due.
    async fn tick(self: &Arc<Self>, state: &mut State, backoff: &mut BTreeMap<String, (i64, u64)>) {
        let now = now_secs();
        for &every in &self.every {
            let due_end = Period::last_complete(now - self.delay, every).end;
            let key = every_text(every);
            let done = state.entry(key.clone()).or_default();
            let mut changed = false;
            for t in &self.targets {
                // A new target starts with the period in progress, not with the past.
                done.entry(t.name()).or_insert_with(|| {
                    changed = true;
                    due_end
                });
            }
            if changed {
                self.save(state);
            }
            let oldest = state[&key].values().copied().min().unwrap_or(due_end);
            let mut start = oldest;
            if due_end - oldest > self.catch_up * every {
                start = due_end - self.catch_up * every;
                tracing::warn!(
                    "reports: {} {key} periods missed since {}: only the last {} are made",
                    (due_end - oldest) / every,
                    trawl_report::period::rfc3339(oldest),
                    self.catch_up
                );
            }
            let mut p = Period {
                start,
                end: start + every,
            };
            while p.end <= due_end {
                let waiting: Vec<&Target> = self
                    .targets
                    .iter()
                    .filter(|t| state[&key][&t.name()] < p.end)
                    .filter(|t| backoff.get(&t.name()).is_none_or(|b| b.0 <= now))
                    .collect();
                if !waiting.is_empty() {
                    self.deliver(p, &key, &waiting, state, backoff).await;
                }
                p = p.next();
            }
        }
    }

    async fn deliver(
        self: &Arc<Self>,
        p: Period,
        key: &str,
        targets: &[&Target],
        state: &mut State,
        backoff: &mut BTreeMap<String, (i64, u64)>,
    ) {
        let me = self.clone();
        let made = tokio::task::spawn_blocking(move || {
            crate::cmd::report::make(
                &me.paths,
                p,
                None,
                [Some(&me.alerts_db), Some(&me.pdns_db)],
                Progress::Off,
            )
        })
        .await;
        let report = match made {
            Ok(Ok((r, _))) => r,
            Ok(Err(e)) => {
                tracing::error!("reports: the {key} report of {p}: {e:#}");
                return;
            }
            Err(e) => {
                tracing::error!("reports: the {key} report of {p}: {e}");
                return;
            }
        };
        let msg = trawl_report::render::message(&report, &crate::cmd::report::report_id(p));
        for t in targets {
            let name = t.name();
            let outcome = match t {
                Target::Dest(d) => d.send_report(&msg).await,
                Target::Dir(dir) => write_dir(dir, key, p, &msg)
                    .map_err(|e| SendError::Retry(format!("{e:#}"), None)),
            };
            match outcome {
                Ok(()) => {
                    tracing::info!("reports: the {key} report of {p} went to {name}");
                    backoff.remove(&name);
                }
                Err(SendError::Refused(why)) => {
                    tracing::error!("reports: {name} refused the {key} report of {p}: {why}");
                }
                Err(SendError::Retry(why, after)) => {
                    let tries = backoff.get(&name).map_or(0, |b| b.1) + 1;
                    let wait = after
                        .map_or_else(|| (2i64 << tries.min(8)).min(300), |d| d.as_secs() as i64);
                    tracing::warn!(
                        "reports: the {key} report of {p} did not reach {name} ({why}); again in {wait} s"
                    );
                    backoff.insert(name, (now_secs() + wait, tries));
                    continue;
                }
            }
            if let Some(d) = state.get_mut(key) {
                d.insert(name, p.end);
            }
            let snapshot = state.clone();
            self.save(&snapshot);
        }
    }
}

fn write_dir(
    dir: &Path,
    key: &str,
    p: Period,
    msg: &trawl_alert::dest::ReportMessage,
) -> Result<()> {
    let fmt = if p.len() % 60 == 0 {
        "%Y-%m-%dT%H%MZ"
    } else {
        "%Y-%m-%dT%H%M%SZ"
    };
    let stamp = chrono::DateTime::from_timestamp(p.start, 0)
        .map(|d| d.format(fmt).to_string())
        .unwrap_or_else(|| p.start.to_string());
    let base = dir.join(format!("report-{key}-{stamp}"));
    let json = serde_json::to_vec_pretty(&msg.json)?;
    crate::cmd::report::write_atomic(&base.with_extension("json"), &json)?;
    crate::cmd::report::write_atomic(&base.with_extension("html"), msg.html.as_bytes())?;
    crate::cmd::report::write_atomic(&base.with_extension("txt"), msg.text.as_bytes())?;
    Ok(())
}
