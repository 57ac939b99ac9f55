//! The header block of a Zeek TSV log: `#separator`, `#set_separator`, `#empty_field`,
//! `#unset_field`, `#path`, `#open`, `#fields`, `#types`, `#close`.

use crate::escape::unescape_lossy;
use crate::types::ZeekType;
use crate::value::Markers;

/// Everything a header block says about the rows that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// What starts a directive line: `#` unless the log was written with another meta prefix.
    pub prefix: Vec<u8>,
    pub separator: Vec<u8>,
    pub set_separator: Vec<u8>,
    pub empty_field: Vec<u8>,
    pub unset_field: Vec<u8>,
    /// The log type (`dns`, `conn` ...), if the block names one.
    pub path: Option<String>,
    pub open: Option<String>,
    pub fields: Vec<String>,
    pub types: Vec<ZeekType>,
    /// The `#types` names as written (unknown types such as `func` keep their spelling).
    pub type_names: Vec<String>,
    /// The columns whose values can fail their type (not string-like), so a row is checked
    /// without looking at the others.
    pub checked: Vec<usize>,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            prefix: b"#".to_vec(),
            separator: b"\t".to_vec(),
            set_separator: b",".to_vec(),
            empty_field: b"(empty)".to_vec(),
            unset_field: b"-".to_vec(),
            path: None,
            open: None,
            fields: Vec::new(),
            types: Vec::new(),
            type_names: Vec::new(),
            checked: Vec::new(),
        }
    }
}

/// A header directive recognised on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    Separator,
    SetSeparator,
    EmptyField,
    UnsetField,
    Path,
    Open,
    Fields,
    Types,
    Close,
}

const NAMES: [(&[u8], Directive); 9] = [
    (b"separator", Directive::Separator),
    (b"set_separator", Directive::SetSeparator),
    (b"empty_field", Directive::EmptyField),
    (b"unset_field", Directive::UnsetField),
    (b"path", Directive::Path),
    (b"open", Directive::Open),
    (b"fields", Directive::Fields),
    (b"types", Directive::Types),
    (b"close", Directive::Close),
];

const MAX_PREFIX: usize = 16;

/// If `line` starts a header block (`<prefix>separator<space or tab><value>`), the prefix.
pub fn separator_line_prefix(line: &[u8]) -> Option<&[u8]> {
    // Only the first bytes can hold it: this runs on every line, so keep the search short.
    let window = &line[..line.len().min(MAX_PREFIX + 10)];
    // A plain scan: building a memmem searcher for every line costs more than the search.
    let i = window
        .windows(9)
        .position(|w| w[0] == b's' && w == b"separator")?;
    let prefix = &line[..i];
    // The prefix is short punctuation such as `#` or `PREFIX<>`, never the start of a data row.
    // and never ends inside a word (`#set_separator` is not a block start with prefix `#set_`).
    let last = *prefix.last()?;
    if prefix.len() > MAX_PREFIX
        || prefix.contains(&b'\t')
        || last.is_ascii_alphanumeric()
        || last == b'_'
    {
        return None;
    }
    match line.get(i + 9) {
        Some(b' ' | b'\t') | None => Some(prefix),
        _ => None,
    }
}

impl Header {
    /// The markers rows of this block are read with.
    pub fn markers(&self) -> Markers<'_> {
        Markers {
            set_separator: &self.set_separator,
            empty_field: &self.empty_field,
            unset_field: &self.unset_field,
        }
    }

    /// Index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }

    /// Starts a new block from its `#separator` line. Returns `None` if the line is not one.
    /// An empty or unreadable separator falls back to tab and says so.
    pub fn from_separator_line(line: &[u8]) -> Option<(Header, Option<String>)> {
        let prefix = separator_line_prefix(line)?;
        let value = line.get(prefix.len() + 10..).unwrap_or(&[]);
        let mut h = Header {
            prefix: prefix.to_vec(),
            ..Header::default()
        };
        let sep = unescape_lossy(value);
        if sep.is_empty() {
            return Some((h, Some("empty #separator: using tab".into())));
        }
        h.separator = sep;
        Some((h, None))
    }

    /// Recognises a directive line of this block (other than `#separator`): the directive,
    /// its value, and the delimiter that followed the name (normally the block's separator).
    pub fn directive<'l>(&self, line: &'l [u8]) -> Option<(Directive, &'l [u8], &'l [u8])> {
        let rest = line.strip_prefix(self.prefix.as_slice())?;
        for (name, d) in NAMES {
            if let Some(after) = rest.strip_prefix(name) {
                if after.is_empty() {
                    return Some((d, after, &[]));
                }
                if let Some(v) = after.strip_prefix(self.separator.as_slice()) {
                    return Some((d, v, &after[..self.separator.len()]));
                }
                // Lenient: a tab or space after the name whatever the separator, or another
                // punctuation byte (zeek-cut -F rewrites the header with its own separator).
                let b = after[0];
                if b.is_ascii_punctuation() || b == b'\t' || b == b' ' {
                    return Some((d, &after[1..], &after[..1]));
                }
            }
        }
        None
    }

    /// Applies a directive whose name was followed by `delim`. A `#fields` line written with
    /// another single-byte delimiter than `#separator` (zeek-cut -F) declares the rows' one.
    pub fn apply_with(&mut self, d: Directive, value: &[u8], delim: &[u8]) -> Option<String> {
        if d == Directive::Fields
            && delim.len() == 1
            && delim != self.separator.as_slice()
            && delim[0].is_ascii_punctuation()
        {
            self.separator = delim.to_vec();
        }
        self.apply(d, value)
    }

    /// Applies a directive to this block. Returns a complaint if its value was odd.
    pub fn apply(&mut self, d: Directive, value: &[u8]) -> Option<String> {
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        match d {
            Directive::Separator | Directive::Close => {}
            Directive::SetSeparator => self.set_separator = unescape_lossy(value),
            Directive::EmptyField => self.empty_field = unescape_lossy(value),
            Directive::UnsetField => self.unset_field = unescape_lossy(value),
            Directive::Path => self.path = Some(text(value)),
            Directive::Open => self.open = Some(text(value)),
            Directive::Fields => {
                self.fields = split(value, &self.separator).map(text).collect();
                self.types.clear();
                self.type_names.clear();
                self.checked.clear();
                return dedup_names(&mut self.fields);
            }
            Directive::Types => {
                self.type_names = split(value, &self.separator).map(text).collect();
                self.types = self.type_names.iter().map(|t| ZeekType::parse(t)).collect();
                self.checked = (0..self.types.len())
                    .filter(|&i| !self.types[i].never_wrong())
                    .collect();
                if self.types.len() != self.fields.len() {
                    return Some(format!(
                        "#types lists {} types for {} fields",
                        self.types.len(),
                        self.fields.len()
                    ));
                }
            }
        }
        None
    }

    /// The type of column `i`; `string` where `#types` is missing or short.
    pub fn type_of(&self, i: usize) -> ZeekType {
        self.types
            .get(i)
            .copied()
            .unwrap_or(ZeekType::single(crate::types::Scalar::String))
    }
}

