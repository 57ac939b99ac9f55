//! Elasticsearch `_bulk` and Splunk HEC sinks against in-process endpoints that answer as the
//! services do (no errors): records/s and this process's CPU per record, endpoint included.
//! The records are a Zeek log read as `trawl run` reads it (raw TSV rows).
//!
//!   cargo run --release -p trawl-sinks --example http_sinks -- dns.log [batch=10000]

use std::sync::Arc;
use std::time::Instant;

use axum::routing::post;
use axum::Router;
use trawl_sinks::{ElasticsearchConfig, ElasticsearchSink, Secret, SplunkHecConfig, SplunkHecSink};
use trawl_stream::{Event, Input, InputsSource, Metrics, Sink, Source};

async fn time(name: &str, sink: &mut dyn Sink, batches: &[Vec<Event>]) {
    let n: usize = batches.iter().map(Vec::len).sum();
    let (start, cpu) = (Instant::now(), trawl_stream::metrics::process_cpu_seconds());
    for b in batches {
        sink.write(b).await.expect("write");
    }
    sink.flush().await.expect("flush");
    let (wall, cpu) = (
        start.elapsed().as_secs_f64(),
        trawl_stream::metrics::process_cpu_seconds() - cpu,
    );
    println!(
        "{name}: {n} records in {wall:.2} s = {:.0} records/s; CPU {cpu:.2} s = {:.1} us a record (endpoint included)",
        n as f64 / wall,
        cpu * 1e6 / n as f64
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("give a Zeek TSV log")?;
    let batch: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let metrics = Metrics::default();
    let input = Input {
        label: path.clone(),
        reader: Box::new(std::fs::File::open(&path)?),
        log_type: None,
        modified: 0,
    };
    let mut source = InputsSource::new(vec![input], batch, &metrics);
    let mut batches = Vec::new();
    while let Some(b) = source.next_batch().await? {
        batches.push(b.events);
    }

    // Endpoints that accept everything, reading each body whole as a server would.
    let app = Router::new()
        .route(
            "/_bulk",
            post(|body: axum::body::Bytes| async move {
                std::hint::black_box(body.len());
                r#"{"errors":false,"items":[]}"#
            }),
        )
        .route(
            "/services/collector/event",
            post(|body: axum::body::Bytes| async move {
                std::hint::black_box(body.len());
                r#"{"text":"Success","code":0}"#
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let m = Arc::new(Metrics::default());
    let mut es = ElasticsearchSink::new(
        ElasticsearchConfig::new(format!("http://{addr}/")),
        Some(&m),
    )?;
    time("elasticsearch _bulk", &mut es, &batches).await;
    let mut hec = SplunkHecSink::new(
        SplunkHecConfig::new(format!("http://{addr}"), Secret::new("t")),
        Some(&m),
    )?;
    time("splunk hec", &mut hec, &batches).await;
    Ok(())
}
