//! ClickHouseSink against a real ClickHouse (scripts/services/clickhouse.sh starts one and
//! sets TRAWL_CLICKHOUSE_URL).

mod common;

use std::borrow::Cow;

use serde_json::{json, Value};
use trawl_sinks::{ClickHouseConfig, ClickHouseSink, SpoolOptions};
use trawl_stream::Sink;
use trawl_zeek::{Record, Scalar, ZeekType};

use common::*;

fn server() -> Option<String> {
    let url = std::env::var("TRAWL_CLICKHOUSE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!("skipped: TRAWL_CLICKHOUSE_URL unset");
    }
    url
}

/// A sink to `url`, into `db`, with the tests' short timeouts.
fn config(url: &str, db: &str) -> ClickHouseConfig {
    let mut cfg = ClickHouseConfig::new(url.to_string());
    cfg.database = db.to_string();
    cfg.http = quick();
    cfg
}

/// A database of the test's own, so runs and tests do not see each other's rows.
fn database(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("trawl_{test}_{}_{nanos}", std::process::id())
}

/// Removes a test's database, once it is done.
async fn drop_database(url: &str, db: &str) {
    select(url, &format!("DROP DATABASE {db}")).await;
}

async fn select(url: &str, sql: &str) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .post(url)
        .body(format!("{sql} FORMAT JSONEachRow"))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{sql}: {text}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn rows_land_typed_in_a_table_per_log_type() {
    let Some(url) = server() else { return };
    let db = database("rows");
    let mut sink = ClickHouseSink::new(config(&url, &db), None).unwrap();

    sink.write(&[dns(0), dns(1)]).await.unwrap();
    // A later record brings a new field: the column is added.
    let mut e = dns(2);
    e.add(
        "phish_score",
        ZeekType::single(Scalar::Double),
        trawl_zeek::Value::Double(0.875),
    );
    let mut x509 = Record::new("x509");
    x509.push(
        "ts",
        ZeekType::parse("time"),
        trawl_zeek::Value::Time(1_795_132_800_000_000_000),
    );
    x509.push(
        "san.dns",
        ZeekType::parse("vector[string]"),
        trawl_zeek::Value::List(vec![trawl_zeek::Value::Str(Cow::Borrowed(b"a.example"))]),
    );
    x509.push(
        "san.ip",
        ZeekType::parse("vector[addr]"),
        trawl_zeek::Value::Unset,
    );
    x509.push(
        "basic_constraints.ca",
        ZeekType::parse("bool"),
        trawl_zeek::Value::Bool(true),
    );
    x509.push(
        "certificate.version",
        ZeekType::parse("count"),
        trawl_zeek::Value::Invalid(Cow::Borrowed(b"v3")),
    );
    sink.write(&[e, trawl_stream::Event::record(x509)])
        .await
        .unwrap();

    let rows = select(
        &url,
        &format!("SELECT *, _time FROM {db}.zeek_dns ORDER BY ts"),
    )
    .await;
    assert_eq!(rows.len(), 3);
    let r = &rows[1];
    assert_eq!(r["ts"], json!(1_795_132_801.000_25));
    assert_eq!(r["_time"], "2026-11-20 00:00:01");
    assert_eq!(r["uid"], "C1");
    assert_eq!(r["id.orig_h"], "10.0.0.1");
    assert_eq!(r["id.resp_h"], "2001:db8::1");
    assert_eq!(r["id.orig_p"], 5353);
    // ClickHouse quotes 64-bit integers in JSON output.
    assert_eq!(r["trans_id"], "1");
    assert_eq!(r["rtt"], Value::Null);
    assert_eq!(r["AA"], 0);
    assert_eq!(r["answers"], json!(["1.2.3.4", "a\"b"]));
    assert_eq!(r["TTLs"], json!([60]));
    assert_eq!(r["phish_score"], Value::Null);
    assert_eq!(rows[2]["phish_score"], json!(0.875));

    let types: Vec<Value> = select(
        &url,
        &format!(
            "SELECT name, type FROM system.columns WHERE database = '{db}' AND table = 'zeek_dns'"
        ),
    )
    .await;
    let ty = |n: &str| {
        types
            .iter()
            .find(|t| t["name"] == n)
            .map(|t| t["type"].as_str().unwrap().to_string())
    };
    assert_eq!(ty("ts").as_deref(), Some("Float64"));
    assert_eq!(ty("id.orig_h").as_deref(), Some("Nullable(String)"));
    assert_eq!(ty("trans_id").as_deref(), Some("Nullable(UInt64)"));
    assert_eq!(ty("TTLs").as_deref(), Some("Array(Float64)"));
    assert_eq!(ty("phish_score").as_deref(), Some("Nullable(Float64)"));

    let x = select(&url, &format!("SELECT * FROM {db}.zeek_x509")).await;
    assert_eq!(x.len(), 1);
    assert_eq!(x[0]["san_dns"], json!(["a.example"]));
    assert_eq!(x[0]["san_ip"], json!([]));
    assert_eq!(x[0]["basic_constraints.ca"], 1);
    assert_eq!(x[0]["certificate.version"], Value::Null);
    assert_eq!(x[0]["_invalid"], r#"{"certificate.version":"v3"}"#);

    // A second sink (another process) finds the tables as they are.
    let mut again = ClickHouseSink::new(config(&url, &db), None).unwrap();
    again.write(&[dns(3)]).await.unwrap();
    let n = select(&url, &format!("SELECT count() AS n FROM {db}.zeek_dns")).await;
    assert_eq!(n[0]["n"], "4");
    drop_database(&url, &db).await;
}

#[tokio::test]
async fn a_table_made_by_someone_else_still_takes_rows() {
    let Some(url) = server() else { return };
    let db = database("foreign");
    select(&url, &format!("CREATE DATABASE {db}")).await;
    select(
        &url,
        &format!(
            "CREATE TABLE {db}.zeek_dns (ts Float64, `id.orig_p` String, trans_id Nullable(Int32), \
             _invalid Nullable(String)) ENGINE = MergeTree() ORDER BY ts"
        ),
    )
    .await;
    let mut sink = ClickHouseSink::new(config(&url, &db), None).unwrap();
    sink.write(&[dns(7)]).await.unwrap();
    let r = select(&url, &format!("SELECT * FROM {db}.zeek_dns")).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["id.orig_p"], "5353");
    assert_eq!(r[0]["trans_id"], 7);
    assert_eq!(r[0]["query"], "host7.example.com");
    drop_database(&url, &db).await;
}

