//! Single-line Zeek JSON objects kept as read: the fast path of `trawl run` and Kafka.
//!
//! [`scan`] accepts a line only when writing it back as read (plus `_path` and added fields)
//! gives what [`super::to_record`] then [`Record::write_json`](crate::Record::write_json)
//! would write, value for value: a flat object or `tag_json`'s one-key wrapper around one;
//! strings whose escapes mean the same in Zeek's JSON (`\"`, `\\`, `\/`, `\n`, `\r`, `\t`);
//! finite numbers; booleans; arrays of those; time fields as decimal epoch seconds. Anything
//! else (null, nested objects, ISO 8601 or millisecond times, `\u` escapes, control bytes, bare
//! tokens, text that is not UTF-8) is left to the record parser, so both paths agree.

use std::borrow::Cow;
use std::ops::Range;

use super::{convert, is_json_number, is_time_key, number_time, to_record, JVal, Parser};
use crate::record::{Problem, Record};
use crate::types::{Scalar, ZeekType};
use crate::value::Value;

/// Where the record lies in an accepted line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flat {
    /// The object whose members are the record's fields, braces included.
    pub object: Range<usize>,
    /// The text of `_path`'s value, else of the `tag_json` key, when there is one.
    pub path: Option<Range<usize>>,
    /// Whether `_path` is a member of the object (writers add it otherwise).
    pub has_path: bool,
}

impl Flat {
    /// The log type of the accepted `line`: its `_path` or `tag_json` key, else
    /// `default_path`.
    pub fn log_type<'a>(&self, line: &'a [u8], default_path: &'a str) -> &'a str {
        self.path
            .clone()
            .and_then(|p| std::str::from_utf8(line.get(p)?).ok())
            .unwrap_or(default_path)
    }
}

/// Accepts `line` for the fast path (see the module documentation).
pub fn scan(line: &[u8]) -> Option<Flat> {
    if !line.is_ascii() && std::str::from_utf8(line).is_err() {
        return None;
    }
    let mut s = Scanner { s: line, i: 0 };
    s.ws();
    let flat = s.object(true)?;
    s.ws();
    (s.i == line.len()).then_some(flat)
}

/// The members of an accepted object, in order: key and value text (the key is UTF-8 without
/// escapes).
pub fn members<'a>(line: &'a [u8], flat: &Flat) -> Members<'a> {
    Members {
        s: Scanner {
            s: line.get(..flat.object.end).unwrap_or(line),
            i: flat.object.start + 1,
        },
        first: true,
    }
}

/// Iterator of [`members`].
pub struct Members<'a> {
    s: Scanner<'a>,
    first: bool,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let s = &mut self.s;
        s.ws();
        if !std::mem::take(&mut self.first) {
            s.eat(b',')?;
            s.ws();
        }
        let key = s.key()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        let start = s.i;
        s.skip()?;
        Some((s.s.get(key)?, s.s.get(start..s.i)?))
    }
}

/// The object's members other than `_path`, as text: those before it and those after it, each
/// trimmed and without the comma that joined them to it (either may be empty). `None` only for
/// a `flat` that does not belong to `line`.
pub fn members_text<'a>(line: &'a [u8], flat: &Flat) -> Option<[&'a [u8]; 2]> {
    let inner = flat.object.start + 1..flat.object.end.checked_sub(1)?;
    let Some(value) = flat.path.clone().filter(|_| flat.has_path) else {
        return Some([line.get(inner)?.trim_ascii(), b""]);
    };
    // Back from the value's opening quote over `"_path" :` to the member's start.
    let mut j = value.start.checked_sub(1)?;
    while j > inner.start && line.get(j - 1)?.is_ascii_whitespace() {
        j -= 1;
    }
    j = j.checked_sub(1).filter(|&k| line.get(k) == Some(&b':'))?;
    while j > inner.start && line.get(j - 1)?.is_ascii_whitespace() {
        j -= 1;
    }
    let start = j
        .checked_sub(7)
        .filter(|&k| line.get(k..j) == Some(b"\"_path\""))?;
    let before = line.get(inner.start..start)?.trim_ascii();
    let after = line.get(value.end + 1..inner.end)?.trim_ascii();
    Some([
        before.strip_suffix(b",").unwrap_or(before).trim_ascii(),
        after.strip_prefix(b",").unwrap_or(after).trim_ascii(),
    ])
}

