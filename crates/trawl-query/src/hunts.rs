//! Built-in hunts: named queries of the language (and, for software, a version comparison the
//! language cannot express in one pipeline), run by `trawl hunt NAME`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use trawl_zeek::{Record, Scalar, Value, ZeekType};

use crate::functions::version_cmp;

/// One section of a hunt: a title and its query.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// What the section shows.
    pub title: &'static str,
    /// The query (log types first, as in `trawl query`).
    pub query: &'static str,
}

/// A built-in hunt.
#[derive(Debug, Clone, Copy)]
pub struct Hunt {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line about it.
    pub about: &'static str,
    /// The queries it runs, in order.
    pub sections: &'static [Section],
}

/// Every built-in hunt.
pub const HUNTS: &[Hunt] = &[
    Hunt {
        name: "software",
        about: "outdated software: versions below the newest seen for the same software, or below a baseline",
        sections: &[Section {
            title: "software versions by host (compared after the scan)",
            query: "software | where exists name | summarize first = min(ts), last = max(ts), n = count() \
                    by host, software_type, name, version.major, version.minor, version.minor2, version.minor3, version.addl, unparsed_version",
        }],
    },
    Hunt {
        name: "user-agents",
        about: "odd user-agents: seen from one client only, scripting tools, very short or empty",
        sections: &[
            Section {
                title: "user-agents of one client only (rarest first)",
                query: "http | where exists user_agent | summarize n = count(), clients = dcount(id.orig_h), client = min(id.orig_h), \
                        hosts = values(host), first = min(ts) by user_agent | where clients == 1 | sort n, user_agent | head 50",
            },
            Section {
                title: "scripting tools and odd user-agents",
                query: "http | where user_agent =~ /(?i)^(curl|wget|python|go-http|java\\/|powershell|libwww|okhttp|nmap|sqlmap|nikto|masscan|zgrab)|^.{0,9}$|\\(\\)\\s*\\{|\\$\\{/ \
                        | summarize n = count(), clients = values(id.orig_h), hosts = values(host) by user_agent | sort n desc | head 50",
            },
        ],
    },
    Hunt {
        name: "domains",
        about: "top registered domains and TLDs; rare names ranked by how unexpected they are",
        sections: &[
            Section {
                title: "top registered domains",
                query: "dns | where exists query | summarize n = count(), names = dcount(query), clients = dcount(id.orig_h) \
                        by registered_domain = registered_domain(query) | sort n desc | head 25",
            },
            Section {
                title: "top TLDs",
                query: "dns | where exists query | summarize n = count(), domains = dcount(registered_domain(query)) \
                        by tld = tld(query) | sort n desc | head 25",
            },
            Section {
                title: "rare registered domains, most unexpected first (phish + dga score)",
                query: "dns | where exists query | summarize n = count(), clients = values(id.orig_h), example = min(query) \
                        by registered_domain = registered_domain(query) | where n <= 3 \
                        | put phish = score(registered_domain).phish, dga = score(registered_domain).dga, unexpected = phish + dga \
                        | sort unexpected desc | head 25",
            },
        ],
    },
    Hunt {
        name: "talkers",
        about: "who talks to whom: local and remote hosts by bytes, inbound services, traffic by direction \
                (local networks from [networks] or --networks, else the private ranges)",
        sections: &[
            Section {
                title: "local hosts talking out, by bytes",
                query: "conn | where direction() == \"outbound\" \
                        | summarize bytes = sum(coalesce(orig_bytes, 0) + coalesce(resp_bytes, 0)), conns = count(), \
                        remotes = dcount(id.resp_h) by id.orig_h, network = network(id.orig_h) | sort bytes desc | head 20",
            },
            Section {
                title: "remote hosts they talk to, by bytes",
                query: "conn | where direction() == \"outbound\" \
                        | summarize bytes = sum(coalesce(orig_bytes, 0) + coalesce(resp_bytes, 0)), conns = count(), \
                        clients = dcount(id.orig_h) by id.resp_h | sort bytes desc | head 20",
            },
            Section {
                title: "local services reached from outside",
                query: "conn | where direction() == \"inbound\" \
                        | summarize conns = count(), sources = dcount(id.orig_h), first = min(ts), last = max(ts) \
                        by id.resp_h, id.resp_p, proto | sort conns desc | head 20",
            },
            Section {
                title: "connections and bytes by direction",
                query: "conn | summarize conns = count(), bytes = sum(coalesce(orig_bytes, 0) + coalesce(resp_bytes, 0)) \
                        by direction = direction() | sort conns desc",
            },
        ],
    },
    Hunt {
        name: "dga",
        about: "names most likely made by a domain generation algorithm, with the clients that asked",
        sections: &[Section {
            title: "highest DGA scores",
            query: "dns | where exists query | put dga = dga_score(query) | where dga >= 0.5 \
                    | summarize n = count(), first = min(ts), last = max(ts), clients = values(id.orig_h) by query, dga \
                    | sort dga desc, n desc | head 50",
        }],
    },
];

