//! Standard input and output: [`StdinSource`] reads any format `trawl-zeek` knows (gzip or
//! zstd too), [`StdoutSink`] writes like [`FileSink`](crate::files::FileSink) does.

use std::io::{self, Read, Write};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use trawl_input::Filter;

use crate::files::{Formatter, OutputFormat};
use crate::folder::{Pull, Reader};
use crate::metrics::Metrics;
use crate::{Batch, Event, Sink, Source, StreamError};

/// Writes events to standard output, in TSV (raw rows + added fields, header blocks as
/// needed) or JSON lines; see [`OutputFormat`].
pub struct StdoutSink {
    fmt: Formatter,
    buf: Vec<u8>,
}

impl StdoutSink {
    /// A sink writing `format` to standard output.
    pub fn new(format: OutputFormat) -> Self {
        StdoutSink {
            fmt: Formatter::new(format),
            buf: Vec::with_capacity(1 << 20),
        }
    }

    fn out(&mut self) -> Result<(), StreamError> {
        let mut out = io::stdout().lock();
        let r = out.write_all(&self.buf).and_then(|()| out.flush());
        self.buf.clear();
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                Err(StreamError::Fatal("standard output closed".into()))
            }
            r => Ok(r?),
        }
    }
}

#[async_trait]
impl Sink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        for e in events {
            self.fmt.write(e, &mut self.buf);
        }
        self.out()
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        self.fmt.close(&mut self.buf);
        self.out()
    }
}

/// Settings of a [`StdinSource`].
#[derive(Debug, Clone)]
pub struct StdinConfig {
    /// Most events per batch.
    pub batch_size: usize,
    /// How long a batch that is not full waits for more input before it goes.
    pub batch_wait: Duration,
    /// Log type of JSON records without `_path`.
    pub log_type: Option<String>,
}

impl Default for StdinConfig {
    fn default() -> Self {
        StdinConfig {
            batch_size: 10_000,
            batch_wait: Duration::from_millis(100),
            log_type: None,
        }
    }
}

/// Reads events from standard input until it ends. Nothing to commit: a restart cannot
/// replay a pipe.
pub struct StdinSource {
    rx: mpsc::Receiver<Vec<Event>>,
    token: u64,
}

impl StdinSource {
    /// Starts reading standard input.
    pub fn new(config: StdinConfig, metrics: &Metrics) -> Result<StdinSource, StreamError> {
        Self::from_reader(io::stdin(), config, metrics)
    }

    /// Reads `input` as if it were standard input (tests, named pipes).
    pub fn from_reader(
        input: impl Read + Send + 'static,
        config: StdinConfig,
        metrics: &Metrics,
    ) -> Result<StdinSource, StreamError> {
        let errors = metrics.counter(
            "trawl_source_errors_total",
            "Bad lines and unreadable inputs, by source.",
            &[("source", "stdin")],
        );
        let src = trawl_input::open_reader(input)
            .map_err(|e| StreamError::Io(io::Error::other(e.to_string())))?;
        let chunks = Chunks::spawn(src, config.batch_wait)?;
        let mut reader = Reader::new(
            Box::new(chunks),
            "<stdin>".into(),
            None,
            config.log_type.as_deref(),
            0,
            &Filter::default(),
            errors,
        );
        let (tx, rx) = mpsc::channel(2);
        let max = config.batch_size.max(1);
        std::thread::Builder::new()
            .name("trawl-stdin".into())
            .spawn(move || loop {
                let mut events = Vec::with_capacity(max.min(16_384));
                let state = reader.pull(&mut events, max);
                if !events.is_empty() && tx.blocking_send(events).is_err() {
                    return;
                }
                if state == Pull::Done {
                    return;
                }
            })?;
        Ok(StdinSource { rx, token: 0 })
    }
}

#[async_trait]
impl Source for StdinSource {
    fn name(&self) -> &str {
        "stdin"
    }

    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        let Some(events) = self.rx.recv().await else {
            return Ok(None);
        };
        Ok(Some(Batch::next(events, &mut self.token)))
    }

    async fn commit(&mut self, _token: u64) -> Result<(), StreamError> {
        Ok(())
    }
}

/// Input read ahead on its own thread, so a quiet pipe yields `WouldBlock` after `wait`
/// (and the events read so far go out) instead of holding a batch back.
struct Chunks {
    rx: std_mpsc::Receiver<io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    at: usize,
    wait: Duration,
    end: bool,
}

impl Chunks {
    fn spawn(mut src: Box<dyn Read + Send>, wait: Duration) -> io::Result<Chunks> {
        let (tx, rx) = std_mpsc::sync_channel(4);
        std::thread::Builder::new()
            .name("trawl-stdin-read".into())
            .spawn(move || loop {
                let mut buf = vec![0; 256 << 10];
                match src.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            })?;
        Ok(Chunks {
            rx,
            cur: Vec::new(),
            at: 0,
            wait,
            end: false,
        })
    }
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.cur.len() {
            if self.end {
                return Ok(0);
            }
            match self.rx.recv_timeout(self.wait) {
                Ok(Ok(chunk)) => {
                    self.cur = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.end = true;
                    return Err(e);
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    return Err(io::ErrorKind::WouldBlock.into())
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => self.end = true,
            }
        }
        let n = buf.len().min(self.cur.len() - self.at);
        buf[..n].copy_from_slice(&self.cur[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
