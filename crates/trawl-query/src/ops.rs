//! The operators after the scan, run on the calling thread as a push chain: each takes a
//! record and passes what it makes to the next. Streaming operators (`where`, `cut`, `rename`,
//! `put`, `head`) hold nothing; `tail` holds N records, `uniq` the keys it has seen,
//! `summarize`/`top` one row per group. `sort` and `timeline` hold records up to a memory
//! budget ([`Options::sort_memory`]) and spill sorted runs to temporary files past it, merged
//! at the end ([`crate::spill`]).

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};

use trawl_zeek::{Field, Record, Value};

use crate::agg::{cmp_keys, AggTable, Fnv};
use crate::parser::{Agg, AggFunc, Named, Stage};
use crate::spill::{KeyFn, Sorter};
use crate::value::{key_bytes, type_of};

/// Notes for the user about a query's answer (an estimate instead of an exact count, a list
/// cut short, a spill that failed), shared by the operators of one run.
#[derive(Debug, Clone, Default)]
pub struct Notes(Arc<Mutex<Vec<String>>>);

impl Notes {
    /// Adds a note (once).
    pub fn add(&self, note: impl Into<String>) {
        let note = note.into();
        if let Ok(mut v) = self.0.lock() {
            if !v.contains(&note) {
                v.push(note);
            }
        }
    }

    /// The notes so far.
    pub fn list(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Limits of a query's operators.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes of records a `sort` or `timeline` holds in memory before it spills to disk.
    pub sort_memory: usize,
    /// Distinct values `dcount()` counts exactly per group before it estimates.
    pub dcount_exact: usize,
    /// Values `values()` lists per group at most (then `...`).
    pub values_max: usize,
    /// Where operators leave notes about the answer.
    pub notes: Notes,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sort_memory: crate::spill::DEFAULT_BUDGET,
            dcount_exact: crate::agg::DCOUNT_EXACT,
            values_max: crate::agg::VALUES_MAX,
            notes: Notes::default(),
        }
    }
}

/// Where records go: returns `false` when no more are wanted.
pub type Sink<'s> = dyn FnMut(Record<'static>) -> bool + 's;

/// A running operator.
pub enum Op {
    /// Only records of these log types (the first stage, for records read from memory).
    TypeFilter(Vec<String>),
    /// `where`
    Where(crate::Expr),
    /// `cut`
    Cut(Vec<String>),
    /// `rename`
    Rename(Vec<(String, String)>),
    /// `put`
    Put(Vec<Named>),
    /// `sort` (`None` once finished)
    Sort(Option<Sorter>, Notes),
    /// `head`: how many are still wanted.
    Head(usize),
    /// `tail`
    Tail(usize, VecDeque<Record<'static>>),
    /// `uniq`
    Uniq(Vec<String>, HashSet<Vec<u8>, BuildHasherDefault<Fnv>>),
    /// `summarize`, `count`
    Summarize(Option<AggTable>),
    /// `top`/`rare`: the table, how many, rare.
    Top(Option<AggTable>, usize, bool),
    /// `timeline`: timeline rows, sorted by time (`None` once finished)
    Timeline(Option<Sorter>, Notes),
}

/// The aggregate `top` and `rare` count with.
pub fn count_agg() -> Agg {
    Agg {
        name: "count".into(),
        func: AggFunc::Count,
        arg: None,
    }
}

impl Op {
    /// The running form of a stage, with the default [`Options`].
    pub fn new(stage: &Stage) -> Op {
        Op::with(stage, &Options::default())
    }

    /// The running form of a stage.
    pub fn with(stage: &Stage, o: &Options) -> Op {
        match stage {
            Stage::Where(e) => Op::Where(e.clone()),
            Stage::Cut(f) => Op::Cut(f.clone()),
            Stage::Rename(r) => Op::Rename(r.clone()),
            Stage::Put(p) => Op::Put(p.clone()),
            Stage::Sort(k) => {
                let keys = k.clone();
                let desc = keys.iter().map(|(_, d)| *d).collect();
                let key: KeyFn = Box::new(move |r| {
                    keys.iter()
                        .map(|(k, _)| k.expr.eval(r).into_owned())
                        .collect()
                });
                Op::Sort(Some(Sorter::new(key, desc, o.sort_memory)), o.notes.clone())
            }
            Stage::Head(n) => Op::Head(*n),
            Stage::Tail(n) => Op::Tail(*n, VecDeque::new()),
            Stage::Uniq(f) => Op::Uniq(f.clone(), HashSet::default()),
            Stage::Summarize { aggs, by } => {
                Op::Summarize(Some(AggTable::with(by.clone(), aggs.clone(), o)))
            }
            Stage::Top { n, keys, rare } => Op::Top(
                Some(AggTable::with(keys.clone(), vec![count_agg()], o)),
                *n,
                *rare,
            ),
            Stage::Timeline => {
                // Records without a time go last, as unset sort keys do.
                let key: KeyFn = Box::new(|r| {
                    vec![match r.get("ts") {
                        Some(Value::Time(t)) => Value::Time(*t),
                        _ => Value::Unset,
                    }]
                });
                Op::Timeline(
                    Some(Sorter::new(key, vec![false], o.sort_memory)),
                    o.notes.clone(),
                )
            }
        }
    }

