//! `trawl model review`: the highest-scoring distinct DNS names of real logs, with their
//! reasons and the alert rules they would fire, to look at before a model ships.
//!
//! A model is judged on labelled lists, but an analyst judges it on the names of their own
//! network: one alert on `wiki.archlinux.org` and the feature is switched off. This reads
//! logs the way every other command does, scores each distinct name once (as `trawl run`
//! would, with the configuration's own zones), and evaluates the configuration's DNS rules on
//! every record, so the list shows exactly what would page someone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use serde::Serialize;
use trawl_alert::config::RuleKind;
use trawl_alert::rules::Rule;
use trawl_alert::Store;
use trawl_enrich::round_score;
use trawl_score::{Model, NameBuf, NameKind};
use trawl_zeek::{Record, Scalar, Value, ZeekType};

use crate::inputs::{resolve, site_of, InputArgs};
use crate::report::{FileReport, Summary};

/// Output formats of `trawl model review`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReviewFormat {
    /// Aligned columns (default on a terminal).
    Table,
    /// One JSON object a name.
    Json,
}

/// Arguments of `trawl model review`.
#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// A `trawl run` configuration: its `[alerts]` DNS rules are evaluated on every record
    /// and its `[networks] local_domains` apply.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One of this network's own DNS zones (repeatable): names in it are not scored.
    #[arg(long = "local-domain", value_name = "ZONE")]
    pub local_domains: Vec<String>,
    /// Model file [default: the built-in model].
    #[arg(short, long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// How many names to list (highest score first); 0 lists all that scored.
    #[arg(long, default_value_t = 40)]
    pub top: usize,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<ReviewFormat>,
    #[command(flatten)]
    pub input: InputArgs,
}

/// What was seen of one distinct name.
#[derive(Default)]
struct Seen {
    asked: u64,
    clients: BTreeSet<String>,
    rcodes: BTreeSet<String>,
    rules: BTreeSet<String>,
}

/// One name of the review.
#[derive(Serialize)]
struct Line<'a> {
    name: &'a str,
    phish_score: Option<f32>,
    dga_score: Option<f32>,
    asked: u64,
    clients: usize,
    rcodes: Vec<&'a str>,
    would_fire: Vec<&'a str>,
    reasons: &'a [String],
}

/// Runs `trawl model review`.
pub fn run(a: ReviewArgs) -> Result<i32> {
    let (rules, site) = match &a.config {
        Some(path) => {
            let cfg = super::alert::read_config(path)?;
            let engine = super::alert::record_engine(&cfg.alerts, Store::in_memory()?)?;
            let rules: Vec<Rule> = engine
                .rules()
                .iter()
                .filter(|r| r.kind == RuleKind::Match)
                .cloned()
                .collect();
            (rules, site_of(&a.local_domains, Some(&cfg.networks))?)
        }
        None => (Vec::new(), site_of(&a.local_domains, None)?),
    };
    let model = super::score::model_ref(&a.model)?;

    let (sources, problems) = resolve(&a.input)?;
    for p in &problems {
        eprintln!("trawl model review: {p}");
    }
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut scores: HashMap<String, (Option<f32>, Option<f32>)> = HashMap::new();
    let mut summary = Summary::default();
    for src in &sources {
        let mut report = FileReport::new(src.name());
        for mut rec in src.records(&mut report) {
            let Some(name) = text(&rec, "query") else {
                continue;
            };
            let sc =
                *scores
                    .entry(name.clone())
                    .or_insert_with(|| match model.score_in(&name, &site) {
                        Ok(v) => match v.scores() {
                            Some(s) => (Some(s.phish), Some(s.dga)),
                            None => (None, None),
                        },
                        Err(_) => (None, None),
                    });
            let s = seen.entry(name).or_default();
            s.asked += 1;
            if s.clients.len() < 1000 {
                if let Some(c) = text(&rec, "id.orig_h") {
                    s.clients.insert(c);
                }
            }
            if let Some(r) = text(&rec, "rcode_name") {
                s.rcodes.insert(r);
            }
            if rules.is_empty() {
                continue;
            }
            // The fields `trawl run` adds, so the rules see what they would see there.
            if rec.get("phish_score").is_none() {
                if let (Some(p), Some(d)) = sc {
                    rec.push(
                        "phish_score",
                        ZeekType::single(Scalar::Double),
                        Value::Double(round_score(p)),
                    );
                    rec.push(
                        "dga_score",
                        ZeekType::single(Scalar::Double),
                        Value::Double(round_score(d)),
                    );
                }
            }
            for r in rules.iter().filter(|r| r.considers(&rec)) {
                s.rules.insert(r.name.clone());
            }
        }
        summary.add(&report);
    }
    summary.print("model review");
    print_review(&a, model, &site, &seen, &scores)?;
    Ok(0)
}

/// A field's value as text, when it is a non-empty string or address.
fn text(rec: &Record<'_>, field: &str) -> Option<String> {
    match rec.get(field)? {
        Value::Str(s) if !s.is_empty() => Some(String::from_utf8_lossy(s).into_owned()),
        Value::Addr(a) => Some(a.to_string()),
        _ => None,
    }
}

