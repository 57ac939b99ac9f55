//! Finding one top-level key's value on a line of flat JSON without parsing the line.
//!
//! A match of `"key"` is the key only if the byte before it (white space skipped) is `{` or
//! `,` and a `:` follows: inside a JSON string a `"` is always escaped as `\"`, so an
//! unescaped quote after `{` or `,` opens a key or a value, and a value is never followed by
//! `:`. The key is at the top level if no `{` comes before it on the line (other than the
//! first); otherwise (nested objects, `tag_json` wrappers, a `{` inside an earlier string) the
//! caller uses the full parser.

use memchr::memmem::Finder;
use trawl_zeek::scan::json::{string_end as json_string_end, token_end as json_token_end};

/// Where a key's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// A string without escapes: its bytes (quotes removed).
    Str(&'a [u8]),
    /// A string with escapes, quotes included (to be decoded).
    Escaped(&'a [u8]),
    /// `null`.
    Null,
    /// A number, `true`/`false`, an array or a bare token, as written.
    Other(&'a [u8]),
    /// The line has no such top-level key.
    Absent,
    /// Not sure: use the full parser on this line.
    Unsure,
}

/// A searcher for one key.
pub(crate) struct KeyFinder {
    finder: Finder<'static>,
    len: usize,
}

impl KeyFinder {
    /// A searcher for `"key"`.
    pub fn new(key: &str) -> KeyFinder {
        let needle = format!("\"{key}\"").into_bytes();
        let len = needle.len();
        KeyFinder {
            finder: Finder::new(&needle).into_owned(),
            len,
        }
    }

    /// The value of the key on `line` (a whole JSON object, `{` first).
    pub fn find<'a>(&self, line: &'a [u8]) -> Found<'a> {
        let mut from = 1;
        loop {
            let Some(i) = line.get(from..).and_then(|r| self.finder.find(r)) else {
                // A key may be written with escapes (`"qu\u0065ry"`): only the parser knows.
                if memchr::memchr(b'\\', line).is_some() {
                    return Found::Unsure;
                }
                return Found::Absent;
            };
            let p = from + i;
            from = p + 1;
            // The byte before the quote, white space skipped.
            let before = line[..p]
                .iter()
                .rev()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            if !matches!(before, Some(b'{' | b',')) {
                continue;
            }
            let mut j = skip_ws(line, p + self.len);
            if line.get(j) != Some(&b':') {
                continue;
            }
            if memchr::memchr(b'{', &line[1..p]).is_some() {
                return Found::Unsure;
            }
            j = skip_ws(line, j + 1);
            return match line.get(j) {
                Some(b'"') => match json_string_end(line, j) {
                    None => Found::Unsure,
                    Some((end, true)) => Found::Escaped(&line[j..end]),
                    Some((end, false)) => Found::Str(&line[j + 1..end - 1]),
                },
                Some(b'{') => Found::Unsure,
                Some(b'[') => match array_end(line, j) {
                    Some(e) => Found::Other(&line[j..e]),
                    None => Found::Unsure,
                },
                Some(_) => {
                    let e = json_token_end(line, j);
                    match &line[j..e] {
                        b"null" => Found::Null,
                        b"" => Found::Unsure,
                        t => Found::Other(t),
                    }
                }
                None => Found::Unsure,
            };
        }
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = s.get(i) {
        i += 1;
    }
    i
}

/// End (past the `]`) of the array opening at `i`; `None` if it holds objects or is unfinished.
fn array_end(s: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while let Some(&b) = s.get(j) {
        match b {
            b'"' => {
                j = json_string_end(s, j)?.0;
                continue;
            }
            b'{' => return None,
            b'[' => depth += 1,
            b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// Checks the finder against the full parser on one line (for the fuzz target): where the
/// finder answers, the answer is the parser's. Panics on a disagreement.
#[doc(hidden)]
pub fn check_against_parser(line: &[u8], key: &str) {
    use trawl_zeek::json::{to_record, JVal, Parser};
    use trawl_zeek::Value;
    let found = KeyFinder::new(key).find(line);
    let Ok(doc) = Parser::new(line).parse_document() else {
        return;
    };
    let mut problems = Vec::new();
    let Ok(rec) = to_record(doc, "x", 1, &mut problems) else {
        return;
    };
    let want = rec.get(key);
    match found {
        Found::Unsure => {}
        Found::Absent => assert!(want.is_none(), "absent but parser has {want:?}"),
        Found::Null => assert!(matches!(want, Some(Value::Unset)), "null but {want:?}"),
        Found::Str(s) => assert_eq!(want, Some(&Value::Str(s.into())), "string"),
        Found::Escaped(q) => {
            if let Ok(JVal::Str(s)) = Parser::new(q).parse_document() {
                assert_eq!(want, Some(&Value::Str(s)), "escaped string");
            }
        }
        Found::Other(_) => assert!(
            !matches!(want, None | Some(Value::Str(_)) | Some(Value::Unset)),
            "token but {want:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_keys_only() {
        let f = KeyFinder::new("query");
        assert_eq!(
            f.find(br#"{"ts":1,"query":"a.com","x":2}"#),
            Found::Str(b"a.com")
        );
        assert_eq!(f.find(br#"{ "query" : "a.com" }"#), Found::Str(b"a.com"));
        assert_eq!(f.find(br#"{"query":null}"#), Found::Null);
        assert_eq!(f.find(br#"{"query":12}"#), Found::Other(b"12"));
        assert_eq!(f.find(br#"{"ts":1}"#), Found::Absent);
        // In a string value: escaped quotes, so no match.
        assert_eq!(
            f.find(br#"{"uri":"\"query\":\"x\"","query":"b"}"#),
            Found::Str(b"b")
        );
        // A value that reads "query" is no key.
        assert_eq!(f.find(br#"{"a":"query","query":"c"}"#), Found::Str(b"c"));
        // Nested: not sure.
        assert_eq!(f.find(br#"{"dns":{"query":"a"}}"#), Found::Unsure);
        assert_eq!(f.find(br#"{"query":"a\"b"}"#), Found::Escaped(br#""a\"b""#));
        assert_eq!(
            f.find(br#"{"query":["a","b"]}"#),
            Found::Other(br#"["a","b"]"#)
        );
        assert_eq!(f.find(br#"{"query":"unterminated}"#), Found::Unsure);
        assert_eq!(f.find(br#"{"qu\u0065ry":"a"}"#), Found::Unsure);
    }
}
