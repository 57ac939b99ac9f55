//! A sink writing events to files under an output folder, one output file per input file
//! ([`Event::origin`]), in the input's format by default.
//!
//! - Zeek TSV rows are written back as their raw line with the added fields appended, under a
//!   header block whose `#fields`/`#types` declare the added columns (types from
//!   [`trawl_zeek::Field::ty`]), so zeek-cut and Zeek's own readers take the output. A header
//!   block is written again when the input's block or the set of added fields changes; events
//!   lacking some added field of the block get it unset.
//! - Records (JSON, dnsmasq) become Zeek JSON lines, or Zeek TSV with [`OutputFormat::Tsv`].
//! - [`OutputFormat::Json`] writes everything as Zeek JSON lines.
//!
//! Compressed inputs are written uncompressed, their `.gz`/`.zst` suffix dropped (so followed
//! output can be appended to and read while written). Output files are appended to (a resumed
//! run continues them) unless [`FileSinkConfig::truncate`] is set.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use trawl_zeek::write::ZeekTsvWriter;
use trawl_zeek::{Header, Value, ZeekType};

use crate::{Body, Event, Sink, StreamError};

/// How events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// TSV rows stay TSV (raw line + added fields); records become Zeek JSON lines.
    #[default]
    Native,
    /// Everything as Zeek TSV (records through a widening header block).
    Tsv,
    /// Everything as Zeek JSON lines.
    Json,
}

/// A raw-TSV block: the input's header and the added columns declared after its own.
type Block = (Arc<Header>, Vec<(String, ZeekType)>);

/// Formats events into a byte buffer, keeping the header state of one output stream.
pub struct Formatter {
    format: OutputFormat,
    /// The raw-TSV block written last: its input header and added columns.
    block: Option<Block>,
    records: ZeekTsvWriter,
    records_open: bool,
    slots: Vec<Option<usize>>,
}

impl Formatter {
    /// A formatter with no block written yet.
    pub fn new(format: OutputFormat) -> Self {
        Formatter {
            format,
            block: None,
            records: ZeekTsvWriter::new(now_stamp()),
            records_open: false,
            slots: Vec::new(),
        }
    }

    /// Forgets what was written, so the next TSV event starts with a header block.
    pub fn reset(&mut self) {
        self.block = None;
        self.records.reset();
        self.records_open = false;
    }

    /// Appends one event (and a header block first when needed) to `out`.
    pub fn write(&mut self, e: &Event, out: &mut Vec<u8>) {
        match (&e.body, self.format) {
            (Body::Tsv { header, line }, OutputFormat::Native | OutputFormat::Tsv) => {
                self.tsv_row(header, line, &e.extra, out)
            }
            (Body::Record(_), OutputFormat::Tsv) => {
                if self.block.take().is_some() {
                    self.records.reset();
                }
                self.records_open = true;
                self.records.write(&e.to_record(), out);
            }
            _ => {
                e.to_record().write_json(out);
                out.push(b'\n');
            }
        }
    }