fn print_review(
    a: &ReviewArgs,
    model: &Model,
    site: &trawl_score::Site,
    seen: &HashMap<String, Seen>,
    scores: &HashMap<String, (Option<f32>, Option<f32>)>,
) -> Result<()> {
    // Why names were not scored, by kind.
    let mut unscored: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut buf = NameBuf::new();
    for (name, (p, _)) in scores {
        if p.is_some() {
            continue;
        }
        let what = match trawl_score::normalize(name, &mut buf).map(|p| site_kind(site, &p)) {
            Ok(NameKind::IpLiteral) => "IP literal",
            Ok(NameKind::ReverseDns) => "reverse-DNS",
            Ok(NameKind::Service) => "service-record",
            Ok(NameKind::SingleLabel) => "single-label",
            Ok(NameKind::NonPublic) => "non-public suffix",
            Ok(NameKind::OwnZone) => "own zone",
            Ok(NameKind::Domain) => "other",
            Err(_) => "invalid",
        };
        *unscored.entry(what).or_default() += 1;
    }
    let mut ranked: Vec<(&String, f32, f32)> = scores
        .iter()
        .filter_map(|(n, s)| match s {
            (Some(p), Some(d)) => Some((n, *p, *d)),
            _ => None,
        })
        .collect();
    ranked.sort_by(|x, y| {
        y.1.max(y.2)
            .total_cmp(&x.1.max(x.2))
            .then_with(|| x.0.cmp(y.0))
    });
    let alerting: Vec<&String> = ranked
        .iter()
        .map(|r| r.0)
        .filter(|n| seen.get(*n).is_some_and(|s| !s.rules.is_empty()))
        .collect();
    let top = if a.top == 0 { ranked.len() } else { a.top };
    let stdout = std::io::stdout();
    let format = a.format.unwrap_or(if stdout.is_terminal() {
        ReviewFormat::Table
    } else {
        ReviewFormat::Json
    });
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut rows: Vec<[String; 8]> = Vec::new();
    // Every name that would fire a rule is listed, then the rest of the top.
    let mut listed: Vec<&String> = alerting.clone();
    for (n, _, _) in &ranked {
        if listed.len() >= top.max(alerting.len()) {
            break;
        }
        if !listed.contains(n) {
            listed.push(n);
        }
    }
    listed.sort_by(|x, y| {
        let s = |n: &String| {
            scores
                .get(n)
                .map_or(0.0, |s| s.0.unwrap_or(0.0).max(s.1.unwrap_or(0.0)))
        };
        s(y).total_cmp(&s(x)).then_with(|| x.cmp(y))
    });
    for name in listed {
        let s = seen.get(name);
        let e = model.explain_in(name, site).ok();
        let reasons: Vec<String> = e.map(|e| e.reasons).unwrap_or_default();
        let (p, d) = scores.get(name).copied().unwrap_or((None, None));
        let rules: Vec<&str> =
            s.map_or(Vec::new(), |s| s.rules.iter().map(String::as_str).collect());
        let rcodes: Vec<&str> = s.map_or(Vec::new(), |s| {
            s.rcodes.iter().map(String::as_str).collect()
        });
        match format {
            ReviewFormat::Json => {
                let line = Line {
                    name,
                    phish_score: p.map(|x| round_score(x) as f32),
                    dga_score: d.map(|x| round_score(x) as f32),
                    asked: s.map_or(0, |s| s.asked),
                    clients: s.map_or(0, |s| s.clients.len()),
                    rcodes,
                    would_fire: rules,
                    reasons: &reasons,
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            }
            ReviewFormat::Table => rows.push([
                name.clone(),
                p.map_or("-".into(), |x| format!("{x:.3}")),
                d.map_or("-".into(), |x| format!("{x:.3}")),
                s.map_or(0, |s| s.asked).to_string(),
                s.map_or(0, |s| s.clients.len()).to_string(),
                rcodes.join(","),
                if rules.is_empty() {
                    "-".into()
                } else {
                    rules.join(",")
                },
                reasons
                    .iter()
                    .take(2)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
            ]),
        }
    }
    if format == ReviewFormat::Table {
        let head = [
            "name",
            "phish",
            "dga",
            "asked",
            "clients",
            "rcodes",
            "would fire",
            "reasons",
        ];
        let w: Vec<usize> = (0..7)
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].chars().count())
                    .chain([head[c].len()])
                    .max()
                    .unwrap_or(0)
                    .min(50)
            })
            .collect();
        let mut line = |r: [&str; 8]| -> std::io::Result<()> {
            writeln!(
                out,
                "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:<w5$}  {:<w6$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4],
                w5 = w[5],
                w6 = w[6],
            )
        };
        line(head)?;
        for r in &rows {
            line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7]])?;
        }
    }
    out.flush()?;
    let mut fired: BTreeMap<&str, u64> = BTreeMap::new();
    for s in seen.values() {
        for r in &s.rules {
            *fired.entry(r.as_str()).or_default() += 1;
        }
    }
    let th = model.thresholds();
    eprintln!(
        "trawl model review: {} distinct names, {} scored; not scored: {}",
        scores.len(),
        ranked.len(),
        if unscored.is_empty() {
            "none".to_string()
        } else {
            unscored
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let names = |n: usize| format!("{n} name{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "trawl model review: model {} (alert thresholds phish {:.3}, dga {:.3}): {} at or above them; {} would fire a rule{}",
        model.fingerprint_hex(),
        th.phish,
        th.dga,
        names(ranked.iter().filter(|r| r.1 >= th.phish || r.2 >= th.dga).count()),
        names(alerting.len()),
        if fired.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                fired
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    Ok(())
}

/// The kind of a parsed name on this site.
fn site_kind(site: &trawl_score::Site, p: &trawl_score::Parsed<'_>) -> NameKind {
    if p.kind == NameKind::Domain && site.zone_of(p.name).is_some() {
        NameKind::OwnZone
    } else {
        p.kind
    }
}
