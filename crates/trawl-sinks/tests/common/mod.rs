//! What the sink tests share: events, a local HTTP server, polling.
#![allow(dead_code)]

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Duration;

use trawl_stream::Event;
use trawl_zeek::{Record, Value, ZeekType};

/// A dns event numbered `n` (its uid is `C<n>`), at 2026-11-20 plus `n` seconds.
pub fn dns(n: u64) -> Event {
    let mut r = Record::new("dns");
    let t = |s: &str| ZeekType::parse(s);
    r.push(
        "ts",
        t("time"),
        Value::Time((1_795_132_800 + n as i64) * 1_000_000_000 + 250_000),
    );
    r.push(
        "uid",
        t("string"),
        Value::Str(Cow::Owned(format!("C{n}").into_bytes())),
    );
    r.push(
        "id.orig_h",
        t("addr"),
        Value::Addr("10.0.0.1".parse().unwrap()),
    );
    r.push("id.orig_p", t("port"), Value::Port(5353));
    r.push(
        "id.resp_h",
        t("addr"),
        Value::Addr("2001:db8::1".parse().unwrap()),
    );
    r.push("trans_id", t("count"), Value::Count(n));
    r.push("rtt", t("interval"), Value::Unset);
    r.push(
        "query",
        t("string"),
        Value::Str(Cow::Owned(format!("host{n}.example.com").into_bytes())),
    );
    r.push("AA", t("bool"), Value::Bool(n & 1 == 0));
    r.push(
        "answers",
        t("vector[string]"),
        Value::List(vec![
            Value::Str(Cow::Borrowed(b"1.2.3.4")),
            Value::Str(Cow::Borrowed(b"a\"b")),
        ]),
    );
    r.push(
        "TTLs",
        t("vector[interval]"),
        Value::List(vec![Value::Interval(60.0)]),
    );
    Event::record(r)
}

/// Serves an axum router on `addr` (port 0 for any); returns where it listens.
pub async fn serve(router: axum::Router, addr: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let local = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    local
}

/// A port nothing listens on (yet).
pub fn dead_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Waits until `f` holds, up to 20 s.
pub async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met within 20 s");
}

/// Short retries so tests run quickly.
pub fn quick() -> trawl_sinks::HttpOptions {
    let mut o = trawl_sinks::HttpOptions::default();
    o.retry.initial_backoff = Duration::from_millis(20);
    o.retry.max_backoff = Duration::from_millis(100);
    o.retry.budget = Duration::from_secs(5);
    o.timeout = Duration::from_secs(5);
    o
}
