//! `{field}` templates for titles, pivot links, email subjects and webhook bodies. A
//! placeholder names an alert attribute or a record field (`{uid}`, `{query}`,
//! `{id.orig_h}`); `{{` and `}}` are literal braces. What a value is escaped for depends on
//! where it goes: a URL gets percent-encoding, text gets none.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

/// How a value is written into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As it is.
    None,
    /// Percent-encoded for a URL (query string or fragment).
    Url,
}

/// Characters left alone in a URL value: RFC 3986 unreserved ones.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl Template {
    /// Parses a template; an unclosed `{` or an empty `{}` is a mistake.
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = src.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let rest = &src[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("unclosed {{ at byte {i} in {src:?}"));
                    };
                    let name = rest[..end].trim();
                    if name.is_empty() {
                        return Err(format!("an empty {{}} at byte {i} in {src:?}"));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(name.to_string()));
                    for _ in 0..end + 1 {
                        chars.next();
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// The field names the template reads.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Whether the template is exactly one placeholder (a JSON body value `"{fields}"` may
    /// then be replaced by a non-string value).
    pub fn single_field(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Field(f)] => Some(f),
            _ => None,
        }
    }

    /// Fills the placeholders; a missing value becomes `-` (so a link or title still reads).
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>, escape: Escape) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => {
                    let v = lookup(f).unwrap_or_else(|| "-".into());
                    match escape {
                        Escape::None => out.push_str(&v),
                        Escape::Url => out.extend(utf8_percent_encode(&v, URL_VALUE)),
                    }
                }
            }
        }
        out
    }

    /// Like [`Template::render`], but `None` when a placeholder has no value (a pivot link
    /// on a missing uid would lead nowhere).
    pub fn render_all(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
        escape: Escape,
    ) -> Option<String> {
        let missing = self.fields().any(|f| lookup(f).is_none());
        (!missing).then(|| self.render(lookup, escape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_escaped() {
        let t = Template::parse("https://kibana/app/discover#/?q=uid:{uid}&h={id.orig_h}&x={{y}}")
            .unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), ["uid", "id.orig_h"]);
        let got = t.render(
            |f| match f {
                "uid" => Some("C1 2".into()),
                _ => None,
            },
            Escape::Url,
        );
        assert_eq!(got, "https://kibana/app/discover#/?q=uid:C1%202&h=-&x={y}");
        assert!(Template::parse("{oops").is_err());
        assert!(Template::parse("{}").is_err());
        assert_eq!(
            Template::parse("{uid}").unwrap().single_field(),
            Some("uid")
        );
    }
}
