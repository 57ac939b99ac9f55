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
