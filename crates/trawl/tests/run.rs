//! `trawl run` end to end on the bundled samples.

mod common;

fn cut(dir: &std::path::Path, log_type: &str, cols: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["cut", "-t", log_type, "-r", dir.to_str().unwrap()];
    args.extend_from_slice(cols);
    let out = common::trawl(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn once_enriches_the_samples_with_scores_and_time_aware_attribution() {
    let out = tempfile::tempdir().unwrap();
    let samples = common::repo().join("samples/zeek");
    let run = common::trawl(&[
        "run",
        "--once",
        samples.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Same file names as the input, uncompressed.
    assert!(out
        .path()
        .join("2026-11-20/dns.09:00:00-10:00:00.log")
        .exists());
    assert!(out.path().join("current/dns.log").exists());

    let dns = cut(
        out.path(),
        "dns",
        &[
            "id.orig_h",
            "query",
            "phish_score",
            "dga_score",
            "workstation",
        ],
    );
    let find = |q: &str| {
        dns.iter()
            .find(|r| r[1] == q)
            .unwrap_or_else(|| panic!("{q} not in output"))
            .clone()
    };
    // 192.168.1.11 is bob-desktop until its lease ends, carol-phone after 10:05.
    assert_eq!(find("updates.example-cdn.net")[4], "bob-desktop");
    assert_eq!(find("qxvkzjwpterb.net")[4], "carol-phone");
    assert_eq!(
        find("paypal-login.secure-verify.000webhostapp.com")[4],
        "alice-laptop"
    );
    for r in &dns {
        let p: f64 = r[2]
            .parse()
            .unwrap_or_else(|_| panic!("phish_score of {r:?}"));
        assert!((0.0..=1.0).contains(&p));
    }
    // Every input DNS record is in the output once.
    let input = common::trawl(&["cut", "-t", "dns", "-r", samples.to_str().unwrap(), "query"]);
    assert_eq!(
        String::from_utf8_lossy(&input.stdout).lines().count(),
        dns.len()
    );

    // The http log carries attribution too; its added columns are declared for Zeek tools.
    let http = cut(
        out.path(),
        "http",
        &["id.orig_h", "host", "mac", "workstation"],
    );
    assert!(http
        .iter()
        .any(|r| r[1] == "updates.example-cdn.net" && r[3] == "bob-desktop"));
    let text =
        std::fs::read_to_string(out.path().join("2026-11-20/dns.09:00:00-10:00:00.log")).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("#fields")
                && l.ends_with("phish_score\tdga_score\tmac\tworkstation")),
        "{text:.2000}"
    );
}

#[test]
fn a_second_once_run_rewrites_rather_than_appends() {
    let out = tempfile::tempdir().unwrap();
    let samples = common::repo().join("samples/zeek");
    let args = [
        "run",
        "--once",
        samples.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ];
    assert!(common::trawl(&args).status.success());
    let first = std::fs::read(out.path().join("current/dns.log")).unwrap();
    assert!(common::trawl(&args).status.success());
    assert_eq!(
        std::fs::read(out.path().join("current/dns.log"))
            .unwrap()
            .len(),
        first.len()
    );
}

#[test]
fn configuration_mistakes_stop_the_run_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("t.toml");
    std::fs::write(
        &cfg,
        "[sources.a]\ntype = \"syslog\"\nudp = \"nonsense\"\n\n[sinks.b]\ntype = \"stdout\"\n",
    )
    .unwrap();
    let out = common::trawl(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("t.toml:3:1: \"nonsense\" is not an address"),
        "{err}"
    );
    let check = common::trawl(&["config", "check", cfg.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
}
