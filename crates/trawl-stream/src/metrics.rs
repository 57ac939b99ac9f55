//! Counters for the Prometheus `/metrics` endpoint, kept as atomics so the hot path only adds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A counter handle; cheap to clone and to add to.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge handle (a value that goes up and down, such as consumer lag).
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

type Key = (String, Vec<(String, String)>);

/// Every counter and gauge of a run, by name and labels.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<Key, (String, Counter)>>,
    gauges: Mutex<BTreeMap<Key, (String, Gauge)>>,
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

impl Metrics {
    /// The counter `name{labels}`, created on first use; `help` is shown by Prometheus.
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        let mut m = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(key(name, labels))
            .or_insert_with(|| (help.to_string(), Counter::default()))
            .1
            .clone()
    }

    /// The gauge `name{labels}`, created on first use.
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Gauge {
        let mut m = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(key(name, labels))
            .or_insert_with(|| (help.to_string(), Gauge::default()))
            .1
            .clone()
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
