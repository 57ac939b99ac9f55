//! A syslog listener for dnsmasq's query and DHCP log: [`SyslogSource`].
//!
//! Listens on UDP and/or TCP (default `127.0.0.1:5141` for both), accepts RFC 3164
//! (`<PRI>Mmm dd hh:mm:ss [host ]dnsmasq[pid]: msg`) and RFC 5424 messages, and turns them into
//! DNS and DHCP records with [`DnsmasqReader`].
//!
//! Framing: on UDP one datagram is one message, or several separated by newlines. On TCP
//! (RFC 6587) each message is framed on its own: one starting with a digit is octet-counted
//! (`LEN SP MSG`), anything else (normally `<`) runs to the next newline. Trailing `\r` and
//! NUL bytes are dropped, as are blank separators between frames.
//!
//! Joins: dnsmasq writes a query and its reply on separate lines, so each sender gets its own
//! reader, keyed by the UDP socket and peer address or by the TCP connection, plus the
//! message's host name (a relay forwards many hosts over one connection). A reader that has
//! seen nothing for [`SyslogConfig::idle_flush`] emits what it still holds (a query with no
//! reply yet comes out without an rcode) and is dropped.
//!
//! Delivery: syslog has no acknowledgement, so [`Source::commit`] does nothing and records
//! queued or pending when the process stops are lost. Memory is bounded: received messages
//! wait in a queue of [`SyslogConfig::queue`] messages of at most
//! [`SyslogConfig::max_message`] bytes. When it is full, UDP datagrams are dropped and counted
//! (`trawl_syslog_dropped_total{reason="queue_full"}`); TCP connections stop being read, so
//! TCP's flow control pushes back on the sender (rsyslog then queues on its side).
//!
//! Messages that are not dnsmasq output are counted (`trawl_source_errors_total`) and logged
//! at debug level; they never stop the source.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use trawl_zeek::dnsmasq::{DnsmasqReader, LineKind};

use crate::metrics::{Counter, Metrics};
use crate::{Batch, Event, Source, StreamError};

/// The port rsyslog forwards to in trawl's documentation.
pub const DEFAULT_PORT: u16 = 5141;

/// A reader is replaced after this long, so the year of RFC 3164 time stamps (which have
/// none) is inferred from a recent reference time.
const READER_MAX_AGE: Duration = Duration::from_secs(3600);
/// How much a TCP connection reads at once.
const READ_CHUNK: usize = 16 * 1024;

/// Where and how a [`SyslogSource`] listens.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// UDP addresses to bind (default `127.0.0.1:5141`; `0.0.0.0:5141` for every interface).
    pub udp: Vec<SocketAddr>,
    /// TCP addresses to bind (default `127.0.0.1:5141`).
    pub tcp: Vec<SocketAddr>,
    /// A batch is returned once it holds this many events ...
    pub batch_size: usize,
    /// ... or this long after its first event.
    pub linger: Duration,
    /// Received messages waiting to be parsed, at most.
    pub queue: usize,
    /// Longer messages (UDP datagrams, TCP frames) are dropped and counted.
    pub max_message: usize,
    /// TCP connections at once; more are closed at once and counted.
    pub max_connections: usize,
    /// Senders tracked at once; the least recently heard is flushed to make room.
    pub max_senders: usize,
    /// A sender silent this long has its pending queries emitted (unanswered ones without
    /// an rcode). Longer waits join slow upstream replies; shorter ones deliver the last
    /// query of a quiet network sooner.
    pub idle_flush: Duration,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT);
        SyslogConfig {
            udp: vec![addr],
            tcp: vec![addr],
            batch_size: 1000,
            linger: Duration::from_millis(200),
            queue: 4096,
            max_message: 8192,
            max_connections: 256,
            max_senders: 1024,
            idle_flush: Duration::from_secs(3),
        }
    }
}

impl SyslogConfig {
    /// The defaults, listening on `addr` over both UDP and TCP.
    pub fn listen(addr: SocketAddr) -> Self {
        SyslogConfig {
            udp: vec![addr],
            tcp: vec![addr],
            ..SyslogConfig::default()
        }
    }
}

/// The transport a message came over (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Transport {
    Udp,
    Tcp,
}

/// What listener tasks hand to the source.
#[derive(Debug)]
enum Msg {
    /// One datagram or TCP frame.
    Data {
        /// The UDP socket's index, or the TCP connection's id.
        stream: u64,
        transport: Transport,
        peer: IpAddr,
        payload: Vec<u8>,
    },
    /// A TCP connection ended: its senders can be flushed now.
    Closed { stream: u64 },
}

