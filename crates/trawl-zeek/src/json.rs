//! Zeek JSON: plain (`LogAscii::use_json`), JSON-streaming (`_path`, `_write_ts`, ISO 8601 `ts`),
//! the Kafka plugin's `tag_json` wrapper (`{"dns": {...}}`), nested objects (flattened to dotted
//! names) and pretty-printed objects spread over several lines.
//!
//! The parser is lenient on purpose: a bare token where a value should be (Zeek's test baselines
//! write `"ts":XXXXXXXXXX.XXXXXX`) is kept as [`Value::Invalid`] and reported, not fatal.

pub mod line;

use std::borrow::Cow;

use crate::record::{Problem, Record};
use crate::time::{from_secs_f64, parse_epoch, parse_iso8601};
use crate::types::{Container, Scalar, ZeekType};
use crate::value::Value;

/// A parsed JSON value, borrowing from the input where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum JVal<'a> {
    Null,
    Bool(bool),
    /// A number, still as text (so integers and exact decimals survive).
    Num(&'a [u8]),
    Str(Cow<'a, [u8]>),
    Arr(Vec<JVal<'a>>),
    Obj(Vec<(Cow<'a, [u8]>, JVal<'a>)>),
    /// Text that is not JSON where a value should be; kept verbatim.
    Bare(&'a [u8]),
}

/// Why a JSON text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// The input ended inside a value: more lines may complete it.
    Incomplete,
    /// Malformed at a byte offset.
    Invalid { at: usize, reason: &'static str },
}

const MAX_DEPTH: usize = 64;

/// A small recursive-descent parser over one JSON text.
pub struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Bare tokens met, kept for reporting.
    pub bare: usize,
}

impl<'a> Parser<'a> {
    /// A parser over `s`.
    pub fn new(s: &'a [u8]) -> Self {
        Parser { s, i: 0, bare: 0 }
    }

    /// Byte offset reached.
    pub fn offset(&self) -> usize {
        self.i
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn invalid(&self, reason: &'static str) -> JsonError {
        JsonError::Invalid { at: self.i, reason }
    }

    /// Parses one value and checks only white space follows.
    pub fn parse_document(&mut self) -> Result<JVal<'a>, JsonError> {
        let v = self.value(0)?;
        self.ws();
        if self.i < self.s.len() {
            return Err(self.invalid("text after the end of the object"));
        }
        Ok(v)
    }

    fn value(&mut self, depth: usize) -> Result<JVal<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.invalid("nested too deeply"));
        }
        self.ws();
        let Some(&b) = self.s.get(self.i) else {
            return Err(JsonError::Incomplete);
        };
        match b {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => Ok(JVal::Str(self.string()?)),
            b'-' | b'0'..=b'9' => self.number_or_bare(),
            _ => self.word_or_bare(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JVal<'a>, JsonError> {
        self.i += 1;
        let mut fields = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(JVal::Obj(fields));
        }
        loop {
            self.ws();
            match self.s.get(self.i) {
                None => return Err(JsonError::Incomplete),
                Some(b'"') => {}
                Some(_) => return Err(self.invalid("expected a quoted key")),
            }
            let key = self.string()?;
            self.ws();
            match self.s.get(self.i) {
                None => return Err(JsonError::Incomplete),
                Some(b':') => self.i += 1,
                Some(_) => return Err(self.invalid("expected ':' after a key")),
            }
            let v = self.value(depth + 1)?;
            fields.push((key, v));
            self.ws();
            match self.s.get(self.i) {
                None => return Err(JsonError::Incomplete),
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(JVal::Obj(fields));
                }
                Some(_) => return Err(self.invalid("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JVal<'a>, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(JVal::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.s.get(self.i) {
                None => return Err(JsonError::Incomplete),
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(JVal::Arr(items));
                }
                Some(_) => return Err(self.invalid("expected ',' or ']'")),
            }
        }
    }

    /// A string starting at the opening quote; borrowed unless it holds escapes.
    fn string(&mut self) -> Result<Cow<'a, [u8]>, JsonError> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            let Some(k) = memchr::memchr2(b'"', b'\\', &self.s[j..]) else {
                return Err(JsonError::Incomplete);
            };
            j += k;
            if self.s[j] == b'"' {
                break;
            }
            escaped = true;
            j += 2;
            if j > self.s.len() {
                return Err(JsonError::Incomplete);
            }
        }
        let body = &self.s[start..j];
        self.i = j + 1;
        if !escaped {
            return Ok(Cow::Borrowed(body));
        }
        decode_escapes(body)
            .map(Cow::Owned)
            .ok_or(JsonError::Invalid {
                at: start,
                reason: "bad escape in a string",
            })
    }

    fn token_end(&self) -> usize {
        let mut j = self.i;
        while let Some(&b) = self.s.get(j) {
            if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            j += 1;
        }
        j
    }

    fn number_or_bare(&mut self) -> Result<JVal<'a>, JsonError> {
        let end = self.token_end();
        let tok = &self.s[self.i..end];
        self.i = end;
        if is_json_number(tok) {
            Ok(JVal::Num(tok))
        } else {
            self.bare += 1;
            Ok(JVal::Bare(tok))
        }
    }

    fn word_or_bare(&mut self) -> Result<JVal<'a>, JsonError> {
        let end = self.token_end();
        let tok = &self.s[self.i..end];
        if tok.is_empty() {
            return Err(self.invalid("expected a value"));
        }
        self.i = end;
        Ok(match tok {
            b"null" => JVal::Null,
            b"true" => JVal::Bool(true),
            b"false" => JVal::Bool(false),
            _ => {
                self.bare += 1;
                JVal::Bare(tok)
            }
        })
    }
}

