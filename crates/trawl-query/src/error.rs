//! Query errors: what went wrong, where (a caret under the bad token) and a hint.

use std::fmt;

/// A byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A mistake in a query (or a condition), shown as the message, the query line, a caret under
/// the bad token and a hint:
///
/// ```text
/// error: unknown operator `wher`
///   dns | wher query == "x"
///         ^^^^
/// hint: did you mean `where`? Operators: where, cut, rename, put, ...
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct QueryError {
    /// What went wrong.
    pub message: String,
    /// The whole query text.
    pub source_text: String,
    /// Where in the text.
    pub span: Span,
    /// What to do about it, if there is something to say.
    pub hint: Option<String>,
}

impl QueryError {
    /// An error at `span` of `src`.
    pub fn new(src: &str, span: Span, message: impl Into<String>) -> QueryError {
        QueryError {
            message: message.into(),
            source_text: src.to_string(),
            span,
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> QueryError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.message)?;
        // Show the line holding the error (queries may span lines), caret under the span.
        let src = &self.source_text;
        let start = self.span.start.min(src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = &src[line_start..line_end];
        let col = src[line_start..start].chars().count();
        let end = self.span.end.clamp(start, line_end);
        let width = src[start..end].chars().count().max(1);
        writeln!(f, "  {line}")?;
        write!(f, "  {}{}", " ".repeat(col), "^".repeat(width))?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

/// The closest of `names` to `word` by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'n>(word: &str, names: impl IntoIterator<Item = &'n str>) -> Option<&'n str> {
    let w = word.to_ascii_lowercase();
    names
        .into_iter()
        .map(|n| (levenshtein(&w, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3) && *d < n.len().max(w.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_token() {
        let e = QueryError::new("dns | wher x", Span::new(6, 10), "unknown operator `wher`")
            .hint("did you mean `where`?");
        assert_eq!(
            e.to_string(),
            "unknown operator `wher`\n  dns | wher x\n        ^^^^\nhint: did you mean `where`?"
        );
    }

    #[test]
    fn nearest_names() {
        assert_eq!(nearest("wher", ["where", "cut", "head"]), Some("where"));
        assert_eq!(
            nearest("registerd_domain", ["registered_domain", "tld"]),
            Some("registered_domain")
        );
        assert_eq!(nearest("zzz", ["where", "cut"]), None);
    }
}
