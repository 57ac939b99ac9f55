//! The enrichment step of `trawl run` (a trawl-stream [`Transform`]): scores, host attribution
//! and intel applied to pipeline events, reading raw TSV rows and JSON lines for the few fields
//! it needs.

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::Instant;

use crate::{addr_value, time_value, Enricher, Parts, SharedLeases};
use async_trait::async_trait;
use trawl_stream::metrics::{Counter, Gauge};
use trawl_stream::{Body, Event, Metrics, Projection, Transform};
use trawl_zeek::{Record, Value};

/// Fields scoring and host attribution read from records that teach attribution (dhcp,
/// known_devices): a raw row or line is parsed for these only.
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

/// The fields a raw TSV row or JSON line is read for on the fast path, in this order.
const TSV_READ: &[&str] = &["ts", "id.orig_h", "query", "mac"];

/// Scores, attribution and intel as a pipeline step.
pub struct Enrich {
    inner: Mutex<Inner>,
    m: EnrichMetrics,
}

struct Inner {
    enricher: Enricher,
    /// Whole records, for the records that need them (see [`Enricher::needs_record`]).
    projection: Projection,
    /// `TSV_READ` of raw TSV rows.
    fast: Projection,
    /// Records learned from, by place in the batch (reused by batches).
    learned: Vec<(usize, Record<'static>)>,
    /// Leases shared with the other instances of a consumer group.
    shared: Option<SharedLeases>,
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
    shared: [Gauge; 3],
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
            shared: ["published", "learned", "errors"].map(|what| {
                m.gauge(
                    "trawl_shared_leases",
                    "DHCP and known_devices records shared through Redis ([state] redis): published by this instance, learned from the others, failed operations.",
                    &[("what", what)],
                )
            }),
        }
    }
}

impl Enrich {
    /// Wraps an enricher. Whether it reads whole records (intel) or a few columns is the
    /// enricher's to say ([`Enricher::needs_record`]).
    pub fn new(enricher: Enricher, metrics: &Metrics) -> Self {
        Enrich {
            inner: Mutex::new(Inner {
                enricher,
                projection: Projection::new(READ),
                fast: Projection::new(TSV_READ),
                learned: Vec::new(),
                shared: None,
            }),
            m: EnrichMetrics::new(metrics),
        }
    }

    /// Shares leases and device names with the other instances through Redis (see
    /// [`crate::shared`]).
    pub fn with_shared(self, shared: SharedLeases) -> Self {
        let mut inner = self.inner.into_inner().unwrap_or_else(|e| e.into_inner());
        inner.shared = Some(shared);
        Enrich {
            inner: Mutex::new(inner),
            m: self.m,
        }
    }

    fn run(&self, events: &mut [Event]) {
        let started = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.run(events);
        if let Some(st) = inner.enricher.scorer_stats() {
            self.m.hits.set(st.local.hits);
            self.m.misses.set(st.local.misses);
            if let Some(sh) = st.shared {
                self.m.shared_hits.set(sh.hits);
                self.m.shared_misses.set(sh.misses);
            }
            self.m.scored.set(st.scored);
        }
        if let Some(sh) = inner.shared.as_ref().map(SharedLeases::stats) {
            for (g, v) in self
                .m
                .shared
                .iter()
                .zip([sh.published, sh.learned, sh.errors])
            {
                g.set(v);
            }
        }
        self.m.records.add(events.len() as u64);
        self.m.micros.add(started.elapsed().as_micros() as u64);
    }
}