/// Finds one member of accepted lines by key, without walking the members before it.
///
/// For a key of plain characters, `"key"` followed by `:` in an accepted line is always that
/// key: a quote inside a string is escaped, and the text between two strings is structure
/// (`,`, `:`, blanks), so the pattern cannot start at a closing quote. Other keys (empty, or
/// holding quotes, backslashes, structure or blanks) walk the members.
pub struct KeyFinder {
    key: Vec<u8>,
    quoted: Option<memchr::memmem::Finder<'static>>,
}

impl KeyFinder {
    /// A finder for the member named `key`.
    pub fn new(key: &str) -> Self {
        let plain = !key.is_empty()
            && key.bytes().all(|b| {
                !matches!(b, b'"' | b'\\' | b',' | b':' | b'[' | b']' | b'{' | b'}') && b > b' '
            });
        let quoted = plain.then(|| {
            let q = format!("\"{key}\"");
            memchr::memmem::Finder::new(q.as_bytes()).into_owned()
        });
        KeyFinder {
            key: key.as_bytes().to_vec(),
            quoted,
        }
    }

    /// The value text of the member (the first of that name), if the record has it.
    pub fn find<'a>(&self, line: &'a [u8], flat: &Flat) -> Option<&'a [u8]> {
        let Some(quoted) = &self.quoted else {
            return members(line, flat)
                .find(|(k, _)| *k == self.key)
                .map(|m| m.1);
        };
        let obj = line.get(flat.object.clone())?;
        let n = quoted.needle().len();
        let mut from = 0;
        while let Some(at) = obj.get(from..).and_then(|rest| quoted.find(rest)) {
            let at = from + at;
            from = at + 1;
            let mut s = Scanner { s: obj, i: at + n };
            s.ws();
            if s.eat(b':').is_none() {
                continue;
            }
            s.ws();
            let start = s.i;
            s.skip()?;
            return obj.get(start..s.i);
        }
        None
    }
}

/// A member's value as the record parser types it, borrowing from `raw`.
pub fn field<'a>(name: &str, raw: &'a [u8]) -> (ZeekType, Value<'a>) {
    match Parser::new(raw).parse_document() {
        Ok(v) => convert(name, v, 0, &mut Vec::new()),
        Err(_) => (
            ZeekType::single(Scalar::String),
            Value::Invalid(Cow::Borrowed(raw)),
        ),
    }
}

/// The whole line as a record, through the record parser (`default_path` as for
/// [`super::to_record`]).
pub fn record<'a>(
    line: &'a [u8],
    default_path: &str,
    no: u64,
    problems: &mut Vec<Problem>,
) -> Record<'a> {
    let doc = Parser::new(line).parse_document().unwrap_or(JVal::Null);
    to_record(doc, default_path, no, problems)
        .unwrap_or_else(|_| Record::new(default_path.to_string()))
}

