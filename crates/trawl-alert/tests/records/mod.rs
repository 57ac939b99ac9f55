//! Records as enrichment leaves them, for the alert tests.
#![allow(dead_code)]

use std::borrow::Cow;

use trawl_zeek::{Record, Scalar, Value, ZeekType};

/// A string value.
pub fn s(v: &str) -> Value<'static> {
    Value::Str(Cow::Owned(v.as_bytes().to_vec()))
}

/// A `path` record with `ts` (seconds), `uid` and `id.orig_h`; push the rest.
pub fn record(path: &'static str, ts: f64, uid: &str, host: &str) -> Record<'static> {
    let mut r = Record::new(path);
    r.push(
        "ts",
        ZeekType::single(Scalar::Time),
        Value::Time((ts * 1e9) as i64),
    );
    r.push("uid", ZeekType::single(Scalar::String), s(uid));
    r.push(
        "id.orig_h",
        ZeekType::single(Scalar::Addr),
        Value::Addr(host.parse().unwrap()),
    );
    r
}
