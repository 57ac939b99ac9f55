//! Running a query over a [`Scan`]: a plan splits the pipeline into what the scan's workers do
//! (leading `where`s on lazy rows, then `cut`/`rename`/`put`/`where` on records, then the
//! first aggregate as a partial per worker) and what runs after, on the calling thread.
//!
//! - `TYPE | top N FIELD`, `rare N FIELD`, `count by FIELD` (no `where`) use the scan's value
//!   counter, which reads the one column without building records.
//! - Other aggregates: every worker folds its records into its own group table; the tables
//!   are merged, then the rest of the pipeline runs on the merged rows.
//! - Everything else streams: blocks are filtered and shaped on the workers and handed on in
//!   file order, with early stop (`head`), so memory stays bounded unless an operator must
//!   hold records (`sort`, `tail`, `uniq`, `timeline`).

use std::borrow::Cow;
use std::ops::ControlFlow;

use trawl_zeek::{Record, Scalar, Value, ZeekType};

use crate::agg::AggTable;
use crate::fields::{Fields, LazyProblems, TsvFields};
use crate::ops::{self, count_agg, Op, Options};
use crate::parser::{Agg, AggFunc, Named, Query, Stage};
use crate::scan::{count_values, Block, BlockData, Rec, Scan, ScanError, ScanSummary, ValueCounts};

/// How a query runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Log types records must have (empty: any).
    pub types: Vec<String>,
    /// Whether records are checked for their type (a file's name already told it otherwise).
    pub check_types: bool,
    /// Leading `where`s, evaluated on lazy rows.
    pub filters: Vec<crate::Expr>,
    /// Stateless stages after them, run on records on the workers.
    pub row_stages: Vec<Stage>,
    /// The first aggregate, folded per worker.
    pub aggregate: Option<Aggregate>,
    /// The rest, on the calling thread.
    pub rest: Vec<Stage>,
    /// The query's field table.
    pub fields: Vec<String>,
}

/// An aggregate stage as the workers run it.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Group keys.
    pub keys: Vec<Named>,
    /// Aggregates.
    pub aggs: Vec<Agg>,
    /// `Some((n, rare))` for `top`/`rare`.
    pub top: Option<(usize, bool)>,
}

impl Plan {
    /// Plans a query. `check_types`: whether records must be checked for the query's log types
    /// (stdin, or files whose names do not tell the type).
    pub fn new(q: &Query, check_types: bool) -> Plan {
        let mut stages = q.stages.iter().peekable();
        let mut filters = Vec::new();
        while let Some(Stage::Where(e)) = stages.peek() {
            filters.push(e.clone());
            stages.next();
        }
        let mut row_stages = Vec::new();
        while let Some(s) = stages.peek() {
            if !Op::is_row_op(s) {
                break;
            }
            row_stages.push((*s).clone());
            stages.next();
        }
        let aggregate = match stages.peek() {
            Some(Stage::Summarize { aggs, by }) => Some(Aggregate {
                keys: by.clone(),
                aggs: aggs.clone(),
                top: None,
            }),
            Some(Stage::Top { n, keys, rare }) => Some(Aggregate {
                keys: keys.clone(),
                aggs: vec![count_agg()],
                top: Some((*n, *rare)),
            }),
            _ => None,
        };
        if aggregate.is_some() {
            stages.next();
        }
        Plan {
            types: q.types.clone(),
            check_types: check_types && !q.types.is_empty(),
            filters,
            row_stages,
            aggregate,
            rest: stages.cloned().collect(),
            fields: q.fields.clone(),
        }
    }

    /// The column the value counter can answer the aggregate with, if it can.
    pub fn fast_count(&self) -> Option<&str> {
        let a = self.aggregate.as_ref()?;
        if !self.row_stages.is_empty() || a.keys.len() != 1 {
            return None;
        }
        if a.aggs.len() != 1 || a.aggs[0].func != AggFunc::Count || a.aggs[0].arg.is_some() {
            return None;
        }
        a.keys[0].expr.as_field()
    }
}

/// A worker's view of one record: a lazy TSV row with its columns found once per block, or a
/// record.
enum View<'a, 'r> {
    Row(TsvFields<'r, 'a>),
    Record(&'r Record<'r>),
}