impl Inner {
    /// Enriches a batch: first learns from its DHCP and known_devices records (attribution is
    /// by each record's own time, so order within the batch does not matter), then looks the
    /// batch's DNS names up in the shared cache at once, then adds fields event by event.
    /// Raw TSV rows are read for four columns only, without building a record.
    fn run(&mut self, events: &mut [Event]) {
        let Inner {
            enricher,
            projection,
            fast,
            learned,
            shared,
        } = self;
        learned.clear();
        // Leases learned from this batch stay until its records are looked up.
        enricher.hold_pruning(true);
        for (i, e) in events.iter().enumerate() {
            if enricher.needs_record(e.log_type()) {
                let rec = if enricher.has_intel() {
                    e.to_record()
                } else {
                    e.project_with(projection)
                };
                enricher.learn(&rec);
                learned.push((i, rec));
            }
        }
        // Other instances' leases are learned before this batch is attributed.
        if let Some(sh) = shared.as_mut() {
            sh.publish(learned.iter().map(|(_, r)| r));
            for r in sh.poll() {
                enricher.learn(&r);
            }
        }
        if enricher.shares_scores() {
            let mut names: Vec<Cow<'_, str>> = Vec::new();
            let mut v = Vec::new();
            for e in events.iter().filter(|e| e.log_type() == "dns") {
                let q = match &e.body {
                    Body::Tsv { header, line } => {
                        fast.tsv_values(header, line, &mut v);
                        v[2].take()
                    }
                    Body::Json { line, flat, .. } => {
                        fast.json_values(line, flat, &mut v);
                        v[2].take()
                    }
                    Body::Record(r) => r.get("query").map(|q| match q {
                        Value::Str(s) => Value::Str(Cow::Borrowed(&**s)),
                        _ => Value::Unset,
                    }),
                };
                if let Some(Value::Str(q)) = q {
                    names.extend(match q {
                        Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
                        Cow::Owned(b) => String::from_utf8(b).ok().map(Cow::Owned),
                    });
                }
            }
            enricher.prefetch(names.iter().map(|n| &**n));
        }
        let mut learned = learned.iter().peekable();
        let mut v = Vec::with_capacity(TSV_READ.len());
        for (i, e) in events.iter_mut().enumerate() {
            let Event { body, extra, .. } = e;
            if let Some((_, rec)) = learned.next_if(|(j, _)| *j == i) {
                enricher.enrich_learned(rec, extra);
                continue;
            }
            // Raw bodies: only the read columns are parsed.
            let dns = match &*body {
                Body::Tsv { header, line } => {
                    fast.tsv_values(header, line, &mut v);
                    header.path.as_deref() == Some("dns")
                }
                Body::Json { line, flat, path } => {
                    fast.json_values(line, flat, &mut v);
                    &**path == "dns"
                }
                Body::Record(r) => {
                    enricher.enrich_parts(&Enricher::parts(r), extra);
                    continue;
                }
            };
            let parts = Parts {
                dns,
                ts: v[0].as_ref().and_then(time_value),
                addr: v[1].as_ref().and_then(addr_value),
                query: match &v[2] {
                    Some(Value::Str(q)) => Some(q),
                    _ => None,
                },
                has_mac: v[3].is_some(),
            };
            enricher.enrich_parts(&parts, extra);
        }
        enricher.hold_pruning(false);
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

    /// Leases and device names learnt from a batch that is replayed after a crash are
    /// learnt again, alike.
    fn runs_ahead(&self) -> bool {
        true
    }

    async fn committed(&self) {
        tokio::task::block_in_place(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = inner.enricher.save() {
                tracing::warn!(error = %e, "could not save host attribution state");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::EnrichConfig;
    use trawl_zeek::header::Directive;
    use trawl_zeek::Header;

    use super::*;

    fn header(path: &str, fields: &str, types: &str) -> Arc<Header> {
        let mut h = Header {
            path: Some(path.into()),
            ..Header::default()
        };
        h.apply(Directive::Fields, fields.as_bytes());
        h.apply(Directive::Types, types.as_bytes());
        Arc::new(h)
    }

    fn enrich() -> Enrich {
        let e = Enricher::new(EnrichConfig::default()).unwrap();
        Enrich::new(e, &Metrics::default())
    }

    /// Added fields as `name=value` text, for comparing.
    fn added(e: &Event) -> Vec<String> {
        e.extra
            .iter()
            .map(|f| {
                let mut v = Vec::new();
                f.value.write_text(&mut v);
                format!("{}={}", f.name, String::from_utf8_lossy(&v))
            })
            .collect()
    }

    #[test]
    fn raw_rows_get_what_whole_records_get_and_a_lease_later_in_the_batch_counts() {
        let dns = header(
            "dns",
            "ts\tuid\tid.orig_h\tquery",
            "time\tstring\taddr\tstring",
        );
        let dhcp = header(
            "dhcp",
            "ts\tassigned_addr\tmac\thost_name\tlease_time",
            "time\taddr\tstring\tstring\tinterval",
        );
        let rows: [(&Arc<Header>, &str); 5] = [
            // Before the lease's row in the batch, but inside the lease by its own time.
            (
                &dns,
                "1700000100.0\tC1\t10.0.0.7\tpaypal-login.secure-verify.xyz",
            ),
            (&dns, "1700000100.5\tC2\t10.0.0.8\tx\\x09y.example.com"),
            (&dns, "1700000101.0\tC3\t-\t(empty)"),
            (&dns, "oops\tC4\tnot-an-ip\tgoogle.com"),
            (
                &dhcp,
                "1700000000.0\t10.0.0.7\taa:bb:cc:00:00:07\tws-seven\t3600.0",
            ),
        ];
        let mut fast: Vec<Event> = rows
            .iter()
            .map(|(h, l)| Event::tsv((*h).clone(), l.as_bytes().to_vec()))
            .collect();
        // The same rows as whole records, through the record path, and as JSON lines kept as
        // read (those the fast path accepts).
        let mut whole: Vec<Event> = fast.iter().map(|e| Event::record(e.to_record())).collect();
        let mut json: Vec<Event> = fast
            .iter()
            .map(|e| {
                let mut line = Vec::new();
                e.write_json(&mut line);
                match trawl_zeek::json::line::scan(&line) {
                    Some(flat) => Event::json(line, flat, e.log_type().into()),
                    None => Event::record(e.to_record()),
                }
            })
            .collect();
        assert!(
            json.iter()
                .filter(|e| matches!(e.body, Body::Json { .. }))
                .count()
                >= 4
        );
        enrich().run(&mut fast);
        enrich().run(&mut whole);
        enrich().run(&mut json);
        let got: Vec<Vec<String>> = fast.iter().map(added).collect();
        assert_eq!(got, whole.iter().map(added).collect::<Vec<_>>());
        assert_eq!(got, json.iter().map(added).collect::<Vec<_>>());
        assert!(
            got[0].iter().any(|f| f == "workstation=ws-seven"),
            "{got:?}"
        );
        assert!(
            got[0].iter().any(|f| f == "mac=aa:bb:cc:00:00:07"),
            "{got:?}"
        );
        assert!(got[0][0].starts_with("phish_score="), "{got:?}");
        // An escaped tab: unescaped, it is no valid name; a bad ts and address: scores only.
        assert!(got[1].is_empty(), "{got:?}");
        assert!(got[2].is_empty(), "{got:?}");
        assert_eq!(got[3].len(), 2, "{got:?}");
        // The DHCP record keeps its own mac and gets its workstation.
        assert_eq!(got[4], ["workstation=ws-seven"], "{got:?}");
    }
}