    /// Takes one record; returns `false` when this operator wants no more.
    pub fn push(&mut self, mut rec: Record<'static>, next: &mut Sink) -> bool {
        match self {
            Op::TypeFilter(t) => !t.iter().any(|t| *t == rec.path) || next(rec),
            Op::Where(e) => !e.holds(&rec) || next(rec),
            Op::Cut(names) => next(cut(&rec, names)),
            Op::Rename(pairs) => {
                rename(&mut rec, pairs);
                next(rec)
            }
            Op::Put(items) => {
                put(&mut rec, items);
                next(rec)
            }
            Op::Sort(sorter, _) => {
                if let Some(s) = sorter {
                    s.push(rec);
                }
                true
            }
            // Sorted as the small row it becomes (less to hold and to spill).
            Op::Timeline(sorter, _) => {
                if let Some(s) = sorter {
                    s.push(timeline_row(rec));
                }
                true
            }
            Op::Head(n) => {
                if *n == 0 {
                    return false;
                }
                *n -= 1;
                next(rec) && *n > 0
            }
            Op::Tail(n, buf) => {
                if *n > 0 {
                    if buf.len() == *n {
                        buf.pop_front();
                    }
                    buf.push_back(rec);
                }
                true
            }
            Op::Uniq(names, seen) => {
                let rec = if names.is_empty() {
                    rec
                } else {
                    cut(&rec, names)
                };
                let mut key = Vec::new();
                for f in &rec.fields {
                    key_bytes(&f.value, &mut key);
                    key.push(0xff);
                }
                if seen.insert(key) {
                    next(rec)
                } else {
                    true
                }
            }
            Op::Summarize(t) | Op::Top(t, ..) => {
                if let Some(t) = t {
                    t.add(&rec);
                }
                true
            }
        }
    }

