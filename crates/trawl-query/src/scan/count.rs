//! The fast path for `top N col`, `rare N col` and `count by col`: how often each value of one
//! column occurs, read without building records.
//!
//! TSV rows are split only up to the column (the SIMD splitter of `trawl cut`), then the scan
//! jumps to the next newline. JSON lines are searched for the key with `memmem` and only its
//! value is decoded ([`super::jsonkey`]); lines where that is not certain (nested objects,
//! `tag_json`, a `{` inside an earlier string) go through the full JSON parser. Each worker
//! counts into its own hash map; the maps are merged at the end.

use std::collections::HashMap;
use std::sync::Arc;

use trawl_zeek::cut::Splitter;
use trawl_zeek::json::{JVal, Parser};
use trawl_zeek::Value;

use super::block::{value_text, Block, BlockData, Rec};
use super::jsonkey::{Found, KeyFinder};
use super::segment::Schema;
use super::{Scan, ScanError, ScanSummary};

/// The hasher of the count maps (fast, seeded per process).
pub type Hasher = foldhash::fast::RandomState;

/// How often each value of a column occurs.
///
/// Keys are the value's text as the query language sees it: TSV fields with Zeek's `\xNN`
/// escapes decoded and `(empty)` as the empty string, JSON strings decoded, other values as
/// written (numbers, booleans, arrays). Unset values (`-`, `null`) and records without the
/// field are counted apart.
#[derive(Debug, Clone, Default)]
pub struct ValueCounts {
    /// Count of each value.
    pub values: HashMap<Box<[u8]>, u64, Hasher>,
    /// Records where the field is unset (`-` in TSV, `null` in JSON).
    pub unset: u64,
    /// Records without the field (a JSON object without the key, a TSV block without the
    /// column). Zeek's JSON writer leaves unset fields out, so for a field the log type has,
    /// this is unset too.
    pub missing: u64,
}

impl ValueCounts {
    /// All records counted (values, unset and missing).
    pub fn total(&self) -> u64 {
        self.values.values().sum::<u64>() + self.unset + self.missing
    }

    /// The `n` most frequent values, most frequent first, ties by value (bytes ascending).
    /// Unset and missing together count as one `None` entry, ordered after values with the
    /// same count (as SQL's `GROUP BY ... ORDER BY count DESC, value` puts NULL last).
    pub fn top(&self, n: usize) -> Vec<(Option<&[u8]>, u64)> {
        self.ranked(n, |a, b| b.1.cmp(&a.1).then_with(|| cmp_key(a.0, b.0)))
    }

    /// The `n` least frequent values, least frequent first, ties by value.
    pub fn rare(&self, n: usize) -> Vec<(Option<&[u8]>, u64)> {
        self.ranked(n, |a, b| a.1.cmp(&b.1).then_with(|| cmp_key(a.0, b.0)))
    }

    fn ranked(
        &self,
        n: usize,
        order: impl Fn(&(Option<&[u8]>, u64), &(Option<&[u8]>, u64)) -> std::cmp::Ordering,
    ) -> Vec<(Option<&[u8]>, u64)> {
        let mut all: Vec<(Option<&[u8]>, u64)> = self
            .values
            .iter()
            .map(|(k, &c)| (Some(&k[..]), c))
            .collect();
        let nulls = self.unset + self.missing;
        if nulls > 0 {
            all.push((None, nulls));
        }
        if n == 0 {
            return Vec::new();
        }
        if all.len() > n {
            all.select_nth_unstable_by(n - 1, &order);
            all.truncate(n);
        }
        all.sort_unstable_by(order);
        all
    }

    /// Adds another count into this one.
    pub fn merge(&mut self, other: ValueCounts) {
        self.unset += other.unset;
        self.missing += other.missing;
        let (mut big, small) = if other.values.len() > self.values.len() {
            (other.values, std::mem::take(&mut self.values))
        } else {
            (std::mem::take(&mut self.values), other.values)
        };
        for (k, c) in small {
            *big.entry(k).or_insert(0) += c;
        }
        self.values = big;
    }
}