fn is_json_number(t: &[u8]) -> bool {
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let int_len = t.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len == 0 || (int_len > 1 && t[0] == b'0') {
        return false;
    }
    let mut r = &t[int_len..];
    if let Some(f) = r.strip_prefix(b".") {
        let n = f.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        r = &f[n..];
    }
    if let Some(e) = r.strip_prefix(b"e").or_else(|| r.strip_prefix(b"E")) {
        let e = e
            .strip_prefix(b"+")
            .or_else(|| e.strip_prefix(b"-"))
            .unwrap_or(e);
        let n = e.iter().take_while(|b| b.is_ascii_digit()).count();
        return n > 0 && n == e.len();
    }
    r.is_empty()
}

fn decode_escapes(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let e = *body.get(i + 1)?;
        i += 2;
        match e {
            b'"' | b'\\' | b'/' => out.push(e),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let mut cp = hex4(body.get(i..i + 4)?)?;
                i += 4;
                if (0xd800..0xdc00).contains(&cp) && body.get(i..i + 2) == Some(b"\\u") {
                    let lo = hex4(body.get(i + 2..i + 6)?)?;
                    if (0xdc00..0xe000).contains(&lo) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        i += 6;
                    }
                }
                let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return None,
        }
    }
    Some(out)
}

fn hex4(h: &[u8]) -> Option<u32> {
    std::str::from_utf8(h)
        .ok()
        .and_then(|s| u32::from_str_radix(s, 16).ok())
}

/// Field names Zeek writes as `time` values; JSON carries no types, so they are known by name.
pub(crate) fn is_time_field(name: &str) -> bool {
    is_time_key(name.as_bytes())
}

/// [`is_time_field`] on a key's bytes.
pub(crate) fn is_time_key(name: &[u8]) -> bool {
    matches!(
        name,
        b"ts"
            | b"_write_ts"
            | b"certificate.not_valid_before"
            | b"certificate.not_valid_after"
            | b"start_time"
            | b"end_time"
    )
}

