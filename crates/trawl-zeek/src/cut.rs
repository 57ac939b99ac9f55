//! zeek-cut's column selection as a hand-written hot loop over blocks of whole lines.
//!
//! TSV rows are split with an 8-bytes-at-a-time (SWAR) scan for the separator and the newline,
//! and the wanted fields are copied raw (zeek-cut does not unescape). Header lines re-map the
//! columns. Zeek JSON lines go through a scanner that finds the wanted top-level keys without
//! building a record; anything odd (nested objects, `tag_json`, pretty-printed objects, bad
//! escapes) falls back to the full [`crate::json::Parser`].
//!
//! The semantics are zeek-cut's (zeek-aux `zeek-cut.c`): missing columns print as an empty
//! value, `-c`/`-C` count header blocks (a `#close` after data starts a new block), `-m` keeps
//! only the column names, rows with fewer fields than the last wanted column are skipped and
//! reported, and `-d` converts `time` columns whose text is `<digits>.<anything>`.

use std::borrow::Cow;

use crate::header::{split, Directive, Header};
use crate::json::{is_time_field, number_time, to_record, JsonError, Parser};
use crate::reader::trim_start;
use crate::record::{Problem, Record};
use crate::scan::json as json_scan;
use crate::scan::Splitter;
use crate::time::{parse_epoch, parse_iso8601, write_epoch, Nanos};
use crate::types::{Scalar, ZeekType};
use crate::value::{Markers, Value};

/// Which format header blocks to copy to the output (`-c`, `-C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Headers {
    None = 0,
    First = 1,
    All = 2,
}

/// What to cut, fixed for a run.
#[derive(Debug, Clone)]
pub struct CutOptions {
    /// Column names in output order; empty means all.
    pub columns: Vec<String>,
    /// Print every column except those named (`-n`).
    pub negate: bool,
    pub headers: Headers,
    /// Only the column names of shown header blocks (`-m`, `-M`).
    pub minimal: bool,
    /// Output field separator; `None` keeps the input's.
    pub ofs: Option<Vec<u8>>,
}

/// Formats whole epoch seconds for `-d`/`-D`/`-u`/`-U`. Returns false if it could not.
pub trait TimeFormat: Send {
    fn format(&mut self, secs: i64, out: &mut Vec<u8>) -> bool;
}

/// Longest pretty-printed JSON object collected before it is reported.
const MAX_JSON_OBJECT: usize = 16 << 20;

/// Cuts one input stream. Feed it blocks of whole lines; output goes to a caller's buffer.
pub struct Cutter {
    opts: CutOptions,
    time: Option<Box<dyn TimeFormat>>,
    default_path: String,
    /// Header blocks seen (0, 1, or 2 meaning "two or more"), as zeek-cut counts them.
    headers_seen: u8,
    prev_line_hdr: bool,
    line_no: u64,
    rows: u64,
    problems: Vec<Problem>,
    tsv: TsvPlan,
    json: JsonPlan,
    /// A pretty-printed JSON object being collected, and its first line.
    pending: Vec<u8>,
    pending_line: u64,
    /// The last time conversion, reused for equal seconds (zeek-cut does the same).
    time_cache: Option<(i64, Vec<u8>)>,
}

/// The current TSV header block and where the wanted columns are in it.
#[derive(Clone)]
struct TsvPlan {
    header: Header,
    ofs: Vec<u8>,
    /// Output slot -> input column (`None`: not in this block, printed empty).
    slots: Vec<Option<usize>>,
    /// Fields to split per row: the last wanted column plus one (zeek-cut's `idx_range`).
    need: usize,
    splitter: Splitter,
    time_cols: Vec<bool>,
    /// Field spans of the current row, reused.
    spans: Vec<(usize, usize)>,
}

/// Output columns for JSON records (fixed by the options or by the first record).
#[derive(Clone)]
struct JsonPlan {
    cols: Vec<String>,
    fixed: bool,
    /// Whether the synthesized header was considered for the current JSON run.
    header_done: bool,
    time_cols: Vec<bool>,
    spans: Vec<Option<json_scan::Span>>,
}

