//! Generic webhooks: a method, a URL, headers (an `Authorization` token from a secret) and a
//! JSON body built from a template, the shape SOAR workflow triggers expect (Rapid7
//! InsightConnect/Komand, Shuffle, TheHive's alert API).
//!
//! Body templates are JSON: in every string, `{field}` placeholders are filled; a string that
//! is exactly one placeholder keeps the value's JSON type (a number stays a number), and
//! `"{alert}"` / `"{fields}"` become the whole alert / its record fields as objects.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{client, http_error, http_outcome, Destination, ReportMessage, SendError};
use crate::alert::Alert;
use crate::template::{Escape, Template};

/// An HTTP endpoint.
pub struct Webhook {
    name: String,
    url: Template,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    body: Option<Json>,
    http: reqwest::Client,
}

impl Webhook {
    /// A webhook; errors name the key at fault.
    pub fn new(
        name: &str,
        url: &str,
        method: Option<&str>,
        headers: Vec<(String, String)>,
        body: Option<&str>,
    ) -> Result<Webhook, (&'static str, String)> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(("url", format!("{url:?} is not an http(s) URL")));
        }
        let url = Template::parse(url).map_err(|e| ("url", e))?;
        let method = match method.unwrap_or("POST").to_ascii_uppercase().as_str() {
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            m => return Err(("method", format!("{m:?}: use POST, PUT or PATCH"))),
        };
        for (k, _) in &headers {
            if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
                return Err(("headers", format!("{k:?} is not a header name")));
            }
        }
        let body = match body {
            Some(b) => {
                let v: Json = serde_json::from_str(b)
                    .map_err(|e| ("body", format!("the body template is not JSON: {e}")))?;
                let mut bad = None;
                check_templates(&v, &mut bad);
                if let Some(e) = bad {
                    return Err(("body", e));
                }
                Some(v)
            }
            None => None,
        };
        Ok(Webhook {
            name: name.to_string(),
            url,
            method,
            headers,
            body,
            http: client(),
        })
    }

    /// The body sent for an alert.
    pub fn body(&self, a: &Alert) -> Json {
        match &self.body {
            Some(t) => render(t, a),
            None => serde_json::to_value(a).unwrap_or(Json::Null),
        }
    }
}

fn check_templates(v: &Json, bad: &mut Option<String>) {
    match v {
        Json::String(s) => {
            if let Err(e) = Template::parse(s) {
                bad.get_or_insert(e);
            }
        }
        Json::Array(a) => a.iter().for_each(|x| check_templates(x, bad)),
        Json::Object(o) => o.values().for_each(|x| check_templates(x, bad)),
        _ => {}
    }
}

/// Fills a body template.
pub fn render(t: &Json, a: &Alert) -> Json {
    match t {
        Json::String(s) => {
            let Ok(tpl) = Template::parse(s) else {
                return t.clone();
            };
            match tpl.single_field() {
                Some("alert") => serde_json::to_value(a).unwrap_or(Json::Null),
                Some("fields") => serde_json::to_value(&a.fields).unwrap_or(Json::Null),
                Some("count") => Json::from(a.count),
                Some("ts") => serde_json::Number::from_f64(a.ts).map_or(Json::Null, Json::Number),
                Some(f) if a.fields.contains_key(f) => a.fields[f].clone(),
                _ => Json::String(tpl.render(|f| a.lookup(f), Escape::None)),
            }
        }
        Json::Array(items) => Json::Array(items.iter().map(|x| render(x, a)).collect()),
        Json::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), render(v, a))).collect()),
        other => other.clone(),
    }
}

#[async_trait]
impl Destination for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, a: &Alert) -> Result<(), SendError> {
        let url = self.url.render(|f| a.lookup(f), Escape::Url);
        // The id lets a receiver drop a repeat (an alert re-sent after a lost answer).
        self.post(url, ("x-trawl-alert-id", &a.id), &self.body(a))
            .await
    }

    /// A report goes as its JSON figures (the body template is for alerts).
    async fn send_report(&self, r: &ReportMessage) -> Result<(), SendError> {
        let url = self.url.render(|_| None, Escape::Url);
        self.post(url, ("x-trawl-report-id", &r.id), &r.json).await
    }
}

impl Webhook {
    async fn post(&self, url: String, id: (&str, &str), body: &Json) -> Result<(), SendError> {
        let mut req = self
            .http
            .request(self.method.clone(), url)
            .header("content-type", "application/json")
            .header(id.0, id.1);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let body = serde_json::to_vec(body).unwrap_or_default();
        let resp = req.body(body).send().await.map_err(http_error)?;
        http_outcome(&resp)
    }
}