fn cmp_key(a: Option<&[u8]>, b: Option<&[u8]>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// How often each value of `column` occurs in the scan's records (see [`ValueCounts`]).
pub fn count_values(scan: &Scan, column: &str) -> Result<(ValueCounts, ScanSummary), ScanError> {
    let finder = KeyFinder::new(column);
    let (parts, summary) = scan.fold(
        || Counter::new(column),
        |c: &mut Counter, b: &Block<'_>| c.block(b, &finder),
    )?;
    Ok((finish(parts), summary))
}

/// Like [`count_values`], counting only records for which `keep` holds. Every record is read
/// in full (the general path), so this is slower.
pub fn count_values_where<P>(
    scan: &Scan,
    column: &str,
    keep: P,
) -> Result<(ValueCounts, ScanSummary), ScanError>
where
    P: Fn(&Rec<'_>) -> bool + Sync,
{
    let (parts, summary) = scan.fold(
        || Counter::new(column),
        |c: &mut Counter, b: &Block<'_>| {
            b.for_each_record(|r| {
                if keep(&r) {
                    match r.get(&c.column) {
                        None => c.counts.missing += 1,
                        Some(v) => c.value(&v),
                    }
                }
            })
        },
    )?;
    Ok((finish(parts), summary))
}

fn finish(parts: Vec<Counter>) -> ValueCounts {
    let mut total = ValueCounts::default();
    for mut p in parts {
        // TSV keys were counted raw: decode the few with escapes now.
        for (k, c) in std::mem::take(&mut p.tsv_raw) {
            if memchr::memchr(b'\\', &k).is_some() {
                let (text, _) = trawl_zeek::escape::unescape(&k);
                *p.counts.values.entry(text.into_owned().into()).or_insert(0) += c;
            } else {
                *p.counts.values.entry(k).or_insert(0) += c;
            }
        }
        total.merge(p.counts);
    }
    total
}

/// A worker's counts.
struct Counter {
    column: String,
    counts: ValueCounts,
    /// TSV values as written (escapes not decoded yet).
    tsv_raw: HashMap<Box<[u8]>, u64, Hasher>,
    /// The split plan for the last TSV header block seen.
    plan: Option<(Arc<Schema>, TsvPlan)>,
    spans: Vec<(usize, usize)>,
}

struct TsvPlan {
    col: Option<usize>,
    splitter: Option<Splitter>,
    one_column: bool,
}

#[inline]
fn bump(map: &mut HashMap<Box<[u8]>, u64, Hasher>, key: &[u8]) {
    match map.get_mut(key) {
        Some(c) => *c += 1,
        None => {
            map.insert(key.into(), 1);
        }
    }
}

impl Counter {
    fn new(column: &str) -> Counter {
        Counter {
            column: column.to_string(),
            counts: ValueCounts::default(),
            tsv_raw: HashMap::with_hasher(Hasher::default()),
            plan: None,
            spans: Vec::new(),
        }
    }

    fn value(&mut self, v: &Value<'_>) {
        match value_text(v) {
            None => self.counts.unset += 1,
            Some(t) => bump(&mut self.counts.values, &t),
        }
    }

    fn block(&mut self, b: &Block<'_>, finder: &KeyFinder) {
        match b.data {
            BlockData::Tsv { schema, text } => self.tsv(b, schema, text),
            BlockData::Json { text } => self.json(b, text, finder),
            BlockData::Records { records } => {
                for (_, r) in records {
                    match r.get(&self.column) {
                        None => self.counts.missing += 1,
                        Some(v) => self.value(v),
                    }
                }
                b.add_records(records.len() as u64);
            }
        }
    }

    fn tsv(&mut self, b: &Block<'_>, schema: &Arc<Schema>, text: &[u8]) {
        let h = &schema.header;
        let fresh = !matches!(&self.plan, Some((s, _)) if Arc::ptr_eq(s, schema));
        if fresh {
            let col = h.index_of(&self.column);
            let splitter = match (col, h.separator.as_slice()) {
                (Some(c), [sep]) if h.prefix.as_slice() == b"#" => {
                    let mut want = vec![false; c + 1];
                    want[c] = true;
                    Some(Splitter::new(*sep, want))
                }
                _ => None,
            };
            self.spans = vec![(0, 0); col.map_or(0, |c| c + 1)];
            let one_column = h.fields.len() == 1;
            self.plan = Some((
                Arc::clone(schema),
                TsvPlan {
                    col,
                    splitter,
                    one_column,
                },
            ));
        }
        let Some((_, plan)) = &self.plan else { return };
        let Some(col) = plan.col else {
            // The block has no such column: every row lacks it.
            b.for_each_record(|_| self.counts.missing += 1);
            return;
        };
        let Some(splitter) = &plan.splitter else {
            // Multi-byte separators, other prefixes: the general reader.
            let counts = &mut self.counts;
            let raw = &mut self.tsv_raw;
            let (unset, empty) = (&h.unset_field, &h.empty_field);
            b.for_each_record(|r| {
                if let Rec::Row(row) = r {
                    match row.raw(col) {
                        None => counts.unset += 1,
                        Some(v) if v == unset.as_slice() => counts.unset += 1,
                        Some(v) if v == empty.as_slice() => bump(&mut counts.values, b""),
                        Some(v) => bump(raw, v),
                    }
                }
            });
            return;
        };
        let need = col + 1;
        let (unset, empty) = (h.unset_field.as_slice(), h.empty_field.as_slice());
        let one_column = plan.one_column;
        let mut pos = 0;
        let mut line = b.first_line;
        let mut recs = 0u64;
        while pos < text.len() {
            let rest = &text[pos..];
            if !one_column && (rest[0] == b'\n' || rest.starts_with(b"\r\n")) {
                pos += if rest[0] == b'\n' { 1 } else { 2 };
                line += 1;
                continue;
            }
            let (found, end) = splitter.split(rest, &mut self.spans);
            recs += 1;
            if found < need {
                b.report(
                    line,
                    format!(
                        "row has {found} fields, #fields declares {}",
                        h.fields.len()
                    ),
                );
                self.counts.unset += 1;
            } else {
                let (s, mut e) = self.spans[col];
                if e == end && e > s && rest[e - 1] == b'\r' {
                    e -= 1;
                }
                let v = &rest[s..e];
                if v == unset {
                    self.counts.unset += 1;
                } else if v == empty {
                    bump(&mut self.counts.values, b"");
                } else {
                    bump(&mut self.tsv_raw, v);
                }
            }
            pos += end + 1;
            line += 1;
        }
        b.add_records(recs);
    }

    fn json(&mut self, b: &Block<'_>, text: &[u8], finder: &KeyFinder) {
        let default_path = b.file.log_type.as_deref().unwrap_or("unknown");
        let mut pos = 0;
        let mut line = b.first_line;
        let mut recs = 0u64;
        let mut problems = Vec::new();
        while pos < text.len() {
            let rest = &text[pos..];
            let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            pos += end + 1;
            let no = line;
            line += 1;
            let t = trim(&rest[..end]);
            if t.is_empty() {
                continue;
            }
            if t[0] != b'{' || t[t.len() - 1] != b'}' {
                // Not a one-line object: the general reader reports it.
                if let Some(rec) = b.json_record(no, t, default_path, &mut problems) {
                    recs += 1;
                    self.record(&rec);
                }
                problems.clear();
                continue;
            }
            recs += 1;
            match finder.find(t) {
                Found::Str(s) => bump(&mut self.counts.values, s),
                Found::Null => self.counts.unset += 1,
                Found::Absent => self.counts.missing += 1,
                Found::Other(s) => bump(&mut self.counts.values, s),
                Found::Escaped(q) => match Parser::new(q).parse_document() {
                    Ok(JVal::Str(s)) => bump(&mut self.counts.values, &s),
                    _ => {
                        recs -= 1;
                        if let Some(rec) = b.json_record(no, t, default_path, &mut problems) {
                            recs += 1;
                            self.record(&rec);
                        }
                        problems.clear();
                    }
                },
                Found::Unsure => {
                    recs -= 1;
                    if let Some(rec) = b.json_record(no, t, default_path, &mut problems) {
                        recs += 1;
                        self.record(&rec);
                    }
                    problems.clear();
                }
            }
        }
        b.add_records(recs);
    }

    fn record(&mut self, rec: &trawl_zeek::Record<'_>) {
        match rec.get(&self.column) {
            None => self.counts.missing += 1,
            Some(v) => self.value(v),
        }
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .unwrap_or(s.len());
    let z = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(a, |i| i + 1);
    &s[a..z.max(a)]
}
