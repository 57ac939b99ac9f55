//! The fast path for `top N col`, `rare N col` and `count by col`: how often each value of one
//! column occurs, read without building records.
//!
//! TSV rows are split only up to the column (the SIMD splitter of `trawl cut`), then the scan
//! jumps to the next newline. JSON lines are searched for the key with `memmem` and only its
//! value is decoded ([`super::jsonkey`]); lines where that is not certain (nested objects,
//! `tag_json`, a `{` inside an earlier string) go through the full JSON parser. Each worker
//! counts into its own hash map; the maps are merged at the end.

use std::sync::Arc;

use trawl_zeek::json::{JVal, Parser};
use trawl_zeek::scan::Splitter;
use trawl_zeek::Value;

use super::block::{value_text, Block, BlockData, Rec};
use super::jsonkey::{Found, KeyFinder};
use super::keys::KeyTable;
use super::segment::Schema;
use super::{Scan, ScanError, ScanSummary};

/// How often each value of a column occurs.
///
/// Keys are the value's text as the query language sees it: TSV fields with Zeek's `\xNN`
/// escapes decoded and `(empty)` as the empty string, JSON strings decoded, other values as
/// written (numbers, booleans, arrays). Unset values (`-`, `null`) and records without the
/// field are counted apart.
#[derive(Default)]
pub struct ValueCounts {
    values: KeyTable,
    /// Records where the field is unset (`-` in TSV, `null` in JSON).
    pub unset: u64,
    /// Records without the field (a JSON object without the key, a TSV block without the
    /// column). Zeek's JSON writer leaves unset fields out, so for a field the log type has,
    /// this is unset too.
    pub missing: u64,
}

impl std::fmt::Debug for ValueCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueCounts")
            .field("distinct", &self.distinct())
            .field("unset", &self.unset)
            .field("missing", &self.missing)
            .finish()
    }
}

impl ValueCounts {
    /// Distinct values (unset and missing not included).
    pub fn distinct(&self) -> usize {
        self.values.len()
    }

    /// How often `value` occurs.
    pub fn get(&self, value: &[u8]) -> u64 {
        self.values.get(value)
    }

    /// Every value with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.values.iter()
    }

    /// All records counted (values, unset and missing).
    pub fn total(&self) -> u64 {
        self.values.iter().map(|(_, c)| c).sum::<u64>() + self.unset + self.missing
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
        let mut all: Vec<(Option<&[u8]>, u64)> =
            self.values.iter().map(|(k, c)| (Some(k), c)).collect();
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

    /// Counts one record's value (`None`: the record lacks the field), for callers that read
    /// records themselves (the query executor's filtered `top`, which resolves its columns
    /// once per header block).
    pub fn add(&mut self, v: Option<&Value<'_>>) {
        match v {
            None => self.missing += 1,
            Some(v) => match value_text(v) {
                None => self.unset += 1,
                Some(t) => bump(&mut self.values, &t),
            },
        }
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
        big.merge_from(&small);
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
        for k in std::mem::take(&mut p.escaped) {
            if let Some(c) = p.tsv_raw.remove(&k) {
                let (text, _) = trawl_zeek::escape::unescape(&k);
                p.counts.values.add(&text, c);
            }
        }
        total.merge(p.counts);
        total.merge(ValueCounts {
            values: p.tsv_raw,
            unset: 0,
            missing: 0,
        });
    }
    total
}

/// Lookups waiting to be made: their slots are prefetched as they come, their keys once the
/// batch is full, and the lookups made last, so memory latency overlaps.
struct Batch {
    spans: [(usize, usize); BATCH],
    hashes: [u64; BATCH],
    n: usize,
}

const BATCH: usize = 16;

impl Batch {
    fn new() -> Batch {
        Batch {
            spans: [(0, 0); BATCH],
            hashes: [0; BATCH],
            n: 0,
        }
    }

    /// Queues `text[s..e]`; full batches are counted at once.
    #[inline]
    fn push(
        &mut self,
        table: &mut KeyTable,
        escaped: Option<&mut Vec<Box<[u8]>>>,
        text: &[u8],
        s: usize,
        e: usize,
    ) {
        let h = table.hash(&text[s..e]);
        table.prefetch_slot(h);
        self.spans[self.n] = (s, e);
        self.hashes[self.n] = h;
        self.n += 1;
        if self.n == BATCH {
            self.flush(table, escaped, text);
        }
    }

    fn flush(
        &mut self,
        table: &mut KeyTable,
        mut escaped: Option<&mut Vec<Box<[u8]>>>,
        text: &[u8],
    ) {
        for &h in &self.hashes[..self.n] {
            table.prefetch_key(h);
        }
        for k in 0..self.n {
            let (s, e) = self.spans[k];
            let key = &text[s..e];
            if table.add_hashed(key, self.hashes[k], 1) {
                if let Some(esc) = escaped.as_deref_mut() {
                    if memchr::memchr(b'\\', key).is_some() {
                        esc.push(key.into());
                    }
                }
            }
        }
        self.n = 0;
    }
}

/// A worker's counts.
struct Counter {
    column: String,
    counts: ValueCounts,
    /// TSV values as written (escapes not decoded yet).
    tsv_raw: KeyTable,
    /// Keys of `tsv_raw` holding a backslash (to decode at the end).
    escaped: Vec<Box<[u8]>>,
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
fn bump(map: &mut KeyTable, key: &[u8]) {
    map.add(key, 1);
}

/// Counts a raw TSV value, noting new keys with escapes.
#[inline]
fn bump_raw(map: &mut KeyTable, escaped: &mut Vec<Box<[u8]>>, key: &[u8]) {
    if map.add(key, 1) && memchr::memchr(b'\\', key).is_some() {
        escaped.push(key.into());
    }
}

impl Counter {
    fn new(column: &str) -> Counter {
        Counter {
            column: column.to_string(),
            counts: ValueCounts::default(),
            tsv_raw: KeyTable::default(),
            escaped: Vec::new(),
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
            let escaped = &mut self.escaped;
            let (unset, empty) = (&h.unset_field, &h.empty_field);
            b.for_each_record(|r| {
                if let Rec::Row(row) = r {
                    match row.raw(col) {
                        None => counts.unset += 1,
                        Some(v) if v == unset.as_slice() => counts.unset += 1,
                        Some(v) if v == empty.as_slice() => bump(&mut counts.values, b""),
                        Some(v) => bump_raw(raw, escaped, v),
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
        let mut batch = Batch::new();
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
                    batch.push(
                        &mut self.tsv_raw,
                        Some(&mut self.escaped),
                        text,
                        pos + s,
                        pos + e,
                    );
                }
            }
            pos += end + 1;
            line += 1;
        }
        batch.flush(&mut self.tsv_raw, Some(&mut self.escaped), text);
        b.add_records(recs);
    }

    fn json(&mut self, b: &Block<'_>, text: &[u8], finder: &KeyFinder) {
        let default_path = b.file.log_type.as_deref().unwrap_or("unknown");
        let mut pos = 0;
        let mut line = b.first_line;
        let mut recs = 0u64;
        let mut problems = Vec::new();
        let mut batch = Batch::new();
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
                Found::Str(s) => {
                    // Where `s` is in `text`, for the batch.
                    let at = s.as_ptr() as usize - text.as_ptr() as usize;
                    batch.push(&mut self.counts.values, None, text, at, at + s.len());
                }
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
        batch.flush(&mut self.counts.values, None, text);
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
