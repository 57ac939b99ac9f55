//! Alerts an analyst acts on: each kind's dedup default and what overrides it, repeats counted
//! and reported once a day by a digest (across a restart too), singular and plural wording,
//! and the pivot link of summaries and digests.

mod records;

use std::time::Duration;

use records::{record, s};
use trawl_alert::{Alert, AlertsConfig, Clock, Engine, Store};
use trawl_zeek::{Record, Scalar, Value, ZeekType};

const DAY: f64 = 86_400.0;
/// 2026-12-06 00:00:00 UTC.
const D0: f64 = 1_796_515_200.0;
const POWERSHELL: &str =
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4291";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0";

fn config(text: &str) -> AlertsConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn engine(cfg: &AlertsConfig, store: &Store, clock: Clock) -> Engine {
    Engine::new(cfg, store.clone(), trawl_alert::routes(cfg), clock)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn http(ts: f64, uid: &str, host: &str, ua: &str) -> Record<'static> {
    let t = |x| ZeekType::single(x);
    let mut r = record("http", ts, uid, host);
    r.push("host", t(Scalar::String), s("update.example.com"));
    r.push("user_agent", t(Scalar::String), s(ua));
    r
}

fn dns(ts: f64, uid: &str, host: &str, query: &str) -> Record<'static> {
    let t = |x| ZeekType::single(x);
    let mut r = record("dns", ts, uid, host);
    r.push("query", t(Scalar::String), s(query));
    r.push("phish_score", t(Scalar::Double), Value::Double(0.99));
    r
}

/// `n` more lookups of login.evil.example by 10.0.0.5, a second apart from `from` (uids
/// `uid` followed by 0, 1, ...): repeats within the dedup window, so none alerts.
fn repeats_stay_quiet(e: &mut Engine, uid: &str, from: f64, n: usize) {
    for i in 0..n {
        let uid = format!("{uid}{i}");
        let r = dns(from + i as f64, &uid, "10.0.0.5", "login.evil.example");
        assert!(e.process(&r).is_empty());
    }
}

fn rule<'a>(e: &'a Engine, name: &str) -> &'a trawl_alert::rules::Rule {
    e.rules().iter().find(|r| r.name == name).unwrap()
}

const KINDS: &str = r#"
[rules.phishing]
log = "dns"
when = "phish_score >= 0.9"
[rules.conn]
log = "conn"
when = "orig_bytes > 1000000"
[rules.downloads]
kind = "file_hash"
mime_types = ["application/x-dosexec"]
[rules.old-java]
kind = "software"
software = "Java"
below = "1.7.0_11"
[rules.odd-user-agent]
kind = "user_agent"
[rules.new-domain]
kind = "first_seen"
[destinations.out]
type = "stdout"
"#;

#[test]
fn each_kind_has_its_dedup_default_and_the_rule_then_alerts_wins() {
    let e = engine(&config(KINDS), &Store::in_memory().unwrap(), Clock::Record);
    let day = Duration::from_secs(86_400);
    for (name, key, dedup) in [
        ("phishing", "query|id.orig_h", day),
        ("conn", "id.orig_h|id.resp_h", day),
        ("downloads", "md5", day),
        ("old-java", "host|name|version", day * 7),
        ("odd-user-agent", "id.orig_h|user_agent", day),
        ("new-domain", "registered_domain", Duration::ZERO),
    ] {
        let r = rule(&e, name);
        assert_eq!(r.key.join("|"), key, "{name}");
        assert_eq!(r.dedup, dedup, "{name}");
        assert_eq!(r.dedup_from, "kind", "{name}");
        assert_eq!(r.digest, Some(day), "{name}");
    }

    // [alerts] dedup overrides the kinds' defaults; a rule's own overrides both.
    let text = KINDS
        .replace(
            "[rules.phishing]",
            "dedup = \"2h\"\ndigest = \"off\"\n[rules.phishing]",
        )
        .replace(
            "kind = \"user_agent\"",
            "kind = \"user_agent\"\ndedup = \"5m\"\ndigest = \"12h\"",
        );
    let e = engine(&config(&text), &Store::in_memory().unwrap(), Clock::Record);
    let ua = rule(&e, "odd-user-agent");
    assert_eq!(
        (ua.dedup, ua.dedup_from, ua.digest),
        (
            Duration::from_secs(300),
            "rule",
            Some(Duration::from_secs(43_200))
        )
    );
    for name in ["phishing", "old-java", "new-domain"] {
        let r = rule(&e, name);
        assert_eq!(
            (r.dedup, r.dedup_from, r.digest),
            (Duration::from_secs(7200), "[alerts]", None),
            "{name}"
        );
    }

    // A digest period is a duration or "off", and not a flood.
    for bad in ["digest = \"soon\"", "digest = \"10s\"", "digest = true"] {
        let text = format!("{bad}\n{KINDS}");
        assert!(
            toml::from_str::<AlertsConfig>(&text).is_err(),
            "{bad} accepted"
        );
    }
    for off in ["digest = \"off\"", "digest = false", "digest = 0"] {
        let cfg = config(&format!("{off}\n{KINDS}"));
        let e = engine(&cfg, &Store::in_memory().unwrap(), Clock::Record);
        assert_eq!(rule(&e, "phishing").digest, None, "{off}");
    }
}

