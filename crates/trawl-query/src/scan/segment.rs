//! Cutting a buffer of whole lines into blocks of one kind: runs of TSV data rows under one
//! header block, runs of JSON lines, and the header directive lines between them (applied to
//! the current [`Schema`], never handed out as data).
//!
//! Only the rare lines are looked at one by one: the runs are found with `memmem` searches for
//! `\n#` and `\n{`, so a buffer of plain data rows costs two fast scans and a newline count.

use std::sync::Arc;

use trawl_zeek::header::{separator_line_prefix, Directive};
use trawl_zeek::Header;

/// A TSV header block in effect: the parsed header and the directive lines that built it (so
/// a [`trawl_zeek::tsv::TsvState`] can be put in the same state for the general row reader).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    /// The parsed header block (`#fields`, `#types`, separators, markers, `#path`).
    pub header: Header,
    /// The directive lines since the block's `#separator` line, each ending in `\n`.
    pub(crate) raw: Vec<u8>,
}

impl Schema {
    /// Index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.header.index_of(name)
    }

    /// Whether rows under `self` and under `other` read the same way (the `#open` time and the
    /// raw lines may differ).
    pub fn same_rows(&self, other: &Schema) -> bool {
        let (a, b) = (&self.header, &other.header);
        a.prefix == b.prefix
            && a.separator == b.separator
            && a.set_separator == b.set_separator
            && a.empty_field == b.empty_field
            && a.unset_field == b.unset_field
            && a.path == b.path
            && a.fields == b.fields
            && a.type_names == b.type_names
    }
}

/// The kind of a segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SegKind {
    /// TSV data rows under this schema.
    Tsv(Arc<Schema>),
    /// Lines starting with `{` (one JSON object each; others are reported when read).
    Json,
    /// Rows before any `#fields` header: each is reported, none is a record. `blanks`: blank
    /// lines are reported too (after a header line, as the record reader does).
    Stray { blanks: bool },
}

/// A run of lines of one kind inside a buffer.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub kind: SegKind,
    pub start: usize,
    pub end: usize,
    /// Lines before this segment in the buffer.
    pub line_offset: u64,
    /// Lines in the segment.
    pub lines: u64,
}

/// What a buffer held.
#[derive(Debug, Default)]
pub(crate) struct Segments {
    pub segs: Vec<Segment>,
    /// Lines in the buffer (a last line without `\n` counts).
    pub lines: u64,
    /// Problems met in header lines: (line offset in the buffer, reason).
    pub problems: Vec<(u64, String)>,
}

/// The header state between buffers: the schema in effect and the one being built by a run
/// of directive lines.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    /// Log type for header blocks without `#path` (from the file name).
    pub default_path: Option<String>,
    pub schema: Option<Arc<Schema>>,
    /// Directive lines applied since the last data row (not yet frozen into an `Arc`).
    building: Option<Schema>,
    /// Whether a header line has been seen at all (TsvState's `generation > 0`).
    pub seen_header: bool,
    /// Whether the last record line was JSON: until the next header line, lines are read as
    /// JSON (a TSV row there is no record), as the record reader does.
    pub in_json: bool,
    /// Whether a header line came since the last JSON line (the record reader's "in TSV"):
    /// then a `{` line must be a whole object to be JSON, and a blank line is a row.
    pub tsv_mode: bool,
}

/// Counts `\n` bytes: 16 at a time with SSE2 (every x86_64 has it), summed every 255 steps.
#[cfg(target_arch = "x86_64")]
pub(crate) fn count_newlines(s: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let mut total = 0u64;
    let mut chunks = s.chunks_exact(16 * 255);
    for big in &mut chunks {
        // SAFETY: SSE2 is part of the x86_64 baseline; every load reads 16 bytes inside `big`.
        unsafe {
            let nl = _mm_set1_epi8(b'\n' as i8);
            let mut acc = _mm_setzero_si128();
            for c in big.chunks_exact(16) {
                let v = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
                acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
            }
            let sad = _mm_sad_epu8(acc, _mm_setzero_si128());
            let hi = _mm_unpackhi_epi64(sad, sad);
            total += (_mm_cvtsi128_si64(sad) + _mm_cvtsi128_si64(hi)) as u64;
        }
    }
    let rest = chunks.remainder();
    total + memchr::memchr_iter(b'\n', rest).count() as u64
}

