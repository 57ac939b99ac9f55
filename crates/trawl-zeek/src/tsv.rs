//! The Zeek TSV reader: header blocks in, rows out, fields split lazily and typed on demand.

use std::borrow::Cow;
use std::io::{self, Read};

use crate::header::{split, Directive, Header};
use crate::lines::{Line, LineReader};
use crate::record::{Field, Problem, Record};
use crate::scan::Splitter;
use crate::value::{check_tsv, parse_tsv, Markers, Value};

/// What the reader found on a line.
#[derive(Debug)]
pub enum TsvEvent<'a> {
    /// A header directive (already applied to the current block) or a comment line.
    Meta {
        line: Line<'a>,
        directive: Option<Directive>,
    },
    /// A data row of the current block.
    Row(Row<'a>),
    /// A line that cannot be a record (a data row before any `#fields`); kept verbatim.
    Stray { line: Line<'a> },
}

/// The state of a TSV stream between lines: the current header block and scratch space.
#[derive(Debug, Default)]
pub struct TsvState {
    /// The log type of blocks that have no `#path` (usually from the file name).
    default_path: Option<String>,
    header: Header,
    generation: u64,
    spans: Vec<(usize, usize)>,
    /// Splits rows of a one-byte separator 16 bytes a step, for a separator and field count.
    splitter: Option<(u8, usize, Splitter)>,
    problems: Vec<Problem>,
}

impl TsvState {
    /// The current header block.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Names the log type of blocks without a `#path` line.
    pub fn set_default_path(&mut self, path: &str) {
        self.default_path = Some(path.to_string());
        if self.generation == 0 {
            self.header.path = self.default_path.clone();
        }
    }

    /// Increases each time a new header block starts (0: none yet).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the current block declares columns, so data rows can be read.
    pub fn has_fields(&self) -> bool {
        !self.header.fields.is_empty()
    }

    /// Problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    /// Starts a block from a line of bare field names, as Zeek writes with the ASCII writer's
    /// `tsv=T` option (no `#` header). `ts` and `_write_ts` are times; the rest strings.
    pub fn start_from_names(&mut self, text: &[u8], path: &str) -> bool {
        if !looks_like_names(text) {
            return false;
        }
        let mut h = Header {
            path: Some(path.to_string()),
            ..Header::default()
        };
        h.apply(Directive::Fields, text);
        let types: Vec<&[u8]> = h
            .fields
            .iter()
            .map(|f| match f.as_str() {
                "ts" | "_write_ts" => &b"time"[..],
                _ => &b"string"[..],
            })
            .collect();
        h.apply(Directive::Types, &types.join(&b'\t'));
        self.header = h;
        self.generation += 1;
        true
    }

    /// Reads one line in the context of the current block.
    pub fn feed<'a>(&'a mut self, line: Line<'a>) -> TsvEvent<'a> {
        let h = &mut self.header;
        let text = line.text;
        if let Some((mut nh, warn)) = Header::from_separator_line(text) {
            {
                nh.path = self.default_path.clone();
                *h = nh;
                self.generation += 1;
                if let Some(reason) = warn {
                    self.problems.push(Problem {
                        line: line.no,
                        reason,
                    });
                }
                return TsvEvent::Meta {
                    line,
                    directive: Some(Directive::Separator),
                };
            }
        }
        if text.starts_with(&h.prefix) || (self.generation == 0 && text.first() == Some(&b'#')) {
            if let Some((d, v, delim)) = h.directive(text) {
                if let Some(reason) = h.apply_with(d, v, delim) {
                    self.problems.push(Problem {
                        line: line.no,
                        reason,
                    });
                }
                return TsvEvent::Meta {
                    line,
                    directive: Some(d),
                };
            }
            if h.fields.is_empty() || text.starts_with(b"##") {
                return TsvEvent::Meta {
                    line,
                    directive: None,
                };
            }
        }
        if h.fields.is_empty() {
            self.problems.push(Problem {
                line: line.no,
                reason: "data row before any #fields header".into(),
            });
            return TsvEvent::Stray { line };
        }
        if text.is_empty() && h.fields.len() > 1 {
            // Zeek never writes blank lines; one in a block of several columns is no record.
            return TsvEvent::Meta {
                line,
                directive: None,
            };
        }
        let n = h.fields.len();
        let mut split_fast = false;
        if let [sep] = h.separator[..] {
            if !matches!(&self.splitter, Some((s, k, _)) if *s == sep && *k == n) {
                // One field more than declared, so longer rows are told apart.
                self.splitter = Some((sep, n, Splitter::new(sep, vec![true; n + 1])));
            }
            if let Some((_, _, sp)) = &self.splitter {
                self.spans.resize(n + 1, (0, 0));
                let (found, _) = sp.split(text, &mut self.spans);
                // Past `n`, the splitter stops counting: the exact count comes from below.
                split_fast = found <= n;
                self.spans.truncate(found);
            }
        }
        if !split_fast {
            self.spans.clear();
            let mut at = 0usize;
            for f in split(text, &h.separator) {
                self.spans.push((at, at + f.len()));
                at += f.len() + h.separator.len();
            }
        }
        if self.spans.len() != h.fields.len() {
            self.problems.push(Problem {
                line: line.no,
                reason: format!(
                    "row has {} fields, #fields declares {}",
                    self.spans.len(),
                    h.fields.len()
                ),
            });
        }
        TsvEvent::Row(Row {
            line,
            header: h,
            spans: &self.spans,
        })
    }
}

/// Whether the first line of a log is the field names of a header-less Zeek TSV log (`ts`
/// `uid` ... tab-separated): such a line is its header, not a record. The line may end in
/// `\n` or `\r\n`.
pub fn is_names_line(line: &[u8]) -> bool {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    looks_like_names(text.strip_suffix(b"\r").unwrap_or(text))
}

/// Whether a line is only tab-separated field names, one of them `ts` or `uid`.
pub(crate) fn looks_like_names(text: &[u8]) -> bool {
    let mut n = 0;
    let mut key = false;
    for f in text.split(|&b| b == b'\t') {
        let ident = f
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && f.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'));
        if !ident {
            return false;
        }
        key |= f == b"ts" || f == b"uid";
        n += 1;
    }
    n >= 2 && key
}

/// Reads a stream of Zeek TSV, possibly holding several header blocks of different log types.
pub struct TsvReader<R> {
    lines: LineReader<R>,
    state: TsvState,
}

impl<R: Read> TsvReader<R> {
    /// Reads TSV from `src`.
    pub fn new(src: R) -> Self {
        TsvReader {
            lines: LineReader::new(src),
            state: TsvState::default(),
        }
    }

    /// The current header block.
    pub fn header(&self) -> &Header {
        self.state.header()
    }

    /// Problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        self.state.take_problems()
    }

    /// The next event, or `None` at the end of the stream.
    pub fn next_event(&mut self) -> io::Result<Option<TsvEvent<'_>>> {
        match self.lines.next_line()? {
            Some(line) => Ok(Some(self.state.feed(line))),
            None => Ok(None),
        }
    }
}

