//! `trawl score` and `trawl model {train,eval,info}`: phishing and DGA scores for DNS names.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::TryRecvError;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use rayon::prelude::*;
use trawl_score::baseline::BaselineConfig;
use trawl_score::eval::{self, lofo, seeds};
use trawl_score::train::{self, Dataset, TrainConfig};
use trawl_score::{Explanation, Model, Scores, Site, Verdict};

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
with its line number and skipped; the exit code is then 1. Names nobody registers are not scored \
and say why: IP literals, reverse-DNS names, service records (_ldap._tcp...), WPAD/ISATAP \
lookups, single labels, names under suffixes that are not public (.local, .lan, .internal, an \
Active Directory zone) and the network's own zones (--local-domain). A name under an established \
or infrastructure domain is judged by that domain alone.

Alert thresholds of the model: `trawl model info`. Before alerting on a network's logs, \
`trawl model review --config trawl.toml LOGS` lists the names that would fire.")]
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

/// The model to use: the built-in one, or the file at `path` (kept until exit).
pub(crate) fn model_ref(path: &Option<PathBuf>) -> Result<&'static Model> {
    match path {
        None => Model::builtin().context("loading the built-in model"),
        Some(p) => {
            let m = Model::load(p).with_context(|| format!("loading model {}", p.display()))?;
            // Leaked once per process: the model lives until exit anyway.
            Ok(Box::leak(Box::new(m)))
        }
    }
}

/// One row of table output.
struct Row {
    name: String,
    phish: String,
    dga: String,
    registered: String,
    reasons: String,
}

impl Row {
    /// The table row of `name`: its scores and first three reasons.
    fn new(name: &str, e: Explanation) -> Row {
        Row {
            name: name.trim().to_string(),
            phish: fmt_score(e.phish_score),
            dga: fmt_score(e.dga_score),
            reasons: e
                .reasons
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
            registered: e.registered_domain,
        }
    }
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

/// Bytes asked of stdin in one read.
const READ_CHUNK: usize = 256 * 1024;
/// Most input gathered into one batch (what arrived while the previous batch was scored).
const BATCH_MAX: usize = 4 << 20;
/// Batches at least this large are split over the threads (about 2,500 names, a few ms).
const PAR_MIN: usize = 64 * 1024;

/// How batches are scored: on how many threads, and from what size a batch is split.
#[derive(Clone, Copy, Debug)]
struct Batching {
    threads: usize,
    par_min: usize,
}

/// What a run of lines turned into: stdout bytes, table rows, stderr messages, bad names.
#[derive(Default)]
struct Part {
    out: Vec<u8>,
    rows: Vec<Row>,
    err: Vec<u8>,
    bad: u64,
}

/// What scores a name and how it is written: the model, the network's own zones, the format.
#[derive(Clone, Copy)]
struct Job<'a> {
    model: &'a Model,
    site: &'a Site,
    format: ScoreFormat,
}

/// Scores one name (numbered `lineno` among the `what`s) into `p` as `job` says.
fn score_line(job: Job<'_>, what: &str, lineno: u64, name: &str, p: &mut Part) {
    let Job {
        model,
        site,
        format,
    } = job;
    let res = match format {
        ScoreFormat::Tsv => model.score_in(name, site).map(|v| {
            p.out.extend_from_slice(name.as_bytes());
            match v {
                Verdict::Scored(s) => push_scores(&mut p.out, s),
                Verdict::Unscored(_) => p.out.extend_from_slice(b"\t-\t-\n"),
            }
        }),
        ScoreFormat::Json => model.explain_in(name, site).map(|e| {
            p.out.extend_from_slice(e.to_json(name.trim()).as_bytes());
            p.out.push(b'\n');
        }),
        ScoreFormat::Table => model.explain_in(name, site).map(|e| {
            p.rows.push(Row::new(name, e));
        }),
    };
    if let Err(e) = res {
        // Writing to a Vec cannot fail.
        let _ = writeln!(
            p.err,
            "trawl score: {what} {lineno}: {:?}: {e}",
            truncate(name)
        );
        p.bad += 1;
    }
}