/// Converts a parsed JSON document to a record. `default_path` names the log type when the
/// object carries no `_path` and is not `tag_json`-wrapped (e.g. the file name's log type).
pub fn to_record<'a>(
    doc: JVal<'a>,
    default_path: &str,
    line: u64,
    problems: &mut Vec<Problem>,
) -> Result<Record<'a>, &'static str> {
    let JVal::Obj(mut fields) = doc else {
        return Err("not a JSON object");
    };
    let mut path: Cow<'a, str> = Cow::Owned(default_path.to_string());
    // tag_json: one key whose value is the whole record.
    if fields.len() == 1 && matches!(fields[0].1, JVal::Obj(_)) && !fields[0].0.contains(&b'.') {
        if let Some((k, JVal::Obj(inner))) = fields.pop() {
            path = Cow::Owned(String::from_utf8_lossy(&k).into_owned());
            fields = inner;
        }
    }
    let mut rec = Record::new(path);
    flatten(&mut rec, String::new(), fields, line, problems);
    if let Some(pos) = rec.fields.iter().position(|f| f.name == "_path") {
        let f = rec.fields.remove(pos);
        if let Value::Str(p) = f.value {
            rec.path = Cow::Owned(String::from_utf8_lossy(&p).into_owned());
        }
    }
    Ok(rec)
}

fn flatten<'a>(
    rec: &mut Record<'a>,
    prefix: String,
    fields: Vec<(Cow<'a, [u8]>, JVal<'a>)>,
    line: u64,
    problems: &mut Vec<Problem>,
) {
    for (k, v) in fields {
        let mut name = prefix.clone();
        name.push_str(&String::from_utf8_lossy(&k));
        match v {
            JVal::Obj(inner) => {
                name.push('.');
                flatten(rec, name, inner, line, problems);
            }
            v => {
                let (ty, value) = convert(&name, v, line, problems);
                rec.push(name, ty, value);
            }
        }
    }
}

fn convert<'a>(
    name: &str,
    v: JVal<'a>,
    line: u64,
    problems: &mut Vec<Problem>,
) -> (ZeekType, Value<'a>) {
    let time = is_time_field(name);
    let single = ZeekType::single;
    match v {
        JVal::Arr(items) => {
            let mut scalar = None;
            let vals = items
                .into_iter()
                .map(|it| {
                    let (t, v) = convert(name, flatten_item(it), line, problems);
                    if !v.is_unset() {
                        scalar.get_or_insert(t.scalar);
                    }
                    v
                })
                .collect();
            let t = ZeekType {
                container: Container::Vector,
                scalar: scalar.unwrap_or(Scalar::String),
            };
            (t, Value::List(vals))
        }
        JVal::Null => (single(Scalar::String), Value::Unset),
        JVal::Bool(b) => (single(Scalar::Bool), Value::Bool(b)),
        JVal::Num(n) if time => match number_time(n) {
            Some(t) => (single(Scalar::Time), Value::Time(t)),
            None => bad(name, n, "time", line, problems),
        },
        JVal::Num(n) => number(n),
        JVal::Str(s) if time => match parse_iso8601(&s).or_else(|| parse_epoch(&s)) {
            Some(t) => (single(Scalar::Time), Value::Time(t)),
            None => bad_owned(name, s, "time", line, problems),
        },
        // Kept as JSON decodes it: Zeek writes both a real `\x07` text and a 0x07 byte as
        // `\\x07`, so decoding it would guess.
        JVal::Str(s) => (single(Scalar::String), Value::Str(s)),
        JVal::Bare(b) => bad(name, b, "JSON value", line, problems),
        JVal::Obj(_) => (single(Scalar::String), Value::Unset),
    }
}

fn flatten_item(v: JVal<'_>) -> JVal<'_> {
    // Objects inside arrays have no dotted name; keep them as their text.
    match v {
        JVal::Obj(_) => JVal::Str(Cow::Borrowed(&b"{...}"[..])),
        v => v,
    }
}

fn bad<'a>(
    name: &str,
    raw: &'a [u8],
    ty: &str,
    line: u64,
    problems: &mut Vec<Problem>,
) -> (ZeekType, Value<'a>) {
    bad_owned(name, Cow::Borrowed(raw), ty, line, problems)
}

fn bad_owned<'a>(
    name: &str,
    raw: Cow<'a, [u8]>,
    ty: &str,
    line: u64,
    problems: &mut Vec<Problem>,
) -> (ZeekType, Value<'a>) {
    let shown = String::from_utf8_lossy(&raw[..raw.len().min(64)]).into_owned();
    problems.push(Problem {
        line,
        reason: format!("field {name}: {shown:?} is not a valid {ty}"),
    });
    (ZeekType::single(Scalar::String), Value::Invalid(raw))
}

