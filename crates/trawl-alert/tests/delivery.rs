//! Alerts end to end against real receivers: an HTTP server in the test (Slack and webhook
//! payloads, the auth header, the pivot link), aiosmtpd for email (when TRAWL_PYTHON is set),
//! an outage of the webhook receiver, de-duplication across a restart, and mutes.

mod receiver;
mod records;
mod smtp;

use std::time::Duration;

use receiver::Receiver;
use records::{record, s};
use trawl_alert::{AlertsConfig, Clock, DeliveryOptions, Dispatcher, Engine, Mute, Store};
use trawl_zeek::{Record, Scalar, Value, ZeekType};

/// A DNS record as enrichment leaves it.
fn dns(ts: f64, uid: &str, host: &str, query: &str, phish: f64) -> Record<'static> {
    let t = |x| ZeekType::single(x);
    let mut r = record("dns", ts, uid, host);
    r.push("query", t(Scalar::String), s(query));
    r.push("qtype_name", t(Scalar::String), s("A"));
    r.push("phish_score", t(Scalar::Double), Value::Double(phish));
    r.push("workstation", t(Scalar::String), s("alice-laptop"));
    r
}

fn config(text: &str) -> AlertsConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn engine(cfg: &AlertsConfig, store: &Store) -> Engine {
    Engine::new(cfg, store.clone(), trawl_alert::routes(cfg), Clock::Wall)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// A dispatcher to the configured destinations, with short back-offs.
fn dispatcher(cfg: &AlertsConfig, store: &Store) -> Dispatcher {
    Dispatcher::start(
        store.clone(),
        trawl_alert::destinations(cfg).unwrap(),
        fast(),
    )
}

fn fast() -> DeliveryOptions {
    DeliveryOptions {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_and_webhook_get_readable_payloads_with_auth_and_pivot() {
    let rx = Receiver::start(0).await;
    std::env::set_var("TRAWL_TEST_SOAR_TOKEN", "Bearer s3cret-token");
    let cfg = config(&format!(
        r#"
        pivot = "https://kibana.example/app/discover#/?_a=(query:(language:kuery,query:'uid:\"{{uid}}\"'))&h={{id.orig_h}}"
        [rules.phishing]
        log = "dns"
        when = "phish_score >= 0.9"
        severity = "high"
        title = "Phishing lookup {{query}} by {{workstation}}"
        [destinations.slack]
        type = "slack"
        url = "{slack}"
        [destinations.soar]
        type = "webhook"
        url = "{hook}"
        headers = {{ Authorization = {{ env = "TRAWL_TEST_SOAR_TOKEN" }} }}
        body = '{{"trigger": "trawl", "rule": "{{rule}}", "host": "{{id.orig_h}}", "score": "{{phish_score}}", "fields": "{{fields}}", "link": "{{pivot}}"}}'
        "#,
        slack = rx.url("/slack"),
        hook = rx.url("/soar")
    ));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("alerts.sqlite")).unwrap();
    let mut e = engine(&cfg, &store);
    let d = dispatcher(&cfg, &store);
    // One that scores low (no alert), one phishing lookup.
    assert!(e
        .process(&dns(
            1763629900.0,
            "Cx1",
            "192.168.1.10",
            "github.com",
            0.01
        ))
        .is_empty());
    let fired = e.process(&dns(
        1763629920.0,
        "CrtfkleYGZMeAaeKMJ",
        "192.168.1.10",
        "paypal-login.secure-verify.000webhostapp.com",
        1.0,
    ));
    assert_eq!(fired.len(), 1);
    d.wake();
    let slack = rx.wait_for("/slack", 1, Duration::from_secs(10)).await;
    let soar = rx.wait_for("/soar", 1, Duration::from_secs(10)).await;
    assert_eq!((slack.len(), soar.len()), (1, 1));

    let pivot = "https://kibana.example/app/discover#/?_a=(query:(language:kuery,query:'uid:\"CrtfkleYGZMeAaeKMJ\"'))&h=192.168.1.10";
    // The pivot template's values are percent-encoded; this uid and address need none.
    let m = &slack[0].body;
    assert_eq!(slack[0].method, "POST");
    assert!(
        m["text"].as_str().unwrap().contains(
            "[high] Phishing lookup paypal-login.secure-verify.000webhostapp.com by alice-laptop"
        ),
        "{m}"
    );
    let blocks = m["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(blocks[0]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("Phishing lookup"));
    let who = blocks[1]["fields"].to_string();
    for want in [
        "*Workstation*\\nalice-laptop",
        "*Host*\\n192.168.1.10",
        "*uid*\\n`CrtfkleYGZMeAaeKMJ`",
        "*Severity*\\nhigh",
    ] {
        assert!(who.contains(want), "{want} not in {who}");
    }
    assert!(
        blocks[2]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("*phish_score*: `1.0`"),
        "{}",
        blocks[2]
    );
    let button = blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("a pivot button");
    assert_eq!(button["elements"][0]["url"], pivot);

    let w = &soar[0];
    assert_eq!(
        w.headers.get("authorization").map(String::as_str),
        Some("Bearer s3cret-token")
    );
    assert_eq!(
        w.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(
        w.headers.get("x-trawl-alert-id").map(String::as_str),
        Some(fired[0].id.as_str())
    );
    assert_eq!(w.body["trigger"], "trawl");
    assert_eq!(w.body["rule"], "phishing");
    assert_eq!(w.body["host"], "192.168.1.10");
    // A lone placeholder keeps the field's JSON type; "{fields}" is the record's fields.
    assert_eq!(w.body["score"], 1.0);
    assert_eq!(
        w.body["fields"]["query"],
        "paypal-login.secure-verify.000webhostapp.com"
    );
    assert_eq!(w.body["link"], pivot);
    // The secret never reaches the outbox.
    let dump = std::fs::read(dir.path().join("alerts.sqlite")).unwrap();
    assert!(!String::from_utf8_lossy(&dump).contains("s3cret-token"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_nothing_repeats_nothing_and_blocks_no_one() {
    let mut rx = Receiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.jsonl");
    let cfg = config(&format!(
        r#"
        [rules.phishing]
        when = "phish_score >= 0.9"
        key = ["query"]
        [destinations.soar]
        type = "webhook"
        url = "{hook}"
        [destinations.file]
        type = "file"
        path = "{file}"
        "#,
        hook = rx.url("/soar"),
        file = file.display()
    ));
    let store = Store::open(&dir.path().join("alerts.sqlite")).unwrap();
    let mut e = engine(&cfg, &store);
    let d = dispatcher(&cfg, &store);
    rx.down().await;
    let t0 = 1763629920.0;
    let mut ids = Vec::new();
    for i in 0..40 {
        for a in e.process(&dns(
            t0 + i as f64,
            &format!("C{i}"),
            "192.168.1.10",
            &format!("login{i}.example.net"),
            0.95,
        )) {
            ids.push(a.id);
        }
        d.wake();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(ids.len(), 40);
    // The file destination had everything while the webhook was down.
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        lines.lines().count(),
        40,
        "the file destination was held up"
    );
    assert!(rx.requests().is_empty());
    assert!(store.outbox_counts("soar").unwrap().pending > 0);
    rx.up().await;
    let got = rx.wait_for("/soar", 40, Duration::from_secs(20)).await;
    // Some more time for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_ids: Vec<String> = rx
        .to("/soar")
        .iter()
        .map(|r| r.headers["x-trawl-alert-id"].clone())
        .collect();
    assert_eq!(got.len(), 40);
    let mut uniq = got_ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), got_ids.len(), "an alert arrived twice");
    assert_eq!(
        got_ids, ids,
        "alerts arrived out of order or some are missing"
    );
    assert_eq!(store.outbox_counts("soar").unwrap().pending, 0);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_alerts_wait_on_disk_for_the_next_run() {
    let mut rx = Receiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&format!(
        "[rules.phishing]\nwhen = \"phish_score >= 0.9\"\nkey = [\"query\"]\n[destinations.soar]\ntype = \"webhook\"\nurl = \"{}\"\n",
        rx.url("/soar")
    ));
    rx.down().await;
    {
        let store = Store::open(&dir.path().join("alerts.sqlite")).unwrap();
        let mut e = engine(&cfg, &store);
        let d = dispatcher(&cfg, &store);
        for i in 0..5 {
            e.process(&dns(
                1e9 + i as f64,
                &format!("C{i}"),
                "10.0.0.1",
                &format!("x{i}.example.org"),
                0.99,
            ));
        }
        d.wake();
        assert!(!d.drain(Duration::from_millis(300)).await);
        d.stop().await;
    }
    rx.up().await;
    // A new run (new store connection, new tasks) sends what the last one could not.
    let store = Store::open(&dir.path().join("alerts.sqlite")).unwrap();
    let d = dispatcher(&cfg, &store);
    assert!(d.drain(Duration::from_secs(10)).await);
    assert_eq!(rx.to("/soar").len(), 5);
    d.stop().await;
}

#[test]
fn deduplication_holds_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.sqlite");
    let cfg = config(
        "[rules.phishing]\nwhen = \"phish_score >= 0.9\"\nkey = [\"query\", \"id.orig_h\"]\ndedup = \"1h\"\n[destinations.out]\ntype = \"stdout\"\n",
    );
    let rec = |uid: &str, q: &str| dns(1e9, uid, "192.168.1.10", q, 0.97);
    {
        let store = Store::open(&path).unwrap();
        let mut e = engine(&cfg, &store);
        assert_eq!(e.process(&rec("C1", "evil.example.com")).len(), 1);
        assert_eq!(
            e.process(&rec("C2", "evil.example.com")).len(),
            0,
            "a repeat fired"
        );
        assert_eq!(e.stats().deduplicated, 1);
    }
    // Restarted: the window is still open for this key, and only for it.
    let store = Store::open(&path).unwrap();
    let mut e = engine(&cfg, &store);
    assert_eq!(
        e.process(&rec("C3", "evil.example.com")).len(),
        0,
        "fired again after a restart"
    );
    assert_eq!(e.process(&rec("C4", "other.example.com")).len(), 1);
    assert_eq!(store.outbox_counts("out").unwrap().pending, 2);
}

#[test]
fn a_mute_from_another_process_applies_at_once_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.sqlite");
    let cfg = config(
        "[rules.phishing]\nwhen = \"phish_score >= 0.9\"\ndedup = 0\n[destinations.out]\ntype = \"stdout\"\n",
    );
    let store = Store::open(&path).unwrap();
    let mut e = engine(&cfg, &store);
    let rec = |i: u32| {
        dns(
            1e9 + i as f64,
            &format!("C{i}"),
            "192.168.1.10",
            "evil.example.com",
            0.97,
        )
    };
    assert_eq!(e.process(&rec(1)).len(), 1);
    // `trawl alert mute` is another process: another connection to the same file.
    let cli = Store::open(&path).unwrap();
    let now = trawl_alert::alert::now();
    let id = cli
        .add_mute(&Mute {
            id: 0,
            rule: "phishing".into(),
            key: None,
            fields: [("id.orig_h".to_string(), "192.168.1.10".to_string())].into(),
            reason: "phishing exercise".into(),
            created: now,
            until: Some(now + 1.5),
        })
        .unwrap();
    assert!(id > 0);
    // What the pipeline does before each batch: one cheap look at the store.
    e.refresh_mutes();
    assert_eq!(e.process(&rec(2)).len(), 0, "the mute did not apply");
    assert_eq!(e.stats().muted, 1);
    // Another host is not muted.
    let mut other = rec(3);
    other.fields[2].value = Value::Addr("192.168.1.11".parse().unwrap());
    assert_eq!(e.process(&other).len(), 1);
    std::thread::sleep(Duration::from_millis(1600));
    e.refresh_mutes();
    assert_eq!(e.process(&rec(4)).len(), 1, "the mute did not expire");
    assert_eq!(cli.mutes(Some(trawl_alert::alert::now())).unwrap().len(), 0);
    assert_eq!(cli.mutes(None).unwrap().len(), 1);
}

#[test]
fn many_similar_alerts_become_one_summary() {
    let cfg = config(
        "[rules.dga]\nwhen = \"phish_score >= 0.5\"\nkey = [\"query\"]\naggregate = { window = \"10m\", after = 2 }\n[destinations.out]\ntype = \"stdout\"\n",
    );
    let store = Store::in_memory().unwrap();
    let mut e = Engine::new(
        &cfg,
        store.clone(),
        trawl_alert::routes(&cfg),
        Clock::Record,
    )
    .unwrap();
    let mut out = Vec::new();
    for i in 0..30 {
        out.extend(e.process(&dns(
            1e9 + i as f64,
            "C",
            "10.0.0.9",
            &format!("q{i}.example.net"),
            0.9,
        )));
    }
    assert_eq!(out.len(), 2, "the first two go out as they come");
    // The window closes (record time): one summary for the other 28.
    out = e.tick(1e9 + 601.0);
    assert_eq!(out.len(), 1);
    let s = &out[0];
    assert_eq!(s.count, 28);
    assert_eq!(s.key, "summary");
    assert!(
        s.title.starts_with("28 more \"dga\" alerts in 10m"),
        "{}",
        s.title
    );
    assert_eq!(s.summary.as_ref().unwrap().hosts, ["10.0.0.9"]);
    assert_eq!(e.stats().aggregated, 28);
    assert_eq!(store.outbox_counts("out").unwrap().pending, 3);
}

#[test]
fn mistakes_in_rules_are_named() {
    let cfg = config(
        "[rules.bad]\nwhen = \"phish_score >>= 0.9\"\n[rules.nohash]\nkind = \"file_hash\"\n[rules.dest]\nwhen = \"x == 1\"\ndestinations = [\"nowhere\"]\n",
    );
    let errs = Engine::new(&cfg, Store::in_memory().unwrap(), vec![], Clock::Wall)
        .err()
        .unwrap();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter()
            .any(|e| e.starts_with("alerts.rules.bad: when:")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|e| e.contains("rules.nohash: mime_types")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("no destination named \"nowhere\"")),
        "{text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_an_smtp_server() {
    let Ok(python) = std::env::var("TRAWL_PYTHON") else {
        eprintln!("skipped: TRAWL_PYTHON is not set (scripts/test.sh sets it, with aiosmtpd)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let smtpd = smtp::Smtpd::start(&python, &dir.path().join("mail")).await;
    let port = smtpd.port;
    let cfg = config(&format!(
        r#"
        pivot = "https://kibana.example/app/discover#/?q=uid:{{uid}}"
        [rules.phishing]
        when = "phish_score >= 0.9"
        severity = "critical"
        title = "Phishing lookup {{query}} by {{workstation}}"
        [destinations.mail]
        type = "email"
        host = "127.0.0.1"
        port = {port}
        tls = "none"
        from = "trawl <trawl@lab.internal>"
        to = ["soc@lab.internal", "oncall@lab.internal"]
        "#
    ));
    let store = Store::open(&dir.path().join("alerts.sqlite")).unwrap();
    let mut e = engine(&cfg, &store);
    let d = dispatcher(&cfg, &store);
    assert_eq!(
        e.process(&dns(
            1e9,
            "CmailUid1",
            "192.168.1.10",
            "paypal-login.secure-verify.000webhostapp.com",
            1.0
        ))
        .len(),
        1
    );
    assert!(
        d.drain(Duration::from_secs(20)).await,
        "the email was not delivered"
    );
    d.stop().await;
    let found = smtpd.messages();
    drop(smtpd);
    assert_eq!(found.len(), 1, "one message expected in the maildir");
    // Unfold folded header lines (RFC 5322).
    // Unfold folded header lines (RFC 5322) and undo quoted-printable soft breaks and `=3D`.
    let m = &found[0]
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(m.contains("Subject: [trawl critical] Phishing lookup paypal-login.secure-verify.000webhostapp.com by alice-laptop"), "{m}");
    assert!(
        m.contains("To: soc@lab.internal, oncall@lab.internal"),
        "{m}"
    );
    assert!(m.contains("workstation   alice-laptop"), "{m}");
    assert!(
        m.contains("https://kibana.example/app/discover#/?q=uid:CmailUid1"),
        "{m}"
    );
}

fn http(ts: f64, host: &str, ua: &str) -> Record<'static> {
    let t = |x| ZeekType::single(x);
    let mut r = Record::new("http");
    r.push("ts", t(Scalar::Time), Value::Time((ts * 1e9) as i64));
    r.push("uid", t(Scalar::String), s(&format!("C{ts}")));
    r.push(
        "id.orig_h",
        t(Scalar::Addr),
        Value::Addr(host.parse().unwrap()),
    );
    r.push("host", t(Scalar::String), s("example.com"));
    r.push("user_agent", t(Scalar::String), s(ua));
    r
}

#[test]
fn curl_from_a_windows_workstation_is_odd_and_evidence_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.sqlite");
    let cfg = config("[rules.ua]\nkind = \"user_agent\"\nmin_evidence = 3\n[destinations.out]\ntype = \"stdout\"\n");
    let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0";
    {
        let store = Store::open(&path).unwrap();
        let mut e = engine(&cfg, &store);
        // Too little evidence yet: curl is not odd.
        assert!(e.process(&http(1.0, "10.0.0.7", "curl/8.5.0")).is_empty());
        for i in 0..3 {
            assert!(e
                .process(&http(2.0 + i as f64, "10.0.0.7", edge))
                .is_empty());
        }
        e.save();
    }
    let store = Store::open(&path).unwrap();
    let mut e = engine(&cfg, &store);
    let a = e.process(&http(10.0, "10.0.0.7", "curl/8.5.0"));
    assert_eq!(a.len(), 1, "curl after restart on a Windows host");
    assert_eq!(a[0].fields["claimed"], "command-line tool (curl)");
    assert_eq!(a[0].fields["host_os"], "Windows");
    // A browser on that host is what it should be.
    assert!(e.process(&http(11.0, "10.0.0.7", edge)).is_empty());
}

#[test]
fn first_seen_learns_quietly_then_alerts_once_per_registered_domain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.sqlite");
    let cfg = config("[rules.new]\nkind = \"first_seen\"\nlearn = \"1h\"\n[destinations.out]\ntype = \"stdout\"\n");
    let t0 = 1_763_629_200.0;
    {
        let store = Store::open(&path).unwrap();
        let mut e = engine(&cfg, &store);
        // Learning for the first hour (record time): known names, no alerts.
        assert!(e
            .process(&dns(t0, "C1", "10.0.0.1", "www.github.com", 0.0))
            .is_empty());
        assert!(e
            .process(&dns(t0 + 60.0, "C2", "10.0.0.1", "mail.example.co.uk", 0.0))
            .is_empty());
        // After it: a new registered domain alerts, once.
        let a = e.process(&dns(
            t0 + 4000.0,
            "C3",
            "10.0.0.2",
            "cdn.fresh-domain.net",
            0.0,
        ));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].fields["registered_domain"], "fresh-domain.net");
        assert!(e
            .process(&dns(
                t0 + 4001.0,
                "C4",
                "10.0.0.3",
                "www.fresh-domain.net",
                0.0
            ))
            .is_empty());
        // A known one under another host name is not new; internal names are never new.
        assert!(e
            .process(&dns(t0 + 4002.0, "C5", "10.0.0.1", "api.github.com", 0.0))
            .is_empty());
        assert!(e
            .process(&dns(
                t0 + 4003.0,
                "C6",
                "10.0.0.1",
                "printer.lab.internal",
                0.0
            ))
            .is_empty());
    }
    // The names and the learning start are in the store.
    let store = Store::open(&path).unwrap();
    let mut e = engine(&cfg, &store);
    assert!(e
        .process(&dns(t0 + 5000.0, "C7", "10.0.0.1", "example.co.uk", 0.0))
        .is_empty());
    assert_eq!(
        e.process(&dns(t0 + 5001.0, "C8", "10.0.0.1", "another.org", 0.0))
            .len(),
        1
    );
}
