//! One reader for every format, detected line by line: Zeek TSV header blocks, Zeek JSON
//! (one object a line or pretty-printed over several), and dnsmasq lines may follow each other
//! in one stream (as when files are concatenated into stdin or a Kafka topic).
//!
//! Every input line gives exactly one [`Event`]; dnsmasq queries, completed by later lines,
//! come out as extra [`Event::Record`]s.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Read};

use crate::dnsmasq::{DnsmasqReader, LineKind};
use crate::header::{separator_line_prefix, Directive};
use crate::json::{to_record, JsonError, Parser};
use crate::lines::{Line, LineReader};
use crate::record::{Problem, Record};
use crate::time::Nanos;
use crate::tsv::{Row, TsvEvent, TsvState};

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    ZeekTsv,
    ZeekJson,
    Dnsmasq,
}

impl Format {
    /// Short name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Format::ZeekTsv => "zeek-tsv",
            Format::ZeekJson => "zeek-json",
            Format::Dnsmasq => "dnsmasq",
        }
    }
}

/// What one input line (or a completed dnsmasq query) turned out to be.
#[derive(Debug)]
pub enum Event<'a> {
    /// A TSV header directive or comment line, kept verbatim.
    Meta {
        line: Line<'a>,
        directive: Option<Directive>,
    },
    /// A TSV data row, split lazily.
    Row(Row<'a>),
    /// A record read from JSON or joined from dnsmasq lines.
    Record {
        line: u64,
        format: Format,
        record: Record<'a>,
    },
    /// A line that is not a record but belongs to one or is known noise (dnsmasq's start-up
    /// messages and replies, the inner lines of a pretty-printed JSON object, blank lines).
    Info {
        line: Line<'a>,
        format: Option<Format>,
    },
    /// A line that could not be read at all; kept verbatim with the reason.
    Bad {
        line: u64,
        raw: Cow<'a, [u8]>,
        reason: String,
    },
}

/// What [`LogReader::next_fast`] yields: an event, or a JSON line kept as read.
#[derive(Debug)]
pub enum Fast<'a> {
    Event(Event<'a>),
    /// A single-line JSON record accepted by [`crate::json::line::scan`]: writing `text` back
    /// (with `_path`) says what the parsed record would. `default_path` names its log type
    /// when `flat` has none.
    Json {
        line: u64,
        text: &'a [u8],
        flat: crate::json::line::Flat,
        default_path: &'a str,
    },
}

impl<'a> Fast<'a> {
    /// The event [`LogReader::next_event`] gives for it.
    pub fn into_event(self) -> Event<'a> {
        match self {
            Fast::Event(e) => e,
            Fast::Json {
                line,
                text,
                default_path,
                ..
            } => Event::Record {
                line,
                format: Format::ZeekJson,
                // An accepted line parses without problems.
                record: crate::json::line::record(text, default_path, line, &mut Vec::new()),
            },
        }
    }
}

/// Largest pretty-printed JSON object accepted before it is reported as bad.
const MAX_JSON_OBJECT: usize = 16 << 20;

/// Reads any supported log format from a byte stream.
pub struct LogReader<R> {
    lines: LineReader<R>,
    tsv: TsvState,
    in_tsv: bool,
    json: JsonState,
    dns: DnsState,
    eof: bool,
    problems: Vec<Problem>,
    /// Lines skipped for their length, not yet reported.
    long: VecDeque<crate::lines::LongLine>,
}

/// A pretty-printed JSON object being collected over several lines.
struct JsonState {
    buf: Vec<u8>,
    start: u64,
    done: bool,
    default_path: String,
}

/// dnsmasq queries waiting for their replies, and records ready to hand out.
struct DnsState {
    reader: Option<DnsmasqReader>,
    reference: Nanos,
    pending: VecDeque<(u64, Record<'static>)>,
}

impl<R: Read> LogReader<R> {
    /// Reads from `src`. JSON objects without `_path` get the log type `unknown` unless
    /// [`LogReader::default_path`] says otherwise.
    pub fn new(src: R) -> Self {
        LogReader {
            lines: LineReader::new(src),
            tsv: TsvState::default(),
            in_tsv: false,
            json: JsonState {
                buf: Vec::new(),
                start: 0,
                done: false,
                default_path: "unknown".into(),
            },
            dns: DnsState {
                reader: None,
                reference: 0,
                pending: VecDeque::new(),
            },
            eof: false,
            problems: Vec::new(),
            long: VecDeque::new(),
        }
    }

