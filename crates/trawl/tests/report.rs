//! `trawl report` and `[reports]` in `trawl run`: figures equal a computation in plain Python
//! over the same logs (samples and corpus); hourly-style reports reach a real SMTP server
//! (aiosmtpd), a Slack receiver and a webhook, once each, across restarts.

mod common;
#[path = "../../trawl-alert/tests/receiver.rs"]
mod receiver;
#[path = "../../trawl-alert/tests/smtp.rs"]
mod smtp;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{need, repo, shared, trawl_ok, write_file};
use serde_json::{json, Value};

const NETWORKS: &str = "10.0.0.0/8 lab\n172.16.0.0/12\n192.168.0.0/16 office\nfc00::/7\n";

/// The registered domain and public suffix of every name in `files`, by trawl's query
/// language (the Public Suffix List is not written again in Python).
fn domains(files: &[PathBuf], dir: &Path) -> PathBuf {
    let mut args = vec![
        "query".to_string(),
        "-q".into(),
        "-f".into(),
        "json".into(),
        "dns | where exists query | summarize n = count() by q = query, d = registered_domain(query), t = tld(query)".into(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = trawl_ok(&args);
    let mut map = BTreeMap::new();
    for l in out.lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        let q = r["q"]
            .as_str()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_ascii_lowercase();
        map.insert(q, json!([r["d"], r["t"].as_str().unwrap_or("")]));
    }
    let p = dir.join("domains.json");
    std::fs::write(&p, serde_json::to_vec(&map).unwrap()).unwrap();
    p
}

/// The figures of trawl's JSON report in the reference script's shape.
fn comparable(r: &Value) -> Value {
    let rows = |v: &Value, keys: &[&str]| -> Value {
        Value::Array(
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| Value::Array(keys.iter().map(|k| x[*k].clone()).collect()))
                .collect(),
        )
    };
    let mut headline = r["headline"].clone();
    headline.as_object_mut().unwrap().remove("nxdomain_rate");
    let states: serde_json::Map<String, Value> = r["traffic"]["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap().to_string(),
                s["connections"].clone(),
            )
        })
        .collect();
    let talker = ["host", "bytes", "sent", "received", "connections"];
    json!({
        "headline": headline,
        "previous_connections": r["previous"]["connections"],
        "previous_dns_queries": r["previous"]["dns_queries"],
        "local_talkers": rows(&r["traffic"]["local_talkers"], &talker),
        "remote_talkers": rows(&r["traffic"]["remote_talkers"], &talker),
        "services": rows(&r["traffic"]["services"], &["name", "connections", "bytes"]),
        "ports": rows(&r["traffic"]["ports"], &["name", "connections", "bytes"]),
        "states": states,
        "top_domains": rows(&r["dns"]["top_domains"], &["domain", "queries", "names", "clients"]),
        "top_tlds": rows(&r["dns"]["top_tlds"], &["tld", "queries", "domains"]),
        "nxdomain_clients": rows(&r["dns"]["nxdomain_clients"], &["client", "queries", "nxdomain"]),
        "new_names": r["dns"]["new_names"].get("count").cloned().unwrap_or(Value::Null),
    })
}

/// trawl's report of the period holding `at` against the Python reference; returns trawl's.
fn check_period(files: &[PathBuf], period: &str, at: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let nets = write_file(dir.path(), "networks.cfg", NETWORKS);
    let mut args = vec![
        "report".to_string(),
        "-q".into(),
        "-f".into(),
        "json".into(),
        "-p".into(),
        period.into(),
        "--at".into(),
        at.into(),
        "--networks".into(),
        nets.display().to_string(),
        "--alerts-db".into(),
        dir.path().join("none.sqlite").display().to_string(),
        "--pdns-db".into(),
        dir.path().join("none.sqlite").display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = trawl_ok(&args);
    let report: Value = serde_json::from_str(&out).unwrap();
    let python = std::env::var("TRAWL_PYTHON").unwrap_or_else(|_| "python3".into());
    let py = Command::new(python)
        .arg(repo().join("crates/trawl/tests/report_reference.py"))
        .arg(report["period"]["start_epoch"].to_string())
        .arg(report["period"]["end_epoch"].to_string())
        .arg(&nets)
        .arg(domains(files, dir.path()))
        .args(files)
        .output()
        .expect("python");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let want: Value = serde_json::from_slice(&py.stdout).unwrap();
    let got = comparable(&report);
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&got[k], v, "{period} report at {at}: {k} differs");
    }
    report
}