/// Whom a reader joins lines for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SenderKey {
    stream: u64,
    peer: IpAddr,
    host: Option<Vec<u8>>,
}

struct Sender {
    reader: DnsmasqReader,
    lines: u64,
    created: Instant,
    last_seen: Instant,
}

/// Counters of one source.
#[derive(Clone)]
struct Counters {
    udp_messages: Counter,
    tcp_messages: Counter,
    not_dnsmasq: Counter,
    queue_full: Counter,
    too_long: Counter,
    refused: Counter,
}

impl Counters {
    fn new(metrics: &Metrics, name: &str) -> Self {
        const MSGS: &str = "Syslog messages received, by source and transport.";
        const DROPS: &str = "Syslog messages dropped unread, by source and reason.";
        let msgs = |t| {
            metrics.counter(
                "trawl_syslog_messages_total",
                MSGS,
                &[("source", name), ("transport", t)],
            )
        };
        let drops = |r| {
            metrics.counter(
                "trawl_syslog_dropped_total",
                DROPS,
                &[("source", name), ("reason", r)],
            )
        };
        Counters {
            udp_messages: msgs("udp"),
            tcp_messages: msgs("tcp"),
            not_dnsmasq: metrics.counter(
                "trawl_source_errors_total",
                "Input a source could not read (kept going), by source.",
                &[("source", name)],
            ),
            queue_full: drops("queue_full"),
            too_long: drops("too_long"),
            refused: metrics.counter(
                "trawl_syslog_refused_connections_total",
                "TCP connections closed because max_connections were open, by source.",
                &[("source", name)],
            ),
        }
    }
}

/// A syslog listener producing dnsmasq DNS and DHCP records; see the [module](self) docs.
pub struct SyslogSource {
    name: String,
    config: SyslogConfig,
    udp_addrs: Vec<SocketAddr>,
    tcp_addrs: Vec<SocketAddr>,
    rx: mpsc::Receiver<Msg>,
    tasks: Vec<JoinHandle<()>>,
    senders: HashMap<SenderKey, Sender>,
    counters: Counters,
    /// Events parsed but not yet returned, and when the first of them arrived.
    ready: Vec<Event>,
    ready_since: Option<Instant>,
    token: u64,
}

impl fmt::Debug for SyslogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyslogSource")
            .field("name", &self.name)
            .field("udp", &self.udp_addrs)
            .field("tcp", &self.tcp_addrs)
            .field("senders", &self.senders.len())
            .finish_non_exhaustive()
    }
}

