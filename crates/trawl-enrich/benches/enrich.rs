//! Enrichment cost per record. Records: `TRAWL_BENCH_DNS` (a Zeek dns.log, e.g. from
//! `python3 ../shared/bench/gen_dns.py 2 /tmp/x` → /tmp/x.log), else samples/zeek's DNS logs.
//!
//! - `hit/*`: every name already in the in-process cache (the steady state);
//! - `miss`: a cold cache, every distinct name scored;
//! - `cache_vs_model`: one cache lookup against one model run.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use trawl_enrich::{EnrichConfig, Enricher, LocalCache, Outcome};
use trawl_zeek::{Event, LogReader, Record, Scalar, Value, ZeekType};

fn records() -> Vec<Record<'static>> {
    let paths: Vec<PathBuf> = match std::env::var_os("TRAWL_BENCH_DNS") {
        Some(p) => vec![p.into()],
        None => {
            let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/zeek");
            vec![
                d.join("2025-11-20/dns.09:00:00-10:00:00.log.gz"),
                d.join("2025-11-20/dns.10:00:00-11:00:00.log.gz"),
                d.join("current/dns.log"),
            ]
        }
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    // As in the pipeline, field names are shared (borrowed from the TSV header), not one
    // allocation a field: intern them.
    let mut names: std::collections::HashMap<String, &'static str> = Default::default();
    for p in paths {
        let mut r = LogReader::new(trawl_input::open(&p).expect("open"));
        while let Ok(Some(ev)) = r.next_event() {
            if let Event::Row(row) = ev {
                let mut rec = row.to_record(&mut problems).into_owned();
                for f in &mut rec.fields {
                    let n: &'static str = names
                        .entry(f.name.to_string())
                        .or_insert_with(|| Box::leak(f.name.to_string().into_boxed_str()));
                    f.name = std::borrow::Cow::Borrowed(n);
                }
                rec.path = std::borrow::Cow::Borrowed("dns");
                out.push(rec);
            }
        }
    }
    out
}

/// A DHCP lease for every originator, so attribution finds a host for each record.
fn leases(recs: &[Record<'static>]) -> Vec<Record<'static>> {
    let mut seen = std::collections::HashSet::new();
    let t0 = recs
        .iter()
        .filter_map(|r| match r.get("ts") {
            Some(Value::Time(t)) => Some(*t),
            _ => None,
        })
        .min()
        .unwrap_or(0);
    let mut out = Vec::new();
    for r in recs {
        if let Some(Value::Addr(a)) = r.get("id.orig_h") {
            if seen.insert(*a) {
                let n = seen.len();
                let mut d = Record::new("dhcp");
                d.push("ts", ZeekType::single(Scalar::Time), Value::Time(t0 - 1));
                d.push(
                    "assigned_addr",
                    ZeekType::single(Scalar::Addr),
                    Value::Addr(*a),
                );
                let mac = format!(
                    "02:00:00:{:02x}:{:02x}:{:02x}",
                    n >> 16 & 255,
                    n >> 8 & 255,
                    n & 255
                );
                d.push(
                    "mac",
                    ZeekType::single(Scalar::String),
                    Value::Str(mac.into_bytes().into()),
                );
                let name = format!("host-{n}");
                d.push(
                    "host_name",
                    ZeekType::single(Scalar::String),
                    Value::Str(name.into_bytes().into()),
                );
                d.push(
                    "lease_time",
                    ZeekType::single(Scalar::Interval),
                    Value::Interval(1e8),
                );
                out.push(d);
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let recs = records();
    assert!(!recs.is_empty());
    let dhcp = leases(&recs);
    eprintln!("{} DNS records, {} originators", recs.len(), dhcp.len());
    trawl_score::warm_up();

    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.sample_size(20);

    for (label, attribute) in [("hit/scores", false), ("hit/scores+attribution", true)] {
        let mut e = Enricher::new(EnrichConfig::default()).unwrap();
        if attribute {
            for d in &dhcp {
                e.attribution().observe(d);
            }
        }
        let mut out = Vec::new();
        for r in &recs {
            e.enrich_into(r, &mut out);
        }
        g.bench_function(label, |b| {
            b.iter(|| {
                for r in &recs {
                    out.clear();
                    e.enrich_into(black_box(r), &mut out);
                }
                black_box(out.len())
            })
        });
    }

    // As in the pipeline: each record enriched right after it is parsed (hot in the CPU cache,
    // names borrowed from the header). The difference of the two is the enrichment cost.
    if let Some(p) = std::env::var_os("TRAWL_BENCH_DNS") {
        let raw = std::fs::read(&p).expect("read");
        let mut e = Enricher::new(EnrichConfig::default()).unwrap();
        for d in &dhcp {
            e.attribution().observe(d);
        }
        for with in [false, true] {
            let label = if with { "parse+enrich" } else { "parse" };
            g.bench_function(label, |b| {
                b.iter(|| {
                    let mut r = trawl_zeek::TsvReader::new(&raw[..]);
                    let mut problems = Vec::new();
                    let mut out = Vec::new();
                    let mut n = 0;
                    while let Ok(Some(ev)) = r.next_event() {
                        if let trawl_zeek::TsvEvent::Row(row) = ev {
                            let rec = row.to_record(&mut problems);
                            if with {
                                out.clear();
                                e.enrich_into(&rec, &mut out);
                                n += out.len();
                            } else {
                                n += black_box(&rec).fields.len();
                            }
                        }
                    }
                    n
                })
            });
        }
    }

    let mut e = Enricher::new(EnrichConfig::default()).unwrap();
    let batch = 4096.min(recs.len());
    for r in &recs[..batch] {
        e.enrich(r);
    }
    g.throughput(Throughput::Elements(batch as u64));
    g.bench_function("hit/batch", |b| {
        b.iter(|| black_box(e.enrich_batch(black_box(&recs[..batch]))))
    });

    let sub = &recs[..recs.len().min(20_000)];
    g.throughput(Throughput::Elements(sub.len() as u64));
    g.bench_function("miss", |b| {
        b.iter_batched(
            || Enricher::new(EnrichConfig::default()).unwrap(),
            |mut e| {
                let mut out = Vec::new();
                for r in sub {
                    out.clear();
                    e.enrich_into(r, &mut out);
                }
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let names: Vec<String> = recs
        .iter()
        .filter_map(|r| match r.get("query") {
            Some(Value::Str(s)) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        })
        .collect();
    let model = trawl_score::Model::builtin().unwrap();
    let mut cache = LocalCache::new(1 << 20);
    for n in &names {
        let e = trawl_enrich::score::compute(model, &trawl_score::Site::EMPTY, n, false);
        cache.put(n, e);
    }
    let mut g = c.benchmark_group("cache_vs_model");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.sample_size(20);
    g.bench_function("cache_get", |b| {
        b.iter(|| {
            let mut k = 0usize;
            for n in &names {
                if let Some(e) = cache.get(n, false) {
                    k += matches!(e.outcome, Outcome::Scored { .. }) as usize;
                }
            }
            k
        })
    });
    g.bench_function("model_score", |b| {
        b.iter(|| {
            let mut k = 0usize;
            for n in &names {
                k += model.score(n).map_or(0, |v| v.scores().is_some() as usize);
            }
            k
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
