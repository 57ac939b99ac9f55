//! The syslog source: framing, formats, senders kept apart, bounded queues, and (when
//! scripts/services/dnsmasq.sh runs) real dnsmasq lines forwarded by rsyslog.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use trawl_stream::syslog::{SyslogConfig, SyslogSource};
use trawl_stream::{Event, Metrics, Source};
use trawl_zeek::Value;

const LOCAL: &str = "127.0.0.1:0";

fn config(udp: bool, tcp: bool) -> SyslogConfig {
    let addr: SocketAddr = LOCAL.parse().unwrap();
    SyslogConfig {
        udp: if udp { vec![addr] } else { vec![] },
        tcp: if tcp { vec![addr] } else { vec![] },
        linger: Duration::from_millis(50),
        idle_flush: Duration::from_millis(300),
        ..SyslogConfig::default()
    }
}

/// A source listening as `cfg` says (the test fails if it cannot).
async fn bind(cfg: SyslogConfig, metrics: &Metrics) -> SyslogSource {
    SyslogSource::bind(cfg, metrics).await.unwrap()
}

/// A field as text: strings as they are, addresses and numbers printed, lists joined by `,`.
fn text(e: &Event, name: &str) -> Option<String> {
    fn show(v: &Value) -> Option<String> {
        match v {
            Value::Unset => None,
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            Value::Addr(a) => Some(a.to_string()),
            Value::Count(c) => Some(c.to_string()),
            Value::Port(p) => Some(p.to_string()),
            Value::List(l) => Some(l.iter().filter_map(show).collect::<Vec<_>>().join(",")),
            other => Some(format!("{other:?}")),
        }
    }
    show(&e.get(name)?)
}

/// Events until `n` arrived or `wait` passed.
async fn collect(src: &mut SyslogSource, n: usize, wait: Duration) -> Vec<Event> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < n {
        let left = end.saturating_duration_since(Instant::now());
        match timeout(left, src.next_batch()).await {
            Ok(Ok(Some(b))) => out.extend(b.events),
            Ok(other) => panic!("next_batch: {other:?}"),
            Err(_) => break,
        }
    }
    out
}

fn find<'a>(events: &'a [Event], query: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| text(e, "query").as_deref() == Some(query))
        .collect()
}

fn counter(m: &Metrics, src: &SyslogSource, name: &str, extra: &[(&str, &str)]) -> u64 {
    let mut labels = vec![("source", src.name())];
    labels.extend_from_slice(extra);
    m.counter(name, "", &labels).get()
}

