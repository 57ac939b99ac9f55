//! `trawl score` and `trawl model {train,eval,info}`: phishing and DGA scores for DNS names.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use trawl_score::eval;
use trawl_score::train::{self, Dataset, TrainConfig};
use trawl_score::{Model, Verdict};

use crate::inputs::SiteArgs;

/// DGA families held out of training by `trawl model eval` unless told otherwise.
const DEFAULT_HOLDOUT: &str = "rovnix,gozi,kraken,qsnatch,pitou,proslikefan,tufik";

/// Output formats of `trawl score`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScoreFormat {
    /// Aligned columns with the strongest reasons (default on a terminal).
    Table,
    /// One JSON object a line: name, phish_score, dga_score, registered_domain, reasons.
    Json,
    /// name, phish_score, dga_score separated by tabs (default when piped).
    Tsv,
}

/// Arguments of `trawl score`.
#[derive(Args, Debug)]
#[command(after_help = "Names come from the arguments, or from stdin one a line:
  trawl score paypal.com.login-verify.example.xyz qxvzkjwhtr.biz
  zeek-cut query < dns.log | sort -u | trawl score --format json

A name that is empty, longer than 253 bytes or holds illegal characters is reported on stderr \
with its line number and skipped; the exit code is then 1. IP literals and in-addr.arpa/ip6.arpa \
names are not scored and say so.")]
pub struct ScoreArgs {
    /// Names to score [default: read stdin].
    #[arg(value_name = "NAMES")]
    pub names: Vec<String>,
    /// Output format [default: table on a terminal, tsv otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<ScoreFormat>,
    /// Model file to use instead of the built-in one (from `trawl model train`).
    #[arg(short, long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// Where labelled lists come from.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Folder with benign.tsv, phish.tsv and dga.tsv (`domain<TAB>tag` lines)
    /// [default: $TRAWL_SHARED/domains].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Benign list (overrides --data for this class).
    #[arg(long, value_name = "FILE")]
    pub benign: Option<PathBuf>,
    /// Phishing list (overrides --data for this class).
    #[arg(long, value_name = "FILE")]
    pub phish: Option<PathBuf>,
    /// DGA list, tags `source:family` (overrides --data for this class).
    #[arg(long, value_name = "FILE")]
    pub dga: Option<PathBuf>,
}

impl DataArgs {
    fn load(&self) -> Result<Dataset> {
        let dir = match (&self.data, std::env::var_os("TRAWL_SHARED")) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(s)) => Some(PathBuf::from(s).join("domains")),
            (None, None) => None,
        };
        let pick = |given: &Option<PathBuf>, file: &str| -> Result<PathBuf> {
            match (given, &dir) {
                (Some(p), _) => Ok(p.clone()),
                (None, Some(d)) => Ok(d.join(file)),
                (None, None) => bail!("no {file}: give --data DIR (or --benign/--phish/--dga)"),
            }
        };
        let (b, p, d) = (
            pick(&self.benign, "benign.tsv")?,
            pick(&self.phish, "phish.tsv")?,
            pick(&self.dga, "dga.tsv")?,
        );
        Ok(Dataset::load_files(b, p, d)?)
    }
}

/// Training settings on the command line.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Random seed (shuffles, augmentation, calibration split).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Passes over the data.
    #[arg(long, default_value_t = 6)]
    pub epochs: u32,
    /// log2 of the n-gram weight slots (19 = 1 MiB of i8 weights for both scores; each
    /// step doubles the table: 20 was +0.001 ROC AUC and 10% slower).
    #[arg(long, default_value_t = 19)]
    pub bits: u32,
    /// Do not prefix bare benign domains with common host labels.
    #[arg(long)]
    pub no_augment: bool,
}

impl TrainArgs {
    fn config(&self) -> TrainConfig {
        TrainConfig {
            seed: self.seed,
            epochs: self.epochs,
            bits: self.bits,
            augment: !self.no_augment,
            ..TrainConfig::default()
        }
    }
}