    /// Ends the open TSV block with `#close`.
    pub fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((h, _)) = self.block.take() {
            out.extend_from_slice(&h.prefix);
            out.extend_from_slice(b"close");
            out.extend_from_slice(&h.separator);
            out.extend_from_slice(now_stamp().as_bytes());
            out.push(b'\n');
        }
        if self.records_open {
            self.records.close(out);
            self.records.reset();
            self.records_open = false;
        }
    }

    fn tsv_row(
        &mut self,
        header: &Arc<Header>,
        line: &[u8],
        extra: &[trawl_zeek::Field<'static>],
        out: &mut Vec<u8>,
    ) {
        // Usually every row of a block gets the same added fields in the same order: check
        // that first, the general case only when it fails.
        let fits = match &self.block {
            Some((h, cols)) => {
                same_block(h, header)
                    && (aligned(extra, cols)
                        || (extra.len() <= cols.len()
                            && extra.iter().all(|f| cols.iter().any(|(n, _)| *n == f.name))))
            }
            None => false,
        };
        if !fits {
            let mut cols = match self.block.take() {
                Some((h, cols)) if same_block(&h, header) => cols,
                _ => Vec::new(),
            };
            for f in extra {
                if !cols.iter().any(|(n, _)| *n == f.name) {
                    cols.push((f.name.to_string(), f.ty));
                }
            }
            if self.records_open {
                self.records.close(out);
                self.records.reset();
                self.records_open = false;
            }
            write_header(header, &cols, out);
            self.block = Some((header.clone(), cols));
        }
        let Some((h, cols)) = &self.block else {
            return;
        };
        out.extend_from_slice(line);
        let m = h.markers();
        if aligned(extra, cols) {
            for f in extra {
                out.extend_from_slice(&h.separator);
                f.value.write_tsv(out, &h.separator, &m);
            }
        } else {
            self.slots.clear();
            self.slots.extend(
                cols.iter()
                    .map(|(n, _)| extra.iter().position(|f| f.name == *n)),
            );
            for slot in &self.slots {
                out.extend_from_slice(&h.separator);
                match slot {
                    Some(i) => extra[*i].value.write_tsv(out, &h.separator, &m),
                    None => Value::Unset.write_tsv(out, &h.separator, &m),
                }
            }
        }
        out.push(b'\n');
    }
}

/// Whether an event's added fields are the block's added columns, in order.
fn aligned(extra: &[trawl_zeek::Field<'static>], cols: &[(String, ZeekType)]) -> bool {
    extra.len() == cols.len()
        && extra
            .iter()
            .zip(cols.iter())
            .all(|(f, (n, _))| f.name == *n)
}

/// Whether two header blocks describe the same columns and markers (`#open` aside).
fn same_block(a: &Arc<Header>, b: &Arc<Header>) -> bool {
    Arc::ptr_eq(a, b)
        || (a.fields == b.fields
            && a.type_names == b.type_names
            && a.separator == b.separator
            && a.set_separator == b.set_separator
            && a.empty_field == b.empty_field
            && a.unset_field == b.unset_field
            && a.path == b.path
            && a.prefix == b.prefix)
}

/// Writes the input's header block with the added columns declared after its own.
fn write_header(h: &Header, cols: &[(String, ZeekType)], out: &mut Vec<u8>) {
    let sep = &h.separator;
    out.extend_from_slice(&h.prefix);
    out.extend_from_slice(b"separator ");
    trawl_zeek::escape::escape_all_into(out, sep);
    out.push(b'\n');
    let directive = |out: &mut Vec<u8>, name: &[u8]| {
        out.extend_from_slice(&h.prefix);
        out.extend_from_slice(name);
        out.extend_from_slice(sep);
    };
    directive(out, b"set_separator");
    trawl_zeek::escape::escape_into(out, &h.set_separator, &[sep]);
    out.push(b'\n');
    directive(out, b"empty_field");
    trawl_zeek::escape::escape_into(out, &h.empty_field, &[sep]);
    out.push(b'\n');
    directive(out, b"unset_field");
    trawl_zeek::escape::escape_into(out, &h.unset_field, &[sep]);
    out.push(b'\n');
    if let Some(p) = &h.path {
        directive(out, b"path");
        out.extend_from_slice(p.as_bytes());
        out.push(b'\n');
    }
    directive(out, b"open");
    out.extend_from_slice(h.open.clone().unwrap_or_else(now_stamp).as_bytes());
    out.push(b'\n');
    directive(out, b"fields");
    let names = h.fields.iter().map(String::as_str);
    join(out, sep, names.chain(cols.iter().map(|(n, _)| n.as_str())));
    out.push(b'\n');
    directive(out, b"types");
    let own: Vec<String> = (0..h.fields.len())
        .map(|i| match h.type_names.get(i) {
            Some(t) => t.clone(),
            None => h.type_of(i).to_string(),
        })
        .collect();
    let added = cols.iter().map(|(_, t)| t.to_string());
    let all: Vec<String> = own.into_iter().chain(added).collect();
    join(out, sep, all.iter().map(String::as_str));
    out.push(b'\n');
}

fn join<'a>(out: &mut Vec<u8>, sep: &[u8], items: impl Iterator<Item = &'a str>) {
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(s.as_bytes());
    }
}