fn sample_files() -> Vec<PathBuf> {
    let root = repo().join("samples/zeek");
    common::files_under(&root, &[])
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            ["conn", "dns"].contains(&n.split('.').next().unwrap())
        })
        .collect()
}

#[test]
fn sample_reports_equal_a_python_computation() {
    let files = sample_files();
    assert!(files.len() >= 6, "{files:?}");
    let day = check_period(&files, "1d", "2025-11-20");
    assert_eq!(day["headline"]["connections"], 244);
    assert!(day["dns"]["new_names"].is_null(), "nothing the day before");
    let hour = check_period(&files, "1h", "2025-11-20T10:30");
    assert!(hour["previous"]["connections"].as_u64().unwrap() > 0);
    assert!(hour["dns"]["new_names"]["count"].as_u64().unwrap() > 0);
    check_period(&files, "1h", "2025-11-20T09:00");
}

#[test]
fn sample_report_names_workstations_scores_and_old_software() {
    let (out, _) = trawl_ok(&[
        "report",
        "-q",
        "-f",
        "json",
        "-p",
        "1d",
        "--at",
        "2025-11-20",
        repo().join("samples/zeek").to_str().unwrap(),
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    let top = &r["dns"]["top_scores"][0];
    assert_eq!(top["name"], "paypal-login.secure-verify.000webhostapp.com");
    assert_eq!(top["workstations"], json!(["alice-laptop"]));
    assert_eq!(
        r["traffic"]["local_talkers"][0]["workstation"],
        "carol-phone"
    );
    assert_eq!(
        r["dns"]["nxdomain_clients"][0]["workstation"],
        "carol-phone"
    );
    assert_eq!(r["outdated_software"][0]["software"], "Java");
    // HTML: what the logs say is escaped.
    let (html, _) = trawl_ok(&[
        "report",
        "-q",
        "-f",
        "html",
        "-p",
        "1d",
        "--at",
        "2025-11-20",
        repo().join("samples/zeek").to_str().unwrap(),
    ]);
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
}

/// With a passive DNS store, a name is new when the store first saw it in the period (or does
/// not know it), whatever the period before held.
#[test]
fn with_a_passive_dns_store_new_names_are_those_it_first_saw_then() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pdns.sqlite");
    let samples = repo().join("samples/zeek");
    trawl_ok(&[
        "pdns",
        "import",
        "--db",
        db.to_str().unwrap(),
        samples.to_str().unwrap(),
    ]);
    let (out, _) = trawl_ok(&[
        "report",
        "-q",
        "-f",
        "json",
        "-p",
        "1h",
        "--at",
        "2025-11-20T10:30",
        "--pdns-db",
        db.to_str().unwrap(),
        samples.to_str().unwrap(),
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    let (start, end) = (
        r["period"]["start_epoch"].as_f64().unwrap(),
        r["period"]["end_epoch"].as_f64().unwrap(),
    );
    // The names asked in the period, from the logs ...
    let (cut, _) = trawl_ok(&[
        "cut",
        "-r",
        samples.to_str().unwrap(),
        "-t",
        "dns",
        "ts",
        "query",
    ]);
    let mut asked: Vec<String> = cut
        .lines()
        .filter_map(|l| {
            let (ts, q) = l.split_once('\t')?;
            let ts: f64 = ts.parse().ok()?;
            (ts >= start && ts < end).then(|| q.trim_end_matches('.').to_ascii_lowercase())
        })
        .collect();
    asked.sort();
    asked.dedup();
    // ... and each one's first sighting, from the store.
    let new: Vec<&String> = asked
        .iter()
        .filter(|q| {
            let (rows, _) = trawl_ok(&[
                "pdns",
                "--db",
                db.to_str().unwrap(),
                "-f",
                "json",
                q.as_str(),
            ]);
            rows.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|row| row["rrname"] == q.as_str())
                .filter_map(|row| row["time_first"].as_f64())
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))
                .is_none_or(|t| t >= start)
        })
        .collect();
    assert!(
        !new.is_empty() && new.len() < asked.len(),
        "{new:?} of {asked:?}"
    );
    assert_eq!(r["dns"]["new_names"]["basis"], "the passive DNS store");
    assert_eq!(r["dns"]["new_names"]["count"], new.len() as u64, "{new:?}");
}

