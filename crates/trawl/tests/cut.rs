//! `trawl cut` against zeek-cut's own btest baselines, and on small inline inputs.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_trawl");

/// Runs `trawl cut ARGS` with `stdin` and extra environment; returns (stdout, stderr, ok).
fn cut(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> (String, String, bool) {
    let mut cmd = Command::new(BIN);
    cmd.arg("cut").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trawl");
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// The zeek-cut test folders under `TRAWL_SHARED`, or `None` (test skipped) when unset.
fn shared() -> Option<(PathBuf, PathBuf)> {
    let Ok(root) = std::env::var("TRAWL_SHARED") else {
        println!("skipped: TRAWL_SHARED unset");
        return None;
    };
    let bt = Path::new(&root).join("corpus/zeek-zeek/testing/btest");
    Some((bt.join("Files/zeek-cut-logs"), bt.join("Baseline")))
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// zeek-cut's baselines: (baseline, flags, input logs concatenated on stdin). The btest
/// commands are not in the corpus; these are inferred from the names and contents. The -d
/// baselines were made in US Pacific time (-0800).
const BASELINES: &[(&str, &[&str], &[&str])] = &[
    ("show-header/one-1st-nocols", &["-c"], &["conn.log"]),
    ("show-header/one-all-nocols", &["-C"], &["conn.log"]),
    (
        "show-header/two-1st-withcols",
        &["-c", "uid", "ts"],
        &["conn.log", "test.log"],
    ),
    (
        "show-header/two-all-withcols",
        &["-C", "uid", "ts"],
        &["conn.log", "test.log"],
    ),
    (
        "show-header/both-c-opts-one",
        &["-C", "-c", "uid", "ts"],
        &["conn.log", "test.log"],
    ),
    (
        "show-header/both-c-opts-all",
        &["-c", "-C", "uid", "ts"],
        &["conn.log", "test.log"],
    ),
    (
        "show-header/different-col-order",
        &["-C"],
        &["conn.log", "conntimelast.log"],
    ),
    (
        "show-header/different-col-order-some",
        &["-C", "ts", "uid"],
        &["conn.log", "conntimelast.log"],
    ),
    (
        "show-header/nondefault-separator",
        &["-C", "proto", "uid"],
        &["conn.log", "conncomma.log"],
    ),
    (
        "minimal-view/both-m-c-opts-c",
        &["-m", "-c", "uid", "ts"],
        &["conn.log", "test.log"],
    ),
    (
        "not-columns/not-one-show-header",
        &["-c", "-n", "uid"],
        &["test.log"],
    ),
    ("ofs/show-header", &["-c", "-F", "."], &["conn.log"]),
    (
        "time-header/different-col-order",
        &["-C", "-d", "proto", "ts", "id.orig_h"],
        &["conn.log", "conntimelast.log"],
    ),
    (
        "time-header/different-field-separator",
        &["-C", "-d", "proto", "ts", "id.orig_h"],
        &["conn.log", "conncomma.log"],
    ),
    (
        "time-header/nondefault-separator",
        &["-C", "-d", "proto", "ts", "id.orig_h"],
        &["conncomma.log"],
    ),
    (
        "time-header/multiple-times",
        &["-C", "-d", "proto", "ts2", "ts1"],
        &["multiple-times.log"],
    ),
    (
        "time-header/ts-twice",
        &["-C", "-d", "ts", "id.orig_h", "ts"],
        &["conn.log"],
    ),
    (
        "time-header/utc-fmt",
        &[
            "-C",
            "-U",
            "%H %M %y %m %d",
            "ts",
            "uid",
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
        ],
        &["test.log"],
    ),
    (
        "time-header/missing-ts-one-file",
        &["-C", "-d", "ts", "id.orig_h"],
        &["conn.log", "onecolumn.log"],
    ),
];

#[test]
fn zeek_cut_baselines_from_stdin() {
    let Some((logs, base)) = shared() else { return };
    for (name, flags, inputs) in BASELINES {
        let mut stdin = Vec::new();
        for i in *inputs {
            stdin.extend(read(&logs.join(i)));
        }
        let want = read(&base.join(format!("tools.zeek-cut.{name}")));
        let (got, err, ok) = cut(flags, &stdin, &[("TZ", "America/Los_Angeles")]);
        assert!(ok, "{name}: {err}");
        assert_eq!(got, String::from_utf8_lossy(&want), "{name}: {err}");
    }
}

#[test]
fn zeek_cut_baselines_from_files_in_order() {
    let Some((logs, base)) = shared() else { return };
    for (name, flags, inputs) in BASELINES {
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.push("--".into());
        args.extend(inputs.iter().map(|i| logs.join(i).display().to_string()));
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let want = read(&base.join(format!("tools.zeek-cut.{name}")));
        let (got, err, ok) = cut(&args, b"", &[("TZ", "America/Los_Angeles")]);
        assert!(ok, "{name}: {err}");
        assert_eq!(got, String::from_utf8_lossy(&want), "{name}: {err}");
    }
}

const LOG: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tquery\tanswers\n#types\ttime\tstring\tvector[string]\n1329843175.736107\ta\\x09b\tx,y\n1329843179.5\t-\t(empty)\n#close\t2020\n";

#[test]
fn tsv_copies_raw_fields_and_prints_missing_columns_empty() {
    let (out, err, ok) = cut(&["answers", "nope", "query"], LOG.as_bytes(), &[]);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(out, "x,y\t\ta\\x09b\n(empty)\t\t-\n");
}

#[test]
fn short_rows_are_skipped_and_reported() {
    let input = LOG.replace("1329843179.5\t-\t(empty)", "1329843179.5\t-");
    let (out, err, _) = cut(&["answers"], input.as_bytes(), &[]);
    assert_eq!(out, "x,y\n");
    assert!(
        err.contains("<stdin>:9: skipping row: not enough fields"),
        "{err}"
    );
}

#[test]
fn unterminated_last_line_and_multibyte_separator() {
    let input = "#separator ||\n#fields||a||b\n#types||string||count\nx||1\ny||2";
    let (out, _, ok) = cut(&["b", "a"], input.as_bytes(), &[]);
    assert!(ok);
    assert_eq!(out, "1||x\n2||y\n");
    let (out, _, _) = cut(&["-F", ",", "b"], b"#fields\ta\tb\n1\t2", &[]);
    assert_eq!(out, "2\n");
}

#[test]
fn utc_and_bad_times() {
    let input = LOG.replace("1329843179.5", "1329843179");
    let (out, err, _) = cut(&["-u", "ts"], input.as_bytes(), &[]);
    assert_eq!(out, "2012-02-21T16:52:55+0000\n1329843179\n");
    assert!(err.contains("time field is not valid"), "{err}");
    let (out, _, _) = cut(&["-c", "-u", "ts"], LOG.as_bytes(), &[]);
    assert!(out.contains("#types\tstring\n"), "{out}");
    let (_, err, ok) = cut(&["-F", "ab"], b"", &[]);
    assert!(!ok && err.contains("single character"), "{err}");
}

const JSON: &str = concat!(
    r#"{"ts":1329843175.736107,"uid":"C1","id.orig_h":"10.0.0.1","query":"a\tb","answers":["x","y,z"],"AA":true,"rtt":0.5}"#,
    "\n",
    r#"{"ts":1329843179.0,"uid":"C2","query":"","answers":[],"AA":false}"#,
    "\n",
    r#"{"_path":"dns","ts":"2012-02-21T16:53:14.151526Z","uid":"C3","id":{"orig_h":"10.0.0.3"}}"#,
    "\n",
    "{\n  \"ts\": 1329843197.783443,\n  \"uid\": \"C4\"\n}\n",
    r#"{"dns": {"ts": 1329843161968, "uid": "C5", "query": "tagged"}}"#,
    "\n",
);

#[test]
fn json_in_zeek_cut_text() {
    let (out, err, ok) = cut(
        &["ts", "uid", "id.orig_h", "query", "answers", "AA", "rtt"],
        JSON.as_bytes(),
        &[],
    );
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(
        out,
        "1329843175.736107\tC1\t10.0.0.1\ta\\x09b\tx,y\\x2cz\tT\t0.500000\n\
         1329843179.000000\tC2\t-\t(empty)\t(empty)\tF\t-\n\
         1329843194.151526\tC3\t10.0.0.3\t-\t-\t-\t-\n\
         1329843197.783443\tC4\t-\t-\t-\t-\t-\n\
         1329843161.968000\tC5\t-\ttagged\t-\t-\t-\n"
    );
}

#[test]
fn json_header_and_time_conversion() {
    let first = JSON.lines().next().unwrap();
    let (out, _, _) = cut(&["-c", "-u", "uid", "ts"], first.as_bytes(), &[]);
    assert_eq!(
        out,
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tunknown\n\
         #fields\tuid\tts\n#types\tstring\tstring\nC1\t2012-02-21T16:52:55+0000\n"
    );
    let (out, _, _) = cut(
        &["-m", "-n", "rtt", "id.orig_h", "ts"],
        first.as_bytes(),
        &[],
    );
    assert_eq!(out, "uid\tquery\tanswers\tAA\nC1\ta\\x09b\tx,y\\x2cz\tT\n");
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trawl-cut-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn folders_gzip_and_file_order() {
    let d = tmpdir("folder");
    std::fs::write(d.join("dns.log"), LOG).unwrap();
    std::fs::write(d.join("dns.json"), JSON.lines().next().unwrap()).unwrap();
    let gz = Command::new("gzip")
        .arg("-k")
        .arg(d.join("dns.log"))
        .status();
    let (out, err, ok) = cut(
        &[
            "uid",
            "query",
            "-r",
            d.join("dns.json").to_str().unwrap(),
            "-r",
            d.join("dns.log").to_str().unwrap(),
        ],
        b"",
        &[],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "C1\ta\\x09b\n\ta\\x09b\n\t-\n");
    if gz.is_ok_and(|s| s.success()) {
        let (out, err, ok) = cut(
            &["query", "--", d.join("dns.log.gz").to_str().unwrap()],
            b"",
            &[],
        );
        assert!(ok, "{err}");
        assert_eq!(out, "a\\x09b\n-\n");
    }
    let (out, _, ok) = cut(&["query", "-t", "dns", "-r", d.to_str().unwrap()], b"", &[]);
    assert!(ok);
    assert!(out.contains("a\\x09b\n"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn dnsmasq_lines_are_cut_by_name() {
    let input = "Apr 12 09:00:01 host dnsmasq[123]: query[A] example.com from 10.0.0.5\n\
                 Apr 12 09:00:01 host dnsmasq[123]: reply example.com is 93.184.216.34\n";
    let (out, err, ok) = cut(&["query"], input.as_bytes(), &[]);
    assert!(ok, "{err}");
    assert_eq!(out, "example.com\n");
}

#[test]
fn closed_pipe_exits_quietly() {
    let mut big = String::from("#fields\ta\tb\n");
    for i in 0..400_000 {
        big.push_str(&format!("{i}\tvalue-{i}\n"));
    }
    let d = tmpdir("pipe");
    let f = d.join("big.log");
    std::fs::write(&f, big).unwrap();
    let mut child = Command::new(BIN)
        .args(["cut", "b", "-r", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped here: the pipe is closed like `| head` does.
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&first[..8], b"value-0\n");
    let _ = std::fs::remove_dir_all(&d);
}

/// Large plain files are cut on several threads; the result must be what one thread gives,
/// also when the log type changes mid-file and rows are short.
#[test]
fn parallel_cut_of_a_large_file_equals_the_serial_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.log");
    let mut text = String::new();
    for (block, cols) in [
        ("dns", "ts\tquery\tanswers"),
        ("conn", "ts\tuid\tquery"),
        ("dns", "query\tts"),
    ] {
        text.push_str(&format!(
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{block}\n#fields\t{cols}\n#types\ttime\tstring\tstring\n"
        ));
        for i in 0..120_000 {
            if i % 50_000 == 7 {
                text.push_str("short\n");
            } else {
                text.push_str(&format!("{i}.000001\t{block}-{i}.example\tv{}\n", i % 97));
            }
        }
        text.push_str("#close\t2026-01-01-00-00-00\n");
    }
    assert!(text.len() > 9 << 20);
    std::fs::write(&path, &text).unwrap();
    let parallel = Command::new(BIN)
        .args(["cut", "-C", "query", "ts", "-r", path.to_str().unwrap()])
        .output()
        .unwrap();
    let child = Command::new(BIN)
        .args(["cut", "-C", "query", "ts"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert_eq!(parallel.stdout.len(), child.stdout.len());
    assert!(
        parallel.stdout == child.stdout,
        "parallel output differs from serial"
    );
    // Problems name the same lines (the file name differs: <stdin> vs the path).
    let lines = |e: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(e)
            .lines()
            .filter_map(|l| l.split_once(':').map(|(_, r)| r.to_string()))
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .collect()
    };
    assert_eq!(lines(&parallel.stderr), lines(&child.stderr));
    assert!(!lines(&parallel.stderr).is_empty());
}

/// A line longer than `TRAWL_MAX_LINE` is skipped and reported at its own line number, by the
/// parallel block reader (a file) as by the line reader (a pipe), inside a block or across
/// several.
#[test]
fn lines_past_the_maximum_are_skipped_and_reported_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.log");
    let mut text =
        String::from("#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n");
    for i in 0..400_000 {
        match i {
            1_000 => text.push_str(&"a".repeat(300_000)),
            200_000 => text.push_str(&"b".repeat(3_000_000)),
            200_001 => text.push_str("short"),
            _ => text.push_str(&format!("{i}.5\tq{i}.example")),
        }
        text.push('\n');
    }
    assert!(text.len() > 9 << 20);
    std::fs::write(&path, &text).unwrap();
    let env = [("TRAWL_MAX_LINE", "100000")];
    let (serial, serial_err, _) = cut(&["query"], text.as_bytes(), &env);
    let (parallel, parallel_err, _) = cut(&["query", "-r", path.to_str().unwrap()], b"", &env);
    assert_eq!(serial.lines().count(), 400_000 - 3);
    assert!(serial == parallel, "parallel output differs from serial");
    for err in [&serial_err, &parallel_err] {
        for want in [
            ":1005: line of 300001 bytes is longer than the maximum of 100000 bytes",
            ":200005: line of 3000001 bytes is longer than the maximum of 100000 bytes",
            ":200006: skipping row",
        ] {
            assert!(err.contains(want), "{want} not in {err}");
        }
    }
}

/// Large JSON files are cut in parallel too once the columns are fixed: same bytes as a pipe.
#[test]
fn parallel_cut_of_large_json_equals_the_serial_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.json");
    let mut text = String::new();
    for i in 0..130_000 {
        text.push_str(&format!(
            "{{\"_path\":\"dns\",\"ts\":{i}.25,\"query\":\"h{i}.example\",\"answers\":[\"10.0.{}.1\",\"x\"],\"rtt\":0.5}}\n",
            i % 200
        ));
        if i == 65_000 {
            text.push_str("{\"_path\":\"dns\",\"ts\":XXXX,\"query\":\"odd\\u0041\"}\n");
        }
    }
    assert!(text.len() > 9 << 20);
    std::fs::write(&path, &text).unwrap();
    let parallel = Command::new(BIN)
        .args([
            "cut",
            "-c",
            "ts",
            "query",
            "answers",
            "-r",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let mut child = Command::new(BIN)
        .args(["cut", "-c", "ts", "query", "answers"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let serial = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert_eq!(parallel.stdout.len(), serial.stdout.len());
    assert!(
        parallel.stdout == serial.stdout,
        "parallel JSON output differs from serial"
    );
}
