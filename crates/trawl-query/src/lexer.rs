//! Splits a query into tokens. Zeek literals are tokens of their own: addresses (`10.0.0.1`,
//! `fe80::1`), subnets (`10.0.0.0/8`), times (`2024-04-12T09:00`), intervals (`5m`, `1h`).

use std::net::IpAddr;

use trawl_zeek::time::parse_iso8601;

use crate::error::{QueryError, Span};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name: a field (`id.orig_h`), a keyword, an operator or a function.
    Ident(String),
    /// A back-quoted name: always a field, never a keyword.
    Quoted(String),
    /// A string literal.
    Str(String),
    /// A regex literal `/.../` (only right after `=~` or `!~`).
    Regex(String),
    /// A whole number.
    Int(u64),
    /// A number with a fraction.
    Float(f64),
    /// An interval literal in seconds (`90s`, `5m`, `1h`, `2d`, `1w`, `250ms`).
    Interval(f64),
    /// A time literal in nanoseconds since the epoch (UTC unless an offset is given).
    Time(i64),
    /// An address.
    Addr(IpAddr),
    /// A subnet.
    Subnet(IpAddr, u8),
    /// Punctuation: `| ( ) [ ] , = == != < <= > >= =~ !~ ! && || + - * / % .`
    Punct(&'static str),
    /// End of the query.
    End,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its place in the query text.
    pub span: Span,
}

const PUNCT: [&str; 24] = [
    "==", "!=", "<=", ">=", "=~", "!~", "&&", "||", "|", "(", ")", "[", "]", ",", "=", "<", ">",
    "!", "+", "-", "*", "/", "%", ".",
];

/// Splits `src` into tokens, ending with [`Tok::End`].
pub fn lex(src: &str) -> Result<Vec<Token>, QueryError> {
    let b = src.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            // A comment to the end of the line (queries kept in files).
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let after_match = matches!(
            out.last(),
            Some(Token {
                tok: Tok::Punct("=~" | "!~"),
                ..
            })
        );
        let (tok, end) = if c == b'"' || c == b'\'' {
            string(src, i, c)?
        } else if c == b'/' && after_match {
            let (t, e) = string(src, i, b'/')?;
            match t {
                Tok::Str(s) => (Tok::Regex(s), e),
                t => (t, e),
            }
        } else if c == b'`' {
            match src[i + 1..].find('`') {
                Some(n) => (Tok::Quoted(src[i + 1..i + 1 + n].to_string()), i + n + 2),
                None => {
                    return Err(
                        QueryError::new(src, Span::new(i, b.len()), "unclosed back quote")
                            .hint("close the field name with a back quote: `odd name`"),
                    )
                }
            }
        } else if let Some((t, e)) = ipv6(src, i) {
            (t, e)
        } else if c.is_ascii_digit() {
            number(src, i)?
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            let mut e = i + 1;
            while e < b.len()
                && (b[e].is_ascii_alphanumeric() || matches!(b[e], b'_' | b'.' | b'-' | b'@'))
            {
                // A dash only inside a name followed by a letter (`x-forwarded-for`), never `a-1`.
                if b[e] == b'-' && !b.get(e + 1).is_some_and(|n| n.is_ascii_alphabetic()) {
                    break;
                }
                if b[e] == b'-' && !dashed_name_ok(&out) {
                    break;
                }
                e += 1;
            }
            // A trailing dot belongs to what follows (`score(q).phish` never reaches here).
            while e > i + 1 && b[e - 1] == b'.' {
                e -= 1;
            }
            (Tok::Ident(src[i..e].to_string()), e)
        } else if let Some(p) = PUNCT.iter().find(|p| src[i..].starts_with(**p)) {
            (Tok::Punct(p), i + p.len())
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(QueryError::new(
                src,
                Span::new(i, i + ch.len_utf8()),
                format!("unexpected character `{ch}`"),
            )
            .hint("strings go in double quotes: \"text\""));
        };
        out.push(Token {
            tok,
            span: Span::new(start, end),
        });
        i = end;
    }
    out.push(Token {
        tok: Tok::End,
        span: Span::new(b.len(), b.len()),
    });
    Ok(out)
}

