//! Email over SMTP (lettre): STARTTLS (default), implicit TLS, or plain for a local relay;
//! optional authentication. One message per alert, plain text, readable in any client.

use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Destination, ReportMessage, SendError};
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
        if a.summary.is_some() && k == "keys" {
            continue; // listed below
        }
        line(k, &json_text(v));
    }
    if let Some(sm) = &a.summary {
        if sm.repeats.is_empty() {
            line("alerts", &a.count.to_string());
            line("from", &sm.from);
            line("to", &sm.to);
            line("keys", &sm.keys.join(", "));
        } else {
            line("repeats", &a.count.to_string());
            line("from", &sm.from);
            line("to", &sm.to);
            for r in &sm.repeats {
                line(
                    "",
                    &format!(
                        "{} \u{d7}{} ({})",
                        r.key,
                        r.count,
                        super::slack::span(&r.first, &r.last)
                    ),
                );
            }
        }
    }
    if let Some(p) = &a.pivot {
        s.push_str(&format!("\n{}: {p}\n", super::slack::pivot_label(a)));
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
        self.deliver(msg).await
    }

    async fn send_report(&self, r: &ReportMessage) -> Result<(), SendError> {
        let mut m = Message::builder()
            .from(self.from.clone())
            .subject(r.subject.replace(['\r', '\n'], " "));
        for t in &self.to {
            m = m.to(t.clone());
        }
        let msg = m
            .multipart(MultiPart::alternative_plain_html(
                r.text.clone(),
                r.html.clone(),
            ))
            .map_err(|e| SendError::Refused(e.to_string()))?;
        self.deliver(msg).await
    }
}

impl Email {
    async fn deliver(&self, msg: Message) -> Result<(), SendError> {
        match self.transport.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
            Err(e) => Err(SendError::Retry(e.to_string(), None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{RepeatLine, Severity, Summary};

    #[test]
    fn a_digest_mail_lists_its_repeats_and_link() {
        let a = Alert {
            id: "d1".into(),
            rule: "odd-user-agent".into(),
            severity: Severity::Medium,
            title: "odd-user-agent: 24 repeats on 1 host".into(),
            time: "2026-12-06T23:00:00.000Z".into(),
            ts: 0.0,
            log: "http".into(),
            key: "digest".into(),
            uid: None,
            host: Some("192.168.1.20".into()),
            workstation: None,
            pivot: Some("https://k/?uid=C1".into()),
            fields: [("keys".to_string(), serde_json::json!(["k"]))].into(),
            count: 24,
            summary: Some(Summary {
                from: "2026-12-06T00:00:00.000Z".into(),
                to: "2026-12-06T23:00:00.000Z".into(),
                keys: vec!["192.168.1.20|WindowsPowerShell/5.1".into()],
                hosts: vec!["192.168.1.20".into()],
                workstations: vec![],
                repeats: vec![RepeatLine {
                    key: "192.168.1.20|WindowsPowerShell/5.1".into(),
                    count: 24,
                    first: "2026-12-06T00:00:00.000Z".into(),
                    last: "2026-12-06T23:00:00.000Z".into(),
                    host: Some("192.168.1.20".into()),
                    workstation: None,
                }],
                pivot_first: true,
            }),
        };
        let body = email_body(&a);
        assert!(body.contains("repeats       24\n"), "{body}");
        assert!(
            body.contains(
                "              192.168.1.20|WindowsPowerShell/5.1 \u{d7}24 (2026-12-06 00:00 to 23:00)\n"
            ),
            "{body}"
        );
        assert!(!body.contains("keys"), "{body}");
        assert!(
            body.contains("Open the first record: https://k/?uid=C1"),
            "{body}"
        );
    }
}