/// "00" to "99": two digits a lookup.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `v` as `format!("{v:.4}")` writes it, when that is "d.dddd": for v in [0, 1], which scores
/// always are (None otherwise: NaN, -0.0, and the like).
#[inline]
fn fixed4(v: f32) -> Option<[u8; 6]> {
    if !(v.is_sign_positive() && v <= 1.0) {
        return None;
    }
    // x is exact: a 24-bit mantissa times 10^4 (14 bits) fits the 53 bits of an f64. Adding
    // 2^52 leaves no bits for a fraction, so the addition rounds x to an integer, half to
    // even (the default rounding mode) as `{:.4}` rounds, and the sum's low 52 bits are that
    // integer.
    const SHIFT: f64 = 4_503_599_627_370_496.0;
    let x = f64::from(v) * 10_000.0;
    let q = ((x + SHIFT).to_bits() & ((1 << 52) - 1)) as usize;
    let (hi, lo) = (q % 10_000 / 100, q % 100);
    Some([
        b'0' + (q / 10_000) as u8,
        b'.',
        PAIRS[2 * hi],
        PAIRS[2 * hi + 1],
        PAIRS[2 * lo],
        PAIRS[2 * lo + 1],
    ])
}

/// Appends `\t{phish:.4}\t{dga:.4}\n`.
fn push_scores(out: &mut Vec<u8>, s: Scores) {
    match (fixed4(s.phish), fixed4(s.dga)) {
        (Some(a), Some(b)) => {
            let mut t = [b'\t'; 15];
            t[1..7].copy_from_slice(&a);
            t[8..14].copy_from_slice(&b);
            t[14] = b'\n';
            out.extend_from_slice(&t);
        }
        // Writing to a Vec cannot fail.
        _ => drop(writeln!(out, "\t{:.4}\t{:.4}", s.phish, s.dga)),
    }
}

/// Calls `f` with every line of `block` (numbered from `first`) as `read_until`,
/// `String::from_utf8_lossy` and trimming of trailing CR/LF saw it; returns the next line
/// number. UTF-8 is checked over whole runs of lines at once (per line it cost about 100
/// instructions a name); only a line with invalid bytes is copied.
fn for_each_line(block: &[u8], first: u64, mut f: impl FnMut(u64, &str)) -> u64 {
    let mut lineno = first;
    let mut rest = block;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => return lines_of(text, lineno, &mut f),
            Err(e) => {
                let cut = memchr::memrchr(b'\n', &rest[..e.valid_up_to()]).map_or(0, |i| i + 1);
                if let Ok(text) = std::str::from_utf8(&rest[..cut]) {
                    lineno = lines_of(text, lineno, &mut f);
                }
                let tail = &rest[cut..];
                let end = memchr::memchr(b'\n', tail).map_or(tail.len(), |i| i + 1);
                let mut line = &tail[..end];
                while let [head @ .., b'\r' | b'\n'] = line {
                    line = head;
                }
                f(lineno, &String::from_utf8_lossy(line));
                lineno += 1;
                rest = &tail[end..];
            }
        }
    }
}

/// [`for_each_line`] over text known to be UTF-8.
fn lines_of(text: &str, first: u64, f: &mut impl FnMut(u64, &str)) -> u64 {
    let mut lineno = first;
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        // Trailing CR (and LF) bytes, as `trim_end_matches(['\r', '\n'])` but a byte loop.
        let mut end = line.len();
        while end > 0 && matches!(line.as_bytes()[end - 1], b'\r' | b'\n') {
            end -= 1;
        }
        f(lineno, &line[..end]);
        lineno += 1;
        rest = next;
    }
    lineno
}

