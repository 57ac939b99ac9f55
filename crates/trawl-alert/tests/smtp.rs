//! An SMTP sink for tests: aiosmtpd (from `TRAWL_PYTHON`'s venv) writing each message to a
//! maildir. Shared with crates/trawl/tests/report.rs through `#[path]`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running aiosmtpd on 127.0.0.1; killed when dropped.
pub struct Smtpd {
    pub port: u16,
    pub maildir: PathBuf,
    _child: tokio::process::Child,
}

impl Smtpd {
    /// Starts aiosmtpd with `python`, delivering into `maildir`, and waits until it listens.
    pub async fn start(python: &str, maildir: &Path) -> Smtpd {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = tokio::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .kill_on_drop(true)
            .spawn()
            .expect("aiosmtpd");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Smtpd {
            port,
            maildir: maildir.to_path_buf(),
            _child: child,
        }
    }

    /// The messages received so far, as text.
    pub fn messages(&self) -> Vec<String> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.maildir.join(sub)) {
                for f in rd.flatten() {
                    found.push(std::fs::read_to_string(f.path()).unwrap());
                }
            }
        }
        found
    }
}
