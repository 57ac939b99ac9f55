//! A [`Block`]: a run of whole lines of one format from one file, handed to a worker, with
//! readers for its records.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use trawl_zeek::json::{to_record, JsonError, Parser};
use trawl_zeek::lines::Line;
use trawl_zeek::tsv::{TsvEvent, TsvState};
use trawl_zeek::{Problem, Record, Row, Value};

use super::segment::{line_at, Schema};

/// Where a block sits in the scan: the file (in the order given to [`super::Scan::new`]),
/// the chunk of that file, and the block within the chunk. Ordinals sort in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ordinal {
    pub file: u32,
    pub chunk: u32,
    pub block: u32,
}

/// A file being scanned, as blocks and problems name it.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// Position in the scan's input list.
    pub index: u32,
    /// The path as given (or `<stdin>`), for messages.
    pub name: String,
    /// The log type from the file name (`dns` for `dns.09:00:00-10:00:00.log.gz`).
    pub log_type: Option<String>,
}

/// The lines of a block, by format.
#[derive(Debug, Clone, Copy)]
pub enum BlockData<'a> {
    /// Zeek TSV data rows (no header lines) under one header block. Blank lines may occur
    /// (they are no records; [`Block::for_each_record`] skips them).
    Tsv {
        schema: &'a Arc<Schema>,
        text: &'a [u8],
    },
    /// Lines that should each hold one JSON object (a line that does not is reported as bad
    /// by [`Block::for_each_record`]).
    Json { text: &'a [u8] },
    /// Records already read (dnsmasq, pretty-printed JSON, headerless TSV: formats that must
    /// be read in order), each with its line number.
    Records {
        records: &'a [(u64, Record<'static>)],
    },
}

/// Problems and counters a worker collects while it reads blocks.
#[derive(Debug, Default)]
pub(crate) struct BlockOut {
    pub problems: RefCell<Vec<(u64, String, bool)>>,
    pub records: Cell<u64>,
}

/// A run of whole lines of one format from one file.
pub struct Block<'a> {
    /// The file the lines come from.
    pub file: &'a FileInfo,
    /// Where the block is, to restore file order ([`super::Scan::map_ordered`] does it).
    pub ordinal: Ordinal,
    /// Line number (1-based) of the block's first line in its file.
    pub first_line: u64,
    /// Lines the block spans.
    pub lines: u64,
    /// The lines.
    pub data: BlockData<'a>,
    pub(crate) out: &'a BlockOut,
}

/// One record of a block, read lazily where the format allows.
#[derive(Debug)]
pub enum Rec<'r> {
    /// A TSV row: fields split, nothing decoded until asked ([`Row::value`]).
    Row(Row<'r>),
    /// A record read from JSON or dnsmasq.
    Record { line: u64, record: &'r Record<'r> },
}

impl<'r> Rec<'r> {
    /// The record's line number in its file.
    pub fn line(&self) -> u64 {
        match self {
            Rec::Row(r) => r.line.no,
            Rec::Record { line, .. } => *line,
        }
    }

    /// The log type (`#path`, `_path`, or the file name's).
    pub fn log_type(&self) -> &str {
        match self {
            Rec::Row(r) => r.header.path.as_deref().unwrap_or("unknown"),
            Rec::Record { record, .. } => &record.path,
        }
    }

    /// A field's typed value by name (`None`: no such field). A TSV value that does not
    /// parse as its `#types` type is [`Value::Invalid`].
    pub fn get(&self, name: &str) -> Option<Value<'r>> {
        match self {
            Rec::Row(r) => {
                let i = r.header.index_of(name)?;
                r.value(i).map(|(v, _)| v)
            }
            Rec::Record { record, .. } => record.get(name).cloned(),
        }
    }
}

impl<'a> Block<'a> {
    /// Reports a problem on a line of this block (it appears in the scan's summary).
    pub fn report(&self, line: u64, reason: impl Into<String>) {
        self.out
            .problems
            .borrow_mut()
            .push((line, reason.into(), false));
    }

    /// Reports a line that could not be read at all (counted as a bad line).
    pub fn report_bad_line(&self, line: u64, reason: impl Into<String>) {
        self.out
            .problems
            .borrow_mut()
            .push((line, reason.into(), true));
    }

    /// Adds to the records counted in the scan's summary (the readers here do it; a caller
    /// with its own loop over [`Block::lines`] should too).
    pub fn add_records(&self, n: u64) {
        self.out.records.set(self.out.records.get() + n);
    }

    /// The log type of the block's records when the block says it (TSV `#path`), else the
    /// file name's.
    pub fn log_type(&self) -> Option<&str> {
        match self.data {
            BlockData::Tsv { schema, .. } => schema
                .header
                .path
                .as_deref()
                .or(self.file.log_type.as_deref()),
            _ => self.file.log_type.as_deref(),
        }
    }