#[test]
fn an_attacker_named_host_cannot_inject_html() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "<script>alert(1)</script>.example.com";
    write_file(
        dir.path(),
        "dns.log",
        &format!(
            "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tquery\trcode_name\n#types\ttime\tstring\taddr\tstring\tstring\n1763629200.0\tC1\t10.0.0.1\t{evil}\tNXDOMAIN\n"
        ),
    );
    let (html, _) = trawl_ok(&[
        "report",
        "-q",
        "-f",
        "html",
        "--at",
        "1763629200",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

#[test]
fn corpus_reports_equal_a_python_computation() {
    let Some(root) = shared("corpus_reports_equal_a_python_computation") else {
        return;
    };
    let files: Vec<PathBuf> = common::files_under(&need(&root, "corpus"), &["pcap"])
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            ["conn", "dns"].contains(&n.split('.').next().unwrap())
        })
        .collect();
    assert!(files.len() >= 100, "{}", files.len());
    let day = check_period(&files, "1d", "2018-03-24");
    assert!(day["headline"]["dns_queries"].as_u64().unwrap() > 100_000);
    check_period(&files, "1h", "2018-03-24T18:00");
    let conns = check_period(&files, "1d", "2013-09-15");
    assert!(conns["headline"]["connections"].as_u64().unwrap() >= 300);
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Subjects of mails (folded header lines unfolded).
fn subjects(mails: &[String]) -> Vec<String> {
    let mut out: Vec<String> = mails
        .iter()
        .filter_map(|text| {
            let head = text.split("\r\n\r\n").next().unwrap_or(text);
            let head = head.split("\n\n").next().unwrap_or(head);
            let unfolded = head.replace("\r\n ", " ").replace("\n ", " ");
            unfolded
                .lines()
                .find(|l| l.starts_with("Subject: "))
                .map(|l| l["Subject: ".len()..].trim().to_string())
        })
        .collect();
    out.sort();
    out
}

const PERIOD: f64 = 6.0;

/// Sleeps until the middle of a period, well away from the moments reports are sent.
async fn mid_period() {
    let phase = now() % PERIOD;
    let wait = (3.5 - phase).rem_euclid(PERIOD);
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_reach_email_slack_and_a_webhook_once_each_across_restarts() {
    let Ok(python) = std::env::var("TRAWL_PYTHON") else {
        eprintln!("skipped: TRAWL_PYTHON is not set (scripts/test.sh sets it, with aiosmtpd)");
        return;
    };
    let rx = receiver::Receiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    let smtpd = smtp::Smtpd::start(&python, &maildir).await;
    let smtp_port = smtpd.port;
    // Connections and lookups spread over the next two minutes.
    let logs = dir.path().join("logs/current");
    std::fs::create_dir_all(&logs).unwrap();
    let t0 = now() - 10.0;
    let mut conn = String::from("#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\torig_bytes\tresp_bytes\tconn_state\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\tcount\tstring\n");
    let mut dns = String::from("#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tquery\trcode_name\n#types\ttime\tstring\taddr\tstring\tstring\n");
    for i in 0..240 {
        let ts = t0 + f64::from(i) * 0.5;
        conn.push_str(&format!(
            "{ts:.6}\tC{i}\t192.168.1.{}\t40000\t8.8.8.8\t443\ttcp\tssl\t{}\t{}\tSF\n",
            10 + i % 3,
            100 + i,
            1000 + i
        ));
        dns.push_str(&format!(
            "{ts:.6}\tD{i}\t192.168.1.{}\tq{}.example.org\t{}\n",
            10 + i % 3,
            i % 7,
            if i % 5 == 0 { "NXDOMAIN" } else { "NOERROR" }
        ));
    }
    write_file(&logs, "conn.log", &conn);
    write_file(&logs, "dns.log", &dns);
    let cfg = write_file(
        dir.path(),
        "trawl.toml",
        &format!(
            r#"
state_dir = "{state}"
[sources.zeek]
type = "folder"
path = "{logs}"
[sinks.out]
type = "files"
dir = "{out}"
[reports]
every = "6s"
delay = "1s"
destinations = ["mail", "slack", "hook"]
dir = "{reports}"
[alerts.destinations.mail]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "trawl <trawl@lab.internal>"
to = ["soc@lab.internal"]
[alerts.destinations.slack]
type = "slack"
url = "{slack}"
[alerts.destinations.hook]
type = "webhook"
url = "{hook}"
"#,
            state = dir.path().join("state").display(),
            logs = dir.path().join("logs").display(),
            out = dir.path().join("out").display(),
            reports = dir.path().join("reports").display(),
            slack = rx.url("/slack"),
            hook = rx.url("/hook"),
        ),
    );
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_trawl"))
            .args(["run", "--config", cfg.to_str().unwrap()])
            .env("TRAWL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    };
    let wait = Duration::from_secs(30);
    let mut run = start();
    rx.wait_for("/hook", 2, wait).await;
    // Killed and restarted inside a period: nothing is sent again, nothing skipped.
    mid_period().await;
    run.kill().unwrap();
    run.wait().unwrap();
    run = start();
    rx.wait_for("/hook", 4, wait).await;
    // Down for two whole periods: they are caught up after the restart.
    mid_period().await;
    run.kill().unwrap();
    run.wait().unwrap();
    tokio::time::sleep(Duration::from_secs_f64(2.0 * PERIOD)).await;
    run = start();
    let hooks = rx.wait_for("/hook", 7, wait).await;
    mid_period().await;
    run.kill().unwrap();
    run.wait().unwrap();
    let mails = subjects(&smtpd.messages());
    drop(smtpd);

    let hooks = if hooks.len() < rx.to("/hook").len() {
        rx.to("/hook")
    } else {
        hooks
    };
    let starts: Vec<i64> = hooks
        .iter()
        .map(|h| h.body["period"]["start_epoch"].as_i64().unwrap())
        .collect();
    assert!(starts.len() >= 7, "{starts:?}");
    for w in starts.windows(2) {
        assert_eq!(
            w[1] - w[0],
            PERIOD as i64,
            "a period repeated or skipped: {starts:?}"
        );
    }
    // Each report carries its figures: every record of its period.
    let with_data: Vec<&receiver::Request> = hooks
        .iter()
        .filter(|h| h.body["headline"]["connections"].as_u64() == Some(12))
        .collect();
    assert!(
        with_data.len() >= 4,
        "{:?}",
        hooks
            .iter()
            .map(|h| &h.body["headline"])
            .collect::<Vec<_>>()
    );
    assert_eq!(with_data[0].body["headline"]["dns_queries"], 12);
    // Slack and email got the same reports, each once.
    let labels: Vec<String> = hooks
        .iter()
        .map(|h| h.body["period"]["label"].as_str().unwrap().to_string())
        .collect();
    let slack = rx.to("/slack");
    assert_eq!(slack.len(), hooks.len());
    for (s, l) in slack.iter().zip(&labels) {
        let head = s.body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(head, format!("trawl 6s report: {l}"));
    }
    assert_eq!(mails.len(), hooks.len(), "{mails:?}");
    for l in &labels {
        assert_eq!(
            mails.iter().filter(|m| m.contains(l.as_str())).count(),
            1,
            "{l}: {mails:?}"
        );
    }
    // The report folder holds each period's text, HTML and JSON.
    let files = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .count();
    assert_eq!(files, 3 * hooks.len());
    let _ = std::io::stdout().flush();
}

/// `trawl run --once` as a cron job: the first run starts the schedule, a run after periods
/// ended writes their reports before it exits. (That a period ending during the run is
/// reported too, rather than cut off at exit, is not timed here: it would make the test
/// depend on the machine's speed.)
#[test]
fn a_run_once_makes_the_reports_due_before_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let t0 = now();
    let mut dns = String::from("#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tquery\trcode_name\n#types\ttime\tstring\taddr\tstring\tstring\n");
    for i in 0..50 {
        dns.push_str(&format!(
            "{:.6}\tD{i}\t192.168.1.10\tq{}.example.org\tNOERROR\n",
            t0 + f64::from(i) * 0.05,
            i % 5
        ));
    }
    write_file(&logs, "dns.log", &dns);
    let reports = dir.path().join("reports");
    let cfg = write_file(
        dir.path(),
        "trawl.toml",
        &format!(
            "state_dir = \"{}\"\n[sources.zeek]\ntype = \"folder\"\npath = \"{}\"\nonce = true\n\
             [sinks.out]\ntype = \"files\"\ndir = \"{}\"\n[reports]\nevery = \"2s\"\ndelay = \"0s\"\n\
             dir = \"{}\"\n",
            dir.path().join("state").display(),
            logs.display(),
            dir.path().join("out").display(),
            reports.display()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    trawl_ok(&["run", "--config", cfg]);
    let made = || {
        std::fs::read_dir(&reports)
            .map(|d| d.filter_map(Result::ok).count())
            .unwrap_or(0)
    };
    assert_eq!(made(), 0, "the first run only starts the schedule");
    std::thread::sleep(Duration::from_millis(4200));
    trawl_ok(&["run", "--config", cfg]);
    assert!(made() >= 3, "no report written by the second run");
}
