//! Tests of conditions: parsing, errors, evaluation over Zeek's types.

use std::borrow::Cow;

use trawl_zeek::{Record, Value, ZeekType};

use crate::Condition;

fn dns() -> Record<'static> {
    let mut r = Record::new("dns");
    let t = |s: &str| ZeekType::parse(s);
    r.push("ts", t("time"), Value::Time(1_712_912_400_500_000_000));
    r.push(
        "id.orig_h",
        t("addr"),
        Value::Addr("10.1.2.3".parse().unwrap()),
    );
    r.push(
        "id.resp_h",
        t("addr"),
        Value::Addr("2001:db8::53".parse().unwrap()),
    );
    r.push("id.resp_p", t("port"), Value::Port(53));
    r.push(
        "query",
        t("string"),
        Value::Str(Cow::Borrowed(b"login.paypal.com.secure-verify.xyz")),
    );
    r.push("qtype_name", t("string"), Value::Str(Cow::Borrowed(b"A")));
    r.push("rtt", t("interval"), Value::Interval(0.25));
    r.push("rcode", t("count"), Value::Count(0));
    r.push("AA", t("bool"), Value::Bool(false));
    r.push(
        "answers",
        t("vector[string]"),
        Value::List(vec![
            Value::Str(Cow::Borrowed(b"198.51.100.7")),
            Value::Str(Cow::Borrowed(b"x.example")),
        ]),
    );
    r.push(
        "TTLs",
        t("vector[interval]"),
        Value::List(vec![Value::Interval(60.0)]),
    );
    r.push("rejected", t("bool"), Value::Unset);
    r
}

