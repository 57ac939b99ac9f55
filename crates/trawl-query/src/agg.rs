//! Group-by tables: the partial result each scan worker folds its records into, merged at the
//! end. Used by `summarize`, `count`, `top` and `rare`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault};

use trawl_zeek::{Record, Value};

use crate::expr::compare;
use crate::fields::Fields;
use crate::ops::{Notes, Options};
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

/// Distinct values `dcount()` counts exactly per group; past this it estimates.
pub const DCOUNT_EXACT: usize = 100_000;

/// Values `values()` lists per group at most.
pub const VALUES_MAX: usize = 100;

/// The marker ending a `values()` list that was cut short.
pub const MORE: &str = "...";

/// HyperLogLog precision: 2^14 registers (16 KB a group), standard error 1.04/128 = 0.8%.
const HLL_BITS: u32 = 14;

/// A distinct count: exact (a set of value keys) up to a cap, then a HyperLogLog sketch.
#[derive(Debug, Clone)]
struct Distinct {
    exact: HashSet<Vec<u8>, BuildHasherDefault<Fnv>>,
    sketch: Option<Box<[u8]>>,
    cap: usize,
}

impl Distinct {
    fn new(cap: usize) -> Distinct {
        Distinct {
            exact: HashSet::default(),
            sketch: None,
            cap,
        }
    }

    fn add(&mut self, key: &[u8]) {
        if let Some(regs) = &mut self.sketch {
            hll_add(regs, key);
        } else if !self.exact.contains(key) {
            self.exact.insert(key.to_vec());
            if self.exact.len() > self.cap {
                self.start_sketch();
            }
        }
    }

    fn start_sketch(&mut self) {
        let mut regs = vec![0u8; 1 << HLL_BITS].into_boxed_slice();
        for k in std::mem::take(&mut self.exact) {
            hll_add(&mut regs, &k);
        }
        self.sketch = Some(regs);
    }

    fn merge(&mut self, other: Distinct) {
        match other.sketch {
            Some(theirs) => {
                if self.sketch.is_none() {
                    self.start_sketch();
                }
                if let Some(mine) = &mut self.sketch {
                    for (a, b) in mine.iter_mut().zip(theirs.iter()) {
                        *a = (*a).max(*b);
                    }
                }
            }
            None => {
                for k in other.exact {
                    self.add(&k);
                }
            }
        }
    }

    fn approximate(&self) -> bool {
        self.sketch.is_some()
    }

    fn count(&self) -> u64 {
        match &self.sketch {
            None => self.exact.len() as u64,
            Some(regs) => hll_estimate(regs),
        }
    }
}

