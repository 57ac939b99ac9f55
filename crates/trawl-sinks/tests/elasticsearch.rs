//! ElasticsearchSink against a `_bulk` endpoint that answers like Elasticsearch: a 503 for the
//! first request, then items failing with 429/503 once and 400 for good.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use trawl_sinks::{Auth, ElasticsearchConfig, ElasticsearchSink, Secret};
use trawl_stream::{Sink, StreamError};

use common::*;

#[derive(Default)]
struct Es {
    requests: usize,
    /// uids per request, in order.
    batches: Vec<Vec<String>>,
    /// uid → times stored.
    stored: HashMap<String, usize>,
    indices: HashSet<String>,
    flaked: HashSet<String>,
}

const POISON: [&str; 2] = ["C3", "C7"];
const FLAKY: [&str; 3] = ["C2", "C5", "C8"];

async fn bulk(
    State(es): State<Arc<Mutex<Es>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("ApiKey c2VjcmV0") {
        let e = json!({"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401});
        return (StatusCode::UNAUTHORIZED, e.to_string());
    }
    assert_eq!(headers.get("content-type").unwrap(), "application/x-ndjson");
    let mut es = es.lock().unwrap();
    es.requests += 1;
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.ends_with('\n'), "bulk bodies end with a newline");
    let lines: Vec<&str> = text.lines().collect();
    let uids: Vec<String> = lines
        .chunks(2)
        .map(|p| {
            let doc: Value = serde_json::from_str(p[1]).unwrap();
            doc["uid"].as_str().unwrap().to_string()
        })
        .collect();
    es.batches.push(uids);
    if es.requests == 1 {
        let e = json!({"error":{"type":"unavailable_shards_exception"},"status":503});
        return (StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    let mut items = Vec::new();
    let mut errors = false;
    for pair in lines.chunks(2) {
        let action: Value = serde_json::from_str(pair[0]).unwrap();
        let index = action["index"]["_index"].as_str().unwrap().to_string();
        let doc: Value = serde_json::from_str(pair[1]).unwrap();
        assert_eq!(doc["_path"], "dns");
        assert!(doc["@timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T00:00:"));
        let uid = doc["uid"].as_str().unwrap().to_string();
        let item = if POISON.contains(&uid.as_str()) {
            json!({"_index":index,"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [trans_id]"}})
        } else if FLAKY.contains(&uid.as_str()) && es.flaked.insert(uid.clone()) {
            let status = if uid == "C5" { 503 } else { 429 };
            json!({"_index":index,"status":status,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}})
        } else {
            *es.stored.entry(uid).or_default() += 1;
            es.indices.insert(index.clone());
            json!({"_index":index,"_id":"x","result":"created","status":201})
        };
        errors |= item["status"] != 201;
        items.push(json!({ "index": item }));
    }
    (
        StatusCode::OK,
        json!({"took":3,"errors":errors,"items":items}).to_string(),
    )
}

async fn start() -> (String, Arc<Mutex<Es>>) {
    let es = Arc::new(Mutex::new(Es::default()));
    let app = Router::new()
        .route("/_bulk", post(bulk))
        .with_state(es.clone());
    let addr = serve(app, "127.0.0.1:0".parse().unwrap()).await;
    (format!("http://{addr}/"), es)
}

#[tokio::test]
async fn only_failed_items_are_retried_and_poisoned_ones_dead_lettered() {
    let (url, es) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead/es.ndjson");
    let mut cfg = ElasticsearchConfig::new(url);
    cfg.auth = Auth::ApiKey(Secret::new("c2VjcmV0"));
    cfg.http = quick();
    cfg.http.max_batch = Some(4);
    cfg.http.dead_letter = Some(dead.clone());
    let mut sink = ElasticsearchSink::new(cfg, None).unwrap();
    let events: Vec<_> = (0..10).map(dns).collect();
    sink.write(&events).await.unwrap();
    sink.flush().await.unwrap();

    let es = es.lock().unwrap();
    for n in 0..10 {
        let uid = format!("C{n}");
        let want = usize::from(!POISON.contains(&uid.as_str()));
        assert_eq!(es.stored.get(&uid).copied().unwrap_or(0), want, "{uid}");
    }
    assert_eq!(
        es.indices.iter().collect::<Vec<_>>(),
        vec!["zeek-dns-2026.11.20"]
    );
    let b: Vec<Vec<&str>> = es
        .batches
        .iter()
        .map(|b| b.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        b,
        vec![
            vec!["C0", "C1", "C2", "C3"], // 503: the whole request again
            vec!["C0", "C1", "C2", "C3"],
            vec!["C2"], // only the 429 item
            vec!["C4", "C5", "C6", "C7"],
            vec!["C5"],
            vec!["C8", "C9"],
            vec!["C8"],
        ]
    );

    assert_eq!(sink.dead_letters(), 2);
    let lines: Vec<Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (line, uid) in lines.iter().zip(POISON) {
        assert_eq!(line["sink"], "elasticsearch");
        assert!(line["reason"]
            .as_str()
            .unwrap()
            .contains("mapper_parsing_exception"));
        assert_eq!(line["record"]["doc"]["uid"], uid);
        assert_eq!(line["record"]["index"], "zeek-dns-2026.11.20");
    }
}

#[tokio::test]
async fn wrong_credentials_are_fatal() {
    let (url, es) = start().await;
    let mut cfg = ElasticsearchConfig::new(url);
    cfg.auth = Auth::Basic {
        user: "elastic".into(),
        password: Secret::new("nope"),
    };
    cfg.http = quick();
    let mut sink = ElasticsearchSink::new(cfg, None).unwrap();
    let err = sink.write(&[dns(1)]).await.unwrap_err();
    assert!(
        matches!(err, StreamError::Fatal(ref m) if m.contains("401")),
        "{err}"
    );
    assert!(!err.to_string().contains("nope"));
    assert!(es.lock().unwrap().stored.is_empty());
}

#[tokio::test]
async fn without_a_dead_letter_file_a_poisoned_doc_stops_the_pipeline() {
    let (url, es) = start().await;
    let mut cfg = ElasticsearchConfig::new(url);
    cfg.auth = Auth::ApiKey(Secret::new("c2VjcmV0"));
    cfg.http = quick();
    let mut sink = ElasticsearchSink::new(cfg, None).unwrap();
    es.lock().unwrap().requests = 1; // no 503 this time
    let err = sink.write(&[dns(3)]).await.unwrap_err();
    assert!(
        matches!(err, StreamError::Fatal(ref m) if m.contains("dead_letter")),
        "{err}"
    );
}