/// For fuzzing and tests: panics unless a line [`scan`] accepts reads the same through
/// [`members`], [`KeyFinder`] and [`field`] as through the record parser.
#[doc(hidden)]
pub fn check_against_parser(line: &[u8]) {
    let Some(flat) = scan(line) else { return };
    let mut problems = Vec::new();
    let rec = record(line, "x", 1, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let members: Vec<_> = members(line, &flat).collect();
    let own: Vec<_> = members.iter().filter(|(k, _)| *k != b"_path").collect();
    assert_eq!(
        own.len(),
        rec.fields.len(),
        "{}",
        String::from_utf8_lossy(line)
    );
    for ((k, raw), f) in own.into_iter().zip(&rec.fields) {
        let name = std::str::from_utf8(k).expect("UTF-8 key");
        assert_eq!(name, f.name);
        let (ty, v) = field(name, raw);
        assert_eq!((ty, &v), (f.ty, &f.value), "{name}");
        assert!(
            !v.is_unset(),
            "{name}: unset values are left out by writers"
        );
        let first = members.iter().find(|(k2, _)| k2 == k).map(|m| m.1);
        assert_eq!(KeyFinder::new(name).find(line, &flat), first, "{name}");
    }
    assert_eq!(rec.path, flat.log_type(line, "x"));
}

/// Bytes that end a run of plain string bytes: the quote, a backslash, control bytes.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t
};

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    /// An object; with `tag`, also `{"key": {...}}`, whose inner object is the record.
    fn object(&mut self, tag: bool) -> Option<Flat> {
        let start = self.i;
        self.eat(b'{')?;
        let mut flat = Flat {
            object: start..start,
            path: None,
            has_path: false,
        };
        self.ws();
        if self.eat(b'}').is_some() {
            flat.object.end = self.i;
            return Some(flat);
        }
        let mut first = true;
        loop {
            self.ws();
            let key = self.key()?;
            let name = self.s.get(key.clone())?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            if self.peek() == Some(b'{') {
                // Only tag_json's wrapper: one member, a plain name, an object.
                if !(tag && first) || name.contains(&b'.') || name == b"_path" {
                    return None;
                }
                let mut inner = self.object(false)?;
                self.ws();
                self.eat(b'}')?;
                inner.path = inner.path.or(Some(key));
                return Some(inner);
            }
            let vstart = self.i;
            self.value(is_time_key(name))?;
            if name == b"_path" {
                let v = self.s.get(vstart..self.i)?;
                if flat.has_path || v.len() < 2 || v[0] != b'"' || v[1..].contains(&b'\\') {
                    return None;
                }
                flat.has_path = true;
                flat.path = Some(vstart + 1..self.i - 1);
            }
            first = false;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    flat.object.end = self.i;
                    return Some(flat);
                }
                _ => return None,
            }
        }
    }

    /// A key without escapes; its text.
    fn key(&mut self) -> Option<Range<usize>> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let b = self.peek()?;
            self.i += 1;
            if STRING_STOP[usize::from(b)] {
                return (b == b'"').then_some(start..self.i - 1);
            }
        }
    }

    /// A value the fast path can keep; `time` for fields Zeek writes as times.
    fn value(&mut self, time: bool) -> Option<()> {
        match self.peek()? {
            b'[' if !time => {
                self.i += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.ws();
                    match self.peek()? {
                        b'[' | b'{' => return None,
                        _ => self.value(false)?,
                    }
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' if !time => self.string(),
            b'-' | b'0'..=b'9' => {
                let tok = self.token();
                // `-0` reads back as the integer 0.
                let ok = is_json_number(tok)
                    && tok != b"-0"
                    && tok.len() <= 40
                    && !tok.iter().any(|b| matches!(b, b'e' | b'E'))
                    && (!time || (tok.contains(&b'.') && number_time(tok).is_some()));
                ok.then_some(())
            }
            b't' | b'f' => matches!(self.token(), b"true" | b"false").then_some(()),
            _ => None,
        }
    }

    /// The token from here to the next delimiter, as the record parser cuts it.
    fn token(&mut self) -> &[u8] {
        let start = self.i;
        self.i = crate::scan::json::token_end(self.s, start);
        &self.s[start..self.i]
    }

    fn string(&mut self) -> Option<()> {
        self.i += 1;
        // Zeek's strings are short: a byte loop beats a search call.
        loop {
            let b = self.peek()?;
            self.i += 1;
            if !STRING_STOP[usize::from(b)] {
                continue;
            }
            match b {
                b'"' => return Some(()),
                b'\\' if matches!(self.peek()?, b'"' | b'\\' | b'/' | b'n' | b'r' | b't') => {
                    self.i += 1
                }
                _ => return None,
            }
        }
    }

    /// Past a value of an accepted line, checking nothing.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                // Strings are short: a byte loop beats a search call.
                self.i += 1;
                loop {
                    match self.peek()? {
                        b'"' => break,
                        b'\\' => self.i += 2,
                        _ => self.i += 1,
                    }
                }
                self.i += 1;
                Some(())
            }
            b'[' => {
                self.i += 1;
                loop {
                    self.ws();
                    match self.peek()? {
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' => self.i += 1,
                        _ => self.skip()?,
                    }
                }
            }
            _ => {
                self.token();
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the record path writes for a line.
    fn slow(line: &str) -> String {
        let r = record(line.as_bytes(), "dflt", 1, &mut Vec::new());
        let mut out = Vec::new();
        r.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn accepts_zeek_lines_and_finds_the_record() {
        let l = r#"{"ts":1521911720.865716,"uid":"C1","id.orig_p":41772,"AA":false,"answers":["a.example","1.2.3.4"],"TTLs":[2230.0,41830.0],"q":"a\"b\\c\/d\te"}"#;
        let f = scan(l.as_bytes()).expect("plain");
        assert_eq!(f.object, 0..l.len());
        assert_eq!(f.path, None);
        let m: Vec<_> = members(l.as_bytes(), &f)
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(v)
                )
            })
            .collect();
        assert_eq!(
            m,
            [
                "ts=1521911720.865716",
                "uid=\"C1\"",
                "id.orig_p=41772",
                "AA=false",
                "answers=[\"a.example\",\"1.2.3.4\"]",
                "TTLs=[2230.0,41830.0]",
                r#"q="a\"b\\c\/d\te""#
            ]
        );
        let (_, v) = members(l.as_bytes(), &f)
            .find(|(k, _)| *k == b"ts")
            .unwrap();
        assert_eq!(field("ts", v).1, Value::Time(1_521_911_720_865_716_000));

        let find = |k: &str| KeyFinder::new(k).find(l.as_bytes(), &f);
        assert_eq!(find("q"), Some(&br#""a\"b\\c\/d\te""#[..]));
        assert_eq!(find("uid"), Some(&b"\"C1\""[..]));
        assert_eq!(find("answers"), Some(&br#"["a.example","1.2.3.4"]"#[..]));
        assert_eq!(find("C1"), None);
        assert_eq!(find("a.example"), None);
        // Keys of structure characters walk the members (found by fuzzing).
        let l2 = r#"{"UU":"","":"",",":"x","a":":x",":":2}"#;
        let f2 = scan(l2.as_bytes()).unwrap();
        for (k, v) in [(",", r#""x""#), ("", r#""""#), (":", "2"), ("a", r#"":x""#)] {
            assert_eq!(
                KeyFinder::new(k).find(l2.as_bytes(), &f2),
                Some(v.as_bytes()),
                "{k}"
            );
        }
        check_against_parser(l2.as_bytes());

        let l = r#"{"dns": {"_path":"dns2","ts":1.5, "uid": "C1"}}"#;
        let f = scan(l.as_bytes()).expect("tag_json");
        assert_eq!(&l[f.path.clone().unwrap()], "dns2");
        assert!(f.has_path);
        assert_eq!(
            &l[f.object.clone()],
            r#"{"_path":"dns2","ts":1.5, "uid": "C1"}"#
        );
        let text = |l: &str| {
            let f = scan(l.as_bytes()).unwrap();
            members_text(l.as_bytes(), &f)
                .map(|p| p.map(|t| String::from_utf8_lossy(t).into_owned()))
        };
        assert_eq!(
            text(l),
            Some([String::new(), r#""ts":1.5, "uid": "C1""#.into()])
        );
        assert_eq!(
            text(r#"{"ts":1.5 , "_path" : "dns" ,"uid":"C1"}"#),
            Some([r#""ts":1.5"#.into(), r#""uid":"C1""#.into()])
        );
        assert_eq!(
            text(r#"{"ts":1.5,"_path":"dns"}"#),
            Some([r#""ts":1.5"#.into(), String::new()])
        );
        assert_eq!(
            text(r#"{"_path":"dns"}"#),
            Some([String::new(), String::new()])
        );
        assert_eq!(
            text(r#"{ "a":1 }"#),
            Some([r#""a":1"#.into(), String::new()])
        );

        let l = r#"{"conn": {"ts":1.5}}"#;
        let f = scan(l.as_bytes()).unwrap();
        assert_eq!(&l[f.path.unwrap()], "conn");
        assert!(!f.has_path);
    }

    proptest::proptest! {
        #[test]
        fn accepted_lines_read_as_the_parser_reads_them(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "[", "]", ",", ":", " ", "\"ts\"", "\"_path\"", "\"a\"",
                    "\"q\"", "\"dns\"", "\"x\\\"y\"", "\"\\u0041\"", "1.5", "-2", "0",
                    "1e3", "true", "null", "\"\"", "\"a.b\"",
                ]),
                0..24,
            )
        ) {
            check_against_parser(parts.concat().as_bytes());
        }
    }

    #[test]
    fn leaves_what_the_record_parser_would_change() {
        for l in [
            r#"{"a":null}"#,
            r#"{"ts":"2018-03-24T17:15:20.865716Z"}"#,
            r#"{"ts":1300475167096}"#,
            r#"{"s":"\u00e9"}"#,
            r#"{"s":"\b"}"#,
            r#"{"n":1e400}"#,
            r#"{"n":01}"#,
            r#"{"ts":XXXXXXXXXX.XXXXXX}"#,
            r#"{"a":[1,null]}"#,
            r#"{"a":[{"b":1}]}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
            r#"{"_path":"dns","_path":"x"}"#,
            "{\"s\":\"\x07\"}",
            "{\"s\":\"\x7f\"}",
            r#"{"a":1,"b":{"c":2}}"#,
            r#"{"k\"":1}"#,
            r#"{"n":-0}"#,
        ] {
            assert_eq!(scan(l.as_bytes()), None, "{l}");
        }
        assert_eq!(scan(b"{\"s\":\"\xff\"}"), None);
    }

    #[test]
    fn kept_lines_mean_what_the_record_path_writes() {
        // Parsed back, the line as read and the record path's output are the same object
        // (numbers compared as doubles, `_path` added).
        for l in [
            r#"{"ts":1521911720.865716,"rtt":0.00087,"n":-1,"big":123456789012345678901234567890,"b":true,"e":[],"s":"","u":"é/\/"}"#,
            r#"{"_path":"dns","ts":1.0}"#,
            r#"{"x509": {"ts":2.25,"certificate.version":3}}"#,
            r#"  { "a" : 1 , "b" : [ "x" , 2 ] }  "#,
            "{}",
        ] {
            check_against_parser(l.as_bytes());
            let f = scan(l.as_bytes()).expect(l);
            let mut got = serde_json::from_str::<serde_json::Value>(&l[f.object.clone()]).unwrap();
            let path = f.path.map_or("dflt", |p| &l[p]);
            got.as_object_mut()
                .unwrap()
                .insert("_path".into(), path.into());
            let want: serde_json::Value = serde_json::from_str(&slow(l)).unwrap();
            let norm = |v: &serde_json::Value| -> Vec<(String, String)> {
                let mut m: Vec<_> = v
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            serde_json::Value::Number(n) => format!("{:.12e}", n.as_f64().unwrap()),
                            v => v.to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect();
                m.sort();
                m
            };
            assert_eq!(norm(&got), norm(&want), "{l}");
        }
    }
}
