//! Kafka → trawl pipeline → Kafka throughput: fills a topic with Zeek DNS records, then times
//! a `KafkaSource` → `KafkaSink` pipeline (tag_json out, acks=all, commits after each batch).
//!
//!   TRAWL_KAFKA_BROKERS=127.0.0.1:9092 cargo run --release -p trawl-kafka \
//!       --example kafka_to_kafka -- [records=200000] [max_batch=1000] [null]
//!
//! `null` drops the records instead of producing them, to time the source side alone. The CPU
//! this process used while the pipeline ran is reported too (the broker's is its own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::FromClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use trawl_kafka::{
    create_topics, KafkaSink, KafkaSinkConfig, KafkaSource, KafkaSourceConfig, StartOffset,
};
use trawl_stream::{Metrics, Pipeline, Shutdown, Sink, StreamError};

fn dns(i: usize) -> String {
    format!(
        r#"{{"_path":"dns","ts":{}.{:06},"uid":"C{i:017}","id.orig_h":"10.0.{}.{}","id.orig_p":{},"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","trans_id":{},"rtt":0.000412,"query":"host{}.example{}.com","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["93.184.216.{}"],"TTLs":[300.0],"rejected":false}}"#,
        1_700_000_000 + i / 1000,
        i % 1_000_000,
        (i / 256) % 256,
        i % 256,
        1024 + i % 60000,
        i % 65536,
        i % 5000,
        i % 97,
        i % 256
    )
}

/// Reads `topic` from the start to its end: the messages it holds.
fn count_messages(brokers: &str, topic: &str, partitions: i32) -> usize {
    let c: BaseConsumer = BaseConsumer::from_config(
        ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", format!("{topic}-count"))
            .set("enable.partition.eof", "true"),
    )
    .expect("client");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    let (mut n, mut ended) = (0, 0);
    while ended < partitions {
        match c.poll(Duration::from_secs(10)) {
            Some(Ok(_)) => n += 1,
            Some(Err(KafkaError::PartitionEOF(_))) => ended += 1,
            Some(Err(e)) => panic!("{e}"),
            None => break,
        }
    }
    n
}

/// librdkafka properties from an environment variable: `key=value,key=value`.
fn env_properties(var: &str) -> Vec<(String, String)> {
    std::env::var(var)
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// Drops what it is given.
struct Null;

#[async_trait::async_trait]
impl Sink for Null {
    fn name(&self) -> &str {
        "null"
    }
    async fn write(&mut self, _: &[trawl_stream::Event]) -> Result<(), StreamError> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let brokers = std::env::var("TRAWL_KAFKA_BROKERS").map_err(|_| "set TRAWL_KAFKA_BROKERS")?;
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let max_batch: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let null = args.next().as_deref() == Some("null");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let (input, output, partitions) =
        (format!("bench-in-{stamp}"), format!("bench-out-{stamp}"), 4);
    create_topics(&brokers, &[(&input, partitions), (&output, partitions)], 1).await?;

    let producer: FutureProducer = FutureProducer::from_config(
        ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("linger.ms", "20")
            .set("queue.buffering.max.messages", "1000000"),
    )?;
    let start = Instant::now();
    let mut deliveries = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n {
        let payload = dns(i);
        bytes += payload.len();
        let r = FutureRecord::<(), _>::to(&input).payload(&payload);
        deliveries.push(producer.send_result(r).map_err(|(e, _)| e)?);
    }
    for d in deliveries {
        d.await?.map_err(|(e, _)| e)?;
    }
    let fill = start.elapsed();
    println!(
        "filled {input}: {n} records, {:.1} MB in {:.2?} ({:.0} records/s)",
        bytes as f64 / 1e6,
        fill,
        n as f64 / fill.as_secs_f64()
    );

    let metrics = Arc::new(Metrics::default());
    let mut sc = KafkaSourceConfig::new(&brokers, vec![input.clone()], format!("bench-{stamp}"));
    sc.start_offset = StartOffset::Earliest;
    sc.session_timeout = Duration::from_secs(6);
    sc.max_batch = max_batch;
    // Client tuning to try, e.g. TRAWL_BENCH_CONSUMER=fetch.wait.max.ms=10 and
    // TRAWL_BENCH_PRODUCER=linger.ms=20,compression.type=lz4
    sc.properties = env_properties("TRAWL_BENCH_CONSUMER");
    let mut kc = KafkaSinkConfig::new(&brokers, &output);
    kc.tag_json = true;
    kc.properties = env_properties("TRAWL_BENCH_PRODUCER");
    let source = KafkaSource::new(sc, metrics.clone())?;
    let sink: Box<dyn Sink> = if null {
        Box::new(Null)
    } else {
        Box::new(KafkaSink::new(kc, metrics.clone())?)
    };
    let written = metrics.counter(
        "trawl_sink_records_total",
        "Records written, by sink.",
        &[("sink", sink.name())],
    );
    let shutdown = Shutdown::default();
    let run = tokio::spawn(
        Pipeline::new(metrics.clone())
            .source(Box::new(source))
            .sink(sink)
            .run(shutdown.clone()),
    );
    let start = Instant::now();
    let cpu_start = trawl_stream::metrics::process_cpu_seconds();
    // The clock includes joining the group (a few seconds with a 6 s session timeout), so the
    // steady rate is also given from the first record on.
    let mut first = None;
    while (written.get() as usize) < n {
        if first.is_none() && written.get() > 0 {
            first = Some((Instant::now(), written.get()));
        }
        if run.is_finished() {
            return Err("pipeline ended early".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total = start.elapsed();
    let steady = first.map(|(t, c)| (t.elapsed(), c));
    let cpu = trawl_stream::metrics::process_cpu_seconds() - cpu_start;
    shutdown.trigger();
    run.await??;
    let out = if null {
        0
    } else {
        count_messages(&brokers, &output, partitions)
    };
    println!(
        "kafka -> trawl -> {}: {n} records in {total:.2?} incl. group join = {:.0} records/s",
        if null { "null" } else { "kafka" },
        n as f64 / total.as_secs_f64()
    );
    if let Some((steady, c)) = steady {
        println!(
            "  from the first batch on: {} records in {steady:.2?} = {:.0} records/s (max_batch {max_batch})",
            n as u64 - c,
            (n as u64 - c) as f64 / steady.as_secs_f64()
        );
    }
    println!(
        "  trawl's CPU while it ran: {cpu:.2} s = {:.1} us a record",
        cpu * 1e6 / n as f64
    );
    println!("  {output} holds {out} messages");
    Ok(())
}