impl SyslogSource {
    /// Binds every configured address and starts listening (within a Tokio runtime).
    /// Metrics are labelled `source="syslog:ADDR,..."` with the configured addresses.
    pub async fn bind(config: SyslogConfig, metrics: &Metrics) -> Result<Self, StreamError> {
        if config.udp.is_empty() && config.tcp.is_empty() {
            return Err(StreamError::Fatal(
                "syslog: no UDP or TCP address to listen on".into(),
            ));
        }
        if config.batch_size == 0 || config.queue == 0 || config.max_message == 0 {
            return Err(StreamError::Fatal(
                "syslog: batch_size, queue and max_message must be positive".into(),
            ));
        }
        let mut labels: Vec<String> = Vec::new();
        for a in config.udp.iter().chain(&config.tcp) {
            let s = a.to_string();
            if !labels.contains(&s) {
                labels.push(s);
            }
        }
        let name = format!("syslog:{}", labels.join(","));
        let counters = Counters::new(metrics, &name);
        let (tx, rx) = mpsc::channel(config.queue);
        let mut tasks = Vec::new();
        let mut udp_addrs = Vec::new();
        for (i, addr) in config.udp.iter().enumerate() {
            let sock = UdpSocket::bind(addr)
                .await
                .map_err(|e| bind_error("UDP", addr, e))?;
            udp_addrs.push(sock.local_addr()?);
            tasks.push(tokio::spawn(udp_loop(
                sock,
                i as u64,
                config.max_message,
                tx.clone(),
                counters.clone(),
            )));
        }
        let mut tcp_addrs = Vec::new();
        // TCP connection ids follow the UDP sockets' indices.
        let conn_ids = Arc::new(AtomicU64::new(config.udp.len() as u64));
        for addr in &config.tcp {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| bind_error("TCP", addr, e))?;
            tcp_addrs.push(listener.local_addr()?);
            tasks.push(tokio::spawn(tcp_accept_loop(
                listener,
                conn_ids.clone(),
                config.clone(),
                tx.clone(),
                counters.clone(),
            )));
        }
        tracing::info!(source = %name, udp = ?udp_addrs, tcp = ?tcp_addrs, "syslog listening");
        Ok(SyslogSource {
            name,
            config,
            udp_addrs,
            tcp_addrs,
            rx,
            tasks,
            senders: HashMap::new(),
            counters,
            ready: Vec::new(),
            ready_since: None,
            token: 0,
        })
    }

    /// The UDP addresses actually bound (port 0 in the configuration becomes a real port).
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp_addrs
    }

    /// The TCP addresses actually bound.
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp_addrs
    }

    /// Parses one received item into `self.ready`.
    fn handle(&mut self, msg: Msg, now: Instant) {
        match msg {
            Msg::Data {
                stream,
                transport,
                peer,
                payload,
            } => {
                for line in payload.split(|&b| b == b'\n') {
                    let line = trim_message(line);
                    if line.is_empty() {
                        continue;
                    }
                    match transport {
                        Transport::Udp => self.counters.udp_messages.add(1),
                        Transport::Tcp => self.counters.tcp_messages.add(1),
                    }
                    self.line(stream, peer, line, now);
                }
            }
            Msg::Closed { stream } => {
                let keys: Vec<SenderKey> = self
                    .senders
                    .keys()
                    .filter(|k| k.stream == stream)
                    .cloned()
                    .collect();
                for k in keys {
                    self.flush_sender(&k);
                }
            }
        }
    }

    fn line(&mut self, stream: u64, peer: IpAddr, line: &[u8], now: Instant) {
        let key = SenderKey {
            stream,
            peer,
            host: host_of(line).map(<[u8]>::to_vec),
        };
        if let Some(s) = self.senders.get(&key) {
            if now.duration_since(s.created) >= READER_MAX_AGE {
                self.flush_sender(&key);
            }
        }
        if !self.senders.contains_key(&key) && self.senders.len() >= self.config.max_senders {
            let oldest = self
                .senders
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.flush_sender(&k);
            }
        }
        let sender = self.senders.entry(key).or_insert_with(|| Sender {
            reader: DnsmasqReader::new(unix_now()),
            lines: 0,
            created: now,
            last_seen: now,
        });
        sender.lines += 1;
        sender.last_seen = now;
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        let kind = sender
            .reader
            .push(sender.lines, line, &mut out, &mut problems);
        if kind == LineKind::NotDnsmasq {
            self.counters.not_dnsmasq.add(1);
            tracing::debug!(
                source = %self.name,
                %peer,
                message = %String::from_utf8_lossy(&line[..line.len().min(200)]),
                "syslog message is not dnsmasq output"
            );
        }
        self.push_ready(out, now);
    }

    fn push_ready(&mut self, records: Vec<trawl_zeek::Record<'static>>, now: Instant) {
        if records.is_empty() {
            return;
        }
        self.ready_since.get_or_insert(now);
        self.ready.extend(records.into_iter().map(Event::record));
    }

    /// Emits what a sender's reader still holds and forgets the sender.
    fn flush_sender(&mut self, key: &SenderKey) {
        if let Some(mut s) = self.senders.remove(key) {
            let mut out = Vec::new();
            s.reader.finish(&mut out);
            self.push_ready(out, Instant::now());
        }
    }

    /// Flushes senders silent for `idle_flush`; returns when the next one falls due.
    fn flush_idle(&mut self, now: Instant) -> Option<Instant> {
        let idle = self.config.idle_flush;
        let due: Vec<SenderKey> = self
            .senders
            .iter()
            .filter(|(_, s)| now.duration_since(s.last_seen) >= idle)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &due {
            self.flush_sender(k);
        }
        self.senders.values().map(|s| s.last_seen + idle).min()
    }

    fn take_batch(&mut self) -> Batch {
        let rest = if self.ready.len() > self.config.batch_size {
            self.ready.split_off(self.config.batch_size)
        } else {
            Vec::new()
        };
        let events = std::mem::replace(&mut self.ready, rest);
        // Leftovers are already late: keep the old start so they go out next time.
        if self.ready.is_empty() {
            self.ready_since = None;
        }
        self.token += 1;
        Batch {
            events,
            token: self.token,
        }
    }
}

