//! What a file's name (and its folder's) tells before it is opened: the log type,
//! the time span of a rotated file, and the compression its extension claims.

use std::path::Path;

use crate::civil::{self, NANOS_PER_SEC};
use crate::{Compression, Nanos};

/// Extensions of the files taken when walking folders (under any `.gz`/`.zst`).
const LOG_EXTS: &[&str] = &["log", "json", "jsonl", "ndjson", "tsv", "txt"];

/// Log types Zeek writes (its own and common packages'): a file named so holds that type,
/// and is not opened to ask. `syslog` is left out: it is also where resolvers log.
const ZEEK_TYPES: &[&str] = &[
    "analyzer",
    "broker",
    "capture_loss",
    "cluster",
    "config",
    "conn",
    "conn-summary",
    "dce_rpc",
    "dhcp",
    "dnp3",
    "dns",
    "dpd",
    "files",
    "ftp",
    "http",
    "intel",
    "irc",
    "kerberos",
    "known_certs",
    "known_devices",
    "known_hosts",
    "known_modbus",
    "known_services",
    "ldap",
    "ldap_search",
    "loaded_scripts",
    "modbus",
    "mqtt",
    "mysql",
    "netcontrol",
    "notice",
    "notice_alarm",
    "ntlm",
    "ntp",
    "ocsp",
    "openflow",
    "packet_filter",
    "pe",
    "print",
    "quic",
    "radius",
    "rdp",
    "reporter",
    "signatures",
    "sip",
    "smb_cmd",
    "smb_files",
    "smb_mapping",
    "smtp",
    "snmp",
    "socks",
    "software",
    "ssh",
    "ssl",
    "stats",
    "stderr",
    "stdout",
    "telemetry",
    "traceroute",
    "tunnel",
    "unified2",
    "weird",
    "weird_stats",
    "websocket",
    "x509",
];

/// Whether a file name's log type is one Zeek writes ([`LogFile::log_type`] of such a file
/// is trusted without reading it; others, such as `dnsmasq` or `daemon`, are worth a look).
///
/// [`LogFile::log_type`]: crate::LogFile::log_type
pub fn is_zeek_log_type(t: &str) -> bool {
    ZEEK_TYPES.contains(&t)
}

/// What [`parse_name`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameInfo {
    pub log_type: Option<String>,
    pub span: Option<(Nanos, Nanos)>,
    pub compression: Compression,
    /// Has a log extension somewhere after the type (`conn.log`, `dns.log.1.gz`,
    /// `conn.log.2024-04-12-09-00-00`): taken when walking folders.
    pub looks_like_log: bool,
}

/// Reads the name of `path`, and its parent folder's when that is a date.
pub(crate) fn parse_name(path: &Path) -> NameInfo {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let (base, compression) = strip_compression(&name);
    let folder_day = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|d| d.to_str())
        .and_then(|d| civil::parse_date(d.as_bytes()));

    if let Some(info) = archiver_queue_name(base, compression) {
        return info;
    }
    let mut segments = base.split('.');
    let log_type = segments.next().filter(|t| !t.is_empty()).map(str::to_owned);
    let mut span = None;
    let mut looks_like_log = false;
    for seg in segments {
        looks_like_log |= LOG_EXTS.contains(&seg);
        span = span.or_else(|| rotated_span(seg.as_bytes(), folder_day));
    }
    NameInfo {
        log_type,
        span,
        compression,
        looks_like_log,
    }
}

fn strip_compression(name: &str) -> (&str, Compression) {
    if let Some(base) = name.strip_suffix(".gz") {
        (base, Compression::Gzip)
    } else if let Some(base) = name
        .strip_suffix(".zst")
        .or_else(|| name.strip_suffix(".zstd"))
    {
        (base, Compression::Zstd)
    } else {
        (name, Compression::None)
    }
}

/// One dot-separated part of a rotated name:
/// - zeekctl's archive `09:00:00-10:00:00` (maybe with a `-suffix`), dated by the
///   folder; an end at or before the start lies on the next day (`23:00:00-00:00:00`);
/// - Zeek's own rotation `2024-04-12-09-00-00`, which gives only the opening time,
///   so the span is open-ended.
///
/// Ends are exclusive and one second late, since names drop the fraction of a second.
fn rotated_span(seg: &[u8], folder_day: Option<i64>) -> Option<(Nanos, Nanos)> {
    if let Some(start) = civil::parse_dashed_datetime(seg) {
        return Some((start, Nanos::MAX));
    }
    let day = folder_day?;
    let head = seg.get(..17)?;
    if head[8] != b'-' || !(seg.len() == 17 || seg[17] == b'-') {
        return None;
    }
    let open = civil::parse_hms(&head[..8], b':')?;
    let close = civil::parse_hms(&head[9..], b':')?;
    let close_day = if close <= open { day + 1 } else { day };
    let start = civil::to_nanos(day, open, 0)?;
    let end = civil::to_nanos(close_day, close + 1, 0)?;
    Some((start, end))
}

/// zeek-archiver's queue form `conn__2024-04-12-09-00-00__2024-04-12-10-00-00__.log`.
fn archiver_queue_name(base: &str, compression: Compression) -> Option<NameInfo> {
    let mut parts = base.split("__");
    let log_type = parts.next().filter(|t| !t.is_empty())?;
    let start = civil::parse_dashed_datetime(parts.next()?.as_bytes())?;
    let end = civil::parse_dashed_datetime(parts.next()?.as_bytes())?;
    let end = end.checked_add(NANOS_PER_SEC)?.max(start);
    let ext = base.rsplit('.').next().unwrap_or_default();
    Some(NameInfo {
        log_type: Some(log_type.to_owned()),
        span: Some((start, end)),
        compression,
        looks_like_log: LOG_EXTS.contains(&ext),
    })
}

