//! The scan against independent readings of the same files: the serial record reader
//! (`LogReader`) for any way of cutting a file into blocks, and DuckDB (from `$TRAWL_PYTHON`) on
//! the bundled samples and the corpus in `$TRAWL_SHARED`.

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use trawl_input::LogFile;
use trawl_query::scan::{count_values, Rec, Scan, Sizes};
use trawl_zeek::value::Markers;
use trawl_zeek::{Event, LogReader, Value};

/// Value counts with unset and missing together under `None`, as `ValueCounts::top` reports.
type Counts = BTreeMap<Option<Vec<u8>>, u64>;

fn text_of(v: &Value<'_>) -> Option<Vec<u8>> {
    match v {
        Value::Unset => None,
        Value::Str(s) | Value::Invalid(s) => Some(s.to_vec()),
        other => {
            let mut out = Vec::new();
            other.write_tsv(&mut out, b"\t", &Markers::DEFAULT);
            Some(out)
        }
    }
}

/// What the serial reader sees: value counts, and (line, value) of every record in order.
struct Serial {
    counts: Counts,
    records: Vec<(u64, Option<Vec<u8>>)>,
    bad: u64,
}

fn serial(bytes: &[u8], col: &str, default_path: &str) -> Serial {
    serial_max(
        bytes,
        col,
        default_path,
        trawl_zeek::lines::DEFAULT_MAX_LINE,
    )
}

fn serial_max(bytes: &[u8], col: &str, default_path: &str, max_line: usize) -> Serial {
    let mut r = LogReader::new(bytes)
        .max_line(max_line)
        .default_path(default_path);
    let mut s = Serial {
        counts: Counts::new(),
        records: Vec::new(),
        bad: 0,
    };
    while let Some(ev) = r.next_event().unwrap() {
        let (line, v) = match ev {
            Event::Row(row) => {
                let v = row
                    .header
                    .index_of(col)
                    .and_then(|i| row.value(i))
                    .and_then(|(v, _)| text_of(&v));
                (row.line.no, v)
            }
            Event::Record { line, record, .. } => (line, record.get(col).and_then(text_of)),
            Event::Bad { .. } => {
                s.bad += 1;
                continue;
            }
            _ => continue,
        };
        *s.counts.entry(v.clone()).or_insert(0) += 1;
        s.records.push((line, v));
    }
    s
}

fn scan_counts(scan: &Scan, col: &str) -> (Counts, u64, u64) {
    let (vc, sum) = count_values(scan, col).unwrap();
    let mut c: Counts = vc.iter().map(|(k, n)| (Some(k.to_vec()), n)).collect();
    if vc.unset + vc.missing > 0 {
        c.insert(None, vc.unset + vc.missing);
    }
    (c, sum.records, sum.bad_lines)
}

fn ordered_records(scan: &Scan, col: &str) -> Vec<(u64, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    scan.map_ordered(
        |b| {
            let mut v = Vec::new();
            b.for_each_record(|r: Rec<'_>| {
                v.push((r.line(), r.get(col).and_then(|x| text_of(&x))))
            });
            v
        },
        |o| {
            out.extend(o.value);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    out
}

// ---------------------------------------------------------------- generated logs

const HEADER_A: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2026-01-01-00-00-00\n#fields\tts\tquery\tqtype_name\n#types\ttime\tstring\tstring\n";
const HEADER_B: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2026-01-02-00-00-00\n#fields\tts\tuid\tquery\tqtype_name\trcode\n#types\ttime\tstring\tstring\tstring\tcount\n";

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_string()),
        Just("(empty)".to_string()),
        Just("a.example".to_string()),
        Just("b.example".to_string()),
        Just("x\\x09y".to_string()),
        Just("back\\\\slash".to_string()),
        Just("#hash.example".to_string()),
        "[a-d]{1,3}\\.com",
    ]
}

/// One piece of a generated log.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(value(), 1..8).prop_map(|vals| {
            // Rows for header A or B alike: B reads its own columns; short rows are reported.
            vals.iter().enumerate().map(|(i, v)| format!("{i}.5\t{v}\tA\n")).collect::<String>()
        }),
        1 => Just(HEADER_A.to_string()),
        1 => Just(HEADER_B.to_string()),
        1 => Just("#close\t2026-01-01-01-00-00\n".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("## a comment\n".to_string()),
        1 => Just("1.0\tshort\n".to_string()),
        2 => prop::collection::vec(value(), 1..5).prop_map(|vals| {
            vals.iter().map(|v| match v.as_str() {
                "-" => "{\"ts\":1.0,\"query\":null}\n".to_string(),
                "(empty)" => "{\"ts\":1.0}\n".to_string(),
                v => format!("{{\"ts\":1.0,\"query\":{}}}\n", json_str(v)),
            }).collect::<String>()
        }),
        1 => Just("{\"dns\": {\"query\": \"wrapped.example\"}}\n".to_string()),
        1 => Just("{\"uri\":\"{\\\"query\\\":1}\",\"query\":\"tricky.example\"}\n".to_string()),
    ]
}

