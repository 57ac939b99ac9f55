//! Expressions and their evaluation over Zeek's types.
//!
//! Values are [`trawl_zeek::Value`]s: addresses, subnets, times, intervals and ports are first
//! class. Comparisons convert where the meaning is plain: text that reads as an address is
//! compared as one (JSON logs carry addresses as strings), numbers of all kinds compare by value,
//! a time compares with a time literal. A comparison with an unset or missing field is false
//! (also `!=`), so `where x != "a"` never matches records without `x`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

use regex::bytes::Regex;
use trawl_zeek::Value;

use crate::fields::{borrow, Fields};
use crate::functions::{self as f, Func};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A text test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// `a contains b`: a substring, an element of a set, an address in a subnet.
    Contains,
    /// `a startswith b`
    StartsWith,
    /// `a endswith b`
    EndsWith,
}

/// Arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// Which score of `score(name).x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreKind {
    /// `.phish`
    Phish,
    /// `.dga`
    Dga,
}

/// A field reference: its name and its slot in the query's field table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// The field name (`id.orig_h`).
    pub name: String,
    /// Its number in the query's field table.
    pub slot: usize,
    /// For `phish_score`/`dga_score`: the slot of `query`, scored when the record has no such
    /// column (plain dns.log).
    pub score_fallback: Option<usize>,
}

/// An expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A literal.
    Lit(Value<'static>),
    /// A field of the record.
    Field(FieldRef),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `a == b` ...
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `a =~ /re/`, `a !~ /re/`
    Match(Box<Expr>, Regex, bool),
    /// `a in b`, `a not in b`
    In(Box<Expr>, Box<Expr>, bool),
    /// `a contains b` ...
    Text(TextOp, Box<Expr>, Box<Expr>),
    /// `exists field`
    Exists(FieldRef),
    /// `a + b` ...
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `-a`
    Neg(Box<Expr>),
    /// `f(a, b)`
    Call(Func, Vec<Expr>),
    /// `score(name).phish`
    Score(Box<Expr>, ScoreKind),
}

impl Expr {
    /// Evaluates the expression on a record. Never fails: what does not compute is unset.
    pub fn eval<'r, F: Fields + ?Sized>(&'r self, rec: &'r F) -> Value<'r> {
        match self {
            Expr::Lit(v) => borrow(v),
            Expr::Field(r) => field(r, rec),
            Expr::List(items) => Value::List(items.iter().map(|e| e.eval(rec)).collect()),
            Expr::Not(e) => Value::Bool(!truthy(&e.eval(rec))),
            Expr::And(a, b) => Value::Bool(truthy(&a.eval(rec)) && truthy(&b.eval(rec))),
            Expr::Or(a, b) => Value::Bool(truthy(&a.eval(rec)) || truthy(&b.eval(rec))),
            Expr::Cmp(op, a, b) => Value::Bool(cmp_holds(*op, &a.eval(rec), &b.eval(rec))),
            Expr::Match(a, re, negate) => {
                let v = a.eval(rec);
                if v.is_unset() {
                    return Value::Bool(false);
                }
                Value::Bool(any_matches(&v, re) != *negate)
            }
            Expr::In(a, b, negate) => {
                let v = a.eval(rec);
                if v.is_unset() {
                    return Value::Bool(false);
                }
                Value::Bool(is_in(&v, &b.eval(rec)) != *negate)
            }
            Expr::Text(op, a, b) => Value::Bool(text_op(*op, &a.eval(rec), &b.eval(rec))),
            Expr::Exists(r) => Value::Bool(!field(r, rec).is_unset()),
            Expr::Arith(op, a, b) => arith(*op, a.eval(rec), b.eval(rec)),
            Expr::Neg(a) => match a.eval(rec) {
                Value::Count(c) => {
                    i64::try_from(c).map_or(Value::Double(-(c as f64)), |i| Value::Int(-i))
                }
                Value::Int(i) => Value::Int(i.saturating_neg()),
                Value::Double(d) => Value::Double(-d),
                Value::Interval(d) => Value::Interval(-d),
                _ => Value::Unset,
            },
            Expr::Call(func, args) => call(*func, args, rec),
            Expr::Score(a, kind) => match str_of(&a.eval(rec)).and_then(|s| f::scores(&s)) {
                Some((p, d)) => Value::Double(if *kind == ScoreKind::Phish { p } else { d }),
                None => Value::Unset,
            },
        }
    }