/// Seconds as a float, or milliseconds as a large integer (`JSON::TS_MILLIS`).
pub(crate) fn number_time(n: &[u8]) -> Option<i64> {
    let is_int = !n.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if is_int {
        let v: i64 = std::str::from_utf8(n).ok()?.parse().ok()?;
        if v.unsigned_abs() >= 100_000_000_000 {
            return v.checked_mul(1_000_000);
        }
        return v.checked_mul(1_000_000_000);
    }
    if n.iter().any(|b| matches!(b, b'e' | b'E')) {
        return from_secs_f64(std::str::from_utf8(n).ok()?.parse().ok()?);
    }
    parse_epoch(n)
}

fn number<'a>(n: &[u8]) -> (ZeekType, Value<'a>) {
    let text = std::str::from_utf8(n).unwrap_or("");
    let single = ZeekType::single;
    if let Ok(c) = text.parse::<u64>() {
        return (single(Scalar::Count), Value::Count(c));
    }
    if let Ok(i) = text.parse::<i64>() {
        return (single(Scalar::Int), Value::Int(i));
    }
    (
        single(Scalar::Double),
        Value::Double(text.parse().unwrap_or(f64::NAN)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(s: &str) -> (Record<'static>, Vec<Problem>) {
        let mut probs = Vec::new();
        let doc = Parser::new(s.as_bytes()).parse_document().unwrap();
        let r = to_record(doc, "x", 1, &mut probs).unwrap().into_owned();
        (r, probs)
    }

    #[test]
    fn plain_and_streaming() {
        let (r, p) = rec(
            r#"{"ts":1521911720.865716,"id.orig_h":"10.0.0.1","answers":["a","b"],"TTLs":[1.0,null]}"#,
        );
        assert!(p.is_empty());
        assert_eq!(r.get("ts"), Some(&Value::Time(1_521_911_720_865_716_000)));
        assert_eq!(
            r.get("TTLs"),
            Some(&Value::List(vec![Value::Double(1.0), Value::Unset]))
        );
        let (r, _) = rec(
            r#"{"_path":"dns","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z"}"#,
        );
        assert_eq!(r.path, "dns");
        assert_eq!(r.get("ts"), Some(&Value::Time(1_521_911_720_865_716_000)));
    }

    #[test]
    fn tag_json_nested_and_millis() {
        let (r, _) = rec(r#"{"dns": {"ts": 1300475167096, "id": {"orig_h": "1.2.3.4"}}}"#);
        assert_eq!(r.path, "dns");
        assert_eq!(r.get("ts"), Some(&Value::Time(1_300_475_167_096_000_000)));
        assert!(r.get("id.orig_h").is_some());
        let (r, _) = rec(r#"{"ts":-1.5}"#);
        assert_eq!(r.get("ts"), Some(&Value::Time(-1_500_000_000)));
    }

    #[test]
    fn bare_values_are_kept_and_reported() {
        let (r, p) = rec(r#"{"ts":XXXXXXXXXX.XXXXXX,"uid":"C1"}"#);
        assert_eq!(
            r.get("ts"),
            Some(&Value::Invalid(b"XXXXXXXXXX.XXXXXX"[..].into()))
        );
        assert_eq!(p.len(), 1);
        assert_eq!(r.get("uid"), Some(&Value::Str(b"C1"[..].into())));
    }

    #[test]
    fn incomplete_and_invalid() {
        assert_eq!(
            Parser::new(b"{\"a\":").parse_document(),
            Err(JsonError::Incomplete)
        );
        assert!(matches!(
            Parser::new(b"{\"a\" 1}").parse_document(),
            Err(JsonError::Invalid { .. })
        ));
        let (r, _) = rec(r#"{"uri":"/x\\x07","s":"\u00e9\ud83d\ude04"}"#);
        assert_eq!(r.get("uri"), Some(&Value::Str(br"/x\x07"[..].into())));
        assert_eq!(r.get("s"), Some(&Value::Str("é😄".as_bytes().into())));
    }
}