/// `trawl model` subcommands.
#[derive(Subcommand, Debug)]
pub enum ModelCmd {
    /// Train a model on labelled lists and write it to a file.
    Train {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        train: TrainArgs,
        /// Where to write the model.
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Evaluate: ROC AUC, TPR at 1% and 0.1% FPR, precision/recall, DGA recall per family.
    ///
    /// Without --model: split the lists by registered domain (and hold DGA families out),
    /// train on one part and evaluate on the other. With --model: evaluate that model on
    /// all the given names (use lists it was not trained on).
    Eval {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        train: TrainArgs,
        /// Evaluate this model file on the whole lists instead of a fresh split.
        #[arg(short, long, value_name = "FILE")]
        model: Option<PathBuf>,
        /// Share of registered domains put in the test part.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// DGA families (tag after the colon) kept out of training, comma-separated.
        #[arg(long, default_value = DEFAULT_HOLDOUT, value_name = "FAMILIES")]
        holdout: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The highest-scoring distinct DNS names of real logs, with their reasons and the alert
    /// rules of a configuration they would fire: look at it before shipping a model.
    #[command(
        after_help = "Every record with a `query` field counts (Zeek dns.log, dnsmasq); names are
scored as `trawl run` scores them, with the configuration's [networks] local_domains, and the
configuration's DNS rules are evaluated on every record. Names that would fire a rule are always
listed. A summary on stderr says how many names were not scored and why.

Examples:
  trawl model review --config trawl.example.toml /nsm/zeek/logs/2026-12-06
  trawl model review --top 100 --model new.model --format json ../shared/corpus > review.jsonl"
    )]
    Review(super::review::ReviewArgs),
    /// Print a model's fingerprint, size, thresholds and training summary.
    Info {
        /// Model file [default: the built-in model].
        #[arg(short, long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
}

fn load_model(path: &Option<PathBuf>) -> Result<Model> {
    match path {
        Some(p) => Model::load(p).with_context(|| format!("loading model {}", p.display())),
        None => {
            let m = Model::builtin().context("loading the built-in model")?;
            Ok(Model::from_bytes(&m.to_bytes())?)
        }
    }
}

fn model_ref(path: &Option<PathBuf>, owned: &mut Option<Model>) -> Result<&'static Model> {
    if path.is_none() {
        return Model::builtin().context("loading the built-in model");
    }
    *owned = Some(load_model(path)?);
    // Leak once per process: the model lives until exit anyway.
    Ok(Box::leak(Box::new(
        owned.take().expect("model just loaded"),
    )))
}

/// One row of table output.
struct Row {
    name: String,
    phish: String,
    dga: String,
    registered: String,
    reasons: String,
}

fn fmt_score(s: Option<f32>) -> String {
    s.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

fn print_table(rows: &[Row], out: &mut impl Write) -> std::io::Result<()> {
    let w = |f: fn(&Row) -> &str, head: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([head.len()])
            .max()
            .unwrap_or(0)
            .min(60)
    };
    let wn = w(|r| &r.name, "name");
    let wr = w(|r| &r.registered, "registered_domain");
    writeln!(
        out,
        "{:<wn$}  {:>5}  {:>5}  {:<wr$}  reasons",
        "name", "phish", "dga", "registered_domain"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<wn$}  {:>5}  {:>5}  {:<wr$}  {}",
            r.name, r.phish, r.dga, r.registered, r.reasons
        )?;
    }
    Ok(())
}