/// A data row: the raw line and where its fields are. Nothing is decoded until asked.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub line: Line<'a>,
    pub header: &'a Header,
    spans: &'a [(usize, usize)],
}

impl<'a> Row<'a> {
    /// Number of fields on the line.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the line has no fields at all (never true: an empty line is one empty field).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The raw (still escaped) bytes of field `i`.
    pub fn raw(&self, i: usize) -> Option<&'a [u8]> {
        let &(a, b) = self.spans.get(i)?;
        self.line.text.get(a..b)
    }

    /// Field `i` typed by `#types`. A mismatch yields [`Value::Invalid`] and a problem.
    pub fn value(&self, i: usize) -> Option<(Value<'a>, Option<Problem>)> {
        let raw = self.raw(i)?;
        let (v, reason) = decode_field(self.header, &self.header.markers(), i, raw);
        Some((
            v,
            reason.map(|reason| Problem {
                line: self.line.no,
                reason,
            }),
        ))
    }

    /// The whole row as a format-independent record ([`decode_row`]); problems are appended
    /// to `problems`.
    pub fn to_record(&self, problems: &mut Vec<Problem>) -> Record<'a> {
        let raws = (0..self.len()).filter_map(|i| self.raw(i));
        decode_fields(self.header, raws, self.line.no, problems)
    }

    /// Reports the fields that do not match their declared type, as [`Row::to_record`]
    /// would, without decoding anything: for readers that keep rows raw (`trawl run`).
    pub fn check(&self, problems: &mut Vec<Problem>) {
        let h = self.header;
        let m = h.markers();
        let n = self.len().min(h.fields.len());
        for &i in h.checked.iter().take_while(|&&i| i < n) {
            let Some(raw) = self.raw(i) else { break };
            if let Err(e) = check_tsv(raw, h.type_of(i), &m) {
                problems.push(Problem {
                    line: self.line.no,
                    reason: format!("field {}: {e}", h.fields[i]),
                });
            }
        }
    }
}

