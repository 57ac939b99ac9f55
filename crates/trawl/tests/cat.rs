//! `trawl cat` end to end on small inputs of our own.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

const DNS: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tquery\tanswers\n#types\ttime\tstring\tvector[string]\n1.000000\ta.example\t1.2.3.4,5.6.7.8\n2.000000\t-\t(empty)\n";

fn run_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trawl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn stdin_to_json_follows_zeek_conventions() {
    let out = run_stdin(&["cat", "-f", "json"], DNS.as_bytes());
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "{\"_path\":\"dns\",\"ts\":1.000000,\"query\":\"a.example\",\"answers\":[\"1.2.3.4\",\"5.6.7.8\"]}\n{\"_path\":\"dns\",\"ts\":2.000000,\"answers\":[]}\n"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("1 file, 2 records, 0 problems"), "{err}");
}

#[test]
fn json_back_to_zeek_reads_the_same() {
    let json = run_stdin(&["cat", "-f", "json"], DNS.as_bytes()).stdout;
    let tsv = run_stdin(&["cat", "-f", "zeek"], &json).stdout;
    let again = run_stdin(&["cat", "-f", "json"], &tsv).stdout;
    assert_eq!(
        String::from_utf8(again).unwrap(),
        String::from_utf8(json).unwrap()
    );
}

#[test]
fn csv_quotes_and_repeats_headers() {
    let out = run_stdin(&["cat", "-f", "csv", "-q"], DNS.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("ts,query,answers\r\n1.000000,a.example,\"1.2.3.4,5.6.7.8\"\r\n"),
        "{text}"
    );
}

#[test]
fn bad_values_are_kept_reported_and_strict_exits_2() {
    let bad = DNS.replace("1.000000\ta.example", "oops\ta.example");
    let out = run_stdin(&["cat", "-f", "json"], bad.as_bytes());
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"ts\":\"oops\""), "{text}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("<stdin>:8: field ts: \"oops\" is not a valid time"),
        "{err}"
    );
    let strict = run_stdin(&["cat", "-f", "json", "--strict"], bad.as_bytes());
    assert_eq!(strict.status.code(), Some(2));
}

#[test]
fn a_corrupt_gzip_does_not_stop_the_others_and_quarantine_keeps_lines() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("dns.log");
    std::fs::write(&good, DNS).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut big = DNS.to_string();
    for i in 0..20_000 {
        big.push_str(&format!(
            "{i}.5\thost{}.example\t10.{}.{}.{}\n",
            i * 7919 % 100_003,
            i % 251,
            i % 241,
            i % 239
        ));
    }
    gz.write_all(big.as_bytes()).unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.truncate(bytes.len() / 2);
    let broken = dir.path().join("broken.log.gz");
    std::fs::write(&broken, bytes).unwrap();
    let junk = dir.path().join("junk.log");
    std::fs::write(&junk, "this is not a log\n").unwrap();
    let q = dir.path().join("quarantine.log");
    let out = common::trawl(&[
        "cat",
        "-f",
        "json",
        "--quarantine",
        q.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("broken.log.gz: stopped reading"), "{err}");
    assert!(err.contains("junk.log:1: unknown format"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.matches("a.example").count() >= 2,
        "good file and the readable part"
    );
    assert!(
        text.matches("host").count() > 1000,
        "rows before the cut are kept"
    );
    let kept = std::fs::read_to_string(&q).unwrap();
    assert!(
        kept.contains("junk.log\t1\tunknown format") && kept.contains("this is not a log"),
        "{kept}"
    );
    // The quarantine is itself a Zeek log trawl reads.
    let back = common::trawl(&["cat", "-f", "json", q.to_str().unwrap()]);
    assert!(String::from_utf8(back.stdout)
        .unwrap()
        .contains("\"_path\":\"trawl_quarantine\""));
}

#[test]
fn dnsmasq_sample_gives_dns_and_dhcp_records() {
    let sample = common::repo().join("samples/dnsmasq/dnsmasq.log");
    let out = common::trawl(&["cat", "-f", "json", sample.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"_path\":\"dns\"") && text.contains("\"_path\":\"dhcp\""));
    assert!(text.contains("000webhostapp.com"));
}

#[test]
fn since_and_type_choose_rotated_files_by_name() {
    let samples = common::repo().join("samples/zeek");
    let all = common::trawl(&["cat", "-f", "json", "-t", "dns", samples.to_str().unwrap()]);
    let late = common::trawl(&[
        "cat",
        "-f",
        "json",
        "-t",
        "dns",
        "--since",
        "2025-11-20T10:30",
        samples.to_str().unwrap(),
    ]);
    let (a, b) = (all.stdout.len(), late.stdout.len());
    assert!(b > 0 && b < a, "{b} < {a}");
    let err = String::from_utf8(late.stderr).unwrap();
    assert!(err.contains("2 files"), "{err}");
}