    /// Skips lines longer than `max` bytes, reporting each (default: [`crate::lines::max_line`]).
    pub fn max_line(mut self, max: usize) -> Self {
        self.lines = self.lines.with_max_line(max);
        self
    }

    /// A line skipped for its length, as a bad line to report.
    fn long_line(&mut self) -> Option<Event<'_>> {
        self.long.extend(self.lines.take_skipped());
        let l = self.long.pop_front()?;
        Some(Event::Bad {
            line: l.no,
            reason: l.reason(),
            raw: Cow::Owned(l.start),
        })
    }

    /// The log type for JSON records that do not name one (usually from the file name).
    pub fn default_path(mut self, path: impl Into<String>) -> Self {
        self.json.default_path = path.into();
        self.tsv.set_default_path(&self.json.default_path);
        self
    }

    /// The time syslog dates without a year are placed before (usually the file's mtime).
    pub fn reference_time(mut self, t: Nanos) -> Self {
        self.dns.reference = t;
        self
    }

    /// Problems met since the last call (bad values inside kept records, odd headers ...).
    pub fn take_problems(&mut self) -> Vec<Problem> {
        let mut p = std::mem::take(&mut self.problems);
        p.extend(self.tsv.take_problems());
        p
    }

    /// Bytes consumed so far.
    pub fn bytes(&self) -> u64 {
        self.lines.bytes()
    }

    /// The TSV state (current header block), for writers that pass TSV through.
    pub fn tsv(&self) -> &TsvState {
        &self.tsv
    }

