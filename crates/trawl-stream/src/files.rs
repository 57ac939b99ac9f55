//! A sink writing events to files under an output folder, one output file per input file
//! ([`Event::origin`]), in the input's format by default.
//!
//! - Zeek TSV rows are written back as their raw line with the added fields appended, under a
//!   header block whose `#fields`/`#types` declare the added columns, so zeek-cut and Zeek's
//!   own readers take the output. With [`FileSinkConfig::declared`] (what `trawl run` sets
//!   from its enrichment), a block declares every field the pipeline may add from its first
//!   row, so one output file has one schema; rows lacking some get it unset (`-`). Without
//!   it, a block is written again when the set of added fields grows.
//! - A row whose length is not its header's is written padded with unset values, or cut to
//!   the header, so added columns always sit where `#fields` says; a cut row is also kept
//!   whole, verbatim under its input header, in `.trawl/quarantine/` of the output folder.
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

/// How events are written (in a configuration file: `same`, `zeek`, `json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub enum OutputFormat {
    /// TSV rows stay TSV (raw line + added fields); records become Zeek JSON lines.
    #[default]
    #[serde(rename = "same")]
    Native,
    /// Everything as Zeek TSV (records through a widening header block).
    #[serde(rename = "zeek")]
    Tsv,
    /// Everything as Zeek JSON lines.
    #[serde(rename = "json")]
    Json,
}

/// A raw-TSV block: the input's header and the added columns declared after its own.
type Block = (Arc<Header>, Vec<(String, ZeekType)>);

/// The fields a pipeline may add to the records of a log type whose own fields are given, in
/// the order it adds them (e.g. `trawl_enrich::Enricher::declared`).
#[derive(Clone)]
pub struct Declared(pub Arc<DeclaredFn>);

/// See [`Declared`]: log type and its own fields in, added fields out.
pub type DeclaredFn = dyn Fn(&str, &[String]) -> Vec<(String, ZeekType)> + Send + Sync;

impl std::fmt::Debug for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Declared")
    }
}

/// What [`Formatter::write`] did with a raw TSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written as read (or not a raw TSV row).
    Whole,
    /// Padded with unset values to its header's length.
    Padded,
    /// Cut to its header's length: values past `#fields` were not written.
    Cut,
}