/// Whether `span` can hold rows in `[since, until)`.
pub(crate) fn overlaps(span: (Nanos, Nanos), since: Option<Nanos>, until: Option<Nanos>) -> bool {
    !matches!(since, Some(s) if span.1 <= s) && !matches!(until, Some(u) if span.0 >= u)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Nanos = 86_400 * NANOS_PER_SEC;
    const H: Nanos = 3_600 * NANOS_PER_SEC;
    const S: Nanos = NANOS_PER_SEC;
    const D0412: Nanos = 1_712_880_000 * NANOS_PER_SEC;

    fn p(s: &str) -> NameInfo {
        parse_name(Path::new(s))
    }
    fn ty(s: &str) -> Option<String> {
        p(s).log_type
    }

    #[test]
    fn log_types() {
        assert_eq!(ty("conn.log").as_deref(), Some("conn"));
        assert_eq!(
            ty("logs/2024-04-12/conn.09:00:00-10:00:00.log.gz").as_deref(),
            Some("conn")
        );
        assert_eq!(ty("dns.json.gz").as_deref(), Some("dns"));
        assert_eq!(ty("dns_big.log").as_deref(), Some("dns_big"));
        assert_eq!(ty("logs/current/dns.log").as_deref(), Some("dns"));
        assert_eq!(ty("conn.2024-04-12-09-00-00.log").as_deref(), Some("conn"));
        assert_eq!(ty("conn.log.2024-04-12-09-00-00").as_deref(), Some("conn"));
        assert_eq!(ty("x509.log.zst").as_deref(), Some("x509"));
        assert_eq!(
            ty("conn__2024-04-12-09-00-00__2024-04-12-10-00-00__.log").as_deref(),
            Some("conn")
        );
        assert_eq!(ty("dnsmasq"), Some("dnsmasq".into()));
        assert_eq!(ty(".hidden.log"), None);
        assert_eq!(ty(""), None);
    }

    #[test]
    fn compression_by_name() {
        assert_eq!(p("a.log.gz").compression, Compression::Gzip);
        assert_eq!(p("a.log.zst").compression, Compression::Zstd);
        assert_eq!(p("a.log").compression, Compression::None);
    }

    #[test]
    fn log_like_names() {
        for yes in [
            "conn.log",
            "dns.json.gz",
            "a.jsonl",
            "a.ndjson.zst",
            "a.tsv",
            "a.txt",
            "dns.09:00:00-10:00:00.json.gz",
            "conn.log.2024-04-12-09-00-00",
            "dnsmasq.log.1.gz",
            "http.log.corrupt.gz",
        ] {
            assert!(p(yes).looks_like_log, "{yes}");
        }
        for no in ["trace.pcap.gz", "README.md", "log", "intel_example.intel"] {
            assert!(!p(no).looks_like_log, "{no}");
        }
    }

    #[test]
    fn rotated_spans() {
        let span = |s| p(s).span;
        assert_eq!(
            span("logs/2024-04-12/conn.09:00:00-10:00:00.log.gz"),
            Some((D0412 + 9 * H, D0412 + 10 * H + S))
        );
        assert_eq!(
            span("2024-04-12/dns.09:00:00-10:00:00.json.gz"),
            Some((D0412 + 9 * H, D0412 + 10 * H + S))
        );
        // Zeek-archiver's metadata suffix.
        assert_eq!(
            span("2024-04-12/conn.09:00:00-10:00:00-logger-1.log.gz"),
            Some((D0412 + 9 * H, D0412 + 10 * H + S))
        );
        // An interval ending at midnight belongs to the next day.
        assert_eq!(
            span("2024-04-12/conn.23:00:00-00:00:00.log.gz"),
            Some((D0412 + 23 * H, D0412 + DAY + S))
        );
        // Daily rotation.
        assert_eq!(
            span("2024-04-12/conn.00:00:00-00:00:00.log.gz"),
            Some((D0412, D0412 + DAY + S))
        );
        // No dated folder: no span.
        assert_eq!(span("logs/conn.09:00:00-10:00:00.log.gz"), None);
        assert_eq!(span("2024-04-31/conn.09:00:00-10:00:00.log.gz"), None);
        assert_eq!(span("2024-04-12/conn.09:00:00-10:00:0.log"), None);
        assert_eq!(span("2024-04-12/conn.log"), None);
        // Zeek's own rotation names give only the opening time.
        assert_eq!(
            span("conn.2024-04-12-09-00-00.log"),
            Some((D0412 + 9 * H, Nanos::MAX))
        );
        assert_eq!(
            span("conn.log.2024-04-12-09-00-00"),
            Some((D0412 + 9 * H, Nanos::MAX))
        );
        assert_eq!(
            span("conn__2024-04-12-09-00-00__2024-04-12-10-00-00__.log"),
            Some((D0412 + 9 * H, D0412 + 10 * H + S))
        );
        assert_eq!(span("conn__2024-04-12-09-00-00__junk__.log"), None);
    }

    #[test]
    fn overlap_rules() {
        let span = (10, 20);
        assert!(overlaps(span, None, None));
        assert!(overlaps(span, Some(19), None));
        assert!(!overlaps(span, Some(20), None));
        assert!(overlaps(span, None, Some(11)));
        assert!(!overlaps(span, None, Some(10)));
        assert!(overlaps(span, Some(0), Some(100)));
        assert!(!overlaps(span, Some(30), Some(40)));
    }

    #[test]
    fn never_panics_on_junk() {
        let alphabet = b"0123456789-:._/conlgzjs";
        for s in crate::civil::tests::junk(11, alphabet).take(200_000) {
            let _ = p(&s);
            let _ = p(&format!("2024-04-12/{s}"));
        }
    }
}