fn json_str(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Reads `bytes` cut every way (ranges of `chunk` bytes in parallel, a gzip stream inflated
/// in buffers, one worker reading the file whole) with lines longer than `max` skipped, and
/// checks counts, records, bad lines and record order against the serial reader's.
fn check_every_cut(
    bytes: &[u8],
    chunk: u64,
    threads: usize,
    max: usize,
) -> Result<(), TestCaseError> {
    let want = serial_max(bytes, "query", "dns", max);
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "dns.log", bytes);
    let gz = write(dir.path(), "dns.log.gz", &gzip(bytes));
    let ranges = Sizes {
        chunk,
        range_min: 0,
        whole_max: 0,
    };
    let whole = Sizes {
        chunk,
        range_min: u64::MAX,
        whole_max: u64::MAX,
    };
    for (path, sizes) in [(&plain, ranges), (&gz, ranges), (&plain, whole)] {
        let scan = Scan::new(vec![LogFile::from_path(path)], threads)
            .with_sizes(sizes)
            .with_max_line(max);
        let (counts, records, bad) = scan_counts(&scan, "query");
        prop_assert_eq!(&counts, &want.counts, "{} {:?}", path.display(), sizes);
        prop_assert_eq!(records, want.records.len() as u64);
        prop_assert_eq!(bad, want.bad, "bad lines, {} {:?}", path.display(), sizes);
        let got = ordered_records(&scan, "query");
        prop_assert_eq!(&got, &want.records, "{:?}", sizes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// However a file is cut (ranges of any size, read in parallel; a stream inflated in
    /// buffers; one worker reading it whole), the counts, records, bad lines and the order of
    /// records with their line numbers are those of a serial read.
    #[test]
    fn block_splitting_never_changes_results(
        head in prop::option::of(prop_oneof![Just(HEADER_A), Just(HEADER_B)]),
        pieces in prop::collection::vec(piece(), 0..24),
        chunk in 1u64..400,
        threads in 1usize..4,
    ) {
        let mut text = String::new();
        text.extend(head);
        text.extend(pieces);
        check_every_cut(text.as_bytes(), chunk, threads, trawl_zeek::lines::DEFAULT_MAX_LINE)?;
    }
}

/// A line past the maximum length, in a row, a JSON line, a header line or the last line.
fn long_piece() -> impl Strategy<Value = String> {
    (61usize..700, 0..4u8).prop_map(|(n, kind)| {
        let filler = "y".repeat(n);
        match kind {
            0 => format!("1.5\t{filler}.example\tA\n"),
            1 => format!("{{\"ts\":1.0,\"query\":\"{filler}\"}}\n"),
            2 => format!("#fields\tts\t{filler}\n"),
            _ => filler,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Lines longer than the maximum are skipped and reported at their line however a file
    /// is cut, ranges read in parallel included, and never held whole: the scan agrees with
    /// the serial reader given the same maximum.
    #[test]
    fn long_lines_are_skipped_alike_however_a_file_is_cut(
        pieces in prop::collection::vec(prop_oneof![4 => piece(), 1 => long_piece()], 0..20),
        chunk in 1u64..300,
        threads in 1usize..4,
    ) {
        let mut text = String::from(HEADER_A);
        text.extend(pieces);
        check_every_cut(text.as_bytes(), chunk, threads, 60)?;
    }
}

/// A line that runs from one range far past the next ones (further than a range reads ahead)
/// is skipped without being read whole, and the lines after it keep their numbers.
#[test]
fn a_line_spanning_many_ranges_is_skipped_and_reported() {
    let mut text = String::from(HEADER_A);
    let row = |i: usize| format!("{i}.0\tq{}.example\tA\n", i % 17);
    text.extend((0..500).map(row));
    text.push_str(&format!("1.0\t{}\tA\n", "x".repeat(300_000)));
    text.extend((500..1000).map(row));
    text.push_str(&"z".repeat(200_000));
    let bytes = text.as_bytes();
    let want = serial_max(bytes, "query", "dns", 100_000);
    assert_eq!((want.records.len(), want.bad), (1000, 2));
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "dns.log", bytes);
    for chunk in [4096, 100_000, 1 << 20] {
        let sizes = Sizes {
            chunk,
            range_min: 0,
            whole_max: 0,
        };
        let scan = Scan::new(vec![LogFile::from_path(&plain)], 3)
            .with_sizes(sizes)
            .with_max_line(100_000);
        let (counts, records, bad) = scan_counts(&scan, "query");
        assert_eq!((&counts, records, bad), (&want.counts, 1000, 2), "{chunk}");
        assert_eq!(ordered_records(&scan, "query"), want.records, "{chunk}");
        let (_, sum) = count_values(&scan, "query").unwrap();
        let lines: Vec<_> = sum
            .problems
            .iter()
            .map(|p| (p.line, &p.reason[..20]))
            .collect();
        let long = "line of 300007 bytes";
        let last = "line of 200000 bytes";
        assert_eq!(lines, [(509, long), (1010, last)], "{chunk}");
    }
}

#[test]
fn several_files_keep_their_order_and_a_header_change_midway_is_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = String::from(HEADER_A);
    for i in 0..3000 {
        a.push_str(&format!("{i}.0\tq{}.example\tA\n", i % 17));
    }
    // A second header block with the column elsewhere: ranges after it must not use A's.
    a.push_str(HEADER_B);
    for i in 0..3000 {
        a.push_str(&format!("{i}.0\tC{i}\tr{}.example\tA\t0\n", i % 13));
    }
    let b: String = (0..500)
        .map(|i| format!("{{\"ts\":{i}.0,\"query\":\"j{}.example\"}}\n", i % 7))
        .collect();
    let pa = write(dir.path(), "dns.log", a.as_bytes());
    let pb = write(dir.path(), "dns.json", b.as_bytes());
    let sizes = Sizes {
        chunk: 4096,
        range_min: 0,
        whole_max: 0,
    };
    let scan =
        Scan::new(vec![LogFile::from_path(&pa), LogFile::from_path(&pb)], 3).with_sizes(sizes);
    let mut want = serial(a.as_bytes(), "query", "dns");
    let wb = serial(b.as_bytes(), "query", "dns");
    for (k, v) in wb.counts {
        *want.counts.entry(k).or_insert(0) += v;
    }
    let (counts, records, bad) = scan_counts(&scan, "query");
    assert_eq!(counts, want.counts);
    assert_eq!(records, 6500);
    assert_eq!(bad, 0);
    let mut lines = Vec::new();
    scan.map_ordered(
        |b| (b.ordinal.file, b.first_line, b.lines),
        |o| {
            lines.push(o.value);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    // Blocks come in file order, each file's blocks in line order without gaps or overlaps
    // (header lines between blocks excepted).
    let mut last = (0u32, 0u64);
    for (f, first, n) in lines {
        if f == last.0 {
            assert!(first >= last.1, "block at {first} after {}", last.1);
        } else {
            assert!(f > last.0);
        }
        last = (f, first + n);
    }
}

#[test]
fn problems_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER_A}1.0\ta.example\tA\nnot\n{{\"query\": \"x\n");
    let p = write(dir.path(), "dns.log", text.as_bytes());
    let (_, sum) = count_values(&Scan::new(vec![LogFile::from_path(&p)], 2), "query").unwrap();
    let shown: Vec<String> = sum.problems.iter().map(|p| p.to_string()).collect();
    // A `{` line among TSV rows is JSON only when it is a whole object (as the record reader
    // decides); this one is a short row.
    assert_eq!(sum.records, 3, "{shown:?}");
    assert_eq!(sum.bad_lines, 0, "{shown:?}");
    assert!(
        shown[0].ends_with("dns.log:10: row has 1 fields, #fields declares 3"),
        "{shown:?}"
    );
    assert!(
        shown[1].ends_with("dns.log:11: row has 1 fields, #fields declares 3"),
        "{shown:?}"
    );
    // In a JSON log, a line cut short is a bad line, and the next one is read.
    let p = write(
        dir.path(),
        "x.json",
        b"{\"query\":\"a\"}\n{\"query\": \"x\n{\"query\":\"b\"}\n",
    );
    let (counts, sum) = count_values(&Scan::new(vec![LogFile::from_path(&p)], 2), "query").unwrap();
    assert_eq!((sum.records, sum.bad_lines, counts.distinct()), (2, 1, 2));
    assert!(
        sum.problems[0].to_string().contains("x.json:2: "),
        "{:?}",
        sum.problems
    );
}

#[test]
fn stops_early_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = String::from(HEADER_A);
    for i in 0..20000 {
        a.push_str(&format!("{i}.0\tq{i}.example\tA\n"));
    }
    let p = write(dir.path(), "dns.log", a.as_bytes());
    let scan = Scan::new(vec![LogFile::from_path(&p)], 2).with_sizes(Sizes {
        chunk: 8192,
        range_min: 0,
        whole_max: 0,
    });
    let mut first = Vec::new();
    scan.map_ordered(
        |b| {
            let mut v = Vec::new();
            b.for_each_record(|r| v.push(r.line()));
            v
        },
        |o| {
            first.extend(o.value);
            if first.len() >= 10 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(&first[..10], &(9..19).collect::<Vec<u64>>()[..]);
}

// ---------------------------------------------------------------- DuckDB

/// DuckDB's counts, by `tests/duck_counts.py`.
fn duck(python: &str, path: &Path, col: &str, mode: &str) -> Counts {
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/duck_counts.py"))
        .arg(path)
        .args([col, mode])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "duckdb on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = Counts::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (n, k) = line.split_once(' ').unwrap();
        let key = (k != "NULL").then(|| {
            (0..k.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&k[i..i + 2], 16).unwrap())
                .collect()
        });
        c.insert(key, n.parse().unwrap());
    }
    c
}

fn check_with_duckdb(python: &str, path: &Path, col: &str, mode: &str) {
    let want = duck(python, path, col, mode);
    let scan = Scan::new(vec![LogFile::from_path(path)], 2);
    let (got, records, _) = scan_counts(&scan, col);
    assert!(records > 0, "{}: no records", path.display());
    assert_eq!(
        got.len(),
        want.len(),
        "{} {col}: distinct values differ",
        path.display()
    );
    assert_eq!(got, want, "{} {col}", path.display());
    // Also through the ranges, cut small.
    let small = scan.with_sizes(Sizes {
        chunk: 64 << 10,
        range_min: 0,
        whole_max: 0,
    });
    assert_eq!(
        scan_counts(&small, col).0,
        want,
        "{} ranges",
        path.display()
    );
}

fn python() -> Option<String> {
    std::env::var("TRAWL_PYTHON").ok()
}

#[test]
fn counts_match_duckdb_on_the_samples() {
    let Some(py) = python() else {
        eprintln!("skipped counts_match_duckdb_on_the_samples: TRAWL_PYTHON unset");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let dir = tempfile::tempdir().unwrap();
    // DuckDB reads one file at a time: the hourly files concatenated, plain.
    let mut all = Vec::new();
    for f in [
        "dns.09:00:00-10:00:00.log.gz",
        "dns.10:00:00-11:00:00.log.gz",
    ] {
        let mut r = trawl_input::open(root.join("zeek/2025-11-20").join(f)).unwrap();
        std::io::Read::read_to_end(&mut r, &mut all).unwrap();
    }
    let cat = write(dir.path(), "dns.log", &all);
    for col in ["query", "qtype_name", "id.orig_h", "rcode_name"] {
        check_with_duckdb(&py, &cat, col, "tsv");
    }
    check_with_duckdb(&py, &root.join("zeek/current/dns.log"), "query", "tsv");
    check_with_duckdb(&py, &root.join("zeek-json/dns.json"), "query", "json");
    check_with_duckdb(&py, &root.join("zeek-json/dns.json"), "qtype_name", "json");
}

#[test]
fn counts_match_duckdb_on_the_corpus() {
    let Some(shared) = std::env::var_os("TRAWL_SHARED").map(PathBuf::from) else {
        eprintln!("skipped counts_match_duckdb_on_the_corpus: TRAWL_SHARED unset");
        return;
    };
    let Some(py) = python() else {
        eprintln!("skipped counts_match_duckdb_on_the_corpus: TRAWL_PYTHON unset");
        return;
    };
    let c = shared.join("corpus");
    let cases = [
        (
            "brimdata-zed-sample-data/zeek-default/dns.log.gz",
            "query",
            "tsv",
        ),
        (
            "brimdata-zed-sample-data/zeek-default/dns.log.gz",
            "qtype_name",
            "tsv",
        ),
        (
            "brimdata-zed-sample-data/zeek-default/ssl.log.gz",
            "server_name",
            "tsv",
        ),
        (
            "brimdata-zed-sample-data/zeek-default/weird.log.gz",
            "name",
            "tsv",
        ),
        (
            "brimdata-zed-sample-data/zeek-json/dns.json.gz",
            "query",
            "json",
        ),
        (
            "brimdata-zed-sample-data/zeek-json/ssl.json.gz",
            "server_name",
            "json",
        ),
        ("SuperCowPowers-zat/data/dns.log", "query", "tsv"),
        ("SuperCowPowers-zat/data/http.log", "host", "tsv"),
        ("SuperCowPowers-zat/data/json/dns.log", "query", "json"),
        ("SuperCowPowers-zat/data/json/http.log", "host", "json"),
    ];
    for (rel, col, mode) in cases {
        let p = c.join(rel);
        assert!(
            p.exists(),
            "TRAWL_SHARED is set but {} is missing",
            p.display()
        );
        check_with_duckdb(&py, &p, col, mode);
    }
}
