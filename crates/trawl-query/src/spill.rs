//! Sorting more records than fit in memory, for `sort` and `timeline`: records are held in a
//! buffer up to a memory budget; a full buffer is sorted and written to an unnamed temporary
//! file (a sorted run); at the end the runs are merged (k-way, with a heap). Below the budget
//! nothing touches the disk.
//!
//! The sort is stable: records with equal keys come out in the order they went in (a
//! sequence number breaks ties, in memory and across runs), so a spilled sort gives exactly
//! the in-memory order. Zeek writes conn.log at connection end, so no input is assumed to be
//! nearly sorted.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::net::IpAddr;

use trawl_zeek::{Container, Field, Record, Scalar, Value, ZeekType};

use crate::value::put_tagged;

/// The default memory budget of one `sort` or `timeline`.
pub const DEFAULT_BUDGET: usize = 32 << 20;

/// Computes a record's sort key.
pub type KeyFn = Box<dyn Fn(&Record<'static>) -> Vec<Value<'static>> + Send>;

/// An external, stable sort of records by keys (unset last, each key ascending or descending).
pub struct Sorter {
    key: KeyFn,
    desc: Vec<bool>,
    budget: usize,
    buf: Vec<Entry>,
    used: usize,
    seq: u64,
    runs: Vec<File>,
    /// Why spilling stopped working (the rest is then sorted in memory).
    failed: Option<String>,
}

struct Entry {
    key: Vec<Value<'static>>,
    seq: u64,
    rec: Record<'static>,
}

impl Sorter {
    /// A sorter by `key`, `desc[i]` telling whether key `i` is descending; at most about
    /// `budget` bytes of records are held in memory.
    pub fn new(key: KeyFn, desc: Vec<bool>, budget: usize) -> Sorter {
        Sorter {
            key,
            desc,
            budget: budget.max(1),
            buf: Vec::new(),
            used: 0,
            seq: 0,
            runs: Vec::new(),
            failed: None,
        }
    }

    /// Sorted runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Why spilling to disk failed, if it did (the records were then kept in memory).
    pub fn spill_error(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Adds a record.
    pub fn push(&mut self, rec: Record<'static>) {
        let key = (self.key)(&rec);
        self.used += approx_size(&rec) + key.iter().map(value_size).sum::<usize>() + 48;
        self.buf.push(Entry {
            key,
            seq: self.seq,
            rec,
        });
        self.seq += 1;
        if self.used >= self.budget && self.failed.is_none() {
            if let Err(e) = self.spill() {
                self.failed = Some(e.to_string());
            }
        }
    }

    fn sort_buf(&mut self) {
        let desc = &self.desc;
        self.buf
            .sort_unstable_by(|a, b| cmp_keys(&a.key, &b.key, desc).then(a.seq.cmp(&b.seq)));
    }

    /// Writes the buffer as a sorted run.
    fn spill(&mut self) -> io::Result<()> {
        self.sort_buf();
        let mut w = BufWriter::new(tempfile::tempfile()?);
        let mut bytes = Vec::new();
        for e in self.buf.drain(..) {
            bytes.clear();
            bytes.extend_from_slice(&e.seq.to_le_bytes());
            put_u32(&mut bytes, e.key.len());
            for k in &e.key {
                encode_value(k, &mut bytes);
            }
            encode_record(&e.rec, &mut bytes);
            w.write_all(&(bytes.len() as u64).to_le_bytes())?;
            w.write_all(&bytes)?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        self.runs.push(f);
        self.used = 0;
        Ok(())
    }

    /// Ends the input: calls `each` with the records in order until it returns `false`.
    /// Returns a problem met reading a run back, if any (the output then stops there).
    pub fn finish(mut self, each: &mut dyn FnMut(Record<'static>) -> bool) -> Option<String> {
        if self.runs.is_empty() {
            self.sort_buf();
            for e in self.buf {
                if !each(e.rec) {
                    break;
                }
            }
            return None;
        }
        self.sort_buf();
        let desc = self.desc;
        let mut sources: Vec<Source> = self
            .runs
            .into_iter()
            .map(|f| Source::Run(BufReader::with_capacity(32 << 10, f)))
            .collect();
        sources.push(Source::Mem(self.buf.into_iter()));
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            match s.next() {
                Ok(Some(e)) => heap.push(Head {
                    e,
                    src: i,
                    desc: &desc,
                }),
                Ok(None) => {}
                Err(err) => return Some(format!("reading a sorted run back: {err}")),
            }
        }
        while let Some(Head { e, src, .. }) = heap.pop() {
            if !each(e.rec) {
                return None;
            }
            match sources[src].next() {
                Ok(Some(e)) => heap.push(Head {
                    e,
                    src,
                    desc: &desc,
                }),
                Ok(None) => {}
                Err(err) => return Some(format!("reading a sorted run back: {err}")),
            }
        }
        None
    }
}

/// Where the merge takes records from.
enum Source {
    Run(BufReader<File>),
    Mem(std::vec::IntoIter<Entry>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<Entry>> {
        match self {
            Source::Mem(it) => Ok(it.next()),
            Source::Run(r) => {
                let mut len = [0u8; 8];
                match r.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let mut bytes = vec![0u8; u64::from_le_bytes(len) as usize];
                r.read_exact(&mut bytes)?;
                decode_entry(&bytes)
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "a sorted run is corrupt")
                    })
                    .map(Some)
            }
        }
    }
}

/// A run's current record in the merge heap (a max-heap: the order is reversed).
struct Head<'d> {
    e: Entry,
    src: usize,
    desc: &'d [bool],
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head<'_> {}
impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_keys(&self.e.key, &other.e.key, self.desc)
            .then(self.e.seq.cmp(&other.e.seq))
            .reverse()
    }
}

