//! A report as text (an email body), HTML (inline CSS, no scripts, every string from the
//! logs escaped) and a Slack Block Kit summary.

use std::fmt::Write;

use serde_json::{json, Value as Json};
use trawl_alert::dest::slack_escape;

use crate::build::{human, human_bytes};
use crate::model::*;

/// The subject line: `trawl report 2025-11-20 09:00 to 10:00 UTC: 1,234 connections, ...`.
pub fn subject(r: &Report) -> String {
    format!(
        "trawl {} report {}: {} connections, {} DNS queries, {} alerts",
        r.period.every,
        r.period.label,
        human(r.headline.connections),
        human(r.headline.dns_queries),
        r.alerts.as_ref().map_or(0, |a| a.fired)
    )
}

/// One table: a title, column names, rows of cells.
struct Table {
    title: String,
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Columns aligned right (numbers).
    right: Vec<bool>,
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// The report's tables, in order, for both text and HTML.
fn tables(r: &Report) -> Vec<Table> {
    let mut t = Vec::new();
    // Remote hosts have no workstation: that column is left out for them.
    let talkers = |title: &str, v: &[Talker], local: bool| {
        let mut t = Table {
            title: title.to_string(),
            head: vec![
                "host",
                "workstation",
                "bytes",
                "sent",
                "received",
                "connections",
            ],
            rows: v
                .iter()
                .map(|x| {
                    vec![
                        x.host.clone(),
                        opt(&x.workstation),
                        human_bytes(x.bytes),
                        human_bytes(x.sent),
                        human_bytes(x.received),
                        human(x.connections),
                    ]
                })
                .collect(),
            right: vec![false, false, true, true, true, true],
        };
        if !local {
            t.head.remove(1);
            t.right.remove(1);
            for row in &mut t.rows {
                row.remove(1);
            }
        }
        t
    };
    let h = &r.headline;
    t.push(Table {
        title: "Traffic by direction".into(),
        head: vec![
            "direction",
            "connections",
            "originator bytes",
            "responder bytes",
        ],
        rows: r
            .traffic
            .directions
            .iter()
            .filter(|d| d.connections > 0)
            .map(|d| {
                vec![
                    d.direction.clone(),
                    human(d.connections),
                    human_bytes(d.orig_bytes),
                    human_bytes(d.resp_bytes),
                ]
            })
            .collect(),
        right: vec![false, true, true, true],
    });
    t.push(talkers(
        "Top local talkers (bytes)",
        &r.traffic.local_talkers,
        true,
    ));
    t.push(talkers(
        "Top remote hosts (bytes)",
        &r.traffic.remote_talkers,
        false,
    ));
    t.push(talkers(
        "Top local hosts (connections)",
        &r.traffic.local_by_connections,
        true,
    ));
    let usage = |title: &str, first: &'static str, v: &[Usage]| Table {
        title: title.to_string(),
        head: vec![first, "connections", "bytes"],
        rows: v
            .iter()
            .map(|u| vec![u.name.clone(), human(u.connections), human_bytes(u.bytes)])
            .collect(),
        right: vec![false, true, true],
    };
    t.push(usage("Top services", "service", &r.traffic.services));
    t.push(usage("Top responder ports", "port", &r.traffic.ports));
    t.push(Table {
        title: "Connection states".into(),
        head: vec!["state", "connections", "meaning"],
        rows: r
            .traffic
            .states
            .iter()
            .map(|s| {
                vec![
                    format!("{}{}", s.state, if s.look { " *" } else { "" }),
                    human(s.connections),
                    s.meaning.clone(),
                ]
            })
            .collect(),
        right: vec![false, true, false],
    });
    t.push(Table {
        title: "Failed connection attempts by source (S0, REJ, RSTOS0, RSTRH, SH)".into(),
        head: vec!["source", "workstation", "targets", "attempts"],
        rows: r
            .traffic
            .failed_sources
            .iter()
            .map(|f| {
                vec![
                    f.host.clone(),
                    opt(&f.workstation),
                    human(f.targets),
                    human(f.attempts),
                ]
            })
            .collect(),
        right: vec![false, false, true, true],
    });
    t.push(Table {
        title: "Top registered domains".into(),
        head: vec!["domain", "queries", "names", "clients"],
        rows: r
            .dns
            .top_domains
            .iter()
            .map(|d| {
                vec![
                    d.domain.clone(),
                    human(d.queries),
                    human(d.names),
                    human(d.clients),
                ]
            })
            .collect(),
        right: vec![false, true, true, true],
    });
    t.push(Table {
        title: "Top TLDs (public suffixes)".into(),
        head: vec!["tld", "queries", "domains"],
        rows: r
            .dns
            .top_tlds
            .iter()
            .map(|d| vec![d.tld.clone(), human(d.queries), human(d.domains)])
            .collect(),
        right: vec![false, true, true],
    });
    t.push(Table {
        title: "Highest phishing/DGA scores".into(),
        head: vec!["name", "phish", "dga", "queries", "clients", "workstations"],
        rows: r
            .dns
            .top_scores
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    format!("{:.3}", s.phish),
                    format!("{:.3}", s.dga),
                    human(s.queries),
                    s.clients.join(" "),
                    s.workstations.join(" "),
                ]
            })
            .collect(),
        right: vec![false, true, true, true, false, false],
    });
    t.push(Table {
        title: format!("NXDOMAIN by client (all clients: {})", pct(h.nxdomain_rate)),
        head: vec!["client", "workstation", "nxdomain", "queries", "rate"],
        rows: r
            .dns
            .nxdomain_clients
            .iter()
            .map(|c| {
                vec![
                    c.client.clone(),
                    opt(&c.workstation),
                    human(c.nxdomain),
                    human(c.queries),
                    pct(c.rate),
                ]
            })
            .collect(),
        right: vec![false, false, true, true, true],
    });
    match &r.dns.new_names {
        Some(n) => t.push(Table {
            title: if n.basis == "the period before" {
                format!(
                    "Names not asked the period before: {} (most asked)",
                    human(n.count)
                )
            } else {
                format!(
                    "Names first seen this period (passive DNS store): {} (most asked)",
                    human(n.count)
                )
            },
            head: vec!["name", "queries", "clients"],
            rows: n
                .examples
                .iter()
                .map(|x| vec![x.name.clone(), human(x.queries), human(x.clients)])
                .collect(),
            right: vec![false, true, true],
        }),
        None => t.push(Table {
            title: "Names not asked the period before: no DNS data the period before".into(),
            head: vec![],
            rows: vec![],
            right: vec![],
        }),
    }
    if let Some(a) = &r.alerts {
        t.push(Table {
            title: format!(
                "Alerts: {} fired; mutes: {} in force, {} added",
                human(a.fired),
                a.mutes_active,
                a.mutes_added
            ),
            head: vec!["rule", "severity", "alerts", "first"],
            rows: a
                .by_rule
                .iter()
                .map(|x| {
                    vec![
                        x.rule.clone(),
                        x.severity.clone(),
                        human(x.count),
                        x.example.clone(),
                    ]
                })
                .collect(),
            right: vec![false, false, true, false],
        });
    }
    t.push(Table {
        title: "Outdated software".into(),
        head: vec!["host", "software", "version", "why"],
        rows: r
            .outdated_software
            .iter()
            .map(|o| {
                vec![
                    o.host.clone(),
                    o.software.clone(),
                    o.version.clone(),
                    o.why.clone(),
                ]
            })
            .collect(),
        right: vec![false, false, false, false],
    });
    t
}

