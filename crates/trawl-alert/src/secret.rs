//! Secrets (webhook tokens, SMTP passwords): written inline (discouraged), or read from the
//! environment or a file. A secret's value is never printed, logged or spooled: spooled alerts
//! hold the alert, and headers are added when a request is sent.

use std::path::PathBuf;

use serde::Deserialize;

/// Where a secret comes from.
#[derive(Deserialize, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum Secret {
    /// `{ env = "SLACK_WEBHOOK" }`
    Env { env: String },
    /// `{ file = "/etc/trawl/token" }` (trailing newline removed)
    File { file: PathBuf },
    /// A plain string in the configuration.
    Inline(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Env { env } => write!(f, "Secret(env {env})"),
            Secret::File { file } => write!(f, "Secret(file {})", file.display()),
            Secret::Inline(_) => f.write_str("Secret(inline ***)"),
        }
    }
}

impl Secret {
    /// The secret's value.
    pub fn value(&self) -> Result<String, String> {
        match self {
            Secret::Inline(s) => Ok(s.clone()),
            Secret::Env { env } => {
                std::env::var(env).map_err(|_| format!("environment variable {env} is not set"))
            }
            Secret::File { file } => std::fs::read_to_string(file)
                .map(|s| s.trim_end().to_string())
                .map_err(|e| format!("{}: {e}", file.display())),
        }
    }
}