impl Drop for SyslogSource {
    fn drop(&mut self) {
        // Aborting an accept loop drops its JoinSet, which aborts its connections.
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[async_trait]
impl Source for SyslogSource {
    fn name(&self) -> &str {
        &self.name
    }

    /// Waits for at least one event, then returns up to `batch_size` events once the batch
    /// is full or `linger` has passed. Never ends. Cancel-safe: everything received is kept
    /// in `self` between awaits.
    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        loop {
            let now = Instant::now();
            let next_idle = self.flush_idle(now);
            let linger_end = self.ready_since.map(|t| t + self.config.linger);
            if self.ready.len() >= self.config.batch_size || linger_end.is_some_and(|t| t <= now) {
                return Ok(Some(self.take_batch()));
            }
            let wake = match (next_idle, linger_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                msg = self.rx.recv() => {
                    let Some(msg) = msg else {
                        return Err(StreamError::Fatal(format!("{}: listeners stopped", self.name)));
                    };
                    let now = Instant::now();
                    self.handle(msg, now);
                    // Take what else is queued without waking up for each message.
                    for _ in 0..self.config.batch_size {
                        match self.rx.try_recv() {
                            Ok(m) => self.handle(m, now),
                            Err(_) => break,
                        }
                    }
                }
                _ = sleep_until_opt(wake) => {}
            }
        }
    }

    /// Does nothing: syslog senders get no acknowledgement, so nothing can be replayed.
    async fn commit(&mut self, _token: u64) -> Result<(), StreamError> {
        Ok(())
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn bind_error(proto: &str, addr: &SocketAddr, e: std::io::Error) -> StreamError {
    StreamError::Fatal(format!("syslog: cannot listen on {proto} {addr}: {e}"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Drops a trailing `\r` and NUL bytes (some senders terminate messages with them).
fn trim_message(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\0'] = s {
        s = rest;
    }
    s
}

// ---- listeners ----

async fn udp_loop(
    sock: UdpSocket,
    stream: u64,
    max: usize,
    tx: mpsc::Sender<Msg>,
    counters: Counters,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = match sock.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors and the like concern one datagram, never the socket.
                tracing::debug!(error = %e, "syslog UDP receive failed");
                continue;
            }
        };
        if n > max {
            counters.too_long.add(1);
            continue;
        }
        let msg = Msg::Data {
            stream,
            transport: Transport::Udp,
            peer: peer.ip(),
            payload: buf[..n].to_vec(),
        };
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => counters.queue_full.add(1),
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

async fn tcp_accept_loop(
    listener: TcpListener,
    conn_ids: Arc<AtomicU64>,
    config: SyslogConfig,
    tx: mpsc::Sender<Msg>,
    counters: Counters,
) {
    // Dropped with this task, aborting every connection.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    if conns.len() >= config.max_connections {
                        counters.refused.add(1);
                        tracing::warn!(%peer, "syslog: too many TCP connections, closing one");
                        continue;
                    }
                    let id = conn_ids.fetch_add(1, Ordering::Relaxed);
                    conns.spawn(tcp_conn(sock, peer, id, config.max_message, tx.clone(), counters.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "syslog: TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn tcp_conn(
    mut sock: TcpStream,
    peer: SocketAddr,
    stream: u64,
    max: usize,
    tx: mpsc::Sender<Msg>,
    counters: Counters,
) {
    let mut framer = Framer::new(max);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut frames = Vec::new();
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) => 0,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "syslog TCP connection failed");
                0
            }
        };
        if n == 0 {
            framer.finish(&mut frames);
        } else {
            framer.push(&buf[..n], &mut frames);
        }
        counters.too_long.add(framer.take_dropped());
        for payload in frames.drain(..) {
            let msg = Msg::Data {
                stream,
                transport: Transport::Tcp,
                peer: peer.ip(),
                payload,
            };
            // Waiting here stops reading the socket: TCP pushes back on the sender.
            if tx.send(msg).await.is_err() {
                return;
            }
        }
        if n == 0 {
            let _ = tx.send(Msg::Closed { stream }).await;
            return;
        }
    }
}

// ---- TCP framing (RFC 6587) ----

