//! The passive DNS hot path: folding facts in memory and writing them to the SQLite store.
//! Facts are made up to look like the run bench's: a third of the answers new, the rest
//! repeats.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use trawl_pdns::{Batch, Fact, Store};

fn facts(n: usize) -> Vec<Fact> {
    (0..n)
        .map(|i| {
            let k = if i % 3 == 0 { i } else { i % 5000 };
            Fact {
                rrname: format!("host{k}.example{}.com", k % 97),
                rrtype: "A".into(),
                rdata: format!("10.{}.{}.{}", k % 256, (k / 256) % 256, k % 7),
                ts: 1_700_000_000 + i as i64 / 100,
                client: Some(format!("192.168.{}.{}", i % 4, i % 250).parse().unwrap()),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let input = facts(100_000);
    let mut g = c.benchmark_group("pdns");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.bench_function("fold", |b| {
        b.iter(|| {
            let mut batch = Batch::new(16);
            for f in &input {
                batch.add(f.clone());
            }
            black_box(batch.len())
        })
    });
    g.bench_function("fold_and_write", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(&dir.path().join("pdns.sqlite")).unwrap();
            let mut batch = Batch::new(16);
            for f in &input {
                batch.add(f.clone());
            }
            store.add(&batch, None).unwrap();
            black_box(store.len().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
