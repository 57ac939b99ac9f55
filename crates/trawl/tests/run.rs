//! `trawl run` end to end on the bundled samples.

mod common;

fn cut(dir: &std::path::Path, log_type: &str, cols: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["cut", "-t", log_type, "-r", dir.to_str().unwrap()];
    args.extend_from_slice(cols);
    let out = common::trawl(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn once_enriches_the_samples_with_scores_and_time_aware_attribution() {
    let out = tempfile::tempdir().unwrap();
    let samples = common::repo().join("samples/zeek");
    let run = common::trawl(&[
        "run",
        "--once",
        samples.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Same file names as the input, uncompressed.
    assert!(out
        .path()
        .join("2025-11-20/dns.09:00:00-10:00:00.log")
        .exists());
    assert!(out.path().join("current/dns.log").exists());

    let dns = cut(
        out.path(),
        "dns",
        &[
            "id.orig_h",
            "query",
            "phish_score",
            "dga_score",
            "workstation",
        ],
    );
    let find = |q: &str| {
        dns.iter()
            .find(|r| r[1] == q)
            .unwrap_or_else(|| panic!("{q} not in output"))
            .clone()
    };
    // 192.168.1.11 is bob-desktop until its lease ends, carol-phone after 10:05.
    assert_eq!(find("updates.example-cdn.net")[4], "bob-desktop");
    assert_eq!(find("qxvkzjwpterb.net")[4], "carol-phone");
    assert_eq!(
        find("paypal-login.secure-verify.000webhostapp.com")[4],
        "alice-laptop"
    );
    for r in &dns {
        let p: f64 = r[2]
            .parse()
            .unwrap_or_else(|_| panic!("phish_score of {r:?}"));
        assert!((0.0..=1.0).contains(&p));
    }
    // Every input DNS record is in the output once.
    let input = common::trawl(&["cut", "-t", "dns", "-r", samples.to_str().unwrap(), "query"]);
    assert_eq!(
        String::from_utf8_lossy(&input.stdout).lines().count(),
        dns.len()
    );

    // The http log carries attribution too; its added columns are declared for Zeek tools.
    let http = cut(
        out.path(),
        "http",
        &["id.orig_h", "host", "mac", "workstation"],
    );
    assert!(http
        .iter()
        .any(|r| r[1] == "updates.example-cdn.net" && r[3] == "bob-desktop"));
    let text =
        std::fs::read_to_string(out.path().join("2025-11-20/dns.09:00:00-10:00:00.log")).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("#fields")
                && l.ends_with("phish_score\tdga_score\tmac\tworkstation")),
        "{text:.2000}"
    );
}

#[test]
fn a_second_once_run_rewrites_rather_than_appends() {
    let out = tempfile::tempdir().unwrap();
    let samples = common::repo().join("samples/zeek");
    let args = [
        "run",
        "--once",
        samples.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ];
    assert!(common::trawl(&args).status.success());
    let first = std::fs::read(out.path().join("current/dns.log")).unwrap();
    assert!(common::trawl(&args).status.success());
    assert_eq!(
        std::fs::read(out.path().join("current/dns.log"))
            .unwrap()
            .len(),
        first.len()
    );
}

#[test]
fn configuration_mistakes_stop_the_run_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_file(
        dir.path(),
        "t.toml",
        "[sources.a]\ntype = \"syslog\"\nudp = \"nonsense\"\n\n[sinks.b]\ntype = \"stdout\"\n",
    );
    let out = common::trawl(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("t.toml:3:1: \"nonsense\" is not an address"),
        "{err}"
    );
    let check = common::trawl(&["config", "check", cfg.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
}

/// `kill -9` while following a folder across Zeek's rotation, then a restart: every input row
/// is in the output at least once, and at most one batch is repeated.
#[test]
fn kill_9_while_following_across_a_rotation_loses_nothing() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let root = tempfile::tempdir().unwrap();
    let (input, out) = (root.path().join("logs"), root.path().join("out"));
    std::fs::create_dir_all(input.join("current")).unwrap();
    std::fs::create_dir_all(input.join("2025-11-20")).unwrap();
    let header = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tid.orig_h\tquery\n#types\ttime\taddr\tstring\n";
    let live = input.join("current/dns.log");
    let mut f = std::fs::File::create(&live).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_trawl"))
            .args([
                "run",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .env("TRAWL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let rows = |out: &std::path::Path| -> Vec<String> {
        let o = common::trawl(&["cut", "-r", out.to_str().unwrap(), "-t", "dns", "query"]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    let wait_for = |n: usize| {
        let t = Instant::now();
        while rows(&out).len() < n && t.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut next = 0;
    let mut write = |f: &mut std::fs::File, n: usize| {
        for _ in 0..n {
            writeln!(
                f,
                "{}.000000\t10.0.0.{}\tq{next}.example",
                1_763_629_200 + next,
                next % 250 + 1
            )
            .unwrap();
            next += 1;
        }
        f.flush().unwrap();
    };

    let mut trawl = start();
    write(&mut f, 3000);
    wait_for(1000);
    // Zeek rotates: the live file moves to the dated folder and a new one starts.
    std::fs::rename(&live, input.join("2025-11-20/dns.09:00:00-10:00:00.log")).unwrap();
    write(&mut f, 500); // Zeek's last lines, written to the rotated file
    let mut f = std::fs::File::create(&live).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    write(&mut f, 2000);
    std::thread::sleep(Duration::from_millis(300));
    trawl.kill().unwrap(); // SIGKILL
    trawl.wait().unwrap();
    write(&mut f, 1500);

    let mut trawl = start();
    wait_for(7000);
    unsafe_sigterm(trawl.id());
    let status = trawl.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let got = rows(&out);
    let mut seen = std::collections::HashMap::new();
    for q in &got {
        *seen.entry(q.clone()).or_insert(0) += 1;
    }
    let missing: Vec<usize> = (0..7000)
        .filter(|i| !seen.contains_key(&format!("q{i}.example")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} rows lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let repeated = got.len() - seen.len();
    assert!(
        repeated <= 10_000,
        "more than one batch repeated: {repeated}"
    );
}

/// SIGTERM through the `kill` command (no libc dependency for one call).
fn unsafe_sigterm(pid: u32) {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

/// `--metrics` serves Prometheus counters while `trawl run` follows a folder.
#[test]
fn metrics_endpoint_counts_records_cache_and_latency() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let out = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let samples = common::repo().join("samples/zeek");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args([
            "run",
            samples.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--metrics",
            &addr,
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut body = String::new();
    while t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
        let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
            continue;
        };
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .unwrap();
        body.clear();
        s.read_to_string(&mut body).unwrap();
        // Following reads current/ only: its 24 records.
        if body.contains("trawl_enrich_records_total 24") {
            break;
        }
    }
    unsafe_sigterm(child.id());
    assert!(child.wait().unwrap().success());
    for want in [
        "trawl_source_records_total",
        "trawl_sink_records_total{sink=\"files:",
        "trawl_enrich_records_total 24",
        "trawl_enrich_microseconds_total",
        "trawl_score_cache_hits{cache=\"local\"}",
        "trawl_scored_names",
    ] {
        assert!(body.contains(want), "{want} missing from:\n{body}");
    }
}

/// Enriched logs read again (a second trawl down a Kafka chain, a re-run over its own output)
/// keep one column a name, the fresh values in place: in TSV and in JSON.
#[test]
fn enriching_enriched_logs_again_adds_no_second_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let samples = common::repo().join("samples/zeek/current");
    common::trawl_ok(&["run", "--once", "--out", &p("a"), samples.to_str().unwrap()]);
    common::trawl_ok(&["run", "--once", "--out", &p("b"), &p("a")]);
    let text = |d: &str| std::fs::read_to_string(dir.path().join(d).join("dns.log")).unwrap();
    let (a, b) = (text("a"), text("b"));
    let fields = b.lines().find(|l| l.starts_with("#fields")).unwrap();
    let names: Vec<&str> = fields.split('\t').skip(1).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "{fields}");
    let rows = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&a), rows(&b));
    common::trawl_ok(&[
        "run",
        "--once",
        "--format",
        "json",
        "--out",
        &p("j1"),
        &p("a"),
    ]);
    common::trawl_ok(&[
        "run",
        "--once",
        "--format",
        "json",
        "--out",
        &p("j2"),
        &p("j1"),
    ]);
    let (j1, j2) = (text("j1"), text("j2"));
    for l in j2.lines() {
        assert_eq!(l.matches("\"phish_score\":").count(), 1, "{l}");
        assert_eq!(
            l.matches("\"workstation\":").count(),
            l.matches("\"mac\":").count(),
            "{l}"
        );
    }
    let parsed = |t: &str| {
        t.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(parsed(&j1), parsed(&j2));
}
