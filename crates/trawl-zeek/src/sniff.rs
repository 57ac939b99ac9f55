//! What a log holds, from its first lines: the one format sniffer every command uses to pick
//! a reader and to know a file's log types whatever its name.
//!
//! Lines that no format claims (a systemd line at the top of a `daemon.log`, a banner) are
//! passed over, so the first line does not decide alone; the first line that a format
//! claims does.

use crate::dnsmasq::DnsmasqReader;
use crate::header::separator_line_prefix;
use crate::reader::Format;

/// What [`sniff`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sniff {
    /// The format of the first line a format claims; `None` if no line was claimed.
    pub format: Option<Format>,
    /// The log types the content declares: `#path` of the first header block, `_path` of the
    /// first JSON record, `dns` and `dhcp` for dnsmasq. Empty when it declares none (the
    /// file name then says).
    pub types: Vec<String>,
    /// Zeek TSV without a header block: its first line is the field names (`ts uid ...`).
    pub headerless: bool,
    /// JSON whose first object spans several lines (pretty-printed).
    pub pretty_json: bool,
    /// Zeek TSV written with a meta prefix other than `#` (`LogAscii::meta_prefix`).
    pub meta_prefix: bool,
    /// Lines passed over before the deciding one.
    pub skipped: usize,
}

impl Sniff {
    /// Whether the file must be read in order by the record reader (it cannot be cut into
    /// ranges read in parallel): dnsmasq, pretty-printed JSON, header-less TSV, TSV with
    /// another meta prefix.
    pub fn in_order(&self) -> bool {
        self.headerless
            || self.pretty_json
            || self.meta_prefix
            || self.format == Some(Format::Dnsmasq)
    }
}

/// Sniffs the start of a log (its first bytes, decompressed; a partial last line is
/// ignored unless `head` is all there is).
pub fn sniff(head: &[u8]) -> Sniff {
    let mut out = Sniff::default();
    let mut lines = head.split(|&b| b == b'\n').peekable();
    let mut no = 0;
    while let Some(raw) = lines.next() {
        if lines.peek().is_none() && no > 0 && !head.ends_with(b"\n") {
            // A line cut by the end of the head: not evidence.
            break;
        }
        no += 1;
        let text = raw.strip_suffix(b"\r").unwrap_or(raw);
        let t = trim_start(text);
        if t.is_empty() {
            continue;
        }
        if no == 1 && crate::tsv::looks_like_names(text) {
            out.format = Some(Format::ZeekTsv);
            out.headerless = true;
            return out;
        }
        let prefix = separator_line_prefix(text);
        if prefix.is_some() || t.starts_with(b"#fields") {
            out.format = Some(Format::ZeekTsv);
            out.meta_prefix = prefix.is_some_and(|p| p != b"#");
            out.types.extend(header_path(&mut lines));
            return out;
        }
        if t.starts_with(b"#path") {
            out.format = Some(Format::ZeekTsv);
            out.types.extend(path_value(t));
            return out;
        }
        if t[0] == b'{' {
            out.format = Some(Format::ZeekJson);
            out.pretty_json = matches!(
                crate::json::Parser::new(t).parse_document(),
                Err(crate::json::JsonError::Incomplete)
            );
            out.types.extend(json_path(t));
            return out;
        }
        if DnsmasqReader::looks_like(text) {
            out.format = Some(Format::Dnsmasq);
            out.types = vec!["dns".into(), "dhcp".into()];
            return out;
        }
        out.skipped += 1;
    }
    out
}

/// The `#path` of the header block that the lines start inside.
fn header_path<'a>(lines: &mut impl Iterator<Item = &'a [u8]>) -> Option<String> {
    for l in lines.take(32) {
        let t = trim_start(l);
        if !t.starts_with(b"#") {
            return None;
        }
        if t.starts_with(b"#path") {
            return path_value(t);
        }
    }
    None
}

/// `#path<sep>dns` -> `dns`.
fn path_value(t: &[u8]) -> Option<String> {
    let v = t.get(5..)?;
    let v = std::str::from_utf8(v).ok()?.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// `"_path":"dns"` of a JSON line.
fn json_path(t: &[u8]) -> Option<String> {
    let i = memchr::memmem::find(t, b"\"_path\"")?;
    let rest = std::str::from_utf8(&t[i + 7..]).ok()?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    rest.split('"')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let i = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_types() {
        let tsv = sniff(b"#separator \\x09\n#set_separator\t,\n#path\tconn\n#fields\tts\n1.0\n");
        assert_eq!((tsv.format, tsv.in_order()), (Some(Format::ZeekTsv), false));
        assert_eq!(tsv.types, ["conn"]);
        let json = sniff(b"{\"_path\":\"http\",\"ts\":1.0}\n");
        assert_eq!(json.types, ["http"]);
        assert!(sniff(b"{\n  \"ts\": 1.0\n}\n").pretty_json);
        assert!(sniff(b"ts\tuid\tquery\n1.0\tC1\ta.com\n").headerless);
        let prefixed = sniff(b"PREFIX<>separator |\nPREFIX<>path|ssh\n");
        assert!(prefixed.meta_prefix && prefixed.in_order());
    }

    #[test]
    fn lines_no_format_claims_are_passed_over() {
        let log = b"Nov 20 10:00:00 host systemd[1]: Started dnsmasq.service.\n\
Nov 20 10:00:01 host dnsmasq[812]: query[A] example.com from 10.0.0.5\n";
        let s = sniff(log);
        assert_eq!(s.format, Some(Format::Dnsmasq));
        assert_eq!(s.types, ["dns", "dhcp"]);
        assert_eq!(s.skipped, 1);
        assert!(s.in_order());
        assert_eq!(sniff(b"hello\nworld\n").format, None);
    }
}