    /// Whether the expression holds on a record (a boolean true, or a set value).
    pub fn holds<F: Fields + ?Sized>(&self, rec: &F) -> bool {
        truthy(&self.eval(rec))
    }

    /// The fields the expression reads, each once, in order of appearance.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk_fields(&mut |r| {
            if !out.contains(&r.name) {
                out.push(r.name.clone());
            }
        });
        out
    }

    /// Calls `f` on every field reference.
    pub fn walk_fields(&self, f: &mut dyn FnMut(&FieldRef)) {
        match self {
            Expr::Lit(_) => {}
            Expr::Field(r) | Expr::Exists(r) => f(r),
            Expr::List(items) | Expr::Call(_, items) => items.iter().for_each(|e| e.walk_fields(f)),
            Expr::Not(a) | Expr::Neg(a) | Expr::Match(a, ..) | Expr::Score(a, _) => {
                a.walk_fields(f)
            }
            Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Cmp(_, a, b)
            | Expr::In(a, b, _)
            | Expr::Text(_, a, b)
            | Expr::Arith(_, a, b) => {
                a.walk_fields(f);
                b.walk_fields(f);
            }
        }
    }

    /// The field this expression is, if it is a bare field.
    pub fn as_field(&self) -> Option<&str> {
        match self {
            Expr::Field(r) => Some(&r.name),
            _ => None,
        }
    }
}

fn field<'r, F: Fields + ?Sized>(r: &'r FieldRef, rec: &'r F) -> Value<'r> {
    match rec.field(&r.name, r.slot) {
        Some(v) => v,
        None => match r.score_fallback {
            // A dns.log without score columns: score the query name now.
            Some(q) => match rec
                .field("query", q)
                .as_ref()
                .and_then(str_of)
                .and_then(|s| f::scores(&s))
            {
                Some((p, d)) => Value::Double(if r.name == "phish_score" { p } else { d }),
                None => Value::Unset,
            },
            None => Value::Unset,
        },
    }
}

/// Whether a value counts as true: `T`, a non-zero number, a non-empty string or set.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Unset => false,
        Value::Bool(b) => *b,
        Value::Count(c) => *c != 0,
        Value::Int(i) => *i != 0,
        Value::Double(d) | Value::Interval(d) => *d != 0.0,
        Value::Str(s) | Value::Invalid(s) => !s.is_empty(),
        Value::List(l) => !l.is_empty(),
        _ => true,
    }
}

/// A string value as `str` (lossy for bytes that are not UTF-8).
pub fn str_of<'a>(v: &'a Value<'_>) -> Option<Cow<'a, str>> {
    match v {
        Value::Str(s) | Value::Invalid(s) => Some(String::from_utf8_lossy(s)),
        Value::Unset => None,
        other => f::text(other).map(|t| Cow::Owned(String::from_utf8_lossy(&t).into_owned())),
    }
}

fn cmp_holds(op: CmpOp, a: &Value, b: &Value) -> bool {
    let Some(o) = compare(a, b) else {
        return false;
    };
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

/// A number as a float, for numbers of every kind (ports and intervals too).
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Count(c) => Some(*c as f64),
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) | Value::Interval(d) => Some(*d),
        Value::Port(p) => Some(f64::from(*p)),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i128> {
    match v {
        Value::Count(c) => Some(i128::from(*c)),
        Value::Int(i) => Some(i128::from(*i)),
        Value::Port(p) => Some(i128::from(*p)),
        _ => None,
    }
}

fn text_num(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?.trim();
    if t.is_empty() || t.starts_with(['i', 'I', 'n', 'N']) {
        return None;
    }
    t.parse().ok()
}

fn text_addr(s: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(s)
        .ok()?
        .trim_matches(['[', ']'])
        .parse()
        .ok()
}

fn text_time(s: &[u8]) -> Option<i64> {
    trawl_zeek::time::parse_iso8601(s)
        .or_else(|| {
            std::str::from_utf8(s)
                .ok()
                .and_then(crate::lexer::time_literal)
        })
        .or_else(|| trawl_zeek::time::parse_epoch(s))
}