    /// End of input: emits what the operator held.
    pub fn finish(&mut self, next: &mut Sink) {
        match self {
            Op::Sort(sorter, notes) | Op::Timeline(sorter, notes) => {
                if let Some(s) = sorter.take() {
                    if let Some(e) = s.spill_error() {
                        notes.add(format!(
                            "could not spill to a temporary file ({e}); sorted in memory"
                        ));
                    }
                    if let Some(e) = s.finish(next) {
                        notes.add(format!("output cut short: {e}"));
                    }
                }
            }
            Op::Tail(_, buf) => {
                for r in std::mem::take(buf) {
                    if !next(r) {
                        break;
                    }
                }
            }
            Op::Summarize(t) => {
                if let Some(t) = t.take() {
                    for r in t.rows("summary") {
                        if !next(r) {
                            break;
                        }
                    }
                }
            }
            Op::Top(t, n, rare) => {
                if let Some(t) = t.take() {
                    for r in top_rows(t, *n, *rare) {
                        if !next(r) {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the operator is streaming and stateless (can run on the scan's workers).
    pub fn is_row_op(stage: &Stage) -> bool {
        matches!(
            stage,
            Stage::Where(_) | Stage::Cut(_) | Stage::Rename(_) | Stage::Put(_)
        )
    }
}

/// The rows of a `top`/`rare` table: most (least) frequent first, ties by key, N of them.
pub fn top_rows(t: AggTable, n: usize, rare: bool) -> Vec<Record<'static>> {
    let mut rows = t.rows("top");
    let count = |r: &Record| match r.fields.last().map(|f| &f.value) {
        Some(Value::Count(c)) => *c,
        _ => 0,
    };
    rows.sort_by(|a, b| {
        let (x, y) = (count(a), count(b));
        let o = if rare { x.cmp(&y) } else { y.cmp(&x) };
        o.then_with(|| {
            let ka: Vec<Value> = a.fields[..a.fields.len() - 1]
                .iter()
                .map(|f| f.value.clone())
                .collect();
            let kb: Vec<Value> = b.fields[..b.fields.len() - 1]
                .iter()
                .map(|f| f.value.clone())
                .collect();
            cmp_keys(&ka, &kb)
        })
    });
    rows.truncate(n);
    rows
}

/// Only these fields, in this order; a field the record lacks is unset.
pub fn cut(rec: &Record<'static>, names: &[String]) -> Record<'static> {
    let mut out = Record::new(rec.path.clone());
    for n in names {
        match rec.fields.iter().find(|f| f.name == n.as_str()) {
            Some(f) => out.fields.push(f.clone()),
            // dns without score columns: the scores come from the scorer on `query`.
            None if matches!(n.as_str(), "phish_score" | "dga_score")
                && rec.get("query").is_some() =>
            {
                let v = match rec
                    .get("query")
                    .and_then(crate::expr::str_of)
                    .and_then(|q| crate::functions::scores(&q))
                {
                    Some((p, d)) => Value::Double(if n == "phish_score" { p } else { d }),
                    None => Value::Unset,
                };
                out.push(
                    Cow::Owned(n.clone()),
                    trawl_zeek::ZeekType::single(trawl_zeek::Scalar::Double),
                    v,
                );
            }
            None => out.push(
                Cow::Owned(n.clone()),
                trawl_zeek::ZeekType::single(trawl_zeek::Scalar::String),
                Value::Unset,
            ),
        }
    }
    out
}

fn rename(rec: &mut Record<'static>, pairs: &[(String, String)]) {
    for f in &mut rec.fields {
        if let Some((_, to)) = pairs.iter().find(|(from, _)| f.name == from.as_str()) {
            f.name = Cow::Owned(to.clone());
        }
    }
}

fn put(rec: &mut Record<'static>, items: &[Named]) {
    for item in items {
        let v = item.expr.eval(&*rec).into_owned();
        let ty = type_of(&v);
        match rec.fields.iter_mut().find(|f| f.name == item.name.as_str()) {
            Some(f) => {
                f.ty = ty;
                f.value = v;
            }
            None => rec.fields.push(Field {
                name: Cow::Owned(item.name.clone()),
                ty,
                value: v,
            }),
        }
    }
}

/// Fields a timeline row names apart (the rest go to `info`).
const TIMELINE_SKIP: &[&str] = &[
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "_path",
    "_write_ts",
];

/// One line of a timeline: `ts log uid id.orig_h id.resp_h info`, info holding the record's
/// other set fields as `name=value`.
pub fn timeline_row(r: Record<'static>) -> Record<'static> {
    use trawl_zeek::{Scalar, ZeekType};
    let get = |n: &str| r.get(n).cloned().unwrap_or(Value::Unset);
    let mut out = Record::new("timeline");
    out.push("ts", ZeekType::single(Scalar::Time), get("ts"));
    out.push(
        "log",
        ZeekType::single(Scalar::String),
        Value::Str(Cow::Owned(r.path.as_bytes().to_vec())),
    );
    let uid = match get("uid") {
        Value::Unset => get("fuid"),
        v => v,
    };
    out.push("uid", ZeekType::single(Scalar::String), uid);
    out.push(
        "id.orig_h",
        ZeekType::single(Scalar::Addr),
        get("id.orig_h"),
    );
    out.push(
        "id.resp_h",
        ZeekType::single(Scalar::Addr),
        get("id.resp_h"),
    );
    let mut info = Vec::new();
    for f in &r.fields {
        if TIMELINE_SKIP.contains(&&*f.name)
            || f.value.is_unset()
            || (r.get("uid").is_none() && f.name == "fuid")
        {
            continue;
        }
        if matches!(&f.value, Value::List(l) if l.is_empty())
            || matches!(&f.value, Value::Str(s) if s.is_empty())
        {
            continue;
        }
        if !info.is_empty() {
            info.push(b' ');
        }
        info.extend_from_slice(f.name.as_bytes());
        info.push(b'=');
        let mut v = Vec::new();
        f.value.write_text(&mut v);
        if v.len() > 80 {
            v.truncate(77);
            v.extend_from_slice("…".as_bytes());
        }
        info.extend_from_slice(&v);
    }
    out.push(
        "info",
        ZeekType::single(Scalar::String),
        Value::Str(Cow::Owned(info)),
    );
    out
}

/// Pushes a record through `ops[i..]` into `sink`; `false` when the chain wants no more.
pub fn push(ops: &mut [Op], rec: Record<'static>, sink: &mut Sink) -> bool {
    match ops.split_first_mut() {
        None => sink(rec),
        Some((op, rest)) => op.push(rec, &mut |r| push(rest, r, sink)),
    }
}

/// Ends the chain: each operator in turn emits what it held into the rest.
pub fn finish(ops: &mut [Op], sink: &mut Sink) {
    if let Some((op, rest)) = ops.split_first_mut() {
        op.finish(&mut |r| push(rest, r, sink));
        finish(rest, sink);
    }
}

/// Runs a query over records in memory, on this thread (tests, small inputs).
pub fn run_records(
    q: &crate::parser::Query,
    records: impl IntoIterator<Item = Record<'static>>,
) -> Vec<Record<'static>> {
    run_records_with(q, records, &Options::default())
}

/// [`run_records`] with operator limits.
pub fn run_records_with(
    q: &crate::parser::Query,
    records: impl IntoIterator<Item = Record<'static>>,
    o: &Options,
) -> Vec<Record<'static>> {
    let mut ops: Vec<Op> = Vec::new();
    if !q.types.is_empty() {
        let types = q.types.clone();
        ops.push(Op::TypeFilter(types));
    }
    ops.extend(q.stages.iter().map(|s| Op::with(s, o)));
    let mut out = Vec::new();
    let mut sink = |r: Record<'static>| {
        out.push(r);
        true
    };
    for r in records {
        if !push(&mut ops, r, &mut sink) {
            break;
        }
    }
    finish(&mut ops, &mut sink);
    out
}
