//! What travels through the pipeline: a record as read, plus the fields added on the way.

use std::borrow::Cow;
use std::sync::Arc;

use trawl_zeek::json::{self, line::Flat};
use trawl_zeek::scan::Splitter;
use trawl_zeek::value::write_json_str;
use trawl_zeek::{Field, Header, Record, Value, ZeekType};

/// The record itself, in the cheapest form its source can give.
#[derive(Debug, Clone)]
pub enum Body {
    /// A Zeek TSV row kept as read (without its line terminator), with its header block:
    /// written back to TSV without being parsed; fields are parsed only when asked for.
    Tsv { header: Arc<Header>, line: Vec<u8> },
    /// A one-line Zeek JSON record kept as read (accepted by [`json::line::scan`]), its log
    /// type resolved: written back to JSON as read, fields parsed only when asked for.
    Json {
        line: Vec<u8>,
        flat: Flat,
        path: Arc<str>,
    },
    /// A record read from JSON, dnsmasq, syslog or Kafka.
    Record(Record<'static>),
}

/// One record in the pipeline.
#[derive(Debug, Clone)]
pub struct Event {
    pub body: Body,
    /// Fields added by transforms (scores, host attribution, intel), after the record's own.
    pub extra: Vec<Field<'static>>,
    /// Where the record was read, relative to its source's root (e.g. `current/dns.log`), so
    /// file sinks can write the enriched log under the same name; `None` for streams.
    pub origin: Option<Arc<str>>,
}

impl Event {
    /// An event for a record.
    pub fn record(record: Record<'static>) -> Self {
        Event {
            body: Body::Record(record),
            extra: Vec::new(),
            origin: None,
        }
    }

    /// An event for a raw TSV row of `header`'s block.
    pub fn tsv(header: Arc<Header>, line: Vec<u8>) -> Self {
        Event {
            body: Body::Tsv { header, line },
            extra: Vec::new(),
            origin: None,
        }
    }

    /// An event for a JSON line kept as read; `path` is its log type.
    pub fn json(line: Vec<u8>, flat: Flat, path: Arc<str>) -> Self {
        Event {
            body: Body::Json { line, flat, path },
            extra: Vec::new(),
            origin: None,
        }
    }

    /// Names the file the record came from (see [`Event::origin`]).
    pub fn with_origin(mut self, origin: Arc<str>) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The log type (`dns`, `conn` ...).
    pub fn log_type(&self) -> &str {
        match &self.body {
            Body::Tsv { header, .. } => header.path.as_deref().unwrap_or("unknown"),
            Body::Json { path, .. } => path,
            Body::Record(r) => &r.path,
        }
    }

