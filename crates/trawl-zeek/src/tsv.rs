//! The Zeek TSV reader: header blocks in, rows out, fields split lazily and typed on demand.

use std::borrow::Cow;
use std::io::{self, Read};

use crate::header::{split, Directive, Header};
use crate::lines::{Line, LineReader};
use crate::record::{Field, Problem, Record};
use crate::value::{parse_tsv, Value};

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

/// Reads a stream of Zeek TSV, possibly holding several header blocks of different log types.
pub struct TsvReader<R> {
    lines: LineReader<R>,
    header: Header,
    generation: u64,
    spans: Vec<(u32, u32)>,
    problems: Vec<Problem>,
}

impl<R: Read> TsvReader<R> {
    /// Reads TSV from `src`.
    pub fn new(src: R) -> Self {
        Self::from_lines(LineReader::new(src))
    }

    /// Reads TSV from an already opened line reader (after format detection peeked into it).
    pub fn from_lines(lines: LineReader<R>) -> Self {
        TsvReader {
            lines,
            header: Header::default(),
            generation: 0,
            spans: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The current header block.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Increases each time a new header block starts.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.lines.bytes()
    }

    /// The next event, or `None` at the end of the stream.
    pub fn next_event(&mut self) -> io::Result<Option<TsvEvent<'_>>> {
        let Some(line) = self.lines.next_line()? else {
            return Ok(None);
        };
        let h = &mut self.header;
        let text = line.text;
        if text.starts_with(&h.prefix) || (self.generation == 0 && text.first() == Some(&b'#')) {
            if let Some((nh, warn)) = Header::from_separator_line(text) {
                *h = nh;
                self.generation += 1;
                if let Some(reason) = warn {
                    self.problems.push(Problem {
                        line: line.no,
                        reason,
                    });
                }
                return Ok(Some(TsvEvent::Meta {
                    line,
                    directive: Some(Directive::Separator),
                }));
            }
            if let Some((d, v)) = h.directive(text) {
                if let Some(reason) = h.apply(d, v) {
                    self.problems.push(Problem {
                        line: line.no,
                        reason,
                    });
                }
                return Ok(Some(TsvEvent::Meta {
                    line,
                    directive: Some(d),
                }));
            }
            if h.fields.is_empty() || text.starts_with(b"##") {
                return Ok(Some(TsvEvent::Meta {
                    line,
                    directive: None,
                }));
            }
        }
        if h.fields.is_empty() {
            self.problems.push(Problem {
                line: line.no,
                reason: "data row before any #fields header".into(),
            });
            return Ok(Some(TsvEvent::Stray { line }));
        }
        self.spans.clear();
        let mut at = 0u32;
        for f in split(text, &h.separator) {
            self.spans.push((at, at + f.len() as u32));
            at += (f.len() + h.separator.len()) as u32;
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
        Ok(Some(TsvEvent::Row(Row {
            line,
            header: h,
            spans: &self.spans,
        })))
    }
}

/// A data row: the raw line and where its fields are. Nothing is decoded until asked.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub line: Line<'a>,
    pub header: &'a Header,
    spans: &'a [(u32, u32)],
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
        Some(&self.line.text[a as usize..b as usize])
    }

    /// Field `i` typed by `#types`. A mismatch yields [`Value::Invalid`] and a problem.
    pub fn value(&self, i: usize) -> Option<(Value<'a>, Option<Problem>)> {
        let raw = self.raw(i)?;
        let ty = self.header.type_of(i);
        Some(match parse_tsv(raw, ty, &self.header.markers()) {
            Ok(v) => (v, None),
            Err(e) => {
                let name = self.header.fields.get(i).map_or("?", |s| s.as_str());
                let v = Value::Invalid(crate::escape::unescape(raw).0);
                (
                    v,
                    Some(Problem {
                        line: self.line.no,
                        reason: format!("field {name}: {e}"),
                    }),
                )
            }
        })
    }

    /// The whole row as a format-independent record; problems are appended to `problems`.
    /// Extra fields beyond `#fields` are kept as `_extra1`, `_extra2` ... strings.
    pub fn to_record(&self, problems: &mut Vec<Problem>) -> Record<'a> {
        let h = self.header;
        let path = h.path.as_deref().unwrap_or("unknown");
        let mut rec = Record {
            path: Cow::Borrowed(path),
            fields: Vec::with_capacity(self.len()),
        };
        for i in 0..self.len() {
            let (value, problem) = self.value(i).unwrap_or((Value::Unset, None));
            problems.extend(problem);
            let name = match h.fields.get(i) {
                Some(n) => Cow::Borrowed(n.as_str()),
                None => Cow::Owned(format!("_extra{}", i + 1 - h.fields.len())),
            };
            rec.fields.push(Field {
                name,
                ty: h.type_of(i),
                value,
            });
        }
        rec
    }
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
}