    /// The next event, or `None` at the end of the stream. An I/O error (such as a corrupt
    /// gzip) ends the stream; what was read before it has already been handed out.
    pub fn next_event(&mut self) -> io::Result<Option<Event<'_>>> {
        Ok(self.next_any(false)?.map(Fast::into_event))
    }

    /// The records of the stream, whatever its format, each decoded in the one place every
    /// command shares: TSV rows typed by their header (values that do not match their type
    /// kept as [`crate::Value::Invalid`], problems listed with the record), JSON and dnsmasq
    /// records as read. Lines that are no record come as [`Item::Bad`]; header lines are
    /// applied and not handed out. An I/O error ends the iteration.
    pub fn records(&mut self) -> Records<'_, R> {
        Records {
            reader: self,
            done: false,
        }
    }

    /// [`LogReader::next_event`], but a JSON line that [`crate::json::line::scan`] accepts
    /// comes out as read ([`Fast::Json`]) instead of parsed into a record.
    pub fn next_fast(&mut self) -> io::Result<Option<Fast<'_>>> {
        self.next_any(true)
    }

    fn next_any(&mut self, fast: bool) -> io::Result<Option<Fast<'_>>> {
        if self.json.done {
            self.json.buf.clear();
            self.json.done = false;
        }
        if let Some((line, record)) = self.dns.pending.pop_front() {
            return Ok(Some(Fast::Event(Event::Record {
                line,
                format: Format::Dnsmasq,
                record,
            })));
        }
        if !self.long.is_empty() || self.lines.has_skipped() {
            return Ok(self.long_line().map(Fast::Event));
        }
        if self.eof {
            return Ok(None);
        }
        if !self.lines.has_more()? {
            return Ok(self.at_eof().map(Fast::Event));
        }
        let Some(line) = self.lines.next_line()? else {
            // Only lines too long were left: they are reported on the next call.
            let line = Line {
                no: 0,
                text: b"",
                raw: b"",
            };
            return Ok(Some(Fast::Event(Event::Info { line, format: None })));
        };
        if !self.json.buf.is_empty() {
            return Ok(Some(Fast::Event(
                self.json.continue_object(line, &mut self.problems),
            )));
        }
        let text = line.text;
        // A header block may also start at a bare directive (`#fields` with no `#separator`).
        let starts_block = separator_line_prefix(text).is_some()
            || (text.first() == Some(&b'#') && self.tsv.header().directive(text).is_some());
        if line.no == 1 && self.tsv.start_from_names(text, &self.json.default_path) {
            self.in_tsv = true;
            return Ok(Some(Fast::Event(Event::Meta {
                line,
                directive: Some(Directive::Fields),
            })));
        }
        if starts_block || (self.in_tsv && !looks_like_json(text)) {
            self.in_tsv = true;
            return Ok(Some(Fast::Event(match self.tsv.feed(line) {
                TsvEvent::Meta { line, directive } => Event::Meta { line, directive },
                TsvEvent::Row(row) => Event::Row(row),
                TsvEvent::Stray { line } => Event::Bad {
                    line: line.no,
                    raw: Cow::Borrowed(line.raw),
                    reason: "data row before any #fields header".into(),
                },
            })));
        }
        let trimmed = trim_start(text);
        if trimmed.first() == Some(&b'{') {
            self.in_tsv = false;
            if fast && self.json.buf.is_empty() {
                if let Some(flat) = crate::json::line::scan(text) {
                    return Ok(Some(Fast::Json {
                        line: line.no,
                        text,
                        flat,
                        default_path: &self.json.default_path,
                    }));
                }
            }
            return Ok(Some(Fast::Event(self.json.line(line, &mut self.problems))));
        }
        if trimmed.is_empty() {
            return Ok(Some(Fast::Event(Event::Info { line, format: None })));
        }
        if self.dns.reader.is_some() || DnsmasqReader::looks_like(text) {
            self.in_tsv = false;
            return Ok(Some(Fast::Event(self.dns.line(line, &mut self.problems))));
        }
        if text.first() == Some(&b'#') {
            // A comment before any header block (e.g. `### NOTE: sorted`): not data.
            return Ok(Some(Fast::Event(Event::Info { line, format: None })));
        }
        Ok(Some(Fast::Event(Event::Bad {
            line: line.no,
            raw: Cow::Borrowed(line.raw),
            reason: "unknown format: not Zeek TSV, Zeek JSON or dnsmasq".into(),
        })))
    }

    fn at_eof(&mut self) -> Option<Event<'_>> {
        self.eof = true;
        if let Some(d) = self.dns.reader.as_mut() {
            let mut out = Vec::new();
            d.finish(&mut out);
            let last = self.lines.line_no();
            self.dns.pending.extend(out.into_iter().map(|r| (last, r)));
        }
        if !self.json.buf.is_empty() && !self.json.done {
            self.json.done = true;
            return Some(Event::Bad {
                line: self.json.start,
                raw: Cow::Borrowed(&self.json.buf),
                reason: "JSON object cut short by the end of the input".into(),
            });
        }
        self.dns
            .pending
            .pop_front()
            .map(|(line, record)| Event::Record {
                line,
                format: Format::Dnsmasq,
                record,
            })
    }
}

impl JsonState {
    fn line<'a>(&'a mut self, line: Line<'a>, problems: &mut Vec<Problem>) -> Event<'a> {
        let mut parser = Parser::new(line.text);
        match parser.parse_document() {
            Ok(doc) => match to_record(doc, &self.default_path, line.no, problems) {
                Ok(record) => Event::Record {
                    line: line.no,
                    format: Format::ZeekJson,
                    record,
                },
                Err(reason) => bad(line, reason.to_string()),
            },
            Err(JsonError::Incomplete) => {
                self.buf.extend_from_slice(line.raw);
                self.start = line.no;
                Event::Info {
                    line,
                    format: Some(Format::ZeekJson),
                }
            }
            Err(JsonError::Invalid { at, reason }) => {
                bad(line, format!("bad JSON at byte {at}: {reason}"))
            }
        }
    }

