//! Against a real broker (scripts/services/kafka.sh starts tansu and sets
//! TRAWL_KAFKA_BROKERS): consumption through a pipeline with committed offsets, two members of
//! one group sharing partitions while one restarts, and the sink's round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::config::FromClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use trawl_kafka::{
    create_topics, KafkaSink, KafkaSinkConfig, KafkaSource, KafkaSourceConfig, StartOffset,
    TopicFormat, TsvSchema,
};
use trawl_stream::{Event, Metrics, Pipeline, Shutdown, Sink, StreamError};
use trawl_zeek::{Record, Scalar, Value, ZeekType};

fn brokers() -> Option<String> {
    // RUST_LOG=librdkafka=debug,trawl_kafka=debug shows group joins and commits.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let b = std::env::var("TRAWL_KAFKA_BROKERS")
        .ok()
        .filter(|b| !b.is_empty());
    if b.is_none() {
        println!("skipped: TRAWL_KAFKA_BROKERS unset");
    }
    b
}

/// A topic or group name no other test run uses.
fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("trawl-{what}-{}-{nanos}", std::process::id())
}

/// Keeps every record written, in order: its `uid`, log type and Zeek JSON.
#[derive(Clone, Default)]
struct MemSink(Arc<Mutex<Vec<(String, String, String)>>>);

impl MemSink {
    fn uids(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(u, ..)| u.clone())
            .collect()
    }
    fn records(&self) -> Vec<(String, String, String)> {
        self.0.lock().unwrap().clone()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

#[async_trait]
impl Sink for MemSink {
    fn name(&self) -> &str {
        "memory"
    }
    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        let mut v = self.0.lock().unwrap();
        for e in events {
            let uid = match e.get("uid") {
                Some(Value::Str(s)) => String::from_utf8_lossy(&s).into_owned(),
                other => format!("{other:?}"),
            };
            let mut json = Vec::new();
            e.to_record().write_json(&mut json);
            let json = String::from_utf8_lossy(&json).into_owned();
            v.push((uid, e.log_type().to_string(), json));
        }
        Ok(())
    }
}

fn source_config(brokers: &str, topic: &str, group: &str) -> KafkaSourceConfig {
    let mut c = KafkaSourceConfig::new(brokers, vec![topic.to_string()], group);
    if let Ok(debug) = std::env::var("TRAWL_KAFKA_DEBUG") {
        c.properties.push(("debug".into(), debug));
    }
    c.start_offset = StartOffset::Earliest;
    c.session_timeout = Duration::from_secs(6);
    c.max_batch = 20;
    c.linger = Duration::from_millis(50);
    c.lag_interval = Duration::from_millis(500);
    c
}

