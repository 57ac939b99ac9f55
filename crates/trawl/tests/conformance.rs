//! The conformance corpus in `$TRAWL_SHARED/corpus`: every Zeek TSV and JSON file is read with
//! the number of records counted independently here, TSV comes back byte for byte through
//! `trawl cat --format zeek`, and the TSV and JSON twins of brimdata's sample agree field by field.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use trawl_zeek::{Event, LogReader, Record, Value};

#[derive(Debug, PartialEq, Clone, Copy)]
enum Kind {
    Tsv,
    Json,
    Other,
}

fn files(root: &Path) -> Vec<PathBuf> {
    common::files_under(root, &["md", "pcap", "pcapng", "intel"])
}

fn content(p: &Path) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    trawl_input::open(p).ok()?.read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// The test's own reading of what a file is and how many records it holds.
fn classify(data: &[u8]) -> (Kind, usize) {
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines
        .iter()
        .find(|l| !l.starts_with(b"###"))
        .copied()
        .unwrap_or(b"");
    if first.starts_with(b"{") {
        // One object a line, or pretty-printed objects whose opening brace is at column 0.
        return (
            Kind::Json,
            lines.iter().filter(|l| l.starts_with(b"{")).count(),
        );
    }
    let prefix = if let Some(i) = find(first, b"separator") {
        &first[..i]
    } else if first.starts_with(b"#fields") {
        &b"#"[..]
    } else {
        return (Kind::Other, 0);
    };
    if prefix.is_empty() || prefix.len() > 16 {
        return (Kind::Other, 0);
    }
    let rows = lines.iter().filter(|l| !l.starts_with(prefix)).count();
    (Kind::Tsv, rows)
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

struct Read_ {
    records: usize,
    bad: usize,
}

fn read_all(data: &[u8], path: &str) -> Read_ {
    let mut r = LogReader::new(data).default_path(path);
    let mut out = Read_ { records: 0, bad: 0 };
    while let Some(ev) = r.next_event().expect("in-memory read") {
        match ev {
            Event::Row(row) => {
                let _ = row.to_record(&mut Vec::new());
                out.records += 1;
            }
            Event::Record { .. } => out.records += 1,
            Event::Bad { .. } => out.bad += 1,
            _ => {}
        }
        let _ = r.take_problems();
    }
    out
}

#[test]
fn every_zeek_file_is_read_with_every_record() {
    let Some(root) = common::shared("every_zeek_file_is_read_with_every_record") else {
        return;
    };
    let corpus = common::need(&root, "corpus");
    let (mut tsv, mut json, mut other, mut failures) = (0, 0, 0, Vec::new());
    for p in files(&corpus) {
        if p.to_string_lossy().contains("/dnsmasq/") {
            continue;
        }
        let Some(data) = content(&p) else {
            assert!(
                p.ends_with("http.log.corrupt.gz"),
                "could not decompress {}",
                p.display()
            );
            continue;
        };
        let (kind, expected) = classify(&data);
        let got = read_all(&data, "x");
        match kind {
            Kind::Tsv => tsv += 1,
            Kind::Json => json += 1,
            Kind::Other => {
                other += 1;
                continue;
            }
        }
        if got.records != expected {
            failures.push(format!(
                "{}: {kind:?} expected {expected} records, read {} ({} bad lines)",
                p.display(),
                got.records,
                got.bad
            ));
        }
    }
    eprintln!("read {tsv} TSV and {json} JSON files ({other} other files not counted)");
    assert!(
        tsv > 800 && json > 50,
        "too few files: {tsv} TSV, {json} JSON"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn zeek_tsv_comes_back_byte_for_byte() {
    let Some(root) = common::shared("zeek_tsv_comes_back_byte_for_byte") else {
        return;
    };
    let corpus = common::need(&root, "corpus");
    let mut checked = 0;
    let mut failures = Vec::new();
    for p in files(&corpus) {
        let Some(data) = content(&p) else { continue };
        if classify(&data).0 != Kind::Tsv {
            continue;
        }
        let out = common::trawl(&["cat", "-q", "--format", "zeek", p.to_str().unwrap()]);
        checked += 1;
        if out.stdout != data {
            failures.push(p.display().to_string());
        }
    }
    eprintln!("{checked} TSV files round-tripped");
    assert!(checked > 800);
    assert!(failures.is_empty(), "differ:\n{}", failures.join("\n"));
}

fn records(path: &Path) -> Vec<Record<'static>> {
    let data = content(path).unwrap();
    let mut r = LogReader::new(&data[..]);
    let mut out = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        match ev {
            Event::Row(row) => out.push(row.to_record(&mut Vec::new()).into_owned()),
            Event::Record { record, .. } => out.push(record.into_owned()),
            _ => {}
        }
    }
    out
}

/// A TSV string as Zeek's JSON writer spells it (control bytes and bad UTF-8 as `\xNN`).
fn json_text(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in v.utf8_chunks() {
        for c in chunk.valid().chars() {
            if ((c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{7f}' {
                out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes());
            } else {
                out.extend_from_slice(c.to_string().as_bytes());
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
    out
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => json_text(x) == y.as_ref(),
        (Value::Double(x) | Value::Interval(x), Value::Double(y) | Value::Interval(y)) => {
            (x - y).abs() <= 1e-6 * x.abs().max(1.0)
        }
        // Zeek's TSV writes a set holding one empty string as `(empty)`, like an empty set.
        (Value::List(x), Value::List(y))
            if x.is_empty() && matches!(y.as_slice(), [Value::Str(s)] if s.is_empty()) =>
        {
            true
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

#[test]
fn tsv_and_json_twins_agree_field_by_field() {
    let Some(root) = common::shared("tsv_and_json_twins_agree_field_by_field") else {
        return;
    };
    let dir = common::need(&root, "corpus/brimdata-zed-sample-data");
    let mut pairs = 0;
    let mut compared = 0usize;
    for e in std::fs::read_dir(dir.join("zeek-default")).unwrap() {
        let tsv_path = e.unwrap().path();
        let name = tsv_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".log.gz", ".json.gz");
        let json_path = dir.join("zeek-json").join(name);
        if !json_path.exists() {
            continue;
        }
        pairs += 1;
        let (t, j) = (records(&tsv_path), records(&json_path));
        assert_eq!(
            t.len(),
            j.len(),
            "{}: record counts differ",
            tsv_path.display()
        );
        for (n, (tr, jr)) in t.iter().zip(&j).enumerate() {
            assert_eq!(tr.path, jr.path, "{} #{n}", tsv_path.display());
            for f in &tr.fields {
                let jv = jr
                    .get(&f.name)
                    .cloned()
                    .unwrap_or(Value::Unset)
                    .coerce(f.ty);
                assert!(
                    same(&f.value, &jv),
                    "{} record {n} field {}: TSV {:?} vs JSON {:?}",
                    tsv_path.display(),
                    f.name,
                    f.value,
                    jv
                );
                compared += 1;
            }
            // Nothing in the JSON that the TSV lacks (but JSON-streaming's own `_write_ts`).
            for f in &jr.fields {
                assert!(
                    f.name == "_write_ts" || tr.get(&f.name).is_some(),
                    "{} record {n}: JSON field {} not in TSV",
                    tsv_path.display(),
                    f.name
                );
            }
        }
    }
    eprintln!("{pairs} twin files, {compared} fields compared");
    assert!(pairs >= 25);
}
