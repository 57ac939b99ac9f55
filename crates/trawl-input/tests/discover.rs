//! Discovery over a Zeek-like archive built in a temp folder.

use std::fs;
use std::path::{Path, PathBuf};

use trawl_input::{discover, parse_time_bound, Compression, Filter, InputError, LogFile};

const H: i64 = 3_600_000_000_000;

fn touch(root: &Path, rel: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, b"x").unwrap();
}

/// zeekctl's layout: dated archive folders, `current/`, plus things to skip.
fn archive() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "logs/2024-04-12/conn.09:00:00-10:00:00.log.gz",
        "logs/2024-04-12/conn.10:00:00-11:00:00.log.gz",
        "logs/2024-04-12/dns.09:00:00-10:00:00.log.gz",
        "logs/2024-04-12/dns.23:00:00-00:00:00.json.gz",
        "logs/2024-04-13/dns.00:00:00-01:00:00.log.zst",
        "logs/2024-04-12/conn-summary.09:00:00-10:00:00.txt",
        "logs/current/conn.log",
        "logs/current/dns.log",
        "logs/current/.dns.log.swp",
        "logs/.hidden/dns.log",
        "logs/stats/meta.dat",
        "logs/2024-04-12/trace.pcap.gz",
        "logs/README.md",
        "zeek/conn.2024-04-12-09-00-00.log",
        "zeek/conn.log.2024-04-12-11-00-00",
        "dnsmasq/dnsmasq.log.1.gz",
    ] {
        touch(dir.path(), rel);
    }
    dir
}

fn names(files: &[LogFile], root: &Path) -> Vec<String> {
    files
        .iter()
        .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

/// What `filter` discovers under `root/sub`, as paths relative to `root`.
fn found_in(root: &Path, sub: &str, filter: &Filter) -> Vec<String> {
    names(&discover(&[root.join(sub)], filter).unwrap().files, root)
}

fn types(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

#[test]
fn walks_an_archive_in_time_order() {
    let dir = archive();
    let found = discover(&[dir.path().to_path_buf()], &Filter::default()).unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(
        names(&found.files, dir.path()),
        [
            "logs/2024-04-12/conn-summary.09:00:00-10:00:00.txt",
            "logs/2024-04-12/conn.09:00:00-10:00:00.log.gz",
            "logs/2024-04-12/dns.09:00:00-10:00:00.log.gz",
            "zeek/conn.2024-04-12-09-00-00.log",
            "logs/2024-04-12/conn.10:00:00-11:00:00.log.gz",
            "zeek/conn.log.2024-04-12-11-00-00",
            "logs/2024-04-12/dns.23:00:00-00:00:00.json.gz",
            "logs/2024-04-13/dns.00:00:00-01:00:00.log.zst",
            "dnsmasq/dnsmasq.log.1.gz",
            "logs/current/conn.log",
            "logs/current/dns.log",
        ]
    );
    let zst = found
        .files
        .iter()
        .find(|f| f.compressed == Compression::Zstd)
        .unwrap();
    assert_eq!(zst.log_type.as_deref(), Some("dns"));
    let current = found.files.last().unwrap();
    assert_eq!(
        (current.log_type.as_deref(), current.span),
        (Some("dns"), None)
    );
}

#[test]
fn filters_by_type_and_time() {
    let dir = archive();
    let at = |s| parse_time_bound(s, 0).unwrap();
    let filter = Filter {
        types: types(&["dns"]),
        since: Some(at("2024-04-12T09:30")),
        until: Some(at("2024-04-12T23:30")),
    };
    assert_eq!(
        found_in(dir.path(), "logs", &filter),
        [
            "logs/2024-04-12/dns.09:00:00-10:00:00.log.gz",
            "logs/2024-04-12/dns.23:00:00-00:00:00.json.gz",
            "logs/current/dns.log",
        ]
    );
    // The 23:00 file ends at midnight of the next day, so it holds 23:59 rows.
    let late = Filter {
        since: Some(at("2024-04-12T23:59")),
        ..Filter::default()
    };
    assert_eq!(
        found_in(dir.path(), "logs/2024-04-12", &late),
        ["logs/2024-04-12/dns.23:00:00-00:00:00.json.gz"]
    );
    // Open-ended spans from Zeek's own rotation names.
    let filter = Filter {
        types: types(&["conn"]),
        since: Some(at("2024-04-13")),
        until: Some(at("2024-04-13T01:00") + H),
    };
    assert_eq!(found_in(dir.path(), "zeek", &filter).len(), 2);
    let before = Filter {
        until: Some(at("2024-04-12T10:00")),
        ..Filter::default()
    };
    assert_eq!(
        found_in(dir.path(), "zeek", &before),
        ["zeek/conn.2024-04-12-09-00-00.log"]
    );
    let nothing = Filter {
        types: Some(vec![]),
        ..Filter::default()
    };
    assert!(discover(&[dir.path().to_path_buf()], &nothing)
        .unwrap()
        .files
        .is_empty());
}

#[test]
fn named_files_are_always_taken_once() {
    let dir = archive();
    let odd = dir.path().join("logs/stats/meta.dat");
    let hidden = dir.path().join("logs/current/.dns.log.swp");
    let paths = [
        odd.clone(),
        hidden.clone(),
        odd.clone(),
        dir.path().join("logs/stats"),
    ];
    let found = discover(&paths, &Filter::default()).unwrap();
    let got: Vec<&Path> = found.files.iter().map(|f| f.path.as_path()).collect();
    assert_eq!(got, [hidden.as_path(), odd.as_path()]);
    assert_eq!(found.files[1].log_type.as_deref(), Some("meta"));
}

#[test]
fn unreadable_paths_are_problems_not_failures() {
    let dir = archive();
    let missing = dir.path().join("nope");
    let paths = [missing.clone(), dir.path().join("logs/current")];
    let found = discover(&paths, &Filter::default()).unwrap();
    assert_eq!(found.files.len(), 2);
    assert_eq!(found.problems.len(), 1);
    assert!(found.problems[0]
        .to_string()
        .starts_with(&missing.display().to_string()));

    match discover(&[missing.clone(), missing.join("x")], &Filter::default()) {
        Err(InputError::NoInput { problems }) => assert_eq!(problems.len(), 2),
        other => panic!("expected NoInput, got {other:?}"),
    }
    assert!(discover(&[], &Filter::default()).unwrap().files.is_empty());
}

#[cfg(unix)]
#[test]
fn follows_symlinks_and_reports_loops() {
    let dir = archive();
    let logs = dir.path().join("logs");
    // zeekctl's logs/current is a symlink into the spool folder.
    fs::rename(logs.join("current"), dir.path().join("spool")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("spool"), logs.join("current")).unwrap();
    std::os::unix::fs::symlink(&logs, logs.join("current/loop")).unwrap();
    let found = discover(std::slice::from_ref(&logs), &Filter::default()).unwrap();
    let current: Vec<PathBuf> = found
        .files
        .iter()
        .filter(|f| f.span.is_none())
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(
        current,
        [logs.join("current/conn.log"), logs.join("current/dns.log")]
    );
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert!(matches!(found.problems[0], InputError::Walk { .. }));
}
