//! What went wrong where, and the summary printed to stderr at the end of a run.

use std::collections::BTreeMap;
use std::io::Write;

use trawl_zeek::Problem;

/// Problems printed per file before the rest are only counted.
const SHOWN_PER_FILE: usize = 10;

/// Counts for one log type.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub records: u64,
    pub errors: u64,
}

/// What reading one source gave.
#[derive(Debug, Default)]
pub struct FileReport {
    pub name: String,
    /// By log type.
    pub counts: BTreeMap<String, Counts>,
    /// Lines that could not be read as records at all.
    pub bad_lines: u64,
    /// Problems not yet printed (printed by [`FileReport::problem`] up to a cap).
    pub shown: usize,
    pub hidden: u64,
    /// The source failed part-way (I/O error, corrupt compression).
    pub failed: Option<String>,
}

impl FileReport {
    /// A report for the source called `name`.
    pub fn new(name: String) -> Self {
        FileReport {
            name,
            ..Default::default()
        }
    }

    /// Counts a record of a log type and the problems met reading it.
    pub fn record(&mut self, log_type: &str, errors: u64) {
        match self.counts.get_mut(log_type) {
            Some(c) => {
                c.records += 1;
                c.errors += errors;
            }
            None => {
                self.counts
                    .insert(log_type.to_string(), Counts { records: 1, errors });
            }
        }
    }

    /// Reports a problem on stderr (`file:line: reason`), up to a cap per file.
    pub fn problem(&mut self, p: &Problem) {
        if self.shown < SHOWN_PER_FILE {
            self.shown += 1;
            eprintln!("{}:{}: {}", self.name, p.line, p.reason);
        } else {
            self.hidden += 1;
        }
    }

    /// Reports an unreadable line, with an excerpt of it.
    pub fn bad_line(&mut self, line: u64, raw: &[u8], reason: &str) {
        self.bad_lines += 1;
        let text = String::from_utf8_lossy(&raw[..raw.len().min(120)]);
        let text = text.trim_end();
        self.problem(&Problem {
            line,
            reason: format!("{reason}: {text:?}"),
        });
    }

    /// Total problems.
    pub fn problems(&self) -> u64 {
        self.shown as u64 + self.hidden
    }
}

/// Everything a run read, summed.
#[derive(Debug, Default)]
pub struct Summary {
    pub files: usize,
    pub failed: usize,
    pub counts: BTreeMap<String, Counts>,
    pub bad_lines: u64,
    pub problems: u64,
}

impl Summary {
    /// Adds one file's report (and prints its leftovers).
    pub fn add(&mut self, r: &FileReport) {
        self.files += 1;
        if r.hidden > 0 {
            eprintln!("{}: ... and {} more problems", r.name, r.hidden);
        }
        if let Some(f) = &r.failed {
            self.failed += 1;
            eprintln!("{}: stopped reading: {f}", r.name);
        }
        for (t, c) in &r.counts {
            let s = self.counts.entry(t.clone()).or_default();
            s.records += c.records;
            s.errors += c.errors;
        }
        self.bad_lines += r.bad_lines;
        self.problems += r.problems() + u64::from(r.failed.is_some());
    }

    /// Prints the per-log-type table to stderr.
    pub fn print(&self, what: &str) {
        let mut e = std::io::stderr().lock();
        let records: u64 = self.counts.values().map(|c| c.records).sum();
        let _ = writeln!(
            e,
            "trawl {what}: {} file{}, {} records, {} problems{}",
            self.files,
            if self.files == 1 { "" } else { "s" },
            thousands(records),
            thousands(self.problems),
            if self.failed > 0 {
                format!(", {} files stopped early", self.failed)
            } else {
                String::new()
            }
        );
        if self.counts.is_empty() && self.bad_lines == 0 {
            return;
        }
        let w = self
            .counts
            .keys()
            .map(|k| k.len())
            .max()
            .unwrap_or(0)
            .max(12);
        let _ = writeln!(e, "  {:<w$} {:>12} {:>10}", "log type", "records", "errors");
        for (t, c) in &self.counts {
            let _ = writeln!(
                e,
                "  {:<w$} {:>12} {:>10}",
                t,
                thousands(c.records),
                thousands(c.errors)
            );
        }
        if self.bad_lines > 0 {
            let _ = writeln!(
                e,
                "  {:<w$} {:>12} {:>10}",
                "(unreadable)",
                "-",
                thousands(self.bad_lines)
            );
        }
    }
}

/// 1234567 -> "1,234,567".
pub use trawl_report::build::human as thousands;

/// Whether an error is a closed output pipe (`trawl cat ... | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
