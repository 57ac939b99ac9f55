//! An HTTP receiver for tests: records every request (method, path, headers, JSON body and
//! arrival time), and can go down (connections refused) and come back on the same port.
//! Shared with crates/trawl/tests/alert.rs through `#[path]`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: serde_json::Value,
    pub at: SystemTime,
}

type Log = Arc<Mutex<Vec<Request>>>;

/// The receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    log: Log,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Receiver {
    /// Listens on 127.0.0.1 (port 0: any free port).
    pub async fn start(port: u16) -> Receiver {
        let log: Log = Arc::default();
        let mut r = Receiver {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            server: None,
        };
        r.up().await;
        r
    }

    /// Starts serving again (same port).
    pub async fn up(&mut self) {
        let listener = {
            let mut tries = 0;
            loop {
                match tokio::net::TcpListener::bind(self.addr).await {
                    Ok(l) => break l,
                    Err(e) if tries < 50 => {
                        tries += 1;
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("receiver cannot bind {}: {e}", self.addr),
                }
            }
        };
        self.addr = listener.local_addr().unwrap();
        let log = self.log.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let log = log.clone();
                async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| {
                            (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                        })
                        .collect();
                    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    log.lock().unwrap().push(Request {
                        method: method.to_string(),
                        path: uri.path().to_string(),
                        headers,
                        body,
                        at: SystemTime::now(),
                    });
                    (StatusCode::OK, "ok")
                }
            },
        );
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        self.server = Some((tx, handle));
    }

    /// Stops serving: new connections are refused until [`Receiver::up`].
    pub async fn down(&mut self) {
        if let Some((tx, handle)) = self.server.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
    }

    /// The URL of a path on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Requests to a path so far.
    pub fn to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits until `n` requests reached `path` (or the timeout passed); returns them.
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Request> {
        let end = Instant::now() + timeout;
        loop {
            let got = self.to(path);
            if got.len() >= n || Instant::now() >= end {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