/// Formats events into a byte buffer, keeping the header state of one output stream.
pub struct Formatter {
    format: OutputFormat,
    /// The raw-TSV block written last: its input header and added columns.
    block: Option<Block>,
    records: ZeekTsvWriter,
    records_open: bool,
    slots: Vec<Option<usize>>,
    declared: Option<Declared>,
    /// Rows as read, whatever their length (quarantine files).
    verbatim: bool,
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
            declared: None,
            verbatim: false,
        }
    }

    /// Declares up front what the pipeline adds (see [`Declared`]).
    pub fn with_declared(mut self, declared: Option<Declared>) -> Self {
        self.declared = declared;
        self
    }

    /// Forgets what was written, so the next TSV event starts with a header block.
    pub fn reset(&mut self) {
        self.block = None;
        self.records.reset();
        self.records_open = false;
    }

    /// Appends one event (and a header block first when needed) to `out`.
    pub fn write(&mut self, e: &Event, out: &mut Vec<u8>) -> Written {
        match (&e.body, self.format) {
            (Body::Tsv { header, line }, OutputFormat::Native | OutputFormat::Tsv) => {
                return self.tsv_row(header, line, &e.extra, out);
            }
            (Body::Record(_) | Body::Json { .. }, OutputFormat::Tsv) => {
                if self.block.take().is_some() {
                    self.records.reset();
                }
                self.records_open = true;
                self.records.write(&e.view(), out);
            }
            _ => {
                e.write_json(out);
                out.push(b'\n');
            }
        }
        Written::Whole
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
    ) -> Written {
        // Usually every row of a block gets the same added fields in the same order: check
        // that first, the general case only when it fails.
        // An added field named like one of the row's own columns replaces its value there
        // (records enriched before, read again), rather than adding a second column.
        let own = |name: &str| header.fields.iter().any(|f| f == name);
        // The common case first: the block's added columns, in order (never own names).
        let usual =
            matches!(&self.block, Some((h, cols)) if same_block(h, header) && aligned(extra, cols));
        let replaces = !usual && extra.iter().any(|f| own(&f.name));
        let fits = usual
            || match &self.block {
                Some((h, cols)) => {
                    same_block(h, header)
                        && extra
                            .iter()
                            .all(|f| own(&f.name) || cols.iter().any(|(n, _)| *n == f.name))
                }
                None => false,
            };
        if !fits {
            let mut cols = match self.block.take() {
                Some((h, cols)) if same_block(&h, header) => cols,
                _ => match &self.declared {
                    Some(d) => (d.0)(header.path.as_deref().unwrap_or("unknown"), &header.fields),
                    None => Vec::new(),
                },
            };
            for f in extra {
                if !own(&f.name) && !cols.iter().any(|(n, _)| *n == f.name) {
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
            return Written::Whole;
        };
        let m = h.markers();
        let written = if replaces {
            own_replaced(h, line, extra, &m, out)
        } else if self.verbatim {
            out.extend_from_slice(line);
            Written::Whole
        } else {
            own_columns(h, line, &m, out)
        };
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
        written
    }
}

/// Writes a raw row's own columns with the values of the added fields of the same names in
/// their place (as [`own_columns`] pads or cuts the row to the header's length).
fn own_replaced(
    h: &Header,
    line: &[u8],
    extra: &[trawl_zeek::Field<'static>],
    m: &trawl_zeek::value::Markers,
    out: &mut Vec<u8>,
) -> Written {
    let mut row = Vec::with_capacity(line.len() + 16);
    let written = own_columns(h, line, m, &mut row);
    let sep = &h.separator[..];
    for (i, raw) in trawl_zeek::header::split(&row, sep).enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        match h
            .fields
            .get(i)
            .and_then(|n| extra.iter().find(|f| f.name == *n))
        {
            Some(f) => f.value.write_tsv(out, sep, m),
            None => out.extend_from_slice(raw),
        }
    }
    written
}

/// Writes a raw row's own columns: as read when it has as many fields as `h` declares,
/// else padded with unset values or cut, so that added columns follow in their place.
fn own_columns(
    h: &Header,
    line: &[u8],
    m: &trawl_zeek::value::Markers,
    out: &mut Vec<u8>,
) -> Written {
    let want = h.fields.len();
    let sep = &h.separator[..];
    let n = match sep {
        [b] => memchr::memchr_iter(*b, line).count() + 1,
        _ => trawl_zeek::header::split(line, sep).count(),
    };
    if n == want || want == 0 {
        out.extend_from_slice(line);
        return Written::Whole;
    }
    if n < want {
        out.extend_from_slice(line);
        for _ in n..want {
            out.extend_from_slice(sep);
            Value::Unset.write_tsv(out, sep, m);
        }
        return Written::Padded;
    }
    let mut end = 0;
    for (i, f) in trawl_zeek::header::split(line, sep).take(want).enumerate() {
        end += f.len() + if i > 0 { sep.len() } else { 0 };
    }
    out.extend_from_slice(&line[..end]);
    Written::Cut
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
    /// What the pipeline adds, declared in every TSV block from its first row.
    pub declared: Option<Declared>,
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
            declared: None,
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
    /// Outputs by file: origins that map to one file (`dns.log` and `dns.log.gz`) share it,
    /// else the second would truncate what the first wrote.
    by_path: HashMap<PathBuf, usize>,
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
            by_path: HashMap::new(),
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
        self.output_for(e, key, false)
    }

    /// The quarantine file of an event's output: its rows that had to be cut, kept whole
    /// under their input header.
    fn quarantine(&mut self, e: &Event) -> usize {
        let key: Arc<str> = match &e.origin {
            Some(o) => format!("\u{1}{o}").into(),
            None => format!("\u{1}\0{}", e.log_type()).into(),
        };
        self.output_for(e, key, true)
    }

    fn output_for(&mut self, e: &Event, key: Arc<str>, quarantine: bool) -> usize {
        if let Some((k, i)) = &self.last {
            if Arc::ptr_eq(k, &key) || **k == *key {
                return *i;
            }
        }
        let i = match self.by_name.get(&key) {
            Some(i) => *i,
            None => {
                let (path, fmt) = if quarantine {
                    let rel = self.target(e);
                    let rel = rel.strip_prefix(&self.config.dir).unwrap_or(&rel);
                    let q = self.config.dir.join(".trawl").join("quarantine").join(rel);
                    let mut f = Formatter::new(OutputFormat::Native);
                    f.verbatim = true;
                    (q, f)
                } else {
                    let f = Formatter::new(self.config.format)
                        .with_declared(self.config.declared.clone());
                    (self.target(e), f)
                };
                let i = match self.by_path.get(&path) {
                    Some(i) => *i,
                    None => {
                        let i = self.outputs.len();
                        self.by_path.insert(path.clone(), i);
                        self.outputs.push(Output {
                            path,
                            file: None,
                            buf: Vec::new(),
                            fmt,
                            used: 0,
                            touched: false,
                        });
                        i
                    }
                };
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
            if o.fmt.write(e, &mut o.buf) == Written::Cut {
                let q = self.quarantine(e);
                let qo = &mut self.outputs[q];
                if qo.used != self.tick {
                    qo.used = self.tick;
                    written.push(q);
                }
                // Without the added fields: the row as read, under its own header.
                let raw = Event {
                    body: e.body.clone(),
                    extra: Vec::new(),
                    origin: None,
                };
                qo.fmt.write(&raw, &mut qo.buf);
                self.last = None;
            }
            if self.outputs[i].buf.len() >= FLUSH_AT {
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

    fn scored(line: &[u8], score: Option<f64>) -> Event {
        let mut e = Event::tsv(header(), line.to_vec());
        if let Some(v) = score {
            e.add(
                "phish_score",
                ZeekType::single(Scalar::Double),
                Value::Double(v),
            );
        }
        e
    }

    #[test]
    fn declared_columns_make_one_schema_and_rows_fit_their_header() {
        let declared = Declared(Arc::new(|t: &str, own: &[String]| {
            assert_eq!((t, own.len()), ("dns", 2));
            vec![
                ("phish_score".to_string(), ZeekType::single(Scalar::Double)),
                ("workstation".to_string(), ZeekType::single(Scalar::String)),
            ]
        }));
        let mut f = Formatter::new(OutputFormat::Native).with_declared(Some(declared));
        let mut out = Vec::new();
        // The first row has no score: the block declares it all the same.
        let w = [
            f.write(&scored(b"1.0	a.com", None), &mut out),
            f.write(&scored(b"2.0	b.com	extra1	extra2", Some(0.5)), &mut out),
            f.write(&scored(b"3.0", Some(0.25)), &mut out),
        ];
        assert_eq!(w, [Written::Whole, Written::Cut, Written::Padded]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("#fields").count(), 1, "{text}");
        assert!(
            text.contains("#fields\tts\tquery\tphish_score\tworkstation\n"),
            "{text}"
        );
        assert!(
            text.ends_with("1.0\ta.com\t-\t-\n2.0\tb.com\t0.500000\t-\n3.0\t-\t0.250000\t-\n"),
            "{text}"
        );
    }

    #[test]
    fn cut_rows_are_kept_whole_in_quarantine() {
        let dir = std::env::temp_dir().join(format!("trawl-q-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut sink = FileSink::new(FileSinkConfig::new(&dir)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let events = [
            scored(b"1.0\ta.com", Some(0.1)),
            scored(b"2.0\tb.com\textra1", Some(0.5)),
        ];
        rt.block_on(async {
            sink.write(&events).await.unwrap();
            sink.flush().await.unwrap();
        });
        let out = fs::read_to_string(dir.join("dns.log")).unwrap();
        assert!(out.contains("\n2.0\tb.com\t0.500000\n"), "{out}");
        let q = fs::read_to_string(dir.join(".trawl/quarantine/dns.log")).unwrap();
        assert!(q.contains("#fields\tts\tquery\n"), "{q}");
        assert!(q.contains("\n2.0\tb.com\textra1\n"), "{q}");
        assert!(!q.contains("a.com"), "{q}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn origins_that_map_to_one_file_share_it() {
        let dir = std::env::temp_dir().join(format!("trawl-same-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut config = FileSinkConfig::new(&dir);
        config.truncate = true;
        let mut sink = FileSink::new(config).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let events = [
            scored(b"1.0\ta.com", None).with_origin("dns.log".into()),
            scored(b"2.0\tb.com", None).with_origin("dns.log.gz".into()),
        ];
        rt.block_on(async {
            sink.write(&events).await.unwrap();
            sink.flush().await.unwrap();
        });
        let out = fs::read_to_string(dir.join("dns.log")).unwrap();
        assert!(out.contains("a.com") && out.contains("b.com"), "{out}");
        let _ = fs::remove_dir_all(&dir);
    }
}