    /// The lines of a TSV or JSON block with their line numbers, terminators stripped (none
    /// for a records block).
    pub fn lines(&self) -> impl Iterator<Item = (u64, &'a [u8])> + 'a {
        let text: &'a [u8] = match self.data {
            BlockData::Tsv { text, .. } | BlockData::Json { text } => text,
            BlockData::Records { .. } => &[],
        };
        let mut pos = 0;
        let mut no = self.first_line;
        std::iter::from_fn(move || {
            if pos >= text.len() {
                return None;
            }
            let (t, next) = line_at(text, pos);
            pos = next;
            no += 1;
            Some((no - 1, t))
        })
    }

    /// Calls `f` with every record of the block, in order. Rows that do not match their
    /// header and lines that are not records are reported (see [`super::ScanSummary`]).
    pub fn for_each_record(&self, mut f: impl FnMut(Rec<'_>)) {
        let default_path = self.file.log_type.as_deref().unwrap_or("unknown");
        match self.data {
            BlockData::Tsv { schema, text } => {
                let mut st = tsv_state(schema, default_path);
                let mut pos = 0;
                let mut no = self.first_line;
                let mut n = 0;
                while pos < text.len() {
                    let start = pos;
                    let end =
                        memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i + 1);
                    pos = end;
                    let raw = &text[start..end];
                    let mut t = raw.strip_suffix(b"\n").unwrap_or(raw);
                    t = t.strip_suffix(b"\r").unwrap_or(t);
                    let line = Line { no, text: t, raw };
                    no += 1;
                    match st.feed(line) {
                        TsvEvent::Row(row) => {
                            n += 1;
                            f(Rec::Row(row));
                        }
                        TsvEvent::Stray { line } => {
                            self.report_bad_line(line.no, "data row before any #fields header")
                        }
                        TsvEvent::Meta { .. } => {}
                    }
                    for p in st.take_problems() {
                        self.report(p.line, p.reason);
                    }
                }
                self.add_records(n);
            }
            BlockData::Json { .. } => {
                let mut n = 0;
                let mut problems = Vec::new();
                for (no, text) in self.lines() {
                    if let Some(rec) = self.json_record(no, text, default_path, &mut problems) {
                        n += 1;
                        f(Rec::Record {
                            line: no,
                            record: &rec,
                        });
                    }
                    for p in problems.drain(..) {
                        self.report(p.line, p.reason);
                    }
                }
                self.add_records(n);
            }
            BlockData::Records { records } => {
                for (line, record) in records {
                    f(Rec::Record {
                        line: *line,
                        record,
                    });
                }
                self.add_records(records.len() as u64);
            }
        }
    }

    /// One JSON line as a record, or `None` (reported) when it is not one.
    pub(crate) fn json_record<'t>(
        &self,
        no: u64,
        text: &'t [u8],
        default_path: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<Record<'t>> {
        let trimmed = trim_start(text);
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.first() != Some(&b'{') {
            self.report_bad_line(no, "not a JSON object (a JSON log holds one object a line)");
            return None;
        }
        match Parser::new(trimmed).parse_document() {
            Ok(doc) => match to_record(doc, default_path, no, problems) {
                Ok(r) => Some(r),
                Err(reason) => {
                    self.report_bad_line(no, reason);
                    None
                }
            },
            Err(JsonError::Incomplete) => {
                self.report_bad_line(no, "JSON object cut short by the end of the line");
                None
            }
            Err(JsonError::Invalid { at, reason }) => {
                self.report_bad_line(no, format!("bad JSON at byte {at}: {reason}"));
                None
            }
        }
    }
}

/// A TSV reader state put in `schema`'s header block by replaying its directive lines.
pub(crate) fn tsv_state(schema: &Schema, default_path: &str) -> TsvState {
    let mut st = TsvState::default();
    st.set_default_path(schema.header.path.as_deref().unwrap_or(default_path));
    let raw = &schema.raw;
    let mut pos = 0;
    while pos < raw.len() {
        let (t, next) = line_at(raw, pos);
        let _ = st.feed(Line {
            no: 0,
            text: t,
            raw: &raw[pos..next],
        });
        pos = next;
    }
    let _ = st.take_problems();
    st
}

pub(crate) fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .count();
    &s[n..]
}

/// The text of a value as the counting fast path keys it: strings as their bytes, other
/// values as Zeek's TSV writer prints them; `None` for unset.
pub(crate) fn value_text<'v>(v: &'v Value<'_>) -> Option<Cow<'v, [u8]>> {
    match v {
        Value::Unset => None,
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Invalid(s) => Some(Cow::Borrowed(s)),
        other => {
            let mut out = Vec::new();
            other.write_tsv(&mut out, b"\t", &trawl_zeek::value::Markers::DEFAULT);
            Some(Cow::Owned(out))
        }
    }
}
