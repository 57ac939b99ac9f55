//! Email over SMTP (lettre): STARTTLS (default), implicit TLS, or plain for a local relay;
//! optional authentication. One message per alert, plain text, readable in any client.

use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Destination, SendError};
use crate::alert::{json_text, Alert};
use crate::config::TlsMode;
use crate::template::{Escape, Template};

/// An SMTP destination.
pub struct Email {
    name: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: Template,
}

impl Email {
    /// An SMTP destination; errors name the key at fault.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        host: &str,
        port: Option<u16>,
        tls: TlsMode,
        user: Option<String>,
        password: Option<String>,
        from: &str,
        to: &[String],
        subject: Option<&str>,
    ) -> Result<Email, (&'static str, String)> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| ("from", format!("{from:?}: {e}")))?;
        let to = to
            .iter()
            .map(|t| t.parse().map_err(|e| ("to", format!("{t:?}: {e}"))))
            .collect::<Result<Vec<Mailbox>, _>>()?;
        if to.is_empty() {
            return Err(("to", "no recipient".into()));
        }
        let subject = Template::parse(subject.unwrap_or("[trawl {severity}] {title}"))
            .map_err(|e| ("subject", e))?;
        let mut b = match tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(port.unwrap_or(25)),
            TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| ("host", e.to_string()))?
                .port(port.unwrap_or(587)),
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| ("host", e.to_string()))?
                .port(port.unwrap_or(465)),
        };
        match (user, password) {
            (Some(u), Some(p)) => b = b.credentials(Credentials::new(u, p)),
            (Some(_), None) => return Err(("password", "a user needs a password".into())),
            _ => {}
        }
        b = b.timeout(Some(std::time::Duration::from_secs(15)));
        Ok(Email {
            name: name.to_string(),
            transport: b.build(),
            from,
            to,
            subject,
        })
    }
}

/// The plain-text body of an alert's email.
pub fn email_body(a: &Alert) -> String {
    let mut s = format!("{}\n\n", a.title);
    let mut line = |k: &str, v: &str| s.push_str(&format!("{k:<14}{v}\n"));
    line("severity", a.severity.name());
    line("rule", &a.rule);
    line("time", &a.time);
    if let Some(w) = &a.workstation {
        line("workstation", w);
    }
    if let Some(h) = &a.host {
        line("host", h);
    }
    if let Some(u) = &a.uid {
        line("uid", u);
    }
    for (k, v) in &a.fields {
        line(k, &json_text(v));
    }
    if let Some(sm) = &a.summary {
        line("alerts", &a.count.to_string());
        line("from", &sm.from);
        line("to", &sm.to);
        line("keys", &sm.keys.join(", "));
    }
    if let Some(p) = &a.pivot {
        s.push_str(&format!("\nOpen the logs: {p}\n"));
    }
    s.push_str(&format!("\n-- trawl, alert {}\n", a.id));
    s
}

#[async_trait]
impl Destination for Email {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, a: &Alert) -> Result<(), SendError> {
        let subject = self.subject.render(|f| a.lookup(f), Escape::None);
        let mut m = Message::builder()
            .from(self.from.clone())
            .subject(subject.replace(['\r', '\n'], " "))
            .header(ContentType::TEXT_PLAIN);
        for t in &self.to {
            m = m.to(t.clone());
        }
        let msg = m
            .body(email_body(a))
            .map_err(|e| SendError::Refused(e.to_string()))?;
        match self.transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
            Err(e) => Err(SendError::Retry(e.to_string(), None)),
        }
    }
}