fn headline_lines(r: &Report) -> Vec<(String, String)> {
    let h = &r.headline;
    let p = &r.previous;
    let was = |a: String| {
        if p.connections == 0 && p.dns_queries == 0 {
            String::new()
        } else {
            format!("  (before: {a})")
        }
    };
    vec![
        (
            "connections".into(),
            format!("{}{}", human(h.connections), was(human(p.connections))),
        ),
        (
            "bytes out / in".into(),
            format!(
                "{} / {}{}",
                human_bytes(h.bytes_out),
                human_bytes(h.bytes_in),
                was(format!(
                    "{} / {}",
                    human_bytes(p.bytes_out),
                    human_bytes(p.bytes_in)
                ))
            ),
        ),
        (
            "local hosts".into(),
            format!("{}{}", human(h.local_hosts), was(human(p.local_hosts))),
        ),
        (
            "DNS queries".into(),
            format!(
                "{} for {} names from {} clients{}",
                human(h.dns_queries),
                human(h.dns_names),
                human(h.dns_clients),
                was(human(p.dns_queries))
            ),
        ),
        (
            "NXDOMAIN".into(),
            format!(
                "{} ({}){}",
                human(h.nxdomain),
                pct(h.nxdomain_rate),
                was(pct(p.nxdomain_rate))
            ),
        ),
    ]
}

