//! The enrichment transform: trawl-enrich's scores, host attribution and intel, applied to
//! pipeline events.

use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use trawl_enrich::Enricher;
use trawl_stream::metrics::{Counter, Gauge};
use trawl_stream::{Event, Metrics, Projection, Transform};
use trawl_zeek::Record;

/// Fields scoring and host attribution read; a raw TSV row is parsed for these only.
/// With intel on, whole records are used (intel looks at many more fields).
const READ: &[&str] = &[
    "ts",
    "query",
    "id.orig_h",
    "client_addr",
    "assigned_addr",
    "assigned_ip",
    "requested_addr",
    "mac",
    "host_name",
    "dhcp_host_name",
    "lease_time",
    "msg_types",
];

/// Scores, attribution and intel as a pipeline step.
pub struct Enrich {
    inner: Mutex<(Enricher, Projection)>,
    whole_records: bool,
    m: EnrichMetrics,
}

/// Cache hit rate and scoring latency, for `/metrics`.
struct EnrichMetrics {
    records: Counter,
    micros: Counter,
    hits: Gauge,
    misses: Gauge,
    shared_hits: Gauge,
    shared_misses: Gauge,
    scored: Gauge,
}

impl EnrichMetrics {
    fn new(m: &Metrics) -> Self {
        let g = |name: &str, help: &str, cache: &str| m.gauge(name, help, &[("cache", cache)]);
        EnrichMetrics {
            records: m.counter("trawl_enrich_records_total", "Records enriched.", &[]),
            micros: m.counter(
                "trawl_enrich_microseconds_total",
                "Time spent enriching (scores, attribution, intel); divided by trawl_enrich_records_total, the latency per record.",
                &[],
            ),
            hits: g("trawl_score_cache_hits", "Score cache hits so far.", "local"),
            misses: g("trawl_score_cache_misses", "Score cache misses so far.", "local"),
            shared_hits: g("trawl_score_cache_hits", "Score cache hits so far.", "redis"),
            shared_misses: g("trawl_score_cache_misses", "Score cache misses so far.", "redis"),
            scored: m.gauge("trawl_scored_names", "Names run through the model so far.", &[]),
        }
    }
}

impl Enrich {
    /// Wraps an enricher; `intel` says whether it matches intel (which reads whole records).
    pub fn new(enricher: Enricher, intel: bool, metrics: &Metrics) -> Self {
        Enrich {
            inner: Mutex::new((enricher, Projection::new(READ))),
            whole_records: intel,
            m: EnrichMetrics::new(metrics),
        }
    }

    fn run(&self, events: &mut [Event]) {
        let started = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (enricher, projection) = &mut *inner;
        let records: Vec<Record<'static>> = events
            .iter()
            .map(|e| {
                if self.whole_records {
                    e.to_record()
                } else {
                    e.project_with(projection)
                }
            })
            .collect();
        for (event, extra) in events.iter_mut().zip(enricher.enrich_batch(&records)) {
            event.extra.extend(extra);
        }
        if let Some(st) = enricher.scorer_stats() {
            self.m.hits.set(st.local.hits);
            self.m.misses.set(st.local.misses);
            if let Some(sh) = st.shared {
                self.m.shared_hits.set(sh.hits);
                self.m.shared_misses.set(sh.misses);
            }
            self.m.scored.set(st.scored);
        }
        self.m.records.add(events.len() as u64);
        self.m.micros.add(started.elapsed().as_micros() as u64);
    }
}

#[async_trait]
impl Transform for Enrich {
    fn name(&self) -> &str {
        "enrich"
    }

    async fn apply(&self, events: &mut [Event]) {
        // Scoring is CPU work and a Redis cache answers synchronously: keep the runtime free.
        tokio::task::block_in_place(|| self.run(events));
    }

    async fn committed(&self) {
        tokio::task::block_in_place(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = inner.0.save() {
                tracing::warn!(error = %e, "could not save host attribution state");
            }
        });
    }
}