    /// A field by name, typed: the record's own first, then the added ones.
    pub fn get(&self, name: &str) -> Option<Value<'_>> {
        let own = match &self.body {
            Body::Tsv { header, line } => header
                .index_of(name)
                .and_then(|i| tsv_field(header, line, i)),
            Body::Json { line, flat, .. } => json::line::members(line, flat)
                .find(|(k, _)| *k == name.as_bytes())
                .map(|(_, raw)| json::line::field(name, raw).1),
            Body::Record(r) => r.get(name).map(Value::borrowed),
        };
        own.or_else(|| {
            self.extra
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.value.borrowed())
        })
    }

    /// Adds a field (replacing an added one of the same name).
    pub fn add(&mut self, name: impl Into<Cow<'static, str>>, ty: ZeekType, value: Value<'static>) {
        let name = name.into();
        match self.extra.iter_mut().find(|f| f.name == name) {
            Some(f) => {
                f.ty = ty;
                f.value = value;
            }
            None => self.extra.push(Field { name, ty, value }),
        }
    }

    /// A record of only the named fields (those present), parsing nothing else: what a
    /// transform needs from a raw TSV row, at a fraction of [`Event::to_record`]'s cost.
    pub fn project(&self, names: &[&'static str]) -> Record<'static> {
        self.project_with(&mut Projection::new(names))
    }

    /// [`Event::project`] reusing the column positions found for the previous event of the
    /// same header block (consecutive rows almost always share one).
    pub fn project_with(&self, p: &mut Projection) -> Record<'static> {
        self.project_view(p).into_owned()
    }

    /// [`Event::project_with`] borrowing from the event: for a step that reads the fields and
    /// keeps nothing of them, no text is copied.
    pub fn project_view(&self, p: &mut Projection) -> Record<'_> {
        match &self.body {
            Body::Record(r) => {
                let mut out = Record::new(Cow::Borrowed(&*r.path));
                out.fields = r
                    .fields
                    .iter()
                    .filter(|f| p.names.iter().any(|n| n == &f.name))
                    .map(Field::borrowed)
                    .collect();
                out
            }
            Body::Json { line, flat, path } => {
                let mut out = Record::new(Cow::Borrowed(&**path));
                for (k, raw) in json::line::members(line, flat) {
                    if let Some(&name) = p.names.iter().find(|n| n.as_bytes() == k) {
                        let (ty, value) = json::line::field(name, raw);
                        out.push(Cow::Borrowed(name), ty, value);
                    }
                }
                out
            }
            Body::Tsv { header, line } => {
                let cols = p.columns(header);
                let mut out =
                    Record::new(Cow::Borrowed(header.path.as_deref().unwrap_or("unknown")));
                out.fields.reserve(cols.len());
                let markers = header.markers();
                let mut want = cols.iter().peekable();
                for (i, raw) in trawl_zeek::header::split(line, &header.separator).enumerate() {
                    let Some(&&(c, name, _)) = want.peek() else {
                        break;
                    };
                    if i != c {
                        continue;
                    }
                    want.next();
                    let (value, _) = trawl_zeek::tsv::decode_field(header, &markers, i, raw);
                    out.push(Cow::Borrowed(name), header.type_of(i), value);
                }
                out
            }
        }
    }

    /// The whole event as a record: own fields, then added ones. Values that do not match
    /// their declared type are kept as [`Value::Invalid`].
    pub fn to_record(&self) -> Record<'static> {
        self.view().into_owned()
    }

    /// [`Event::to_record`] borrowing from the event: what a sink that only writes the
    /// record out needs, without copying its text.
    pub fn view(&self) -> Record<'_> {
        let mut rec = match &self.body {
            Body::Tsv { header, line } => {
                trawl_zeek::tsv::decode_row(header, line, 0, &mut Vec::new())
            }
            Body::Json { line, path, .. } => json::line::record(line, path, 0, &mut Vec::new()),
            Body::Record(r) => Record {
                path: Cow::Borrowed(&r.path),
                fields: r.fields.iter().map(Field::borrowed).collect(),
            },
        };
        // An added field replaces the record's own of that name (records enriched before,
        // read again): one column a name, with the fresh value.
        for f in &self.extra {
            match rec.fields.iter_mut().find(|o| o.name == f.name) {
                Some(o) => *o = f.borrowed(),
                None => rec.fields.push(f.borrowed()),
            }
        }
        rec
    }

    /// Writes the event as one line of Zeek JSON, as [`Record::write_json`] writes
    /// [`Event::to_record`] (`_path` first), without building the record where the body
    /// allows: a JSON line's members are copied as read, the added fields after them. No
    /// trailing newline.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match &self.body {
            Body::Record(r) => r.write_json_with(&self.extra, out),
            Body::Json { line, flat, path } => {
                // A member the added fields replace: the record is rebuilt (rare: records
                // enriched before, read again). The check may err towards rebuilding.
                if self.extra.iter().any(|f| names_member(line, &f.name)) {
                    return self.view().write_json(out);
                }
                let Some(parts) = json::line::members_text(line, flat) else {
                    return self.view().write_json(out);
                };
                // `_path` first, as `Record::write_json` writes it.
                out.extend_from_slice(b"{\"_path\":");
                write_json_str(out, path.as_bytes());
                for part in parts.into_iter().filter(|p| !p.is_empty()) {
                    out.push(b',');
                    out.extend_from_slice(part);
                }
                trawl_zeek::record::write_json_members(self.extra.iter(), out);
                out.push(b'}');
            }
            Body::Tsv { .. } => self.view().write_json(out),
        }
    }
}

