//! Group-by tables: the partial result each scan worker folds its records into, merged at the
//! end. Used by `summarize`, `count`, `top` and `rare`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;

use trawl_zeek::{Record, Value};

use crate::expr::compare;
use crate::fields::Fields;
use crate::parser::{Agg, AggFunc, Named};
use crate::value::{key_bytes, type_of};

/// FNV-1a: keys are short byte strings; SipHash would cost more than the lookup.
#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A hash map keyed by bytes with [`Fnv`].
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// One aggregate's running state.
#[derive(Debug, Clone)]
enum State {
    Count(u64),
    Sum {
        int: i128,
        float: f64,
        floats: bool,
        n: u64,
    },
    Avg {
        sum: f64,
        n: u64,
    },
    Min(Option<Value<'static>>),
    Max(Option<Value<'static>>),
    Dcount(HashSet<Vec<u8>, BuildHasherDefault<Fnv>>),
    Values(BTreeMap<Vec<u8>, Value<'static>>),
}

impl State {
    fn new(f: AggFunc) -> State {
        match f {
            AggFunc::Count => State::Count(0),
            AggFunc::Sum => State::Sum {
                int: 0,
                float: 0.0,
                floats: false,
                n: 0,
            },
            AggFunc::Avg => State::Avg { sum: 0.0, n: 0 },
            AggFunc::Min => State::Min(None),
            AggFunc::Max => State::Max(None),
            AggFunc::Dcount => State::Dcount(HashSet::default()),
            AggFunc::Values => State::Values(BTreeMap::new()),
        }
    }

    fn add(&mut self, v: Option<Value<'_>>, scratch: &mut Vec<u8>) {
        let Some(v) = v else {
            // count() without an argument counts records.
            if let State::Count(n) = self {
                *n += 1;
            }
            return;
        };
        if v.is_unset() {
            return;
        }
        match self {
            State::Count(n) => *n += 1,
            State::Sum {
                int,
                float,
                floats,
                n,
            } => match &v {
                Value::Count(c) => *int += i128::from(*c),
                Value::Int(i) => *int += i128::from(*i),
                Value::Port(p) => *int += i128::from(*p),
                other => {
                    if let Some(f) = crate::value::number(other) {
                        *float += f;
                        *floats = true;
                        *n += 1;
                    }
                }
            },
            State::Avg { sum, n } => {
                if let Some(f) = crate::value::number(&v) {
                    *sum += f;
                    *n += 1;
                }
            }
            State::Min(m) => {
                if better(m, &v, std::cmp::Ordering::Less) {
                    *m = Some(v.into_owned());
                }
            }
            State::Max(m) => {
                if better(m, &v, std::cmp::Ordering::Greater) {
                    *m = Some(v.into_owned());
                }
            }
            State::Dcount(set) => {
                for item in flatten(&v) {
                    scratch.clear();
                    key_bytes(item, scratch);
                    if !set.contains(scratch.as_slice()) {
                        set.insert(scratch.clone());
                    }
                }
            }
            State::Values(map) => {
                for item in flatten(&v) {
                    scratch.clear();
                    key_bytes(item, scratch);
                    if !map.contains_key(scratch.as_slice()) {
                        map.insert(scratch.clone(), item.clone().into_owned());
                    }
                }
            }
        }
    }

    fn merge(&mut self, other: State) {
        match (self, other) {
            (State::Count(a), State::Count(b)) => *a += b,
            (
                State::Sum {
                    int,
                    float,
                    floats,
                    n,
                },
                State::Sum {
                    int: i2,
                    float: f2,
                    floats: fl2,
                    n: n2,
                },
            ) => {
                *int += i2;
                *float += f2;
                *floats |= fl2;
                *n += n2;
            }
            (State::Avg { sum, n }, State::Avg { sum: s2, n: n2 }) => {
                *sum += s2;
                *n += n2;
            }
            (State::Min(a), State::Min(Some(b))) if better(a, &b, std::cmp::Ordering::Less) => {
                *a = Some(b)
            }
            (State::Max(a), State::Max(Some(b))) if better(a, &b, std::cmp::Ordering::Greater) => {
                *a = Some(b)
            }
            (State::Dcount(a), State::Dcount(b)) => a.extend(b),
            (State::Values(a), State::Values(b)) => {
                for (k, v) in b {
                    a.entry(k).or_insert(v);
                }
            }
            _ => {}
        }
    }

    fn value(self) -> Value<'static> {
        match self {
            State::Count(n) => Value::Count(n),
            State::Sum {
                int, float, floats, ..
            } => {
                if floats {
                    Value::Double(float + int as f64)
                } else if let Ok(c) = u64::try_from(int) {
                    Value::Count(c)
                } else {
                    i64::try_from(int).map_or(Value::Double(int as f64), Value::Int)
                }
            }
            State::Avg { sum, n } => {
                if n == 0 {
                    Value::Unset
                } else {
                    Value::Double(sum / n as f64)
                }
            }
            State::Min(v) | State::Max(v) => v.unwrap_or(Value::Unset),
            State::Dcount(s) => Value::Count(s.len() as u64),
            State::Values(m) => Value::List(m.into_values().collect()),
        }
    }
}

/// Whether `v` should replace the current min/max `cur` (`want`: Less for min).
fn better(cur: &Option<Value<'static>>, v: &Value, want: std::cmp::Ordering) -> bool {
    match cur {
        None => true,
        Some(c) => compare(v, c) == Some(want),
    }
}

/// The elements of a set or vector, or the value itself.
fn flatten<'v, 'a>(v: &'v Value<'a>) -> Vec<&'v Value<'a>> {
    match v {
        Value::List(items) => items.iter().filter(|x| !x.is_unset()).collect(),
        other => vec![other],
    }
}

#[derive(Debug, Clone)]
struct Group {
    keys: Vec<Value<'static>>,
    states: Vec<State>,
}

/// A group-by table: keys to aggregate states.
#[derive(Debug, Clone)]
pub struct AggTable {
    keys: Vec<Named>,
    aggs: Vec<Agg>,
    groups: FnvMap<Vec<u8>, Group>,
    scratch: Vec<u8>,
    scratch2: Vec<u8>,
}

impl AggTable {
    /// An empty table.
    pub fn new(keys: Vec<Named>, aggs: Vec<Agg>) -> AggTable {
        AggTable {
            keys,
            aggs,
            groups: FnvMap::default(),
            scratch: Vec::new(),
            scratch2: Vec::new(),
        }
    }

    /// Number of groups so far.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Folds one record in.
    pub fn add<F: Fields + ?Sized>(&mut self, rec: &F) {
        self.scratch.clear();
        let mut key_values = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            let v = k.expr.eval(rec);
            key_bytes(&v, &mut self.scratch);
            self.scratch.push(0xff);
            key_values.push(v);
        }
        let group = match self.groups.get_mut(self.scratch.as_slice()) {
            Some(g) => g,
            None => self
                .groups
                .entry(self.scratch.clone())
                .or_insert_with(|| Group {
                    keys: key_values.into_iter().map(Value::into_owned).collect(),
                    states: self.aggs.iter().map(|a| State::new(a.func)).collect(),
                }),
        };
        for (state, agg) in group.states.iter_mut().zip(&self.aggs) {
            let v = agg.arg.as_ref().map(|e| e.eval(rec));
            state.add(v, &mut self.scratch2);
        }
    }

    /// Adds another table's groups into this one.
    pub fn merge(&mut self, other: AggTable) {
        for (k, g) in other.groups {
            match self.groups.get_mut(&k) {
                Some(mine) => {
                    for (a, b) in mine.states.iter_mut().zip(g.states) {
                        a.merge(b);
                    }
                }
                None => {
                    self.groups.insert(k, g);
                }
            }
        }
    }

    /// The result rows, ordered by key. A table without keys gives one row even when empty
    /// (`count` of nothing is 0).
    pub fn rows(self, path: &str) -> Vec<Record<'static>> {
        let mut groups: Vec<(Vec<u8>, Group)> = self.groups.into_iter().collect();
        if groups.is_empty() && self.keys.is_empty() {
            groups.push((
                Vec::new(),
                Group {
                    keys: Vec::new(),
                    states: self.aggs.iter().map(|a| State::new(a.func)).collect(),
                },
            ));
        }
        groups.sort_by(|a, b| cmp_keys(&a.1.keys, &b.1.keys).then_with(|| a.0.cmp(&b.0)));
        groups
            .into_iter()
            .map(|(_, g)| {
                let mut r = Record::new(path.to_string());
                for (k, v) in self.keys.iter().zip(g.keys) {
                    r.push(Cow::Owned(k.name.clone()), type_of(&v), v);
                }
                for (a, s) in self.aggs.iter().zip(g.states) {
                    let v = s.value();
                    r.push(Cow::Owned(a.name.clone()), type_of(&v), v);
                }
                r
            })
            .collect()
    }
}

/// Orders key tuples: values by [`compare`], unset last.
pub fn cmp_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    for (x, y) in a.iter().zip(b) {
        let o = match (x.is_unset(), y.is_unset()) {
            (true, true) => Equal,
            (true, false) => Greater,
            (false, true) => Less,
            _ => compare(x, y).unwrap_or(Equal),
        };
        if o != Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}