/// Dashes in names are only for log types in the first stage (`dns,x-log`): an expression
/// `a-b` is a subtraction.
fn dashed_name_ok(before: &[Token]) -> bool {
    before
        .iter()
        .all(|t| matches!(t.tok, Tok::Ident(_) | Tok::Punct(",")))
}

fn string(src: &str, start: usize, quote: u8) -> Result<(Tok, usize), QueryError> {
    let b = src.as_bytes();
    let mut s = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            c if c == quote => {
                let text = String::from_utf8_lossy(&s).into_owned();
                return Ok((Tok::Str(text), i + 1));
            }
            b'\\' if i + 1 < b.len() => {
                let n = b[i + 1];
                match n {
                    b'n' if quote != b'/' => s.push(b'\n'),
                    b't' if quote != b'/' => s.push(b'\t'),
                    b'\\' if quote != b'/' => s.push(b'\\'),
                    c if c == quote => s.push(c),
                    // Regexes keep their escapes; unknown string escapes stay as written.
                    c => {
                        s.push(b'\\');
                        s.push(c);
                    }
                }
                i += 2;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    let what = if quote == b'/' { "regex" } else { "string" };
    Err(
        QueryError::new(src, Span::new(start, b.len()), format!("unclosed {what}"))
            .hint(format!("end the {what} with {}", quote as char)),
    )
}

/// An IPv6 address or subnet: a run of hex digits, colons and dots holding two colons or more.
fn ipv6(src: &str, start: usize) -> Option<(Tok, usize)> {
    let b = src.as_bytes();
    let mut e = start;
    while e < b.len() && (b[e].is_ascii_hexdigit() || b[e] == b':' || b[e] == b'.') {
        e += 1;
    }
    if b[start..e].iter().filter(|&&c| c == b':').count() < 2 {
        return None;
    }
    let a: IpAddr = src[start..e].parse().ok()?;
    Some(prefix(src, a, e))
}

/// An optional `/N` after an address makes it a subnet.
fn prefix(src: &str, a: IpAddr, e: usize) -> (Tok, usize) {
    let b = src.as_bytes();
    if b.get(e) == Some(&b'/') {
        let mut n = e + 1;
        while n < b.len() && b[n].is_ascii_digit() {
            n += 1;
        }
        if let Ok(bits) = src[e + 1..n].parse::<u8>() {
            if bits <= if a.is_ipv4() { 32 } else { 128 } {
                return (Tok::Subnet(a, bits), n);
            }
        }
    }
    (Tok::Addr(a), e)
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), QueryError> {
    let b = src.as_bytes();
    // A date: 4 digits and a dash.
    if b.len() >= start + 10
        && b[start..start + 4].iter().all(u8::is_ascii_digit)
        && b[start + 4] == b'-'
    {
        let mut e = start;
        while e < b.len()
            && (b[e].is_ascii_alphanumeric() || matches!(b[e], b'-' | b':' | b'.' | b'+'))
        {
            e += 1;
        }
        let text = &src[start..e];
        return match time_literal(text) {
            Some(t) => Ok((Tok::Time(t), e)),
            None => Err(QueryError::new(src, Span::new(start, e), format!("`{text}` is not a time"))
                .hint("times look like 2024-04-12, 2024-04-12T09:00, 2024-04-12T09:00:00Z or 2024-04-12T09:00+02:00")),
        };
    }
    let mut e = start;
    let mut dots = 0;
    while e < b.len()
        && (b[e].is_ascii_digit() || (b[e] == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_digit)))
    {
        dots += usize::from(b[e] == b'.');
        e += 1;
    }
    let text = &src[start..e];
    if dots == 3 {
        return match text.parse::<IpAddr>() {
            Ok(a) => Ok(prefix(src, a, e)),
            Err(_) => Err(QueryError::new(
                src,
                Span::new(start, e),
                format!("`{text}` is not an address"),
            )),
        };
    }
    if dots > 1 {
        return Err(QueryError::new(
            src,
            Span::new(start, e),
            format!("`{text}` is not a number or an address"),
        ));
    }
    // A unit right after the number makes an interval.
    let mut u = e;
    while u < b.len() && b[u].is_ascii_alphabetic() {
        u += 1;
    }
    let value: f64 = text.parse().unwrap_or(0.0);
    if u > e {
        let unit = &src[e..u];
        let secs = match unit {
            "us" => 1e-6,
            "ms" => 1e-3,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" => 7.0 * 86400.0,
            _ => {
                return Err(
                    QueryError::new(src, Span::new(e, u), format!("unknown unit `{unit}`"))
                        .hint("intervals are written 250ms, 30s, 5m, 1h, 2d or 1w"),
                )
            }
        };
        return Ok((Tok::Interval(value * secs), u));
    }
    if dots == 1 {
        Ok((Tok::Float(value), e))
    } else {
        match text.parse::<u64>() {
            Ok(n) => Ok((Tok::Int(n), e)),
            Err(_) => Ok((Tok::Float(value), e)),
        }
    }
}