/// Orders sort keys: unset last whatever the direction, values by
/// [`crate::expr::compare`] (reversed where `desc`).
pub fn cmp_keys(a: &[Value], b: &[Value], desc: &[bool]) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let o = match (x.is_unset(), y.is_unset()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => {
                let o = crate::expr::compare(x, y).unwrap_or(Ordering::Equal);
                if desc.get(i).copied().unwrap_or(false) {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// About how many bytes a record takes in memory.
fn approx_size(r: &Record) -> usize {
    let owned = |c: &Cow<str>| match c {
        Cow::Owned(s) => s.len(),
        Cow::Borrowed(_) => 0,
    };
    64 + owned(&r.path)
        + r.fields
            .iter()
            .map(|f| 16 + owned(&f.name) + value_size(&f.value))
            .sum::<usize>()
}

fn value_size(v: &Value) -> usize {
    32 + match v {
        Value::Str(s) | Value::Invalid(s) => s.len(),
        Value::List(items) => items.iter().map(value_size).sum(),
        _ => 0,
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

const SCALARS: [Scalar; 13] = [
    Scalar::Bool,
    Scalar::Count,
    Scalar::Int,
    Scalar::Double,
    Scalar::Time,
    Scalar::Interval,
    Scalar::String,
    Scalar::Enum,
    Scalar::Addr,
    Scalar::Subnet,
    Scalar::Port,
    Scalar::Pattern,
    Scalar::Other,
];
const CONTAINERS: [Container; 4] = [
    Container::Single,
    Container::Set,
    Container::Vector,
    Container::Table,
];

/// Appends a record's encoding (read back by [`decode_records`]).
pub(crate) fn encode_record(r: &Record, out: &mut Vec<u8>) {
    put_bytes(out, r.path.as_bytes());
    put_u32(out, r.fields.len());
    for f in &r.fields {
        put_bytes(out, f.name.as_bytes());
        out.push(
            CONTAINERS
                .iter()
                .position(|c| *c == f.ty.container)
                .unwrap_or(0) as u8,
        );
        out.push(SCALARS.iter().position(|s| *s == f.ty.scalar).unwrap_or(12) as u8);
        encode_value(&f.value, out);
    }
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Unset => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Count(c) => put_tagged(out, 2, &c.to_le_bytes()),
        Value::Int(i) => put_tagged(out, 3, &i.to_le_bytes()),
        Value::Double(d) => put_tagged(out, 4, &d.to_bits().to_le_bytes()),
        Value::Time(t) => put_tagged(out, 5, &t.to_le_bytes()),
        Value::Interval(d) => put_tagged(out, 6, &d.to_bits().to_le_bytes()),
        Value::Str(s) => {
            out.push(7);
            put_bytes(out, s);
        }
        Value::Invalid(s) => {
            out.push(8);
            put_bytes(out, s);
        }
        Value::Addr(a) => {
            out.push(9);
            put_addr(out, a);
        }
        Value::Subnet(a, n) => {
            out.push(10);
            put_addr(out, a);
            out.push(*n);
        }
        Value::Port(p) => put_tagged(out, 11, &p.to_le_bytes()),
        Value::List(items) => {
            out.push(12);
            put_u32(out, items.len());
            for i in items {
                encode_value(i, out);
            }
        }
    }
}

fn put_addr(out: &mut Vec<u8>, a: &IpAddr) {
    match a {
        IpAddr::V4(v) => put_tagged(out, 4, &v.octets()),
        IpAddr::V6(v) => put_tagged(out, 6, &v.octets()),
    }
}

/// Reads the encoding back; `None` if it is cut short or malformed.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()?;
        self.take(n).map(<[u8]>::to_vec)
    }
    fn addr(&mut self) -> Option<IpAddr> {
        match self.u8()? {
            4 => {
                let b: [u8; 4] = self.take(4)?.try_into().ok()?;
                Some(IpAddr::from(b))
            }
            6 => {
                let b: [u8; 16] = self.take(16)?.try_into().ok()?;
                Some(IpAddr::from(b))
            }
            _ => None,
        }
    }
    fn value(&mut self) -> Option<Value<'static>> {
        Some(match self.u8()? {
            0 => Value::Unset,
            1 => Value::Bool(self.u8()? != 0),
            2 => Value::Count(self.u64()?),
            3 => Value::Int(self.u64()? as i64),
            4 => Value::Double(f64::from_bits(self.u64()?)),
            5 => Value::Time(self.u64()? as i64),
            6 => Value::Interval(f64::from_bits(self.u64()?)),
            7 => Value::Str(Cow::Owned(self.bytes()?)),
            8 => Value::Invalid(Cow::Owned(self.bytes()?)),
            9 => Value::Addr(self.addr()?),
            10 => Value::Subnet(self.addr()?, self.u8()?),
            11 => Value::Port(u16::from_le_bytes(self.take(2)?.try_into().ok()?)),
            12 => {
                let n = self.u32()?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value()?);
                }
                Value::List(items)
            }
            _ => return None,
        })
    }
    fn record(&mut self) -> Option<Record<'static>> {
        let path = String::from_utf8(self.bytes()?).ok()?;
        let n = self.u32()?;
        let mut fields = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let name = String::from_utf8(self.bytes()?).ok()?;
            let container = *CONTAINERS.get(usize::from(self.u8()?))?;
            let scalar = *SCALARS.get(usize::from(self.u8()?))?;
            fields.push(Field {
                name: Cow::Owned(name),
                ty: ZeekType { container, scalar },
                value: self.value()?,
            });
        }
        Some(Record {
            path: Cow::Owned(path),
            fields,
        })
    }
}

