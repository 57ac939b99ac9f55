//! SplunkHecSink against a collector that answers like HEC: token checks, ackIds, and acks
//! reported false before true; and the disk spool while the collector is down.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use trawl_sinks::{Secret, SplunkHecConfig, SplunkHecSink, SpoolOptions};
use trawl_stream::{Sink, StreamError};

use common::*;

#[derive(Default)]
struct Hec {
    events: Vec<Value>,
    next_ack: u64,
    /// ackId → times polled.
    polls: HashMap<u64, u32>,
    channels: Vec<String>,
}

type S = Arc<Mutex<Hec>>;

fn check_token(h: &HeaderMap) -> Result<(), (StatusCode, String)> {
    match h.get("authorization").and_then(|v| v.to_str().ok()) {
        None => Err((
            StatusCode::UNAUTHORIZED,
            json!({"text":"Token is required","code":2}).to_string(),
        )),
        Some("Splunk 11111111-2222") => Ok(()),
        Some(_) => Err((
            StatusCode::FORBIDDEN,
            json!({"text":"Invalid token","code":4}).to_string(),
        )),
    }
}

fn channel(h: &HeaderMap, q: &HashMap<String, String>) -> Option<String> {
    h.get("x-splunk-request-channel")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .or_else(|| q.get("channel").cloned())
}

async fn event(
    State(s): State<S>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if let Err(e) = check_token(&h) {
        return e;
    }
    let mut s = s.lock().unwrap();
    // Concatenated JSON objects, not an array.
    for v in serde_json::Deserializer::from_slice(&body).into_iter::<Value>() {
        match v {
            Ok(v) if v.get("event").is_some() => s.events.push(v),
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    json!({"text":"Invalid data format","code":6}).to_string(),
                )
            }
        }
    }
    match channel(&h, &q) {
        Some(ch) => {
            s.channels.push(ch);
            s.next_ack += 1;
            let id = s.next_ack;
            (
                StatusCode::OK,
                json!({"text":"Success","code":0,"ackId":id}).to_string(),
            )
        }
        None => (
            StatusCode::OK,
            json!({"text":"Success","code":0}).to_string(),
        ),
    }
}

async fn ack(
    State(s): State<S>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if let Err(e) = check_token(&h) {
        return e;
    }
    if channel(&h, &q).is_none() {
        return (
            StatusCode::BAD_REQUEST,
            json!({"text":"Data channel is missing","code":10}).to_string(),
        );
    }
    let req: Value = serde_json::from_slice(&body).unwrap();
    let mut s = s.lock().unwrap();
    let mut acks = serde_json::Map::new();
    for id in req["acks"].as_array().unwrap() {
        let id = id.as_u64().unwrap();
        let n = s.polls.entry(id).or_default();
        *n += 1;
        // Indexed only from the second poll on.
        acks.insert(id.to_string(), json!(*n >= 2));
    }
    (StatusCode::OK, json!({ "acks": acks }).to_string())
}

async fn start(addr: SocketAddr) -> (String, S) {
    let s = S::default();
    let app = Router::new()
        .route("/services/collector/event", post(event))
        .route("/services/collector/ack", post(ack))
        .with_state(s.clone());
    let addr = serve(app, addr).await;
    (format!("http://{addr}"), s)
}

fn config(url: String, token: &str) -> SplunkHecConfig {
    let mut c = SplunkHecConfig::new(url, Secret::new(token));
    c.http = quick();
    c.ack_poll = std::time::Duration::from_millis(20);
    c
}

#[tokio::test]
async fn write_returns_after_the_indexers_acknowledged() {
    let (url, hec) = start("127.0.0.1:0".parse().unwrap()).await;
    let mut c = config(url, "11111111-2222");
    c.ack = true;
    c.index = Some("zeek".into());
    c.http.max_batch = Some(2);
    let mut sink = SplunkHecSink::new(c, None).unwrap();
    sink.write(&(0..5).map(dns).collect::<Vec<_>>())
        .await
        .unwrap();
    let s = hec.lock().unwrap();
    // Three requests, each polled until acknowledged (false, then true) before returning.
    assert_eq!(s.polls.len(), 3);
    assert!(s.polls.values().all(|&n| n == 2), "{:?}", s.polls);
    assert_eq!(s.channels.len(), 3);
    assert!(s
        .channels
        .iter()
        .all(|c| *c == s.channels[0] && c.len() == 36));
    assert_eq!(s.events.len(), 5);
    let e = &s.events[1];
    assert_eq!(e["sourcetype"], "zeek:dns");
    assert_eq!(e["index"], "zeek");
    assert_eq!(e["time"].as_f64().unwrap(), 1_795_132_801.000_25);
    assert_eq!(e["event"]["uid"], "C1");
    assert_eq!(e["event"]["id.orig_h"], "10.0.0.1");
    assert_eq!(e["event"]["answers"], json!(["1.2.3.4", "a\"b"]));
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_fatal_and_never_shown() {
    let (url, _) = start("127.0.0.1:0".parse().unwrap()).await;
    let mut sink = SplunkHecSink::new(config(url, "wrong-token"), None).unwrap();
    let err = sink.write(&[dns(0)]).await.unwrap_err();
    assert!(
        matches!(err, StreamError::Fatal(ref m) if m.contains("403")),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-token"));
    assert!(!format!("{:?}", config(String::new(), "wrong-token")).contains("wrong-token"));
}

#[tokio::test]
async fn records_are_spooled_while_the_collector_is_down_and_sent_once_it_is_back() {
    let addr = dead_port();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(format!("http://{addr}"), "11111111-2222");
    c.http.retry.budget = std::time::Duration::from_millis(300);
    c.http.spool = Some(SpoolOptions::new(dir.path().join("spool")));
    let mut sink = SplunkHecSink::new(c, None).unwrap();
    // Down: the first batch waits out the retry budget, later ones queue behind it at once.
    for b in 0..3 {
        let batch: Vec<_> = (b * 4..b * 4 + 4).map(dns).collect();
        let t = std::time::Instant::now();
        sink.write(&batch).await.unwrap();
        if b > 0 {
            assert!(t.elapsed() < std::time::Duration::from_millis(250));
        }
    }
    assert_eq!(sink.spooled_files(), 3);
    let files = std::fs::read_dir(dir.path().join("spool")).unwrap().count();
    assert_eq!(files, 3);

    // Back up: the spool drains in order, each file deleted once accepted.
    let (_, hec) = start(addr).await;
    eventually(|| sink.spooled_files() == 0).await;
    sink.write(&[dns(12)]).await.unwrap();
    sink.flush().await.unwrap();
    let uids: Vec<String> = hec
        .lock()
        .unwrap()
        .events
        .iter()
        .map(|e| e["event"]["uid"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..13).map(|n| format!("C{n}")).collect();
    assert_eq!(uids, want);
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        0
    );
}