fn hll_add(regs: &mut [u8], key: &[u8]) {
    let h = foldhash::quality::FixedState::with_seed(0x0074_7261_776c).hash_one(key);
    let idx = (h >> (64 - HLL_BITS)) as usize;
    let rest = (h << HLL_BITS) | (1 << (HLL_BITS - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if let Some(r) = regs.get_mut(idx) {
        *r = (*r).max(rank);
    }
}

fn hll_estimate(regs: &[u8]) -> u64 {
    let m = regs.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = regs.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = regs.iter().filter(|&&r| r == 0).count();
    let e = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    e.round() as u64
}

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
    Dcount(Distinct),
    /// The smallest value keys (at most `max`; `cut`: some were left out), so the list is
    /// the same whatever order the records came in.
    Values {
        map: BTreeMap<Vec<u8>, Value<'static>>,
        max: usize,
        cut: bool,
    },
}

impl State {
    fn new(f: AggFunc, o: &Limits) -> State {
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
            AggFunc::Dcount => State::Dcount(Distinct::new(o.dcount_exact)),
            AggFunc::Values => State::Values {
                map: BTreeMap::new(),
                max: o.values_max,
                cut: false,
            },
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
            State::Dcount(d) => {
                for item in flatten(&v) {
                    scratch.clear();
                    key_bytes(item, scratch);
                    d.add(scratch);
                }
            }
            State::Values { map, max, cut } => {
                for item in flatten(&v) {
                    scratch.clear();
                    key_bytes(item, scratch);
                    if map.contains_key(scratch.as_slice()) {
                        continue;
                    }
                    if map.len() >= *max {
                        *cut = true;
                        // Full: only a key smaller than the largest kept gets in.
                        match map.last_key_value() {
                            Some((last, _)) if scratch.as_slice() < last.as_slice() => {
                                map.pop_last();
                            }
                            _ => continue,
                        }
                    }
                    if *max > 0 {
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
            (State::Dcount(a), State::Dcount(b)) => a.merge(b),
            (
                State::Values { map, max, cut },
                State::Values {
                    map: theirs,
                    cut: cut2,
                    ..
                },
            ) => {
                *cut |= cut2;
                for (k, v) in theirs {
                    map.entry(k).or_insert(v);
                }
                while map.len() > *max {
                    map.pop_last();
                    *cut = true;
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
            State::Dcount(d) => Value::Count(d.count()),
            State::Values { map, cut, .. } => {
                let mut items: Vec<Value<'static>> = map.into_values().collect();
                if cut {
                    items.push(Value::Str(Cow::Borrowed(MORE.as_bytes())));
                }
                Value::List(items)
            }
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

/// The limits of `dcount()` and `values()` (from [`Options`]).
#[derive(Debug, Clone)]
struct Limits {
    dcount_exact: usize,
    values_max: usize,
    notes: Notes,
}

/// A group-by table: keys to aggregate states.
#[derive(Debug, Clone)]
pub struct AggTable {
    keys: Vec<Named>,
    aggs: Vec<Agg>,
    groups: FnvMap<Vec<u8>, Group>,
    limits: Limits,
    scratch: Vec<u8>,
    scratch2: Vec<u8>,
}

impl AggTable {
    /// An empty table with the default limits ([`DCOUNT_EXACT`], [`VALUES_MAX`]).
    pub fn new(keys: Vec<Named>, aggs: Vec<Agg>) -> AggTable {
        AggTable::with(keys, aggs, &Options::default())
    }

    /// An empty table with the limits of `o`; notes about estimated counts and cut lists
    /// go to `o.notes` when the rows are made.
    pub fn with(keys: Vec<Named>, aggs: Vec<Agg>, o: &Options) -> AggTable {
        AggTable {
            keys,
            aggs,
            groups: FnvMap::default(),
            limits: Limits {
                dcount_exact: o.dcount_exact,
                values_max: o.values_max,
                notes: o.notes.clone(),
            },
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
                    states: self
                        .aggs
                        .iter()
                        .map(|a| State::new(a.func, &self.limits))
                        .collect(),
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
    pub fn rows(mut self, path: &str) -> Vec<Record<'static>> {
        let mut groups: Vec<(Vec<u8>, Group)> =
            std::mem::take(&mut self.groups).into_iter().collect();
        if groups.is_empty() && self.keys.is_empty() {
            groups.push((
                Vec::new(),
                Group {
                    keys: Vec::new(),
                    states: self
                        .aggs
                        .iter()
                        .map(|a| State::new(a.func, &self.limits))
                        .collect(),
                },
            ));
        }
        self.note_limits(&groups);
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

impl AggTable {
    /// Notes the `dcount()` columns that were estimated and the `values()` lists cut short.
    fn note_limits(&self, groups: &[(Vec<u8>, Group)]) {
        for (i, a) in self.aggs.iter().enumerate() {
            let hit = groups
                .iter()
                .filter(|(_, g)| match g.states.get(i) {
                    Some(State::Dcount(d)) => d.approximate(),
                    Some(State::Values { cut, .. }) => *cut,
                    _ => false,
                })
                .count() as u64;
            if hit == 0 {
                continue;
            }
            let groups = if hit == 1 {
                "1 group".to_string()
            } else {
                format!("{hit} groups")
            };
            self.limits.notes.add(match a.func {
                AggFunc::Dcount => format!(
                    "{}: over {} distinct values in {groups}, an estimate there \
                     (HyperLogLog, about ±1%)",
                    a.name, self.limits.dcount_exact
                ),
                _ => format!(
                    "{}: more than {} values in {groups}, listed as {} of them (the same \
                     whatever the order of the logs) then `{MORE}`",
                    a.name, self.limits.values_max, self.limits.values_max
                ),
            });
        }
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