/// The name of column `i` of a row of `h`: its `#fields` name, or `_extra1`, `_extra2` ...
/// for values past the declared ones. Every reader names surplus values so.
pub fn field_name(h: &Header, i: usize) -> Cow<'_, str> {
    match h.fields.get(i) {
        Some(n) => Cow::Borrowed(n.as_str()),
        None => Cow::Owned(format!("_extra{}", i + 1 - h.fields.len())),
    }
}

/// Column `i` of a row of `h`, typed by `#types`: the one decoding of a raw TSV value. A
/// value that does not match its type is kept, unescaped, as [`Value::Invalid`], with the
/// problem's reason.
pub fn decode_field<'a>(
    h: &Header,
    m: &Markers,
    i: usize,
    raw: &'a [u8],
) -> (Value<'a>, Option<String>) {
    let ty = h.type_of(i);
    match parse_tsv(raw, ty, m) {
        Ok(v) => (v, None),
        Err(e) => (
            Value::Invalid(crate::escape::unescape(raw).0),
            Some(format!("field {}: {e}", field_name(h, i))),
        ),
    }
}

/// A raw TSV row of `h` (without its line terminator) as a record, fields named by
/// [`field_name`] and typed by [`decode_field`]; problems are appended with line `no`.
pub fn decode_row<'a>(
    h: &'a Header,
    line: &'a [u8],
    no: u64,
    problems: &mut Vec<Problem>,
) -> Record<'a> {
    decode_fields(h, split(line, &h.separator), no, problems)
}