fn holds(src: &str) -> bool {
    match Condition::parse(src) {
        Ok(c) => c.matches(&dns()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn comparisons_over_zeek_types() {
    assert!(holds("qtype_name == \"A\""));
    assert!(holds("qtype_name != 'AAAA'"));
    assert!(holds("id.orig_h in 10.0.0.0/8"));
    assert!(!holds("id.orig_h in 192.168.0.0/16"));
    assert!(holds("id.orig_h in [192.168.0.0/16, 10.1.0.0/16]"));
    assert!(holds("id.resp_h in 2001:db8::/32"));
    assert!(holds("id.orig_h == 10.1.2.3 and id.orig_h < 10.1.2.4"));
    assert!(holds("id.orig_h == \"10.1.2.3\""));
    assert!(holds("id.orig_h < id.resp_h"), "v4 sorts before v6");
    assert!(holds("ts >= 2024-04-12T09:00 and ts < 2024-04-12T09:01"));
    assert!(holds("ts > \"2024-04-12\""));
    assert!(holds("rtt < 1s and rtt > 100ms and rtt == 0.25"));
    assert!(holds("id.resp_p == 53 and id.resp_p in [53, 5353]"));
    assert!(holds("rcode == 0 and rcode < 1.5 and AA == F and not AA"));
    assert!(holds("TTLs contains 1m"));
    assert!(holds(
        "len(answers) == 2 and answers contains \"x.example\""
    ));
    assert!(holds("\"x.example\" in answers"));
    assert!(
        holds("answers in 198.51.100.0/24"),
        "an element of the set is in the subnet"
    );
}

#[test]
fn missing_and_unset_fields_compare_false() {
    assert!(!holds("nope == 1"));
    assert!(!holds("nope != 1"));
    assert!(!holds("rejected != T"));
    assert!(!holds("rejected == T"));
    assert!(holds(
        "not exists nope and not exists rejected and exists query"
    ));
    assert!(!holds("nope in [1, 2]"));
    assert!(
        !holds("nope not in [1, 2]"),
        "an unset value is in nothing and out of nothing"
    );
}

#[test]
fn text_and_regex() {
    assert!(holds(
        "query contains \"paypal\" and query endswith \".xyz\" and query startswith \"login.\""
    ));
    assert!(holds("query =~ /paypal\\.com\\./"));
    assert!(holds("query !~ /^www\\./"));
    assert!(holds("lower(qtype_name) == \"a\""));
    assert!(holds("qtype_name in [\"A\", \"AAAA\"]"));
    assert!(!holds("qtype_name not in [\"A\", \"AAAA\"]"));
}

#[test]
fn functions() {
    assert!(holds("registered_domain(query) == \"secure-verify.xyz\""));
    assert!(holds(
        "tld(query) == \"xyz\" and subdomain(query) == \"login.paypal.com\""
    ));
    assert!(holds("entropy(query) > 3 and len(query) == 34"));
    assert!(holds(
        "cidr_match(10.0.0.0/8, id.orig_h) and cidr_match(id.orig_h, \"10.0.0.0/8\")"
    ));
    assert!(holds(
        "version_lt(\"1.7.0_10\", \"1.7.0_11\") and not version_lt(\"10.2\", \"9.9\")"
    ));
    assert!(holds("strftime(\"%H:%M\", ts) == \"09:00\""));
    assert!(holds("bucket(ts, 1h) == 2024-04-12T09:00"));
    assert!(holds(
        "score(query).phish > 0.5 and phish_score(query) == score(query).phish"
    ));
    assert!(
        holds("phish_score > 0.5"),
        "dns without a phish_score column is scored on query"
    );
    assert!(holds("dga_score == dga_score(query)"));
    assert!(holds("ts - 1h < ts and rcode + 2 == 2 and rtt * 4 == 1s"));
}

#[test]
fn fields_listed_once() {
    let c =
        Condition::parse("query == \"a\" or (query contains \"b\" and id.orig_h in 10.0.0.0/8)")
            .unwrap();
    assert_eq!(c.fields(), ["query", "id.orig_h"]);
}

fn err(src: &str) -> String {
    Condition::parse(src).unwrap_err().to_string()
}

#[test]
fn errors_have_carets_and_hints() {
    assert_eq!(
        err("query = \"x\""),
        "`=` does not compare\n  query = \"x\"\n        ^\nhint: use == to compare: query == \"example.com\""
    );
    assert_eq!(
        err("registerd_domain(query) == \"x\""),
        "unknown function `registerd_domain`\n  registerd_domain(query) == \"x\"\n  ^^^^^^^^^^^^^^^^\nhint: did you mean `registered_domain`?"
    );
    let e = err("query like \"x\"");
    assert!(e.starts_with("unexpected `like` after the expression\n  query like \"x\"\n        ^^^^\nhint: unknown operator `like`; comparisons: =="), "{e}");
    assert_errors_say(
        err,
        &[
            ("query =~ /a(/", &["invalid regex", "^^^^"]),
            (
                "len(a, b) > 1",
                &["len() takes 1 argument, not 2", "usage: len"],
            ),
            ("score(query) > 0.5", &["score(query).phish"]),
            (
                "qtype_name == ",
                &["expected a value, found the end of the query"],
            ),
            ("x andd y", &["did you mean `and`?"]),
        ],
    );
}

/// The error `err` gives for each source holds every one of its phrases.
fn assert_errors_say(err: fn(&str) -> String, cases: &[(&str, &[&str])]) {
    for (src, says) in cases {
        let e = err(src);
        assert!(says.iter().all(|s| e.contains(s)), "{e}");
    }
}

#[test]
fn condition_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Condition>();
}

#[test]
fn scorer_loads() {
    assert!(
        crate::functions::scores("login.paypal.com.secure-verify.xyz").is_some(),
        "{:?}",
        trawl_score::Model::builtin().err()
    );
}

mod pipeline {
    use std::borrow::Cow;

    use trawl_zeek::{Record, Value, ZeekType};

    use crate::ops::run_records;
    use crate::parse_query;

    fn rec(path: &str, ts: i64, host: &str, q: &str, bytes: u64) -> Record<'static> {
        let mut r = Record::new(path.to_string());
        r.push(
            "ts",
            ZeekType::parse("time"),
            Value::Time(ts * 1_000_000_000),
        );
        r.push(
            "id.orig_h",
            ZeekType::parse("addr"),
            Value::Addr(host.parse().unwrap()),
        );
        r.push(
            "query",
            ZeekType::parse("string"),
            Value::Str(Cow::Owned(q.as_bytes().to_vec())),
        );
        r.push("bytes", ZeekType::parse("count"), Value::Count(bytes));
        r
    }

    fn data() -> Vec<Record<'static>> {
        vec![
            rec("dns", 1_712_912_400, "10.0.0.1", "a.example.com", 10),
            rec("dns", 1_712_912_500, "10.0.0.2", "b.example.com", 20),
            rec("dns", 1_712_916_100, "10.0.0.1", "a.example.com", 30),
            rec("dns", 1_712_916_200, "192.168.1.9", "x.test.org", 40),
            rec("http", 1_712_912_450, "10.0.0.1", "a.example.com", 50),
        ]
    }

    /// The result as text: one line a row, `name=value` separated by spaces.
    fn run(q: &str) -> String {
        let q = parse_query(q).unwrap_or_else(|e| panic!("{e}"));
        run_records(&q, data())
            .iter()
            .map(|r| {
                r.fields
                    .iter()
                    .map(|f| {
                        let mut v = Vec::new();
                        f.value.write_text(&mut v);
                        format!("{}={}", f.name, String::from_utf8_lossy(&v))
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Many records of several log types, times out of order (conn is written at the end of
    /// a connection), some without a time.
    fn many() -> Vec<Record<'static>> {
        (0..5000u64)
            .map(|i| {
                let path = ["conn", "dns", "http"][(i % 3) as usize];
                let ts = 1_712_912_400 + ((i * 7919) % 3600) as i64;
                let mut r = rec(path, ts, "10.0.0.1", &format!("n{}.example.com", i % 97), i);
                if i % 50 == 0 {
                    r.fields.retain(|f| f.name != "ts");
                }
                r
            })
            .collect()
    }

    #[test]
    fn timeline_and_sort_with_a_tiny_memory_budget_equal_the_in_memory_result() {
        use crate::ops::{run_records_with, Options};
        for q in [
            "conn,dns,http | timeline",
            "* | sort query desc, bytes",
            "dns,http | sort ts | head 100",
        ] {
            let q = parse_query(q).unwrap_or_else(|e| panic!("{e}"));
            let mem = run_records(&q, many());
            let tiny = Options {
                sort_memory: 8 << 10,
                ..Options::default()
            };
            let disk = run_records_with(&q, many(), &tiny);
            assert!(!mem.is_empty());
            assert_eq!(mem, disk, "{q:?}");
            assert!(tiny.notes.list().is_empty(), "{:?}", tiny.notes.list());
        }
        // The timeline is in time order (records without a time last), stable.
        let q = parse_query("conn,dns,http | timeline").unwrap();
        let out = run_records(&q, many());
        let ts: Vec<Option<i64>> = out
            .iter()
            .map(|r| match r.get("ts") {
                Some(Value::Time(t)) => Some(*t),
                _ => None,
            })
            .collect();
        let mut sorted = ts.clone();
        sorted.sort_by_key(|t| t.unwrap_or(i64::MAX));
        assert_eq!(ts, sorted);
    }

    #[test]
    fn dcount_estimates_past_its_cap_and_values_are_cut() {
        use crate::ops::{run_records_with, Options};
        let recs = || {
            (0..30_000u64).map(|i| {
                rec(
                    "dns",
                    1_712_912_400,
                    "10.0.0.1",
                    &format!("n{i}.example.com"),
                    i % 7,
                )
            })
        };
        let q =
            parse_query("dns | summarize d = dcount(query), v = values(bytes), w = values(query)")
                .unwrap();
        let o = Options {
            dcount_exact: 1000,
            values_max: 5,
            ..Options::default()
        };
        let out = run_records_with(&q, recs(), &o);
        let d = match out[0].get("d") {
            Some(Value::Count(c)) => *c as f64,
            other => panic!("{other:?}"),
        };
        assert!((d - 30_000.0).abs() / 30_000.0 < 0.03, "estimate {d}");
        let text = |n: &str| {
            let mut v = Vec::new();
            out[0].get(n).unwrap().write_text(&mut v);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(text("v"), "0,1,2,3,4,...");
        assert!(text("w").ends_with(",..."), "{}", text("w"));
        let notes = o.notes.list();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(
            notes[0].starts_with("d: over 1000 distinct values in 1 group"),
            "{notes:?}"
        );
        // Under the caps: exact, complete, no notes.
        let o = Options::default();
        let out = run_records_with(&q, recs(), &o);
        assert_eq!(out[0].get("d"), Some(&Value::Count(30_000)));
        assert_eq!(text_of(out[0].get("v").unwrap()), "0,1,2,3,4,5,6");
        // values(query) holds 30,000 names: cut at 100 by default.
        let notes = o.notes.list();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("w: more than 100 values"), "{notes:?}");
    }

    fn text_of(v: &Value) -> String {
        let mut out = Vec::new();
        v.write_text(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn types_where_cut_head_tail() {
        assert_eq!(
            run("dns | where id.orig_h in 10.0.0.0/8 | cut query, bytes | head 2"),
            "query=a.example.com bytes=10\nquery=b.example.com bytes=20"
        );
        assert_eq!(run("dns | tail 1 | cut query"), "query=x.test.org");
        assert_eq!(run("http | cut query, nope"), "query=a.example.com nope=-");
        assert_eq!(run("dns,http | count"), "count=5");
        assert_eq!(run("* | count"), "count=5");
        assert_eq!(run("dns | where bytes > 100 | count"), "count=0");
    }

    #[test]
    fn rename_put_sort_uniq() {
        assert_eq!(
            run("dns | put rd = registered_domain(query), kb = bytes / 10 | rename query as q | sort kb desc | cut q, rd, kb | head 2"),
            "q=x.test.org rd=test.org kb=4.000000\nq=a.example.com rd=example.com kb=3.000000"
        );
        assert_eq!(
            run("dns | uniq query | sort query"),
            "query=a.example.com\nquery=b.example.com\nquery=x.test.org"
        );
        assert_eq!(run("dns | sort id.orig_h desc, ts | cut id.orig_h, bytes"), "id.orig_h=192.168.1.9 bytes=40\nid.orig_h=10.0.0.2 bytes=20\nid.orig_h=10.0.0.1 bytes=10\nid.orig_h=10.0.0.1 bytes=30");
    }

    #[test]
    fn top_rare_summarize() {
        assert_eq!(
            run("dns | top 2 query"),
            "query=a.example.com count=2\nquery=b.example.com count=1"
        );
        assert_eq!(run("dns | rare 1 query"), "query=b.example.com count=1");
        assert_eq!(
            run("dns | top 5 id.orig_h, query | head 1"),
            "id.orig_h=10.0.0.1 query=a.example.com count=2"
        );
        assert_eq!(
            run("dns | summarize count(), total = sum(bytes), avg(bytes), min(bytes), max(ts), dcount(query), values(id.orig_h) by rd = registered_domain(query)"),
            "rd=example.com count=3 total=60 avg_bytes=20.000000 min_bytes=10 max_ts=1712916100.000000 dcount_query=2 values_id.orig_h=10.0.0.1,10.0.0.2\n\
             rd=test.org count=1 total=40 avg_bytes=40.000000 min_bytes=40 max_ts=1712916200.000000 dcount_query=1 values_id.orig_h=192.168.1.9"
        );
        assert_eq!(
            run("dns | count by bucket(ts, 1h)"),
            "ts=1712912400.000000 count=2\nts=1712916000.000000 count=2"
        );
        assert_eq!(
            run("dns | count by tld(query) | sort count desc"),
            "tld=com count=3\ntld=org count=1"
        );
    }

    #[test]
    fn timeline_merges_types_by_time() {
        assert_eq!(
            run("dns,http | where id.orig_h == 10.0.0.1 | timeline"),
            "ts=1712912400.000000 log=dns uid=- id.orig_h=10.0.0.1 id.resp_h=- info=query=a.example.com bytes=10\n\
             ts=1712912450.000000 log=http uid=- id.orig_h=10.0.0.1 id.resp_h=- info=query=a.example.com bytes=50\n\
             ts=1712916100.000000 log=dns uid=- id.orig_h=10.0.0.1 id.resp_h=- info=query=a.example.com bytes=30"
        );
    }

    fn err(q: &str) -> String {
        parse_query(q).unwrap_err().to_string()
    }

    #[test]
    fn pipeline_errors() {
        assert_eq!(
            err("dns | wher query == \"x\""),
            "unknown operator `wher`\n  dns | wher query == \"x\"\n        ^^^^\nhint: did you mean `where`? Operators: where, cut, rename, put, sort, head, tail, uniq, count, top, rare, summarize, timeline"
        );
        assert_eq!(
            err("dns | summarize cnt() by query"),
            "unknown aggregate `cnt`\n  dns | summarize cnt() by query\n                  ^^^\nhint: did you mean `count()`? Aggregates: count() sum() avg() min() max() dcount() values()"
        );
        super::assert_errors_say(
            err,
            &[
                ("dns | top", &["`top` needs the fields to count"]),
                (
                    "dns | where query == \"a\" query",
                    &["unexpected `query` after the expression"],
                ),
                ("dns | head 10 20", &["unexpected `20` after the operator"]),
                ("dns | rename a b", &["expected `as`"]),
                ("dns | summarize sum() by x", &["sum() needs an argument"]),
                ("dns | where ts > 2024-13-45", &["is not a time"]),
            ],
        );
    }
}

#[test]
fn cut_scores_dns_without_score_columns() {
    let q = crate::parse_query("dns | cut query, dga_score, nope").unwrap();
    let out = crate::ops::run_records(&q, vec![dns()]);
    assert!(
        matches!(out[0].get("dga_score"), Some(Value::Double(_))),
        "{:?}",
        out[0]
    );
    assert_eq!(out[0].get("nope"), Some(&Value::Unset));
}

#[test]
fn a_star_among_the_types_means_every_type() {
    use crate::parse_query;
    for src in ["* | count", "*,dns | count", "dns, * | count", "*"] {
        let q = parse_query(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(q.types.is_empty(), "{src}: {:?}", q.types);
    }
    assert_eq!(
        parse_query("conn,dns | count").unwrap().types,
        ["conn", "dns"]
    );
    assert!(parse_query("*,| count").is_err());
}