    fn continue_object<'a>(&'a mut self, line: Line<'a>, problems: &mut Vec<Problem>) -> Event<'a> {
        self.buf.extend_from_slice(line.raw);
        // Only a line that closes an object can complete one; skip parsing the others.
        let closes = trim_start(line.text).first() == Some(&b'}');
        let too_big = self.buf.len() > MAX_JSON_OBJECT;
        if !closes && !too_big {
            return Event::Info {
                line,
                format: Some(Format::ZeekJson),
            };
        }
        let start = self.start;
        match Parser::new(&self.buf).parse_document() {
            Err(JsonError::Incomplete) if !too_big => Event::Info {
                line,
                format: Some(Format::ZeekJson),
            },
            Ok(doc) => {
                self.done = true;
                match to_record(doc, &self.default_path, start, problems) {
                    Ok(record) => Event::Record {
                        line: start,
                        format: Format::ZeekJson,
                        record,
                    },
                    Err(reason) => Event::Bad {
                        line: start,
                        raw: Cow::Borrowed(&self.buf),
                        reason: reason.to_string(),
                    },
                }
            }
            Err(e) => {
                self.done = true;
                let reason = match e {
                    JsonError::Incomplete => "JSON object larger than 16 MiB".to_string(),
                    JsonError::Invalid { at, reason } => format!("bad JSON at byte {at}: {reason}"),
                };
                Event::Bad {
                    line: start,
                    raw: Cow::Borrowed(&self.buf),
                    reason,
                }
            }
        }
    }
}

impl DnsState {
    fn line<'a>(&'a mut self, line: Line<'a>, problems_out: &mut Vec<Problem>) -> Event<'a> {
        let reference = self.reference;
        let d = self
            .reader
            .get_or_insert_with(|| DnsmasqReader::new(reference));
        let mut out = Vec::new();
        let mut problems = Vec::new();
        let kind = d.push(line.no, line.text, &mut out, &mut problems);
        let no_reason = problems.is_empty();
        let reason = problems
            .first()
            .map(|p| p.reason.clone())
            .unwrap_or_default();
        problems_out.extend(problems);
        self.pending.extend(out.into_iter().map(|r| (line.no, r)));
        match kind {
            LineKind::NotDnsmasq => {
                let reason = if no_reason {
                    "not a dnsmasq line".to_string()
                } else {
                    reason
                };
                // Reported through the event, not twice.
                problems_out.retain(|p| p.line != line.no);
                bad(line, reason)
            }
            _ => Event::Info {
                line,
                format: Some(Format::Dnsmasq),
            },
        }
    }
}

fn bad(line: Line<'_>, reason: String) -> Event<'_> {
    Event::Bad {
        line: line.no,
        raw: Cow::Borrowed(line.raw),
        reason,
    }
}

/// Skips leading blanks and a UTF-8 byte-order mark.
pub(crate) fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | 0xef | 0xbb | 0xbf))
        .count();
    &s[n..]
}

/// A line that is plainly one JSON object (inside a TSV block this switches to JSON).
fn looks_like_json(s: &[u8]) -> bool {
    s.starts_with(b"{\"") && s.ends_with(b"}")
}

/// What [`LogReader::records`] yields.
#[derive(Debug)]
pub enum Item {
    /// A record and the problems found in it (with its line number).
    Record {
        line: u64,
        record: Record<'static>,
        problems: Vec<Problem>,
    },
    /// A line that could not be read as a record, kept verbatim with the reason (and any
    /// problem the reader found since the last item).
    Bad {
        line: u64,
        raw: Vec<u8>,
        reason: String,
        problems: Vec<Problem>,
    },
}

/// The iterator of [`LogReader::records`].
pub struct Records<'r, R> {
    reader: &'r mut LogReader<R>,
    done: bool,
}

impl<R: Read> Iterator for Records<'_, R> {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        if self.done {
            return None;
        }
        let mut problems = Vec::new();
        let item = loop {
            match self.reader.next_event() {
                Ok(Some(Event::Row(row))) => {
                    let line = row.line.no;
                    let record = row.to_record(&mut problems).into_owned();
                    break Item::Record {
                        line,
                        record,
                        problems: Vec::new(),
                    };
                }
                Ok(Some(Event::Record { line, record, .. })) => {
                    break Item::Record {
                        line,
                        record: record.into_owned(),
                        problems: Vec::new(),
                    }
                }
                Ok(Some(Event::Bad { line, raw, reason })) => {
                    break Item::Bad {
                        line,
                        raw: raw.into_owned(),
                        reason,
                        problems: Vec::new(),
                    }
                }
                Ok(Some(Event::Meta { .. } | Event::Info { .. })) => {}
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        };
        problems.extend(self.reader.take_problems());
        Some(Ok(match item {
            Item::Record { line, record, .. } => Item::Record {
                line,
                record,
                problems,
            },
            Item::Bad {
                line, raw, reason, ..
            } => Item::Bad {
                line,
                raw,
                reason,
                problems,
            },
        }))
    }
}