/// Counts `\n` bytes.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn count_newlines(s: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', s).count() as u64
}

/// Lines in a buffer of whole lines: newlines, plus one for a last line without its `\n`.
pub(crate) fn line_count(s: &[u8]) -> u64 {
    count_newlines(s) + u64::from(!s.is_empty() && !s.ends_with(b"\n"))
}

/// Whether a TSV-mode line is a JSON object (as the record reader decides it).
pub(crate) fn looks_like_json(text: &[u8]) -> bool {
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    text.starts_with(b"{\"") && text.ends_with(b"}")
}

/// The line starting at `at`, without its terminator, and the index after it.
pub(crate) fn line_at(s: &[u8], at: usize) -> (&[u8], usize) {
    let rest = &s[at..];
    match memchr::memchr(b'\n', rest) {
        Some(i) => {
            let t = &rest[..i];
            (t.strip_suffix(b"\r").unwrap_or(t), at + i + 1)
        }
        None => (rest.strip_suffix(b"\r").unwrap_or(rest), s.len()),
    }
}

/// A cached forward search: the next match at or after a position (positions only grow).
struct Next<'f> {
    finder: &'f memchr::memmem::Finder<'static>,
    at: Option<usize>,
    exhausted: bool,
}

impl Next<'_> {
    fn find(&mut self, s: &[u8], from: usize) -> Option<usize> {
        match self.at {
            Some(a) if a >= from => return Some(a),
            None if self.exhausted => return None,
            _ => {}
        }
        let found = s
            .get(from..)
            .and_then(|r| self.finder.find(r))
            .map(|i| from + i);
        self.at = found;
        self.exhausted = found.is_none();
        found
    }
}

fn finders() -> &'static (
    memchr::memmem::Finder<'static>,
    memchr::memmem::Finder<'static>,
) {
    static F: std::sync::OnceLock<(
        memchr::memmem::Finder<'static>,
        memchr::memmem::Finder<'static>,
    )> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        (
            memchr::memmem::Finder::new(b"\n#"),
            memchr::memmem::Finder::new(b"\n{"),
        )
    })
}

/// What a line starting with the meta prefix is.
enum Meta {
    /// A directive (applied).
    Directive,
    /// A comment (`##...`, or any `#` line before a header block has fields).
    Comment,
    /// Not meta after all: a data row that happens to start with `#`.
    Data,
}

impl Tracker {
    /// A tracker starting in `schema` (`None`: before any header).
    pub fn new(default_path: Option<String>, schema: Option<Arc<Schema>>) -> Tracker {
        Tracker {
            default_path,
            seen_header: schema.is_some(),
            schema,
            building: None,
            in_json: false,
            tsv_mode: false,
        }
    }

    /// The schema in effect (freezing one under construction).
    pub fn current(&mut self) -> Option<Arc<Schema>> {
        if let Some(b) = self.building.take() {
            self.schema = Some(Arc::new(b));
        }
        self.schema.clone()
    }

    fn prefix(&self) -> &[u8] {
        match (&self.building, &self.schema) {
            (Some(b), _) => &b.header.prefix,
            (None, Some(s)) => &s.header.prefix,
            (None, None) => b"#",
        }
    }

    fn has_fields(&self) -> bool {
        match (&self.building, &self.schema) {
            (Some(b), _) => !b.header.fields.is_empty(),
            (None, Some(s)) => !s.header.fields.is_empty(),
            (None, None) => false,
        }
    }