/// Zeek's `#open`/`#close` stamp for now.
fn now_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    trawl_zeek::time::format_open_stamp(secs)
}

/// Settings of a [`FileSink`].
#[derive(Debug, Clone)]
pub struct FileSinkConfig {
    /// The output folder; created when missing.
    pub dir: PathBuf,
    pub format: OutputFormat,
    /// `fsync` every file written to before a write returns (else the data is handed to the
    /// OS, which survives a crash of trawl but not of the machine).
    pub fsync: bool,
    /// Empty each output file when this run first opens it (else append).
    pub truncate: bool,
    /// Most output files kept open; the least recently used is closed beyond that.
    pub max_open: usize,
}

impl FileSinkConfig {
    /// Defaults: native format, no fsync, append, 64 open files.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileSinkConfig {
            dir: dir.into(),
            format: OutputFormat::Native,
            fsync: false,
            truncate: false,
            max_open: 64,
        }
    }
}

/// Buffered bytes are written out beyond this, and at the end of every batch.
const FLUSH_AT: usize = 1 << 20;

struct Output {
    path: PathBuf,
    file: Option<File>,
    buf: Vec<u8>,
    fmt: Formatter,
    used: u64,
    touched: bool,
}

/// Writes events to files under a folder, mirroring their origin; see the module docs.
pub struct FileSink {
    name: String,
    config: FileSinkConfig,
    outputs: Vec<Output>,
    by_name: HashMap<Arc<str>, usize>,
    last: Option<(Arc<str>, usize)>,
    tick: u64,
}

impl FileSink {
    /// A sink writing under `config.dir` (created when missing).
    pub fn new(config: FileSinkConfig) -> Result<FileSink, StreamError> {
        fs::create_dir_all(&config.dir)?;
        Ok(FileSink {
            name: format!("files:{}", config.dir.display()),
            config,
            outputs: Vec::new(),
            by_name: HashMap::new(),
            last: None,
            tick: 0,
        })
    }

    /// The output file of an event: its origin with any compression suffix dropped, kept
    /// inside the folder; `<log type>.log` for events without an origin.
    fn target(&self, e: &Event) -> PathBuf {
        let rel = match &e.origin {
            Some(o) => {
                let clean: PathBuf = Path::new(&**o)
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                let name = clean.to_string_lossy().into_owned();
                let name = name
                    .strip_suffix(".gz")
                    .or_else(|| name.strip_suffix(".zst"))
                    .unwrap_or(&name)
                    .to_string();
                if name.is_empty() {
                    format!("{}.log", e.log_type())
                } else {
                    name
                }
            }
            None => format!("{}.log", e.log_type()),
        };
        self.config.dir.join(rel)
    }

    fn output(&mut self, e: &Event) -> usize {
        let key: Arc<str> = match &e.origin {
            Some(o) => o.clone(),
            None => format!("\0{}", e.log_type()).into(),
        };
        if let Some((k, i)) = &self.last {
            if Arc::ptr_eq(k, &key) || **k == *key {
                return *i;
            }
        }
        let i = match self.by_name.get(&key) {
            Some(i) => *i,
            None => {
                let path = self.target(e);
                let i = self.outputs.len();
                self.outputs.push(Output {
                    path,
                    file: None,
                    buf: Vec::new(),
                    fmt: Formatter::new(self.config.format),
                    used: 0,
                    touched: false,
                });
                self.by_name.insert(key.clone(), i);
                i
            }
        };
        self.last = Some((key, i));
        i
    }

