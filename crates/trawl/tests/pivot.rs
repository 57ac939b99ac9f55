//! `trawl pivot`: the sample story, the corpus against an independent count, damaged files,
//! and an index that follows a growing log.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use common::{need, repo, shared, trawl};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = trawl(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `pivot VALUE PATH --index-dir IDX EXTRA...`: exit code, stdout, stderr.
fn pivot_in(value: &str, path: &Path, index: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "pivot",
        value,
        path.to_str().unwrap(),
        "--index-dir",
        index.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// `pivot VALUE PATH --index-dir IDX -f json EXTRA...`, the JSON lines.
fn pivot_json(value: &str, path: &Path, index: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let args = [&["-f", "json"], extra].concat();
    let (code, out, err) = pivot_in(value, path, index, &args);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    (out.lines().map(str::to_string).collect(), err)
}

fn path_of(line: &str) -> &str {
    let rest = line
        .strip_prefix("{\"_path\":\"")
        .expect("JSON with _path first");
    &rest[..rest.find('"').unwrap()]
}

fn count_by_path(lines: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(path_of(l).to_string()).or_default() += 1;
    }
    m
}

const UID: &str = "CTn2DuaYw4sKLdZuTV";

#[test]
fn sample_download_story() {
    let samples = repo().join("samples/zeek");
    let idx = tempfile::tempdir().unwrap();
    let (lines, err) = pivot_json(UID, &samples, idx.path(), &[]);
    assert!(err.contains("indexed 14 files"), "{err}");
    let paths: Vec<&str> = lines.iter().map(|l| path_of(l)).collect();
    assert_eq!(paths, ["conn", "http", "files"], "{lines:#?}");
    assert!(lines
        .iter()
        .all(|l| l.contains(&format!("\"uid\":\"{UID}\""))));
    assert!(lines[1].contains("\"uri\":\"/dl/invoice.exe\""));
    assert!(lines[2].contains("\"filename\":\"invoice.exe\""));

    // Warm: nothing indexed again; the lookup that led to the download is one step before it.
    let (lines, err) = pivot_json(UID, &samples, idx.path(), &["--around", "5m"]);
    assert!(!err.contains("indexed"), "{err}");
    let paths: Vec<&str> = lines.iter().map(|l| path_of(l)).collect();
    assert_eq!(paths, ["dns", "conn", "http", "files"], "{lines:#?}");
    assert!(lines[0].contains("\"query\":\"updates.example-cdn.net\""));
    assert!(lines[0].contains("\"answers\":[\"203.0.113.50\"]"));
    assert!(
        lines[0].contains(&format!("\"_via\":\"lookup 1.0s before {UID}\"")),
        "{}",
        lines[0]
    );

    // Too short a window leaves it out.
    let (lines, _) = pivot_json(UID, &samples, idx.path(), &["--around", "500ms"]);
    assert_eq!(lines.len(), 3);

    // The file's hash leads to its files record and, one step on, its connection.
    let (lines, _) = pivot_json(
        "AF74211AA2E9B4AEEBA42EF495E5C182",
        &samples,
        idx.path(),
        &[],
    );
    assert_eq!(
        count_by_path(&lines),
        BTreeMap::from([("conn".into(), 1), ("files".into(), 1), ("http".into(), 1)])
    );
    let files = lines.iter().find(|l| path_of(l) == "files").unwrap();
    assert!(
        !files.contains("_via"),
        "the files record holds the hash itself"
    );
    let conn = lines.iter().find(|l| path_of(l) == "conn").unwrap();
    assert!(conn.contains(&format!("\"_via\":\"uid {UID}\"")), "{conn}");

    // alice's phishing lookup, by name: the lookup and the visit.
    let (lines, _) = pivot_json(
        "paypal-login.secure-verify.000webhostapp.com",
        &samples,
        idx.path(),
        &["--no-follow"],
    );
    let paths: BTreeMap<String, usize> = count_by_path(&lines);
    assert!(paths.get("dns").is_some_and(|&n| n >= 1), "{lines:#?}");
    assert!(paths.get("http").is_some_and(|&n| n >= 1), "{lines:#?}");

    // A busy address: the earliest records only, the rest counted.
    let (lines, err) = pivot_json("192.168.1.1", &samples, idx.path(), &["--limit", "2"]);
    assert_eq!(lines.len(), 2, "{err}");
    assert!(err.contains("showing the earliest 2 records"), "{err}");
    let (all, _) = pivot_json("192.168.1.1", &samples, idx.path(), &["--limit", "0"]);
    assert!(all.len() > 2);
    assert_eq!(lines[..], all[..2]);

    // Without an index: the same story.
    let (code, out, err) = run(&[
        "pivot",
        UID,
        samples.to_str().unwrap(),
        "--no-index",
        "--around",
        "5m",
        "-f",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 4);

    // Nothing found: exit 1, said on stderr.
    let (code, out, err) = pivot_in("CAAAAAAAAAAAAAAAAA", &samples, idx.path(), &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("0 records"), "{err}");

    // Not a value trawl can pivot on.
    let (code, _, err) = run(&["pivot", "hello", samples.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a connection uid"), "{err}");
}

#[test]
fn table_output_tells_the_story() {
    let samples = repo().join("samples/zeek");
    let idx = tempfile::tempdir().unwrap();
    let table = ["--around", "5m", "-f", "table"];
    let (code, out, err) = pivot_in(UID, &samples, idx.path(), &table);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("2025-11-20 09:30:00.000000  dns "),
        "{out}"
    );
    assert!(
        lines[0].ends_with(&format!("<- lookup 1.0s before {UID}")),
        "{out}"
    );
    assert!(lines[1].contains("conn ") && lines[1].contains("-> 203.0.113.50:80"));
    assert!(lines[3].contains("filename=invoice.exe"), "{out}");
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Independent count: data lines of each file where a field, a set element or a word of a
/// field equals `value` (`,`, space, `=` and `"` separate words; names in any case).
fn expected_counts(dir: &Path, value: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let text = if name.ends_with(".gz") {
            gunzip(&p)
        } else {
            std::fs::read(&p).unwrap()
        };
        let text = String::from_utf8_lossy(&text);
        let log_type = name.split('.').next().unwrap().to_string();
        let n = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| {
                l.split(['\t', ',', ' ', '=', '"', '[', ']', '{', '}'])
                    .any(|w| w.eq_ignore_ascii_case(value))
            })
            .count();
        if n > 0 {
            m.insert(log_type, n);
        }
    }
    m
}

#[test]
fn corpus_matches_an_independent_count() {
    let Some(root) = shared("corpus_matches_an_independent_count") else {
        return;
    };
    let tsv = need(&root, "corpus/brimdata-zed-sample-data/zeek-default");
    let json = need(&root, "corpus/brimdata-zed-sample-data/zeek-json");
    let idx = tempfile::tempdir().unwrap();
    // A connection seen in four logs, an address seen in many, a name, a certificate hash.
    for value in [
        "CF0g772wEPFoRKyYg3",
        "CmC9kY1X0u9nP78KZc",
        "10.47.8.19",
        "ise.wrccdc.org",
        "b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe",
    ] {
        let want = expected_counts(&tsv, value);
        assert!(!want.is_empty(), "{value} is in the corpus");
        let (lines, err) = pivot_json(value, &tsv, idx.path(), &["--no-follow", "--limit", "0"]);
        assert_eq!(count_by_path(&lines), want, "{value} (TSV): {err}");
        // The same events as JSON-streaming logs.
        if value.starts_with('C') {
            let (jlines, err) =
                pivot_json(value, &json, idx.path(), &["--no-follow", "--limit", "0"]);
            assert_eq!(count_by_path(&jlines), want, "{value} (JSON): {err}");
        }
    }
    // Records come in time order.
    let (lines, _) = pivot_json("10.47.8.19", &tsv, idx.path(), &["--no-follow"]);
    let ts: Vec<f64> = lines
        .iter()
        .map(|l| {
            let at = l.find("\"ts\":").unwrap() + 5;
            let end = l[at..].find(',').unwrap() + at;
            l[at..end].parse().unwrap()
        })
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn damaged_files_are_reported() {
    let Some(root) = shared("damaged_files_are_reported") else {
        return;
    };
    // zat's data folder holds a deliberately corrupt http.log.corrupt.gz.
    let zat = need(&root, "corpus/SuperCowPowers-zat/data");
    let idx = tempfile::tempdir().unwrap();
    // Exit 0 or 1, as pivot_json checks.
    let (_, err) = pivot_json("192.168.33.10", &zat, idx.path(), &[]);
    assert!(err.contains("http.log.corrupt.gz"), "{err}");
}

#[test]
fn truncated_gzip_and_growing_log() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let day = logs.join("2025-11-20");
    std::fs::create_dir_all(&day).unwrap();
    let src = repo().join("samples/zeek/2025-11-20");
    for name in [
        "conn.09:00:00-10:00:00.log.gz",
        "http.09:00:00-10:00:00.log.gz",
    ] {
        std::fs::copy(src.join(name), day.join(name)).unwrap();
    }
    // files.log cut in half.
    let files = std::fs::read(src.join("files.09:00:00-10:00:00.log.gz")).unwrap();
    std::fs::write(
        day.join("files.09:00:00-10:00:00.log.gz"),
        &files[..files.len() / 2],
    )
    .unwrap();
    let idx = dir.path().join("index");
    let (lines, err) = pivot_json(UID, &logs, &idx, &[]);
    assert!(err.contains("files.09:00:00-10:00:00.log.gz"), "{err}");
    let got = count_by_path(&lines);
    assert_eq!(got.get("conn"), Some(&1), "{err}");
    assert_eq!(got.get("http"), Some(&1), "{err}");

    // A live log grows: only the new part is indexed, and the new connection is found.
    let current = logs.join("current");
    std::fs::create_dir_all(&current).unwrap();
    let conn = current.join("conn.log");
    std::fs::copy(repo().join("samples/zeek/current/conn.log"), &conn).unwrap();
    let (_, err) = pivot_json(UID, &logs, &idx, &[]);
    assert!(err.contains("indexed 1 files (0 appended to)"), "{err}");
    let text = std::fs::read_to_string(&conn).unwrap();
    let last = text.lines().rfind(|l| !l.starts_with('#')).unwrap();
    let mut fields: Vec<&str> = last.split('\t').collect();
    fields[1] = "CNewNewNewNewNew01";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&conn)
        .unwrap();
    // Zeek's #close goes when the file rotates; a live file has none yet.
    writeln!(f, "{}", fields.join("\t")).unwrap();
    drop(f);
    let (lines, err) = pivot_json("CNewNewNewNewNew01", &logs, &idx, &[]);
    assert!(err.contains("indexed 1 files (1 appended to)"), "{err}");
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("{\"_path\":\"conn\""), "{}", lines[0]);
}