    /// Reads a line that starts with `#` (or the block's prefix), as TsvState does.
    fn meta(&mut self, text: &[u8], problems: &mut Vec<String>) -> Meta {
        if let Some((mut h, warn)) = Header::from_separator_line(text) {
            h.path = self.default_path.clone();
            problems.extend(warn);
            self.building = Some(Schema {
                header: h,
                raw: line_with_nl(text),
            });
            self.seen_header = true;
            return Meta::Directive;
        }
        let first_hash = !self.seen_header && text.first() == Some(&b'#');
        if !(text.starts_with(self.prefix()) || first_hash) {
            return Meta::Data;
        }
        let cur = match (&self.building, &self.schema) {
            (Some(b), _) => &b.header,
            (None, Some(s)) => &s.header,
            (None, None) => &Header::default(),
        };
        if let Some((d, v, delim)) = cur.directive(text) {
            let mut b = match self.building.take() {
                Some(b) => b,
                None => match &self.schema {
                    Some(s) => Schema::clone(s),
                    None => Schema {
                        header: Header {
                            path: self.default_path.clone(),
                            ..Header::default()
                        },
                        raw: Vec::new(),
                    },
                },
            };
            if d != Directive::Close {
                b.raw.extend_from_slice(&line_with_nl(text));
            }
            problems.extend(b.header.apply_with(d, v, delim));
            self.building = Some(b);
            return Meta::Directive;
        }
        if !self.has_fields() || text.starts_with(b"##") {
            return Meta::Comment;
        }
        Meta::Data
    }

    /// Cuts `s` (whole lines) into segments, applying header lines as they come.
    pub fn segment(&mut self, s: &[u8]) -> Segments {
        let (hash_f, brace_f) = finders();
        let mut hash = Next {
            finder: hash_f,
            at: None,
            exhausted: false,
        };
        let mut brace = Next {
            finder: brace_f,
            at: None,
            exhausted: false,
        };
        let mut out = Segments::default();
        let mut pos = 0;
        let mut line = 0u64;
        let mut warn = Vec::new();
        // Lines are counted per segment or line, so line numbers stay exact.
        while pos < s.len() {
            let first = s[pos];
            let prefix_first = self.prefix().first().copied().unwrap_or(b'#');
            if first == b'#' || first == prefix_first {
                let (text, next) = line_at(s, pos);
                let meta = self.meta(text, &mut warn);
                if !matches!(meta, Meta::Data) || self.in_json {
                    // A directive, a comment, or (after JSON lines) a `#` line read as one.
                    if matches!(meta, Meta::Directive) {
                        self.in_json = false;
                        self.tsv_mode = true;
                    }
                    out.problems.extend(warn.drain(..).map(|w| (line, w)));
                    pos = next;
                    line += 1;
                    continue;
                }
            }
            let (text, next) = line_at(s, pos);
            let in_tsv = self.tsv_mode && !self.in_json;
            let json = if in_tsv {
                looks_like_json(text)
            } else {
                trim_ws(text).first() == Some(&b'{')
            };
            // A blank line is no record (Zeek writes none), except in a one-column block where
            // it is an empty value, and before any `#fields` (a stray row, as the record
            // reader sees it). Blank lines inside a run are skipped by the readers.
            let blank_row = in_tsv && self.field_count() <= 1;
            if text.is_empty() && !blank_row {
                pos = next;
                line += 1;
                continue;
            }
            let kind = if json || self.in_json {
                self.in_json = true;
                self.tsv_mode = false;
                SegKind::Json
            } else if self.has_fields() {
                SegKind::Tsv(self.current().unwrap_or_default())
            } else {
                SegKind::Stray { blanks: in_tsv }
            };
            // The run goes on to the next line that may start something else.
            let mut end = next;
            loop {
                if end >= s.len() {
                    break;
                }
                let h = hash.find(s, end - 1);
                let b = match kind {
                    SegKind::Tsv(_) | SegKind::Stray { .. } => brace.find(s, end - 1),
                    SegKind::Json => None,
                };
                let stop = match (h, b) {
                    (Some(h), Some(b)) => h.min(b),
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => {
                        end = s.len();
                        break;
                    }
                };
                let cand = stop + 1;
                // Is the line at `cand` really the start of something else?
                let (ctext, cnext) = line_at(s, cand);
                let other = match s[cand] {
                    b'#' if kind == SegKind::Json => true,
                    b'#' => self.would_be_meta(ctext),
                    _ => match kind {
                        SegKind::Json => false,
                        _ if self.has_fields() => looks_like_json(ctext),
                        _ => true,
                    },
                };
                if other {
                    end = cand;
                    break;
                }
                end = cnext;
            }
            let lines = line_count(&s[pos..end]);
            out.segs.push(Segment {
                kind,
                start: pos,
                end,
                line_offset: line,
                lines,
            });
            line += lines;
            pos = end;
        }
        out.lines = line;
        out
    }

