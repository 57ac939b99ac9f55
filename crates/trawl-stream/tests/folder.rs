//! The folder source: following through rotation, checkpoints, one-shot reads.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use trawl_stream::folder::{Checkpoint, FolderConfig, FolderSource, Mode};
use trawl_stream::{Body, Event, Metrics, Source};
use trawl_zeek::reader::Event as ReadEvent;
use trawl_zeek::LogReader;

const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2026-01-01-00-00-00\n#fields\tts\tuid\tquery\n#types\ttime\tstring\tstring\n";

fn row(i: usize) -> String {
    format!("{}.5\tC{i}\thost{i}.example.com\n", 1_700_000_000 + i)
}

fn line_of(e: &Event) -> String {
    match &e.body {
        Body::Tsv { line, .. } => String::from_utf8(line.clone()).unwrap(),
        _ => panic!("expected a TSV row"),
    }
}

fn config(root: &Path) -> FolderConfig {
    let mut c = FolderConfig::new(root);
    c.poll_interval = Duration::from_millis(20);
    c.batch_wait = Duration::from_millis(5);
    c.rotate_grace = Duration::from_millis(100);
    c
}

/// Reads batches until `want` events came or `limit` passed, committing each.
async fn collect(src: &mut FolderSource, want: usize, limit: Duration, commit: bool) -> Vec<Event> {
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < want && start.elapsed() < limit {
        match tokio::time::timeout(Duration::from_millis(200), src.next_batch()).await {
            Ok(Ok(Some(b))) => {
                got.extend(b.events);
                if commit {
                    src.commit(b.token).await.unwrap();
                }
            }
            Ok(Ok(None)) => break,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => {}
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_through_rotation_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    fs::create_dir_all(root.join("current")).unwrap();
    let live = root.join("current/dns.log");
    fs::write(&live, HEADER).unwrap();
    let mut src = FolderSource::new(config(&root), &Metrics::default()).unwrap();

    let (first, second) = (3_000, 2_000);
    let writer = {
        let (root, live) = (root.clone(), live.clone());
        std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().append(true).open(&live).unwrap();
            for i in 0..first {
                // Partial lines too: a row written in two pieces must come out whole, once.
                let r = row(i);
                let (a, b) = r.split_at(r.len() / 2);
                f.write_all(a.as_bytes()).unwrap();
                if i % 500 == 0 {
                    f.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(30));
                }
                f.write_all(b.as_bytes()).unwrap();
            }
            drop(f);
            fs::create_dir_all(root.join("2026-01-01")).unwrap();
            fs::rename(&live, root.join("2026-01-01/dns.00:00:00-01:00:00.log")).unwrap();
            let mut f = fs::File::create(&live).unwrap();
            f.write_all(HEADER.as_bytes()).unwrap();
            for i in first..first + second {
                f.write_all(row(i).as_bytes()).unwrap();
                if i % 700 == 0 {
                    std::thread::sleep(Duration::from_millis(30));
                }
            }
        })
    };
    let got = collect(&mut src, first + second, Duration::from_secs(30), true).await;
    writer.join().unwrap();
    // Nothing more may come (no duplicates after a pause).
    let more = collect(&mut src, 1, Duration::from_millis(600), true).await;
    assert!(more.is_empty(), "{} extra events", more.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in &got {
        assert_eq!(e.origin.as_deref(), Some("current/dns.log"));
        assert_eq!(e.log_type(), "dns");
        *seen.entry(line_of(e)).or_default() += 1;
    }
    for i in 0..first + second {
        let r = row(i);
        assert_eq!(seen.get(r.trim_end()), Some(&1), "row {i}");
    }
    assert_eq!(got.len(), first + second);
}