fn ord_f(a: f64, b: f64) -> Option<Ordering> {
    a.partial_cmp(&b)
}

fn addr_key(a: IpAddr) -> (u8, u128) {
    match f::canonical(a) {
        IpAddr::V4(v) => (4, u128::from(u32::from(v))),
        IpAddr::V6(v) => (6, u128::from(v)),
    }
}

/// Orders two values where that means something; `None` for unset values and values of kinds
/// that do not compare (an address and a number).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Unset, _) | (_, Unset) => None,
        (Str(x) | Invalid(x), Str(y) | Invalid(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Addr(x), Addr(y)) => Some(addr_key(*x).cmp(&addr_key(*y))),
        (Addr(x), Str(s)) => Some(addr_key(*x).cmp(&addr_key(text_addr(s)?))),
        (Str(s), Addr(y)) => Some(addr_key(text_addr(s)?).cmp(&addr_key(*y))),
        (Subnet(x, n), Subnet(y, m)) => Some((addr_key(*x), n).cmp(&(addr_key(*y), m))),
        (Time(x), Time(y)) => Some(x.cmp(y)),
        (Time(x), Str(s)) => Some(x.cmp(&text_time(s)?)),
        (Str(s), Time(y)) => Some(text_time(s)?.cmp(y)),
        (Time(x), y) => ord_f(*x as f64 / 1e9, num(y)?),
        (x, Time(y)) => ord_f(num(x)?, *y as f64 / 1e9),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Bool(x), Str(s)) | (Str(s), Bool(x)) => {
            let y = match s.as_ref() {
                b"T" | b"true" => true,
                b"F" | b"false" => false,
                _ => return None,
            };
            let o = x.cmp(&y);
            Some(if matches!(a, Bool(_)) { o } else { o.reverse() })
        }
        (Str(s), y) => ord_f(text_num(s)?, num(y)?),
        (x, Str(s)) => ord_f(num(x)?, text_num(s)?),
        (List(x), List(y)) => {
            for (p, q) in x.iter().zip(y) {
                match compare(p, q)? {
                    Ordering::Equal => {}
                    o => return Some(o),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        (x, y) => match (int(x), int(y)) {
            (Some(i), Some(j)) => Some(i.cmp(&j)),
            _ => ord_f(num(x)?, num(y)?),
        },
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    compare(a, b) == Some(Ordering::Equal)
}

/// `a in b`: an element of a list, an address in a subnet (or a list of subnets), a substring.
/// A set on the left is in `b` if any of its elements is.
fn is_in(a: &Value, b: &Value) -> bool {
    if let Value::List(items) = a {
        return items.iter().any(|x| is_in(x, b));
    }
    match b {
        Value::List(items) => items.iter().any(|x| match x {
            Value::Subnet(..) => is_in(a, x),
            _ => equal(a, x),
        }),
        Value::Subnet(net, bits) => match a {
            Value::Addr(x) => f::in_subnet(*x, *net, *bits),
            Value::Str(s) => text_addr(s).is_some_and(|x| f::in_subnet(x, *net, *bits)),
            Value::Subnet(x, n) => n >= bits && f::in_subnet(*x, *net, *bits),
            _ => false,
        },
        Value::Str(hay) => match a {
            Value::Str(needle) => memchr::memmem::find(hay, needle).is_some(),
            _ => false,
        },
        Value::Unset => false,
        other => equal(a, other),
    }
}

fn text_op(op: TextOp, a: &Value, b: &Value) -> bool {
    if a.is_unset() || b.is_unset() {
        return false;
    }
    if op == TextOp::Contains {
        match a {
            Value::List(items) => return items.iter().any(|x| equal(x, b)),
            Value::Subnet(..) => return is_in(b, a),
            _ => {}
        }
    }
    let (Some(x), Some(y)) = (f::text(a), f::text(b)) else {
        return false;
    };
    match op {
        TextOp::Contains => memchr::memmem::find(&x, &y).is_some(),
        TextOp::StartsWith => x.starts_with(&y),
        TextOp::EndsWith => x.ends_with(&y),
    }
}

fn any_matches(v: &Value, re: &Regex) -> bool {
    match v {
        Value::List(items) => items.iter().any(|x| any_matches(x, re)),
        other => f::text(other).is_some_and(|t| re.is_match(&t)),
    }
}

fn arith<'r>(op: ArithOp, a: Value<'r>, b: Value<'r>) -> Value<'r> {
    use Value::*;
    match (op, &a, &b) {
        (ArithOp::Sub, Time(x), Time(y)) => return Interval((x - y) as f64 / 1e9),
        (ArithOp::Add | ArithOp::Sub, Time(x), y) => {
            let Some(d) = num(y) else { return Unset };
            let ns = (d * 1e9) as i64;
            return Time(if op == ArithOp::Add {
                x.saturating_add(ns)
            } else {
                x.saturating_sub(ns)
            });
        }
        (ArithOp::Add, Str(x), Str(y)) => {
            return Str(Cow::Owned([x.as_ref(), y.as_ref()].concat()))
        }
        _ => {}
    }
    let interval = matches!(a, Interval(_)) || matches!(b, Interval(_));
    if let (Some(x), Some(y), false) = (int(&a), int(&b), interval) {
        let r = match op {
            ArithOp::Add => x.checked_add(y),
            ArithOp::Sub => x.checked_sub(y),
            ArithOp::Mul => x.checked_mul(y),
            ArithOp::Div => {
                return if y == 0 {
                    Unset
                } else {
                    Double(x as f64 / y as f64)
                }
            }
            ArithOp::Rem => x.checked_rem(y),
        };
        return match r {
            Some(r) if r >= 0 && r <= i128::from(u64::MAX) => Count(r as u64),
            Some(r) => i64::try_from(r).map_or(Unset, Int),
            None => Unset,
        };
    }
    let num_any = |v: &Value| {
        num(v).or_else(|| match v {
            Str(s) => text_num(s),
            _ => None,
        })
    };
    let (Some(x), Some(y)) = (num_any(&a), num_any(&b)) else {
        return Unset;
    };
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div => x / y,
        ArithOp::Rem => x % y,
    };
    if !r.is_finite() {
        Unset
    } else if interval && !matches!(op, ArithOp::Div) {
        Interval(r)
    } else {
        Double(r)
    }
}

fn str_value(s: String) -> Value<'static> {
    Value::Str(Cow::Owned(s.into_bytes()))
}

