//! JSON lines on standard output or appended to a file: one alert a line.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Destination, ReportMessage, SendError};
use crate::alert::Alert;

enum Out {
    Stdout,
    File(std::fs::File),
}

/// Alerts as JSON lines.
pub struct JsonLines {
    name: String,
    out: Mutex<Out>,
}

impl JsonLines {
    /// To standard output.
    pub fn stdout(name: &str) -> JsonLines {
        JsonLines {
            name: name.to_string(),
            out: Mutex::new(Out::Stdout),
        }
    }

    /// Appended to a file (created if missing).
    pub fn file(name: &str, path: &Path) -> Result<JsonLines, String> {
        if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(JsonLines {
            name: name.to_string(),
            out: Mutex::new(Out::File(f)),
        })
    }
}

#[async_trait]
impl Destination for JsonLines {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, a: &Alert) -> Result<(), SendError> {
        self.write_line(a.to_json_line())
    }

    async fn send_report(&self, r: &ReportMessage) -> Result<(), SendError> {
        self.write_line(r.json.to_string())
    }
}

impl JsonLines {
    fn write_line(&self, mut line: String) -> Result<(), SendError> {
        line.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let r = match &mut *out {
            Out::Stdout => {
                let mut s = std::io::stdout().lock();
                s.write_all(line.as_bytes()).and_then(|_| s.flush())
            }
            Out::File(f) => f.write_all(line.as_bytes()).and_then(|_| f.flush()),
        };
        r.map_err(|e| SendError::Retry(e.to_string(), None))
    }
}