/// Splits a TCP byte stream into syslog messages, detecting per message whether it is
/// octet-counted (`LEN SP MSG`) or ends at a newline. Holds at most about `max` bytes.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    max: usize,
    skip: Skip,
    dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    No,
    /// The rest of an over-long octet-counted message.
    Bytes(usize),
    /// The rest of an over-long newline-delimited message.
    ToNewline,
}

/// At most this many length digits (lengths up to 9,999,999,999 bytes).
const MAX_LEN_DIGITS: usize = 10;

impl Framer {
    /// A framer dropping messages longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Framer {
            buf: Vec::new(),
            max,
            skip: Skip::No,
            dropped: 0,
        }
    }

    /// Feeds bytes; complete messages (without framing) are appended to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Vec<u8>>) {
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        while let Some(next) = self.frame(pos, out) {
            pos = next;
        }
        self.buf.drain(..pos.min(self.buf.len()));
    }

    /// The stream ended: a last newline-delimited message without its newline is kept; a
    /// cut octet-counted one is dropped (and counted).
    pub fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        let rest = std::mem::take(&mut self.buf);
        let rest = trim_separators(&rest);
        if self.skip != Skip::No {
            self.skip = Skip::No;
        } else if !rest.is_empty() {
            match octet_header(rest) {
                Header::Counted { .. } | Header::NeedMore => self.dropped += 1,
                Header::NotCounted => out.push(trim_message(rest).to_vec()),
            }
        }
    }

    /// Messages dropped (too long, or cut by the end of the stream) since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Takes one frame (or skips bytes) from `buf[pos..]`; the new position, or `None` when
    /// more bytes are needed.
    fn frame(&mut self, pos: usize, out: &mut Vec<Vec<u8>>) -> Option<usize> {
        let data = self.buf.get(pos..)?;
        match self.skip {
            Skip::Bytes(n) => {
                let k = n.min(data.len());
                self.skip = if k == n { Skip::No } else { Skip::Bytes(n - k) };
                return (k > 0).then_some(pos + k);
            }
            Skip::ToNewline => {
                return match memchr(b'\n', data) {
                    Some(i) => {
                        self.skip = Skip::No;
                        Some(pos + i + 1)
                    }
                    None => {
                        // Nothing worth keeping: consume it all.
                        (!data.is_empty()).then_some(pos + data.len())
                    }
                };
            }
            Skip::No => {}
        }
        let lead = data.len() - trim_separators(data).len();
        let data = &data[lead..];
        if data.is_empty() {
            return (lead > 0).then_some(pos + lead);
        }
        let start = pos + lead;
        match octet_header(data) {
            Header::NeedMore => (lead > 0).then_some(start),
            Header::Counted { header, len } => {
                if len > self.max {
                    self.dropped += 1;
                    self.skip = Skip::Bytes(len);
                    return Some(start + header);
                }
                let msg = data.get(header..header + len)?;
                out.push(trim_newline(msg).to_vec());
                Some(start + header + len)
            }
            Header::NotCounted => match memchr(b'\n', data) {
                Some(i) => {
                    if i > self.max {
                        self.dropped += 1;
                    } else {
                        out.push(trim_message(&data[..i]).to_vec());
                    }
                    Some(start + i + 1)
                }
                None if data.len() > self.max => {
                    self.dropped += 1;
                    self.skip = Skip::ToNewline;
                    Some(start + data.len())
                }
                None => (lead > 0).then_some(start),
            },
        }
    }
}

enum Header {
    /// `LEN SP`: the header's length and the message's.
    Counted { header: usize, len: usize },
    /// Not octet-counted: the message runs to a newline.
    NotCounted,
    /// Only digits so far.
    NeedMore,
}

fn octet_header(data: &[u8]) -> Header {
    let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_LEN_DIGITS || data.first() == Some(&b'0') {
        return Header::NotCounted;
    }
    match data.get(digits) {
        None => Header::NeedMore,
        Some(b' ') => {
            let len = std::str::from_utf8(&data[..digits])
                .ok()
                .and_then(|s| s.parse::<usize>().ok());
            match len {
                Some(len) => Header::Counted {
                    header: digits + 1,
                    len,
                },
                None => Header::NotCounted,
            }
        }
        // `2026-11-23T...` (a message without PRI) and such.
        Some(_) => Header::NotCounted,
    }
}

/// Blank bytes between frames (a newline after an octet-counted frame, keep-alives).
fn trim_separators(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r' | b'\0' | b' ' | b'\t'))
        .count();
    &s[n..]
}