/// `2024-04-12`, `2024-04-12T09:00`, `2024-04-12T09:00:30.5Z`, `2024-04-12 09:00` is not
/// accepted (the space ends the token); UTC unless an offset is given.
pub fn time_literal(text: &str) -> Option<i64> {
    let t = text.as_bytes();
    let mut full = t.to_vec();
    if t.len() == 10 {
        full.extend_from_slice(b"T00:00:00");
    } else if t.len() >= 16 && t.get(16) != Some(&b':') {
        // No seconds: `2024-04-12T09:00` (maybe with an offset).
        full = [&t[..16], b":00", &t[16..]].concat();
    }
    if !full.ends_with(b"Z") && !has_offset(&full) {
        full.push(b'Z');
    }
    parse_iso8601(&full)
}

fn has_offset(t: &[u8]) -> bool {
    t.len() > 19 && t[19..].iter().any(|&c| c == b'+' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn zeek_literals() {
        let t = toks("id.orig_h in 10.0.0.0/8 and ts >= 2024-04-12T09:00 and duration > 5m");
        assert_eq!(t[0], Tok::Ident("id.orig_h".into()));
        assert!(matches!(t[2], Tok::Subnet(_, 8)));
        assert_eq!(t[6], Tok::Time(1_712_912_400_000_000_000));
        assert_eq!(t[10], Tok::Interval(300.0));
        assert!(matches!(toks("fe80::1/64")[0], Tok::Subnet(_, 64)));
        assert!(matches!(toks("::1")[0], Tok::Addr(_)));
        assert!(matches!(toks("10.1.2.3")[0], Tok::Addr(_)));
        assert_eq!(toks("0.8")[0], Tok::Float(0.8));
        assert_eq!(toks("2024-04-12")[0], Tok::Time(1_712_880_000_000_000_000));
    }

    #[test]
    fn regex_only_after_match() {
        assert_eq!(toks("q =~ /a\\.b/")[2], Tok::Regex("a\\.b".into()));
        assert_eq!(toks("a / 2")[1], Tok::Punct("/"));
    }

    #[test]
    fn names_and_punct() {
        assert_eq!(
            toks("dns,http | where a!=b"),
            vec![
                Tok::Ident("dns".into()),
                Tok::Punct(","),
                Tok::Ident("http".into()),
                Tok::Punct("|"),
                Tok::Ident("where".into()),
                Tok::Ident("a".into()),
                Tok::Punct("!="),
                Tok::Ident("b".into()),
                Tok::End
            ]
        );
        assert_eq!(toks("score(q).phish")[3], Tok::Punct(")"));
        assert_eq!(toks("score(q).phish")[4], Tok::Punct("."));
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = lex("x == \"abc").unwrap_err();
        assert_eq!(e.span, Span::new(5, 9));
        let e = lex("d > 5x").unwrap_err();
        assert!(e.to_string().contains("unknown unit `x`"), "{e}");
    }
}
