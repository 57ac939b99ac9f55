//! Counters for the Prometheus `/metrics` endpoint, kept as atomics so the hot path only adds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A handle on one metric's value, cheap to clone; `K` ([`Count`] or [`Level`]) says whether
/// it only goes up ([`Counter::add`]) or is set ([`Gauge::set`]).
#[derive(Debug, Clone, Default)]
pub struct Handle<K>(Arc<AtomicU64>, PhantomData<K>);

/// Marks a [`Counter`].
#[derive(Debug, Clone, Default)]
pub struct Count;

/// Marks a [`Gauge`].
#[derive(Debug, Clone, Default)]
pub struct Level;

/// A counter handle; cheap to clone and to add to.
pub type Counter = Handle<Count>;

/// A gauge handle (a value that goes up and down, such as consumer lag).
pub type Gauge = Handle<Level>;

impl<K> Handle<K> {
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

type Key = (String, Vec<(String, String)>);

/// Metrics of one kind by name and labels, each with its help text.
type Table<K> = Mutex<BTreeMap<Key, (String, Handle<K>)>>;

/// Every counter and gauge of a run, by name and labels.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Table<Count>,
    gauges: Table<Level>,
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    (
        name.to_string(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The handle `name{labels}` of `table`, created on first use.
fn handle<K: Clone + Default>(
    table: &Table<K>,
    name: &str,
    help: &str,
    labels: &[(&str, &str)],
) -> Handle<K> {
    let mut m = table.lock().unwrap_or_else(|e| e.into_inner());
    m.entry(key(name, labels))
        .or_insert_with(|| (help.to_string(), Handle::default()))
        .1
        .clone()
}

impl Metrics {
    /// The counter `name{labels}`, created on first use; `help` is shown by Prometheus.
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        handle(&self.counters, name, help, labels)
    }

    /// The gauge `name{labels}`, created on first use.
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Gauge {
        handle(&self.gauges, name, help, labels)
    }

    /// The sum of every counter named `name`, whatever its labels.
    pub fn total(&self, name: &str) -> u64 {
        let m = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .filter(|((n, _), _)| n == name)
            .map(|(_, (_, c))| c.get())
            .sum()
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let gauges = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        let rows = counters
            .iter()
            .map(|(k, (h, c))| (k, h, "counter", c.get()))
            .chain(gauges.iter().map(|(k, (h, g))| (k, h, "gauge", g.get())));
        let mut last = String::new();
        for ((name, labels), help, kind, v) in rows {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                last = name.clone();
            }
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            if l.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{}}} {v}", l.join(","));
            }
        }
        out
    }
}

/// CPU seconds this process has used so far (user + system, from `/proc/self/stat`; 0 where
/// there is no procfs): for benchmarks that report CPU per record.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15,
    // in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<f64>().ok())
        .sum::<f64>()
        / 100.0
}