/// Run `trawl score`.
pub fn run_score(args: ScoreArgs) -> Result<i32> {
    let mut owned = None;
    let model = model_ref(&args.model, &mut owned)?;
    let site = args.site.site()?;
    trawl_score::warm_up();
    let stdout = std::io::stdout();
    let format = args.format.unwrap_or(if stdout.is_terminal() {
        ScoreFormat::Table
    } else {
        ScoreFormat::Tsv
    });
    let mut out = BufWriter::new(stdout.lock());
    let mut bad = 0u64;
    let mut table: Vec<Row> = Vec::new();
    let from_args = !args.names.is_empty();
    let mut handle = |lineno: u64, raw: &str, out: &mut BufWriter<_>| -> Result<()> {
        let name = raw.trim_end_matches(['\r', '\n']);
        let what = if from_args { "argument" } else { "line" };
        let err = |e: &dyn std::fmt::Display| {
            eprintln!("trawl score: {what} {lineno}: {:?}: {e}", truncate(name));
        };
        match format {
            ScoreFormat::Tsv => match model.score_in(name, &site) {
                Ok(Verdict::Scored(s)) => writeln!(out, "{name}\t{:.4}\t{:.4}", s.phish, s.dga)?,
                Ok(Verdict::Unscored(_)) => writeln!(out, "{name}\t-\t-")?,
                Err(e) => {
                    err(&e);
                    bad += 1;
                }
            },
            ScoreFormat::Json => match model.explain_in(name, &site) {
                Ok(e) => writeln!(out, "{}", e.to_json(name.trim()))?,
                Err(e) => {
                    err(&e);
                    bad += 1;
                }
            },
            ScoreFormat::Table => match model.explain_in(name, &site) {
                Ok(e) => {
                    table.push(Row {
                        name: name.trim().to_string(),
                        phish: fmt_score(e.phish_score),
                        dga: fmt_score(e.dga_score),
                        registered: e.registered_domain.clone(),
                        reasons: e
                            .reasons
                            .iter()
                            .take(3)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; "),
                    });
                    // Print in blocks so widths fit and output still streams.
                    if table.len() >= 200 {
                        print_table(&table, out)?;
                        table.clear();
                    }
                }
                Err(e) => {
                    err(&e);
                    bad += 1;
                }
            },
        }
        Ok(())
    };
    if from_args {
        for (i, n) in args.names.iter().enumerate() {
            handle(i as u64 + 1, n, &mut out)?;
        }
    } else {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        let mut line = Vec::new();
        let mut lineno = 0u64;
        loop {
            line.clear();
            if lock.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            lineno += 1;
            let text = String::from_utf8_lossy(&line);
            handle(lineno, &text, &mut out)?;
        }
    }
    if !table.is_empty() {
        print_table(&table, &mut out)?;
    }
    out.flush()?;
    Ok(i32::from(bad > 0))
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Run `trawl model ...`.
pub fn run_model(cmd: ModelCmd) -> Result<i32> {
    // Written through a handle so a closed pipe (`| head`) ends quietly instead of panicking.
    let mut so = std::io::stdout().lock();
    match cmd {
        ModelCmd::Train { data, train, out } => {
            let ds = data.load()?;
            let cfg = train.config();
            eprintln!(
                "training on {} benign, {} phishing, {} DGA names (seed {})",
                ds.benign.len(),
                ds.phish.len(),
                ds.dga.len(),
                cfg.seed
            );
            let start = Instant::now();
            let m = train::train(&ds, &cfg)?;
            std::fs::write(&out, m.to_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            writeln!(
                so,
                "wrote {} ({} bytes, fingerprint {}) in {:.1} s",
                out.display(),
                m.size_bytes(),
                m.fingerprint_hex(),
                start.elapsed().as_secs_f64()
            )?;
            Ok(0)
        }
        ModelCmd::Eval {
            data,
            train,
            model,
            test_fraction,
            holdout,
            json,
        } => {
            let ds = data.load()?;
            let held: Vec<String> = holdout
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let report = match model {
                Some(p) => {
                    let m = load_model(&Some(p))?;
                    eval::evaluate(&m, &ds, &[])
                }
                None => {
                    let cfg = train.config();
                    let (tr, te) = train::split(&ds, test_fraction, cfg.seed, &held);
                    eprintln!(
                        "split by registered domain: train {}/{}/{}, test {}/{}/{} (benign/phish/dga); held-out DGA families: {}",
                        tr.benign.len(), tr.phish.len(), tr.dga.len(),
                        te.benign.len(), te.phish.len(), te.dga.len(),
                        if held.is_empty() { "none".to_string() } else { held.join(", ") }
                    );
                    let m = train::train(&tr, &cfg)?;
                    eval::evaluate(&m, &te, &held)
                }
            };
            if json {
                writeln!(so, "{}", serde_json_report(&report))?;
            } else {
                write!(so, "{report}")?;
            }
            Ok(0)
        }
        ModelCmd::Review(a) => super::review::run(a),
        ModelCmd::Info { model } => {
            let m = load_model(&model)?;
            let th = m.thresholds();
            writeln!(
                so,
                "model        {}",
                model
                    .as_ref()
                    .map_or("built-in".to_string(), |p| p.display().to_string())
            )?;
            writeln!(so, "fingerprint  {}", m.fingerprint_hex())?;
            writeln!(so, "size         {} bytes", m.size_bytes())?;
            writeln!(so, "format       v{}", trawl_score::FORMAT_VERSION)?;
            writeln!(so,
                "thresholds   phish {:.3}  dga {:.3} (alert at {:.1}% FPR on held-back benign names)",
                th.phish,
                th.dga,
                train::ALERT_FPR * 100.0
            )?;
            writeln!(so, "training     {}", m.summary())?;
            Ok(0)
        }
    }
}

fn serde_json_report(r: &eval::EvalReport) -> String {
    r.to_json()
}
