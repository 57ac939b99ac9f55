//! `trawl pdns`: the store filled by `pdns import` and by `trawl run --pdns`, lookups by name,
//! domain, address and network, idempotent imports, and the corpus against an independent
//! count.

mod common;

use std::path::Path;

use common::{need, repo, shared, trawl, trawl_ok};
use serde_json::Value;

/// `trawl pdns import --db DB PATHS...`: its stderr.
fn import(db: &Path, paths: &[&Path]) -> String {
    let mut args = vec!["pdns", "import", "--db", db.to_str().unwrap()];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    trawl_ok(&args).1
}

fn lookup(db: &Path, target: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["pdns", "--db", db.to_str().unwrap(), target, "-f", "json"];
    args.extend_from_slice(extra);
    let out = trawl(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (rrname, rrtype, rdata, count) of each fact, sorted.
fn facts(rows: &[Value]) -> Vec<(String, String, String, u64)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["rrname"].as_str().unwrap().to_string(),
                r["rrtype"].as_str().unwrap().to_string(),
                r["rdata"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn f(a: &str, b: &str, c: &str, n: u64) -> (String, String, String, u64) {
    (a.into(), b.into(), c.into(), n)
}

#[test]
fn samples_imported_twice_are_counted_once_and_answer_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pdns.sqlite");
    let samples = repo().join("samples");
    let err = import(&db, &[&samples]);
    assert!(err.contains("233 answers from 16 files into"), "{err}");
    let all = lookup(&db, "*", &[]);
    let err = import(&db, &[&samples]);
    assert!(err.contains("16 files already imported"), "{err}");
    assert_eq!(
        lookup(&db, "*", &[]),
        all,
        "a second import changed the store"
    );

    // Common Output Format fields, epoch seconds.
    let row = &lookup(&db, "qxvtrkzplmwhfj.com", &[])[0];
    for k in [
        "rrname",
        "rrtype",
        "rdata",
        "time_first",
        "time_last",
        "count",
    ] {
        assert!(row.get(k).is_some(), "{k} missing: {row}");
    }
    assert_eq!(row["rdata"], "NXDOMAIN");
    assert_eq!(row["time_first"], 1772525345);

    // dnsmasq's CNAME chain, hop by hop, followed from the name asked.
    assert_eq!(
        facts(&lookup(&db, "www.wikipedia.org", &[])),
        [
            f("dyna.wikimedia.org", "A", "185.15.59.224", 2),
            f("www.wikipedia.org", "A", "185.15.59.224", 28),
            f("www.wikipedia.org", "CNAME", "dyna.wikimedia.org", 2),
        ]
    );
    // What pointed at a name, and at an address.
    assert_eq!(
        facts(&lookup(&db, "dyna.wikimedia.org", &[])),
        [
            f("dyna.wikimedia.org", "A", "185.15.59.224", 2),
            f("www.wikipedia.org", "CNAME", "dyna.wikimedia.org", 2),
        ]
    );
    assert_eq!(
        facts(&lookup(&db, "185.15.59.224", &[])),
        [
            f("dyna.wikimedia.org", "A", "185.15.59.224", 2),
            f("www.wikipedia.org", "A", "185.15.59.224", 28),
        ]
    );
    assert_eq!(lookup(&db, "*.wikimedia.org", &[]).len(), 1);
    assert_eq!(
        facts(&lookup(&db, "10.20.0.0/16", &[])),
        [f("printer-2f.lan", "A", "10.20.0.103", 1)]
    );
    // The time window: the dnsmasq sample is from 2026-03-03, the Zeek one from 2025-11-20.
    let since = lookup(&db, "185.15.59.224", &["--since", "2026-01-01"]);
    assert_eq!(
        facts(&since),
        [f("dyna.wikimedia.org", "A", "185.15.59.224", 2)]
    );
    // Clients, on request.
    let with = lookup(&db, "qxvtrkzplmwhfj.com", &["--clients"]);
    assert_eq!(with[0]["clients"], serde_json::json!(["10.20.0.103"]));
    // Nothing known: exit 1, said on stderr.
    let out = trawl(&["pdns", "--db", db.to_str().unwrap(), "never.example"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn trawl_run_keeps_the_same_store_as_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let samples = repo().join("samples");
    let out = dir.path().join("out");
    trawl_ok(&[
        "run",
        "--once",
        "--pdns",
        samples.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let db = dir.path().join("imported.sqlite");
    import(&db, &[&samples]);
    let ran = lookup(&out.join(".trawl/pdns.sqlite"), "*", &["--clients"]);
    assert!(ran.len() > 20, "{ran:?}");
    assert_eq!(ran, lookup(&db, "*", &["--clients"]));
}

/// A following `trawl run` whose feed goes quiet still writes its last answers once
/// `flush_seconds` have passed (not only when the next batch commits).
#[test]
fn a_quiet_feed_has_its_answers_stored_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs/current");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("dns.log"),
        "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tquery\tqtype_name\trcode_name\tanswers\n#types\ttime\tstring\taddr\tstring\tstring\tstring\tvector[string]\n1763629200.0\tC1\t10.0.0.1\tquiet.example.org\tA\tNOERROR\t192.0.2.7\n",
    )
    .unwrap();
    let db = dir.path().join("state/pdns.sqlite");
    let cfg = common::write_file(
        dir.path(),
        "trawl.toml",
        &format!(
            "state_dir = \"{}\"\n[sources.zeek]\ntype = \"folder\"\npath = \"{}\"\n[sinks.out]\ntype = \"files\"\ndir = \"{}\"\n[pdns]\nenabled = true\nflush_seconds = 1\n",
            dir.path().join("state").display(),
            dir.path().join("logs").display(),
            dir.path().join("out").display()
        ),
    );
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("TRAWL_LOG", "warn")
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    let mut found = Vec::new();
    while t.elapsed() < std::time::Duration::from_secs(15) && found.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(300));
        if db.exists() {
            found = lookup(&db, "quiet.example.org", &[]);
        }
    }
    let _ = run.kill();
    let _ = run.wait();
    assert_eq!(facts(&found), [f("quiet.example.org", "A", "192.0.2.7", 1)]);
}

/// The facts a `trawl cat -f json` record gives, by the rules read independently: a
/// response (rcode) that was not rejected, with a time; NXDOMAIN, NODATA, or one fact an
/// answer.
fn expected(records: &str) -> (u64, u64) {
    let (mut nx, mut addrs) = (0, 0);
    for line in records.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["_path"] != "dns" || r["rejected"] == true || !r["ts"].is_number() {
            continue;
        }
        if !r["query"]
            .as_str()
            .is_some_and(|q| !q.is_empty() && q != "-")
        {
            continue;
        }
        if r["qtype_name"].is_null() && r["qtype"].is_null() {
            continue;
        }
        match r["rcode_name"].as_str() {
            Some("NXDOMAIN") => nx += 1,
            Some("NOERROR") => {
                let ips = r["answers"].as_array().map_or(0, |a| {
                    a.iter()
                        .filter(|x| {
                            x.as_str()
                                .is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok())
                        })
                        .count()
                });
                addrs += ips as u64;
            }
            _ => {}
        }
    }
    (nx, addrs)
}