/// Displayed width of a cell (characters, not bytes).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// Strips control characters from what the logs said, so a name cannot move the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// The report as plain text.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "trawl {} report: {}", r.period.every, r.period.label);
    let _ = writeln!(s, "{}", "=".repeat(width(&r.period.label) + 20));
    for (k, v) in headline_lines(r) {
        let _ = writeln!(s, "{k:<16}{v}");
    }
    if r.input.in_period == 0 {
        let _ = writeln!(
            s,
            "\nNo conn or dns records in this period ({} records read{}).",
            human(r.input.records),
            match (&r.input.first_record, &r.input.last_record) {
                (Some(a), Some(b)) => format!(", from {a} to {b}"),
                _ => String::new(),
            }
        );
    }
    if !r.changes.is_empty() {
        let _ = writeln!(s, "\nChanges against the period before");
        for c in &r.changes {
            let _ = writeln!(s, "  - {}", clean(&c.text));
        }
    }
    for t in tables(r) {
        let _ = writeln!(s, "\n{}", clean(&t.title));
        if t.head.is_empty() {
            continue;
        }
        if t.rows.is_empty() {
            let _ = writeln!(s, "  (none)");
            continue;
        }
        let rows: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(|c| clean(c)).collect())
            .collect();
        let mut w: Vec<usize> = t.head.iter().map(|h| width(h)).collect();
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                w[i] = w[i].max(width(c));
            }
        }
        let line = |cells: Vec<String>| {
            let mut l = String::from(" ");
            for (i, c) in cells.iter().enumerate() {
                let pad = w[i] - width(c);
                if t.right[i] {
                    l.push_str(&format!(" {}{c}", " ".repeat(pad)));
                } else {
                    l.push_str(&format!(" {c}{}", " ".repeat(pad)));
                }
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(
            s,
            "{}",
            line(t.head.iter().map(|h| h.to_string()).collect())
        );
        for row in rows {
            let _ = writeln!(s, "{}", line(row));
        }
    }
    let _ = writeln!(
        s,
        "\n-- trawl, {} files, {} records read, {} problems; made {}",
        human(r.input.files),
        human(r.input.records),
        human(r.input.problems),
        r.generated
    );
    s
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// The report as one HTML document: inline CSS (mail clients drop style sheets), no scripts.
pub fn html(r: &Report) -> String {
    const TD: &str = "padding:2px 8px;border-bottom:1px solid #ddd;";
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#222;\">\
         <h2 style=\"margin:0 0 8px 0;\">trawl {} report: {}</h2>\
         <table style=\"border-collapse:collapse;margin-bottom:12px;\">",
        escape(&subject(r)),
        escape(&r.period.every),
        escape(&r.period.label)
    );
    for (k, v) in headline_lines(r) {
        let _ = write!(
            s,
            "<tr><th style=\"text-align:left;{TD}\">{}</th><td style=\"{TD}\">{}</td></tr>",
            escape(&k),
            escape(&v)
        );
    }
    s.push_str("</table>");
    if !r.changes.is_empty() {
        s.push_str("<h3 style=\"margin:12px 0 4px 0;\">Changes against the period before</h3><ul>");
        for c in &r.changes {
            let _ = write!(s, "<li>{}</li>", escape(&c.text));
        }
        s.push_str("</ul>");
    }
    for t in tables(r) {
        let _ = write!(
            s,
            "<h3 style=\"margin:12px 0 4px 0;\">{}</h3>",
            escape(&t.title)
        );
        if t.head.is_empty() {
            continue;
        }
        if t.rows.is_empty() {
            s.push_str("<p style=\"color:#777;margin:0;\">(none)</p>");
            continue;
        }
        s.push_str("<table style=\"border-collapse:collapse;\"><tr>");
        for (i, h) in t.head.iter().enumerate() {
            let align = if t.right[i] { "right" } else { "left" };
            let _ = write!(
                s,
                "<th style=\"text-align:{align};{TD}background:#f2f2f2;\">{}</th>",
                escape(h)
            );
        }
        s.push_str("</tr>");
        for row in &t.rows {
            s.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                let align = if t.right[i] { "right" } else { "left" };
                let _ = write!(
                    s,
                    "<td style=\"text-align:{align};{TD}\">{}</td>",
                    escape(c)
                );
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    let _ = writeln!(
        s,
        "<p style=\"color:#777;font-size:12px;\">trawl, {} files, {} records read, {} problems; made {}</p></body></html>",
        human(r.input.files),
        human(r.input.records),
        human(r.input.problems),
        escape(&r.generated)
    );
    s
}

/// The Block Kit summary for Slack: the headline, the changes, the top talkers, domains and
/// scores (the whole report goes by email or file).
pub fn slack(r: &Report) -> Json {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": format!("trawl {} report: {}", r.period.every, r.period.label)}
    })];
    let head: Vec<Json> = headline_lines(r)
        .into_iter()
        .map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(&k), slack_escape(&v))}))
        .collect();
    blocks.push(json!({"type": "section", "fields": head}));
    let mut list = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let mut text = format!("*{}*\n", slack_escape(title));
        for l in lines {
            text.push_str(&format!("\u{2022} {}\n", slack_escape(&l)));
        }
        // Slack refuses a section text over 3,000 characters.
        let text: String = text.chars().take(2900).collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    };
    list(
        "Changes",
        r.changes.iter().take(8).map(|c| c.text.clone()).collect(),
    );
    list(
        "Top local talkers",
        r.traffic
            .local_talkers
            .iter()
            .take(5)
            .map(|t| {
                format!(
                    "{}: {} in {} connections",
                    t.who(),
                    human_bytes(t.bytes),
                    human(t.connections)
                )
            })
            .collect(),
    );
    list(
        "Top registered domains",
        r.dns
            .top_domains
            .iter()
            .take(5)
            .map(|d| format!("{}: {} queries", d.domain, human(d.queries)))
            .collect(),
    );
    list(
        "Highest phishing/DGA scores",
        r.dns
            .top_scores
            .iter()
            .take(5)
            .map(|s| {
                format!(
                    "{}: phish {:.2}, dga {:.2}, asked by {}",
                    s.name,
                    s.phish,
                    s.dga,
                    if s.workstations.is_empty() {
                        s.clients.join(", ")
                    } else {
                        s.workstations.join(", ")
                    }
                )
            })
            .collect(),
    );
    if let Some(a) = &r.alerts {
        list(
            &format!("Alerts: {}", human(a.fired)),
            a.by_rule
                .iter()
                .take(5)
                .map(|x| format!("{} ({}): {}", x.rule, x.severity, human(x.count)))
                .collect(),
        );
    }
    json!({"text": subject(r), "blocks": blocks})
}

/// Everything a destination may send, rendered once.
pub fn message(r: &Report, id: &str) -> trawl_alert::dest::ReportMessage {
    trawl_alert::dest::ReportMessage {
        id: id.to_string(),
        subject: subject(r),
        text: text(r),
        html: html(r),
        slack: slack(r),
        json: serde_json::to_value(r).unwrap_or(Json::Null),
    }
}
