//! Secrets as a configuration file names them (passwords, tokens, webhook URLs): written inline
//! (discouraged), or read from the environment or a file. A secret's value is never printed,
//! logged or spooled: headers are added when a request is sent. Shared by the sinks and the
//! alert destinations.

use std::path::PathBuf;

use serde::Deserialize;

/// Where a secret comes from.
#[derive(Deserialize, Clone, PartialEq, Eq)]
#[serde(untagged)]
pub enum SecretSource {
    /// `{ env = "SLACK_WEBHOOK" }`
    Env { env: String },
    /// `{ file = "/etc/trawl/token" }` (trailing newline removed)
    File { file: PathBuf },
    /// A plain string in the configuration.
    Inline(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env { env } => write!(f, "Secret(env {env})"),
            SecretSource::File { file } => write!(f, "Secret(file {})", file.display()),
            SecretSource::Inline(_) => f.write_str("Secret(inline ***)"),
        }
    }
}

impl SecretSource {
    /// The secret's value.
    pub fn value(&self) -> Result<String, String> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::Env { env } => {
                std::env::var(env).map_err(|_| format!("environment variable {env} is not set"))
            }
            SecretSource::File { file } => std::fs::read_to_string(file)
                .map(|s| s.trim_end().to_string())
                .map_err(|e| format!("{}: {e}", file.display())),
        }
    }

    /// The secret's value, read now, as a sink holds it.
    pub fn resolve(&self) -> Result<crate::Secret, String> {
        self.value().map(crate::Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed() {
        let s = SecretSource::Inline("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.value().unwrap(), "hunter2");
        let missing = SecretSource::Env {
            env: "TRAWL_TEST_NO_SUCH_VARIABLE".into(),
        };
        assert!(missing.value().unwrap_err().contains("not set"));
    }
}
