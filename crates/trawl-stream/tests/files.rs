//! The file sink: Zeek-readable enriched TSV, JSON output, and a crash between write and commit.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use trawl_stream::files::{FileSink, FileSinkConfig, OutputFormat};
use trawl_stream::folder::{FolderConfig, FolderSource, Mode};
use trawl_stream::{Event, Metrics, Pipeline, Shutdown, Sink, Source, StreamError};
use trawl_zeek::{Scalar, TsvEvent, TsvReader, Value, ZeekType};

const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2026-01-01-00-00-00\n#fields\tts\tuid\tquery\n#types\ttime\tstring\tstring\n";

fn row(i: usize) -> String {
    format!("{}.5\tC{i}\thost{i}.example.com\n", 1_700_000_000 + i)
}

fn write_log(root: &Path, rows: usize) {
    fs::create_dir_all(root.join("current")).unwrap();
    let mut text = String::from(HEADER);
    for i in 0..rows {
        text.push_str(&row(i));
    }
    fs::write(root.join("current/dns.log"), text).unwrap();
}

/// Adds the fields an enrichment would.
fn enrich(e: &mut Event, i: usize) {
    e.add(
        "phish_score",
        ZeekType::single(Scalar::Double),
        Value::Double(i as f64 / 4.0),
    );
    e.add(
        "score_reasons",
        ZeekType::parse("vector[string]"),
        Value::List(vec![
            Value::Str(b"brand"[..].into()),
            Value::Str(b"a,b"[..].into()),
        ]),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enriched_tsv_reads_back_typed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    write_log(&root, 5);
    fs::create_dir_all(root.join("2026-01-01")).unwrap();
    let mut c = FolderConfig::new(&root);
    c.mode = Mode::Once;
    let mut src = FolderSource::new(c, &Metrics::default()).unwrap();
    let out = dir.path().join("out");
    let mut sink = FileSink::new(FileSinkConfig::new(&out)).unwrap();
    let mut n = 0;
    while let Some(mut b) = src.next_batch().await.unwrap() {
        for e in b.events.iter_mut() {
            if n % 2 == 0 {
                enrich(e, n);
            }
            n += 1;
        }
        sink.write(&b.events).await.unwrap();
        src.commit(b.token).await.unwrap();
    }
    // Written before flush: readable as soon as write returned.
    let text = fs::read(out.join("current/dns.log")).unwrap();
    sink.flush().await.unwrap();
    assert!(fs::read(out.join("current/dns.log"))
        .unwrap()
        .starts_with(&text));

    let bytes = fs::read(out.join("current/dns.log")).unwrap();
    let mut r = TsvReader::new(&bytes[..]);
    let mut rows = 0;
    while let Some(ev) = r.next_event().unwrap() {
        if let TsvEvent::Row(row) = ev {
            let rec = row.to_record(&mut Vec::new());
            assert_eq!(rec.path, "dns");
            assert_eq!(row.header.type_of(3), ZeekType::single(Scalar::Double));
            assert_eq!(row.header.fields[4], "score_reasons");
            if rows % 2 == 0 {
                assert_eq!(
                    rec.get("phish_score"),
                    Some(&Value::Double(rows as f64 / 4.0))
                );
                assert_eq!(
                    rec.get("score_reasons"),
                    Some(&Value::List(vec![
                        Value::Str(b"brand"[..].into()),
                        Value::Str(b"a,b"[..].into())
                    ]))
                );
            } else {
                assert_eq!(rec.get("phish_score"), Some(&Value::Unset));
            }
            assert_eq!(
                rec.get("query"),
                Some(&Value::Str(
                    format!("host{rows}.example.com").into_bytes().into()
                ))
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 5);
    assert!(r.take_problems().is_empty());
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.matches("#fields").count(), 1, "{text}");
    assert!(text.contains("#close\t"));
}

#[tokio::test]
async fn json_mode_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = FileSinkConfig::new(dir.path());
    c.format = OutputFormat::Json;
    let mut sink = FileSink::new(c).unwrap();
    let mut h = trawl_zeek::Header {
        path: Some("dns".into()),
        ..Default::default()
    };
    h.apply(trawl_zeek::header::Directive::Fields, b"ts\tquery");
    h.apply(trawl_zeek::header::Directive::Types, b"time\tstring");
    let mut e = Event::tsv(Arc::new(h), b"1.5\ta.com".to_vec())
        .with_origin("x/dns.09:00:00-10:00:00.log.gz".into());
    enrich(&mut e, 2);
    let mut rec = trawl_zeek::Record::new("conn");
    rec.push(
        "uid",
        ZeekType::single(Scalar::String),
        Value::Str(b"C1"[..].into()),
    );
    sink.write(&[e, Event::record(rec)]).await.unwrap();
    sink.flush().await.unwrap();
    let dns = fs::read_to_string(dir.path().join("x/dns.09:00:00-10:00:00.log")).unwrap();
    assert_eq!(
        dns,
        "{\"_path\":\"dns\",\"ts\":1.500000,\"query\":\"a.com\",\"phish_score\":0.5,\"score_reasons\":[\"brand\",\"a,b\"]}\n"
    );
    let conn = fs::read_to_string(dir.path().join("conn.log")).unwrap();
    assert_eq!(conn, "{\"_path\":\"conn\",\"uid\":\"C1\"}\n");
}

/// Writes through to a file sink, then hangs forever on the batch after `limit`, as if the
/// process died after the data was written but before the commit.
struct Dying {
    inner: FileSink,
    batches: Arc<AtomicU64>,
    limit: u64,
}

#[async_trait]
impl Sink for Dying {
    fn name(&self) -> &str {
        "dying"
    }
    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        self.inner.write(events).await?;
        if self.batches.fetch_add(1, Ordering::SeqCst) + 1 >= self.limit {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn flush(&mut self) -> Result<(), StreamError> {
        self.inner.flush().await
    }
}

#[test]
fn crash_and_restart_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    let rows = 5_000;
    let batch = 300;
    write_log(&root, rows);
    let out = dir.path().join("out");
    let mut c = FolderConfig::new(&root);
    c.mode = Mode::Once;
    c.batch_size = batch;
    c.checkpoint = Some(dir.path().join("state.json"));

    let batches = Arc::new(AtomicU64::new(0));
    let rt = tokio::runtime::Runtime::new().unwrap();
    {
        let (c, out, batches) = (c.clone(), out.clone(), batches.clone());
        rt.spawn(async move {
            let metrics = Arc::new(Metrics::default());
            let src = FolderSource::new(c, &metrics).unwrap();
            let sink = Dying {
                inner: FileSink::new(FileSinkConfig::new(&out)).unwrap(),
                batches,
                limit: 7,
            };
            let _ = Pipeline::new(metrics)
                .source(Box::new(src))
                .sink(Box::new(sink))
                .run(Shutdown::default())
                .await;
        });
    }
    let start = Instant::now();
    while batches.load(Ordering::SeqCst) < 7 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(batches.load(Ordering::SeqCst), 7);
    // The crash: no flush, no commit of the 7th batch.
    rt.shutdown_background();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let summary = rt.block_on(async {
        let metrics = Arc::new(Metrics::default());
        let src = FolderSource::new(c.clone(), &metrics).unwrap();
        Pipeline::new(metrics)
            .source(Box::new(src))
            .sink(Box::new(FileSink::new(FileSinkConfig::new(&out)).unwrap()))
            .run(Shutdown::default())
            .await
            .unwrap()
    });
    assert_eq!(summary.records as usize, rows - 6 * batch);

    let text = fs::read_to_string(out.join("current/dns.log")).unwrap();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        *seen.entry(l).or_default() += 1;
    }
    let mut repeated = 0;
    for i in 0..rows {
        let n = seen.get(row(i).trim_end()).copied().unwrap_or(0);
        assert!(n >= 1, "row {i} lost");
        repeated += n - 1;
    }
    assert_eq!(repeated, batch, "exactly the uncommitted batch is repeated");
    // The restart began a new header block: every row stays readable.
    let mut r = TsvReader::new(text.as_bytes());
    let mut n = 0;
    while let Some(ev) = r.next_event().unwrap() {
        if let TsvEvent::Row(row) = ev {
            assert_eq!(row.len(), 3);
            n += 1;
        }
    }
    assert_eq!(n, rows + batch);
}