#[test]
fn the_corpus_agrees_with_an_independent_count() {
    let Some(root) = shared("the_corpus_agrees_with_an_independent_count") else {
        return;
    };
    let corpus = need(&root, "corpus");
    let dnsmasq = need(&root, "corpus/dnsmasq");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pdns.sqlite");
    let db_s = db.to_str().unwrap();
    let (c, d) = (corpus.to_str().unwrap(), dnsmasq.to_str().unwrap());
    trawl_ok(&["pdns", "import", "--db", db_s, "-t", "dns", c]);
    import(&db, &[&dnsmasq]);
    let (zeek, _) = trawl_ok(&["cat", "-f", "json", "-t", "dns", c]);
    let (masq, _) = trawl_ok(&["cat", "-f", "json", d]);
    let (nx1, a1) = expected(&zeek);
    let (nx2, a2) = expected(&masq);
    let rows = lookup(&db, "*", &["--limit", "10000000"]);
    let sum = |pred: &dyn Fn(&Value) -> bool| -> u64 {
        rows.iter()
            .filter(|r| pred(r))
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    };
    let nx = sum(&|r| r["rdata"] == "NXDOMAIN");
    // NXDOMAIN and NODATA facts of A/AAAA questions are not addresses.
    let addrs = sum(&|r| {
        (r["rrtype"] == "A" || r["rrtype"] == "AAAA")
            && r["rdata"] != "NXDOMAIN"
            && r["rdata"] != "NODATA"
    });
    println!(
        "corpus: {} facts, NXDOMAIN {nx}, address answers {addrs}",
        rows.len()
    );
    assert_eq!(nx, nx1 + nx2);
    assert_eq!(addrs, a1 + a2);
    assert!(nx > 1000 && addrs > 10_000, "{nx} {addrs}");
}