/// Scores blocks of whole lines whose first is line `first`: on this thread, or split at line
/// ends over the threads (rayon keeps the parts in order). Returns the parts and the next line
/// number.
fn score_blocks(job: Job<'_>, blocks: &[Vec<u8>], first: u64, b: Batching) -> (Vec<Part>, u64) {
    let one = |first: u64, bytes: &[u8]| {
        let mut p = Part {
            out: Vec::with_capacity(bytes.len() * 2),
            ..Part::default()
        };
        let next = for_each_line(bytes, first, |n, s| score_line(job, "line", n, s, &mut p));
        (p, next)
    };
    let len: usize = blocks.iter().map(Vec::len).sum();
    if b.threads <= 1 || len < b.par_min {
        let mut lineno = first;
        let parts = blocks
            .iter()
            .map(|block| {
                let (p, next) = one(lineno, block);
                lineno = next;
                p
            })
            .collect();
        return (parts, lineno);
    }
    // A few pieces a thread, so a thread slowed by other work is helped by the others.
    let size = (len / (4 * b.threads)).max(b.par_min / 4).max(1);
    let mut pieces = Vec::new();
    let mut lineno = first;
    for block in blocks {
        let mut rest = &block[..];
        while !rest.is_empty() {
            let end = if rest.len() <= size {
                rest.len()
            } else {
                memchr::memchr(b'\n', &rest[size..]).map_or(rest.len(), |i| size + i + 1)
            };
            let (piece, next) = rest.split_at(end);
            pieces.push((lineno, piece));
            lineno += memchr::memchr_iter(b'\n', piece).count() as u64;
            rest = next;
        }
    }
    // A last line without its newline still counts (it ends the input).
    if blocks.last().is_some_and(|b| !b.ends_with(b"\n")) {
        lineno += 1;
    }
    let parts = pieces
        .into_par_iter()
        .map(|(first, piece)| one(first, piece).0)
        .collect();
    (parts, lineno)
}

