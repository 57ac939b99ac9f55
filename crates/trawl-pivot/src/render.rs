//! One line per record for people at a terminal: time, log type, the connection, and the few
//! fields that tell what happened in that log type.

use std::fmt::Write as _;

use trawl_zeek::time::{civil_time, Nanos};
use trawl_zeek::Record;

use crate::story::{texts, Item, Via};

/// The fields worth a glance, by log type (after the uid and the connection's addresses).
fn key_fields(path: &str) -> &'static [&'static str] {
    match path {
        "conn" => &[
            "proto",
            "service",
            "duration",
            "orig_bytes",
            "resp_bytes",
            "conn_state",
            "history",
        ],
        "dns" => &["query", "qtype_name", "rcode_name", "answers"],
        "http" => &[
            "method",
            "host",
            "uri",
            "status_code",
            "resp_mime_types",
            "resp_fuids",
            "user_agent",
        ],
        "files" => &[
            "fuid",
            "source",
            "tx_hosts",
            "rx_hosts",
            "mime_type",
            "filename",
            "total_bytes",
            "md5",
            "sha1",
            "sha256",
        ],
        "ssl" => &[
            "version",
            "server_name",
            "established",
            "subject",
            "cert_chain_fuids",
            "cert_chain_fps",
        ],
        "x509" => &[
            "id",
            "fingerprint",
            "certificate.subject",
            "certificate.issuer",
            "certificate.not_valid_after",
            "san.dns",
        ],
        "pe" => &["id", "machine", "compile_ts", "os", "subsystem", "is_exe"],
        "smtp" => &["mailfrom", "rcptto", "subject", "fuids"],
        "software" => &["host", "software_type", "name", "unparsed_version"],
        "notice" => &["note", "msg", "sub", "src", "dst", "fuid"],
        "weird" => &["name", "addl"],
        "dhcp" => &[
            "mac",
            "assigned_addr",
            "host_name",
            "client_addr",
            "msg_types",
        ],
        "ssh" => &["version", "auth_success", "client", "server"],
        "ocsp" => &["id", "certStatus", "serialNumber"],
        _ => &[],
    }
}

/// Longest value shown; longer ones end in `…`.
const MAX_VALUE: usize = 80;

/// `2025-11-20 09:50:01.000000` (UTC).
pub fn format_ts(t: Nanos) -> String {
    let secs = t.div_euclid(1_000_000_000);
    let micros = t.rem_euclid(1_000_000_000) / 1000;
    let (y, m, d, hh, mm, ss) = civil_time(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{micros:06}")
}

fn shorten(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= MAX_VALUE {
        return clean;
    }
    let mut out: String = clean.chars().take(MAX_VALUE - 1).collect();
    out.push('…');
    out
}

/// The record in one line (without time and type): uid, `orig:port -> resp:port`, key fields
/// as `name=value`. Log types without a list show their first fields.
pub fn summary(rec: &Record) -> String {
    let mut out = String::new();
    let one = |f: &str| texts(rec, f).join(",");
    let uid = one("uid");
    if !uid.is_empty() {
        out.push_str(&uid);
    }
    let (oh, op, rh, rp) = (
        one("id.orig_h"),
        one("id.orig_p"),
        one("id.resp_h"),
        one("id.resp_p"),
    );
    if !oh.is_empty() || !rh.is_empty() {
        if !out.is_empty() {
            out.push_str("  ");
        }
        let _ = write!(out, "{oh}:{op} -> {rh}:{rp}");
    }
    let listed = key_fields(&rec.path);
    let names: Vec<&str> = if listed.is_empty() {
        rec.fields
            .iter()
            .map(|f| f.name.as_ref())
            .filter(|n| *n != "ts" && *n != "uid" && !n.starts_with("id.") && !n.starts_with('_'))
            .take(8)
            .collect()
    } else {
        listed.to_vec()
    };
    for name in names {
        let v = one(name);
        if v.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("  ");
        }
        let _ = write!(out, "{name}={}", shorten(&v));
    }
    out
}

/// Why the item is in the story, for people: empty for a direct match.
pub fn via_text(via: &Via) -> String {
    match via {
        Via::Match => String::new(),
        Via::Link { field, value } => format!("<- {field} {value}"),
        Via::Lookup {
            uid,
            before,
            same_client,
            ..
        } => {
            let secs = *before as f64 / 1e9;
            let who = if *same_client { "" } else { ", another client" };
            format!("<- lookup {secs:.1}s before {uid}{who}")
        }
    }
}

/// The whole line for a terminal: time, type, summary, why.
pub fn line(item: &Item) -> String {
    let ts = item.ts.map_or_else(|| "-".repeat(26), format_ts);
    let via = via_text(&item.via);
    let mut s = format!("{ts}  {:<8} {}", item.record.path, summary(&item.record));
    if !via.is_empty() {
        s.push_str("  ");
        s.push_str(&via);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            format_ts(1_763_631_001_200_000_000),
            "2025-11-20 09:30:01.200000"
        );
        assert_eq!(format_ts(-1_000), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(200);
        assert_eq!(shorten(&long).chars().count(), MAX_VALUE);
        assert_eq!(shorten("a\tb"), "a b");
    }
}
