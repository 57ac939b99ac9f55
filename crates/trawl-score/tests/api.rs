//! Library behaviour that needs no data files.

use trawl_score::{Model, NameError, NameKind, Verdict};

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