    /// Writes out the buffer of output `i`, opening its file when needed.
    fn drain(&mut self, i: usize) -> Result<(), StreamError> {
        if self.outputs[i].buf.is_empty() {
            return Ok(());
        }
        if self.outputs[i].file.is_none() {
            self.close_idle()?;
            let o = &mut self.outputs[i];
            if let Some(dir) = o.path.parent() {
                fs::create_dir_all(dir)?;
            }
            let mut opts = OpenOptions::new();
            opts.create(true);
            if self.config.truncate && !o.touched {
                opts.write(true).truncate(true);
            } else {
                opts.append(true);
            }
            let file = opts
                .open(&o.path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", o.path.display())))?;
            if self.config.truncate {
                // Later opens of this run (after an idle close) append.
                o.touched = true;
            }
            o.file = Some(file);
        }
        let o = &mut self.outputs[i];
        let r = match &mut o.file {
            Some(f) => f.write_all(&o.buf),
            None => Ok(()),
        };
        o.buf.clear();
        if let Err(e) = r {
            // Part of it may be written: start a fresh header block on the retry.
            o.fmt.reset();
            return Err(std::io::Error::new(e.kind(), format!("{}: {e}", o.path.display())).into());
        }
        Ok(())
    }

    /// Closes the least recently used files beyond the open-file limit.
    fn close_idle(&mut self) -> Result<(), StreamError> {
        let open = self.outputs.iter().filter(|o| o.file.is_some()).count();
        if open < self.config.max_open.max(1) {
            return Ok(());
        }
        let lru = self
            .outputs
            .iter_mut()
            .filter(|o| o.file.is_some())
            .min_by_key(|o| o.used);
        if let Some(o) = lru {
            if let Some(f) = o.file.take() {
                if self.config.fsync {
                    f.sync_data()?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        self.tick += 1;
        let mut written = Vec::new();
        for e in events {
            let i = self.output(e);
            let o = &mut self.outputs[i];
            if o.used != self.tick {
                o.used = self.tick;
                written.push(i);
            }
            o.fmt.write(e, &mut o.buf);
            if o.buf.len() >= FLUSH_AT {
                self.drain(i)?;
            }
        }
        for &i in &written {
            self.drain(i)?;
        }
        if self.config.fsync {
            for &i in &written {
                if let Some(f) = &self.outputs[i].file {
                    f.sync_data()?;
                }
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        for i in 0..self.outputs.len() {
            let o = &mut self.outputs[i];
            o.fmt.close(&mut o.buf);
            self.drain(i)?;
            if let Some(f) = self.outputs[i].file.take() {
                if self.config.fsync {
                    f.sync_data()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_zeek::Scalar;

    fn header() -> Arc<Header> {
        let mut h = Header {
            path: Some("dns".into()),
            ..Header::default()
        };
        h.apply(trawl_zeek::header::Directive::Fields, b"ts\tquery");
        h.apply(trawl_zeek::header::Directive::Types, b"time\tstring");
        Arc::new(h)
    }

    #[test]
    fn added_columns_widen_the_block_and_missing_ones_are_unset() {
        let h = header();
        let mut f = Formatter::new(OutputFormat::Native);
        let mut out = Vec::new();
        let mut a = Event::tsv(h.clone(), b"1.0\ta.com".to_vec());
        a.add(
            "phish_score",
            ZeekType::single(Scalar::Double),
            Value::Double(0.5),
        );
        f.write(&a, &mut out);
        f.write(&Event::tsv(h.clone(), b"2.0\tb.com".to_vec()), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("#fields").count(), 1, "{text}");
        assert!(text.contains("#fields\tts\tquery\tphish_score\n#types\ttime\tstring\tdouble\n"));
        assert!(
            text.ends_with("1.0\ta.com\t0.500000\n2.0\tb.com\t-\n"),
            "{text}"
        );
    }
}