fn trim_newline(s: &[u8]) -> &[u8] {
    let s = s.strip_suffix(b"\n").unwrap_or(s);
    trim_message(s)
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

// ---- sender identity ----

/// The host name of a syslog message, if it has one, without parsing the rest: RFC 5424's
/// HOSTNAME, or the word between an RFC 3164 (or RFC 3339) time stamp and the tag.
fn host_of(line: &[u8]) -> Option<&[u8]> {
    let mut s = line;
    if let Some(r) = s.strip_prefix(b"<") {
        let end = r.iter().take(4).position(|&b| b == b'>')?;
        s = &r[end + 1..];
        if let Some(r) = s.strip_prefix(b"1 ") {
            let (_ts, r) = word(r);
            let (host, _) = word(r);
            return (host != b"-" && !host.is_empty()).then_some(host);
        }
    }
    let rest = if s.len() >= 15 && s[..3].iter().all(u8::is_ascii_alphabetic) && s[3] == b' ' {
        // `Mmm dd hh:mm:ss` with the day padded by a space or not.
        let r = &s[4..];
        let r = r.strip_prefix(b" ").unwrap_or(r);
        let (_day, r) = word(r);
        word(r).1
    } else if s.get(..4).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) {
        word(s).1
    } else {
        return None;
    };
    let (host, after) = word(rest);
    // `dnsmasq[1]:` right after the time stamp is the tag: no host name.
    let is_tag = host.ends_with(b":") || (host.contains(&b'[') && host.ends_with(b"]:"));
    (!host.is_empty() && !is_tag && !after.is_empty()).then_some(host)
}

/// The first space-separated word and what follows its space.
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    match memchr(b' ', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> (Vec<String>, u64) {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            f.push(c, &mut out);
        }
        f.finish(&mut out);
        let v = out
            .into_iter()
            .map(|m| String::from_utf8(m).unwrap())
            .collect();
        (v, f.take_dropped())
    }

    #[test]
    fn framing_is_detected_per_message() {
        let (v, d) = frames(
            100,
            &[b"5 <1>ab<2>newline\r\n9 <3>x\ny z\n\n3 <4>", b"<5>last"],
        );
        assert_eq!(v, ["<1>ab", "<2>newline", "<3>x\ny z", "<4>", "<5>last"]);
        assert_eq!(d, 0);
    }

    #[test]
    fn framing_survives_any_split() {
        let stream =
            b"12 <13>1 - h a\n<14>Jun  1 00:00:00 h dnsmasq: q\n2026-01-01T00:00:00Z h x\n";
        let whole = frames(100, &[stream]);
        assert_eq!(whole.0.len(), 3);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(frames(100, &[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(100, &bytes), whole);
    }

    #[test]
    fn long_messages_are_dropped_and_counted() {
        let long = vec![b'a'; 50];
        let mut counted = b"50 ".to_vec();
        counted.extend_from_slice(&long);
        counted.extend_from_slice(b"<1>ok\n");
        let mut nl = b"<2>".to_vec();
        nl.extend_from_slice(&long);
        nl.extend_from_slice(b"\n<3>fine\n99 <4>cut");
        let (v, d) = frames(10, &[&counted[..20], &counted[20..], &nl[..30], &nl[30..]]);
        assert_eq!(v, ["<1>ok", "<3>fine"]);
        assert_eq!(d, 3);
    }

    #[test]
    fn host_names() {
        let h = |l: &[u8]| host_of(l).map(|h| String::from_utf8(h.to_vec()).unwrap());
        assert_eq!(
            h(b"<30>Jun 19 21:30:43 gw dnsmasq[1]: x").as_deref(),
            Some("gw")
        );
        assert_eq!(
            h(b"<30>Jun  9 21:30:43 gw dnsmasq: x").as_deref(),
            Some("gw")
        );
        assert_eq!(h(b"<30>Jun 19 21:30:43 dnsmasq[1]: x"), None);
        assert_eq!(
            h(b"<30>1 2026-01-01T00:00:00Z r1 dnsmasq 1 - - x").as_deref(),
            Some("r1")
        );
        assert_eq!(h(b"<30>1 - - dnsmasq 1 - - x"), None);
        assert_eq!(
            h(b"2026-01-01T00:00:00Z gw dnsmasq[2]: x").as_deref(),
            Some("gw")
        );
        assert_eq!(h(b"dnsmasq: x"), None);
        assert_eq!(h(b"<"), None);
        assert_eq!(h(b""), None);
    }
}