/// Whether a JSON line may have a member named `name`: `"name"` followed by a colon (white
/// space allowed between). Asked for every added field of every JSON event, so the searchers
/// are built once per name and thread, not once per call.
fn names_member(line: &[u8], name: &str) -> bool {
    use std::cell::RefCell;
    thread_local! {
        static FINDERS: RefCell<Vec<(Box<str>, memchr::memmem::Finder<'static>)>> =
            const { RefCell::new(Vec::new()) };
    }
    FINDERS.with(|finders| {
        let mut finders = finders.borrow_mut();
        let i = match finders.iter().position(|(n, _)| &**n == name) {
            Some(i) => i,
            None => {
                if finders.len() == 16 {
                    finders.remove(0);
                }
                let quoted = format!("\"{name}\"");
                let finder = memchr::memmem::Finder::new(quoted.as_bytes()).into_owned();
                finders.push((name.into(), finder));
                finders.len() - 1
            }
        };
        let finder = &finders[i].1;
        finder.find_iter(line).any(|at| {
            line[at + finder.needle().len()..]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                == Some(&b':')
        })
    })
}

/// Which columns of a header block hold the fields a transform reads; remembered for the last
/// block seen.
pub struct Projection {
    names: Vec<&'static str>,
    block: Option<(Arc<Header>, Columns)>,
    /// For a one-byte separator: splits rows up to the last wanted column, 16 bytes a step.
    splitter: Option<Splitter>,
    spans: Vec<(usize, usize)>,
    /// The names as JSON keys, searched for in JSON lines kept as read.
    keys: Vec<json::line::KeyFinder>,
}

/// Column index, field name and the name's place in [`Projection::new`]'s list, in column
/// order.
type Columns = Vec<(usize, &'static str, usize)>;

impl Projection {
    /// Fields to keep, by name.
    pub fn new(names: &[&'static str]) -> Self {
        Projection {
            names: names.to_vec(),
            block: None,
            splitter: None,
            spans: Vec::new(),
            keys: names
                .iter()
                .map(|n| json::line::KeyFinder::new(n))
                .collect(),
        }
    }

    /// The values of the named fields of a raw TSV row, borrowed from the line: `out[k]` is
    /// the field named `names[k]` (`None` when the block has no such column). Only those
    /// columns are split off and parsed, and nothing is allocated for scalars without
    /// escapes; a value that does not match its type is [`Value::Invalid`].
    pub fn tsv_values<'l>(
        &mut self,
        header: &Arc<Header>,
        line: &'l [u8],
        out: &mut Vec<Option<Value<'l>>>,
    ) {
        out.clear();
        out.resize(self.names.len(), None);
        self.columns(header);
        let cols = self.block.as_ref().map_or(&[][..], |b| &b.1[..]);
        let Some(&(last, _, _)) = cols.last() else {
            return;
        };
        let markers = header.markers();
        if let Some(sp) = &self.splitter {
            let (found, _) = sp.split(line, &mut self.spans);
            for &(c, _, slot) in cols.iter().take_while(|(c, _, _)| *c < found) {
                let Some(raw) = self.spans.get(c).and_then(|&(a, b)| line.get(a..b)) else {
                    continue;
                };
                out[slot] = Some(trawl_zeek::tsv::decode_field(header, &markers, c, raw).0);
            }
            return;
        }
        let mut want = cols.iter().peekable();
        for (i, raw) in trawl_zeek::header::split(line, &header.separator)
            .take(last + 1)
            .enumerate()
        {
            let Some(&&(c, _, slot)) = want.peek() else {
                break;
            };
            if i != c {
                continue;
            }
            want.next();
            out[slot] = Some(trawl_zeek::tsv::decode_field(header, &markers, i, raw).0);
        }
    }

    /// [`Projection::tsv_values`] for a JSON line kept as read.
    pub fn json_values<'l>(&self, line: &'l [u8], flat: &Flat, out: &mut Vec<Option<Value<'l>>>) {
        out.clear();
        out.extend(
            self.names
                .iter()
                .zip(&self.keys)
                .map(|(n, k)| k.find(line, flat).map(|raw| json::line::field(n, raw).1)),
        );
    }

    fn columns(&mut self, header: &Arc<Header>) -> &[(usize, &'static str, usize)] {
        let same = self
            .block
            .as_ref()
            .is_some_and(|(h, _)| Arc::ptr_eq(h, header));
        if !same {
            let mut cols: Columns = self
                .names
                .iter()
                .enumerate()
                .filter_map(|(k, n)| header.index_of(n).map(|i| (i, *n, k)))
                .collect();
            cols.sort_unstable();
            self.splitter = match (&header.separator[..], cols.last()) {
                (&[sep], Some(&(last, _, _))) => {
                    let mut want = vec![false; last + 1];
                    for &(c, _, _) in &cols {
                        want[c] = true;
                    }
                    self.spans.resize(last + 1, (0, 0));
                    Some(Splitter::new(sep, want))
                }
                _ => None,
            };
            self.block = Some((header.clone(), cols));
        }
        self.block.as_ref().map_or(&[], |b| &b.1)
    }
}

fn tsv_field<'a>(header: &Header, line: &'a [u8], i: usize) -> Option<Value<'a>> {
    let raw = trawl_zeek::header::split(line, &header.separator).nth(i)?;
    Some(trawl_zeek::tsv::decode_field(header, &header.markers(), i, raw).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_zeek::Scalar;

    #[test]
    fn members_are_found_by_name_and_colon() {
        assert!(names_member(
            br#"{"ts":1,"phish_score":0.5}"#,
            "phish_score"
        ));
        assert!(names_member(
            br#"{"ts":1, "phish_score" : 0.5}"#,
            "phish_score"
        ));
        assert!(!names_member(br#"{"query":"phish_score"}"#, "phish_score"));
        assert!(!names_member(
            br#"{"query":"a","phish_scores":1}"#,
            "phish_score"
        ));
        assert!(names_member(
            br#"{"q":"phish_score","phish_score":1}"#,
            "phish_score"
        ));
    }

    #[test]
    fn tsv_fields_are_read_lazily_and_extras_follow() {
        let mut h = Header {
            path: Some("dns".into()),
            ..Header::default()
        };
        h.apply(trawl_zeek::header::Directive::Fields, b"ts\tquery");
        h.apply(trawl_zeek::header::Directive::Types, b"time\tstring");
        let mut e = Event::tsv(Arc::new(h), b"1.5\texample.com".to_vec());
        assert_eq!(e.log_type(), "dns");
        assert_eq!(
            e.get("query"),
            Some(Value::Str(Cow::Borrowed(b"example.com")))
        );
        e.add(
            "phish_score",
            ZeekType::single(Scalar::Double),
            Value::Double(0.5),
        );
        assert_eq!(e.get("phish_score"), Some(Value::Double(0.5)));
        let r = e.to_record();
        assert_eq!(r.fields.len(), 3);
        let p = e.project(&["query"]);
        assert_eq!(p.fields.len(), 1);
        assert_eq!(p.path, "dns");
        assert_eq!(r.get("ts"), Some(&Value::Time(1_500_000_000)));
    }
}
