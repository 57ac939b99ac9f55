//! The example configuration's phishing and DGA rules over the real captures in
//! `$TRAWL_SHARED/corpus`, as a new user would first run them: no alert may name something
//! nobody registers (service records, single-label names, internal or special-use zones,
//! reverse zones) or a name under an established or infrastructure domain (CDN edges,
//! Windows Update's Akamai names, OS mirrors), and `trawl model review` must list the same
//! judgement.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;
use trawl_score::{Model, NameBuf, NameKind};

/// Names from real captures that alerted before, each of a kind that must never alert.
const NEVER: &[&str] = &[
    "wiki.archlinux.org",
    "mirror.csclub.uwaterloo.ca",
    "vm185.documentfoundation.org",
    "fg.ds.dl.windowsupdate.com.nsatc.net",
    "login.microsoftonline.com.nsatc.net",
    "_ldap._tcp.dc._msdcs.factory.oompa.loompa",
    "_vlmcs._tcp",
    "4m6b4.x.incapdns.net",
    "d13vvqr7dxay1j.cloudfront.net",
];

/// Why `name` must not be the subject of a phishing or DGA alert, if it must not.
fn must_not_alert(model: &Model, name: &str) -> Option<String> {
    if NEVER.contains(&name) {
        return Some("listed".into());
    }
    let mut buf = NameBuf::new();
    let p = trawl_score::normalize(name, &mut buf).ok()?;
    if p.kind != NameKind::Domain {
        return Some(format!("{:?}", p.kind));
    }
    let e = model.explain(name).ok()?;
    e.reasons
        .iter()
        .find(|r| r.contains("is an established domain") || r.contains("infrastructure domain"))
        .cloned()
}

#[test]
fn example_rules_on_real_captures_alert_only_on_what_deserves_a_look() {
    let Some(shared) = common::shared("example_rules_on_real_captures") else {
        return;
    };
    let corpus = common::need(&shared, "corpus");
    let cfg = common::repo().join("trawl.example.toml");
    let (stdout, _) = common::trawl_ok(&[
        "alert",
        "test",
        "--config",
        cfg.to_str().unwrap(),
        "--rule",
        "phishing",
        "--rule",
        "dga",
        corpus.to_str().unwrap(),
    ]);
    let model = Model::builtin().unwrap();
    let mut alerted: BTreeSet<String> = BTreeSet::new();
    for line in stdout.lines() {
        let a: Value = serde_json::from_str(line).unwrap();
        // Summaries and digests list keys `query|client`; single alerts carry the query.
        if let Some(q) = a["fields"]["query"].as_str() {
            alerted.insert(q.to_string());
        }
        for k in a["fields"]["keys"].as_array().into_iter().flatten() {
            if let Some(q) = k.as_str().and_then(|k| k.split('|').next()) {
                alerted.insert(q.to_string());
            }
        }
    }
    let bad: Vec<String> = alerted
        .iter()
        .filter_map(|n| must_not_alert(model, n).map(|why| format!("{n} ({why})")))
        .collect();
    assert!(
        bad.is_empty(),
        "alerts on names that must not alert: {bad:?}"
    );
    // Few names alert at all on these captures (a competition network, Zeek's test traces):
    // an analyst reads each one.
    assert!(
        alerted.len() <= 5,
        "{} names alerted: {alerted:?}",
        alerted.len()
    );

    // The review lists every name that would fire, with the rule.
    let (stdout, stderr) = common::trawl_ok(&[
        "model",
        "review",
        "--config",
        cfg.to_str().unwrap(),
        "--top",
        "10",
        "--format",
        "json",
        corpus.to_str().unwrap(),
    ]);
    let mut fired: BTreeSet<String> = BTreeSet::new();
    for line in stdout.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let rules: Vec<&str> = r["would_fire"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|r| *r == "phishing" || *r == "dga")
            .collect();
        assert!(!r["reasons"].as_array().unwrap().is_empty(), "{r}");
        if !rules.is_empty() {
            fired.insert(r["name"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(fired, alerted, "review and alert test disagree");
    assert!(
        stderr.contains("not scored:") && stderr.contains("service-record"),
        "{stderr}"
    );
}

/// The example rules alert where the built-in model's thresholds are (set at training time
/// for a chosen false-positive rate on held-back benign names), to three decimals: the
/// README explains those figures, and a retrained model must carry the example along.
#[test]
fn example_thresholds_are_the_models() {
    let text = std::fs::read_to_string(common::repo().join("trawl.example.toml")).unwrap();
    let t = Model::builtin().unwrap().thresholds();
    let (phish, dga) = (format!("{:.3}", t.phish), format!("{:.3}", t.dga));
    for (needle, want) in [
        ("phish_score >= ", &phish),
        ("dga_score < ", &dga),
        ("dga_score >= ", &dga),
    ] {
        let found: Vec<&str> = text
            .match_indices(needle)
            .map(|(i, _)| {
                let rest = &text[i + needle.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        assert!(!found.is_empty(), "{needle}: not in trawl.example.toml");
        for v in found {
            assert_eq!(
                v, want,
                "trawl.example.toml: {needle}{v}, the model's is {want}"
            );
        }
    }
}