#[tokio::test]
async fn udp_rfc3164_and_rfc5424() {
    let metrics = Metrics::default();
    let mut src = bind(config(true, false), &metrics).await;
    assert!(src.tcp_addrs().is_empty());
    let to = src.udp_addrs()[0];
    let sock = UdpSocket::bind(LOCAL).unwrap();
    for dgram in [
        // RFC 3164 with a host name, query and reply in one datagram each.
        &b"<30>Nov 23 10:00:00 gw dnsmasq[7]: 1 10.0.0.5/40000 query[A] a.test from 10.0.0.5\n"[..],
        b"<30>Nov 23 10:00:00 gw dnsmasq[7]: 1 10.0.0.5/40000 config a.test is 10.1.1.1\r\n",
        // Two messages in one datagram, no host name, NUL-terminated.
        b"<30>Nov 23 10:00:01 dnsmasq[8]: query[AAAA] b.test from 10.0.0.6\n\
          <30>Nov 23 10:00:01 dnsmasq[8]: config b.test is NXDOMAIN\0",
        // RFC 5424, with structured data and a BOM.
        b"<30>1 2026-11-23T10:00:02.5Z gw2 dnsmasq 9 - [x@1 a=\"]\"] \xEF\xBB\xBF\
          query[A] c.test from 10.0.0.7",
        b"<30>1 2026-11-23T10:00:02.6Z gw2 dnsmasq 9 - -  reply c.test is 10.2.2.2",
    ] {
        sock.send_to(dgram, to).unwrap();
    }
    let events = collect(&mut src, 3, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let a = find(&events, "a.test")[0];
    assert_eq!(text(a, "answers").as_deref(), Some("10.1.1.1"));
    assert_eq!(text(a, "id.orig_h").as_deref(), Some("10.0.0.5"));
    assert_eq!(text(a, "id.orig_p").as_deref(), Some("40000"));
    assert_eq!(text(a, "dnsmasq.host").as_deref(), Some("gw"));
    let b = find(&events, "b.test")[0];
    assert_eq!(text(b, "rcode_name").as_deref(), Some("NXDOMAIN"));
    assert_eq!(text(b, "qtype_name").as_deref(), Some("AAAA"));
    let c = find(&events, "c.test")[0];
    assert_eq!(text(c, "answers").as_deref(), Some("10.2.2.2"));
    assert_eq!(text(c, "dnsmasq.host").as_deref(), Some("gw2"));
    assert_eq!(c.log_type(), "dns");
    assert_eq!(
        counter(
            &metrics,
            &src,
            "trawl_syslog_messages_total",
            &[("transport", "udp")]
        ),
        6
    );
    assert_eq!(counter(&metrics, &src, "trawl_source_errors_total", &[]), 0);
    // Nothing to acknowledge.
    src.commit(1).await.unwrap();
}

fn octet(msg: &str) -> Vec<u8> {
    format!("{} {msg}", msg.len()).into_bytes()
}

fn newline(msg: &str) -> Vec<u8> {
    format!("{msg}\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_framings_and_clients_stay_apart() {
    let metrics = Metrics::default();
    let mut src = bind(config(false, true), &metrics).await;
    let to = src.tcp_addrs()[0];
    // Three clients ask for the same name without serial numbers; their replies would join
    // the wrong queries if the clients' lines were mixed in one reader.
    let mut clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(to).unwrap()).collect();
    let line = |i: usize, what: &str| format!("<30>Nov 23 10:00:0{i} dnsmasq[{i}]: {what}");
    let frame = |i: usize, m: &str| match i {
        0 => octet(m),
        1 => newline(m),
        // The third client switches framing from one message to the next.
        _ if m.contains("query") => octet(m),
        _ => newline(m),
    };
    for (i, c) in clients.iter_mut().enumerate() {
        let m = line(i, &format!("query[A] same.test from 10.0.0.{i}"));
        c.write_all(&frame(i, &m)).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let m = line(i, &format!("config same.test is 10.9.9.{i}"));
        let bytes = frame(i, &m);
        // Split mid-frame: framing must not depend on how TCP cuts the stream.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        c.write_all(a).unwrap();
        c.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        c.write_all(b).unwrap();
    }
    drop(clients);
    let events = collect(&mut src, 3, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 3, "{events:?}");
    for e in &events {
        let client = text(e, "id.orig_h").unwrap();
        let i = client.rsplit('.').next().unwrap();
        assert_eq!(text(e, "answers"), Some(format!("10.9.9.{i}")), "{e:?}");
    }
    assert_eq!(
        counter(
            &metrics,
            &src,
            "trawl_syslog_messages_total",
            &[("transport", "tcp")]
        ),
        6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_counted_never_fatal() {
    let metrics = Metrics::default();
    let mut cfg = config(true, true);
    cfg.max_message = 1000;
    let mut src = bind(cfg, &metrics).await;
    let udp = UdpSocket::bind(LOCAL).unwrap();
    let to_udp = src.udp_addrs()[0];
    for g in [
        &b"<13>Nov 23 10:00:00 host sshd[1]: Accepted publickey"[..],
        b"\xff\xfe\x00\x01",
        b"<999999999>",
        b"\n\n\n",
        &[b'x'; 2000][..],
    ] {
        udp.send_to(g, to_udp).unwrap();
    }
    let mut tcp = TcpStream::connect(src.tcp_addrs()[0]).unwrap();
    tcp.write_all(b"not syslog at all\n\x00\x00\n<1>1 - - - - -\n")
        .unwrap();
    // An over-long octet-counted frame is skipped whole; the stream carries on after it.
    tcp.write_all(b"5000 ").unwrap();
    tcp.write_all(&[b'y'; 5000]).unwrap();
    tcp.write_all(&octet(
        "<30>Nov 23 10:00:00 dnsmasq[3]: query[A] ok.test from 10.0.0.1",
    ))
    .unwrap();
    tcp.write_all(&octet(
        "<30>Nov 23 10:00:00 dnsmasq[3]: config ok.test is 10.3.3.3",
    ))
    .unwrap();
    // A cut frame at the end of the stream is dropped.
    tcp.write_all(b"40 <30>cut").unwrap();
    drop(tcp);
    let events = collect(&mut src, 1, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(text(&events[0], "answers").as_deref(), Some("10.3.3.3"));
    // sshd, binary, bad PRI (UDP); not syslog, the empty 5424 message (TCP).
    assert_eq!(counter(&metrics, &src, "trawl_source_errors_total", &[]), 5);
    let too_long = || {
        counter(
            &metrics,
            &src,
            "trawl_syslog_dropped_total",
            &[("reason", "too_long")],
        )
    };
    assert_eq!(too_long(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_flood_is_dropped_and_counted() {
    let metrics = Metrics::default();
    let mut cfg = config(true, false);
    cfg.queue = 4;
    let mut src = bind(cfg, &metrics).await;
    let to = src.udp_addrs()[0];
    let sock = UdpSocket::bind(LOCAL).unwrap();
    // Nobody reads the source meanwhile: the queue fills and the rest is dropped.
    for i in 0..200 {
        let m = format!("<30>Nov 23 10:00:00 h{i} dnsmasq[1]: config x.test is NXDOMAIN");
        sock.send_to(m.as_bytes(), to).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dropped = counter(
        &metrics,
        &src,
        "trawl_syslog_dropped_total",
        &[("reason", "queue_full")],
    );
    assert!(dropped >= 100, "dropped {dropped}");
    // What was queued is still read.
    let _ = collect(&mut src, 1, Duration::from_millis(500)).await;
    let read = counter(
        &metrics,
        &src,
        "trawl_syslog_messages_total",
        &[("transport", "udp")],
    );
    assert!((1..=5).contains(&read), "read {read}");
    // The kernel may drop some too when the machine is busy.
    assert!(dropped + read <= 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_batch_is_cancel_safe() {
    let metrics = Metrics::default();
    let mut src = bind(config(true, false), &metrics).await;
    let to = src.udp_addrs()[0];
    let sock = UdpSocket::bind(LOCAL).unwrap();
    let mut got = Vec::new();
    for i in 0..20 {
        let q = format!(
            "<30>Nov 23 10:00:00 dnsmasq[1]: {i} 10.0.0.1/1 query[A] n{i}.test from 10.0.0.1"
        );
        let r = format!(
            "<30>Nov 23 10:00:00 dnsmasq[1]: {i} 10.0.0.1/1 config n{i}.test is 10.0.0.{i}"
        );
        sock.send_to(q.as_bytes(), to).unwrap();
        // Dropped mid-wait, often while messages are arriving.
        if let Ok(Ok(Some(b))) = timeout(Duration::from_millis(3), src.next_batch()).await {
            got.extend(b.events);
        }
        sock.send_to(r.as_bytes(), to).unwrap();
    }
    got.extend(collect(&mut src, 20 - got.len(), Duration::from_secs(5)).await);
    assert_eq!(got.len(), 20);
    for i in 0..20 {
        let e = find(&got, &format!("n{i}.test"));
        assert_eq!(e.len(), 1);
        assert_eq!(text(e[0], "answers"), Some(format!("10.0.0.{i}")));
    }
}

#[tokio::test]
async fn binding_twice_is_a_clear_error() {
    let metrics = Metrics::default();
    let a = bind(config(false, true), &metrics).await;
    let mut cfg = config(false, true);
    cfg.tcp = a.tcp_addrs().to_vec();
    let err = SyslogSource::bind(cfg, &metrics).await.unwrap_err();
    assert!(err.to_string().contains("cannot listen on TCP"), "{err}");
    let none = SyslogConfig {
        udp: vec![],
        tcp: vec![],
        ..SyslogConfig::default()
    };
    assert!(SyslogSource::bind(none, &metrics).await.is_err());
}

// ---- with real dnsmasq and rsyslog (scripts/services/dnsmasq.sh) ----

fn env_port(name: &str) -> Option<u16> {
    std::env::var(name).ok()?.parse().ok()
}

/// Asks dnsmasq with dig; the answer itself is not checked here, the log is.
fn dig(port: u16, args: &[&str]) {
    let out = std::process::Command::new("dig")
        .args(["+tries=1", "+time=2", "@127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("dig runs");
    assert!(out.status.success(), "dig {args:?}: {out:?}");
}

/// Reads one source in the background until dropped.
fn drain(mut src: SyslogSource) -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(b)) = src.next_batch().await {
            for e in b.events {
                if tx.send(e).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnsmasq_through_rsyslog() {
    let (Some(dns_port), Some(syslog_port)) = (
        env_port("TRAWL_DNSMASQ_PORT"),
        env_port("TRAWL_SYSLOG_PORT"),
    ) else {
        println!("skipped: TRAWL_DNSMASQ_PORT unset");
        return;
    };
    let metrics = Arc::new(Metrics::default());
    let addr: SocketAddr = ([127, 0, 0, 1], syslog_port).into();
    // One source per transport, so each one's records can be checked on their own.
    let mut sources = Vec::new();
    for (udp, tcp) in [(true, false), (false, true)] {
        let cfg = SyslogConfig {
            udp: if udp { vec![addr] } else { vec![] },
            tcp: if tcp { vec![addr] } else { vec![] },
            idle_flush: Duration::from_millis(500),
            ..SyslogConfig::default()
        };
        sources.push(drain(bind(cfg, &metrics).await));
    }
    // Names unique to this run: rsyslog may still deliver lines of an earlier one.
    let run = format!("r{}", std::process::id());
    let www = format!("www.{run}.example.test");
    let gone = format!("gone-{run}.test");
    let queries: Vec<Vec<String>> = vec![
        vec![www.clone()],
        vec![gone.clone()],
        vec!["nas.test".into(), "AAAA".into()],
        vec!["-x".into(), "10.0.0.20".into()],
    ];
    let ask = || {
        let qs = queries.clone();
        tokio::task::spawn_blocking(move || {
            for q in &qs {
                let q: Vec<&str> = q.iter().map(String::as_str).collect();
                dig(dns_port, &q);
            }
        })
    };
    ask().await.unwrap();

    for (transport, rx) in ["udp", "tcp"].iter().zip(sources.iter_mut()) {
        let mut events = Vec::new();
        let end = Instant::now() + Duration::from_secs(30);
        let done = |ev: &[Event]| {
            !find(ev, &www).is_empty() && !find(ev, &gone).is_empty() && {
                // The last two names may be answered by an earlier run: look for ours.
                ev.iter()
                    .filter(|e| text(e, "query").as_deref() == Some("20.0.0.10.in-addr.arpa"))
                    .count()
                    > 0
            }
        };
        while !done(&events) {
            match timeout(end.saturating_duration_since(Instant::now()), rx.recv()).await {
                Ok(Some(e)) => events.push(e),
                _ => panic!("{transport}: records missing after 30 s; got {events:?}"),
            }
        }
        let one = |q: &str| -> &Event {
            find(&events, q)
                .last()
                .copied()
                .unwrap_or_else(|| panic!("{transport}: no record for {q}: {events:?}"))
        };
        let w = one(&www);
        assert_eq!(text(w, "id.orig_h").as_deref(), Some("127.0.0.1"), "{w:?}");
        assert!(text(w, "id.orig_p").is_some(), "{w:?}");
        assert_eq!(text(w, "qtype_name").as_deref(), Some("A"));
        assert_eq!(text(w, "rcode_name").as_deref(), Some("NOERROR"));
        assert_eq!(text(w, "answers").as_deref(), Some("10.0.0.1"));
        assert!(text(w, "dnsmasq.serial").is_some(), "{w:?}");
        assert!(text(w, "dnsmasq.host").is_some(), "{w:?}");
        assert!(matches!(w.get("ts"), Some(Value::Time(_))), "{w:?}");
        let g = one(&gone);
        assert_eq!(text(g, "id.orig_h").as_deref(), Some("127.0.0.1"));
        assert_eq!(text(g, "rcode_name").as_deref(), Some("NXDOMAIN"), "{g:?}");
        assert_eq!(text(g, "answers"), None);
        let n = one("nas.test");
        assert_eq!(text(n, "qtype_name").as_deref(), Some("AAAA"));
        assert_eq!(text(n, "answers").as_deref(), Some("fd00::9"));
        let p = one("20.0.0.10.in-addr.arpa");
        assert_eq!(text(p, "answers").as_deref(), Some("printer.test"));
        println!(
            "{transport}: {} records, e.g. {:?}",
            events.len(),
            w.to_record()
        );
    }
}