/// Renames a field name that repeats an earlier one to `name_2`, `name_3` ... so that a record
/// never holds one key twice (a JSON reader would keep one value and lose the others), and
/// says so. Zeek never writes such a header; hand-edited and re-cut logs do.
fn dedup_names(fields: &mut [String]) -> Option<String> {
    let mut seen = std::collections::HashSet::with_capacity(fields.len());
    let dups: Vec<usize> = (0..fields.len())
        .filter(|&i| !seen.insert(fields[i].clone()))
        .collect();
    let first = dups.first()?;
    let said = format!(
        "#fields repeats {:?}: later columns renamed",
        fields[*first]
    );
    for i in dups {
        let mut k = 2;
        let name = loop {
            let n = format!("{}_{k}", fields[i]);
            if !seen.contains(&n) {
                break n;
            }
            k += 1;
        };
        seen.insert(name.clone());
        fields[i] = name;
    }
    Some(said)
}

/// Splits on a (possibly multi-byte) separator; an empty separator yields the whole input.
pub fn split<'a, 's>(s: &'a [u8], sep: &'s [u8]) -> impl Iterator<Item = &'a [u8]> + 's
where
    'a: 's,
{
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        let found = match sep.len() {
            0 => None,
            1 => memchr::memchr(sep[0], r),
            _ => memchr::memmem::find(r, sep),
        };
        match found {
            Some(i) => {
                rest = Some(&r[i + sep.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_variants() {
        let (h, _) = Header::from_separator_line(b"#separator \\x09").unwrap();
        assert_eq!(h.separator, b"\t");
        let (h, _) = Header::from_separator_line(b"#separator\t\\x09").unwrap();
        assert_eq!(h.separator, b"\t");
        let (h, _) = Header::from_separator_line(b"#separator ||").unwrap();
        assert_eq!(h.separator, b"||");
        let (h, _) = Header::from_separator_line(b"PREFIX<>separator |").unwrap();
        assert_eq!(
            (h.prefix.as_slice(), h.separator.as_slice()),
            (&b"PREFIX<>"[..], &b"|"[..])
        );
        let (h, warn) = Header::from_separator_line(b"#separator ").unwrap();
        assert_eq!(h.separator, b"\t");
        assert!(warn.is_some());
        assert!(Header::from_separator_line(b"1.0\tseparator x").is_none());
        assert!(Header::from_separator_line(b"#set_separator\t,").is_none());
    }

    #[test]
    fn directives_with_multibyte_separator() {
        let (mut h, _) = Header::from_separator_line(b"#separator ||").unwrap();
        let (d, v, _) = h.directive(b"#fields||a||b").unwrap();
        assert_eq!(d, Directive::Fields);
        h.apply(d, v);
        assert_eq!(h.fields, ["a", "b"]);
        let (d, v, _) = h.directive(b"#set_separator||\\xc2\\xae").unwrap();
        h.apply(d, v);
        assert_eq!(h.set_separator, "\u{ae}".as_bytes());
    }

    #[test]
    fn repeated_field_names_are_renamed() {
        let mut h = Header::default();
        let said = h.apply(Directive::Fields, b"id\torig_h\tid\tid\tid_2");
        assert_eq!(h.fields, ["id", "orig_h", "id_3", "id_4", "id_2"]);
        assert!(said.unwrap().contains("\"id\""));
        assert_eq!(h.apply(Directive::Fields, b"ts\tuid"), None);
    }
}
