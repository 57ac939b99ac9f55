//! Library behaviour that needs no data files.

use trawl_score::{Model, NameError, NameKind, Site, Verdict};

#[test]
fn unscored_names_say_so() {
    let m = Model::builtin().expect("built-in model");
    assert_eq!(
        m.score("10.1.2.3").unwrap(),
        Verdict::Unscored(NameKind::IpLiteral)
    );
    assert_eq!(
        m.score("3.2.1.10.in-addr.arpa.").unwrap(),
        Verdict::Unscored(NameKind::ReverseDns)
    );
    let e = m.explain("3.2.1.10.in-addr.arpa").unwrap();
    assert_eq!(e.phish_score, None);
    assert_eq!(e.reasons, vec!["reverse-DNS name: not scored".to_string()]);
    let e = m.explain("2001:db8::1").unwrap();
    assert_eq!(e.reasons, vec!["IP literal: not scored".to_string()]);
}

#[test]
fn names_nobody_registers_are_not_scored_and_say_why() {
    let m = Model::builtin().expect("built-in model");
    for (name, kind, why) in [
        (
            "_ldap._tcp.dc._msdcs.factory.oompa.loompa",
            NameKind::Service,
            "service-record name (label _ldap",
        ),
        (
            "_vlmcs._tcp",
            NameKind::Service,
            "service-record name (label _vlmcs",
        ),
        ("WORKGROUP", NameKind::SingleLabel, "single-label name"),
        (
            "printer.local",
            NameKind::NonPublic,
            "suffix .local is not a public suffix",
        ),
        (
            "snozberry.oompa.loompa",
            NameKind::NonPublic,
            "suffix .loompa is not a public suffix",
        ),
        ("router.home.arpa", NameKind::NonPublic, "name under .arpa"),
    ] {
        assert_eq!(m.score(name).unwrap(), Verdict::Unscored(kind), "{name}");
        let e = m.explain(name).unwrap();
        assert_eq!((e.phish_score, e.dga_score), (None, None), "{name}");
        assert!(e.reasons[0].starts_with(why), "{name}: {:?}", e.reasons);
    }
}

#[test]
fn own_zones_are_not_scored() {
    let m = Model::builtin().expect("built-in model");
    let site = Site::with_zones(["corp.example.com"]).unwrap();
    let name = "x9f3k2qz7w.dev.corp.example.com";
    assert!(m.score(name).unwrap().scores().is_some());
    assert_eq!(
        m.score_in(name, &site).unwrap(),
        Verdict::Unscored(NameKind::OwnZone)
    );
    let e = m.explain_in(name, &site).unwrap();
    assert_eq!(e.phish_score, None);
    assert!(
        e.reasons[0].contains("own zone corp.example.com"),
        "{:?}",
        e.reasons
    );
    assert!(Site::with_zones(["not a zone"]).is_err());
}

#[test]
fn established_and_infrastructure_domains_are_judged_by_their_owner() {
    let m = Model::builtin().expect("built-in model");
    for name in [
        "login.microsoftonline.com.nsatc.net",
        "fg.ds.dl.windowsupdate.com.nsatc.net",
        "d13vvqr7dxay1j.cloudfront.net",
        "e3396.dscx.akamaiedge.net",
        "4m6b4.x.incapdns.net",
        "mirror.example.debian.org",
    ] {
        let e = m.explain(name).unwrap();
        assert!(
            e.phish_score.unwrap() < 0.5 && e.dga_score.unwrap() < 0.5,
            "{name}: {e:?}"
        );
        assert!(
            e.reasons[0].contains("infrastructure domain"),
            "{name}: {:?}",
            e.reasons
        );
    }
    // A random label under a domain nobody lists is what a generator made.
    for name in [
        "x837fnv9ebfj38390nf78d7.evil-domain.ru",
        "p22x62n0yr63872e-qh6.focondteavrt.ru",
    ] {
        let s = m.score(name).unwrap().scores().unwrap();
        assert!(s.dga >= m.thresholds().dga, "{name}: {s:?}");
    }
}

#[test]
fn bad_names_are_errors_not_panics() {
    let m = Model::builtin().expect("built-in model");
    assert_eq!(m.score("").unwrap_err(), NameError::Empty);
    assert!(matches!(
        m.score(&"a".repeat(300)).unwrap_err(),
        NameError::TooLong(_) | NameError::LabelTooLong(_)
    ));
    assert!(m.score("exa mple.com").is_err());
    for weird in [
        "\u{0}",
        "..",
        "-.-",
        "xn--.com",
        "xn--zzzz!.com",
        "é",
        "a\u{200b}b.com",
    ] {
        let _ = m.score(weird);
        let _ = m.explain(weird);
    }
}

#[test]
fn obvious_cases() {
    let m = Model::builtin().expect("built-in model");
    let s = |n: &str| m.score(n).unwrap().scores().unwrap();
    assert!(s("paypal.com.secure-login-verify.example.xyz").phish > 0.9);
    assert!(s("www.google.com").phish < 0.2);
    assert!(s("xjwqkzrtvbnpq.biz").dga > 0.9);
    assert!(s("www.wikipedia.org").dga < 0.2);
    let e = m
        .explain("paypal.com.secure-login-verify.example.xyz")
        .unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("brand \"paypal\" in a subdomain")),
        "{:?}",
        e.reasons
    );
}

#[test]
fn model_round_trips_and_fingerprint_is_stable() {
    let m = Model::builtin().expect("built-in model");
    let bytes = m.to_bytes();
    let again = Model::from_bytes(&bytes).unwrap();
    assert_eq!(again.fingerprint(), m.fingerprint());
    assert_eq!(m.fingerprint(), trawl_score::fingerprint(&bytes));
    assert_eq!(m.fingerprint_hex().len(), 16);
}
