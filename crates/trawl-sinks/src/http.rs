//! The HTTP client and what the sinks share about answers.

use reqwest::{RequestBuilder, StatusCode};

use crate::config::{Auth, HttpOptions};
use crate::error::SinkError;

/// A client with the sink's time limit and extra CA certificates (rustls, no OpenSSL).
pub(crate) fn client(opts: &HttpOptions) -> Result<reqwest::Client, SinkError> {
    let mut b = reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout.min(std::time::Duration::from_secs(10)));
    if let Some(path) = &opts.ca_file {
        let pem = std::fs::read(path).map_err(|e| SinkError::io(path, e))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| SinkError::Config(format!("{}: {e}", path.display())))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map_err(|e| SinkError::Config(format!("HTTP client: {e}")))
}

/// Adds the credentials to a request.
pub(crate) fn with_auth(req: RequestBuilder, auth: &Auth) -> RequestBuilder {
    match auth {
        Auth::None => req,
        Auth::Basic { user, password } => req.basic_auth(user, Some(password.expose())),
        Auth::ApiKey(key) => req.header(
            reqwest::header::AUTHORIZATION,
            format!("ApiKey {}", key.expose()),
        ),
    }
}

/// A transport failure (refused connection, time-out): always worth retrying. The URL is
/// left out of the message since it may carry credentials.
pub(crate) fn transport(service: &str, e: reqwest::Error) -> SinkError {
    SinkError::Unavailable {
        service: service.into(),
        message: e.without_url().to_string(),
    }
}

/// Whether an HTTP status says "try again later".
pub(crate) fn retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT || s.is_server_error()
}

/// The start of a response body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    s.trim().replace('\n', " ")
}

/// The error for a non-success status.
pub(crate) fn status_error(service: &str, status: StatusCode, body: &[u8]) -> SinkError {
    let message = format!("HTTP {status}: {}", snippet(body));
    if retryable_status(status) {
        SinkError::Unavailable {
            service: service.into(),
            message,
        }
    } else {
        SinkError::Refused {
            service: service.into(),
            message,
        }
    }
}

/// Joins a base URL and a path without doubling or dropping the slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
