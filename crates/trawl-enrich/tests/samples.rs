//! The sample logs in samples/zeek: 192.168.1.11 belongs to bob-desktop until its lease
//! expires, then (from 10:05) to carol-phone; enrichment attributes each record by its own time.

use std::path::{Path, PathBuf};

use trawl_enrich::{EnrichConfig, Enricher, Intel};
use trawl_zeek::{Event, Field, LogReader, Record, Value};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/zeek/2025-11-20")
}

fn read_all() -> Vec<Record<'static>> {
    let mut files: Vec<_> = std::fs::read_dir(samples())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let mut r = LogReader::new(trawl_input::open(&f).unwrap());
        while let Some(ev) = r.next_event().unwrap() {
            match ev {
                Event::Row(row) => out.push(row.to_record(&mut problems).into_owned()),
                Event::Record { record, .. } => out.push(record.into_owned()),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{problems:?}");
    out
}

fn get<'a>(fields: &'a [Field<'static>], name: &str) -> Option<&'a Value<'static>> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

fn text(fields: &[Field<'static>], name: &str) -> Option<String> {
    match get(fields, name)? {
        Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn strs(fields: &[Field<'static>], name: &str) -> Vec<String> {
    match get(fields, name) {
        Some(Value::List(l)) => l
            .iter()
            .map(|v| match v {
                Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
                v => format!("{v:?}"),
            })
            .collect(),
        _ => Vec::new(),
    }
}

const INTEL: &str = "#fields\tindicator\tindicator_type\tmeta.source\n\
example-cdn.net\tIntel::DOMAIN\tlab-feed\n\
AF74211AA2E9B4AEEBA42EF495E5C182\tIntel::FILE_HASH\thash-feed\n";

#[test]
fn samples_are_attributed_by_record_time_scored_and_matched() {
    let recs = read_all();
    let mut intel = Intel::new();
    intel.load_reader(INTEL.as_bytes(), "inline").unwrap();
    let mut e = Enricher::new(EnrichConfig {
        reasons: true,
        intel: Some(intel),
        ..EnrichConfig::default()
    })
    .unwrap();
    let added = e.enrich_batch(&recs);
    let field_of = |r: &Record<'static>, n: &str| r.get(n).cloned();
    let ts = |r: &Record<'_>| match r.get("ts") {
        Some(Value::Time(t)) => *t / 1_000_000_000,
        _ => 0,
    };
    let eleven = Value::Addr("192.168.1.11".parse().unwrap());

    // The DGA lookups at 10:10 from 192.168.1.11: carol-phone, with high DGA scores.
    let mut dga = 0;
    for (r, f) in recs.iter().zip(&added) {
        let q = field_of(r, "query");
        let is_dga = matches!(&q, Some(Value::Str(s)) if s.starts_with(b"qxvkz") || s.starts_with(b"mzkfh") || s.starts_with(b"bvtrq"));
        if r.path == "dns" && field_of(r, "id.orig_h") == Some(eleven.clone()) && is_dga {
            assert_eq!(ts(r), 1_763_633_400 + 2 * dga);
            assert_eq!(
                text(f, "workstation").as_deref(),
                Some("carol-phone"),
                "{f:?}"
            );
            assert_eq!(text(f, "mac").as_deref(), Some("aa:bb:cc:00:00:33"));
            let Some(Value::Double(d)) = get(f, "dga_score") else {
                panic!("no dga_score: {f:?}")
            };
            assert!(*d > 0.5, "dga {d}");
            assert!(!strs(f, "score_reasons").is_empty());
            dga += 1;
        }
    }
    assert_eq!(dga, 3);

    // The 09:30 download: bob-desktop, and both the name and the hash are in the intel.
    let (r, f) = recs
        .iter()
        .zip(&added)
        .find(|(r, _)| r.path == "http" && ts(r) == 1_763_631_001)
        .unwrap();
    assert_eq!(field_of(r, "id.orig_h"), Some(eleven.clone()));
    assert_eq!(text(f, "workstation").as_deref(), Some("bob-desktop"));
    assert_eq!(strs(f, "intel.indicator"), vec!["example-cdn.net"]);
    assert_eq!(strs(f, "intel.where"), vec!["host:parent-domain"]);
    assert_eq!(strs(f, "intel.source"), vec!["lab-feed"]);
    let (_, f) = recs
        .iter()
        .zip(&added)
        .find(|(r, _)| r.path == "files" && ts(r) == 1_763_631_001)
        .unwrap();
    assert_eq!(strs(f, "intel.indicator_type"), vec!["Intel::FILE_HASH"]);
    assert_eq!(strs(f, "intel.where"), vec!["md5"]);

    // A DHCP record keeps its own mac and gets only the name.
    let (_, f) = recs
        .iter()
        .zip(&added)
        .find(|(r, _)| r.path == "dhcp")
        .unwrap();
    assert_eq!(get(f, "mac"), None);
    assert_eq!(text(f, "workstation").as_deref(), Some("alice-laptop"));

    // Between Bob's lease expiring (10:00:06) and Carol's (10:05) nobody held the address.
    for (r, f) in recs.iter().zip(&added) {
        let t = ts(r);
        if field_of(r, "id.orig_h") == Some(eleven.clone())
            && (1_763_632_807..1_763_633_100).contains(&t)
        {
            assert_eq!(get(f, "workstation"), None, "{r:?}");
        }
    }
}

#[test]
fn renewed_leases_keep_every_host_attributed_and_uids_keep_their_port() {
    let recs = read_all();
    let mut e = Enricher::new(EnrichConfig {
        scores: false,
        ..EnrichConfig::default()
    })
    .unwrap();
    let added = e.enrich_batch(&recs);
    let eleven = Value::Addr("192.168.1.11".parse().unwrap());
    let gap = 1_763_632_806_000_000_000..1_763_633_100_000_000_000;
    for (r, f) in recs.iter().zip(&added) {
        let Some(Value::Time(t)) = r.get("ts") else {
            continue;
        };
        // Only .11 between bob's expiry and carol's lease goes without a workstation.
        let orig = r.get("id.orig_h");
        if matches!(orig, Some(Value::Addr(a)) if a.to_string().starts_with("192.168.1."))
            && !(orig == Some(&eleven) && gap.contains(t))
            && r.path != "dhcp"
        {
            assert!(text(f, "workstation").is_some(), "{r:?}");
        }
    }
    // One uid, one originator port: conn, dns and http name the connection's; files (the
    // server sends) name it as the responder port.
    let mut ports = std::collections::HashMap::new();
    for r in recs.iter().filter(|r| r.path == "conn") {
        ports.insert(text(&r.fields, "uid"), r.get("id.orig_p").cloned());
    }
    let mut checked = 0;
    for r in recs
        .iter()
        .filter(|r| matches!(&*r.path, "dns" | "http" | "files"))
    {
        let port = if r.path == "files" {
            "id.resp_p"
        } else {
            "id.orig_p"
        };
        let want = ports.get(&text(&r.fields, "uid")).expect("a conn record");
        assert_eq!(r.get(port), want.as_ref(), "{r:?}");
        checked += 1;
    }
    assert!(checked > 200, "{checked}");
}

#[test]
fn record_by_record_after_a_restart() {
    // Learn from the DHCP and known_devices files, save, restart, then attribute.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("hosts.sqlite");
    let recs = read_all();
    let config = || EnrichConfig {
        scores: false,
        store: Some(store.clone()),
        ..EnrichConfig::default()
    };
    let mut e = Enricher::new(config()).unwrap();
    for r in recs
        .iter()
        .filter(|r| r.path == "dhcp" || r.path == "known_devices")
    {
        e.enrich(r);
    }
    assert!(e.save().unwrap() > 0);
    drop(e);
    let mut e = Enricher::new(EnrichConfig {
        learn: false,
        ..config()
    })
    .unwrap();
    let names: Vec<Option<String>> = recs
        .iter()
        .filter(|r| r.path == "http")
        .map(|r| text(&e.enrich(r), "workstation"))
        .collect();
    assert!(names.iter().any(|n| n.as_deref() == Some("bob-desktop")));
    assert!(names.iter().any(|n| n.as_deref() == Some("fbsd-build")));
}
