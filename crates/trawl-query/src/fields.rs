//! Where expressions read their fields: a [`Record`], a lazy TSV row, or anything else that can
//! look a field up by name.

use std::borrow::Cow;
use std::cell::RefCell;

use trawl_zeek::{Problem, Record, Row, Value};

/// A record an expression can be evaluated on.
///
/// `slot` is the field's number in the query's field table ([`crate::Expr::fields`] order), so an
/// implementation can map slots to columns once per header instead of searching by name on every
/// row; implementations may ignore it and look the name up.
pub trait Fields {
    /// The value of a field; `None` if the record has no such field (unset is `Some(Unset)`).
    fn field(&self, name: &str, slot: usize) -> Option<Value<'_>>;

    /// The log type (`dns`, `conn` ...).
    fn log_type(&self) -> &str;
}

/// Borrows a value without copying its bytes.
pub fn borrow<'a>(v: &'a Value<'_>) -> Value<'a> {
    match v {
        Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
        Value::Invalid(s) => Value::Invalid(Cow::Borrowed(s.as_ref())),
        Value::List(items) => Value::List(items.iter().map(borrow).collect()),
        Value::Unset => Value::Unset,
        Value::Bool(b) => Value::Bool(*b),
        Value::Count(c) => Value::Count(*c),
        Value::Int(i) => Value::Int(*i),
        Value::Double(d) => Value::Double(*d),
        Value::Time(t) => Value::Time(*t),
        Value::Interval(d) => Value::Interval(*d),
        Value::Addr(a) => Value::Addr(*a),
        Value::Subnet(a, n) => Value::Subnet(*a, *n),
        Value::Port(p) => Value::Port(*p),
    }
}

impl Fields for Record<'_> {
    fn field(&self, name: &str, _slot: usize) -> Option<Value<'_>> {
        self.get(name).map(borrow)
    }

    fn log_type(&self) -> &str {
        &self.path
    }
}

/// A TSV row with the columns of the query's fields found once per header block.
pub struct TsvFields<'r, 'm> {
    /// The row.
    pub row: &'r Row<'r>,
    /// Column of each slot in this row's header block (`None`: the block has no such field).
    pub columns: &'m [Option<usize>],
    /// Where a value that does not parse as its `#types` type is noted (`None`: not noted;
    /// the value still reads as [`Value::Invalid`]).
    pub problems: Option<&'m LazyProblems>,
}

/// Problems with values read lazily (a TSV row is decoded only where a query looks), each
/// `(line, reason)` kept once however often the field is read, so the caller can report them
/// with the block they came from.
#[derive(Debug, Default)]
pub struct LazyProblems(RefCell<Vec<Problem>>);

impl LazyProblems {
    /// Notes a problem unless the same one was already noted for its line.
    pub fn note(&self, p: Problem) {
        let mut v = self.0.borrow_mut();
        // Problems come line by line: only the current line's need checking.
        let dup = v
            .iter()
            .rev()
            .take_while(|q| q.line == p.line)
            .any(|q| q.reason == p.reason);
        if !dup {
            v.push(p);
        }
    }

    /// The problems noted so far, in the order met; the list is left empty.
    pub fn take(&self) -> Vec<Problem> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl TsvFields<'_, '_> {
    /// The columns of `names` (a query's field table) in a header block.
    pub fn columns(header: &trawl_zeek::Header, names: &[String]) -> Vec<Option<usize>> {
        names.iter().map(|n| header.index_of(n)).collect()
    }
}

impl Fields for TsvFields<'_, '_> {
    fn field(&self, name: &str, slot: usize) -> Option<Value<'_>> {
        let col = match self.columns.get(slot) {
            Some(c) => (*c)?,
            None => self.row.header.index_of(name)?,
        };
        // A short row lacks the column's value: it is unset there (the reader reports it).
        Some(match self.row.value(col) {
            None => Value::Unset,
            Some((v, None)) => v,
            Some((v, Some(p))) => {
                if let Some(ps) = self.problems {
                    ps.note(p);
                }
                v
            }
        })
    }

    fn log_type(&self) -> &str {
        self.row.header.path.as_deref().unwrap_or("unknown")
    }
}