fn decode_fields<'a>(
    h: &'a Header,
    raws: impl Iterator<Item = &'a [u8]>,
    no: u64,
    problems: &mut Vec<Problem>,
) -> Record<'a> {
    let path = h.path.as_deref().unwrap_or("unknown");
    let mut rec = Record {
        path: Cow::Borrowed(path),
        fields: Vec::with_capacity(h.fields.len()),
    };
    let m = h.markers();
    for (i, raw) in raws.enumerate() {
        let (value, reason) = decode_field(h, &m, i, raw);
        problems.extend(reason.map(|reason| Problem { line: no, reason }));
        rec.fields.push(Field {
            name: field_name(h, i),
            ty: h.type_of(i),
            value,
        });
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tquery\tanswers\n#types\ttime\tstring\tvector[string]\n1.5\ta\\x09b\tx,y\n2.0\t-\t(empty)\n#close\t2020\n3.0\tc\t-";

    fn rows(input: &str) -> (Vec<Record<'static>>, Vec<Problem>) {
        let mut r = TsvReader::new(input.as_bytes());
        let mut out = Vec::new();
        let mut probs = Vec::new();
        while let Some(ev) = r.next_event().unwrap() {
            if let TsvEvent::Row(row) = ev {
                out.push(row.to_record(&mut probs).into_owned());
            }
        }
        probs.extend(r.take_problems());
        (out, probs)
    }

    #[test]
    fn reads_rows_after_close_and_without_final_newline() {
        let (recs, probs) = rows(LOG);
        assert!(probs.is_empty(), "{probs:?}");
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].get("query"), Some(&Value::Str(b"a\tb"[..].into())));
        assert_eq!(recs[1].get("query"), Some(&Value::Unset));
        assert_eq!(recs[1].get("answers"), Some(&Value::List(vec![])));
        assert_eq!(recs[2].path, "dns");
    }

    #[test]
    fn bad_values_are_kept_and_reported() {
        let input = LOG.replace("1.5\t", "XXXX.XX\t");
        let (recs, probs) = rows(&input);
        assert_eq!(recs.len(), 3);
        assert_eq!(
            recs[0].get("ts"),
            Some(&Value::Invalid(b"XXXX.XX"[..].into()))
        );
        assert_eq!(probs.len(), 1);
        assert_eq!(probs[0].line, 8);
    }

    #[test]
    fn stray_rows_and_short_rows_are_reported() {
        let (recs, probs) = rows("#separator \\x09\nhi\n#fields\ta\tb\nx\n");
        assert_eq!(recs.len(), 1);
        assert_eq!(probs.len(), 2);
    }

    #[test]
    fn rows_split_the_same_whatever_their_length_and_separator() {
        // Rows short, exact, one and several fields too long, long fields (past one 16-byte
        // step), empty fields; then the same rows under a two-byte separator.
        let long = "x".repeat(40);
        let body = format!("a\nb\t\t\nb\tc\t\nb\tc\td\te\n\tc\td\te\tf\n{long}\t\t{long}\n");
        let tab = format!("#separator \\x09\n#fields\tp\tq\tr\n{body}");
        let expect = |input: &str, sep: &str| {
            let mut r = TsvReader::new(input.as_bytes());
            let mut got = Vec::new();
            while let Some(ev) = r.next_event().unwrap() {
                if let TsvEvent::Row(row) = ev {
                    let fields: Vec<&[u8]> = (0..row.len()).filter_map(|i| row.raw(i)).collect();
                    let text = String::from_utf8_lossy(row.line.text).into_owned();
                    let want: Vec<&[u8]> = text.split(sep).map(str::as_bytes).collect();
                    assert_eq!(fields, want, "{text:?}");
                    got.push(fields.len());
                }
            }
            let probs: Vec<String> = r.take_problems().into_iter().map(|p| p.reason).collect();
            (got, probs)
        };
        let (lens, probs) = expect(&tab, "\t");
        assert_eq!(lens, [1, 3, 3, 4, 5, 3]);
        assert_eq!(
            probs,
            [
                "row has 1 fields, #fields declares 3",
                "row has 4 fields, #fields declares 3",
                "row has 5 fields, #fields declares 3"
            ]
        );
        let two = format!(
            "#separator ||\n#fields||p||q||r\n{}",
            body.replace('\t', "||")
        );
        assert_eq!(expect(&two, "||"), (lens, probs));
    }

    #[test]
    fn check_reports_what_decoding_reports() {
        let log = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tid.orig_h\tquery\trtt\tTTLs\tAA\n#types\ttime\taddr\tstring\tinterval\tvector[interval]\tbool\n1.0\t10.0.0.1\tex\\x09ample.com\tnotanumber\t1.0,x\tT\n2.0\tnot-an-ip\tbad\\x7zz.com\t-\t(empty)\tmaybe\n3.0\t::1\ta\t0.5\t1.0,-\tF\textra\n";
        let mut r = TsvReader::new(log.as_bytes());
        let (mut checked, mut decoded) = (Vec::new(), Vec::new());
        let mut names = Vec::new();
        while let Some(ev) = r.next_event().unwrap() {
            if let TsvEvent::Row(row) = ev {
                row.check(&mut checked);
                let rec = row.to_record(&mut decoded);
                names.extend(rec.fields.iter().map(|f| f.name.to_string()));
            }
        }
        let text = |p: &[Problem]| -> Vec<String> {
            p.iter()
                .map(|p| format!("{}: {}", p.line, p.reason))
                .collect()
        };
        assert_eq!(text(&checked), text(&decoded));
        assert_eq!(checked.len(), 4, "{:?}", text(&checked));
        assert!(names.contains(&"_extra1".to_string()));
    }
}