fn call<'r, F: Fields + ?Sized>(func: Func, args: &'r [Expr], rec: &'r F) -> Value<'r> {
    let arg = |i: usize| args.get(i).map_or(Value::Unset, |e| e.eval(rec));
    match func {
        Func::RegisteredDomain | Func::Tld | Func::Subdomain => {
            let v = arg(0);
            let Some(s) = str_of(&v) else {
                return Value::Unset;
            };
            match f::name_parts(&s) {
                Some((reg, tld, sub)) => str_value(match func {
                    Func::RegisteredDomain => reg,
                    Func::Tld => tld,
                    _ => sub,
                }),
                None => Value::Unset,
            }
        }
        Func::Lower | Func::Upper => match arg(0) {
            Value::Str(s) => Value::Str(Cow::Owned(if func == Func::Lower {
                s.to_ascii_lowercase()
            } else {
                s.to_ascii_uppercase()
            })),
            v => v,
        },
        Func::Len => match arg(0) {
            Value::Unset => Value::Unset,
            Value::List(l) => Value::Count(l.len() as u64),
            v => f::text(&v).map_or(Value::Unset, |t| Value::Count(t.len() as u64)),
        },
        Func::Entropy => match f::text(&arg(0)) {
            Some(t) => Value::Double(f::entropy(&t)),
            None => Value::Unset,
        },
        Func::CidrMatch => {
            let (a, b) = (arg(0), arg(1));
            if a.is_unset() || b.is_unset() {
                return Value::Unset;
            }
            let sub = |v: &Value| match v {
                Value::Subnet(..) => Some(v.clone().into_owned()),
                Value::Str(s) => std::str::from_utf8(s)
                    .ok()
                    .and_then(|t| crate::lexer::lex(t).ok())
                    .and_then(|t| match t.first().map(|t| &t.tok) {
                        Some(crate::lexer::Tok::Subnet(a, n)) => Some(Value::Subnet(*a, *n)),
                        _ => None,
                    }),
                _ => None,
            };
            match (sub(&a), sub(&b)) {
                (Some(net), _) => Value::Bool(is_in(&b, &net)),
                (None, Some(net)) => Value::Bool(is_in(&a, &net)),
                _ => Value::Unset,
            }
        }
        Func::VersionLt => match (str_of(&arg(0)), str_of(&arg(1))) {
            (Some(a), Some(b)) => Value::Bool(f::version_lt(&a, &b)),
            _ => Value::Unset,
        },
        Func::Strftime => {
            let fmt = arg(0);
            let t = match arg(1) {
                Value::Time(t) => t,
                Value::Str(s) => match text_time(&s) {
                    Some(t) => t,
                    None => return Value::Unset,
                },
                v => match num(&v) {
                    Some(s) => (s * 1e9) as i64,
                    None => return Value::Unset,
                },
            };
            match str_of(&fmt).and_then(|fmt| f::strftime(&fmt, t)) {
                Some(s) => str_value(s),
                None => Value::Unset,
            }
        }
        Func::Bucket => {
            let size = arg(1);
            match (arg(0), num(&size)) {
                (Value::Time(t), Some(secs)) if secs > 0.0 => {
                    let step = (secs * 1e9) as i64;
                    if step <= 0 {
                        return Value::Unset;
                    }
                    Value::Time(t.div_euclid(step) * step)
                }
                (Value::Str(s), Some(secs)) if secs > 0.0 => match text_time(&s) {
                    Some(t) => {
                        let step = (secs * 1e9) as i64;
                        Value::Time(t.div_euclid(step.max(1)) * step.max(1))
                    }
                    None => Value::Unset,
                },
                (v, Some(step)) if step > 0.0 => match (int(&v), int(&size)) {
                    (Some(x), Some(s)) => {
                        let b = x.div_euclid(s) * s;
                        u64::try_from(b).map_or(Value::Unset, Value::Count)
                    }
                    _ => num(&v).map_or(Value::Unset, |x| Value::Double((x / step).floor() * step)),
                },
                _ => Value::Unset,
            }
        }
        Func::Score => Value::Unset, // parsed into Expr::Score
        Func::PhishScore | Func::DgaScore => match str_of(&arg(0)).and_then(|s| f::scores(&s)) {
            Some((p, d)) => Value::Double(if func == Func::PhishScore { p } else { d }),
            None => Value::Unset,
        },
        Func::Ago | Func::Now => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            let back = if func == Func::Ago {
                num(&arg(0)).unwrap_or(0.0)
            } else {
                0.0
            };
            Value::Time(now - (back * 1e9) as i64)
        }
        Func::Str => match f::text(&arg(0)) {
            Some(t) => Value::Str(Cow::Owned(t.into_owned())),
            None => Value::Unset,
        },
        Func::Num => match arg(0) {
            Value::Str(s) => match std::str::from_utf8(&s).ok().map(str::trim) {
                Some(t) => t
                    .parse::<u64>()
                    .map(Value::Count)
                    .or_else(|_| t.parse::<i64>().map(Value::Int))
                    .ok()
                    .or_else(|| text_num(t.as_bytes()).map(Value::Double))
                    .unwrap_or(Value::Unset),
                None => Value::Unset,
            },
            v if num(&v).is_some() => v,
            _ => Value::Unset,
        },
        Func::Coalesce => args
            .iter()
            .map(|e| e.eval(rec))
            .find(|v| !v.is_unset())
            .unwrap_or(Value::Unset),
        Func::Local => match addr_of(&arg(0)) {
            Some(a) => Value::Bool(crate::networks::networks().is_local(a)),
            None => Value::Unset,
        },
        Func::Network => match addr_of(&arg(0)).and_then(|a| crate::networks::networks().find(a)) {
            Some(name) => str_value(name.to_string()),
            None => Value::Unset,
        },
        Func::Direction => match (addr_of(&arg(0)), addr_of(&arg(1))) {
            (Some(o), Some(r)) => {
                str_value(crate::networks::networks().direction(o, r).to_string())
            }
            _ => Value::Unset,
        },
    }
}

/// An address from an address value or its text.
fn addr_of(v: &Value<'_>) -> Option<std::net::IpAddr> {
    match v {
        Value::Addr(a) => Some(*a),
        Value::Str(s) => std::str::from_utf8(s).ok()?.trim().parse().ok(),
        _ => None,
    }
}
