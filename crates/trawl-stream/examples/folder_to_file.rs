//! Measures the folder source → file sink path without enrichment:
//! `cargo run --release -p trawl-stream --example folder_to_file -- IN_FOLDER OUT_FOLDER`
//! (reads every file once, writes TSV rows back with their header blocks).

use std::sync::Arc;
use std::time::Instant;

use trawl_stream::files::{FileSink, FileSinkConfig};
use trawl_stream::folder::{FolderConfig, FolderSource, Mode};
use trawl_stream::{Metrics, Pipeline, Shutdown};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = &args[..] else {
        return Err("usage: folder_to_file IN_FOLDER OUT_FOLDER".into());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let summary = rt.block_on(async {
        let metrics = Arc::new(Metrics::default());
        let mut c = FolderConfig::new(input);
        c.mode = Mode::Once;
        let mut out = FileSinkConfig::new(output);
        out.truncate = true;
        Pipeline::new(metrics.clone())
            .source(Box::new(FolderSource::new(c, &metrics)?))
            .sink(Box::new(FileSink::new(out)?))
            .run(Shutdown::default())
            .await
    })?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} records in {secs:.2} s: {:.0} records/s",
        summary.records,
        summary.records as f64 / secs
    );
    Ok(())
}
