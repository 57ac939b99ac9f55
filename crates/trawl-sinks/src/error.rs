//! The sinks' errors, and how the pipeline sees them.

use trawl_stream::StreamError;

/// Why a sink could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The destination is down, overloaded or failed the request: worth retrying.
    #[error("{service}: {message}")]
    Unavailable { service: String, message: String },
    /// The destination refused the request for good (authentication, wrong URL): retrying
    /// will not help.
    #[error("{service}: {message}")]
    Refused { service: String, message: String },
    /// The sink's configuration cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The spool or the dead-letter file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The spool holds its maximum: the batch is neither delivered nor safe.
    #[error("spool {dir} is full ({bytes} bytes)")]
    SpoolFull { dir: String, bytes: u64 },
}

impl SinkError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SinkError::Unavailable { .. } | SinkError::Io { .. } | SinkError::SpoolFull { .. }
        )
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        SinkError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<SinkError> for StreamError {
    fn from(e: SinkError) -> Self {
        if e.is_retryable() {
            let service = match &e {
                SinkError::Unavailable { service, .. } => service.clone(),
                _ => "sink".into(),
            };
            StreamError::Service {
                service,
                message: match e {
                    SinkError::Unavailable { message, .. } => message,
                    other => other.to_string(),
                },
            }
        } else {
            StreamError::Fatal(e.to_string())
        }
    }
}