impl Fields for View<'_, '_> {
    fn field(&self, name: &str, slot: usize) -> Option<Value<'_>> {
        match self {
            View::Row(r) => r.field(name, slot),
            View::Record(r) => r.field(name, slot),
        }
    }
    fn log_type(&self) -> &str {
        match self {
            View::Row(r) => r.log_type(),
            View::Record(r) => &r.path,
        }
    }
}

/// What the workers do to each record before it is aggregated or handed on.
struct Prefix<'p> {
    plan: &'p Plan,
    row_ops: Vec<Op>,
}

impl<'p> Prefix<'p> {
    fn new(plan: &'p Plan) -> Self {
        Prefix {
            plan,
            row_ops: plan.row_stages.iter().map(Op::new).collect(),
        }
    }

    /// Calls `each` with every record of a block that passes the filters: as a lazy view when
    /// there are no row stages, else as the shaped record.
    fn block(&mut self, b: &Block<'_>, each: &mut dyn FnMut(Out<'_>)) {
        let columns = match b.data {
            BlockData::Tsv { schema, .. } => TsvFields::columns(&schema.header, &self.plan.fields),
            _ => Vec::new(),
        };
        let plan = self.plan;
        let row_ops = &mut self.row_ops;
        // Values the query reads that do not parse as their type are reported like those of
        // records read whole (each line and reason once).
        let problems = LazyProblems::default();
        b.for_each_record(|rec| {
            let view = match &rec {
                Rec::Row(row) => View::Row(TsvFields {
                    row,
                    columns: &columns,
                    problems: Some(&problems),
                }),
                Rec::Record { record, .. } => View::Record(record),
            };
            if plan.check_types && !plan.types.iter().any(|t| t == view.log_type()) {
                return;
            }
            if !plan.filters.iter().all(|f| f.holds(&view)) {
                return;
            }
            if row_ops.is_empty() {
                each(Out::Lazy(&view, &rec, &problems));
                return;
            }
            let owned = whole(&rec, &problems);
            ops::push(row_ops, owned, &mut |r| {
                each(Out::Shaped(r));
                true
            });
        });
        for p in problems.take() {
            b.report(p.line, p.reason);
        }
    }
}

/// A record a worker passes on: lazily read, or already shaped by row stages.
enum Out<'x> {
    Lazy(&'x View<'x, 'x>, &'x Rec<'x>, &'x LazyProblems),
    Shaped(Record<'static>),
}

impl Out<'_> {
    fn fields(&self) -> &dyn Fields {
        match self {
            Out::Lazy(v, ..) => *v,
            Out::Shaped(r) => r,
        }
    }
}