/// Reads `input` on a thread of its own, which cuts it into blocks of whole lines, and hands
/// the blocks to `batch` with the number of their first line; `batch` returns the next line
/// number. A batch is every block that arrived while the previous batch was handled (up to
/// [`BATCH_MAX`] bytes), so a fast producer gets large batches (split over the threads) and a
/// slow one its answers as soon as its lines come. The reading thread is not joined: on a
/// closed output the process may exit while it waits for input.
fn for_each_batch<R: Read + Send + 'static>(
    input: R,
    mut batch: impl FnMut(&[Vec<u8>], u64) -> Result<u64>,
) -> Result<()> {
    let (tx, rx) =
        std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(BATCH_MAX / READ_CHUNK);
    std::thread::spawn(move || {
        let mut input = input;
        let (mut carry, mut ask) = (Vec::new(), 4096);
        loop {
            // The partial line left by the last read starts the buffer (a long line grows
            // it in place).
            let mut buf = std::mem::take(&mut carry);
            let start = buf.len();
            // Zeroed before reading: ask for about twice the last read, so a producer writing
            // a line at a time does not pay for zeroing a whole chunk each time.
            buf.resize(start + ask, 0);
            let n = loop {
                match input.read(&mut buf[start..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            };
            let msg = match n {
                // The last line may lack its newline.
                Ok(0) => {
                    buf.truncate(start);
                    if buf.is_empty() {
                        return;
                    }
                    Ok(buf)
                }
                Ok(n) => {
                    ask = (2 * n).clamp(4096, READ_CHUNK);
                    buf.truncate(start + n);
                    match memchr::memrchr(b'\n', &buf[start..]) {
                        Some(i) => {
                            carry.extend_from_slice(&buf[start + i + 1..]);
                            buf.truncate(start + i + 1);
                            Ok(buf)
                        }
                        None => {
                            carry = buf;
                            continue;
                        }
                    }
                }
                // As with `read_until`, a partial line before a read error is dropped.
                Err(e) => Err(e),
            };
            let last = !matches!(msg, Ok(ref b) if b.ends_with(b"\n"));
            if tx.send(msg).is_err() || last {
                return;
            }
        }
    });
    let mut lineno = 1u64;
    loop {
        let (mut blocks, mut size) = (Vec::new(), 0);
        let (mut failed, mut eof) = (None, false);
        let mut next = rx.recv().ok();
        eof |= next.is_none();
        while let Some(m) = next.take() {
            match m {
                Ok(b) => {
                    size += b.len();
                    blocks.push(b);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if size >= BATCH_MAX {
                break;
            }
            match rx.try_recv() {
                Ok(m) => next = Some(m),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => eof = true,
            }
        }
        if !blocks.is_empty() {
            lineno = batch(&blocks, lineno)?;
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        if eof {
            return Ok(());
        }
    }
}

/// Writes parts in order: stdout bytes, then table rows in blocks of 200 (so widths fit and
/// output still streams), then their messages on `err`. Returns the bad names.
fn emit(
    parts: Vec<Part>,
    table: &mut Vec<Row>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<u64> {
    let mut bad = 0;
    for p in parts {
        out.write_all(&p.out)?;
        for r in p.rows {
            table.push(r);
            if table.len() >= 200 {
                print_table(table, out)?;
                table.clear();
            }
        }
        if !p.err.is_empty() {
            out.flush()?;
            // Messages go out with their block; a failing stderr is not worth stopping for.
            let _ = err.write_all(&p.err);
        }
        bad += p.bad;
    }
    Ok(bad)
}

/// Scores `names` (arguments) or the lines of `input` into `out` in `format`, reporting bad
/// names on `err`. Returns how many names were bad.
fn score_all<R: Read + Send + 'static>(
    job: Job<'_>,
    names: &[String],
    input: R,
    out: &mut impl Write,
    err: &mut impl Write,
    b: Batching,
) -> Result<u64> {
    let mut table = Vec::new();
    let mut bad = 0;
    if names.is_empty() {
        for_each_batch(input, |blocks, first| {
            let (parts, next) = score_blocks(job, blocks, first, b);
            bad += emit(parts, &mut table, out, err)?;
            out.flush()?;
            Ok(next)
        })?;
    } else {
        let mut p = Part::default();
        for (i, n) in names.iter().enumerate() {
            score_line(
                job,
                "argument",
                i as u64 + 1,
                n.trim_end_matches(['\r', '\n']),
                &mut p,
            );
        }
        bad += emit(vec![p], &mut table, out, err)?;
    }
    if !table.is_empty() {
        print_table(&table, out)?;
    }
    out.flush()?;
    Ok(bad)
}

/// Run `trawl score`.
pub fn run_score(args: ScoreArgs) -> Result<i32> {
    let model = model_ref(&args.model)?;
    let site = args.site.site()?;
    trawl_score::warm_up();
    let stdout = std::io::stdout();
    let format = args.format.unwrap_or(if stdout.is_terminal() {
        ScoreFormat::Table
    } else {
        ScoreFormat::Tsv
    });
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let b = Batching {
        // Names on the command line are few: no thread pool for them.
        threads: if args.names.is_empty() {
            rayon::current_num_threads()
        } else {
            1
        },
        par_min: PAR_MIN,
    };
    let job = Job {
        model,
        site: &site,
        format,
    };
    let bad = score_all(
        job,
        &args.names,
        std::io::stdin(),
        &mut out,
        &mut std::io::stderr(),
        b,
    )?;
    Ok(i32::from(bad > 0))
}

/// Writes an evaluation report as one JSON line (`json`) or as its text.
fn write_report<R: std::fmt::Display>(
    so: &mut impl Write,
    report: &R,
    json: bool,
    to_json: fn(&R) -> String,
) -> std::io::Result<()> {
    if json {
        writeln!(so, "{}", to_json(report))
    } else {
        write!(so, "{report}")
    }
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
                let m = model_ref(&Some(p))?;
                let report = eval::evaluate(m, &ds, &[]);
                write_report(&mut so, &report, json, eval::EvalReport::to_json)?;
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
                write_report(&mut so, &report, json, lofo::LofoReport::to_json)?;
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
                write_report(&mut so, &report, json, seeds::SeedsReport::to_json)?;
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
                write_report(&mut so, &report, json, eval::EvalReport::to_json)?;
            }
            Ok(0)
        }
        ModelCmd::Review(a) => super::review::run(a),
        ModelCmd::Info { model } => {
            let m = model_ref(&model)?;
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
                "thresholds   phish {:.3}  dga {:.3} (alert at {:.1}% / {:.1}% FPR on held-back benign names)",
                th.phish,
                th.dga,
                train::ALERT_FPR[0] * 100.0,
                train::ALERT_FPR[1] * 100.0
            )?;
            writeln!(so, "training     {}", m.summary())?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufRead;

    /// What `trawl score` writes for a score: `fixed4`, or `{:.4}` where that declines.
    fn written(v: f32) -> String {
        let mut out = Vec::new();
        push_scores(&mut out, Scores { phish: v, dga: 0.5 });
        let text = String::from_utf8(out).unwrap();
        text.split('\t').nth(1).unwrap().to_string()
    }

    fn same_as_format(v: f32) {
        let want = format!("{v:.4}");
        assert_eq!(written(v), want, "{v:e} (bits {:#x})", v.to_bits());
        if (0.0..=1.0).contains(&v) && v.is_sign_positive() {
            assert!(fixed4(v).is_some(), "{v:e} took the slow path");
        }
    }

    #[test]
    fn fixed4_is_format_at_every_rounding_edge() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            0.99995,
            0.999_949_95,
            0.000_05,
            0.000_049_99,
            0.5,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.000_000_1,
            1.5,
            -0.3,
            123_456.79,
        ];
        for v in specials {
            same_as_format(v);
        }
        // The only exact ties at four decimals in [0, 1]: odd multiples of 1/32.
        for k in (1..32).step_by(2) {
            same_as_format(k as f32 / 32.0);
        }
        // A few ulps around every k/10^4 and every midpoint (k + 0.5)/10^4.
        for k in 0..=20_000u32 {
            let c = (f64::from(k) / 20_000.0) as f32;
            for d in -4i32..=4 {
                let bits = c.to_bits().saturating_add_signed(d);
                same_as_format(f32::from_bits(bits));
            }
        }
        // A stride through every float in [0, 1].
        for bits in (0..=1f32.to_bits()).step_by(9_973) {
            same_as_format(f32::from_bits(bits));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn fixed4_is_format_in_unit_range(v in 0f32..=1f32) {
            let digits = fixed4(v).map(|d| String::from_utf8(d.to_vec()).unwrap());
            prop_assert_eq!(digits, Some(format!("{v:.4}")));
        }

        #[test]
        fn fixed4_is_format_for_any_bits(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            prop_assert_eq!(written(v), format!("{v:.4}"));
        }
    }

    /// `trawl score` as it was before batching (line by line with `read_until`,
    /// `from_utf8_lossy`, `{:.4}`), kept to check the new path's bytes against.
    fn reference(model: &Model, format: ScoreFormat, names: &[String], input: &[u8]) -> Output {
        let (mut out, mut err, mut bad) = (Vec::new(), Vec::new(), 0u64);
        let mut table: Vec<Row> = Vec::new();
        let from_args = !names.is_empty();
        let mut handle = |lineno: u64, raw: &str, out: &mut Vec<u8>| -> std::io::Result<()> {
            let name = raw.trim_end_matches(['\r', '\n']);
            let what = if from_args { "argument" } else { "line" };
            let mut report = |e: &dyn std::fmt::Display| {
                writeln!(
                    err,
                    "trawl score: {what} {lineno}: {:?}: {e}",
                    truncate(name)
                )
                .unwrap();
                bad += 1;
            };
            match format {
                ScoreFormat::Tsv => match model.score(name) {
                    Ok(Verdict::Scored(s)) => {
                        writeln!(out, "{name}\t{:.4}\t{:.4}", s.phish, s.dga)?
                    }
                    Ok(Verdict::Unscored(_)) => writeln!(out, "{name}\t-\t-")?,
                    Err(e) => report(&e),
                },
                ScoreFormat::Json => match model.explain(name) {
                    Ok(e) => writeln!(out, "{}", e.to_json(name.trim()))?,
                    Err(e) => report(&e),
                },
                ScoreFormat::Table => match model.explain(name) {
                    Ok(e) => {
                        table.push(Row::new(name, e));
                        if table.len() >= 200 {
                            print_table(&table, out)?;
                            table.clear();
                        }
                    }
                    Err(e) => report(&e),
                },
            }
            Ok(())
        };
        if from_args {
            for (i, n) in names.iter().enumerate() {
                handle(i as u64 + 1, n, &mut out).unwrap();
            }
        } else {
            let mut lock = input;
            let mut line = Vec::new();
            let mut lineno = 0u64;
            loop {
                line.clear();
                if lock.read_until(b'\n', &mut line).unwrap() == 0 {
                    break;
                }
                lineno += 1;
                let text = String::from_utf8_lossy(&line);
                handle(lineno, &text, &mut out).unwrap();
            }
        }
        if !table.is_empty() {
            print_table(&table, &mut out).unwrap();
        }
        Output { out, err, bad }
    }

    #[derive(Debug, PartialEq)]
    struct Output {
        out: Vec<u8>,
        err: Vec<u8>,
        bad: u64,
    }

    /// Hands out its bytes a few at a time, so lines straddle reads and batches.
    struct Dribble {
        data: Vec<u8>,
        at: usize,
        rng: u64,
    }

    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let n = (1 + self.rng % 97) as usize;
            let n = n.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn new_path(
        model: &'static Model,
        format: ScoreFormat,
        names: &[String],
        input: impl Read + Send + 'static,
        b: Batching,
    ) -> Output {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let job = Job {
            model,
            site: &Site::default(),
            format,
        };
        let bad = score_all(job, names, input, &mut out, &mut err, b).unwrap();
        Output { out, err, bad }
    }

    /// Names as a DNS log carries them, with what goes wrong in files: blank lines, CRLF,
    /// trailing and leading spaces, upper case, trailing dots, IP literals, reverse names,
    /// underscores, over-long labels and names, non-ASCII and invalid UTF-8.
    fn messy_input() -> Vec<u8> {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let tlds = [
            "com",
            "net",
            "xyz",
            "co.uk",
            "github.io",
            "000webhostapp.com",
            "ru",
            "top",
            "biz",
        ];
        let alpha = b"abcdefghijklmnopqrstuvwxyz0123456789-";
        let mut lines: Vec<Vec<u8>> = [
            "paypal.com.secure-login-verify.example.xyz",
            "appleid-verify.weebly.com",
            "xjwqkzrtvbnpq.biz",
            "stomachconnectadjustestimate.com",
            "www.google.com",
            "4.3.2.1.in-addr.arpa",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            "192.168.1.1",
            "2001:db8::1",
            "_ldap._tcp.dc._msdcs.corp.example",
            "-",
            "",
            "\r",
            "..",
            ".leading.dot",
            "bücher.de",
            "xn--bcher-kva.de",
            "аррӏе.com",
            "пример.рф",
            "😀.example",
            "tab\there.com",
            "space inside.com",
            "*.wildcard.com",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for _ in 0..3_000 {
            let labels = 1 + next(4);
            let mut name = Vec::new();
            for _ in 0..labels {
                let long = next(50) == 0;
                let len = 1 + next(if long { 80 } else { 16 });
                for _ in 0..len {
                    name.push(alpha[next(alpha.len() as u64) as usize]);
                }
                name.push(b'.');
            }
            name.extend_from_slice(tlds[next(tlds.len() as u64) as usize].as_bytes());
            match next(40) {
                0 => name.make_ascii_uppercase(),
                1 => name.push(b'.'),
                2 => name.extend_from_slice(b"\r"),
                3 => name.extend_from_slice(b"  "),
                4 => name.insert(0, b' '),
                5 => name.extend_from_slice(b"\r\r"),
                6 => name.insert(1, 0xff),
                7 => name.extend_from_slice(b"\xe2\x82"),
                8 => name.extend_from_slice(b"\xe2\x82\r"),
                9 => name.insert(2, b'_'),
                10 => name = name.repeat(6),
                11 => name = b"\xc3\xa9t\xc3\xa9.fr".to_vec(),
                12 => name.clear(),
                _ => {}
            }
            lines.push(name);
        }
        let mut input = lines.join(&b'\n');
        input.push(b'\n');
        input
    }

    fn check_same(model: &'static Model, what: &str, input: &[u8]) {
        let batchings = [
            Batching {
                threads: 1,
                par_min: PAR_MIN,
            },
            Batching {
                threads: 3,
                par_min: 64,
            },
            Batching {
                threads: 2,
                par_min: PAR_MIN,
            },
        ];
        for format in [ScoreFormat::Tsv, ScoreFormat::Json, ScoreFormat::Table] {
            let want = reference(model, format, &[], input);
            for b in batchings {
                let got = new_path(model, format, &[], std::io::Cursor::new(input.to_vec()), b);
                assert_eq!(got, want, "{what}, {format:?}, {b:?}");
                let dribble = Dribble {
                    data: input.to_vec(),
                    at: 0,
                    rng: 7,
                };
                let got = new_path(model, format, &[], dribble, b);
                assert_eq!(got, want, "{what}, {format:?}, {b:?}, small reads");
            }
        }
    }

    #[test]
    fn same_bytes_as_the_line_by_line_reader() {
        let model = Model::builtin().unwrap();
        let input = messy_input();
        let tsv = reference(model, ScoreFormat::Tsv, &[], &input);
        assert!(tsv.bad > 100 && tsv.out.len() > input.len() / 2);
        check_same(model, "messy names", &input);
        // The last line without its newline, a lone CR, nothing at all.
        check_same(
            model,
            "no final newline",
            b"example.com\nqxzvkw.biz\r\nlast.example.org",
        );
        check_same(model, "lone CR", b"\r");
        let mut long = b"example.com\n".to_vec();
        long.resize(long.len() + 3 * READ_CHUNK, b'a');
        long.extend_from_slice(b"\nexample.org\n");
        check_same(model, "a line longer than a read", &long);
        check_same(model, "empty", b"");
    }

    #[test]
    fn same_bytes_for_arguments() {
        let model = Model::builtin().unwrap();
        let names: Vec<String> = [
            "example.com",
            "",
            "bad name",
            "4.3.2.1.in-addr.arpa",
            "x.y\r\n",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let b = Batching {
            threads: 1,
            par_min: PAR_MIN,
        };
        for format in [ScoreFormat::Tsv, ScoreFormat::Json, ScoreFormat::Table] {
            let got = new_path(model, format, &names, std::io::empty(), b);
            assert_eq!(got, reference(model, format, &names, b""), "{format:?}");
        }
    }

    /// Reads some lines, then fails.
    struct Failing(std::io::Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("disk on fire")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_ends_the_run_after_the_whole_lines_before_it() {
        let model = Model::builtin().unwrap();
        let input = Failing(std::io::Cursor::new(b"a.com\nb.com\npartial".to_vec()));
        let b = Batching {
            threads: 1,
            par_min: PAR_MIN,
        };
        let mut out = Vec::new();
        let job = Job {
            model,
            site: &Site::default(),
            format: ScoreFormat::Tsv,
        };
        let res = score_all(job, &[], input, &mut out, &mut Vec::new(), b);
        assert!(format!("{:#}", res.unwrap_err()).contains("disk on fire"));
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out.lines()
                .map(|l| l.split('\t').next().unwrap())
                .collect::<Vec<_>>(),
            ["a.com", "b.com"]
        );
    }

    /// The labelled lists (every 50th name) through both paths, when the shared folder is set.
    #[test]
    fn same_bytes_on_the_labelled_lists() {
        let Some(shared) = std::env::var_os("TRAWL_SHARED") else {
            eprintln!("TRAWL_SHARED not set: skipped");
            return;
        };
        let model = Model::builtin().unwrap();
        let mut input = Vec::new();
        for f in ["benign.tsv", "phish.tsv", "dga.tsv"] {
            let path = PathBuf::from(&shared).join("domains").join(f);
            let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for line in text.split(|&c| c == b'\n').step_by(50) {
                input.extend_from_slice(line.split(|&c| c == b'\t').next().unwrap_or(b""));
                input.push(b'\n');
            }
        }
        check_same(model, "labelled lists", &input);
    }
}