/// Windows evidence for a host: three browser requests.
fn windows_host(e: &mut Engine, t: f64, host: &str) {
    for i in 0..3 {
        assert!(e
            .process(&http(t + i as f64, &format!("Cw{host}{i}"), host, EDGE))
            .is_empty());
    }
}

#[test]
fn powershell_every_10_minutes_on_10_hosts_is_10_alerts_and_one_digest_a_day() {
    let cfg = config(
        r#"
pivot = "https://kibana.example/app/discover#/?q=uid:{uid}"
[rules.odd-user-agent]
kind = "user_agent"
[destinations.out]
type = "stdout"
"#,
    );
    let store = Store::in_memory().unwrap();
    let mut e = engine(&cfg, &store, Clock::Record);
    let hosts: Vec<String> = (20..30).map(|i| format!("192.168.1.{i}")).collect();
    for h in &hosts {
        windows_host(&mut e, D0 - 3600.0, h);
    }
    let mut alerts: Vec<Alert> = Vec::new();
    for step in 0..144 {
        for (n, h) in hosts.iter().enumerate() {
            let t = D0 + step as f64 * 600.0 + n as f64;
            alerts.extend(e.process(&http(t, &format!("C{step}x{n}"), h, POWERSHELL)));
        }
    }
    assert_eq!(alerts.len(), 10, "one alert per host: {alerts:#?}");
    assert!(alerts.iter().all(|a| a.summary.is_none()));
    assert_eq!(alerts[0].key, format!("192.168.1.20|{POWERSHELL}"));
    assert_eq!(e.stats().deduplicated, 1430);

    // The next day: the first record after midnight brings the digest of the day before
    // (record time), and the host alerts again (its window closed).
    let next = e.process(&http(D0 + DAY + 300.0, "Cnext", "192.168.1.20", POWERSHELL));
    assert_eq!(next.len(), 2, "{next:#?}");
    let d = &next[0];
    assert_eq!(d.key, "digest");
    assert_eq!(d.count, 1430);
    assert!(
        d.title.starts_with(
            "odd-user-agent: 1430 repeats on 10 hosts since 2026-12-06 00:10 UTC (192.168.1.20 Mozilla/5.0"
        ),
        "{}",
        d.title
    );
    assert!(d.title.contains(" \u{d7}143, "), "{}", d.title);
    assert!(d.title.ends_with(", ...)"), "{}", d.title);
    let sm = d.summary.as_ref().unwrap();
    assert_eq!(sm.hosts.len(), 10);
    assert_eq!(sm.repeats.len(), 10);
    assert_eq!(sm.repeats[0].count, 143);
    assert_eq!(sm.repeats[0].first, "2026-12-06T00:10:00.000Z");
    assert_eq!(sm.repeats[0].last, "2026-12-06T23:50:00.000Z");
    // The uids differ: the link is the first repeat's, and says so.
    assert!(sm.pivot_first);
    assert_eq!(
        d.pivot.as_deref(),
        Some("https://kibana.example/app/discover#/?q=uid:C1x0")
    );
    let m = trawl_alert::dest::slack_message(d).to_string();
    assert!(m.contains("Open the first record"), "{m}");
    assert!(
        m.contains("https://kibana.example/app/discover#/?q=uid:C1x0"),
        "{m}"
    );
    assert_eq!(next[1].key, alerts[0].key);
    assert_eq!(e.stats().digests, 1);
    // Nothing left to report at the end but that one new repeat-free day.
    assert!(e.finish().is_empty());
}