/// A record of a block read whole (problems with its values noted in `problems`, which
/// reports each line and reason once).
fn whole(rec: &Rec<'_>, problems: &LazyProblems) -> Record<'static> {
    match rec {
        Rec::Row(row) => {
            let mut found = Vec::new();
            let r = row.to_record(&mut found).into_owned();
            for p in found {
                problems.note(p);
            }
            r
        }
        Rec::Record { record, .. } => (*record).clone().into_owned(),
    }
}

/// Runs a query with the default [`Options`]: result records go to `sink` (which returns
/// `false` to stop).
pub fn run(
    q: &Query,
    scan: &Scan,
    check_types: bool,
    sink: &mut dyn FnMut(Record<'static>) -> bool,
) -> Result<ScanSummary, ScanError> {
    run_with(q, scan, check_types, &Options::default(), sink)
}

/// Runs a query with operator limits (`sort`/`timeline` memory, `dcount()`/`values()` caps);
/// notes about the answer go to `o.notes`.
pub fn run_with(
    q: &Query,
    scan: &Scan,
    check_types: bool,
    o: &Options,
    sink: &mut dyn FnMut(Record<'static>) -> bool,
) -> Result<ScanSummary, ScanError> {
    let plan = Plan::new(q, check_types);
    let mut rest: Vec<Op> = plan.rest.iter().map(|s| Op::with(s, o)).collect();
    let summary = match &plan.aggregate {
        Some(agg) => {
            let rows = match plan.fast_count() {
                Some(col) => {
                    let (counts, summary) = if plan.filters.is_empty() && !plan.check_types {
                        count_values(scan, col)?
                    } else {
                        count_filtered(scan, &plan, &agg.keys[0].expr)?
                    };
                    (counted_rows(&counts, agg, col), summary)
                }
                None => {
                    let (parts, summary) = scan.fold(
                        || {
                            (
                                Prefix::new(&plan),
                                AggTable::with(agg.keys.clone(), agg.aggs.clone(), o),
                            )
                        },
                        |(prefix, table), b| prefix.block(b, &mut |r| table.add(r.fields())),
                    )?;
                    let mut it = parts.into_iter().map(|(_, t)| t);
                    let mut table = it
                        .next()
                        .unwrap_or_else(|| AggTable::with(agg.keys.clone(), agg.aggs.clone(), o));
                    for t in it {
                        table.merge(t);
                    }
                    let rows = match agg.top {
                        Some((n, rare)) => ops::top_rows(table, n, rare),
                        None => table.rows("summary"),
                    };
                    (rows, summary)
                }
            };
            let (rows, summary) = rows;
            for r in rows {
                if !ops::push(&mut rest, r, sink) {
                    break;
                }
            }
            summary
        }
        None => {
            let summary = scan.map_ordered(
                |b| {
                    // One prefix a block: cheap (the row ops are clones of small stages).
                    // Records are handed on encoded: a block's records as `Record`s take
                    // several times the text's size, and a few blocks wait per worker.
                    let mut prefix = Prefix::new(&plan);
                    let mut out: Vec<u8> = Vec::new();
                    prefix.block(b, &mut |r| match r {
                        Out::Lazy(_, Rec::Row(row), problems) => {
                            let mut found = Vec::new();
                            crate::spill::encode_record(&row.to_record(&mut found), &mut out);
                            for p in found {
                                problems.note(p);
                            }
                        }
                        Out::Lazy(_, Rec::Record { record, .. }, _) => {
                            crate::spill::encode_record(record, &mut out)
                        }
                        Out::Shaped(r) => crate::spill::encode_record(&r, &mut out),
                    });
                    out
                },
                |ordered| {
                    for r in crate::spill::decode_records(&ordered.value) {
                        if !ops::push(&mut rest, r, sink) {
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                },
            )?;
            summary
        }
    };
    ops::finish(&mut rest, sink);
    Ok(summary)
}

/// A filtered `top`/`rare`/`count by` of one field: the workers filter lazy rows with the
/// columns found once per header block (as every other query does) and count the key's text.
fn count_filtered(
    scan: &Scan,
    plan: &Plan,
    key: &crate::Expr,
) -> Result<(ValueCounts, ScanSummary), ScanError> {
    let (parts, summary) = scan.fold(
        || (Prefix::new(plan), ValueCounts::default()),
        |(prefix, counts), b| {
            prefix.block(b, &mut |r| counts.add(Some(&key.eval(r.fields()))));
        },
    )?;
    let mut total = ValueCounts::default();
    for (_, c) in parts {
        total.merge(c);
    }
    Ok((total, summary))
}

/// Rows of a `top`/`rare`/`count by` answered by the value counter.
fn counted_rows(counts: &ValueCounts, agg: &Aggregate, col: &str) -> Vec<Record<'static>> {
    let name = agg.keys[0].name.clone();
    let count_name = agg.aggs[0].name.clone();
    let entries: Vec<(Option<&[u8]>, u64)> = match agg.top {
        Some((n, false)) => counts.top(n),
        Some((n, true)) => counts.rare(n),
        None => {
            let mut all = counts.top(usize::MAX);
            all.sort_by(|a, b| crate::agg::cmp_keys(&[key_value(a.0)], &[key_value(b.0)]));
            all
        }
    };
    let _ = col;
    entries
        .into_iter()
        .map(|(k, c)| {
            let mut r = Record::new(if agg.top.is_some() { "top" } else { "summary" });
            r.push(
                Cow::Owned(name.clone()),
                ZeekType::single(Scalar::String),
                key_value(k),
            );
            r.push(
                Cow::Owned(count_name.clone()),
                ZeekType::single(Scalar::Count),
                Value::Count(c),
            );
            r
        })
        .collect()
}

fn key_value(k: Option<&[u8]>) -> Value<'static> {
    match k {
        Some(b) => Value::Str(Cow::Owned(b.to_vec())),
        None => Value::Unset,
    }
}