#[tokio::test]
async fn rows_spooled_while_clickhouse_is_unreachable_arrive_once() {
    let Some(url) = server() else { return };
    let db = database("spool");
    let dir = tempfile::tempdir().unwrap();
    let spool = SpoolOptions::new(dir.path());
    let dead = format!("http://{}/", dead_port());
    let mut cfg = config(&dead, &db);
    cfg.http.retry.budget = std::time::Duration::from_millis(200);
    cfg.http.spool = Some(spool.clone());
    let mut down = ClickHouseSink::new(cfg, None).unwrap();
    down.write(&[dns(0), dns(1)]).await.unwrap();
    down.write(&[dns(2)]).await.unwrap();
    assert_eq!(down.spooled_files(), 2);
    drop(down);

    // The next run reaches ClickHouse and sends what the last one spooled, in order.
    let mut cfg = config(&url, &db);
    cfg.http.spool = Some(spool);
    let mut up = ClickHouseSink::new(cfg, None).unwrap();
    assert_eq!(up.spooled_files(), 2);
    up.write(&[dns(3)]).await.unwrap();
    up.flush().await.unwrap();
    assert_eq!(up.spooled_files(), 0);
    let r = select(&url, &format!("SELECT uid FROM {db}.zeek_dns ORDER BY ts")).await;
    let uids: Vec<&str> = r.iter().map(|r| r["uid"].as_str().unwrap()).collect();
    assert_eq!(uids, ["C0", "C1", "C2", "C3"]);
    drop_database(&url, &db).await;
}

/// Zeek TSV rows kept as read go in from their text; what ClickHouse stores must be what the
/// same rows give as records (escapes, bytes that are not UTF-8, lists, unset and empty
/// values, a value of the wrong type, a row of the wrong length).
#[tokio::test]
async fn raw_rows_land_as_their_records() {
    let Some(url) = server() else { return };
    let log = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n\
               #path\tdns\n#fields\tts\tid.orig_h\tquery\tanswers\tTTLs\ttrans_id\tAA\trtt\n\
               #types\ttime\taddr\tstring\tvector[string]\tvector[interval]\tcount\tbool\tinterval\n";
    let mut r = trawl_zeek::TsvReader::new(log.as_bytes());
    while r.next_event().unwrap().is_some() {}
    let header = std::sync::Arc::new(r.header().clone());
    let lines: [&[u8]; 6] = [
        b"1795132801.000250\t10.0.0.1\ta\\x09b\\\\c'd\ta\\x2cb,it's,-\t60.000000,1.5\t7\tT\t0.000100",
        b"1795132802.5\t2001:DB8::1\t\\xff\\xfe\xc3\xa9\t(empty)\t-\tx1\tF\t-",
        b"1795132803.0\t10.0.0.300\t(empty)\t-\t(empty)\t-\t-\t1e-5",
        b"1795132804.0\t10.0.0.4\tshort",
        b"1795132805.0\t10.0.0.5\tlong\t-\t-\t1\tT\t0.1\textra",
        b"1795132806.0\t10.0.0.6\tscored.example\ta.b\t5.0\t2\tF\t0.2",
    ];
    let events: Vec<trawl_stream::Event> = lines
        .iter()
        .map(|l| {
            let mut e = trawl_stream::Event::tsv(header.clone(), l.to_vec());
            e.add(
                "dga_score",
                ZeekType::single(Scalar::Double),
                trawl_zeek::Value::Double(0.5),
            );
            e
        })
        .collect();
    let records: Vec<trawl_stream::Event> = events
        .iter()
        .map(|e| trawl_stream::Event::record(e.to_record()))
        .collect();
    let (raw_db, rec_db) = (database("raw"), database("rec"));
    for (db, evs) in [(&raw_db, &events), (&rec_db, &records)] {
        let mut sink = ClickHouseSink::new(config(&url, db), None).unwrap();
        sink.write(evs).await.unwrap();
    }
    let all = |db: String| {
        let url = url.clone();
        async move {
            select(
                &url,
                &format!("SELECT *, hex(query) AS hq FROM {db}.zeek_dns ORDER BY ts"),
            )
            .await
        }
    };
    let (raw, rec) = (all(raw_db.clone()).await, all(rec_db.clone()).await);
    assert_eq!(raw.len(), 6);
    assert_eq!(raw, rec);
    assert_eq!(raw[0]["query"], "a\tb\\c'd");
    assert_eq!(raw[0]["answers"], json!(["a,b", "it's", ""]));
    assert_eq!(raw[1]["hq"], "FFFEC3A9");
    assert_eq!(raw[1]["id.orig_h"], "2001:db8::1");
    assert_eq!(raw[1]["_invalid"], r#"{"trans_id":"x1"}"#);
    // A string column keeps a value of the wrong type as its text, as records do.
    assert_eq!(raw[2]["id.orig_h"], "10.0.0.300");
    assert_eq!(raw[4]["_extra1"], "extra");
    drop_database(&url, &raw_db).await;
    drop_database(&url, &rec_db).await;
}