#[test]
fn repeats_survive_a_restart_and_their_digest_goes_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.sqlite");
    let cfg = config(
        r#"
pivot = "https://kibana.example/app/discover#/?q=id.orig_h:{id.orig_h}"
[rules.phishing]
log = "dns"
when = "phish_score >= 0.9"
[destinations.out]
type = "stdout"
"#,
    );
    let now = trawl_alert::alert::now();
    {
        let store = Store::open(&path).unwrap();
        let mut e = engine(&cfg, &store, Clock::Wall);
        e.begin_batch();
        assert_eq!(
            e.process(&dns(now, "C1", "10.0.0.5", "login.evil.example"))
                .len(),
            1
        );
        repeats_stay_quiet(&mut e, "C1", now + 1.0, 5);
        e.end_batch();
        // Not due yet.
        assert!(e.tick(now + 1.0).is_empty());
    }
    {
        // Restarted: the window holds, and the repeats add up.
        let store = Store::open(&path).unwrap();
        let mut e = engine(&cfg, &store, Clock::Wall);
        repeats_stay_quiet(&mut e, "C2", now + 60.0, 2);
        e.save();
    }
    let store = Store::open(&path).unwrap();
    let mut e = engine(&cfg, &store, Clock::Wall);
    // Due at the next midnight UTC: the first tick after it sends one digest.
    let d = e.tick(now + DAY + 1.0);
    assert_eq!(d.len(), 1, "{d:#?}");
    let d = &d[0];
    assert_eq!(d.count, 7);
    assert!(
        d.title.starts_with("phishing: 7 repeats on 1 host since "),
        "{}",
        d.title
    );
    assert!(
        d.title.ends_with("(login.evil.example 10.0.0.5 \u{d7}7)"),
        "{}",
        d.title
    );
    // One host: the link pivots on it, not on one record.
    assert_eq!(
        d.pivot.as_deref(),
        Some("https://kibana.example/app/discover#/?q=id.orig_h:10.0.0.5")
    );
    assert!(!d.summary.as_ref().unwrap().pivot_first);
    // The first alert and the digest are in the outbox; the counts are gone.
    assert_eq!(store.outbox_counts("out").unwrap().pending, 2);
    assert!(store.repeats("phishing").unwrap().is_empty());
    assert!(e.tick(now + 2.0 * DAY).is_empty());
    drop(e);
    // Nor after another restart.
    let mut e = engine(&cfg, &Store::open(&path).unwrap(), Clock::Wall);
    assert!(e.tick(now + 3.0 * DAY).is_empty());
    assert_eq!(store.outbox_counts("out").unwrap().pending, 2);
}