/// The records of a buffer of [`encode_record`]s, in order (stops at a malformed one, which
/// cannot happen for a buffer this process wrote).
pub(crate) fn decode_records(bytes: &[u8]) -> impl Iterator<Item = Record<'static>> + '_ {
    let mut c = Cursor(bytes);
    std::iter::from_fn(move || if c.0.is_empty() { None } else { c.record() })
}

fn decode_entry(bytes: &[u8]) -> Option<Entry> {
    let mut c = Cursor(bytes);
    let seq = c.u64()?;
    let n = c.u32()?;
    let mut key = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        key.push(c.value()?);
    }
    let rec = c.record()?;
    Some(Entry { key, seq, rec })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: i64) -> Record<'static> {
        let mut r = Record::new("conn");
        r.push(
            "ts",
            ZeekType::single(Scalar::Time),
            if i % 7 == 0 {
                Value::Unset
            } else {
                Value::Time((i * 7919) % 1000 * 1_000_000_000)
            },
        );
        r.push(
            "id.orig_h",
            ZeekType::single(Scalar::Addr),
            Value::Addr(IpAddr::from([10, 0, 0, (i % 250) as u8])),
        );
        r.push(
            "net",
            ZeekType::single(Scalar::Subnet),
            Value::Subnet(IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 1]), 64),
        );
        r.push(
            "names",
            ZeekType {
                container: Container::Set,
                scalar: Scalar::String,
            },
            Value::List(vec![Value::Str(Cow::Owned(format!("n{i}").into_bytes()))]),
        );
        r.push(
            "dur",
            ZeekType::single(Scalar::Interval),
            Value::Interval(0.5),
        );
        r.push("n", ZeekType::single(Scalar::Count), Value::Count(i as u64));
        r
    }

    fn sorted(budget: usize, desc: bool) -> (Vec<Record<'static>>, usize) {
        let key: KeyFn = Box::new(|r| vec![r.get("ts").cloned().unwrap_or(Value::Unset)]);
        let mut s = Sorter::new(key, vec![desc], budget);
        for i in 0..3000 {
            s.push(rec(i));
        }
        let runs = s.runs();
        let mut out = Vec::new();
        assert_eq!(
            s.finish(&mut |r| {
                out.push(r);
                true
            }),
            None
        );
        (out, runs)
    }

    #[test]
    fn a_spilled_sort_equals_the_in_memory_sort() {
        for desc in [false, true] {
            let (mem, runs) = sorted(DEFAULT_BUDGET, desc);
            assert_eq!(runs, 0);
            let (disk, runs) = sorted(4 << 10, desc);
            assert!(runs > 50, "{runs} runs");
            assert_eq!(mem, disk);
            // Stable: equal times keep input order; unset last.
            assert!(mem
                .last()
                .is_some_and(|r| r.get("ts") == Some(&Value::Unset)));
        }
    }

    #[test]
    fn early_stop_and_corrupt_input() {
        let key: KeyFn = Box::new(|r| vec![r.get("n").cloned().unwrap_or(Value::Unset)]);
        let mut s = Sorter::new(key, vec![true], 1);
        for i in 0..10 {
            s.push(rec(i));
        }
        let mut got = Vec::new();
        s.finish(&mut |r| {
            got.push(r.get("n").cloned());
            got.len() < 3
        });
        assert_eq!(
            got,
            vec![
                Some(Value::Count(9)),
                Some(Value::Count(8)),
                Some(Value::Count(7))
            ]
        );
        assert!(decode_entry(&[1, 2, 3]).is_none());
    }
}
