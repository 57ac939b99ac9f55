//! `trawl score` and `trawl model {train,eval,info}`: phishing and DGA scores for DNS names.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use trawl_score::baseline::BaselineConfig;
use trawl_score::eval::{self, lofo, seeds};
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
    /// train on one part and evaluate on the other; --seeds repeats that for several split
    /// seeds, --lofo holds every DGA family out in turn instead, and --baseline trains
    /// and scores the reference TF-IDF model on the same splits. With --model: evaluate
    /// that model on all the given names (use lists it was not trained on).
    #[command(after_help = "Examples (tables are Markdown, ready to paste):
  trawl model eval --data ../shared/domains
  trawl model eval --data ../shared/domains --seeds 42,1,2,3,4,7 --baseline
  trawl model eval --data ../shared/domains --lofo --baseline
  trawl model eval --data ../shared/domains --lofo-folds 5 --json > lofo.json

--seeds: each seed splits the lists and seeds training (as --seed does); the report gives \
every seed, then mean/min/max, model minus baseline, and DGA recall at 1% FPR per family.

--lofo: one fold per DGA family (the tag after the colon; sources merged, aliases new_goz \
and zeus -> newgoz); the mixed feeds netlab360_mixed and others_dga are never held out and \
stay in training unless --drop-mixed. Benign and phishing names are split once (--seed, \
--test-fraction); each fold trains on their training part and all DGA names but the fold's, \
and is measured on the fold's names against the benign test part. About 50 trainings: some \
8 s each for the model and 10-20 s for the baseline on 2 cores. --lofo-folds K deals the \
families into K folds instead (K trainings); --families limits the run to some families, \
to split a run over several processes.

Families are classed random-label, pronounceable or dictionary by rule: dictionary words \
(4+ letters) cover at least 30% of their registered labels on average -> dictionary; else \
vowels and consonants alternate in at least half of adjacent letter pairs -> pronounceable; \
else random-label. With --baseline, '!' marks random-label families where the model's \
recall at 1% FPR is below the baseline's.")]
    Eval {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        train: TrainArgs,
        /// Evaluate this model file on the whole lists instead of a fresh split.
        #[arg(short, long, value_name = "FILE", conflicts_with_all = ["seeds", "lofo", "lofo_folds", "baseline"])]
        model: Option<PathBuf>,
        /// Share of registered domains put in the test part.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// DGA families (tag after the colon) kept out of training, comma-separated
        /// (not with --lofo, which holds out every family in turn).
        #[arg(long, default_value = DEFAULT_HOLDOUT, value_name = "FAMILIES")]
        holdout: String,
        /// Split seeds to run, comma-separated (each also seeds training) [default: --seed].
        #[arg(long, value_name = "LIST", value_delimiter = ',', conflicts_with_all = ["lofo", "lofo_folds"])]
        seeds: Vec<u64>,
        /// Leave-one-family-out: hold every DGA family out of training in turn.
        #[arg(long)]
        lofo: bool,
        /// Leave families out in K groups instead of one by one (K trainings).
        #[arg(long, value_name = "K", conflicts_with = "lofo")]
        lofo_folds: Option<usize>,
        /// With --lofo: only hold out these families (comma-separated).
        #[arg(long, value_name = "FAMILIES", value_delimiter = ',')]
        families: Vec<String>,
        /// With --lofo: leave the mixed feeds (netlab360_mixed, others_dga) out of every
        /// training, so a family hidden in them cannot leak into its own fold.
        #[arg(long)]
        drop_mixed: bool,
        /// Also train and score the reference baseline (character 1-5-gram TF-IDF +
        /// logistic regression, C=10, balanced classes) on the same splits, side by side.
        #[arg(long)]
        baseline: bool,
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
            seeds: seed_list,
            lofo: one_by_one,
            lofo_folds,
            families,
            drop_mixed,
            baseline,
            json,
        } => {
            let ds = data.load()?;
            let held: Vec<String> = holdout
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let cfg = train.config();
            let baseline = baseline.then(BaselineConfig::default);
            let mut progress = |s: &str| eprintln!("{s}");
            if let Some(p) = model {
                let m = load_model(&Some(p))?;
                let report = eval::evaluate(&m, &ds, &[]);
                if json {
                    writeln!(so, "{}", report.to_json())?;
                } else {
                    write!(so, "{report}")?;
                }
            } else if one_by_one || lofo_folds.is_some() {
                let lc = lofo::LofoConfig {
                    seed: cfg.seed,
                    test_fraction,
                    folds: lofo_folds,
                    only: (!families.is_empty()).then_some(families),
                    drop_mixed,
                    baseline,
                };
                let report = lofo::run(&ds, &cfg, &lc, &mut progress)?;
                if json {
                    writeln!(so, "{}", report.to_json())?;
                } else {
                    write!(so, "{report}")?;
                }
            } else if seed_list.len() > 1 || baseline.is_some() {
                let sc = seeds::SeedsConfig {
                    seeds: if seed_list.is_empty() {
                        vec![cfg.seed]
                    } else {
                        seed_list
                    },
                    test_fraction,
                    held_out: held,
                    baseline,
                };
                let report = seeds::run(&ds, &cfg, &sc, &mut progress)?;
                if json {
                    writeln!(so, "{}", report.to_json())?;
                } else {
                    write!(so, "{report}")?;
                }
            } else {
                let cfg = TrainConfig {
                    seed: seed_list.first().copied().unwrap_or(cfg.seed),
                    ..cfg
                };
                let (tr, te) = train::split(&ds, test_fraction, cfg.seed, &held);
                eprintln!(
                    "split by registered domain: train {}/{}/{}, test {}/{}/{} (benign/phish/dga); held-out DGA families: {}",
                    tr.benign.len(), tr.phish.len(), tr.dga.len(),
                    te.benign.len(), te.phish.len(), te.dga.len(),
                    if held.is_empty() { "none".to_string() } else { held.join(", ") }
                );
                let m = train::train(&tr, &cfg)?;
                let report = eval::evaluate(&m, &te, &held);
                if json {
                    writeln!(so, "{}", report.to_json())?;
                } else {
                    write!(so, "{report}")?;
                }
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