#[test]
fn counts_read_as_english_and_summaries_have_a_link() {
    let cfg = config(
        r#"
pivot = "https://kibana.example/app/discover#/?q=uid:{uid}"
[rules.dga]
log = "dns"
when = "phish_score >= 0.9"
key = ["query"]
aggregate = { window = "10m", after = 1 }
[rules.byhost]
log = "dns"
when = "phish_score >= 0.9"
key = ["query"]
pivot = "https://kibana.example/app/discover#/?q=id.orig_h:{id.orig_h}"
aggregate = { window = "10m", after = 1 }
[destinations.out]
type = "stdout"
"#,
    );
    let store = Store::in_memory().unwrap();
    let mut e = engine(&cfg, &store, Clock::Record);
    let mut out = Vec::new();
    for (i, q) in ["a.example.net", "b.example.net"].iter().enumerate() {
        out.extend(e.process(&dns(D0 + i as f64, &format!("C{i}"), "10.0.0.9", q)));
    }
    // A repeat of the first name, for a one-repeat digest.
    out.extend(e.process(&dns(D0 + 5.0, "C5", "10.0.0.9", "a.example.net")));
    assert_eq!(out.len(), 2, "{out:#?}");
    out = e.finish();
    let by = |rule: &str, key: &str| {
        out.iter()
            .find(|a| a.rule == rule && a.key == key)
            .unwrap_or_else(|| panic!("no {rule} {key} in {out:#?}"))
    };
    let s = by("dga", "summary");
    assert_eq!(
        s.title, "1 more \"dga\" alert in 10m (b.example.net)",
        "singular"
    );
    // One alert summarised: its uid is shared, the link is its own.
    assert_eq!(
        s.pivot.as_deref(),
        Some("https://kibana.example/app/discover#/?q=uid:C1")
    );
    assert!(!s.summary.as_ref().unwrap().pivot_first);
    let h = by("byhost", "summary");
    assert_eq!(
        h.pivot.as_deref(),
        Some("https://kibana.example/app/discover#/?q=id.orig_h:10.0.0.9")
    );
    let d = by("dga", "digest");
    assert!(
        d.title.starts_with(
            "dga: 1 repeat on 1 host since 2026-12-06 00:00 UTC (a.example.net \u{d7}1)"
        ),
        "{}",
        d.title
    );

    // Slack shows the summary's link as a button, and the digest's lines.
    let m = trawl_alert::dest::slack_message(s);
    let button = m["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("a pivot button on a summary");
    assert_eq!(
        button["elements"][0]["url"],
        "https://kibana.example/app/discover#/?q=uid:C1"
    );
    assert!(m.to_string().contains("*1 alert* from"), "{m}");
    let m = trawl_alert::dest::slack_message(d).to_string();
    assert!(m.contains("*1 repeat* inside their dedup window"), "{m}");
    assert!(
        m.contains("`a.example.net` \u{d7}1 (2026-12-06 00:00 to 00:00)"),
        "{m}"
    );
    // One repeat: its own record's link.
    assert_eq!(
        d.pivot.as_deref(),
        Some("https://kibana.example/app/discover#/?q=uid:C5")
    );
    assert!(m.contains("Open the logs"), "{m}");
}

fn software(ts: f64, host: &str, agent: &str) -> Record<'static> {
    let t = |x| ZeekType::single(x);
    let mut r = Record::new("software");
    r.push("ts", t(Scalar::Time), Value::Time((ts * 1e9) as i64));
    r.push("host", t(Scalar::Addr), Value::Addr(host.parse().unwrap()));
    r.push("software_type", t(Scalar::String), s("HTTP::BROWSER"));
    r.push("unparsed_version", t(Scalar::String), s(agent));
    r
}

#[test]
fn keys_fold_the_same_thing_only() {
    let cfg = config(
        r#"
[rules.ua]
kind = "user_agent"
[rules.downloads]
kind = "file_hash"
mime_types = ["application/x-dosexec"]
[destinations.out]
type = "stdout"
"#,
    );
    let mut e = engine(&cfg, &Store::in_memory().unwrap(), Clock::Record);
    // software.log has no id.orig_h: the key still names the host.
    for i in 0..3 {
        assert!(e
            .process(&software(
                D0 + i as f64,
                "10.0.0.8",
                "Wget/1.21.3 (linux-gnu)"
            ))
            .is_empty());
    }
    let a = e.process(&software(D0 + 10.0, "10.0.0.8", EDGE));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].key, format!("10.0.0.8|{EDGE}"));
    assert_eq!(a[0].fields["user_agent"], EDGE);

    // A host whose agents claim several systems (here a scanner cycling them) has no OS for
    // a Windows browser to contradict.
    for (i, ua) in [
        "Wget/1.21.3 (linux-gnu)",
        "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0",
        "Mozilla/5.0 (X11; Ubuntu; Linux i686) Gecko/20100101 Firefox/3.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_6_4) AppleWebKit/534.2 Safari/534.2",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.5) Gecko/20081201 Firefox/3.1b2",
    ]
    .iter()
    .enumerate()
    {
        assert!(e
            .process(&software(D0 + i as f64, "10.0.0.9", ua))
            .is_empty());
    }
    assert!(e.process(&software(D0 + 20.0, "10.0.0.9", EDGE)).is_empty());

    // Downloads without a hash share no key: each is its own alert, none a repeat.
    let file = |ts: f64, host: &str| {
        let t = |x| ZeekType::single(x);
        let mut r = Record::new("files");
        r.push("ts", t(Scalar::Time), Value::Time((ts * 1e9) as i64));
        r.push(
            "id.orig_h",
            t(Scalar::Addr),
            Value::Addr(host.parse().unwrap()),
        );
        r.push("mime_type", t(Scalar::String), s("application/x-dosexec"));
        r
    };
    assert_eq!(e.process(&file(D0, "10.0.0.1")).len(), 1);
    assert_eq!(e.process(&file(D0 + 1.0, "10.0.0.2")).len(), 1);
    assert_eq!(e.stats().deduplicated, 0);
}