impl Cutter {
    /// A cutter for one stream. `first` says whether the stream starts the output (header
    /// blocks shown by `-c` are counted from it); `default_path` names JSON records without
    /// `_path`; `time` converts time columns when set.
    pub fn new(
        opts: CutOptions,
        first: bool,
        default_path: &str,
        time: Option<Box<dyn TimeFormat>>,
    ) -> Self {
        let ofs = opts.ofs.clone().unwrap_or_else(|| b"\t".to_vec());
        let mut c = Cutter {
            time,
            default_path: default_path.to_string(),
            headers_seen: if first { 0 } else { 1 },
            prev_line_hdr: false,
            line_no: 0,
            rows: 0,
            problems: Vec::new(),
            tsv: TsvPlan {
                header: Header::default(),
                ofs,
                slots: Vec::new(),
                need: 0,
                splitter: Splitter::default(),
                time_cols: Vec::new(),
                spans: Vec::new(),
            },
            json: JsonPlan {
                cols: Vec::new(),
                fixed: false,
                header_done: false,
                time_cols: Vec::new(),
                spans: Vec::new(),
            },
            pending: Vec::new(),
            pending_line: 0,
            time_cache: None,
            opts,
        };
        if !c.opts.columns.is_empty() && !c.opts.negate {
            let cols = c.opts.columns.clone();
            c.json_plan(cols);
        }
        c
    }