/// Runs a source into `sink` until `shutdown` is triggered.
fn spawn_pipeline(
    config: KafkaSourceConfig,
    metrics: Arc<Metrics>,
    sink: MemSink,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<Result<u64, StreamError>> {
    tokio::spawn(async move {
        let source = KafkaSource::new(config, metrics.clone())?;
        let p = Pipeline::new(metrics)
            .source(Box::new(source))
            .sink(Box::new(sink));
        Ok(p.run(shutdown).await?.records)
    })
}

async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn producer(brokers: &str) -> FutureProducer {
    FutureProducer::from_config(
        ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("linger.ms", "5"),
    )
    .unwrap()
}

/// Sends `payloads` round-robin over `partitions` and waits for every delivery.
async fn produce(p: &FutureProducer, topic: &str, partitions: i32, payloads: &[String]) {
    let mut futures = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        let r = FutureRecord::<(), _>::to(topic)
            .payload(payload.as_bytes())
            .partition(i as i32 % partitions);
        futures.push(p.send_result(r).map_err(|(e, _)| e).unwrap());
    }
    for f in futures {
        f.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
}

fn dns_json(uid: &str, i: usize) -> String {
    if i % 2 == 0 {
        format!(
            r#"{{"_path":"dns","ts":1700000000.{i:06},"uid":"{uid}","query":"q{i}.example.com"}}"#
        )
    } else {
        format!(r#"{{"dns":{{"ts":1700000000.{i:06},"uid":"{uid}","query":"q{i}.example.com"}}}}"#)
    }
}

fn counter(metrics: &Metrics, line_start: &str) -> u64 {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumes_every_format_and_commits_offsets() {
    let Some(brokers) = brokers() else { return };
    let topic = unique("formats");
    let group = unique("formats-group");
    create_topics(&brokers, &[(&topic, 3)], 1).await.unwrap();
    let mut payloads: Vec<String> = (0..240).map(|i| dns_json(&format!("C{i}"), i)).collect();
    // Headerless TSV rows, read with the topic's schema; then messages that hold no record.
    payloads.extend((240..269).map(|i| format!("1700000000.5\tC{i}\tq{i}.example.com")));
    // A value that is not its type: the record is kept, the problem counted.
    payloads.push("notatime\tC269\tq269.example.com".into());
    payloads.extend(["not a record".to_string(), "{\"broken\":".into(), "".into()]);
    produce(&producer(&brokers), &topic, 3, &payloads).await;

    let mut config = source_config(&brokers, &topic, &group);
    config.topic_formats.insert(
        topic.clone(),
        TopicFormat {
            log_type: None,
            tsv: Some(TsvSchema::new("dns", "ts\tuid\tquery", None).unwrap()),
        },
    );
    let metrics = Arc::new(Metrics::default());
    let sink = MemSink::default();
    let shutdown = Shutdown::default();
    let run = spawn_pipeline(
        config.clone(),
        metrics.clone(),
        sink.clone(),
        shutdown.clone(),
    );
    wait_for("270 records", 60, || sink.len() >= 270).await;
    // Committed up to the end: the lag gauges of all three partitions come down to 0.
    wait_for("lag 0", 20, || {
        let r = metrics.render();
        let lags: Vec<&str> = r
            .lines()
            .filter(|l| l.starts_with("trawl_kafka_lag{"))
            .collect();
        lags.len() == 3 && lags.iter().all(|l| l.ends_with(" 0"))
    })
    .await;
    shutdown.trigger();
    let read = run.await.unwrap().unwrap();
    assert!(read >= 270, "{read}");

    let mut uids = sink.uids();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 270, "every record once at least");
    assert!(sink.records().iter().all(|(_, t, _)| t == "dns"));
    let bad = counter(&metrics, "trawl_kafka_bad_messages_total{");
    assert_eq!(bad, 3, "{}", metrics.render());
    // Counted where `trawl run`'s summary looks: the 3 bad messages and the bad value.
    let problems = counter(&metrics, "trawl_source_errors_total{");
    assert_eq!(problems, 4, "{}", metrics.render());

    // A second member of the same group starts where the first committed: only new data.
    produce(&producer(&brokers), &topic, 3, &[dns_json("Cnew", 0)]).await;
    let sink2 = MemSink::default();
    let shutdown2 = Shutdown::default();
    let run2 = spawn_pipeline(config, metrics.clone(), sink2.clone(), shutdown2.clone());
    wait_for("the new record", 60, || sink2.len() >= 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    shutdown2.trigger();
    run2.await.unwrap().unwrap();
    assert_eq!(sink2.uids(), ["Cnew"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_share_partitions_while_one_restarts() {
    let Some(brokers) = brokers() else { return };
    let topic = unique("group");
    let group = unique("group-group");
    let partitions = 4;
    create_topics(&brokers, &[(&topic, partitions)], 1)
        .await
        .unwrap();
    let config = source_config(&brokers, &topic, &group);
    let total = 3000;

    // Records keep coming while the members come and go.
    let feeder = {
        let (brokers, topic) = (brokers.clone(), topic.clone());
        tokio::spawn(async move {
            let p = producer(&brokers);
            for round in 0..30 {
                let payloads: Vec<String> = (0..total / 30)
                    .map(|i| {
                        let n = round * (total / 30) + i;
                        dns_json(&format!("C{n}"), n)
                    })
                    .collect();
                produce(&p, &topic, partitions, &payloads).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let metrics = Arc::new(Metrics::default());
    let (a, b1, b2) = (MemSink::default(), MemSink::default(), MemSink::default());
    let stop_a = Shutdown::default();
    let run_a = spawn_pipeline(config.clone(), metrics.clone(), a.clone(), stop_a.clone());
    let stop_b = Shutdown::default();
    let run_b = spawn_pipeline(config.clone(), metrics.clone(), b1.clone(), stop_b.clone());
    wait_for("both members reading", 60, || a.len() > 0 && b1.len() > 0).await;
    stop_b.trigger();
    run_b.await.unwrap().unwrap();
    let seen_a = a.len();
    wait_for("the survivor taking over", 60, || a.len() > seen_a + 200).await;
    let stop_b2 = Shutdown::default();
    let run_b2 = spawn_pipeline(config, metrics.clone(), b2.clone(), stop_b2.clone());
    feeder.await.unwrap();
    let all = || {
        let mut u: Vec<String> = [&a, &b1, &b2].iter().flat_map(|s| s.uids()).collect();
        u.sort();
        u.dedup();
        u.len()
    };
    wait_for("every record", 120, || all() >= total).await;
    // The survivor may have read everything before the rebalance gave the restarted member
    // its partitions: keep producing (bounded) until it reads some too.
    let p = producer(&brokers);
    let mut extra = 0;
    let t = std::time::Instant::now();
    while b2.len() == 0 && t.elapsed() < Duration::from_secs(60) {
        // One record a partition, whichever the restarted member owns.
        let more: Vec<String> = (0..partitions as usize)
            .map(|k| {
                let n = total + extra + k;
                dns_json(&format!("C{n}"), n)
            })
            .collect();
        produce(&p, &topic, partitions, &more).await;
        extra += more.len();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(b2.len() > 0, "the restarted member got partitions back");
    let total = total + extra;
    wait_for("every record", 60, || all() >= total).await;
    stop_a.trigger();
    stop_b2.trigger();
    run_a.await.unwrap().unwrap();
    run_b2.await.unwrap().unwrap();

    let mut count: HashMap<String, usize> = HashMap::new();
    for s in [&a, &b1, &b2] {
        for u in s.uids() {
            *count.entry(u).or_default() += 1;
        }
    }
    assert_eq!(count.len(), total);
    let extra: usize = count.values().map(|c| c - 1).sum();
    // Only batches not yet committed when their partitions moved come twice: at most one in
    // flight per member and partition for each of the three rebalances.
    let bound = 3 * 2 * partitions as usize * 20;
    println!(
        "two members: {total} records, a={} b1={} b2={}, {extra} read twice (bound {bound})",
        a.len(),
        b1.len(),
        b2.len()
    );
    assert!(extra <= bound, "{extra} duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_round_trip() {
    let Some(brokers) = brokers() else { return };
    let suffix = unique("rt");
    let template = format!("{suffix}-{{log_type}}");
    let topic = format!("{suffix}-dns");
    create_topics(&brokers, &[(&topic, 2)], 1).await.unwrap();
    let metrics = Arc::new(Metrics::default());
    let mut cfg = KafkaSinkConfig::new(&brokers, &template);
    cfg.tag_json = true;
    cfg.key_field = Some("uid".into());
    let mut sink = KafkaSink::new(cfg, metrics.clone()).unwrap();
    let events: Vec<Event> = (0..500)
        .map(|i| {
            let mut r = Record::new("dns");
            r.push(
                "ts",
                ZeekType::single(Scalar::Time),
                Value::Time(1_700_000_000_000_000_000 + i),
            );
            r.push(
                "uid",
                ZeekType::single(Scalar::String),
                Value::Str(format!("C{i}").into_bytes().into()),
            );
            let mut e = Event::record(r);
            e.add(
                "phish_score",
                ZeekType::single(Scalar::Double),
                Value::Double(0.25),
            );
            e
        })
        .collect();
    sink.write(&events).await.unwrap();
    sink.flush().await.unwrap();

    let mem = MemSink::default();
    let shutdown = Shutdown::default();
    let run = spawn_pipeline(
        source_config(&brokers, &topic, &unique("rt-group")),
        metrics,
        mem.clone(),
        shutdown.clone(),
    );
    wait_for("500 records back", 60, || mem.len() >= 500).await;
    shutdown.trigger();
    run.await.unwrap().unwrap();
    let mut uids = mem.uids();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 500);
    for (uid, log_type, json) in mem.records() {
        assert_eq!(log_type, "dns");
        assert!(
            json.contains(&format!(r#""uid":"{uid}","phish_score":0.25"#)),
            "{json}"
        );
    }
}