    /// Whether lines after this point read as after `other` (same schema, finished or not,
    /// and the same JSON mode).
    pub fn same_state(&self, other: &Tracker) -> bool {
        let theirs = match (&other.building, &other.schema) {
            (Some(b), _) => Some(b),
            (None, Some(s)) => Some(s.as_ref()),
            (None, None) => None,
        };
        self.in_json == other.in_json && self.tsv_mode == other.tsv_mode && self.same_as(theirs)
    }

    /// Whether rows after this point read as under `h0` (the tracker's header, finished or
    /// not, has the same schema).
    pub fn same_as(&self, h0: Option<&Schema>) -> bool {
        let cur = match (&self.building, &self.schema) {
            (Some(b), _) => Some(b),
            (None, Some(s)) => Some(s.as_ref()),
            (None, None) => None,
        };
        match (cur, h0) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same_rows(b),
            _ => false,
        }
    }

    fn field_count(&self) -> usize {
        match (&self.building, &self.schema) {
            (Some(b), _) => b.header.fields.len(),
            (None, Some(s)) => s.header.fields.len(),
            (None, None) => 0,
        }
    }

    /// Whether a `#` line would be read as a directive or comment (without applying it).
    fn would_be_meta(&self, text: &[u8]) -> bool {
        if separator_line_prefix(text).is_some() {
            return true;
        }
        let cur = match (&self.building, &self.schema) {
            (Some(b), _) => &b.header,
            (None, Some(s)) => &s.header,
            (None, None) => return true,
        };
        if !text.starts_with(&cur.prefix) && self.seen_header {
            return false;
        }
        cur.directive(text).is_some() || !self.has_fields() || text.starts_with(b"##")
    }
}

fn trim_ws(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .count();
    &s[n..]
}

fn line_with_nl(text: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 1);
    v.extend_from_slice(text);
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1\ta\n2\tb\n#close\tx\n{\"a\":1}\n{\"a\":2}\n3\tc\n";

    #[test]
    fn runs_and_lines() {
        let mut t = Tracker::new(Some("dns".into()), None);
        let segs = t.segment(LOG);
        let kinds: Vec<_> = segs
            .segs
            .iter()
            .map(|s| {
                (
                    match s.kind {
                        SegKind::Tsv(_) => "tsv",
                        SegKind::Json => "json",
                        SegKind::Stray { .. } => "stray",
                    },
                    s.line_offset,
                    s.lines,
                )
            })
            .collect();
        assert_eq!(kinds, vec![("tsv", 7, 2), ("json", 10, 3)]);
        assert_eq!(segs.lines, 13);
        let SegKind::Tsv(s) = &segs.segs[0].kind else {
            panic!()
        };
        assert_eq!(s.header.fields, ["ts", "query"]);
    }

    #[test]
    fn counts_newlines() {
        let s: Vec<u8> = (0..20000u32)
            .map(|i| if i % 7 == 0 { b'\n' } else { b'a' })
            .collect();
        assert_eq!(
            count_newlines(&s),
            s.iter().filter(|&&b| b == b'\n').count() as u64
        );
    }
}