    /// Records written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Problems met since the last call.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    fn problem(&mut self, line: u64, reason: impl Into<String>) {
        self.problems.push(Problem {
            line,
            reason: reason.into(),
        });
    }

    /// A copy of the current column plan for cutting data rows on another thread, or `None`
    /// when the state is not one where rows can be cut independently (time conversion, a
    /// multi-line JSON object under way, no TSV block yet, an unusual separator or prefix).
    pub fn fork(&self) -> Option<Cutter> {
        let plain = self.time.is_none()
            && self.pending.is_empty()
            && self.tsv.need > 0
            && self.tsv.header.separator.len() == 1
            && self.tsv.header.prefix == b"#";
        plain.then(|| self.copy_plan())
    }

    /// Like [`Cutter::fork`], for blocks of one-line JSON objects: once the output columns are
    /// fixed and any header for them printed, every such line is cut on its own.
    pub fn fork_json(&self) -> Option<Cutter> {
        let ready = self.time.is_none()
            && self.pending.is_empty()
            && self.json.fixed
            && self.json.header_done;
        ready.then(|| self.copy_plan())
    }

    /// A cutter with this one's column plans and fresh counters (line numbers restart at 0).
    fn copy_plan(&self) -> Cutter {
        Cutter {
            opts: self.opts.clone(),
            time: None,
            default_path: self.default_path.clone(),
            headers_seen: self.headers_seen,
            prev_line_hdr: self.prev_line_hdr,
            line_no: 0,
            rows: 0,
            problems: Vec::new(),
            tsv: self.tsv.clone(),
            json: self.json.clone(),
            pending: Vec::new(),
            pending_line: 0,
            time_cache: None,
        }
    }

    /// Whether every line of a block is a whole JSON object on one line (`{...}`), so a
    /// [`Cutter::fork_json`] cuts it exactly as this cutter would.
    pub fn is_json_block(block: &[u8]) -> bool {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', block).chain(std::iter::once(block.len())) {
            let line = &block[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let last_empty = line.is_empty() && end == block.len();
            let object = line.first() == Some(&b'{') && line.last() == Some(&b'}');
            if !last_empty && !object {
                return false;
            }
            start = end + 1;
        }
        true
    }

    /// Whether a block holds only TSV data rows (no header, comment or JSON line), so a
    /// [`Cutter::fork`] cuts it exactly as this cutter would.
    pub fn is_data_block(block: &[u8]) -> bool {
        !matches!(block.first(), Some(b'#' | b'{'))
            && memchr::memmem::find(block, b"\n#").is_none()
            && memchr::memmem::find(block, b"\n{").is_none()
    }

    /// Takes back the counts and problems of a fork that cut the next `lines` lines.
    pub fn join(&mut self, part: Cutter, lines: u64) {
        self.rows += part.rows;
        self.prev_line_hdr = false;
        let base = self.line_no;
        self.problems.extend(part.problems.into_iter().map(|mut p| {
            p.line += base;
            p
        }));
        self.line_no += lines;
    }

    /// Counts and reports a line its reader skipped for its length (it came before the next
    /// block fed).
    pub fn skip_line(&mut self, long: &crate::lines::LongLine) {
        self.line_no += 1;
        self.prev_line_hdr = false;
        self.problem(self.line_no, long.reason());
    }

    /// Cuts a block of whole lines (the last may lack its newline at the end of the stream).
    pub fn feed_block(&mut self, block: &[u8], out: &mut Vec<u8>) {
        let mut pos = 0;
        while pos < block.len() {
            self.line_no += 1;
            let rest = &block[pos..];
            let first = rest[0];
            if self.pending.is_empty()
                && first != b'#'
                && first != b'{'
                && self.tsv.need > 0
                && self.tsv.header.separator.len() == 1
                && (self.tsv.header.prefix == b"#" || !rest.starts_with(&self.tsv.header.prefix))
            {
                pos += self.tsv_row_fast(rest, out);
                continue;
            }
            let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            self.line(&rest[..len], out);
            pos += len;
        }
    }

    /// Ends the stream: reports an unfinished JSON object.
    pub fn finish(&mut self, _out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            self.pending.clear();
            self.problem(
                self.pending_line,
                "JSON object cut short by the end of the input",
            );
        }
    }

    /// One line (with its newline, if any) on the general path.
    fn line(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let mut text = raw.strip_suffix(b"\n").unwrap_or(raw);
        text = text.strip_suffix(b"\r").unwrap_or(text);
        if !self.pending.is_empty() {
            self.json_continue(raw, out);
            return;
        }
        let h = &self.tsv.header;
        if text.first() == Some(&b'#') || (!h.prefix.is_empty() && text.starts_with(&h.prefix)) {
            self.meta_line(text, out);
            return;
        }
        self.prev_line_hdr = false;
        let trimmed = trim_start(text);
        if trimmed.first() == Some(&b'{') && (self.tsv.need == 0 || trimmed.ends_with(b"}")) {
            self.json_line(trimmed, raw, out);
            return;
        }
        if trimmed.is_empty() && self.tsv.need == 0 {
            return;
        }
        if self.tsv.header.fields.is_empty() {
            let no = self.line_no;
            self.problem(no, "data row before any #fields header: skipped");
            return;
        }
        self.json.header_done = false;
        self.tsv_row_general(text, out);
    }

    // ---- TSV ----

    /// A header line: updates the block and prints it as `-c`/`-C`/`-m`/`-M` ask.
    fn meta_line(&mut self, text: &[u8], out: &mut Vec<u8>) {
        if !self.prev_line_hdr {
            self.prev_line_hdr = true;
            self.headers_seen = (self.headers_seen + 1).min(2);
        }
        self.json.header_done = false;
        let mut directive = None;
        if let Some((h, warn)) = Header::from_separator_line(text) {
            if let Some(w) = warn {
                let no = self.line_no;
                self.problem(no, w);
            }
            self.tsv.ofs = self.opts.ofs.clone().unwrap_or_else(|| h.separator.clone());
            self.tsv.header = h;
            self.tsv.slots.clear();
            self.tsv.need = 0;
            directive = Some(Directive::Separator);
        } else if let Some((d, v, delim)) = self.tsv.header.directive(text) {
            directive = Some(d);
            if let Some(reason) = self.tsv.header.apply_with(d, v, delim) {
                let no = self.line_no;
                self.problem(no, reason);
            }
            match d {
                Directive::Fields => self.tsv_plan(),
                Directive::Types => self.tsv_time_cols(),
                _ => {}
            }
        }
        if self.opts.headers < Headers::First || (self.opts.headers as u8) < self.headers_seen {
            return;
        }
        match directive {
            Some(Directive::Fields) => self.header_names(out),
            Some(Directive::Types) if !self.opts.minimal => self.header_types(out),
            _ if !self.opts.minimal => {
                out.extend_from_slice(text);
                out.push(b'\n');
            }
            _ => {}
        }
    }

    fn header_names(&mut self, out: &mut Vec<u8>) {
        let p = &self.tsv;
        if !self.opts.minimal {
            out.extend_from_slice(&p.header.prefix);
            out.extend_from_slice(b"fields");
        }
        for (k, slot) in p.slots.iter().enumerate() {
            if k > 0 || !self.opts.minimal {
                out.extend_from_slice(&p.ofs);
            }
            if let Some(name) = slot.and_then(|c| p.header.fields.get(c)) {
                out.extend_from_slice(name.as_bytes());
            }
        }
        out.push(b'\n');
    }

    fn header_types(&mut self, out: &mut Vec<u8>) {
        let p = &self.tsv;
        out.extend_from_slice(&p.header.prefix);
        out.extend_from_slice(b"types");
        for slot in &p.slots {
            out.extend_from_slice(&p.ofs);
            if let Some(t) = slot.and_then(|c| p.header.type_names.get(c)) {
                if self.time.is_some() && t == "time" {
                    out.extend_from_slice(b"string");
                } else {
                    out.extend_from_slice(t.as_bytes());
                }
            }
        }
        out.push(b'\n');
    }

    /// Maps the wanted columns onto a new `#fields` line.
    fn tsv_plan(&mut self) {
        let fields = &self.tsv.header.fields;
        let slots: Vec<Option<usize>> = if self.opts.columns.is_empty() {
            (0..fields.len()).map(Some).collect()
        } else if self.opts.negate {
            (0..fields.len())
                .filter(|&i| !self.opts.columns.contains(&fields[i]))
                .map(Some)
                .collect()
        } else {
            self.opts
                .columns
                .iter()
                .map(|c| fields.iter().position(|f| f == c))
                .collect()
        };
        self.tsv.need = slots.iter().flatten().max().map_or(0, |m| m + 1);
        // zeek-cut splits at least one field per row, even when no wanted column exists.
        if self.tsv.need == 0 && !fields.is_empty() {
            self.tsv.need = 1;
        }
        let mut want = vec![false; self.tsv.need];
        for c in slots.iter().flatten() {
            want[*c] = true;
        }
        let sep = self.tsv.header.separator.first().copied().unwrap_or(b'\t');
        self.tsv.splitter = Splitter::new(sep, want);
        self.tsv.spans = vec![(0, 0); self.tsv.need];
        self.tsv.slots = slots;
        self.tsv.time_cols.clear();
    }

    fn tsv_time_cols(&mut self) {
        let h = &self.tsv.header;
        self.tsv.time_cols = h.type_names.iter().map(|t| t == "time").collect();
    }

    /// A data row with a one-byte separator, split by the SWAR scan. Returns bytes consumed.
    fn tsv_row_fast(&mut self, rest: &[u8], out: &mut Vec<u8>) -> usize {
        self.prev_line_hdr = false;
        self.json.header_done = false;
        let need = self.tsv.need;
        let (found, line_end) = self.tsv.splitter.split(rest, &mut self.tsv.spans);
        let consumed = if line_end < rest.len() {
            line_end + 1
        } else {
            rest.len()
        };
        if found < need {
            let no = self.line_no;
            self.problem(no, "skipping row: not enough fields");
            return consumed;
        }
        self.emit_tsv_row(rest, out);
        consumed
    }

    /// A data row on the general path (multi-byte separators).
    fn tsv_row_general(&mut self, text: &[u8], out: &mut Vec<u8>) {
        let need = self.tsv.need;
        let spans = &mut self.tsv.spans;
        let seplen = self.tsv.header.separator.len();
        let mut at = 0;
        let mut found = 0;
        for (f, sp) in split(text, &self.tsv.header.separator)
            .take(need)
            .zip(spans.iter_mut())
        {
            *sp = (at, at + f.len());
            at += f.len() + seplen;
            found += 1;
        }
        if found < need {
            let no = self.line_no;
            self.problem(no, "skipping row: not enough fields");
            return;
        }
        self.emit_tsv_row(text, out);
    }

    fn emit_tsv_row(&mut self, line: &[u8], out: &mut Vec<u8>) {
        self.rows += 1;
        let convert = self.time.is_some() && !self.tsv.time_cols.is_empty();
        let one = (self.tsv.ofs.len() == 1).then(|| self.tsv.ofs[0]);
        for k in 0..self.tsv.slots.len() {
            if k > 0 {
                match one {
                    Some(b) => out.push(b),
                    None => out.extend_from_slice(&self.tsv.ofs),
                }
            }
            let Some(c) = self.tsv.slots[k] else {
                continue;
            };
            let Some(&(a, b)) = self.tsv.spans.get(c) else {
                continue;
            };
            let field = line.get(a..b).unwrap_or_default();
            if convert && self.tsv.time_cols.get(c) == Some(&true) {
                self.tsv_time(field, out);
            } else {
                out.extend_from_slice(field);
            }
        }
        out.push(b'\n');
    }

    /// zeek-cut's `output_time`: `<digits>.<anything>` converts; anything else is printed as
    /// it is, with a complaint unless it is the unset marker.
    fn tsv_time(&mut self, field: &[u8], out: &mut Vec<u8>) {
        let digits = field.iter().take_while(|b| b.is_ascii_digit()).count();
        let secs = std::str::from_utf8(&field[..digits])
            .ok()
            .and_then(|s| s.parse::<i64>().ok());
        match (secs, field.get(digits)) {
            (Some(s), Some(b'.')) => {
                if !self.format_time(s, out) {
                    out.extend_from_slice(field);
                }
            }
            _ => {
                if field != self.tsv.header.unset_field.as_slice() {
                    let no = self.line_no;
                    let shown = String::from_utf8_lossy(&field[..field.len().min(40)]);
                    self.problem(no, format!("time field is not valid: {shown:?}"));
                }
                out.extend_from_slice(field);
            }
        }
    }

    fn format_time(&mut self, secs: i64, out: &mut Vec<u8>) -> bool {
        if let Some((s, text)) = &self.time_cache {
            if *s == secs {
                out.extend_from_slice(text);
                return true;
            }
        }
        let Some(tf) = self.time.as_mut() else {
            return false;
        };
        let start = out.len();
        if !tf.format(secs, out) {
            out.truncate(start);
            let no = self.line_no;
            self.problem(no, format!("time value out of range: {secs}"));
            return false;
        }
        self.time_cache = Some((secs, out[start..].to_vec()));
        true
    }

    // ---- JSON ----

    fn json_plan(&mut self, cols: Vec<String>) {
        self.json.time_cols = cols.iter().map(|c| is_time_field(c)).collect();
        self.json.spans = vec![None; cols.len()];
        self.json.cols = cols;
        self.json.fixed = true;
    }

    /// A line starting with `{`: the scanner first, the full parser for anything odd.
    fn json_line(&mut self, text: &[u8], raw: &[u8], out: &mut Vec<u8>) {
        if self.json.fixed && self.json.header_done {
            let n = self.json.cols.len();
            if json_scan::scan(text, &self.json.cols, &mut self.json.spans) {
                self.rows += 1;
                for k in 0..n {
                    if k > 0 {
                        out.extend_from_slice(&self.tsv.ofs);
                    }
                    let span = self.json.spans[k];
                    self.json_value(text, span, k, out);
                }
                out.push(b'\n');
                return;
            }
        }
        let no = self.line_no;
        match Parser::new(text).parse_document() {
            Ok(doc) => self.json_doc(doc, no, out),
            Err(JsonError::Incomplete) => {
                self.pending.extend_from_slice(raw);
                self.pending_line = no;
            }
            Err(JsonError::Invalid { at, reason }) => {
                self.problem(no, format!("bad JSON at byte {at}: {reason}"));
            }
        }
    }

    fn json_continue(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(raw);
        let closes = trim_start(raw).first() == Some(&b'}');
        let too_big = self.pending.len() > MAX_JSON_OBJECT;
        if !closes && !too_big {
            return;
        }
        let buf = std::mem::take(&mut self.pending);
        let no = self.pending_line;
        match Parser::new(&buf).parse_document() {
            Err(JsonError::Incomplete) if !too_big => self.pending = buf,
            Ok(doc) => self.json_doc(doc, no, out),
            Err(JsonError::Incomplete) => self.problem(no, "JSON object larger than 16 MiB"),
            Err(JsonError::Invalid { at, reason }) => {
                self.problem(no, format!("bad JSON at byte {at}: {reason}"))
            }
        }
    }

    fn json_doc(&mut self, doc: crate::json::JVal<'_>, no: u64, out: &mut Vec<u8>) {
        let mut problems = Vec::new();
        match to_record(doc, &self.default_path, no, &mut problems) {
            Ok(rec) => self.write_record(&rec, out),
            Err(reason) => self.problem(no, reason),
        }
        self.problems.extend(problems);
    }

    /// Writes the wanted columns of a record read by the full parser (JSON, dnsmasq). The
    /// first record fixes the columns when none were named, or with `-n`.
    pub fn write_record(&mut self, rec: &Record<'_>, out: &mut Vec<u8>) {
        if !self.json.fixed {
            let cols = rec
                .fields
                .iter()
                .map(|f| f.name.to_string())
                .filter(|n| !(self.opts.negate && self.opts.columns.contains(n)))
                .collect();
            self.json_plan(cols);
        }
        if !self.json.header_done {
            self.json.header_done = true;
            self.json_header(rec, out);
        }
        self.rows += 1;
        let m = Markers::DEFAULT;
        for k in 0..self.json.cols.len() {
            if k > 0 {
                out.extend_from_slice(&self.tsv.ofs);
            }
            let name = self.json.cols[k].as_str();
            let v = if name == "_path" {
                Some(Value::Str(Cow::Borrowed(rec.path.as_bytes())))
            } else {
                rec.get(name).cloned()
            };
            match v {
                None | Some(Value::Unset) => out.push(b'-'),
                Some(Value::Time(t)) if self.time.is_some() => {
                    if !self.format_time(t.div_euclid(1_000_000_000), out) {
                        write_epoch(out, t);
                    }
                }
                Some(v) => {
                    let ofs = self.tsv.ofs.clone();
                    v.write_tsv(out, &ofs, &m);
                }
            }
        }
        out.push(b'\n');
    }

    /// The header block printed for JSON input with `-c`/`-C`/`-m`/`-M`.
    fn json_header(&mut self, rec: &Record<'_>, out: &mut Vec<u8>) {
        if !self.prev_line_hdr {
            self.headers_seen = (self.headers_seen + 1).min(2);
        }
        if self.opts.headers < Headers::First || (self.opts.headers as u8) < self.headers_seen {
            return;
        }
        let ofs = self.tsv.ofs.clone();
        let cols = &self.json.cols;
        let join = |out: &mut Vec<u8>, items: &mut dyn Iterator<Item = String>| {
            for (i, it) in items.enumerate() {
                if i > 0 {
                    out.extend_from_slice(&ofs);
                }
                out.extend_from_slice(it.as_bytes());
            }
            out.push(b'\n');
        };
        if self.opts.minimal {
            join(out, &mut cols.iter().cloned());
            return;
        }
        out.extend_from_slice(b"#separator ");
        for b in &ofs {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
        out.push(b'\n');
        let path = rec.path.to_string();
        for (d, v) in [
            ("#set_separator", ","),
            ("#empty_field", "(empty)"),
            ("#unset_field", "-"),
            ("#path", path.as_str()),
        ] {
            join(out, &mut [d.to_string(), v.to_string()].into_iter());
        }
        let fields = std::iter::once("#fields".to_string()).chain(cols.iter().cloned());
        join(out, &mut fields.into_iter());
        let convert = self.time.is_some();
        let types = cols.iter().map(|c| {
            let f = rec.fields.iter().find(|f| &f.name == c);
            match f.map(|f| f.ty) {
                Some(t) if convert && t == ZeekType::single(Scalar::Time) => "string".to_string(),
                Some(t) => t.to_string(),
                None if c == "_path" => "string".into(),
                None if is_time_field(c) && !convert => "time".into(),
                None => "string".into(),
            }
        });
        join(out, &mut std::iter::once("#types".to_string()).chain(types));
    }

    /// Writes one scanned JSON value in zeek-cut's text form.
    fn json_value(
        &mut self,
        text: &[u8],
        span: Option<json_scan::Span>,
        k: usize,
        out: &mut Vec<u8>,
    ) {
        let Some(span) = span else {
            out.push(b'-');
            return;
        };
        let Some(v) = text.get(span.start..span.end) else {
            out.push(b'-');
            return;
        };
        let time = self.json.time_cols.get(k) == Some(&true);
        match span.kind {
            json_scan::Kind::Str if time => {
                let body = v.get(1..v.len().saturating_sub(1)).unwrap_or_default();
                match parse_iso8601(body).or_else(|| parse_epoch(body)) {
                    Some(t) => self.json_time(t, out),
                    None => json_scan::write_str(v, span.escaped, &self.tsv.ofs, false, out),
                }
            }
            json_scan::Kind::Str => {
                json_scan::write_str(v, span.escaped, &self.tsv.ofs, false, out)
            }
            json_scan::Kind::Arr => json_scan::write_array(v, &self.tsv.ofs, out),
            json_scan::Kind::Tok if time => match number_time(v) {
                Some(t) => self.json_time(t, out),
                None => json_scan::write_token(v, out),
            },
            json_scan::Kind::Tok => json_scan::write_token(v, out),
        }
    }

    fn json_time(&mut self, t: Nanos, out: &mut Vec<u8>) {
        if self.time.is_some() && self.format_time(t.div_euclid(1_000_000_000), out) {
            return;
        }
        write_epoch(out, t);
    }
}
