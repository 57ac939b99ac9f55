//! `trawl query` against independent computations: plain Python over the raw logs, and DuckDB
//! (`$TRAWL_PYTHON` with duckdb installed) over the JSON logs, on the corpus in
//! `$TRAWL_SHARED` and on the bundled samples.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{need, repo, shared, trawl};

/// Runs a query; stdout as text (asserting success).
fn query(args: &[&str]) -> String {
    let mut all = vec!["query", "-q", "--no-progress"];
    all.extend_from_slice(args);
    let out = trawl(&all);
    assert!(
        out.status.success(),
        "trawl {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs a query over Zeek TSV logs at `path`; stdout as text.
fn query_zeek(q: &str, path: &std::path::Path) -> String {
    query(&[q, "-f", "zeek", path.to_str().unwrap()])
}

/// Data rows of Zeek TSV output, split into fields.
fn tsv_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Runs a Python program (plain `python3`, or `$TRAWL_PYTHON` if asked) and returns stdout.
fn python(program: &str, args: &[&str], interpreter: Option<&str>) -> String {
    let out = Command::new(interpreter.unwrap_or("python3"))
        .arg("-c")
        .arg(program)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Plain Python: reads Zeek TSV (gzip or not) and prints `count<TAB>value` of the top `n`
/// values of the columns (joined by a tab), ties by value, unset `-` counted as a value.
const PY_TOP: &str = r#"
import gzip, sys, collections
path, cols, n = sys.argv[1], sys.argv[2].split(','), int(sys.argv[3])
op = gzip.open if path.endswith('.gz') else open
c = collections.Counter()
fields = None
with op(path, 'rb') as f:
    for raw in f:
        line = raw.rstrip(b'\n')
        if line.startswith(b'#fields'):
            fields = line.split(b'\t')[1:]
            idx = [fields.index(x.encode()) for x in cols]
            continue
        if line.startswith(b'#') or fields is None:
            continue
        parts = line.split(b'\t')
        c[tuple(parts[i] for i in idx)] += 1
# Ties by value, unset (`-`) after values, as SQL's NULLS LAST.
rows = sorted(c.items(), key=lambda kv: (-kv[1], [(v == b'-', v) for v in kv[0]]))[:n]
for k, v in rows:
    sys.stdout.write(str(v) + '\t' + '\t'.join(x.decode('utf-8', 'replace') for x in k) + '\n')
"#;

fn py_top(path: &std::path::Path, cols: &str, n: usize) -> Vec<(u64, Vec<String>)> {
    python(
        PY_TOP,
        &[path.to_str().unwrap(), cols, &n.to_string()],
        None,
    )
    .lines()
    .map(|l| {
        let mut it = l.split('\t');
        let c = it.next().unwrap().parse().unwrap();
        (c, it.map(str::to_string).collect())
    })
    .collect()
}

/// trawl's `top` as (count, values) in its order.
fn trawl_top(out: &str) -> Vec<(u64, Vec<String>)> {
    tsv_rows(out)
        .into_iter()
        .map(|mut r| {
            let c = r.pop().unwrap().parse().unwrap();
            (c, r)
        })
        .collect()
}

#[test]
fn top_query_names_match_python_on_the_corpus() {
    let Some(root) = shared("top_query_names_match_python_on_the_corpus") else {
        return;
    };
    let dns = need(
        &root,
        "corpus/brimdata-zed-sample-data/zeek-default/dns.log.gz",
    );
    let ours = trawl_top(&query_zeek("dns | top 25 query", &dns));
    let theirs = py_top(&dns, "query", 25);
    assert_eq!(ours.len(), 25);
    assert_eq!(ours, theirs);
    // The general path (a filter first) gives the same.
    let ours = trawl_top(&query_zeek("dns | where ts > 0 | top 25 query", &dns));
    assert_eq!(ours, theirs);
}

#[test]
fn http_by_host_and_mime_matches_python() {
    let Some(root) = shared("http_by_host_and_mime_matches_python") else {
        return;
    };
    let http = need(&root, "corpus/SuperCowPowers-zat/data/http.log");
    let ours = trawl_top(&query_zeek("http | top 1000 host, resp_mime_types", &http));
    let theirs = py_top(&http, "host,resp_mime_types", 1000);
    assert!(ours.len() > 5, "{ours:?}");
    assert_eq!(ours, theirs);
    // summarize ... by gives the same groups, ordered by key.
    let by: BTreeMap<Vec<String>, u64> = tsv_rows(&query_zeek(
        "http | summarize n = count() by host, resp_mime_types",
        &http,
    ))
    .into_iter()
    .map(|mut r| {
        let c = r.pop().unwrap().parse().unwrap();
        (r, c)
    })
    .collect();
    let expected: BTreeMap<Vec<String>, u64> = theirs.into_iter().map(|(c, k)| (k, c)).collect();
    assert_eq!(by, expected);
}

#[test]
fn software_versions_match_python() {
    let Some(root) = shared("software_versions_match_python") else {
        return;
    };
    let sw = need(
        &root,
        "corpus/brimdata-zed-sample-data/zeek-default/software.log.gz",
    );
    let ours = trawl_top(&query_zeek(
        "software | top 500 name, unparsed_version",
        &sw,
    ));
    let theirs = py_top(&sw, "name,unparsed_version", 500);
    assert_eq!(ours, theirs);
    // version_lt: every IIS older than 8.0 by trawl is older by Python's own comparison.
    let old = tsv_rows(&query_zeek("software | where name == \"Microsoft-IIS\" and version_lt(unparsed_version, \"Microsoft-IIS/8.0\") | uniq unparsed_version", &sw));
    assert!(!old.is_empty());
    for r in &old {
        let v: Vec<u32> = r[0]
            .trim_start_matches("Microsoft-IIS/")
            .split('.')
            .map(|x| x.parse().unwrap())
            .collect();
        assert!(v < vec![8, 0], "{r:?}");
    }
}

/// DuckDB over the JSON logs: the top query names and a filtered count.
#[test]
fn top_query_names_match_duckdb_over_json() {
    let Some(root) = shared("top_query_names_match_duckdb_over_json") else {
        return;
    };
    let Ok(py) = std::env::var("TRAWL_PYTHON") else {
        eprintln!("skipped top_query_names_match_duckdb_over_json: TRAWL_PYTHON unset");
        return;
    };
    let dns = need(
        &root,
        "corpus/brimdata-zed-sample-data/zeek-json/dns.json.gz",
    );
    let program = r#"
import sys, duckdb
rows = duckdb.sql(f"""
  SELECT query, count(*) AS c FROM read_json_auto('{sys.argv[1]}')
  WHERE query IS NOT NULL GROUP BY query ORDER BY c DESC, query LIMIT 25""").fetchall()
for q, c in rows:
    print(f"{c}\t{q}")
n = duckdb.sql(f"""SELECT count(*) FROM read_json_auto('{sys.argv[1]}')
  WHERE qtype_name = 'AAAA' AND "id.orig_h" LIKE '10.47.%'""").fetchall()[0][0]
print(n)
"#;
    let theirs = python(program, &[dns.to_str().unwrap()], Some(&py));
    let mut lines: Vec<&str> = theirs.lines().collect();
    let count: u64 = lines.pop().unwrap().parse().unwrap();
    let expected: Vec<(u64, Vec<String>)> = lines
        .iter()
        .map(|l| {
            let (c, q) = l.split_once('\t').unwrap();
            (c.parse().unwrap(), vec![q.to_string()])
        })
        .collect();
    let ours = trawl_top(&query_zeek("dns | where exists query | top 25 query", &dns));
    assert_eq!(ours, expected);
    let n = query(&[
        "dns | where qtype_name == \"AAAA\" and id.orig_h in 10.47.0.0/16 | count",
        "-f",
        "csv",
        dns.to_str().unwrap(),
    ]);
    let n: Vec<&str> = n.lines().collect();
    assert_eq!(n, ["count".to_string(), count.to_string()]);
}

#[test]
fn samples_folder_by_type_time_and_format() {
    let samples = repo().join("samples/zeek");
    let s = samples.to_str().unwrap();
    // Every dns record of the folder (dated gzip files and current/), counted two ways.
    let all = query(&["dns | count", "-f", "csv", s]);
    let by_hour = query(&["dns | count by bucket(ts, 1h)", "-f", "csv", s]);
    let total: u64 = all.lines().nth(1).unwrap().parse().unwrap();
    let summed: u64 = by_hour
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(total > 0);
    assert_eq!(total, summed);
    // JSON output holds one object a line with the named columns.
    let json = query(&["dns | top 3 query", "-f", "json", s]);
    assert_eq!(json.lines().count(), 3, "{json}");
    assert!(json
        .lines()
        .all(|l| l.contains("\"query\":") && l.contains("\"count\":")));
    // A timeline of two log types is in time order.
    let tl = query(&["dns,http | timeline | cut ts, log", "-f", "zeek", s]);
    let rows = tsv_rows(&tl);
    assert!(rows.iter().any(|r| r[1] == "dns") && rows.iter().any(|r| r[1] == "http"));
    let ts: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_bad_query_shows_a_caret_and_a_hint() {
    let out = trawl(&["query", "dns | wher query == \"x\"", "samples/zeek"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown operator `wher`"), "{err}");
    assert!(err.contains("        ^^^^"), "{err}");
    assert!(err.contains("did you mean `where`?"), "{err}");
}

/// The sample dns.log's first data rows with a bad `ts` on one line and a bad `id.orig_h` on
/// another; returns the folder and the two line numbers.
fn bad_values_sample() -> (tempfile::TempDir, std::path::PathBuf, u64, u64) {
    let text = std::fs::read_to_string(repo().join("samples/zeek/current/dns.log")).expect("read");
    let mut out = String::new();
    let mut data = 0;
    let (mut bad_ts, mut bad_addr) = (0, 0);
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            out.push_str(line);
        } else {
            data += 1;
            let mut f: Vec<&str> = line.split('\t').collect();
            if data == 2 {
                f[0] = "yesterday";
                bad_ts = i as u64 + 1;
            } else if data == 3 {
                f[2] = "not-an-ip";
                bad_addr = i as u64 + 1;
            }
            out.push_str(&f.join("\t"));
        }
        out.push('\n');
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dns.log");
    std::fs::write(&path, out).expect("write");
    (dir, path, bad_ts, bad_addr)
}

/// A bad value in a field the query reads, on the lazy TSV path (filters, aggregates, the
/// filtered `top`), is reported with file, line and reason and counted; a field the query
/// does not read is not.
#[test]
fn bad_values_the_query_reads_are_reported() {
    let (_dir, path, bad_ts, bad_addr) = bad_values_sample();
    let p = path.to_str().expect("utf-8 path");
    let run = |q: &str| {
        let out = trawl(&["query", "--no-progress", "-f", "json", q, p]);
        assert!(out.status.success(), "{q}");
        String::from_utf8(out.stderr).expect("utf-8")
    };
    let ts = format!("{p}:{bad_ts}: field ts: \"yesterday\" is not a valid time");
    let addr = format!("{p}:{bad_addr}: field id.orig_h: \"not-an-ip\" is not a valid addr");

    let err = run("dns | where ts > 2020-01-01T00:00 | count");
    assert!(err.contains(&ts), "{err}");
    assert!(!err.contains("not-an-ip"), "{err}");
    assert!(
        err.contains(&format!("trawl: 1 problem in 1 line (first: {ts})")),
        "{err}"
    );

    // The filtered top goes through the value counter with a filter.
    let err = run("dns | where id.orig_h in 192.168.0.0/16 | top 3 query");
    assert!(err.contains(&addr), "{err}");
    assert!(err.contains("; 1 problems"), "{err}");

    // Read by the filter and again when the record is output whole: reported once.
    let err = run("dns | where id.orig_h in 192.168.0.0/16 and ts > 2020-01-01T00:00");
    let once = |what: &str| {
        err.lines()
            .filter(|l| *l == format!("trawl: {what}"))
            .count()
    };
    assert_eq!((once(&ts), once(&addr)), (1, 1), "{err}");

    let err = run("dns | summarize max(ts) by id.orig_h");
    assert!(err.contains(&ts) && err.contains(&addr), "{err}");
    assert!(
        err.contains(&format!("trawl: 2 problems in 2 lines (first: {ts})")),
        "{err}"
    );
}

/// `--file` reads a saved query (comment lines left out); `*,dns` is every type; a timeline
/// and dcount/values notes on the samples.
#[test]
fn query_from_a_file_and_star_types() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hunt = dir.path().join("top.tq");
    std::fs::write(&hunt, "# the most asked names\ndns\n| top 3 query\n# end\n").expect("write");
    let samples = repo().join("samples/zeek");
    let s = samples.to_str().expect("utf-8");
    let from_file = query(&["-F", hunt.to_str().expect("utf-8"), s]);
    assert_eq!(
        tsv_rows(&from_file),
        tsv_rows(&query(&["dns | top 3 query", s]))
    );
    assert_eq!(tsv_rows(&from_file).len(), 3);
    assert_eq!(
        tsv_rows(&query(&["*,dns | count", s])),
        tsv_rows(&query(&["* | count", s])),
        "*,dns is every type"
    );
    // A mistake in the file is shown on its line.
    std::fs::write(&hunt, "# comment\ndns | top x query\n").expect("write");
    let out = trawl(&["query", "-F", hunt.to_str().expect("utf-8"), s]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_named_file_is_read_whatever_its_name_when_its_records_do_not_say() {
    // JSON without `_path` in a file whose name is not its log type (`gen_dns.py` writes such
    // files): the user named it, so it is read as the query's type, not skipped.
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo().join("samples/zeek-json/dns.json")).unwrap();
    let stripped: String = src
        .lines()
        .map(|l| l.replacen("\"_path\":\"dns\",", "", 1) + "\n")
        .collect();
    let plain = dir.path().join("capture_big.json");
    std::fs::write(&plain, &stripped).unwrap();
    let expected = src.lines().count();
    let count = |p: &std::path::Path| -> usize {
        let out = query(&["dns | count", "-f", "csv", p.to_str().unwrap()]);
        out.lines().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(count(&plain), expected);
    // With `_path`, records are checked: a conn query over a dns file finds nothing.
    let tagged = dir.path().join("capture_tagged.json");
    std::fs::write(&tagged, &src).unwrap();
    assert_eq!(count(&tagged), expected);
    let out = query(&["conn | count", "-f", "csv", tagged.to_str().unwrap()]);
    assert_eq!(out.lines().nth(1).unwrap_or("0"), "0", "{out}");
}

/// `hunt dga` names a client's workstation as of its lookups, as `trawl run` does: an address
/// that changed hands is credited to whoever held it at the time.
#[test]
fn hunt_dga_attributes_clients_as_of_their_lookups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let head = |path: &str, fields: &str, types: &str| {
        format!("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#fields\t{fields}\n#types\t{types}\n")
    };
    let dhcp = head(
        "dhcp",
        "ts\tclient_addr\tmac\thost_name\tassigned_addr\tlease_time",
        "time\taddr\tstring\tstring\taddr\tinterval",
    )
        + "1763629206.0\t192.168.1.11\taa:bb:cc:00:00:11\tbob-desktop\t192.168.1.11\t3600.0\n\
         1763633100.0\t192.168.1.11\taa:bb:cc:00:00:12\tcarol-phone\t192.168.1.11\t3600.0\n";
    let dns = head(
        "dns",
        "ts\tuid\tid.orig_h\tquery",
        "time\tstring\taddr\tstring",
    ) + "1763631060.0\tCa1\t192.168.1.11\tqxvkzjwpterb.net\n\
           1763633400.0\tCa2\t192.168.1.11\thjzqpxwvkmrt.info\n";
    std::fs::write(dir.path().join("dhcp.log"), dhcp).expect("write");
    std::fs::write(dir.path().join("dns.log"), dns).expect("write");
    let out = trawl(&[
        "hunt",
        "dga",
        "-f",
        "json",
        dir.path().to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let who = |name: &str| {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["query"] == name)
            .map(|v| v["workstations"].clone())
    };
    assert_eq!(
        who("qxvkzjwpterb.net"),
        Some(serde_json::json!(["bob-desktop"])),
        "{text}"
    );
    assert_eq!(
        who("hjzqpxwvkmrt.info"),
        Some(serde_json::json!(["carol-phone"])),
        "{text}"
    );
}

/// A line longer than `TRAWL_MAX_LINE` in a stream read in order (gzip) is skipped and
/// reported at its line, and the lines after it keep their numbers.
#[test]
fn lines_past_the_maximum_are_skipped_and_reported() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.log.gz");
    let long = "x".repeat(5_000);
    let text = format!(
        "#separator \\x09\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\ta.example\n{long}\n2.0\n3.0\tb.example\n"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["query", "-q", "--no-progress", "-f", "zeek", "* | count"])
        .arg(&path)
        .env("TRAWL_MAX_LINE", "1000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(tsv_rows(&String::from_utf8_lossy(&out.stdout)), [["3"]]);
    assert!(
        err.contains("dns.log.gz:5: line of 5001 bytes is longer than the maximum of 1000 bytes"),
        "{err}"
    );
    assert!(err.contains("dns.log.gz:6: row has 1 fields"), "{err}");
}

/// `direction()`, `local()` and `network()` against the addresses read independently
/// (`cat -f json`), with the default private ranges and with a networks.cfg.
#[test]
fn local_networks_name_subnets_and_directions() {
    let dir = tempfile::tempdir().unwrap();
    let zeek = common::repo().join("samples/zeek");
    let (json, _) = common::trawl_ok(&["cat", "-f", "json", "-t", "conn", zeek.to_str().unwrap()]);
    let private = |a: &str| match a.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        std::net::IpAddr::V6(_) => false,
    };
    let lab = |a: &str| a.starts_with("192.168.1.");
    let mut want: BTreeMap<(bool, String), u64> = BTreeMap::new();
    for line in json.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let (o, d) = (
            r["id.orig_h"].as_str().unwrap(),
            r["id.resp_h"].as_str().unwrap(),
        );
        for (cfg, local) in [(false, &private as &dyn Fn(&str) -> bool), (true, &lab)] {
            let dirn = match (local(o), local(d)) {
                (true, false) => "outbound",
                (false, true) => "inbound",
                (true, true) => "internal",
                (false, false) => "external",
            };
            *want.entry((cfg, dirn.to_string())).or_default() += 1;
        }
    }
    let cfg = common::write_file(
        dir.path(),
        "networks.cfg",
        "# lab\n192.168.1.0/24  lab LAN\n",
    );
    for (with_cfg, extra) in [
        (false, vec![]),
        (true, vec!["--networks", cfg.to_str().unwrap()]),
    ] {
        let mut args = vec!["query", "-q", "--no-progress", "-f", "json"];
        args.extend(extra.iter().copied());
        args.extend([
            "conn | summarize n = count() by d = direction()",
            zeek.to_str().unwrap(),
        ]);
        let (out, _) = common::trawl_ok(&args);
        for line in out.lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            let key = (with_cfg, r["d"].as_str().unwrap().to_string());
            assert_eq!(r["n"].as_u64(), want.get(&key).copied(), "{key:?}: {out}");
        }
    }
    // One record's network name, with the subnets from `--networks` or `--config`.
    let first = |opt: &str, file: &std::path::Path, q: &str| {
        let zeek = zeek.to_str().unwrap();
        let args = [
            "query",
            "-q",
            "--no-progress",
            "-f",
            "json",
            opt,
            file.to_str().unwrap(),
            q,
            zeek,
        ];
        common::trawl_ok(&args).0.trim().to_string()
    };
    let q = "conn | where local(id.orig_h) | head 1 | put n = network(id.orig_h), r = network(\"8.8.8.8\") | cut n, r";
    assert_eq!(
        first("--networks", &cfg, q),
        r#"{"_path":"conn","n":"lab LAN"}"#
    );
    let toml = common::write_file(
        dir.path(),
        "trawl.toml",
        "[networks]\nsubnets = { \"192.168.1.0/24\" = \"lab from toml\" }\n",
    );
    let q =
        "conn | where direction() == \"outbound\" | head 1 | put n = network(id.orig_h) | cut n";
    let out = first("--config", &toml, q);
    assert_eq!(out.trim(), r#"{"_path":"conn","n":"lab from toml"}"#);
}

/// `trawl hunt talkers`: bytes of outbound connections per local host, against a sum over
/// `cat -f json` (private ranges as the local networks).
#[test]
fn the_talkers_hunt_adds_up_outbound_bytes() {
    let zeek = common::repo().join("samples/zeek");
    let zeek = zeek.to_str().unwrap();
    let (json, _) = common::trawl_ok(&["cat", "-f", "json", "-t", "conn", zeek]);
    let local = |a: &str| a.starts_with("192.168.") || a.starts_with("10.");
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for line in json.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let (o, d) = (
            r["id.orig_h"].as_str().unwrap(),
            r["id.resp_h"].as_str().unwrap(),
        );
        if local(o) && !local(d) {
            let bytes =
                r["orig_bytes"].as_u64().unwrap_or(0) + r["resp_bytes"].as_u64().unwrap_or(0);
            *want.entry(o.to_string()).or_default() += bytes;
        }
    }
    let (out, _) = common::trawl_ok(&["hunt", "talkers", "-f", "json", zeek]);
    let got: BTreeMap<String, u64> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["_path"] == "hunt_talkers_1")
        .map(|r| {
            (
                r["id.orig_h"].as_str().unwrap().to_string(),
                r["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(!got.is_empty(), "{out}");
    assert_eq!(got, want);
}