/// The hunt of a name.
pub fn by_name(name: &str) -> Option<&'static Hunt> {
    HUNTS.iter().find(|h| h.name == name)
}

/// Versions below which well-known software is out of support (a floor, not a judgement of
/// the newest release). Compared with [`version_cmp`] on the version Zeek parsed.
pub const BASELINE: &[(&str, &str)] = &[
    ("Java", "1.8.0"),
    ("MSIE", "12"),
    ("OpenSSH", "8.0"),
    ("OpenSSL", "1.1.1"),
    ("Apache", "2.4"),
    ("PHP", "8.1"),
    ("nginx", "1.20"),
    ("Microsoft-IIS", "8.5"),
    ("Firefox", "115"),
    ("Chrome", "120"),
    ("Safari", "16"),
];

/// The version of a software.log row: `major.minor.minor2.minor3` and `addl`, as Zeek parsed it;
/// `None` when Zeek parsed no version.
pub fn version_of(r: &Record) -> Option<String> {
    let mut parts = Vec::new();
    for f in [
        "version.major",
        "version.minor",
        "version.minor2",
        "version.minor3",
    ] {
        match r.get(f) {
            Some(Value::Count(c)) => parts.push(c.to_string()),
            Some(Value::Str(s)) if !s.is_empty() && s.as_ref() != b"-" => {
                parts.push(String::from_utf8_lossy(s).into_owned())
            }
            _ => break,
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut v = parts.join(".");
    if let Some(Value::Str(a)) = r.get("version.addl") {
        if !a.is_empty() {
            v.push('-');
            v.push_str(&String::from_utf8_lossy(a));
        }
    }
    Some(v)
}

/// Outdated software from the rows of the `software` hunt's query: for each (type, name), the
/// newest version seen; rows with an older version, or one below the [`BASELINE`], come out
/// with the reason. Ordered by name, then version.
pub fn outdated_software(rows: &[Record<'static>]) -> Vec<Record<'static>> {
    let key = |r: &Record| {
        let s = |f: &str| match r.get(f) {
            Some(Value::Str(s)) => String::from_utf8_lossy(s).into_owned(),
            Some(v) => {
                let mut o = Vec::new();
                v.write_text(&mut o);
                String::from_utf8_lossy(&o).into_owned()
            }
            None => String::new(),
        };
        (s("software_type"), s("name"))
    };
    let mut newest: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in rows {
        if let Some(v) = version_of(r) {
            let e = newest.entry(key(r)).or_insert_with(|| v.clone());
            if version_cmp(&v, e) == std::cmp::Ordering::Greater {
                *e = v;
            }
        }
    }
    let mut out: Vec<(String, String, Record<'static>)> = Vec::new();
    for r in rows {
        let Some(v) = version_of(r) else { continue };
        let k = key(r);
        let mut why = Vec::new();
        if let Some(n) = newest.get(&k) {
            if version_cmp(&v, n) == std::cmp::Ordering::Less {
                why.push(format!("older than {n} seen on the network"));
            }
        }
        if let Some((_, floor)) = BASELINE.iter().find(|(name, _)| *name == k.1) {
            if version_cmp(&v, floor) == std::cmp::Ordering::Less {
                why.push(format!("below the supported floor {floor}"));
            }
        }
        if why.is_empty() {
            continue;
        }
        let t = |s: Scalar| ZeekType::single(s);
        let text = |s: String| Value::Str(Cow::Owned(s.into_bytes()));
        let mut o = Record::new("hunt_software");
        o.push(
            "host",
            t(Scalar::Addr),
            r.get("host").cloned().unwrap_or(Value::Unset),
        );
        o.push("software_type", t(Scalar::String), text(k.0.clone()));
        o.push("name", t(Scalar::String), text(k.1.clone()));
        o.push("version", t(Scalar::String), text(v.clone()));
        o.push(
            "newest_seen",
            t(Scalar::String),
            newest.get(&k).cloned().map_or(Value::Unset, text),
        );
        o.push(
            "n",
            t(Scalar::Count),
            r.get("n").cloned().unwrap_or(Value::Unset),
        );
        o.push(
            "last",
            t(Scalar::Time),
            r.get("last").cloned().unwrap_or(Value::Unset),
        );
        o.push("why", t(Scalar::String), text(why.join("; ")));
        o.push(
            "unparsed_version",
            t(Scalar::String),
            r.get("unparsed_version").cloned().unwrap_or(Value::Unset),
        );
        out.push((k.1, v, o));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| version_cmp(&a.1, &b.1)));
    out.into_iter().map(|(_, _, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_query;

    #[test]
    fn every_hunt_parses() {
        for h in HUNTS {
            for s in h.sections {
                if let Err(e) = parse_query(s.query) {
                    panic!("hunt {} section {:?}: {e}", h.name, s.title);
                }
            }
        }
    }

    #[test]
    fn older_versions_are_flagged() {
        let row = |host: &str, maj: u64, min: u64, m2: u64, m3: u64| {
            let mut r = Record::new("summary");
            let t = |s: Scalar| ZeekType::single(s);
            r.push("host", t(Scalar::Addr), Value::Addr(host.parse().unwrap()));
            r.push(
                "software_type",
                t(Scalar::String),
                Value::Str(Cow::Borrowed(b"HTTP::BROWSER")),
            );
            r.push(
                "name",
                t(Scalar::String),
                Value::Str(Cow::Borrowed(b"Java")),
            );
            r.push("version.major", t(Scalar::Count), Value::Count(maj));
            r.push("version.minor", t(Scalar::Count), Value::Count(min));
            r.push("version.minor2", t(Scalar::Count), Value::Count(m2));
            r.push("version.minor3", t(Scalar::Count), Value::Count(m3));
            r.push("n", t(Scalar::Count), Value::Count(1));
            r
        };
        let rows = vec![
            row("10.0.0.1", 1, 7, 0, 10),
            row("10.0.0.2", 1, 8, 0, 401),
            row("10.0.0.3", 1, 8, 0, 11),
        ];
        let out = outdated_software(&rows);
        let got: Vec<(String, String)> = out
            .iter()
            .map(|r| {
                let mut v = Vec::new();
                r.get("version").unwrap().write_text(&mut v);
                let mut w = Vec::new();
                r.get("why").unwrap().write_text(&mut w);
                (String::from_utf8(v).unwrap(), String::from_utf8(w).unwrap())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "1.7.0.10".to_string(),
                    "older than 1.8.0.401 seen on the network; below the supported floor 1.8.0"
                        .to_string()
                ),
                (
                    "1.8.0.11".to_string(),
                    "older than 1.8.0.401 seen on the network".to_string()
                ),
            ]
        );
    }
}