fn write_log(root: &Path, rows: usize) -> PathBuf {
    fs::create_dir_all(root.join("current")).unwrap();
    let path = root.join("current/dns.log");
    let mut text = String::from(HEADER);
    for i in 0..rows {
        text.push_str(&row(i));
    }
    fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_resumes_where_the_last_commit_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    write_log(&root, 100);
    let mut c = config(&root);
    c.batch_size = 30;
    c.checkpoint = Some(dir.path().join("state.json"));

    // Not committed: read again.
    let mut src = FolderSource::new(c.clone(), &Metrics::default()).unwrap();
    let b = src.next_batch().await.unwrap().unwrap();
    assert_eq!(b.events.len(), 30);
    drop(src);
    let mut src = FolderSource::new(c.clone(), &Metrics::default()).unwrap();
    let b = src.next_batch().await.unwrap().unwrap();
    assert_eq!(line_of(&b.events[0]), row(0).trim_end());
    // Committed: not read again; the header block still types the rows.
    src.commit(b.token).await.unwrap();
    let saved = Checkpoint::load(c.checkpoint.as_ref().unwrap()).unwrap();
    assert_eq!(saved.files.len(), 1);
    assert_eq!(saved.files[0].path, "current/dns.log");
    assert!(saved.files[0]
        .header
        .as_deref()
        .unwrap()
        .contains("#fields"));
    drop(src);
    let mut src = FolderSource::new(c.clone(), &Metrics::default()).unwrap();
    let got = collect(&mut src, 70, Duration::from_secs(10), true).await;
    assert_eq!(got.len(), 70);
    assert_eq!(line_of(&got[0]), row(30).trim_end());
    assert_eq!(
        got[0].get("query"),
        Some(trawl_zeek::Value::Str(b"host30.example.com"[..].into()))
    );
    assert_eq!(got[0].log_type(), "dns");
    // Appended later: only the new rows.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(root.join("current/dns.log"))
        .unwrap();
    f.write_all(row(100).as_bytes()).unwrap();
    let got = collect(&mut src, 1, Duration::from_secs(10), true).await;
    assert_eq!(got.len(), 1);
    assert_eq!(line_of(&got[0]), row(100).trim_end());
    drop(src);

    // Rotated away while stopped: the renamed file is finished, the new one read.
    fs::rename(root.join("current/dns.log"), root.join("current/dns.log.1")).unwrap();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(root.join("current/dns.log.1"))
        .unwrap();
    f.write_all(row(101).as_bytes()).unwrap();
    fs::write(
        root.join("current/dns.log"),
        format!("{HEADER}{}", row(200)),
    )
    .unwrap();
    let mut src = FolderSource::new(c.clone(), &Metrics::default()).unwrap();
    let got = collect(&mut src, 2, Duration::from_secs(10), true).await;
    let mut lines: Vec<String> = got.iter().map(line_of).collect();
    lines.sort();
    assert_eq!(lines, [row(101).trim_end(), row(200).trim_end()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("mixed.json"),
        "{\"_path\":\"dns\",\"query\":\"a\"}\n{not json\n{\"_path\":\"dns\",\"query\":\"b\"}\n",
    )
    .unwrap();
    let mut c = config(root);
    c.mode = Mode::Once;
    let metrics = Metrics::default();
    let mut src = FolderSource::new(c, &metrics).unwrap();
    let got = collect(&mut src, usize::MAX, Duration::from_secs(10), true).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].origin.as_deref(), Some("mixed.json"));
    assert!(metrics.render().contains(&format!(
        "trawl_source_errors_total{{source=\"folder:{}\"}} 1",
        root.display()
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_reads_every_record_of_the_samples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/zeek");
    let mut expected: HashMap<String, usize> = HashMap::new();
    let found = trawl_input::discover(std::slice::from_ref(&root), &Default::default()).unwrap();
    assert!(found.files.len() > 5);
    for f in &found.files {
        let mut r = LogReader::new(trawl_input::open(&f.path).unwrap());
        let mut n = 0;
        while let Some(ev) = r.next_event().unwrap() {
            if matches!(ev, ReadEvent::Row(_) | ReadEvent::Record { .. }) {
                n += 1;
            }
        }
        let rel = f
            .path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        expected.insert(rel, n);
    }
    let mut c = config(&root);
    c.mode = Mode::Once;
    c.batch_size = 1_000;
    let mut src = FolderSource::new(c, &Metrics::default()).unwrap();
    let got = collect(&mut src, usize::MAX, Duration::from_secs(60), true).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in &got {
        *counts
            .entry(e.origin.as_deref().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(counts, expected);
    assert_eq!(got.len(), expected.values().sum::<usize>());
    assert!(!got.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_skips_files_done_and_honours_type_filter() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    write_log(&root, 10);
    fs::write(root.join("current/conn.log"), HEADER.replace("dns", "conn")).unwrap();
    let mut c = config(&root);
    c.mode = Mode::Once;
    c.filter.types = Some(vec!["dns".into()]);
    c.checkpoint = Some(dir.path().join("state.json"));
    let mut src = FolderSource::new(c.clone(), &Metrics::default()).unwrap();
    let got = collect(&mut src, usize::MAX, Duration::from_secs(10), true).await;
    assert_eq!(got.len(), 10);
    let saved = Checkpoint::load(c.checkpoint.as_ref().unwrap()).unwrap();
    assert!(saved.files.iter().all(|f| f.done));
    let mut src = FolderSource::new(c, &Metrics::default()).unwrap();
    let got = collect(&mut src, usize::MAX, Duration::from_secs(10), true).await;
    assert!(got.is_empty());
}
