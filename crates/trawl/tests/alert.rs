//! `trawl alert` and alerts in `trawl run`: the rules over the bundled samples (the story in
//! samples/zeek), and a running `trawl run` sending to a webhook receiver while a mute written
//! by `trawl alert mute` takes effect without a restart.

mod common;
#[path = "../../trawl-alert/tests/receiver.rs"]
mod receiver;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const RULES: &str = r#"
[alerts]
pivot = "https://kibana.example/app/discover#/?q=uid:{uid}"

[alerts.rules.phishing]
log = "dns"
when = "phish_score >= 0.9 and dga_score < 0.9"
severity = "high"
title = "Phishing lookup {query} by {workstation}"

[alerts.rules.dga]
log = "dns"
when = 'dga_score >= 0.9 and rcode_name == "NXDOMAIN"'
key = ["query", "id.orig_h"]
aggregate = { window = "10m", after = 1 }

[alerts.rules.downloads]
kind = "file_hash"
mime_types = ["application/x-dosexec", "application/java-archive"]
severity = "high"

[alerts.rules.old-java]
kind = "software"
software = "Java"
below = "1.7.0_11"

[alerts.rules.odd-user-agent]
kind = "user_agent"

[alerts.destinations.out]
type = "stdout"
"#;

fn alerts_of(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `trawl alert test` with the configuration `cfg` (and `extra` arguments) over `logs`,
/// which must succeed: the alerts, and stderr.
fn alert_test(cfg: &Path, extra: &[&str], logs: &Path) -> (Vec<Value>, String) {
    let mut args = vec!["alert", "test", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(logs.to_str().unwrap());
    let out = common::trawl(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (alerts_of(&out.stdout), err)
}

#[test]
fn alert_test_tells_the_sample_story() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_file(dir.path(), "trawl.toml", RULES);
    let samples = common::repo().join("samples/zeek");
    let (alerts, err) = alert_test(&cfg, &[], &samples);
    let by = |rule: &str| -> Vec<&Value> { alerts.iter().filter(|a| a["rule"] == rule).collect() };

    // Which other names the scorer flags is the model's business; alice's lookup is the story.
    let p: Vec<&Value> = by("phishing")
        .into_iter()
        .filter(|a| a["fields"]["query"] == "paypal-login.secure-verify.000webhostapp.com")
        .collect();
    assert_eq!(p.len(), 1, "{alerts:#?}");
    assert_eq!(
        p[0]["fields"]["query"],
        "paypal-login.secure-verify.000webhostapp.com"
    );
    assert_eq!(p[0]["workstation"], "alice-laptop");
    assert_eq!(p[0]["uid"], "CrtfkleYGZMeAaeKMJ");
    assert_eq!(p[0]["severity"], "high");
    assert_eq!(
        p[0]["pivot"],
        "https://kibana.example/app/discover#/?q=uid:CrtfkleYGZMeAaeKMJ"
    );
    assert_eq!(
        p[0]["title"],
        "Phishing lookup paypal-login.secure-verify.000webhostapp.com by alice-laptop"
    );

    let d = by("downloads");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["fields"]["filename"], "invoice.exe");
    assert_eq!(d[0]["fields"]["md5"], "af74211aa2e9b4aeeba42ef495e5c182");
    assert_eq!(d[0]["workstation"], "bob-desktop");

    let j = by("old-java");
    assert_eq!(j.len(), 1, "{j:#?}");
    assert_eq!(j[0]["fields"]["version"], "1.7.0_10");
    assert_eq!(j[0]["host"], "192.168.1.20");
    assert_eq!(j[0]["workstation"], "fbsd-build");

    let u = by("odd-user-agent");
    assert_eq!(u.len(), 1, "{u:#?}");
    assert_eq!(u[0]["host"], "192.168.1.20");
    assert_eq!(u[0]["fields"]["claimed"], "Windows browser");
    assert_eq!(u[0]["fields"]["host_os"], "FreeBSD");

    // The DGA burst: the first alert at once, the rest as one summary.
    let g = by("dga");
    assert!(g.len() >= 2, "{g:#?}");
    assert_eq!(g[0]["count"], 1);
    let summary = g.iter().find(|a| a["key"] == "summary").expect("a summary");
    assert!(summary["count"].as_u64().unwrap() >= 2);
    assert!(err.contains("alerts ("), "{err}");
}

#[test]
fn config_check_places_rule_mistakes_on_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_file(
        dir.path(),
        "trawl.toml",
        "[sources.in]\ntype = \"stdin\"\n[sinks.out]\ntype = \"stdout\"\n\n[alerts.rules.bad]\nseverity = \"high\"\nwhen = \"phish_score >>= 0.9\"\n",
    );
    let out = common::trawl(&["config", "check", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("trawl.toml:8:"), "{err}");
    assert!(err.contains("when:"), "{err}");
}

#[test]
fn mutes_are_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("alerts.sqlite");
    let s = store.to_str().unwrap();
    let out = common::trawl(&[
        "alert",
        "mute",
        "odd-user-agent",
        "--where",
        "id.orig_h=192.168.1.20",
        "--for",
        "8h",
        "--reason",
        "build box, ticket 4411",
        "--store",
        s,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = common::trawl(&["alert", "mutes", "--store", s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("odd-user-agent")
            && text.contains("id.orig_h=192.168.1.20")
            && text.contains("ticket 4411")
            && text.contains("left)"),
        "{text}"
    );
    assert!(common::trawl(&["alert", "unmute", "1", "--store", s])
        .status
        .success());
    let out = common::trawl(&["alert", "mutes", "--json", "--store", s]);
    assert!(out.stdout.is_empty());
    let out = common::trawl(&[
        "alert", "mute", "x", "--for", "5q", "--reason", "r", "--store", s,
    ]);
    assert!(!out.status.success());
}

/// A TXT lookup is the alert here (no dependence on the scorer).
fn dns_line(i: u32, host: &str, qtype: &str) -> String {
    format!(
        "{}.000000\tCuid{i}\t{host}\t5353\t192.168.1.1\t53\tudp\tq{i}.example.org\t{qtype}\tNOERROR\n",
        1_763_629_200 + i
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_alerts_a_webhook_and_a_mute_applies_without_restart() {
    let rx = receiver::Receiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("current")).unwrap();
    let live = logs.join("current/dns.log");
    let mut f = std::fs::File::create(&live).unwrap();
    f.write_all(b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_name\trcode_name\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\n").unwrap();
    f.flush().unwrap();
    let cfg = dir.path().join("trawl.toml");
    let state = dir.path().join("state");
    std::fs::write(
        &cfg,
        format!(
            r#"
state_dir = "{state}"
[sources.zeek]
type = "folder"
path = "{logs}"
[sinks.out]
type = "files"
dir = "{out}"
[alerts]
pivot = "https://kibana.example/app/discover#/?q=uid:{{uid}}&h={{id.orig_h}}"
retry_max = "1s"
[alerts.rules.txt]
log = "dns"
when = 'qtype_name == "TXT"'
key = ["query"]
[alerts.destinations.hook]
type = "webhook"
url = "{hook}"
headers = {{ Authorization = {{ env = "TRAWL_TEST_HOOK_TOKEN" }} }}
"#,
            state = state.display(),
            logs = logs.display(),
            out = dir.path().join("out").display(),
            hook = rx.url("/hook"),
        ),
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("TRAWL_TEST_HOOK_TOKEN", "Token abc123")
        .env("TRAWL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut write = |lines: &[String]| {
        for l in lines {
            f.write_all(l.as_bytes()).unwrap();
        }
        f.flush().unwrap();
    };
    // Noise and one TXT lookup.
    let mut batch: Vec<String> = (0..50).map(|i| dns_line(i, "192.168.1.10", "A")).collect();
    batch.push(dns_line(50, "192.168.1.10", "TXT"));
    write(&batch);
    let got = rx.wait_for("/hook", 1, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1, "no alert reached the webhook");
    let a = &got[0];
    assert_eq!(a.headers["authorization"], "Token abc123");
    assert_eq!(a.body["rule"], "txt");
    assert_eq!(a.body["uid"], "Cuid50");
    assert_eq!(
        a.body["pivot"],
        "https://kibana.example/app/discover#/?q=uid:Cuid50&h=192.168.1.10"
    );

    // Muted from the shell while trawl runs.
    let store = state.join("alerts.sqlite");
    let m = common::trawl(&[
        "alert",
        "mute",
        "txt",
        "--where",
        "id.orig_h=192.168.1.10",
        "--for",
        "1h",
        "--reason",
        "test",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    write(&[
        dns_line(51, "192.168.1.10", "TXT"),
        dns_line(52, "192.168.1.11", "TXT"),
    ]);
    let got = rx.wait_for("/hook", 2, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].body["uid"], "Cuid52",
        "the muted host's alert went out"
    );
    // Unmuted: the host alerts again.
    assert!(
        common::trawl(&["alert", "unmute", "1", "--store", store.to_str().unwrap()])
            .status
            .success()
    );
    write(&[dns_line(53, "192.168.1.10", "TXT")]);
    let got = rx.wait_for("/hook", 3, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].body["uid"], "Cuid53");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.to("/hook").len(), 3, "an alert arrived twice");

    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    let out = run.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One Windows workstation's day in http.log: three browser requests, then the same
/// PowerShell user-agent every 10 minutes from 00:00 to 23:50 UTC (144 requests).
fn powershell_day() -> String {
    let mut s = String::from("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\tuser_agent\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\n");
    let d0 = 1_796_515_200u64; // 2026-12-06 00:00 UTC
    let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0";
    let ps = "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4291";
    let mut line = |ts: u64, uid: String, ua: &str| {
        s.push_str(&format!(
            "{ts}.000000\t{uid}\t192.168.1.20\t50000\t203.0.113.7\t80\tGET\tupdates.example.com\t/check\t{ua}\n"
        ))
    };
    for i in 0..3 {
        line(d0 - 3600 + i, format!("Cedge{i}"), edge);
    }
    for i in 0..144 {
        line(d0 + i * 600, format!("Cps{i}"), ps);
    }
    s
}

#[test]
fn a_user_agent_repeating_all_day_is_one_alert_and_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("http.log"), powershell_day()).unwrap();
    // The example's own rule, with the defaults users get (no dedup set anywhere).
    let example = common::repo().join("trawl.example.toml");
    let (alerts, err) = alert_test(&example, &["--rule", "odd-user-agent"], &logs);
    assert_eq!(alerts.len(), 2, "{alerts:#?}\n{err}");
    let (a, d) = (&alerts[0], &alerts[1]);
    assert_eq!(a["rule"], "odd-user-agent");
    assert_eq!(a["uid"], "Cps0");
    assert_eq!(
        a["fields"]["claimed"],
        "command-line tool (WindowsPowerShell)"
    );
    assert_eq!(d["key"], "digest");
    assert_eq!(d["count"], 143);
    assert_eq!(
        d["title"],
        "odd-user-agent: 143 repeats on 1 host since 2026-12-06 00:10 UTC (192.168.1.20 Mozilla/5.0 \u{2026}WindowsPowerShell/5.1.19041.4291 \u{d7}143)"
    );
    assert_eq!(
        d["summary"]["repeats"][0]["last"],
        "2026-12-06T23:50:00.000Z"
    );
    // The example pivots on the uid: the digest links to the first repeat, and says so.
    assert!(
        d["pivot"].as_str().unwrap().contains("Cps1"),
        "{}",
        d["pivot"]
    );
    assert_eq!(d["summary"]["pivot_first"], true);
    assert!(err.contains("odd-user-agent 1d"), "{err}");
    assert!(err.contains("144 rule matches, 2 alerts ("), "{err}");
    assert!(
        err.contains("143 repeats inside their dedup window"),
        "{err}"
    );
    assert!(err.contains("1 digest of repeats"), "{err}");
}

/// Two instances (each its own state, one Redis): a registered domain new to the network
/// alerts once for the pair, not once an instance.
#[test]
fn first_seen_domains_alert_once_for_instances_sharing_redis() {
    let Ok(redis) = std::env::var("TRAWL_REDIS_URL") else {
        eprintln!("skipped: TRAWL_REDIS_URL unset");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tag = std::process::id();
    let alerts = dir.path().join("alerts.jsonl");
    let header = "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tquery\trcode_name\n#types\ttime\tstring\taddr\tstring\tstring\n";
    let mut runs = Vec::new();
    for (n, host) in [("a", "10.0.0.1"), ("b", "10.0.0.2")] {
        let logs = dir.path().join(format!("logs-{n}"));
        std::fs::create_dir_all(&logs).unwrap();
        let rows: String = [
            "fresh-domain-{tag}.com",
            "www.fresh-domain-{tag}.com",
            "only-{n}-{tag}.org",
        ]
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let q = q.replace("{tag}", &tag.to_string()).replace("{n}", n);
            format!("{}.0\tC{n}{i}\t{host}\t{q}\tNOERROR\n", 1_763_629_200 + i)
        })
        .collect();
        std::fs::write(logs.join("dns.log"), format!("{header}{rows}")).unwrap();
        let cfg = dir.path().join(format!("{n}.toml"));
        std::fs::write(
            &cfg,
            format!(
                r#"
state_dir = "{state}"
[state]
redis = "{redis}"
prefix = "trawl-test-{tag}"
[sources.zeek]
type = "folder"
path = "{logs}"
once = true
[sinks.out]
type = "files"
dir = "{out}"
[alerts.rules.new-domain]
kind = "first_seen"
[alerts.destinations.file]
type = "file"
path = "{alerts}"
"#,
                state = dir.path().join(format!("state-{n}")).display(),
                logs = logs.display(),
                out = dir.path().join(format!("out-{n}")).display(),
                alerts = alerts.display(),
            ),
        )
        .unwrap();
        runs.push(cfg);
    }
    for cfg in &runs {
        let out = Command::new(env!("CARGO_BIN_EXE_trawl"))
            .args(["run", "--config", cfg.to_str().unwrap()])
            .env("TRAWL_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut domains: Vec<String> = std::fs::read_to_string(&alerts)
        .unwrap()
        .lines()
        .map(|l| {
            let a: Value = serde_json::from_str(l).unwrap();
            a["fields"]["registered_domain"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    domains.sort();
    assert_eq!(
        domains,
        [
            format!("fresh-domain-{tag}.com"),
            format!("only-a-{tag}.org"),
            format!("only-b-{tag}.org"),
        ]
    );
}