#[test]
fn pivot_on_an_address_shows_the_names_that_pointed_at_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pdns.sqlite");
    let samples = repo().join("samples");
    let db_s = db.to_str().unwrap();
    import(&db, &[&samples]);
    let zeek = samples.join("zeek");
    let (out, _) = trawl_ok(&[
        "pivot",
        "185.15.59.224",
        zeek.to_str().unwrap(),
        "--no-index",
        "-f",
        "json",
        "--pdns-db",
        db_s,
    ]);
    let pdns: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["_path"] == "pdns")
        .collect();
    assert_eq!(
        facts(&pdns),
        [
            f("dyna.wikimedia.org", "A", "185.15.59.224", 2),
            f("www.wikipedia.org", "A", "185.15.59.224", 28),
        ]
    );
    // The log records come first, as without a store; the facts after them.
    let paths: Vec<bool> = out
        .lines()
        .map(|l| l.starts_with("{\"_path\":\"pdns\""))
        .collect();
    assert_eq!(paths.iter().filter(|p| !**p).count(), 34);
    assert!(paths[34..].iter().all(|p| *p), "{out}");
}

/// The Zeek dns logs of the corpus: files whose name's first part is `dns`.
fn corpus_dns_logs(root: &Path) -> Vec<std::path::PathBuf> {
    common::files_under(root, &["pcap"])
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.split('.').next() == Some("dns")
        })
        .collect()
}

#[test]
fn every_corpus_fact_equals_a_python_computation() {
    let Some(root) = shared("every_corpus_fact_equals_a_python_computation") else {
        return;
    };
    let files = corpus_dns_logs(&need(&root, "corpus"));
    assert!(files.len() >= 30, "{files:?}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pdns.sqlite");
    let mut args = vec!["pdns".to_string(), "import".into(), "--db".into()];
    args.push(db.to_str().unwrap().into());
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    trawl_ok(&args);
    let python = std::env::var("TRAWL_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = repo().join("crates/trawl/tests/pdns_reference.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(&files)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = |r: &Value| {
        (
            r["rrname"].as_str().unwrap().to_string(),
            r["rrtype"].as_str().unwrap().to_string(),
            r["rdata"].as_str().unwrap().to_string(),
            r["time_first"].as_i64().unwrap(),
            r["time_last"].as_i64().unwrap(),
            r["count"].as_u64().unwrap(),
        )
    };
    let mut want: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| key(&serde_json::from_str(l).unwrap()))
        .collect();
    let mut got: Vec<_> = lookup(&db, "*", &["--limit", "10000000"])
        .iter()
        .map(key)
        .collect();
    want.sort();
    got.sort();
    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(5).collect();
    println!(
        "corpus dns logs: {} files, {} facts",
        files.len(),
        got.len()
    );
    assert!(
        missing.is_empty() && extra.is_empty() && got.len() == want.len(),
        "{} facts against Python's {}; missing {missing:?}; extra {extra:?}",
        got.len(),
        want.len()
    );
}
