//! `trawl run` between Kafka topics against a real broker (tansu, started by scripts/test.sh):
//! `kill -9` while consuming, restart, and every record still reaches the output topic.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn brokers() -> Option<String> {
    match std::env::var("TRAWL_KAFKA_BROKERS") {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipped: TRAWL_KAFKA_BROKERS unset");
            None
        }
    }
}

fn config(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn run(cfg: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["run", "--config", cfg])
        .env("TRAWL_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn term(child: &mut Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "trawl did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Query names found in the enriched logs under `dir`.
fn queries(dir: &Path) -> Vec<String> {
    let out = common::trawl(&["cut", "-r", dir.to_str().unwrap(), "query"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn kill_9_while_consuming_kafka_loses_nothing() {
    let Some(brokers) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = |n: &str| dir.path().join(n).to_str().unwrap().replace('\\', "/");
    let tag = format!("{}", std::process::id());
    let (input, output) = (format!("crash-in-{tag}"), format!("crash-out-{tag}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(trawl_kafka::create_topics(
        &brokers,
        &[(&input, 3), (&output, 3)],
        1,
    ))
    .unwrap();
    let props = "properties = { \"session.timeout.ms\" = \"6000\" }";

    // Produce 20,000 DNS records with trawl itself: stdin to the input topic.
    let produce = config(dir.path(), "produce.toml", &format!(
        "state_dir = \"{}\"\n[sources.in]\ntype = \"stdin\"\n[sinks.k]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopic = \"{input}\"\n",
        state("p")
    ));
    let mut p = run(&produce);
    {
        let mut stdin = p.stdin.take().unwrap();
        for i in 0..20_000 {
            writeln!(stdin, "{{\"_path\":\"dns\",\"ts\":{}.5,\"id.orig_h\":\"10.0.0.{}\",\"query\":\"q{i}.example.com\"}}", 1_763_629_200 + i, i % 200 + 1).unwrap();
        }
    }
    assert!(p.wait().unwrap().success());

    // Kafka to Kafka, killed with SIGKILL mid-way, then restarted in the same group.
    let relay = config(dir.path(), "relay.toml", &format!(
        "state_dir = \"{}\"\nbatch_size = 1000\n[sources.k]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopics = [\"{input}\"]\ngroup = \"relay-{tag}\"\nstart = \"earliest\"\n{props}\n[sinks.k]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopic = \"{output}\"\ntag_json = true\n",
        state("r")
    ));
    let mut r = run(&relay);
    std::thread::sleep(Duration::from_secs(9));
    r.kill().unwrap();
    r.wait().unwrap();
    let mut r = run(&relay);

    // Read the output topic back into files, until every record is there.
    let out_dir = dir.path().join("out");
    let collect = config(dir.path(), "collect.toml", &format!(
        "state_dir = \"{}\"\n[sources.k]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopics = [\"{output}\"]\ngroup = \"collect-{tag}\"\nstart = \"earliest\"\n{props}\n[sinks.f]\ntype = \"files\"\ndir = \"{}\"\nformat = \"zeek\"\n",
        state("c"),
        out_dir.to_str().unwrap()
    ));
    let mut c = run(&collect);
    let t = Instant::now();
    let mut got = Vec::new();
    while t.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_secs(2));
        got = queries(&out_dir);
        let distinct: std::collections::HashSet<&String> = got.iter().collect();
        if distinct.len() >= 20_000 {
            break;
        }
    }
    term(&mut r);
    term(&mut c);
    let distinct: std::collections::HashSet<&String> = got.iter().collect();
    let missing = (0..20_000)
        .filter(|i| !distinct.contains(&format!("q{i}.example.com")))
        .count();
    assert_eq!(missing, 0, "{missing} records lost ({} read)", got.len());
    // At-least-once: the batches under way at the kill (one per partition) may repeat.
    assert!(
        got.len() - distinct.len() <= 3 * 1000,
        "{} repeated",
        got.len() - distinct.len()
    );
    // The relay scored them on the way.
    let scored = common::trawl(&["cut", "-r", out_dir.to_str().unwrap(), "phish_score"]);
    assert!(String::from_utf8_lossy(&scored.stdout)
        .lines()
        .take(10)
        .all(|l| l.parse::<f64>().is_ok()));
}

/// Rows of `cut -r DIR query id.orig_h workstation` under `dir`.
fn attributed(dir: &Path) -> Vec<(String, String, String)> {
    let out = common::trawl(&[
        "cut",
        "-r",
        dir.to_str().unwrap(),
        "query",
        "id.orig_h",
        "workstation",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (q, h, w) = (f.next()?, f.next()?, f.next()?);
            (q != "-" && !q.is_empty()).then(|| (q.to_string(), h.to_string(), w.to_string()))
        })
        .collect()
}

#[test]
fn two_instances_in_a_group_attribute_alike_through_redis() {
    let Some(brokers) = brokers() else { return };
    let Ok(redis) = std::env::var("TRAWL_REDIS_URL") else {
        eprintln!("skipped: TRAWL_REDIS_URL unset");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = |n: &str| dir.path().join(n).to_str().unwrap().replace('\\', "/");
    let tag = format!("{}", std::process::id());
    let input = format!("shared-in-{tag}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(trawl_kafka::create_topics(&brokers, &[(&input, 4)], 1))
        .unwrap();
    let props = "properties = { \"session.timeout.ms\" = \"6000\" }";
    // Messages spread over the partitions one by one (no sticky batches). Each send has its
    // own state: the producer (a trawl too) must not attribute the lookups itself.
    let send = |n: &str, lines: Vec<String>| {
        let produce = config(dir.path(), &format!("produce-{n}.toml"), &format!(
            "state_dir = \"{}\"\n[sources.in]\ntype = \"stdin\"\n[sinks.k]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopic = \"{input}\"\nproperties = {{ \"sticky.partitioning.linger.ms\" = \"0\" }}\n",
            state(&format!("p-{n}"))
        ));
        let mut p = run(&produce);
        {
            let mut stdin = p.stdin.take().unwrap();
            for l in lines {
                writeln!(stdin, "{l}").unwrap();
            }
        }
        assert!(p.wait().unwrap().success());
    };
    let t0 = 1_763_629_200u64;
    let host = |i: u32| format!("10.9.{}.{}", i / 200, i % 200 + 1);
    let instance = |n: &str| {
        config(dir.path(), &format!("{n}.toml"), &format!(
            "state_dir = \"{}\"\nbatch_size = 100\n[state]\nredis = \"{redis}\"\nprefix = \"trawl-test-{tag}\"\n[sources.k]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopics = [\"{input}\"]\ngroup = \"shared-{tag}\"\nstart = \"earliest\"\n{props}\n[sinks.f]\ntype = \"files\"\ndir = \"{}\"\nformat = \"zeek\"\n",
            state(n),
            state(&format!("out-{n}"))
        ))
    };
    let (ca, cb) = (instance("a"), instance("b"));
    let mut a = run(&ca);
    let mut b = run(&cb);
    // Both join before anything is there, so the partitions are split between them.
    std::thread::sleep(Duration::from_secs(8));
    // 100 workstations get their leases ...
    send(
        "leases",
        (0..100)
            .map(|i| format!("{{\"_path\":\"dhcp\",\"ts\":{},\"uids\":[\"Cd{i}\"],\"client_addr\":\"{}\",\"assigned_addr\":\"{}\",\"mac\":\"02:00:00:00:{:02x}:{:02x}\",\"host_name\":\"ws-{i}\",\"lease_time\":86400.0,\"msg_types\":[\"REQUEST\",\"ACK\"]}}", t0 + u64::from(i), host(i), host(i), i / 256, i % 256))
            .collect(),
    );
    // ... and are published by whichever instance reads them.
    let t = Instant::now();
    loop {
        let out = Command::new("redis-cli")
            .args(["-u", &redis, "XLEN", &format!("trawl-test-{tag}:leases")])
            .output()
            .unwrap();
        let n: u64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        if n >= 100 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "leases not published ({n})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Then 2,000 lookups, spread over every partition.
    send(
        "lookups",
        (0..2000)
            .map(|i| format!("{{\"_path\":\"dns\",\"ts\":{},\"uid\":\"Cq{i}\",\"id.orig_h\":\"{}\",\"query\":\"q{i}.example.com\"}}", t0 + 3600 + u64::from(i), host(i % 100)))
            .collect(),
    );
    let (oa, ob) = (dir.path().join("out-a"), dir.path().join("out-b"));
    let t = Instant::now();
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    while t.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_secs(2));
        ra = attributed(&oa);
        rb = attributed(&ob);
        if ra.len() + rb.len() >= 2000 {
            break;
        }
    }
    term(&mut a);
    term(&mut b);
    assert!(
        ra.len() + rb.len() >= 2000,
        "{} + {} rows",
        ra.len(),
        rb.len()
    );
    assert!(
        !ra.is_empty() && !rb.is_empty(),
        "one instance read every partition"
    );
    for (q, h, w) in ra.iter().chain(&rb) {
        let i: u32 = q
            .trim_start_matches('q')
            .trim_end_matches(".example.com")
            .parse()
            .unwrap();
        assert_eq!(h, &host(i % 100));
        assert_eq!(w, &format!("ws-{}", i % 100), "{q} from {h}");
    }
}
